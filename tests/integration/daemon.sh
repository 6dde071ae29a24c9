#!/usr/bin/env bash
# agentjaild end to end, through its unix socket: sessions, exec, files,
# streaming, timeouts, bounds, path attacks, the worker's protection, and a
# clean shutdown.
# shellcheck source=tests/harness/lib.sh
. "$(dirname "$0")/../harness/lib.sh"
# shellcheck source=tests/harness/daemon.sh
. "$(dirname "$0")/../harness/daemon.sh"
need_root

mkdir -p "$TMPD/profiles" "$TMPD/rodir"
echo "read only" >"$TMPD/rodir/file"
cat >"$TMPD/profiles/probe.json" <<JSON
{"format": 1, "name": "probe",
 "mounts": [{"type": "bind", "source": "$PROBE", "target": "/ajprobe"},
            {"type": "bind", "source": "$TMPD/rodir", "target": "/workspace/ro"}],
 "limits": {"time_s": 120}}
JSON
cat >"$TMPD/agentjaild.json" <<JSON
{"format": 1, "listen": ["unix:$SOCK"], "profiles_dir": "$TMPD/profiles",
 "worker": "$AJ_TOP/build/agentjail-worker", "limits": {"max_sessions": 100}}
JSON

start_daemon

jrepr() { python3 -c 'import json,sys; print(json.dumps(json.loads(sys.stdin.read())[sys.argv[1]]))' "$1"; }
new_session() {
	local body=${1:-'{"profile": "probe"}'}
	api POST /v1/sessions -H 'Content-Type: application/json' -d "$body" | body_of | jfield id
}

out=$(api GET /health)
expect_eq "GET /health: 200" 200 "$(status_of "$out")"
expect_eq "... status ok" ok "$(body_of <<<"$out" | jfield status)"

# --- privilege separation, seen from the host -----------------------------------
hpid=""
for p in /proc/[0-9]*; do
	[ "$(awk '{print $4}' "$p/stat" 2>/dev/null)" = "$DPID" ] || continue
	[ "$(cat "$p/comm" 2>/dev/null)" = agentjaild ] && hpid=${p#/proc/}
done
if [ -n "$hpid" ]; then
	st=$(cat "/proc/$hpid/status")
	hu=$(awk '/^Uid:/ {print $2}' <<<"$st")
	if [ "$hu" -gt 0 ]; then ok "the HTTP process runs as an unprivileged uid ($hu)"; else nok "the HTTP process runs as root"; fi
	expect_match "... with no capabilities" $'CapEff:\t0000000000000000' "$st"
	expect_match "... no_new_privs" $'NoNewPrivs:\t1' "$st"
	expect_match "... and a seccomp filter" $'Seccomp:\t2' "$st"
	expect_eq "the monitor is root" 0 "$(awk '/^Uid:/ {print $2}' "/proc/$DPID/status")"
else
	nok "the HTTP process was not found among the daemon's children"
fi

# --- a session: python, files, listing, delete ------------------------------
out=$(api POST /v1/sessions -H 'Content-Type: application/json' -d '{"profile": "probe"}')
expect_eq "POST /v1/sessions: 201" 201 "$(status_of "$out")"
sid=$(sed '$d' <<<"$out" | jfield id)
expect_match "... a 128-bit URL-safe id" '^[A-Za-z0-9_-]{22}$' "$sid"
expect_match "... created_at and expires_at" '"expires_at":"20[0-9-]+T' "$out"
out=$(api POST "/v1/sessions/$sid/exec" -H 'Content-Type: application/json' \
	-d '{"command": ["python3", "-c", "print(2+2)"]}')
expect_eq "exec python3 -c 'print(2+2)': 200" 200 "$(status_of "$out")"
expect_eq "... stdout is 4\\n" '"4\n"' "$(sed '$d' <<<"$out" | jrepr stdout)"
expect_eq "... exit_code 0" 0 "$(sed '$d' <<<"$out" | jfield exit_code)"
expect_eq "... termination exit" exit "$(sed '$d' <<<"$out" | jfield termination)"

head -c 10485760 /dev/urandom >"$TMPD/up.bin"
out=$(api PUT "/v1/sessions/$sid/files/dir/data.bin" --data-binary "@$TMPD/up.bin")
expect_eq "PUT a 10 MiB binary file: 200" 200 "$(status_of "$out")"
curl -s --unix-socket "$SOCK" -o "$TMPD/down.bin" "http://localhost/v1/sessions/$sid/files/dir/data.bin"
if cmp -s "$TMPD/up.bin" "$TMPD/down.bin"; then ok "GET returns identical bytes"; else
	nok "GET returns identical bytes"
	diag "$(ls -l "$TMPD/down.bin")"
fi
out=$(api GET "/v1/sessions/$sid/files/dir")
expect_eq "GET a directory: a JSON listing" "data.bin" "$(sed '$d' <<<"$out" | jfield entries.0.name)"
expect_eq "... with its size" 10485760 "$(sed '$d' <<<"$out" | jfield entries.0.size)"
out=$(api HEAD "/v1/sessions/$sid/files/dir/data.bin" -I)
expect_match "HEAD: stat headers" 'X-File-Type: file' "$out"
out=$(api POST "/v1/sessions/$sid/exec" -H 'Content-Type: application/json' \
	-d '{"command": "cat dir/data.bin | md5sum"}')
expect_eq "the jail sees the uploaded file (md5)" "$(md5sum <"$TMPD/up.bin" | cut -d' ' -f1)" \
	"$(sed '$d' <<<"$out" | jfield stdout | cut -d' ' -f1)"
out=$(api POST "/v1/sessions/$sid/files/a/b/c?op=mkdir")
expect_eq "POST ?op=mkdir with parents: 201" 201 "$(status_of "$out")"
out=$(api DELETE "/v1/sessions/$sid/files/a/b/c")
expect_eq "DELETE an empty directory: 204" 204 "$(status_of "$out")"
out=$(api DELETE "/v1/sessions/$sid/files/a")
expect_eq "DELETE a non-empty directory: 409" 409 "$(status_of "$out")"

huid=$(grep -o "session.create session=$sid profile=probe host_uid=[0-9]*" "$TMPD/daemon.log" | grep -o '[0-9]*$')
expect_match "the session's jail has its own host uid" '^1[0-9]{6}$' "$huid"
expect_match "... with live processes" '[0-9]' "$(pids_of_uid "$huid")"
out=$(api GET "/v1/sessions/$sid")
expect_match "GET the session: live usage from its cgroup" '"usage":\{"cpu_ms":[0-9]+' "$out"
out=$(api DELETE "/v1/sessions/$sid")
expect_eq "DELETE the session: 204" 204 "$(status_of "$out")"
expect_eq "... its worker and processes are gone" "" "$(live_after_kill "$huid")"
cgl=$(find /sys/fs/cgroup -maxdepth 3 -type d -name "jail-$huid" 2>/dev/null)
expect_eq "... its cgroup is gone" "" "$cgl"
out=$(api GET "/v1/sessions/$sid")
expect_eq "... and it is not found any more (404)" 404 "$(status_of "$out")"

# --- timeouts kill the whole tree ---------------------------------------------
sid=$(new_session)
t0=$(date +%s%3N)
out=$(api POST "/v1/sessions/$sid/exec" -H 'Content-Type: application/json' \
	-d '{"command": "echo a; setsid sleep 30 & sleep 30", "timeout_ms": 1000}')
el=$(($(date +%s%3N) - t0))
b=$(sed '$d' <<<"$out")
expect_eq "timeout_ms 1000: answered with the partial output" '"a\n"' "$(jrepr stdout <<<"$b")"
expect_eq "... timed_out true" True "$(jfield timed_out <<<"$b")"
if [ "$el" -lt 2500 ]; then ok "... within 2.5 s (${el} ms)"; else nok "... within 2.5 s (${el} ms)"; fi
left=$(api POST "/v1/sessions/$sid/exec" -H 'Content-Type: application/json' \
	-d '{"command": "ps -eo args= | grep -c \"^sleep 30\" || true"}' | sed '$d' | jfield stdout)
expect_eq "... no process of it remains, the setsid one included" 0 "$(tr -d '\n' <<<"$left")"

# --- environment: the profile's, the session's, the exec's -----------------------
esid=$(new_session '{"profile": "probe", "env": {"FROM_SESSION": "s", "OVERRIDE": "session"}}')
# shellcheck disable=SC2016 # expanded by the jail's shell
out=$(api POST "/v1/sessions/$esid/exec" -H 'Content-Type: application/json' \
	-d '{"command": "echo $PATH $HOME $FROM_SESSION $OVERRIDE $FROM_EXEC", "env": {"OVERRIDE": "exec", "FROM_EXEC": "e"}}')
expect_eq "commands get the jail's environment, the session's, and the exec's (which wins)" \
	"/usr/local/bin:/usr/bin:/bin /workspace s exec e" "$(sed '$d' <<<"$out" | jfield stdout | tr -d '\n')"
api DELETE "/v1/sessions/$esid" >/dev/null

# --- output bounds, stdin, /v1/run ----------------------------------------------
out=$(api POST "/v1/sessions/$sid/exec" -H 'Content-Type: application/json' \
	-d '{"command": "head -c 10000 /dev/zero | tr \"\\\\0\" x", "max_output_bytes": 1000}')
b=$(sed '$d' <<<"$out")
expect_eq "max_output_bytes 1000: 1000 bytes kept" 1000 "$(jfield stdout <<<"$b" | tr -d '\n' | wc -c)"
expect_eq "... stdout_truncated" True "$(jfield stdout_truncated <<<"$b")"
out=$(api POST "/v1/sessions/$sid/exec" -H 'Content-Type: application/json' \
	-d '{"command": ["sh", "-c", "printf \"\\\\377\\\\376\""]}')
expect_eq "output that is not UTF-8 comes as stdout_b64" '//4=' "$(sed '$d' <<<"$out" | jfield stdout_b64)"
out=$(api POST "/v1/sessions/$sid/exec" -H 'Content-Type: application/json' \
	-d '{"command": ["wc", "-c"], "stdin_b64": "AAECAwQ="}')
expect_eq "stdin_b64 reaches the command" 5 "$(sed '$d' <<<"$out" | jfield stdout | tr -d ' \n')"
out=$(api POST "/v1/sessions/$sid/exec" -H 'Content-Type: application/json' -d '{"command": ["no-such-cmd"]}')
expect_eq "a command that does not exist: exit_code 127" 127 "$(sed '$d' <<<"$out" | jfield exit_code)"
before=$(api GET /v1/sessions | sed '$d' | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["sessions"]))')
out=$(api POST /v1/run -H 'Content-Type: application/json' -d '{"command": ["sh", "-c", "echo one-shot; exit 3"]}')
expect_eq "POST /v1/run: 200" 200 "$(status_of "$out")"
expect_eq "... the command's output" one-shot "$(sed '$d' <<<"$out" | jfield stdout | tr -d '\n')"
expect_eq "... its exit code" 3 "$(sed '$d' <<<"$out" | jfield exit_code)"
after=$(api GET /v1/sessions | sed '$d' | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["sessions"]))')
expect_eq "... and its jail is gone afterwards" "$before" "$after"

# --- a client that hangs up cancels its command -----------------------------------
cpu_ticks() { awk '{print $14 + $15}' "/proc/$hpid/stat"; }
for mode in buffered streamed; do
	hdr=()
	[ "$mode" = streamed ] && hdr=(-H 'Accept: application/x-ndjson')
	curl -s --unix-socket "$SOCK" --max-time 1 "${hdr[@]}" -H 'Content-Type: application/json' \
		-d '{"command": ["sleep", "30"]}' "http://localhost/v1/sessions/$sid/exec" >/dev/null
	c0=$(cpu_ticks)
	sleep 1
	c1=$(cpu_ticks)
	n=$(api POST "/v1/sessions/$sid/exec" -H 'Content-Type: application/json' \
		-d '{"command": "ps -eo args= | grep -c \"^sleep 30\" || true"}' | sed '$d' | jfield stdout)
	expect_eq "a $mode exec whose client hangs up is killed" 0 "$(tr -d '\n' <<<"$n")"
	if [ $((c1 - c0)) -le 20 ]; then ok "... and the HTTP process stays idle ($((c1 - c0)) ticks in 1 s)"; else
		nok "... the HTTP process used $((c1 - c0)) ticks in 1 s"
	fi
done

# --- streaming ------------------------------------------------------------------
times=$(python3 - "$SOCK" "$sid" <<'PY'
import sys
sys.path.insert(0, __import__("os").environ["AJ_TOP"] + "/tests/harness")
import ajhttp
first = last = None
for t, ev in ajhttp.stream(sys.argv[1], "/v1/sessions/%s/exec" % sys.argv[2],
                           {"command": "for i in 1 2 3; do echo $i; sleep 1; done"}):
    if ev.get("stdout", "").startswith("1") and first is None:
        first = t
    if "exit" in ev:
        last = t
print("%.3f %.3f" % (first if first is not None else -1, last if last is not None else -1))
PY
)
first=${times% *}
last=${times#* }
if awk -v f="$first" -v l="$last" 'BEGIN { exit !(f >= 0 && l - f >= 1.5) }'; then
	ok "streaming: the '1' event arrives ${first}s, the exit ${last}s (>= 1.5 s apart)"
else
	nok "streaming: the '1' event before the exit by >= 1.5 s (got $times)"
fi

# --- concurrency: 50 sessions, 50 execs of sleep 2 -------------------------------
sids=()
for _ in $(seq 50); do sids+=("$(new_session '{"profile": "default"}')"); done
expect_eq "50 sessions created" 50 "$(printf '%s\n' "${sids[@]}" | grep -c .)"
conc=$(python3 - "$SOCK" "${sids[@]}" <<'PY'
import sys, threading, time, os
sys.path.insert(0, os.environ["AJ_TOP"] + "/tests/harness")
import ajhttp
sock, sids = sys.argv[1], sys.argv[2:]
res = []
def run(s):
    st, body = ajhttp.request(sock, "POST", "/v1/sessions/%s/exec" % s, {"command": ["sleep", "2"]})
    res.append(st)
t0 = time.monotonic()
ts = [threading.Thread(target=run, args=(s,)) for s in sids]
for t in ts: t.start()
time.sleep(0.5)
h0 = time.monotonic()
st, _ = ajhttp.request(sock, "GET", "/health")
h = time.monotonic() - h0
for t in ts: t.join()
print("%d %d %.3f %.3f" % (res.count(200), st, time.monotonic() - t0, h))
PY
)
read -r n200 hst wall hlat <<<"$conc"
expect_eq "50 concurrent sleep 2 execs: all 200" 50 "$n200"
if awk -v w="$wall" 'BEGIN { exit !(w < 6) }'; then ok "... all done within 6 s (${wall} s)"; else nok "... took ${wall} s"; fi
expect_eq "... /health answers meanwhile" 200 "$hst"
if awk -v h="$hlat" 'BEGIN { exit !(h < 0.1) }'; then ok "... within 100 ms (${hlat} s)"; else nok "... /health took ${hlat} s"; fi
for s in "${sids[@]}"; do api DELETE "/v1/sessions/$s" >/dev/null; done

# --- path attacks ---------------------------------------------------------------
sid=$(new_session)
api POST "/v1/sessions/$sid/exec" -H 'Content-Type: application/json' -d \
	'{"command": "ln -s / rootlink; ln -s /proc/1/root p1root; mkdir -p sub; ln -s /tmp outside; mkfifo fifo; echo hi > plain"}' >/dev/null
for p in "../../etc/passwd" "%2e%2e/%2e%2e/etc/passwd" "rootlink/etc/passwd" "p1root/etc/passwd"; do
	out=$(api GET "/v1/sessions/$sid/files/$p" --path-as-is)
	st=$(status_of "$out")
	if [[ "$st" =~ ^4 ]] && ! grep -q 'root:x:0' <<<"$out"; then ok "GET $p: $st, nothing outside"; else
		nok "GET $p: expected 4xx, got $st"
		diag "$(head -c 200 <<<"$out")"
	fi
done
out=$(api PUT "/v1/sessions/$sid/files/outside/planted" --data-binary 'x')
expect_match "PUT through a symlinked parent pointing outside: 4xx" '^4' "$(status_of "$out")"
planted=$(api POST "/v1/sessions/$sid/exec" -H 'Content-Type: application/json' \
	-d '{"command": "ls /tmp/planted 2>&1 || true"}' | sed '$d' | jfield stdout)
expect_match "... nothing was created outside the workspace" 'No such file' "$planted"
out=$(api PUT "/v1/sessions/$sid/files/ro/new" --data-binary 'x')
expect_eq "PUT into a read-only bind inside the workspace: 403" 403 "$(status_of "$out")"
t0=$(date +%s%3N)
out=$(api GET "/v1/sessions/$sid/files/fifo" --max-time 5)
el=$(($(date +%s%3N) - t0))
expect_eq "GET of a FIFO: 400" 400 "$(status_of "$out")"
if [ "$el" -lt 1000 ]; then ok "... answered at once (${el} ms)"; else nok "... took ${el} ms"; fi
expect_eq "... the worker is not blocked" 200 "$(status_of "$(api GET "/v1/sessions/$sid/files/plain")")"

# --- the worker is out of the command's reach ----------------------------------------
for probe in "ptrace-attach 1" "vm-read 1"; do
	out=$(api POST "/v1/sessions/$sid/exec" -H 'Content-Type: application/json' \
		-d "{\"command\": \"/ajprobe $probe\"}" | sed '$d' | jfield stdout)
	expect_match "the command cannot $probe the worker" '^E(PERM|SRCH|ACCES)' "$out"
done
# kill() of a pid namespace's init from inside "succeeds" but the kernel
# drops the signal: what shows is that the worker lives on.
for sig in 15 9 1 2; do
	api POST "/v1/sessions/$sid/exec" -H 'Content-Type: application/json' \
		-d "{\"command\": \"/ajprobe signal 1 $sig\"}" >/dev/null
done
out=$(api POST "/v1/sessions/$sid/exec" -H 'Content-Type: application/json' -d '{"command": "echo alive"}')
expect_eq "signals from the command (TERM, KILL, HUP, INT) do not reach the worker" alive \
	"$(sed '$d' <<<"$out" | jfield stdout 2>/dev/null)"

# --- bad input ---------------------------------------------------------------------
chk() { # DESC STATUS CODE METHOD PATH [curl args]
	local d=$1 s=$2 c=$3
	shift 3
	local o
	o=$(api "$@")
	expect_eq "$d: $s" "$s" "$(status_of "$o")"
	expect_eq "... error code $c" "$c" "$(sed '$d' <<<"$o" | jfield error.code 2>/dev/null)"
}
chk "malformed JSON" 400 invalid_request POST /v1/sessions -H 'Content-Type: application/json' -d '{"profile":'
chk "a wrong type" 400 invalid_request POST /v1/sessions -H 'Content-Type: application/json' -d '{"profile": 7}'
chk "an unknown key" 400 invalid_request POST "/v1/sessions/$sid/exec" -H 'Content-Type: application/json' -d '{"command": "true", "comand": 1}'
chk "a duplicate key" 400 invalid_request POST "/v1/sessions/$sid/exec" -H 'Content-Type: application/json' -d '{"command": "true", "command": "x"}'
chk "an unknown profile" 422 unknown_profile POST /v1/sessions -H 'Content-Type: application/json' -d '{"profile": "nope"}'
chk "a limit above the profile's" 422 invalid_value POST /v1/sessions -H 'Content-Type: application/json' -d '{"profile": "default", "limits": {"memory": "100G"}}'
chk "a non-JSON content type" 415 unsupported_media_type POST /v1/sessions -H 'Content-Type: text/plain' -d '{}'
chk "a missing session" 404 session_not_found GET /v1/sessions/AAAAAAAAAAAAAAAAAAAAAA
chk "a method not allowed" 405 method_not_allowed PUT /v1/sessions
chk "an unknown endpoint" 404 not_found GET /v2/nothing
head -c 41943040 /dev/zero >"$TMPD/big.bin"
chk "a 40 MiB upload" 413 payload_too_large PUT "/v1/sessions/$sid/files/big" --data-binary "@$TMPD/big.bin"
api DELETE "/v1/sessions/$sid" >/dev/null
chk "a deleted session" 404 session_not_found POST "/v1/sessions/$sid/exec" -H 'Content-Type: application/json' -d '{"command": "true"}'
big=$(head -c 100000 /dev/zero | tr '\0' a)
expect_eq "a 100 KiB header: 431" 431 "$(status_of "$(api GET /health -H "X-Big: $big")")"
expect_eq "the daemon stays healthy" 200 "$(status_of "$(api GET /health)")"
out=$(api GET /metrics)
expect_match "GET /metrics: Prometheus text" 'agentjail_execs_total [1-9]' "$out"

# --- SIGHUP reloads the profiles; sessions keep theirs ------------------------------
sid=$(new_session)
cat >"$TMPD/profiles/later.json" <<JSON
{"format": 1, "name": "later", "hostname": "later"}
JSON
kill -HUP "$DPID"
for _ in $(seq 50); do
	api GET /v1/profiles | grep -q '"name":"later"' && break
	sleep 0.1
done
expect_match "SIGHUP: a new profile is served" '"name":"later"' "$(api GET /v1/profiles)"
out=$(api POST /v1/sessions -H 'Content-Type: application/json' -d '{"profile": "later"}')
expect_eq "... and sessions can use it" 201 "$(status_of "$out")"
later=$(sed '$d' <<<"$out" | jfield id)
out=$(api POST "/v1/sessions/$later/exec" -H 'Content-Type: application/json' -d '{"command": "hostname"}')
expect_eq "... with its settings" later "$(sed '$d' <<<"$out" | jfield stdout | tr -d '\n')"
out=$(api GET "/v1/sessions/$sid")
expect_eq "a session made before the reload keeps its profile" probe "$(sed '$d' <<<"$out" | jfield profile)"
api DELETE "/v1/sessions/$sid" >/dev/null
api DELETE "/v1/sessions/$later" >/dev/null

# --- SIGTERM with 20 live sessions ----------------------------------------------------
nsess() { api GET /v1/sessions | sed '$d' | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["sessions"]))'; }
before=$(nsess)
for _ in $(seq 20); do new_session >/dev/null; done
expect_eq "20 more live sessions" $((before + 20)) "$(nsess)"
uids=$(grep -o 'jail.create jail=[0-9]* profile=[a-z]* host_uid=[0-9]*' "$TMPD/daemon.log" | grep -o '[0-9]*$' | sort -u)
t0=$(date +%s%3N)
kill -TERM "$DPID"
wait "$DPID"
rc=$?
el=$(($(date +%s%3N) - t0))
expect_eq "SIGTERM: exit 0" 0 "$rc"
if [ "$el" -lt 5000 ]; then ok "... within 5 s (${el} ms)"; else nok "... took ${el} ms"; fi
left=""
for u in $uids; do left+=$(pids_of_uid "$u"); done
expect_eq "... no process of any jail is left" "" "$left"
left=""
for u in $uids; do left+=$(find /sys/fs/cgroup -maxdepth 3 -type d -name "jail-$u" 2>/dev/null); done
expect_eq "... no cgroup of its jails is left" "" "$left"
expect_eq "... no mount of agentjail's is left" 0 "$(grep -c agentjail /proc/self/mountinfo)"
expect_eq "... the socket is removed" no "$([ -e "$SOCK" ] && echo yes || echo no)"
