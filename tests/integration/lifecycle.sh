#!/usr/bin/env bash
# Time limits, signals, exit statuses, and nothing left running.
# shellcheck source=tests/harness/lib.sh
. "$(dirname "$0")/../harness/lib.sh"
need_root

now_ms() { date +%s%3N; }

t0=$(now_ms)
aj -t 1 --report "$TMPD/t.json" -- sh -c 'sleep 10 & sleep 10'
rc=$?
t1=$(now_ms)
expect_eq "-t 1: the documented time-limit status (124)" 124 "$rc"
el=$((t1 - t0))
# The deadline is 1 s; 2 s is the promise. (A generous bound, not a benchmark.)
if [ "$el" -lt 2000 ]; then ok "-t 1 ends the jail within 2 s (${el} ms)"; else
	nok "-t 1 ends the jail within 2 s (${el} ms)"
fi
huid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["host_uid"])' "$TMPD/t.json")
expect_eq "no process of the jail survives (host uid $huid)" "" "$(live_after_kill "$huid")"
expect_match "the report says timeout" '"termination": "timeout"' "$(cat "$TMPD/t.json")"
expect_match "the report says timed_out" '"timed_out": true' "$(cat "$TMPD/t.json")"

# Exit statuses.
aj -- sh -c 'exit 7'
expect_eq "the command's exit status is agentjail's" 7 "$?"
aj -- sh -c 'kill -TERM $$'
expect_eq "killed by signal N gives 128+N" 143 "$?"
aj -- /nonexistent 2>"$TMPD/e"
expect_eq "a command that does not exist gives 127" 127 "$?"
expect_match "... with a message naming it" 'exec /nonexistent: No such file or directory' "$(cat "$TMPD/e")"
aj -- no-such-command-anywhere 2>/dev/null
expect_eq "a command not in PATH gives 127" 127 "$?"
aj -- /etc/passwd 2>"$TMPD/e"
expect_eq "a file that is not executable gives 126" 126 "$?"
aj -- sh -c 'exit 255'
expect_eq "a command exiting 255 gives 255 ..." 255 "$?"
aj --report "$TMPD/r.json" -- sh -c 'exit 255'
expect_match "... and --report tells it apart from a setup failure" '"termination": "exit"' "$(cat "$TMPD/r.json")"

# The report.
aj --report "$TMPD/r.json" -- sh -c 'echo hi >/dev/null; exit 3'
r=$(cat "$TMPD/r.json")
expect_match "report: exit_code" '"exit_code": 3' "$r"
expect_match "report: exit_status" '"exit_status": 3' "$r"
expect_match "report: wall time" '"wall_time_ms": [0-9.]+' "$r"
expect_match "report: cpu time" '"cpu_user_ms": [0-9.]+' "$r"
expect_match "report: max rss" '"max_rss_kib": [1-9][0-9]*' "$r"
aj --report "$TMPD/r.json" --bindmount_ro /nonexistent -- true 2>/dev/null
expect_match "report of a jail that could not be built" '"termination": "setup_failed"' "$(cat "$TMPD/r.json")"

# Signals sent to agentjail reach the command.
"$AJ" -q -- sh -c 'trap "exit 42" TERM; echo ready; while :; do sleep 0.1; done' >"$TMPD/sig.out" &
p=$!
if wait_for "$TMPD/sig.out" 5 ready; then
	kill -TERM "$p"
	wait "$p"
	expect_eq "SIGTERM to agentjail is forwarded to the command" 42 "$?"
else
	nok "SIGTERM forwarding: the command did not start"
	kill -KILL "$p"
fi

# agentjail killed outright: the jail dies with it (parent-death signal).
"$AJ" -q -v -- sleep 30 2>"$TMPD/k.err" &
p=$!
if wait_for "$TMPD/k.err" 5 'host uid [0-9]+'; then
	huid=$(grep -Eo 'host uid [0-9]+' "$TMPD/k.err" | grep -Eo '[0-9]+')
	kill -KILL "$p"
	wait "$p" 2>/dev/null
	expect_eq "kill -9 of agentjail leaves no process of its jail" "" "$(live_after_kill "$huid")"
else
	nok "kill -9 of agentjail: the jail did not start"
	kill -KILL "$p"
fi

# Without a pid namespace, the jail's host uid still finds every process.
t0=$(now_ms)
"$AJ" -q -t 1 --disable_clone_newpid --disable_proc --report "$TMPD/np.json" -- \
	sh -c 'sleep 10 & sleep 10'
rc=$?
huid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["host_uid"])' "$TMPD/np.json")
expect_eq "no pid namespace: the time limit still fires (124)" 124 "$rc"
expect_eq "no pid namespace: no process of the jail survives" "" "$(live_after_kill "$huid")"

# Orphans are reaped and killed when the command ends.
out=$(aj --report "$TMPD/o.json" -- /ajprobe daemon 30)
huid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["host_uid"])' "$TMPD/o.json")
expect_match "a double-forked daemon was started" '^pid=[0-9]+' "$out"
expect_eq "... and does not outlive the jail" "" "$(live_after_kill "$huid")"

# -Mr reruns; -Me execs in place.
out=$("$AJ" -q -Me --disable_clone_newpid --disable_proc -R "$PROBE:/ajprobe" -- /ajprobe id)
expect_eq "-Me runs the command in place" "uid=1000 euid=1000 gid=1000 egid=1000 groups=" "$out"
out=$("$AJ" -q -Me --disable_clone_newpid --disable_proc -R "$PROBE:/ajprobe" -- /ajprobe caps)
expect_eq "-Me: no capabilities" \
	"eff=0000000000000000 prm=0000000000000000 inh=0000000000000000 bnd=0000000000000000 amb=0000000000000000" "$out"
out=$("$AJ" -q -Me --disable_clone_newpid --disable_proc -R "$PROBE:/ajprobe" -- /ajprobe syscall mount)
expect_eq "-Me: the seccomp filter is on" EPERM "$out"
err=$("$AJ" -q -Me -- true 2>&1)
expect_match "-Me asks for --disable_clone_newpid" 'disable_clone_newpid' "$err"
t0=$(now_ms)
"$AJ" -q -Me -t 1 --disable_clone_newpid --disable_proc -- sleep 10
rc=$?
el=$(($(now_ms) - t0))
expect_eq "-Me -t 1: the command is ended by SIGALRM" 142 "$rc"
if [ "$el" -lt 3000 ]; then ok "-Me -t 1 ends within 3 s ($el ms)"; else nok "-Me -t 1 ends within 3 s ($el ms)"; fi

"$AJ" -q -Mr -- sh -c 'echo run >&2; sleep 0.2' 2>"$TMPD/rr" &
p=$!
wait_for "$TMPD/rr" 5 'run' && sleep 0.6
kill -TERM "$p"
wait "$p"
n=$(grep -c run "$TMPD/rr")
if [ "$n" -ge 2 ]; then ok "-Mr runs the command again and again ($n runs)"; else nok "-Mr reran ($n runs)"; fi

# -Ml: one jail per TCP connection.
port=$(free_port)
"$AJ" -q -Ml --port "$port" --bindhost 127.0.0.1 -R "$PROBE:/ajprobe" -- /ajprobe id &
p=$!
out=""
for _ in $(seq 50); do
	out=$(python3 -c 'import socket,sys
s=socket.create_connection(("127.0.0.1",int(sys.argv[1])),timeout=5)
d=b""
while True:
    b=s.recv(4096)
    if not b: break
    d+=b
print(d.decode().strip())' "$port" 2>/dev/null) && break
	sleep 0.1
done
kill -TERM "$p"
wait "$p"
expect_eq "-Ml serves a jail per connection, stdio on the socket" \
	"uid=1000 euid=1000 gid=1000 egid=1000 groups=" "$out"

# The jail's PID 1 is out of the command's reach, even without the seccomp
# filter (which refuses ptrace and process_vm_* anyway): it is not dumpable.
nf() { aj --testonly_no_seccomp -- "$@" 2>/dev/null; }
expect_eq "PID 1 cannot be ptraced from inside (no filter)" EPERM "$(nf /ajprobe ptrace-attach 1)"
expect_eq "PID 1's memory cannot be read (no filter)" EPERM "$(nf /ajprobe vm-read 1)"
expect_eq "PID 1's /proc/1/mem cannot be opened" EACCES "$(nf /ajprobe read /proc/1/mem)"
expect_eq "PID 1's fds cannot be listed" EACCES "$(nf /ajprobe ls /proc/1/fd)"
# shellcheck disable=SC2016 # expanded by the jail's shell
expect_eq "control: a process of the command's own can be ptraced" ok \
	"$(nf sh -c 'sleep 5 & /ajprobe ptrace-attach $!; kill $!')"
