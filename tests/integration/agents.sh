#!/usr/bin/env bash
# Agent runtimes end to end, with the example agent (examples/agent/): a
# session of a format-3 profile starts the agent and is ready when its
# health check passes; invocations are proxied into the jail (JSON,
# server-sent events), secrets reach the agent and nothing else, the log
# keeps its output, a crash is restarted or ends the session, an agent that
# never gets healthy fails the create with its output, and the jail has no
# way to the host although invocations reach the agent.
# shellcheck source=tests/harness/lib.sh
. "$(dirname "$0")/../harness/lib.sh"
# shellcheck source=tests/harness/daemon.sh
. "$(dirname "$0")/../harness/daemon.sh"
need_root

mkdir -p "$TMPD/profiles"
agent_profile() { # NAME HEALTH_PATH RESTART START_PERIOD
	cat >"$TMPD/profiles/$1.json" <<JSON
{"format": 3, "name": "$1",
 "mounts": [{"type": "bind", "source": "$AJ_TOP/examples/agent", "target": "/agent"}],
 "entrypoint": ["python3", "/agent/agent.py"],
 "ports": [{"name": "http", "port": 8080, "path_prefix": "/"}],
 "health": {"path": "$2", "interval_s": 1, "start_period_s": $4},
 "secrets": [{"name": "api_key", "required": false}],
 "restart": "$3"}
JSON
}
# The example's own profile, mounting the agent from this tree.
sed -e "s|/usr/local/share/agentjail/examples/agent|$AJ_TOP/examples/agent|" \
	-e 's/"name": "example-agent"/"name": "agent"/' "$AJ_TOP/examples/agent/agent.json" \
	>"$TMPD/profiles/agent.json"
agent_profile fragile /health never 10
agent_profile sick /nope never 2
cat >"$TMPD/agentjaild.json" <<JSON
{"format": 1, "listen": ["unix:$SOCK"], "profiles_dir": "$TMPD/profiles",
 "worker": "$AJ_TOP/build/agentjail-worker", "limits": {"max_sessions": 20},
 "agentcube": {"templates": {"my-agent": "agent"}}}
JSON
start_daemon

JSON=(-H 'Content-Type: application/json')
SECRET="s3cr3t-$RANDOM-$RANDOM-value"

# --- ready ----------------------------------------------------------------------
t0=$(date +%s.%N)
out=$(api POST /v1/sessions "${JSON[@]}" -d "{\"profile\": \"agent\", \"secrets\": {\"api_key\": \"$SECRET\"}}")
t1=$(date +%s.%N)
expect_eq "a session of the agent profile: 201" 201 "$(status_of "$out")"
S=$(body_of <<<"$out" | jfield id)
dt=$(python3 -c "print(f'{$t1 - $t0:.2f}')")
if python3 -c "import sys; sys.exit(not $dt < 2.0)"; then
	ok "... ready (health check passed) within 2 s ($dt s)"
else
	nok "... ready within 2 s (took $dt s)"
fi

# --- invocations ------------------------------------------------------------------
bad=0
for i in $(seq 100); do
	out=$(api POST "/v1/sessions/$S/invocations/invoke" "${JSON[@]}" -d "{\"numbers\": [$i, 1, 2]}")
	got=$(body_of <<<"$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["n"], d["sum"])' 2>/dev/null)
	[ "$(status_of "$out")" = 200 ] && [ "$got" = "$i $((i + 3))" ] || bad=$((bad + 1))
done
expect_eq "100 sequential JSON invocations: every answer right (n counts up, sum)" 0 "$bad"
out=$(api GET "/v1/sessions/$S/invocations/nothing-here")
expect_eq "the agent's own 404 comes back as it is" 404 "$(status_of "$out")"
expect_match "... with its body" '"no such endpoint"' "$out"

# Server-sent events: each arrives as the agent writes it (the agent puts
# its own clock in each event; client and agent share the host's clock).
lat=$(python3 - "$SOCK" "$S" <<'PY'
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(f"GET /v1/sessions/{sys.argv[2]}/invocations/stream?n=5 HTTP/1.1\r\nHost: x\r\n\r\n".encode())
worst, seen, buf = 0.0, 0, b""
while seen < 5:
    d = s.recv(65536)
    if not d:
        break
    now = time.time()
    buf += d
    while b"\n" in buf:
        line, buf = buf.split(b"\n", 1)
        if line.startswith(b"data: "):
            worst = max(worst, now - json.loads(line[6:])["t"])
            seen += 1
print(f"{worst:.4f}" if seen == 5 else "missing")
PY
)
if python3 -c "import sys; sys.exit(not 0 <= $lat < 0.2)"; then
	ok "streaming: every event arrives within 200 ms of the agent writing it (worst $lat s)"
else
	nok "streaming: an event arrived $lat s after the agent wrote it (more than 200 ms)"
fi

# --- secrets ----------------------------------------------------------------------
out=$(api GET "/v1/sessions/$S/invocations/secret")
expect_match "the secret is readable by the agent at /run/secrets/api_key" '"api_key": "delivered", "bytes": '"${#SECRET}" "$out"
for p in "../run/secrets/api_key" "../../run/secrets/api_key" "/run/secrets/api_key"; do
	out=$(api GET "/v1/sessions/$S/files/$p" --path-as-is)
	st=$(status_of "$out")
	if [ "$st" != 200 ] && ! grep -qF "$SECRET" <<<"$out"; then ok "the file API does not read it ($p: $st)"; else nok "the file API read the secret through $p"; fi
done
all=$(api GET "/v1/sessions/$S")$(api GET /v1/sessions)$(api GET "/v1/sessions/$S/logs")$(cat "$TMPD/daemon.log")
expect_nomatch "the secret appears in no API answer and no log" "$SECRET" "$all"

# --- the log ----------------------------------------------------------------------
out=$(api GET "/v1/sessions/$S/logs")
expect_match "GET …/logs: the agent's output" 'agent: listening on 127.0.0.1:8080' "$out"
expect_match "... including its request log" 'POST /invoke HTTP/1.1" 200' "$out"
curl -sN --unix-socket "$SOCK" "http://localhost/v1/sessions/$S/logs?follow=1" >"$TMPD/follow.txt" &
fpid=$!
sleep 0.3
api GET "/v1/sessions/$S/invocations/health?marker=followme" >/dev/null
if wait_for "$TMPD/follow.txt" 3 'marker=followme'; then ok "?follow=1 streams what the agent writes next"; else nok "?follow=1 did not show the new line"; fi

# --- no way to the host -------------------------------------------------------------
python3 -c 'import socket,time; s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(); print(s.getsockname()[1], flush=True); time.sleep(30)' >"$TMPD/hostport" &
lpid=$!
for _ in $(seq 50); do [ -s "$TMPD/hostport" ] && break; sleep 0.05; done
hp=$(cat "$TMPD/hostport")
probe_net='import socket,sys
for host in sys.argv[1:]:
    h, p = host.rsplit(":", 1)
    s = socket.socket(); s.settimeout(2)
    try:
        s.connect((h, int(p))); print(host, "open")
    except OSError as e:
        print(host, "blocked", e.errno)'
out=$(api POST "/v1/sessions/$S/exec" "${JSON[@]}" -d "{\"command\": [\"python3\", \"-c\", $(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$probe_net"), \"127.0.0.1:$hp\", \"10.0.2.2:80\", \"192.0.2.1:80\"]}")
res=$(body_of <<<"$out" | jfield stdout)
expect_nomatch "from inside the jail no host address or port is reachable (host listener 127.0.0.1:$hp, 10.0.2.2, 192.0.2.1)" 'open' "$res"
diag "$res"
if exec 3<>/dev/tcp/127.0.0.1/"$hp"; then
	ok "... control: the host listener is there"
	exec 3>&-
else
	nok "... control: the host listener is not there"
fi
kill "$lpid" 2>/dev/null
out=$(api POST "/v1/sessions/$S/invocations/invoke" "${JSON[@]}" -d '{"numbers": [40, 2]}')
expect_match "... while invocations reach the agent" '"sum": 42' "$out"

# --- crashes ------------------------------------------------------------------------
api POST "/v1/sessions/$S/invocations/crash" >/dev/null
ready_again=""
for _ in $(seq 40); do
	out=$(api POST "/v1/sessions/$S/invocations/invoke" "${JSON[@]}" -d '{}')
	if [ "$(status_of "$out")" = 200 ]; then ready_again=$(body_of <<<"$out" | jfield n); break; fi
	sleep 0.1
done
expect_eq "restart: on-failure: a crashed agent is restarted (a fresh one: n is 1)" 1 "$ready_again"
expect_match "... logged" "event=agent.restart session=$S restarts=1" "$(cat "$TMPD/daemon.log")"

out=$(api POST /v1/sessions "${JSON[@]}" -d '{"profile": "fragile"}')
F=$(body_of <<<"$out" | jfield id)
api POST "/v1/sessions/$F/invocations/crash" >/dev/null
if wait_for "$TMPD/daemon.log" 5 "event=session.end session=$F reason=agent_exited"; then
	ok "restart: never: an agent that crashes ends its session (agent_exited)"
else
	nok "restart: never: the session did not end with agent_exited"
fi
expect_eq "... which is gone" 404 "$(status_of "$(api GET "/v1/sessions/$F")")"

# --- an agent that never gets healthy ---------------------------------------------------
t0=$(date +%s.%N)
out=$(api POST /v1/sessions "${JSON[@]}" -d '{"profile": "sick"}')
t1=$(date +%s.%N)
expect_eq "an agent whose health check fails never becomes ready: 502" 502 "$(status_of "$out")"
expect_match "... agent_failed, with its last output (stderr)" '"agent_failed".*its last output: .*agent: listening on 127.0.0.1:8080' "$out"
expect_match "... after its start period (2 s)" '^[2-4]\.' "$(python3 -c "print(f'{$t1 - $t0:.2f}')")"
expect_eq "... and no session is left of it" "1" "$(api GET /v1/sessions | body_of | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["sessions"]))')"

# --- the reaper: an invocation in flight is activity; the agent alone is not ---------------
out=$(api POST /v1/sessions "${JSON[@]}" -d '{"profile": "agent", "idle_timeout_s": 2}')
R=$(body_of <<<"$out" | jfield id)
n=$(curl -sN --unix-socket "$SOCK" "http://localhost/v1/sessions/$R/invocations/stream?n=35" | grep -c '^data: ')
expect_eq "idle_timeout_s 2: a 3.5 s invocation is not cut by the reaper (35 events)" 35 "$n"
expect_eq "... the session outlived it" 200 "$(status_of "$(api GET "/v1/sessions/$R")")"
if wait_for "$TMPD/daemon.log" 5 "event=reaped session=$R reason=idle"; then
	ok "... and is reaped once idle, its agent running or not"
else
	nok "... the idle session with its running agent was not reaped"
fi

# --- AgentCube's agent-runtimes paths --------------------------------------------------
AC=/v1/namespaces/default/agent-runtimes/my-agent/invocations
out=$(curl -s -D "$TMPD/ac.hdr" --unix-socket "$SOCK" -w '\n%{http_code}' -X POST "${JSON[@]}" \
	-d '{"numbers": [5, 5]}' "http://localhost$AC/invoke")
expect_eq "AgentCube: an invocation without x-agentcube-session-id: 200" 200 "$(status_of "$out")"
expect_match "... the agent answered (a new session's agent: n is 1)" '"n": 1, "sum": 10' "$out"
ACS=$(tr -d '\r' <"$TMPD/ac.hdr" | awk -F': ' 'tolower($1) == "x-agentcube-session-id" {print $2}')
expect_match "... and the new session's id comes back in x-agentcube-session-id" '^[A-Za-z0-9_-]{22}$' "$ACS"
out=$(api POST "$AC/invoke" "${JSON[@]}" -H "x-agentcube-session-id: $ACS" -d '{"numbers": [1]}')
expect_match "a follow-up with the header reaches the same agent instance (n is 2)" '"n": 2, "sum": 1' "$out"
out=$(api GET "/v1/sessions/$ACS")
expect_eq "... a session like any other (native GET)" 200 "$(status_of "$out")"
out=$(api POST "$AC/invoke" "${JSON[@]}" -H "x-agentcube-session-id: nosuchsession" -d '{}')
expect_eq "an unknown session id: 404" 404 "$(status_of "$out")"
expect_match "... with AgentCube's error body" '"error":.*"code":404' "$out"
api DELETE "/v1/sessions/$ACS" >/dev/null

# --- the end ------------------------------------------------------------------------
huid=$(api GET "/v1/sessions/$S" | body_of | jfield usage.cpu_ms >/dev/null; awk -v s="$S" '$0 ~ "session.create session="s {for (i=1;i<=NF;i++) if ($i ~ /^host_uid=/) {sub("host_uid=","",$i); print $i}}' "$TMPD/daemon.log" | head -n 1)
expect_eq "DELETE: 204" 204 "$(status_of "$(api DELETE "/v1/sessions/$S")")"
left=$(live_after_kill "$huid")
expect_eq "... no process of the agent's jail is left (its /run/secrets tmpfs is gone with it)" "" "$left"
wait "$fpid" 2>/dev/null
ok "... and the log follower's stream ended"
expect_nomatch "the secret never reached the daemon's log" "$SECRET" "$(cat "$TMPD/daemon.log")"
stop_daemon
check_sanitizers
