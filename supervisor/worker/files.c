/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The workspace: PUT (with DATA), GET, STAT, DELETE, MKDIR.
 *
 * Paths come from the supervisor and the names met on the way from jailed
 * code: the kernel resolves every path, with openat2() from the workspace's
 * directory fd and RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS, so that "..",
 * absolute symlinks, symlinks leading out and /proc's magic links all fail
 * (EXDEV, ELOOP: AJW_E_ESCAPE); no string checks. Changes go through a
 * parent directory fd so resolved and *at() calls on the last component,
 * which they do not follow. Only regular files are read or written: GET and
 * STAT first open with O_PATH | O_NOFOLLOW (a FIFO is not opened, so nothing
 * blocks; a device is not touched), and a regular file or directory is then
 * opened O_NONBLOCK and checked to be the same inode.
 *
 * Decisions:
 *  - PUT writes a temporary ".ajw-put.ID.N" in the target's directory and
 *    renames it over the target at the end: an upload that fails or is
 *    cancelled leaves nothing half-written. A symlink, FIFO or directory at
 *    the target gets AJW_E_NOT_REGULAR / AJW_E_IS_DIRECTORY; one planted
 *    during the upload is replaced by the rename, never followed. The file
 *    is a new inode: hard links to the old one keep the old content.
 *  - GET of a file sends the size seen at open at most (STAT_REPLY says
 *    it); if the file shrinks, END comes early.
 *  - GET of a directory lists its entries sorted by name (bytewise), with
 *    lstat-like details, "." and ".." left out. A directory of more than
 *    W_MAX_DIRENTS entries is refused (E2BIG, AJW_E_BAD_REQUEST) rather
 *    than listed in part.
 *  - CANCEL of a PUT or GET in flight drops it (the temporary file removed)
 *    and answers ERROR ECANCELED.
 *  - File data and entries are produced only while the reply queue has room.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "worker.h"

enum xfer_kind { X_PUT, X_FILE, X_DIR };

struct dent {
	struct ajw_stat st;
	char name[];
};

struct xfer {
	uint32_t id;
	enum xfer_kind kind;
	int fd;		     /* PUT: the temporary file; X_FILE: the file */
	int dir;	     /* PUT: the target's directory (O_PATH) */
	uint64_t limit;	     /* PUT: the announced size (0: none); X_FILE: size at open */
	uint64_t done;	     /* bytes written or sent */
	struct dent **ents;  /* X_DIR, sorted */
	size_t n_ents, next; /* X_DIR: entries, the next to send */
	char tmp[48];
	char name[NAME_MAX + 1];
	char path[256]; /* for messages */
};

static struct xfer *xfers[W_MAX_XFERS];
static uint32_t tmp_seq;

static struct xfer *
xfer_by_id(uint32_t id)
{
	for (unsigned i = 0; i < W_MAX_XFERS; i++)
		if (xfers[i] && xfers[i]->id == id)
			return xfers[i];
	return NULL;
}

bool
file_busy(uint32_t id)
{
	return xfer_by_id(id) != NULL;
}

static struct xfer *
xfer_new(uint32_t id, enum xfer_kind kind, const char *path)
{
	for (unsigned i = 0; i < W_MAX_XFERS; i++)
		if (!xfers[i]) {
			struct xfer *x = calloc(1, sizeof(*x));
			if (!x)
				w_fatal("malloc");
			x->id = id;
			x->kind = kind;
			x->fd = x->dir = -1;
			snprintf(x->path, sizeof(x->path), "%s", path);
			xfers[i] = x;
			return x;
		}
	return NULL;
}

static void
xfer_free(struct xfer *x)
{
	for (unsigned i = 0; i < W_MAX_XFERS; i++)
		if (xfers[i] == x)
			xfers[i] = NULL;
	w_close(&x->fd);
	w_close(&x->dir);
	for (size_t i = 0; i < x->n_ents; i++)
		free(x->ents[i]);
	free(x->ents);
	free(x);
}

/* The protocol's error code for an errno of a file operation. */
uint32_t
file_code(int err)
{
	switch (err) {
	case ENOENT: return AJW_E_NOT_FOUND;
	case EXDEV:
	case ELOOP: return AJW_E_ESCAPE;
	case ENXIO: return AJW_E_NOT_REGULAR;
	case EISDIR: return AJW_E_IS_DIRECTORY;
	case ENOTDIR: return AJW_E_NOT_DIRECTORY;
	case EEXIST: return AJW_E_EXISTS;
	case ENOTEMPTY: return AJW_E_NOT_EMPTY;
	case EROFS:
	case EACCES:
	case EPERM:
	case EBUSY: return AJW_E_READ_ONLY; /* EBUSY: a mount point */
	case ENOSPC:
	case EDQUOT:
	case EFBIG: return AJW_E_NO_SPACE;
	case ENAMETOOLONG:
	case EINVAL:
	case E2BIG: return AJW_E_BAD_REQUEST;
	case EMFILE:
	case ENFILE: return AJW_E_BUSY;
	default: return AJW_E_INTERNAL;
	}
}

static void
fail(uint32_t id, const char *op, const char *path, int err)
{
	while (*path == '/')
		path++;
	w_error(id, err, file_code(err), "%s /%.200s: %s", op, path, strerror(err));
}

static void
not_regular(uint32_t id, const char *op, const char *path)
{
	while (*path == '/')
		path++;
	w_error(id, EINVAL, AJW_E_NOT_REGULAR, "%s /%.200s: not a regular file", op, path);
}

/* The path of a request: one string, NUL-terminated at the payload's end. */
static const char *
req_path(const char *p, size_t n)
{
	if (n < 1 || p[n - 1] != '\0' || strlen(p) != n - 1)
		w_die_proto("a path is not one NUL-terminated string");
	return p;
}

/* Relative to the workspace: a leading '/' is its root, "" the root too. */
static const char *
rel(const char *path)
{
	while (*path == '/')
		path++;
	return *path ? path : ".";
}

static int
resolve(int dir, const char *path, uint64_t flags, mode_t mode)
{
	struct open_how how = {
		.flags = flags | O_CLOEXEC,
		.mode = flags & O_CREAT ? mode : 0,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};

	return (int)syscall(SYS_openat2, dir, path, &how, sizeof(how));
}

/* The directory part ("." if none) and the last component of a relative
 * path, in buf (AJW_MAX_PATH + 1 bytes). -EINVAL when the last component is
 * the workspace itself, "." or "..". */
static int
split(const char *path, char *buf, const char **parent, const char **name)
{
	size_t n = strlen(path);
	char *slash;

	memcpy(buf, path, n + 1);
	while (n > 1 && buf[n - 1] == '/')
		buf[--n] = '\0';
	slash = strrchr(buf, '/');
	*name = slash ? slash + 1 : buf;
	*parent = ".";
	if (slash) {
		*slash = '\0';
		*parent = buf;
	}
	if (!**name || !strcmp(*name, ".") || !strcmp(*name, ".."))
		return -EINVAL;
	return 0;
}

/*
 * The directory at a relative path, O_PATH; with its parents made (0755)
 * when create. Each prefix is resolved anew from the workspace, so that a
 * directory swapped for a symlink meanwhile leads nowhere outside.
 */
static int
open_dir(const char *path, bool create)
{
	char buf[AJW_MAX_PATH + 1];
	size_t len = strlen(path);
	int fd = resolve(W.wsfd, path, O_PATH | O_DIRECTORY, 0), cur, err;

	if (fd >= 0 || errno != ENOENT || !create)
		return fd;
	memcpy(buf, path, len + 1);
	cur = resolve(W.wsfd, ".", O_PATH | O_DIRECTORY, 0);
	for (size_t i = 0; cur >= 0 && i <= len; i++) {
		char c = buf[i];
		const char *comp;

		if ((c != '/' && c != '\0') || i == 0 || buf[i - 1] == '/')
			continue;
		buf[i] = '\0';
		comp = strrchr(buf, '/');
		comp = comp ? comp + 1 : buf;
		fd = resolve(W.wsfd, buf, O_PATH | O_DIRECTORY, 0);
		if (fd < 0 && errno == ENOENT) {
			if (mkdirat(cur, comp, 0755) == 0 || errno == EEXIST)
				fd = resolve(W.wsfd, buf, O_PATH | O_DIRECTORY, 0);
		}
		buf[i] = c;
		err = errno;
		close(cur);
		errno = err;
		cur = fd;
	}
	return cur;
}

static void
to_stat(const struct stat *st, struct ajw_stat *a)
{
	a->type = S_ISREG(st->st_mode)	 ? AJW_T_FILE
		  : S_ISDIR(st->st_mode) ? AJW_T_DIR
		  : S_ISLNK(st->st_mode) ? AJW_T_SYMLINK
					 : AJW_T_OTHER;
	a->mode = st->st_mode & 07777;
	a->size = (uint64_t)st->st_size;
	a->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* ---- PUT ---- */

static void
put_start(uint32_t id, const char *p, size_t n)
{
	char buf[AJW_MAX_PATH + 1];
	const char *path, *r, *parent, *name;
	struct ajw_put put;
	struct stat st;
	struct xfer *x;
	mode_t mode;
	int dir, fd = -1;

	if (n < sizeof(put) + 1)
		w_die_proto("PUT of %zu bytes", n);
	memcpy(&put, p, sizeof(put));
	path = req_path(p + sizeof(put), n - sizeof(put));
	if (put.flags)
		w_die_proto("PUT flags %#x", put.flags);
	mode = put.mode ? put.mode : 0644;
	if (strlen(path) > AJW_MAX_PATH) {
		fail(id, "put", path, ENAMETOOLONG);
		return;
	}
	if (mode & ~0777u) {
		w_error(id, EINVAL, AJW_E_BAD_REQUEST, "put /%.200s: mode %#o", path,
			(unsigned)mode);
		return;
	}
	r = rel(path);
	if (r[strlen(r) - 1] == '/' || split(r, buf, &parent, &name) < 0) {
		fail(id, "put", path, EISDIR);
		return;
	}
	if (!(x = xfer_new(id, X_PUT, path))) {
		fail(id, "put", path, EMFILE);
		return;
	}
	dir = open_dir(parent, true);
	if (dir < 0)
		goto bad;
	x->dir = dir;
	if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISDIR(st.st_mode)) {
			errno = EISDIR;
			goto bad;
		}
		if (!S_ISREG(st.st_mode)) {
			not_regular(id, "put", path);
			xfer_free(x);
			return;
		}
	} else if (errno != ENOENT) {
		goto bad;
	}
	for (int i = 0; i < 100; i++) {
		snprintf(x->tmp, sizeof(x->tmp), ".ajw-put.%u.%u", id, ++tmp_seq);
		fd = resolve(dir, x->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK,
			     mode);
		if (fd >= 0 || errno != EEXIST)
			break;
	}
	if (fd < 0)
		goto bad;
	x->fd = fd;
	x->limit = put.size;
	snprintf(x->name, sizeof(x->name), "%s", name);
	w_send(AJW_READY, id, NULL, 0);
	return;
bad:
	fail(id, "put", path, errno);
	xfer_free(x);
}

static void
put_abort(struct xfer *x, int err)
{
	if (err)
		fail(x->id, "put", x->path, err);
	if (x->tmp[0])
		unlinkat(x->dir, x->tmp, 0);
	xfer_free(x);
}

void
file_data(uint32_t id, const char *p, size_t n)
{
	struct xfer *x = xfer_by_id(id);

	if (!x || x->kind != X_PUT)
		return; /* after an ERROR, DATA of the id is ignored */
	if (n == 0) {
		int r = close(x->fd);
		x->fd = -1;
		if (r < 0 || renameat(x->dir, x->tmp, x->dir, x->name) < 0) {
			put_abort(x, errno);
			return;
		}
		w_send(AJW_OK, id, NULL, 0);
		x->tmp[0] = '\0';
		xfer_free(x);
		return;
	}
	if (x->limit && x->done + n > x->limit) {
		put_abort(x, EFBIG);
		return;
	}
	while (n) {
		ssize_t r = write(x->fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			put_abort(x, r < 0 ? errno : EIO);
			return;
		}
		p += r;
		n -= (size_t)r;
		x->done += (uint64_t)r;
	}
}

/* ---- GET ---- */

static int
by_name(const void *a, const void *b)
{
	return strcmp((*(struct dent *const *)a)->name, (*(struct dent *const *)b)->name);
}

/* Read a directory's entries into x, sorted; takes fd. 0 or -errno. */
static int
list_dir(int fd, struct xfer *x)
{
	struct dirent *de;
	size_t cap = 0;
	DIR *d = fdopendir(fd);
	int err = 0;

	if (!d) {
		err = errno;
		close(fd);
		return -err;
	}
	while ((errno = 0, de = readdir(d))) {
		struct stat st;
		struct dent *ent;
		size_t len = strlen(de->d_name);

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (x->n_ents == W_MAX_DIRENTS) {
			err = E2BIG;
			break;
		}
		/* One component, not followed: nothing outside is looked at. */
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue; /* gone meanwhile */
		if (x->n_ents == cap) {
			cap = cap ? cap * 2 : 64;
			struct dent **ents = realloc(x->ents, cap * sizeof(*ents));
			if (!ents)
				w_fatal("malloc");
			x->ents = ents;
		}
		ent = w_malloc(sizeof(*ent) + len + 1);
		to_stat(&st, &ent->st);
		memcpy(ent->name, de->d_name, len + 1);
		x->ents[x->n_ents++] = ent;
	}
	if (!err && errno)
		err = errno;
	closedir(d);
	if (!err && x->n_ents)
		qsort(x->ents, x->n_ents, sizeof(*x->ents), by_name);
	return -err;
}

static void
get_start(uint32_t id, const char *path)
{
	const char *r = rel(path);
	struct stat st, st2;
	struct ajw_stat a;
	struct xfer *x;
	int fd, err;

	fd = resolve(W.wsfd, r, O_PATH | O_NOFOLLOW, 0);
	if (fd < 0) {
		fail(id, "get", path, errno);
		return;
	}
	err = fstat(fd, &st) < 0 ? errno : 0;
	close(fd);
	if (err) {
		fail(id, "get", path, err);
		return;
	}
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
		not_regular(id, "get", path);
		return;
	}
	fd = resolve(W.wsfd, r,
		     O_RDONLY | O_NOFOLLOW | O_NONBLOCK | (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0),
		     0);
	if (fd < 0) {
		fail(id, "get", path, errno);
		return;
	}
	if (fstat(fd, &st2) < 0 || st2.st_dev != st.st_dev || st2.st_ino != st.st_ino) {
		close(fd);
		w_error(id, EAGAIN, AJW_E_INTERNAL, "get /%.200s: changed while opened", path);
		return;
	}
	x = xfer_new(id, S_ISDIR(st2.st_mode) ? X_DIR : X_FILE, path);
	if (!x) {
		close(fd);
		fail(id, "get", path, EMFILE);
		return;
	}
	if (x->kind == X_FILE) {
		x->fd = fd;
		x->limit = (uint64_t)st2.st_size;
	} else if ((err = list_dir(fd, x)) < 0) {
		fail(id, "list", path, -err);
		xfer_free(x);
		return;
	}
	to_stat(&st2, &a);
	w_send(AJW_STAT_REPLY, id, &a, sizeof(a));
}

/* One DATA or DIRENT of x, or its END; false once x is done (and freed). */
static bool
get_step(struct xfer *x)
{
	if (x->kind == X_DIR && x->next < x->n_ents) {
		struct dent *ent = x->ents[x->next++];
		w_send2(AJW_DIRENT, x->id, &ent->st, sizeof(ent->st), ent->name,
			strlen(ent->name) + 1);
		return true;
	}
	if (x->kind == X_FILE && x->done < x->limit) {
		uint64_t left = x->limit - x->done;
		ssize_t r =
			read(x->fd, w_chunk, left < AJW_DATA_CHUNK ? (size_t)left : AJW_DATA_CHUNK);
		if (r < 0 && errno == EINTR)
			return true;
		if (r < 0) {
			fail(x->id, "get", x->path, errno);
			xfer_free(x);
			return false;
		}
		if (r > 0) {
			w_send(AJW_DATA, x->id, w_chunk, (size_t)r);
			x->done += (uint64_t)r;
			return true;
		}
		/* Shorter than at open: what there is. */
	}
	w_send(AJW_END, x->id, NULL, 0);
	xfer_free(x);
	return false;
}

/* Send file data and entries while replies have room; true while any GET
 * has more. */
bool
file_produce(void)
{
	bool any = true;

	while (any) {
		any = false;
		for (unsigned i = 0; i < W_MAX_XFERS; i++) {
			struct xfer *x = xfers[i];
			if (!x || x->kind == X_PUT)
				continue;
			if (!w_room())
				return true;
			any |= get_step(x);
		}
	}
	return false;
}

/* ---- STAT, DELETE, MKDIR ---- */

static void
stat_path(uint32_t id, const char *path)
{
	struct stat st;
	struct ajw_stat a;
	int fd = resolve(W.wsfd, rel(path), O_PATH | O_NOFOLLOW, 0), err;

	if (fd < 0) {
		fail(id, "stat", path, errno);
		return;
	}
	err = fstat(fd, &st) < 0 ? errno : 0;
	close(fd);
	if (err) {
		fail(id, "stat", path, err);
		return;
	}
	to_stat(&st, &a);
	w_send(AJW_STAT_REPLY, id, &a, sizeof(a));
}

static void
delete_path(uint32_t id, const char *path)
{
	char buf[AJW_MAX_PATH + 1];
	const char *parent, *name;
	struct stat st;
	int dir, err = 0;

	if (split(rel(path), buf, &parent, &name) < 0) {
		w_error(id, EINVAL, AJW_E_BAD_REQUEST,
			"delete /%.200s: not the workspace, '.' or '..'", path);
		return;
	}
	dir = open_dir(parent, false);
	if (dir < 0) {
		fail(id, "delete", path, errno);
		return;
	}
	if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    unlinkat(dir, name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0)
		err = errno == EEXIST ? ENOTEMPTY : errno;
	close(dir);
	if (err) {
		fail(id, "delete", path, err);
		return;
	}
	w_send(AJW_OK, id, NULL, 0);
}

static void
mkdir_path(uint32_t id, const char *p, size_t n)
{
	char buf[AJW_MAX_PATH + 1];
	const char *path, *r, *parent, *name;
	uint32_t mode;
	struct stat st;
	int dir, err = 0;

	if (n < sizeof(mode) + 1)
		w_die_proto("MKDIR of %zu bytes", n);
	memcpy(&mode, p, sizeof(mode));
	path = req_path(p + sizeof(mode), n - sizeof(mode));
	mode = mode ? mode : 0755;
	if (strlen(path) > AJW_MAX_PATH) {
		fail(id, "mkdir", path, ENAMETOOLONG);
		return;
	}
	if (mode & ~01777u) {
		w_error(id, EINVAL, AJW_E_BAD_REQUEST, "mkdir /%.200s: mode %#o", path, mode);
		return;
	}
	r = rel(path);
	if (!strcmp(r, ".")) {
		w_send(AJW_OK, id, NULL, 0); /* the workspace exists */
		return;
	}
	if (split(r, buf, &parent, &name) < 0) {
		fail(id, "mkdir", path, EINVAL);
		return;
	}
	dir = open_dir(parent, true);
	if (dir < 0) {
		fail(id, "mkdir", path, errno);
		return;
	}
	/* Like mkdir -p: an existing directory is fine, anything else is not. */
	if (mkdirat(dir, name, mode) < 0) {
		err = errno;
		if (err == EEXIST && fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISDIR(st.st_mode))
			err = 0;
	}
	close(dir);
	if (err) {
		fail(id, "mkdir", path, err);
		return;
	}
	w_send(AJW_OK, id, NULL, 0);
}

void
file_request(uint32_t type, uint32_t id, const char *p, size_t n)
{
	const char *path;

	if (type == AJW_PUT) {
		put_start(id, p, n);
		return;
	}
	if (type == AJW_MKDIR) {
		mkdir_path(id, p, n);
		return;
	}
	path = req_path(p, n);
	if (strlen(path) > AJW_MAX_PATH) {
		fail(id, "open", path, ENAMETOOLONG);
		return;
	}
	switch (type) {
	case AJW_GET: get_start(id, path); break;
	case AJW_STAT: stat_path(id, path); break;
	case AJW_DELETE: delete_path(id, path); break;
	default: w_die_proto("request type %u", type);
	}
}

bool
file_cancel(uint32_t id)
{
	struct xfer *x = xfer_by_id(id);

	if (!x)
		return false;
	w_error(id, ECANCELED, AJW_E_INTERNAL, "%s /%.200s: cancelled",
		x->kind == X_PUT ? "put" : "get", x->path);
	if (x->kind == X_PUT)
		put_abort(x, 0);
	else
		xfer_free(x);
	return true;
}

/* At the end of the session: no half-written upload is left behind. */
void
file_abort_all(void)
{
	for (unsigned i = 0; i < W_MAX_XFERS; i++)
		if (xfers[i] && xfers[i]->kind == X_PUT && xfers[i]->tmp[0])
			unlinkat(xfers[i]->dir, xfers[i]->tmp, 0);
}
