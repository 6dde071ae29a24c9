/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agentjail-worker: a session's worker, the jail's PID 1.
 *
 * The supervisor starts it inside a fully built jail (capabilities gone,
 * no_new_privs, a seccomp filter of its own, the jail's uid). It serves the
 * worker protocol (../proto.h) on fd 3: it runs commands (exec.c), moves
 * files in the workspace (files.c), connects to the jail's loopback and
 * writes secrets for agent runtimes (agent.c), and as the pid namespace's
 * init it reaps every process of the jail.
 *
 * Descriptors at start, each checked with fstat:
 *   3  the protocol socket (required: exit 2 without it);
 *   4  O_PATH fd of the jail's cgroup, delegated to the jail's uid
 *      (optional: without it each exec is killed through its session);
 *   5  a sealed memfd with the profile's seccomp programs (optional: without
 *      it commands get no filter of their own; a bad one is fatal).
 *
 * One thread, one epoll loop over the socket, a signalfd, per exec its
 * pipes, a timerfd and its cgroup.events, and per CONNECT its socket (its
 * deadline is the loop's timeout): nothing blocks. Replies go through
 * one queue; above W_OUTQ_HIGH queued bytes the worker stops reading command
 * output, stops producing file data and stops reading requests, so a
 * supervisor that does not read costs bounded memory (backpressure).
 *
 * Jailed code runs under the worker's uid, so the worker makes itself not
 * dumpable at once: no ptrace, process_vm_readv or pidfd_getfd on it, its
 * /proc files root's. As a namespace's init it cannot be killed from inside;
 * the signals it blocks (for the signalfd) would still arrive, so it acts
 * only on those from outside the namespace (a sender pid of 0).
 *
 * Exit status: 0 after SIGTERM/SIGINT/SIGHUP or when the supervisor closes
 * the socket; 1 on an internal error; 2 on a bad start; 3 on a malformed
 * message from the supervisor (the session then ends). Every exit is
 * _exit(): nothing is buffered, and stdio's exit handlers would make system
 * calls the worker's own filter need not allow.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/close_range.h>
#include <linux/seccomp.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "worker.h"

struct worker W = {
	.sock = AJW_FD_SOCKET, .cgfd = -1, .wsfd = -1, .devnull = -1, .secrets = "/run/secrets"};
char w_chunk[AJW_DATA_CHUNK];

/* The output queue: whole messages, written to the socket from head;
 * q_pos counts the bytes written before head, over the session. */
static char *q_buf;
static size_t q_cap, q_head, q_tail;
static uint64_t q_pos;

/* Descriptors to pass (CONNECTED), in queue order, each with the position
 * of its message's first byte: sent with that byte (see flush), then
 * closed. At most AJW_MAX_CONNECTS: agent.c counts them against its limit. */
static struct {
	uint64_t pos;
	int fd;
} q_fds[AJW_MAX_CONNECTS];
static unsigned q_nfds;

/* The input buffer: messages from in_off to in_len, one at most partial. */
#define IN_MIN (64u << 10)
static char *in_buf;
static size_t in_cap, in_off, in_len;
static bool in_stalled; /* stopped parsing for lack of queue room */
static uint32_t sock_events;

void
w_log(const char *fmt, ...)
{
	char line[W_MSG_MAX + 64] = "agentjail-worker: ";
	size_t n = strlen(line);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	/* One write per line (dprintf would fstat and lseek first). */
	n = strlen(line);
	line[n] = '\n';
	(void)!write(STDERR_FILENO, line, n + 1);
}

void
w_die_proto(const char *fmt, ...)
{
	char line[W_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	w_log("malformed message from the supervisor: %s", line);
	exec_kill_all();
	file_abort_all();
	_exit(3);
}

void
w_fatal(const char *what)
{
	w_log("%s: %s", what, strerror(errno));
	exec_kill_all();
	file_abort_all();
	_exit(1);
}

void *
w_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		w_fatal("malloc");
	return p;
}

uint64_t
w_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int
w_ep_add(int fd, uint32_t events, uint64_t tag)
{
	struct epoll_event ev = {.events = events, .data.u64 = tag};

	return epoll_ctl(W.ep, EPOLL_CTL_ADD, fd, &ev);
}

void
w_ep_del(int fd)
{
	if (fd >= 0)
		epoll_ctl(W.ep, EPOLL_CTL_DEL, fd, NULL);
}

void
w_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Copy a string for a one-line message: bounded, control bytes as '?'. */
void
w_clean(const char *in, char *out, size_t size)
{
	size_t i;

	for (i = 0; in[i] && i + 1 < size; i++)
		out[i] = (unsigned char)in[i] < 0x20 || in[i] == 0x7f ? '?' : in[i];
	out[i] = '\0';
}

bool
w_room(void)
{
	return q_tail - q_head < W_OUTQ_HIGH;
}

static char *
q_reserve(size_t n)
{
	char *p;

	if (q_cap - q_tail < n && q_head > 0) {
		memmove(q_buf, q_buf + q_head, q_tail - q_head);
		q_tail -= q_head;
		q_head = 0;
	}
	if (q_cap - q_tail < n) {
		size_t cap = q_cap ? q_cap * 2 : 128u << 10;
		while (cap < q_tail + n)
			cap *= 2;
		p = realloc(q_buf, cap);
		if (!p)
			w_fatal("malloc");
		q_buf = p;
		q_cap = cap;
	}
	p = q_buf + q_tail;
	q_tail += n;
	return p;
}

void
w_send2(uint32_t type, uint32_t id, const void *p1, size_t n1, const void *p2, size_t n2)
{
	struct ajw_hdr h = {.type = type, .id = id, .len = (uint32_t)(n1 + n2)};
	char *p = q_reserve(sizeof(h) + n1 + n2);

	memcpy(p, &h, sizeof(h));
	if (n1)
		memcpy(p + sizeof(h), p1, n1);
	if (n2)
		memcpy(p + sizeof(h) + n1, p2, n2);
}

void
w_send(uint32_t type, uint32_t id, const void *p, size_t n)
{
	w_send2(type, id, p, n, NULL, 0);
}

/* A message with no payload and a descriptor, which the queue now owns. */
void
w_send_fd(uint32_t type, uint32_t id, int fd)
{
	if (q_nfds == AJW_MAX_CONNECTS) {
		/* agent.c keeps below the limit: never here. */
		errno = EMFILE;
		w_fatal("descriptor queue");
	}
	q_fds[q_nfds].pos = q_pos + (q_tail - q_head);
	q_fds[q_nfds].fd = fd;
	q_nfds++;
	w_send(type, id, NULL, 0);
}

unsigned
w_fds_queued(void)
{
	return q_nfds;
}

void
w_error(uint32_t id, int err, uint32_t code, const char *fmt, ...)
{
	struct ajw_error e = {.err = err, .code = code};
	char raw[W_MSG_MAX], msg[W_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	w_clean(raw, msg, sizeof(msg));
	w_send2(AJW_ERROR, id, &e, sizeof(e), msg, strlen(msg) + 1);
}

/*
 * The end of the session (SIGTERM, the supervisor gone): every exec's tree
 * killed, half-written uploads removed; as init, whatever else runs in the
 * namespace killed too (the kernel would do it as this process exits).
 */
static __attribute__((noreturn)) void
w_shutdown(int code)
{
	exec_kill_all();
	file_abort_all();
	if (W.pid1)
		kill(-1, SIGKILL);
	_exit(code);
}

/*
 * Write the queue. A descriptor goes in a sendmsg that starts at its
 * message and stops before the next descriptor's: the kernel attaches it to
 * the first byte sent, and a reader's recvmsg returns it with that byte and
 * never merges two (proto.h, CONNECT).
 */
static void
flush(void)
{
	while (q_tail > q_head) {
		char cbuf[CMSG_SPACE(sizeof(int))] = {0};
		struct iovec iov = {.iov_base = q_buf + q_head, .iov_len = q_tail - q_head};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
		bool with_fd = q_nfds && q_fds[0].pos == q_pos;
		unsigned next = with_fd ? 1 : 0;

		if (next < q_nfds && q_fds[next].pos - q_pos < iov.iov_len)
			iov.iov_len = (size_t)(q_fds[next].pos - q_pos);
		if (with_fd) {
			struct cmsghdr *cm;

			mh.msg_control = cbuf;
			mh.msg_controllen = sizeof(cbuf);
			cm = CMSG_FIRSTHDR(&mh);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(cm), &q_fds[0].fd, sizeof(int));
		}
		ssize_t r = sendmsg(W.sock, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r > 0) {
			if (with_fd) {
				/* Passed: the supervisor holds it now. */
				close(q_fds[0].fd);
				memmove(&q_fds[0], &q_fds[1], (q_nfds - 1) * sizeof(q_fds[0]));
				q_nfds--;
			}
			q_head += (size_t)r;
			q_pos += (uint64_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return;
		w_log("socket: %s: ending the session", r < 0 ? strerror(errno) : "closed");
		w_shutdown(0);
	}
	q_head = q_tail = 0;
}

/* About to sleep: an idle worker keeps no buffers (allocated with mmap, see
 * start(), so that freeing them gives the memory back). */
static void
idle(void)
{
	if (q_tail == q_head) {
		free(q_buf);
		q_buf = NULL;
		q_cap = q_head = q_tail = 0;
	}
	if (in_len == in_off) {
		free(in_buf);
		in_buf = NULL;
		in_cap = in_len = in_off = 0;
	}
}

static bool
is_request(uint32_t type)
{
	return type >= AJW_EXEC && type <= AJW_SECRET;
}

/* Requests that start an exchange: their id must not be in flight. */
static bool
is_new(uint32_t type)
{
	return type != AJW_STDIN && type != AJW_SIGNAL && type != AJW_CANCEL && type != AJW_DATA;
}

static void
handle(const struct ajw_hdr *h, char *p)
{
	int32_t sig;

	if (is_new(h->type) && (exec_busy(h->id) || file_busy(h->id) || conn_busy(h->id)))
		w_die_proto("id %u is already in flight", h->id);
	switch (h->type) {
	case AJW_EXEC: exec_request(h->id, p, h->len); break;
	case AJW_STDIN: exec_stdin(h->id, p, h->len); break;
	case AJW_SIGNAL:
		if (h->len != sizeof(sig))
			w_die_proto("SIGNAL of %u bytes", h->len);
		memcpy(&sig, p, sizeof(sig));
		exec_signal(h->id, sig);
		break;
	case AJW_CANCEL:
		if (h->len)
			w_die_proto("CANCEL with a payload");
		if (!exec_cancel(h->id) && !conn_cancel(h->id))
			file_cancel(h->id);
		break;
	case AJW_DATA: file_data(h->id, p, h->len); break;
	case AJW_PING:
		if (h->len)
			w_die_proto("PING with a payload");
		w_send(AJW_OK, h->id, NULL, 0);
		break;
	case AJW_CONNECT: conn_request(h->id, p, h->len); break;
	case AJW_SECRET: secret_request(h->id, p, h->len); break;
	default: file_request(h->type, h->id, p, h->len); break;
	}
}

/* Read requests and handle the complete ones, while replies have room. */
static void
sock_input(void)
{
	struct ajw_hdr h;

	in_stalled = false;
	for (;;) {
		size_t have = in_len - in_off;
		if (have >= sizeof(h)) {
			memcpy(&h, in_buf + in_off, sizeof(h));
			if (!is_request(h.type))
				w_die_proto("unknown message type %u", h.type);
			if (h.len > AJW_MAX_PAYLOAD)
				w_die_proto("type %u: payload of %u bytes", h.type, h.len);
			if (h.flags || !h.id)
				w_die_proto("type %u: flags %#x, id %u", h.type, h.flags, h.id);
			if (have >= sizeof(h) + h.len) {
				if (!w_room()) {
					in_stalled = true;
					return;
				}
				in_off += sizeof(h) + h.len;
				handle(&h, in_buf + in_off - h.len);
				continue;
			}
		}
		/* Room for the rest of this message, at the start of the buffer. */
		size_t need = have >= sizeof(h) ? sizeof(h) + h.len : IN_MIN;
		if (in_off) {
			memmove(in_buf, in_buf + in_off, have);
			in_len = have;
			in_off = 0;
		}
		if (need < IN_MIN)
			need = IN_MIN;
		if (in_cap < need || (in_cap > IN_MIN && need == IN_MIN && have <= IN_MIN)) {
			/* Grow for a large message; shrink back after one. */
			char *b = realloc(in_buf, need);
			if (!b)
				w_fatal("malloc");
			in_buf = b;
			in_cap = need;
		}
		ssize_t r = recv(W.sock, in_buf + in_len, in_cap - in_len, MSG_DONTWAIT);
		if (r > 0) {
			in_len += (size_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return;
		if (r == 0)
			w_log("the supervisor closed the socket: ending the session");
		else
			w_log("socket: %s: ending the session", strerror(errno));
		w_shutdown(0);
	}
}

/* Read requests only while replies have room; write while any are queued. */
static void
sock_update(void)
{
	uint32_t ev = (w_room() ? EPOLLIN : 0) | (q_tail > q_head ? EPOLLOUT : 0);
	struct epoll_event e = {.events = ev, .data.u64 = W_TAG(0, K_SOCK)};

	if (ev != sock_events && epoll_ctl(W.ep, EPOLL_CTL_MOD, W.sock, &e) == 0)
		sock_events = ev;
}

static void
on_signal(void)
{
	struct signalfd_siginfo si;

	while (read(W.sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			exec_reap();
			continue;
		}
		/* From inside the namespace: jailed code, which shares the uid. */
		if (W.pid1 && si.ssi_pid != 0 && si.ssi_code <= 0) {
			w_log("signal %u from pid %u inside the jail ignored", si.ssi_signo,
			      si.ssi_pid);
			continue;
		}
		w_log("signal %u: ending the session", si.ssi_signo);
		w_shutdown(0);
	}
	/* A SIGCHLD may have been merged with the others. */
	exec_reap();
}

/* The profile's seccomp programs, read once into memory for every exec. */
static void
read_filter(int fd)
{
	struct stat st;
	struct ajw_filter_hdr fh;
	size_t max = sizeof(fh) + W_MAX_PROGS * (sizeof(struct ajw_filter_prog) +
						 W_MAX_INSNS * sizeof(struct sock_filter));
	char *buf;
	size_t off;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(fh) ||
	    (size_t)st.st_size > max) {
		w_log("fd %d: not a filter memfd of a valid size", fd);
		_exit(2);
	}
	buf = w_malloc((size_t)st.st_size);
	if (pread(fd, buf, (size_t)st.st_size, 0) != st.st_size) {
		w_log("fd %d: short read of the filter", fd);
		_exit(2);
	}
	memcpy(&fh, buf, sizeof(fh));
	/* No programs: the jail was built without a filter for commands
	 * (jail_filter_memfd() of none; tests); HELLO then says so. */
	if (fh.magic != AJW_FILTER_MAGIC || fh.n_progs > W_MAX_PROGS) {
		w_log("fd %d: bad filter header", fd);
		_exit(2);
	}
	off = sizeof(fh);
	for (unsigned i = 0; i < fh.n_progs; i++) {
		struct ajw_filter_prog ph;
		size_t bytes;

		if ((size_t)st.st_size - off < sizeof(ph)) {
			w_log("fd %d: filter program %u truncated", fd, i);
			_exit(2);
		}
		memcpy(&ph, buf + off, sizeof(ph));
		off += sizeof(ph);
		bytes = (size_t)ph.len * sizeof(struct sock_filter);
		/* Flags that only log or relax speculation mitigations; never
		 * TSYNC or a listener. */
		if (ph.len < 1 || ph.len > W_MAX_INSNS ||
		    (ph.flags & ~(SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW)) ||
		    (size_t)st.st_size - off < bytes) {
			w_log("fd %d: filter program %u: bad length or flags", fd, i);
			_exit(2);
		}
		W.progs[i].flags = ph.flags;
		W.progs[i].len = ph.len;
		W.progs[i].insns = w_malloc(bytes);
		memcpy(W.progs[i].insns, buf + off, bytes);
		off += bytes;
	}
	if (off != (size_t)st.st_size) {
		w_log("fd %d: %zu bytes after the last filter program", fd,
		      (size_t)st.st_size - off);
		_exit(2);
	}
	W.n_progs = fh.n_progs;
	free(buf);
}

static void
start(int argc, char **argv)
{
	const char *ws = "/workspace";
	struct ajw_hello hello = {.version = AJW_VERSION};
	struct stat st;
	sigset_t set;

	/* First of all: jailed code shares the uid. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	/* Buffers of 64 KiB and more come from mmap and go back on free
	 * (a fixed threshold: glibc would otherwise raise it as they are
	 * freed). */
	mallopt(M_MMAP_THRESHOLD, 64 << 10);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--workspace") && i + 1 < argc) {
			ws = argv[++i];
		} else if (!strcmp(argv[i], "--secrets") && i + 1 < argc) {
			W.secrets = argv[++i];
		} else {
			w_log("usage: agentjail-worker [--workspace DIR] [--secrets DIR]");
			_exit(2);
		}
	}
	/* Before anything is opened, so that no new descriptor is taken for
	 * one of ours. */
	if (fstat(AJW_FD_SOCKET, &st) < 0 || !S_ISSOCK(st.st_mode)) {
		w_log("fd %d is not the protocol socket", AJW_FD_SOCKET);
		_exit(2);
	}
	if (fstat(AJW_FD_CGROUP, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			w_log("fd %d is not a cgroup directory", AJW_FD_CGROUP);
			_exit(2);
		}
		W.cgfd = AJW_FD_CGROUP;
		hello.flags |= AJW_HELLO_CGROUP;
	}
	if (fcntl(AJW_FD_FILTER, F_GETFD) >= 0) {
		read_filter(AJW_FD_FILTER);
		close(AJW_FD_FILTER);
		if (W.n_progs)
			hello.flags |= AJW_HELLO_FILTER;
	}
	/* Commands are started with plain fds 0-2; ours must be taken. */
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd) {
			w_log("fd %d: closed, and /dev/null cannot be opened", fd);
			_exit(2);
		}
	/* Nothing the jail's builder left open reaches a command. */
	close_range(3, ~0u, CLOSE_RANGE_CLOEXEC);

	W.wsfd = open(ws, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (W.wsfd < 0) {
		w_log("workspace %s: %s", ws, strerror(errno));
		_exit(2);
	}
	W.devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	W.umask = umask(0); /* modes of PUT and MKDIR are meant exactly */
	W.pid1 = getpid() == 1;
	char self[16] = "";
	W.proc = readlink("/proc/self", self, sizeof(self) - 1) > 0 && atoi(self) == getpid();
	/* Orphans come to this process (as init they would anyway). */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	W.sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	W.ep = epoll_create1(EPOLL_CLOEXEC);
	if (W.sigfd < 0 || W.ep < 0)
		w_fatal("signalfd/epoll");
	if (fcntl(W.sock, F_SETFL, O_RDWR | O_NONBLOCK) < 0)
		w_fatal("socket");
	sock_events = EPOLLIN;
	if (w_ep_add(W.sock, sock_events, W_TAG(0, K_SOCK)) < 0 ||
	    w_ep_add(W.sigfd, EPOLLIN, W_TAG(0, K_SIGNAL)) < 0)
		w_fatal("epoll_ctl");

	hello.pid = getpid();
	w_send(AJW_HELLO, 0, &hello, sizeof(hello));
}

int
main(int argc, char **argv)
{
	struct epoll_event evs[64];

	start(argc, argv);
	for (;;) {
		bool more;

		if (in_stalled && w_room())
			sock_input();
		more = file_produce();
		flush();
		if (w_room())
			exec_resume();
		sock_update();
		int timeout = more && w_room() ? 0 : -1;
		if (timeout < 0) {
			idle();
			timeout = conn_timeout();
		}
		int n = epoll_wait(W.ep, evs, 64, timeout);
		if (n < 0 && errno != EINTR)
			w_fatal("epoll_wait");
		conn_expire();
		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;

			switch ((enum w_kind)(tag & 0xff)) {
			case K_SOCK:
				if (evs[i].events & EPOLLOUT)
					flush();
				if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
					sock_input();
				break;
			case K_SIGNAL: on_signal(); break;
			case K_OUT:
			case K_ERR:
			case K_IN:
			case K_SYNC:
			case K_TIMER:
			case K_EVENTS: exec_event(tag, evs[i].events); break;
			case K_CONN: conn_event(tag); break;
			}
		}
	}
}
