/* SPDX-License-Identifier: Apache-2.0 */
/*
 * For agent runtimes: CONNECT and SECRET (../proto.h).
 *
 * CONNECT makes a TCP connection to 127.0.0.1:port, the jail's own loopback,
 * and hands the socket to the supervisor (SCM_RIGHTS on CONNECTED, see
 * worker.c's flush), which can then talk to a server the agent runs in the
 * jail without the jail's network being reachable from outside. Why that
 * is safe: the worker connects as the jail's uid, in the jail's network
 * namespace, under the jail's filter, to a fixed address: nothing jailed
 * code could not do itself. The socket is non-blocking; the loop watches it
 * for the end of the connect (EPOLLOUT, SO_ERROR) and ends it at its
 * deadline (conn_timeout() is the loop's timeout). Connections in flight,
 * connecting or queued to be passed, are bounded by AJW_MAX_CONNECTS.
 *
 * SECRET writes one file in the secrets directory, a tmpfs of the jail's
 * uid with mode 0500 that the jail's mount plan makes. Its name is checked
 * against a strict set (one component, no dot names), so a plain openat()
 * from the directory's fd with O_CREAT | O_EXCL | O_NOFOLLOW stays in it and
 * never writes through something planted there. The owner lacks the write
 * bit on the directory: the worker, its owner, adds it for the time of the
 * creation (jailed code, the same uid, could do as much: the mode guards
 * against mistakes, not against the jail). The content is never logged or
 * echoed, and its bytes are zeroed in the request buffer once written.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "worker.h"

/* ---- CONNECT ---- */

struct conn {
	uint32_t id; /* 0: the slot is free */
	uint16_t port;
	int fd;
	uint64_t serial;
	uint64_t deadline_us;
};

static struct conn conns[AJW_MAX_CONNECTS];
static unsigned n_conns;

static struct conn *
conn_find(uint32_t id, uint64_t serial)
{
	for (unsigned i = 0; n_conns && i < AJW_MAX_CONNECTS; i++)
		if (conns[i].id && (serial ? conns[i].serial == serial : conns[i].id == id))
			return &conns[i];
	return NULL;
}

bool
conn_busy(uint32_t id)
{
	return conn_find(id, 0) != NULL;
}

static void
conn_free(struct conn *c)
{
	w_ep_del(c->fd);
	w_close(&c->fd);
	c->id = 0;
	n_conns--;
}

/* The answer: CONNECTED with the socket (passed, then closed by the
 * queue), or ERROR. Frees the slot. */
static void
conn_done(struct conn *c, int err)
{
	if (err == 0) {
		w_ep_del(c->fd);
		w_send_fd(AJW_CONNECTED, c->id, c->fd);
		c->fd = -1;
		c->id = 0;
		n_conns--;
		return;
	}
	w_error(c->id, err, AJW_E_CONNECT, "connect 127.0.0.1:%u: %s", c->port, strerror(err));
	conn_free(c);
}

void
conn_request(uint32_t id, const char *p, size_t n)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct ajw_connect req;
	struct conn *c = NULL;
	uint64_t ms;

	if (n != sizeof(req))
		w_die_proto("CONNECT of %zu bytes", n);
	memcpy(&req, p, sizeof(req));
	if (req.reserved)
		w_die_proto("CONNECT reserved %#x", req.reserved);
	if (req.port == 0) {
		w_error(id, EINVAL, AJW_E_BAD_REQUEST, "connect 127.0.0.1:0: no port");
		return;
	}
	/* Connecting ones and those whose socket waits in the queue. */
	if (n_conns + w_fds_queued() >= AJW_MAX_CONNECTS) {
		w_error(id, EBUSY, AJW_E_BUSY, "connect 127.0.0.1:%u: %u connections in flight",
			req.port, AJW_MAX_CONNECTS);
		return;
	}
	for (unsigned i = 0; !c && i < AJW_MAX_CONNECTS; i++)
		if (!conns[i].id)
			c = &conns[i];
	ms = req.timeout_ms ? req.timeout_ms : AJW_CONNECT_TIMEOUT_MS;
	if (ms > AJW_CONNECT_MAX_TIMEOUT_MS)
		ms = AJW_CONNECT_MAX_TIMEOUT_MS;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		int err = errno;
		w_error(id, err, err == EMFILE || err == ENFILE ? AJW_E_BUSY : AJW_E_CONNECT,
			"connect 127.0.0.1:%u: socket: %s", req.port, strerror(err));
		return;
	}
	n_conns++;
	c->id = id;
	c->port = req.port;
	c->serial = ++W.serial;
	c->deadline_us = w_now_us() + ms * 1000u;
	sa.sin_port = htons(req.port);
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		conn_done(c, 0);
		return;
	}
	if (errno != EINPROGRESS) {
		conn_done(c, errno);
		return;
	}
	if (w_ep_add(c->fd, EPOLLOUT, W_TAG(c->serial, K_CONN)) < 0)
		conn_done(c, errno);
}

void
conn_event(uint64_t tag)
{
	struct conn *c = conn_find(0, tag >> 8);
	socklen_t len = sizeof(int);
	int err = 0;

	if (!c)
		return; /* answered earlier in this batch */
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	conn_done(c, err);
}

bool
conn_cancel(uint32_t id)
{
	struct conn *c = conn_find(id, 0);

	if (!c)
		return false;
	conn_done(c, ECANCELED);
	return true;
}

/* Milliseconds to the nearest deadline (rounded up), -1 if none. */
int
conn_timeout(void)
{
	uint64_t now = w_now_us(), next = UINT64_MAX;

	for (unsigned i = 0; n_conns && i < AJW_MAX_CONNECTS; i++)
		if (conns[i].id && conns[i].deadline_us < next)
			next = conns[i].deadline_us;
	if (next == UINT64_MAX)
		return -1;
	return next <= now ? 0 : (int)((next - now + 999) / 1000);
}

void
conn_expire(void)
{
	uint64_t now = w_now_us();

	for (unsigned i = 0; n_conns && i < AJW_MAX_CONNECTS; i++)
		if (conns[i].id && conns[i].deadline_us <= now)
			conn_done(&conns[i], ETIMEDOUT);
}

/* ---- SECRET ---- */

static bool
secret_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n < 1 || n > AJW_SECRET_NAME_MAX || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") ==
	       n;
}

/* Create and fill NAME in dir; 0 or an errno (nothing left behind then). */
static int
secret_write(int dir, const char *name, mode_t mode, const char *data, size_t n)
{
	int fd = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	int err = 0;

	if (fd < 0)
		return errno;
	while (n && !err) {
		ssize_t r = write(fd, data, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			err = r < 0 ? errno : EIO;
			break;
		}
		data += r;
		n -= (size_t)r;
	}
	if (close(fd) < 0 && !err)
		err = errno;
	if (err)
		unlinkat(dir, name, 0);
	return err;
}

void
secret_request(uint32_t id, char *p, size_t n)
{
	struct ajw_secret req;
	struct stat st;
	const char *name, *end;
	char *data;
	size_t len;
	mode_t mode;
	int dir = -1, err;

	if (n < sizeof(req) + 1)
		w_die_proto("SECRET of %zu bytes", n);
	memcpy(&req, p, sizeof(req));
	if (req.reserved)
		w_die_proto("SECRET reserved %#x", req.reserved);
	name = p + sizeof(req);
	end = memchr(name, '\0', n - sizeof(req));
	if (!end)
		w_die_proto("SECRET: the name is not NUL-terminated");
	data = p + (end - p) + 1; /* p's own, writable: zeroed at the end */
	len = n - (size_t)(data - p);
	mode = req.mode ? req.mode : 0400;

	if (!secret_name_ok(name)) {
		w_error(id, EINVAL, AJW_E_BAD_REQUEST,
			"secret: a name is 1 to %u of [A-Za-z0-9._-], not '.' or '..'",
			AJW_SECRET_NAME_MAX);
		goto out;
	}
	if ((mode & ~0444u) || !(mode & 0400)) {
		w_error(id, EINVAL, AJW_E_BAD_REQUEST, "secret %s: mode %#o (read bits only)", name,
			(unsigned)mode);
		goto out;
	}
	dir = open(W.secrets, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dir < 0 || fstat(dir, &st) < 0) {
		err = errno;
		w_error(id, err, file_code(err), "secret %s: %s: %s", name, W.secrets,
			strerror(err));
		goto out;
	}
	if (!(st.st_mode & S_IWUSR))
		fchmod(dir, (st.st_mode & 07777) | S_IWUSR);
	err = secret_write(dir, name, mode, data, len);
	if (!(st.st_mode & S_IWUSR))
		fchmod(dir, st.st_mode & 07777);
	if (err) {
		w_error(id, err, file_code(err), "secret %s: %s", name, strerror(err));
		goto out;
	}
	w_send(AJW_OK, id, NULL, 0);
out:
	if (dir >= 0)
		close(dir);
	explicit_bzero(data, len);
}
