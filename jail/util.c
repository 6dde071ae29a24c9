/* SPDX-License-Identifier: Apache-2.0 */
/* Pure helpers: parsing and naming. No system calls. */
#include <ctype.h>
#include <string.h>

#include "internal.h"

int
jail_parse_size(const char *s, uint64_t *ret)
{
	uint64_t v = 0;
	const char *p = s;

	if (!s || !isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	unsigned shift = 0;
	switch (*p) {
	case '\0': break;
	case 'k':
	case 'K': shift = 10; break;
	case 'm':
	case 'M': shift = 20; break;
	case 'g':
	case 'G': shift = 30; break;
	case 't':
	case 'T': shift = 40; break;
	default: return -EINVAL;
	}
	if (shift) {
		p++;
		/* Accept "M", "MB" and "MiB" alike: all mean 2^20 here. */
		if (*p == 'i')
			p++;
		if (*p == 'B' || *p == 'b')
			p++;
		if (*p)
			return -EINVAL;
		if (v > (UINT64_MAX >> shift))
			return -ERANGE;
		v <<= shift;
	}
	*ret = v;
	return 0;
}

const char *
jail_rlimit_name(enum jail_rlimit_res r)
{
	static const char *const names[JAIL_RL_COUNT] = {
		[JAIL_RL_AS] = "as",	   [JAIL_RL_CORE] = "core",	[JAIL_RL_CPU] = "cpu",
		[JAIL_RL_FSIZE] = "fsize", [JAIL_RL_NOFILE] = "nofile", [JAIL_RL_NPROC] = "nproc",
		[JAIL_RL_STACK] = "stack",
	};
	return (unsigned)r < JAIL_RL_COUNT ? names[r] : "?";
}

const char *
jail_termination_name(enum jail_termination t)
{
	switch (t) {
	case JAIL_TERM_EXIT: return "exit";
	case JAIL_TERM_SIGNAL: return "signal";
	case JAIL_TERM_TIMEOUT: return "timeout";
	case JAIL_TERM_OOM: return "oom";
	case JAIL_TERM_EXEC_FAILED: return "exec_failed";
	case JAIL_TERM_SETUP_FAILED: return "setup_failed";
	case JAIL_TERM_KILLED: return "killed";
	}
	return "unknown";
}

int
jail_result_exit_status(const struct jail_result *r)
{
	switch (r->termination) {
	case JAIL_TERM_TIMEOUT: return JAIL_EXIT_TIMEOUT;
	case JAIL_TERM_SETUP_FAILED: return JAIL_EXIT_SETUP;
	case JAIL_TERM_SIGNAL:
	case JAIL_TERM_OOM:
	case JAIL_TERM_KILLED:
		if (r->signal)
			return 128 + r->signal;
		return r->exit_code;
	case JAIL_TERM_EXIT:
	case JAIL_TERM_EXEC_FAILED: return r->exit_code;
	}
	return JAIL_EXIT_SETUP;
}
