#!/usr/bin/env bash
# The agentjail test runner.
#
# Runs every unit test binary in $AJ_BUILD/tests/, every script in
# tests/integration/ and the VM tier (tests/vm/run.sh: the scripts of
# tests/vm/tests/ in a qemu VM with a pure cgroup v2, counted as the group
# "vm"), reads their TAP-style lines ("ok - ...", "not ok - ...",
# "ok - ... # SKIP ...") and ends with one line:
#   N passed, N failed, N skipped
# A test program that exits 77 without output is one skipped test; one that
# exits non-zero with no "not ok" line counts as one failure.
# Usage: tests/run.sh [FILTER]   (FILTER: substring of the test file names;
#                                 "vm" selects the whole VM tier)
set -u
cd "$(dirname "$0")/.." || exit 2
export AJ_BUILD="${AJ_BUILD:-build}"
export AJ_TOP="$PWD"
filter="${1:-}"
pass=0 fail=0 skip=0
failures=()
per_test_timeout="${AJ_TEST_TIMEOUT:-300}"

run_one() {
	local name="$1"; shift
	local out rc
	out=$(timeout -k 10 "${group_timeout:-$per_test_timeout}" "$@" 2>&1 </dev/null)
	rc=$?
	local p=0 f=0 s=0 line
	while IFS= read -r line; do
		case "$line" in
		"not ok"*) f=$((f + 1)); failures+=("$name: ${line#not ok - }") ;;
		"ok "*"# SKIP"*) s=$((s + 1)) ;;
		"ok "*) p=$((p + 1)) ;;
		esac
	done <<<"$out"
	if [ "$rc" -eq 77 ] && [ $((p + f + s)) -eq 0 ]; then
		s=1
		printf '%s\n' "$out" | sed 's/^/    /' | tail -n 3
	elif [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ "$f" -eq 0 ]; then
		f=1
		failures+=("$name: exited with status $rc")
	fi
	if [ "$f" -gt 0 ] || [ -n "${AJ_VERBOSE:-}" ]; then
		printf '%s\n' "$out" | sed 's/^/    /'
	fi
	printf '%-40s %3d passed, %d failed, %d skipped\n' "$name" "$p" "$f" "$s"
	pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
}

for t in "$AJ_BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	case "$(basename "$t")" in *"$filter"*) ;; *) continue ;; esac
	run_one "unit/$(basename "$t")" "$t"
done
for t in tests/integration/*.sh; do
	[ -f "$t" ] || continue
	case "$(basename "$t")" in *"$filter"*) ;; *) continue ;; esac
	run_one "integration/$(basename "$t" .sh)" bash "$t"
done
# The VM tier: one VM boot for all of its tests (or those FILTER names).
vm_tests=()
for t in tests/vm/tests/*.sh; do
	[ -f "$t" ] || continue
	case "vm/$(basename "$t")" in *"$filter"*) vm_tests+=("$(basename "$t" .sh)") ;; esac
done
if [ "${#vm_tests[@]}" -gt 0 ]; then
	# The VM's own limit (AJ_VM_TIMEOUT), plus the kernel download and
	# the initramfs.
	group_timeout=$((${AJ_VM_TIMEOUT:-600} + 300)) run_one "vm" bash tests/vm/run.sh "${vm_tests[@]}"
fi

if [ "${#failures[@]}" -gt 0 ]; then
	echo "failures:"
	printf '  %s\n' "${failures[@]}"
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
