/* SPDX-License-Identifier: Apache-2.0 */
/* Internal helpers shared by the modules of libagentjail (hidden symbols). */
#ifndef AGENTJAIL_INTERNAL_H
#define AGENTJAIL_INTERNAL_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "jail.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Cleanup attributes: destructors run when the variable leaves scope. */
static inline void
freep(void *p)
{
	free(*(void **)p);
}

static inline void
closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;

		close(*fd);
		errno = saved;
	}
}

static inline void
fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

#define _cleanup_(f)	 __attribute__((cleanup(f)))
#define _cleanup_free_	 _cleanup_(freep)
#define _cleanup_close_	 _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Hand a resource over: return its value and disarm the cleanup. */
#define TAKE_PTR(p)                                                                                \
	({                                                                                         \
		__typeof__(p) _p = (p);                                                            \
		(p) = NULL;                                                                        \
		_p;                                                                                \
	})
#define TAKE_FD(fd)                                                                                \
	({                                                                                         \
		int _fd = (fd);                                                                    \
		(fd) = -1;                                                                         \
		_fd;                                                                               \
	})

/*
 * Error reporting (err.c). All return -errnum so that callers can write
 *   return jerr(e, errno, "mount %s", path);
 * jerr appends ": strerror(errnum)"; jerr_plain does not (the message says
 * everything); jerr_wrap prefixes context to an error already set.
 * e may be NULL.
 */
int jerr(struct jail_error *e, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int jerr_plain(struct jail_error *e, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int jerr_wrap(struct jail_error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void jerr_clear(struct jail_error *e);

/* Allocation that cannot fail silently: returns NULL with errno=ENOMEM. */
char *xstrdup_n(const char *s, size_t max);

/* Monotonic clock in microseconds. */
uint64_t now_us(void);

#endif
