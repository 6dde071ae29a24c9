#!/usr/bin/env bash
# The AgentCube compatibility layer end to end: what the unmodified AgentCube
# SDK sends (tests/harness/agentcube_sdk.py emulates it request for request),
# one or more checks per MUST point of /work/shared/API-COMPAT.md section 8,
# against a daemon of the test's own serving a unix socket and a TCP port.
# shellcheck source=tests/harness/lib.sh
. "$(dirname "$0")/../harness/lib.sh"
# shellcheck source=tests/harness/daemon.sh
. "$(dirname "$0")/../harness/daemon.sh"
need_root

AJD="$AJ_BUILD/agentjaild"
[ -x "$AJD" ] || {
	echo "no $AJD"
	exit 1
}
SOCK="$TMPD/api.sock"
PORT=$(free_port)
mkdir -p "$TMPD/profiles"
# "ghost" names a profile that does not exist: create answers 404.
cat >"$TMPD/agentjaild.json" <<JSON
{"format": 1, "listen": ["unix:$SOCK", "127.0.0.1:$PORT"], "insecure_no_auth": true,
 "profiles_dir": "$TMPD/profiles", "worker": "$AJ_TOP/build/agentjail-worker",
 "agentcube": {"templates": {"my-interpreter": "default", "ghost": "no-such-profile"}}}
JSON

start_daemon

export AC_URL="http://127.0.0.1:$PORT" AC_SOCK="$SOCK" AC_LOG="$TMPD/daemon.log" TMPD
export PYTHONPATH="$AJ_TOP/tests/harness"

# The host uid of a session's jail, from the daemon's log.
host_uid() {
	grep -o "session.create session=$1 profile=[a-z]* host_uid=[0-9]*" "$TMPD/daemon.log" |
		grep -o '[0-9]*$'
}

# --- 1, 2: the origin root, keep-alive, create -----------------------------------
python3 - <<'PY'
import json, os, re, subprocess
from agentcube_sdk import CodeInterpreterClient, Connection, tap, HTTPError

url = os.environ["AC_URL"]
c = CodeInterpreterClient(url, url, metadata={"purpose": "test"}, extra_fields={"kind": "CodeInterpreter"})
r = c.create_response
tap(r.status == 200, "create: POST /v1/code-interpreter with ttl, metadata and an unknown field: 200", r.body)
body = r.json()
tap(re.fullmatch(r"[A-Za-z0-9_-]+", c.session_id) is not None,
    "... a sessionId that is URL- and header-safe ([A-Za-z0-9_-]+)", c.session_id)
tap(body.get("kind") == "Sandbox" and body.get("sandboxId") == c.session_id and
    body.get("sandboxName") == "my-interpreter-" + c.session_id[:8] and body.get("entryPoints") == [],
    "... the WorkloadManager's fields (kind, sandboxId, sandboxName, entryPoints)", body)
for _ in range(5):
    c.execute_command(["true"])
tap(len(c.dp.sockets) == 1, "keep-alive: 6 requests over one persistent connection", c.dp.sockets)

# The session is a native one: listed, with ttl as its lifetime.
out = subprocess.run(["curl", "-s", "--unix-socket", os.environ["AC_SOCK"], "http://x/v1/sessions"],
                     capture_output=True, text=True).stdout
native = [s for s in json.loads(out)["sessions"] if s["id"] == c.session_id]
tap(len(native) == 1, "the session is listed by the native GET /v1/sessions", out[:300])
tap(native and native[0]["max_lifetime_s"] == 3600, "... ttl 3600 is its max_lifetime_s", native)
tap(native and native[0]["metadata"].get("agentcube", {}).get("name") == "my-interpreter" and
    native[0]["metadata"].get("purpose") == "test", "... its metadata names the template", native)
big = CodeInterpreterClient(url, url, ttl=10**9)
out = subprocess.run(["curl", "-s", "--unix-socket", os.environ["AC_SOCK"], "http://x/v1/sessions/" + big.session_id],
                     capture_output=True, text=True).stdout
tap(json.loads(out).get("max_lifetime_s") == 28800,
    "a ttl above the daemon's max_lifetime_s is capped (28800), not refused", out[:300])
big.stop()
c.stop()

# Errors of create: {"message": ...}.
conn = Connection(url)
for desc, payload, status, msg in [
        ("no name", b'{"namespace": "default"}', 400, "name is required"),
        ("an empty namespace", b'{"name": "my-interpreter", "namespace": ""}', 400, "namespace is required"),
        ("malformed JSON", b'{"name": ', 400, "Invalid request body"),
        ("a template whose profile does not exist", b'{"name": "ghost", "namespace": "default"}', 404,
         "code interpreter not found")]:
    r = conn.request("POST", "/v1/code-interpreter", payload, {"Content-Type": "application/json"})
    tap(r.status == status and r.json() == {"message": msg},
        "create with %s: %d {\"message\": \"%s\"}" % (desc, status, msg), r.status, r.body)
PY
out=$(curl -s --unix-socket "$SOCK" -H 'Content-Type: application/json' \
	-d '{"name": "my-interpreter", "namespace": "default"}' http://localhost/v1/code-interpreter)
usid=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get("sessionId", ""))' "$out" 2>/dev/null)
expect_match "the unix socket serves the AgentCube API too (create)" '^[A-Za-z0-9_-]+$' "$usid"
out=$(curl -s --unix-socket "$SOCK" -X DELETE -H 'Content-Type: application/json' \
	"http://localhost/v1/code-interpreter/sessions/$usid")
expect_eq "... and delete" '{"message":"Sandbox deleted successfully"}' "$out"
expect_eq "GET /health/live" '{"status":"alive"}' "$(curl -s "$AC_URL/health/live")"
expect_eq "GET /health/ready" '{"status":"ready"}' "$(curl -s "$AC_URL/health/ready")"

# --- 4, 5: session routing, execute --------------------------------------------------
python3 - <<'PY'
import json, os, re, threading, time
from agentcube_sdk import CodeInterpreterClient, CommandExecutionError, tap, status_of

url = os.environ["AC_URL"]
c = CodeInterpreterClient(url, url)
rfc3339 = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z"

r = c.post_json("api/execute", {"command": ["echo", "a b", "c"], "timeout": "1.5s"})
d = r.json()
tap(r.status == 200 and d["stdout"] == "a b c\n" and d["exit_code"] == 0 and d["stderr"] == "",
    'execute ["echo", "a b", "c"] (argv, no shell; timeout "1.5s"): "a b c\\n", exit 0', r.body)
tap(isinstance(d.get("duration"), float) and re.fullmatch(rfc3339, d.get("start_time", "")) and
    re.fullmatch(rfc3339, d.get("end_time", "")), "... duration (s), start_time and end_time (RFC 3339)", d)
tap(r.headers.get("x-agentcube-session-id") == c.session_id,
    "... the answer names the session (x-agentcube-session-id)", r.headers)
tap(c.execute_command("echo $HOME '*'") == "$HOME *\n", "a command string is split as the SDK does (shlex), no shell")

ok = [t for t in ["300ms", "2s", "2.0s", "120s", "2m", "1h30m", "1m0.5s", "1500us", "90s"]
      if c.post_json("api/execute", {"command": ["true"], "timeout": t}).status == 200]
tap(len(ok) == 9, "Go durations accepted: 300ms 2s 2.0s 120s 2m 1h30m 1m0.5s 1500us 90s", ok)
bad = {t: c.post_json("api/execute", {"command": ["true"], "timeout": t}) for t in
       ["abc", "1e-05s", "-1s", "0", "1x", "s", ".s"]}
tap(all(r.status == 400 and r.json()["error"].startswith("Invalid timeout format: ") and r.json()["code"] == 400
        for r in bad.values()), "bad timeouts (abc 1e-05s -1s 0 1x s .s): 400 Invalid timeout format",
    {t: (r.status, r.body) for t, r in bad.items()})
r = c.post_json("api/execute", {"command": []})
tap(r.status == 400 and r.json() == {"error": "command cannot be empty", "code": 400},
    "an empty command: 400 {\"error\": \"command cannot be empty\", \"code\": 400}", r.body)
r = c.post_json("api/execute", {"command": ["true"], "stdin": 1, "future_field": [1]})
tap(r.status == 200, "unknown fields are ignored", r.body)

res = c.execute_command_result(["sh", "-c", "echo out; echo err >&2; exit 3"])
tap(res == {"stdout": "out\n", "stderr": "err\n", "exit_code": 3}, "a non-zero exit: 200, exit_code 3, stdout and stderr", res)
try:
    c.execute_command(["sh", "-c", "echo err >&2; exit 3"])
    tap(False, "... execute_command raises CommandExecutionError")
except CommandExecutionError as e:
    tap(e.exit_code == 3 and e.stderr == "err\n", "... execute_command raises CommandExecutionError(3, stderr)")
res = c.execute_command_result(["no-such-command", "x"])
tap(res["exit_code"] == 1 and 'exec: "no-such-command": executable file not found in $PATH' in res["stderr"],
    "a command not found: 200, exit_code 1, Go's message in stderr", res)
res = c.execute_command_result(["/etc/passwd"])
tap(res["exit_code"] == 1 and "permission denied" in res["stderr"], "a file that cannot be executed: exit_code 1", res)
res = c.execute_command_result(["sh", "-c", "kill -9 $$"])
tap(res["exit_code"] == -1, "killed by a signal: exit_code -1", res)

c.write_file("here\n", "cwd_probe.txt")
res = c.execute_command_result(["sh", "-c", "pwd; cat cwd_probe.txt; cat; echo end"], timeout=5)
tap(res["stdout"] == "/workspace\nhere\nend\n",
    "cwd is the workspace root (relative file paths resolve there), stdin is /dev/null", res)
r = c.post_json("api/execute", {"command": ["sh", "-c", "pwd; echo $FOO"], "working_dir": "/wd/sub",
                                "env": {"FOO": "bar \u00e9"}})
tap(r.status == 200 and r.json()["stdout"] == "/workspace/wd/sub\nbar \u00e9\n",
    "working_dir (made if missing, in the workspace) and env", r.body)
r = c.post_json("api/execute", {"command": ["pwd"], "working_dir": "../.."})
tap(r.status == 400, "working_dir above the workspace: 400", r.body)

t0 = time.monotonic()
res = c.execute_command_result(["sh", "-c", "echo partial; sleep 30"], timeout=1)
el = time.monotonic() - t0
tap(res["exit_code"] == 124 and res["stdout"] == "partial\n" and "timed out" in res["stderr"],
    "timeout 1s: exit_code 124, the partial stdout, 'timed out' in stderr", res)
tap(el < 3.0, "... answered within 2 s of the deadline (%.2f s)" % el)
left = c.execute_command(["sh", "-c", "ps -eo args= | grep -c '^sleep 30' || true"])
tap(left.strip() == "0", "... no process of it is left", left)

r = c.post_json("api/execute", {"command": ["printf", "\\377\\376ok"]})
tap(r.status == 200 and r.json()["stdout"] == "\ufffd\ufffdok", "output that is not UTF-8: U+FFFD per byte", r.body)
payload = json.dumps({"command": ["echo", "\U0001F680 \u00e9"]})
tap("\\ud83d\\ude80" in payload, "(the SDK sends a non-BMP character as a surrogate pair)")
tap(c.execute_command(["echo", "\U0001F680 \u00e9"]) == "\U0001F680 \u00e9\n",
    "a surrogate-pair escape in an argument reaches the command as UTF-8 and comes back")

# Two sessions at once over two connections: no head-of-line blocking.
d1, d2 = CodeInterpreterClient(url, url), CodeInterpreterClient(url, url)
res = {}
def run(cl, k):
    res[k] = cl.execute_command_result(["sleep", "1"], timeout=10)
t0 = time.monotonic()
ts = [threading.Thread(target=run, args=(cl, k)) for k, cl in (("a", d1), ("b", d2))]
for t in ts: t.start()
for t in ts: t.join()
el = time.monotonic() - t0
tap(len(res) == 2 and all(v["exit_code"] == 0 for v in res.values()) and el < 1.8,
    "two sessions run sleep 1 at once over two connections: %.2f s in all" % el, res)
d1.stop(); d2.stop()

# Routing by x-agentcube-session-id.
other = CodeInterpreterClient(url, url, session_id="AAAAAAAAAAAAAAAAAAAAAA")
r = other.post_json("api/execute", {"command": ["true"]})
tap(r.status == 404 and r.json() == {"error": "session 'AAAAAAAAAAAAAAAAAAAAAA' not found", "code": 404},
    "an unknown session id: 404 {\"error\", \"code\": 404}", r.body)
r = c.dp.request("POST", c._url_path("api/execute"), b'{"command": ["true"]}', {"Content-Type": "application/json"})
tap(r.status == 404, "no x-agentcube-session-id header: 404", r.body)
r = c.raw("GET", "/v1/namespaces/other-ns/code-interpreters/other/invocations/api/files?path=.")
tap(r.status == 200, "{ns} and {name} of the URL do not matter for an existing session", r.body)
r = c.raw("GET", "/v1/namespaces/default/code-interpreters/my-interpreter/invocations/api/nothing")
tap(r.status == 404 and r.json() == {"error": "not found", "code": 404}, "an unknown route under the prefix: 404", r.body)
r = c.raw("PUT", "/v1/namespaces/default/code-interpreters/my-interpreter/invocations/api/execute", b"")
tap(r.status == 405, "a method other than GET and POST: 405", r.body)
c.stop()
PY

# --- 6, 7, 8, 9, 10: run_code, files ------------------------------------------------
python3 - <<'PY'
import base64, hashlib, json, os, re, socket, time
from agentcube_sdk import CodeInterpreterClient, tap, status_of, multipart, HTTPError

url = os.environ["AC_URL"]
c = CodeInterpreterClient(url, url)
B = "/v1/namespaces/default/code-interpreters/my-interpreter/invocations/"

out = c.run_code("python", "import sys\nprint(6 * 7, sys.version_info[0])")
tap(out == "42 3\n", "run_code python: the script is written, then python3 runs it at the same relative path", out)
tap(c.run_code("bash", "echo $((6 * 7)) $BASH_VERSION | cut -c1-4") == "42 5\n", "run_code bash: bash is on PATH")
names = [f["name"] for f in c.list_files(".")]
tap(any(re.fullmatch(r"script_\d+\.py", n) for n in names), "... the script is in the workspace root", names)

binary = bytes(range(256)) + b"\r\n--\r\n\r\n--x--\r\n" + os.urandom(4096)
c.write_file(binary, "bin/json.bin")
tap(c.download_bytes("bin/json.bin").body == binary, "write_file (JSON, base64) of binary content, downloaded byte-exact")
bnd = "0123456789abcdef0123456789abcdef"
tricky = (b"\r\n--" + bnd.encode() + b"X not a delimiter\r\n--" + bnd.encode() + b" \tY\r\n--\r\n" +
          bytes(range(256)) + b"\r\n--" + bnd[:-1].encode() + b"\r\n")
r = c.upload_bytes(tricky, "/bin/multi.bin", boundary=bnd)
tap(r.status == 200 and r.json()["size"] == len(tricky) and r.json()["path"] == "bin/multi.bin",
    "upload_file (multipart) of content with CRLF, '--' and the boundary's text: 200, FileInfo", r.body)
tap(c.download_bytes("/bin/multi.bin").body == tricky, "... downloaded byte-exact (a leading / is the workspace root)")
info = r.json()
tap(info["mode"] == "-rw-r--r--" and re.fullmatch(r"\d{4}-.*Z", info["modified"]),
    "... mode as Go's FileMode string, modified as RFC 3339", info)
body, ctype = multipart([("file", ("x.bin", b"held\r\n")), ("mode", "0600"), ("path", "late/x.bin")])
r = c.dp.request("POST", c._url_path("api/files"), body, c._headers({"Content-Type": ctype}))
tap(r.status == 200 and c.download_bytes("late/x.bin").body == b"held\r\n" and r.json()["mode"] == "-rw-------",
    "a multipart form with the file before its path and mode", r.body)
tap(c.upload_bytes(b"", "empty.bin").json()["size"] == 0 and c.write_file("", "empty.txt").json()["size"] == 0,
    "empty files, multipart and JSON")

c.write_file("x" * 100, "deep/er/still/f.txt")
c.write_file("short", "deep/er/still/f.txt")
tap(c.download_bytes("deep/er/still/f.txt").body == b"short", "parent directories are made; an existing file is truncated")
r = c.write_file("#!/bin/sh\necho run\n", "tool.sh", mode="0755")
tap(r.json()["mode"] == "-rwxr-xr-x" and c.execute_command(["./tool.sh"]) == "run\n", "the mode is applied (0755)", r.body)
tap(c.write_file("x", "m.txt", mode="999").json()["mode"] == "-rw-r--r--", "an invalid mode is 0644")

files = c.list_files(".")
names = [f["name"] for f in files]
tap(names == sorted(names) and {"bin", "deep", "tool.sh"} <= set(names), "list_files('.'): the entries, sorted by name", names)
ent = {f["name"]: f for f in files}
tap(ent["bin"]["is_dir"] is True and ent["tool.sh"]["is_dir"] is False and ent["tool.sh"]["size"] == len("#!/bin/sh\necho run\n") and
    ent["bin"]["mode"].startswith("d") and "modified" in ent["bin"], "... with is_dir, size, mode and modified", ent.get("bin"))
tap([f["name"] for f in c.list_files("/bin")] == ["json.bin", "multi.bin"], "list_files of a directory, not recursive")
r = c.raw("GET", B + "api/files?path=nowhere")
tap(r.status == 404 and r.json() == {"error": "Directory not found", "code": 404}, "list of a missing directory: 404", r.body)
tap(c.raw("GET", B + "api/files").status == 400, "list without ?path: 400")

r = c.download_bytes("tool.sh")
tap(r.headers.get("content-type") == "application/octet-stream" and
    r.headers.get("content-disposition") == 'attachment; filename="tool.sh"',
    "download: application/octet-stream, Content-Disposition with the file's name", r.headers)
r = c.raw("GET", B + "api/files/nothing/here")
tap(r.status == 404 and r.json() == {"error": "File not found", "code": 404}, "download of a missing file: 404", r.body)
r = c.raw("GET", B + "api/files/bin")
tap(r.status == 400 and r.json() == {"error": "Path is a directory, not a file", "code": 400},
    "download of a directory: 400", r.body)

c.write_file("spaced", "a dir/b c.txt")
tap(c.download_bytes("a dir/b c.txt").body == b"spaced", "a name with spaces (percent-encoded by the client, decoded once)")
r = c.raw("GET", B + "api/files/a%20dir/../a%20dir/b%20c.txt")
tap(r.status == 200 and r.body == b"spaced", "raw '..' segments that stay inside are cleaned: 200", r.status)
name = "rocket_\U0001F680_\u00e9.txt"
tap("\\ud83d\\ude80" in json.dumps({"path": name}), "(a non-BMP path goes as a surrogate pair)")
r = c.write_file("to the moon", name)
tap(r.json()["path"] == name and c.download_bytes(name).body == b"to the moon" and name in [f["name"] for f in c.list_files(".")],
    "a surrogate-pair escape in a file path round-trips (write, list, download)", r.body)

# Escapes: 400, nothing outside.
r = c.raw("GET", B + "api/files/../../../etc/passwd")
tap(r.status == 400 and b"root:" not in r.body, "download with raw '..' above the workspace in the request path: 400", r.status, r.body)
r = c.post_json("api/files", {"path": "../escape.txt", "content": "eA=="})
tap(r.status == 400 and "escapes" in r.json()["error"], "write_file with '..' above the workspace in path: 400", r.body)
body, ctype = multipart([("path", "a/../../escape.txt"), ("file", ("f", b"x"))])
r = c.dp.request("POST", c._url_path("api/files"), body, c._headers({"Content-Type": ctype}))
tap(r.status == 400, "upload_file with '..' above the workspace in path: 400", r.body)
tap(c.raw("GET", B + "api/files?path=..").status == 400, "list_files('..'): 400")

c.execute_command(["sh", "-c", "ln -s /etc/passwd pw && ln -s .. up && ln -s / root && ln -s /tmp tmplink"])
before = c.execute_command(["sha256sum", "/etc/passwd"])
for p in ["pw", "up/etc/passwd", "root/etc/passwd", "up/workspace/tool.sh"]:
    r = c.raw("GET", B + "api/files/" + p)
    tap(r.status in (400, 404) and b"root:" not in r.body and b"echo run" not in r.body,
        "download through a symlink leading out (%s): %d, not the target" % (p, r.status), r.body)
for p in ["pw", "root/etc/passwd", "up/evil.txt", "tmplink/evil.txt"]:
    r = c.post_json("api/files", {"path": p, "content": "cm9vdDo6MDow"})
    tap(r.status in (400, 404), "write through a symlink leading out (%s): %d" % (p, r.status), r.body)
after = c.execute_command(["sh", "-c", "sha256sum /etc/passwd; ls /evil.txt /tmp/evil.txt 2>&1 | grep -c 'No such'"])
tap(after == before + "2\n", "... nothing outside the workspace was written", before, after)

r = c.post_json("api/files", {"path": "b.txt", "content": "not base64!"})
tap(r.status == 400 and r.json()["error"].startswith("Invalid base64 content: "), "invalid base64: 400", r.body)
r = c.post_json("api/files", {"content": "eA=="})
tap(r.status == 400 and r.json()["error"] == "Missing 'path' field", "write_file without path: 400", r.body)
body, ctype = multipart([("path", "nofile.txt"), ("mode", "0644")])
r = c.dp.request("POST", c._url_path("api/files"), body, c._headers({"Content-Type": ctype}))
tap(r.status == 400, "upload_file without its file part: 400", r.body)

# Bodies: 32 MiB multipart, ~24 MiB JSON, 413 past the bound.
big = os.urandom(32 << 20)
t0 = time.monotonic()
r = c.upload_bytes(big, "big/32m.bin")
up = time.monotonic() - t0
down = c.download_bytes("big/32m.bin").body
tap(r.status == 200 and hashlib.sha256(down).hexdigest() == hashlib.sha256(big).hexdigest(),
    "a 32 MiB multipart upload, downloaded byte-exact (sha256; %.1f s up)" % up)
inside = c.execute_command(["sha256sum", "big/32m.bin"]).split()[0]
tap(inside == hashlib.sha256(big).hexdigest(), "... the jail sees the same bytes")
mid = big[:24 << 20]
r = c.write_file(mid, "big/24m.bin")
tap(r.status == 200 and r.json()["size"] == len(mid) and
    hashlib.sha256(c.download_bytes("big/24m.bin").body).hexdigest() == hashlib.sha256(mid).hexdigest(),
    "a 24 MiB write_file (32 MiB of base64 in JSON), byte-exact")
del big, mid, down

def announce(ctype, length):
    """Headers with a Content-Length past the bound, no body: the answer."""
    s = socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=5)
    s.sendall(("POST %sapi/files HTTP/1.1\r\nHost: x\r\nx-agentcube-session-id: %s\r\n"
               "Content-Type: %s\r\nContent-Length: %d\r\n\r\n" % (B, c.session_id, ctype, length)).encode())
    data = b""
    try:
        while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        pass
    s.close()
    return data
for ctype, n in [("application/json", 48 << 20), ("multipart/form-data; boundary=x", 40 << 20)]:
    d = announce(ctype, n)
    tap(d.startswith(b"HTTP/1.1 413") and b'{"error":"request body too large","code":413}' in d,
        "Content-Length %d (%s): 413 at once" % (n, ctype.split(";")[0]), d[:200])
c.stop()
PY

# --- robustness: clients that go away, sessions that end mid-request --------------------
python3 - <<'PY'
import os, socket, time
from agentcube_sdk import CodeInterpreterClient, tap, multipart

url = os.environ["AC_URL"]
port = int(url.rsplit(":", 1)[1])
B = "/v1/namespaces/default/code-interpreters/my-interpreter/invocations/"
c = CodeInterpreterClient(url, url)

def start(path, sid, ctype, length, first):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(("POST %s HTTP/1.1\r\nHost: x\r\nx-agentcube-session-id: %s\r\nContent-Type: %s\r\n"
               "Content-Length: %d\r\n\r\n" % (path, sid, ctype, length)).encode() + first)
    return s

def answer(s):
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            if b"\r\n\r\n" in data and data.rstrip().endswith(b"}"):
                break
    except socket.timeout:
        pass
    s.close()
    return data

# A multipart upload whose client hangs up half-way: nothing is written.
body, ctype = multipart([("path", "gone/half.bin"), ("file", ("f", os.urandom(4 << 20)))])
s = start(B + "api/files", c.session_id, ctype, len(body), body[: 2 << 20])
time.sleep(0.3)
s.close()
time.sleep(0.3)
left = c.execute_command(["sh", "-c", "ls -A gone 2>/dev/null | wc -l"])
tap(left.strip() == "0", "an upload whose client hangs up half-way leaves no file (not even a partial one)", left)

# An exec whose client hangs up is killed.
s = start(B + "api/execute", c.session_id, "application/json", 38, b'{"command": ["sleep", "30"], "x": 123}')
time.sleep(0.5)
s.close()
time.sleep(0.5)
n = c.execute_command(["sh", "-c", "ps -eo args= | grep -c '^sleep 30' || true"])
tap(n.strip() == "0", "an execute whose client hangs up: its command is killed", n)

# The session deleted while a body comes: 404, and the daemon carries on.
for ctype in ("application/json", ctype):
    d = CodeInterpreterClient(url, url)
    payload = b'{"path": "x.txt", "content": "' + b"QUFB" * 300000 + b'"}'
    if ctype.startswith("multipart"):
        payload, ctype = multipart([("path", "x.txt"), ("file", ("f", os.urandom(4 << 20)))])
    s = start(B + "api/files", d.session_id, ctype, len(payload), payload[:600000])
    time.sleep(0.2)
    d.delete_session()
    try:
        s.sendall(payload[600000:])
    except OSError:
        pass
    a = answer(s)
    tap(a.split(b" ")[1:2] in ([b"404"], [b"503"]),
        "a session deleted during a %s upload: the upload fails (%s)" % (ctype.split(";")[0], a[:12]), a[:300])
    d.stop()
tap(c.execute_command(["echo", "alive"]) == "alive\n", "... and the daemon carries on")
c.stop()
PY

# --- 3, 4: delete ends everything; the data plane after it -------------------------------
python3 - <<'PY' >"$TMPD/del.out"
import os
from agentcube_sdk import CodeInterpreterClient, tap

url = os.environ["AC_URL"]
c = CodeInterpreterClient(url, url)
sid = c.session_id
c.execute_command(["sh", "-c", "setsid sleep 300 & sleep 300 & echo started"])
print("# sid " + sid)
tap(c.delete_session() and c.delete_response.status == 200 and
    c.delete_response.json() == {"message": "Sandbox deleted successfully"},
    "delete: 200 {\"message\": \"Sandbox deleted successfully\"}", c.delete_response.body)
tap(c.delete_response.headers.get("content-type") == "application/json", "... as JSON")
c.delete_session()
tap(c.delete_response.status == 404 and c.delete_response.json() ==
    {"message": "Session ID %s not found, maybe already deleted" % sid},
    "delete again: 404 {\"message\": \"Session ID ... not found, maybe already deleted\"}", c.delete_response.body)
r = c.post_json("api/execute", {"command": ["true"]})
tap(r.status == 404 and r.json()["code"] == 404, "the data plane after delete: 404", r.body)
tap(c.raw("GET", "/v1/namespaces/default/code-interpreters/my-interpreter/invocations/api/files?path=.").status == 404,
    "... files too")
PY
grep -v '^# sid' "$TMPD/del.out"
dsid=$(sed -n 's/^# sid //p' "$TMPD/del.out")
huid=$(host_uid "$dsid")
expect_match "the deleted session's jail had its own host uid" '^[0-9]+$' "$huid"
expect_eq "... its processes are gone, the background ones too" "" "$(live_after_kill "$huid")"
expect_eq "... its cgroup is gone" "" "$(find /sys/fs/cgroup -maxdepth 3 -type d -name "jail-$huid" 2>/dev/null)"
out=$(curl -s --unix-socket "$SOCK" http://localhost/v1/sessions)
expect_nomatch "... it is not listed any more" "$dsid" "$out"

out=$(curl -s "$AC_URL/metrics")
expect_match "metrics count the AgentCube requests" 'agentjail_agentcube_requests_total [1-9]' "$out"
expect_eq "the daemon stays healthy" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$AC_URL/health")"
stop_daemon
check_sanitizers
