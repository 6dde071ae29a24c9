/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The jail's side of clone: build the jail, then become its PID 1.
 *
 * Between clone and exec this code makes system calls and nothing else: no
 * stdio, no logging, no allocation (the parent prepared every string). A
 * step that fails is sent to the parent as {step, object, errno} and the
 * process exits: the command never runs in a half-built jail.
 *
 * Order matters:
 *  1. signals blocked and reset, stdio in place, every other fd closed;
 *  2. (network namespace) a netlink socket made here and handed to the
 *     parent, which brings lo up; the parent also writes the uid/gid maps;
 *  3. on the parent's go: supplementary groups cleared, gid and uid set to
 *     the jail's (capabilities kept across the change so that the jail is
 *     built by, and its files owned by, its final uid);
 *  4. the mount plan, hostname, rlimits, working directory;
 *  5. every capability dropped, securebits locked, no_new_privs;
 *  6. PID 1: not dumpable, a new session, subreaper; fork the command,
 *     which loads the seccomp filter as its last step and execs.
 * PID 1 then reaps every child, forwards signals to the command, and when
 * the command ends it kills whatever is left and reports the status.
 */
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/close_range.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "caps.h"
#include "child.h"
#include "internal.h"
#include "net.h"
#include "seccomp.h"

static void
copy_str(char *dst, size_t size, const char *src)
{
	size_t n = src ? strnlen(src, size - 1) : 0;

	if (n)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

static void
report(const struct child_ctx *x, const char *step, int err, const char *object)
{
	struct jail_msg m = {.type = MSG_ERROR, .err = err};

	copy_str(m.step, sizeof(m.step), step);
	copy_str(m.object, sizeof(m.object), object);
	if (x->sync_fd >= 0) {
		/* The parent may be gone; nothing else to tell then. */
		(void)!send(x->sync_fd, &m, sizeof(m), MSG_NOSIGNAL);
	} else {
		/* Exec mode: no parent to relay through; this process is the
		 * front end, so its stderr is the user's. */
		dprintf(STDERR_FILENO, "agentjail: %s%s%s: %s\n", m.step, m.object[0] ? " " : "",
			m.object, strerror(err));
	}
}

static __attribute__((noreturn)) void
fail(const struct child_ctx *x, const char *step, int err, const char *object)
{
	report(x, step, err, object);
	_exit(CHILD_EXIT_SETUP);
}

static __attribute__((noreturn)) void
fail_id(const struct child_ctx *x, const char *step, int err, unsigned id)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%u", id);
	fail(x, step, err, buf);
}

/* Close every fd but stdio and those in keep (sorted, all >= 3). */
static int
close_others(const int *keep, int n)
{
	unsigned from = 3;

	for (int i = 0; i < n; i++) {
		if (keep[i] < 3 || (unsigned)keep[i] < from)
			continue;
		if ((unsigned)keep[i] > from &&
		    syscall(SYS_close_range, from, (unsigned)keep[i] - 1, 0) < 0)
			return -errno;
		from = (unsigned)keep[i] + 1;
	}
	if (syscall(SYS_close_range, from, ~0u, 0) < 0)
		return -errno;
	return 0;
}

int
child_send_fd(int sock, int fd)
{
	struct jail_msg m = {.type = MSG_NETLINK};
	struct iovec iov = {.iov_base = &m, .iov_len = sizeof(m)};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = u.buf,
		.msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

	memset(&u, 0, sizeof(u));
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &mh, MSG_NOSIGNAL) == (ssize_t)sizeof(m) ? 0 : -errno;
}

/* execvp's search, but with the jail's PATH and environment, and a stack
 * buffer. Returns the errno to report. */
static int
exec_search(const struct child_ctx *x)
{
	char *const *argv = x->c->argv;
	const char *name = argv[0];
	char buf[PATH_MAX];
	bool eacces = false;

	if (strchr(name, '/')) {
		execve(name, argv, x->envp);
		return errno;
	}
	const char *path = x->path ? x->path : JAIL_DEFAULT_PATH;
	size_t nlen = strlen(name);
	for (const char *p = path;; p++) {
		const char *end = strchrnul(p, ':');
		size_t dlen = (size_t)(end - p);
		if (dlen == 0) {
			/* An empty element means the current directory. */
			p = ".";
			dlen = 1;
		}
		if (dlen + 1 + nlen < sizeof(buf)) {
			memcpy(buf, p, dlen);
			buf[dlen] = '/';
			memcpy(buf + dlen + 1, name, nlen + 1);
			execve(buf, argv, x->envp);
			switch (errno) {
			case EACCES: eacces = true; break;
			case ENOENT:
			case ENOTDIR:
			case ESTALE:
			case ENODEV:
			case ETIMEDOUT:
			case ELOOP:
			case ENAMETOOLONG: break;
			default: return errno; /* found, but it cannot be run */
			}
		}
		if (*end == '\0')
			break;
		p = end;
	}
	return eacces ? EACCES : ENOENT;
}

static __attribute__((noreturn)) void
exec_command(const struct child_ctx *x)
{
	sigset_t none;
	int r;

	if (x->alarm_s)
		alarm(x->alarm_s); /* survives execve: exec mode's time limit */
	/* At the memory limit the kernel kills the command, not PID 1 (only
	 * raising the score is allowed unprivileged; no /proc, no matter).
	 * PID 1's non-dumpable flag, inherited, makes /proc/self root's: this
	 * process may be dumpable again (execve decides anew anyway), nothing
	 * else runs in the jail yet. */
	if (!x->exec_direct)
		prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	int oom = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (oom >= 0) {
		(void)!write(oom, "1000", 4);
		close(oom);
	}
	/* The filter goes on last: from here on only the command's own
	 * system calls are made, and they are what it is meant to limit. */
	r = seccomp_filter_apply(x->filter);
	if (r < 0)
		fail(x, "seccomp", -r, "load filter");
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	r = exec_search(x);
	report(x, "exec", r, x->c->argv[0]);
	_exit(r == ENOENT ? JAIL_EXIT_NOTFOUND : JAIL_EXIT_NOEXEC);
}

/*
 * Worker mode: the jail's PID 1 is the worker program itself. Its
 * descriptors go to fixed numbers (moved out of the way first, so that no
 * dup2 overwrites a source), its own filter goes on last, and it is
 * execveat'ed from an fd opened outside the jail. The sync socket closes on
 * exec: EOF tells the parent it worked.
 */
static __attribute__((noreturn)) void
exec_worker(struct child_ctx *x)
{
	int high[3];
	int r;

	int sync = fcntl(x->sync_fd, F_DUPFD_CLOEXEC, 64);
	if (sync < 0)
		fail(x, "fcntl", errno, "sync socket");
	x->sync_fd = sync;
	int exe = fcntl(x->worker_exe_fd, F_DUPFD_CLOEXEC, 64);
	if (exe < 0)
		fail(x, "fcntl", errno, "worker program");
	for (int i = 0; i < 3; i++) {
		high[i] = x->worker_fds[i] >= 0 ? fcntl(x->worker_fds[i], F_DUPFD_CLOEXEC, 64) : -1;
		if (x->worker_fds[i] >= 0 && high[i] < 0)
			fail(x, "fcntl", errno, "worker descriptor");
	}
	for (int i = 0; i < 3; i++) {
		if (high[i] >= 0) {
			if (dup2(high[i], 3 + i) < 0)
				fail(x, "dup2", errno, "worker descriptor");
		} else {
			close(3 + i);
		}
	}
	if (setsid() < 0)
		fail(x, "setsid", errno, NULL);
	struct jail_msg ready = {.type = MSG_READY};
	if (send(x->sync_fd, &ready, sizeof(ready), MSG_NOSIGNAL) != (ssize_t)sizeof(ready))
		_exit(CHILD_EXIT_SETUP);
	r = seccomp_filter_apply(x->worker_filter);
	if (r < 0)
		fail(x, "seccomp", -r, "load the worker's filter");
	char *const argv[] = {"agentjail-worker", NULL};
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	syscall(SYS_execveat, exe, "", argv, x->envp, AT_EMPTY_PATH);
	fail(x, "exec", errno, "the worker program");
}

static __attribute__((noreturn)) void
pid1_finish(const struct child_ctx *x, int status)
{
	struct jail_msg m = {.type = MSG_EXIT, .status = status};

	/* Whatever the command left behind goes with it: in the jail's pid
	 * namespace that is everything else; without one, every process of
	 * the jail's host uid, which is this jail's alone. */
	kill(-1, SIGKILL);
	(void)!send(x->sync_fd, &m, sizeof(m), MSG_NOSIGNAL);
	_exit(0);
}

static __attribute__((noreturn)) void
pid1_loop(const struct child_ctx *x, pid_t cmd, const sigset_t *all)
{
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(all, &si);

		if (sig < 0)
			continue;
		if (sig != SIGCHLD) {
			kill(cmd, sig);
			continue;
		}
		for (;;) {
			int status;
			pid_t p = waitpid(-1, &status, WNOHANG);
			if (p <= 0)
				break;
			if (p == cmd)
				pid1_finish(x, status);
		}
	}
}

void
child_main(const struct child_ctx *ctx)
{
	struct child_ctx copy = *ctx; /* worker mode moves descriptors */
	struct child_ctx *x = &copy;
	const struct jail_config *c = x->c;
	sigset_t all;
	int r;

	/* Signals stay blocked until the exec (PID 1 takes them with
	 * sigwaitinfo); the front end's handlers must not run in here. */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	for (int s = 1; s < NSIG; s++) {
		struct sigaction sa = {.sa_handler = SIG_DFL};
		if (s != SIGKILL && s != SIGSTOP)
			sigaction(s, &sa, NULL);
	}

	for (int i = 0; i < 3; i++)
		if (x->stdio[i] >= 0 && x->stdio[i] != i && dup2(x->stdio[i], i) < 0)
			fail(x, "dup2", errno, "stdio");
	int keep[6] = {x->sync_fd,	 x->worker_exe_fd, x->worker_fds[0],
		       x->worker_fds[1], x->worker_fds[2], -1};
	int nkeep = 5;
	/* close_others wants them sorted. */
	for (int i = 1; i < nkeep; i++)
		for (int k = i; k > 0 && keep[k] < keep[k - 1]; k--) {
			int t = keep[k];
			keep[k] = keep[k - 1];
			keep[k - 1] = t;
		}
	r = close_others(keep, nkeep);
	if (r < 0)
		fail(x, "close_range", -r, NULL);
	/* The uid lease fd was closed above unless it is listed; it is not
	 * needed: the parent keeps its own copy for as long as the jail
	 * lives, and PR_SET_PDEATHSIG ties the jail to the parent. */

	if (x->netns) {
		int fd = net_child_socket();
		if (fd < 0)
			fail(x, "socket", -fd, "netlink");
		r = child_send_fd(x->sync_fd, fd);
		if (r < 0)
			_exit(CHILD_EXIT_SETUP);
		close(fd);
	}
	if (x->sync_fd >= 0) {
		struct jail_msg m;
		if (recv(x->sync_fd, &m, sizeof(m), 0) != (ssize_t)sizeof(m) || m.type != MSG_GO)
			_exit(CHILD_EXIT_SETUP); /* the parent gave up */
	}

	r = caps_keep_across_setuid();
	if (r < 0)
		fail(x, "securebits", -r, "keep capabilities across setuid");
	if (setgroups(0, NULL) < 0)
		fail(x, "setgroups", errno, "clear supplementary groups");
	if (setresgid(x->run_gid, x->run_gid, x->run_gid) < 0)
		fail_id(x, "setresgid", errno, x->run_gid);
	if (setresuid(x->run_uid, x->run_uid, x->run_uid) < 0)
		fail_id(x, "setresuid", errno, x->run_uid);
	/* Credential changes clear the parent-death signal: set it after. */
	if (!x->exec_direct && prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		fail(x, "prctl", errno, "PR_SET_PDEATHSIG");

	if (x->plan) {
		size_t i = 0;
		r = mount_plan_apply(x->plan, &i);
		if (r < 0) {
			if (i == (size_t)-1)
				fail(x, "mount", -r, "/ (make private)");
			fail(x, mount_op_step(x->plan->ops[i].kind), -r, x->plan->ops[i].what);
		}
	}
	if (x->hostname && sethostname(x->hostname, strlen(x->hostname)) < 0)
		fail(x, "sethostname", errno, x->hostname);
	for (int i = 0; i < x->n_rlimits; i++)
		if (setrlimit(x->rlimits[i].resource, &x->rlimits[i].rl) < 0)
			fail(x, "setrlimit", errno, NULL);
	if (x->cwd && chdir(x->cwd) < 0)
		fail(x, "chdir", errno, x->cwd);

	r = caps_drop_all();
	if (r < 0)
		fail(x, "drop capabilities", -r, NULL);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		fail(x, "prctl", errno, "PR_SET_NO_NEW_PRIVS");

	if (x->exec_direct)
		exec_command(x);
	if (x->worker_exe_fd >= 0)
		exec_worker(x);

	/* PID 1 runs no untrusted code but shares the jail's uid: not
	 * dumpable, so that jailed code can neither ptrace it nor read its
	 * memory (it has no filter of its own to escape into). */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		fail(x, "prctl", errno, "PR_SET_DUMPABLE");
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		fail(x, "prctl", errno, "PR_SET_CHILD_SUBREAPER");
	if (setsid() < 0)
		fail(x, "setsid", errno, NULL);

	struct jail_msg ready = {.type = MSG_READY};
	if (send(x->sync_fd, &ready, sizeof(ready), MSG_NOSIGNAL) != (ssize_t)sizeof(ready))
		_exit(CHILD_EXIT_SETUP);

	pid_t cmd = fork();
	if (cmd < 0)
		fail(x, "fork", errno, c->argv[0]);
	if (cmd == 0)
		exec_command(x);

	/* PID 1 keeps no stdio: the command's streams end with the command. */
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int i = 0; i < 3; i++) {
		if (devnull >= 0)
			dup3(devnull, i, O_CLOEXEC);
		else
			close(i);
	}
	if (devnull > 2)
		close(devnull);
	pid1_loop(x, cmd, &all);
}
