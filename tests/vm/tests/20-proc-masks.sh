#!/usr/bin/env bash
# /proc masks on a Debian kernel, which (unlike the development machines')
# has /proc/kcore and /proc/sysrq-trigger: the first must read as empty in
# a jail, the second must be read-only.
# shellcheck source=tests/harness/lib.sh
. "$AJ_TOP/tests/harness/lib.sh"
need_root

for f in kcore keys timer_list kallsyms; do
	if [ ! -e /proc/$f ]; then
		skip "/proc/$f is masked" "this kernel has no /proc/$f either"
		continue
	fi
	expect_eq "/proc/$f reads as empty in the jail" "ok 0" "$(probe read /proc/$f)"
done
if [ -e /proc/sysrq-trigger ]; then
	expect_match "/proc/sysrq-trigger cannot be written" '^E(ROFS|ACCES)$' "$(probe write /proc/sysrq-trigger)"
	expect_match "... and is a read-only mount" '^ro(,|$)' \
		"$(probe mounts | awk '$5 == "/proc/sysrq-trigger" {print $6}')"
	expect_eq "control: outside, it could be (EACCES would mean a permission problem)" ok \
		"$(sh -c '[ -w /proc/sysrq-trigger ] && echo ok')"
fi
expect_match "control: /proc/kcore is not empty outside" '^ok [1-9]' "$("$PROBE" read /proc/kcore)"
expect_match "/proc/sys is read-only in the jail" '^E(ROFS|ACCES)$' "$(probe write /proc/sys/kernel/hostname)"
for d in acpi scsi; do
	if [ -d /proc/$d ]; then
		expect_eq "/proc/$d is empty in the jail" "" "$(probe ls /proc/$d)"
	fi
done
