"""The HTTP traffic of the AgentCube Python SDK, with the standard library.

agentcube-sdk's CodeInterpreterClient (its control-plane and data-plane
clients, on python-requests) is emulated request for request, as
/work/shared/API-COMPAT.md (sections 2 to 4) records it, so that the
integration test (tests/integration/agentcube.sh) checks agentjaild against
what the unmodified SDK sends:

  - HTTP/1.1, persistent connections (one per client object and origin);
  - requests' headers: User-Agent, Accept: */*, Accept-Encoding,
    Connection: keep-alive; Content-Type: application/json on every
    control-plane call, the body-less DELETE included (Content-Length: 0);
    x-agentcube-session-id on every data-plane call;
  - JSON from json.dumps (ensure_ascii: non-ASCII as \\uXXXX, surrogate
    pairs included);
  - the control plane at WORKLOAD_MANAGER_URL + "/v1/code-interpreter"
    (string concatenation), the data plane at
    urljoin(ROUTER_URL, "/v1/namespaces/{ns}/code-interpreters/{name}/invocations/")
    and urljoin(base, "api/execute") etc., with requests' quoting of the
    path (requote_uri);
  - execute's timeout as f"{t}s" (t = timeout or 120) and a read timeout of
    t + 2 s; write_file as JSON with base64; upload_file as multipart
    (path, mode, file; a 32-hex-digit boundary; no Content-Type on the
    file part).

Errors: any status from 400 to 599 raises HTTPError (the SDK's
raise_for_status()), with .status and .body for the tests; a non-zero exit
of execute_command raises CommandExecutionError.
"""
import base64
import binascii
import http.client
import json
import os
import shlex
import socket
import time
import urllib.parse

USER_AGENT = "python-requests/2.32.3"
# requests.utils.requote_uri: what stays unquoted (besides valid %XX).
_SAFE = "!#$%&'()*+,/:;=?@[]~"


class HTTPError(Exception):
    def __init__(self, status, reason, url, body, headers):
        kind = "Client" if status < 500 else "Server"
        super().__init__("%d %s Error: %s for url: %s" % (status, kind, reason, url))
        self.status = status
        self.body = body
        self.headers = headers


class CommandExecutionError(Exception):
    def __init__(self, exit_code, stderr, command):
        super().__init__("Command failed (exit %s): %s" % (exit_code, stderr))
        self.exit_code = exit_code
        self.stderr = stderr
        self.command = command


class Response:
    def __init__(self, status, reason, headers, body, url):
        self.status = status
        self.reason = reason
        self.headers = headers  # lower-case names
        self.body = body
        self.url = url

    def json(self):
        return json.loads(self.body)

    def raise_for_status(self):
        if 400 <= self.status < 600:
            raise HTTPError(self.status, self.reason, self.url, self.body, self.headers)


def requote(path):
    """requests' requote_uri on a path: unsafe characters percent-encoded."""
    return urllib.parse.quote(path, safe=_SAFE)


class Connection:
    """One persistent HTTP/1.1 connection to an origin (a requests pool of
    one): reused while the server keeps it open."""

    def __init__(self, origin):
        u = urllib.parse.urlsplit(origin)
        self.host, self.port = u.hostname, u.port or 80
        self.conn = None
        self.sockets = set()  # ids of the sockets used: keep-alive seen

    def request(self, method, path, body=None, headers=None, timeout=120):
        h = {
            "User-Agent": USER_AGENT,
            "Accept-Encoding": "gzip, deflate",
            "Accept": "*/*",
            "Connection": "keep-alive",
        }
        h.update(headers or {})
        if body is not None:
            h["Content-Length"] = str(len(body))
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
                self.conn.connect()
                self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.conn.sock.settimeout(timeout)
            self.sockets.add(id(self.conn.sock))
            try:
                self.conn.putrequest(method, path, skip_host=False, skip_accept_encoding=True)
                for k, v in h.items():
                    self.conn.putheader(k, v)
                self.conn.endheaders(body)
                r = self.conn.getresponse()
                data = r.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # A kept-alive connection the server closed: once more.
                self.close()
                if attempt:
                    raise
                continue
            hdrs = {k.lower(): v for k, v in r.getheaders()}
            if hdrs.get("connection", "").lower() == "close" or r.will_close:
                self.close()
            return Response(r.status, r.reason, hdrs, data,
                            "http://%s:%d%s" % (self.host, self.port, path))
        raise RuntimeError("unreachable")

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def multipart(fields, boundary=None):
    """urllib3's encode_multipart_formdata for [(name, value)] and
    [(name, (filename, bytes))]: (body, content_type)."""
    boundary = boundary or binascii.hexlify(os.urandom(16)).decode()
    out = b""
    for name, value in fields:
        out += b"--" + boundary.encode() + b"\r\n"
        if isinstance(value, tuple):
            filename, data = value
            out += ('Content-Disposition: form-data; name="%s"; filename="%s"\r\n\r\n'
                    % (name, filename)).encode()
        else:
            data = value.encode() if isinstance(value, str) else value
            out += ('Content-Disposition: form-data; name="%s"\r\n\r\n' % name).encode()
        out += data + b"\r\n"
    out += b"--" + boundary.encode() + b"--\r\n"
    return out, "multipart/form-data; boundary=" + boundary


class CodeInterpreterClient:
    """agentcube.CodeInterpreterClient's requests. Both URLs may be the same
    origin (agentjaild serves both planes)."""

    def __init__(self, workload_manager_url, router_url, name="my-interpreter",
                 namespace="default", ttl=3600, session_id=None, metadata=None,
                 extra_fields=None):
        self.wm_url = workload_manager_url
        self.name, self.namespace, self.ttl = name, namespace, ttl
        self.cp = Connection(workload_manager_url)
        self.dp = Connection(router_url)
        base_path = "/v1/namespaces/%s/code-interpreters/%s/invocations/" % (namespace, name)
        self.base_url = urllib.parse.urljoin(router_url, base_path)
        self.session_id = session_id
        self.create_response = None
        if session_id is None:
            self.session_id = self._create(metadata or {}, extra_fields or {})

    # --- the control plane ---------------------------------------------------

    def _create(self, metadata, extra):
        payload = {"name": self.name, "namespace": self.namespace, "ttl": self.ttl,
                   "metadata": metadata}
        payload.update(extra)
        url = urllib.parse.urlsplit(self.wm_url + "/v1/code-interpreter")
        r = self.cp.request("POST", requote(url.path), json.dumps(payload).encode(),
                            {"Content-Type": "application/json"}, timeout=120)
        self.create_response = r
        r.raise_for_status()
        sid = r.json().get("sessionId")
        if not sid:
            raise ValueError("Failed to get session_id from response: %r" % r.body)
        return sid

    def delete_session(self):
        """True when deleted or already gone (404), as the SDK's."""
        path = urllib.parse.urlsplit(
            self.wm_url + "/v1/code-interpreter/sessions/" + self.session_id).path
        r = self.cp.request("DELETE", requote(path), b"",
                            {"Content-Type": "application/json"}, timeout=120)
        self.delete_response = r
        return r.status < 400 or r.status == 404

    def stop(self):
        if self.session_id:
            self.delete_session()
        self.session_id = None
        self.cp.close()
        self.dp.close()

    # --- the data plane ------------------------------------------------------

    def _url_path(self, sub):
        return requote(urllib.parse.urlsplit(urllib.parse.urljoin(self.base_url, sub)).path)

    def _headers(self, extra=None):
        h = {"x-agentcube-session-id": self.session_id}
        h.update(extra or {})
        return h

    def post_json(self, sub, obj, timeout=120):
        """A data-plane POST of JSON; the Response (not raised)."""
        return self.dp.request("POST", self._url_path(sub), json.dumps(obj).encode(),
                               self._headers({"Content-Type": "application/json"}),
                               timeout=timeout)

    def raw(self, method, path, body=None, headers=None, timeout=120):
        """A request with the path as given (no urljoin, no quoting)."""
        return self.dp.request(method, path, body, self._headers(headers), timeout=timeout)

    def execute_command_result(self, command, timeout=None):
        argv = shlex.split(command, posix=True) if isinstance(command, str) else command
        t = timeout or 120
        r = self.post_json("api/execute", {"command": argv, "timeout": "%ss" % t},
                           timeout=t + 2)
        r.raise_for_status()
        d = r.json()
        return {"stdout": d.get("stdout") or "", "stderr": d.get("stderr") or "",
                "exit_code": int(d.get("exit_code", -1))}

    def execute_command(self, command, timeout=None):
        res = self.execute_command_result(command, timeout)
        if res["exit_code"] != 0:
            raise CommandExecutionError(res["exit_code"], res["stderr"], command)
        return res["stdout"]

    def run_code(self, language, code, timeout=None):
        lang = language.lower()
        ms = int(time.time() * 1000)
        if lang in ("python", "py", "python3"):
            path, argv = "script_%d.py" % ms, ["python3", "script_%d.py" % ms]
        elif lang in ("bash", "sh"):
            path, argv = "script_%d.sh" % ms, ["bash", "script_%d.sh" % ms]
        else:
            raise ValueError("Unsupported language: %s" % language)
        self.write_file(code, path)
        return self.execute_command(argv, timeout)

    def write_file(self, content, remote_path, mode="0644"):
        data = content.encode() if isinstance(content, str) else content
        r = self.post_json("api/files", {"path": remote_path,
                                         "content": base64.b64encode(data).decode(),
                                         "mode": mode})
        r.raise_for_status()
        return r

    def upload_bytes(self, data, remote_path, filename="up.bin", mode="0644", boundary=None):
        """upload_file() of a local file with these bytes."""
        body, ctype = multipart([("path", remote_path), ("mode", mode),
                                 ("file", (filename, data))], boundary)
        r = self.dp.request("POST", self._url_path("api/files"), body,
                            self._headers({"Content-Type": ctype}), timeout=120)
        r.raise_for_status()
        return r

    def upload_file(self, local_path, remote_path):
        with open(local_path, "rb") as f:
            return self.upload_bytes(f.read(), remote_path, os.path.basename(local_path))

    def download_bytes(self, remote_path):
        r = self.dp.request("GET", self._url_path("api/files/" + remote_path.lstrip("/")),
                            None, self._headers(), timeout=120)
        r.raise_for_status()
        return r

    def download_file(self, remote_path, local_path):
        data = self.download_bytes(remote_path).body
        os.makedirs(os.path.dirname(os.path.abspath(local_path)), exist_ok=True)
        with open(local_path, "wb") as f:
            f.write(data)

    def list_files(self, path="."):
        r = self.dp.request("GET", self._url_path("api/files") + "?" +
                            urllib.parse.urlencode({"path": path}), None, self._headers(),
                            timeout=120)
        r.raise_for_status()
        return r.json().get("files", [])


# --- TAP ----------------------------------------------------------------------

failed = 0


def tap(cond, desc, *diag):
    global failed
    print(("ok - " if cond else "not ok - ") + desc, flush=True)
    if not cond:
        failed += 1
        for d in diag:
            for line in str(d)[:2000].splitlines() or [""]:
                print("# " + line, flush=True)
    return cond


def status_of(fn, *args, **kw):
    """The HTTP status of a call that may raise HTTPError; 200 if it did not."""
    try:
        fn(*args, **kw)
        return 200
    except HTTPError as e:
        return e.status
