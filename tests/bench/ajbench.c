/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ajbench: the benchmark client of `make bench` (tests/bench/bench.sh).
 *
 *   ajbench http (--unix PATH | --tcp HOST:PORT) [--via LABEL] [--warm PROFILE]
 *                [--cold PROFILE] [--pool-size N] [--daemon-pid PID] [--quick]
 *                [--iters N] [--only health,cold,warm,exec,concurrent,files]
 *   ajbench spawn [-n N] [-w N] [--ratio A:B]... @LABEL CMD [ARG]... [@LABEL CMD [ARG]...]...
 *   ajbench freeport
 *
 * "http" speaks HTTP/1.1 with keep-alive to agentjaild, one request at a
 * time per connection, and measures: GET /health (the HTTP floor), session
 * create from a profile with a warm pool and from one without (each session
 * deleted after its create was timed, outside the timed region), the round
 * trip of an exec of ["true"] in one session, exec throughput with 16
 * clients, and a 32 MiB upload and download. "spawn" measures whole
 * processes (posix_spawn + wait), the commands interleaved so that drift
 * hits them alike. "freeport" prints a free TCP port on 127.0.0.1.
 *
 * Output: rows of one markdown table (bench.sh prints its header, see
 * ROW_HEADER), notes on stderr. libc only.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h> /* NAN, isnan: macros, no libm */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* A request that makes no progress (nothing sent or received) for this long
 * fails: the run reports a stalled daemon instead of hanging. */
#define IO_TIMEOUT_S 10
#define STR_(x)	     #x
#define STR(x)	     STR_(x)

#define ROW_HEADER                                                                                 \
	"| measurement | via | n | p50 | p90 | p99 | mean | result | SPEC target |\n"              \
	"|---|---|---:|---:|---:|---:|---:|---|---|"

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("ajbench: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void
note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("ajbench: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		die("out of memory");
	return p;
}

static char *
xstrdup(const char *s)
{
	char *r = strdup(s);

	if (!r)
		die("out of memory");
	return r;
}

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
sleep_us(long us)
{
	struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* --- samples ------------------------------------------------------------- */

struct samples {
	double *v; /* nanoseconds */
	size_t n, cap;
};

static void
samples_add(struct samples *s, double ns)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 256;
		s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->n++] = ns;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted samples. */
static double
pct(const struct samples *s, double p)
{
	double x = p / 100.0 * (double)s->n;
	size_t k;

	if (!s->n)
		return NAN;
	k = (size_t)x;
	if ((double)k < x)
		k++;
	if (k < 1)
		k = 1;
	return s->v[k - 1];
}

static double
mean(const struct samples *s)
{
	double sum = 0;

	for (size_t i = 0; i < s->n; i++)
		sum += s->v[i];
	return s->n ? sum / (double)s->n : NAN;
}

static void
samples_sort(struct samples *s)
{
	qsort(s->v, s->n, sizeof(*s->v), cmp_double);
}

static const char *
fmt_ns(char *buf, size_t n, double ns)
{
	if (isnan(ns))
		snprintf(buf, n, "–");
	else if (ns < 1e6)
		snprintf(buf, n, "%.0f µs", ns / 1e3);
	else if (ns < 1e9)
		snprintf(buf, n, "%.2f ms", ns / 1e6);
	else
		snprintf(buf, n, "%.2f s", ns / 1e9);
	return buf;
}

/* One row of the table; sorts s. */
static void
row(const char *what, const char *via, struct samples *s, const char *result, const char *target)
{
	char a[32], b[32], c[32], d[32];

	samples_sort(s);
	printf("| %s | %s | %zu | %s | %s | %s | %s | %s | %s |\n", what, via, s->n,
	       fmt_ns(a, sizeof(a), pct(s, 50)), fmt_ns(b, sizeof(b), pct(s, 90)),
	       fmt_ns(c, sizeof(c), pct(s, 99)), fmt_ns(d, sizeof(d), mean(s)), result, target);
	fflush(stdout);
}

static void
row_skip(const char *what, const char *via, const char *why, const char *target)
{
	printf("| %s | %s | 0 | – | – | – | – | %s | %s |\n", what, via, why, target);
	fflush(stdout);
}

/* CPU time (user + system) of a process tree in ns: every process whose
 * ancestry reaches `root`, including what its reaped children used. The
 * daemon's monitor, its HTTP process and every jail (workers and their
 * commands) are all below the monitor. */
static double
tree_cpu_ns(pid_t root)
{
	enum { MAXP = 65536 };
	static pid_t pid[MAXP], ppid[MAXP];
	static double cpu[MAXP];
	size_t n = 0;
	double sum = 0;
	long hz = sysconf(_SC_CLK_TCK);
	DIR *d;
	struct dirent *de;

	if (root <= 0 || !(d = opendir("/proc")))
		return NAN;
	while ((de = readdir(d)) && n < MAXP) {
		char path[64], buf[1024], *p;
		unsigned long ut, st;
		long cut, cst;
		int pp, fd;
		ssize_t r;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%.32s/stat", de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		r = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (r <= 0)
			continue;
		buf[r] = 0;
		p = strrchr(buf, ')');
		/* state ppid pgrp session tty tpgid flags minflt cminflt majflt
		 * cmajflt utime stime cutime cstime */
		if (!p ||
		    sscanf(p + 2, "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %ld %ld", &pp,
			   &ut, &st, &cut, &cst) != 5)
			continue;
		pid[n] = atoi(de->d_name);
		ppid[n] = pp;
		cpu[n] = (double)(ut + st + (unsigned long)cut + (unsigned long)cst) * 1e9 /
			 (double)hz;
		n++;
	}
	closedir(d);
	for (size_t i = 0; i < n; i++) {
		pid_t q = pid[i];

		for (int depth = 0; depth < 64 && q > 1; depth++) {
			if (q == root) {
				sum += cpu[i];
				break;
			}
			size_t j;

			for (j = 0; j < n && pid[j] != q; j++)
				;
			if (j == n)
				break;
			q = ppid[j];
		}
	}
	return sum;
}

static double
self_cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e9 +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e3;
}

/* --- a minimal JSON reader (enough for the daemon's answers) ------------- */

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jv {
	enum jtype t;
	double num;
	char *str;
	size_t n;
	struct jv *v; /* array items or object values */
	char **k;     /* object keys */
};

struct jp {
	const char *p, *end;
};

static void
jskip(struct jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int
jstring(struct jp *j, char **out)
{
	size_t n = 0, cap = 16;
	char *s = xrealloc(NULL, cap);

	j->p++; /* the opening quote */
	while (j->p < j->end && *j->p != '"') {
		char ch = *j->p++;

		if (ch == '\\') {
			if (j->p >= j->end)
				goto bad;
			ch = *j->p++;
			switch (ch) {
			case 'n': ch = '\n'; break;
			case 't': ch = '\t'; break;
			case 'r': ch = '\r'; break;
			case 'b': ch = '\b'; break;
			case 'f': ch = '\f'; break;
			case 'u':
				if (j->end - j->p < 4)
					goto bad;
				j->p += 4;
				ch = '?';
				break;
			default: break; /* \" \\ \/ */
			}
		}
		if (n + 2 > cap)
			s = xrealloc(s, cap *= 2);
		s[n++] = ch;
	}
	if (j->p >= j->end)
		goto bad;
	j->p++;
	s[n] = 0;
	*out = s;
	return 0;
bad:
	free(s);
	return -1;
}

static void jfree(struct jv *v);

static int
jvalue(struct jp *j, struct jv *v, int depth)
{
	memset(v, 0, sizeof(*v));
	jskip(j);
	if (j->p >= j->end || depth > 64)
		return -1;
	if (*j->p == '{' || *j->p == '[') {
		bool obj = *j->p == '{';
		char close = obj ? '}' : ']';
		size_t cap = 0;

		v->t = obj ? J_OBJ : J_ARR;
		j->p++;
		jskip(j);
		if (j->p < j->end && *j->p == close) {
			j->p++;
			return 0;
		}
		for (;;) {
			char *key = NULL;

			jskip(j);
			if (obj) {
				if (j->p >= j->end || *j->p != '"' || jstring(j, &key) < 0)
					return -1;
				jskip(j);
				if (j->p >= j->end || *j->p != ':') {
					free(key);
					return -1;
				}
				j->p++;
			}
			if (v->n == cap) {
				cap = cap ? 2 * cap : 8;
				v->v = xrealloc(v->v, cap * sizeof(*v->v));
				if (obj)
					v->k = xrealloc(v->k, cap * sizeof(*v->k));
			}
			if (obj)
				v->k[v->n] = key;
			if (jvalue(j, &v->v[v->n], depth + 1) < 0) {
				v->n++;
				return -1;
			}
			v->n++;
			jskip(j);
			if (j->p < j->end && *j->p == ',') {
				j->p++;
				continue;
			}
			if (j->p < j->end && *j->p == close) {
				j->p++;
				return 0;
			}
			return -1;
		}
	}
	if (*j->p == '"') {
		v->t = J_STR;
		return jstring(j, &v->str);
	}
	if (j->end - j->p >= 4 && !memcmp(j->p, "null", 4)) {
		j->p += 4;
		return 0;
	}
	if (j->end - j->p >= 4 && !memcmp(j->p, "true", 4)) {
		v->t = J_BOOL;
		v->num = 1;
		j->p += 4;
		return 0;
	}
	if (j->end - j->p >= 5 && !memcmp(j->p, "false", 5)) {
		v->t = J_BOOL;
		j->p += 5;
		return 0;
	}
	{
		char tmp[64], *e;
		size_t k = 0;

		while (j->p + k < j->end && k < sizeof(tmp) - 1 &&
		       strchr("+-0123456789.eE", j->p[k]))
			k++;
		if (!k)
			return -1;
		memcpy(tmp, j->p, k);
		tmp[k] = 0;
		v->t = J_NUM;
		v->num = strtod(tmp, &e);
		if (e == tmp)
			return -1;
		j->p += k;
		return 0;
	}
}

static void
jfree(struct jv *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n; i++) {
		jfree(&v->v[i]);
		if (v->k)
			free(v->k[i]);
	}
	free(v->v);
	free(v->k);
	free(v->str);
	memset(v, 0, sizeof(*v));
}

static int
jparse(const char *s, size_t n, struct jv *v)
{
	struct jp j = {s, s + n};

	if (jvalue(&j, v, 0) < 0) {
		jfree(v);
		return -1;
	}
	return 0;
}

static const struct jv *
jget(const struct jv *o, const char *key)
{
	if (!o || o->t != J_OBJ)
		return NULL;
	for (size_t i = 0; i < o->n; i++)
		if (!strcmp(o->k[i], key))
			return &o->v[i];
	return NULL;
}

static bool
jnum(const struct jv *o, const char *key, double *ret)
{
	const struct jv *v = jget(o, key);

	if (!v || v->t != J_NUM)
		return false;
	*ret = v->num;
	return true;
}

/* The pool object of `profile` in an answer of GET /v1/pools, whatever its
 * exact shape: an object with "ready" and "profile" or "name" equal to the
 * profile, or the value of a key named after the profile that has "ready". */
static const struct jv *
jfind_pool(const struct jv *v, const char *profile)
{
	if (!v)
		return NULL;
	if (v->t == J_OBJ) {
		const struct jv *name = jget(v, "profile");

		if (!name || name->t != J_STR)
			name = jget(v, "name");
		if (name && name->t == J_STR && !strcmp(name->str, profile) && jget(v, "ready"))
			return v;
		for (size_t i = 0; i < v->n; i++)
			if (!strcmp(v->k[i], profile) && jget(&v->v[i], "ready"))
				return &v->v[i];
	}
	if (v->t == J_OBJ || v->t == J_ARR)
		for (size_t i = 0; i < v->n; i++) {
			const struct jv *r = jfind_pool(&v->v[i], profile);

			if (r)
				return r;
		}
	return NULL;
}

/* --- HTTP/1.1 client ----------------------------------------------------- */

struct target {
	bool is_unix;
	struct sockaddr_un sun;
	struct sockaddr_in sin;
};

struct conn {
	const struct target *t;
	int fd;
	char *buf;
	size_t cap, len;
	unsigned connects;
};

struct resp {
	int status;
	char *body; /* inside the connection's buffer, NUL-terminated; valid until the next request
		     */
	size_t blen;
};

static void
target_parse(struct target *t, bool is_unix, const char *addr)
{
	memset(t, 0, sizeof(*t));
	t->is_unix = is_unix;
	if (is_unix) {
		if (strlen(addr) >= sizeof(t->sun.sun_path))
			die("socket path too long: %s", addr);
		t->sun.sun_family = AF_UNIX;
		strcpy(t->sun.sun_path, addr);
	} else {
		char host[64];
		const char *colon = strrchr(addr, ':');

		if (!colon || (size_t)(colon - addr) >= sizeof(host))
			die("expected HOST:PORT, got '%s'", addr);
		memcpy(host, addr, (size_t)(colon - addr));
		host[colon - addr] = 0;
		t->sin.sin_family = AF_INET;
		t->sin.sin_port = htons((uint16_t)atoi(colon + 1));
		if (inet_pton(AF_INET, host, &t->sin.sin_addr) != 1)
			die("not a numeric IPv4 address: '%s'", host);
	}
}

static void
conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->len = 0;
}

static int
conn_open(struct conn *c)
{
	int fd, one = 1;
	struct timeval tmo = {.tv_sec = IO_TIMEOUT_S};

	conn_close(c);
	fd = socket(c->t->is_unix ? AF_UNIX : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (c->t->is_unix ? connect(fd, (const struct sockaddr *)&c->t->sun, sizeof(c->t->sun))
			  : connect(fd, (const struct sockaddr *)&c->t->sin, sizeof(c->t->sin))) {
		int e = errno;

		close(fd);
		return -e;
	}
	if (!c->t->is_unix)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* A daemon that stops answering fails the run instead of hanging it. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tmo, sizeof(tmo));
	c->fd = fd;
	c->connects++;
	return 0;
}

static void
conn_init(struct conn *c, const struct target *t)
{
	memset(c, 0, sizeof(*c));
	c->t = t;
	c->fd = -1;
}

static void
conn_free(struct conn *c)
{
	conn_close(c);
	free(c->buf);
	c->buf = NULL;
	c->cap = 0;
}

/* Read more into the buffer; 0 at EOF, -errno, or the count. */
static ssize_t
conn_fill(struct conn *c)
{
	ssize_t r;

	if (c->cap - c->len < 65536) {
		c->cap = c->cap < 65536 ? 131072 : 2 * c->cap;
		c->buf = xrealloc(c->buf, c->cap);
	}
	do
		r = read(c->fd, c->buf + c->len, c->cap - c->len - 1);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	c->len += (size_t)r;
	return r;
}

/* Make sure bytes [0, n) are in the buffer. */
static int
conn_need(struct conn *c, size_t n)
{
	while (c->len < n) {
		ssize_t r = conn_fill(c);

		if (r <= 0)
			return r < 0 ? (int)r : -ECONNRESET;
	}
	return 0;
}

static int
write_all(int fd, struct iovec *iov, int iovcnt)
{
	while (iovcnt > 0) {
		ssize_t w = writev(fd, iov, iovcnt);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		while (iovcnt > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			iovcnt--;
		}
		if (iovcnt > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

/* One request, one response, on the connection (opened when needed). The
 * body of the answer is de-chunked in place. */
static int
http_once(struct conn *c, const char *method, const char *path, const char *ctype, const void *body,
	  size_t blen, struct resp *r)
{
	char head[1024];
	int hl, e;
	struct iovec iov[2];
	char *hend = NULL, *p;
	size_t hlen, clen = 0, scan = 0;
	bool have_clen = false, chunked = false, close_after = false;

	if (c->fd < 0 && (e = conn_open(c)) < 0)
		return e;
	hl = snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: localhost\r\n%s%s%s", method,
		      path, ctype ? "Content-Type: " : "", ctype ? ctype : "", ctype ? "\r\n" : "");
	if (body || !strcmp(method, "POST") || !strcmp(method, "PUT"))
		hl += snprintf(head + hl, sizeof(head) - (size_t)hl, "Content-Length: %zu\r\n",
			       blen);
	hl += snprintf(head + hl, sizeof(head) - (size_t)hl, "\r\n");
	iov[0] = (struct iovec){head, (size_t)hl};
	iov[1] = (struct iovec){(void *)body, blen};
	c->len = 0;
	if ((e = write_all(c->fd, iov, blen ? 2 : 1)) < 0)
		return e;

	for (;;) {
		ssize_t got;

		if (c->len >= 4) {
			c->buf[c->len] = 0;
			hend = memmem(c->buf + scan, c->len - scan, "\r\n\r\n", 4);
			if (hend)
				break;
			scan = c->len - 3;
		}
		got = conn_fill(c);
		if (got <= 0)
			return got < 0 ? (int)got : -ECONNRESET;
	}
	hlen = (size_t)(hend - c->buf) + 4;
	*hend = 0;
	if (sscanf(c->buf, "HTTP/1.%*d %d", &r->status) != 1)
		return -EPROTO;
	for (p = strstr(c->buf, "\r\n"); p; p = strstr(p, "\r\n")) {
		p += 2;
		if (!strncasecmp(p, "Content-Length:", 15)) {
			clen = strtoull(p + 15, NULL, 10);
			have_clen = true;
		} else if (!strncasecmp(p, "Transfer-Encoding:", 18) && strcasestr(p, "chunked")) {
			chunked = true;
		} else if (!strncasecmp(p, "Connection:", 11)) {
			char *eol = strstr(p, "\r\n");
			char save = 0;

			if (eol) {
				save = *eol;
				*eol = 0;
			}
			if (strcasestr(p + 11, "close"))
				close_after = true;
			if (eol)
				*eol = save;
		}
	}
	if (!strcmp(method, "HEAD") || r->status == 204 || r->status == 304 || r->status < 200) {
		r->blen = 0;
	} else if (chunked) {
		size_t in = hlen, out = hlen;

		for (;;) {
			char *eol;
			size_t sz;

			for (;;) {
				c->buf[c->len] = 0;
				eol = strstr(c->buf + in, "\r\n");
				if (eol)
					break;
				if (conn_fill(c) <= 0)
					return -ECONNRESET;
			}
			sz = strtoull(c->buf + in, NULL, 16);
			in = (size_t)(eol - c->buf) + 2;
			if (!sz) {
				/* no trailers expected: the final CRLF */
				if ((e = conn_need(c, in + 2)) < 0)
					return e;
				break;
			}
			if ((e = conn_need(c, in + sz + 2)) < 0)
				return e;
			memmove(c->buf + out, c->buf + in, sz);
			out += sz;
			in += sz + 2;
		}
		r->blen = out - hlen;
	} else if (have_clen) {
		if ((e = conn_need(c, hlen + clen)) < 0)
			return e;
		r->blen = clen;
	} else {
		ssize_t got;

		while ((got = conn_fill(c)) > 0)
			;
		if (got < 0)
			return (int)got;
		r->blen = c->len - hlen;
		close_after = true;
	}
	r->body = c->buf + hlen;
	r->body[r->blen] = 0;
	if (close_after)
		conn_close(c);
	return 0;
}

/* http_once; a failed connection is closed (the next request opens a new
 * one). No retry: nothing here stays idle long enough for the server to
 * close it, so a failure is the server's, and is reported as such. */
static int
http(struct conn *c, const char *method, const char *path, const char *ctype, const void *body,
     size_t blen, struct resp *r)
{
	int e = http_once(c, method, path, ctype, body, blen, r);

	if (e < 0)
		conn_close(c);
	return e;
}

/* --- the API ------------------------------------------------------------- */

static const char *JSON = "application/json";

static const char *
errname(int e)
{
	return e == -EAGAIN ? "no progress for " STR(IO_TIMEOUT_S) " s" : strerror(-e);
}

static int
session_create(struct conn *c, const char *profile, char *id, size_t idlen, int *status)
{
	char body[256];
	struct resp r;
	struct jv v;
	const struct jv *idv;
	int e;

	snprintf(body, sizeof(body), "{\"profile\":\"%s\"}", profile);
	*status = 0;
	if ((e = http(c, "POST", "/v1/sessions", JSON, body, strlen(body), &r)) < 0)
		return e;
	*status = r.status;
	if (r.status != 201) {
		note("POST /v1/sessions (%s): %d %s", profile, r.status, r.body);
		return -EIO;
	}
	if (jparse(r.body, r.blen, &v) < 0)
		return -EPROTO;
	idv = jget(&v, "id");
	if (!idv || idv->t != J_STR || strlen(idv->str) >= idlen) {
		jfree(&v);
		return -EPROTO;
	}
	strcpy(id, idv->str);
	jfree(&v);
	return 0;
}

static int
session_delete(struct conn *c, const char *id)
{
	char path[128];
	struct resp r;
	int e;

	snprintf(path, sizeof(path), "/v1/sessions/%s", id);
	if ((e = http(c, "DELETE", path, NULL, NULL, 0, &r)) < 0)
		return e;
	if (r.status != 204) {
		note("DELETE %s: %d %s", path, r.status, r.body);
		return -EIO;
	}
	return 0;
}

static const char EXEC_TRUE[] = "{\"command\":[\"true\"]}";

static int
exec_true(struct conn *c, const char *id)
{
	char path[128];
	struct resp r;
	int e;

	snprintf(path, sizeof(path), "/v1/sessions/%s/exec", id);
	if ((e = http(c, "POST", path, JSON, EXEC_TRUE, sizeof(EXEC_TRUE) - 1, &r)) < 0)
		return e;
	if (r.status != 200 || !strstr(r.body, "\"exit_code\":0")) {
		note("exec true: %d %s", r.status, r.body);
		return -EIO;
	}
	return 0;
}

struct pool {
	double size, ready, misses, claims;
	bool has_misses, has_claims;
};

/* 1: found, 0: /v1/pools answers but has no pool for the profile,
 * -ENOENT: no /v1/pools in this build, other negative: error. */
static int
pool_get(struct conn *c, const char *profile, struct pool *ret)
{
	struct resp r;
	struct jv v;
	const struct jv *o;
	int e;

	if ((e = http(c, "GET", "/v1/pools", NULL, NULL, 0, &r)) < 0)
		return e;
	if (r.status == 404 || r.status == 405)
		return -ENOENT;
	if (r.status != 200) {
		note("GET /v1/pools: %d %s", r.status, r.body);
		return -EIO;
	}
	if (jparse(r.body, r.blen, &v) < 0) {
		note("GET /v1/pools: not JSON: %s", r.body);
		return -EPROTO;
	}
	o = jfind_pool(&v, profile);
	if (!o) {
		jfree(&v);
		return 0;
	}
	memset(ret, 0, sizeof(*ret));
	jnum(o, "ready", &ret->ready);
	if (!jnum(o, "size", &ret->size))
		ret->size = -1;
	ret->has_misses = jnum(o, "misses", &ret->misses);
	ret->has_claims = jnum(o, "claims", &ret->claims);
	jfree(&v);
	return 1;
}

/* Wait until the pool of `profile` has `want` jails ready; the time it
 * took in ns, or -1 after timeout_ms. */
static double
pool_wait(struct conn *c, const char *profile, double want, long timeout_ms)
{
	int64_t t0 = now_ns();
	struct pool p;

	for (;;) {
		if (pool_get(c, profile, &p) == 1 && p.ready >= want)
			return (double)(now_ns() - t0);
		if (now_ns() - t0 > (int64_t)timeout_ms * 1000000)
			return -1;
		sleep_us(500);
	}
}

/* --- the HTTP benchmarks ------------------------------------------------- */

static double spawn_floor_ns(int n);

struct opts {
	struct target t;
	const char *via, *warm, *cold;
	int pool_size;
	pid_t daemon;
	bool quick;
	const char *only; /* comma-separated parts to run, NULL: all */
	double floor_ns;  /* p50 of posix_spawn + wait of /bin/true, 0: unknown */
	int n_health, n_create, n_exec, clients, per_client, file_mib, file_reps;
};

static bool
want(const struct opts *o, const char *part)
{
	size_t n = strlen(part);

	for (const char *p = o->only; p && *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] == ',')) {
		if (strcspn(p, ",") == n && !strncmp(p, part, n))
			return true;
	}
	return !o->only;
}

static const char *
met(bool ok)
{
	return ok ? "met" : "**NOT met**";
}

/* Returns the p50 in ns. */
static double
bench_health(const struct opts *o)
{
	struct conn c;
	struct samples s = {0};
	struct resp r;
	char res[128];
	double p50;

	conn_init(&c, &o->t);
	for (int i = 0; i < o->n_health / 10 + o->n_health; i++) {
		int64_t t0 = now_ns();

		if (http(&c, "GET", "/health", NULL, NULL, 0, &r) < 0 || r.status != 200)
			die("GET /health failed");
		if (i >= o->n_health / 10)
			samples_add(&s, (double)(now_ns() - t0));
	}
	snprintf(res, sizeof(res), "the HTTP floor; %u connection(s)", c.connects);
	row("GET /health round trip", o->via, &s, res, "–");
	p50 = pct(&s, 50);
	conn_free(&c);
	free(s.v);
	return p50;
}

/* Sessions created one after another, each deleted after its create was
 * timed. With `pace`, each create waits first for the pool to be full
 * again (the claim of a ready pool); without, creates follow back to back
 * and race the refill. Returns the p50 in ns. */
static double
bench_create(const struct opts *o, const char *profile, bool pooled, bool pace, double cold_p50,
	     double floor_p50)
{
	struct conn c, pc;
	struct samples s = {0}, refill = {0};
	struct pool p0 = {0}, p1 = {0};
	char what[160], res[640], tgt[256], a[32];
	int warmup = o->quick ? 3 : 10, errors = 0, timeouts = 0;
	double want = o->pool_size, p50, cpu0, cpu1;

	conn_init(&c, &o->t);
	conn_init(&pc, &o->t);
	if (pooled) {
		if (pool_get(&pc, profile, &p0) == 1 && p0.size > 0)
			want = p0.size;
		if (pool_wait(&pc, profile, want, 30000) < 0)
			note("pool '%s' not at %.0f ready after 30 s", profile, want);
	}
	for (int i = 0; i < warmup; i++) {
		char id[64];
		int st;

		if (pooled && pace)
			pool_wait(&pc, profile, want, 10000);
		if (session_create(&c, profile, id, sizeof(id), &st) == 0)
			session_delete(&c, id);
	}
	if (pooled) {
		pool_wait(&pc, profile, want, 10000);
		pool_get(&pc, profile, &p0);
	}
	cpu0 = tree_cpu_ns(o->daemon);
	for (int i = 0; i < o->n_create; i++) {
		char id[64];
		int st;
		int64_t t0;
		double dt;

		if (pooled && pace) {
			double w = pool_wait(&pc, profile, want, 10000);

			if (w < 0)
				timeouts++;
		}
		t0 = now_ns();
		if (session_create(&c, profile, id, sizeof(id), &st) < 0) {
			if (++errors > 10)
				die("session create of '%s' keeps failing", profile);
			continue;
		}
		dt = (double)(now_ns() - t0);
		samples_add(&s, dt);
		/* untimed: the delete, and the refill it races */
		if (session_delete(&c, id) < 0)
			die("DELETE failed");
		if (pooled && pace) {
			int64_t r0 = now_ns();

			if (pool_wait(&pc, profile, want, 10000) >= 0)
				samples_add(&refill, (double)(now_ns() - r0));
		}
	}
	cpu1 = tree_cpu_ns(o->daemon);
	if (pooled)
		pool_get(&pc, profile, &p1);

	if (pooled)
		snprintf(what, sizeof(what), "session create, warm pool `%s`%s", profile,
			 pace ? " (pool full before each)" : ", back to back");
	else
		snprintf(what, sizeof(what), "session create, cold `%s`", profile);
	samples_sort(&s);
	p50 = pct(&s, 50);
	res[0] = 0;
	if (pooled && p1.has_misses)
		snprintf(res + strlen(res), sizeof(res) - strlen(res), "pool misses: %.0f of %zu; ",
			 p1.misses - p0.misses, s.n);
	if (pooled && cold_p50 > 0)
		snprintf(res + strlen(res), sizeof(res) - strlen(res),
			 "**%.1f× faster than cold**; ", cold_p50 / p50);
	if (pooled && floor_p50 > 0)
		snprintf(res + strlen(res), sizeof(res) - strlen(res),
			 "p50 − /health p50 = %s (the supervisor's share, estimated); ",
			 fmt_ns(a, sizeof(a), p50 - floor_p50));
	if (refill.n) {
		samples_sort(&refill);
		snprintf(res + strlen(res), sizeof(res) - strlen(res),
			 "delete + refill to %.0f ready seen after %s (p50); ", want,
			 fmt_ns(a, sizeof(a), pct(&refill, 50)));
	}
	if (timeouts)
		snprintf(res + strlen(res), sizeof(res) - strlen(res),
			 "%d waits for a full pool timed out; ", timeouts);
	if (!isnan(cpu1) && !isnan(cpu0) && s.n)
		snprintf(res + strlen(res), sizeof(res) - strlen(res),
			 "daemon CPU %s per create+delete; ",
			 fmt_ns(a, sizeof(a), (cpu1 - cpu0) / (double)s.n));
	if (errors)
		snprintf(res + strlen(res), sizeof(res) - strlen(res), "%d errors; ", errors);
	if (strlen(res) >= 2)
		res[strlen(res) - 2] = 0;
	if (pooled && !pace)
		snprintf(
			tgt, sizeof(tgt),
			"– (creates outrun the refill: this is the build throughput, not a claim)");
	else if (pooled)
		snprintf(
			tgt, sizeof(tgt),
			"p50 < 1 ms: %s; ≥ 5× faster than cold: %s; < 200 µs in the supervisor: %s",
			met(p50 < 1e6), cold_p50 > 0 ? met(cold_p50 / p50 >= 5) : "not measured",
			floor_p50 > 0 ? met(p50 - floor_p50 < 2e5) : "not measured");
	else
		snprintf(tgt, sizeof(tgt), "– (the reference of the 5×)");
	row(what, o->via, &s, res[0] ? res : "–", tgt);
	conn_free(&c);
	conn_free(&pc);
	free(s.v);
	free(refill.v);
	return p50;
}

static void
bench_exec_rtt(const struct opts *o, const char *profile)
{
	struct conn c;
	struct samples s = {0};
	char id[64], res[320], tgt[96], a[32], b[32];
	int st;
	double cpu0, cpu1, p50;

	conn_init(&c, &o->t);
	if (session_create(&c, profile, id, sizeof(id), &st) < 0)
		die("cannot create a session of '%s'", profile);
	for (int i = 0; i < o->n_exec / 10; i++)
		if (exec_true(&c, id) < 0)
			die("exec failed");
	cpu0 = tree_cpu_ns(o->daemon);
	for (int i = 0; i < o->n_exec; i++) {
		int64_t t0 = now_ns();

		if (exec_true(&c, id) < 0)
			die("exec failed");
		samples_add(&s, (double)(now_ns() - t0));
	}
	cpu1 = tree_cpu_ns(o->daemon);
	session_delete(&c, id);
	samples_sort(&s);
	p50 = pct(&s, 50);
	snprintf(res, sizeof(res), "one session, sequential; daemon + jail CPU %s per exec",
		 fmt_ns(a, sizeof(a), (cpu1 - cpu0) / (double)s.n));
	if (o->floor_ns > 0)
		snprintf(res + strlen(res), sizeof(res) - strlen(res),
			 "; **%.1f× the fork + exec floor** (%s, this run)", p50 / o->floor_ns,
			 fmt_ns(b, sizeof(b), o->floor_ns));
	snprintf(tgt, sizeof(tgt), "p50 < 1.5 ms: %s", met(p50 < 1.5e6));
	row("exec `[\"true\"]` round trip", o->via, &s, res, tgt);
	conn_free(&c);
	free(s.v);
}

struct worker_arg {
	const struct opts *o;
	const char *id;
	pthread_barrier_t *bar;
	struct samples s;
	int64_t end;
	int errors;
};

static void *
exec_worker(void *p)
{
	struct worker_arg *w = p;
	struct conn c;

	conn_init(&c, &w->o->t);
	for (int i = 0; i < 20; i++)
		if (exec_true(&c, w->id) < 0)
			w->errors++;
	pthread_barrier_wait(w->bar);
	for (int i = 0; i < w->o->per_client; i++) {
		int64_t t0 = now_ns();

		if (exec_true(&c, w->id) < 0) {
			if (++w->errors > 20)
				break;
			continue;
		}
		samples_add(&w->s, (double)(now_ns() - t0));
	}
	w->end = now_ns();
	conn_free(&c);
	return NULL;
}

static void
bench_exec_concurrent(const struct opts *o, const char *profile, bool shared)
{
	int n = o->clients;
	struct worker_arg *w = calloc((size_t)n, sizeof(*w));
	pthread_t *th = calloc((size_t)n, sizeof(*th));
	char(*ids)[64] = calloc((size_t)n, sizeof(*ids));
	pthread_barrier_t bar;
	struct conn c;
	struct samples all = {0};
	int64_t t0, t1 = 0;
	int errors = 0, st;
	double rate, cpu0, cpu1, self0, self1;
	char what[128], res[320], tgt[96], a[32], b[32];

	if (!w || !th || !ids)
		die("out of memory");
	conn_init(&c, &o->t);
	for (int i = 0; i < (shared ? 1 : n); i++)
		if (session_create(&c, profile, ids[i], sizeof(ids[i]), &st) < 0)
			die("cannot create a session of '%s'", profile);
	pthread_barrier_init(&bar, NULL, (unsigned)n + 1);
	for (int i = 0; i < n; i++) {
		w[i] = (struct worker_arg){.o = o, .id = ids[shared ? 0 : i], .bar = &bar};
		if (pthread_create(&th[i], NULL, exec_worker, &w[i]))
			die("pthread_create failed");
	}
	pthread_barrier_wait(&bar);
	cpu0 = tree_cpu_ns(o->daemon);
	self0 = self_cpu_ns();
	t0 = now_ns();
	for (int i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		if (w[i].end > t1)
			t1 = w[i].end;
		errors += w[i].errors;
		for (size_t k = 0; k < w[i].s.n; k++)
			samples_add(&all, w[i].s.v[k]);
		free(w[i].s.v);
	}
	cpu1 = tree_cpu_ns(o->daemon);
	self1 = self_cpu_ns();
	pthread_barrier_destroy(&bar);
	for (int i = 0; i < (shared ? 1 : n); i++)
		session_delete(&c, ids[i]);
	rate = (double)all.n / ((double)(t1 - t0) / 1e9);
	snprintf(what, sizeof(what), "exec `[\"true\"]`, %d clients, %s", n,
		 shared ? "one shared session" : "a session each");
	snprintf(res, sizeof(res),
		 "**%.0f execs/s**; daemon + jails CPU %s, this client %s per exec%s%s", rate,
		 fmt_ns(a, sizeof(a), (cpu1 - cpu0) / (double)all.n),
		 fmt_ns(b, sizeof(b), (self1 - self0) / (double)all.n), errors ? "; errors: " : "",
		 errors ? "yes" : "");
	snprintf(tgt, sizeof(tgt), "≥ 1000 execs/s: %s", met(rate >= 1000));
	row(what, o->via, &all, res, tgt);
	conn_free(&c);
	free(all.v);
	free(w);
	free(th);
	free(ids);
}

static void
bench_files(const struct opts *o, const char *profile)
{
	size_t size = (size_t)o->file_mib << 20;
	char *data = malloc(size);
	struct conn c;
	struct samples up = {0}, down = {0};
	char id[64], path[160], res[320], tgt[128], what[96];
	uint64_t x = 0x9e3779b97f4a7c15ull;
	struct resp r;
	int st, stalls[2] = {0, 0};

	if (!data)
		die("out of memory");
	for (size_t i = 0; i + 8 <= size; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(data + i, &x, 8);
	}
	conn_init(&c, &o->t);
	if (session_create(&c, profile, id, sizeof(id), &st) < 0)
		die("cannot create a session of '%s'", profile);
	snprintf(path, sizeof(path), "/v1/sessions/%s/files/bench.bin", id);
	for (int i = 0; i < o->file_reps + 1; i++) {
		int64_t t0 = now_ns();
		int e = http(&c, "PUT", path, "application/octet-stream", data, size, &r);

		if (e < 0) {
			/* counted, not hidden: the next try gets a new connection */
			note("PUT of %zu bytes: %s", size, errname(e));
			stalls[0]++;
			continue;
		}
		if (r.status != 200)
			die("PUT of %zu bytes: %d %s", size, r.status, r.body);
		if (i)
			samples_add(&up, (double)(now_ns() - t0));
		t0 = now_ns();
		e = http(&c, "GET", path, NULL, NULL, 0, &r);
		if (e < 0) {
			note("GET of %zu bytes: %s", size, errname(e));
			stalls[1]++;
			continue;
		}
		if (r.status != 200)
			die("GET of the file: %d %s", r.status, r.body);
		if (i)
			samples_add(&down, (double)(now_ns() - t0));
		if (r.blen != size || memcmp(r.body, data, size))
			die("the file downloaded differs from the one uploaded");
	}
	if (session_delete(&c, id) < 0)
		note("DELETE of the file session failed");
	samples_sort(&up);
	samples_sort(&down);
	for (int dir = 0; dir < 2; dir++) {
		struct samples *s = dir ? &down : &up;
		double mbs = (double)size / (pct(s, 50) / 1e9) / 1e6;

		snprintf(what, sizeof(what), "file %s, %d MiB",
			 dir ? "download (GET)" : "upload (PUT)", o->file_mib);
		snprintf(res, sizeof(res), "**%.0f MB/s** (median; MB = 10⁶ B)", mbs);
		snprintf(tgt, sizeof(tgt), "≥ 500 MB/s: %s", met(mbs >= 500));
		if (stalls[dir]) {
			snprintf(res + strlen(res), sizeof(res) - strlen(res),
				 "; **%d of %d stalled** (no progress for %d s: the daemon stopped "
				 "reading or answering), left out of n",
				 stalls[dir], o->file_reps + 1, IO_TIMEOUT_S);
			snprintf(tgt + strlen(tgt), sizeof(tgt) - strlen(tgt),
				 "; **%d stalled transfer(s)**", stalls[dir]);
		}
		row(what, o->via, s, res, tgt);
	}
	conn_free(&c);
	free(up.v);
	free(down.v);
	free(data);
}

static void
usage(void)
{
	static const char *const lines[] = {
		"usage: ajbench http (--unix PATH | --tcp HOST:PORT) [--via LABEL]",
		"           [--warm PROFILE] --cold PROFILE [--pool-size N] [--daemon-pid PID]",
		"           [--quick] [--iters N] [--only health,cold,warm,exec,concurrent,files]",
		"       ajbench spawn [-n N] [-w N] [--ratio A:B]... @LABEL CMD [ARG]... ...",
		"       ajbench freeport",
		"       ajbench header",
	};

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		fprintf(stderr, "%s\n", lines[i]);
	exit(2);
}

static int
cmd_http(int argc, char **argv)
{
	struct opts o = {.via = NULL,
			 .pool_size = 8,
			 .n_health = 5000,
			 .n_create = 200,
			 .n_exec = 2000,
			 .clients = 16,
			 .per_client = 200,
			 .file_mib = 32,
			 .file_reps = 9};
	const char *addr = NULL;
	bool is_unix = true;
	double cold_p50 = 0, floor_p50;
	struct conn c;
	struct resp r;
	struct pool p;
	int e;
	int64_t t0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--quick")) {
			o.quick = true;
			continue;
		}
		if (!v)
			usage();
		i++;
		if (!strcmp(a, "--unix") || !strcmp(a, "--tcp")) {
			is_unix = !strcmp(a, "--unix");
			addr = v;
		} else if (!strcmp(a, "--via")) {
			o.via = v;
		} else if (!strcmp(a, "--warm")) {
			o.warm = v;
		} else if (!strcmp(a, "--cold")) {
			o.cold = v;
		} else if (!strcmp(a, "--pool-size")) {
			o.pool_size = atoi(v);
		} else if (!strcmp(a, "--daemon-pid")) {
			o.daemon = atoi(v);
		} else if (!strcmp(a, "--only")) {
			o.only = v;
		} else if (!strcmp(a, "--iters")) {
			o.n_create = atoi(v);
			o.n_exec = 10 * o.n_create;
			o.per_client = o.n_create;
		} else {
			usage();
		}
	}
	if (!addr || !o.cold)
		usage();
	if (o.quick) {
		o.n_health = 500;
		o.n_create = 20;
		o.n_exec = 200;
		o.per_client = 20;
		o.file_reps = 2;
	}
	target_parse(&o.t, is_unix, addr);
	if (!o.via)
		o.via = is_unix ? "unix socket" : "TCP 127.0.0.1";

	/* The daemon may still be starting. */
	conn_init(&c, &o.t);
	t0 = now_ns();
	while ((e = http(&c, "GET", "/health", NULL, NULL, 0, &r)) < 0 || r.status != 200) {
		if (now_ns() - t0 > 10 * 1000000000LL)
			die("%s: no answer to GET /health within 10 s", addr);
		sleep_us(20000);
	}

	if (want(&o, "exec"))
		o.floor_ns = spawn_floor_ns(o.quick ? 20 : 200);
	floor_p50 = want(&o, "health") ? bench_health(&o) : 0;
	if (want(&o, "cold"))
		cold_p50 = bench_create(&o, o.cold, false, false, 0, 0);
	if (o.warm && want(&o, "warm")) {
		e = pool_get(&c, o.warm, &p);
		if (e == -ENOENT) {
			note("no pools in this build (GET /v1/pools: 404): warm claims not "
			     "measured");
			row_skip("session create, warm pool", o.via,
				 "**no pools in this build** (GET /v1/pools is 404): not measured",
				 "p50 < 1 ms; ≥ 5× faster than cold");
		} else if (e == 0) {
			note("GET /v1/pools has no pool for profile '%s'", o.warm);
			row_skip("session create, warm pool", o.via,
				 "GET /v1/pools has no pool for the profile: not measured",
				 "p50 < 1 ms; ≥ 5× faster than cold");
		} else if (e < 0) {
			die("GET /v1/pools: %s", strerror(-e));
		} else {
			bench_create(&o, o.warm, true, true, cold_p50, floor_p50);
			bench_create(&o, o.warm, true, false, cold_p50, floor_p50);
		}
	}
	if (want(&o, "exec"))
		bench_exec_rtt(&o, o.cold);
	if (want(&o, "concurrent")) {
		bench_exec_concurrent(&o, o.cold, false);
		bench_exec_concurrent(&o, o.cold, true);
	}
	if (want(&o, "files"))
		bench_files(&o, o.cold);
	conn_free(&c);
	return 0;
}

/* --- whole processes ----------------------------------------------------- */

struct spawned {
	const char *label;
	char **argv;
	char *path;
	struct samples s;
	int failures;
	bool dead; /* stopped after failing */
};

static char *
resolve(const char *cmd)
{
	const char *pathenv = getenv("PATH");
	char buf[4096];

	if (strchr(cmd, '/'))
		return xstrdup(cmd);
	if (!pathenv)
		pathenv = "/usr/local/bin:/usr/bin:/bin";
	while (*pathenv) {
		size_t n = strcspn(pathenv, ":");

		snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, pathenv, cmd);
		if (!access(buf, X_OK))
			return xstrdup(buf);
		pathenv += n + (pathenv[n] == ':');
	}
	die("%s: not found in PATH", cmd);
	return NULL;
}

/* fork + exec + wait of one command, stdin and stdout on /dev/null; the
 * wall time in ns, or -1 if it failed. */
static double
spawn_once(struct spawned *c, posix_spawn_file_actions_t *fa)
{
	pid_t pid;
	int status, e;
	int64_t t0 = now_ns();

	e = posix_spawn(&pid, c->path, fa, NULL, c->argv, environ);
	if (e) {
		note("%s: posix_spawn: %s", c->path, strerror(e));
		return -1;
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		note("%s: exit status %d", c->label, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		return -1;
	}
	return (double)(now_ns() - t0);
}

/* Commands are separated by words starting with '@' (their labels); each
 * gets an argv of its own. */
/* p50 of n runs of /bin/true (after n/10 unmeasured): the floor of an exec. */
static double
spawn_floor_ns(int n)
{
	char *argv[] = {"/bin/true", NULL};
	struct spawned c = {.label = "floor", .argv = argv, .path = "/bin/true"};
	posix_spawn_file_actions_t fa;
	double p50;

	posix_spawn_file_actions_init(&fa);
	for (int i = 0; i < n / 10 + n; i++) {
		double t = spawn_once(&c, &fa);

		if (t < 0)
			return 0;
		if (i >= n / 10)
			samples_add(&c.s, t);
	}
	posix_spawn_file_actions_destroy(&fa);
	samples_sort(&c.s);
	p50 = pct(&c.s, 50);
	free(c.s.v);
	return p50;
}

static int
cmd_spawn_main(int argc, char **argv)
{
	struct spawned cmds[8];
	const char *ratios[8];
	int ncmd = 0, nratio = 0, n = 200, warm = 20, i = 1;
	posix_spawn_file_actions_t fa;

	while (i < argc && argv[i][0] != '@') {
		if (i + 1 >= argc)
			usage();
		if (!strcmp(argv[i], "-n"))
			n = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "-w"))
			warm = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--ratio") && nratio < 8)
			ratios[nratio++] = argv[i + 1];
		else
			usage();
		i += 2;
	}
	while (i < argc) {
		int j, k = 0;
		char **av;

		if (argv[i][0] != '@' || i + 1 >= argc || argv[i + 1][0] == '@' || ncmd == 8)
			usage();
		for (j = i + 1; j < argc && argv[j][0] != '@'; j++)
			;
		av = xrealloc(NULL, (size_t)(j - i) * sizeof(*av));
		for (int m = i + 1; m < j; m++)
			av[k++] = argv[m];
		av[k] = NULL;
		cmds[ncmd] = (struct spawned){.label = argv[i] + 1, .argv = av};
		cmds[ncmd].path = resolve(av[0]);
		ncmd++;
		i = j;
	}
	if (!ncmd || n < 1)
		usage();
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);

	/* Interleaved: run k of every command, then run k + 1. */
	for (int k = 0; k < warm + n; k++)
		for (int c = 0; c < ncmd; c++) {
			double t;

			if (cmds[c].dead)
				continue;
			t = spawn_once(&cmds[c], &fa);
			if (t < 0) {
				if (++cmds[c].failures >= 3)
					cmds[c].dead = true;
				continue;
			}
			if (k >= warm)
				samples_add(&cmds[c].s, t);
		}
	posix_spawn_file_actions_destroy(&fa);

	for (int c = 0; c < ncmd; c++)
		samples_sort(&cmds[c].s);
	for (int c = 0; c < ncmd; c++) {
		char what[128], res[256] = "", tgt[128] = "–";

		snprintf(what, sizeof(what), "cold one-shot `%s`", cmds[c].label);
		for (int q = 0; q < nratio; q++) {
			char a[64], *b;
			int ia = -1, ib = -1;

			snprintf(a, sizeof(a), "%s", ratios[q]);
			b = strchr(a, ':');
			if (!b)
				continue;
			*b++ = 0;
			if (strcmp(a, cmds[c].label))
				continue;
			for (int m = 0; m < ncmd; m++) {
				if (!strcmp(cmds[m].label, a))
					ia = m;
				if (!strcmp(cmds[m].label, b))
					ib = m;
			}
			if (ia < 0 || ib < 0 || !cmds[ia].s.n || !cmds[ib].s.n)
				continue;
			double ratio = pct(&cmds[ia].s, 50) / pct(&cmds[ib].s, 50);

			snprintf(res + strlen(res), sizeof(res) - strlen(res), "%s%s/%s = **%.2f**",
				 res[0] ? "; " : "", a, b, ratio);
			if (!strcmp(b, "bwrap"))
				snprintf(tgt, sizeof(tgt), "no slower than bwrap: %s",
					 met(ratio <= 1.0));
		}
		if (cmds[c].dead)
			snprintf(res + strlen(res), sizeof(res) - strlen(res),
				 "%sFAILED (stopped after 3 failures)", res[0] ? "; " : "");
		row(what, "process", &cmds[c].s, res[0] ? res : "–", tgt);
	}
	return 0;
}

static int
cmd_freeport(void)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    getsockname(fd, (struct sockaddr *)&sin, &len))
		die("cannot find a free port: %s", strerror(errno));
	printf("%u\n", ntohs(sin.sin_port));
	close(fd);
	return 0;
}

int
main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "http"))
		return cmd_http(argc - 1, argv + 1);
	if (!strcmp(argv[1], "spawn"))
		return cmd_spawn_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "freeport"))
		return cmd_freeport();
	if (!strcmp(argv[1], "header")) {
		puts(ROW_HEADER);
		return 0;
	}
	usage();
	return 2;
}
