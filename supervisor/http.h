/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agentjaild's HTTP process: unprivileged, one epoll loop, libmicrohttpd
 * driven from it (MHD_USE_EPOLL without threads, suspend/resume), the
 * sessions and their workers' sockets. http.c is the process and the loop,
 * session.c the sessions and the worker protocol client, api.c the
 * endpoints.
 */
#ifndef AGENTJAIL_HTTP_H
#define AGENTJAIL_HTTP_H

#include <jansson.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "proto.h"

/* --- a growable byte buffer -------------------------------------------- */

struct buf {
	char *data;
	size_t len, off, cap; /* bytes [off, len) are pending */
};

int buf_append(struct buf *b, const void *p, size_t n);
size_t buf_pending(const struct buf *b);
void buf_consume(struct buf *b, size_t n);
void buf_free(struct buf *b);

/* --- sessions and their workers (session.c) ----------------------------- */

struct session;
struct wreq;

/* A reply of the worker to one request. `fd` is -1 (reserved). The
 * callback may end the request with wreq_done(). */
typedef void wreq_fn(struct wreq *w, uint32_t type, const char *payload, uint32_t len);

struct wreq {
	uint32_t id;
	struct session *s;
	wreq_fn *fn;
	void *owner;	 /* the HTTP request, or NULL once it went away */
	bool exec;	 /* counts against the exec limits */
	bool background; /* not the session's activity (a running agent, its health check) */
	struct wreq *next;
};

enum session_state { SESSION_READY, SESSION_DEAD };

/* What an epoll event is about. */
enum watch_kind { WATCH_SESSION = 1, WATCH_CLIENT, WATCH_AGENT, WATCH_PROXY };
struct watch {
	enum watch_kind kind;
	void *ptr;
};

struct session {
	struct watch watch;
	char id[24]; /* 128 random bits, base64url */
	uint32_t jail_id, host_uid;
	char profile[72];
	char owner[128]; /* tenant (later: the token's sub) */
	int sock;
	struct buf in, out;
	bool want_out;	/* EPOLLOUT registered */
	bool paused_in; /* not reading: a download's consumer is slow */
	uint32_t next_id;
	struct wreq *reqs;
	unsigned execs;
	enum session_state state;
	char end_reason[64];
	uint64_t created_us, last_active_us; /* CLOCK_MONOTONIC */
	int64_t created_at;		     /* unix seconds */
	uint32_t idle_timeout_s, max_lifetime_s;
	uint32_t exec_timeout_ms, exec_timeout_max_ms;
	uint64_t max_output_bytes;
	uint64_t memory_max, pids_max;
	uint32_t cpu_ms_per_sec;
	json_t *metadata;
	json_t *env; /* the session's variables, "NAME=value", for every command */
	bool hello;
	uint32_t worker_flags;
	struct agent *agent;	   /* an agent runtime's (agent.h), or NULL */
	unsigned busy;		   /* invocations in flight: activity, as requests are */
	int fds[AJW_MAX_CONNECTS]; /* descriptors received from the worker, oldest first */
	size_t n_fds;
	int msg_fd;	      /* the descriptor of the reply being dispatched (CONNECTED), or -1 */
	size_t heap_i;	      /* 1 + its place in the reaper's heap; 0: not there */
	uint64_t deadline_us; /* when the reaper ends it (CLOCK_MONOTONIC) */
	struct session *next;
};

struct session *session_new(uint32_t jail_id, uint32_t host_uid, int sock, const char *profile);
struct session *session_find(const char *id);
/* Iterate: for (s = session_first(); s; s = s->next) */
struct session *session_first(void);
size_t session_count(void);
/* End a session: fail its requests, close its socket, ask the monitor to
 * destroy the jail (unless the jail is already gone), forget it. */
void session_end(struct session *s, const char *reason, bool jail_gone);
struct session *session_by_jail(uint32_t jail_id);
/* An API call on the session: its idle deadline moves. */
void session_touch(struct session *s);

/* The reaper. Each session's deadline is the earlier of its idle one
 * (none while a request of it is in flight: a running command, a
 * transfer) and its lifetime's; a heap keeps them ordered.
 * session_schedule() places a session after its settings changed;
 * session_next_deadline() is the earliest (0: none); session_expire() ends
 * every session whose deadline passed. */
void session_schedule(struct session *s);
uint64_t session_next_deadline(void);
void session_expire(uint64_t now_us);
/* The idle deadline as a client sees it (CLOCK_MONOTONIC, microseconds). */
uint64_t session_idle_deadline(const struct session *s);
/* A session the reaper ended within the hour, asked for by its owner. */
bool session_was_reaped(const char *id, const char *owner);

/* In a reply callback: the descriptor that came with the reply (CONNECTED),
 * now the caller's to close; -1 if none. */
int wreq_take_fd(struct wreq *w);

/* Send a request; the reply goes to fn. NULL on failure (the session is
 * dead or its queue is full). */
struct wreq *wreq_send(struct session *s, uint32_t type, const void *p1, size_t n1, const void *p2,
		       size_t n2, wreq_fn *fn, void *owner);
/* The same for the session's own business (a running agent, its health
 * check): not activity, for the reaper. */
struct wreq *wreq_send_as(struct session *s, bool background, uint32_t type, const void *p1,
			  size_t n1, const void *p2, size_t n2, wreq_fn *fn, void *owner);
/* Send more messages of the same request id (STDIN, DATA, CANCEL, SIGNAL). */
int wreq_more(struct wreq *w, uint32_t type, const void *p, size_t n);
/* The request is over: free it (its reply stream ended). */
void wreq_done(struct wreq *w);
/* The HTTP request went away: replies still arriving are dropped. */
void wreq_orphan(struct wreq *w);
/* Bytes queued for the session's worker. */
size_t session_queued(const struct session *s);

/* The epoll loop: an event on a session's socket; and, after each batch of
 * events, freeing the sessions that ended in it. */
void session_on_event(struct session *s, uint32_t events);
void session_reap(void);
void session_pause_input(struct session *s, bool pause);

/* --- the loop and the monitor (http.c) ----------------------------------- */

struct http_ctx; /* one per HTTP request */

extern const struct ajd_config *http_cfg;
/* Where the jails' cgroups are ("" if none): set before the split. */
extern char http_cgroup_base[4096];
extern uint64_t http_now_us(void);

/* epoll registration of a session socket (data: the session). */
void loop_watch_session(struct session *s, bool out);
void loop_unwatch_session(struct session *s);
/* Any other descriptor: events go to the watch's owner by its kind. */
void loop_watch(int fd, struct watch *w, uint32_t events);
void loop_unwatch(int fd);

/* Ask the monitor. The reply comes to fn with the request's owner. */
struct priv_reply_view {
	int err;
	const char *msg;
	uint32_t jail_id, host_uid;
	int pid;
	int fd; /* CREATE: the worker's socket, now the callee's to keep or close */
	const char *data;
	size_t len;
};
typedef void priv_fn(void *owner, const struct priv_reply_view *r);
int priv_create(const char *profile, uint64_t memory_max, uint64_t pids_max,
		uint32_t cpu_ms_per_sec, priv_fn *fn, void *owner);
int priv_destroy(uint32_t jail_id);
/* Forget the owner of pending monitor requests (the HTTP request went away). */
void priv_orphan(void *owner);

/* The profiles' description (from the monitor), parsed. */
json_t *http_profiles(void);
/* The warm pools' state (from the monitor), parsed; NULL before it told. */
json_t *http_pools(void);

/* The HTTP process: drops privileges, serves until SIGTERM. material:
 * the keys' and certificate's contents (auth.h). */
int http_main(const struct ajd_config *cfg, const int *listen_fds, size_t n_listen, int priv_sock,
	      uid_t uid, gid_t gid, const struct jail_filter *filter, const char *material);

/* --- the endpoints (api.c) ----------------------------------------------- */

enum MHD_Result api_handle(void *cls, struct MHD_Connection *conn, const char *url,
			   const char *method, const char *version, const char *upload_data,
			   size_t *upload_data_size, void **con_cls);
void api_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		   enum MHD_RequestTerminationCode toe);
/* A suspended request's client hung up. */
void api_client_gone(struct http_ctx *r);
/* An event on an invocation's connection to its agent (WATCH_PROXY). */
void api_proxy_event(void *proxy, uint32_t events);
/* A session's worker sent HELLO, or the session ended. */
void api_session_ended(struct session *s);
/* Metrics text for GET /metrics. */
char *api_metrics(void);

/* After each batch of events: resume uploads whose session drained. */
void api_after_batch(void);
struct watch *http_ctx_watch(struct http_ctx *r);
/* PRIV_DESTROY with the reply to fn. */
int priv_destroy_wait(uint32_t jail_id, priv_fn *fn, void *owner);

/* Suspend/resume with the loop watching the client's socket meanwhile. */
void http_suspend(struct http_ctx *r, struct MHD_Connection *conn);
void http_resume(struct http_ctx *r, struct MHD_Connection *conn);

#endif
