/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The AgentCube compatibility layer's parsers and formatters (compat.h).
 * The behaviour copied is that of AgentCube's Go servers (the
 * WorkloadManager, the Router, PicoD) as /work/shared/API-COMPAT.md
 * describes it; where Go's standard library decides (durations, base64,
 * path cleaning, multipart, file modes, times), its rules are followed.
 */
#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "compat.h"

/* --- URLs ------------------------------------------------------------------ */

enum compat_kind
compat_route(const char *url, const char **ret_arg)
{
	static const char sessions[] = "/v1/code-interpreter/sessions/";
	static const char ns[] = "/v1/namespaces/", ci[] = "code-interpreters/";
	const char *p;
	size_t n;

	*ret_arg = NULL;
	if (strcmp(url, "/health/live") == 0 || strcmp(url, "/health/ready") == 0) {
		*ret_arg = url[8] == 'l' ? "alive" : "ready";
		return COMPAT_HEALTH;
	}
	if (strcmp(url, "/v1/code-interpreter") == 0 || strcmp(url, "/v1/code-interpreter/") == 0)
		return COMPAT_CREATE;
	if (strncmp(url, sessions, sizeof(sessions) - 1) == 0) {
		p = url + sizeof(sessions) - 1;
		if (!*p || strchr(p, '/'))
			return COMPAT_NONE;
		*ret_arg = p;
		return COMPAT_DELETE;
	}
	if (strncmp(url, ns, sizeof(ns) - 1) != 0)
		return COMPAT_NONE;
	/* {ns}/code-interpreters/{name}/invocations */
	p = url + sizeof(ns) - 1;
	n = strcspn(p, "/");
	if (n == 0 || p[n] != '/' || strncmp(p + n + 1, ci, sizeof(ci) - 1) != 0)
		return COMPAT_NONE;
	p += n + sizeof(ci);
	n = strcspn(p, "/");
	if (n == 0 || p[n] != '/' || strncmp(p + n + 1, "invocations", 11) != 0)
		return COMPAT_NONE;
	p += n + 12;
	if (*p != '/')
		return *p ? COMPAT_NONE : COMPAT_OTHER;
	/* The Router forwards the rest to PicoD as it is: no slash merged,
	 * no dot segment removed (the file path is cleaned later). */
	p++;
	if (strcmp(p, "api/execute") == 0)
		return COMPAT_EXECUTE;
	if (strcmp(p, "api/files") == 0)
		return COMPAT_FILES;
	if (strncmp(p, "api/files/", 10) == 0) {
		*ret_arg = p + 10;
		return COMPAT_FILE;
	}
	return COMPAT_OTHER;
}

/* --- strings ---------------------------------------------------------------- */

/* The length of the valid UTF-8 sequence at s, or 0. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp, min;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		len = 2, cp = s[0] & 0x1f, min = 0x80;
	else if ((s[0] & 0xf0) == 0xe0)
		len = 3, cp = s[0] & 0x0f, min = 0x800;
	else if ((s[0] & 0xf8) == 0xf0)
		len = 4, cp = s[0] & 0x07, min = 0x10000;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t k = 1; k < len; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[k] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

json_t *
compat_string(const char *p, size_t n)
{
	json_t *v = json_stringn(p ? p : "", n);
	char *out;
	size_t o = 0;

	if (v)
		return v;
	out = malloc(3 * n + 1);
	if (!out)
		return json_string("");
	for (size_t i = 0; i < n;) {
		size_t len = utf8_seq((const unsigned char *)p + i, n - i);
		if (len) {
			memcpy(out + o, p + i, len);
			o += len;
			i += len;
		} else {
			memcpy(out + o, "\xef\xbf\xbd", 3); /* U+FFFD */
			o += 3;
			i++;
		}
	}
	v = json_stringn(out, o);
	free(out);
	return v ? v : json_string("");
}

/* s quoted as Go's strconv.Quote would, near enough for a message. */
static const char *
go_quote(const char *s, char *buf, size_t size)
{
	size_t o = 0;

	buf[o++] = '"';
	for (; *s && o + 6 < size; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
		} else {
			buf[o++] = (char)c;
		}
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

/* --- request bodies --------------------------------------------------------- */

/* A string of at most max bytes without NUL, or absent/null (*ret NULL). */
static int
opt_string(json_t *v, size_t max, const char **ret)
{
	*ret = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v) || json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return -EINVAL;
	*ret = json_string_value(v);
	return 0;
}

int
compat_parse_create(json_t *root, struct compat_create *ret, const char **ret_msg)
{
	struct compat_create c = {0};
	json_t *ttl, *md;

	*ret_msg = "Invalid request body";
	if (!json_is_object(root) || opt_string(json_object_get(root, "name"), 253, &c.name) < 0 ||
	    opt_string(json_object_get(root, "namespace"), 253, &c.ns) < 0)
		return -EINVAL;
	ttl = json_object_get(root, "ttl");
	if (ttl && !json_is_null(ttl) && !json_is_integer(ttl))
		return -EINVAL;
	md = json_object_get(root, "metadata");
	if (md && !json_is_null(md) && !json_is_object(md))
		return -EINVAL;
	if (!c.ns || !c.ns[0]) {
		*ret_msg = "namespace is required";
		return -EINVAL;
	}
	if (!c.name || !c.name[0]) {
		*ret_msg = "name is required";
		return -EINVAL;
	}
	c.ttl_s = json_is_integer(ttl) && json_integer_value(ttl) > 0 ? json_integer_value(ttl) : 0;
	c.metadata = json_is_object(md) ? md : NULL;
	*ret_msg = NULL;
	*ret = c;
	return 0;
}

static int fail_msg(char *msg, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
fail_msg(char *msg, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, size, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int
compat_parse_execute(json_t *root, struct compat_exec *ret, char *msg, size_t size)
{
	struct compat_exec q = {0};
	const char *timeout = NULL, *key, *s;
	char err[COMPAT_MSG_MAX];
	json_t *v;
	size_t i;

	if (!json_is_object(root))
		return fail_msg(msg, size, "Invalid request body: expected a JSON object");
	q.command = json_object_get(root, "command");
	if (q.command && !json_is_null(q.command) && !json_is_array(q.command))
		return fail_msg(msg, size,
				"Invalid request body: command: expected an array of strings");
	if (!json_array_size(q.command))
		return fail_msg(msg, size, "command cannot be empty");
	if (json_array_size(q.command) > COMPAT_MAX_ARGS)
		return fail_msg(msg, size, "Invalid request body: command: more than %d arguments",
				COMPAT_MAX_ARGS);
	json_array_foreach(q.command, i, v)
	{
		if (!json_is_string(v) || opt_string(v, COMPAT_MAX_ARG_LEN, &s) < 0)
			return fail_msg(
				msg, size,
				"Invalid request body: command[%zu]: expected a string of at "
				"most %d bytes without NUL",
				i, COMPAT_MAX_ARG_LEN);
	}
	if (opt_string(json_object_get(root, "timeout"), 64, &timeout) < 0)
		return fail_msg(msg, size, "Invalid timeout format: expected a duration string");
	if (timeout && timeout[0]) {
		if (compat_parse_duration(timeout, &q.timeout_ns, err, sizeof(err)) < 0)
			return fail_msg(msg, size, "Invalid timeout format: %s", err);
		if (q.timeout_ns <= 0)
			return fail_msg(msg, size, "Invalid timeout format: %s: not positive",
					timeout);
	}
	if (opt_string(json_object_get(root, "working_dir"), AJW_MAX_PATH, &q.working_dir) < 0)
		return fail_msg(msg, size,
				"Invalid request body: working_dir: expected a path string");
	if (q.working_dir && !q.working_dir[0])
		q.working_dir = NULL;
	q.env = json_object_get(root, "env");
	if (q.env && json_is_null(q.env))
		q.env = NULL;
	if (q.env && !json_is_object(q.env))
		return fail_msg(msg, size,
				"Invalid request body: env: expected an object of strings");
	if (json_object_size(q.env) > COMPAT_MAX_ENV)
		return fail_msg(msg, size, "Invalid request body: env: more than %d variables",
				COMPAT_MAX_ENV);
	json_object_foreach(q.env, key, v)
	{
		if (!key[0] || strchr(key, '=') || strlen(key) > 128 ||
		    opt_string(v, 32768, &s) < 0 || !s)
			return fail_msg(msg, size,
					"Invalid request body: env: '%.64s': expected a name "
					"without '=' and a string value",
					key);
	}
	*ret = q;
	return 0;
}

/* --- Go durations ------------------------------------------------------------- */

#define U63 (UINT64_C(1) << 63)

int
compat_parse_duration(const char *orig, int64_t *ret_ns, char *err, size_t size)
{
	static const struct {
		const char *name;
		uint64_t ns;
	} units[] = {
		{"ns", 1},
		{"us", 1000},
		{"\xc2\xb5s", 1000}, /* U+00B5 micro sign */
		{"\xce\xbcs", 1000}, /* U+03BC Greek mu */
		{"ms", 1000000},
		{"s", 1000000000},
		{"m", UINT64_C(60000000000)},
		{"h", UINT64_C(3600000000000)},
	};
	const char *s = orig;
	char q[96], uq[48];
	uint64_t d = 0;
	bool neg = false;

	if (*s == '-' || *s == '+') {
		neg = *s == '-';
		s++;
	}
	if (strcmp(s, "0") == 0) {
		*ret_ns = 0;
		return 0;
	}
	if (!*s)
		goto invalid;
	while (*s) {
		uint64_t v = 0, f = 0, unit = 0;
		double scale = 1;
		bool pre, post = false, overflow = false;
		const char *start = s;

		if (!(*s == '.' || isdigit((unsigned char)*s)))
			goto invalid;
		for (; isdigit((unsigned char)*s); s++) {
			if (v > U63 / 10)
				goto invalid;
			v = v * 10 + (uint64_t)(*s - '0');
			if (v > U63)
				goto invalid;
		}
		pre = s != start;
		if (*s == '.') {
			start = ++s;
			for (; isdigit((unsigned char)*s); s++) {
				uint64_t y;
				if (overflow)
					continue;
				if (f > (U63 - 1) / 10) {
					overflow = true;
					continue;
				}
				y = f * 10 + (uint64_t)(*s - '0');
				if (y > U63) {
					overflow = true;
					continue;
				}
				f = y;
				scale *= 10;
			}
			post = s != start;
		}
		if (!pre && !post)
			goto invalid;
		start = s;
		while (*s && *s != '.' && !isdigit((unsigned char)*s))
			s++;
		if (s == start) {
			snprintf(err, size, "time: missing unit in duration %s",
				 go_quote(orig, q, sizeof(q)));
			return -EINVAL;
		}
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]) && !unit; i++)
			if (strlen(units[i].name) == (size_t)(s - start) &&
			    memcmp(units[i].name, start, (size_t)(s - start)) == 0)
				unit = units[i].ns;
		if (!unit) {
			char u[24];
			snprintf(u, sizeof(u), "%.*s", (int)(s - start < 20 ? s - start : 20),
				 start);
			snprintf(err, size, "time: unknown unit %s in duration %s",
				 go_quote(u, uq, sizeof(uq)), go_quote(orig, q, sizeof(q)));
			return -EINVAL;
		}
		if (v > U63 / unit)
			goto invalid;
		v *= unit;
		if (f > 0) {
			/* As Go: float64 keeps fractions of hours accurate to the ns. */
			v += (uint64_t)((double)f * ((double)unit / scale));
			if (v > U63)
				goto invalid;
		}
		d += v;
		if (d > U63)
			goto invalid;
	}
	if (neg) {
		*ret_ns = d == U63 ? INT64_MIN : -(int64_t)d;
		return 0;
	}
	if (d > U63 - 1)
		goto invalid;
	*ret_ns = (int64_t)d;
	return 0;
invalid:
	snprintf(err, size, "time: invalid duration %s", go_quote(orig, q, sizeof(q)));
	return -EINVAL;
}

/* --- paths and modes ------------------------------------------------------------ */

int
compat_clean_path(const char *in, size_t n, char *out, size_t size)
{
	size_t o = 0, i = 0;

	if (memchr(in, '\0', n))
		return -EINVAL;
	if (n > AJW_MAX_PATH || size == 0)
		return -ENAMETOOLONG;
	while (i < n) {
		size_t j, len;

		while (i < n && in[i] == '/')
			i++;
		for (j = i; j < n && in[j] != '/'; j++)
			;
		len = j - i;
		if (len == 2 && in[i] == '.' && in[i + 1] == '.') {
			if (o == 0)
				return -EXDEV; /* above the workspace */
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
		} else if (len > 0 && !(len == 1 && in[i] == '.')) {
			if (o + (o ? 1 : 0) + len + 1 > size)
				return -ENAMETOOLONG;
			if (o)
				out[o++] = '/';
			memcpy(out + o, in + i, len);
			o += len;
		}
		i = j;
	}
	out[o] = '\0';
	return 0;
}

unsigned
compat_parse_mode(const char *s)
{
	unsigned v = 0;

	if (!s || !*s || strlen(s) > 11)
		return 0644;
	for (; *s; s++) {
		if (*s < '0' || *s > '7')
			return 0644;
		v = v * 8 + (unsigned)(*s - '0');
		if (v > 0777)
			return 0644;
	}
	return v;
}

/* --- base64 ---------------------------------------------------------------------- */

static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static size_t
skip_newlines(const char *s, size_t n, size_t i)
{
	while (i < n && (s[i] == '\r' || s[i] == '\n'))
		i++;
	return i;
}

int
compat_b64_check(const char *s, size_t n, size_t *ret_size, size_t *ret_bad)
{
	size_t j = 0, start = 0, size = 0, i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\r' || c == '\n')
			continue;
		if (c == '=') {
			/* Padding: "xx==" or "xxx=", then nothing but newlines. */
			if (j < 2)
				goto bad;
			if (j == 2) {
				i = skip_newlines(s, n, i + 1);
				if (i == n)
					goto bad;
				if (s[i] != '=') {
					i--; /* Go's offset: before the wrong byte */
					goto bad;
				}
				size += 1;
			} else {
				size += 2;
			}
			i = skip_newlines(s, n, i + 1);
			if (i < n)
				goto bad;
			*ret_size = size;
			return 0;
		}
		if (b64_value(c) < 0)
			goto bad;
		if (j == 0)
			start = i;
		if (++j == 4) {
			j = 0;
			size += 3;
		}
	}
	if (j) {
		i = start; /* a group cut short, without its padding */
		goto bad;
	}
	*ret_size = size;
	return 0;
bad:
	*ret_bad = i;
	return -EINVAL;
}

size_t
compat_b64_decode(const char *in, size_t n, char *out)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t o = 0;

	/* In place is safe: 4 characters read before 3 bytes are written. */
	for (size_t i = 0; i < n; i++) {
		int v = b64_value((unsigned char)in[i]);
		if (in[i] == '=')
			break;
		if (v < 0)
			continue; /* CR, LF */
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)(acc >> bits);
		}
	}
	return o;
}

/* --- a string value taken out of a JSON text -------------------------------------- */

static size_t
skip_ws(const char *t, size_t len, size_t i)
{
	while (i < len && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r'))
		i++;
	return i;
}

/* One past the closing quote of the string at t[i] == '"'; 0 if it has none. */
static size_t
string_end(const char *t, size_t len, size_t i)
{
	for (i++; i < len;) {
		const char *q = memchr(t + i, '"', len - i);
		size_t k, bs = 0;
		if (!q)
			return 0;
		k = (size_t)(q - t);
		while (k - bs > i && t[k - bs - 1] == '\\')
			bs++;
		if (bs % 2 == 0)
			return k + 1;
		i = k + 1; /* an escaped quote */
	}
	return 0;
}

/* One past the value at t[i]; 0 if malformed. Only where values end is
 * found: jansson reads what is left and judges it. */
static size_t
skip_value(const char *t, size_t len, size_t i)
{
	size_t start = i;
	int depth = 0;

	if (t[i] == '"')
		return string_end(t, len, i);
	if (t[i] == '{' || t[i] == '[') {
		for (; i < len; i++) {
			if (t[i] == '"') {
				size_t e = string_end(t, len, i);
				if (!e)
					return 0;
				i = e - 1;
			} else if (t[i] == '{' || t[i] == '[') {
				depth++;
			} else if ((t[i] == '}' || t[i] == ']') && --depth == 0) {
				return i + 1;
			}
		}
		return 0;
	}
	while (i < len && t[i] && !strchr(",}] \t\r\n", t[i]))
		i++;
	return i > start ? i : 0;
}

static int
hex4(const char *p, uint32_t *ret)
{
	uint32_t v = 0;

	for (int k = 0; k < 4; k++) {
		int c = (unsigned char)p[k];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return -EINVAL;
	}
	*ret = v;
	return 0;
}

/* The body of a JSON string (between its quotes) decoded into out, which
 * may be t: an escape is never shorter than what it stands for. As jansson:
 * no control characters, no lone surrogates, no \u0000. */
static ssize_t
json_unescape(const char *t, size_t n, char *out)
{
	size_t o = 0, i = 0;

	while (i < n) {
		unsigned char c = (unsigned char)t[i];
		uint32_t cp, lo;

		if (c < 0x20)
			return -EINVAL;
		if (c != '\\') {
			out[o++] = (char)c;
			i++;
			continue;
		}
		if (i + 1 >= n)
			return -EINVAL;
		switch (t[i + 1]) {
		case '"':
		case '\\':
		case '/': out[o++] = t[i + 1]; break;
		case 'b': out[o++] = '\b'; break;
		case 'f': out[o++] = '\f'; break;
		case 'n': out[o++] = '\n'; break;
		case 'r': out[o++] = '\r'; break;
		case 't': out[o++] = '\t'; break;
		case 'u':
			if (i + 6 > n || hex4(t + i + 2, &cp) < 0 || cp == 0 ||
			    (cp >= 0xdc00 && cp <= 0xdfff))
				return -EINVAL;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (i + 12 > n || t[i + 6] != '\\' || t[i + 7] != 'u' ||
				    hex4(t + i + 8, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff)
					return -EINVAL;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				i += 6;
			}
			if (cp < 0x80) {
				out[o++] = (char)cp;
			} else if (cp < 0x800) {
				out[o++] = (char)(0xc0 | (cp >> 6));
				out[o++] = (char)(0x80 | (cp & 0x3f));
			} else if (cp < 0x10000) {
				out[o++] = (char)(0xe0 | (cp >> 12));
				out[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
				out[o++] = (char)(0x80 | (cp & 0x3f));
			} else {
				out[o++] = (char)(0xf0 | (cp >> 18));
				out[o++] = (char)(0x80 | ((cp >> 12) & 0x3f));
				out[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
				out[o++] = (char)(0x80 | (cp & 0x3f));
			}
			i += 4;
			break;
		default: return -EINVAL;
		}
		i += 2;
	}
	return (ssize_t)o;
}

static bool
key_is(const char *raw, size_t n, const char *key)
{
	char tmp[256];
	ssize_t len;

	if (n >= sizeof(tmp))
		return false;
	len = json_unescape(raw, n, tmp);
	return len >= 0 && (size_t)len == strlen(key) && memcmp(tmp, key, (size_t)len) == 0;
}

int
compat_json_take_string(char *t, size_t len, const char *key, size_t *ret_off, size_t *ret_len,
			char **ret_rest, size_t *ret_rest_len)
{
	size_t i = skip_ws(t, len, 0), q0 = 0, q1 = 0, matches = 0;
	ssize_t n;
	char *rest;

	*ret_rest = NULL;
	if (i >= len || t[i] != '{')
		return -EINVAL;
	i = skip_ws(t, len, i + 1);
	if (i < len && t[i] == '}')
		return 0;
	for (;;) {
		size_t ke, ve;
		bool match;

		if (i >= len || t[i] != '"' || !(ke = string_end(t, len, i)))
			return -EINVAL;
		match = key_is(t + i + 1, ke - i - 2, key);
		i = skip_ws(t, len, ke);
		if (i >= len || t[i] != ':')
			return -EINVAL;
		i = skip_ws(t, len, i + 1);
		if (i >= len || !(ve = skip_value(t, len, i)))
			return -EINVAL;
		if (match) {
			/* Twice is refused: Go would take the last, jansson
			 * too, and finding the last costs a second pass. */
			if (++matches > 1)
				return -EINVAL;
			if (t[i] == '"') {
				q0 = i;
				q1 = ve - 1;
			}
		}
		i = skip_ws(t, len, ve);
		if (i < len && t[i] == ',') {
			i = skip_ws(t, len, i + 1);
			continue;
		}
		if (i < len && t[i] == '}')
			break;
		return -EINVAL;
	}
	if (!q1)
		return 0; /* absent, or not a string: jansson will say */
	/* The text with the value emptied: up to the opening quote, from the
	 * closing one. */
	rest = malloc(q0 + 1 + (len - q1) + 1);
	if (!rest)
		return -ENOMEM;
	memcpy(rest, t, q0 + 1);
	memcpy(rest + q0 + 1, t + q1, len - q1);
	rest[q0 + 1 + len - q1] = '\0';
	n = json_unescape(t + q0 + 1, q1 - q0 - 1, t + q0 + 1);
	if (n < 0) {
		free(rest);
		return -EINVAL;
	}
	*ret_off = q0 + 1;
	*ret_len = (size_t)n;
	*ret_rest = rest;
	*ret_rest_len = q0 + 1 + len - q1;
	return 1;
}

/* --- multipart/form-data -------------------------------------------------------- */

enum { MP_PREAMBLE = 1, MP_HEADERS, MP_BODY, MP_DONE, MP_ERROR };

bool
compat_is_multipart(const char *ct)
{
	return ct && strncasecmp(ct, "multipart/form-data", 19) == 0 &&
	       (ct[19] == '\0' || ct[19] == ';' || ct[19] == ' ' || ct[19] == '\t');
}

/*
 * The value of the parameter `name` of a header value "type; a=b; c=\"d\""
 * (names without regard to case, the value a token or a quoted string with
 * backslash escapes, as Go's mime.ParseMediaType). 0, -ENOENT, -EINVAL
 * (an unterminated quote), -ENAMETOOLONG.
 */
static int
header_param(const char *v, const char *name, char *out, size_t size)
{
	const char *p = strchr(v, ';');
	size_t nl = strlen(name);

	while (p) {
		const char *k;
		size_t kl, o = 0;
		bool want;

		for (p++; *p == ' ' || *p == '\t'; p++)
			;
		for (k = p; *p && *p != '=' && *p != ';' && *p != ' ' && *p != '\t'; p++)
			;
		kl = (size_t)(p - k);
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '=') {
			p = strchr(p, ';');
			continue;
		}
		for (p++; *p == ' ' || *p == '\t'; p++)
			;
		want = kl == nl && strncasecmp(k, name, nl) == 0;
		if (*p == '"') {
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1])
					p++;
				if (want && o + 1 >= size)
					return -ENAMETOOLONG;
				if (want)
					out[o++] = *p;
			}
			if (*p != '"')
				return -EINVAL;
			p++;
		} else {
			for (; *p && *p != ';' && *p != ' ' && *p != '\t'; p++) {
				if (want && o + 1 >= size)
					return -ENAMETOOLONG;
				if (want)
					out[o++] = *p;
			}
		}
		if (want) {
			out[o] = '\0';
			return 0;
		}
		p = strchr(p, ';');
	}
	return -ENOENT;
}

static int
hold_append(struct compat_mp *m, const char *p, size_t n)
{
	if (m->len + n > m->cap) {
		size_t cap = m->cap ? m->cap : 4096;
		char *h;
		while (cap < m->len + n)
			cap *= 2;
		h = realloc(m->hold, cap);
		if (!h)
			return -ENOMEM;
		m->hold = h;
		m->cap = cap;
	}
	if (n)
		memcpy(m->hold + m->len, p, n);
	m->len += n;
	return 0;
}

int
compat_mp_init(struct compat_mp *m, const char *content_type)
{
	char b[COMPAT_MP_BOUNDARY_MAX + 1];

	memset(m, 0, sizeof(*m));
	if (!compat_is_multipart(content_type) ||
	    header_param(content_type, "boundary", b, sizeof(b)) < 0 || !b[0])
		return -EINVAL;
	m->dlen = (size_t)snprintf(m->delim, sizeof(m->delim), "\r\n--%s", b);
	m->state = MP_PREAMBLE;
	/* The first delimiter has no CRLF before it: one is made up, so that
	 * every delimiter looks the same. */
	return hold_append(m, "\r\n", 2);
}

/* What follows a boundary at t[i]: 1 "--" (the last one), 2 blanks and
 * CRLF (a part follows, at *ret_next), 0 anything else (not a delimiter:
 * content), -1 too few bytes yet to tell. */
static int
after_boundary(const char *t, size_t len, size_t i, size_t *ret_next)
{
	size_t j = i;

	if (j < len && t[j] == '-')
		return j + 1 < len ? (t[j + 1] == '-' ? 1 : 0) : -1;
	while (j < len && (t[j] == ' ' || t[j] == '\t') && j - i < 256)
		j++;
	if (j - i >= 256)
		return 0;
	if (j + 1 >= len)
		return j < len && t[j] != '\r' ? 0 : -1;
	if (t[j] == '\r' && t[j + 1] == '\n') {
		*ret_next = j + 2;
		return 2;
	}
	return 0;
}

/* A part's header block (lines, each ending in CRLF): the form field's
 * name and file name from Content-Disposition. */
static int
part_headers(const char *t, size_t len, const struct compat_mp_ops *ops, void *cls)
{
	char name[256] = "", filename[1024] = "", line[COMPAT_MP_HEADERS_MAX + 1];
	size_t i = 0;

	while (i < len) {
		const char *eol = memmem(t + i, len - i, "\r\n", 2);
		size_t n = eol ? (size_t)(eol - t) - i : len - i;
		char *colon, *v;

		memcpy(line, t + i, n);
		line[n] = '\0';
		i += n + 2;
		if (memchr(line, '\0', n) || !(colon = strchr(line, ':')))
			return -EBADMSG; /* Go: malformed MIME header line */
		*colon = '\0';
		if (strcasecmp(line, "Content-Disposition") != 0)
			continue;
		for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
			;
		/* Only form-data parts are form fields. */
		if (strncasecmp(v, "form-data", 9) != 0 || (v[9] && v[9] != ';' && v[9] != ' '))
			continue;
		if (header_param(v, "name", name, sizeof(name)) < 0)
			name[0] = '\0';
		if (header_param(v, "filename", filename, sizeof(filename)) < 0)
			filename[0] = '\0';
	}
	return ops->part(cls, name, filename);
}

int
compat_mp_feed(struct compat_mp *m, const char *p, size_t n, const struct compat_mp_ops *ops,
	       void *cls)
{
	size_t i = 0; /* m->hold[0, i) is parsed */
	int r = 0;

	if (m->state == MP_ERROR)
		return -EBADMSG;
	if (m->state == MP_DONE)
		return 0; /* the epilogue: ignored */
	if (hold_append(m, p, n) < 0) {
		m->state = MP_ERROR;
		return -ENOMEM;
	}
	while (r == 0 && m->state != MP_DONE) {
		const char *t = m->hold + i;
		size_t len = m->len - i, next = 0, k;
		const char *hit;
		int a;

		if (m->state == MP_HEADERS) {
			if (len >= 2 && t[0] == '\r' && t[1] == '\n') {
				r = ops->part(cls, "", ""); /* no headers at all */
				i += 2;
			} else if ((hit = memmem(t, len, "\r\n\r\n", 4))) {
				k = (size_t)(hit - t);
				if (k + 2 > COMPAT_MP_HEADERS_MAX)
					r = -EBADMSG;
				else
					r = part_headers(t, k + 2, ops, cls);
				i += k + 4;
			} else {
				if (len > COMPAT_MP_HEADERS_MAX)
					r = -EBADMSG;
				break;
			}
			m->state = MP_BODY;
			continue;
		}
		/* The preamble or a part's content, up to the next delimiter. */
		hit = memmem(t, len, m->delim, m->dlen);
		if (!hit) {
			/* What could be the start of a delimiter stays. */
			k = len > m->dlen - 1 ? len - (m->dlen - 1) : 0;
			if (m->state == MP_BODY && k)
				r = ops->data(cls, t, k);
			i += k;
			break;
		}
		k = (size_t)(hit - t);
		a = after_boundary(t, len, k + m->dlen, &next);
		if (a < 0) {
			if (m->state == MP_BODY && k)
				r = ops->data(cls, t, k);
			i += k;
			break;
		}
		if (a == 0) {
			/* The boundary's text inside content: its CR is content. */
			if (m->state == MP_BODY)
				r = ops->data(cls, t, k + 1);
			i += k + 1;
			continue;
		}
		if (m->state == MP_BODY) {
			if (k)
				r = ops->data(cls, t, k);
			if (r == 0)
				r = ops->end(cls);
		}
		if (a == 1) {
			m->state = MP_DONE;
			i = m->len;
		} else {
			m->state = MP_HEADERS;
			i += next;
		}
	}
	memmove(m->hold, m->hold + i, m->len - i);
	m->len -= i;
	if (r < 0)
		m->state = MP_ERROR;
	return r;
}

bool
compat_mp_done(const struct compat_mp *m)
{
	return m->state == MP_DONE;
}

void
compat_mp_free(struct compat_mp *m)
{
	free(m->hold);
	m->hold = NULL;
	m->len = m->cap = 0;
}

/* --- responses -------------------------------------------------------------------- */

json_t *
compat_error_json(bool data_plane, unsigned status, const char *msg)
{
	json_t *m = compat_string(msg, strlen(msg));

	if (data_plane)
		return json_pack("{s:o,s:i}", "error", m, "code", (int)status);
	return json_pack("{s:o}", "message", m);
}

const char *
compat_time(int64_t sec, long nsec, char *buf, size_t size)
{
	char frac[16] = "";
	time_t t = (time_t)sec;
	struct tm tm;

	gmtime_r(&t, &tm);
	if (nsec > 0 && nsec < 1000000000) {
		size_t n = (size_t)snprintf(frac, sizeof(frac), ".%09ld", nsec);
		while (frac[n - 1] == '0')
			frac[--n] = '\0';
	}
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d%sZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
	return buf;
}

const char *
compat_mode_string(const struct ajw_stat *st, char *buf)
{
	static const char rwx[] = "rwxrwxrwx";
	size_t w = 0;

	/* Go's letters, in Go's order: d, L, then ? for what the worker
	 * does not tell apart (FIFO, socket, device), then u, g, t. */
	if (st->type == AJW_T_DIR)
		buf[w++] = 'd';
	else if (st->type == AJW_T_SYMLINK)
		buf[w++] = 'L';
	else if (st->type != AJW_T_FILE)
		buf[w++] = '?';
	if (st->mode & 04000)
		buf[w++] = 'u';
	if (st->mode & 02000)
		buf[w++] = 'g';
	if (st->mode & 01000)
		buf[w++] = 't';
	if (w == 0)
		buf[w++] = '-';
	for (int i = 0; i < 9; i++)
		buf[w++] = st->mode & (1u << (8 - i)) ? rwx[i] : '-';
	buf[w] = '\0';
	return buf;
}

static json_t *
mtime_json(const struct ajw_stat *st)
{
	char t[48];
	int64_t s = st->mtime_ns / 1000000000, ns = st->mtime_ns % 1000000000;

	if (ns < 0) {
		s--;
		ns += 1000000000;
	}
	return json_string(compat_time(s, (long)ns, t, sizeof(t)));
}

json_t *
compat_file_info(const char *path, const struct ajw_stat *st)
{
	char mode[16];

	return json_pack("{s:o,s:I,s:s,s:o}", "path", compat_string(path, strlen(path)), "size",
			 (json_int_t)st->size, "mode", compat_mode_string(st, mode), "modified",
			 mtime_json(st));
}

json_t *
compat_dirent(const char *name, const struct ajw_stat *st)
{
	char mode[16];

	return json_pack("{s:o,s:I,s:o,s:s,s:b}", "name", compat_string(name, strlen(name)), "size",
			 (json_int_t)st->size, "modified", mtime_json(st), "mode",
			 compat_mode_string(st, mode), "is_dir", st->type == AJW_T_DIR);
}

json_t *
compat_created_json(const char *id, const char *name)
{
	char sandbox[300];

	snprintf(sandbox, sizeof(sandbox), "%s-%.8s", name, id);
	return json_pack("{s:s,s:s,s:s,s:o,s:[]}", "kind", "Sandbox", "sessionId", id, "sandboxId",
			 id, "sandboxName", compat_string(sandbox, strlen(sandbox)), "entryPoints");
}

int
compat_exit_code(const struct ajw_exit *ex)
{
	if (ex->flags & AJW_EXIT_TIMED_OUT)
		return 124;
	return ex->signal ? -1 : ex->exit_code;
}

void
compat_exec_failure(const char *argv0, int err, const char *worker_msg, char *out, size_t size)
{
	/* The worker's message names the step that failed: "exec ARGV0:
	 * REASON" for the execve itself, "exec ARGV0: STEP: REASON" or
	 * "chdir DIR: REASON" for what comes before it. */
	const char *m = worker_msg ? worker_msg : "";
	bool exec_step = strncmp(m, "exec ", 5) == 0 && err != EINTR && !strstr(m, ": cgroup: ") &&
			 !strstr(m, ": setup: ") && !strstr(m, ": seccomp: ");
	char reason[128];

	if (!exec_step) {
		snprintf(out, size, "%s", m);
		return;
	}
	if (!strchr(argv0, '/') && (err == ENOENT || err == EACCES || err == ENOTDIR)) {
		/* Go's exec.LookPath: not found, or found but not executable. */
		snprintf(out, size, "exec: \"%s\": executable file not found in $PATH", argv0);
		return;
	}
	snprintf(reason, sizeof(reason), "%s", strerror(err));
	reason[0] = (char)tolower((unsigned char)reason[0]); /* Go's errno strings */
	snprintf(out, size, "fork/exec %s: %s", argv0, reason);
}

json_t *
compat_exec_json(const char *out, size_t out_n, const char *err, size_t err_n, int exit_code,
		 const struct timespec *start, const struct timespec *end)
{
	char st[48], et[48];
	double dur = (double)(end->tv_sec - start->tv_sec) +
		     (double)(end->tv_nsec - start->tv_nsec) / 1e9;

	return json_pack("{s:o,s:o,s:i,s:f,s:s,s:s}", "stdout", compat_string(out, out_n), "stderr",
			 compat_string(err, err_n), "exit_code", exit_code, "duration",
			 dur < 0 ? 0.0 : dur, "start_time",
			 compat_time(start->tv_sec, start->tv_nsec, st, sizeof(st)), "end_time",
			 compat_time(end->tv_sec, end->tv_nsec, et, sizeof(et)));
}
