#!/usr/bin/env python3
"""agentjail_client.py: an example client of agentjaild's native HTTP API.

Python 3 standard library only. It is meant to be read: each method is one
endpoint of docs/api.md, and the command line at the bottom shows how they
fit together. Use it as a module:

    from agentjail_client import Client, ApiError, output
    c = Client(unix="/run/agentjail/api.sock")
    sid = c.create_session(profile="python")["id"]
    try:
        r = c.exec(sid, ["python3", "-c", "print(2+2)"])
        print(r["exit_code"], output(r, "stdout"))
        c.put_file(sid, "data/in.bin", b"\\x00\\x01")
    finally:
        c.delete_session(sid)

or from the shell:

    agentjail_client.py run -- python3 -c 'print(1)'
    id=$(agentjail_client.py create --profile python)
    agentjail_client.py put "$id" notes/a.txt < a.txt
    agentjail_client.py exec "$id" -- cat notes/a.txt
    agentjail_client.py rm "$id"

Errors of the API become ApiError (HTTP status, the stable `code`, the
`message`); the command line prints them and exits with 125, so that a
command's own exit status (run, exec) is never mistaken for one.
"""
import argparse
import base64
import http.client
import json
import os
import socket
import ssl
import sys
import urllib.parse

DEFAULT_SOCKET = "/run/agentjail/api.sock"


class ApiError(Exception):
    """A non-2xx answer. Every error of the API is JSON:
    {"error": {"code": "session_not_found", "message": "no session '…'"}}.
    A few answers come from the HTTP library itself (431, some 400/413) and
    are not JSON: their code is None and their message the raw body."""

    def __init__(self, status, code, message):
        super().__init__("%s (HTTP %d): %s" % (code or "http_error", status, message))
        self.status, self.code, self.message = status, code, message

    @classmethod
    def from_body(cls, status, data):
        try:
            err = json.loads(data)["error"]
            return cls(status, err.get("code"), err.get("message", ""))
        except (ValueError, KeyError, TypeError):
            return cls(status, None, data.decode("utf-8", "replace").strip())


class _UnixConnection(http.client.HTTPConnection):
    """HTTP over a unix socket: http.client with a different connect()."""

    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)  # the host is ignored
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        try:
            self.sock.connect(self.unix_path)
        except OSError as e:
            self.sock.close()
            raise ConnectionError("cannot connect to %s: %s"
                                  % (self.unix_path, e.strerror or e)) from e


def quote_path(path):
    """A workspace path as a URL path. The daemon percent-decodes the URL
    once and uses the result as is, so every segment is encoded (a '%' or
    '?' in a file name is data, not syntax) and only '/' stays as it is."""
    return "/".join(urllib.parse.quote(seg, safe="") for seg in path.split("/"))


def output(result, stream):
    """The bytes of `stream` ("stdout" or "stderr") of an exec result: the
    daemon sends `stdout` when the kept output is valid UTF-8 and
    `stdout_b64` otherwise. Clients must accept both."""
    if stream + "_b64" in result:
        return base64.b64decode(result[stream + "_b64"])
    return result.get(stream, "").encode("utf-8")


class Client:
    """One agentjaild. `unix`: path of its socket (the default); or `url`:
    http://HOST:PORT or https://HOST:PORT (`url` wins over `unix`), with
    `cacert` to verify an https server. `token`, if any, is sent as
    `Authorization: Bearer TOKEN` with every request (docs/api.md,
    Transport, says which listeners want one). `timeout`: seconds to wait
    for an answer (an exec waits as long as its command may run)."""

    def __init__(self, unix=None, url=None, token=None, cacert=None, timeout=120):
        self.unix, self.token, self.timeout = unix, token, timeout
        self.url = urllib.parse.urlsplit(url) if url else None
        if self.url and self.url.scheme not in ("http", "https"):
            raise ValueError("url must be http:// or https://, not %r" % url)
        self.ssl = ssl.create_default_context(cafile=cacert) if cacert else None
        if not url and not unix:
            self.unix = DEFAULT_SOCKET

    # --- transport: one connection per request, which keeps it simple ---------
    def _connect(self, timeout):
        if self.url is None:
            return _UnixConnection(self.unix, timeout)
        if self.url.scheme == "https":
            return http.client.HTTPSConnection(
                self.url.hostname, self.url.port or 443, timeout=timeout,
                context=self.ssl or ssl.create_default_context())
        return http.client.HTTPConnection(self.url.hostname, self.url.port or 80, timeout=timeout)

    def _open(self, method, path, body=None, headers=None, timeout=None):
        """Send a request; return (connection, response) once the status is
        in, so that the caller reads the body as it wants (all at once, in
        chunks, or line by line). Raises ApiError on a non-2xx status."""
        hdrs = dict(headers or {})
        if self.token:
            hdrs["Authorization"] = "Bearer " + self.token
        if body is not None and not isinstance(body, bytes):
            # The JSON endpoints want application/json (or no Content-Type).
            body = json.dumps(body).encode("utf-8")
            hdrs["Content-Type"] = "application/json"
        prefix = self.url.path.rstrip("/") if self.url else ""
        conn = self._connect(timeout or self.timeout)
        try:
            try:
                conn.request(method, prefix + path, body=body, headers=hdrs)
            except (BrokenPipeError, ConnectionResetError):
                # The daemon may answer an error (404, 413...) as soon as it
                # has read the headers, and close the connection before the
                # body is sent: its answer is still there to be read.
                pass
            resp = conn.getresponse()
        except BaseException:
            conn.close()
            raise
        if not 200 <= resp.status < 300:
            data = resp.read()
            conn.close()
            raise ApiError.from_body(resp.status, data)
        return conn, resp

    def _call(self, method, path, body=None, **kw):
        """A whole request: the decoded JSON answer, or None (204)."""
        conn, resp = self._open(method, path, body, **kw)
        try:
            data = resp.read()
        finally:
            conn.close()
        return json.loads(data) if data else None

    # --- the daemon --------------------------------------------------------------
    def health(self):
        return self._call("GET", "/health")

    def profiles(self):
        return self._call("GET", "/v1/profiles")["profiles"]

    def pools(self):
        return self._call("GET", "/v1/pools")["pools"]

    # --- sessions: one jail each, addressed by a 22-character id -------------------
    def create_session(self, profile=None, env=None, limits=None, idle_timeout_s=None,
                       max_lifetime_s=None, metadata=None):
        """POST /v1/sessions: returns the session object (its "id" first of
        all). Fields left None are not sent, so the profile's or the daemon's
        defaults apply; limits may only narrow the profile's."""
        body = {k: v for k, v in (("profile", profile), ("env", env), ("limits", limits),
                                  ("idle_timeout_s", idle_timeout_s),
                                  ("max_lifetime_s", max_lifetime_s),
                                  ("metadata", metadata)) if v is not None}
        return self._call("POST", "/v1/sessions", body)

    def sessions(self):
        return self._call("GET", "/v1/sessions")["sessions"]

    def session(self, sid):
        return self._call("GET", "/v1/sessions/" + urllib.parse.quote(sid, safe=""))

    def delete_session(self, sid):
        """Ends the session: its processes, cgroup and workspace are gone."""
        self._call("DELETE", "/v1/sessions/" + urllib.parse.quote(sid, safe=""))

    # --- commands ----------------------------------------------------------------
    @staticmethod
    def _exec_body(argv, timeout_ms, stdin, env, cwd, max_output_bytes):
        # "command": a list is an argv; a string would be run with /bin/sh -c.
        body = {"command": argv if isinstance(argv, str) else list(argv)}
        if isinstance(stdin, str):
            body["stdin"] = stdin
        elif stdin is not None:  # bytes travel as base64
            body["stdin_b64"] = base64.b64encode(stdin).decode("ascii")
        for k, v in (("timeout_ms", timeout_ms), ("env", env), ("cwd", cwd),
                     ("max_output_bytes", max_output_bytes)):
            if v is not None:
                body[k] = v
        return body

    def _exec_timeout(self, timeout_ms):
        # The answer comes when the command ends, at the latest at its
        # deadline (the session's default is at most a day): wait that long.
        return max(self.timeout, (timeout_ms or 86400000) / 1000.0 + 30)

    def exec(self, sid, argv, timeout_ms=None, stdin=None, env=None, cwd=None,
             max_output_bytes=None):
        """Run one command and wait for it. Returns the result object:
        exit_code, signal, timed_out, termination, stdout/stderr (or their
        _b64 forms, see output()), duration_ms... A command that fails is a
        result (exit_code != 0), not an ApiError."""
        body = self._exec_body(argv, timeout_ms, stdin, env, cwd, max_output_bytes)
        return self._call("POST", "/v1/sessions/%s/exec" % urllib.parse.quote(sid, safe=""),
                          body, timeout=self._exec_timeout(timeout_ms))

    def exec_stream(self, sid, argv, timeout_ms=None, stdin=None, env=None, cwd=None):
        """The same, streamed: yields the NDJSON events as output arrives,
        {"stdout": "…"}, {"stderr_b64": "…"}, ..., and last {"exit": {…}}
        (which holds only "error" if the stream failed after it began)."""
        body = self._exec_body(argv, timeout_ms, stdin, env, cwd, None)
        conn, resp = self._open("POST", "/v1/sessions/%s/exec" % urllib.parse.quote(sid, safe=""),
                                body, headers={"Accept": "application/x-ndjson"},
                                timeout=self._exec_timeout(timeout_ms))
        try:
            for line in resp:  # one JSON object per line, chunked encoding
                yield json.loads(line)
        finally:
            conn.close()

    # --- files of the session's workspace (/workspace in the jail) ---------------
    def _file_url(self, sid, path, query=""):
        return "/v1/sessions/%s/files/%s%s" % (urllib.parse.quote(sid, safe=""),
                                               quote_path(path.lstrip("/")), query)

    def put_file(self, sid, path, data, mode=None):
        """Upload bytes (atomically; parents are created). mode: "0600"..."""
        q = "?mode=" + urllib.parse.quote(mode) if mode else ""
        return self._call("PUT", self._file_url(sid, path, q), bytes(data),
                          headers={"Content-Type": "application/octet-stream"})

    def get_file(self, sid, path, out=None):
        """Download a regular file: its bytes, or with `out` (a binary file
        object) copy it there in chunks and return the byte count."""
        conn, resp = self._open("GET", self._file_url(sid, path))
        try:
            if resp.getheader("Content-Type", "").startswith("application/json"):
                raise IsADirectoryError(21, "a directory, not a file", path)  # a listing
            if out is None:
                return resp.read()
            n = 0
            for chunk in iter(lambda: resp.read(65536), b""):
                out.write(chunk)
                n += len(chunk)
            return n
        finally:
            conn.close()

    def list_files(self, sid, path=""):
        """The entries of a directory ("" is the workspace): dicts with name
        (or name_b64 when it is not UTF-8), type, size, mode, mtime."""
        conn, resp = self._open("GET", self._file_url(sid, path))
        try:
            if not resp.getheader("Content-Type", "").startswith("application/json"):
                raise NotADirectoryError(20, "a file, not a directory", path)
            return json.loads(resp.read())["entries"]
        finally:
            conn.close()

    def delete_file(self, sid, path):
        self._call("DELETE", self._file_url(sid, path))

    def mkdir(self, sid, path, mode=None):
        """Like mkdir -p. A POST on a file path must say ?op=mkdir."""
        q = "?op=mkdir" + ("&mode=" + urllib.parse.quote(mode) if mode else "")
        return self._call("POST", self._file_url(sid, path, q))


# --- the command line ------------------------------------------------------------
def _print_result(r):
    """Write a buffered exec result as the command would have; return its
    exit status."""
    sys.stdout.buffer.write(output(r, "stdout"))
    sys.stdout.flush()
    sys.stderr.buffer.write(output(r, "stderr"))
    for flag in ("stdout_truncated", "stderr_truncated", "timed_out", "oom_killed"):
        if r.get(flag):
            sys.stderr.write("agentjail_client: %s (termination: %s)\n" % (flag, r["termination"]))
    sys.stderr.flush()
    return r["exit_code"]


def _run_command(c, sid, a):
    """exec and run: one command, buffered or streamed; its exit status."""
    stdin = sys.stdin.buffer.read() if a.stdin else None
    env = dict(a.env) if a.env else None
    if not a.stream:
        return _print_result(c.exec(sid, a.argv, a.timeout_ms, stdin, env, a.cwd))
    for ev in c.exec_stream(sid, a.argv, a.timeout_ms, stdin, env, a.cwd):
        if "exit" in ev:
            if "error" in ev["exit"]:  # the stream failed after it began
                raise ApiError(200, "stream_error", ev["exit"]["error"])
            return ev["exit"]["exit_code"]
        for name, f in (("stdout", sys.stdout), ("stderr", sys.stderr)):
            if name in ev or name + "_b64" in ev:
                f.buffer.write(output(ev, name))
                f.flush()
    raise ApiError(200, "stream_error", "the stream ended without an exit event")


def _env_var(s):
    if "=" not in s:
        raise argparse.ArgumentTypeError("expected NAME=VALUE, not %r" % s)
    return tuple(s.split("=", 1))


def _parser():
    p = argparse.ArgumentParser(description="Example client of agentjaild's HTTP API.")
    p.add_argument("--unix", metavar="PATH", default=os.environ.get("AGENTJAIL_SOCKET"),
                   help="the daemon's unix socket (default %s)" % DEFAULT_SOCKET)
    p.add_argument("--url", default=os.environ.get("AGENTJAIL_URL"),
                   help="http(s)://HOST:PORT instead of the socket")
    p.add_argument("--cacert", metavar="FILE", help="CA certificate for https")
    p.add_argument("--token", default=os.environ.get("AGENTJAIL_TOKEN"),
                   help="bearer token (default: $AGENTJAIL_TOKEN)")
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND")

    def cmd(name, help_, *args):
        sp = sub.add_parser(name, help=help_, description=help_)
        for a in args:  # positional arguments; "?" at the end: optional
            sp.add_argument(a.rstrip("?"), nargs="?" if a.endswith("?") else None)
        if name in ("run", "create"):
            sp.add_argument("--profile")
        if name in ("run", "create", "exec"):
            sp.add_argument("--env", action="append", type=_env_var, metavar="NAME=VALUE")
        if name in ("run", "exec"):
            sp.add_argument("--timeout-ms", type=int)
            sp.add_argument("--cwd")
            sp.add_argument("-i", "--stdin", action="store_true", help="send our stdin")
            sp.add_argument("--stream", action="store_true", help="print output as it comes")
            sp.add_argument("argv", nargs="+", help="the command, after --")
        return sp

    cmd("run", "create a session, run a command in it, delete the session")
    sp = cmd("create", "create a session and print its id")
    sp.add_argument("--idle-timeout-s", type=int)
    sp.add_argument("--max-lifetime-s", type=int)
    cmd("exec", "run a command in a session", "id")
    cmd("put", "upload stdin (or FILE) to PATH of a session's workspace",
        "id", "path", "file?").add_argument("--mode", help="octal, default 0644")
    cmd("get", "download PATH of a session's workspace to stdout", "id", "path")
    cmd("ls", "list a directory of a session's workspace", "id", "path?")
    cmd("rm", "delete a session", "id")
    cmd("sessions", "list the live sessions")
    cmd("pools", "show the warm pools")
    cmd("health", "the daemon's liveness")
    return p


def main(argv=None):
    a = _parser().parse_args(argv)
    c = Client(unix=a.unix, url=a.url, token=a.token, cacert=a.cacert)
    try:
        if a.cmd == "run":
            sid = c.create_session(profile=a.profile)["id"]
            try:
                return _run_command(c, sid, a)
            finally:
                c.delete_session(sid)  # also on errors and Ctrl-C: no jail left
        elif a.cmd == "exec":
            return _run_command(c, a.id, a)
        elif a.cmd == "create":
            s = c.create_session(profile=a.profile, env=dict(a.env) if a.env else None,
                                 idle_timeout_s=a.idle_timeout_s,
                                 max_lifetime_s=a.max_lifetime_s)
            print(s["id"])
        elif a.cmd == "put":
            if a.file:
                with open(a.file, "rb") as f:
                    data = f.read()
            else:
                data = sys.stdin.buffer.read()
            r = c.put_file(a.id, a.path, data, a.mode)
            print("%s: %d bytes" % (r["path"], r["size"]), file=sys.stderr)
        elif a.cmd == "get":
            c.get_file(a.id, a.path, out=sys.stdout.buffer)
        elif a.cmd == "ls":
            for e in c.list_files(a.id, a.path or ""):
                name = e.get("name") or repr(base64.b64decode(e["name_b64"]))
                print("%-9s %4s %10d %s %s" % (e["type"], e["mode"], e["size"], e["mtime"], name))
        elif a.cmd == "rm":
            c.delete_session(a.id)
        elif a.cmd == "sessions":
            for s in c.sessions():
                print("%s\t%s\t%s\t%d" % (s["id"], s["profile"], s["created_at"],
                                          s["execs_running"]))
        elif a.cmd == "pools":
            for pl in c.pools():
                print("%-16s size %d ready %d live %d claims %d misses %d" % tuple(
                    pl[k] for k in ("profile", "size", "ready", "live", "claims", "misses")))
        elif a.cmd == "health":
            print(json.dumps(c.health(), indent=2))
        return 0
    except ApiError as e:
        print("agentjail_client: %s" % e, file=sys.stderr)
    except (OSError, http.client.HTTPException) as e:  # no daemon, a directory...
        print("agentjail_client: %s" % e, file=sys.stderr)
    except KeyboardInterrupt:  # run: the session was deleted on the way out
        return 130
    return 125


if __name__ == "__main__":
    sys.exit(main())
