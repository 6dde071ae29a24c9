/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroup v2: one cgroup per jail, limits, accounting, and the kill that
 * nothing in the jail can escape.
 *
 * The host is looked at once per process: the cgroup2 mount (a pure
 * /sys/fs/cgroup, the "unified" mount of a hybrid layout, or one given by
 * jail_cgroup_setup), the directory jails' cgroups go under (a configured
 * parent; our own cgroup when systemd delegated it to us; otherwise
 * "agentjail" under the mount's root, which also serves a command line
 * started from a shell in a non-delegated scope), and the controllers that
 * can be enabled for it. A hierarchy without controllers is still worth
 * using: every cgroup has cgroup.kill, cgroup.events, cgroup.freeze and
 * cpu.stat. agentjail never touches cgroup v1 hierarchies.
 *
 * A jail's cgroup is named after its host uid lease ("jail-<uid>"), which
 * no live jail shares: a directory of that name left behind by a crash can
 * be emptied and reused safely.
 */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/xattr.h>
#include <linux/magic.h>

#include "cgroup.h"
#include "internal.h"

static const struct {
	unsigned bit;
	const char *name;
} controllers[] = {
	{JAIL_CGROUP_MEMORY, "memory"}, {JAIL_CGROUP_PIDS, "pids"},	{JAIL_CGROUP_CPU, "cpu"},
	{JAIL_CGROUP_IO, "io"},		{JAIL_CGROUP_CPUSET, "cpuset"},
};

/* The controllers enabled ahead of any request: what the common limits
 * need. io and cpuset are enabled the first time a jail asks for them. */
#define CORE_CONTROLLERS (JAIL_CGROUP_MEMORY | JAIL_CGROUP_PIDS | JAIL_CGROUP_CPU)

static struct {
	bool probed;
	const struct cgroup_ops *ops;
	char mount[PATH_MAX];
	char base[PATH_MAX];
	char want_mount[PATH_MAX];
	char want_parent[PATH_MAX];
	bool hybrid;
	bool delegated; /* base is our own cgroup, delegated to us by systemd */
	unsigned available, enabled;
	bool has_kill;
	char why[512];
} host;

const char *
jail_cgroup_names(unsigned mask, char *buf, size_t size)
{
	size_t n = 0, count = 0, total = 0;

	for (size_t i = 0; i < ARRAY_SIZE(controllers); i++)
		total += !!(mask & controllers[i].bit);
	buf[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(controllers) && n < size; i++) {
		if (!(mask & controllers[i].bit))
			continue;
		count++;
		const char *sep = count == 1 ? "" : count == total ? " and " : ", ";
		int k = snprintf(buf + n, size - n, "%s%s", sep, controllers[i].name);
		if (k < 0)
			break;
		n += (size_t)k;
	}
	return buf;
}

/* --- small file helpers ----------------------------------------------- */

static int
write_at(int dirfd, const char *file, const char *value)
{
	_cleanup_close_ int fd = openat(dirfd, file, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t len = strlen(value);
	ssize_t n = write(fd, value, len);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

static ssize_t
read_at(int dirfd, const char *file, char *buf, size_t size)
{
	_cleanup_close_ int fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, size - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return n;
}

/* The value of "key N" in a flat-keyed file (cpu.stat, memory.events). */
static uint64_t
keyed_value(int dirfd, const char *file, const char *key)
{
	char buf[4096];
	size_t klen = strlen(key);

	if (read_at(dirfd, file, buf, sizeof(buf)) <= 0)
		return 0;
	for (char *line = buf; line && *line;) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ' ')
			return strtoull(line + klen + 1, NULL, 10);
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return 0;
}

static uint64_t
single_value(int dirfd, const char *file)
{
	char buf[64];

	if (read_at(dirfd, file, buf, sizeof(buf)) <= 0 || !isdigit((unsigned char)buf[0]))
		return 0;
	return strtoull(buf, NULL, 10);
}

static unsigned
parse_controllers(const char *s)
{
	unsigned mask = 0;
	char buf[512];
	char *save = NULL;

	snprintf(buf, sizeof(buf), "%s", s);
	for (char *tok = strtok_r(buf, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
		for (size_t i = 0; i < ARRAY_SIZE(controllers); i++)
			if (strcmp(tok, controllers[i].name) == 0)
				mask |= controllers[i].bit;
	return mask;
}

static unsigned
controllers_of(const char *dir, const char *file)
{
	_cleanup_close_ int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	char buf[512];

	if (fd < 0 || read_at(fd, file, buf, sizeof(buf)) < 0)
		return 0;
	return parse_controllers(buf);
}

/* --- discovery -------------------------------------------------------- */

/* The cgroup2 mount: /sys/fs/cgroup if it is one, else the first listed. */
static bool
find_mount(char *ret, size_t size, bool *hybrid)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	bool found = false;

	*hybrid = false;
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		/* id parent maj:min root mountpoint opts [tags] - fstype src opts */
		char mp[PATH_MAX], fstype[64];
		const char *dash = strstr(line, " - ");
		if (!dash || sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1 ||
		    sscanf(dash + 3, "%63s", fstype) != 1)
			continue;
		if (strcmp(fstype, "cgroup") == 0)
			*hybrid = true;
		if (strcmp(fstype, "cgroup2") != 0)
			continue;
		if (!found || strcmp(mp, "/sys/fs/cgroup") == 0) {
			snprintf(ret, size, "%s", mp);
			found = true;
		}
	}
	return found;
}

/* Enable the controllers in `want` for the children of dir; returns the
 * mask of those enabled afterwards. */
static unsigned
enable_controllers(const char *dir, unsigned want)
{
	_cleanup_close_ int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	char cmd[32];

	if (fd < 0)
		return 0;
	unsigned have = controllers_of(dir, "cgroup.subtree_control");
	for (size_t i = 0; i < ARRAY_SIZE(controllers); i++) {
		if (!(want & controllers[i].bit) || (have & controllers[i].bit))
			continue;
		snprintf(cmd, sizeof(cmd), "+%s", controllers[i].name);
		if (write_at(fd, "cgroup.subtree_control", cmd) == 0)
			have |= controllers[i].bit;
	}
	return have;
}

/* Enable `want` on every level from the mount's root down to the base. */
static unsigned
enable_path(unsigned want)
{
	char dir[PATH_MAX];
	size_t mlen = strlen(host.mount);
	unsigned have = want;

	/* A delegated subtree is ours from its top down; above it is the
	 * service manager's. */
	if (host.delegated)
		return want & enable_controllers(host.base, want);
	snprintf(dir, sizeof(dir), "%s", host.mount);
	have &= enable_controllers(dir, want);
	for (const char *p = host.base + mlen; *p && have;) {
		const char *end = strchrnul(p + 1, '/');
		snprintf(dir, sizeof(dir), "%.*s", (int)(end - host.base), host.base);
		have &= enable_controllers(dir, have);
		p = end;
	}
	return have;
}

static int
mkdir_path(const char *path, size_t from)
{
	char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + from + 1;; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (mkdir(buf, 0755) < 0 && errno != EEXIST)
				return -errno;
			*p = c;
			if (!c)
				break;
		}
	}
	return 0;
}

extern const struct cgroup_ops cgroup_v2_ops, cgroup_none_ops;

/*
 * Under systemd with Delegate=yes our own cgroup is ours to manage, and
 * systemd marks it with the "trusted.delegate" xattr. Jails' cgroups then go
 * below it; but a cgroup with processes of its own cannot hand controllers
 * to its children, so this process first moves into a leaf of its own,
 * "agentjail-self" (shared by every agentjail process of the unit, removed
 * with the unit's cgroup).
 */
static bool
use_delegated_cgroup(void)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/cgroup", "re");
	char line[PATH_MAX], own[PATH_MAX], leaf[PATH_MAX + 32], flag[8] = "";

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::/", 4) != 0)
			continue;
		line[strcspn(line, "\n")] = '\0';
		snprintf(own, sizeof(own), "%.2000s%.2000s", host.mount,
			 strcmp(line + 3, "/") == 0 ? "" : line + 3);
		ssize_t n = getxattr(own, "trusted.delegate", flag, sizeof(flag) - 1);
		if (n <= 0 || flag[0] != '1')
			return false;
		snprintf(leaf, sizeof(leaf), "%s/agentjail-self", own);
		if (mkdir(leaf, 0755) < 0 && errno != EEXIST)
			return false;
		_cleanup_close_ int fd = open(leaf, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 || write_at(fd, "cgroup.procs", "0") < 0)
			return false;
		snprintf(host.base, sizeof(host.base), "%s", own);
		return true;
	}
	return false;
}

static void
probe(void)
{
	struct statfs sfs;
	char buf[PATH_MAX + 32];
	int r;

	if (host.probed)
		return;
	host.probed = true;
	host.ops = &cgroup_none_ops;
	if (host.want_mount[0]) {
		snprintf(host.mount, sizeof(host.mount), "%s", host.want_mount);
		bool ignored;
		find_mount(buf, sizeof(buf), &ignored);
		host.hybrid = ignored;
	} else if (!find_mount(host.mount, sizeof(host.mount), &host.hybrid)) {
		snprintf(host.why, sizeof(host.why), "no cgroup v2 hierarchy is mounted");
		return;
	}
	if (statfs(host.mount, &sfs) < 0 || sfs.f_type != CGROUP2_SUPER_MAGIC) {
		snprintf(host.why, sizeof(host.why), "%.400s is not a cgroup v2 mount", host.mount);
		host.mount[0] = '\0';
		return;
	}
	if (!host.want_parent[0] && use_delegated_cgroup())
		host.delegated = true;
	else
		snprintf(host.base, sizeof(host.base), "%.1024s/%.1024s", host.mount,
			 host.want_parent[0] ? host.want_parent : "agentjail");
	r = mkdir_path(host.base, strlen(host.mount));
	if (r < 0) {
		snprintf(host.why, sizeof(host.why), "cannot create %.400s: %s", host.base,
			 strerror(-r));
		return;
	}
	snprintf(buf, sizeof(buf), "%s/cgroup.kill", host.base);
	host.has_kill = access(buf, F_OK) == 0;
	host.available =
		controllers_of(host.delegated ? host.base : host.mount, "cgroup.controllers");
	host.enabled = enable_path(host.available & CORE_CONTROLLERS);
	unsigned missing = (host.available & CORE_CONTROLLERS) & ~host.enabled;
	if (missing) {
		char names[64];
		snprintf(host.why, sizeof(host.why),
			 "could not enable %s for %.300s (a cgroup on the way has processes of its "
			 "own, which cgroup v2 forbids; configure a parent cgroup without "
			 "processes)",
			 jail_cgroup_names(missing, names, sizeof(names)), host.base);
	}
	host.ops = &cgroup_v2_ops;
}

const struct cgroup_ops *
cgroup_backend(void)
{
	probe();
	return host.ops;
}

unsigned
cgroup_enforceable(void)
{
	probe();
	return host.ops == &cgroup_v2_ops ? host.enabled : 0;
}

int
jail_cgroup_setup(const char *mount, const char *parent, struct jail_error *e)
{
	if (host.probed)
		return jerr_plain(e, EBUSY, "cgroup: set up before the first jail");
	struct statfs sfs;
	if (mount && (mount[0] != '/' || strlen(mount) > 1024))
		return jerr_plain(e, EINVAL, "cgroup v2 mount '%.200s': expected an absolute path",
				  mount);
	if (mount && statfs(mount, &sfs) < 0)
		return jerr(e, errno, "cgroup v2 mount %s", mount);
	if (mount && sfs.f_type != CGROUP2_SUPER_MAGIC)
		return jerr_plain(e, EINVAL,
				  "cgroup v2 mount %s: not a cgroup v2 filesystem (expected e.g. "
				  "/sys/fs/cgroup)",
				  mount);
	if (parent &&
	    (parent[0] == '/' || strstr(parent, "..") || !parent[0] || strlen(parent) > 1024))
		return jerr_plain(e, EINVAL,
				  "cgroup parent '%.200s': expected a relative path below the "
				  "cgroup v2 mount, without '..'",
				  parent);
	snprintf(host.want_mount, sizeof(host.want_mount), "%s", mount ? mount : "");
	snprintf(host.want_parent, sizeof(host.want_parent), "%s", parent ? parent : "");
	return 0;
}

void
jail_cgroup_info(struct jail_cgroup_info *ret)
{
	probe();
	memset(ret, 0, sizeof(*ret));
	ret->backend = host.ops->name;
	snprintf(ret->mount, sizeof(ret->mount), "%s", host.mount);
	snprintf(ret->base, sizeof(ret->base), "%s", host.base);
	ret->hybrid = host.hybrid;
	ret->available = host.available;
	ret->enforceable = cgroup_enforceable();
	ret->has_kill = host.has_kill;
	snprintf(ret->why, sizeof(ret->why), "%s", host.why);
}

/* --- the v2 backend --------------------------------------------------- */

/* Wait until nothing runs in the cgroup: cgroup.events says "populated 0";
 * the kernel signals every change of the file with POLLPRI. */
static int
wait_empty(int dirfd, int timeout_ms)
{
	_cleanup_close_ int fd = openat(dirfd, "cgroup.events", O_RDONLY | O_CLOEXEC);
	uint64_t deadline = now_us() + (uint64_t)timeout_ms * 1000;
	char buf[256];

	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
		if (n < 0)
			return -errno;
		buf[n] = '\0';
		if (strstr(buf, "populated 0"))
			return 0;
		uint64_t now = now_us();
		if (now >= deadline)
			return -ETIMEDOUT;
		struct pollfd pfd = {.fd = fd, .events = POLLPRI};
		poll(&pfd, 1, (int)((deadline - now) / 1000) + 1);
	}
}

static void
v2_kill(struct cgroup *cg)
{
	char buf[1 << 16];

	if (cg->dirfd < 0)
		return;
	if (write_at(cg->dirfd, "cgroup.kill", "1") == 0)
		return;
	/* Before Linux 5.14: freeze, kill every member, thaw (so that the
	 * SIGKILLs are delivered). Frozen, nothing can fork in between. */
	write_at(cg->dirfd, "cgroup.freeze", "1");
	if (read_at(cg->dirfd, "cgroup.procs", buf, sizeof(buf)) > 0)
		for (char *p = buf; *p;) {
			pid_t pid = (pid_t)strtol(p, &p, 10);
			if (pid > 0)
				kill(pid, SIGKILL);
			while (*p == '\n')
				p++;
		}
	write_at(cg->dirfd, "cgroup.freeze", "0");
}

static void
v2_stats(struct cgroup *cg, struct jail_result *res)
{
	if (cg->dirfd < 0)
		return;
	res->cgroup_measured = true;
	/* The whole jail's CPU time, including processes PID 1 never reaped
	 * (killed at the end): better than PID 1's rusage. */
	res->cpu_usage_us = keyed_value(cg->dirfd, "cpu.stat", "usage_usec");
	res->cpu_user_us = keyed_value(cg->dirfd, "cpu.stat", "user_usec");
	res->cpu_system_us = keyed_value(cg->dirfd, "cpu.stat", "system_usec");
	res->memory_peak = single_value(cg->dirfd, "memory.peak");
	res->pids_peak = single_value(cg->dirfd, "pids.peak");
	res->oom_killed = keyed_value(cg->dirfd, "memory.events", "oom_kill") > 0;
	res->pids_max_hit = keyed_value(cg->dirfd, "pids.events", "max") > 0;
}

/* Remove the child cgroups below dir, depth first (a jail's worker makes
 * one per command; a worker killed outright leaves them behind). They are
 * empty once the parent's cgroup.kill has done its work. */
static void
remove_children(const char *dir, int depth)
{
	DIR *d = depth < 8 ? opendir(dir) : NULL;
	struct dirent *de;

	while (d && (de = readdir(d))) {
		char sub[PATH_MAX];
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%.3000s/%.255s", dir, de->d_name);
		remove_children(sub, depth + 1);
		rmdir(sub);
	}
	if (d)
		closedir(d);
}

static int
v2_destroy(struct cgroup *cg, struct jail_error *e)
{
	int r = 0;

	if (cg->dirfd < 0)
		return 0;
	v2_kill(cg);
	r = wait_empty(cg->dirfd, 5000);
	if (r < 0)
		jerr(e, -r, "cgroup %s: wait until empty", cg->path);
	close(cg->dirfd);
	cg->dirfd = -1;
	remove_children(cg->path, 0);
	/* The last exits may still be completing: retry briefly on EBUSY. */
	for (int i = 0; i < 100; i++) {
		if (rmdir(cg->path) == 0 || errno == ENOENT) {
			/* The shared parent goes too once no jail is in it (rmdir
			 * of a cgroup with children fails); whoever needs it next
			 * makes it again. A parent given to us stays. */
			if (!host.delegated && !host.want_parent[0])
				rmdir(host.base);
			return r;
		}
		if (errno != EBUSY)
			break;
		usleep(10000);
	}
	return jerr(e, errno, "cgroup %s: remove", cg->path);
}

static int
write_limit(int dirfd, const char *path, const char *file, const char *value, struct jail_error *e)
{
	int r = write_at(dirfd, file, value);
	if (r < 0)
		return jerr(e, -r, "cgroup %s: write %s '%s'", path, file, value);
	return 0;
}

/* Write the limits the host can enforce (the others were said not to be,
 * and replaced by rlimits, by the caller). */
static int
write_limits(const struct cgroup *cgp, const struct jail_cgroup_limits *l, struct jail_error *e)
{
	const struct cgroup cg = *cgp;
	char v[64];
	int r;

	r = 0;
	if (l->memory_max && (host.enabled & JAIL_CGROUP_MEMORY)) {
		snprintf(v, sizeof(v), "%" PRIu64, l->memory_max);
		r = write_limit(cg.dirfd, cg.path, "memory.max", v, e);
		/* No swap: the limit is on memory, not on memory plus swap. */
		if (r == 0 && faccessat(cg.dirfd, "memory.swap.max", F_OK, 0) == 0)
			r = write_limit(cg.dirfd, cg.path, "memory.swap.max", "0", e);
	}
	if (r == 0 && l->memory_high && (host.enabled & JAIL_CGROUP_MEMORY)) {
		snprintf(v, sizeof(v), "%" PRIu64, l->memory_high);
		r = write_limit(cg.dirfd, cg.path, "memory.high", v, e);
	}
	if (r == 0 && l->pids_max && (host.enabled & JAIL_CGROUP_PIDS)) {
		snprintf(v, sizeof(v), "%" PRIu64, l->pids_max);
		r = write_limit(cg.dirfd, cg.path, "pids.max", v, e);
	}
	if (r == 0 && l->cpu_ms_per_sec && (host.enabled & JAIL_CGROUP_CPU)) {
		/* ms per 1000 ms = quota per 100 ms period, in microseconds. */
		snprintf(v, sizeof(v), "%u 100000", l->cpu_ms_per_sec * 100);
		r = write_limit(cg.dirfd, cg.path, "cpu.max", v, e);
	}
	if (r == 0 && l->cpuset && (host.enabled & JAIL_CGROUP_CPUSET))
		r = write_limit(cg.dirfd, cg.path, "cpuset.cpus", l->cpuset, e);
	for (size_t i = 0; r == 0 && i < l->n_io_max && (host.enabled & JAIL_CGROUP_IO); i++)
		r = write_limit(cg.dirfd, cg.path, "io.max", l->io_max[i], e);
	return r;
}

static int
v2_create(uint32_t id, const struct jail_cgroup_limits *l, struct cgroup *ret, struct jail_error *e)
{
	struct cgroup cg = CGROUP_NONE;
	unsigned want = 0;
	int r;

	/* io and cpuset only when asked for. */
	if (l->n_io_max)
		want |= JAIL_CGROUP_IO;
	if (l->cpuset)
		want |= JAIL_CGROUP_CPUSET;
	if (want & host.available & ~host.enabled)
		host.enabled |= enable_path(want & host.available) & want;

	snprintf(cg.path, sizeof(cg.path), "%.2100s/jail-%u", host.base, id);
	for (int tries = 0;; tries++) {
		if (mkdir(cg.path, 0755) == 0)
			break;
		if (tries == 3 || (errno != ENOENT && errno != EEXIST))
			return jerr(e, errno, "cgroup %s: create", cg.path);
		if (errno == ENOENT) {
			/* The shared parent was removed by the last jail to
			 * leave it: make it again, with its controllers. */
			r = mkdir_path(host.base, strlen(host.mount));
			if (r < 0)
				return jerr(e, -r, "cgroup %s: create", host.base);
			host.enabled = enable_path(host.enabled);
			continue;
		}
		/* Left by a jail of this uid that did not end cleanly: its
		 * lease is ours now, so whatever runs there is stale. */
		cg.dirfd = open(cg.path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		r = v2_destroy(&cg, e);
		if (r < 0)
			return r;
	}
	cg.dirfd = open(cg.path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cg.dirfd < 0) {
		r = jerr(e, errno, "cgroup %s: open", cg.path);
		rmdir(cg.path);
		return r;
	}

	r = write_limits(&cg, l, e);
	if (r < 0) {
		v2_destroy(&cg, NULL);
		return r;
	}
	*ret = cg;
	return 0;
}

static int
v2_narrow(struct cgroup *cg, const struct jail_cgroup_limits *l, struct jail_error *e)
{
	unsigned need = (l->memory_max ? JAIL_CGROUP_MEMORY : 0) |
			(l->pids_max ? JAIL_CGROUP_PIDS : 0) |
			(l->cpu_ms_per_sec ? JAIL_CGROUP_CPU : 0);
	if (cg->dirfd < 0 || (need & ~host.enabled))
		return -EOPNOTSUPP;
	struct jail_cgroup_limits only = {
		.memory_max = l->memory_max,
		.pids_max = l->pids_max,
		.cpu_ms_per_sec = l->cpu_ms_per_sec,
	};
	return write_limits(cg, &only, e);
}

const struct cgroup_ops cgroup_v2_ops = {
	.name = "v2",
	.create = v2_create,
	.narrow = v2_narrow,
	.kill = v2_kill,
	.stats = v2_stats,
	.destroy = v2_destroy,
};

int
cgroup_sweep(bool (*live)(uint32_t id, void *arg), void *arg,
	     void (*removed)(const char *path, void *arg))
{
	probe();
	if (host.ops != &cgroup_v2_ops)
		return 0;
	DIR *d = opendir(host.base);
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d))) {
		char *end;
		if (strncmp(de->d_name, "jail-", 5) != 0)
			continue;
		unsigned long id = strtoul(de->d_name + 5, &end, 10);
		if (*end || id == 0 || id > UINT32_MAX || live((uint32_t)id, arg))
			continue;
		struct cgroup cg = CGROUP_NONE;
		snprintf(cg.path, sizeof(cg.path), "%.2100s/%.64s", host.base, de->d_name);
		cg.dirfd = open(cg.path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (cg.dirfd >= 0 && v2_destroy(&cg, NULL) == 0) {
			n++;
			if (removed)
				removed(cg.path, arg);
		}
	}
	if (d)
		closedir(d);
	return n;
}

/* --- no cgroups at all ------------------------------------------------ */

static int
none_create(uint32_t id, const struct jail_cgroup_limits *l, struct cgroup *ret,
	    struct jail_error *e)
{
	*ret = CGROUP_NONE;
	return 0;
}

static void
none_kill(struct cgroup *cg)
{
}

static void
none_stats(struct cgroup *cg, struct jail_result *res)
{
}

static int
none_destroy(struct cgroup *cg, struct jail_error *e)
{
	return 0;
}

static int
none_narrow(struct cgroup *cg, const struct jail_cgroup_limits *l, struct jail_error *e)
{
	return -EOPNOTSUPP;
}

const struct cgroup_ops cgroup_none_ops = {
	.name = "none",
	.create = none_create,
	.narrow = none_narrow,
	.kill = none_kill,
	.stats = none_stats,
	.destroy = none_destroy,
};
