/* SPDX-License-Identifier: Apache-2.0 */
/* The error object: errno plus one line of text, gaining context upwards. */
#include <string.h>
#include <time.h>

#include "internal.h"

static int
jerr_v(struct jail_error *e, int errnum, bool with_strerror, const char *fmt, va_list ap)
{
	if (errnum <= 0)
		errnum = EINVAL;
	if (!e)
		return -errnum;
	e->err = errnum;
	int n = vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	if (with_strerror && n >= 0 && (size_t)n < sizeof(e->msg))
		snprintf(e->msg + n, sizeof(e->msg) - (size_t)n, ": %s", strerror(errnum));
	return -errnum;
}

int
jerr(struct jail_error *e, int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int r = jerr_v(e, errnum, true, fmt, ap);
	va_end(ap);
	return r;
}

int
jerr_plain(struct jail_error *e, int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int r = jerr_v(e, errnum, false, fmt, ap);
	va_end(ap);
	return r;
}

int
jerr_wrap(struct jail_error *e, const char *fmt, ...)
{
	if (!e)
		return -EINVAL;
	int errnum = e->err > 0 ? e->err : EINVAL;
	char prefix[JAIL_ERROR_MAX];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(prefix, sizeof(prefix) - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n > sizeof(prefix) - 3)
		n = (int)sizeof(prefix) - 3;
	memcpy(prefix + n, ": ", 3);
	n += 2;
	/* "context: old message", cut to fit. */
	size_t old = strnlen(e->msg, sizeof(e->msg) - 1);
	size_t keep = old + (size_t)n < sizeof(e->msg) ? old : sizeof(e->msg) - 1 - (size_t)n;
	memmove(e->msg + n, e->msg, keep);
	memcpy(e->msg, prefix, (size_t)n);
	e->msg[(size_t)n + keep] = '\0';
	e->err = errnum;
	return -errnum;
}

void
jerr_clear(struct jail_error *e)
{
	if (e) {
		e->err = 0;
		e->msg[0] = '\0';
	}
}

char *
xstrdup_n(const char *s, size_t max)
{
	if (!s)
		return NULL;
	size_t n = strnlen(s, max + 1);
	if (n > max) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	char *p = malloc(n + 1);
	if (!p) {
		errno = ENOMEM;
		return NULL;
	}
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
