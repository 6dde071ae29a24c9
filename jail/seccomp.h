/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal: a compiled seccomp policy and how the jail's child loads it.
 *
 * jail_filter_build() (jail.h) compiles a policy once, in the parent, with
 * libseccomp and exports it as classic BPF. The child loads the exported
 * programs with seccomp(2) as its last step before execve: no allocation,
 * no libseccomp, only system calls.
 */
#ifndef AGENTJAIL_SECCOMP_H
#define AGENTJAIL_SECCOMP_H

#include <linux/filter.h>

#include "jail.h"

/* One exported classic-BPF program, ready for seccomp(2). */
struct seccomp_prog {
	unsigned int flags; /* SECCOMP_FILTER_FLAG_* for seccomp(2); 0 today */
	unsigned short len; /* instructions in insns, 1..BPF_MAXINSNS */
	struct sock_filter *insns;
};

/*
 * A compiled policy: up to two programs, loaded in array order.
 *
 *   progs[0]  the ioctl guard, when the policy allows ioctl: default ALLOW,
 *             the violation action for TIOCSTI and TIOCLINUX (compared on
 *             the low 32 bits of the command, as the kernel reads it);
 *   last      the policy itself: an allow-list whose default is the
 *             violation action.
 *
 * The kernel runs every attached program for every system call and takes
 * the most restrictive verdict, so the guard can deny inside an allowed
 * ioctl, which one libseccomp program cannot express (see seccomp.c).
 */
#define SECCOMP_MAX_PROGS 2

struct jail_filter {
	size_t n_progs;
	struct seccomp_prog progs[SECCOMP_MAX_PROGS];
};

/*
 * Load f into the calling thread with seccomp(SECCOMP_SET_MODE_FILTER).
 * The caller has set PR_SET_NO_NEW_PRIVS. Async-signal-safe: no allocation,
 * no library state; meant for a freshly cloned child right before execve.
 * f == NULL loads nothing (the test-only switch). Returns 0 or -errno; on
 * failure some programs may already be loaded, so the caller must not go
 * on to exec.
 */
int seccomp_filter_apply(const struct jail_filter *f);

#endif
