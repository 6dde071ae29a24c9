#!/usr/bin/env bash
# agentjaild's warm pools, its reaper and its liveness: pools filled at
# start and refilled after claims, claims that cost no build, the profile's
# cap, idle and lifetime deadlines, workers killed from outside, the
# supervisor killed with -9 (twice: the monitor, the HTTP process), SIGHUP
# replacing warm jails, and 200 sessions that leave nothing behind.
# shellcheck source=tests/harness/lib.sh
. "$(dirname "$0")/../harness/lib.sh"
# shellcheck source=tests/harness/daemon.sh
. "$(dirname "$0")/../harness/daemon.sh"
need_root

export PYTHONPATH="$AJ_TOP/tests/harness"
mkdir -p "$TMPD/profiles"
cat >"$TMPD/profiles/warm.json" <<JSON
{"format": 2, "name": "warm", "pool": {"size": 4, "max": 10},
 "mounts": [{"type": "bind", "source": "$PROBE", "target": "/ajprobe"}],
 "limits": {"time_s": 60}}
JSON
cat >"$TMPD/profiles/capped.json" <<'JSON'
{"format": 2, "name": "capped", "pool": {"size": 1, "max": 2}}
JSON
cat >"$TMPD/profiles/brief.json" <<'JSON'
{"format": 2, "name": "brief", "session": {"idle_timeout_s": 30, "max_lifetime_s": 60}}
JSON
cat >"$TMPD/agentjaild.json" <<JSON
{"format": 1, "listen": ["unix:$SOCK"], "profiles_dir": "$TMPD/profiles",
 "worker": "$AJ_TOP/build/agentjail-worker", "limits": {"max_sessions": 50}}
JSON

# pool FIELD [PROFILE]: one number of GET /v1/pools.
pool() {
	api GET /v1/pools | body_of | python3 -c 'import json,sys
for p in json.load(sys.stdin)["pools"]:
    if p["profile"] == sys.argv[2]: print(p[sys.argv[1]])' "$1" "${2:-warm}"
}
# wait_pool FIELD VALUE SECONDS [PROFILE]: true once the pool shows it.
wait_pool() {
	local i
	for ((i = 0; i < $3 * 50; i++)); do
		[ "$(pool "$1" "${4:-warm}")" = "$2" ] && return 0
		sleep 0.02
	done
	return 1
}
WARM='{"profile": "warm"}'
create() {
	api POST /v1/sessions -H 'Content-Type: application/json' -d "${1:-$WARM}"
}
http_pid() {
	local p
	for p in /proc/[0-9]*; do
		[ "$(awk '{print $4}' "$p/stat" 2>/dev/null)" = "$1" ] || continue
		[ "$(cat "$p/comm" 2>/dev/null)" = agentjaild ] && echo "${p#/proc/}"
	done
}
# The host uids of the jails the daemon $1 runs now (its workers' owners).
jail_uids() {
	local p
	for p in /proc/[0-9]*; do
		[ "$(awk '{print $4}' "$p/stat" 2>/dev/null)" = "$1" ] || continue
		[ "$(cat "$p/comm" 2>/dev/null)" = agentjail-worke ] &&
			awk '/^Uid:/ {print $2}' "$p/status"
	done
}
worker_of_uid() {
	local p
	for p in $(pids_of_uid "$1"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = agentjail-worke ] && echo "$p" && return
	done
}
# Live processes of any of the uids in the list $1.
live_of_uids() {
	local u
	for u in $1; do pids_of_uid "$u"; done
}
CG_BASE=""
for d in /sys/fs/cgroup/unified /sys/fs/cgroup; do
	if [ "$(stat -f -c %T "$d" 2>/dev/null)" = cgroup2fs ]; then CG_BASE="$d/agentjail"; break; fi
done

# --- the pool at start, claims and refill -------------------------------------
T_START=$(date +%s.%N)
start_daemon
if wait_pool ready 4 2; then
	t=$(python3 -c "import time,sys; print(f'{time.time()-float(sys.argv[1]):.2f}')" "$T_START")
	ok "pool.size 4: 4 jails ready within 2 s of start (${t} s)"
else
	nok "pool.size 4: 4 jails ready within 2 s of start"
	diag "$(api GET /v1/pools)"
fi
out=$(api GET /v1/pools)
expect_eq "GET /v1/pools: 200" 200 "$(status_of "$out")"
expect_match "... size, ready, building, claiming, live, claims, misses, refill p50/p99" \
	'"profile":"warm","size":4,"max":10,"ready":4,"building":0,"claiming":0,"live":4,"claims":0,"misses":0,"build_failures":0,"refill_p50_ms":[0-9.]+,"refill_p99_ms":[0-9.]+' \
	"$out"
sids=()
codes=""
for _ in 1 2 3 4; do
	out=$(create)
	codes+="$(status_of "$out") "
	sids+=("$(body_of <<<"$out" | jfield id)")
done
expect_eq "4 sessions back to back: all 201" "201 201 201 201 " "$codes"
expect_eq "... all 4 claimed warm" 4 "$(pool claims)"
expect_eq "... misses 0" 0 "$(pool misses)"
if wait_pool ready 4 2; then ok "... the pool is back to 4 ready within 2 s"; else
	nok "... the pool is back to 4 ready within 2 s"
	diag "$(api GET /v1/pools)"
fi
expect_eq "... 8 live jails of the profile" 8 "$(pool live)"
m=$(api GET /metrics | body_of)
expect_match "/metrics: pool gauges" 'agentjail_pool_ready\{profile="warm"\} 4' "$m"
expect_match "... claims counter" 'agentjail_pool_claims_total\{profile="warm"\} 4' "$m"
expect_match "... refill latency" 'agentjail_pool_refill_seconds\{profile="warm",quantile="0.99"\} [0-9.]+' "$m"
expect_match "... jails by state" 'agentjail_jails\{state="warm"\} [0-9]+' "$m"

# A warm jail serves the session's own settings.
out=$(create '{"profile": "warm", "env": {"FROM_SESSION": "s1"}}')
sid=$(body_of <<<"$out" | jfield id)
# shellcheck disable=SC2016 # the variables are the jail's, expanded there
out=$(api POST "/v1/sessions/$sid/exec" -H 'Content-Type: application/json' \
	-d '{"command": "echo $FROM_SESSION", "env": {"FROM_EXEC": "e"}}')
expect_eq "a claimed jail runs commands with the session's environment" s1 \
	"$(body_of <<<"$out" | jfield stdout | tr -d '\n')"
out=$(create '{"profile": "warm"}')
sid2=$(body_of <<<"$out" | jfield id)
# shellcheck disable=SC2016
out=$(api POST "/v1/sessions/$sid2/exec" -H 'Content-Type: application/json' \
	-d '{"command": "echo \"[$FROM_SESSION]\"; ls /tmp | wc -l"}')
expect_eq "... and the next session's jail has none of it" "[] 0" \
	"$(body_of <<<"$out" | jfield stdout | xargs)"
for s in "${sids[@]}" "$sid" "$sid2"; do api DELETE "/v1/sessions/$s" >/dev/null; done

# A jail that served a session is never reused: its worker goes with it.
out=$(create)
sid=$(body_of <<<"$out" | jfield id)
uid=$(grep -E "session.create session=$sid " "$LOG" | sed -E 's/.*host_uid=([0-9]+).*/\1/')
api DELETE "/v1/sessions/$sid" >/dev/null
left=$(live_after_kill "$uid")
expect_eq "a deleted session's jail is gone, not pooled again" "" "$left"

# --- the profile's cap and the cold start ------------------------------------------
wait_pool ready 1 2 capped
c1=$(status_of "$(create '{"profile": "capped"}')")
c2=$(status_of "$(create '{"profile": "capped"}')")
out=$(create '{"profile": "capped"}')
expect_eq "pool.max 2: two sessions" "201 201" "$c1 $c2"
expect_eq "... the third gets 503" 503 "$(status_of "$out")"
expect_match "... too_many_sessions, naming the profile's limit" "too_many_sessions.*profile's limit" "$out"
expect_eq "... both counted: warm claims plus misses" 2 \
	"$(($(pool claims capped) + $(pool misses capped)))"
out=$(create '{"profile": "brief"}')
expect_eq "a profile without a pool: a cold start" 201 "$(status_of "$out")"
expect_match "... the profile's lifetimes are the session's defaults" '"idle_timeout_s":30,"max_lifetime_s":60' "$out"
out=$(create '{"profile": "brief", "idle_timeout_s": 31}')
expect_eq "... and its ceiling: 422 above" 422 "$(status_of "$out")"
expect_match "... naming the limit" 'idle_timeout_s 31: above 30' "$out"
for s in $(api GET /v1/sessions | body_of | python3 -c 'import json,sys
for s in json.load(sys.stdin)["sessions"]: print(s["id"])'); do
	api DELETE "/v1/sessions/$s" >/dev/null
done

# --- the reaper --------------------------------------------------------------------
# Three sessions at once: idle 2 s; busy with a call every second but a
# lifetime of 5 s; a 10 s command with idle 2 s. Watched through the list,
# which is not a call on any of them.
python3 - "$SOCK" >"$TMPD/reaper.out" <<'PY'
import json, sys, threading, time
import ajhttp
sock = sys.argv[1]
def create(body):
    st, d = ajhttp.request(sock, "POST", "/v1/sessions", body)
    return json.loads(d)["id"]
def listed():
    st, d = ajhttp.request(sock, "GET", "/v1/sessions")
    return {s["id"] for s in json.loads(d)["sessions"]}
idle = create({"profile": "warm", "idle_timeout_s": 2})
busy = create({"profile": "warm", "idle_timeout_s": 2, "max_lifetime_s": 5})
t_busy = time.monotonic()
cmd = create({"profile": "warm", "idle_timeout_s": 2})
ajhttp.request(sock, "GET", "/v1/sessions/" + idle)
t_idle = time.monotonic()
res = {}
def run_cmd():
    t = time.monotonic()
    st, d = ajhttp.request(sock, "POST", "/v1/sessions/%s/exec" % cmd,
                           {"command": "sleep 10; echo done"}, timeout=30)
    res["cmd"] = (st, json.loads(d).get("stdout"), time.monotonic() - t)
    res["cmd_end"] = time.monotonic()
th = threading.Thread(target=run_cmd)
th.start()
gone = {}
calls = 0
deadline = time.monotonic() + 20
next_call = time.monotonic() + 1
while time.monotonic() < deadline and len(gone) < 3:
    now = time.monotonic()
    live = listed()
    for name, sid in (("idle", idle), ("busy", busy), ("cmd", cmd)):
        if sid not in live and name not in gone:
            gone[name] = now
    if "busy" not in gone and now >= next_call:
        st, _ = ajhttp.request(sock, "GET", "/v1/sessions/" + busy)
        calls += st == 200
        next_call += 1
    time.sleep(0.05)
th.join()
out = {
    "idle_after": gone.get("idle", 99) - t_idle,
    "busy_after": gone.get("busy", 99) - t_busy,
    "busy_calls": calls,
    "cmd_status": res.get("cmd", [0])[0],
    "cmd_stdout": res.get("cmd", [0, ""])[1],
    "cmd_ran": res.get("cmd", [0, 0, 0])[2],
    "cmd_after_end": gone.get("cmd", 99) - res.get("cmd_end", 0),
    "ids": [idle, busy, cmd],
}
st, d = ajhttp.request(sock, "GET", "/v1/sessions/" + idle)
out["expired"] = (st, json.loads(d)["error"]["code"])
st, d = ajhttp.request(sock, "GET", "/v1/sessions/AAAAAAAAAAAAAAAAAAAAAA")
out["unknown"] = (st, json.loads(d)["error"]["code"])
print(json.dumps(out))
PY
r=$(cat "$TMPD/reaper.out")
rf() { jfield "$1" <<<"$r"; }
if python3 -c 'import sys; v=float(sys.argv[1]); sys.exit(not 2.0 <= v <= 3.0)' "$(rf idle_after)"; then
	ok "idle_timeout_s 2: reaped 2-3 s after its last call ($(rf idle_after) s)"
else
	nok "idle_timeout_s 2: reaped 2-3 s after its last call"
	diag "$r"
fi
if python3 -c 'import sys; v=float(sys.argv[1]); sys.exit(not 4.8 <= v <= 6.5)' "$(rf busy_after)" &&
	[ "$(rf busy_calls)" -ge 3 ]; then
	ok "a session called every second is reaped at max_lifetime_s 5 ($(rf busy_after) s, $(rf busy_calls) calls)"
else
	nok "a session called every second is reaped at max_lifetime_s 5"
	diag "$r"
fi
expect_eq "a 10 s command in a session of idle 2 s runs to its end" "200 done" \
	"$(rf cmd_status) $(rf cmd_stdout | tr -d '\n')"
if python3 -c 'import sys; v=float(sys.argv[1]); sys.exit(not 1.5 <= v <= 3.5)' "$(rf cmd_after_end)"; then
	ok "... the session is reaped only once idle after it ($(rf cmd_after_end) s)"
else
	nok "... the session is reaped only once idle after it"
	diag "$r"
fi
expect_eq "a reaped session, asked for by its owner: 404 session_expired" '[404, "session_expired"]' "$(rf expired)"
expect_eq "... an id never seen: 404 session_not_found" '[404, "session_not_found"]' "$(rf unknown)"
ids=$(rf ids)
i1=$(jfield 0 <<<"$ids")
i2=$(jfield 1 <<<"$ids")
expect_match "the log: reaped session=... reason=idle" "event=reaped session=$i1 reason=idle" "$(cat "$LOG")"
expect_match "... reason=max_lifetime" "event=reaped session=$i2 reason=max_lifetime" "$(cat "$LOG")"
m=$(api GET /metrics | body_of)
expect_match "/metrics counts them by reason" 'agentjail_sessions_ended_total\{reason="idle"\} 2' "$m"
expect_match "... and max_lifetime" 'agentjail_sessions_ended_total\{reason="max_lifetime"\} 1' "$m"

# --- liveness: a worker killed from outside ---------------------------------------
out=$(create)
sid=$(body_of <<<"$out" | jfield id)
uid=$(grep -E "session.create session=$sid " "$LOG" | sed -E 's/.*host_uid=([0-9]+).*/\1/')
wpid=$(worker_of_uid "$uid")
kill -9 "$wpid"
for _ in $(seq 100); do
	grep -q "session.end session=$sid reason=worker_died" "$LOG" && break
	sleep 0.02
done
expect_match "kill -9 of a session's worker: the session ends, reason worker_died" \
	"session.end session=$sid reason=worker_died" "$(cat "$LOG")"
out=$(api GET "/v1/sessions/$sid")
expect_eq "... it is gone" 404 "$(status_of "$out")"
wait_pool ready 4 2
before=$(pool live)
wuids=$(jail_uids "$DPID")
victim=$(worker_of_uid "$(head -n 1 <<<"$wuids")")
kill -9 "$victim"
sleep 0.2
if wait_pool ready 4 2; then ok "kill -9 of a warm worker: the pool refills within 2 s"; else
	nok "kill -9 of a warm worker: the pool refills within 2 s"
	diag "$(api GET /v1/pools)"
fi
expect_eq "... as many live jails as before" "$before" "$(pool live)"
expect_match "... logged" "event=pool.jail_exit" "$(cat "$LOG")"

# --- SIGHUP: warm jails of a changed profile are replaced ----------------------------
out=$(create)
sid=$(body_of <<<"$out" | jfield id)
old_uids=$(jail_uids "$DPID" | sort)
sed -i 's/"time_s": 60/"time_s": 59/' "$TMPD/profiles/warm.json"
kill -HUP "$DPID"
sleep 0.3
wait_pool ready 4 2
new_uids=$(jail_uids "$DPID" | sort)
kept=$(comm -12 <(echo "$old_uids") <(echo "$new_uids") | wc -l)
# Kept: the session's jail and capped's warm one (its profile did not change).
expect_eq "SIGHUP after a profile changed: its warm jails are all new (2 jails kept: a session's, another profile's)" 2 "$kept"
out=$(api POST "/v1/sessions/$sid/exec" -H 'Content-Type: application/json' -d '{"command": "echo still"}')
expect_eq "... a session made before keeps working" still "$(body_of <<<"$out" | jfield stdout | tr -d '\n')"
api DELETE "/v1/sessions/$sid" >/dev/null

# --- 200 sessions created and deleted: nothing left behind ---------------------------
snapshot() {
	local h
	h=$(http_pid "$DPID")
	echo "fds $(find "/proc/$DPID/fd" -mindepth 1 | wc -l) $(find "/proc/$h/fd" -mindepth 1 | wc -l)"
	echo "procs $(jail_uids "$DPID" | wc -l)"
	echo "cgroups $( [ -n "$CG_BASE" ] && find "$CG_BASE" -maxdepth 1 -name 'jail-*' | wc -l)"
	echo "mounts $(wc -l </proc/self/mountinfo)"
	echo "links $(ip -o link | wc -l)"
}
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
# Warm up first: allocator pools, the reaper's memory, MHD's connections.
python3 - "$SOCK" 20 <<'PY'
import json, sys, ajhttp
for _ in range(int(sys.argv[2])):
    st, d = ajhttp.request(sys.argv[1], "POST", "/v1/sessions", {"profile": "warm"})
    ajhttp.request(sys.argv[1], "DELETE", "/v1/sessions/" + json.loads(d)["id"])
PY
wait_pool ready 4 3
HPID=$(http_pid "$DPID")
snap0=$(snapshot)
rss_m0=$(rss "$DPID")
rss_h0=$(rss "$HPID")
loop=$(python3 - "$SOCK" 200 <<'PY'
import json, sys, ajhttp
bad = 0
for _ in range(int(sys.argv[2])):
    st, d = ajhttp.request(sys.argv[1], "POST", "/v1/sessions", {"profile": "warm"})
    if st != 201:
        bad += 1
        continue
    sid = json.loads(d)["id"]
    st, _ = ajhttp.request(sys.argv[1], "POST", "/v1/sessions/%s/exec" % sid, {"command": "true"})
    bad += st != 200
    st, _ = ajhttp.request(sys.argv[1], "DELETE", "/v1/sessions/" + sid)
    bad += st != 204
print(bad)
PY
)
expect_eq "200 sessions created, used and deleted: no failed call" 0 "$loop"
wait_pool ready 4 3
sleep 0.3
snap1=$(snapshot)
expect_eq "... the same fds, jail processes, cgroups, mounts and links as before" "$snap0" "$snap1"
rss_m1=$(rss "$DPID")
rss_h1=$(rss "$HPID")
if [ -n "${AJ_ASAN:-}" ]; then
	# ASan keeps freed memory in quarantine: RSS says nothing there.
	skip "... RSS within 10% ($rss_m0 -> $rss_m1, $rss_h0 -> $rss_h1 KiB)" "ASan's quarantine holds freed memory"
elif python3 -c 'import sys; a,b,c,d=map(int,sys.argv[1:]); sys.exit(not (b <= a*1.1 and d <= c*1.1))' \
	"$rss_m0" "$rss_m1" "$rss_h0" "$rss_h1"; then
	ok "... RSS within 10% (monitor $rss_m0 -> $rss_m1 KiB, HTTP $rss_h0 -> $rss_h1 KiB)"
else
	nok "... RSS within 10% (monitor $rss_m0 -> $rss_m1 KiB, HTTP $rss_h0 -> $rss_h1 KiB)"
fi
expect_eq "... the warm pool is intact" "4 0" "$(pool ready) $(pool building)"

# --- kill -9 of the monitor, then of the HTTP process ----------------------------------
out=$(create)
sid=$(body_of <<<"$out" | jfield id)
(api POST "/v1/sessions/$sid/exec" -H 'Content-Type: application/json' \
	-d '{"command": "sleep 100 & sleep 100"}' >/dev/null 2>&1 &)
sleep 0.3
uids=$(jail_uids "$DPID")
n_before=$(live_of_uids "$uids" | wc -l)
kill -9 "$DPID"
wait "$DPID" 2>/dev/null
DPID=""
left=""
for _ in $(seq 40); do
	left=$(live_of_uids "$uids")
	[ -z "$left" ] && break
	sleep 0.05
done
if [ -z "$left" ] && [ "$n_before" -gt 5 ]; then
	ok "kill -9 of the monitor: none of the $n_before processes of its jails runs 2 s later"
else
	nok "kill -9 of the monitor: none of the $n_before processes of its jails runs 2 s later"
	diag "left: $left"
fi
hp_left=$(for p in /proc/[0-9]*; do [ "$(tr '\0' ' ' 2>/dev/null <"$p/cmdline")" = "$AJD -c $TMPD/agentjaild.json " ] && echo "${p#/proc/}"; done)
expect_eq "... nor its HTTP process" "" "$hp_left"
stale=""
for u in $uids; do [ -d "$CG_BASE/jail-$u" ] && stale+="$u "; done
: >"$LOG.2"
LOG_SAVE=$LOG
LOG="$LOG.2"
start_daemon
wait_pool ready 4 2
if [ -n "$CG_BASE" ] && [ -n "$stale" ]; then
	logged=0 left=0 n=0
	for u in $stale; do
		n=$((n + 1))
		grep -q "event=stale.removed cgroup=$CG_BASE/jail-$u\$" "$LOG" && logged=$((logged + 1))
		[ -d "$CG_BASE/jail-$u" ] && left=$((left + 1))
	done
	expect_eq "the next start removes the $n stale cgroups of the killed jails and logs each" "$n 0" "$logged $left"
	expect_match "... and their number" "event=stale.sweep cgroups_removed=[1-9]" "$(cat "$LOG")"
else
	skip "the next start removes the stale cgroups of the killed jails" "no cgroup v2 here"
	skip "... and their number" "no cgroup v2 here"
fi

out=$(create)
sid=$(body_of <<<"$out" | jfield id)
(api POST "/v1/sessions/$sid/exec" -H 'Content-Type: application/json' \
	-d '{"command": "sleep 100 & sleep 100"}' >/dev/null 2>&1 &)
sleep 0.3
uids=$(jail_uids "$DPID")
n_before=$(live_of_uids "$uids" | wc -l)
kill -9 "$(http_pid "$DPID")"
left=""
for _ in $(seq 40); do
	left=$(live_of_uids "$uids")
	[ -z "$left" ] && break
	sleep 0.05
done
if [ -z "$left" ] && [ "$n_before" -gt 5 ]; then
	ok "kill -9 of the HTTP process: none of the $n_before processes of the jails runs 2 s later"
else
	nok "kill -9 of the HTTP process: none of the $n_before processes of the jails runs 2 s later"
	diag "left: $left"
fi
for _ in $(seq 100); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.02; done
if kill -0 "$DPID" 2>/dev/null; then nok "... the monitor stops"; else ok "... the monitor stops"; fi
wait "$DPID" 2>/dev/null
DPID=""
left=0
for u in $uids; do [ -d "$CG_BASE/jail-$u" ] && left=$((left + 1)); done
expect_eq "... having removed its jails' cgroups" 0 "$left"
nl=$(wc -l <"$LOG")
start_daemon
wait_pool ready 4 2
fresh=$(tail -n +$((nl + 1)) "$LOG")
expect_match "the next start logs its sweep" "event=stale.sweep cgroups_removed=[0-9]+" "$fresh"
mine=0
for u in $uids; do grep -q "stale.removed cgroup=.*/jail-$u\$" <<<"$fresh" && mine=$((mine + 1)); done
expect_eq "... with nothing of these jails to remove (the monitor had)" 0 "$mine"
uids=$(jail_uids "$DPID")
stop_daemon
LOG=$LOG_SAVE
left=""
for u in $uids; do [ -d "$CG_BASE/jail-$u" ] && left+="$u "; done
expect_eq "SIGTERM: no process or cgroup of its jails is left" "" "$(live_of_uids "$uids")$left"
