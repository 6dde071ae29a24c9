/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The reverse proxy's HTTP/1.1 framing (supervisor/proxy.c): the request
 * head the agent gets (hop-by-hop headers and the caller's Authorization
 * gone, the target made safe), and the reader of the agent's answer, fed
 * whole and byte by byte: heads, Content-Length, chunked (with extensions
 * and trailers), close-delimited, empty answers, interim 100s, and the
 * framings it must refuse (smuggling material).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../supervisor/proxy.c"
#include "tap.h"

struct sink {
	char data[4096];
	size_t len;
};

static void
collect(void *cls, const char *p, size_t n)
{
	struct sink *s = cls;

	if (s->len + n < sizeof(s->data)) {
		memcpy(s->data + s->len, p, n);
		s->len += n;
	}
}

/* Feed the whole answer `in` step bytes at a time; returns 0 when the head
 * parsed and the body decoded (done when the framing ends), -1 head error,
 * -2 body error; the body in sink. */
static int
feed(const char *in, size_t step, bool head_req, struct proxy_resp *r, struct sink *s, bool *done)
{
	size_t n = strlen(in), off = 0;
	int h = 0;

	memset(r, 0, sizeof(*r));
	memset(s, 0, sizeof(*s));
	*done = false;
	while (off < n) {
		size_t k = n - off < step ? n - off : step, used = 0;
		if (h != 1) {
			h = proxy_resp_head(r, in + off, k, head_req, &used);
			if (h < 0)
				return -1;
			off += used;
			if (h == 0)
				continue;
			k = n - off < step ? n - off : step;
			if (!k)
				break;
		}
		ssize_t b = proxy_resp_body(r, in + off, k, collect, s, done);
		if (b < 0)
			return -2;
		off += (size_t)b;
		if (*done)
			break;
	}
	if (h == 1 && !*done)
		proxy_resp_body(r, "", 0, collect, s, done);
	return h == 1 ? 0 : -1;
}

static void
test_request(void)
{
	struct proxy_hdr h[] = {
		{"Accept", "text/event-stream"},
		{"Authorization", "Bearer secret-token"},
		{"Connection", "keep-alive, X-Hop"},
		{"X-Hop", "1"},
		{"Keep-Alive", "timeout=5"},
		{"Host", "agentjail.example"},
		{"Content-Length", "5"},
		{"X-Forwarded-For", "10.9.9.9"},
		{"X-Custom", "a\tb"},
	};
	char *s = proxy_request_head("POST", "/v1/run now?q=a b", h, sizeof(h) / sizeof(h[0]), 8080,
				     "127.0.0.1", 5);
	static const char want[] = "POST /v1/run%20now?q=a%20b HTTP/1.1\r\n"
				   "Host: 127.0.0.1:8080\r\nConnection: close\r\n";
	tap_ok(s && strncmp(s, want, strlen(want)) == 0,
	       "request line: unsafe bytes percent-encoded, the agent's Host, Connection: close");
	tap_ok(s && strstr(s, "Accept: text/event-stream\r\n") && strstr(s, "X-Custom: a\tb\r\n"),
	       "end-to-end headers are passed on");
	tap_ok(s && !strstr(s, "secret-token") && !strstr(s, "Authorization"),
	       "the caller's Authorization is not");
	tap_ok(s && !strstr(s, "X-Hop") && !strstr(s, "Keep-Alive") &&
		       !strstr(s, "agentjail.example"),
	       "hop-by-hop headers (and those Connection names) are not");
	tap_ok(s && strstr(s, "X-Forwarded-For: 127.0.0.1\r\n") && !strstr(s, "10.9.9.9"),
	       "X-Forwarded-For is the proxy's, not the client's claim");
	tap_ok(s && strstr(s, "Content-Length: 5\r\n") &&
		       strstr(s, "\r\n\r\n") == s + strlen(s) - 4,
	       "the body's length, and the head ends with CRLF CRLF");
	free(s);
	s = proxy_request_head("PUT", "/x", NULL, 0, 9000, NULL, -1);
	tap_ok(s && strstr(s, "Transfer-Encoding: chunked\r\n"), "a body of unknown size: chunked");
	free(s);
	struct proxy_hdr bad[] = {{"X-Evil", "a\r\nInjected: 1"}};
	tap_ok(!proxy_request_head("GET", "/", bad, 1, 80, NULL, 0),
	       "a header value with CR LF is refused (no injection)");
	struct proxy_hdr badname[] = {{"X Evil", "1"}};
	tap_ok(!proxy_request_head("GET", "/", badname, 1, 80, NULL, 0),
	       "a header name that is not a token is refused");
	tap_ok(!proxy_request_head("GE T", "/", NULL, 0, 80, NULL, 0), "so is a bad method");
	tap_ok(!proxy_request_head("GET", "x", NULL, 0, 80, NULL, 0),
	       "and a target not starting with /");
}

static void
test_answers(void)
{
	struct proxy_resp r;
	struct sink s;
	bool done;
	static const size_t steps[] = {1, 3, 7, 4096};

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		size_t st = steps[i];
		int rc = feed("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
			      "Content-Length: 11\r\nConnection: keep-alive\r\n\r\n{\"a\":\"b c\"}",
			      st, false, &r, &s, &done);
		tap_ok(rc == 0 && r.status == 200 && !strcmp(r.reason, "OK") &&
			       r.framing == PROXY_LENGTH && r.length == 11 && done && s.len == 11 &&
			       !memcmp(s.data, "{\"a\":\"b c\"}", 11),
		       "Content-Length, fed %zu byte(s) at a time", st);
		tap_ok(r.n_hdrs == 1 && !strcmp(r.hdrs[0].name, "Content-Type") &&
			       !strcmp(r.hdrs[0].value, "application/json"),
		       "... headers without the hop-by-hop ones (%zu)", st);
		proxy_resp_free(&r);

		rc = feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
			  "5;ext=1\r\nhello\r\n1\r\n \r\n6\r\nworld!\r\n0\r\nX-Trailer: t\r\n\r\n",
			  st, false, &r, &s, &done);
		tap_ok(rc == 0 && r.framing == PROXY_CHUNKED && done && s.len == 12 &&
			       !memcmp(s.data, "hello world!", 12),
		       "chunked with an extension and a trailer, decoded (%zu)", st);
		proxy_resp_free(&r);

		rc = feed("HTTP/1.0 200 OK\r\nContent-Type: text/event-stream\r\n\r\n"
			  "data: 1\n\ndata: 2\n\n",
			  st, false, &r, &s, &done);
		tap_ok(rc == 0 && r.framing == PROXY_CLOSE && !done && s.len == 18,
		       "no length: until the agent closes (server-sent events) (%zu)", st);
		proxy_resp_free(&r);

		rc = feed("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: "
			  "2\r\n\r\n"
			  "ok",
			  st, false, &r, &s, &done);
		tap_ok(rc == 0 && r.status == 201 && done && s.len == 2,
		       "an interim 100 is skipped (%zu)", st);
		proxy_resp_free(&r);
	}
	int rc = feed("HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", 4096, false, &r, &s,
		      &done);
	tap_ok(rc == 0 && r.framing == PROXY_EMPTY && done, "204: no body whatever it says");
	proxy_resp_free(&r);
	rc = feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", 4096, true, &r, &s, &done);
	tap_ok(rc == 0 && r.framing == PROXY_EMPTY && done, "the answer to HEAD: no body");
	proxy_resp_free(&r);
	rc = feed("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 4096, false, &r, &s, &done);
	tap_ok(rc == 0 && done && s.len == 0, "Content-Length 0: done at once");
	proxy_resp_free(&r);
	rc = feed("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcEXTRA", 4096, false, &r, &s,
		  &done);
	tap_ok(rc == 0 && done && s.len == 3, "bytes past the length are not the body's");
	proxy_resp_free(&r);
}

static void
test_refusals(void)
{
	struct proxy_resp r;
	struct sink s;
	bool done;
	static const struct {
		const char *in, *what;
		int want;
	} bad[] = {
		{"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabc",
		 "two different Content-Lengths", -1},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nx",
		 "a Transfer-Encoding that is not chunked", -1},
		{"HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", "obsolete line folding", -1},
		{"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "a negative length", -1},
		{"HTTP/1.1 200 OK\r\nBad Name: 1\r\n\r\n", "a header name with a space", -1},
		{"HTTP/1.1 200 OK\r\nnocolon\r\n\r\n", "a header line without a colon", -1},
		{"HTTP/2 200\r\n\r\n", "not HTTP/1.x", -1},
		{"SSH-2.0-OpenSSH\r\n\r\n", "not HTTP at all", -1},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		 "a chunk size that is not hex", -2},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n",
		 "chunk data not followed by CRLF", -2},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n",
		 "a bare LF after a chunk size", -2},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n",
		 "a chunk size past 15 hex digits", -2},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = feed(bad[i].in, 4096, false, &r, &s, &done);
		tap_ok(rc == bad[i].want, "refused: %s", bad[i].what);
		proxy_resp_free(&r);
	}
	/* A head that never ends is cut at PROXY_HEAD_MAX. */
	char *big = malloc(PROXY_HEAD_MAX + 64);
	strcpy(big, "HTTP/1.1 200 OK\r\n");
	for (size_t n = strlen(big); n < PROXY_HEAD_MAX + 32; n += 8)
		memcpy(big + n, "X-A: b\r\n", 9);
	int rc = feed(big, 4096, false, &r, &s, &done);
	tap_ok(rc == -1, "a head longer than %u bytes is refused", PROXY_HEAD_MAX);
	proxy_resp_free(&r);
	free(big);
	tap_ok(proxy_hop_by_hop("TE", NULL) && proxy_hop_by_hop("upgrade", NULL) &&
		       proxy_hop_by_hop("X-Named", "close, x-named") &&
		       !proxy_hop_by_hop("X-Other", "close, x-named"),
	       "hop-by-hop: the standard ones, any case, and those Connection names");
}

int
main(void)
{
	test_request();
	test_answers();
	test_refusals();
	return tap_done();
}
