/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agentjaild's monitor: the privileged process. It holds the profiles and
 * every jail, and does for the HTTP process exactly the things privsep.h
 * lists, nothing else. One epoll loop: the privsep socket, a signalfd,
 * the HTTP process's pidfd, each worker's pidfd.
 */
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "internal.h"
#include "log.h"
#include "monitor.h"
#include "privsep.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* What the worker itself needs beyond a profile's policy (its own filter is
 * the profile's plus these; commands then get exactly the profile's). */
static const char *const worker_syscalls[] = {
	"read",
	"write",
	"readv",
	"writev",
	"close",
	"openat",
	"openat2",
	"fstat",
	"newfstatat",
	"statx",
	"lseek",
	"getdents64",
	"mkdirat",
	"unlinkat",
	"renameat2",
	"fchmod",
	"fchmodat",
	"ftruncate",
	"fcntl",
	"dup",
	"dup2",
	"dup3",
	"pipe2",
	"epoll_create1",
	"epoll_ctl",
	"epoll_wait",
	"epoll_pwait",
	"signalfd4",
	"timerfd_create",
	"timerfd_settime",
	"pidfd_open",
	"waitid",
	"wait4",
	"kill",
	"setsid",
	"setpgid",
	"prctl",
	"execve",
	"chdir",
	"fchdir",
	"sendmsg",
	"recvmsg",
	"sendto",
	"recvfrom",
	"rt_sigaction",
	"rt_sigprocmask",
	"rt_sigreturn",
	"exit",
	"exit_group",
	"getpid",
	"getppid",
	"brk",
	"mmap",
	"munmap",
	"mprotect",
	"madvise",
	"mremap",
	"futex",
	"set_robust_list",
	"rseq",
	"set_tid_address",
	"arch_prctl",
	"prlimit64",
	"getrandom",
	"uname",
	"clock_gettime",
	"clock_nanosleep",
	"nanosleep",
	"seccomp",
	"close_range",
	"getuid",
	"geteuid",
	"getgid",
	"getegid",
	"sigaltstack",
	"readlinkat",
	"fsync",
	"umask",
	"faccessat2",
	"access",
};

/* --- profiles ---------------------------------------------------------- */

static int
mprofile_build(struct mprofile *p, struct jail_error *e)
{
	struct jail_config *c = &p->config;
	struct jail_seccomp ws = c->seccomp;
	int r;

	/* A session jail: its PID 1 lives as long as the session, which the
	 * supervisor's reaper ends, not a wall-clock limit; and it never
	 * sees the daemon's environment. */
	p->exec_timeout_max_ms = c->time_limit_ms;
	c->time_limit_ms = 0;
	c->keep_env = false;
	r = jail_filter_build(&c->seccomp, &p->filter, e);
	if (r < 0)
		return jerr_wrap(e, "profile %s", p->name);
	/* The worker's filter: the profile's policy plus the worker's own
	 * needs, built from a copy of the lists. */
	ws.allow = NULL;
	ws.n_allow = 0;
	ws.deny = NULL;
	ws.n_deny = 0;
	for (size_t i = 0; r >= 0 && i < c->seccomp.n_allow; i++)
		r = jail_config_add_syscall(&ws, true, c->seccomp.allow[i], e);
	for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(worker_syscalls); i++)
		if (jail_seccomp_policy_allows(c->seccomp.policy, worker_syscalls[i]) != 1)
			r = jail_config_add_syscall(&ws, true, worker_syscalls[i], e);
	if (r >= 0)
		r = jail_filter_build(&ws, &p->worker_filter, e);
	for (size_t i = 0; i < ws.n_allow; i++)
		free(ws.allow[i]);
	free(ws.allow);
	if (r < 0)
		return jerr_wrap(e, "profile %s: worker filter", p->name);
	return 0;
}

static int
mprofiles_add(struct mprofiles *ps, const char *name, const char *origin, bool is_file,
	      struct jail_error *e)
{
	if (mprofiles_find(ps, name))
		return 0;
	struct mprofile *v = realloc(ps->v, (ps->n + 1) * sizeof(*v));
	if (!v)
		return jerr(e, ENOMEM, "profiles");
	ps->v = v;
	struct mprofile *p = &v[ps->n];
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->origin, sizeof(p->origin), "%s", origin);
	jail_config_init(&p->config);
	int r = is_file ? jail_profile_load_file(&p->config, origin, e)
			: jail_profile_load(&p->config, name, e);
	if (r >= 0)
		r = mprofile_build(p, e);
	if (r < 0) {
		jail_config_free(&p->config);
		jail_filter_free(p->filter);
		jail_filter_free(p->worker_filter);
		return r;
	}
	ps->n++;
	return 0;
}

int
mprofiles_load(struct mprofiles *ret, const char *dir, struct jail_error *e)
{
	struct mprofiles ps = {0};
	DIR *d = opendir(dir);
	struct dirent *de;
	int r = 0;

	if (!d && errno != ENOENT)
		return jerr(e, errno, "profiles directory %s", dir);
	while (d && (de = readdir(d))) {
		size_t n = strlen(de->d_name);
		char name[72], path[4200];
		if (n <= 5 || n - 5 >= sizeof(name) || strcmp(de->d_name + n - 5, ".json") != 0)
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(n - 5), de->d_name);
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		r = mprofiles_add(&ps, name, path, true, e);
		if (r < 0)
			break;
	}
	if (d)
		closedir(d);
	static const char *const builtin[] = {"default", "minimal", "python"};
	for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(builtin); i++) {
		char origin[64];
		snprintf(origin, sizeof(origin), "builtin:%s", builtin[i]);
		r = mprofiles_add(&ps, builtin[i], origin, false, e);
	}
	if (r < 0) {
		mprofiles_free(&ps);
		return r;
	}
	*ret = ps;
	return 0;
}

void
mprofiles_free(struct mprofiles *ps)
{
	for (size_t i = 0; ps && i < ps->n; i++) {
		jail_config_free(&ps->v[i].config);
		jail_filter_free(ps->v[i].filter);
		jail_filter_free(ps->v[i].worker_filter);
	}
	if (ps) {
		free(ps->v);
		ps->v = NULL;
		ps->n = 0;
	}
}

const struct mprofile *
mprofiles_find(const struct mprofiles *ps, const char *name)
{
	for (size_t i = 0; i < ps->n; i++)
		if (strcmp(ps->v[i].name, name) == 0)
			return &ps->v[i];
	return NULL;
}

char *
mprofiles_json(const struct mprofiles *ps)
{
	json_t *a = json_array();

	for (size_t i = 0; i < ps->n; i++) {
		const struct mprofile *p = &ps->v[i];
		const struct jail_config *c = &p->config;
		json_t *mounts = json_array();
		for (size_t k = 0; k < c->n_mounts; k++)
			if (c->mounts[k].kind == JAIL_MOUNT_BIND)
				json_array_append_new(mounts,
						      json_pack("{s:s,s:s,s:b}", "source",
								c->mounts[k].source, "target",
								c->mounts[k].target, "readonly",
								c->mounts[k].readonly));
		json_t *o = json_pack("{s:s,s:s,s:{s:I,s:I,s:f,s:I},s:o,s:s?,s:s?}", "name",
				      p->name, "network", c->net == JAIL_NET_HOST ? "host" : "none",
				      "limits", "memory", (json_int_t)c->cgroup.memory_max, "pids",
				      (json_int_t)c->cgroup.pids_max, "cpu",
				      c->cgroup.cpu_ms_per_sec / 1000.0, "exec_timeout_max_ms",
				      (json_int_t)p->exec_timeout_max_ms, "mounts", mounts,
				      "workspace_host_dir", c->workspace_dir, "rootfs", c->rootfs);
		json_array_append_new(a, o);
	}
	char *s = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return s;
}

/* --- jails ------------------------------------------------------------- */

struct mjail {
	uint32_t id;
	struct jail *j;
};

static struct {
	const struct ajd_config *cfg;
	struct mprofiles *profiles;
	const char *profiles_dir;
	struct mjail *jails;
	size_t n_jails, cap;
	uint32_t next_id;
	int sock, epfd, sigfd, http_pidfd, worker_exe;
	pid_t http_pid;
} m;

/* epoll data: small numbers are our own fds' roles, jail ids are offset. */
enum { EV_SOCK = 1, EV_SIG, EV_HTTP, EV_JAIL_BASE = 16 };

static struct mjail *
find_jail(uint32_t id)
{
	for (size_t i = 0; i < m.n_jails; i++)
		if (m.jails[i].id == id)
			return &m.jails[i];
	return NULL;
}

static void
drop_jail(struct mjail *mj)
{
	epoll_ctl(m.epfd, EPOLL_CTL_DEL, jail_pidfd(mj->j), NULL);
	jail_free(mj->j); /* kills, reaps, removes the cgroup, frees the lease */
	*mj = m.jails[--m.n_jails];
}

static void
send_reply(uint32_t seq, int err, const char *msg, uint32_t jail_id, uint32_t host_uid, pid_t pid,
	   int fd, const char *extra, size_t extra_len)
{
	struct priv_reply r = {
		.h = {.type = PRIV_REPLY, .seq = seq},
		.err = err,
		.jail_id = jail_id,
		.host_uid = host_uid,
		.pid = pid,
		.len = (uint32_t)extra_len,
	};
	if (msg)
		snprintf(r.msg, sizeof(r.msg), "%s", msg);
	struct iovec iov[2] = {{&r, sizeof(r)}, {(void *)extra, extra_len}};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = extra_len ? 2 : 1};
	if (fd >= 0) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	if (sendmsg(m.sock, &mh, MSG_NOSIGNAL) < 0)
		log_event(LOG_ERROR, "privsep.send", "error", strerror(errno), NULL);
}

/* PRIV_CREATE: see privsep.h for why this is safe to grant. */
static void
handle_create(const struct priv_create *req, const char *env, size_t env_len)
{
	char name[sizeof(req->profile)];
	struct jail_error e = {0};
	char num[16];

	memcpy(name, req->profile, sizeof(name));
	name[sizeof(name) - 1] = '\0';
	const struct mprofile *p = mprofiles_find(m.profiles, name);
	if (!p) {
		jerr_plain(&e, ENOENT, "no profile '%.64s'", name);
		send_reply(req->h.seq, ENOENT, e.msg, 0, 0, 0, -1, NULL, 0);
		return;
	}
	if (m.n_jails >= m.cfg->limits.max_sessions) {
		send_reply(req->h.seq, EAGAIN, "the host's limit of live jails is reached", 0, 0, 0,
			   -1, NULL, 0);
		return;
	}
	/* A shallow copy of the profile's config: the limits only narrow, the
	 * environment is the profile's plus the request's (validated). */
	struct jail_config c = p->config;
	const struct jail_cgroup_limits *pl = &p->config.cgroup;
#define NARROW(field)                                                                              \
	if (req->field && (!pl->field || req->field < pl->field))                                  \
		c.cgroup.field = req->field;
	NARROW(memory_max);
	NARROW(pids_max);
	NARROW(cpu_ms_per_sec);
#undef NARROW
	char *envv[JAIL_MAX_ENV + PRIV_MAX_ENV + 1];
	size_t n = 0;
	for (size_t i = 0; i < p->config.n_env && n < JAIL_MAX_ENV; i++)
		envv[n++] = p->config.env[i];
	const char *s = env;
	for (uint32_t i = 0; i < req->n_env && i < PRIV_MAX_ENV; i++) {
		size_t l = strnlen(s, env_len - (size_t)(s - env));
		if ((size_t)(s - env) + l >= env_len || !strchr(s, '=') || s[0] == '=') {
			send_reply(req->h.seq, EINVAL, "malformed environment", 0, 0, 0, -1, NULL,
				   0);
			return;
		}
		envv[n++] = (char *)s;
		s += l + 1;
	}
	envv[n] = NULL;
	c.env = envv;
	c.n_env = n;

	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		send_reply(req->h.seq, errno, "socketpair", 0, 0, 0, -1, NULL, 0);
		return;
	}
	struct jail_worker w = {
		.exe_fd = m.worker_exe,
		.sock_fd = sv[1],
		.log_fd = STDERR_FILENO,
		.worker_filter = p->worker_filter,
	};
	struct jail *j = NULL;
	int r = jail_start_worker(&c, p->filter, &w, &j, &e);
	close(sv[1]);
	if (r < 0) {
		close(sv[0]);
		log_event(LOG_ERROR, "jail.create", "profile", name, "error", e.msg, NULL);
		send_reply(req->h.seq, -r, e.msg, 0, 0, 0, -1, NULL, 0);
		return;
	}
	if (m.n_jails == m.cap) {
		size_t cap = m.cap ? m.cap * 2 : 64;
		struct mjail *v = realloc(m.jails, cap * sizeof(*v));
		if (!v) {
			close(sv[0]);
			jail_free(j);
			send_reply(req->h.seq, ENOMEM, "out of memory", 0, 0, 0, -1, NULL, 0);
			return;
		}
		m.jails = v;
		m.cap = cap;
	}
	/* Notices (a limit the host cannot enforce, ...) describe the host and
	 * the profile: once per profile is enough. */
	static char noticed[64][72];
	static size_t n_noticed;
	const char *notes = jail_notices(j);
	bool seen = false;
	for (size_t i = 0; i < n_noticed; i++)
		seen |= strcmp(noticed[i], name) == 0;
	if (notes && !seen && n_noticed < ARRAY_SIZE(noticed)) {
		snprintf(noticed[n_noticed++], sizeof(noticed[0]), "%s", name);
		char line[1024];
		snprintf(line, sizeof(line), "%.*s", (int)strcspn(notes, "\n"), notes);
		log_event(LOG_WARN, "jail.notice", "profile", name, "notice", line, NULL);
	}
	uint32_t id = ++m.next_id;
	m.jails[m.n_jails++] = (struct mjail){.id = id, .j = j};
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EV_JAIL_BASE + (uint64_t)id};
	epoll_ctl(m.epfd, EPOLL_CTL_ADD, jail_pidfd(j), &ev);
	snprintf(num, sizeof(num), "%u", id);
	char uid[16];
	snprintf(uid, sizeof(uid), "%u", jail_host_uid(j));
	log_event(LOG_INFO, "jail.create", "jail", num, "profile", name, "host_uid", uid, NULL);
	send_reply(req->h.seq, 0, NULL, id, jail_host_uid(j), jail_pid(j), sv[0], NULL, 0);
	close(sv[0]);
}

/* PRIV_DESTROY: only jails this monitor made, by the id it gave. */
static void
handle_destroy(const struct priv_destroy *req)
{
	struct mjail *mj = find_jail(req->jail_id);
	char num[16];

	if (!mj) {
		send_reply(req->h.seq, ENOENT, "no such jail", 0, 0, 0, -1, NULL, 0);
		return;
	}
	snprintf(num, sizeof(num), "%u", req->jail_id);
	drop_jail(mj);
	log_event(LOG_INFO, "jail.destroy", "jail", num, NULL);
	send_reply(req->h.seq, 0, NULL, req->jail_id, 0, 0, -1, NULL, 0);
}

static void
handle_profiles(const struct priv_hdr *h)
{
	char *json = mprofiles_json(m.profiles);
	size_t len = json ? strlen(json) : 0;

	if (!json || len > PRIV_MAX_MSG - sizeof(struct priv_reply))
		send_reply(h->seq, E2BIG, "profile list too large", 0, 0, 0, -1, NULL, 0);
	else
		send_reply(h->seq, 0, NULL, 0, 0, 0, -1, json, len);
	free(json);
}

/* One request from the HTTP process. Anything malformed ends the daemon:
 * our own HTTP process never sends it, so it has been compromised. */
static int
on_request(void)
{
	static char buf[PRIV_MAX_MSG];
	ssize_t n = recv(m.sock, buf, sizeof(buf), MSG_DONTWAIT);

	if (n == 0)
		return -EPIPE;
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	if ((size_t)n < sizeof(struct priv_hdr))
		return -EPROTO;
	const struct priv_hdr *h = (const void *)buf;
	switch (h->type) {
	case PRIV_CREATE: {
		const struct priv_create *c = (const void *)buf;
		if ((size_t)n < sizeof(*c) || c->env_bytes != (size_t)n - sizeof(*c) ||
		    c->n_env > PRIV_MAX_ENV || c->env_bytes > PRIV_MAX_ENV_BYTES)
			return -EPROTO;
		handle_create(c, buf + sizeof(*c), c->env_bytes);
		return 0;
	}
	case PRIV_DESTROY:
		if ((size_t)n != sizeof(struct priv_destroy))
			return -EPROTO;
		handle_destroy((const void *)buf);
		return 0;
	case PRIV_PROFILES: handle_profiles(h); return 0;
	default: return -EPROTO;
	}
}

static void
on_jail_exit(uint32_t id)
{
	struct mjail *mj = find_jail(id);
	struct jail_result res;
	struct jail_error e = {0};
	char num[16], code[16];

	if (!mj || jail_reap(mj->j, &res, &e) == -EAGAIN)
		return;
	snprintf(num, sizeof(num), "%u", id);
	snprintf(code, sizeof(code), "%d", jail_result_exit_status(&res));
	log_event(LOG_WARN, "jail.exit", "jail", num, "termination",
		  jail_termination_name(res.termination), "status", code, NULL);
	struct priv_exited ex = {
		.h = {.type = PRIV_EXITED},
		.jail_id = id,
		.exit_code = res.exit_code,
		.signal = res.signal,
	};
	send(m.sock, &ex, sizeof(ex), MSG_NOSIGNAL);
	drop_jail(mj);
}

static void
reload_profiles(void)
{
	struct mprofiles fresh;
	struct jail_error e = {0};

	if (mprofiles_load(&fresh, m.profiles_dir, &e) < 0) {
		log_event(LOG_ERROR, "profiles.reload", "error", e.msg, NULL);
		return;
	}
	/* Live jails keep what they started with: they hold no reference to
	 * the profile they were made from. */
	mprofiles_free(m.profiles);
	*m.profiles = fresh;
	char n[16];
	snprintf(n, sizeof(n), "%zu", fresh.n);
	log_event(LOG_INFO, "profiles.reload", "profiles", n, NULL);
	struct priv_hdr h = {.type = PRIV_RELOADED};
	send(m.sock, &h, sizeof(h), MSG_NOSIGNAL);
}

static void
shutdown_all(void)
{
	char n[16];

	snprintf(n, sizeof(n), "%zu", m.n_jails);
	log_event(LOG_INFO, "shutdown", "jails", n, NULL);
	if (m.http_pidfd >= 0) {
		syscall(SYS_pidfd_send_signal, m.http_pidfd, SIGTERM, NULL, 0);
		struct pollfd pfd = {.fd = m.http_pidfd, .events = POLLIN};
		if (poll(&pfd, 1, 2000) <= 0)
			syscall(SYS_pidfd_send_signal, m.http_pidfd, SIGKILL, NULL, 0);
		siginfo_t si;
		waitid((idtype_t)P_PIDFD, (id_t)m.http_pidfd, &si, WEXITED);
	}
	while (m.n_jails)
		drop_jail(&m.jails[m.n_jails - 1]);
	for (size_t i = 0; i < m.cfg->n_listen; i++)
		if (m.cfg->listen[i].kind == AJD_LISTEN_UNIX)
			unlink(m.cfg->listen[i].path);
}

int
monitor_run(const struct ajd_config *cfg, struct mprofiles *profiles, int priv_sock, pid_t http_pid,
	    int worker_exe, const char *profiles_dir)
{
	sigset_t set;
	int rc = 0;

	m.cfg = cfg;
	m.profiles = profiles;
	m.profiles_dir = profiles_dir;
	m.sock = priv_sock;
	m.worker_exe = worker_exe;
	m.http_pid = http_pid;
	m.http_pidfd = (int)syscall(SYS_pidfd_open, http_pid, 0);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	m.sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	m.epfd = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EV_SOCK};
	epoll_ctl(m.epfd, EPOLL_CTL_ADD, m.sock, &ev);
	ev.data.u64 = EV_SIG;
	epoll_ctl(m.epfd, EPOLL_CTL_ADD, m.sigfd, &ev);
	ev.data.u64 = EV_HTTP;
	epoll_ctl(m.epfd, EPOLL_CTL_ADD, m.http_pidfd, &ev);

	for (;;) {
		struct epoll_event evs[64];
		int n = epoll_wait(m.epfd, evs, 64, -1);
		if (n < 0 && errno != EINTR) {
			rc = 1;
			break;
		}
		for (int i = 0; i < n; i++) {
			uint64_t what = evs[i].data.u64;
			if (what == EV_SOCK) {
				int r = on_request();
				if (r < 0) {
					log_event(LOG_ERROR, "privsep", "error",
						  r == -EPIPE ? "the HTTP process closed its "
								"socket"
							      : "malformed request",
						  NULL);
					shutdown_all();
					return 1;
				}
			} else if (what == EV_SIG) {
				struct signalfd_siginfo si;
				while (read(m.sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
					if (si.ssi_signo == SIGHUP) {
						reload_profiles();
						continue;
					}
					shutdown_all();
					return 0;
				}
			} else if (what == EV_HTTP) {
				log_event(LOG_ERROR, "http.exit", "error",
					  "the HTTP process ended; stopping", NULL);
				m.http_pidfd = -1;
				siginfo_t si;
				waitid(P_PID, (id_t)m.http_pid, &si, WEXITED | WNOHANG);
				shutdown_all();
				return 1;
			} else {
				on_jail_exit((uint32_t)(what - EV_JAIL_BASE));
			}
		}
	}
	shutdown_all();
	return rc;
}
