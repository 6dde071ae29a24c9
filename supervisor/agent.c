/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Agent runtimes (profile format 3): the agent program a session's jail
 * runs, from its start to its end. See agent.h.
 *
 * A session of such a profile gets its secrets (the worker writes them
 * into the jail's /run/secrets), then the entrypoint, run by the worker as
 * an AGENT exec (no deadline, output not capped: it goes to the session's
 * log, a ring of the last AGENT_LOG_MAX bytes). It is ready when its health
 * check answers 2xx: a GET of the health path over a connection the worker
 * makes inside the jail (CONNECT) — the jail needs no route to the host.
 * Until start_period_s has passed the check is tried every 100 ms; then
 * every interval_s, and three failures in a row stop the agent. An agent
 * that exits is restarted (restart: on-failure, up to restart_max) or ends
 * its session ("agent_exited").
 *
 * Each agent has one timerfd (the next check, or the deadline of the one
 * in flight) and, during a check, its connection: both in the HTTP
 * process's epoll loop (WATCH_AGENT).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "agent.h"
#include "internal.h"
#include "log.h"
#include "proxy.h"

#define AGENT_LOG_MAX	   (256u << 10)
#define AGENT_FAST_US	   100000u /* checks while starting */
#define AGENT_MAX_FAILURES 3

enum agent_state { A_STARTING, A_READY, A_STOPPED };
enum hc_phase { HC_IDLE, HC_CONNECTING, HC_READING };

struct agent {
	struct session *s;
	json_t *conf; /* the profile's "agent" object */
	enum agent_state state;
	struct wreq *exec;
	unsigned restarts, failures;
	uint64_t started_us;
	int status; /* the last exit: code, or 128 + signal */
	/* the health check */
	int timer_fd, hc_fd;
	struct watch tw, hw;
	enum hc_phase phase;
	struct wreq *hc_req;
	struct proxy_resp hc;
	uint16_t hc_port;
	/* the log: the last AGENT_LOG_MAX bytes of stdout and stderr */
	char *log;
	uint64_t log_total;
	struct follower {
		agent_log_fn *fn;
		void *cls;
	} followers[16];
	size_t n_followers;
	agent_ready_fn *ready;
	void *ready_cls;
	unsigned secrets_pending;
};

/* --- the log ------------------------------------------------------------------ */

static void
log_add(struct agent *a, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		a->log[(a->log_total + i) % AGENT_LOG_MAX] = p[i];
	a->log_total += n;
	for (size_t i = 0; i < a->n_followers; i++)
		a->followers[i].fn(a->followers[i].cls);
}

size_t
agent_log_read(const struct session *s, uint64_t *pos, char *out, size_t max)
{
	const struct agent *a = s->agent;
	size_t n = 0;

	if (!a)
		return 0;
	uint64_t first = a->log_total > AGENT_LOG_MAX ? a->log_total - AGENT_LOG_MAX : 0;
	if (*pos < first)
		*pos = first;
	while (n < max && *pos < a->log_total)
		out[n++] = a->log[(*pos)++ % AGENT_LOG_MAX];
	return n;
}

int
agent_log_follow(struct session *s, agent_log_fn *fn, void *cls)
{
	struct agent *a = s->agent;

	if (!a || a->n_followers == ARRAY_SIZE(a->followers))
		return -EBUSY;
	a->followers[a->n_followers++] = (struct follower){fn, cls};
	return 0;
}

void
agent_log_unfollow(struct session *s, void *cls)
{
	struct agent *a = s->agent;

	for (size_t i = 0; a && i < a->n_followers; i++)
		if (a->followers[i].cls == cls) {
			a->followers[i] = a->followers[--a->n_followers];
			return;
		}
}

/* The last lines of the log (at most ~1 KiB, from a line's start). */
static void
log_tail(const struct agent *a, char *out, size_t size)
{
	uint64_t pos = a->log_total > size - 1 ? a->log_total - (size - 1) : 0;
	size_t n = agent_log_read(a->s, &pos, out, size - 1);

	out[n] = '\0';
	char *nl = n == size - 1 ? strchr(out, '\n') : NULL;
	if (nl)
		memmove(out, nl + 1, strlen(nl + 1) + 1);
	for (size_t k = strlen(out); k && out[k - 1] == '\n';)
		out[--k] = '\0';
}

/* --- timers and the health check -------------------------------------------------- */

static void
arm(struct agent *a, uint64_t us)
{
	struct itimerspec its = {.it_value = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000}};

	if (!us)
		its.it_value.tv_nsec = 1;
	timerfd_settime(a->timer_fd, 0, &its, NULL);
}

static void
hc_close(struct agent *a)
{
	if (a->hc_fd >= 0) {
		loop_unwatch(a->hc_fd);
		close(a->hc_fd);
		a->hc_fd = -1;
	}
	if (a->hc_req) {
		wreq_orphan(a->hc_req);
		a->hc_req = NULL;
	}
	proxy_resp_free(&a->hc);
	memset(&a->hc, 0, sizeof(a->hc));
	a->phase = HC_IDLE;
}

static uint32_t
conf_int(const struct agent *a, const char *obj, const char *key, uint32_t dflt)
{
	json_t *v = json_object_get(obj ? json_object_get(a->conf, obj) : a->conf, key);

	return json_is_integer(v) ? (uint32_t)json_integer_value(v) : dflt;
}

static void agent_fail(struct agent *a, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The check's outcome. */
static void
hc_done(struct agent *a, bool ok, const char *why)
{
	hc_close(a);
	uint64_t since = http_now_us() - a->started_us;
	uint32_t start_s = conf_int(a, "health", "start_period_s", 30);
	if (ok) {
		a->failures = 0;
		if (a->state == A_STARTING) {
			a->state = A_READY;
			log_event(LOG_INFO, "agent.ready", "session", a->s->id, NULL);
			if (a->ready) {
				agent_ready_fn *fn = a->ready;
				a->ready = NULL;
				fn(a->ready_cls, a->s, 0, NULL);
			}
		}
		arm(a, (uint64_t)conf_int(a, "health", "interval_s", 5) * 1000000);
		return;
	}
	if (a->state == A_STARTING) {
		if (since < (uint64_t)start_s * 1000000) {
			arm(a, AGENT_FAST_US);
			return;
		}
		agent_fail(a, ETIMEDOUT, "the agent did not pass its health check within %u s (%s)",
			   start_s, why);
		return;
	}
	if (++a->failures >= AGENT_MAX_FAILURES) {
		log_event(LOG_WARN, "agent.unhealthy", "session", a->s->id, "error", why, NULL);
		a->failures = 0;
		if (a->exec)
			wreq_more(a->exec, AJW_CANCEL, NULL, 0); /* its EXIT decides */
	}
	arm(a, (uint64_t)conf_int(a, "health", "interval_s", 5) * 1000000);
}

static void
hc_reply(struct wreq *w, uint32_t type, const char *p, uint32_t len)
{
	struct agent *a = w->owner;

	if (!a)
		return;
	/* Its only reply: the session may end in what follows, and with it
	 * the agent; nothing must call back into it then. */
	wreq_orphan(w);
	a->hc_req = NULL;
	if (type != AJW_CONNECTED) {
		hc_done(a, false, "connection refused");
		return;
	}
	a->hc_fd = wreq_take_fd(w);
	char req[512];
	const char *path =
		json_string_value(json_object_get(json_object_get(a->conf, "health"), "path"));
	int n = snprintf(req, sizeof(req),
			 "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nUser-Agent: agentjaild\r\n"
			 "Connection: close\r\n\r\n",
			 path ? path : "/", a->hc_port);
	if (a->hc_fd < 0 || write(a->hc_fd, req, (size_t)n) != n) {
		hc_done(a, false, "the request could not be sent");
		return;
	}
	a->phase = HC_READING;
	loop_watch(a->hc_fd, &a->hw, EPOLLIN | EPOLLRDHUP);
}

static void
hc_start(struct agent *a)
{
	const json_t *h = json_object_get(a->conf, "health");
	const char *pname = json_string_value(json_object_get(h, "port"));
	json_t *ports = json_object_get(a->conf, "ports"), *pt;
	size_t i;

	a->hc_port = 0;
	json_array_foreach(ports, i, pt)
	{
		if (!a->hc_port ||
		    (pname && !strcmp(pname, json_string_value(json_object_get(pt, "name")))))
			a->hc_port = (uint16_t)json_integer_value(json_object_get(pt, "port"));
	}
	struct ajw_connect c = {.port = a->hc_port,
				.timeout_ms = conf_int(a, "health", "timeout_s", 2) * 1000};
	a->hc_req = wreq_send_as(a->s, true, AJW_CONNECT, &c, sizeof(c), NULL, 0, hc_reply, a);
	if (!a->hc_req) {
		hc_done(a, false, "the worker is gone");
		return;
	}
	a->phase = HC_CONNECTING;
	arm(a, (uint64_t)conf_int(a, "health", "timeout_s", 2) * 1000000);
}

/* --- the agent process ------------------------------------------------------------ */

static void start_exec(struct agent *a);

static void
exec_reply(struct wreq *w, uint32_t type, const char *p, uint32_t len)
{
	struct agent *a = w->owner;

	if (!a)
		return;
	if (type == AJW_STDOUT || type == AJW_STDERR) {
		log_add(a, p, len);
		return;
	}
	if (type != AJW_EXIT && type != AJW_ERROR)
		return;
	wreq_orphan(w);
	a->exec = NULL;
	struct ajw_exit ex = {.exit_code = 255};
	char why[160];
	if (type == AJW_EXIT && len >= sizeof(ex)) {
		memcpy(&ex, p, sizeof(ex));
		a->status = ex.signal ? 128 + ex.signal : ex.exit_code;
		snprintf(why, sizeof(why), "%s %d", ex.signal ? "killed by signal" : "exit status",
			 ex.signal ? ex.signal : ex.exit_code);
	} else {
		a->status = 127;
		snprintf(why, sizeof(why), "could not start: %.*s",
			 len > sizeof(struct ajw_error) ? (int)(len - sizeof(struct ajw_error) - 1)
							: 0,
			 p + sizeof(struct ajw_error));
	}
	log_event(LOG_WARN, "agent.exit", "session", a->s->id, "result", why, NULL);
	bool restart =
		a->state == A_READY && a->status != 0 &&
		json_is_string(json_object_get(a->conf, "restart")) &&
		!strcmp(json_string_value(json_object_get(a->conf, "restart")), "on-failure") &&
		a->restarts < conf_int(a, NULL, "restart_max", 3);
	if (restart) {
		a->restarts++;
		char n[16];
		snprintf(n, sizeof(n), "%u", a->restarts);
		log_event(LOG_INFO, "agent.restart", "session", a->s->id, "restarts", n, NULL);
		start_exec(a);
		return;
	}
	agent_fail(a, ECHILD, "the agent ended (%s)", why);
}

static void
start_exec(struct agent *a)
{
	json_t *argv = json_object_get(a->conf, "entrypoint"), *v;
	struct ajw_exec ex = {.flags = AJW_EXEC_AGENT};
	char *pl = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&pl, &len);

	if (!f) {
		agent_fail(a, ENOMEM, "out of memory");
		return;
	}
	fwrite(&ex, sizeof(ex), 1, f);
	fputc('\0', f); /* cwd: the workspace */
	json_array_foreach(argv, i, v)
	{
		fwrite(json_string_value(v), strlen(json_string_value(v)) + 1, 1, f);
		ex.argc++;
	}
	json_array_foreach(a->s->env, i, v)
	{
		fwrite(json_string_value(v), strlen(json_string_value(v)) + 1, 1, f);
		ex.envc++;
	}
	fclose(f);
	memcpy(pl, &ex, sizeof(ex));
	a->state = A_STARTING;
	a->started_us = http_now_us();
	a->exec = len <= AJW_MAX_PAYLOAD
			  ? wreq_send_as(a->s, true, AJW_EXEC, pl, len, NULL, 0, exec_reply, a)
			  : NULL;
	free(pl);
	if (!a->exec) {
		agent_fail(a, EIO, "the agent could not be started (the worker is gone)");
		return;
	}
	hc_close(a);
	arm(a, AGENT_FAST_US);
}

/* Stop for good: the session ends with the agent, or never becomes ready. */
static void
agent_fail(struct agent *a, int err, const char *fmt, ...)
{
	char msg[1400], tail[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_tail(a, tail, sizeof(tail));
	if (tail[0])
		snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg), "; its last output: %s",
			 tail);
	a->state = A_STOPPED;
	hc_close(a);
	struct itimerspec off = {0};
	timerfd_settime(a->timer_fd, 0, &off, NULL);
	if (a->exec)
		wreq_more(a->exec, AJW_CANCEL, NULL, 0);
	if (a->ready) {
		agent_ready_fn *fn = a->ready;
		a->ready = NULL;
		fn(a->ready_cls, a->s, -err, msg);
		return;
	}
	log_event(LOG_WARN, "agent.stopped", "session", a->s->id, "error", msg, NULL);
	session_end(a->s, "agent_exited", false);
}

/* --- secrets --------------------------------------------------------------------- */

static void
secret_reply(struct wreq *w, uint32_t type, const char *p, uint32_t len)
{
	struct agent *a = w->owner;

	if (!a)
		return;
	wreq_orphan(w);
	if (type != AJW_OK) {
		agent_fail(a, EIO, "a secret could not be delivered");
		return;
	}
	if (--a->secrets_pending == 0 && a->state == A_STARTING && !a->exec)
		start_exec(a);
}

/* --- the session's side ----------------------------------------------------------- */

int
agent_start(struct session *s, json_t *conf, json_t *secrets, agent_ready_fn *ready, void *cls)
{
	struct agent *a = calloc(1, sizeof(*a));
	const char *name;
	json_t *v;

	if (!a || !(a->log = malloc(AGENT_LOG_MAX))) {
		free(a);
		return -ENOMEM;
	}
	a->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (a->timer_fd < 0) {
		free(a->log);
		free(a);
		return -errno;
	}
	a->s = s;
	a->conf = json_incref(conf);
	a->hc_fd = -1;
	a->tw = (struct watch){WATCH_AGENT, a};
	a->hw = (struct watch){WATCH_AGENT, a};
	a->ready = ready;
	a->ready_cls = cls;
	a->state = A_STARTING;
	s->agent = a;
	loop_watch(a->timer_fd, &a->tw, EPOLLIN);
	/* The secrets first, each its own message; never logged. */
	json_object_foreach(secrets, name, v)
	{
		struct ajw_secret sec = {.mode = 0400};
		size_t nl = strlen(name) + 1, vl = json_string_length(v);
		char *pl = malloc(sizeof(sec) + nl + vl);
		if (!pl)
			return -ENOMEM;
		memcpy(pl, &sec, sizeof(sec));
		memcpy(pl + sizeof(sec), name, nl);
		memcpy(pl + sizeof(sec) + nl, json_string_value(v), vl);
		struct wreq *w = wreq_send(s, AJW_SECRET, pl, sizeof(sec) + nl + vl, NULL, 0,
					   secret_reply, a);
		explicit_bzero(pl, sizeof(sec) + nl + vl);
		free(pl);
		if (!w)
			return -EIO;
		a->secrets_pending++;
	}
	if (!a->secrets_pending)
		start_exec(a);
	return 0;
}

void
agent_free(struct session *s)
{
	struct agent *a = s->agent;

	if (!a)
		return;
	s->agent = NULL;
	hc_close(a);
	loop_unwatch(a->timer_fd);
	close(a->timer_fd);
	if (a->exec)
		wreq_orphan(a->exec);
	for (size_t i = 0; i < a->n_followers; i++)
		a->followers[i].fn(a->followers[i].cls); /* they see the session end */
	if (a->ready) {
		agent_ready_fn *fn = a->ready;
		a->ready = NULL;
		fn(a->ready_cls, NULL, -ECANCELED, "the session ended before its agent was ready");
	}
	json_decref(a->conf);
	free(a->log);
	free(a);
}

void
agent_cancel_wait(struct session *s)
{
	if (s->agent)
		s->agent->ready = NULL;
}

bool
agent_is_ready(const struct session *s)
{
	return s->agent && s->agent->state == A_READY;
}

bool
agent_port(const struct session *s, const char *path, uint16_t *port)
{
	const struct agent *a = s->agent;
	json_t *pt;
	size_t i, best = 0;
	bool found = false;

	if (!a)
		return false;
	json_array_foreach(json_object_get(a->conf, "ports"), i, pt)
	{
		const char *pre = json_string_value(json_object_get(pt, "path_prefix"));
		size_t n = pre ? strlen(pre) : 0;
		bool match =
			n && !strncmp(path, pre, n) &&
			(pre[n - 1] == '/' || path[n] == '\0' || path[n] == '/' || path[n] == '?');
		if (match && (!found || n > best)) {
			best = n;
			found = true;
			*port = (uint16_t)json_integer_value(json_object_get(pt, "port"));
		}
	}
	return found;
}

void
agent_on_event(struct watch *w, uint32_t events)
{
	struct agent *a = w->ptr;

	if (w == &a->tw) {
		uint64_t x;
		(void)!read(a->timer_fd, &x, sizeof(x));
		if (a->state == A_STOPPED)
			return;
		if (a->phase != HC_IDLE) {
			hc_done(a, false, "no answer in time");
			return;
		}
		if (a->exec && !a->secrets_pending)
			hc_start(a);
		return;
	}
	/* The check's connection. */
	char buf[4096];
	ssize_t n = read(a->hc_fd, buf, sizeof(buf));
	if (n <= 0) {
		hc_done(a, false, "the agent closed the connection");
		return;
	}
	size_t used;
	int r = proxy_resp_head(&a->hc, buf, (size_t)n, false, &used);
	if (r < 0)
		hc_done(a, false, "not an HTTP answer");
	else if (r == 1)
		hc_done(a, a->hc.status >= 200 && a->hc.status < 300, "not a 2xx answer");
}
