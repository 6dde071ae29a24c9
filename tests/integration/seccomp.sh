#!/usr/bin/env bash
# The default seccomp policy, asked from inside the jail, compared with the
# same jail without a filter (--testonly_no_seccomp) so that each check can
# fail: what the filter refuses must get past without it.
# shellcheck source=tests/harness/lib.sh
. "$(dirname "$0")/../harness/lib.sh"
need_root

nofilter() { aj --testonly_no_seccomp -- /ajprobe "$@" 2>/dev/null; }

# NAME EXPECTED-WITH-FILTER  (the unfiltered result must differ)
check_sys() {
	local name=$1 want=$2 with without
	with=$(probe syscall "$name")
	without=$(nofilter syscall "$name")
	if [ "$with" = "$want" ] && [ "$without" != "$want" ]; then
		ok "syscall $name: $with with the filter, $without without"
	elif [ "$with" = "$want" ]; then
		skip "syscall $name: $with with the filter" "unfiltered also gives $without here"
	else
		nok "syscall $name: expected $want, got $with (unfiltered: $without)"
	fi
}

check_sys unshare-user EPERM
check_sys clone-newuser EPERM
check_sys mount EPERM
check_sys keyctl EPERM
check_sys add_key EPERM
check_sys request_key EPERM
check_sys io_uring_setup EPERM
check_sys perf_event_open EPERM
check_sys userfaultfd EPERM
check_sys personality-exec EPERM
check_sys socket-alg EPERM
check_sys socket-vsock EPERM
check_sys clone3 ENOSYS

with=$(probe tiocsti)
without=$(nofilter tiocsti)
expect_eq "ioctl TIOCSTI is refused" EPERM "$with"
expect_eq "... and gets past without the filter (ENOTTY on /dev/null)" ENOTTY "$without"
expect_eq "ioctl TIOCSTI with high bits set is refused too" EPERM "$(probe tiocsti-high)"
expect_eq "ioctl TIOCLINUX is refused" EPERM "$(probe tioclinux)"

with=$(probe int80)
without=$(nofilter int80)
if [[ "$without" == signal=SIGSEGV* ]] || [[ "$without" == ENOSYS ]]; then
	skip "i386 int 0x80 is refused" "this kernel has no ia32 emulation"
else
	expect_match "i386 int 0x80 is refused" '^(signal=SIGSYS|EPERM|ENOSYS)$' "$with"
	expect_eq "... and works without the filter" ok "$without"
fi

expect_eq "allowed: a plain syscall" ok "$(probe syscall getpid)"
expect_eq "allowed: socket(AF_INET)" ok "$(probe syscall socket-inet)"
expect_eq "allowed: personality query" ok "$(probe syscall personality-query)"
expect_eq "allowed: threads (clone without namespace flags)" ok "$(probe threads)"
expect_eq "allowed: posix_spawn" "ok exit=0" "$(probe spawn /bin/true)"
out=$(aj -- python3 -c 'import threading
r=[]
t=threading.Thread(target=lambda: r.append(6*7)); t.start(); t.join(); print(r[0])')
expect_eq "python3 threading works under the filter" 42 "$out"
out=$(aj -- python3 -c 'import subprocess; print(subprocess.run(["echo","spawned"],capture_output=True,text=True).stdout.strip())')
expect_eq "python3 subprocess (posix_spawn/clone fallback) works" spawned "$out"

# The minimal policy is stricter.
out=$(aj --profile minimal -- /ajprobe syscall socket-inet)
expect_eq "minimal profile: socket(AF_INET) refused" EPERM "$out"
expect_eq "minimal profile: the basics still work" ok "$(aj --profile minimal -- /ajprobe syscall getpid)"

# Custom lists and actions.
cat >"$TMPD/sc.json" <<JSON
{"policy": "default", "action": "errno", "syscalls": {"deny": ["getpid"]}}
JSON
expect_eq "--seccomp_json: a denied syscall" EPERM "$(aj --seccomp_json "$TMPD/sc.json" -- /ajprobe syscall getpid)"
cat >"$TMPD/kill.json" <<JSON
{"policy": "default", "action": "kill"}
JSON
aj --seccomp_json "$TMPD/kill.json" -- /ajprobe syscall mount >/dev/null
expect_eq "action kill: a violation kills the process (SIGSYS)" $((128 + 31)) "$?"
