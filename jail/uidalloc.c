/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host uid allocator, shared by every agentjail program on the host.
 *
 * Each jail runs as a host uid of its own, so that two jails can never
 * signal, ptrace or read each other's files. The ledger is one file,
 * RUNTIME_DIR/uids; a jail owns host uid N while it holds an open file
 * description with an OFD write lock on byte N of that file. The jail's
 * PID 1 inherits the descriptor, so the lease lives exactly as long as the
 * jail: when the last holder dies (also on a crash or SIGKILL of the
 * program that made the jail) the kernel drops the lock and the uid is free.
 * No state to recover, nothing to clean up. /proc/locks shows the leases.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "internal.h"
#include "uidalloc.h"

static int
check_subid_file(const char *path, uint32_t lo, uint32_t hi, struct jail_error *e)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	char line[512];
	unsigned lineno = 0;

	if (!f)
		return errno == ENOENT ? 0 : jerr(e, errno, "open %s", path);
	while (fgets(line, sizeof(line), f)) {
		uint64_t start, count;
		char *p = strchr(line, ':');

		lineno++;
		if (line[0] == '#' || !p)
			continue;
		/* name:start:count */
		if (sscanf(p, ":%" SCNu64 ":%" SCNu64, &start, &count) != 2 || count == 0)
			continue;
		if (start <= hi && start + count - 1 >= lo) {
			line[strcspn(line, "\n")] = '\0';
			return jerr_plain(e, EEXIST,
					  "host id range %u-%u overlaps %s line %u ('%s'): choose "
					  "a range no subordinate id range uses",
					  lo, hi, path, lineno, line);
		}
	}
	return 0;
}

int
uidalloc_check_subids(const char *subuid, const char *subgid, uint32_t lo, uint32_t hi,
		      struct jail_error *e)
{
	int r = check_subid_file(subuid ? subuid : "/etc/subuid", lo, hi, e);
	if (r < 0)
		return r;
	return check_subid_file(subgid ? subgid : "/etc/subgid", lo, hi, e);
}

static int
try_lock(int fd, uint32_t id)
{
	struct flock fl = {
		.l_type = F_WRLCK,
		.l_whence = SEEK_SET,
		.l_start = (off_t)id,
		.l_len = 1,
	};
	if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
		return 0;
	return errno == EAGAIN || errno == EACCES ? -EAGAIN : -errno;
}

int
uidalloc_acquire(const char *runtime_dir, uint32_t lo, uint32_t hi, uint32_t want,
		 struct uid_lease *ret, struct jail_error *e)
{
	char path[4200];
	int r;

	if (lo == 0 || lo > hi)
		return jerr_plain(e, EINVAL, "host id range %u-%u is empty", lo, hi);
	r = uidalloc_check_subids(NULL, NULL, want == JAIL_ID_AUTO ? lo : want,
				  want == JAIL_ID_AUTO ? hi : want, e);
	if (r < 0)
		return r;
	if (mkdir(runtime_dir, 0755) < 0 && errno != EEXIST)
		return jerr(e, errno, "create runtime directory %s", runtime_dir);
	snprintf(path, sizeof(path), "%s/uids", runtime_dir);
	/* A fresh open file description per lease: OFD locks of one
	 * description never conflict with each other. */
	_cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return jerr(e, errno, "open uid ledger %s", path);

	if (want != JAIL_ID_AUTO) {
		r = try_lock(fd, want);
		if (r == -EAGAIN)
			return jerr_plain(e, EBUSY, "host uid %u is in use by another jail", want);
		if (r < 0)
			return jerr(e, -r, "lock host uid %u in %s", want, path);
		*ret = (struct uid_lease){.fd = TAKE_FD(fd), .id = want};
		return 0;
	}

	/* Start at a random point: with thousands of live jails in a range of
	 * a million, the first try almost always succeeds, and a uid just
	 * released is unlikely to be handed out again at once. */
	uint64_t n = (uint64_t)hi - lo + 1, start = 0;
	if (getrandom(&start, sizeof(start), GRND_NONBLOCK) != sizeof(start))
		start = now_us();
	for (uint64_t i = 0; i < n; i++) {
		uint32_t id = lo + (uint32_t)((start + i) % n);
		r = try_lock(fd, id);
		if (r == 0) {
			*ret = (struct uid_lease){.fd = TAKE_FD(fd), .id = id};
			return 0;
		}
		if (r != -EAGAIN)
			return jerr(e, -r, "lock host uid %u in %s", id, path);
	}
	return jerr_plain(e, EAGAIN, "no free host uid in %u-%u: every one is in use by a jail", lo,
			  hi);
}

void
uidalloc_release(struct uid_lease *l)
{
	if (l && l->fd >= 0) {
		close(l->fd);
		l->fd = -1;
	}
}

bool
uidalloc_in_use(const char *runtime_dir, uint32_t id)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/uids", runtime_dir);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno != ENOENT; /* unsure: say yes */
	struct flock fl = {
		.l_type = F_WRLCK,
		.l_whence = SEEK_SET,
		.l_start = (off_t)id,
		.l_len = 1,
	};
	if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
		return true;
	return fl.l_type != F_UNLCK;
}
