/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Sessions and the worker protocol's client side (supervisor/proto.h).
 *
 * A session is one jail and its worker's socket. Requests to the worker
 * carry an id; replies are dispatched to the request's callback by id.
 * Everything the worker sends is untrusted: a message with a length over
 * the bound, an unknown type or an id that is not in flight ends the
 * session.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "http.h"
#include "log.h"

/* --- buffers --------------------------------------------------------- */

int
buf_append(struct buf *b, const void *p, size_t n)
{
	if (!n)
		return 0;
	if (b->off && b->off == b->len)
		b->off = b->len = 0;
	if (b->len + n > b->cap) {
		/* Reclaim consumed space before growing. */
		if (b->off) {
			memmove(b->data, b->data + b->off, b->len - b->off);
			b->len -= b->off;
			b->off = 0;
		}
		if (b->len + n > b->cap) {
			size_t cap = b->cap ? b->cap : 4096;
			while (cap < b->len + n)
				cap *= 2;
			char *d = realloc(b->data, cap);
			if (!d)
				return -ENOMEM;
			b->data = d;
			b->cap = cap;
		}
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

size_t
buf_pending(const struct buf *b)
{
	return b->len - b->off;
}

void
buf_consume(struct buf *b, size_t n)
{
	b->off += n;
	if (b->off >= b->len)
		b->off = b->len = 0;
}

void
buf_free(struct buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

/* --- the table --------------------------------------------------------- */

static struct session *sessions, *zombies;
static size_t n_sessions;

/* A queue this large means the worker stopped reading: end the session. */
#define OUT_HARD_LIMIT (256u << 20)

struct session *
session_first(void)
{
	return sessions;
}

size_t
session_count(void)
{
	return n_sessions;
}

static void
random_id(char *out, size_t size)
{
	static const char b64url[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char r[16];

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		abort(); /* no randomness: no session ids that cannot be guessed */
	/* 128 bits → 22 characters of 6 bits (the last holds 2). */
	size_t n = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < sizeof(r) && n + 1 < size; i++) {
		acc = (acc << 8) | r[i];
		bits += 8;
		while (bits >= 6 && n + 1 < size) {
			out[n++] = b64url[(acc >> (bits - 6)) & 63];
			bits -= 6;
		}
	}
	if (bits > 0 && n + 1 < size)
		out[n++] = b64url[(acc << (6 - bits)) & 63];
	out[n] = '\0';
}

struct session *
session_new(uint32_t jail_id, uint32_t host_uid, int sock, const char *profile)
{
	struct session *s = calloc(1, sizeof(*s));
	struct timespec ts;

	if (!s)
		return NULL;
	s->watch = (struct watch){WATCH_SESSION, s};
	random_id(s->id, sizeof(s->id));
	s->jail_id = jail_id;
	s->host_uid = host_uid;
	s->sock = sock;
	s->msg_fd = -1;
	snprintf(s->profile, sizeof(s->profile), "%s", profile);
	s->created_us = s->last_active_us = http_now_us();
	clock_gettime(CLOCK_REALTIME, &ts);
	s->created_at = ts.tv_sec;
	s->state = SESSION_READY;
	s->next = sessions;
	sessions = s;
	n_sessions++;
	loop_watch_session(s, false);
	return s;
}

struct session *
session_find(const char *id)
{
	for (struct session *s = sessions; s; s = s->next)
		if (strcmp(s->id, id) == 0)
			return s;
	return NULL;
}

struct session *
session_by_jail(uint32_t jail_id)
{
	for (struct session *s = sessions; s; s = s->next)
		if (s->jail_id == jail_id)
			return s;
	return NULL;
}

void
session_touch(struct session *s)
{
	s->last_active_us = http_now_us();
	session_schedule(s);
}

/* --- the reaper -------------------------------------------------------- */

static struct session **heap;
static size_t heap_n, heap_cap;

static void
heap_set(size_t i, struct session *s)
{
	heap[i] = s;
	s->heap_i = i + 1;
}

static void
heap_fix(size_t i)
{
	struct session *s = heap[i];

	while (i > 0 && heap[(i - 1) / 2]->deadline_us > s->deadline_us) {
		heap_set(i, heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= heap_n)
			break;
		if (c + 1 < heap_n && heap[c + 1]->deadline_us < heap[c]->deadline_us)
			c++;
		if (heap[c]->deadline_us >= s->deadline_us)
			break;
		heap_set(i, heap[c]);
		i = c;
	}
	heap_set(i, s);
}

static void
heap_remove(struct session *s)
{
	if (!s->heap_i)
		return;
	size_t i = s->heap_i - 1;
	s->heap_i = 0;
	if (i != --heap_n) {
		heap[i] = heap[heap_n];
		heap_fix(i);
	}
}

static uint64_t
at(uint64_t from_us, uint32_t s)
{
	return s ? from_us + (uint64_t)s * 1000000u : UINT64_MAX;
}

/* A request in flight (but a running agent's own), or an invocation. */
static bool
busy(const struct session *s)
{
	for (const struct wreq *w = s->reqs; w; w = w->next)
		if (!w->background)
			return true;
	return s->busy > 0;
}

uint64_t
session_idle_deadline(const struct session *s)
{
	/* While a request is in flight the session is not idle: its idle
	 * time starts when the last one ends. */
	return at(busy(s) ? http_now_us() : s->last_active_us, s->idle_timeout_s);
}

static const char *
expiry(const struct session *s, uint64_t *when)
{
	uint64_t idle = busy(s) ? UINT64_MAX : at(s->last_active_us, s->idle_timeout_s);
	uint64_t life = at(s->created_us, s->max_lifetime_s);

	*when = idle < life ? idle : life;
	return idle < life ? "idle" : "max_lifetime";
}

void
session_schedule(struct session *s)
{
	if (s->state == SESSION_DEAD)
		return;
	expiry(s, &s->deadline_us);
	if (s->heap_i) {
		heap_fix(s->heap_i - 1);
		return;
	}
	if (heap_n == heap_cap) {
		size_t cap = heap_cap ? heap_cap * 2 : 64;
		struct session **v = realloc(heap, cap * sizeof(*v));
		if (!v)
			abort(); /* a session nobody would reap is worse */
		heap = v;
		heap_cap = cap;
	}
	heap_n++;
	heap_set(heap_n - 1, s);
	heap_fix(heap_n - 1);
}

uint64_t
session_next_deadline(void)
{
	return heap_n && heap[0]->deadline_us != UINT64_MAX ? heap[0]->deadline_us : 0;
}

/* The ids the reaper ended, for an hour and at most the last 10,000, so
 * that their owners learn why the session is gone. */
#define REAPED_KEEP    10000
#define REAPED_KEEP_US (3600ull * 1000000u)
static struct reaped {
	char id[sizeof(((struct session *)0)->id)];
	uint64_t owner; /* FNV-1a of the owner */
	uint64_t at_us;
} * reaped;
static size_t reaped_next;

static uint64_t
fnv1a(const char *p)
{
	uint64_t h = 1469598103934665603ull;
	while (*p)
		h = (h ^ (unsigned char)*p++) * 1099511628211ull;
	return h;
}

bool
session_was_reaped(const char *id, const char *owner)
{
	uint64_t now = http_now_us(), o = fnv1a(owner);

	for (size_t i = 0; reaped && i < REAPED_KEEP; i++)
		if (reaped[i].id[0] && now - reaped[i].at_us < REAPED_KEEP_US &&
		    reaped[i].owner == o && strcmp(reaped[i].id, id) == 0)
			return true;
	return false;
}

void
session_expire(uint64_t now)
{
	while (heap_n && heap[0]->deadline_us <= now) {
		struct session *s = heap[0];
		uint64_t when;
		const char *why = expiry(s, &when);
		if (!reaped)
			reaped = calloc(REAPED_KEEP, sizeof(*reaped));
		if (reaped) {
			struct reaped *r = &reaped[reaped_next++ % REAPED_KEEP];
			snprintf(r->id, sizeof(r->id), "%s", s->id);
			r->owner = fnv1a(s->owner);
			r->at_us = now;
		}
		log_event(LOG_INFO, "reaped", "session", s->id, "reason", why, NULL);
		session_end(s, why, false); /* leaves the heap */
	}
}

/* Tell every request in flight that the session is gone: a synthetic
 * ERROR, so that each answers its client. */
static void
fail_requests(struct session *s)
{
	struct {
		struct ajw_error e;
		char msg[64];
	} err = {{.err = EPIPE, .code = AJW_E_INTERNAL}, "the session ended"};

	while (s->reqs) {
		struct wreq *w = s->reqs;
		w->fn(w, AJW_ERROR, (const char *)&err, sizeof(err));
		if (s->reqs == w) /* the callback did not end it */
			wreq_done(w);
	}
}

static void
session_free(struct session *s)
{
	for (size_t i = 0; i < s->n_fds; i++)
		close(s->fds[i]);
	buf_free(&s->in);
	buf_free(&s->out);
	json_decref(s->metadata);
	json_decref(s->env);
	free(s);
}

void
session_end(struct session *s, const char *reason, bool jail_gone)
{
	if (s->state == SESSION_DEAD)
		return;
	s->state = SESSION_DEAD;
	heap_remove(s);
	agent_free(s); /* before the requests fail: the agent's are its own */
	snprintf(s->end_reason, sizeof(s->end_reason), "%s", reason);
	log_event(LOG_INFO, "session.end", "session", s->id, "reason", reason, NULL);
	loop_unwatch_session(s);
	close(s->sock);
	s->sock = -1;
	fail_requests(s);
	if (!jail_gone)
		priv_destroy(s->jail_id);
	api_session_ended(s);
	for (struct session **p = &sessions; *p; p = &(*p)->next)
		if (*p == s) {
			*p = s->next;
			break;
		}
	n_sessions--;
	/* Freed after the current batch of events: another event of the
	 * batch may still point to it (and then sees it is dead). */
	s->next = zombies;
	zombies = s;
}

void
session_reap(void)
{
	while (zombies) {
		struct session *s = zombies;
		zombies = s->next;
		session_free(s);
	}
}

/* --- requests ---------------------------------------------------------- */

size_t
session_queued(const struct session *s)
{
	return buf_pending(&s->out);
}

static int flush(struct session *s);

static int
queue_msg(struct session *s, uint32_t type, uint32_t id, const void *p1, size_t n1, const void *p2,
	  size_t n2)
{
	struct ajw_hdr h = {.type = type, .id = id, .len = (uint32_t)(n1 + n2)};

	if (s->state == SESSION_DEAD)
		return -EPIPE;
	if (n1 + n2 > AJW_MAX_PAYLOAD)
		return -E2BIG;
	if (buf_pending(&s->out) > OUT_HARD_LIMIT)
		return -ENOBUFS;
	if (buf_append(&s->out, &h, sizeof(h)) < 0 || (n1 && buf_append(&s->out, p1, n1) < 0) ||
	    (n2 && buf_append(&s->out, p2, n2) < 0))
		return -ENOMEM;
	/* Try at once: most messages go out without an epoll round. A send
	 * error is left to the loop (EPOLLERR/EPOLLHUP), which ends the
	 * session outside of whatever called us. */
	if (!s->want_out)
		flush(s);
	return 0;
}

struct wreq *
wreq_send(struct session *s, uint32_t type, const void *p1, size_t n1, const void *p2, size_t n2,
	  wreq_fn *fn, void *owner)
{
	return wreq_send_as(s, false, type, p1, n1, p2, n2, fn, owner);
}

struct wreq *
wreq_send_as(struct session *s, bool background, uint32_t type, const void *p1, size_t n1,
	     const void *p2, size_t n2, wreq_fn *fn, void *owner)
{
	if (s->state == SESSION_DEAD)
		return NULL;
	struct wreq *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->background = background;
	do {
		w->id = ++s->next_id;
	} while (w->id == 0);
	w->s = s;
	w->fn = fn;
	w->owner = owner;
	w->next = s->reqs;
	s->reqs = w;
	if (queue_msg(s, type, w->id, p1, n1, p2, n2) < 0) {
		wreq_done(w);
		return NULL;
	}
	if (!background)
		session_touch(s); /* and it is not idle while this is in flight */
	return w;
}

int
wreq_more(struct wreq *w, uint32_t type, const void *p, size_t n)
{
	return queue_msg(w->s, type, w->id, p, n, NULL, 0);
}

void
wreq_done(struct wreq *w)
{
	struct session *s = w->s;

	for (struct wreq **p = &s->reqs; *p; p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			break;
		}
	if (w->exec && s->execs)
		s->execs--;
	bool bg = w->background;
	free(w);
	/* Its end is activity: the idle time starts now. */
	if (!bg && !busy(s))
		session_touch(s);
}

void
wreq_orphan(struct wreq *w)
{
	w->owner = NULL;
}

/* --- the socket -------------------------------------------------------- */

static bool
terminal(uint32_t type)
{
	return type == AJW_EXIT || type == AJW_ERROR || type == AJW_OK || type == AJW_END ||
	       type == AJW_CONNECTED;
}

static bool
known_reply(uint32_t type)
{
	/* DATA goes both ways: file content of a GET. */
	return (type >= AJW_HELLO && type <= AJW_CONNECTED) || type == AJW_DATA;
}

int
wreq_take_fd(struct wreq *w)
{
	int fd = w->s->msg_fd;

	w->s->msg_fd = -1;
	return fd;
}

/* Send what is queued; register for EPOLLOUT while something remains. */
static int
flush(struct session *s)
{
	int r = 0;

	while (buf_pending(&s->out)) {
		ssize_t n = send(s->sock, s->out.data + s->out.off, buf_pending(&s->out),
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				r = -errno;
			break;
		}
		buf_consume(&s->out, (size_t)n);
	}
	bool want = buf_pending(&s->out) > 0;
	if (want != s->want_out) {
		s->want_out = want;
		loop_watch_session(s, want);
	}
	return r;
}

void
session_pause_input(struct session *s, bool pause)
{
	if (s->paused_in == pause || s->state == SESSION_DEAD)
		return;
	s->paused_in = pause;
	loop_watch_session(s, s->want_out);
}

/* Dispatch the complete messages in s->in. Returns false if the session
 * ended. */
static bool
dispatch(struct session *s)
{
	while (buf_pending(&s->in) >= sizeof(struct ajw_hdr) && !s->paused_in) {
		struct ajw_hdr h;
		memcpy(&h, s->in.data + s->in.off, sizeof(h));
		if (h.len > AJW_MAX_PAYLOAD || !known_reply(h.type)) {
			log_event(LOG_ERROR, "worker.protocol", "session", s->id, "error",
				  "malformed message", NULL);
			session_end(s, "worker_protocol_error", false);
			return false;
		}
		if (buf_pending(&s->in) < sizeof(h) + h.len)
			break;
		const char *payload = s->in.data + s->in.off + sizeof(h);
		if (h.type == AJW_HELLO) {
			struct ajw_hello hello;
			if (h.id != 0 || h.len < sizeof(hello)) {
				session_end(s, "worker_protocol_error", false);
				return false;
			}
			memcpy(&hello, payload, sizeof(hello));
			s->hello = true;
			s->worker_flags = hello.flags;
			buf_consume(&s->in, sizeof(h) + h.len);
			continue;
		}
		/* A CONNECTED takes the oldest descriptor received (proto.h). */
		if (h.type == AJW_CONNECTED) {
			if (!s->n_fds) {
				log_event(LOG_ERROR, "worker.protocol", "session", s->id, "error",
					  "CONNECTED without a descriptor", NULL);
				session_end(s, "worker_protocol_error", false);
				return false;
			}
			s->msg_fd = s->fds[0];
			memmove(s->fds, s->fds + 1, --s->n_fds * sizeof(int));
		}
		struct wreq *w = s->reqs;
		while (w && w->id != h.id)
			w = w->next;
		if (!w) {
			log_event(LOG_ERROR, "worker.protocol", "session", s->id, "error",
				  "reply to no request", NULL);
			session_end(s, "worker_protocol_error", false);
			return false;
		}
		/* The payload stays valid during the callback: nothing appends to
		 * s->in until we return, and s is not freed while busy. */
		bool last = terminal(h.type);
		w->fn(w, h.type, payload, h.len);
		if (s->msg_fd >= 0) { /* nobody took it */
			close(s->msg_fd);
			s->msg_fd = -1;
		}
		if (s->state == SESSION_DEAD)
			return false;
		buf_consume(&s->in, sizeof(h) + h.len);
		if (last) {
			/* The callback may have ended it already. */
			for (struct wreq *x = s->reqs; x; x = x->next)
				if (x == w) {
					wreq_done(w);
					break;
				}
		}
	}
	return true;
}

static void session_read(struct session *s);

void
session_on_event(struct session *s, uint32_t events)
{
	if (s->state == SESSION_DEAD)
		return;
	if ((events & EPOLLOUT) && flush(s) < 0) {
		session_end(s, "worker_died", false);
		return;
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP))
		session_read(s);
}

static void
session_read(struct session *s)
{
	char chunk[64 << 10];

	for (int i = 0; i < 16 && !s->paused_in && s->state != SESSION_DEAD; i++) {
		/* recvmsg, always: a descriptor that comes along (CONNECT's) must
		 * not be dropped (proto.h). */
		union {
			char c[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} u;
		struct iovec iov = {chunk, sizeof(chunk)};
		struct msghdr mh = {.msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = u.c,
				    .msg_controllen = sizeof(u.c)};
		ssize_t n = recvmsg(s->sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			session_end(s, "worker_died", false);
			return;
		}
		if (n < 0)
			break;
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
			int fd;
			if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
			    cm->cmsg_len != CMSG_LEN(sizeof(int)))
				continue;
			memcpy(&fd, CMSG_DATA(cm), sizeof(int));
			if (s->n_fds == sizeof(s->fds) / sizeof(s->fds[0])) {
				close(fd);
				session_end(s, "worker_protocol_error", false);
				return;
			}
			s->fds[s->n_fds++] = fd;
		}
		if (mh.msg_flags & MSG_CTRUNC) {
			session_end(s, "worker_protocol_error", false);
			return;
		}
		if (buf_append(&s->in, chunk, (size_t)n) < 0) {
			session_end(s, "out_of_memory", false);
			return;
		}
		if (!dispatch(s))
			return;
	}
}
