#!/usr/bin/env python3
"""A small agent runtime for agentjail: an HTTP server inside a jail.

agentjaild starts it as the profile's entrypoint when a session is created
(examples/agent/agent.json), waits until GET /health answers 200, and then
forwards every request to /v1/sessions/{id}/invocations/{path} here.
Standard library only.

Endpoints:
  GET  /health          200 once the agent is ready
  POST /invoke          JSON in, JSON out: {"echo": <body>, "n": <calls so far>,
                        "sum": <sum of body["numbers"]>}
  GET  /stream?n=3      server-sent events, one every 0.1 s, flushed as written
  GET  /secret          whether the secret "api_key" was delivered (never its value)
  POST /crash           exits with status 3 (to see the supervisor's restart policy)

Listens on 127.0.0.1 (the jail's own loopback) at $PORT, default 8080.
"""

import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

SECRETS = "/run/secrets"
calls = 0


class Agent(BaseHTTPRequestHandler):
    server_version = "example-agent/1"

    def log_message(self, fmt, *args):
        # The supervisor keeps stderr as the session's log.
        sys.stderr.write("agent: " + (fmt % args) + "\n")

    def reply(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urlparse(self.path)
        if url.path == "/health":
            self.reply(200, {"status": "ok"})
        elif url.path == "/stream":
            n = int(parse_qs(url.query).get("n", ["3"])[0])
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            for i in range(n):
                self.wfile.write(f"data: {json.dumps({'i': i, 't': time.time()})}\n\n".encode())
                self.wfile.flush()
                time.sleep(0.1)
            self.close_connection = True
        elif url.path == "/secret":
            path = os.path.join(SECRETS, "api_key")
            try:
                with open(path, "rb") as f:
                    self.reply(200, {"api_key": "delivered", "bytes": len(f.read())})
            except OSError as e:
                self.reply(200, {"api_key": "absent", "error": e.strerror})
        else:
            self.reply(404, {"error": "no such endpoint"})

    def do_POST(self):
        global calls
        url = urlparse(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if url.path == "/crash":
            self.reply(200, {"crashing": True})
            self.wfile.flush()
            os._exit(3)
        if url.path != "/invoke":
            self.reply(404, {"error": "no such endpoint"})
            return
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self.reply(400, {"error": "not JSON"})
            return
        calls += 1
        numbers = body.get("numbers", []) if isinstance(body, dict) else []
        self.reply(200, {"echo": body, "n": calls, "sum": sum(numbers)})


def main():
    port = int(os.environ.get("PORT", "8080"))
    server = ThreadingHTTPServer(("127.0.0.1", port), Agent)
    sys.stderr.write(f"agent: listening on 127.0.0.1:{port}\n")
    sys.stderr.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
