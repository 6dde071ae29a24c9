/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The reverse proxy's HTTP/1.1 framing (proxy.h): the request head for the
 * agent and a streaming reader of its answer. The reader is strict where
 * laxness would let the agent confuse the proxy about where an answer ends
 * (RFC 9112 6.3: Transfer-Encoding other than chunked, conflicting
 * Content-Length values, obsolete line folding, bare LF), and bounded
 * everywhere (the head's size, the header count, chunk-size lines).
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proxy.h"

/* --- the request ---------------------------------------------------------- */

static const char *const hop[] = {
	"connection",
	"keep-alive",
	"proxy-authenticate",
	"proxy-authorization",
	"proxy-connection",
	"te",
	"trailer",
	"transfer-encoding",
	"upgrade",
	"authorization",
	"host",
	"content-length",
	"expect",
};

/* Whether the comma-separated list holds name (as a token, any case). */
static bool
list_has(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; p && *p;) {
		p += strspn(p, " \t,");
		size_t len = strcspn(p, " \t,");
		if (len == n && strncasecmp(p, name, n) == 0)
			return true;
		p += len;
	}
	return false;
}

bool
proxy_hop_by_hop(const char *name, const char *connection)
{
	for (size_t i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
		if (strcasecmp(name, hop[i]) == 0)
			return true;
	return connection && list_has(connection, name);
}

static bool
tchar(int c)
{
	return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool
token_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!tchar((unsigned char)*s))
			return false;
	return true;
}

/* A header value may hold tabs and visible characters (and obs-text). */
static bool
value_ok(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 && *s != '\t')
			return false;
	return true;
}

char *
proxy_request_head(const char *method, const char *target, const struct proxy_hdr *h, size_t n,
		   uint16_t port, const char *forwarded_for, int64_t content_length)
{
	char *out = NULL;
	size_t len = 0;
	const char *connection = NULL;
	FILE *f;

	if (!token_ok(method) || target[0] != '/')
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (!token_ok(h[i].name) || !value_ok(h[i].value))
			return NULL;
		if (strcasecmp(h[i].name, "connection") == 0)
			connection = h[i].value;
	}
	if (!(f = open_memstream(&out, &len)))
		return NULL;
	fprintf(f, "%s ", method);
	/* The target as the agent must read it: bytes that may not appear
	 * in a request line are percent-encoded. */
	for (const unsigned char *p = (const unsigned char *)target; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f || strchr("\"<>\\^`{|}", *p))
			fprintf(f, "%%%02X", *p);
		else
			fputc(*p, f);
	fprintf(f, " HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nConnection: close\r\n", port);
	for (size_t i = 0; i < n; i++)
		if (!proxy_hop_by_hop(h[i].name, connection) &&
		    strcasecmp(h[i].name, "x-forwarded-for") != 0)
			fprintf(f, "%s: %s\r\n", h[i].name, h[i].value);
	if (forwarded_for && *forwarded_for)
		fprintf(f, "X-Forwarded-For: %s\r\n", forwarded_for);
	if (content_length > 0)
		fprintf(f, "Content-Length: %" PRId64 "\r\n", content_length);
	else if (content_length < 0)
		fputs("Transfer-Encoding: chunked\r\n", f);
	fputs("\r\n", f);
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

/* --- the answer: its head ---------------------------------------------------- */

enum { S_HEAD, S_BODY, S_CHUNK_SIZE, S_CHUNK_DATA, S_CHUNK_CRLF, S_TRAILER, S_DONE };

/* Parse the complete head in r->head (len bytes, the final CRLF CRLF
 * included). */
static int
parse_head(struct proxy_resp *r, size_t len, bool head_request)
{
	char *p = r->head, *end = r->head + len;
	bool have_len = false, chunked = false, other_te = false;
	uint64_t clen = 0;

	/* The status line: HTTP/1.x SP 3DIGIT SP reason */
	if (len < 14 || strncmp(p, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)p[7]) ||
	    p[8] != ' ' || !isdigit((unsigned char)p[9]) || !isdigit((unsigned char)p[10]) ||
	    !isdigit((unsigned char)p[11]) || (p[12] != ' ' && p[12] != '\r'))
		return -EBADMSG;
	r->status = (unsigned)((p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0'));
	if (r->status < 100)
		return -EBADMSG;
	char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
	size_t rl = p[12] == ' ' ? (size_t)(eol - p - 13) : 0;
	snprintf(r->reason, sizeof(r->reason), "%.*s", (int)rl, p + 13);
	p = eol + 2;
	r->n_hdrs = 0;
	while (p < end - 2) {
		eol = memmem(p, (size_t)(end - p), "\r\n", 2);
		char *colon = memchr(p, ':', (size_t)(eol - p));
		if (!colon || colon == p || *p == ' ' || *p == '\t')
			return -EBADMSG; /* no name, or obsolete line folding */
		*colon = '\0';
		*eol = '\0';
		if (!token_ok(p))
			return -EBADMSG;
		char *v = colon + 1;
		v += strspn(v, " \t");
		for (char *t = eol; t > v && (t[-1] == ' ' || t[-1] == '\t');)
			*--t = '\0';
		if (!value_ok(v))
			return -EBADMSG;
		if (strcasecmp(p, "content-length") == 0) {
			if (!*v || strspn(v, "0123456789") != strlen(v) || strlen(v) > 18)
				return -EBADMSG;
			uint64_t x = strtoull(v, NULL, 10);
			if (have_len && x != clen)
				return -EBADMSG;
			clen = x;
			have_len = true;
		} else if (strcasecmp(p, "transfer-encoding") == 0) {
			/* Only "chunked", last: anything else cannot be framed. */
			if (strcasecmp(v, "chunked") == 0)
				chunked = true;
			else
				other_te = true;
		}
		if (!proxy_hop_by_hop(p, NULL)) {
			if (r->n_hdrs == PROXY_MAX_HEADERS)
				return -EBADMSG;
			r->hdrs[r->n_hdrs++] = (struct proxy_hdr){p, v};
		}
		p = eol + 2;
	}
	if (head_request || r->status < 200 || r->status == 204 || r->status == 304) {
		r->framing = PROXY_EMPTY;
	} else if (other_te) {
		return -EBADMSG;
	} else if (chunked) {
		r->framing = PROXY_CHUNKED; /* it wins over a Content-Length */
	} else if (have_len) {
		r->framing = PROXY_LENGTH;
		r->length = r->left = clen;
		if (!clen) {
			r->state = S_DONE;
			return 1;
		}
	} else {
		r->framing = PROXY_CLOSE;
	}
	r->state = r->framing == PROXY_CHUNKED ? S_CHUNK_SIZE
		   : r->framing == PROXY_EMPTY ? S_DONE
					       : S_BODY;
	return 1;
}

int
proxy_resp_head(struct proxy_resp *r, const char *p, size_t n, bool head_request, size_t *used)
{
	*used = 0;
	if (r->state != S_HEAD)
		return 1;
	for (;;) {
		/* Take bytes up to the end of the head (or all of them). */
		size_t old = r->head_len, take = n - *used;
		if (old + take > PROXY_HEAD_MAX)
			take = PROXY_HEAD_MAX - old;
		char *h = realloc(r->head, old + take + 1);
		if (!h)
			return -ENOMEM;
		r->head = h;
		memcpy(h + old, p + *used, take);
		r->head_len = old + take;
		h[r->head_len] = '\0';
		size_t from = old > 3 ? old - 3 : 0;
		char *e = memmem(h + from, r->head_len - from, "\r\n\r\n", 4);
		if (!e) {
			*used += take;
			if (r->head_len == PROXY_HEAD_MAX || memchr(h, '\0', r->head_len))
				return -EBADMSG;
			return 0;
		}
		size_t hl = (size_t)(e - h) + 4;
		*used += hl - old;
		if (memchr(h, '\0', hl))
			return -EBADMSG;
		int ret = parse_head(r, hl, head_request);
		if (ret < 0)
			return ret;
		/* An interim answer (100 Continue, 103): the real one follows. */
		if (r->status >= 100 && r->status < 200 && r->status != 101) {
			r->head_len = 0;
			r->state = S_HEAD;
			if (*used == n)
				return 0;
			continue;
		}
		return 1;
	}
}

/* --- the answer: its body ---------------------------------------------------- */

ssize_t
proxy_resp_body(struct proxy_resp *r, const char *p, size_t n,
		void (*out)(void *cls, const char *p, size_t n), void *cls, bool *done)
{
	size_t i = 0;

	*done = r->state == S_DONE;
	while (i < n && r->state != S_DONE) {
		size_t avail = n - i;
		switch (r->state) {
		case S_BODY:
			if (r->framing == PROXY_CLOSE) {
				out(cls, p + i, avail);
				i = n;
				break;
			}
			/* fall through */
		case S_CHUNK_DATA: {
			size_t k = avail < r->left ? avail : (size_t)r->left;
			if (k)
				out(cls, p + i, k);
			i += k;
			r->left -= k;
			if (!r->left)
				r->state = r->state == S_BODY ? S_DONE : S_CHUNK_CRLF;
			break;
		}
		case S_CHUNK_CRLF:
		case S_CHUNK_SIZE:
		case S_TRAILER: {
			/* Lines: read one, up to its LF. */
			char c = p[i++];
			if (r->line_len == sizeof(r->line) - 1 && c != '\n')
				return -EBADMSG;
			if (c != '\n') {
				r->line[r->line_len++] = c;
				break;
			}
			if (!r->line_len || r->line[r->line_len - 1] != '\r')
				return -EBADMSG; /* a bare LF */
			r->line[--r->line_len] = '\0';
			size_t ll = r->line_len;
			r->line_len = 0;
			if (r->state == S_CHUNK_CRLF) {
				if (ll)
					return -EBADMSG;
				r->state = S_CHUNK_SIZE;
			} else if (r->state == S_TRAILER) {
				if (!ll)
					r->state = S_DONE; /* trailers are dropped */
			} else {
				size_t hex = strspn(r->line, "0123456789abcdefABCDEF");
				if (hex == 0 || hex > 15 ||
				    (r->line[hex] && r->line[hex] != ';' && r->line[hex] != ' ' &&
				     r->line[hex] != '\t'))
					return -EBADMSG;
				r->left = strtoull(r->line, NULL, 16);
				r->state = r->left ? S_CHUNK_DATA : S_TRAILER;
			}
			break;
		}
		default: return -EBADMSG;
		}
	}
	*done = r->state == S_DONE;
	return (ssize_t)i;
}

void
proxy_resp_free(struct proxy_resp *r)
{
	free(r->head);
	r->head = NULL;
	r->head_len = 0;
}
