/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The parent's side of a jail: prepare everything the child needs, clone3
 * it into its namespaces with a pidfd, write its uid/gid maps, bring its
 * loopback up, let it build itself, and then watch it through the pidfd.
 */
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <sched.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "cgroup.h"
#include "child.h"
#include "internal.h"
#include "mount.h"
#include "net.h"
#include "seccomp.h"
#include "uidalloc.h"

extern char **environ;

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* How long a jail may take to build itself before the parent gives up. */
#define SETUP_TIMEOUT_MS 30000

struct jail {
	pid_t pid;
	int pidfd;
	int sync_fd;
	bool pidns;
	bool worker; /* PID 1 is a worker program, not our PID 1 */
	struct uid_lease lease;
	struct cgroup cg;
	const struct cgroup_ops *cgops;
	struct mount_plan plan;
	char **envp; /* the array only; entries point into the config/environ */
	uint64_t t_start, deadline;
	bool reaped, killed, timed_out;
	bool building, ready_seen; /* setup not finished (async start) */
	uint64_t setup_deadline;
	uint64_t time_limit_ms;
	bool have_exit, have_err;
	struct jail_msg exit_msg, err_msg;
	struct jail_result result;
	char notices[1024];
};

static void
notice(struct jail *j, const char *fmt, ...)
{
	size_t n = strlen(j->notices);
	va_list ap;

	if (n >= sizeof(j->notices) - 1)
		return;
	va_start(ap, fmt);
	vsnprintf(j->notices + n, sizeof(j->notices) - n, fmt, ap);
	va_end(ap);
	n = strlen(j->notices);
	if (n < sizeof(j->notices) - 1)
		strcat(j->notices, "\n");
}

const char *
jail_notices(const struct jail *j)
{
	return j && j->notices[0] ? j->notices : NULL;
}

/* --- preparation ------------------------------------------------------ */

static int
env_add(char **envp, size_t *n, char *entry)
{
	size_t klen = strcspn(entry, "=");

	for (size_t i = 0; i < *n; i++) {
		if (strncmp(envp[i], entry, klen) == 0 && envp[i][klen] == '=') {
			envp[i] = entry;
			return 0;
		}
	}
	envp[(*n)++] = entry;
	return 0;
}

static int
build_env(const struct jail_config *c, struct jail *j, const char **ret_path, struct jail_error *e)
{
	static char path[] = "PATH=" JAIL_DEFAULT_PATH;
	static char home_ws[] = "HOME=/workspace", home_root[] = "HOME=/";
	static char lang[] = "LANG=C.UTF-8", tmpdir[] = "TMPDIR=/tmp";
	size_t n_environ = 0, n = 0;

	if (c->keep_env)
		while (environ && environ[n_environ])
			n_environ++;
	char **envp = calloc(n_environ + c->n_env + 5, sizeof(*envp));
	if (!envp)
		return jerr(e, ENOMEM, "environment");
	if (c->keep_env) {
		for (size_t i = 0; i < n_environ; i++)
			if (strchr(environ[i], '='))
				env_add(envp, &n, environ[i]);
	} else {
		env_add(envp, &n, path);
		env_add(envp, &n, (c->namespaces & JAIL_NS_MOUNT) ? home_ws : home_root);
		env_add(envp, &n, lang);
		env_add(envp, &n, tmpdir);
	}
	for (size_t i = 0; i < c->n_env; i++)
		env_add(envp, &n, c->env[i]);
	envp[n] = NULL;
	*ret_path = NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(envp[i], "PATH=", 5) == 0)
			*ret_path = envp[i] + 5;
	j->envp = envp;
	return 0;
}

static const int rlimit_resource[JAIL_RL_COUNT] = {
	[JAIL_RL_AS] = RLIMIT_AS,	  [JAIL_RL_CORE] = RLIMIT_CORE,
	[JAIL_RL_CPU] = RLIMIT_CPU,	  [JAIL_RL_FSIZE] = RLIMIT_FSIZE,
	[JAIL_RL_NOFILE] = RLIMIT_NOFILE, [JAIL_RL_NPROC] = RLIMIT_NPROC,
	[JAIL_RL_STACK] = RLIMIT_STACK,
};

/* Limits are only lowered: raising one above the hard limit needs
 * CAP_SYS_RESOURCE, which agentjail does not assume it has. */
static void
prepare_rlimits(const struct jail_rlimit *limits, struct jail *j, struct child_ctx *x)
{
	for (int i = 0; i < JAIL_RL_COUNT; i++) {
		const struct jail_rlimit *l = &limits[i];
		struct rlimit cur;
		rlim_t v;

		if (l->mode == JAIL_RLIMIT_INHERIT || getrlimit(rlimit_resource[i], &cur) < 0)
			continue;
#if defined(__SANITIZE_ADDRESS__)
		if (i == JAIL_RL_AS) {
			notice(j, "rlimit as: not applied in an AddressSanitizer build");
			continue;
		}
#endif
		switch (l->mode) {
		case JAIL_RLIMIT_VALUE: v = (rlim_t)l->value; break;
		case JAIL_RLIMIT_SOFT: v = cur.rlim_cur; break;
		case JAIL_RLIMIT_HARD: v = cur.rlim_max; break;
		case JAIL_RLIMIT_INF: v = RLIM_INFINITY; break;
		case JAIL_RLIMIT_INHERIT:
		default: continue;
		}
		if (v > cur.rlim_max) {
			if (l->mode != JAIL_RLIMIT_INF)
				notice(j,
				       "rlimit %s: %" PRIu64 " is above the hard limit %" PRIu64
				       ", which agentjail can only lower; using %" PRIu64,
				       jail_rlimit_name((enum jail_rlimit_res)i), (uint64_t)v,
				       (uint64_t)cur.rlim_max, (uint64_t)cur.rlim_max);
			v = cur.rlim_max;
		}
		x->rlimits[x->n_rlimits].resource = rlimit_resource[i];
		x->rlimits[x->n_rlimits].rl = (struct rlimit){.rlim_cur = v, .rlim_max = v};
		x->n_rlimits++;
	}
}

static const char *
fmt_bytes(uint64_t v, char *buf, size_t size)
{
	if (v && v % (1ull << 30) == 0)
		snprintf(buf, size, "%" PRIu64 "G", v >> 30);
	else if (v && v % (1ull << 20) == 0)
		snprintf(buf, size, "%" PRIu64 "M", v >> 20);
	else
		snprintf(buf, size, "%" PRIu64, v);
	return buf;
}

/* Lower rl[r] to v (bytes, seconds or a count). */
static void
lower_rlimit(struct jail_rlimit *rl, uint64_t v)
{
	if (rl->mode != JAIL_RLIMIT_VALUE || rl->value > v)
		*rl = (struct jail_rlimit){.mode = JAIL_RLIMIT_VALUE, .value = v};
}

/*
 * The config's cgroup limits that this host cannot enforce: an error with
 * require_cgroups; otherwise the nearest rlimit, named for what it is, and
 * one notice saying both.
 */
static int
enforce_limits(const struct jail_config *c, struct jail_rlimit *rl, struct jail *j,
	       struct jail_error *e)
{
	const struct jail_cgroup_limits *l = &c->cgroup;
	unsigned need = 0;

	if (l->memory_max || l->memory_high)
		need |= JAIL_CGROUP_MEMORY;
	if (l->pids_max)
		need |= JAIL_CGROUP_PIDS;
	if (l->cpu_ms_per_sec)
		need |= JAIL_CGROUP_CPU;
	if (l->cpuset)
		need |= JAIL_CGROUP_CPUSET;
	if (l->n_io_max)
		need |= JAIL_CGROUP_IO;
	unsigned missing = need & ~cgroup_enforceable();
	if (!missing)
		return 0;

	struct jail_cgroup_info info;
	char names[64], where[1200], lost[256] = "", instead[512] = "", b[32];
	size_t nl = 0, ni = 0;

	jail_cgroup_info(&info);
	jail_cgroup_names(missing, names, sizeof(names));
	if (strcmp(info.backend, "none") == 0)
		snprintf(where, sizeof(where), "no usable cgroup v2 (%.1000s)", info.why);
	else
		snprintf(where, sizeof(where), "cgroup v2 at %.1000s has no %s controller%s%s",
			 info.mount, names, strchr(names, ' ') ? "s" : "",
			 info.hybrid ? " (hybrid layout: cgroup v1 holds them)" : "");
	if (l->require_cgroups)
		return jerr_plain(e, EOPNOTSUPP,
				  "cgroup limits cannot be enforced: %s; require_cgroups is set "
				  "(see agentjail doctor)",
				  where);

#define ADD(buf, n, ...)                                                                           \
	do {                                                                                       \
		int _k = snprintf(buf + n, sizeof(buf) - n, "%s", n ? ", " : "");                  \
		if (_k > 0 && (size_t)_k < sizeof(buf) - n)                                        \
			n += (size_t)_k;                                                           \
		_k = snprintf(buf + n, sizeof(buf) - n, __VA_ARGS__);                              \
		if (_k > 0 && (size_t)_k < sizeof(buf) - n)                                        \
			n += (size_t)_k;                                                           \
	} while (0)
	if ((missing & JAIL_CGROUP_MEMORY) && l->memory_max) {
		ADD(lost, nl, "memory.max %s", fmt_bytes(l->memory_max, b, sizeof(b)));
		lower_rlimit(&rl[JAIL_RL_AS], l->memory_max);
		ADD(instead, ni, "RLIMIT_AS %s per process (not the jail's total)", b);
	}
	if ((missing & JAIL_CGROUP_PIDS)) {
		ADD(lost, nl, "pids.max %" PRIu64, l->pids_max);
		lower_rlimit(&rl[JAIL_RL_NPROC], l->pids_max);
		ADD(instead, ni, "RLIMIT_NPROC %" PRIu64 " on the jail's own host uid",
		    l->pids_max);
	}
	if ((missing & JAIL_CGROUP_CPU)) {
		ADD(lost, nl, "cpu.max %u ms/s", l->cpu_ms_per_sec);
		if (c->time_limit_ms) {
			uint64_t secs = (c->time_limit_ms * l->cpu_ms_per_sec + 999999) / 1000000;
			lower_rlimit(&rl[JAIL_RL_CPU], secs ? secs : 1);
			ADD(instead, ni,
			    "RLIMIT_CPU %" PRIu64
			    " s of CPU time per process (a total, not a rate)",
			    secs ? secs : 1);
		}
	}
	if ((missing & JAIL_CGROUP_MEMORY) && l->memory_high)
		ADD(lost, nl, "memory.high");
	if (missing & JAIL_CGROUP_CPUSET)
		ADD(lost, nl, "cpuset.cpus");
	if (missing & JAIL_CGROUP_IO)
		ADD(lost, nl, "io.max");
#undef ADD
	notice(j, "%s: %s not enforced; instead: %s (--require_cgroups refuses to run instead)",
	       where, lost, ni ? instead : "nothing");
	return 0;
}

struct sweep {
	const char *const *dirs;
	size_t n;
	void (*removed)(const char *cgroup, void *arg);
	void *arg;
};

/* A jail is live while its host uid is leased in one of the ledgers. */
static bool
lease_live(uint32_t id, void *arg)
{
	const struct sweep *s = arg;

	if (uidalloc_in_use(JAIL_DEFAULT_RUNTIME_DIR, id))
		return true;
	for (size_t i = 0; i < s->n; i++)
		if (s->dirs[i] && uidalloc_in_use(s->dirs[i], id))
			return true;
	return false;
}

static void
swept_one(const char *path, void *arg)
{
	const struct sweep *s = arg;

	if (s->removed)
		s->removed(path, s->arg);
}

static bool swept;

int
jail_sweep_stale(const char *const *runtime_dirs, size_t n,
		 void (*removed)(const char *cgroup, void *arg), void *arg)
{
	struct sweep s = {runtime_dirs, n, removed, arg};

	swept = true;
	return cgroup_sweep(lease_live, &s, swept_one);
}

/* Once per process: the cgroups of jails whose program was killed before it
 * could remove them (the lease went with it). */
static void
sweep_once(const char *rt, struct jail *j)
{
	if (swept)
		return;
	int n = jail_sweep_stale(&rt, 1, NULL, NULL);
	if (n > 0)
		notice(j, "removed %d cgroup%s left by jails that ended without removing them", n,
		       n == 1 ? "" : "s");
}

static uint64_t
clone_flags(unsigned ns)
{
	uint64_t f = 0;

	if (ns & JAIL_NS_USER)
		f |= CLONE_NEWUSER;
	if (ns & JAIL_NS_PID)
		f |= CLONE_NEWPID;
	if (ns & JAIL_NS_MOUNT)
		f |= CLONE_NEWNS;
	if (ns & JAIL_NS_NET)
		f |= CLONE_NEWNET;
	if (ns & JAIL_NS_IPC)
		f |= CLONE_NEWIPC;
	if (ns & JAIL_NS_UTS)
		f |= CLONE_NEWUTS;
	if (ns & JAIL_NS_CGROUP)
		f |= CLONE_NEWCGROUP;
	if (ns & JAIL_NS_TIME)
		f |= CLONE_NEWTIME;
	return f;
}

static int
write_map(pid_t pid, const char *file, uint32_t inside, uint32_t outside, struct jail_error *e)
{
	char path[64], line[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	int len = snprintf(line, sizeof(line), "%u %u 1\n", inside, outside);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return jerr(e, errno, "open %s", path);
	if (write(fd, line, (size_t)len) != len)
		return jerr(e, errno, "write %s (%u -> host %u)", path, inside, outside);
	return 0;
}

static int
recv_netlink_fd(int sock, struct jail_error *e)
{
	struct jail_msg m;
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
	ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	struct cmsghdr *cm = n > 0 ? CMSG_FIRSTHDR(&mh) : NULL;
	int fd = -1;

	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
	    cm->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	if (n != (ssize_t)sizeof(m) || m.type != MSG_NETLINK || fd < 0) {
		if (fd >= 0)
			close(fd);
		if (n == (ssize_t)sizeof(m) && m.type == MSG_ERROR)
			return jerr(e, m.err > 0 && m.err < 4096 ? m.err : EIO, "socket netlink");
		return jerr_plain(e, EPROTO, "network: the jail sent no netlink socket");
	}
	return fd;
}

/* A message from the child is untrusted: check it before use. */
static bool
msg_sane(struct jail_msg *m)
{
	m->step[sizeof(m->step) - 1] = '\0';
	m->object[sizeof(m->object) - 1] = '\0';
	if (m->type == MSG_ERROR && (m->err <= 0 || m->err >= 4096))
		m->err = EIO;
	return m->type >= MSG_NETLINK && m->type <= MSG_EXIT;
}

static int
msg_to_error(const struct jail_msg *m, struct jail_error *e)
{
	return jerr(e, m->err, "%s%s%s", m->step, m->object[0] ? " " : "", m->object);
}

/* Kill every process running as the jail's host uid. Without a pid
 * namespace this is how the whole jail is found: its uid is its own. */
static void
kill_uid(uint32_t uid)
{
	pid_t p = fork();

	if (p == 0) {
		if (setgroups(0, NULL) == 0 && setresgid(uid, uid, uid) == 0 &&
		    setresuid(uid, uid, uid) == 0)
			kill(-1, SIGKILL);
		_exit(0);
	}
	if (p > 0)
		while (waitpid(p, NULL, 0) < 0 && errno == EINTR)
			;
}

static void
jail_cleanup(struct jail *j)
{
	if (j->cgops)
		j->cgops->destroy(&j->cg, NULL);
	if (j->sync_fd >= 0)
		close(j->sync_fd);
	j->sync_fd = -1;
	if (j->pidfd >= 0)
		close(j->pidfd);
	j->pidfd = -1;
	uidalloc_release(&j->lease);
	mount_plan_free(&j->plan);
	free(j->envp);
	j->envp = NULL;
}

/* Everything in the jail but what the pid namespace takes care of: the
 * cgroup's members, or (with neither) every process of the jail's uid. */
static void
kill_rest(struct jail *j)
{
	if (j->cg.dirfd >= 0)
		j->cgops->kill(&j->cg);
	else if (!j->pidns)
		kill_uid(j->lease.id);
}

/* Kill the child if it runs, and reap it. */
static void
kill_and_reap(struct jail *j)
{
	siginfo_t si;

	if (j->reaped || j->pidfd < 0)
		return;
	syscall(SYS_pidfd_send_signal, j->pidfd, SIGKILL, NULL, 0);
	kill_rest(j);
	while (waitid((idtype_t)P_PIDFD, (id_t)j->pidfd, &si, WEXITED) < 0 && errno == EINTR)
		;
	j->reaped = true;
}

/* --- the public API --------------------------------------------------- */

/* The cgroup is the jail's to subdivide: its directory and the files that
 * move processes and hand out controllers belong to the jail's host uid
 * (cgroup v2 delegation). Nothing inside the jail can reach them but the
 * worker, which holds an fd of the directory. */
static int
delegate_cgroup(const struct cgroup *cg, uint32_t uid, uint32_t gid, struct jail_error *e)
{
	static const char *const files[] = {"", "cgroup.procs", "cgroup.threads",
					    "cgroup.subtree_control"};
	for (size_t i = 0; i < ARRAY_SIZE(files); i++)
		if (fchownat(cg->dirfd, files[i], uid, gid, files[i][0] ? 0 : AT_EMPTY_PATH) < 0)
			return jerr(e, errno, "cgroup %s: delegate %s to uid %u", cg->path,
				    files[i][0] ? files[i] : "the directory", uid);
	return 0;
}

static int
start_jail(const struct jail_config *c, const struct jail_filter *f, const struct jail_stdio *io,
	   const struct jail_worker *w, bool async, struct jail **ret, struct jail_error *e)
{
	struct child_ctx x = {.worker_exe_fd = -1, .worker_fds = {-1, -1, -1}};
	int sv[2] = {-1, -1};
	_cleanup_close_ int filter_fd = -1;
	int r;

	/* A worker jail has no command of its own: the worker runs them. */
	r = jail_config_validate(c, w ? 0 : JAIL_VALIDATE_RUN, e);
	if (r < 0)
		return r;
	if (!f && !c->seccomp.disabled_for_tests)
		return jerr_plain(e, EINVAL,
				  "no seccomp filter given (refusing to run unfiltered)");

	struct jail *j = calloc(1, sizeof(*j));
	if (!j)
		return jerr(e, ENOMEM, "allocate jail");
	j->pid = -1;
	j->pidfd = -1;
	j->sync_fd = -1;
	j->lease = UID_LEASE_NONE;
	j->cg = CGROUP_NONE;
	j->pidns = c->namespaces & JAIL_NS_PID;
	j->worker = w != NULL;

	struct jail_rlimit rl[JAIL_RL_COUNT];
	memcpy(rl, c->rlimits, sizeof(rl));
	r = enforce_limits(c, rl, j, e);
	if (r < 0)
		goto fail;
	const char *rt = c->runtime_dir ? c->runtime_dir : JAIL_DEFAULT_RUNTIME_DIR;
	r = uidalloc_acquire(rt, c->host_id_min, c->host_id_max, c->host_uid, &j->lease, e);
	if (r < 0)
		goto fail;
	sweep_once(rt, j);
	j->cgops = cgroup_backend();
	r = j->cgops->create(j->lease.id, &c->cgroup, &j->cg, e);
	if (r < 0)
		goto fail;

	x.c = c;
	x.filter = f;
	x.userns = c->namespaces & JAIL_NS_USER;
	x.netns = c->namespaces & JAIL_NS_NET;
	x.utsns = c->namespaces & JAIL_NS_UTS;
	x.pidns = j->pidns;
	/* With a user namespace the jail sees its own ids, mapped to the
	 * leased host id; without one it runs as the host id itself. */
	x.run_uid = x.userns ? c->uid : j->lease.id;
	x.run_gid = x.userns ? c->gid : (c->host_gid != JAIL_ID_AUTO ? c->host_gid : j->lease.id);
	if (c->namespaces & JAIL_NS_MOUNT) {
		r = mount_plan_build(c, x.run_uid, x.run_gid, &j->plan, e);
		if (r < 0)
			goto fail;
		x.plan = &j->plan;
		x.cwd = c->cwd ? c->cwd : JAIL_DEFAULT_CWD;
	} else {
		x.cwd = c->cwd;
	}
	if (x.utsns)
		x.hostname = c->hostname ? c->hostname : JAIL_DEFAULT_HOSTNAME;
	r = build_env(c, j, &x.path, e);
	if (r < 0)
		goto fail;
	x.envp = j->envp;
	prepare_rlimits(rl, j, &x);
	x.stdio[0] = io ? io->in : -1;
	x.stdio[1] = io ? io->out : -1;
	x.stdio[2] = io ? io->err : -1;
	if (w) {
		uint32_t gid = c->host_gid != JAIL_ID_AUTO ? c->host_gid : j->lease.id;
		if (j->cg.dirfd >= 0) {
			r = delegate_cgroup(&j->cg, j->lease.id, gid, e);
			if (r < 0)
				goto fail;
		}
		filter_fd = jail_filter_memfd(f, e);
		if (filter_fd < 0) {
			r = filter_fd;
			goto fail;
		}
		x.worker_exe_fd = w->exe_fd;
		x.worker_fds[0] = w->sock_fd;
		x.worker_fds[1] = j->cg.dirfd;
		x.worker_fds[2] = filter_fd;
		x.worker_filter = w->worker_filter;
		x.filter = NULL; /* commands get theirs from the worker */
	}

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		r = jerr(e, errno, "socketpair");
		goto fail;
	}
	x.sync_fd = sv[1];

	/* Born in its cgroup: no moment in which the jail's first process, or
	 * anything it forks, is outside it. */
	struct clone_args args = {
		.flags = CLONE_PIDFD | clone_flags(c->namespaces) |
			 (j->cg.dirfd >= 0 ? CLONE_INTO_CGROUP : 0),
		.pidfd = (uint64_t)(uintptr_t)&j->pidfd,
		.exit_signal = SIGCHLD,
		.cgroup = j->cg.dirfd >= 0 ? (uint64_t)j->cg.dirfd : 0,
	};
	pid_t pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
	if (pid < 0) {
		r = jerr(e, errno, "clone3%s%s", j->cg.dirfd >= 0 ? " into cgroup " : "",
			 j->cg.dirfd >= 0 ? j->cg.path : "");
		goto fail;
	}
	if (pid == 0) {
		close(sv[0]);
		child_main(&x);
	}
	j->pid = pid;
	close(sv[1]);
	sv[1] = -1;
	j->sync_fd = sv[0];
	sv[0] = -1;

	if (x.userns) {
		r = write_map(pid, "uid_map", c->uid, j->lease.id, e);
		if (r >= 0)
			r = write_map(pid, "gid_map", c->gid,
				      c->host_gid != JAIL_ID_AUTO ? c->host_gid : j->lease.id, e);
		if (r < 0)
			goto fail;
	}
	if (x.netns) {
		int fd = recv_netlink_fd(j->sync_fd, e);
		if (fd < 0) {
			r = fd;
			goto fail;
		}
		r = net_lo_up(fd, e);
		if (r < 0)
			goto fail;
	}
	struct jail_msg go = {.type = MSG_GO};
	if (send(j->sync_fd, &go, sizeof(go), MSG_NOSIGNAL) != (ssize_t)sizeof(go)) {
		r = jerr(e, errno, "start jail");
		goto fail;
	}

	j->building = true;
	j->setup_deadline = now_us() + (uint64_t)SETUP_TIMEOUT_MS * 1000;
	j->time_limit_ms = c->time_limit_ms;
	if (async) {
		*ret = j;
		return 0;
	}
	for (;;) {
		struct pollfd pfd = {.fd = j->sync_fd, .events = POLLIN};
		int n = poll(&pfd, 1, SETUP_TIMEOUT_MS);
		if (n < 0 && errno == EINTR)
			continue;
		r = n == 0 ? jerr_plain(e, ETIMEDOUT, "jail setup: no answer within %d s",
					SETUP_TIMEOUT_MS / 1000)
			   : jail_setup_continue(j, e);
		if (r == -EAGAIN)
			continue;
		if (r < 0)
			goto fail;
		break;
	}
	*ret = j;
	return 0;

fail:
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	kill_and_reap(j);
	jail_cleanup(j);
	free(j);
	return r;
}

int
jail_setup_fd(const struct jail *j)
{
	return j->building ? j->sync_fd : -1;
}

/*
 * The rest of a jail's setup, without blocking: read what the child said.
 * READY ends it for a jail of ours; a worker jail then execs the worker,
 * which closes the sync socket (EOF: it started) unless it reports an
 * ERROR. Returns 0 once ready, -EAGAIN while the child is still at work.
 */
int
jail_setup_continue(struct jail *j, struct jail_error *e)
{
	if (!j->building)
		return 0;
	if (now_us() > j->setup_deadline)
		return jerr_plain(e, ETIMEDOUT, "jail setup: no answer within %d s",
				  SETUP_TIMEOUT_MS / 1000);
	for (;;) {
		struct jail_msg m;
		ssize_t len = recv(j->sync_fd, &m, sizeof(m), MSG_DONTWAIT);
		if (len < 0 && (errno == EAGAIN || errno == EINTR))
			return -EAGAIN;
		if (len == 0 && j->ready_seen) {
			/* The worker exec'd: the sync socket closed with it. */
			break;
		}
		if (len != (ssize_t)sizeof(m) || !msg_sane(&m))
			return jerr_plain(e, EPROTO,
					  j->ready_seen
						  ? "jail setup: the worker did not start"
						  : "jail setup: the jail ended without a report");
		if (m.type == MSG_ERROR)
			return msg_to_error(&m, e);
		if (m.type == MSG_READY) {
			j->ready_seen = true;
			if (!j->worker)
				break;
		}
	}
	j->building = false;
	j->t_start = now_us();
	if (j->time_limit_ms && !j->worker)
		j->deadline = j->t_start + j->time_limit_ms * 1000;
	return 0;
}

int
jail_start(const struct jail_config *c, const struct jail_filter *f, const struct jail_stdio *io,
	   struct jail **ret, struct jail_error *e)
{
	return start_jail(c, f, io, NULL, false, ret, e);
}

static int
start_worker(const struct jail_config *c, const struct jail_filter *command_filter,
	     const struct jail_worker *w, bool async, struct jail **ret, struct jail_error *e)
{
	if (!w || w->exe_fd < 0 || w->sock_fd < 0)
		return jerr_plain(e, EINVAL, "worker jail: no worker program or socket");
	if (!w->worker_filter && !c->seccomp.disabled_for_tests)
		return jerr_plain(e, EINVAL, "worker jail: no filter for the worker");
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0)
		return jerr(e, errno, "open /dev/null");
	int log = w->log_fd >= 0 ? w->log_fd : devnull;
	struct jail_stdio io = {devnull, log, log};
	int r = start_jail(c, command_filter, &io, w, async, ret, e);
	close(devnull);
	return r;
}

int
jail_start_worker(const struct jail_config *c, const struct jail_filter *command_filter,
		  const struct jail_worker *w, struct jail **ret, struct jail_error *e)
{
	return start_worker(c, command_filter, w, false, ret, e);
}

int
jail_start_worker_async(const struct jail_config *c, const struct jail_filter *command_filter,
			const struct jail_worker *w, struct jail **ret, struct jail_error *e)
{
	return start_worker(c, command_filter, w, true, ret, e);
}

int
jail_narrow_limits(struct jail *j, const struct jail_cgroup_limits *l, struct jail_error *e)
{
	if (!l->memory_max && !l->pids_max && !l->cpu_ms_per_sec)
		return 0;
	if (!j->cgops)
		return -EOPNOTSUPP;
	return j->cgops->narrow(&j->cg, l, e);
}

pid_t
jail_pid(const struct jail *j)
{
	return j->pid;
}

int
jail_pidfd(const struct jail *j)
{
	return j->pidfd;
}

uint32_t
jail_host_uid(const struct jail *j)
{
	return j->lease.id;
}

uint64_t
jail_deadline_us(const struct jail *j)
{
	return j->deadline;
}

int
jail_signal(struct jail *j, int sig)
{
	if (j->reaped)
		return -ESRCH;
	if (syscall(SYS_pidfd_send_signal, j->pidfd, sig, NULL, 0) < 0)
		return -errno;
	return 0;
}

int
jail_kill(struct jail *j)
{
	if (j->reaped)
		return -ESRCH;
	j->killed = true;
	int r = syscall(SYS_pidfd_send_signal, j->pidfd, SIGKILL, NULL, 0) < 0 ? -errno : 0;
	kill_rest(j);
	return r == -ESRCH ? 0 : r;
}

static void
fill_result(struct jail *j, const siginfo_t *si, const struct rusage *ru)
{
	struct jail_result *res = &j->result;

	memset(res, 0, sizeof(*res));
	res->wall_us = now_us() - j->t_start;
	res->cpu_user_us =
		(uint64_t)ru->ru_utime.tv_sec * 1000000u + (uint64_t)ru->ru_utime.tv_usec;
	res->cpu_system_us =
		(uint64_t)ru->ru_stime.tv_sec * 1000000u + (uint64_t)ru->ru_stime.tv_usec;
	res->max_rss_kib = (uint64_t)ru->ru_maxrss;

	if (j->have_err && strcmp(j->err_msg.step, "exec") == 0) {
		res->termination = JAIL_TERM_EXEC_FAILED;
		res->exit_code = j->err_msg.err == ENOENT ? JAIL_EXIT_NOTFOUND : JAIL_EXIT_NOEXEC;
		msg_to_error(&j->err_msg, &res->error);
	} else if (j->have_err) {
		res->termination = JAIL_TERM_SETUP_FAILED;
		res->exit_code = JAIL_EXIT_SETUP;
		msg_to_error(&j->err_msg, &res->error);
	} else if (j->worker && !j->timed_out && !j->killed) {
		/* The worker is PID 1 itself: its own end is the jail's. */
		res->termination = si->si_code == CLD_EXITED ? JAIL_TERM_EXIT : JAIL_TERM_SIGNAL;
		res->signal = si->si_code == CLD_EXITED ? 0 : si->si_status;
		res->exit_code = res->signal ? 128 + res->signal : si->si_status;
	} else if (j->have_exit) {
		int st = j->exit_msg.status;
		if (WIFSIGNALED(st)) {
			res->termination = JAIL_TERM_SIGNAL;
			res->signal = WTERMSIG(st);
			res->exit_code = 128 + res->signal;
		} else {
			res->termination = JAIL_TERM_EXIT;
			res->exit_code = WEXITSTATUS(st);
		}
	} else if (j->timed_out) {
		res->termination = JAIL_TERM_TIMEOUT;
		res->signal = SIGKILL;
		res->exit_code = JAIL_EXIT_TIMEOUT;
	} else if (j->killed) {
		res->termination = JAIL_TERM_KILLED;
		res->signal = SIGKILL;
		res->exit_code = 128 + SIGKILL;
	} else {
		/* PID 1 ended without a word: killed from outside, or crashed. */
		res->termination =
			si->si_code == CLD_EXITED ? JAIL_TERM_SETUP_FAILED : JAIL_TERM_SIGNAL;
		res->signal = si->si_code == CLD_EXITED ? 0 : si->si_status;
		res->exit_code = res->signal ? 128 + res->signal : JAIL_EXIT_SETUP;
		if (!res->signal)
			jerr_plain(&res->error, EPROTO,
				   "the jail's PID 1 exited with status %d without a report",
				   si->si_status);
	}
}

int
jail_reap(struct jail *j, struct jail_result *res, struct jail_error *e)
{
	siginfo_t si;
	struct rusage ru;

	if (j->reaped) {
		*res = j->result;
		return 0;
	}
	memset(&si, 0, sizeof(si));
	if (syscall(SYS_waitid, P_PIDFD, j->pidfd, &si, WEXITED | WNOHANG, &ru) < 0)
		return jerr(e, errno, "waitid");
	if (si.si_pid == 0)
		return -EAGAIN;
	j->reaped = true;
	/* Everything the jail said is in the socket now: its writers are
	 * gone. Keep the first error and the exit status. */
	for (;;) {
		struct jail_msg m;
		ssize_t n = recv(j->sync_fd, &m, sizeof(m), MSG_DONTWAIT);
		if (n != (ssize_t)sizeof(m))
			break;
		if (!msg_sane(&m))
			continue;
		if (m.type == MSG_ERROR && !j->have_err) {
			j->err_msg = m;
			j->have_err = true;
		} else if (m.type == MSG_EXIT) {
			j->exit_msg = m;
			j->have_exit = true;
		}
	}
	kill_rest(j);
	fill_result(j, &si, &ru);
	if (j->cgops)
		j->cgops->stats(&j->cg, &j->result);
	if (j->result.oom_killed && j->result.termination == JAIL_TERM_SIGNAL &&
	    j->result.signal == SIGKILL)
		j->result.termination = JAIL_TERM_OOM;
	jail_cleanup(j);
	*res = j->result;
	return 0;
}

int
jail_wait(struct jail *j, struct jail_result *res, struct jail_error *e)
{
	for (;;) {
		int r = jail_reap(j, res, e);
		if (r != -EAGAIN)
			return r;
		int timeout = -1;
		if (j->deadline && !j->timed_out) {
			uint64_t now = now_us();
			if (now >= j->deadline) {
				j->timed_out = true;
				jail_kill(j);
				j->killed = false;
				continue;
			}
			timeout = (int)((j->deadline - now + 999) / 1000);
		}
		struct pollfd pfd = {.fd = j->pidfd, .events = POLLIN};
		if (poll(&pfd, 1, timeout) < 0 && errno != EINTR)
			return jerr(e, errno, "poll");
	}
}

void
jail_free(struct jail *j)
{
	if (!j)
		return;
	kill_and_reap(j);
	jail_cleanup(j);
	free(j);
}

/* --- exec mode (-Me) -------------------------------------------------- */

/* The helper outside the jail: write the caller's maps, bring its lo up,
 * then hold the uid lease until the caller (by then the command) exits. */
static __attribute__((noreturn)) void
exec_helper(const struct jail_config *c, pid_t target, int sock, uint32_t host_id, struct jail *j)
{
	struct jail_error e = {0};
	struct jail_msg m;
	int pidfd = (int)syscall(SYS_pidfd_open, target, 0);

	if (pidfd < 0 || recv(sock, &m, sizeof(m), 0) != (ssize_t)sizeof(m))
		_exit(1);
	int r = 0;
	if (c->namespaces & JAIL_NS_USER) {
		r = write_map(target, "uid_map", c->uid, host_id, &e);
		if (r >= 0)
			r = write_map(target, "gid_map", c->gid,
				      c->host_gid != JAIL_ID_AUTO ? c->host_gid : host_id, &e);
	}
	if (r >= 0 && (c->namespaces & JAIL_NS_NET)) {
		int fd = recv_netlink_fd(sock, &e);
		r = fd < 0 ? fd : net_lo_up(fd, &e);
	}
	struct jail_msg reply = {.type = r < 0 ? MSG_ERROR : MSG_GO, .err = e.err};
	memcpy(reply.object, e.msg, sizeof(reply.object) - 1);
	(void)!send(sock, &reply, sizeof(reply), MSG_NOSIGNAL);
	close(sock);
	/* Hold nothing of the caller's but the lease. */
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int i = 0; i < 3 && devnull >= 0; i++)
		dup2(devnull, i);
	struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
	while (poll(&pfd, 1, -1) < 0 && errno == EINTR)
		;
	/* The command is gone: whatever it left in its cgroup goes too. */
	if (j->cgops)
		j->cgops->destroy(&j->cg, NULL);
	_exit(0);
}

int
jail_exec(const struct jail_config *c, const struct jail_filter *f, int notice_fd,
	  struct jail_error *e)
{
	struct child_ctx x = {.worker_exe_fd = -1, .worker_fds = {-1, -1, -1}};
	struct jail j = {
		.pid = -1, .pidfd = -1, .sync_fd = -1, .lease = UID_LEASE_NONE, .cg = CGROUP_NONE};
	struct jail_rlimit rl[JAIL_RL_COUNT];
	int sv[2] = {-1, -1};
	int r;

	r = jail_config_validate(c, JAIL_VALIDATE_RUN, e);
	if (r < 0)
		return r;
	if (c->namespaces & (JAIL_NS_PID | JAIL_NS_TIME))
		return jerr_plain(e, EINVAL,
				  "exec mode cannot give the calling process a new pid or time "
				  "namespace (add --disable_clone_newpid)");
	if (!f && !c->seccomp.disabled_for_tests)
		return jerr_plain(e, EINVAL,
				  "no seccomp filter given (refusing to run unfiltered)");

	memcpy(rl, c->rlimits, sizeof(rl));
	r = enforce_limits(c, rl, &j, e);
	if (r < 0)
		return r;
	if (notice_fd >= 0 && j.notices[0])
		dprintf(notice_fd, "agentjail: %s", j.notices);
	const char *rt = c->runtime_dir ? c->runtime_dir : JAIL_DEFAULT_RUNTIME_DIR;
	r = uidalloc_acquire(rt, c->host_id_min, c->host_id_max, c->host_uid, &j.lease, e);
	if (r < 0)
		return r;
	j.cgops = cgroup_backend();
	r = j.cgops->create(j.lease.id, &c->cgroup, &j.cg, e);
	if (r < 0)
		goto fail;
	x.c = c;
	x.filter = f;
	x.userns = c->namespaces & JAIL_NS_USER;
	x.utsns = c->namespaces & JAIL_NS_UTS;
	x.exec_direct = true;
	x.sync_fd = -1;
	x.alarm_s = (unsigned)((c->time_limit_ms + 999) / 1000);
	x.run_uid = x.userns ? c->uid : j.lease.id;
	x.run_gid = x.userns ? c->gid : (c->host_gid != JAIL_ID_AUTO ? c->host_gid : j.lease.id);
	if (c->namespaces & JAIL_NS_MOUNT) {
		r = mount_plan_build(c, x.run_uid, x.run_gid, &j.plan, e);
		if (r < 0)
			goto fail;
		x.plan = &j.plan;
		x.cwd = c->cwd ? c->cwd : JAIL_DEFAULT_CWD;
	} else {
		x.cwd = c->cwd;
	}
	if (x.utsns)
		x.hostname = c->hostname ? c->hostname : JAIL_DEFAULT_HOSTNAME;
	r = build_env(c, &j, &x.path, e);
	if (r < 0)
		goto fail;
	x.envp = j.envp;
	prepare_rlimits(rl, &j, &x);
	x.stdio[0] = x.stdio[1] = x.stdio[2] = -1;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		r = jerr(e, errno, "socketpair");
		goto fail;
	}
	/* Double fork: the helper must not be the command's child (a shell
	 * waiting for its children would wait for it). */
	pid_t self = getpid(), mid = fork();
	if (mid < 0) {
		r = jerr(e, errno, "fork");
		goto fail;
	}
	if (mid == 0) {
		if (fork() == 0) {
			close(sv[0]);
			exec_helper(c, self, sv[1], j.lease.id, &j);
		}
		_exit(0);
	}
	while (waitpid(mid, NULL, 0) < 0 && errno == EINTR)
		;
	close(sv[1]);
	sv[1] = -1;
	uidalloc_release(&j.lease); /* the helper holds it now, and the cgroup */
	j.cgops = NULL;
	if (j.cg.dirfd >= 0) {
		char self_pid[16];
		snprintf(self_pid, sizeof(self_pid), "%d", (int)self);
		int fd = openat(j.cg.dirfd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
		ssize_t w = fd < 0 ? -1 : write(fd, self_pid, strlen(self_pid));
		int err = errno;
		if (fd >= 0)
			close(fd);
		close(j.cg.dirfd);
		j.cg.dirfd = -1;
		if (w < 0) {
			r = jerr(e, err, "cgroup %s: enter", j.cg.path);
			goto fail;
		}
	}

	int flags = (int)(clone_flags(c->namespaces) & ~(uint64_t)(CLONE_NEWPID | CLONE_NEWTIME));
	if (unshare(flags) < 0) {
		r = jerr(e, errno, "unshare");
		goto fail;
	}
	struct jail_msg m = {.type = MSG_GO};
	if (send(sv[0], &m, sizeof(m), MSG_NOSIGNAL) != (ssize_t)sizeof(m)) {
		r = jerr(e, errno, "exec mode: reach the helper");
		goto fail;
	}
	if (c->namespaces & JAIL_NS_NET) {
		int fd = net_child_socket();
		if (fd < 0) {
			r = jerr(e, -fd, "socket netlink");
			goto fail;
		}
		r = child_send_fd(sv[0], fd);
		close(fd);
		if (r < 0) {
			r = jerr(e, -r, "exec mode: hand over the netlink socket");
			goto fail;
		}
	}
	if (recv(sv[0], &m, sizeof(m), 0) != (ssize_t)sizeof(m) || !msg_sane(&m) ||
	    m.type != MSG_GO) {
		r = m.type == MSG_ERROR ? jerr_plain(e, m.err, "%s", m.object)
					: jerr_plain(e, EPROTO, "exec mode: the helper failed");
		goto fail;
	}
	close(sv[0]);
	child_main(&x); /* does not return */

fail:
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	jail_cleanup(&j);
	return r;
}
