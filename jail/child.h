/* SPDX-License-Identifier: Apache-2.0 */
#ifndef AGENTJAIL_CHILD_H
#define AGENTJAIL_CHILD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>

#include "jail.h"
#include "mount.h"

/*
 * Messages between the child and the parent, over a SOCK_SEQPACKET socket
 * pair (one message per datagram, fixed size). The parent treats every
 * message as untrusted input: the type is checked and the strings are
 * terminated before use.
 */
enum jail_msg_type {
	MSG_NETLINK = 1, /* child → parent: a netlink socket of the jail's netns (SCM_RIGHTS) */
	MSG_GO,		 /* parent → child: uid map written, network up; build the jail */
	MSG_READY,	 /* child → parent: the jail is built, the command starts */
	MSG_ERROR,	 /* child → parent: a setup step failed: step, object, err */
	MSG_EXIT,	 /* PID 1 → parent: the command ended with wait status `status` */
};

struct jail_msg {
	uint32_t type;
	int32_t err;
	int32_t status;
	uint32_t reserved;
	char step[32];
	char object[464];
};

/* Everything the child needs, prepared by the parent before clone. */
struct child_ctx {
	const struct jail_config *c;
	const struct mount_plan *plan;	  /* NULL without a mount namespace */
	const struct jail_filter *filter; /* NULL = none (tests only) */
	int sync_fd;			  /* to the parent; -1 in exec mode (errors to stderr) */
	int stdio[3];
	uint32_t run_uid, run_gid; /* the ids as the jail sees them */
	bool userns, netns, utsns, pidns;
	bool exec_direct; /* no PID 1 of ours: exec the command in place (-Me) */
	/* Worker mode (a session jail): PID 1 is the worker program. */
	int worker_exe_fd; /* -1: not a worker jail */
	int worker_fds[3]; /* to become fds 3, 4, 5 (socket, cgroup, filter); -1: none */
	const struct jail_filter *worker_filter;
	unsigned alarm_s; /* exec mode's time limit */
	char *const *envp;
	const char *path;     /* PATH to search the command in */
	const char *cwd;      /* NULL: stay where we are */
	const char *hostname; /* NULL: leave */
	struct {
		int resource;
		struct rlimit rl;
	} rlimits[JAIL_RL_COUNT];
	int n_rlimits;
};

/* Send fd over the sync socket as MSG_NETLINK. */
int child_send_fd(int sock, int fd);

/* Runs in the new process after clone; never returns. */
__attribute__((noreturn)) void child_main(const struct child_ctx *x);

/* Status PID 1 exits with when setup fails (after reporting the step). */
#define CHILD_EXIT_SETUP 255

#endif
