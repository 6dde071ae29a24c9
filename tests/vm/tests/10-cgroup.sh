#!/usr/bin/env bash
# cgroup v2 limits proven on a real cgroup v2 kernel (run inside the VM
# tier's guest, where /sys/fs/cgroup is a pure cgroup2 with every
# controller): memory, pids and cpu limits, the kill, the accounting, and
# nothing left behind.
# shellcheck source=tests/harness/lib.sh
. "$AJ_TOP/tests/harness/lib.sh"
need_root

# jget FILE KEY: a value from agentjail's pretty-printed --report.
jget() { sed -n "s/^ *\"$2\": \\(.*\\)\$/\\1/p" "$1" | sed 's/,$//; s/^"//; s/"$//'; }
cgroups_left() { find /sys/fs/cgroup -maxdepth 2 -type d -name 'jail-*' | wc -l; }

expect_eq "a pure cgroup2 hierarchy at /sys/fs/cgroup" cgroup2 "$(awk '$2 == "/sys/fs/cgroup" {print $3}' /proc/mounts)"

# No fallback here: nothing to say about the default profile's limits.
err=$("$AJ" -- true 2>&1)
expect_eq "the default profile's limits are enforced without a notice" "" "$err"

# Memory: a program touching 256 MiB under a 64 MiB limit is OOM-killed.
aj --cgroup_mem_max 64M --report "$TMPD/m.json" -- /ajprobe alloc 256 >/dev/null
rc=$?
expect_eq "--cgroup_mem_max 64M, 256 MiB touched: killed (137)" 137 "$rc"
expect_eq "... the report says oom" oom "$(jget "$TMPD/m.json" termination)"
expect_eq "... oom_killed" true "$(jget "$TMPD/m.json" oom_killed)"
peak=$(jget "$TMPD/m.json" memory_peak_bytes)
if [ -n "$peak" ] && [ "$peak" != null ] && [ "$peak" -le $((68 << 20)) ] && [ "$peak" -gt $((32 << 20)) ]; then
	ok "... memory.peak $((peak >> 20)) MiB <= 68 MiB"
else
	nok "... memory.peak <= 68 MiB (got $peak)"
fi
expect_eq "the VM stays healthy: a jail runs after the OOM kill" ok "$(aj -- /ajprobe syscall getpid)"

# The files, read from outside while a jail runs.
"$AJ" -q -v --cgroup_mem_max 64M --cgroup_pids_max 40 --cgroup_cpu_ms_per_sec 250 -- sleep 3 2>"$TMPD/v.err" &
p=$!
if wait_for "$TMPD/v.err" 10 'host uid [0-9]+'; then
	huid=$(grep -Eo 'host uid [0-9]+' "$TMPD/v.err" | grep -Eo '[0-9]+')
	d=/sys/fs/cgroup/agentjail/jail-$huid
	expect_eq "memory.max is written" $((64 << 20)) "$(cat "$d/memory.max")"
	expect_eq "memory.swap.max is 0" 0 "$(cat "$d/memory.swap.max")"
	expect_eq "pids.max is written" 40 "$(cat "$d/pids.max")"
	expect_eq "cpu.max is the quota per 100 ms period" "25000 100000" "$(cat "$d/cpu.max")"
else
	nok "the jail did not start"
fi
wait "$p"

# The optional limits, from a profile.
cat >"$TMPD/opt.json" <<JSON
{"format": 1, "limits": {"memory": "256M", "memory_high": "200M", "cpuset": "0"}}
JSON
"$AJ" -q -v --profile "$TMPD/opt.json" -- sleep 3 2>"$TMPD/o.err" &
p=$!
if wait_for "$TMPD/o.err" 10 'host uid [0-9]+'; then
	huid=$(grep -Eo 'host uid [0-9]+' "$TMPD/o.err" | grep -Eo '[0-9]+')
	d=/sys/fs/cgroup/agentjail/jail-$huid
	expect_eq "profile memory_high is written" $((200 << 20)) "$(cat "$d/memory.high")"
	expect_eq "profile cpuset is written" 0 "$(cat "$d/cpuset.cpus")"
else
	nok "the jail with optional limits did not start"
fi
wait "$p"

# pids: a fork bomb under pids.max 32 and a 3 s time limit.
t0=${EPOCHREALTIME/./}; t0=$((t0 / 1000))
aj -t 3 --cgroup_pids_max 32 --report "$TMPD/p.json" -- /ajprobe forkbomb 30 >"$TMPD/p.out"
rc=$?
t1=${EPOCHREALTIME/./}; el=$((t1 / 1000 - t0))
expect_eq "--cgroup_pids_max 32 fork bomb: ends at the time limit (124)" 124 "$rc"
if [ "$el" -lt 8000 ]; then ok "... within a generous 8 s (${el} ms)"; else nok "... took ${el} ms"; fi
expect_eq "... the report says timeout" timeout "$(jget "$TMPD/p.json" termination)"
pp=$(jget "$TMPD/p.json" pids_peak)
if [ -n "$pp" ] && [ "$pp" != null ] && [ "$pp" -le 32 ] && [ "$pp" -ge 8 ]; then
	ok "... pids.peak $pp <= 32"
else
	nok "... pids.peak <= 32 (got $pp)"
fi
expect_eq "... forks failed at the limit (pids.events max)" true "$(jget "$TMPD/p.json" pids_max_hit)"
huid=$(jget "$TMPD/p.json" host_uid)
expect_eq "... nothing of it survives" "" "$(live_after_kill "$huid")"
expect_eq "... and its cgroup is removed" 0 "$(cgroups_left)"

# cpu: 250 ms per second, a busy loop for 2 s of wall time.
aj --cgroup_cpu_ms_per_sec 250 --report "$TMPD/c.json" -- /ajprobe spin 2 >"$TMPD/c.out"
usage=$(jget "$TMPD/c.json" cpu_usage_ms)
wall=$(jget "$TMPD/c.json" wall_time_ms)
# The cap holds over the jail's whole life, setup included; an ASan build's
# setup is several times slower under TCG, so there the bound is 25% of the
# jail's wall time plus a margin rather than the fixed 0.65 s.
hi=650
[ -n "${AJ_ASAN:-}" ] && hi=$(awk -v w="$wall" 'BEGIN { printf "%d", w * 0.25 + 100 }')
if awk -v u="$usage" -v hi="$hi" 'BEGIN { exit !(u >= 350 && u <= hi) }'; then
	ok "--cgroup_cpu_ms_per_sec 250, 2 s busy: cpu.stat usage ${usage} ms (0.35-$((hi))ms, wall ${wall} ms)"
	user=$(jget "$TMPD/c.json" cpu_user_ms)
	expect_match "... user time from cpu.stat is most of it" '^[2-6][0-9][0-9](\.[0-9]*)?$' "$user"
else
	nok "--cgroup_cpu_ms_per_sec 250, 2 s busy: cpu.stat usage ${usage} ms, expected 350-${hi} (wall ${wall} ms)"
	diag "$(cat "$TMPD/c.out")"
fi

# A double-forked daemon dies with its jail (cgroup.kill), also without a
# pid namespace; no cgroup directory of agentjail's remains.
out=$(aj --disable_clone_newpid --disable_proc --report "$TMPD/d.json" -- /ajprobe daemon 30)
huid=$(jget "$TMPD/d.json" host_uid)
expect_match "a double-forked daemon was started" '^pid=[0-9]+' "$out"
expect_eq "... and is killed when the jail ends (no pid namespace: cgroup.kill)" "" "$(live_after_kill "$huid")"
expect_eq "no cgroup directory of agentjail's remains" 0 "$(cgroups_left)"

# doctor: every cgroup line ok.
doc=$("$AJ" doctor 2>&1)
bad=$(grep -E '^(warn|fail) +cgroup' <<<"$doc")
expect_eq "doctor: every cgroup line is ok" "" "$bad"
expect_match "doctor: the controllers are enabled" 'ok    cgroup v2: controllers memory, pids and cpu enabled' "$doc"
expect_match "doctor: a pure hierarchy" 'ok    cgroup v2: /sys/fs/cgroup \(pure cgroup2 hierarchy\)' "$doc"

# --require_cgroups is satisfied here.
expect_eq "--require_cgroups runs where the controllers exist" 0 \
	"$("$AJ" -q --require_cgroups --cgroup_mem_max 64M -- true; echo $?)"
