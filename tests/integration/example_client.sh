#!/usr/bin/env bash
# The example client, examples/agentjail_client.py, against an agentjaild of
# its own (a private unix socket): its command line (health, run, create,
# put, get, ls, exec, sessions, pools, rm, the errors it reports and its exit
# statuses) and its importable Client class, used from a Python snippet.
# shellcheck source=tests/harness/lib.sh
. "$(dirname "$0")/../harness/lib.sh"
# shellcheck source=tests/harness/daemon.sh
. "$(dirname "$0")/../harness/daemon.sh"
need_root

CLIENT="$AJ_TOP/examples/agentjail_client.py"
mkdir -p "$TMPD/profiles"
cat >"$TMPD/agentjaild.json" <<JSON
{"format": 1, "listen": ["unix:$SOCK"], "profiles_dir": "$TMPD/profiles",
 "worker": "$AJ_TOP/build/agentjail-worker", "limits": {"max_sessions": 20}}
JSON

start_daemon

# cl ARGS...: the example client on this test's socket.
cl() { python3 "$CLIENT" --unix "$SOCK" "$@"; }
nsessions() { cl sessions | grep -c .; }

# --- health, and a daemon that is not there ----------------------------------------
out=$(cl health)
expect_eq "health: exit 0" 0 "$?"
expect_match "... status ok" '"status": "ok"' "$out"
out=$(python3 "$CLIENT" --unix "$TMPD/nope.sock" health 2>&1)
expect_eq "no daemon at the socket: exit 125" 125 "$?"
expect_match "... and says which socket" "cannot connect to $TMPD/nope.sock" "$out"

# --- run: create, exec, print, delete, exit with the command's status ----------------
out=$(cl run -- sh -c 'echo out; echo err >&2; exit 3' 2>"$TMPD/err")
expect_eq "run -- sh -c '...; exit 3': exits 3" 3 "$?"
expect_eq "... prints the command's stdout" out "$out"
expect_eq "... and its stderr on stderr" err "$(cat "$TMPD/err")"
expect_eq "... and leaves no session behind" 0 "$(nsessions)"
out=$(cl run --stream -- sh -c 'echo one; echo two >&2; exit 4' 2>"$TMPD/err")
expect_eq "run --stream (NDJSON): exits 4" 4 "$?"
expect_eq "... stdout and stderr as they arrive" "one two" "$out $(cat "$TMPD/err")"
out=$(cl run --timeout-ms 300 -- sleep 5 2>&1)
expect_eq "run --timeout-ms 300 -- sleep 5: exits 124" 124 "$?"
expect_match "... and says it timed out" 'timed_out' "$out"
out=$(cl run -- python3 -c 'print(6 * 7)')
expect_eq "run -- python3 -c 'print(6 * 7)'" 42 "$out"

# --- a session: files in and out, byte-exact ---------------------------------------------
sid=$(cl create)
expect_match "create: prints a session id" '^[A-Za-z0-9_-]{22}$' "$sid"
python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)))' >"$TMPD/all.bin"
cl put "$sid" bin/all.bytes <"$TMPD/all.bin" 2>"$TMPD/err"
expect_eq "put 256 bytes (0..255) from stdin: exit 0" 0 "$?"
expect_eq "... reports the size" "bin/all.bytes: 256 bytes" "$(cat "$TMPD/err")"
cl get "$sid" bin/all.bytes >"$TMPD/back.bin"
expect_eq "get: exit 0" 0 "$?"
if cmp -s "$TMPD/all.bin" "$TMPD/back.bin"; then ok "... the same 256 bytes come back"; else
	nok "... the same 256 bytes come back"
	diag "$(od -An -tx1 "$TMPD/back.bin" | head -n 3)"
fi
out=$(cl ls "$sid" bin)
expect_match "ls ID bin: shows the file, its mode and size" '^file +0644 +256 .* all\.bytes$' "$out"
expect_match "ls ID: shows the directory" '^directory .* bin$' "$(cl ls "$sid")"
out=$(cl exec "$sid" -- md5sum bin/all.bytes)
expect_eq "exec sees the uploaded file (md5)" "$(md5sum <"$TMPD/all.bin" | cut -d' ' -f1)" "${out%% *}"
out=$(cl exec "$sid" -i -- md5sum <"$TMPD/all.bin")
expect_eq "exec -i: binary stdin reaches the command (stdin_b64)" \
	"$(md5sum <"$TMPD/all.bin" | cut -d' ' -f1)" "${out%% *}"
if cl exec "$sid" -- cat bin/all.bytes | cmp -s - "$TMPD/all.bin"; then
	ok "exec: output that is not UTF-8 (stdout_b64) is printed byte-exact"
else nok "exec: output that is not UTF-8 (stdout_b64) is printed byte-exact"; fi
# A name with a space, '%', '?' and '#': each is percent-encoded by the client.
odd='odd dir/50% a?b#c.txt'
printf 'odd\n' | cl put "$sid" "$odd" --mode 0600 2>/dev/null
expect_eq "put and get a path with ' ', '%', '?', '#'" odd "$(cl get "$sid" "$odd")"
expect_match "... ls shows its exact name and mode" '^file +0600 +4 .* 50% a\?b#c\.txt$' "$(cl ls "$sid" 'odd dir')"
expect_eq "... and the jail sees it under that name" odd "$(cl exec "$sid" -- cat "$odd")"
out=$(cl get "$sid" nope 2>&1)
expect_eq "get of a missing file: exit 125" 125 "$?"
expect_match "... with the API's code" 'file_not_found \(HTTP 404\)' "$out"
head -c 33554433 /dev/zero >"$TMPD/big.bin"
out=$(cl put "$sid" big "$TMPD/big.bin" 2>&1)
expect_eq "put of 32 MiB + 1 from a file: exit 125" 125 "$?"
expect_match "... payload_too_large, the answer read although the body was refused" \
	'payload_too_large \(HTTP 413\)' "$out"
expect_match "sessions: lists the session" "^$sid	default	" "$(cl sessions)"
expect_match "pools: one line per profile" '^default +size 0 ready 0 live 1 ' "$(cl pools)"

# --- rm: the session is gone, and the client says so ------------------------------------
cl rm "$sid"
expect_eq "rm ID: exit 0" 0 "$?"
expect_eq "... no session is left" 0 "$(nsessions)"
out=$(cl exec "$sid" -- true 2>&1)
rc=$?
if [ "$rc" -ne 0 ]; then ok "exec on the deleted session fails (exit $rc)"; else
	nok "exec on the deleted session fails"
fi
expect_match "... with the API's error code session_not_found" \
	"session_not_found \\(HTTP 404\\): no session '$sid'" "$out"

# --- the Client class, imported -----------------------------------------------------------
out=$(PYTHONPATH="$AJ_TOP/examples" python3 - "$SOCK" <<'PY'
import sys
from agentjail_client import ApiError, Client, output
c = Client(unix=sys.argv[1])
s = c.create_session(profile="default", env={"GREETING": "hi"}, idle_timeout_s=60)
print("idle", s["idle_timeout_s"])
sid = s["id"]
try:
    r = c.exec(sid, ["sh", "-c", "echo $GREETING; cat; exit 5"], stdin=b"\x00\xff")
    print("exec", r["exit_code"], output(r, "stdout") == b"hi\n\x00\xff")
    print("put", c.put_file(sid, "/p/x.bin", bytes(range(256)))["size"])
    print("get", c.get_file(sid, "p/x.bin") == bytes(range(256)))
    print("ls", [(e["name"], e["size"]) for e in c.list_files(sid, "p")])
    print("listed", [x["id"] for x in c.sessions()] == [sid])
finally:
    c.delete_session(sid)
for call in (lambda: c.exec(sid, ["true"]), lambda: c.create_session(profile="nope")):
    try:
        call()
    except ApiError as e:
        print("error", e.status, e.code)
PY
)
expect_eq "Client.create_session: idle_timeout_s is sent" "idle 60" "$(sed -n 1p <<<"$out")"
expect_eq "Client.exec: exit code, session env, binary stdin and output" "exec 5 True" "$(sed -n 2p <<<"$out")"
expect_eq "Client.put_file" "put 256" "$(sed -n 3p <<<"$out")"
expect_eq "Client.get_file: byte-exact" "get True" "$(sed -n 4p <<<"$out")"
expect_eq "Client.list_files" "ls [('x.bin', 256)]" "$(sed -n 5p <<<"$out")"
expect_eq "Client.sessions" "listed True" "$(sed -n 6p <<<"$out")"
expect_eq "ApiError after delete_session: 404 session_not_found" "error 404 session_not_found" \
	"$(sed -n 7p <<<"$out")"
expect_eq "ApiError of an unknown profile: 422 unknown_profile" "error 422 unknown_profile" \
	"$(sed -n 8p <<<"$out")"
expect_eq "nothing is left running" 0 "$(nsessions)"
