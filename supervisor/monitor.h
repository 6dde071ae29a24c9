/* SPDX-License-Identifier: Apache-2.0 */
#ifndef AGENTJAIL_MONITOR_H
#define AGENTJAIL_MONITOR_H

#include <stddef.h>
#include <sys/types.h>

#include "config.h"
#include "jail.h"

/* A profile as the monitor holds it: the config, compiled once. */
struct mprofile {
	char name[72];
	char origin[256]; /* file it came from, or builtin:NAME */
	struct jail_config config;
	uint64_t exec_timeout_max_ms; /* the profile's time limit: the cap of an exec's timeout */
	uint64_t fingerprint;	      /* of the profile's text: warm jails of a changed one go */
	struct jail_filter *filter;   /* for commands */
	struct jail_filter *worker_filter; /* for the worker: the profile's plus its own needs */
};

struct mprofiles {
	struct mprofile *v;
	size_t n;
};

/* Load every *.json of dir (a missing dir: none) plus the built-in
 * profiles not overridden there. */
int mprofiles_load(struct mprofiles *ret, const char *dir, struct jail_error *e);
void mprofiles_free(struct mprofiles *p);
const struct mprofile *mprofiles_find(const struct mprofiles *p, const char *name);
/* The public description served by GET /v1/profiles (a JSON array). */
char *mprofiles_json(const struct mprofiles *p);

/* Run the monitor until SIGTERM/SIGINT or the HTTP process's end. Owns the
 * listeners' paths (removed at exit), the profiles and every jail. */
/* How SIGHUP rereads the configuration (the file, then the command line's
 * overrides, validated): main.c's. */
typedef int monitor_reload_fn(struct ajd_config *c, struct jail_error *e);
int monitor_run(const struct ajd_config *cfg, struct mprofiles *profiles, int priv_sock,
		pid_t http_pid, int worker_exe, const char *profiles_dir,
		monitor_reload_fn *reload_config);

#endif
