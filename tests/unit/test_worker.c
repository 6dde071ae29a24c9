/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The session worker (build/agentjail-worker) without a jail: a socketpair
 * at its fd 3, --workspace a temporary directory, no cgroup fd (a cgroup
 * one too when running as root on a host with a writable cgroup2 mount),
 * and a tiny protocol client. Execs (output, exit codes, signals, stdin,
 * env and cwd, deadlines that kill whole trees, output limits, CANCEL,
 * SIGNAL, concurrency), files (PUT/GET round trip, listings, STAT, MKDIR,
 * DELETE), path attacks (.., symlinks out, magic links, a FIFO, a
 * read-only bind), for agent runtimes CONNECT (sockets passed over the
 * protocol socket, on the host's loopback here), SECRET (--secrets a
 * temporary directory) and AGENT execs, the profile filter, malformed
 * messages and the end of a session.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "../../supervisor/proto.h"
#include "tap.h"

#define MIB (1u << 20)

static char base[64], ws[128], outside[128], secret[128], secrets[128];
static const char *const default_env[] = {"PATH=/usr/local/bin:/usr/bin:/bin", NULL};

/* Descriptors received (CONNECTED), oldest first. */
#define MAX_FDS 64

struct wk {
	pid_t pid;
	int sock;
	struct ajw_hello hello;
	int fds[MAX_FDS];
	unsigned nfds;
	int fd_errors; /* MSG_CTRUNC, or other than one SCM_RIGHTS of one fd */
};

struct msg {
	uint32_t type, id, len;
	char *p;
	int fd; /* CONNECTED: its descriptor, or -1 */
};

/* What came back for one request. */
struct res {
	uint32_t id;
	bool started, exited, errored, ready, ok, ended, got_stat, stat_ends;
	bool connected, discard; /* discard: count STDOUT/STDERR, keep nothing */
	bool done;
	int fd; /* CONNECTED: the socket, or -1 */
	int32_t pid;
	struct ajw_exit ex;
	struct ajw_error er;
	char emsg[600];
	struct ajw_stat st;
	char *out, *err; /* STDOUT (or DATA), STDERR */
	size_t nout, nerr;
	char names[4096]; /* DIRENT: "name:type " */
	int n_dirents;
	int unexpected;
};

enum spawn_mode { SPAWN_PLAIN, SPAWN_NOBODY, SPAWN_PID1 };
static enum spawn_mode spawn_mode;
static const char *spawn_ws, *spawn_secrets;

#define MAX_RES 128
static struct res *table[MAX_RES];
static uint32_t next_id = 1;

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static const char *
worker_path(void)
{
	static char path[PATH_MAX];
	const char *top = getenv("AJ_TOP");

	snprintf(path, sizeof(path), "%s/build/agentjail-worker", top ? top : ".");
	return path;
}

/* ---- the client ---- */

/* As proto.h asks: recvmsg on every read, room for one descriptor,
 * MSG_CMSG_CLOEXEC; descriptors queued in arrival order. */
static ssize_t
recv_fds(struct wk *w, void *buf, size_t n)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {.iov_base = buf, .iov_len = n};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf)};
	ssize_t r = recvmsg(w->sock, &mh, MSG_CMSG_CLOEXEC);

	if (r < 0)
		return r;
	if (mh.msg_flags & MSG_CTRUNC)
		w->fd_errors++;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		int fd;
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
		    cm->cmsg_len != CMSG_LEN(sizeof(int)) || w->nfds == MAX_FDS) {
			w->fd_errors++;
			continue;
		}
		memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
		w->fds[w->nfds++] = fd;
	}
	return r;
}

static int
read_full(struct wk *w, void *buf, size_t n, uint64_t deadline)
{
	char *p = buf;

	while (n) {
		struct pollfd pfd = {.fd = w->sock, .events = POLLIN};
		uint64_t now = now_ms();
		if (now >= deadline || poll(&pfd, 1, (int)(deadline - now)) <= 0)
			return -1;
		ssize_t r = recv_fds(w, p, n);
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int
msg_read(struct wk *w, struct msg *m, int timeout_ms)
{
	struct ajw_hdr h;
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;

	if (read_full(w, &h, sizeof(h), deadline) < 0)
		return -1;
	if (h.len > AJW_MAX_PAYLOAD)
		return -1;
	m->type = h.type;
	m->id = h.id;
	m->len = h.len;
	m->fd = -1;
	/* Its descriptor came with the header's first byte, or earlier. */
	if (h.type == AJW_CONNECTED) {
		if (w->nfds) {
			m->fd = w->fds[0];
			memmove(&w->fds[0], &w->fds[1], --w->nfds * sizeof(int));
		} else {
			w->fd_errors++;
		}
	}
	m->p = malloc(h.len + 1);
	if (read_full(w, m->p, h.len, deadline) < 0) {
		free(m->p);
		return -1;
	}
	m->p[h.len] = '\0';
	return 0;
}

static void
send_raw(struct wk *w, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t r = write(w->sock, c, n);
		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			return;
		}
		c += r;
		n -= (size_t)r;
	}
}

static void
msg_send2(struct wk *w, uint32_t type, uint32_t id, const void *p1, size_t n1, const void *p2,
	  size_t n2)
{
	struct ajw_hdr h = {.type = type, .id = id, .len = (uint32_t)(n1 + n2)};

	send_raw(w, &h, sizeof(h));
	send_raw(w, p1, n1);
	send_raw(w, p2, n2);
}

static void
msg_send(struct wk *w, uint32_t type, uint32_t id, const void *p, size_t n)
{
	msg_send2(w, type, id, p, n, NULL, 0);
}

static void
append(char **buf, size_t *len, const char *p, size_t n)
{
	*buf = realloc(*buf, *len + n + 1);
	memcpy(*buf + *len, p, n);
	*len += n;
	(*buf)[*len] = '\0';
}

static struct res *
res_new(void)
{
	struct res *r = calloc(1, sizeof(*r));

	r->id = next_id++;
	r->fd = -1;
	for (unsigned i = 0; i < MAX_RES; i++)
		if (!table[i]) {
			table[i] = r;
			break;
		}
	return r;
}

static void
res_free(struct res *r)
{
	for (unsigned i = 0; i < MAX_RES; i++)
		if (table[i] == r)
			table[i] = NULL;
	free(r->out);
	free(r->err);
	if (r->fd >= 0)
		close(r->fd);
	free(r);
}

static void
dispatch(struct msg *m)
{
	struct res *r = NULL;

	for (unsigned i = 0; i < MAX_RES && !r; i++)
		if (table[i] && table[i]->id == m->id)
			r = table[i];
	if (!r) {
		tap_diag("message type %u for unknown id %u", m->type, m->id);
		if (m->fd >= 0)
			close(m->fd);
		return;
	}
	if (r->discard && (m->type == AJW_STDOUT || m->type == AJW_STDERR)) {
		*(m->type == AJW_STDOUT ? &r->nout : &r->nerr) += m->len;
		return;
	}
	switch (m->type) {
	case AJW_STARTED:
		r->started = true;
		memcpy(&r->pid, m->p, sizeof(r->pid));
		break;
	case AJW_STDOUT:
	case AJW_DATA: append(&r->out, &r->nout, m->p, m->len); break;
	case AJW_STDERR: append(&r->err, &r->nerr, m->p, m->len); break;
	case AJW_EXIT:
		if (m->len == sizeof(r->ex))
			memcpy(&r->ex, m->p, sizeof(r->ex));
		r->exited = r->done = true;
		break;
	case AJW_ERROR:
		memcpy(&r->er, m->p, sizeof(r->er));
		snprintf(r->emsg, sizeof(r->emsg), "%s", m->p + sizeof(r->er));
		r->errored = r->done = true;
		break;
	case AJW_READY: r->ready = true; break;
	case AJW_CONNECTED:
		r->connected = r->done = true;
		r->fd = m->fd;
		m->fd = -1;
		break;
	case AJW_OK: r->ok = r->done = true; break;
	case AJW_END: r->ended = r->done = true; break;
	case AJW_STAT_REPLY:
		memcpy(&r->st, m->p, sizeof(r->st));
		r->got_stat = true;
		if (r->stat_ends)
			r->done = true;
		break;
	case AJW_DIRENT: {
		struct ajw_stat st;
		size_t used = strlen(r->names);
		memcpy(&st, m->p, sizeof(st));
		snprintf(r->names + used, sizeof(r->names) - used, "%s:%u ", m->p + sizeof(st),
			 st.type);
		r->n_dirents++;
		break;
	}
	default: r->unexpected++; break;
	}
	if (m->fd >= 0)
		close(m->fd);
}

/* Read one message and file it; false on timeout or EOF. */
static bool
pump(struct wk *w, int timeout_ms)
{
	struct msg m;

	if (msg_read(w, &m, timeout_ms) < 0)
		return false;
	dispatch(&m);
	free(m.p);
	return true;
}

/* Until *flag (or *flag2) is set. */
static bool
wait_for2(struct wk *w, const bool *flag, const bool *flag2, int timeout_ms)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;

	while (!*flag && !(flag2 && *flag2)) {
		uint64_t now = now_ms();
		if (now >= deadline || !pump(w, (int)(deadline - now)))
			return false;
	}
	return true;
}

static bool
wait_for(struct wk *w, const bool *flag, int timeout_ms)
{
	return wait_for2(w, flag, NULL, timeout_ms);
}

static void
wk_start_fds(struct wk *w, int sockfd, int cgfd, int filterfd)
{
	int sv[2] = {-1, -1};

	memset(w, 0, sizeof(*w));
	if (sockfd < 0 && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		exit(1);
	w->pid = fork();
	if (w->pid == 0 && spawn_mode == SPAWN_PID1) {
		/* The worker as init of a pid namespace, with its own /proc. */
		pid_t g;
		int st;
		if (unshare(CLONE_NEWPID) < 0 || (g = fork()) < 0)
			_exit(126);
		if (g > 0) {
			syscall(SYS_close_range, 3, ~0u, 0);
			while (waitpid(g, &st, 0) < 0 && errno == EINTR)
				;
			_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
		}
		if (unshare(CLONE_NEWNS) < 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		    mount("proc", "/proc", "proc", 0, NULL) < 0)
			_exit(126);
	}
	if (w->pid == 0) {
		/* Out of the way first: 3-5 are the worker's. */
		int s = fcntl(sockfd >= 0 ? sockfd : sv[1], F_DUPFD, 10);
		int c = cgfd >= 0 ? fcntl(cgfd, F_DUPFD, 10) : -1;
		int f = filterfd >= 0 ? fcntl(filterfd, F_DUPFD, 10) : -1;
		dup2(s, 3);
		close(4);
		close(5);
		if (c >= 0)
			dup2(c, 4);
		if (f >= 0)
			dup2(f, 5);
		syscall(SYS_close_range, 6, ~0u, 0);
		if (spawn_mode == SPAWN_NOBODY &&
		    (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
		     setresuid(65534, 65534, 65534) < 0))
			_exit(126);
		/* As in a jail: the worker's children load filters with it. */
		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		/* As in a jail: the worker's environment is the jail's, which
		 * commands start from. */
		char *const env[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "JAIL_BASE=1",
				     "OVERRIDE=jail", NULL};
		execle(worker_path(), "agentjail-worker", "--workspace", spawn_ws ? spawn_ws : ws,
		       "--secrets", spawn_secrets ? spawn_secrets : secrets, (char *)NULL, env);
		_exit(127);
	}
	if (sv[1] >= 0)
		close(sv[1]);
	w->sock = sv[0];
}

static bool
wk_start(struct wk *w, int cgfd, int filterfd)
{
	struct msg m;

	wk_start_fds(w, -1, cgfd, filterfd);
	if (msg_read(w, &m, 5000) < 0)
		return false;
	if (m.type == AJW_HELLO && m.id == 0 && m.len == sizeof(w->hello))
		memcpy(&w->hello, m.p, sizeof(w->hello));
	free(m.p);
	return w->hello.version == AJW_VERSION;
}

/* The worker's exit status, -1 if it does not end within timeout_ms. */
static int
wk_wait(struct wk *w, int timeout_ms)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	int status;

	while (now_ms() < deadline) {
		pid_t r = waitpid(w->pid, &status, WNOHANG);
		if (r == w->pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		usleep(10000);
	}
	kill(w->pid, SIGKILL);
	waitpid(w->pid, &status, 0);
	return -1;
}

static void
wk_stop(struct wk *w)
{
	close(w->sock);
	wk_wait(w, 5000);
}

/* ---- requests ---- */

static struct res *
exec_send(struct wk *w, const char *cwd, const char *const *argv, const char *const *env,
	  uint32_t timeout_ms, uint64_t max_out, uint32_t flags)
{
	struct res *r = res_new();
	struct ajw_exec x = {.timeout_ms = timeout_ms, .flags = flags, .max_output_bytes = max_out};
	char buf[8192];
	size_t n = 0;

	env = env ? env : default_env;
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s", cwd ? cwd : "") + 1;
	for (; argv[x.argc]; x.argc++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s", argv[x.argc]) + 1;
	for (; env[x.envc]; x.envc++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s", env[x.envc]) + 1;
	msg_send2(w, AJW_EXEC, r->id, &x, sizeof(x), buf, n);
	return r;
}

static struct res *
run_full(struct wk *w, const char *cwd, const char *const *argv, const char *const *env,
	 uint32_t timeout_ms, uint64_t max_out)
{
	struct res *r = exec_send(w, cwd, argv, env, timeout_ms, max_out, 0);

	if (!wait_for(w, &r->done, 15000))
		tap_diag("exec %s: no answer", argv[0]);
	return r;
}

static struct res *
run(struct wk *w, const char *const *argv)
{
	return run_full(w, NULL, argv, NULL, 0, 0);
}

static struct res *
path_req(struct wk *w, uint32_t type, const char *path)
{
	struct res *r = res_new();

	r->stat_ends = type == AJW_STAT;
	msg_send(w, type, r->id, path, strlen(path) + 1);
	if (!wait_for(w, &r->done, 10000))
		tap_diag("request %u %s: no answer", type, path);
	return r;
}

static struct res *
ping_req(struct wk *w)
{
	struct res *r = res_new();

	msg_send(w, AJW_PING, r->id, NULL, 0);
	if (!wait_for(w, &r->done, 10000))
		tap_diag("ping: no answer");
	return r;
}

static struct res *
mkdir_req(struct wk *w, const char *path, uint32_t mode)
{
	struct res *r = res_new();

	msg_send2(w, AJW_MKDIR, r->id, &mode, sizeof(mode), path, strlen(path) + 1);
	if (!wait_for(w, &r->done, 10000))
		tap_diag("mkdir %s: no answer", path);
	return r;
}

/* PUT of n bytes in chunks; the result after the final DATA. */
static struct res *
put_req(struct wk *w, const char *path, const void *data, size_t n, uint32_t mode, uint64_t size)
{
	struct res *r = res_new();
	struct ajw_put put = {.mode = mode, .size = size};
	const char *p = data;

	msg_send2(w, AJW_PUT, r->id, &put, sizeof(put), path, strlen(path) + 1);
	if (!wait_for2(w, &r->ready, &r->done, 10000))
		tap_diag("put %s: no READY", path);
	if (r->errored)
		return r;
	while (n) {
		size_t c = n < AJW_MAX_PAYLOAD ? n : AJW_MAX_PAYLOAD;
		msg_send(w, AJW_DATA, r->id, p, c);
		p += c;
		n -= c;
	}
	msg_send(w, AJW_DATA, r->id, NULL, 0);
	if (!wait_for(w, &r->done, 10000))
		tap_diag("put %s: no answer", path);
	return r;
}

static bool
is_error(const struct res *r, uint32_t code)
{
	if (r->errored && r->er.code == code)
		return true;
	tap_diag("wanted error %u; got: errored %d code %u err %d '%s', ok %d, ended %d, stat %d",
		 code, r->errored, r->er.code, r->er.err, r->emsg, r->ok, r->ended, r->got_stat);
	return false;
}

static bool
out_is(const struct res *r, const char *want)
{
	if (r->out && !strcmp(r->out, want))
		return true;
	tap_diag("stdout '%s', wanted '%s' (stderr '%s')", r->out ? r->out : "", want,
		 r->err ? r->err : "");
	return false;
}

/* A process is gone (or a zombie nobody reaped yet) within timeout_ms. */
static bool
gone(pid_t pid, int timeout_ms)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	char path[64], buf[512];

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	do {
		int fd = open(path, O_RDONLY);
		if (fd < 0)
			return true;
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			return true;
		buf[n] = '\0';
		char *s = strrchr(buf, ')');
		if (s && (s[2] == 'Z' || s[2] == 'X'))
			return true;
		usleep(20000);
	} while (now_ms() < deadline);
	return false;
}

static bool
file_is(const char *path, const char *want)
{
	char buf[256] = "";
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n >= 0 && !strcmp(buf, want);
}

static void
write_file(const char *path, const char *data, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	if (fd >= 0) {
		(void)!write(fd, data, strlen(data));
		close(fd);
	}
}

static bool
dir_empty(const char *path)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s')\"", path);
	return system(cmd) == 0;
}

/* ---- the tests ---- */

static void
test_exec(struct wk *w)
{
	struct res *r;

	r = run(w, (const char *const[]){"echo", "hi", NULL});
	tap_ok(r->started && r->pid > 0 && out_is(r, "hi\n") && r->exited && r->ex.exit_code == 0 &&
		       r->ex.signal == 0 && r->ex.flags == 0 && r->ex.stdout_bytes == 3,
	       "echo hi: STARTED, STDOUT 'hi\\n', EXIT 0");
	res_free(r);

	r = run(w, (const char *const[]){"sh", "-c", "echo oops >&2; exit 7", NULL});
	tap_ok(r->exited && r->ex.exit_code == 7 && r->err && !strcmp(r->err, "oops\n") &&
		       r->ex.stderr_bytes == 5 && !r->out,
	       "exit code 7 and stderr");
	res_free(r);

	r = run(w, (const char *const[]){"sh", "-c", "kill -TERM $$", NULL});
	tap_ok(r->exited && r->ex.exit_code == -1 && r->ex.signal == SIGTERM,
	       "death by a signal: exit_code -1, signal 15 (got %d, %d)", r->ex.exit_code,
	       r->ex.signal);
	res_free(r);

	r = run(w, (const char *const[]){"no-such-cmd-xyz", NULL});
	tap_ok(is_error(r, AJW_E_EXEC_FAILED) && r->er.err == ENOENT && !r->started &&
		       strstr(r->emsg, "exec no-such-cmd-xyz") && strstr(r->emsg, "No such file"),
	       "command not found: ERROR EXEC_FAILED ENOENT naming it");
	res_free(r);

	r = run_full(w, NULL, (const char *const[]){"sh", "-c", "true", NULL},
		     (const char *const[]){"PATH=/nonexistent", NULL}, 0, 0);
	tap_ok(is_error(r, AJW_E_EXEC_FAILED) && r->er.err == ENOENT,
	       "the exec's own PATH is searched");
	res_free(r);

	write_file(strcat(strcpy((char[256]){0}, ws), "/noexec.sh"), "#!/bin/sh\necho no\n", 0644);
	r = run(w, (const char *const[]){"./noexec.sh", NULL});
	tap_ok(is_error(r, AJW_E_EXEC_FAILED) && r->er.err == EACCES,
	       "a file without x: EXEC_FAILED EACCES (got %d)", r->er.err);
	res_free(r);

	r = run_full(w, "no/such/dir", (const char *const[]){"true", NULL}, NULL, 0, 0);
	tap_ok(is_error(r, AJW_E_EXEC_FAILED) && strstr(r->emsg, "chdir no/such/dir"),
	       "a missing cwd: EXEC_FAILED naming chdir");
	res_free(r);
}

static void
test_env_cwd(struct wk *w)
{
	char want[512], real[PATH_MAX];
	struct res *r;

	r = mkdir_req(w, "sub", 0);
	res_free(r);
	if (!realpath(ws, real))
		strcpy(real, ws);
	r = run_full(w, "sub", (const char *const[]){"sh", "-c", "echo $FOO; pwd", NULL},
		     (const char *const[]){"FOO=bar baz", "PATH=/usr/bin:/bin", NULL}, 0, 0);
	snprintf(want, sizeof(want), "bar baz\n%s/sub\n", real);
	tap_ok(r->exited && r->ex.exit_code == 0 && out_is(r, want),
	       "env and a cwd relative to the workspace");
	res_free(r);

	r = run(w, (const char *const[]){"pwd", NULL});
	snprintf(want, sizeof(want), "%s\n", real);
	tap_ok(out_is(r, want), "the default cwd is the workspace");
	res_free(r);

	r = run_full(w, "/tmp", (const char *const[]){"pwd", NULL}, NULL, 0, 0);
	tap_ok(out_is(r, "/tmp\n"), "an absolute cwd");
	res_free(r);

	r = run(w, (const char *const[]){"sh", "-c", "env | grep -c =", NULL});
	tap_ok(out_is(r, "4\n") || out_is(r, "5\n") || out_is(r, "6\n"),
	       "the worker's (the jail's) environment and the exec's, nothing else (plus "
	       "what sh adds)");
	res_free(r);
	r = run_full(w, NULL, (const char *const[]){"sh", "-c", "echo $JAIL_BASE $OVERRIDE", NULL},
		     (const char *const[]){"OVERRIDE=exec", NULL}, 0, 0);
	tap_ok(out_is(r, "1 exec\n"), "the exec's variables replace the jail's of the same name");
	res_free(r);

	r = run(w, (const char *const[]){"sh", "-c", "cat /proc/self/oom_score_adj; umask", NULL});
	tap_ok(r->out && !strncmp(r->out, "1000\n", 5), "oom_score_adj 1000 (%s)",
	       r->out ? r->out : "");
	res_free(r);
}

static void
test_stdin(struct wk *w)
{
	struct res *r =
		exec_send(w, NULL, (const char *const[]){"cat", NULL}, NULL, 0, 0, AJW_EXEC_STDIN);
	size_t n = 256 << 10;
	char *data = malloc(n);

	wait_for(w, &r->started, 5000);
	msg_send(w, AJW_STDIN, r->id, "hello\n", 6);
	msg_send(w, AJW_STDIN, r->id, NULL, 0);
	wait_for(w, &r->done, 5000);
	tap_ok(r->exited && r->ex.exit_code == 0 && out_is(r, "hello\n"), "stdin round trip (cat)");
	res_free(r);

	for (size_t i = 0; i < n; i++)
		data[i] = (char)('a' + i % 26);
	r = exec_send(w, NULL, (const char *const[]){"cat", NULL}, NULL, 0, 0, AJW_EXEC_STDIN);
	wait_for(w, &r->started, 5000);
	for (size_t off = 0; off < n; off += 64 << 10)
		msg_send(w, AJW_STDIN, r->id, data + off, 64 << 10);
	msg_send(w, AJW_STDIN, r->id, NULL, 0);
	wait_for(w, &r->done, 10000);
	tap_ok(r->exited && r->nout == n && !memcmp(r->out, data, n),
	       "256 KiB through cat, byte-exact (%zu bytes back)", r->nout);
	res_free(r);

	r = exec_send(w, NULL, (const char *const[]){"true", NULL}, NULL, 0, 0, AJW_EXEC_STDIN);
	wait_for(w, &r->started, 5000);
	for (size_t off = 0; off < n; off += 64 << 10)
		msg_send(w, AJW_STDIN, r->id, data + off, 64 << 10);
	msg_send(w, AJW_STDIN, r->id, NULL, 0);
	wait_for(w, &r->done, 10000);
	tap_ok(r->exited && r->ex.exit_code == 0, "stdin nobody reads is dropped");
	res_free(r);
	free(data);

	r = run(w, (const char *const[]){"sh", "-c", "cat; echo end", NULL});
	tap_ok(out_is(r, "end\n"), "without AJW_EXEC_STDIN stdin is empty");
	res_free(r);
}

static pid_t
first_pid(const struct res *r)
{
	return r->out ? (pid_t)atoi(r->out) : 0;
}

static void
test_kill(struct wk *w)
{
	struct res *r;
	uint64_t t0;
	pid_t bg;

	t0 = now_ms();
	r = run_full(w, NULL,
		     (const char *const[]){"sh", "-c", "sleep 30 & echo $!; sleep 30", NULL}, NULL,
		     500, 0);
	bg = first_pid(r);
	tap_ok(r->exited && (r->ex.flags & AJW_EXIT_TIMED_OUT) && r->ex.signal == SIGKILL &&
		       now_ms() - t0 < 3000,
	       "timeout: EXIT TIMED_OUT, SIGKILL, in %llu ms", (unsigned long long)(now_ms() - t0));
	tap_ok(bg > 0 && gone(bg, 2000) && gone(r->pid, 2000),
	       "... and the background child is gone too");
	tap_ok(r->ex.duration_us >= 400000 && r->ex.duration_us < 3000000, "... duration %llu us",
	       (unsigned long long)r->ex.duration_us);
	res_free(r);

	/* A process group of its own in the same session: only a look at
	 * every session finds it without a cgroup. */
	t0 = now_ms();
	r = run_full(w, NULL,
		     (const char *const[]){"sh", "-c",
					   "python3 -c 'import os,time; os.setpgid(0,0); "
					   "print(os.getpid(), flush=True); time.sleep(30)' & "
					   "sleep 30",
					   NULL},
		     NULL, 1000, 0);
	bg = first_pid(r);
	tap_ok(r->exited && (r->ex.flags & AJW_EXIT_TIMED_OUT) && bg > 0 && gone(bg, 2000),
	       "timeout: a process group of its own in the session is killed too");
	res_free(r);

	r = exec_send(w, NULL, (const char *const[]){"sleep", "30", NULL}, NULL, 0, 0, 0);
	wait_for(w, &r->started, 5000);
	t0 = now_ms();
	msg_send(w, AJW_CANCEL, r->id, NULL, 0);
	wait_for(w, &r->done, 5000);
	tap_ok(r->exited && (r->ex.flags & AJW_EXIT_CANCELLED) && r->ex.signal == SIGKILL &&
		       now_ms() - t0 < 2000,
	       "CANCEL: EXIT CANCELLED");
	res_free(r);

	r = exec_send(w, NULL, (const char *const[]){"sleep", "30", NULL}, NULL, 0, 0, 0);
	wait_for(w, &r->started, 5000);
	int32_t sig = SIGUSR1;
	msg_send(w, AJW_SIGNAL, r->id, &sig, sizeof(sig));
	wait_for(w, &r->done, 5000);
	tap_ok(r->exited && r->ex.signal == SIGUSR1 && !(r->ex.flags & AJW_EXIT_CANCELLED),
	       "SIGNAL: the process dies of SIGUSR1");
	res_free(r);

	/* The main process ends, a background one holds the pipe. */
	t0 = now_ms();
	r = run(w, (const char *const[]){"sh", "-c", "sleep 30 & echo $!", NULL});
	bg = first_pid(r);
	tap_ok(r->exited && r->ex.exit_code == 0 && now_ms() - t0 < 2000 && bg > 0 &&
		       gone(bg, 2000),
	       "a background process holding stdout: EXIT after the grace, the process killed");
	res_free(r);
}

static void
test_output(struct wk *w)
{
	struct res *r;

	r = run_full(w, NULL, (const char *const[]){"head", "-c", "5000", "/dev/zero", NULL}, NULL,
		     0, 1000);
	tap_ok(r->exited && r->ex.exit_code == 0 && r->nout == 1000 && r->ex.stdout_bytes == 5000 &&
		       r->ex.flags == AJW_EXIT_STDOUT_TRUNCATED,
	       "past max_output_bytes: dropped and flagged (%zu sent, flags %#x)", r->nout,
	       r->ex.flags);
	res_free(r);

	r = run_full(w, NULL, (const char *const[]){"yes", NULL}, NULL, 10000, 1000);
	tap_ok(r->exited && (r->ex.flags & AJW_EXIT_OUTPUT_LIMIT) &&
		       (r->ex.flags & AJW_EXIT_STDOUT_TRUNCATED) && r->ex.signal == SIGKILL &&
		       r->nout == 1000 && r->ex.stdout_bytes > AJW_HARD_CAP(1000),
	       "yes past the hard cap: killed with OUTPUT_LIMIT (%llu bytes)",
	       (unsigned long long)r->ex.stdout_bytes);
	res_free(r);

	r = run(w, (const char *const[]){"head", "-c", "3000000", "/dev/zero", NULL});
	tap_ok(r->exited && r->nout == 3000000 && r->ex.flags == 0,
	       "3 MB of output, all of it (%zu)", r->nout);
	res_free(r);
}

static long
rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			kib = atol(line + 6);
	if (f)
		fclose(f);
	return kib;
}

/* A client that does not read costs the worker bounded memory: output is
 * left in the pipe, file data in the file. */
static void
test_backpressure(struct wk *w)
{
	struct res *r, *g;
	long before = rss_kib(w->pid), kib;

	r = exec_send(w, NULL, (const char *const[]){"head", "-c", "50000000", "/dev/zero", NULL},
		      NULL, 0, 64 * MIB, 0);
	usleep(500000);
	kib = rss_kib(w->pid);
	wait_for(w, &r->done, 60000);
	tap_ok(r->exited && r->nout == 50000000 && kib > 0 && kib - before < 8192,
	       "50 MB of output to a client that does not read: the worker grows %ld KiB",
	       kib - before);
	res_free(r);

	char path[256];
	snprintf(path, sizeof(path), "%s/bp.bin", ws);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, 10 * MIB) < 0)
		tap_diag("%s: %s", path, strerror(errno));
	close(fd);
	g = res_new();
	msg_send(w, AJW_GET, g->id, "bp.bin", 7);
	usleep(300000);
	kib = rss_kib(w->pid);
	wait_for(w, &g->done, 60000);
	tap_ok(g->ended && g->nout == 10 * MIB && kib - before < 8192,
	       "GET of 10 MiB to a client that does not read: the worker grows %ld KiB",
	       kib - before);
	res_free(g);
}

static void
test_concurrent(struct wk *w)
{
	struct res *r[10];
	uint64_t t0 = now_ms();
	int good = 0;

	for (int i = 0; i < 10; i++) {
		char cmd[64];
		snprintf(cmd, sizeof(cmd), "sleep 0.3; echo %d", i);
		r[i] = exec_send(w, NULL, (const char *const[]){"sh", "-c", cmd, NULL}, NULL, 0, 0,
				 0);
	}
	for (int i = 0; i < 10; i++) {
		char want[16];
		snprintf(want, sizeof(want), "%d\n", i);
		if (wait_for(w, &r[i]->done, 10000) && r[i]->exited && r[i]->ex.exit_code == 0 &&
		    r[i]->out && !strcmp(r[i]->out, want))
			good++;
		res_free(r[i]);
	}
	tap_ok(good == 10 && now_ms() - t0 < 2500, "10 concurrent execs: %d right in %llu ms", good,
	       (unsigned long long)(now_ms() - t0));

	/* The cap: 64 in flight, the 65th refused. */
	struct res *many[64], *extra;
	int started = 0, cancelled = 0;
	for (int i = 0; i < 64; i++)
		many[i] = exec_send(w, NULL, (const char *const[]){"sleep", "30", NULL}, NULL, 0, 0,
				    0);
	for (int i = 0; i < 64; i++)
		started +=
			wait_for2(w, &many[i]->started, &many[i]->done, 10000) && many[i]->started;
	extra = exec_send(w, NULL, (const char *const[]){"true", NULL}, NULL, 0, 0, 0);
	wait_for(w, &extra->done, 5000);
	tap_ok(started == 64 && is_error(extra, AJW_E_BUSY),
	       "64 execs in flight: the 65th is BUSY");
	res_free(extra);
	for (int i = 0; i < 64; i++)
		msg_send(w, AJW_CANCEL, many[i]->id, NULL, 0);
	for (int i = 0; i < 64; i++) {
		cancelled += wait_for(w, &many[i]->done, 10000) &&
			     (many[i]->ex.flags & AJW_EXIT_CANCELLED);
		res_free(many[i]);
	}
	tap_ok(cancelled == 64, "... and all 64 cancelled (%d)", cancelled);
}

static void
test_files(struct wk *w)
{
	size_t n = 10 * MIB;
	char *data = malloc(n), path[256];
	struct res *r, *g;
	struct stat st;

	for (size_t off = 0; off < n;)
		off += (size_t)getrandom(data + off, n - off, 0);
	r = put_req(w, "/d1/d2/big.bin", data, n, 0600, n);
	snprintf(path, sizeof(path), "%s/d1/d2/big.bin", ws);
	tap_ok(r->ok && stat(path, &st) == 0 && (size_t)st.st_size == n &&
		       (st.st_mode & 07777) == 0600,
	       "PUT 10 MiB with parents, mode 0600");
	res_free(r);

	g = res_new();
	msg_send(w, AJW_GET, g->id, "d1/d2/big.bin", 14);
	wait_for(w, &g->done, 15000);
	tap_ok(g->ended && g->got_stat && g->st.type == AJW_T_FILE && g->st.size == n &&
		       g->nout == n && !memcmp(g->out, data, n),
	       "GET: STAT, 10 MiB byte-exact, END");
	res_free(g);

	g = path_req(w, AJW_GET, "d1/d2");
	tap_ok(g->ended && g->st.type == AJW_T_DIR && !strcmp(g->names, "big.bin:1 "),
	       "no temporary file is left ('%s')", g->names);
	res_free(g);

	r = put_req(w, "d1/d2/big.bin", "small", 5, 0, 0);
	tap_ok(r->ok && file_is(path, "small") && stat(path, &st) == 0 &&
		       (st.st_mode & 07777) == 0644,
	       "PUT replaces a file (default mode 0644)");
	res_free(r);

	r = put_req(w, "d1/over", "12345", 5, 0, 3);
	snprintf(path, sizeof(path), "%s/d1", ws);
	g = path_req(w, AJW_GET, "d1");
	tap_ok(is_error(r, AJW_E_NO_SPACE) && !strcmp(g->names, "d2:2 "),
	       "more DATA than announced: ERROR, nothing left behind ('%s')", g->names);
	res_free(r);
	res_free(g);

	r = res_new();
	struct ajw_put put = {0};
	msg_send2(w, AJW_PUT, r->id, &put, sizeof(put), "d1/cancelled", 13);
	wait_for(w, &r->ready, 5000);
	msg_send(w, AJW_DATA, r->id, "part", 4);
	msg_send(w, AJW_CANCEL, r->id, NULL, 0);
	wait_for(w, &r->done, 5000);
	g = path_req(w, AJW_GET, "d1");
	tap_ok(r->errored && r->er.err == ECANCELED && !strcmp(g->names, "d2:2 "),
	       "CANCEL of a PUT: ERROR ECANCELED, nothing left behind");
	res_free(r);
	res_free(g);

	r = put_req(w, "empty", "", 0, 0, 0);
	g = path_req(w, AJW_STAT, "empty");
	tap_ok(r->ok && g->got_stat && g->st.type == AJW_T_FILE && g->st.size == 0,
	       "an empty PUT makes an empty file");
	res_free(r);
	res_free(g);

	r = put_req(w, "d1", "x", 1, 0, 0);
	tap_ok(is_error(r, AJW_E_IS_DIRECTORY), "PUT onto a directory: IS_DIRECTORY");
	res_free(r);
	r = put_req(w, "", "x", 1, 0, 0);
	tap_ok(is_error(r, AJW_E_IS_DIRECTORY), "PUT onto the workspace: IS_DIRECTORY");
	res_free(r);

	/* A listing: sorted, lstat-like. */
	snprintf(path, sizeof(path), "%s/list", ws);
	mkdir(path, 0755);
	write_file(strcat(strcpy((char[256]){0}, path), "/b"), "bbb", 0644);
	write_file(strcat(strcpy((char[256]){0}, path), "/a"), "a", 0644);
	mkdir(strcat(strcpy((char[256]){0}, path), "/c"), 0755);
	(void)!symlink("a", strcat(strcpy((char[256]){0}, path), "/l"));
	g = path_req(w, AJW_GET, "/list/");
	tap_ok(g->ended && g->got_stat && g->st.type == AJW_T_DIR &&
		       !strcmp(g->names, "a:1 b:1 c:2 l:3 "),
	       "GET of a directory: sorted DIRENTs ('%s')", g->names);
	res_free(g);
	g = path_req(w, AJW_GET, "");
	tap_ok(g->ended && strstr(g->names, "list:2 ") && strstr(g->names, "d1:2 "),
	       "GET of \"\" lists the workspace");
	res_free(g);

	g = path_req(w, AJW_STAT, "list/b");
	tap_ok(g->got_stat && g->st.type == AJW_T_FILE && g->st.size == 3 && g->st.mode == 0644 &&
		       g->st.mtime_ns > 0,
	       "STAT of a file");
	res_free(g);
	g = path_req(w, AJW_STAT, "list/l");
	tap_ok(g->got_stat && g->st.type == AJW_T_SYMLINK, "STAT of a symlink: not followed");
	res_free(g);
	g = path_req(w, AJW_STAT, "/");
	tap_ok(g->got_stat && g->st.type == AJW_T_DIR, "STAT of the root");
	res_free(g);
	g = path_req(w, AJW_STAT, "missing");
	tap_ok(is_error(g, AJW_E_NOT_FOUND) && strstr(g->emsg, "/missing"),
	       "STAT of a missing path: NOT_FOUND");
	res_free(g);
	g = path_req(w, AJW_GET, "list/b/x");
	tap_ok(is_error(g, AJW_E_NOT_DIRECTORY), "a file as a directory: NOT_DIRECTORY");
	res_free(g);

	r = mkdir_req(w, "m/x/y", 0700);
	snprintf(path, sizeof(path), "%s/m/x/y", ws);
	tap_ok(r->ok && stat(path, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700,
	       "MKDIR with parents and a mode");
	res_free(r);
	snprintf(path, sizeof(path), "%s/m/x", ws);
	tap_ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0755, "... parents get 0755");
	r = mkdir_req(w, "m/x/y", 0);
	tap_ok(r->ok, "MKDIR of an existing directory: OK");
	res_free(r);
	r = mkdir_req(w, "list/b", 0);
	tap_ok(is_error(r, AJW_E_EXISTS), "MKDIR over a file: EXISTS");
	res_free(r);

	r = path_req(w, AJW_DELETE, "list/b");
	snprintf(path, sizeof(path), "%s/list/b", ws);
	tap_ok(r->ok && access(path, F_OK) < 0, "DELETE of a file");
	res_free(r);
	r = path_req(w, AJW_DELETE, "list/l");
	snprintf(path, sizeof(path), "%s/list/a", ws);
	tap_ok(r->ok && access(path, F_OK) == 0, "DELETE of a symlink leaves its target");
	res_free(r);
	r = path_req(w, AJW_DELETE, "list/c/");
	tap_ok(r->ok, "DELETE of an empty directory");
	res_free(r);
	r = path_req(w, AJW_DELETE, "list");
	tap_ok(is_error(r, AJW_E_NOT_EMPTY), "DELETE of a non-empty directory: NOT_EMPTY");
	res_free(r);
	r = path_req(w, AJW_DELETE, "/");
	tap_ok(is_error(r, AJW_E_BAD_REQUEST), "DELETE of the workspace is refused");
	res_free(r);
	r = path_req(w, AJW_DELETE, "list/..");
	tap_ok(is_error(r, AJW_E_BAD_REQUEST), "DELETE of 'list/..' is refused");
	res_free(r);
	r = path_req(w, AJW_DELETE, "missing");
	tap_ok(is_error(r, AJW_E_NOT_FOUND), "DELETE of a missing path: NOT_FOUND");
	res_free(r);
	free(data);
}

static bool
no_secret(const struct res *r)
{
	return !r->out || !strstr(r->out, "SECRET") ? true
						    : (tap_diag("leaked: %s", r->out), false);
}

static void
test_attacks(struct wk *w, bool mounts)
{
	char path[256], target[256];
	struct res *r;
	uint64_t t0;

	static const char *const escapes[] = {
		"../secret", "sub/../../secret",  "/../secret", "rootlink/etc/passwd",
		"up/secret", "outlink/../secret", NULL};
	snprintf(path, sizeof(path), "%s/rootlink", ws);
	(void)!symlink("/", path);
	snprintf(path, sizeof(path), "%s/up", ws);
	(void)!symlink("..", path);
	snprintf(path, sizeof(path), "%s/outlink", ws);
	(void)!symlink(outside, path);
	snprintf(path, sizeof(path), "%s/uplink", ws);
	(void)!symlink("../outside", path);
	snprintf(path, sizeof(path), "%s/pw", ws);
	(void)!symlink("/etc/passwd", path);
	snprintf(path, sizeof(path), "%s/sec", ws);
	(void)!symlink(secret, path);
	for (int i = 0; escapes[i]; i++) {
		r = path_req(w, AJW_GET, escapes[i]);
		tap_ok(is_error(r, AJW_E_ESCAPE) && no_secret(r), "GET %s: ESCAPE", escapes[i]);
		res_free(r);
	}
	r = path_req(w, AJW_GET, "rootlink");
	tap_ok(is_error(r, AJW_E_NOT_REGULAR), "GET of a symlink to /: NOT_REGULAR");
	res_free(r);
	r = path_req(w, AJW_GET, "pw");
	tap_ok((r->errored && (r->er.code == AJW_E_NOT_REGULAR || r->er.code == AJW_E_ESCAPE)) &&
		       !r->out,
	       "GET of a symlink to /etc/passwd: refused, no content");
	res_free(r);
	r = path_req(w, AJW_STAT, "up/secret");
	tap_ok(is_error(r, AJW_E_ESCAPE), "STAT through a symlink to '..': ESCAPE");
	res_free(r);

	r = put_req(w, "outlink/f", "x", 1, 0, 0);
	tap_ok(is_error(r, AJW_E_ESCAPE) && dir_empty(outside),
	       "PUT through an absolute symlinked parent: ESCAPE, nothing outside");
	res_free(r);
	r = put_req(w, "uplink/f", "x", 1, 0, 0);
	tap_ok(is_error(r, AJW_E_ESCAPE) && dir_empty(outside),
	       "PUT through a relative symlinked parent: ESCAPE, nothing outside");
	res_free(r);
	r = put_req(w, "uplink/new/deeper/f", "x", 1, 0, 0);
	tap_ok(is_error(r, AJW_E_ESCAPE) && dir_empty(outside),
	       "PUT making parents through a symlink: ESCAPE, nothing outside");
	res_free(r);
	r = mkdir_req(w, "outlink/d", 0);
	tap_ok(is_error(r, AJW_E_ESCAPE) && dir_empty(outside), "MKDIR through a symlink: ESCAPE");
	res_free(r);
	r = put_req(w, "sec", "pwned", 5, 0, 0);
	tap_ok(is_error(r, AJW_E_NOT_REGULAR) && file_is(secret, "SECRET\n"),
	       "PUT onto a symlink to a file outside: NOT_REGULAR, the file untouched");
	res_free(r);
	r = path_req(w, AJW_DELETE, "up/secret");
	tap_ok(is_error(r, AJW_E_ESCAPE) && file_is(secret, "SECRET\n"),
	       "DELETE through a symlink: ESCAPE");
	res_free(r);
	r = path_req(w, AJW_DELETE, "../secret");
	tap_ok(is_error(r, AJW_E_ESCAPE) && file_is(secret, "SECRET\n"),
	       "DELETE ../secret: ESCAPE");
	res_free(r);

	snprintf(path, sizeof(path), "%s/fifo", ws);
	mkfifo(path, 0644);
	t0 = now_ms();
	r = path_req(w, AJW_GET, "fifo");
	struct res *p = ping_req(w);
	tap_ok(is_error(r, AJW_E_NOT_REGULAR) && p->ok && now_ms() - t0 < 1000,
	       "GET of a FIFO: NOT_REGULAR at once, and the worker answers PING");
	res_free(r);
	res_free(p);
	r = put_req(w, "fifo", "x", 1, 0, 0);
	tap_ok(is_error(r, AJW_E_NOT_REGULAR), "PUT onto a FIFO: NOT_REGULAR");
	res_free(r);

	r = res_new();
	msg_send(w, AJW_GET, r->id, "a\nb", 4);
	wait_for(w, &r->done, 5000);
	tap_ok(is_error(r, AJW_E_NOT_FOUND) && !strchr(r->emsg, '\n'),
	       "a newline in a path stays out of the one-line message");
	res_free(r);

	if (!mounts) {
		tap_skip(
			"a magic link beneath the workspace (needs root for a private /proc bind)");
		tap_skip("a read-only bind in the workspace (needs root)");
		return;
	}
	/* In the test's private mount namespace: /proc bound into the
	 * workspace, a directory bound read-only. */
	snprintf(path, sizeof(path), "%s/proc", ws);
	mkdir(path, 0755);
	snprintf(target, sizeof(target), "%s/ro", ws);
	mkdir(target, 0755);
	if (mount("/proc", path, NULL, MS_BIND | MS_REC, NULL) < 0 ||
	    mount(target, target, NULL, MS_BIND, NULL) < 0 ||
	    mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0) {
		tap_skip("mounts failed: %s", strerror(errno));
		return;
	}
	r = path_req(w, AJW_GET, "proc/self/root/etc/passwd");
	tap_ok(is_error(r, AJW_E_ESCAPE) && r->er.err == ELOOP && !r->out,
	       "GET through /proc/self/root: ESCAPE (ELOOP: RESOLVE_NO_MAGICLINKS)");
	res_free(r);
	r = path_req(w, AJW_GET, "proc/1/root");
	tap_ok(r->errored && !r->out, "GET of /proc/1/root: refused (code %u)", r->er.code);
	res_free(r);
	r = put_req(w, "ro/f", "x", 1, 0, 0);
	tap_ok(is_error(r, AJW_E_READ_ONLY), "PUT into a read-only bind: READ_ONLY");
	res_free(r);
	r = mkdir_req(w, "ro/d", 0);
	tap_ok(is_error(r, AJW_E_READ_ONLY), "MKDIR in a read-only bind: READ_ONLY");
	res_free(r);
	umount2(path, MNT_DETACH);
	umount2(target, MNT_DETACH);
}

/* ---- for agent runtimes ---- */

static bool
read_full_fd(int fd, void *buf, size_t n)
{
	char *p = buf;

	while (n) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		if (poll(&pfd, 1, 2000) <= 0)
			return false;
		ssize_t r = read(fd, p, n);
		if (r <= 0)
			return false;
		p += r;
		n -= (size_t)r;
	}
	return true;
}

static struct res *
connect_send(struct wk *w, uint16_t port, uint32_t timeout_ms)
{
	struct res *r = res_new();
	struct ajw_connect c = {.port = port, .timeout_ms = timeout_ms};

	msg_send(w, AJW_CONNECT, r->id, &c, sizeof(c));
	return r;
}

static struct res *
connect_req(struct wk *w, uint16_t port, uint32_t timeout_ms)
{
	struct res *r = connect_send(w, port, timeout_ms);

	if (!wait_for(w, &r->done, 10000))
		tap_diag("connect %u: no answer", port);
	return r;
}

/* A TCP socket on 127.0.0.1, an ephemeral port; listening with backlog
 * unless backlog < 0. */
static int
tcp_socket(int backlog, uint16_t *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    (backlog >= 0 && listen(fd, backlog) < 0) ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		tap_diag("tcp socket: %s", strerror(errno));
		return -1;
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

static uint16_t
sock_port(int fd, bool peer)
{
	struct sockaddr_in sa = {0};
	socklen_t len = sizeof(sa);

	if ((peer ? getpeername(fd, (struct sockaddr *)&sa, &len)
		  : getsockname(fd, (struct sockaddr *)&sa, &len)) < 0 ||
	    sa.sin_family != AF_INET || sa.sin_addr.s_addr != htonl(INADDR_LOOPBACK))
		return 0;
	return ntohs(sa.sin_port);
}

static int
accept_within(int lfd, int timeout_ms)
{
	struct pollfd pfd = {.fd = lfd, .events = POLLIN};

	if (poll(&pfd, 1, timeout_ms) <= 0)
		return -1;
	return accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
}

/* n bytes both ways between a and b. */
static bool
talk(int a, int b)
{
	char buf[16] = "";

	return write(a, "ping", 4) == 4 && read_full_fd(b, buf, 4) && !memcmp(buf, "ping", 4) &&
	       write(b, "pong", 4) == 4 && read_full_fd(a, buf, 4) && !memcmp(buf, "pong", 4);
}

static void
test_connect(struct wk *w)
{
	struct res *r, *p, *many[AJW_MAX_CONNECTS], *extra, *big;
	uint16_t port, closed, full;
	int lfd, cfd, peer, fill[4], good;
	uint64_t t0;

	lfd = tcp_socket(64, &port);
	r = connect_req(w, port, 0);
	peer = accept_within(lfd, 2000);
	tap_ok(r->connected && r->fd >= 0 && !r->errored && w->fd_errors == 0 &&
		       sock_port(r->fd, true) == port && peer >= 0 &&
		       sock_port(peer, true) == sock_port(r->fd, false) && talk(r->fd, peer),
	       "CONNECT: CONNECTED with a socket connected to 127.0.0.1:%u, bytes both ways", port);
	tap_ok(r->fd >= 0 && (fcntl(r->fd, F_GETFD) & FD_CLOEXEC),
	       "... received close-on-exec (MSG_CMSG_CLOEXEC)");
	if (peer >= 0)
		close(peer);
	res_free(r);

	/* Several, while a command streams 3 MB: each CONNECTED gets its own
	 * socket, in order, amid the output. */
	big = exec_send(w, NULL, (const char *const[]){"head", "-c", "3000000", "/dev/zero", NULL},
			NULL, 0, 0, 0);
	for (int i = 0; i < 4; i++)
		many[i] = connect_send(w, port, 0);
	good = 0;
	for (int i = 0; i < 4; i++) {
		uint16_t local;
		wait_for(w, &many[i]->done, 10000);
		local = many[i]->fd >= 0 ? sock_port(many[i]->fd, false) : 0;
		peer = accept_within(lfd, 2000);
		if (many[i]->connected && sock_port(many[i]->fd, true) == port && local &&
		    peer >= 0)
			good++;
		if (peer >= 0)
			close(peer);
	}
	wait_for(w, &big->done, 10000);
	tap_ok(good == 4 && big->nout == 3000000 && w->fd_errors == 0 && w->nfds == 0,
	       "4 CONNECTs amid 3 MB of output: 4 sockets, one per CONNECTED (%d), output "
	       "intact",
	       good);
	for (int i = 0; i < 4; i++) {
		for (int j = 0; j < i; j++)
			if (many[i]->fd >= 0 && many[j]->fd >= 0 &&
			    sock_port(many[i]->fd, false) == sock_port(many[j]->fd, false))
				good = -1;
	}
	tap_ok(good == 4, "... four distinct connections");
	for (int i = 0; i < 4; i++)
		res_free(many[i]);
	res_free(big);

	/* A port bound but not listening: refused. */
	cfd = tcp_socket(-1, &closed);
	r = connect_req(w, closed, 0);
	char want[64];
	snprintf(want, sizeof(want), "connect 127.0.0.1:%u: Connection refused", closed);
	tap_ok(is_error(r, AJW_E_CONNECT) && r->er.err == ECONNREFUSED && !strcmp(r->emsg, want) &&
		       r->fd < 0,
	       "CONNECT to a closed port: CONNECT ECONNREFUSED ('%s')", r->emsg);
	res_free(r);
	close(cfd);

	r = connect_req(w, 0, 0);
	tap_ok(is_error(r, AJW_E_BAD_REQUEST), "CONNECT to port 0: BAD_REQUEST");
	res_free(r);

	/* A listener whose accept queue is full drops SYNs: the connect
	 * hangs until its deadline, and the worker serves meanwhile. */
	cfd = tcp_socket(0, &full);
	for (int i = 0; i < 4; i++) {
		struct sockaddr_in sa = {.sin_family = AF_INET,
					 .sin_port = htons(full),
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		connect(fill[i], (struct sockaddr *)&sa, sizeof(sa));
	}
	usleep(100000);
	t0 = now_ms();
	r = connect_send(w, full, 700);
	p = ping_req(w);
	uint64_t t_ping = now_ms() - t0;
	wait_for(w, &r->done, 5000);
	uint64_t t_conn = now_ms() - t0;
	tap_ok(p->ok && t_ping < 300 && r->errored && r->er.code == AJW_E_CONNECT &&
		       r->er.err == ETIMEDOUT && t_conn >= 600 && t_conn < 2000,
	       "a connect that hangs: PING answered meanwhile (%llu ms), ETIMEDOUT at its "
	       "deadline (%llu ms, code %u err %d)",
	       (unsigned long long)t_ping, (unsigned long long)t_conn, r->er.code, r->er.err);
	res_free(p);
	res_free(r);

	r = connect_send(w, full, 10000);
	usleep(100000);
	t0 = now_ms();
	msg_send(w, AJW_CANCEL, r->id, NULL, 0);
	wait_for(w, &r->done, 5000);
	tap_ok(r->errored && r->er.err == ECANCELED && now_ms() - t0 < 1000,
	       "CANCEL of a pending CONNECT: ERROR ECANCELED");
	res_free(r);

	for (int i = 0; i < AJW_MAX_CONNECTS; i++)
		many[i] = connect_send(w, full, 10000);
	extra = connect_send(w, full, 10000);
	wait_for(w, &extra->done, 5000);
	tap_ok(is_error(extra, AJW_E_BUSY), "%u CONNECTs in flight: the next is BUSY",
	       AJW_MAX_CONNECTS);
	res_free(extra);
	good = 0;
	for (int i = 0; i < AJW_MAX_CONNECTS; i++)
		msg_send(w, AJW_CANCEL, many[i]->id, NULL, 0);
	for (int i = 0; i < AJW_MAX_CONNECTS; i++) {
		good += wait_for(w, &many[i]->done, 5000) && many[i]->er.err == ECANCELED;
		res_free(many[i]);
	}
	tap_ok(good == AJW_MAX_CONNECTS, "... all cancelled (%d)", good);
	for (int i = 0; i < 4; i++)
		close(fill[i]);
	close(cfd);
	close(lfd);
}

static struct res *
secret_req(struct wk *w, const char *name, const void *data, size_t n, uint32_t mode)
{
	struct res *r = res_new();
	struct ajw_secret s = {.mode = mode};
	size_t nl = strlen(name) + 1, len = sizeof(s) + nl + n;
	char *buf = malloc(len);

	memcpy(buf, &s, sizeof(s));
	memcpy(buf + sizeof(s), name, nl);
	memcpy(buf + sizeof(s) + nl, data, n);
	msg_send(w, AJW_SECRET, r->id, buf, len);
	free(buf);
	if (!wait_for(w, &r->done, 10000))
		tap_diag("secret %s: no answer", name);
	return r;
}

/* The file's mode and content are exactly these. */
static bool
secret_is(const char *dir, const char *name, mode_t mode, const void *data, size_t n)
{
	char path[512], *buf = malloc(n + 1);
	struct stat st;
	bool ok;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_NOFOLLOW);
	ok = fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	     (st.st_mode & 07777) == mode && (size_t)st.st_size == n &&
	     (n == 0 || read_full_fd(fd, buf, n)) && !memcmp(buf, data, n);
	if (fd >= 0)
		close(fd);
	free(buf);
	return ok;
}

static int
count_entries(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	while (d && (de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	if (d)
		closedir(d);
	return d ? n : -1;
}

static mode_t
mode_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_mode & 07777 : 0;
}

static void
test_secrets(struct wk *w, bool mounts)
{
	static const char data[] = "s3cr\0t\nwith a NUL";
	char name65[66], path[256];
	struct res *r;

	r = secret_req(w, "api_key", data, sizeof(data), 0);
	tap_ok(r->ok && secret_is(secrets, "api_key", 0400, data, sizeof(data)) &&
		       mode_of(secrets) == 0500,
	       "SECRET: a 0400 file of exactly the content, the directory back to 0500");
	res_free(r);

	r = secret_req(w, "api_key", "other", 5, 0);
	tap_ok(is_error(r, AJW_E_EXISTS) && r->er.err == EEXIST && !strstr(r->emsg, "other") &&
		       secret_is(secrets, "api_key", 0400, data, sizeof(data)),
	       "the same name again: EXISTS EEXIST, the first one kept ('%s')", r->emsg);
	res_free(r);

	memset(name65, 'a', 65);
	name65[65] = '\0';
	const char *const bad[] = {"..",   ".",		  "a/b",  "",  "a b",
				   "/etc", "caf\xc3\xa9", name65, NULL};
	int refused = 0;
	for (int i = 0; bad[i]; i++) {
		r = secret_req(w, bad[i], "x", 1, 0);
		if (is_error(r, AJW_E_BAD_REQUEST) && r->er.err == EINVAL)
			refused++;
		else
			tap_diag("name '%s' not refused", bad[i]);
		res_free(r);
	}
	tap_ok(refused == 8 && count_entries(secrets) == 1,
	       "bad names ('..', '.', 'a/b', '', 'a b', '/etc', non-ASCII, 65 chars): "
	       "BAD_REQUEST, nothing written");
	r = secret_req(w, name65 + 1, "x", 1, 0);
	tap_ok(r->ok, "a name of 64 characters is fine");
	res_free(r);

	r = secret_req(w, "rw", "x", 1, 0600);
	tap_ok(is_error(r, AJW_E_BAD_REQUEST) && count_entries(secrets) == 2,
	       "mode 0600: BAD_REQUEST");
	res_free(r);
	r = secret_req(w, "shared", "x", 1, 0440);
	tap_ok(r->ok && secret_is(secrets, "shared", 0440, "x", 1), "mode 0440 as asked");
	res_free(r);
	r = secret_req(w, "empty", "", 0, 0);
	tap_ok(r->ok && secret_is(secrets, "empty", 0400, "", 0), "an empty secret");
	res_free(r);

	size_t n = AJW_MAX_PAYLOAD - sizeof(struct ajw_secret) - 4;
	char *big = malloc(n);
	for (size_t i = 0; i < n; i++)
		big[i] = (char)(i * 7);
	r = secret_req(w, "big", big, n, 0);
	tap_ok(r->ok && secret_is(secrets, "big", 0400, big, n),
	       "the largest secret a message holds (%zu bytes)", n);
	res_free(r);

	snprintf(path, sizeof(path), "%s.away", secrets);
	rename(secrets, path);
	r = secret_req(w, "nodir", "x", 1, 0);
	tap_ok(is_error(r, AJW_E_NOT_FOUND) && r->er.err == ENOENT,
	       "no secrets directory: NOT_FOUND");
	res_free(r);
	rename(path, secrets);

	/* A full tmpfs: ENOSPC, nothing left behind. */
	if (!mounts) {
		tap_skip("a secret larger than its tmpfs (needs root)");
	} else if (mkdir(path, 0755) < 0 ||
		   mount("tmpfs", path, "tmpfs", 0, "size=16k,mode=0500") < 0) {
		tap_skip("tmpfs: %s", strerror(errno));
	} else {
		spawn_secrets = path;
		struct wk w2;
		if (wk_start(&w2, -1, -1)) {
			r = secret_req(&w2, "huge", big, 256 << 10, 0);
			tap_ok(is_error(r, AJW_E_NO_SPACE) && r->er.err == ENOSPC &&
				       count_entries(path) == 0 && mode_of(path) == 0500,
			       "larger than its tmpfs: NO_SPACE ENOSPC, no file left, mode 0500");
			res_free(r);
			wk_stop(&w2);
		} else {
			tap_ok(0, "a worker with --secrets on a small tmpfs starts");
		}
		spawn_secrets = NULL;
		umount2(path, MNT_DETACH);
		rmdir(path);
	}
	free(big);

	/* As in a jail: the worker, not root, owns the 0500 directory. */
	if (geteuid() != 0) {
		tap_skip("a 0500 secrets directory of the worker's uid (needs root)");
		return;
	}
	snprintf(path, sizeof(path), "%s/nobody-secrets", base);
	struct wk w3;
	mkdir(path, 0500);
	if (chown(path, 65534, 65534) < 0 || chmod(base, 0711) < 0) {
		tap_skip("chown: %s", strerror(errno));
		return;
	}
	spawn_mode = SPAWN_NOBODY;
	spawn_ws = "/";
	spawn_secrets = path;
	bool started = wk_start(&w3, -1, -1);
	spawn_mode = SPAWN_PLAIN;
	spawn_ws = spawn_secrets = NULL;
	if (!started) {
		tap_ok(0, "a worker as 65534 starts");
		return;
	}
	r = secret_req(&w3, "token", "t0k3n", 5, 0);
	struct stat st;
	char file[300];
	snprintf(file, sizeof(file), "%s/token", path);
	tap_ok(r->ok && stat(file, &st) == 0 && st.st_uid == 65534 &&
		       (st.st_mode & 07777) == 0400 && mode_of(path) == 0500,
	       "as the directory's owner, without CAP_DAC_OVERRIDE: written, 0500 restored");
	res_free(r);
	wk_stop(&w3);
	chmod(base, 0700);
}

static void
test_agent(struct wk *w)
{
	struct res *r, *r2, *e;
	uint64_t hard = AJW_HARD_CAP(AJW_DEFAULT_MAX_OUTPUT);
	char n[32];
	size_t ticks;

	/* Past the hard cap of an ordinary exec, even asked for a small one. */
	snprintf(n, sizeof(n), "%llu", (unsigned long long)(hard + 3 * MIB));
	r = exec_send(w, NULL, (const char *const[]){"head", "-c", n, "/dev/zero", NULL}, NULL, 0,
		      1000, AJW_EXEC_AGENT);
	r->discard = true;
	wait_for(w, &r->done, 30000);
	tap_ok(r->exited && r->ex.exit_code == 0 && r->ex.flags == 0 && r->nout == hard + 3 * MIB &&
		       r->ex.stdout_bytes == hard + 3 * MIB,
	       "AGENT: %s bytes (past an exec's hard cap, max_output_bytes 1000 ignored), all "
	       "streamed, nothing flagged (%zu)",
	       n, r->nout);
	res_free(r);

	r = exec_send(w, NULL, (const char *const[]){"sleep", "30", NULL}, NULL, 1000, 0,
		      AJW_EXEC_AGENT);
	wait_for(w, &r->done, 5000);
	tap_ok(is_error(r, AJW_E_BAD_REQUEST) && r->er.err == EINVAL && !r->started,
	       "AGENT with a timeout: BAD_REQUEST EINVAL");
	res_free(r);

	r = exec_send(
		w, NULL,
		(const char *const[]){"sh", "-c", "while :; do echo tick; sleep 0.05; done", NULL},
		NULL, 0, 0, AJW_EXEC_AGENT);
	wait_for(w, &r->started, 5000);
	r2 = exec_send(w, NULL, (const char *const[]){"true", NULL}, NULL, 0, 0, AJW_EXEC_AGENT);
	wait_for(w, &r2->done, 5000);
	tap_ok(r->started && is_error(r2, AJW_E_BUSY) && r2->er.err == EBUSY,
	       "a second AGENT while one runs: BUSY");
	res_free(r2);
	e = run(w, (const char *const[]){"echo", "beside", NULL});
	tap_ok(out_is(e, "beside\n"), "an ordinary exec runs beside the agent");
	res_free(e);
	uint64_t until = now_ms() + 5000;
	while ((ticks = r->out ? (size_t)(r->nout / 5) : 0) < 10 && now_ms() < until &&
	       pump(w, 1000))
		;
	tap_ok(ticks >= 10 && !r->exited, "the agent's output keeps flowing (%zu lines)", ticks);
	msg_send(w, AJW_CANCEL, r->id, NULL, 0);
	wait_for(w, &r->done, 5000);
	tap_ok(r->exited && (r->ex.flags & AJW_EXIT_CANCELLED) && r->ex.signal == SIGKILL &&
		       gone(r->pid, 2000),
	       "CANCEL kills the agent: EXIT CANCELLED");
	res_free(r);

	r = exec_send(w, NULL, (const char *const[]){"echo", "again", NULL}, NULL, 0, 0,
		      AJW_EXEC_AGENT);
	wait_for(w, &r->done, 5000);
	tap_ok(out_is(r, "again\n") && r->exited && r->ex.exit_code == 0,
	       "after its EXIT, another AGENT may start");
	res_free(r);

	/* Unbounded output to a client that stops reading: backpressure, not
	 * memory nor a kill. */
	long before = rss_kib(w->pid), kib;
	r = exec_send(w, NULL, (const char *const[]){"yes", NULL}, NULL, 0, 0, AJW_EXEC_AGENT);
	r->discard = true;
	until = now_ms() + 10000;
	while (r->nout < 3 * hard && now_ms() < until && pump(w, 1000))
		;
	size_t got = r->nout;
	usleep(500000);
	kib = rss_kib(w->pid);
	msg_send(w, AJW_CANCEL, r->id, NULL, 0);
	wait_for(w, &r->done, 10000);
	tap_ok(got >= 3 * hard && kib > 0 && kib - before < 8192 && r->exited &&
		       !(r->ex.flags & (AJW_EXIT_OUTPUT_LIMIT | AJW_EXIT_STDOUT_TRUNCATED)) &&
		       (r->ex.flags & AJW_EXIT_CANCELLED),
	       "an endless AGENT: %zu bytes streamed, the worker grows %ld KiB while the client "
	       "does not read, never killed for it",
	       got, kib - before);
	res_free(r);
}

/* After all that, the worker holds what it started with: 0-2, the socket,
 * the workspace, /dev/null, the signalfd and the epoll fd. */
static void
test_fds(struct wk *w)
{
	char path[64];
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", w->pid);
	d = opendir(path);
	if (!d) {
		tap_skip("descriptors of the worker: %s", strerror(errno));
		return;
	}
	while (readdir(d))
		n++;
	closedir(d);
	tap_ok(n - 2 == 8, "no descriptor leaked: %d open", n - 2);
}

/* A malformed message ends the worker with status 3. */
static void
test_malformed(void)
{
	struct {
		const char *what;
		struct ajw_hdr h;
		const char *payload;
		size_t n;
	} cases[] = {
		{"a payload over AJW_MAX_PAYLOAD", {AJW_PING, 1, AJW_MAX_PAYLOAD + 1, 0}, NULL, 0},
		{"an unknown type", {9999, 1, 0, 0}, NULL, 0},
		{"a reply type", {AJW_HELLO, 1, 0, 0}, NULL, 0},
		{"id 0", {AJW_PING, 0, 0, 0}, NULL, 0},
		{"reserved flags", {AJW_PING, 1, 0, 1}, NULL, 0},
		{"a path without its NUL", {AJW_STAT, 1, 3, 0}, "abc", 3},
		{"a path with two strings", {AJW_STAT, 1, 4, 0}, "a\0b", 4},
		{"SIGNAL 99", {AJW_SIGNAL, 1, 4, 0}, "\x63\0\0\0", 4},
		{"CONNECT of 4 bytes", {AJW_CONNECT, 1, 4, 0}, "\x50\0\0\0", 4},
		{"CONNECT with reserved bits", {AJW_CONNECT, 1, 8, 0}, "\x50\0\1\0\0\0\0\0", 8},
		{"SECRET without a name", {AJW_SECRET, 1, 8, 0}, "\0\0\0\0\0\0\0\0", 8},
		{"SECRET with a name without its NUL",
		 {AJW_SECRET, 1, 10, 0},
		 "\0\0\0\0\0\0\0\0ab",
		 10},
		{"SECRET with reserved bits", {AJW_SECRET, 1, 10, 0}, "\0\0\0\0\1\0\0\0a\0", 10},
		{"a SECRET over AJW_MAX_PAYLOAD", {AJW_SECRET, 1, AJW_MAX_PAYLOAD + 1, 0}, NULL, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct wk w;
		if (!wk_start(&w, -1, -1)) {
			tap_ok(0, "malformed: worker start");
			continue;
		}
		send_raw(&w, &cases[i].h, sizeof(cases[i].h));
		send_raw(&w, cases[i].payload, cases[i].n);
		int st = wk_wait(&w, 5000);
		tap_ok(st == 3, "%s: the worker exits 3 (%d)", cases[i].what, st);
		close(w.sock);
	}

	/* EXEC whose counts do not match its strings. */
	struct wk w;
	struct ajw_exec x = {.argc = 2};
	if (wk_start(&w, -1, -1)) {
		msg_send2(&w, AJW_EXEC, 1, &x, sizeof(x), "\0echo\0", 6);
		tap_ok(wk_wait(&w, 5000) == 3, "EXEC with argc 2 and one argument: exit 3");
		close(w.sock);
	}
	if (wk_start(&w, -1, -1)) {
		msg_send2(&w, AJW_EXEC, 1, &x, sizeof(x), "\0echo\0a\0extra\0", 14);
		tap_ok(wk_wait(&w, 5000) == 3, "EXEC with bytes after its strings: exit 3");
		close(w.sock);
	}
	if (wk_start(&w, -1, -1)) {
		struct ajw_exec sl = {.argc = 2};
		msg_send2(&w, AJW_EXEC, 7, &sl, sizeof(sl),
			  "\0sleep\0"
			  "5\0",
			  10);
		msg_send2(&w, AJW_EXEC, 7, &sl, sizeof(sl),
			  "\0sleep\0"
			  "5\0",
			  10);
		tap_ok(wk_wait(&w, 5000) == 3, "a second EXEC with an id in flight: exit 3");
		close(w.sock);
	}
	if (wk_start(&w, -1, -1)) {
		struct ajw_exec f = {.argc = 1, .flags = 4};
		msg_send2(&w, AJW_EXEC, 1, &f, sizeof(f), "\0true\0", 6);
		tap_ok(wk_wait(&w, 5000) == 3, "EXEC with an unknown flag: exit 3");
		close(w.sock);
	}
	x.argc = 0;
	if (wk_start(&w, -1, -1)) {
		msg_send2(&w, AJW_EXEC, 1, &x, sizeof(x), "\0", 1);
		tap_ok(wk_wait(&w, 5000) == 3, "EXEC with argc 0: exit 3");
		close(w.sock);
	}

	int null = open("/dev/null", O_RDWR);
	wk_start_fds(&w, null, -1, -1);
	tap_ok(wk_wait(&w, 5000) == 2, "fd 3 not a socket: exit 2");
	close(null);
}

static int
filter_memfd(uint32_t magic)
{
	struct sock_filter insns[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mkdir, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mkdirat, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct ajw_filter_hdr fh = {.magic = magic, .n_progs = 1};
	struct ajw_filter_prog ph = {.len = sizeof(insns) / sizeof(insns[0])};
	int fd = memfd_create("filter", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0 || write(fd, &fh, sizeof(fh)) != sizeof(fh) ||
	    write(fd, &ph, sizeof(ph)) != sizeof(ph) ||
	    write(fd, insns, sizeof(insns)) != sizeof(insns))
		return -1;
	fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	return fd;
}

static void
test_filter(void)
{
	struct wk w;
	struct res *r;
	int fd = filter_memfd(AJW_FILTER_MAGIC);

	if (fd < 0 || !wk_start(&w, -1, fd)) {
		tap_ok(0, "a worker with a filter memfd starts");
		return;
	}
	tap_ok(w.hello.flags == AJW_HELLO_FILTER, "HELLO says FILTER");
	r = run(&w, (const char *const[]){"mkdir", "made-by-cmd", NULL});
	tap_ok(r->exited && r->ex.exit_code != 0 && r->err &&
		       strstr(r->err, "Operation not permitted"),
	       "the command runs under the profile's filter");
	res_free(r);
	r = run(&w, (const char *const[]){"echo", "ok", NULL});
	tap_ok(out_is(r, "ok\n"), "... which allows the rest");
	res_free(r);
	r = mkdir_req(&w, "made-by-worker", 0);
	tap_ok(r->ok, "... and binds only commands, not the worker");
	res_free(r);
	wk_stop(&w);
	close(fd);

	/* What jail_filter_memfd() writes for no filter: a header, 0 programs. */
	struct ajw_filter_hdr none = {.magic = AJW_FILTER_MAGIC};
	fd = memfd_create("filter", MFD_CLOEXEC);
	if (fd >= 0 && write(fd, &none, sizeof(none)) == sizeof(none) && wk_start(&w, -1, fd)) {
		r = run(&w, (const char *const[]){"echo", "ok", NULL});
		tap_ok(w.hello.flags == 0 && out_is(r, "ok\n"),
		       "a memfd of no programs: no filter, and HELLO does not claim one");
		res_free(r);
		wk_stop(&w);
	} else {
		tap_ok(0, "a memfd of no programs: the worker starts");
	}
	close(fd);

	fd = filter_memfd(0x12345678);
	wk_start_fds(&w, -1, -1, fd);
	tap_ok(wk_wait(&w, 5000) == 2, "a bad filter memfd: exit 2 (fail closed)");
	close(w.sock);
	close(fd);
}

/* As root: the worker runs as nobody; its /proc files must be root's. */
static void
test_not_dumpable(void)
{
	char path[64], line[256];
	bool uid_ok = false;
	struct stat st;
	struct wk w;
	FILE *f;

	if (geteuid() != 0) {
		/* Our own uid: a dumpable worker's files would be ours. */
		if (!wk_start(&w, -1, -1)) {
			tap_ok(0, "a worker starts");
			return;
		}
		snprintf(path, sizeof(path), "/proc/%d/mem", w.pid);
		tap_ok(stat(path, &st) == 0 && st.st_uid != geteuid(),
		       "the worker is not dumpable: its /proc/PID/mem is not its uid's");
		wk_stop(&w);
		return;
	}
	spawn_mode = SPAWN_NOBODY;
	spawn_ws = "/";
	bool started = wk_start(&w, -1, -1);
	spawn_mode = SPAWN_PLAIN;
	spawn_ws = NULL;
	snprintf(path, sizeof(path), "/proc/%d/status", w.pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "Uid:", 4))
			uid_ok = atoi(line + 4) == 65534;
	if (f)
		fclose(f);
	/* (The world-readable directories keep the process's uid.) */
	snprintf(path, sizeof(path), "/proc/%d/mem", w.pid);
	tap_ok(started && uid_ok && stat(path, &st) == 0 && st.st_uid == 0,
	       "the worker is not dumpable: running as 65534, its /proc/PID/mem is root's");
	wk_stop(&w);
}

/* As root: the worker as init of a pid namespace. */
static void
test_pid1(void)
{
	struct res *r, *p;
	struct wk w;

	if (geteuid() != 0) {
		tap_skip("the worker as a pid namespace's init (needs root)");
		return;
	}
	spawn_mode = SPAWN_PID1;
	bool started = wk_start(&w, -1, -1);
	spawn_mode = SPAWN_PLAIN;
	if (!started) {
		tap_skip("the worker as a pid namespace's init: no pid namespace");
		wk_wait(&w, 2000);
		close(w.sock);
		return;
	}
	tap_ok(w.hello.pid == 1, "HELLO from a namespace's init: pid 1");
	r = run(&w, (const char *const[]){"sh", "-c",
					  "kill -TERM 1; kill -INT 1; kill -HUP 1; kill -KILL 1; "
					  "echo sent",
					  NULL});
	p = ping_req(&w);
	tap_ok(out_is(r, "sent\n") && p->ok && waitpid(w.pid, NULL, WNOHANG) == 0,
	       "signals from inside the jail do not end the worker");
	res_free(r);
	res_free(p);

	r = run(&w, (const char *const[]){"sh", "-c",
					  "setsid sleep 30 >/dev/null 2>&1 & "
					  "sh -c 'sleep 0.1 &'; sleep 0.3",
					  NULL});
	res_free(r);
	r = run(&w, (const char *const[]){"sh", "-c", "cat /proc/[0-9]*/stat", NULL});
	tap_ok(r->out && strstr(r->out, "(agentjail-work") && !strstr(r->out, "(sleep)") &&
		       !strstr(r->out, ") Z "),
	       "as init without cgroups: a setsid escapee is killed, orphans are reaped");
	if (r->out && (strstr(r->out, "(sleep)") || strstr(r->out, ") Z ")))
		tap_diag("%s", r->out);
	res_free(r);
	wk_stop(&w);
}

static void
test_end(void)
{
	struct wk w;
	struct res *r;
	pid_t bg, main_pid;
	char path[256];

	if (!wk_start(&w, -1, -1))
		return;
	r = exec_send(&w, NULL,
		      (const char *const[]){"sh", "-c", "sleep 30 & echo $!; sleep 30", NULL}, NULL,
		      0, 0, 0);
	wait_for(&w, &r->started, 5000);
	while (!r->out && pump(&w, 5000))
		;
	bg = first_pid(r);
	main_pid = r->pid;
	kill(w.pid, SIGTERM);
	tap_ok(wk_wait(&w, 5000) == 0, "SIGTERM: the worker exits 0");
	tap_ok(bg > 0 && gone(bg, 3000) && gone(main_pid, 3000),
	       "... and no process of it survives");
	res_free(r);
	close(w.sock);

	if (!wk_start(&w, -1, -1))
		return;
	r = res_new();
	struct ajw_put put = {0};
	msg_send2(&w, AJW_PUT, r->id, &put, sizeof(put), "half", 5);
	wait_for(&w, &r->ready, 5000);
	msg_send(&w, AJW_DATA, r->id, "part", 4);
	close(w.sock);
	snprintf(path, sizeof(path), "%s/half", ws);
	tap_ok(wk_wait(&w, 5000) == 0 && access(path, F_OK) < 0,
	       "the supervisor gone: exit 0, no half-written upload");
	res_free(r);
}

/* ---- with a cgroup ---- */

static bool
cgroup2_dir(char *out, size_t size)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[1024];
	bool found = false;

	while (f && !found && fgets(line, sizeof(line), f)) {
		char mnt[512], *sep = strstr(line, " - ");
		if (sep && !strncmp(sep, " - cgroup2 ", 11) &&
		    sscanf(line, "%*s %*s %*s %*s %511s", mnt) == 1) {
			snprintf(out, size, "%s/ajw-test-%d", mnt, getpid());
			found = mkdir(out, 0755) == 0;
		}
	}
	if (f)
		fclose(f);
	return found;
}

static void
test_cgroup(void)
{
	char dir[600], cmd[700];
	struct wk w;
	struct res *r;
	uint64_t t0;
	pid_t bg;

	if (geteuid() != 0 || !cgroup2_dir(dir, sizeof(dir))) {
		tap_skip("per-exec cgroups (needs root and a cgroup2 mount)");
		return;
	}
	int cg = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (!wk_start(&w, cg, -1)) {
		tap_ok(0, "a worker with a cgroup fd starts");
		rmdir(dir);
		return;
	}
	tap_ok(w.hello.flags == AJW_HELLO_CGROUP, "HELLO says CGROUP");
	r = run(&w, (const char *const[]){"cat", "/proc/self/cgroup", NULL});
	snprintf(cmd, sizeof(cmd), "/ajw-test-%d/exec-%u-", getpid(), r->id);
	tap_ok(r->exited && r->out && strstr(r->out, cmd),
	       "the command runs in its own cgroup (%s)", r->out ? r->out : "");
	res_free(r);

	t0 = now_ms();
	r = run_full(&w, NULL,
		     (const char *const[]){
			     "sh", "-c", "echo a; setsid sh -c 'echo $$; exec sleep 30' & sleep 30",
			     NULL},
		     NULL, 1000, 0);
	bg = r->out ? atoi(strchr(r->out, '\n') ? strchr(r->out, '\n') + 1 : r->out) : 0;
	tap_ok(r->exited && (r->ex.flags & AJW_EXIT_TIMED_OUT) && now_ms() - t0 < 2500 && bg > 0 &&
		       gone(bg, 2000),
	       "timeout with cgroup.kill: a setsid escapee dies too");
	res_free(r);

	r = run(&w, (const char *const[]){"sh", "-c", "setsid sleep 30 >/dev/null 2>&1 & echo $!",
					  NULL});
	bg = first_pid(r);
	tap_ok(r->exited && r->ex.exit_code == 0 && bg > 0 && gone(bg, 2000),
	       "a detached daemon does not outlive its exec");
	res_free(r);

	r = run(&w, (const char *const[]){
			    "sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done", NULL});
	tap_ok(r->exited && r->ex.exit_code == 0 && r->ex.cpu_us > 0,
	       "cpu_us from the exec's cpu.stat (%llu)", (unsigned long long)r->ex.cpu_us);
	res_free(r);

	snprintf(cmd, sizeof(cmd), "test -z \"$(find '%s' -mindepth 1 -type d)\"", dir);
	tap_ok(system(cmd) == 0, "every exec cgroup is removed");
	kill(w.pid, SIGTERM);
	wk_wait(&w, 5000);
	close(w.sock);
	close(cg);
	rmdir(dir);
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

int
main(void)
{
	struct wk w;
	bool mounts = false;

	if (access(worker_path(), X_OK) < 0) {
		printf("not ok - %s: %s (make builds it)\n", worker_path(), strerror(errno));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	/* As root: a private mount namespace for the bind mounts. */
	if (geteuid() == 0 && unshare(CLONE_NEWNS) == 0 &&
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0)
		mounts = true;
	snprintf(base, sizeof(base), "/tmp/ajworker.XXXXXX");
	if (!mkdtemp(base))
		return 1;
	snprintf(ws, sizeof(ws), "%s/ws", base);
	snprintf(outside, sizeof(outside), "%s/outside", base);
	snprintf(secret, sizeof(secret), "%s/secret", base);
	snprintf(secrets, sizeof(secrets), "%s/secrets", base);
	mkdir(ws, 0755);
	mkdir(secrets, 0500);
	mkdir(outside, 0755);
	write_file(secret, "SECRET\n", 0644);

	if (!wk_start(&w, -1, -1)) {
		tap_ok(0, "the worker starts and says HELLO");
		return tap_done();
	}
	tap_ok(w.hello.flags == 0 && w.hello.pid == w.pid && w.hello.version == 2,
	       "HELLO: version 2, no cgroup, no filter");
	struct res *p = ping_req(&w);
	tap_ok(p->ok, "PING: OK");
	res_free(p);

	test_exec(&w);
	test_env_cwd(&w);
	test_stdin(&w);
	test_kill(&w);
	test_output(&w);
	test_concurrent(&w);
	test_files(&w);
	test_backpressure(&w);
	test_attacks(&w, mounts);
	test_connect(&w);
	test_secrets(&w, mounts);
	test_agent(&w);
	test_fds(&w);
	wk_stop(&w);

	test_malformed();
	test_filter();
	test_end();
	test_not_dumpable();
	test_pid1();
	test_cgroup();

	nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
	return tap_done();
}
