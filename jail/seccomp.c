/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Seccomp policies: allow-lists compiled once per profile with libseccomp in
 * the parent, exported as classic BPF, and loaded by the jail's child with
 * seccomp(2) right before execve (seccomp_filter_apply).
 *
 * Every policy is an allow-list whose default action is the violation
 * action, so syscalls this file does not name (including those added by
 * newer kernels) are refused. Rules that need care:
 *
 * - Only pure ALLOW rules go into the policy program. libseccomp 2.5.4
 *   silently folds an unconditional rule and a conditional rule for the same
 *   syscall into the unconditional one (both calls return 0), and refuses a
 *   rule whose action equals the default action (-EACCES). So "allow ioctl
 *   but deny TIOCSTI" cannot be one program: the policy allows ioctl and a
 *   second, tiny program (the guard) denies TIOCSTI and TIOCLINUX. The
 *   kernel runs both and keeps the stricter verdict.
 * - Arguments the kernel reads as int or unsigned int are compared on their
 *   low 32 bits only (masked), exactly as the kernel will read them: a
 *   64-bit equality could be bypassed (deny rules) or break callers that
 *   sign-extend (allow rules).
 * - Foreign ABIs: the programs list only the native architecture, so an
 *   i386 system call (int $0x80) takes the bad-arch action, and libseccomp
 *   sends x32 numbers (__X32_SYSCALL_BIT) on x86_64 there too. The bad-arch
 *   action is always kill-process, whatever the violation action: no jailed
 *   program has a reason to switch ABI, and a foreign ABI would otherwise
 *   reach system calls by numbers this policy never looked at.
 */
#include <fcntl.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "internal.h"
#include "seccomp.h"

/*
 * The default policy: what a normal glibc program, a shell, coreutils and
 * python3 need, never more than Docker's default profile allows a process
 * without capabilities on x86_64 (tests/unit/test_seccomp.c checks that
 * against a copy of Docker's profile). Syscalls marked (rule) are allowed
 * only with the argument rules in seccomp_add_policy_rule().
 *
 * Left out although Docker allows them (see docs/security.md):
 * adjtimex, clock_adjtime (clock tuning), cachestat (page-cache probing),
 * epoll_ctl_old, epoll_wait_old (not implemented), fanotify_mark (useless
 * without fanotify_init), get_robust_list (another task's futex list),
 * get_thread_area, set_thread_area (i386 TLS), memfd_secret,
 * modify_ldt (16-bit segments), name_to_handle_at (file handles),
 * process_mrelease (OOM killers), remap_file_pages (deprecated), ptrace,
 * process_vm_readv, process_vm_writev (other processes' memory).
 */
static const char *const seccomp_default_names[] = {
	/* files and directories */
	"access", "chdir", "chmod", "chown", "close", "close_range", "copy_file_range", "creat",
	"dup", "dup2", "dup3", "faccessat", "faccessat2", "fadvise64", "fallocate", "fchdir",
	"fchmod", "fchmodat", "fchmodat2", "fchown", "fchownat", "fcntl", "fdatasync", "flock",
	"fstat", "fstatfs", "fsync", "ftruncate", "futimesat", "getcwd", "getdents", "getdents64",
	"lchown", "link", "linkat", "lseek", "lstat", "mkdir", "mkdirat", "mknod", "mknodat",
	"newfstatat", "open", "openat", "openat2", "pread64", "preadv", "preadv2", "pwrite64",
	"pwritev", "pwritev2", "read", "readahead", "readlink", "readlinkat", "readv", "rename",
	"renameat", "renameat2", "rmdir", "sendfile", "splice", "stat", "statfs", "statx",
	"symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "tee", "truncate", "umask",
	"unlink", "unlinkat", "utime", "utimensat", "utimes", "vmsplice", "write", "writev",
	/* extended attributes */
	"fgetxattr", "flistxattr", "fremovexattr", "fsetxattr", "getxattr", "lgetxattr",
	"listxattr", "llistxattr", "lremovexattr", "lsetxattr", "removexattr", "setxattr",
	/* file events, Linux AIO */
	"inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel",
	"io_destroy", "io_getevents", "io_pgetevents", "io_setup", "io_submit",
	/* pipes, polling, event and timer fds */
	"epoll_create", "epoll_create1", "epoll_ctl", "epoll_pwait", "epoll_pwait2", "epoll_wait",
	"eventfd", "eventfd2", "pipe", "pipe2", "poll", "ppoll", "pselect6", "select", "signalfd",
	"signalfd4", "timerfd_create", "timerfd_gettime", "timerfd_settime",
	/* memory */
	"brk", "madvise", "map_shadow_stack", "membarrier", "memfd_create", "mincore", "mlock",
	"mlock2", "mlockall", "mmap", "mprotect", "mremap", "msync", "munlock", "munlockall",
	"munmap", "pkey_alloc", "pkey_free", "pkey_mprotect",
	/* time */
	"alarm", "clock_getres", "clock_gettime", "clock_nanosleep", "getitimer", "gettimeofday",
	"nanosleep", "setitimer", "time", "timer_create", "timer_delete", "timer_getoverrun",
	"timer_gettime", "timer_settime", "times",
	/* signals */
	"kill", "pause", "pidfd_open", "pidfd_send_signal", "restart_syscall", "rt_sigaction",
	"rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend",
	"rt_sigtimedwait", "rt_tgsigqueueinfo", "sigaltstack", "tgkill", "tkill",
	/* processes and threads; clone (rule) */
	"arch_prctl", "clone", "execve", "execveat", "exit", "exit_group", "fork", "futex",
	"futex_requeue", "futex_wait", "futex_waitv", "futex_wake", "getcpu", "rseq",
	"set_robust_list", "set_tid_address", "vfork", "wait4", "waitid",
	/* identity, limits, scheduling; personality (rule). Without capabilities
	 * the set* calls can only drop or shuffle the ids the process has. */
	"capget", "capset", "getegid", "geteuid", "getgid", "getgroups", "getpgid", "getpgrp",
	"getpid", "getppid", "getpriority", "getrandom", "getresgid", "getresuid", "getrlimit",
	"getrusage", "getsid", "gettid", "getuid", "ioprio_get", "ioprio_set", "personality",
	"prctl", "prlimit64", "sched_get_priority_max", "sched_get_priority_min",
	"sched_getaffinity", "sched_getattr", "sched_getparam", "sched_getscheduler",
	"sched_rr_get_interval", "sched_setaffinity", "sched_setattr", "sched_setparam",
	"sched_setscheduler", "sched_yield", "setfsgid", "setfsuid", "setgid", "setgroups",
	"setpgid", "setpriority", "setregid", "setresgid", "setresuid", "setreuid", "setrlimit",
	"setsid", "setuid", "sysinfo", "uname",
	/* a program may sandbox itself further */
	"landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "seccomp",
	/* devices: ioctl (guard program) */
	"ioctl",
	/* sockets: socket, socketpair (rule) */
	"accept", "accept4", "bind", "connect", "getpeername", "getsockname", "getsockopt",
	"listen", "recvfrom", "recvmmsg", "recvmsg", "sendmmsg", "sendmsg", "sendto", "setsockopt",
	"shutdown", "socket", "socketpair",
	/* System V and POSIX IPC, private to the jail's IPC namespace */
	"mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedsend", "mq_unlink",
	"msgctl", "msgget", "msgrcv", "msgsnd", "semctl", "semget", "semop", "semtimedop", "shmat",
	"shmctl", "shmdt", "shmget", NULL};

/*
 * The minimal policy, for plain computation: files, memory, time, signals,
 * processes, pipes and AF_UNIX sockets. Compared with the default: no
 * AF_INET/AF_INET6/AF_NETLINK sockets, no extended-attribute writes, no file
 * events, AIO, System V or POSIX IPC, no id or scheduler changes, no memory
 * locking or protection keys, no self-sandboxing, no vmsplice.
 */
static const char *const seccomp_minimal_names[] = {
	/* files and directories */
	"access", "chdir", "chmod", "chown", "close", "close_range", "copy_file_range", "creat",
	"dup", "dup2", "dup3", "faccessat", "faccessat2", "fadvise64", "fallocate", "fchdir",
	"fchmod", "fchmodat", "fchmodat2", "fchown", "fchownat", "fcntl", "fdatasync", "flock",
	"fstat", "fstatfs", "fsync", "ftruncate", "futimesat", "getcwd", "getdents", "getdents64",
	"lchown", "link", "linkat", "lseek", "lstat", "mkdir", "mkdirat", "mknod", "mknodat",
	"newfstatat", "open", "openat", "openat2", "pread64", "preadv", "preadv2", "pwrite64",
	"pwritev", "pwritev2", "read", "readlink", "readlinkat", "readv", "rename", "renameat",
	"renameat2", "rmdir", "sendfile", "splice", "stat", "statfs", "statx", "symlink",
	"symlinkat", "tee", "truncate", "umask", "unlink", "unlinkat", "utime", "utimensat",
	"utimes", "write", "writev",
	/* reading extended attributes (ls, cp look for ACLs) */
	"fgetxattr", "flistxattr", "getxattr", "lgetxattr", "listxattr", "llistxattr",
	/* pipes, polling, event and timer fds */
	"epoll_create", "epoll_create1", "epoll_ctl", "epoll_pwait", "epoll_pwait2", "epoll_wait",
	"eventfd", "eventfd2", "pipe", "pipe2", "poll", "ppoll", "pselect6", "select", "signalfd",
	"signalfd4", "timerfd_create", "timerfd_gettime", "timerfd_settime",
	/* memory */
	"brk", "madvise", "map_shadow_stack", "membarrier", "memfd_create", "mmap", "mprotect",
	"mremap", "msync", "munmap",
	/* time */
	"alarm", "clock_getres", "clock_gettime", "clock_nanosleep", "getitimer", "gettimeofday",
	"nanosleep", "setitimer", "time", "timer_create", "timer_delete", "timer_getoverrun",
	"timer_gettime", "timer_settime", "times",
	/* signals */
	"kill", "pause", "pidfd_open", "pidfd_send_signal", "restart_syscall", "rt_sigaction",
	"rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend",
	"rt_sigtimedwait", "rt_tgsigqueueinfo", "sigaltstack", "tgkill", "tkill",
	/* processes and threads; clone (rule) */
	"arch_prctl", "clone", "execve", "execveat", "exit", "exit_group", "fork", "futex",
	"futex_requeue", "futex_wait", "futex_waitv", "futex_wake", "getcpu", "rseq",
	"set_robust_list", "set_tid_address", "vfork", "wait4", "waitid",
	/* identity and limits, read mostly; personality (rule) */
	"capget", "getegid", "geteuid", "getgid", "getgroups", "getpgid", "getpgrp", "getpid",
	"getppid", "getpriority", "getrandom", "getresgid", "getresuid", "getrlimit", "getrusage",
	"getsid", "gettid", "getuid", "personality", "prctl", "prlimit64", "sched_get_priority_max",
	"sched_get_priority_min", "sched_getaffinity", "sched_getparam", "sched_getscheduler",
	"sched_yield", "setpgid", "setpriority", "setrlimit", "setsid", "sysinfo", "uname",
	/* devices: ioctl (guard program) */
	"ioctl",
	/* AF_UNIX sockets: socket, socketpair (rule) */
	"accept", "accept4", "bind", "connect", "getpeername", "getsockname", "getsockopt",
	"listen", "recvfrom", "recvmsg", "sendmsg", "sendto", "setsockopt", "shutdown", "socket",
	"socketpair", NULL};

static const char *const seccomp_empty_names[] = {NULL};

static const int seccomp_default_families[] = {AF_UNIX, AF_INET, AF_INET6, AF_NETLINK};
static const int seccomp_unix_only[] = {AF_UNIX};

struct seccomp_policy {
	const char *name; /* for messages */
	const char *const *names;
	const int *families; /* socket(2) domains; socketpair(2) is AF_UNIX only */
	size_t n_families;
};

static const struct seccomp_policy seccomp_policies[] = {
	[JAIL_SECCOMP_POLICY_DEFAULT] = {"default", seccomp_default_names, seccomp_default_families,
					 ARRAY_SIZE(seccomp_default_families)},
	[JAIL_SECCOMP_POLICY_MINIMAL] = {"minimal", seccomp_minimal_names, seccomp_unix_only,
					 ARRAY_SIZE(seccomp_unix_only)},
	[JAIL_SECCOMP_POLICY_EMPTY] = {"empty", seccomp_empty_names, NULL, 0},
};

/*
 * clone(2) flags that create namespaces. The low byte (CSIGNAL) is the exit
 * signal, not flags: CLONE_NEWTIME (0x80) lives there and only clone3 and
 * unshare accept it. The kernel reads the low 32 bits of the flags, and this
 * mask lies within them, so the upper half needs no check.
 */
#define SECCOMP_CLONE_NS_FLAGS                                                                     \
	(CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |             \
	 CLONE_NEWPID | CLONE_NEWNET)

/* Argument n compared as the kernel reads an int: its low 32 bits. */
#define SECCOMP_ARG32_EQ(n, v) SCMP_CMP((n), SCMP_CMP_MASKED_EQ, 0xffffffffu, (uint32_t)(v))

static const struct seccomp_policy *
seccomp_policy(enum jail_seccomp_policy p)
{
	switch (p) {
	case JAIL_SECCOMP_POLICY_DEFAULT:
	case JAIL_SECCOMP_POLICY_MINIMAL:
	case JAIL_SECCOMP_POLICY_EMPTY: return &seccomp_policies[p];
	}
	return NULL;
}

static int
seccomp_violation_action(enum jail_seccomp_action a, uint32_t *ret)
{
	switch (a) {
	case JAIL_SECCOMP_ACTION_ERRNO: *ret = SCMP_ACT_ERRNO(EPERM); return 0;
	case JAIL_SECCOMP_ACTION_KILL: *ret = SCMP_ACT_KILL_PROCESS; return 0;
	case JAIL_SECCOMP_ACTION_LOG: *ret = SCMP_ACT_LOG; return 0;
	}
	return -EINVAL;
}

static bool
seccomp_in(char *const *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], name) == 0)
			return true;
	return false;
}

static bool
seccomp_in_names(const char *const *names, const char *name)
{
	for (; *names; names++)
		if (strcmp(*names, name) == 0)
			return true;
	return false;
}

/* A syscall of the native architecture; pseudo-numbers (< 0) are other
 * architectures' names, such as socketcall on x86_64. */
static int
seccomp_resolve(const char *name)
{
	int nr = seccomp_syscall_resolve_name(name);
	return nr < 0 ? -EINVAL : nr;
}

/* Refuse unknown names, naming every one of them. */
static int
seccomp_check_names(const struct jail_seccomp *s, struct jail_error *e)
{
	char bad[JAIL_ERROR_MAX / 2] = "";
	size_t off = 0;

	for (int list = 0; list < 2; list++) {
		char *const *v = list ? s->deny : s->allow;
		size_t n = list ? s->n_deny : s->n_allow;
		for (size_t i = 0; i < n; i++) {
			if (seccomp_resolve(v[i]) >= 0)
				continue;
			int k = snprintf(bad + off, sizeof(bad) - off, "%s'%.64s' (%s list)",
					 off ? ", " : "", v[i], list ? "deny" : "allow");
			if (k > 0)
				off = (size_t)k < sizeof(bad) - off ? off + (size_t)k
								    : sizeof(bad) - 1;
		}
	}
	if (off)
		return jerr_plain(e, EINVAL,
				  "seccomp: unknown syscall %s (expected syscall names of this "
				  "architecture, e.g. 'openat')",
				  bad);
	return 0;
}

/* The policy's rule for one syscall it allows. */
static int
seccomp_add_policy_rule(scmp_filter_ctx ctx, const struct seccomp_policy *p, int nr)
{
	int r;

	if (nr == SCMP_SYS(clone))
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
					SCMP_A0(SCMP_CMP_MASKED_EQ, SECCOMP_CLONE_NS_FLAGS, 0));
	if (nr == SCMP_SYS(personality)) {
		/* Only the default persona and the query: READ_IMPLIES_EXEC,
		 * ADDR_NO_RANDOMIZE and friends weaken the process. */
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, SECCOMP_ARG32_EQ(0, PER_LINUX));
		if (r == 0)
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
					     SECCOMP_ARG32_EQ(0, 0xffffffffu));
		return r;
	}
	if (nr == SCMP_SYS(socket)) {
		for (size_t i = 0; i < p->n_families; i++) {
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
					     SECCOMP_ARG32_EQ(0, p->families[i]));
			if (r < 0)
				return r;
		}
		return 0;
	}
	if (nr == SCMP_SYS(socketpair))
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, SECCOMP_ARG32_EQ(0, AF_UNIX));
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
}

static int
seccomp_ctx_new(uint32_t def_action, scmp_filter_ctx *ret, struct jail_error *e)
{
	scmp_filter_ctx ctx = seccomp_init(def_action);
	int r;

	if (!ctx)
		return jerr(e, ENOMEM, "seccomp: create filter");
	/* Foreign ABIs: see the top of this file. */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (r < 0) {
		seccomp_release(ctx);
		return jerr(e, -r, "seccomp: set the bad-architecture action");
	}
	/* A binary tree of syscall numbers instead of a linear chain: a few
	 * more instructions, about log2(n) comparisons per syscall, and an
	 * attach about 2.5 times faster (docs/security.md). */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if (r < 0) {
		seccomp_release(ctx);
		return jerr(e, -r, "seccomp: ask libseccomp for a binary tree");
	}
	*ret = ctx;
	return 0;
}

/* Export ctx as classic BPF into prog. libseccomp 2.5 writes the program to
 * an fd only, so it goes through a memfd. */
static int
seccomp_export(scmp_filter_ctx ctx, struct seccomp_prog *prog, struct jail_error *e)
{
	_cleanup_close_ int fd = memfd_create("agentjail-seccomp", MFD_CLOEXEC);
	if (fd < 0)
		return jerr(e, errno, "seccomp: memfd_create");
	int r = seccomp_export_bpf(ctx, fd);
	if (r < 0)
		return jerr(e, -r, "seccomp: export BPF");
	off_t size = lseek(fd, 0, SEEK_END);
	if (size < 0)
		return jerr(e, errno, "seccomp: exported program size");
	if (size == 0 || size % (off_t)sizeof(struct sock_filter) ||
	    size / (off_t)sizeof(struct sock_filter) > BPF_MAXINSNS)
		return jerr_plain(e, E2BIG,
				  "seccomp: exported program of %lld bytes: expected 1 to %d "
				  "instructions",
				  (long long)size, BPF_MAXINSNS);
	_cleanup_free_ struct sock_filter *insns = malloc((size_t)size);
	if (!insns)
		return jerr(e, ENOMEM, "seccomp: exported program");
	ssize_t n = pread(fd, insns, (size_t)size, 0);
	if (n != size)
		return jerr(e, n < 0 ? errno : EIO, "seccomp: read exported program");
	prog->flags = 0;
	prog->len = (unsigned short)(size / (off_t)sizeof(struct sock_filter));
	prog->insns = TAKE_PTR(insns);
	return 0;
}

/* The guard: everything allowed but TIOCSTI (push bytes into a terminal's
 * input) and TIOCLINUX (console selection, which can paste too). The kernel
 * truncates ioctl's cmd to 32 bits, so the compare masks the upper half:
 * TIOCSTI | 1ull << 32 is TIOCSTI to the kernel. */
static int
seccomp_build_guard(uint32_t act, struct seccomp_prog *prog, struct jail_error *e)
{
	static const unsigned long cmds[] = {TIOCSTI, TIOCLINUX};
	scmp_filter_ctx ctx;
	int r = seccomp_ctx_new(SCMP_ACT_ALLOW, &ctx, e);

	if (r < 0)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(cmds) && r == 0; i++)
		r = seccomp_rule_add(ctx, act, SCMP_SYS(ioctl), 1, SECCOMP_ARG32_EQ(1, cmds[i]));
	if (r < 0)
		r = jerr(e, -r, "seccomp: ioctl guard: add rule");
	else
		r = seccomp_export(ctx, prog, e);
	seccomp_release(ctx);
	return r;
}

static int
seccomp_build_policy(const struct jail_seccomp *s, const struct seccomp_policy *p, uint32_t act,
		     struct seccomp_prog *prog, struct jail_error *e)
{
	scmp_filter_ctx ctx;
	int r = seccomp_ctx_new(act, &ctx, e);

	if (r < 0)
		return r;
	/* The policy's own rules, except for names in the custom lists: deny
	 * wins over everything, and allow replaces argument rules with an
	 * unconditional allow. */
	for (const char *const *n = p->names; *n && r == 0; n++) {
		if (seccomp_in(s->deny, s->n_deny, *n) || seccomp_in(s->allow, s->n_allow, *n))
			continue;
		int nr = seccomp_resolve(*n);
		r = nr < 0 ? nr : seccomp_add_policy_rule(ctx, p, nr);
		if (r < 0)
			r = jerr(e, -r, "seccomp policy '%s': rule for %s", p->name, *n);
	}
	for (size_t i = 0; i < s->n_allow && r == 0; i++) {
		if (seccomp_in(s->deny, s->n_deny, s->allow[i]))
			continue;
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, seccomp_resolve(s->allow[i]), 0);
		if (r < 0)
			r = jerr(e, -r, "seccomp: allow %s", s->allow[i]);
	}
	/* clone3 passes its flags in memory that seccomp cannot read, so it
	 * cannot be limited like clone. ENOSYS makes glibc (pthread_create,
	 * posix_spawn, fork) fall back to clone; EPERM would be final. */
	if (r == 0 && !seccomp_in(s->deny, s->n_deny, "clone3") &&
	    !seccomp_in(s->allow, s->n_allow, "clone3")) {
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
		if (r < 0)
			r = jerr(e, -r, "seccomp: rule for clone3");
	}
	if (r == 0)
		r = seccomp_export(ctx, prog, e);
	seccomp_release(ctx);
	return r;
}

int
jail_filter_build(const struct jail_seccomp *s, struct jail_filter **ret, struct jail_error *e)
{
	const struct seccomp_policy *p = seccomp_policy(s->policy);
	uint32_t act;
	int r;

	if (!p)
		return jerr_plain(e, EINVAL, "seccomp: unknown policy %d", (int)s->policy);
	if (seccomp_violation_action(s->action, &act) < 0)
		return jerr_plain(e, EINVAL, "seccomp: unknown action %d", (int)s->action);
	r = seccomp_check_names(s, e);
	if (r < 0)
		return r;
	if (s->disabled_for_tests) {
		*ret = NULL;
		return 0;
	}

	struct jail_filter *f = calloc(1, sizeof(*f));
	if (!f)
		return jerr(e, ENOMEM, "seccomp: filter");
	/* The guard goes first: the policy may deny seccomp(2) itself. */
	if (seccomp_in_names(p->names, "ioctl") && !seccomp_in(s->deny, s->n_deny, "ioctl") &&
	    !seccomp_in(s->allow, s->n_allow, "ioctl")) {
		r = seccomp_build_guard(act, &f->progs[f->n_progs], e);
		if (r < 0)
			goto fail;
		f->n_progs++;
	}
	r = seccomp_build_policy(s, p, act, &f->progs[f->n_progs], e);
	if (r < 0)
		goto fail;
	f->n_progs++;
	*ret = f;
	return 0;
fail:
	jail_filter_free(f);
	return r;
}

void
jail_filter_free(struct jail_filter *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n_progs; i++)
		free(f->progs[i].insns);
	free(f);
}

size_t
jail_filter_len(const struct jail_filter *f)
{
	size_t n = 0;

	for (size_t i = 0; f && i < f->n_progs; i++)
		n += f->progs[i].len;
	return n;
}

int
seccomp_filter_apply(const struct jail_filter *f)
{
	for (size_t i = 0; f && i < f->n_progs; i++) {
		struct sock_fprog prog = {
			.len = f->progs[i].len,
			.filter = f->progs[i].insns,
		};
		if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, f->progs[i].flags, &prog) < 0)
			return -errno;
	}
	return 0;
}

int
jail_seccomp_policy_allows(enum jail_seccomp_policy p, const char *name)
{
	const struct seccomp_policy *pol = seccomp_policy(p);

	if (!pol || !name || seccomp_resolve(name) < 0)
		return -EINVAL;
	return seccomp_in_names(pol->names, name);
}

const char *const *
jail_seccomp_policy_names(enum jail_seccomp_policy p)
{
	const struct seccomp_policy *pol = seccomp_policy(p);

	return pol ? pol->names : NULL;
}

/* The filter as a sealed memfd, for a worker to load in each command it
 * starts (format: supervisor/proto.h). Sealed: nobody can change what was
 * handed over. */
int
jail_filter_memfd(const struct jail_filter *f, struct jail_error *e)
{
	const uint32_t magic = 0x4c464a41u; /* "AJFL", AJW_FILTER_MAGIC */
	_cleanup_close_ int fd = memfd_create("agentjail-filter", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	uint32_t hdr[2] = {magic, f ? (uint32_t)f->n_progs : 0};

	if (fd < 0)
		return jerr(e, errno, "seccomp: memfd_create");
	if (write(fd, hdr, sizeof(hdr)) != (ssize_t)sizeof(hdr))
		return jerr(e, errno ? errno : EIO, "seccomp: write filter memfd");
	for (size_t i = 0; f && i < f->n_progs; i++) {
		uint32_t ph[2] = {f->progs[i].len, f->progs[i].flags};
		size_t size = f->progs[i].len * sizeof(struct sock_filter);
		if (write(fd, ph, sizeof(ph)) != (ssize_t)sizeof(ph) ||
		    write(fd, f->progs[i].insns, size) != (ssize_t)size)
			return jerr(e, errno ? errno : EIO, "seccomp: write filter memfd");
	}
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
		return jerr(e, errno, "seccomp: seal filter memfd");
	return TAKE_FD(fd);
}
