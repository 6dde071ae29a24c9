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

#include "auth.h"
#include "internal.h"
#include "json.h"
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
	/* FNV-1a of the text the profile came from. */
	char *text = NULL;
	size_t len = 0;
	const char *builtin = is_file ? NULL : jail_profile_builtin(name, &len);
	if (is_file && json_read_file(origin, 1u << 20, "a profile", &text, &len, NULL) < 0)
		len = 0;
	const char *t = is_file ? text : builtin;
	p->fingerprint = 1469598103934665603ull;
	for (size_t i = 0; t && i < len; i++)
		p->fingerprint = (p->fingerprint ^ (unsigned char)t[i]) * 1099511628211ull;
	free(text);
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

/* An agent runtime's settings (profile format 3), for the HTTP process,
 * which starts the agent, checks its health and proxies to its ports. */
static json_t *
agent_json(const struct jail_config *c)
{
	json_t *argv = json_array(), *ports = json_array(), *secrets = json_array();

	for (size_t i = 0; i < c->agent_argc; i++)
		json_array_append_new(argv, json_string(c->agent_argv[i]));
	for (size_t i = 0; i < c->n_ports; i++)
		json_array_append_new(ports, json_pack("{s:s,s:i,s:s}", "name", c->ports[i].name,
						       "port", (int)c->ports[i].port, "path_prefix",
						       c->ports[i].path_prefix));
	for (size_t i = 0; i < c->n_secrets; i++)
		json_array_append_new(secrets,
				      json_pack("{s:s,s:b,s:I}", "name", c->secrets[i].name,
						"required", c->secrets[i].required, "max_bytes",
						(json_int_t)c->secrets[i].max_bytes));
	json_t *o = json_pack("{s:o,s:o,s:o,s:s,s:i}", "entrypoint", argv, "ports", ports,
			      "secrets", secrets, "restart",
			      c->restart == JAIL_RESTART_ON_FAILURE ? "on-failure" : "never",
			      "restart_max", (int)c->restart_max);
	if (c->health.set)
		json_object_set_new(o, "health",
				    json_pack("{s:s,s:s,s:i,s:i,s:i}", "path", c->health.path,
					      "port", c->health.port, "interval_s",
					      (int)c->health.interval_s, "timeout_s",
					      (int)c->health.timeout_s, "start_period_s",
					      (int)c->health.start_period_s));
	return o;
}

char *
mprofiles_json(const struct mprofiles *ps)
{
	json_t *a = json_array();

	for (size_t i = 0; i < ps->n; i++) {
		const struct mprofile *p = &ps->v[i];
		const struct jail_config *c = &p->config;
		json_t *mounts = json_array();
		/* Host networking or a host directory the jail can write: what
		 * a tenant needs allow_host_access for. */
		bool host = c->net == JAIL_NET_HOST || c->workspace_dir;
		for (size_t k = 0; k < c->n_mounts; k++) {
			if (c->mounts[k].kind != JAIL_MOUNT_BIND)
				continue;
			host |= !c->mounts[k].readonly;
			json_array_append_new(mounts, json_pack("{s:s,s:s,s:b}", "source",
								c->mounts[k].source, "target",
								c->mounts[k].target, "readonly",
								c->mounts[k].readonly));
		}
		json_t *o = json_pack(
			"{s:s,s:s,s:{s:I,s:I,s:f,s:I},s:o,s:s?,s:s?,s:{s:I,s:I}}", "name", p->name,
			"network", c->net == JAIL_NET_HOST ? "host" : "none", "limits", "memory",
			(json_int_t)c->cgroup.memory_max, "pids", (json_int_t)c->cgroup.pids_max,
			"cpu", c->cgroup.cpu_ms_per_sec / 1000.0, "exec_timeout_max_ms",
			(json_int_t)p->exec_timeout_max_ms, "mounts", mounts, "workspace_host_dir",
			c->workspace_dir, "rootfs", c->rootfs, "session", "idle_timeout_s",
			(json_int_t)c->session_idle_s, "max_lifetime_s",
			(json_int_t)c->session_lifetime_s);
		json_object_set_new(o, "host_access", json_boolean(host));
		if (c->agent_argc || c->n_secrets)
			json_object_set_new(o, "agent", agent_json(c));
		json_array_append_new(a, o);
	}
	char *s = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return s;
}

/* --- jails and warm pools ----------------------------------------------- */

/*
 * Every jail the monitor made is in one table, in one of three states:
 * being built (asynchronously: the monitor never blocks while a jail sets
 * itself up), warm in its profile's pool, or given to a session. A claim
 * takes a warm jail, so a session starts without waiting for a build; the
 * pool is refilled behind it. A jail that served a session is never
 * reused: it ends with its session.
 */
enum mj_state { MJ_BUILDING, MJ_WARM, MJ_SESSION };

struct mjail {
	uint32_t id;
	struct jail *j;
	enum mj_state state;
	int sock; /* our end of the worker's socket, until handed over */
	char profile[72];
	uint64_t fingerprint;
	uint64_t t_start;
	bool waiting; /* a CREATE waits for this build (a cold start) */
	uint32_t seq;
};

/* Per profile: what the pool is asked to keep, and how it went. */
struct mpool {
	char profile[72];
	uint64_t claims, misses, builds, failures;
	unsigned failing;  /* builds failed in a row: refilling pauses */
	uint64_t lat[128]; /* recent build latencies, microseconds */
	unsigned nlat;
};

static struct {
	const struct ajd_config *cfg;
	struct mprofiles *profiles;
	const char *profiles_dir;
	struct mjail *jails;
	size_t n_jails, cap;
	struct mpool pools[64];
	size_t n_pools;
	uint32_t next_id;
	int sock, epfd, sigfd, http_pidfd, worker_exe;
	pid_t http_pid;
	uint64_t refill_at; /* us; 0: no refill deferred */
	monitor_reload_fn *reload_config;
} m;

/* epoll data: small numbers are our own fds; a jail's pidfd and setup fd
 * are EV_JAIL_BASE + 2 * id (+ 1 for the setup fd). */
enum { EV_SOCK = 1, EV_SIG, EV_HTTP, EV_JAIL_BASE = 16 };

static struct mjail *
find_jail(uint32_t id)
{
	for (size_t i = 0; i < m.n_jails; i++)
		if (m.jails[i].id == id)
			return &m.jails[i];
	return NULL;
}

static struct mpool *
pool_of(const char *profile)
{
	for (size_t i = 0; i < m.n_pools; i++)
		if (strcmp(m.pools[i].profile, profile) == 0)
			return &m.pools[i];
	if (m.n_pools == ARRAY_SIZE(m.pools))
		return &m.pools[ARRAY_SIZE(m.pools) - 1];
	struct mpool *p = &m.pools[m.n_pools++];
	memset(p, 0, sizeof(*p));
	snprintf(p->profile, sizeof(p->profile), "%s", profile);
	return p;
}

/* The pool settings of a profile: the daemon's configuration overrides
 * the profile's. */
static void
pool_settings(const struct mprofile *p, uint32_t *size, uint32_t *max)
{
	*size = p->config.pool_size;
	*max = p->config.pool_max;
	for (size_t i = 0; i < m.cfg->n_pools; i++) {
		const struct ajd_pool *o = &m.cfg->pools[i];
		if (strcmp(o->profile, p->name) != 0)
			continue;
		if (o->has_size)
			*size = o->size;
		if (o->has_max)
			*max = o->max;
	}
	if (*max && *size > *max)
		*size = *max;
}

static void
count3(const char *profile, unsigned *warm, unsigned *building, unsigned *live, unsigned *claiming)
{
	*warm = *building = *live = *claiming = 0;
	for (size_t i = 0; i < m.n_jails; i++) {
		const struct mjail *mj = &m.jails[i];
		if (strcmp(mj->profile, profile) != 0)
			continue;
		(*live)++;
		if (mj->state == MJ_WARM)
			(*warm)++;
		else if (mj->state == MJ_BUILDING && !mj->waiting)
			(*building)++;
		else if (mj->state == MJ_BUILDING)
			(*claiming)++;
	}
}

static void
count(const char *profile, unsigned *warm, unsigned *building, unsigned *live)
{
	unsigned claiming;
	count3(profile, warm, building, live, &claiming);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static double
percentile_ms(const struct mpool *p, double q)
{
	uint64_t v[ARRAY_SIZE(p->lat)];
	unsigned n = p->nlat < ARRAY_SIZE(p->lat) ? p->nlat : ARRAY_SIZE(p->lat);

	if (!n)
		return 0;
	memcpy(v, p->lat, n * sizeof(v[0]));
	qsort(v, n, sizeof(v[0]), cmp_u64);
	size_t k = (size_t)(q * (n - 1) + 0.5);
	return (double)v[k] / 1000.0;
}

/* The pools' state, told to the HTTP process whenever it changes: it
 * serves GET /v1/pools and /metrics from it. */
static void
push_pools(void)
{
	json_t *a = json_array();

	for (size_t i = 0; i < m.profiles->n; i++) {
		const struct mprofile *pr = &m.profiles->v[i];
		uint32_t size, max;
		unsigned warm, building, live, claiming;
		pool_settings(pr, &size, &max);
		count3(pr->name, &warm, &building, &live, &claiming);
		struct mpool *p = pool_of(pr->name);
		json_array_append_new(
			a,
			json_pack("{s:s,s:i,s:i,s:i,s:i,s:i,s:i,s:I,s:I,s:I,s:f,s:f}", "profile",
				  pr->name, "size", (int)size, "max", (int)max, "ready", (int)warm,
				  "building", (int)building, "claiming", (int)claiming, "live",
				  (int)live, "claims", (json_int_t)p->claims, "misses",
				  (json_int_t)p->misses, "build_failures", (json_int_t)p->failures,
				  "refill_p50_ms", percentile_ms(p, 0.5), "refill_p99_ms",
				  percentile_ms(p, 0.99)));
	}
	char *json = json_dumps(a, JSON_COMPACT | JSON_REAL_PRECISION(6));
	json_decref(a);
	if (!json)
		return;
	struct priv_hdr h = {.type = PRIV_POOLS};
	struct iovec iov[2] = {{&h, sizeof(h)}, {json, strlen(json)}};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
	if (strlen(json) < PRIV_MAX_MSG - sizeof(h))
		sendmsg(m.sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	free(json);
}

static void
drop_jail(struct mjail *mj)
{
	epoll_ctl(m.epfd, EPOLL_CTL_DEL, jail_pidfd(mj->j), NULL);
	if (jail_setup_fd(mj->j) >= 0)
		epoll_ctl(m.epfd, EPOLL_CTL_DEL, jail_setup_fd(mj->j), NULL);
	if (mj->sock >= 0)
		close(mj->sock);
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

/* A jail goes to a session: the worker's socket to the HTTP process. */
static void
hand_over(struct mjail *mj, uint32_t seq)
{
	char num[16], uid[16];

	mj->state = MJ_SESSION;
	mj->waiting = false;
	snprintf(num, sizeof(num), "%u", mj->id);
	snprintf(uid, sizeof(uid), "%u", jail_host_uid(mj->j));
	log_event(LOG_INFO, "jail.create", "jail", num, "profile", mj->profile, "host_uid", uid,
		  NULL);
	send_reply(seq, 0, NULL, mj->id, jail_host_uid(mj->j), jail_pid(mj->j), mj->sock, NULL, 0);
	close(mj->sock);
	mj->sock = -1;
}

static void
log_notices(const char *profile, const char *notes)
{
	/* Notices (a limit the host cannot enforce, stale cgroups removed)
	 * describe the host and the profile: once per profile is enough. */
	static char noticed[64][72];
	static size_t n_noticed;

	for (size_t i = 0; i < n_noticed; i++)
		if (strcmp(noticed[i], profile) == 0)
			return;
	if (!notes || n_noticed == ARRAY_SIZE(noticed))
		return;
	snprintf(noticed[n_noticed++], sizeof(noticed[0]), "%s", profile);
	for (const char *p = notes; *p;) {
		size_t n = strcspn(p, "\n");
		char line[1024];
		snprintf(line, sizeof(line), "%.*s", (int)(n < sizeof(line) ? n : sizeof(line) - 1),
			 p);
		if (n)
			log_event(LOG_WARN, "jail.notice", "profile", profile, "notice", line,
				  NULL);
		p += n + (p[n] == '\n');
	}
}

/* Start building a jail of profile p; the build continues on its setup fd.
 * With narrow, the limits are a session's narrower ones (a cold start). */
static struct mjail *
build(const struct mprofile *p, const struct jail_cgroup_limits *narrow, struct jail_error *e)
{
	if (m.n_jails == m.cap) {
		size_t cap = m.cap ? m.cap * 2 : 64;
		struct mjail *v = realloc(m.jails, cap * sizeof(*v));
		if (!v) {
			jerr(e, ENOMEM, "jail table");
			return NULL;
		}
		m.jails = v;
		m.cap = cap;
	}
	struct jail_config c = p->config; /* shallow: only scalars change */
	if (narrow) {
		if (narrow->memory_max)
			c.cgroup.memory_max = narrow->memory_max;
		if (narrow->pids_max)
			c.cgroup.pids_max = narrow->pids_max;
		if (narrow->cpu_ms_per_sec)
			c.cgroup.cpu_ms_per_sec = narrow->cpu_ms_per_sec;
	}
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		jerr(e, errno, "socketpair");
		return NULL;
	}
	struct jail_worker w = {
		.exe_fd = m.worker_exe,
		.sock_fd = sv[1],
		.log_fd = STDERR_FILENO,
		.worker_filter = p->worker_filter,
	};
	struct jail *j = NULL;
	uint64_t t0 = now_us();
	int r = jail_start_worker_async(&c, p->filter, &w, &j, e);
	close(sv[1]);
	if (r < 0) {
		close(sv[0]);
		return NULL;
	}
	log_notices(p->name, jail_notices(j));
	struct mjail *mj = &m.jails[m.n_jails++];
	*mj = (struct mjail){.id = ++m.next_id,
			     .j = j,
			     .state = MJ_BUILDING,
			     .sock = sv[0],
			     .fingerprint = p->fingerprint,
			     .t_start = t0};
	snprintf(mj->profile, sizeof(mj->profile), "%s", p->name);
	struct epoll_event ev = {.events = EPOLLIN,
				 .data.u64 = EV_JAIL_BASE + 2 * (uint64_t)mj->id};
	epoll_ctl(m.epfd, EPOLL_CTL_ADD, jail_pidfd(j), &ev);
	ev.data.u64++;
	epoll_ctl(m.epfd, EPOLL_CTL_ADD, jail_setup_fd(j), &ev);
	return mj;
}

/* Bring every pool (or one profile's) up to its size. */
static void
refill(const char *only)
{
	bool changed = false;

	for (size_t i = 0; i < m.profiles->n; i++) {
		const struct mprofile *pr = &m.profiles->v[i];
		uint32_t size, max;
		unsigned warm, building, live;
		if (only && strcmp(pr->name, only) != 0)
			continue;
		pool_settings(pr, &size, &max);
		struct mpool *p = pool_of(pr->name);
		count(pr->name, &warm, &building, &live);
		/* Builds that keep failing (a broken profile, a host out of
		 * ids) are not retried in a loop: the next claim or reload
		 * tries again. */
		while (p->failing < 3 && warm + building < size && (!max || live < max) &&
		       m.n_jails < m.cfg->limits.max_sessions) {
			struct jail_error e = {0};
			if (!build(pr, NULL, &e)) {
				p->failures++;
				p->failing++;
				log_event(LOG_ERROR, "pool.build", "profile", pr->name, "error",
					  e.msg, NULL);
				break;
			}
			building++;
			live++;
			changed = true;
		}
	}
	if (changed)
		push_pools();
}

/* A claim (or a destroy) schedules the refill this long after it rather
 * than at once: a build costs the CPU several milliseconds (the monitor's
 * steps and the jail's own setup), and on a small host it would compete
 * with the HTTP process that is still answering the claim. */
#define REFILL_DELAY_US 2000

static void
refill_soon(void)
{
	if (!m.refill_at)
		m.refill_at = now_us() + REFILL_DELAY_US;
}

/* A build made progress (its setup fd is readable). */
static void
on_setup(struct mjail *mj)
{
	struct jail_error e = {0};
	int fd = jail_setup_fd(mj->j);

	if (mj->state != MJ_BUILDING || fd < 0)
		return;
	int r = jail_setup_continue(mj->j, &e);
	if (r == -EAGAIN)
		return;
	/* Built or failed: the setup fd (still open, at its end) is no
	 * longer ours to watch. */
	epoll_ctl(m.epfd, EPOLL_CTL_DEL, fd, NULL);
	struct mpool *p = pool_of(mj->profile);
	if (r < 0) {
		p->failures++;
		p->failing++;
		log_event(LOG_ERROR, "jail.build", "profile", mj->profile, "error", e.msg, NULL);
		if (mj->waiting)
			send_reply(mj->seq, -r, e.msg, 0, 0, 0, -1, NULL, 0);
		drop_jail(mj);
		push_pools();
		return;
	}
	p->failing = 0;
	p->builds++;
	p->lat[p->nlat++ % ARRAY_SIZE(p->lat)] = now_us() - mj->t_start;
	if (mj->waiting) {
		hand_over(mj, mj->seq);
	} else {
		mj->state = MJ_WARM;
	}
	push_pools();
}

/* PRIV_CREATE: see privsep.h for why this is safe to grant. */
static void
handle_create(const struct priv_create *req)
{
	char name[sizeof(req->profile)];
	struct jail_error e = {0};

	memcpy(name, req->profile, sizeof(name));
	name[sizeof(name) - 1] = '\0';
	const struct mprofile *p = mprofiles_find(m.profiles, name);
	if (!p) {
		jerr_plain(&e, ENOENT, "no profile '%.64s'", name);
		send_reply(req->h.seq, ENOENT, e.msg, 0, 0, 0, -1, NULL, 0);
		return;
	}
	/* The limits only narrow the profile's. */
	const struct jail_cgroup_limits *pl = &p->config.cgroup;
	struct jail_cgroup_limits narrow = {0};
#define NARROW(field)                                                                              \
	if (req->field && (!pl->field || req->field < pl->field))                                  \
		narrow.field = req->field;
	NARROW(memory_max);
	NARROW(pids_max);
	NARROW(cpu_ms_per_sec);
#undef NARROW
	uint32_t size, max;
	unsigned warm, building, live;
	pool_settings(p, &size, &max);
	count(name, &warm, &building, &live);
	struct mpool *pool = pool_of(name);

	/* A warm jail, if it can take the session's limits. */
	for (size_t i = 0; warm && i < m.n_jails; i++) {
		struct mjail *mj = &m.jails[i];
		if (mj->state != MJ_WARM || strcmp(mj->profile, name) != 0)
			continue;
		if (jail_narrow_limits(mj->j, &narrow, &e) < 0)
			break; /* this host cannot: a cold jail gets rlimits instead */
		pool->claims++;
		hand_over(mj, req->h.seq);
		refill_soon();
		push_pools();
		return;
	}
	/* None warm: a refill under way is sooner than a new build. */
	bool wide = !narrow.memory_max && !narrow.pids_max && !narrow.cpu_ms_per_sec;
	for (size_t i = 0; wide && building && i < m.n_jails; i++) {
		struct mjail *mj = &m.jails[i];
		if (mj->state != MJ_BUILDING || mj->waiting || strcmp(mj->profile, name) != 0)
			continue;
		pool->misses++;
		mj->waiting = true;
		mj->seq = req->h.seq;
		refill(name);
		push_pools();
		return;
	}
	if ((max && live >= max) || m.n_jails >= m.cfg->limits.max_sessions) {
		send_reply(req->h.seq, EAGAIN,
			   max && live >= max ? "the profile's limit of live jails is reached"
					      : "the host's limit of live jails is reached",
			   0, 0, 0, -1, NULL, 0);
		return;
	}
	if (size)
		pool->misses++;
	pool->failing = 0; /* a claim is the moment to try building again */
	struct mjail *mj = build(p, &narrow, &e);
	if (!mj) {
		log_event(LOG_ERROR, "jail.create", "profile", name, "error", e.msg, NULL);
		send_reply(req->h.seq, -e.err ? -e.err : EIO, e.msg, 0, 0, 0, -1, NULL, 0);
		return;
	}
	mj->waiting = true;
	mj->seq = req->h.seq;
	refill(name);
}

/* PRIV_DESTROY: only jails this monitor made and gave to a session. */
static void
handle_destroy(const struct priv_destroy *req)
{
	struct mjail *mj = find_jail(req->jail_id);
	char num[16];

	if (!mj || mj->state != MJ_SESSION) {
		send_reply(req->h.seq, ENOENT, "no such jail", 0, 0, 0, -1, NULL, 0);
		return;
	}
	char profile[sizeof(mj->profile)];
	snprintf(num, sizeof(num), "%u", req->jail_id);
	snprintf(profile, sizeof(profile), "%s", mj->profile);
	drop_jail(mj);
	log_event(LOG_INFO, "jail.destroy", "jail", num, NULL);
	send_reply(req->h.seq, 0, NULL, req->jail_id, 0, 0, -1, NULL, 0);
	refill_soon(); /* under its max again */
	push_pools();
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
	case PRIV_CREATE:
		if ((size_t)n != sizeof(struct priv_create))
			return -EPROTO;
		handle_create((const void *)buf);
		return 0;
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
	enum mj_state state = mj->state;
	char profile[72];
	snprintf(profile, sizeof(profile), "%s", mj->profile);
	log_event(LOG_WARN, state == MJ_SESSION ? "jail.exit" : "pool.jail_exit", "jail", num,
		  "profile", profile, "termination", jail_termination_name(res.termination),
		  "status", code, NULL);
	if (state == MJ_SESSION) {
		struct priv_exited ex = {
			.h = {.type = PRIV_EXITED},
			.jail_id = id,
			.exit_code = res.exit_code,
			.signal = res.signal,
		};
		send(m.sock, &ex, sizeof(ex), MSG_NOSIGNAL);
	} else if (mj->waiting) {
		send_reply(mj->seq, EIO, "the jail ended while it was being built", 0, 0, 0, -1,
			   NULL, 0);
	}
	drop_jail(mj);
	/* A warm jail that died is replaced. */
	refill(profile);
	push_pools();
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
	/* Sessions keep what they started with (a jail holds no reference to
	 * its profile); warm jails of a profile that changed or went away are
	 * replaced. */
	for (size_t i = 0; i < m.n_jails;) {
		struct mjail *mj = &m.jails[i];
		const struct mprofile *p = mprofiles_find(&fresh, mj->profile);
		if (mj->state != MJ_SESSION && !mj->waiting &&
		    (!p || p->fingerprint != mj->fingerprint)) {
			drop_jail(mj);
			continue;
		}
		i++;
	}
	mprofiles_free(m.profiles);
	*m.profiles = fresh;
	for (size_t i = 0; i < m.n_pools; i++)
		m.pools[i].failing = 0;
	char n[16];
	snprintf(n, sizeof(n), "%zu", fresh.n);
	log_event(LOG_INFO, "profiles.reload", "profiles", n, NULL);
	struct priv_hdr h = {.type = PRIV_RELOADED};
	send(m.sock, &h, sizeof(h), MSG_NOSIGNAL);
	refill(NULL);
	push_pools();
}

/* SIGHUP: the configuration again, for the HTTP process (authentication,
 * tenants, TLS, compatibility), with the contents of the files only root
 * reads. A configuration or a file that does not load changes nothing. */
static void
reload_config(void)
{
	struct jail_error e = {0};
	struct ajd_config *c = malloc(sizeof(*c));
	char *material = NULL;

	if (!c || m.reload_config(c, &e) < 0 || !(material = auth_material_read(c, &e)) ||
	    auth_material_check(material, &e) < 0) {
		log_event(LOG_ERROR, "config.reload", "error", c ? e.msg : "out of memory",
			  "result", "the configuration in use stays", NULL);
		free(material);
		free(c);
		return;
	}
	size_t mlen = strlen(material) + 1;
	struct priv_hdr h = {.type = PRIV_CONFIG};
	struct iovec iov[3] = {{&h, sizeof(h)}, {c, sizeof(*c)}, {material, mlen}};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 3};
	if (sizeof(h) + sizeof(*c) + mlen > PRIV_MAX_MSG)
		log_event(LOG_ERROR, "config.reload", "error",
			  "the keys and certificate are too large to pass", NULL);
	else if (sendmsg(m.sock, &mh, MSG_NOSIGNAL) < 0)
		log_event(LOG_ERROR, "config.reload", "error", strerror(errno), NULL);
	free(material);
	free(c);
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

static void
stale_removed(const char *cgroup, void *arg)
{
	log_event(LOG_WARN, "stale.removed", "cgroup", cgroup, NULL);
}

/* What a supervisor that was killed left: its jails died with it (their
 * PID 1 has PR_SET_PDEATHSIG), their cgroups did not. */
static void
sweep_stale(void)
{
	const char *dirs[64];
	size_t n = 0;

	for (size_t i = 0; i < m.profiles->n && n < ARRAY_SIZE(dirs); i++)
		if (m.profiles->v[i].config.runtime_dir)
			dirs[n++] = m.profiles->v[i].config.runtime_dir;
	int removed = jail_sweep_stale(dirs, n, stale_removed, NULL);
	char num[16];
	snprintf(num, sizeof(num), "%d", removed);
	log_event(removed ? LOG_WARN : LOG_INFO, "stale.sweep", "cgroups_removed", num, NULL);
}

/* One event of the loop. < 0: stop (-ECANCELED: as asked, by a signal). */
static int
on_event(uint64_t what)
{
	if (what == EV_SOCK) {
		int r = on_request();
		if (r < 0)
			log_event(LOG_ERROR, "privsep", "error",
				  r == -EPIPE ? "the HTTP process closed its socket"
					      : "malformed request",
				  NULL);
		return r < 0 ? -EPROTO : 0;
	}
	if (what == EV_SIG) {
		struct signalfd_siginfo si;
		while (read(m.sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			if (si.ssi_signo != SIGHUP)
				return -ECANCELED;
			reload_profiles();
			reload_config();
		}
		return 0;
	}
	if (what == EV_HTTP) {
		log_event(LOG_ERROR, "http.exit", "error", "the HTTP process ended; stopping",
			  NULL);
		m.http_pidfd = -1;
		siginfo_t si;
		waitid(P_PID, (id_t)m.http_pid, &si, WEXITED | WNOHANG);
		return -EPIPE;
	}
	uint64_t k = what - EV_JAIL_BASE;
	struct mjail *mj = find_jail((uint32_t)(k / 2));
	if (mj && k % 2)
		on_setup(mj);
	else if (mj)
		on_jail_exit(mj->id);
	return 0;
}

int
monitor_run(const struct ajd_config *cfg, struct mprofiles *profiles, int priv_sock, pid_t http_pid,
	    int worker_exe, const char *profiles_dir, monitor_reload_fn *reload)
{
	sigset_t set;
	int rc = 0;

	m.cfg = cfg;
	m.reload_config = reload;
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
	sweep_stale();
	refill(NULL);
	push_pools();

	for (;;) {
		struct epoll_event evs[64];
		int tmo = -1;
		if (m.refill_at) {
			uint64_t t = now_us();
			tmo = t >= m.refill_at ? 0 : (int)((m.refill_at - t + 999) / 1000);
		}
		int n = epoll_wait(m.epfd, evs, 64, tmo);
		if (m.refill_at && now_us() >= m.refill_at) {
			m.refill_at = 0;
			refill(NULL);
		}
		if (n < 0 && errno != EINTR) {
			rc = 1;
			break;
		}
		/* Requests first: a claim must not wait behind builds. */
		for (int pass = 0; pass < 2; pass++)
			for (int i = 0; i < n; i++) {
				uint64_t what = evs[i].data.u64;
				if ((what == EV_SOCK) != (pass == 0))
					continue;
				int r = on_event(what);
				if (r >= 0)
					continue;
				shutdown_all();
				return r == -ECANCELED ? 0 : 1;
			}
	}
	shutdown_all();
	return rc;
}
