/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Commands: EXEC, STDIN, SIGNAL, CANCEL.
 *
 * Each exec is a child forked by the worker (a plain fork: the worker's own
 * filter allows clone without namespace flags, not clone3), which before its
 * execve, making system calls and nothing else:
 *   1. moves itself into the exec's own cgroup below the jail's, so that all
 *      it ever forks is there, setsid or double fork notwithstanding;
 *   2. starts a session (the exec's handle when there are no cgroups);
 *   3. changes to its directory (a relative one is the workspace's);
 *   4. puts its pipes at 0-2 and closes every other descriptor, the
 *      protocol socket above all;
 *   5. sets oom_score_adj to 1000, so that the OOM killer takes commands
 *      rather than the worker;
 *   6. restores the signal mask and SIGPIPE;
 *   7. loads the profile's seccomp programs, last, so that they judge only
 *      the command's own system calls;
 *   8. execve's, searching the exec's PATH.
 * A failing step writes {errno, step} to a close-on-exec pipe, which
 * otherwise just closes at the execve: the worker reads it from its loop, so
 * a slow or stopped child (jailed code may SIGSTOP it: same uid) never
 * blocks it.
 *
 * The end of an exec: its main process has exited (reaped here: the worker
 * reaps every child) and its output pipes are at EOF, or 200 ms have passed
 * since the exit with a pipe still open (a background process holds it).
 * Then whatever is left of it is killed (cgroup.kill; without cgroups its
 * session), the worker waits (at most 2 s) for the cgroup to empty, reads
 * what the killed processes had written, the cgroup's cpu.stat, memory.peak
 * and memory.events, removes the cgroup and sends EXIT. A deadline, CANCEL
 * or output past the hard cap kill the same way earlier. An exec's
 * processes never outlive it.
 *
 * An agent (AJW_EXEC_AGENT) is an exec without a deadline or output limits,
 * one at a time: its output is bounded in the worker by backpressure alone
 * (read_output stops reading while the reply queue is full).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/seccomp.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>

#include "worker.h"

#define DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"
#define GRACE_MS     200  /* pipes held open after the main process exited */
#define KILL_WAIT_MS 2000 /* for a killed exec's cgroup to empty */

enum timer_kind { T_NONE, T_DEADLINE, T_GRACE, T_KILL };

struct exec {
	uint64_t serial;
	uint32_t id;
	pid_t pid;
	int out, err; /* read ends of stdout and stderr */
	int in;	      /* write end of stdin, -1 when there is none */
	int sync;     /* read end of the setup-error pipe */
	int timer;
	int cg;	    /* the exec's cgroup (O_PATH), or -1 */
	int events; /* its cgroup.events, watched once killed */
	char cgname[48];
	char *inq; /* stdin not yet written */
	size_t in_len, in_off;
	bool in_eof, in_watched;
	uint64_t max_out, hard_cap, bytes[2];
	uint32_t flags; /* AJW_EXIT_* */
	int status;
	uint64_t cpu_us, maxrss; /* from wait4, for hosts without cgroups */
	uint64_t t_start, t_end, jail_oom;
	enum timer_kind timer_kind;
	bool started, failed, reaped, killed, grace_over, give_up, paused;
	bool agent; /* AJW_EXEC_AGENT */
	char argv0[128], cwd[128];
};

static struct exec *execs[W_MAX_EXECS];
static unsigned n_paused;
static uint32_t cg_seq;

/* What the child reports when a step fails. */
enum step { STEP_CGROUP = 1, STEP_SETUP, STEP_CHDIR, STEP_SECCOMP, STEP_EXEC };
struct sync_msg {
	int32_t err;
	uint32_t step;
};

struct spawn {
	char *const *argv;
	char *const *envp;
	const char *cwd;
	int in, out, err, sync, cg;
};

static struct exec *
exec_by_id(uint32_t id)
{
	/* A failed exec has had its answer; it only waits to be reaped. */
	for (unsigned i = 0; i < W_MAX_EXECS; i++)
		if (execs[i] && execs[i]->id == id && !execs[i]->failed)
			return execs[i];
	return NULL;
}

static struct exec *
exec_by_serial(uint64_t serial)
{
	for (unsigned i = 0; i < W_MAX_EXECS; i++)
		if (execs[i] && execs[i]->serial == serial)
			return execs[i];
	return NULL;
}

static unsigned
exec_count(void)
{
	unsigned n = 0;

	for (unsigned i = 0; i < W_MAX_EXECS; i++)
		n += execs[i] != NULL;
	return n;
}

bool
exec_busy(uint32_t id)
{
	return exec_by_id(id) != NULL;
}

/* ---- the child ---- */

static __attribute__((noreturn)) void
child_fail(int fd, enum step step, int err)
{
	struct sync_msg m = {.err = err, .step = step};

	(void)!write(fd, &m, sizeof(m));
	_exit(127);
}

/* execvp's search, with the exec's PATH and a stack buffer. Returns the
 * errno to report. */
static int
exec_search(char *const *argv, char *const *envp)
{
	const char *name = argv[0], *path = DEFAULT_PATH;
	char buf[PATH_MAX];
	bool eacces = false;
	size_t nlen = strlen(name);

	if (strchr(name, '/')) {
		execve(name, argv, envp);
		return errno;
	}
	for (char *const *e = envp; *e; e++)
		if (!strncmp(*e, "PATH=", 5)) {
			path = *e + 5;
			break;
		}
	for (const char *p = path;; p++) {
		const char *end = strchrnul(p, ':'), *dir = p;
		size_t dlen = (size_t)(end - p);

		if (dlen == 0) {
			/* An empty element means the current directory. */
			dir = ".";
			dlen = 1;
		}
		if (dlen + 1 + nlen < sizeof(buf)) {
			memcpy(buf, dir, dlen);
			buf[dlen] = '/';
			memcpy(buf + dlen + 1, name, nlen + 1);
			execve(buf, argv, envp);
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
child(const struct spawn *s)
{
	int sync = s->sync, fd;
	sigset_t none;

	if (s->cg >= 0) {
		fd = openat(s->cg, "cgroup.procs", O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, "0", 1) != 1)
			child_fail(sync, STEP_CGROUP, errno);
		close(fd);
	}
	if (setsid() < 0)
		child_fail(sync, STEP_SETUP, errno);
	if (fchdir(W.wsfd) < 0 || (s->cwd[0] && chdir(s->cwd) < 0))
		child_fail(sync, STEP_CHDIR, errno);
	/* All our descriptors are >= 4 (0-2 are taken, 3 is the socket). */
	if (dup2(s->in, 0) < 0 || dup2(s->out, 1) < 0 || dup2(s->err, 2) < 0 ||
	    dup3(sync, 3, O_CLOEXEC) < 0)
		child_fail(sync, STEP_SETUP, errno);
	sync = 3;
	if (close_range(4, ~0u, 0) < 0)
		child_fail(sync, STEP_SETUP, errno);
	umask(W.umask);
	/* Not dumpable, /proc/self is root's and oom_score_adj unwritable:
	 * dumpable for as long as it takes (no descriptor of the worker's is
	 * left to be stolen meanwhile; execve decides anew anyway). */
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		(void)!write(fd, "1000", 4);
		close(fd);
	}
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* no_new_privs is set: the jail was built with it. */
	for (unsigned i = 0; i < W.n_progs; i++) {
		struct sock_fprog fp = {.len = (unsigned short)W.progs[i].len,
					.filter = W.progs[i].insns};
		if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, W.progs[i].flags, &fp) < 0)
			child_fail(sync, STEP_SECCOMP, errno);
	}
	child_fail(sync, STEP_EXEC, exec_search(s->argv, s->envp));
}

/* ---- cgroup files ---- */

static int
cg_read(int dir, const char *name, char *buf, size_t size)
{
	int fd = openat(dir, name, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

/* "key N" of a flat-keyed file, or the single value of one (key NULL); 0 if
 * the file or key is absent. */
static uint64_t
cg_value(int dir, const char *name, const char *key)
{
	char buf[1024];
	size_t klen = key ? strlen(key) : 0;

	if (dir < 0 || cg_read(dir, name, buf, sizeof(buf)) < 0)
		return 0;
	if (!key)
		return strtoull(buf, NULL, 10);
	for (char *l = buf; *l;) {
		char *nl = strchrnul(l, '\n');
		if (!strncmp(l, key, klen) && l[klen] == ' ')
			return strtoull(l + klen + 1, NULL, 10);
		l = *nl ? nl + 1 : nl;
	}
	return 0;
}

static bool
cg_populated(const struct exec *e)
{
	return e->cg >= 0 && cg_value(e->cg, "cgroup.events", "populated") != 0;
}

static void
cg_remove(struct exec *e)
{
	if (e->cg < 0)
		return;
	w_ep_del(e->events);
	w_close(&e->events);
	w_close(&e->cg);
	if (unlinkat(W.cgfd, e->cgname, AT_REMOVEDIR) < 0)
		w_log("cgroup %s not removed: %s", e->cgname, strerror(errno));
}

/* ---- killing ---- */

/*
 * Without a cgroup: the exec's session, which its process group and those
 * of job control inside it belong to. As init with nothing else running,
 * everything else in the namespace (a process that made a session of its
 * own escapes the rest; cgroups leave no such gap).
 */
static void
kill_session(pid_t sid)
{
	struct dirent *de;
	DIR *d;

	if (sid <= 0)
		return;
	kill(-sid, SIGKILL);
	if (W.pid1 && exec_count() == 1) {
		kill(-1, SIGKILL);
		return;
	}
	if (!W.proc)
		return; /* another namespace's pids, or none */
	d = opendir("/proc");
	if (!d)
		return;
	while ((de = readdir(d))) {
		char path[64], buf[512], *s;
		int pid = atoi(de->d_name), fd, session;
		ssize_t n;

		if (pid <= 1)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		/* pid (comm) state ppid pgrp session ...; comm may hold ')' */
		s = strrchr(buf, ')');
		if (s && sscanf(s + 1, " %*c %*d %*d %d", &session) == 1 && session == sid)
			kill(pid, SIGKILL);
	}
	closedir(d);
}

static void
timer_arm(struct exec *e, enum timer_kind kind, uint64_t ms)
{
	struct itimerspec it = {.it_value = {.tv_sec = (time_t)(ms / 1000),
					     .tv_nsec = (long)(ms % 1000) * 1000000}};

	e->timer_kind = kind;
	timerfd_settime(e->timer, 0, &it, NULL);
}

static void
exec_kill(struct exec *e)
{
	int fd;

	if (e->killed)
		return;
	e->killed = true;
	/* Not reaped, the pid is still ours: the main process may not be in
	 * the cgroup yet (stopped before its first step, say). */
	if (!e->reaped && e->pid > 0)
		kill(e->pid, SIGKILL);
	fd = e->cg >= 0 ? openat(e->cg, "cgroup.kill", O_WRONLY | O_CLOEXEC) : -1;
	if (fd >= 0 && write(fd, "1", 1) == 1) {
		e->events = openat(e->cg, "cgroup.events", O_RDONLY | O_CLOEXEC);
		if (e->events >= 0)
			w_ep_add(e->events, EPOLLPRI | EPOLLET, W_TAG(e->serial, K_EVENTS));
	} else {
		if (e->cg >= 0)
			w_log("exec %u: cgroup.kill: %s", e->id, strerror(errno));
		kill_session(e->pid);
	}
	if (fd >= 0)
		close(fd);
	timer_arm(e, T_KILL, KILL_WAIT_MS);
}

/* ---- output ---- */

static void
exec_pause(struct exec *e)
{
	if (e->paused)
		return;
	w_ep_del(e->out);
	w_ep_del(e->err);
	e->paused = true;
	n_paused++;
}

static void
watch_output(struct exec *e)
{
	if (e->out >= 0)
		w_ep_add(e->out, EPOLLIN, W_TAG(e->serial, K_OUT));
	if (e->err >= 0)
		w_ep_add(e->err, EPOLLIN, W_TAG(e->serial, K_ERR));
}

void
exec_resume(void)
{
	for (unsigned i = 0; n_paused && i < W_MAX_EXECS; i++) {
		struct exec *e = execs[i];
		if (e && e->paused) {
			e->paused = false;
			n_paused--;
			watch_output(e);
		}
	}
}

static void
account(struct exec *e, int which, const char *buf, size_t n)
{
	uint64_t before = e->bytes[which];

	e->bytes[which] += n;
	if (before < e->max_out) {
		uint64_t keep = e->max_out - before;
		w_send(which ? AJW_STDERR : AJW_STDOUT, e->id, buf, keep < n ? keep : n);
	}
	if (e->bytes[which] > e->max_out)
		e->flags |= which ? AJW_EXIT_STDERR_TRUNCATED : AJW_EXIT_STDOUT_TRUNCATED;
	if (e->bytes[0] + e->bytes[1] > e->hard_cap && !e->killed) {
		e->flags |= AJW_EXIT_OUTPUT_LIMIT;
		exec_kill(e);
	}
}

/* Read a pipe: a few chunks per event while replies have room; when drain,
 * all that is there (bounded: a process outside our reach may still hold
 * it). */
static void
read_output(struct exec *e, int which, bool drain)
{
	char *buf = w_chunk;
	int *fd = which ? &e->err : &e->out;
	size_t total = 0;

	while (*fd >= 0) {
		ssize_t r;

		if (!drain && !w_room()) {
			exec_pause(e);
			return;
		}
		if ((!drain && total >= 4 * AJW_DATA_CHUNK) || total >= 64 * AJW_DATA_CHUNK)
			return;
		r = read(*fd, buf, AJW_DATA_CHUNK);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return;
		if (r <= 0) {
			w_ep_del(*fd);
			w_close(fd);
			return;
		}
		total += (size_t)r;
		account(e, which, buf, (size_t)r);
	}
}

/* ---- stdin ---- */

static void
stdin_close(struct exec *e)
{
	free(e->inq);
	e->inq = NULL;
	e->in_len = e->in_off = 0;
	if (e->in_watched)
		w_ep_del(e->in);
	e->in_watched = false;
	w_close(&e->in);
}

static void
stdin_flush(struct exec *e)
{
	while (e->in >= 0 && e->in_off < e->in_len) {
		ssize_t r = write(e->in, e->inq + e->in_off, e->in_len - e->in_off);
		if (r > 0) {
			e->in_off += (size_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN) {
			if (!e->in_watched &&
			    w_ep_add(e->in, EPOLLOUT, W_TAG(e->serial, K_IN)) == 0)
				e->in_watched = true;
			return;
		}
		/* EPIPE: the command closed its stdin; the rest has no reader. */
		stdin_close(e);
		return;
	}
	if (e->in_eof)
		stdin_close(e);
	else if (e->in_watched) {
		w_ep_del(e->in);
		e->in_watched = false;
	}
}

void
exec_stdin(uint32_t id, const char *p, size_t n)
{
	struct exec *e = exec_by_id(id);
	size_t pending;
	char *q;

	/* An exec that has ended, or closed its stdin: the bytes have no reader. */
	if (!e || e->in < 0 || e->in_eof)
		return;
	if (n == 0) {
		e->in_eof = true;
		stdin_flush(e);
		return;
	}
	pending = e->in_len - e->in_off;
	if (pending + n > W_STDIN_MAX) {
		w_log("exec %u: more than %u bytes of stdin pending: stdin closed", id,
		      W_STDIN_MAX);
		stdin_close(e);
		return;
	}
	if (e->in_off) {
		memmove(e->inq, e->inq + e->in_off, pending);
		e->in_len = pending;
		e->in_off = 0;
	}
	q = realloc(e->inq, pending + n);
	if (!q)
		w_fatal("malloc");
	memcpy(q + pending, p, n);
	e->inq = q;
	e->in_len = pending + n;
	stdin_flush(e);
}

/* ---- the end of an exec ---- */

static void
exec_free(struct exec *e)
{
	for (unsigned i = 0; i < W_MAX_EXECS; i++)
		if (execs[i] == e)
			execs[i] = NULL;
	if (e->paused)
		n_paused--;
	stdin_close(e);
	int *fds[] = {&e->out, &e->err, &e->sync, &e->timer, &e->events, &e->cg};
	for (unsigned i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		w_ep_del(*fds[i]);
		w_close(fds[i]);
	}
	free(e);
}

static void
exec_finish(struct exec *e)
{
	struct ajw_exit x = {.exit_code = -1, .signal = SIGKILL};
	uint64_t jail_oom;

	/* What the killed processes wrote before they died. */
	read_output(e, 0, true);
	read_output(e, 1, true);
	if (e->reaped && WIFEXITED(e->status)) {
		x.exit_code = WEXITSTATUS(e->status);
		x.signal = 0;
	} else if (e->reaped) {
		x.signal = WTERMSIG(e->status);
	}
	x.duration_us = (e->reaped ? e->t_end : w_now_us()) - e->t_start;
	if (e->cg >= 0) {
		x.cpu_us = cg_value(e->cg, "cpu.stat", "usage_usec");
		x.memory_peak = cg_value(e->cg, "memory.peak", NULL);
		/* An OOM kill of one of its processes; or of any in the jail
		 * meanwhile, when nothing else could have killed it. */
		jail_oom = cg_value(W.cgfd, "memory.events", "oom_kill");
		if (x.signal == SIGKILL && (cg_value(e->cg, "memory.events", "oom_kill") > 0 ||
					    (jail_oom > e->jail_oom &&
					     !(e->flags & (AJW_EXIT_TIMED_OUT | AJW_EXIT_CANCELLED |
							   AJW_EXIT_OUTPUT_LIMIT)))))
			e->flags |= AJW_EXIT_OOM;
	} else {
		/* The main process and the descendants it waited for. */
		x.cpu_us = e->cpu_us;
		x.memory_peak = e->maxrss;
	}
	cg_remove(e);
	x.flags = e->flags;
	x.stdout_bytes = e->bytes[0];
	x.stderr_bytes = e->bytes[1];
	if (e->started)
		w_send(AJW_EXIT, e->id, &x, sizeof(x));
	else if (!e->failed)
		w_error(e->id, EINTR, AJW_E_EXEC_FAILED, "exec %s: killed before it started",
			e->argv0);
	exec_free(e);
}

/* Move an exec on as far as it can go; may free it. */
static void
exec_check(struct exec *e)
{
	if (e->give_up) {
		exec_finish(e);
		return;
	}
	if (!e->started && !e->failed)
		return; /* not execve'd yet */
	if (!e->reaped)
		return;
	if (!e->killed) {
		if ((e->out >= 0 || e->err >= 0) && !e->grace_over) {
			if (e->timer_kind != T_GRACE)
				timer_arm(e, T_GRACE, GRACE_MS);
			return;
		}
		exec_kill(e);
	}
	if (cg_populated(e))
		return;
	exec_finish(e);
}

static void
on_sync(struct exec *e)
{
	static const char *const steps[] = {
		[STEP_CGROUP] = "cgroup",   [STEP_SETUP] = "setup", [STEP_CHDIR] = "chdir",
		[STEP_SECCOMP] = "seccomp", [STEP_EXEC] = "exec",
	};
	struct sync_msg m;
	ssize_t r = read(e->sync, &m, sizeof(m));

	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	w_ep_del(e->sync);
	w_close(&e->sync);
	if (r == 0) {
		/* Closed by the execve (or by the child's death before it:
		 * then EXIT follows at once). */
		struct ajw_started s = {.pid = e->pid};

		e->started = true;
		w_send(AJW_STARTED, e->id, &s, sizeof(s));
		watch_output(e);
		stdin_flush(e);
		return;
	}
	if (r != (ssize_t)sizeof(m) || m.step < STEP_CGROUP || m.step > STEP_EXEC) {
		m.step = STEP_SETUP;
		m.err = EPROTO;
	}
	e->failed = true;
	if (m.step == STEP_EXEC)
		w_error(e->id, m.err, AJW_E_EXEC_FAILED, "exec %s: %s", e->argv0, strerror(m.err));
	else if (m.step == STEP_CHDIR)
		w_error(e->id, m.err, AJW_E_EXEC_FAILED, "chdir %s: %s",
			e->cwd[0] ? e->cwd : "/workspace", strerror(m.err));
	else
		w_error(e->id, m.err, AJW_E_EXEC_FAILED, "exec %s: %s: %s", e->argv0, steps[m.step],
			strerror(m.err));
	w_close(&e->out);
	w_close(&e->err);
	stdin_close(e);
}

static void
on_timer(struct exec *e)
{
	enum timer_kind kind = e->timer_kind;
	uint64_t ticks;

	if (read(e->timer, &ticks, sizeof(ticks)) != (ssize_t)sizeof(ticks))
		return;
	e->timer_kind = T_NONE;
	switch (kind) {
	case T_DEADLINE:
		if (!e->killed) {
			e->flags |= AJW_EXIT_TIMED_OUT;
			exec_kill(e);
		}
		break;
	case T_GRACE: e->grace_over = true; break;
	case T_KILL:
		w_log("exec %u: processes left %d ms after the kill", e->id, KILL_WAIT_MS);
		e->give_up = true;
		break;
	case T_NONE: break;
	}
}

void
exec_event(uint64_t tag, uint32_t events)
{
	struct exec *e = exec_by_serial(tag >> 8);

	if (!e)
		return; /* freed earlier in this batch */
	switch ((enum w_kind)(tag & 0xff)) {
	case K_OUT: read_output(e, 0, false); break;
	case K_ERR: read_output(e, 1, false); break;
	case K_IN: stdin_flush(e); break;
	case K_SYNC: on_sync(e); break;
	case K_TIMER: on_timer(e); break;
	case K_EVENTS: break; /* populated may have changed: exec_check */
	case K_SOCK:
	case K_SIGNAL:
	case K_CONN: return;
	}
	exec_check(e);
}

void
exec_reap(void)
{
	for (;;) {
		struct rusage ru;
		struct exec *e = NULL;
		int status;
		pid_t pid = wait4(-1, &status, WNOHANG, &ru);

		if (pid <= 0)
			return;
		for (unsigned i = 0; i < W_MAX_EXECS && !e; i++)
			if (execs[i] && execs[i]->pid == pid && !execs[i]->reaped)
				e = execs[i];
		if (!e)
			continue; /* an orphan, or a process already given up on */
		e->reaped = true;
		e->status = status;
		e->t_end = w_now_us();
		e->cpu_us = (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u +
			    (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
		e->maxrss = (uint64_t)ru.ru_maxrss * 1024u;
		exec_check(e);
	}
}

void
exec_signal(uint32_t id, int32_t sig)
{
	struct exec *e;

	if (sig < 1 || sig > 64)
		w_die_proto("SIGNAL %d", sig);
	e = exec_by_id(id);
	/* Reaped, its pid may be another process's. */
	if (e && !e->reaped)
		kill(e->pid, sig);
}

bool
exec_cancel(uint32_t id)
{
	struct exec *e = exec_by_id(id);

	if (!e)
		return false;
	if (!e->killed) {
		e->flags |= AJW_EXIT_CANCELLED;
		exec_kill(e);
	}
	exec_check(e);
	return true;
}

/* At the end of the session: every exec killed, its cgroup removed once
 * empty (waiting 1 s at most, in all). */
void
exec_kill_all(void)
{
	for (unsigned i = 0; i < W_MAX_EXECS; i++)
		if (execs[i])
			exec_kill(execs[i]);
	for (int round = 0; round < 100; round++) {
		bool left = false;
		for (unsigned i = 0; i < W_MAX_EXECS; i++) {
			struct exec *e = execs[i];
			if (!e || e->cg < 0)
				continue;
			if (cg_populated(e))
				left = true;
			else
				cg_remove(e);
		}
		if (!left)
			break;
		poll(NULL, 0, 10);
	}
}

/* ---- starting ---- */

static const char *
take_str(const char *p, size_t n, size_t *off)
{
	const char *s = p + *off, *z;

	if (*off >= n || !(z = memchr(s, '\0', n - *off)))
		w_die_proto("EXEC: a string is not NUL-terminated");
	*off = (size_t)(z - p) + 1;
	return s;
}

static int
pipe_nb(int fds[2], int worker_end)
{
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	/* Only the worker's end: the command's is a plain blocking pipe. */
	return fcntl(fds[worker_end], F_SETFL, O_NONBLOCK);
}

static uint32_t
busy_code(int err)
{
	return err == EMFILE || err == ENFILE || err == EAGAIN || err == ENOMEM ? AJW_E_BUSY
										: AJW_E_INTERNAL;
}

void
exec_request(uint32_t id, const char *p, size_t n)
{
	struct ajw_exec x;
	struct spawn s = {.in = -1};
	int po[2] = {-1, -1}, pe[2] = {-1, -1}, pi[2] = {-1, -1}, ps[2] = {-1, -1};
	const char *step = "setup";
	struct exec *e = NULL;
	char **argv = NULL, **envp = NULL;
	unsigned slot = W_MAX_EXECS;
	size_t off = sizeof(x);

	if (n < sizeof(x))
		w_die_proto("EXEC of %zu bytes", n);
	memcpy(&x, p, sizeof(x));
	if (x.argc < 1 || x.argc > AJW_MAX_ARGS || x.envc > AJW_MAX_ENV ||
	    (x.flags & ~(AJW_EXEC_STDIN | AJW_EXEC_AGENT)))
		w_die_proto("EXEC: argc %u, envc %u, flags %#x", x.argc, x.envc, x.flags);
	/* The command's environment is the jail's (the worker's own: the
	 * defaults, the profile's and the session's variables) with the
	 * exec's entries replacing those of the same name. */
	size_t n_base = 0;
	while (environ && environ[n_base])
		n_base++;
	argv = w_malloc((x.argc + 1) * sizeof(*argv));
	envp = w_malloc((n_base + x.envc + 1) * sizeof(*envp));
	s.cwd = take_str(p, n, &off);
	for (uint32_t i = 0; i < x.argc; i++)
		argv[i] = (char *)take_str(p, n, &off);
	size_t ne = 0;
	for (size_t i = 0; i < n_base; i++)
		envp[ne++] = environ[i];
	for (uint32_t i = 0; i < x.envc; i++) {
		char *v = (char *)take_str(p, n, &off);
		size_t klen = strcspn(v, "=");
		size_t k = 0;
		while (k < ne && !(strncmp(envp[k], v, klen) == 0 && envp[k][klen] == '='))
			k++;
		envp[k] = v;
		if (k == ne)
			ne++;
	}
	argv[x.argc] = envp[ne] = NULL;
	if (off != n)
		w_die_proto("EXEC: %zu bytes after the strings", n - off);
	s.argv = argv;
	s.envp = envp;

	e = calloc(1, sizeof(*e));
	if (!e)
		w_fatal("malloc");
	e->id = id;
	e->serial = ++W.serial;
	e->out = e->err = e->in = e->sync = e->timer = e->cg = e->events = -1;
	e->agent = x.flags & AJW_EXEC_AGENT;
	e->max_out = x.max_output_bytes ? x.max_output_bytes : AJW_DEFAULT_MAX_OUTPUT;
	if (e->agent)
		e->max_out = UINT64_MAX; /* all of it, never truncated nor killed for it */
	e->hard_cap = e->max_out > (UINT64_MAX >> 2) ? UINT64_MAX : AJW_HARD_CAP(e->max_out);
	w_clean(argv[0], e->argv0, sizeof(e->argv0));
	w_clean(s.cwd, e->cwd, sizeof(e->cwd));

	for (unsigned i = 0; envp[i]; i++)
		if (!strchr(envp[i], '=') || envp[i][0] == '=') {
			w_error(id, EINVAL, AJW_E_BAD_REQUEST, "exec %s: bad environment entry",
				e->argv0);
			goto out;
		}
	if (!argv[0][0] || strlen(s.cwd) > AJW_MAX_PATH) {
		w_error(id, EINVAL, AJW_E_BAD_REQUEST, "exec %s: empty command or long cwd",
			e->argv0);
		goto out;
	}
	if (e->agent && x.timeout_ms) {
		w_error(id, EINVAL, AJW_E_BAD_REQUEST, "exec %s: an agent has no deadline",
			e->argv0);
		goto out;
	}
	for (unsigned i = 0; e->agent && i < W_MAX_EXECS; i++)
		if (execs[i] && execs[i]->agent && !execs[i]->failed) {
			w_error(id, EBUSY, AJW_E_BUSY, "exec %s: agent %u is running", e->argv0,
				execs[i]->id);
			goto out;
		}
	for (slot = 0; slot < W_MAX_EXECS && execs[slot]; slot++)
		;
	if (slot == W_MAX_EXECS) {
		w_error(id, EBUSY, AJW_E_BUSY, "exec %s: %u execs in flight", e->argv0,
			W_MAX_EXECS);
		goto out;
	}

	if (pipe_nb(po, 0) < 0 || pipe_nb(pe, 0) < 0 || pipe_nb(ps, 0) < 0)
		goto fail;
	if ((x.flags & AJW_EXEC_STDIN) || W.devnull < 0) {
		if (pipe_nb(pi, 1) < 0)
			goto fail;
		s.in = pi[0];
		if (!(x.flags & AJW_EXEC_STDIN))
			w_close(&pi[1]); /* no /dev/null: an empty pipe */
	} else {
		s.in = W.devnull;
	}
	e->timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (e->timer < 0)
		goto fail;
	if (W.cgfd >= 0) {
		step = "cgroup";
		snprintf(e->cgname, sizeof(e->cgname), "exec-%u-%u", id, ++cg_seq);
		if (mkdirat(W.cgfd, e->cgname, 0755) < 0)
			goto fail;
		e->cg = openat(W.cgfd, e->cgname, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (e->cg < 0) {
			int err = errno;
			unlinkat(W.cgfd, e->cgname, AT_REMOVEDIR);
			errno = err;
			goto fail;
		}
		e->jail_oom = cg_value(W.cgfd, "memory.events", "oom_kill");
	}
	s.out = po[1];
	s.err = pe[1];
	s.sync = ps[1];
	s.cg = e->cg;
	step = "fork";
	e->t_start = w_now_us();
	e->pid = fork();
	if (e->pid < 0) {
		e->pid = 0;
		goto fail;
	}
	if (e->pid == 0)
		child(&s);

	e->out = po[0];
	e->err = pe[0];
	e->sync = ps[0];
	e->in = pi[1];
	po[0] = pe[0] = ps[0] = pi[1] = -1;
	execs[slot] = e;
	if (w_ep_add(e->sync, EPOLLIN, W_TAG(e->serial, K_SYNC)) < 0 ||
	    w_ep_add(e->timer, EPOLLIN, W_TAG(e->serial, K_TIMER)) < 0)
		w_fatal("epoll_ctl");
	if (x.timeout_ms)
		timer_arm(e, T_DEADLINE, x.timeout_ms);
	e = NULL;
	goto out;

fail:
	w_error(id, errno, busy_code(errno), "exec %s: %s: %s", e->argv0, step, strerror(errno));
	if (e->cg >= 0) {
		w_close(&e->cg);
		unlinkat(W.cgfd, e->cgname, AT_REMOVEDIR);
	}
out:
	/* The child's ends (and, on failure, everything). */
	for (unsigned i = 0; i < 2; i++) {
		w_close(&po[i]);
		w_close(&pe[i]);
		w_close(&pi[i]);
		w_close(&ps[i]);
	}
	if (e) {
		w_close(&e->timer);
		free(e);
	}
	free(argv);
	free(envp);
}
