"""A tiny HTTP client for agentjaild's unix socket (standard library only).

    python3 tests/harness/ajhttp.py SOCKET METHOD PATH [BODY]

prints "STATUS" then the body; used by the integration tests for what curl
makes awkward (concurrency, timing of streamed events).
"""
import http.client
import json
import socket
import sys
import time


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=60):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


def request(sock, method, path, body=None, headers=None, timeout=60):
    c = UnixConnection(sock, timeout)
    h = dict(headers or {})
    if body is not None and not isinstance(body, (bytes, str)):
        body = json.dumps(body)
        h.setdefault("Content-Type", "application/json")
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def stream(sock, path, body, timeout=60):
    """POST with Accept: application/x-ndjson; yields (seconds, event)."""
    c = UnixConnection(sock, timeout)
    c.request("POST", path, body=json.dumps(body),
              headers={"Content-Type": "application/json",
                       "Accept": "application/x-ndjson"})
    r = c.getresponse()
    t0 = time.monotonic()
    while True:
        line = r.readline()
        if not line:
            break
        yield time.monotonic() - t0, json.loads(line)
    c.close()


if __name__ == "__main__":
    sock, method, path = sys.argv[1:4]
    body = sys.argv[4] if len(sys.argv) > 4 else None
    status, data = request(sock, method, path, body,
                           {"Content-Type": "application/json"} if body else None)
    print(status)
    sys.stdout.write(data.decode(errors="replace"))
