/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP/1.1 pieces of the reverse proxy to an agent in its jail
 * (invocations, issue 7): the head of the request the agent gets, and a
 * streaming reader of the agent's answer. No I/O, no state beyond the
 * structs: the caller moves the bytes (the connection into the jail is a
 * socket the jail's worker connected inside the jail's own network
 * namespace and handed over).
 *
 * The request goes to the agent as HTTP/1.1 with "Connection: close": one
 * request per connection, so the answer ends where the agent says (length
 * or chunks) or where it closes. Hop-by-hop headers (RFC 9110 7.6.1, and
 * those the client's Connection header names) and the caller's
 * Authorization are not passed on; Host is the agent's.
 */
#ifndef AGENTJAIL_PROXY_H
#define AGENTJAIL_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROXY_HEAD_MAX	  (64u << 10) /* bytes of the agent's status line and headers */
#define PROXY_MAX_HEADERS 100

struct proxy_hdr {
	const char *name, *value;
};

/* Whether the header is the proxy's own business, not passed on (either
 * way); connection: the request's Connection header value, or NULL. */
bool proxy_hop_by_hop(const char *name, const char *connection);

/*
 * The request head for the agent, malloc'd and NUL-terminated (NULL: out
 * of memory or a method, target or header with a CR, LF or NUL). target is
 * the path and query as the agent should see them ("/run?x=1").
 * content_length: the body's size; -1: a body of unknown size, sent
 * chunked; 0: none.
 */
char *proxy_request_head(const char *method, const char *target, const struct proxy_hdr *h,
			 size_t n, uint16_t port, const char *forwarded_for,
			 int64_t content_length);

/* How the agent's answer is framed. */
enum proxy_framing {
	PROXY_LENGTH,  /* Content-Length */
	PROXY_CHUNKED, /* Transfer-Encoding: chunked (decoded here) */
	PROXY_CLOSE,   /* until the agent closes */
	PROXY_EMPTY,   /* no body: HEAD, 1xx, 204, 304 */
};

struct proxy_resp {
	/* The head, once proxy_resp_head() returned 1. */
	unsigned status;
	char reason[64];
	struct proxy_hdr hdrs[PROXY_MAX_HEADERS]; /* without the hop-by-hop ones */
	size_t n_hdrs;
	enum proxy_framing framing;
	uint64_t length; /* PROXY_LENGTH */
	/* internal */
	char *head;
	size_t head_len;
	int state;
	uint64_t left; /* of the body or of the current chunk */
	char line[80]; /* a chunk-size line being read */
	size_t line_len;
};

/*
 * Read the head from the agent's bytes p[0..n); *used says how many were
 * taken (the rest is body). 0: more is needed; 1: the head is complete;
 * -EBADMSG: not an HTTP/1.x answer, or a malformed or oversized head.
 * head_request: the request was HEAD (no body follows whatever it says).
 */
int proxy_resp_head(struct proxy_resp *r, const char *p, size_t n, bool head_request, size_t *used);

/*
 * Decode body bytes: out() gets the body's own bytes (chunk framing
 * removed), in pieces. Returns the bytes taken (all of n unless the body
 * ended within them), -EBADMSG for broken chunk framing. *done is set once
 * the body is complete (never for PROXY_CLOSE: the caller sees the close).
 */
ssize_t proxy_resp_body(struct proxy_resp *r, const char *p, size_t n,
			void (*out)(void *cls, const char *p, size_t n), void *cls, bool *done);

void proxy_resp_free(struct proxy_resp *r);

#endif
