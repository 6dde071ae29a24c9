#!/usr/bin/env bash
# agentjaild's warm pools on a real cgroup v2 host: a claimed warm jail
# takes the session's narrower limits in its cgroup (no cold build), and
# they hold; the reaper ends an idle session and removes its cgroup. The
# guest has no curl: busybox wget over a loopback TCP listener.
# shellcheck source=tests/harness/lib.sh
. "$AJ_TOP/tests/harness/lib.sh"
need_root

AJD="$AJ_BUILD/agentjaild"
PORT=8931
URL="http://127.0.0.1:$PORT"
mkdir -p "$TMPD/profiles"
cat >"$TMPD/profiles/warm.json" <<JSON
{"format": 2, "name": "warm", "pool": {"size": 2},
 "mounts": [{"type": "bind", "source": "$PROBE", "target": "/ajprobe"}],
 "limits": {"memory": "256M", "pids": 100, "time_s": 60}}
JSON
cat >"$TMPD/agentjaild.json" <<JSON
{"format": 1, "listen": ["127.0.0.1:$PORT"], "insecure_no_auth": true,
 "profiles_dir": "$TMPD/profiles", "worker": "$AJ_BUILD/agentjail-worker"}
JSON
"$AJD" -c "$TMPD/agentjaild.json" 2>"$TMPD/d.log" &
DPID=$!
trap 'kill -TERM "$DPID" 2>/dev/null; wait "$DPID"; cleanup_tmp' EXIT

get() { wget -q -O - "$URL$1" 2>/dev/null; }
post() { wget -q -O - --header 'Content-Type: application/json' --post-data "$2" "$URL$1" 2>/dev/null; }
# num KEY JSON: the first integer value of KEY in a flat JSON text.
num() { grep -o "\"$1\":[0-9]*" <<<"$2" | head -n 1 | cut -d: -f2; }
str() { grep -o "\"$1\":\"[^\"]*\"" <<<"$2" | head -n 1 | cut -d'"' -f4; }
warm_pool() { get /v1/pools | grep -o '{"profile":"warm"[^}]*}'; }

ready=""
for _ in $(seq 100); do
	p=$(warm_pool)
	[ "$(num ready "$p")" = 2 ] && ready=1 && break
	sleep 0.1
done
if [ -n "$ready" ]; then ok "pool.size 2: 2 warm jails ready"; else
	nok "pool.size 2: 2 warm jails ready"
	diag "$(warm_pool)" "$(cat "$TMPD/d.log")"
fi

s=$(post /v1/sessions '{"profile": "warm", "limits": {"memory": "64M", "pids": 50}}')
sid=$(str id "$s")
expect_match "a session with narrower limits" '^[A-Za-z0-9_-]{22}$' "$sid"
p=$(warm_pool)
expect_eq "... claimed a warm jail (claims 1, misses 0)" "1 0" "$(num claims "$p") $(num misses "$p")"
huid=$(grep -o "session.create session=$sid profile=warm host_uid=[0-9]*" "$TMPD/d.log" | grep -o '[0-9]*$')
d=/sys/fs/cgroup/agentjail/jail-$huid
expect_eq "... its cgroup's memory.max is the session's" $((64 << 20)) "$(cat "$d/memory.max" 2>&1)"
expect_eq "... pids.max too" 50 "$(cat "$d/pids.max" 2>&1)"
r=$(post "/v1/sessions/$sid/exec" '{"command": ["/ajprobe", "alloc", "128"]}')
expect_match "... and it holds: 128 MiB touched under 64M is OOM-killed" '"oom_killed":true' "$r"

s2=$(post /v1/sessions '{"profile": "warm"}')
sid2=$(str id "$s2")
huid2=$(grep -o "session.create session=$sid2 profile=warm host_uid=[0-9]*" "$TMPD/d.log" | grep -o '[0-9]*$')
expect_eq "a session without narrower limits keeps the profile's" $((256 << 20)) \
	"$(cat "/sys/fs/cgroup/agentjail/jail-$huid2/memory.max" 2>&1)"

s3=$(post /v1/sessions '{"profile": "warm", "idle_timeout_s": 1}')
sid3=$(str id "$s3")
huid3=$(grep -o "session.create session=$sid3 profile=warm host_uid=[0-9]*" "$TMPD/d.log" | grep -o '[0-9]*$')
if wait_for "$TMPD/d.log" 10 "reaped session=$sid3 reason=idle"; then
	ok "idle_timeout_s 1: the reaper ends the session"
else
	nok "idle_timeout_s 1: the reaper ends the session"
fi
gone=""
for _ in $(seq 50); do
	[ -d "/sys/fs/cgroup/agentjail/jail-$huid3" ] || { gone=1; break; }
	sleep 0.1
done
if [ -n "$gone" ]; then ok "... and its cgroup is removed"; else nok "... and its cgroup is removed"; fi
