/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agentjaild's HTTP process. It parses everything that comes from the
 * network, so it holds as little as possible: a uid of its own, no
 * capabilities, no_new_privs, a seccomp filter without process creation
 * or exec, the listening sockets, one socket to the monitor, and one
 * socket per session to that session's worker.
 *
 * One epoll loop: libmicrohttpd's epoll fd (MHD_USE_EPOLL, no threads,
 * suspend/resume), a signalfd, the monitor socket, the sessions' sockets,
 * the sockets of suspended clients (to notice a hang-up), a timerfd.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "auth.h"
#include "http.h"
#include "log.h"
#include "privsep.h"

#include "internal.h"
#include "seccomp.h"

const struct ajd_config *http_cfg;
/* The configuration in use: the start's, with what SIGHUP may change
 * (authentication, tenants, compatibility) replaced by PRIV_CONFIG. */
static struct ajd_config live;
char http_cgroup_base[4096];

static struct {
	int epfd, sigfd, timerfd, priv;
	struct MHD_Daemon *daemons[AJD_MAX_LISTEN];
	int daemon_epfd[AJD_MAX_LISTEN];
	size_t n_daemons;
	bool stopping;
	json_t *profiles;
	json_t *pools; /* the monitor's last word on the warm pools */
	uint32_t seq;
	struct pending *pending;
} h;

/* epoll data for our own fds: these addresses are unique tags. */
static struct watch w_sig, w_timer, w_priv, w_daemon[AJD_MAX_LISTEN];

uint64_t
http_now_us(void)
{
	return now_us();
}

/* --- the monitor -------------------------------------------------------- */

struct pending {
	uint32_t seq;
	priv_fn *fn;
	void *owner;
	struct pending *next;
};

static int
priv_send(const void *p1, size_t n1, const void *p2, size_t n2)
{
	struct iovec iov[2] = {{(void *)p1, n1}, {(void *)p2, n2}};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = n2 ? 2 : 1};

	return sendmsg(h.priv, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

static int
priv_expect(uint32_t seq, priv_fn *fn, void *owner)
{
	struct pending *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	*p = (struct pending){seq, fn, owner, h.pending};
	h.pending = p;
	return 0;
}

int
priv_create(const char *profile, uint64_t memory_max, uint64_t pids_max, uint32_t cpu_ms_per_sec,
	    priv_fn *fn, void *owner)
{
	struct priv_create c = {
		.h = {.type = PRIV_CREATE, .seq = ++h.seq},
		.memory_max = memory_max,
		.pids_max = pids_max,
		.cpu_ms_per_sec = cpu_ms_per_sec,
	};

	snprintf(c.profile, sizeof(c.profile), "%s", profile);
	int r = priv_send(&c, sizeof(c), NULL, 0);
	if (r == 0)
		r = priv_expect(c.h.seq, fn, owner);
	return r;
}

int
priv_destroy(uint32_t jail_id)
{
	struct priv_destroy d = {.h = {.type = PRIV_DESTROY, .seq = ++h.seq}, .jail_id = jail_id};
	return priv_send(&d, sizeof(d), NULL, 0); /* the reply is only logged */
}

int
priv_destroy_wait(uint32_t jail_id, priv_fn *fn, void *owner)
{
	struct priv_destroy d = {.h = {.type = PRIV_DESTROY, .seq = ++h.seq}, .jail_id = jail_id};
	int r = priv_send(&d, sizeof(d), NULL, 0);
	if (r == 0)
		r = priv_expect(d.h.seq, fn, owner);
	return r;
}

void
priv_orphan(void *owner)
{
	for (struct pending *p = h.pending; p; p = p->next)
		if (p->owner == owner)
			p->owner = NULL;
}

json_t *
http_profiles(void)
{
	return h.profiles;
}

json_t *
http_pools(void)
{
	return h.pools;
}

static void
profiles_reply(void *owner, const struct priv_reply_view *r)
{
	json_error_t err;

	if (r->err) {
		log_event(LOG_ERROR, "profiles", "error", r->msg, NULL);
		return;
	}
	json_t *v = json_loadb(r->data, r->len, JSON_REJECT_DUPLICATES, &err);
	if (!json_is_array(v)) {
		log_event(LOG_ERROR, "profiles", "error", "the monitor sent no profile list", NULL);
		json_decref(v);
		return;
	}
	json_decref(h.profiles);
	h.profiles = v;
}

static void
ask_profiles(void)
{
	struct priv_hdr hd = {.type = PRIV_PROFILES, .seq = ++h.seq};
	if (priv_send(&hd, sizeof(hd), NULL, 0) == 0)
		priv_expect(hd.seq, profiles_reply, NULL);
}

static void
on_config(const struct ajd_config *c, const char *material)
{
	struct jail_error e = {0};
	char n[16];

	if (auth_install(material, &e) < 0) {
		log_event(LOG_ERROR, "config.reload", "error", e.msg, "result",
			  "the configuration in use stays", NULL);
		return;
	}
	/* What the listeners are, limits, pools: as started. */
	live.auth = c->auth;
	memcpy(live.tenants, c->tenants, sizeof(live.tenants));
	live.n_tenants = c->n_tenants;
	live.agentcube = c->agentcube;
	snprintf(n, sizeof(n), "%zu", c->auth.n_keys);
	log_event(LOG_INFO, "config.reload", "keys", n, "tls", auth_tls_ready() ? "yes" : "no",
		  NULL);
}

static void
on_priv(void)
{
	static char buf[PRIV_MAX_MSG];
	union {
		char c[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {buf, sizeof(buf)};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = u.c,
			    .msg_controllen = sizeof(u.c)};
	ssize_t n = recvmsg(h.priv, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

	if (n == 0) {
		log_event(LOG_ERROR, "privsep", "error", "the monitor is gone", NULL);
		exit(1);
	}
	if (n < (ssize_t)sizeof(struct priv_hdr))
		return;
	int fd = -1;
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	if (cm && cm->cmsg_type == SCM_RIGHTS && cm->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	const struct priv_hdr *hd = (const void *)buf;
	if (hd->type == PRIV_EXITED && (size_t)n >= sizeof(struct priv_exited)) {
		const struct priv_exited *ex = (const void *)buf;
		struct session *s = session_by_jail(ex->jail_id);
		if (s)
			session_end(s, "worker_died", true);
	} else if (hd->type == PRIV_RELOADED) {
		ask_profiles();
	} else if (hd->type == PRIV_CONFIG && (size_t)n > sizeof(*hd) + sizeof(struct ajd_config) &&
		   buf[n - 1] == '\0') {
		on_config((const void *)(buf + sizeof(*hd)), buf + sizeof(*hd) + sizeof(live));
	} else if (hd->type == PRIV_POOLS) {
		json_error_t err;
		json_t *v = json_loadb(buf + sizeof(*hd), (size_t)n - sizeof(*hd),
				       JSON_REJECT_DUPLICATES, &err);
		if (json_is_array(v)) {
			json_decref(h.pools);
			h.pools = v;
		} else {
			json_decref(v);
		}
	} else if (hd->type == PRIV_REPLY && (size_t)n >= sizeof(struct priv_reply)) {
		struct priv_reply *r = (void *)buf;
		r->msg[sizeof(r->msg) - 1] = '\0';
		for (struct pending **pp = &h.pending; *pp; pp = &(*pp)->next) {
			struct pending *p = *pp;
			if (p->seq != hd->seq)
				continue;
			*pp = p->next;
			struct priv_reply_view v = {
				.err = r->err,
				.msg = r->msg,
				.jail_id = r->jail_id,
				.host_uid = r->host_uid,
				.pid = r->pid,
				.fd = fd,
				.data = buf + sizeof(*r),
				.len = (size_t)n - sizeof(*r) < r->len ? (size_t)n - sizeof(*r)
								       : r->len,
			};
			fd = -1;
			if (p->owner || p->fn == profiles_reply)
				p->fn(p->owner, &v);
			else if (v.fd >= 0) {
				/* Its requester went away: the jail is not wanted. */
				close(v.fd);
				if (!v.err)
					priv_destroy(v.jail_id);
			}
			free(p);
			break;
		}
	}
	if (fd >= 0)
		close(fd);
}

/* --- the loop ----------------------------------------------------------- */

void
loop_watch_session(struct session *s, bool out)
{
	struct epoll_event ev = {
		.events = (s->paused_in ? 0 : EPOLLIN) | (out ? EPOLLOUT : 0) | EPOLLRDHUP,
		.data.ptr = &s->watch,
	};
	if (epoll_ctl(h.epfd, EPOLL_CTL_MOD, s->sock, &ev) < 0 && errno == ENOENT)
		epoll_ctl(h.epfd, EPOLL_CTL_ADD, s->sock, &ev);
}

void
loop_unwatch_session(struct session *s)
{
	epoll_ctl(h.epfd, EPOLL_CTL_DEL, s->sock, NULL);
}

void
loop_watch(int fd, struct watch *w, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = w};

	if (epoll_ctl(h.epfd, EPOLL_CTL_MOD, fd, &ev) < 0 && errno == ENOENT)
		epoll_ctl(h.epfd, EPOLL_CTL_ADD, fd, &ev);
}

void
loop_unwatch(int fd)
{
	epoll_ctl(h.epfd, EPOLL_CTL_DEL, fd, NULL);
}

struct suspended {
	struct watch watch;
	int fd;
};

/* While a request is suspended MHD does not look at its socket: we do, so
 * that a client hanging up cancels what it was waiting for. */
void
http_suspend(struct http_ctx *r, struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	MHD_suspend_connection(conn);
	if (ci) {
		struct epoll_event ev = {.events = EPOLLRDHUP, .data.ptr = http_ctx_watch(r)};
		epoll_ctl(h.epfd, EPOLL_CTL_ADD, ci->connect_fd, &ev);
	}
}

void
http_resume(struct http_ctx *r, struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci)
		epoll_ctl(h.epfd, EPOLL_CTL_DEL, ci->connect_fd, NULL);
	MHD_resume_connection(conn);
}

static void
run_daemons(void)
{
	for (size_t i = 0; i < h.n_daemons; i++)
		MHD_run(h.daemons[i]);
}

/* The next MHD timeout, or -1. */
static int
next_timeout_ms(void)
{
	int t = -1;

	for (size_t i = 0; i < h.n_daemons; i++) {
		MHD_UNSIGNED_LONG_LONG ms;
		if (MHD_get_timeout(h.daemons[i], &ms) == MHD_YES)
			if (t < 0 || ms < (MHD_UNSIGNED_LONG_LONG)t)
				t = ms > 60000 ? 60000 : (int)ms;
	}
	return t;
}

/* libmicrohttpd's own messages (a TLS handshake that failed, a socket
 * error), as log lines of ours. */
static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_event(LOG_WARN, "http.mhd", "message", msg, NULL);
}

static int
start_daemons(const int *listen_fds, size_t n, struct jail_error *e)
{
	for (size_t i = 0; i < n; i++) {
		bool tcp = http_cfg->listen[i].kind == AJD_LISTEN_TCP;
		bool tls = tcp && auth_tls_ready();
		const struct ajd_limits *l = &http_cfg->limits;
		struct MHD_OptionItem opts[] = {
			{MHD_OPTION_LISTEN_SOCKET, listen_fds[i], NULL},
			{MHD_OPTION_CONNECTION_LIMIT, (intptr_t)l->max_connections, NULL},
			{MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)l->connection_timeout_s, NULL},
			/* The memory pool per connection bounds the request line
			 * and headers: a request with more is refused (431). */
			{MHD_OPTION_CONNECTION_MEMORY_LIMIT,
			 (intptr_t)(l->max_header_bytes + 16384), NULL},
			{MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)api_completed, NULL},
			{MHD_OPTION_PER_IP_CONNECTION_LIMIT,
			 (intptr_t)l->max_connections_per_client, NULL},
			auth_tls_option(),
			{MHD_OPTION_END, 0, NULL},
		};
		if (!tls)
			opts[6] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
		if (!tcp)
			opts[5] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
		h.daemons[i] = MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
							MHD_USE_ERROR_LOG | (tls ? MHD_USE_TLS : 0),
						0, NULL, NULL, api_handle, NULL,
						MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
						MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
		if (!h.daemons[i])
			return jerr_plain(e, EIO, "libmicrohttpd: cannot serve listener %zu", i);
		const union MHD_DaemonInfo *di =
			MHD_get_daemon_info(h.daemons[i], MHD_DAEMON_INFO_EPOLL_FD);
		h.daemon_epfd[i] = di->epoll_fd;
		w_daemon[i] = (struct watch){0, NULL};
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &w_daemon[i]};
		epoll_ctl(h.epfd, EPOLL_CTL_ADD, h.daemon_epfd[i], &ev);
		h.n_daemons++;
	}
	return 0;
}

static void
stop(void)
{
	log_event(LOG_INFO, "http.stop", NULL);
	for (size_t i = 0; i < h.n_daemons; i++)
		MHD_stop_daemon(h.daemons[i]);
	exit(0);
}

/* The reaper's timer: at the earliest deadline of a session. */
static void
arm_reaper(void)
{
	static uint64_t armed;
	uint64_t next = session_next_deadline();

	if (next == armed)
		return;
	struct itimerspec its = {0};
	if (next)
		its.it_value =
			(struct timespec){(time_t)(next / 1000000), (long)(next % 1000000) * 1000};
	if (timerfd_settime(h.timerfd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
		armed = next;
}

static int
loop(void)
{
	for (;;) {
		struct epoll_event evs[128];
		int n = epoll_wait(h.epfd, evs, 128, next_timeout_ms());
		if (n < 0 && errno != EINTR)
			return 1;
		for (int i = 0; i < n; i++) {
			struct watch *w = evs[i].data.ptr;
			uint32_t e = evs[i].events;
			if (w == &w_sig) {
				struct signalfd_siginfo si;
				/* SIGHUP is the monitor's (PRIV_CONFIG follows). */
				while (read(h.sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
					if (si.ssi_signo != SIGHUP)
						stop();
			} else if (w == &w_priv) {
				on_priv();
			} else if (w == &w_timer) {
				uint64_t x;
				(void)!read(h.timerfd, &x, sizeof(x));
				session_expire(now_us());
			} else if (w >= &w_daemon[0] && w < &w_daemon[AJD_MAX_LISTEN]) {
				/* MHD_run below */
			} else if (w->kind == WATCH_SESSION) {
				session_on_event(w->ptr, e);
			} else if (w->kind == WATCH_AGENT) {
				agent_on_event(w, e);
			} else if (w->kind == WATCH_PROXY) {
				api_proxy_event(w->ptr, e);
			} else {
				api_client_gone(w->ptr);
			}
		}
		run_daemons();
		api_after_batch();
		session_reap();
		arm_reaper();
	}
}

int
http_main(const struct ajd_config *cfg, const int *listen_fds, size_t n_listen, int priv_sock,
	  uid_t uid, gid_t gid, const struct jail_filter *filter, const char *material)
{
	struct jail_error e = {0};
	sigset_t set;

	live = *cfg;
	http_cfg = &live;
	h.priv = priv_sock;
	log_init(cfg->log_format == AJD_LOG_JSON, "agentjaild-http");
	if (auth_install(material, &e) < 0) {
		log_event(LOG_ERROR, "http.auth", "error", e.msg, NULL);
		return 1;
	}

	/* Privileges: a uid of its own, no groups, no capabilities to gain,
	 * gone with the monitor, no process creation or exec. */
	if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0) {
		log_event(LOG_ERROR, "http.privileges", "error", strerror(errno), NULL);
		return 1;
	}
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() == 1 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return 1;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	h.sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	h.epfd = epoll_create1(EPOLL_CLOEXEC);
	h.timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &w_sig};
	epoll_ctl(h.epfd, EPOLL_CTL_ADD, h.sigfd, &ev);
	ev.data.ptr = &w_priv;
	epoll_ctl(h.epfd, EPOLL_CTL_ADD, h.priv, &ev);
	ev.data.ptr = &w_timer;
	epoll_ctl(h.epfd, EPOLL_CTL_ADD, h.timerfd, &ev);
	if (start_daemons(listen_fds, n_listen, &e) < 0) {
		log_event(LOG_ERROR, "http.start", "error", e.msg, NULL);
		return 1;
	}
	ask_profiles();

	/* Last: the filter, once everything is open. */
	int r = seccomp_filter_apply(filter);
	if (r < 0) {
		log_event(LOG_ERROR, "http.seccomp", "error", strerror(-r), NULL);
		return 1;
	}
	char u[16];
	snprintf(u, sizeof(u), "%u", (unsigned)uid);
	log_event(LOG_INFO, "http.ready", "uid", u, NULL);
	return loop();
}
