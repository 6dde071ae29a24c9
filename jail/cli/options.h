/* SPDX-License-Identifier: Apache-2.0 */
#ifndef AGENTJAIL_CLI_OPTIONS_H
#define AGENTJAIL_CLI_OPTIONS_H

#include <stdbool.h>
#include <stdio.h>

#include "jail.h"

enum cli_mode {
	CLI_MODE_ONCE,	 /* -Mo: run the command once, on the console */
	CLI_MODE_EXECVE, /* -Me: become the jail, without a supervising process */
	CLI_MODE_RERUN,	 /* -Mr: run it again and again */
	CLI_MODE_LISTEN, /* -Ml: one jail per TCP connection, stdio on the socket */
};

struct cli_opts {
	struct jail_config config;
	enum cli_mode mode;
	const char *profile; /* NAME or FILE; NULL = "default" */
	const char *seccomp_json;
	const char *report;
	const char *bindhost;
	unsigned port;
	unsigned max_conns; /* 0 = unlimited */
	int verbosity;	    /* -1 quiet, 0 normal, 1 verbose */
	bool help, version;
	char warnings[1024]; /* non-fatal remarks from parsing, one per line */
};

/* Parse argv (profile first, then the options over it). Returns 0, or
 * -errno with e naming the option and what was expected. */
int cli_parse(int argc, char **argv, struct cli_opts *o, struct jail_error *e);
void cli_opts_free(struct cli_opts *o);
void cli_usage(FILE *out);
/* agentjail doctor: returns the exit status. */
int cli_doctor(void);

/* "max", "hard", "def", "soft", "inf" or a number times unit. */
int cli_parse_rlimit(const char *s, uint64_t unit, struct jail_rlimit *ret);
/* "inside", "inside:outside" or "inside:outside:1". */
int cli_parse_idmap(const char *s, uint32_t *inside, uint32_t *outside);

#endif
