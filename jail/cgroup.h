/* SPDX-License-Identifier: Apache-2.0 */
#ifndef AGENTJAIL_CGROUP_H
#define AGENTJAIL_CGROUP_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "jail.h"

/* One jail's cgroup. */
struct cgroup {
	char path[PATH_MAX];
	int dirfd; /* for CLONE_INTO_CGROUP and the *at() calls; -1 if none */
};

#define CGROUP_NONE ((struct cgroup){.dirfd = -1})

/*
 * The backends, behind one set of operations: "v2" (a writable cgroup v2
 * hierarchy, enforcing whatever controllers it has — possibly none, which
 * still gives cgroup.kill, cgroup.events, cgroup.freeze and cpu.stat) and
 * "none" (no usable cgroup v2: the pid namespace and the jail's host uid
 * are all there is).
 */
struct cgroup_ops {
	const char *name;
	int (*create)(uint32_t id, const struct jail_cgroup_limits *l, struct cgroup *ret,
		      struct jail_error *e);
	/* Lower a live cgroup's memory/pids/cpu limits; -EOPNOTSUPP if the
	 * host cannot enforce one of them. */
	int (*narrow)(struct cgroup *cg, const struct jail_cgroup_limits *l, struct jail_error *e);
	void (*kill)(struct cgroup *cg);
	/* Read the accounting into res (fields it cannot measure stay 0). */
	void (*stats)(struct cgroup *cg, struct jail_result *res);
	/* Kill what is left, wait until empty, remove. */
	int (*destroy)(struct cgroup *cg, struct jail_error *e);
};

/* Remove the cgroups of jails that are gone without removing theirs (their
 * program was killed): every "jail-N" under the base whose id live() says
 * is no longer leased, killing what still runs in it. removed(), if given,
 * hears each one's path. Returns how many were removed. */
int cgroup_sweep(bool (*live)(uint32_t id, void *arg), void *arg,
		 void (*removed)(const char *path, void *arg));

/* The backend for this host (discovered on first use). */
const struct cgroup_ops *cgroup_backend(void);
/* JAIL_CGROUP_* controllers that limits can be enforced with. */
unsigned cgroup_enforceable(void);

#endif
