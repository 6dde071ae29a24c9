/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Minimal TAP-style harness for C unit tests. Each check prints
 *   ok - description
 *   not ok - description        (with the reason on a "# " line)
 *   ok - description # SKIP why
 * and tests/run.sh counts the lines. main() ends with `return tap_done();`.
 */
#ifndef AGENTJAIL_TAP_H
#define AGENTJAIL_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_failed;

static inline void __attribute__((format(printf, 2, 3))) tap_ok(int cond, const char *fmt, ...)
{
	va_list ap;

	printf(cond ? "ok - " : "not ok - ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond)
		tap_failed++;
	fflush(stdout);
}

static inline void __attribute__((format(printf, 1, 2))) tap_skip(const char *fmt, ...)
{
	va_list ap;

	printf("ok - ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(" # SKIP\n");
	fflush(stdout);
}

static inline void __attribute__((format(printf, 1, 2))) tap_diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* Check that a string contains a substring, printing both when not. */
#define TAP_CONTAINS(hay, needle, ...)                                                             \
	do {                                                                                       \
		const char *_h = (hay), *_n = (needle);                                            \
		int _c = _h && strstr(_h, _n) != NULL;                                             \
		tap_ok(_c, __VA_ARGS__);                                                           \
		if (!_c)                                                                           \
			tap_diag("expected '%s' in '%s'", _n, _h ? _h : "(null)");                 \
	} while (0)

static inline int
tap_done(void)
{
	return tap_failed ? 1 : 0;
}

#endif
