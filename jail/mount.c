/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The jail's root filesystem.
 *
 * A fresh tmpfs becomes the root. Into it go read-only binds of the host's
 * system directories (or of a rootfs directory's entries), a curated /etc,
 * a minimal /dev, a fresh /proc with the host-wide leaks masked, size-limited
 * tmpfs mounts at /tmp and /workspace, the profile's own mounts (the
 * tools' read-only binds at /tools/NAME among them), a tmpfs for secrets
 * at /run/secrets when the profile names any; then pivot_root, the old root
 * detached, and the root made read-only.
 *
 * mount_plan_build() runs in the parent and does all the thinking;
 * mount_plan_apply() runs in the child and only makes system calls.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/mount.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "internal.h"
#include "mount.h"

/* --- building the plan (parent) ------------------------------------- */

/* The staging root is a directory of the runtime dir; each jail mounts its
 * own tmpfs there inside its own mount namespace. */
#define STAGING "root"

static char *
fmt(const char *f, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, f);
	if (vasprintf(&s, f, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

struct builder {
	struct mount_plan *p;
	const char *root; /* staging root */
	uint32_t uid, gid;
	int err; /* first allocation failure */
};

static struct mount_op *
add(struct builder *b, enum mount_op_kind kind, char *dst, char *what)
{
	struct mount_plan *p = b->p;

	if (!dst || !what) {
		free(dst);
		free(what);
		b->err = ENOMEM;
		return NULL;
	}
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		struct mount_op *ops = realloc(p->ops, cap * sizeof(*ops));
		if (!ops) {
			free(dst);
			free(what);
			b->err = ENOMEM;
			return NULL;
		}
		p->ops = ops;
		p->cap = cap;
	}
	struct mount_op *op = &p->ops[p->n++];
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->dst = dst;
	op->what = what;
	return op;
}

/* A path in the jail → the same path under the staging root. */
static char *
staged(const struct builder *b, const char *jail_path)
{
	return fmt("%s%s", b->root, strcmp(jail_path, "/") == 0 ? "" : jail_path);
}

static void
set_str(struct builder *b, char **field, char *value)
{
	if (!value)
		b->err = ENOMEM;
	*field = value;
}

static void
add_bind(struct builder *b, const char *src, const char *target, bool ro)
{
	struct stat st;
	struct mount_op *op = add(b, MOP_BIND, staged(b, target),
				  fmt("%s -> %s (bind,%s)", src, target, ro ? "ro" : "rw"));
	if (!op)
		return;
	set_str(b, &op->src, strdup(src));
	op->recursive = true;
	/* The mount point mirrors the source: a directory, or an empty file
	 * for a file (or a device node). A missing source is left to the
	 * child, which then fails with ENOENT naming the mount. */
	op->src_is_dir = stat(src, &st) < 0 || S_ISDIR(st.st_mode);
	op->attr = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (ro ? MOUNT_ATTR_RDONLY : 0);
}

static void
add_tmpfs(struct builder *b, const char *target, uint64_t size, mode_t mode, bool ro,
	  unsigned long flags)
{
	struct mount_op *op = add(b, MOP_TMPFS, staged(b, target), fmt("tmpfs -> %s", target));
	if (!op)
		return;
	set_str(b, &op->data,
		fmt("mode=%04o,size=%llu,uid=%u,gid=%u", (unsigned)mode, (unsigned long long)size,
		    b->uid, b->gid));
	op->flags = MS_NOSUID | MS_NODEV | flags | (ro ? MS_RDONLY : 0);
}

static void
add_symlink(struct builder *b, const char *content, const char *target)
{
	struct mount_op *op =
		add(b, MOP_SYMLINK, staged(b, target), fmt("%s -> %s", target, content));
	if (op)
		set_str(b, &op->src, strdup(content));
}

static void
add_file(struct builder *b, const char *target, char *content)
{
	struct mount_op *op = add(b, MOP_FILE, staged(b, target), strdup(target));
	if (op) {
		set_str(b, &op->src, content);
		op->mode = 0644;
	} else {
		free(content);
	}
}

/* The host's system directories: a symlink (e.g. /bin -> usr/bin on merged
 * /usr systems) is recreated, a directory bound read-only. */
static void
add_system_dirs(struct builder *b)
{
	static const char *const dirs[] = {"/usr",   "/bin",   "/sbin",	 "/lib",
					   "/lib64", "/lib32", "/libx32"};
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		struct stat st;
		char link[PATH_MAX];

		if (lstat(dirs[i], &st) < 0)
			continue;
		if (S_ISLNK(st.st_mode)) {
			ssize_t n = readlink(dirs[i], link, sizeof(link) - 1);
			if (n <= 0)
				continue;
			link[n] = '\0';
			add_symlink(b, link, dirs[i]);
		} else if (S_ISDIR(st.st_mode)) {
			add_bind(b, dirs[i], dirs[i], true);
		}
	}
}

/* A rootfs directory: its top-level entries, except what the jail makes
 * itself, bound read-only into the tmpfs root. */
static int
add_rootfs(struct builder *b, const char *rootfs, bool tools, struct jail_error *e)
{
	static const char *const own[] = {"proc", "dev", "sys", "tmp", "workspace", "run"};
	DIR *d = opendir(rootfs);
	struct dirent *de;

	if (!d)
		return jerr(e, errno, "rootfs %s", rootfs);
	while ((de = readdir(d))) {
		bool skip = de->d_name[0] == '.' &&
			    (de->d_name[1] == '\0' || (de->d_name[1] == '.' && !de->d_name[2]));
		for (size_t i = 0; i < ARRAY_SIZE(own) && !skip; i++)
			skip = strcmp(de->d_name, own[i]) == 0;
		/* The tools' mount points are made in the root tmpfs: a
		 * read-only /tools of the rootfs would refuse them. */
		skip = skip || (tools && strcmp(de->d_name, JAIL_TOOLS_DIR + 1) == 0);
		if (skip)
			continue;
		_cleanup_free_ char *src = fmt("%s/%s", rootfs, de->d_name);
		_cleanup_free_ char *tgt = fmt("/%s", de->d_name);
		struct stat st;
		char link[PATH_MAX];
		if (!src || !tgt) {
			closedir(d);
			return jerr(e, ENOMEM, "rootfs %s", rootfs);
		}
		if (lstat(src, &st) < 0)
			continue;
		if (S_ISLNK(st.st_mode)) {
			ssize_t n = readlink(src, link, sizeof(link) - 1);
			if (n > 0) {
				link[n] = '\0';
				add_symlink(b, link, tgt);
			}
		} else if (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)) {
			add_bind(b, src, tgt, true);
		}
	}
	closedir(d);
	return 0;
}

/*
 * /etc on the host layout: the jail's own passwd, group, hosts and hostname
 * (the host's accounts are none of the jail's business, and the jail's uid
 * must have a name), plus read-only binds of what programs need from the
 * host's /etc: name service and resolver configuration, the dynamic linker
 * cache, time zone, TLS certificates, the alternatives symlinks, shell and
 * Python start-up files.
 */
static void
add_etc(struct builder *b, const struct jail_config *c)
{
	static const char *const files[] = {
		"resolv.conf", "nsswitch.conf",	 "host.conf",  "gai.conf",  "services",
		"protocols",   "ld.so.cache",	 "ld.so.conf", "localtime", "timezone",
		"mime.types",  "bash.bashrc",	 "profile",    "inputrc",   "shells",
		"os-release",  "debian_version",
	};
	static const char *const dirs[] = {"ssl", "ca-certificates", "alternatives", "ld.so.conf.d",
					   "profile.d"};
	const char *host = c->hostname ? c->hostname : JAIL_DEFAULT_HOSTNAME;

	add_file(b, "/etc/passwd",
		 fmt("root:x:0:0:root:/root:/usr/sbin/nologin\n"
		     "jail:x:%u:%u:agentjail:/workspace:/bin/sh\n"
		     "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
		     b->uid, b->gid));
	add_file(b, "/etc/group", fmt("root:x:0:\njail:x:%u:\nnogroup:x:65534:\n", b->gid));
	add_file(b, "/etc/hosts",
		 fmt("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
		     "127.0.1.1\t%s\n",
		     host));
	add_file(b, "/etc/hostname", fmt("%s\n", host));

	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		_cleanup_free_ char *src = fmt("/etc/%s", files[i]);
		struct stat st;
		if (!src) {
			b->err = ENOMEM;
			return;
		}
		if (stat(src, &st) == 0 && S_ISREG(st.st_mode))
			add_bind(b, src, src, true);
	}
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		_cleanup_free_ char *src = fmt("/etc/%s", dirs[i]);
		struct stat st;
		if (!src) {
			b->err = ENOMEM;
			return;
		}
		if (stat(src, &st) == 0 && S_ISDIR(st.st_mode))
			add_bind(b, src, src, true);
	}
	/* /etc/python3, /etc/python3.11, ...: sitecustomize and friends. */
	DIR *d = opendir("/etc");
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (strncmp(de->d_name, "python3", 7) != 0 || strchr(de->d_name, '/'))
			continue;
		_cleanup_free_ char *src = fmt("/etc/%s", de->d_name);
		struct stat st;
		if (src && stat(src, &st) == 0 && S_ISDIR(st.st_mode))
			add_bind(b, src, src, true);
	}
	if (d)
		closedir(d);
}

/* /dev: a small tmpfs holding binds of the harmless host devices (user
 * namespaces cannot mknod, and a bind keeps the node's own mount, which
 * allows device access), the usual symlinks, /dev/shm, and /dev/pts only
 * when asked. Read-only once populated. */
static void
add_dev(struct builder *b, const struct jail_config *c)
{
	static const char *const nodes[] = {"null", "zero", "full", "random", "urandom"};
	struct mount_op *op;

	op = add(b, MOP_TMPFS, staged(b, "/dev"), strdup("tmpfs -> /dev"));
	if (op) {
		set_str(b, &op->data,
			fmt("mode=0755,size=64k,nr_inodes=64,uid=%u,gid=%u", b->uid, b->gid));
		op->flags = MS_NOSUID | MS_NOEXEC;
	}
	for (size_t i = 0; i < ARRAY_SIZE(nodes); i++) {
		_cleanup_free_ char *p = fmt("/dev/%s", nodes[i]);
		if (!p) {
			b->err = ENOMEM;
			return;
		}
		add_bind(b, p, p, false);
		if (b->p->n)
			b->p->ops[b->p->n - 1].attr = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC;
	}
	if (c->dev_tty) {
		add_bind(b, "/dev/tty", "/dev/tty", false);
		if (b->p->n)
			b->p->ops[b->p->n - 1].attr = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC;
	}
	add_symlink(b, "/proc/self/fd", "/dev/fd");
	add_symlink(b, "/proc/self/fd/0", "/dev/stdin");
	add_symlink(b, "/proc/self/fd/1", "/dev/stdout");
	add_symlink(b, "/proc/self/fd/2", "/dev/stderr");
	add_tmpfs(b, "/dev/shm", c->shm_size ? c->shm_size : JAIL_DEFAULT_SHM_SIZE, 01777, false,
		  MS_NOEXEC);
	if (c->dev_pts) {
		op = add(b, MOP_DEVPTS, staged(b, "/dev/pts"), strdup("devpts -> /dev/pts"));
		if (op) {
			set_str(b, &op->data, strdup("newinstance,ptmxmode=0666,mode=0620"));
			op->flags = MS_NOSUID | MS_NOEXEC;
		}
		add_symlink(b, "pts/ptmx", "/dev/ptmx");
	}
	op = add(b, MOP_SETATTR, staged(b, "/dev"), strdup("/dev (ro)"));
	if (op)
		op->attr = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC;
}

/* /proc for the jail's pid namespace, with the host-wide leaks masked and
 * the kernel tunables read-only, as crun and Docker do. */
static void
add_proc(struct builder *b)
{
	static const char *const mask_files[] = {
		"kcore",	 "keys",       "timer_list",	"sched_debug",
		"sysrq-trigger", "kallsyms",   "latency_stats", "timer_stats",
		"kpagecount",	 "kpageflags", "kpagecgroup",	"config.gz",
	};
	static const char *const mask_dirs[] = {"acpi", "scsi", "asound", "firmware"};
	/* Read-only rather than masked: a write to the jail's /dev/null would
	 * succeed (a device node stays writable on a read-only mount), and
	 * sysrq-trigger should refuse, not swallow. */
	static const char *const ro_dirs[] = {"sys", "irq", "bus", "fs", "sysrq-trigger"};
	struct mount_op *op;

	op = add(b, MOP_PROC, staged(b, "/proc"), strdup("proc -> /proc"));
	if (op)
		op->flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	for (size_t i = 0; i < ARRAY_SIZE(mask_files); i++) {
		_cleanup_free_ char *p = fmt("/proc/%s", mask_files[i]);
		op = p ? add(b, MOP_MASK_FILE, staged(b, p), fmt("%s (mask)", p)) : NULL;
		if (op)
			set_str(b, &op->src, staged(b, "/dev/null"));
		else
			b->err = ENOMEM;
	}
	for (size_t i = 0; i < ARRAY_SIZE(mask_dirs); i++) {
		_cleanup_free_ char *p = fmt("/proc/%s", mask_dirs[i]);
		op = p ? add(b, MOP_MASK_DIR, staged(b, p), fmt("%s (mask)", p)) : NULL;
		if (!op)
			b->err = ENOMEM;
	}
	for (size_t i = 0; i < ARRAY_SIZE(ro_dirs); i++) {
		_cleanup_free_ char *p = fmt("/proc/%s", ro_dirs[i]);
		op = p ? add(b, MOP_READONLY, staged(b, p), fmt("%s (ro)", p)) : NULL;
		if (!op)
			b->err = ENOMEM;
	}
}

int
mount_plan_build(const struct jail_config *c, uint32_t run_uid, uint32_t run_gid,
		 struct mount_plan *ret, struct jail_error *e)
{
	const char *rt = c->runtime_dir ? c->runtime_dir : JAIL_DEFAULT_RUNTIME_DIR;
	_cleanup_free_ char *root = fmt("%s/" STAGING, rt);
	struct mount_plan plan = {0};
	struct builder b = {.p = &plan, .root = root, .uid = run_uid, .gid = run_gid};
	struct mount_op *op;
	int r;

	if (!root)
		return jerr(e, ENOMEM, "mount plan");
	if (strlen(root) + JAIL_MAX_PATH + 1 > PATH_MAX * 2)
		return jerr_plain(e, ENAMETOOLONG, "runtime dir %s: too long", rt);
	if (mkdir(rt, 0755) < 0 && errno != EEXIST)
		return jerr(e, errno, "create runtime directory %s", rt);
	if (mkdir(root, 0755) < 0 && errno != EEXIST)
		return jerr(e, errno, "create staging directory %s", root);

	op = add(&b, MOP_TMPFS, strdup(root), strdup("tmpfs -> / (root)"));
	if (op) {
		set_str(&b, &op->data,
			fmt("mode=0755,size=1m,nr_inodes=4096,uid=%u,gid=%u", run_uid, run_gid));
		op->flags = MS_NOSUID | MS_NODEV;
	}
	if (c->rootfs) {
		r = add_rootfs(&b, c->rootfs, c->n_tools > 0, e);
		if (r < 0) {
			mount_plan_free(&plan);
			return r;
		}
	} else {
		add_system_dirs(&b);
		add_etc(&b, c);
	}
	add_dev(&b, c);
	if (c->proc)
		add_proc(&b);
	if (c->tmp_dir)
		add_bind(&b, c->tmp_dir, "/tmp", false);
	else
		add_tmpfs(&b, "/tmp", c->tmp_size, 01777, false, 0);
	if (c->workspace_dir)
		add_bind(&b, c->workspace_dir, "/workspace", false);
	else
		add_tmpfs(&b, "/workspace", c->workspace_size, 0755, false, 0);

	for (size_t i = 0; i < c->n_mounts; i++) {
		const struct jail_mount *m = &c->mounts[i];
		struct stat st;

		switch (m->kind) {
		case JAIL_MOUNT_BIND:
			if (m->optional && stat(m->source, &st) < 0)
				break;
			add_bind(&b, m->source, m->target, m->readonly);
			break;
		case JAIL_MOUNT_TMPFS:
			add_tmpfs(&b, m->target, m->size ? m->size : JAIL_TMPFS_DEFAULT_SIZE,
				  m->mode ? m->mode : 0755, m->readonly, 0);
			break;
		case JAIL_MOUNT_SYMLINK: add_symlink(&b, m->source, m->target); break;
		}
	}
	/* Secrets: a tmpfs only the jail's uid may read, sized for the files
	 * the profile names; /run is made in the root tmpfs (neither the host
	 * layout nor a rootfs brings one). After the profile's mounts, so
	 * that a tmpfs at /run does not hide it. */
	if (c->n_secrets)
		add_tmpfs(&b, JAIL_SECRETS_DIR, jail_secrets_size(c), JAIL_SECRETS_DIR_MODE, false,
			  MS_NOEXEC);
	op = add(&b, MOP_PIVOT, strdup(root), strdup("/"));

	if (b.err) {
		mount_plan_free(&plan);
		return jerr(e, b.err, "mount plan");
	}
	*ret = plan;
	return 0;
}

void
mount_plan_free(struct mount_plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		free(p->ops[i].src);
		free(p->ops[i].dst);
		free(p->ops[i].what);
		free(p->ops[i].data);
	}
	free(p->ops);
	memset(p, 0, sizeof(*p));
}

/* --- applying the plan (child) -------------------------------------- */

const char *
mount_op_step(enum mount_op_kind k)
{
	switch (k) {
	case MOP_TMPFS:
	case MOP_BIND:
	case MOP_PROC:
	case MOP_DEVPTS:
	case MOP_MASK_FILE:
	case MOP_MASK_DIR: return "mount";
	case MOP_SYMLINK: return "symlink";
	case MOP_FILE: return "write";
	case MOP_READONLY:
	case MOP_SETATTR: return "remount";
	case MOP_PIVOT: return "pivot_root";
	}
	return "mount";
}

static int
set_attr(const char *path, bool recursive, uint64_t attr)
{
	struct mount_attr a = {.attr_set = attr};

	if (!attr)
		return 0;
	if (syscall(SYS_mount_setattr, AT_FDCWD, path, recursive ? AT_RECURSIVE : 0, &a,
		    sizeof(a)) < 0)
		return -errno;
	return 0;
}

/* mkdir -p of path's parent (and of path itself with `self`), with a
 * stack buffer: no allocation in the child. */
static int
mkdir_parents(const char *path, bool self)
{
	char buf[PATH_MAX * 2];
	size_t n = strlen(path);

	if (n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	if (!self) {
		char *slash = strrchr(buf, '/');
		if (!slash || slash == buf)
			return 0;
		*slash = '\0';
	}
	for (char *p = buf + 1;; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (mkdir(buf, 0755) < 0 && errno != EEXIST)
				return -errno;
			*p = c;
			if (c == '\0')
				break;
		}
	}
	return 0;
}

static int
make_mountpoint(const struct mount_op *op)
{
	int r = mkdir_parents(op->dst, op->src_is_dir);
	if (r < 0 || op->src_is_dir)
		return r;
	int fd = open(op->dst, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return errno == EISDIR ? 0 : -errno;
	close(fd);
	return 0;
}

static int
exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

static int
apply_one(const struct mount_op *op)
{
	int r;

	switch (op->kind) {
	case MOP_TMPFS:
		if ((r = mkdir_parents(op->dst, true)) < 0)
			return r;
		if (mount("tmpfs", op->dst, "tmpfs", op->flags, op->data) < 0)
			return -errno;
		return 0;
	case MOP_BIND:
		if ((r = make_mountpoint(op)) < 0)
			return r;
		if (mount(op->src, op->dst, NULL, MS_BIND | (op->recursive ? MS_REC : 0), NULL) < 0)
			return -errno;
		return set_attr(op->dst, op->recursive, op->attr);
	case MOP_PROC:
		if ((r = mkdir_parents(op->dst, true)) < 0)
			return r;
		if (mount("proc", op->dst, "proc", op->flags, NULL) < 0)
			return -errno;
		return 0;
	case MOP_DEVPTS:
		if ((r = mkdir_parents(op->dst, true)) < 0)
			return r;
		if (mount("devpts", op->dst, "devpts", op->flags, op->data) < 0)
			return -errno;
		return 0;
	case MOP_SYMLINK:
		if ((r = mkdir_parents(op->dst, false)) < 0)
			return r;
		if (symlink(op->src, op->dst) < 0)
			return -errno;
		return 0;
	case MOP_FILE: {
		if ((r = mkdir_parents(op->dst, false)) < 0)
			return r;
		int fd = open(op->dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
			      op->mode);
		if (fd < 0)
			return -errno;
		size_t len = strlen(op->src);
		ssize_t w = write(fd, op->src, len);
		r = w < 0 ? -errno : (size_t)w != len ? -EIO : 0;
		close(fd);
		return r;
	}
	case MOP_MASK_FILE:
		if (!exists(op->dst))
			return 0;
		if (mount(op->src, op->dst, NULL, MS_BIND, NULL) < 0)
			return -errno;
		return set_attr(op->dst, false,
				MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
	case MOP_MASK_DIR:
		if (!exists(op->dst))
			return 0;
		if (mount("tmpfs", op->dst, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  "size=4k,nr_inodes=2,mode=0555") < 0)
			return -errno;
		return 0;
	case MOP_READONLY:
		if (!exists(op->dst))
			return 0;
		if (mount(op->dst, op->dst, NULL, MS_BIND | MS_REC, NULL) < 0)
			return -errno;
		return set_attr(op->dst, true,
				MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
					MOUNT_ATTR_NOEXEC);
	case MOP_SETATTR: return set_attr(op->dst, false, op->attr);
	case MOP_PIVOT:
		/* pivot_root(".", "."): the old root ends up on top of the new
		 * one and is detached at once, never visible by name. */
		if (chdir(op->dst) < 0)
			return -errno;
		if (syscall(SYS_pivot_root, ".", ".") < 0)
			return -errno;
		if (umount2(".", MNT_DETACH) < 0)
			return -errno;
		if (chdir("/") < 0)
			return -errno;
		return set_attr("/", false,
				MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
	}
	return -EINVAL;
}

int
mount_plan_apply(const struct mount_plan *p, size_t *failed)
{
	/* Nothing done in here may propagate back to the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		*failed = (size_t)-1;
		return -errno;
	}
	for (size_t i = 0; i < p->n; i++) {
		int r = apply_one(&p->ops[i]);
		if (r < 0) {
			*failed = i;
			return r;
		}
	}
	return 0;
}
