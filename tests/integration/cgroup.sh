#!/usr/bin/env bash
# cgroup v2 on this host: a cgroup per jail under the writable v2 mount,
# killed and removed with the jail; and, where the v2 hierarchy lacks the
# controllers (hybrid hosts), an honest notice and the nearest rlimits, or
# a refusal with --require_cgroups. The real limits are proven in the VM
# tier (tests/vm/tests/).
# shellcheck source=tests/harness/lib.sh
. "$(dirname "$0")/../harness/lib.sh"
need_root

info=$("$AJ" doctor 2>&1)
mnt=$(awk '$9 == "cgroup2" {print $5; exit}' /proc/self/mountinfo)
if [ -z "$mnt" ]; then
	echo "no cgroup v2 mount on this host"
	exit 77
fi
for m in /sys/fs/cgroup $(awk '$9 == "cgroup2" {print $5}' /proc/self/mountinfo); do
	if [ "$(stat -f -c %T "$m" 2>/dev/null)" = cgroup2fs ]; then mnt=$m; break; fi
done
base="$mnt/agentjail"

# A jail's processes live in a cgroup of its own, named after its host uid.
"$AJ" -q -v -- sleep 2 2>"$TMPD/v.err" &
p=$!
if wait_for "$TMPD/v.err" 5 'host uid [0-9]+'; then
	jp=$(grep -Eo 'jail pid [0-9]+' "$TMPD/v.err" | grep -Eo '[0-9]+')
	huid=$(grep -Eo 'host uid [0-9]+' "$TMPD/v.err" | grep -Eo '[0-9]+')
	cg=$(grep '^0::' "/proc/$jp/cgroup" | cut -d: -f3)
	expect_eq "the jail runs in its own cgroup" "/agentjail/jail-$huid" "$cg"
	expect_eq "... which exists under the v2 mount while it runs" yes \
		"$([ -d "$base/jail-$huid" ] && echo yes)"
	inside=$(aj -- /ajprobe cat /proc/self/cgroup | grep "^0::")
	expect_eq "inside, the cgroup namespace hides where that is" "0::/" "$inside"
	wait "$p"
	expect_eq "... and is removed when the jail ends" no "$([ -d "$base/jail-$huid" ] && echo yes || echo no)"
else
	nok "the jail did not start"
	kill -KILL "$p"
fi

# cgroup.kill ends a jail without a pid namespace completely, and nothing
# of agentjail's cgroups is left.
"$AJ" -q -t 1 --disable_clone_newpid --disable_proc --report "$TMPD/k.json" -- \
	sh -c 'setsid sh -c "sleep 30 & sleep 30" & sleep 30'
huid=$(sed -n 's/.*"host_uid": \([0-9]*\).*/\1/p' "$TMPD/k.json")
expect_eq "no pid namespace, setsid and double forks: nothing survives" "" "$(live_after_kill "$huid")"
expect_eq "... and its cgroup is gone" no "$([ -d "$base/jail-$huid" ] && echo yes || echo no)"

# agentjail killed outright leaves its jail's (empty) cgroup; the next
# agentjail removes it, since no lease holds that uid any more.
"$AJ" -q -v -- sleep 30 2>"$TMPD/k9.err" &
p=$!
if wait_for "$TMPD/k9.err" 5 'host uid [0-9]+'; then
	huid=$(grep -Eo 'host uid [0-9]+' "$TMPD/k9.err" | grep -Eo '[0-9]+')
	kill -KILL "$p"
	wait "$p" 2>/dev/null
	expect_eq "kill -9 of agentjail: its jail dies" "" "$(live_after_kill "$huid")"
	expect_eq "... its cgroup is left behind (nobody was there to remove it)" yes \
		"$([ -d "$base/jail-$huid" ] && echo yes)"
	out=$("$AJ" -- true 2>&1)
	expect_match "the next agentjail removes it and says so" 'removed [0-9]+ cgroups? left by jails' "$out"
	expect_eq "... it is gone" no "$([ -d "$base/jail-$huid" ] && echo yes || echo no)"
else
	nok "kill -9: the jail did not start"
	kill -KILL "$p"
fi

# Accounting from the cgroup: the whole jail's CPU time, killed processes included.
aj --report "$TMPD/c.json" -- sh -c 'yes >/dev/null & sleep 1'
ms=$(sed -n 's/.*"cpu_usage_ms": \([0-9.]*\).*/\1/p' "$TMPD/c.json")
expect_match "cpu.stat counts the whole jail (a 1 s busy background job: ${ms} ms)" \
	'^([5-9][0-9][0-9]|1[0-9][0-9][0-9])(\.[0-9]*)?$' "$ms"

# Delegation (systemd's Delegate=yes marks the cgroup trusted.delegate=1):
# jails go below agentjail's own cgroup, after it moved into a leaf.
deleg="$mnt/ajtest-delegated-$$"
mkdir "$deleg"
if python3 -c 'import os,sys; os.setxattr(sys.argv[1], "trusted.delegate", b"1")' "$deleg" 2>/dev/null; then
	bash -c 'echo $$ > "$1/cgroup.procs"; exec "$2" -q -v -- sleep 2' _ "$deleg" "$AJ" 2>"$TMPD/d.err" &
	p=$!
	if wait_for "$TMPD/d.err" 5 'host uid [0-9]+'; then
		huid=$(grep -Eo 'host uid [0-9]+' "$TMPD/d.err" | grep -Eo '[0-9]+')
		expect_eq "delegated cgroup: the jail's cgroup is below it" yes \
			"$([ -d "$deleg/jail-$huid" ] && echo yes)"
		expect_eq "... and agentjail moved itself into a leaf first" "$p" \
			"$(cat "$deleg/agentjail-self/cgroup.procs" 2>/dev/null)"
	else
		nok "delegated cgroup: the jail did not start"
	fi
	wait "$p"
	expect_eq "... the jail's cgroup is removed" "agentjail-self" \
		"$(find "$deleg" -mindepth 1 -maxdepth 1 -type d -printf '%f\n')"
	rmdir "$deleg/agentjail-self"
else
	skip "delegated cgroup" "trusted.* xattrs cannot be set on this cgroup2 mount"
fi
rmdir "$deleg"

if grep -qw memory "$mnt/cgroup.controllers"; then
	skip "hybrid-host fallbacks" "cgroup v2 here has the memory controller"
	exit 0
fi

# No memory/pids/cpu controllers in cgroup v2 here: one notice, and rlimits.
"$AJ" --cgroup_mem_max 64M -R "$PROBE:/ajprobe" -- /ajprobe rlimits >"$TMPD/rl" 2>"$TMPD/n"
expect_match "a memory limit it cannot enforce: one line says so" \
	'^agentjail: cgroup v2 at .* has no memory, pids and cpu controllers.*memory.max 64M.*not enforced; instead: RLIMIT_AS 64M per process \(not the jail.s total\)' \
	"$(cat "$TMPD/n")"
if [ -n "${AJ_ASAN:-}" ]; then
	# ASan builds apply no RLIMIT_AS (ASan reserves terabytes of address
	# space) and say so in a second line.
	skip "... exactly one line" "ASan build: a second line says RLIMIT_AS is not applied"
	skip "... and RLIMIT_AS is applied" "ASan build"
else
	expect_eq "... exactly one line" 1 "$(wc -l <"$TMPD/n")"
	expect_match "... and RLIMIT_AS is applied" '^as 67108864 67108864$' "$(grep '^as ' "$TMPD/rl")"
fi
expect_match "the pids limit becomes RLIMIT_NPROC on the jail's uid" '^nproc 256 256$' "$(grep '^nproc ' "$TMPD/rl")"
expect_match "the CPU limit becomes RLIMIT_CPU (time limit x CPUs)" '^cpu 600 600$' "$(grep '^cpu ' "$TMPD/rl")"
err=$("$AJ" --require_cgroups --cgroup_mem_max 64M -- true 2>&1)
rc=$?
expect_eq "--require_cgroups: exit 255" 255 "$rc"
expect_match "... naming the missing controllers" \
	'cgroup limits cannot be enforced: cgroup v2 at .* has no memory, pids and cpu controllers' "$err"
expect_match "-q silences the notice" '^$' "$("$AJ" -q --cgroup_mem_max 64M -- true 2>&1)"

# doctor says the same, with the fix.
expect_match "doctor: the hybrid layout is a warning" 'warn  cgroup v2: hybrid layout' "$info"
expect_match "doctor: missing controllers are a warning with a fix" \
	'warn  cgroup v2: no memory, pids and cpu controllers at .*
      fix: boot with systemd.unified_cgroup_hierarchy=1' "$info"
expect_match "doctor: child cgroups can be created" 'ok    cgroup v2: can create child cgroups' "$info"
expect_match "doctor: the default profile runs" 'ok    jail: the default profile built a jail' "$info"
