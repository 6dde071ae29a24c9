/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The native API v1 (docs/api.md): sessions, exec, files, profiles,
 * health, metrics. Each HTTP request has a struct http_ctx; work that waits
 * on a worker or on the monitor suspends the connection and resumes it
 * when the answer is there. Request bodies are parsed with the strict
 * JSON tables of jail/json.h: unknown and duplicate keys are 400 with the
 * JSON path; well-formed but unacceptable values are 422.
 *
 * The AgentCube-compatible endpoints (the last section) are a translation
 * onto the same operations: a request of theirs is marked `compat`, which
 * selects their error bodies and their answers where the two differ.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "auth.h"
#include "proxy.h"
#include "compat.h"
#include "http.h"
#include "json.h"
#include "log.h"

#define MAX_METADATA_BYTES (16u << 10)
#define MAX_STDIN_BYTES	   (16u << 20)
#define PUT_HIGH_WATER	   (8u << 20) /* suspend an upload past this much queued */
#define PUT_LOW_WATER	   (1u << 20)
#define GET_HIGH_WATER	   (8u << 20) /* stop reading the worker past this much buffered */

enum route {
	R_NONE,
	R_HEALTH,
	R_METRICS,
	R_PROFILES,
	R_POOLS,
	R_SESSIONS, /* /v1/sessions */
	R_SESSION,  /* /v1/sessions/{id} */
	R_EXEC,	    /* /v1/sessions/{id}/exec */
	R_FILES,    /* /v1/sessions/{id}/files[/{path}] */
	R_RUN,	    /* /v1/run */
	R_LOGS,	    /* /v1/sessions/{id}/logs */
	R_INVOKE,   /* /v1/sessions/{id}/invocations/{path} */
	/* AgentCube (compat.h) */
	R_AC_HEALTH,  /* /health/live, /health/ready */
	R_AC_CREATE,  /* /v1/code-interpreter */
	R_AC_DELETE,  /* /v1/code-interpreter/sessions/{id} */
	R_AC_EXECUTE, /* …/invocations/api/execute */
	R_AC_FILES,   /* …/invocations/api/files */
	R_AC_FILE,    /* …/invocations/api/files/{path} */
	R_AC_OTHER,   /* …/invocations/… */
};

/* Which AgentCube server a request is for: the WorkloadManager's
 * {"message"} errors or PicoD's {"error", "code"}. */
enum ac_plane { AC_NO, AC_CONTROL, AC_DATA };
struct ac_state;

struct exec_state {
	struct buf out, err;
	bool out_trunc, err_trunc;
	uint64_t max_output;
	bool streaming, started, ended;
	struct buf stream; /* NDJSON not yet taken by the client */
	char carry[2][4];  /* streaming: an incomplete UTF-8 sequence per stream */
	size_t carry_len[2];
	char *stdin_data;
	size_t stdin_len;
	bool has_stdin;
	json_t *result;
	bool one_shot; /* /v1/run: end the session afterwards */
	char *argv;    /* the command as JSON, for the audit line */
};

struct file_state {
	bool is_dir;
	struct ajw_stat st;
	struct buf data; /* download: received, not yet sent */
	json_t *entries;
	bool ended, failed;
	uint64_t put_bytes;
	bool put_ready;
};

struct http_ctx {
	struct watch watch;
	struct MHD_Connection *conn;
	enum route route;
	char method[8];
	char sid[32];
	char owner[128]; /* who asks: the tenant (auth.h) */
	struct auth_who who;
	bool creating; /* a session create waits for the monitor */
	struct http_ctx *next_creating;
	char *path; /* files: below the workspace */
	struct session *s;
	struct buf body;
	uint64_t body_limit;
	bool body_too_large;
	bool dispatched, suspended;
	struct MHD_Response *resp;
	unsigned status;
	struct wreq *w;
	bool waiting_priv;
	struct exec_state *x;
	struct file_state *f;
	json_t *pending_exec;	/* /v1/run: the exec to send once the jail exists */
	bool waiting_agent;	/* a create waits for its agent to be ready */
	struct proxy_state *px; /* an invocation */
	uint64_t log_pos;	/* GET …/logs?follow=1: how far the client got */
	bool following;
	char *ac_agent;	       /* /v1/namespaces/{ns}/agent-runtimes/{name}/…: the name */
	bool invoke_body_done; /* the body ended before the invocation started */
	struct http_ctx *next_waiter;
	uint64_t t0;
	bool client_gone;
	enum ac_plane compat;
	struct ac_state *ac;
};

static struct http_ctx *waiters;  /* uploads waiting for a session's queue to drain */
static struct http_ctx *creating; /* creates waiting for the monitor: they count in quotas */

/* --- tenants ------------------------------------------------------------ */

/* Whether the caller may see and use session s: its own, or an admin. */
static bool
mine(const struct http_ctx *r, const struct session *s)
{
	return r->who.admin || strcmp(s->owner, r->owner) == 0;
}

static void
creating_del(struct http_ctx *r)
{
	for (struct http_ctx **pp = &creating; *pp; pp = &(*pp)->next_creating)
		if (*pp == r) {
			*pp = r->next_creating;
			break;
		}
	r->creating = false;
}

/* An audit line: who did what, never a secret (no token, no environment
 * value, no file content). kv: more key, value pairs, NULL-terminated. */
static void
audit(const struct http_ctx *r, const char *action, const char *session, const char *const *kv)
{
	const char *all[40] = {"action", action,	"tenant",  r->owner,
			       "client", r->who.client, "session", session ? session : ""};
	size_t n = 8;

	for (size_t i = 0; kv && kv[i] && n < ARRAY_SIZE(all) - 2; i += 2) {
		all[n++] = kv[i];
		all[n++] = kv[i + 1];
	}
	all[n] = NULL;
	log_pairs(LOG_INFO, "audit", all);
}

/* --- metrics ------------------------------------------------------------ */

static struct {
	uint64_t requests, sessions_created, sessions_deleted, execs, exec_errors;
	uint64_t compat_requests;
	uint64_t file_bytes_in, file_bytes_out;
	uint64_t errors_by_status[6]; /* 4xx index by hundreds */
	uint64_t lat_buckets[12], lat_count, lat_sum_us;
	struct {
		char code[40];
		uint64_t n;
	} errors[32];
	struct {
		char reason[64];
		uint64_t n;
	} ended[16];
} metrics;

static const double lat_bounds_ms[12] = {1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000, 30000};

static void
count_error(const char *code)
{
	for (size_t i = 0; i < ARRAY_SIZE(metrics.errors); i++) {
		if (!metrics.errors[i].code[0])
			snprintf(metrics.errors[i].code, sizeof(metrics.errors[i].code), "%s",
				 code);
		if (strcmp(metrics.errors[i].code, code) == 0) {
			metrics.errors[i].n++;
			return;
		}
	}
}

static void
count_exec_latency(uint64_t us)
{
	metrics.lat_count++;
	metrics.lat_sum_us += us;
	for (size_t i = 0; i < ARRAY_SIZE(lat_bounds_ms); i++)
		if ((double)us / 1000.0 <= lat_bounds_ms[i])
			metrics.lat_buckets[i]++;
}

void
api_session_ended(struct session *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(metrics.ended); i++) {
		if (!metrics.ended[i].reason[0])
			snprintf(metrics.ended[i].reason, sizeof(metrics.ended[i].reason), "%s",
				 s->end_reason);
		if (strcmp(metrics.ended[i].reason, s->end_reason) == 0) {
			metrics.ended[i].n++;
			break;
		}
	}
	/* Uploads waiting for this session's queue to drain: it never will. */
	for (struct http_ctx *r = waiters; r; r = r->next_waiter)
		if (r->s == s)
			r->s = NULL;
}

/* The warm pools, from the monitor's last report. */
static void
pool_metrics(FILE *f)
{
	static const struct {
		const char *key, *name, *type, *help;
	} g[] = {
		{"size", "agentjail_pool_size", "gauge", "Warm jails a profile's pool keeps."},
		{"ready", "agentjail_pool_ready", "gauge", "Warm jails ready to be claimed."},
		{"building", "agentjail_pool_building", "gauge", "Warm jails being built."},
		{"claiming", "agentjail_pool_claiming", "gauge",
		 "Cold jails being built for a waiting session."},
		{"live", "agentjail_pool_live", "gauge", "Jails of the profile, in any state."},
		{"claims", "agentjail_pool_claims_total", "counter", "Sessions given a warm jail."},
		{"misses", "agentjail_pool_misses_total", "counter",
		 "Sessions of a pooled profile that had to wait for a cold jail."},
		{"build_failures", "agentjail_pool_build_failures_total", "counter",
		 "Jail builds that failed."},
	};
	json_t *pools = http_pools();
	size_t i, k;
	json_t *p;
	json_int_t warm = 0;

	for (k = 0; k < ARRAY_SIZE(g); k++) {
		fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", g[k].name, g[k].help, g[k].name,
			g[k].type);
		json_array_foreach(pools, i, p)
			fprintf(f, "%s{profile=\"%s\"} %" JSON_INTEGER_FORMAT "\n", g[k].name,
				json_string_value(json_object_get(p, "profile")),
				json_integer_value(json_object_get(p, g[k].key)));
	}
	fprintf(f, "# HELP agentjail_pool_refill_seconds Time to build a jail, recent builds.\n"
		   "# TYPE agentjail_pool_refill_seconds gauge\n");
	json_array_foreach(pools, i, p)
	{
		const char *name = json_string_value(json_object_get(p, "profile"));
		fprintf(f,
			"agentjail_pool_refill_seconds{profile=\"%s\",quantile=\"0.5\"} %.6f\n"
			"agentjail_pool_refill_seconds{profile=\"%s\",quantile=\"0.99\"} %.6f\n",
			name, json_number_value(json_object_get(p, "refill_p50_ms")) / 1000, name,
			json_number_value(json_object_get(p, "refill_p99_ms")) / 1000);
		warm += json_integer_value(json_object_get(p, "ready"));
	}
	fprintf(f,
		"# HELP agentjail_jails Jails by state.\n# TYPE agentjail_jails gauge\n"
		"agentjail_jails{state=\"in_use\"} %zu\nagentjail_jails{state=\"warm\"} "
		"%" JSON_INTEGER_FORMAT "\n",
		session_count(), warm);
}

char *
api_metrics(void)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	unsigned execs = 0;

	if (!f)
		return NULL;
	for (struct session *s = session_first(); s; s = s->next)
		execs += s->execs;
	fprintf(f, "# HELP agentjail_sessions Live sessions.\n# TYPE agentjail_sessions gauge\n");
	fprintf(f, "agentjail_sessions %zu\n", session_count());
	fprintf(f,
		"# HELP agentjail_execs_running Commands running now.\n"
		"# TYPE agentjail_execs_running gauge\nagentjail_execs_running %u\n",
		execs);
	fprintf(f,
		"# TYPE agentjail_http_requests_total counter\n"
		"agentjail_http_requests_total %" PRIu64 "\n",
		metrics.requests);
	fprintf(f,
		"# HELP agentjail_agentcube_requests_total Requests of the AgentCube API.\n"
		"# TYPE agentjail_agentcube_requests_total counter\n"
		"agentjail_agentcube_requests_total %" PRIu64 "\n",
		metrics.compat_requests);
	fprintf(f,
		"# TYPE agentjail_sessions_created_total counter\n"
		"agentjail_sessions_created_total %" PRIu64 "\n",
		metrics.sessions_created);
	fprintf(f, "# TYPE agentjail_execs_total counter\nagentjail_execs_total %" PRIu64 "\n",
		metrics.execs);
	fprintf(f,
		"# TYPE agentjail_file_bytes_total counter\n"
		"agentjail_file_bytes_total{direction=\"in\"} %" PRIu64 "\n"
		"agentjail_file_bytes_total{direction=\"out\"} %" PRIu64 "\n",
		metrics.file_bytes_in, metrics.file_bytes_out);
	fprintf(f, "# HELP agentjail_exec_duration_seconds Exec round trip, request to exit.\n"
		   "# TYPE agentjail_exec_duration_seconds histogram\n");
	for (size_t i = 0; i < ARRAY_SIZE(lat_bounds_ms); i++)
		fprintf(f, "agentjail_exec_duration_seconds_bucket{le=\"%g\"} %" PRIu64 "\n",
			lat_bounds_ms[i] / 1000.0, metrics.lat_buckets[i]);
	fprintf(f,
		"agentjail_exec_duration_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n"
		"agentjail_exec_duration_seconds_sum %.6f\n"
		"agentjail_exec_duration_seconds_count %" PRIu64 "\n",
		metrics.lat_count, (double)metrics.lat_sum_us / 1e6, metrics.lat_count);
	fprintf(f, "# TYPE agentjail_errors_total counter\n");
	for (size_t i = 0; i < ARRAY_SIZE(metrics.errors) && metrics.errors[i].code[0]; i++)
		fprintf(f, "agentjail_errors_total{code=\"%s\"} %" PRIu64 "\n",
			metrics.errors[i].code, metrics.errors[i].n);
	fprintf(f, "# TYPE agentjail_sessions_ended_total counter\n");
	for (size_t i = 0; i < ARRAY_SIZE(metrics.ended) && metrics.ended[i].reason[0]; i++)
		fprintf(f, "agentjail_sessions_ended_total{reason=\"%s\"} %" PRIu64 "\n",
			metrics.ended[i].reason, metrics.ended[i].n);
	pool_metrics(f);
	char *am = auth_metrics();
	if (am)
		fputs(am, f);
	free(am);
	fclose(f);
	return out;
}

/* --- responses --------------------------------------------------------- */

struct watch *
http_ctx_watch(struct http_ctx *r)
{
	return &r->watch;
}

/* Hand a response to a request: queued now if the handler is running,
 * else when the resumed connection calls the handler again. */
static void
respond(struct http_ctx *r, unsigned status, struct MHD_Response *resp)
{
	if (r->resp)
		MHD_destroy_response(r->resp);
	/* The Router names the session in every answer of the data plane. */
	if (r->compat == AC_DATA && r->sid[0])
		MHD_add_response_header(resp, "x-agentcube-session-id", r->sid);
	r->resp = resp;
	r->status = status;
	if (status >= 400) {
		size_t k = status / 100 - 4;
		if (k < ARRAY_SIZE(metrics.errors_by_status))
			metrics.errors_by_status[k]++;
	}
	if (r->suspended) {
		r->suspended = false;
		http_resume(r, r->conn);
	}
}

static void
respond_json(struct http_ctx *r, unsigned status, json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(10));
	json_decref(o);
	if (!s)
		s = strdup("{}");
	size_t n = strlen(s);
	char *body = realloc(s, n + 2);
	if (body) {
		body[n++] = '\n';
		body[n] = '\0';
	} else {
		body = s;
	}
	struct MHD_Response *resp = MHD_create_response_from_buffer(n, body, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	respond(r, status, resp);
}

static void __attribute__((format(printf, 4, 5)))
respond_error(struct http_ctx *r, unsigned status, const char *code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	count_error(code);
	if (r->compat) {
		respond_json(r, status, compat_error_json(r->compat == AC_DATA, status, msg));
		return;
	}
	respond_json(r, status, json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg));
}

static void
respond_empty(struct http_ctx *r, unsigned status)
{
	respond(r, status, MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT));
}

static void
suspend(struct http_ctx *r)
{
	if (!r->suspended && !r->resp) {
		r->suspended = true;
		http_suspend(r, r->conn);
	}
}

/* --- helpers ------------------------------------------------------------ */

static const char *
iso_time(int64_t t, char *buf, size_t size)
{
	struct tm tm;
	time_t tt = (time_t)t;

	gmtime_r(&tt, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

/* Length of the longest valid UTF-8 prefix of s[0..n). */
static size_t
utf8_valid_prefix(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t len;
		uint32_t cp, min;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			len = 2, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			len = 3, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			len = 4, cp = c & 0x07, min = 0x10000;
		} else {
			return i;
		}
		if (i + len > n)
			return i;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return i;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return i;
		i += len;
	}
	return i;
}

static char *
base64(const char *p, size_t n)
{
	static const char tbl[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc(4 * ((n + 2) / 3) + 1);
	size_t o = 0;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)(unsigned char)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)(unsigned char)p[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)p[i + 2];
		out[o++] = tbl[(v >> 18) & 63];
		out[o++] = tbl[(v >> 12) & 63];
		out[o++] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? tbl[v & 63] : '=';
	}
	out[o] = '\0';
	return out;
}

/* Returns the decoded length, or -1 for invalid input. */
static ssize_t
unbase64(const char *in, char *out)
{
	size_t n = 0;
	uint32_t acc = 0;
	int bits = 0, pad = 0;

	for (const char *p = in; *p; p++) {
		int v;
		if (*p >= 'A' && *p <= 'Z')
			v = *p - 'A';
		else if (*p >= 'a' && *p <= 'z')
			v = *p - 'a' + 26;
		else if (*p >= '0' && *p <= '9')
			v = *p - '0' + 52;
		else if (*p == '+' || *p == '-')
			v = 62;
		else if (*p == '/' || *p == '_')
			v = 63;
		else if (*p == '=') {
			pad++;
			continue;
		} else if (*p == '\n' || *p == '\r')
			continue;
		else
			return -1;
		if (pad)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			out[n++] = (char)(acc >> (bits - 8));
			bits -= 8;
		}
	}
	return (ssize_t)n;
}

/* Bytes as a JSON field: "key" if valid UTF-8, else "key_b64". */
static void
set_bytes(json_t *o, const char *key, const char *p, size_t n)
{
	if (utf8_valid_prefix((const unsigned char *)p, n) == n) {
		json_object_set_new(o, key, json_stringn(p, n));
	} else {
		char k[32];
		char *b = base64(p, n);
		snprintf(k, sizeof(k), "%s_b64", key);
		json_object_set_new(o, k, json_string(b ? b : ""));
		free(b);
	}
}

/* A number from a cgroup file: the whole file, or the value of "key". */
static json_t *
cgroup_number(const struct session *s, const char *file, const char *key)
{
	char path[4400], buf[2048];

	if (!http_cgroup_base[0])
		return json_null();
	snprintf(path, sizeof(path), "%s/jail-%u/%s", http_cgroup_base, s->host_uid, file);
	FILE *f = fopen(path, "re");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	if (f)
		fclose(f);
	if (n == 0)
		return json_null();
	buf[n] = '\0';
	const char *v = buf;
	if (key) {
		size_t kl = strlen(key);
		for (v = buf; v; v = strchr(v, '\n'), v = v ? v + 1 : NULL)
			if (strncmp(v, key, kl) == 0 && v[kl] == ' ')
				break;
		if (!v)
			return json_null();
		v += kl + 1;
	}
	if (!isdigit((unsigned char)*v))
		return json_null();
	return json_integer((json_int_t)strtoull(v, NULL, 10));
}

/* The session's live usage, from its jail's cgroup (null where not
 * measured: a hierarchy without the controller). */
static json_t *
usage_json(const struct session *s)
{
	json_t *cpu = cgroup_number(s, "cpu.stat", "usage_usec");
	if (json_is_integer(cpu))
		json_integer_set(cpu, json_integer_value(cpu) / 1000);
	return json_pack("{s:o,s:o,s:o,s:o}", "cpu_ms", cpu, "memory_bytes",
			 cgroup_number(s, "memory.current", NULL), "memory_peak_bytes",
			 cgroup_number(s, "memory.peak", NULL), "pids",
			 cgroup_number(s, "pids.current", NULL));
}

static json_t *
session_json(const struct session *s)
{
	char c[32], e[32], i[32];
	uint64_t idle_left = session_idle_deadline(s);
	int64_t idle_at = s->idle_timeout_s
				  ? s->created_at + (int64_t)((idle_left - s->created_us) / 1000000)
				  : s->created_at + s->max_lifetime_s;
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:i}", "id", s->id, "profile", s->profile,
			      "state", s->state == SESSION_READY ? "ready" : "ended", "created_at",
			      iso_time(s->created_at, c, sizeof(c)), "expires_at",
			      iso_time(s->created_at + s->max_lifetime_s, e, sizeof(e)),
			      "idle_expires_at", iso_time(idle_at, i, sizeof(i)), "execs_running",
			      (int)s->execs);
	char la[32];
	int64_t last = s->created_at + (int64_t)((s->last_active_us - s->created_us) / 1000000);
	json_object_set_new(o, "last_activity", json_string(iso_time(last, la, sizeof(la))));
	json_object_set_new(o, "limits",
			    json_pack("{s:I,s:I,s:f,s:I,s:I}", "memory", (json_int_t)s->memory_max,
				      "pids", (json_int_t)s->pids_max, "cpu",
				      s->cpu_ms_per_sec / 1000.0, "timeout_ms",
				      (json_int_t)s->exec_timeout_ms, "max_output_bytes",
				      (json_int_t)s->max_output_bytes));
	json_object_set_new(o, "usage", usage_json(s));
	json_object_set_new(o, "idle_timeout_s", json_integer(s->idle_timeout_s));
	json_object_set_new(o, "max_lifetime_s", json_integer(s->max_lifetime_s));
	json_object_set_new(o, "metadata", s->metadata ? json_incref(s->metadata) : json_object());
	json_object_set_new(o, "owner", json_string(s->owner));
	return o;
}

static const json_t *
profile_info(const char *name)
{
	json_t *ps = http_profiles();
	size_t i;
	json_t *p;

	json_array_foreach(ps, i, p)
	{
		const char *n = json_string_value(json_object_get(p, "name"));
		if (n && strcmp(n, name) == 0)
			return p;
	}
	return NULL;
}

static uint64_t
profile_limit(const json_t *p, const char *key)
{
	json_t *v = json_object_get(json_object_get(p, "limits"), key);
	if (json_is_real(v))
		return (uint64_t)(json_real_value(v) * 1000 + 0.5);
	return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v)
							       : 0;
}

/* A session's idle timeout or lifetime: the default and the most it may
 * ask for, the profile's if it sets one below the daemon's. */
static uint32_t
lifetime_cap(const json_t *p, const char *key, uint32_t daemon)
{
	json_t *v = json_object_get(json_object_get(p, "session"), key);
	json_int_t n = json_is_integer(v) ? json_integer_value(v) : 0;
	return n > 0 && (uint64_t)n < daemon ? (uint32_t)n : daemon;
}

/* --- request bodies ------------------------------------------------------ */

/* Decode r's body; on failure the response is set and NULL returned. */
static json_t *
body_json(struct http_ctx *r, struct json_ctx *x, struct jail_error *e)
{
	json_t *v = NULL;

	json_ctx_init(x, "request body", e);
	if (r->body.len == 0) {
		respond_error(r, 400, "invalid_request", "a JSON object body is required");
		return NULL;
	}
	if (json_decode(x, r->body.data, r->body.len, &v) < 0) {
		respond_error(r, 400, "invalid_request", "%s", e->msg);
		return NULL;
	}
	return v;
}

struct limits_req {
	uint64_t memory, pids, timeout_ms;
	double cpu;
	bool has_cpu;
};

static int
f_limit_size(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	struct limits_req *l = obj;
	return json_read_size(x, v, &l->memory);
}

static int
f_limit_pids(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	return json_read_uint(x, v, 1, 4194304, &((struct limits_req *)obj)->pids);
}

static int
f_limit_cpu(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	struct limits_req *l = obj;
	int r = json_read_number(x, v, &l->cpu);
	if (r < 0)
		return r;
	if (!(l->cpu >= 0.01 && l->cpu <= 4096))
		return json_fail(x, "expected a number of CPUs from 0.01 to 4096, got %g", l->cpu);
	l->has_cpu = true;
	return 0;
}

static int
f_limit_timeout(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	return json_read_uint(x, v, 1, 86400000, &((struct limits_req *)obj)->timeout_ms);
}

static const struct json_field limits_fields[] = {
	{"memory", f_limit_size, 0, NULL},
	{"pids", f_limit_pids, 0, NULL},
	{"cpu", f_limit_cpu, 0, NULL},
	{"timeout_ms", f_limit_timeout, 0, NULL},
};
static const struct json_table limits_table = {limits_fields, ARRAY_SIZE(limits_fields)};

/* A JSON object of environment variables → "NAME=value" strings. */
static int
read_env(struct json_ctx *x, json_t *v, char ***ret, size_t *ret_n)
{
	size_t n;
	int r = json_read_object(x, v, 64, &n);
	if (r < 0)
		return r;
	char **env = calloc(n + 1, sizeof(*env));
	size_t k = 0, total = 0;
	const char *key;
	json_t *val;
	if (!env)
		return -ENOMEM;
	json_object_foreach(v, key, val)
	{
		size_t saved = json_path_push_key(x, key);
		const char *s;
		bool ok = (isalpha((unsigned char)key[0]) || key[0] == '_') && strlen(key) <= 128;
		for (const char *p = key; ok && *p; p++)
			ok = isalnum((unsigned char)*p) || *p == '_';
		if (!ok) {
			r = json_fail(x, "expected a variable name of [A-Za-z_][A-Za-z0-9_]*");
		} else if ((r = json_read_string(x, val, 32768, &s)) >= 0) {
			total += strlen(key) + strlen(s) + 2;
			if (total > (64u << 10))
				r = json_fail(x, "the environment is larger than 64 KiB");
			else if (asprintf(&env[k], "%s=%s", key, s) < 0)
				r = -ENOMEM;
			else
				k++;
		}
		if (r < 0) {
			for (size_t i = 0; i < k; i++)
				free(env[i]);
			free(env);
			return r;
		}
		json_path_pop(x, saved);
	}
	*ret = env;
	*ret_n = k;
	return 0;
}

static void
free_env(char **env, size_t n)
{
	for (size_t i = 0; env && i < n; i++)
		free(env[i]);
	free(env);
}

/* --- sessions ------------------------------------------------------------ */

struct create_req {
	const char *profile;
	char **env;
	size_t n_env;
	struct limits_req limits;
	uint64_t idle, maxlife;
	json_t *metadata;
	json_t *secrets;
};

static int
f_profile(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	return json_read_string(x, v, JAIL_MAX_NAME, &((struct create_req *)obj)->profile);
}

static int
f_env(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	struct create_req *c = obj;
	return read_env(x, v, &c->env, &c->n_env);
}

static int
f_idle(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	return json_read_uint(x, v, 1, 604800, &((struct create_req *)obj)->idle);
}

static int
f_maxlife(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	return json_read_uint(x, v, 1, 2592000, &((struct create_req *)obj)->maxlife);
}

static int
f_limits(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	return json_walk_object(x, v, &limits_table, &((struct create_req *)obj)->limits);
}

static int
f_metadata(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	if (!json_is_object(v))
		return json_fail(x, "expected an object, got %s", json_type_name(v));
	char *s = json_dumps(v, JSON_COMPACT);
	size_t n = s ? strlen(s) : 0;
	free(s);
	if (n > MAX_METADATA_BYTES)
		return json_fail(x, "expected at most %u bytes of JSON, got %zu",
				 MAX_METADATA_BYTES, n);
	((struct create_req *)obj)->metadata = v;
	return 0;
}

/* "secrets": {"NAME": "value"}: for an agent runtime's /run/secrets. */
static int
f_secrets(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	const char *k;
	json_t *val;

	if (!json_is_object(v))
		return json_fail(x, "expected an object of NAME: string, got %s",
				 json_type_name(v));
	json_object_foreach(v, k, val)
	{
		if (!json_is_string(val))
			return json_fail(x, "secret '%.64s': expected a string, got %s", k,
					 json_type_name(val));
	}
	((struct create_req *)obj)->secrets = v;
	return 0;
}

static const struct json_field create_fields[] = {
	{"profile", f_profile, 0, NULL},	{"env", f_env, 0, NULL},
	{"limits", f_limits, 0, NULL},		{"idle_timeout_s", f_idle, 0, NULL},
	{"max_lifetime_s", f_maxlife, 0, NULL}, {"metadata", f_metadata, 0, NULL},
	{"secrets", f_secrets, 0, NULL},
};
static const struct json_table create_table = {create_fields, ARRAY_SIZE(create_fields)};

/* Checks the narrowed limits against the profile; 0 or a 422 sent. */
static int
check_limits(struct http_ctx *r, const json_t *p, const struct limits_req *l)
{
	uint64_t mem = profile_limit(p, "memory"), pids = profile_limit(p, "pids");
	uint64_t cpu = profile_limit(p, "cpu"), tmax = profile_limit(p, "exec_timeout_max_ms");

	if (l->memory && mem && l->memory > mem) {
		respond_error(r, 422, "invalid_value",
			      "limits.memory %" PRIu64 ": above the profile's %" PRIu64, l->memory,
			      mem);
		return -1;
	}
	if (l->pids && pids && l->pids > pids) {
		respond_error(r, 422, "invalid_value",
			      "limits.pids %" PRIu64 ": above the profile's %" PRIu64, l->pids,
			      pids);
		return -1;
	}
	if (l->has_cpu && cpu && (uint64_t)(l->cpu * 1000 + 0.5) > cpu) {
		respond_error(r, 422, "invalid_value", "limits.cpu %g: above the profile's %g",
			      l->cpu, cpu / 1000.0);
		return -1;
	}
	if (l->timeout_ms && tmax && l->timeout_ms > tmax) {
		respond_error(r, 422, "invalid_value",
			      "limits.timeout_ms %" PRIu64 ": above the profile's %" PRIu64,
			      l->timeout_ms, tmax);
		return -1;
	}
	return 0;
}

/* The settings a new session gets from its profile, the request and the
 * daemon's defaults. */
static void
session_settings(struct session *s, const json_t *p, const struct limits_req *l, uint64_t idle,
		 uint64_t maxlife)
{
	const struct ajd_limits *dl = &http_cfg->limits;
	uint64_t tmax = profile_limit(p, "exec_timeout_max_ms");

	s->memory_max = l->memory ? l->memory : profile_limit(p, "memory");
	s->pids_max = l->pids ? l->pids : profile_limit(p, "pids");
	s->cpu_ms_per_sec =
		l->has_cpu ? (uint32_t)(l->cpu * 1000 + 0.5) : (uint32_t)profile_limit(p, "cpu");
	s->exec_timeout_max_ms = (uint32_t)(tmax ? tmax : dl->exec_timeout_ms);
	s->exec_timeout_ms = (uint32_t)(l->timeout_ms ? l->timeout_ms : dl->exec_timeout_ms);
	if (s->exec_timeout_ms > s->exec_timeout_max_ms)
		s->exec_timeout_ms = s->exec_timeout_max_ms;
	s->max_output_bytes = dl->max_output_bytes;
	s->idle_timeout_s =
		(uint32_t)(idle ? idle : lifetime_cap(p, "idle_timeout_s", dl->idle_timeout_s));
	s->max_lifetime_s =
		(uint32_t)(maxlife ? maxlife
				   : lifetime_cap(p, "max_lifetime_s", dl->max_lifetime_s));
}

static void exec_start(struct http_ctx *r, struct session *s, json_t *req);

static void agent_ready(void *cls, struct session *s, int err, const char *msg);
static void respond_created(struct http_ctx *r, struct session *s);
static void invoke(struct http_ctx *r, struct session *s);
static bool invoke_body(struct http_ctx *r, const char *d, size_t n);
static void invoke_body_end(struct http_ctx *r);

static void
created(void *owner, const struct priv_reply_view *v)
{
	struct http_ctx *r = owner;

	r->waiting_priv = false;
	creating_del(r);
	if (v->err) {
		if (v->err == EAGAIN)
			respond_error(r, 503, "too_many_sessions", "%s", v->msg);
		else if (v->err == ENOENT && r->compat)
			respond_error(r, 404, "unknown_profile", "code interpreter not found");
		else if (v->err == ENOENT)
			respond_error(r, 422, "unknown_profile", "%s", v->msg);
		else
			respond_error(r, 500, "jail_failed", "%s", v->msg);
		return;
	}
	const char *profile = json_string_value(json_object_get(r->pending_exec, "profile"));
	struct session *s = session_new(v->jail_id, v->host_uid, v->fd, profile ? profile : "?");
	if (!s) {
		close(v->fd);
		priv_destroy(v->jail_id);
		respond_error(r, 500, "internal", "out of memory");
		return;
	}
	const json_t *p = profile_info(s->profile);
	json_t *lim = json_object_get(r->pending_exec, "_limits");
	struct limits_req l = {0};
	if (lim) {
		l.memory = (uint64_t)json_integer_value(json_object_get(lim, "memory"));
		l.pids = (uint64_t)json_integer_value(json_object_get(lim, "pids"));
		l.timeout_ms = (uint64_t)json_integer_value(json_object_get(lim, "timeout_ms"));
		json_t *cpu = json_object_get(lim, "cpu");
		l.has_cpu = cpu != NULL;
		l.cpu = json_number_value(cpu);
	}
	session_settings(
		s, p, &l, (uint64_t)json_integer_value(json_object_get(r->pending_exec, "_idle")),
		(uint64_t)json_integer_value(json_object_get(r->pending_exec, "_maxlife")));
	json_t *md = json_object_get(r->pending_exec, "metadata");
	if (md)
		s->metadata = json_incref(md);
	s->env = json_incref(json_object_get(r->pending_exec, "_senv"));
	snprintf(s->owner, sizeof(s->owner), "%s", r->owner);
	session_schedule(s);
	metrics.sessions_created++;
	char uid[16];
	snprintf(uid, sizeof(uid), "%u", v->host_uid);
	log_event(LOG_INFO, "session.create", "session", s->id, "profile", s->profile, "host_uid",
		  uid, NULL);
	audit(r, "session.create", s->id, (const char *[]){"profile", s->profile, NULL});
	if (r->route == R_RUN) {
		r->s = s;
		exec_start(r, s, r->pending_exec);
		if (r->x)
			r->x->one_shot = true;
		else
			session_end(s, "run_done", false);
		return;
	}
	json_t *agent = json_object_get(profile_info(s->profile), "agent");
	if (r->route == R_INVOKE && !json_array_size(json_object_get(agent, "entrypoint"))) {
		session_end(s, "no_agent", false);
		respond_error(r, 404, "no_agent", "profile '%s' runs no agent", s->profile);
		return;
	}
	if (json_array_size(json_object_get(agent, "entrypoint"))) {
		/* The answer waits for the agent to be ready. */
		r->s = s;
		r->waiting_agent = true;
		int rc = agent_start(s, agent, json_object_get(r->pending_exec, "secrets"),
				     agent_ready, r);
		if (rc < 0 && r->waiting_agent) {
			r->waiting_agent = false;
			r->s = NULL;
			session_end(s, "agent_failed", false);
			respond_error(r, 500, "agent_failed", "the agent could not start: %s",
				      strerror(-rc));
		}
		return;
	}
	respond_created(r, s);
}

static void
respond_created(struct http_ctx *r, struct session *s)
{
	if (r->compat) {
		const char *name = json_string_value(json_object_get(r->pending_exec, "_ac_name"));
		respond_json(r, 200, compat_created_json(s->id, name ? name : "?"));
		return;
	}
	respond_json(r, 201, session_json(s));
}

/* The agent of a session being created is ready, or never will be. */
static void
agent_ready(void *cls, struct session *s, int err, const char *msg)
{
	struct http_ctx *r = cls;

	r->waiting_agent = false;
	if (err) {
		r->s = NULL;
		if (s)
			session_end(s, "agent_failed", false);
		respond_error(r, 502, "agent_failed", "%s", msg);
		return;
	}
	if (r->route == R_INVOKE) { /* AgentCube: the invocation that made it */
		snprintf(r->sid, sizeof(r->sid), "%s", s->id);
		invoke(r, s);
		return;
	}
	respond_created(r, s);
}

/* The secrets of a create against the profile's: each one declared and
 * within its size, every required one given. 0, or a 422 sent. Their
 * values never appear in an error. */
static int
check_secrets(struct http_ctx *r, const json_t *p, const json_t *given)
{
	json_t *agent = json_object_get(p, "agent"), *d;
	json_t *declared = json_object_get(agent, "secrets");
	const char *k;
	json_t *v;
	size_t i;

	if (given && json_object_size(given) &&
	    !json_array_size(json_object_get(agent, "entrypoint"))) {
		respond_error(r, 422, "invalid_value",
			      "secrets: this profile runs no agent to give them to");
		return -1;
	}
	json_object_foreach((json_t *)given, k, v)
	{
		bool ok = false;
		json_array_foreach(declared, i, d)
		{
			if (strcmp(json_string_value(json_object_get(d, "name")), k) != 0)
				continue;
			ok = true;
			json_int_t max = json_integer_value(json_object_get(d, "max_bytes"));
			if ((json_int_t)json_string_length(v) > max) {
				respond_error(r, 422, "invalid_value",
					      "secret '%.64s': larger than its %lld bytes", k,
					      (long long)max);
				return -1;
			}
		}
		if (!ok) {
			respond_error(r, 422, "invalid_value",
				      "secret '%.64s': not one of the profile's secrets", k);
			return -1;
		}
	}
	json_array_foreach(declared, i, d)
	{
		const char *name = json_string_value(json_object_get(d, "name"));
		if (json_is_true(json_object_get(d, "required")) && !json_object_get(given, name)) {
			respond_error(r, 422, "invalid_value",
				      "secret '%.64s' is required by the profile", name);
			return -1;
		}
	}
	return 0;
}

/* The tenant's policy (agentjaild.conf(5), tenants): the profiles it may
 * use, host access, its quota of live sessions (creates in flight
 * included). Administrators may use every profile. */
static bool
tenant_refuses(struct http_ctx *r, const char *name, const json_t *p)
{
	const struct ajd_tenant *t = ajd_tenant_policy(http_cfg, r->owner);
	bool listed = t->any_profile;

	for (size_t i = 0; !listed && i < t->n_profiles; i++)
		listed = strcmp(t->profiles[i], name) == 0;
	if (!r->who.admin && !listed) {
		respond_error(r, 403, "profile_not_allowed",
			      "profile '%s' is not among the profiles this tenant may use", name);
		return true;
	}
	if (!r->who.admin && !t->allow_host_access &&
	    json_is_true(json_object_get(p, "host_access"))) {
		respond_error(r, 403, "profile_not_allowed",
			      "profile '%s' gives host access (host network or writable host "
			      "paths), which this tenant is not allowed",
			      name);
		return true;
	}
	if (t->max_sessions) {
		unsigned n = 0;
		for (struct session *s = session_first(); s; s = s->next)
			n += strcmp(s->owner, r->owner) == 0;
		for (struct http_ctx *c = creating; c; c = c->next_creating)
			n += strcmp(c->owner, r->owner) == 0;
		if (n >= t->max_sessions) {
			respond_error(r, 429, "quota_exceeded",
				      "this tenant has %u live sessions, its quota", n);
			return true;
		}
	}
	return false;
}

/* POST /v1/sessions and the first half of POST /v1/run. */
static void
create_session(struct http_ctx *r, json_t *root, struct create_req *c)
{
	/* A copy: c->profile points into root, which is about to change. */
	char name[JAIL_MAX_NAME + 1];
	snprintf(name, sizeof(name), "%s", c->profile ? c->profile : http_cfg->default_profile);
	const json_t *p = profile_info(name);

	if (!p) {
		respond_error(r, 422, "unknown_profile", "profile '%s': no such profile", name);
		return;
	}
	if (tenant_refuses(r, name, p) || check_limits(r, p, &c->limits) < 0 ||
	    check_secrets(r, p, c->secrets) < 0)
		return;
	if (r->route == R_RUN &&
	    json_array_size(json_object_get(json_object_get(p, "agent"), "entrypoint"))) {
		respond_error(r, 422, "invalid_value",
			      "profile '%s' runs an agent: create a session (POST /v1/sessions)",
			      name);
		return;
	}
	uint32_t idle_cap = lifetime_cap(p, "idle_timeout_s", http_cfg->limits.idle_timeout_s);
	uint32_t life_cap = lifetime_cap(p, "max_lifetime_s", http_cfg->limits.max_lifetime_s);
	if (c->idle && c->idle > idle_cap) {
		respond_error(r, 422, "invalid_value", "idle_timeout_s %" PRIu64 ": above %u",
			      c->idle, idle_cap);
		return;
	}
	if (c->maxlife && c->maxlife > life_cap) {
		respond_error(r, 422, "invalid_value", "max_lifetime_s %" PRIu64 ": above %u",
			      c->maxlife, life_cap);
		return;
	}
	if (session_count() >= http_cfg->limits.max_sessions) {
		respond_error(r, 503, "too_many_sessions",
			      "the limit of %u live sessions is reached",
			      http_cfg->limits.max_sessions);
		return;
	}
	/* What the reply needs, kept with the request. */
	json_object_set_new(root, "profile", json_string(name));
	json_object_set_new(root, "_limits",
			    json_pack("{s:I,s:I,s:I}", "memory", (json_int_t)c->limits.memory,
				      "pids", (json_int_t)c->limits.pids, "timeout_ms",
				      (json_int_t)c->limits.timeout_ms));
	if (c->limits.has_cpu)
		json_object_set_new(json_object_get(root, "_limits"), "cpu",
				    json_real(c->limits.cpu));
	json_object_set_new(root, "_idle", json_integer((json_int_t)c->idle));
	json_object_set_new(root, "_maxlife", json_integer((json_int_t)c->maxlife));
	/* The session's environment stays here and goes with each command:
	 * a jail (perhaps a warm one) never carries a session's variables. */
	json_t *senv = json_array();
	for (size_t i = 0; i < c->n_env; i++)
		json_array_append_new(senv, json_string(c->env[i]));
	json_object_set_new(root, "_senv", senv);
	r->pending_exec = json_incref(root);
	int rc = priv_create(name, c->limits.memory, c->limits.pids,
			     c->limits.has_cpu ? (uint32_t)(c->limits.cpu * 1000 + 0.5) : 0,
			     created, r);
	if (rc < 0) {
		respond_error(r, 500, "internal", "cannot reach the monitor: %s", strerror(-rc));
		return;
	}
	r->waiting_priv = true;
	r->creating = true;
	r->next_creating = creating;
	creating = r;
}

static void
post_sessions(struct http_ctx *r)
{
	struct jail_error e = {0};
	struct json_ctx x;
	struct create_req c = {0};
	json_t *root = body_json(r, &x, &e);

	if (!root)
		return;
	if (json_walk_object(&x, root, &create_table, &c) < 0)
		respond_error(r, 400, "invalid_request", "%s", e.msg);
	else
		create_session(r, root, &c);
	free_env(c.env, c.n_env);
	json_decref(root);
}

static void
list_sessions(struct http_ctx *r)
{
	json_t *a = json_array();
	for (struct session *s = session_first(); s; s = s->next)
		if (mine(r, s))
			json_array_append_new(a, session_json(s));
	respond_json(r, 200, json_pack("{s:o}", "sessions", a));
}

static void
deleted(struct http_ctx *r)
{
	if (r->compat)
		respond_json(r, 200, json_pack("{s:s}", "message", "Sandbox deleted successfully"));
	else
		respond_empty(r, 204);
}

static void
destroyed(void *owner, const struct priv_reply_view *v)
{
	struct http_ctx *r = owner;
	r->waiting_priv = false;
	deleted(r);
}

static void
delete_session(struct http_ctx *r, struct session *s)
{
	uint32_t jail = s->jail_id;

	audit(r, "session.delete", s->id, NULL);
	metrics.sessions_deleted++;
	session_end(s, "deleted", true);
	r->s = NULL;
	/* Answer once the monitor has ended the jail: 204 means gone. */
	if (priv_destroy_wait(jail, destroyed, r) < 0)
		deleted(r);
	else
		r->waiting_priv = true;
}

/* --- exec ------------------------------------------------------------- */

struct exec_req {
	json_t *command;
	const char *stdin_text, *stdin_b64, *cwd;
	char **env;
	size_t n_env;
	uint64_t timeout_ms, max_output;
	/* /v1/run */
	struct create_req c;
};

static int
f_command(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	struct exec_req *q = obj;
	size_t n;
	if (json_is_string(v)) {
		const char *s;
		int r = json_read_string(x, v, JAIL_MAX_ARG_LEN, &s);
		if (r < 0)
			return r;
		if (!s[0])
			return json_fail(x, "expected a non-empty command");
		q->command = v;
		return 0;
	}
	int r = json_read_array(x, v, JAIL_MAX_ARGS, &n);
	if (r < 0)
		return json_fail(x, "expected an array of strings or a string, got %s",
				 json_type_name(v));
	if (n == 0)
		return json_fail(x, "expected at least one element");
	for (size_t i = 0; i < n; i++) {
		size_t saved = json_path_push_index(x, i);
		const char *s;
		if ((r = json_read_string(x, json_array_get(v, i), JAIL_MAX_ARG_LEN, &s)) < 0)
			return r;
		json_path_pop(x, saved);
	}
	q->command = v;
	return 0;
}

static int
f_stdin(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	struct exec_req *q = obj;
	return json_read_string(x, v, MAX_STDIN_BYTES, arg ? &q->stdin_b64 : &q->stdin_text);
}

static int
f_cwd(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	return json_read_string(x, v, AJW_MAX_PATH, &((struct exec_req *)obj)->cwd);
}

static int
f_xenv(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	struct exec_req *q = obj;
	return read_env(x, v, &q->env, &q->n_env);
}

static int
f_timeout(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	return json_read_uint(x, v, 1, 86400000, &((struct exec_req *)obj)->timeout_ms);
}

static int
f_maxout(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	return json_read_uint(x, v, 1, 1ull << 30, &((struct exec_req *)obj)->max_output);
}

static int
f_run_profile(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	return f_profile(x, v, &((struct exec_req *)obj)->c, 0);
}

static int
f_run_limits(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	return json_walk_object(x, v, &limits_table, &((struct exec_req *)obj)->c.limits);
}

static const struct json_field exec_fields[] = {
	{"command", f_command, 0, NULL},
	{"stdin", f_stdin, 0, NULL},
	{"stdin_b64", f_stdin, 1, NULL},
	{"env", f_xenv, 0, NULL},
	{"cwd", f_cwd, 0, NULL},
	{"timeout_ms", f_timeout, 0, NULL},
	{"max_output_bytes", f_maxout, 0, NULL},
};
static const struct json_table exec_table = {exec_fields, ARRAY_SIZE(exec_fields)};

static const struct json_field run_fields[] = {
	{"command", f_command, 0, NULL},
	{"stdin", f_stdin, 0, NULL},
	{"stdin_b64", f_stdin, 1, NULL},
	{"env", f_xenv, 0, NULL},
	{"cwd", f_cwd, 0, NULL},
	{"timeout_ms", f_timeout, 0, NULL},
	{"max_output_bytes", f_maxout, 0, NULL},
	{"profile", f_run_profile, 0, NULL},
	{"limits", f_run_limits, 0, NULL},
};
static const struct json_table run_table = {run_fields, ARRAY_SIZE(run_fields)};

static void
exec_free(struct exec_state *x)
{
	if (!x)
		return;
	buf_free(&x->out);
	buf_free(&x->err);
	buf_free(&x->stream);
	free(x->stdin_data);
	json_decref(x->result);
	free(x->argv);
	free(x);
}

static const char *
termination(const struct ajw_exit *ex)
{
	if (ex->flags & AJW_EXIT_CANCELLED)
		return "cancelled";
	if (ex->flags & AJW_EXIT_TIMED_OUT)
		return "timeout";
	if (ex->flags & AJW_EXIT_OUTPUT_LIMIT)
		return "output_limit";
	if (ex->flags & AJW_EXIT_OOM)
		return "oom";
	return ex->signal ? "signal" : "exit";
}

/* The audit line of a command that ended (ex) or could not start (err). */
static void
audit_exec(const struct http_ctx *r, const struct ajw_exit *ex, int err)
{
	char code[16], ms[24];

	snprintf(code, sizeof(code), "%d", ex ? ex->exit_code : err == ENOENT ? 127 : 126);
	snprintf(ms, sizeof(ms), "%.1f", (double)(now_us() - r->t0) / 1000.0);
	audit(r, "exec", r->s ? r->s->id : r->sid,
	      (const char *[]){"argv", r->x && r->x->argv ? r->x->argv : "", "exit_code", code,
			       "duration_ms", ms, "termination",
			       ex ? termination(ex) : "exec_failed", NULL});
}

static json_t *
exit_json(const struct ajw_exit *ex)
{
	int code = ex->flags & AJW_EXIT_TIMED_OUT ? 124
		   : ex->signal			  ? 128 + ex->signal
						  : ex->exit_code;
	return json_pack("{s:i,s:o,s:b,s:b,s:s,s:b,s:b,s:f,s:f,s:o}", "exit_code", code, "signal",
			 ex->signal ? json_integer(ex->signal) : json_null(), "timed_out",
			 !!(ex->flags & AJW_EXIT_TIMED_OUT), "oom_killed",
			 !!(ex->flags & AJW_EXIT_OOM), "termination", termination(ex),
			 "stdout_truncated", !!(ex->flags & AJW_EXIT_STDOUT_TRUNCATED),
			 "stderr_truncated", !!(ex->flags & AJW_EXIT_STDERR_TRUNCATED),
			 "duration_ms", (double)ex->duration_us / 1000.0, "cpu_ms",
			 (double)ex->cpu_us / 1000.0, "memory_peak_bytes",
			 ex->memory_peak ? json_integer((json_int_t)ex->memory_peak) : json_null());
}

/* Streaming: one NDJSON event, keeping an incomplete UTF-8 sequence at the
 * end of a chunk for the next one. */
static void
stream_event(struct exec_state *x, int which, const char *p, size_t n, bool final)
{
	const char *key = which ? "stderr" : "stdout";
	char tmp[AJW_MAX_PAYLOAD + 8];
	size_t len = 0;

	if (x->carry_len[which] + n > sizeof(tmp))
		n = sizeof(tmp) - x->carry_len[which];
	memcpy(tmp, x->carry[which], x->carry_len[which]);
	len = x->carry_len[which];
	memcpy(tmp + len, p, n);
	len += n;
	x->carry_len[which] = 0;
	size_t ok = utf8_valid_prefix((const unsigned char *)tmp, len);
	if (!final && ok < len && len - ok < 4 && ((unsigned char)tmp[ok] & 0xc0) == 0xc0) {
		memcpy(x->carry[which], tmp + ok, len - ok);
		x->carry_len[which] = len - ok;
		len = ok;
	}
	if (len == 0)
		return;
	json_t *o = json_object();
	set_bytes(o, key, tmp, len);
	char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(10));
	json_decref(o);
	if (s) {
		buf_append(&x->stream, s, strlen(s));
		buf_append(&x->stream, "\n", 1);
		free(s);
	}
}

static void
exec_finished(struct http_ctx *r, json_t *result)
{
	struct exec_state *x = r->x;
	struct session *s = r->s;

	x->ended = true;
	count_exec_latency(now_us() - r->t0);
	if (x->streaming) {
		stream_event(x, 0, "", 0, true);
		stream_event(x, 1, "", 0, true);
		char *str = json_dumps(json_pack("{s:o}", "exit", result),
				       JSON_COMPACT | JSON_REAL_PRECISION(10));
		if (str) {
			buf_append(&x->stream, str, strlen(str));
			buf_append(&x->stream, "\n", 1);
			free(str);
		}
		if (r->suspended) {
			r->suspended = false;
			http_resume(r, r->conn);
		}
	} else {
		if (x->out_trunc)
			json_object_set_new(result, "stdout_truncated", json_true());
		if (x->err_trunc)
			json_object_set_new(result, "stderr_truncated", json_true());
		set_bytes(result, "stdout", x->out.data ? x->out.data : "", x->out.len);
		set_bytes(result, "stderr", x->err.data ? x->err.data : "", x->err.len);
		respond_json(r, 200, result);
	}
	if (x->one_shot && s) {
		r->s = NULL;
		session_end(s, "run_done", false);
	}
}

static void ac_exec_done(struct http_ctx *r, const struct ajw_exit *ex, int err, const char *msg);

static void
exec_reply(struct wreq *w, uint32_t type, const char *p, uint32_t len)
{
	struct http_ctx *r = w->owner;

	if (!r)
		return; /* its client is gone; the worker was told to cancel */
	struct exec_state *x = r->x;
	switch (type) {
	case AJW_STARTED:
		x->started = true;
		if (x->has_stdin) {
			for (size_t off = 0; off < x->stdin_len; off += AJW_DATA_CHUNK) {
				size_t n = x->stdin_len - off;
				wreq_more(w, AJW_STDIN, x->stdin_data + off,
					  n > AJW_DATA_CHUNK ? AJW_DATA_CHUNK : n);
			}
			wreq_more(w, AJW_STDIN, NULL, 0);
			free(x->stdin_data);
			x->stdin_data = NULL;
		}
		return;
	case AJW_STDOUT:
	case AJW_STDERR:
		if (x->streaming) {
			stream_event(x, type == AJW_STDERR, p, len, false);
			/* A client slower than the command: stop reading the
			 * worker (which then stops reading the command). */
			if (buf_pending(&x->stream) > GET_HIGH_WATER)
				session_pause_input(w->s, true);
			if (r->suspended) {
				r->suspended = false;
				http_resume(r, r->conn);
			}
		} else {
			/* The worker truncates at max_output; its word is not
			 * taken for it: what goes past the bound is dropped. */
			struct buf *b = type == AJW_STDOUT ? &x->out : &x->err;
			bool *trunc = type == AJW_STDOUT ? &x->out_trunc : &x->err_trunc;
			size_t room = b->len < x->max_output ? x->max_output - b->len : 0;
			if (len > room)
				*trunc = true;
			buf_append(b, p, len < room ? len : room);
		}
		return;
	case AJW_EXIT: {
		struct ajw_exit ex = {0};
		if (len < sizeof(ex)) {
			r->w = NULL;
			respond_error(r, 500, "worker_protocol", "malformed exit");
			return;
		}
		memcpy(&ex, p, sizeof(ex));
		/* The request is over: detach it, so that ending the session
		 * next (POST /v1/run) does not answer it a second time. */
		wreq_orphan(w);
		r->w = NULL;
		audit_exec(r, &ex, 0);
		if (r->compat)
			ac_exec_done(r, &ex, 0, NULL);
		else
			exec_finished(r, exit_json(&ex));
		return;
	}
	case AJW_ERROR: {
		struct ajw_error er = {0};
		const char *msg = len > sizeof(er) ? p + sizeof(er) : "";
		if (len >= sizeof(er))
			memcpy(&er, p, sizeof(er));
		if (len <= sizeof(er) || p[len - 1] != '\0')
			msg = "the worker gave no reason";
		wreq_orphan(w);
		r->w = NULL;
		if (er.code == AJW_E_EXEC_FAILED)
			audit_exec(r, NULL, er.err);
		if (er.code == AJW_E_EXEC_FAILED && r->compat) {
			ac_exec_done(r, NULL, er.err, msg);
		} else if (er.code == AJW_E_EXEC_FAILED) {
			/* As a shell does: 127 not found, 126 cannot execute. */
			struct ajw_exit ex = {.exit_code = er.err == ENOENT ? 127 : 126};
			json_t *res = exit_json(&ex);
			if (!x->streaming) {
				buf_append(&x->err, msg, strlen(msg));
				buf_append(&x->err, "\n", 1);
			} else {
				stream_event(x, 1, msg, strlen(msg), false);
				stream_event(x, 1, "\n", 1, false);
			}
			exec_finished(r, res);
		} else if (er.code == AJW_E_BUSY) {
			if (!x->streaming)
				respond_error(r, 429, "too_many_execs", "%s", msg);
			else
				exec_finished(r, json_pack("{s:s}", "error", msg));
		} else {
			metrics.exec_errors++;
			bool ended = !r->s || r->s->state == SESSION_DEAD;
			if (!x->streaming)
				respond_error(r, ended ? 503 : 500,
					      ended ? "session_ended" : "worker_error", "%s", msg);
			else
				exec_finished(r, json_pack("{s:s}", "error", msg));
		}
		return;
	}
	default: return;
	}
}

static ssize_t
stream_reader(void *cls, uint64_t pos, char *out, size_t max)
{
	struct http_ctx *r = cls;
	struct exec_state *x = r->x;
	size_t n = x ? buf_pending(&x->stream) : 0;

	if (r->client_gone)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (n == 0) {
		if (!x || x->ended)
			return MHD_CONTENT_READER_END_OF_STREAM;
		suspend(r);
		return 0;
	}
	if (n > max)
		n = max;
	memcpy(out, x->stream.data + x->stream.off, n);
	buf_consume(&x->stream, n);
	if (r->s && r->s->paused_in && buf_pending(&x->stream) < PUT_LOW_WATER)
		session_pause_input(r->s, false);
	return (ssize_t)n;
}

static bool
wants_ndjson(struct http_ctx *r)
{
	const char *a = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Accept");
	return a && strstr(a, "application/x-ndjson");
}

/* Send an EXEC for the request in `req` (an object parsed by exec_table
 * or run_table). */
static void
exec_start(struct http_ctx *r, struct session *s, json_t *req)
{
	const struct ajd_limits *dl = &http_cfg->limits;
	json_t *cmd = json_object_get(req, "command");
	const char *cwd = json_string_value(json_object_get(req, "cwd"));
	json_t *jt = json_object_get(req, "timeout_ms"),
	       *jm = json_object_get(req, "max_output_bytes");
	uint64_t timeout = jt ? (uint64_t)json_integer_value(jt) : s->exec_timeout_ms;
	uint64_t maxout = jm ? (uint64_t)json_integer_value(jm) : s->max_output_bytes;
	unsigned total = 0;

	if (timeout > s->exec_timeout_max_ms) {
		respond_error(r, 422, "invalid_value",
			      "timeout_ms %" PRIu64 ": above the profile's limit of %u", timeout,
			      s->exec_timeout_max_ms);
		return;
	}
	if (maxout > dl->max_output_bytes) {
		respond_error(r, 422, "invalid_value",
			      "max_output_bytes %" PRIu64 ": above the limit of %" PRIu64, maxout,
			      dl->max_output_bytes);
		return;
	}
	const struct ajd_tenant *t = ajd_tenant_policy(http_cfg, r->owner);
	unsigned mine_n = 0;
	for (struct session *o = session_first(); o; o = o->next) {
		total += o->execs;
		if (strcmp(o->owner, r->owner) == 0)
			mine_n += o->execs;
	}
	if (t->max_execs && mine_n >= t->max_execs) {
		respond_error(r, 429, "quota_exceeded",
			      "this tenant already runs %u commands, its quota", mine_n);
		return;
	}
	if (s->execs >= dl->max_execs_per_session || total >= dl->max_execs_total) {
		respond_error(r, 429, "too_many_execs",
			      s->execs >= dl->max_execs_per_session
				      ? "this session already runs %u commands"
				      : "the host already runs %u commands",
			      s->execs >= dl->max_execs_per_session ? s->execs : total);
		return;
	}

	/* The payload: struct ajw_exec, cwd, argv, env. */
	struct buf pl = {0};
	struct ajw_exec ex = {.timeout_ms = (uint32_t)timeout, .max_output_bytes = maxout};
	json_t *envo = json_object_get(req, "_env");
	buf_append(&pl, &ex, sizeof(ex));
	buf_append(&pl, cwd ? cwd : "", strlen(cwd ? cwd : "") + 1);
	if (json_is_string(cmd)) {
		const char *sh[] = {"/bin/sh", "-c", json_string_value(cmd)};
		for (size_t i = 0; i < 3; i++)
			buf_append(&pl, sh[i], strlen(sh[i]) + 1);
		ex.argc = 3;
	} else {
		size_t i;
		json_t *a;
		json_array_foreach(cmd, i, a)
		{
			const char *s2 = json_string_value(a);
			buf_append(&pl, s2, strlen(s2) + 1);
		}
		ex.argc = (uint32_t)json_array_size(cmd);
	}
	/* The session's variables, then the exec's: the worker lets a later
	 * entry replace an earlier one of the same name. */
	const json_t *envs[] = {s->env, envo};
	for (size_t k = 0; k < ARRAY_SIZE(envs); k++) {
		size_t i;
		json_t *ev;
		json_array_foreach(envs[k], i, ev)
		{
			const char *s2 = json_string_value(ev);
			buf_append(&pl, s2, strlen(s2) + 1);
		}
		ex.envc += (uint32_t)json_array_size(envs[k]);
	}

	struct exec_state *x = calloc(1, sizeof(*x));
	const char *in = json_string_value(json_object_get(req, "stdin"));
	const char *in64 = json_string_value(json_object_get(req, "stdin_b64"));
	if (in || in64) {
		x->has_stdin = true;
		ex.flags |= AJW_EXEC_STDIN;
		size_t n = strlen(in ? in : in64);
		x->stdin_data = malloc(n + 1);
		if (in) {
			memcpy(x->stdin_data, in, n);
			x->stdin_len = n;
		} else {
			ssize_t d = unbase64(in64, x->stdin_data);
			if (d < 0) {
				exec_free(x);
				buf_free(&pl);
				respond_error(r, 422, "invalid_value",
					      "stdin_b64: not valid base64");
				return;
			}
			x->stdin_len = (size_t)d;
		}
	}
	memcpy(pl.data, &ex, sizeof(ex));
	if (pl.len > AJW_MAX_PAYLOAD) {
		exec_free(x);
		buf_free(&pl);
		respond_error(r, 413, "payload_too_large",
			      "the command and environment are larger than %u bytes",
			      AJW_MAX_PAYLOAD);
		return;
	}
	x->streaming = !r->compat && wants_ndjson(r);
	x->max_output = maxout;
	x->argv = json_dumps(cmd, JSON_COMPACT);
	r->x = x;
	r->s = s;
	r->t0 = now_us();
	r->w = wreq_send(s, AJW_EXEC, pl.data, pl.len, NULL, 0, exec_reply, r);
	buf_free(&pl);
	if (!r->w) {
		respond_error(r, 503, "session_ended", "the session's worker is gone");
		return;
	}
	r->w->exec = true;
	s->execs++;
	metrics.execs++;
	if (x->streaming) {
		struct MHD_Response *resp = MHD_create_response_from_callback(
			MHD_SIZE_UNKNOWN, 64 << 10, stream_reader, r, NULL);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/x-ndjson");
		respond(r, 200, resp);
	}
}

/* Move the parsed request's environment into the object as "_env". */
static void
stash_env(json_t *root, char **env, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(env[i]));
	json_object_set_new(root, "_env", a);
}

static void
post_exec(struct http_ctx *r, struct session *s)
{
	struct jail_error e = {0};
	struct json_ctx x;
	struct exec_req q = {0};
	json_t *root = body_json(r, &x, &e);

	if (!root)
		return;
	if (json_walk_object(&x, root, &exec_table, &q) < 0)
		respond_error(r, 400, "invalid_request", "%s", e.msg);
	else if (!q.command)
		respond_error(r, 400, "invalid_request", "request body: $: 'command' is required");
	else if (q.stdin_text && q.stdin_b64)
		respond_error(r, 422, "invalid_value", "give stdin or stdin_b64, not both");
	else {
		stash_env(root, q.env, q.n_env);
		exec_start(r, s, root);
	}
	free_env(q.env, q.n_env);
	json_decref(root);
}

static void
post_run(struct http_ctx *r)
{
	struct jail_error e = {0};
	struct json_ctx x;
	struct exec_req q = {0};
	json_t *root = body_json(r, &x, &e);

	if (!root)
		return;
	if (json_walk_object(&x, root, &run_table, &q) < 0)
		respond_error(r, 400, "invalid_request", "%s", e.msg);
	else if (!q.command)
		respond_error(r, 400, "invalid_request", "request body: $: 'command' is required");
	else if (q.stdin_text && q.stdin_b64)
		respond_error(r, 422, "invalid_value", "give stdin or stdin_b64, not both");
	else {
		/* Checked before a jail is made for it. */
		const json_t *p =
			profile_info(q.c.profile ? q.c.profile : http_cfg->default_profile);
		uint64_t tmax = p ? profile_limit(p, "exec_timeout_max_ms") : 0;
		if (!tmax)
			tmax = http_cfg->limits.exec_timeout_ms;
		if (q.timeout_ms > tmax) {
			respond_error(r, 422, "invalid_value",
				      "timeout_ms %" PRIu64
				      ": above the profile's limit of %" PRIu64,
				      q.timeout_ms, tmax);
		} else if (q.max_output > http_cfg->limits.max_output_bytes) {
			respond_error(r, 422, "invalid_value",
				      "max_output_bytes %" PRIu64 ": above the limit of %" PRIu64,
				      q.max_output, http_cfg->limits.max_output_bytes);
		} else {
			stash_env(root, q.env, q.n_env);
			/* The environment goes to each command, not the jail: the
			 * session is made with the profile's. */
			create_session(r, root, &q.c);
		}
	}
	free_env(q.env, q.n_env);
	json_decref(root);
}

/* --- files -------------------------------------------------------------- */

static const char *
type_name(uint32_t t)
{
	switch (t) {
	case AJW_T_FILE: return "file";
	case AJW_T_DIR: return "directory";
	case AJW_T_SYMLINK: return "symlink";
	default: return "other";
	}
}

/* An ERROR from the worker about a file, as an HTTP error. */
static void
file_error(struct http_ctx *r, const char *p, uint32_t len)
{
	struct ajw_error er = {.code = AJW_E_INTERNAL};
	const char *msg = "the worker gave no reason";

	if (len >= sizeof(er))
		memcpy(&er, p, sizeof(er));
	if (len > sizeof(er) && p[len - 1] == '\0')
		msg = p + sizeof(er);
	switch (er.code) {
	case AJW_E_NOT_FOUND: respond_error(r, 404, "file_not_found", "%s", msg); break;
	case AJW_E_ESCAPE: respond_error(r, 400, "path_escapes_workspace", "%s", msg); break;
	case AJW_E_NOT_REGULAR: respond_error(r, 400, "not_a_regular_file", "%s", msg); break;
	case AJW_E_IS_DIRECTORY: respond_error(r, 400, "is_a_directory", "%s", msg); break;
	case AJW_E_NOT_DIRECTORY: respond_error(r, 400, "not_a_directory", "%s", msg); break;
	case AJW_E_EXISTS: respond_error(r, 409, "already_exists", "%s", msg); break;
	case AJW_E_NOT_EMPTY: respond_error(r, 409, "directory_not_empty", "%s", msg); break;
	case AJW_E_READ_ONLY: respond_error(r, 403, "read_only", "%s", msg); break;
	case AJW_E_NO_SPACE: respond_error(r, 507, "no_space", "%s", msg); break;
	case AJW_E_BAD_REQUEST: respond_error(r, 400, "invalid_path", "%s", msg); break;
	case AJW_E_BUSY: respond_error(r, 429, "too_many_transfers", "%s", msg); break;
	default:
		/* A session that ended fails its requests with an error of its
		 * own; anything else is the worker refusing. */
		if (!r->s || r->s->state == SESSION_DEAD)
			respond_error(r, 503, "session_ended", "%s", msg);
		else
			respond_error(r, 500, "worker_error", "%s", msg);
		break;
	}
}

static ssize_t
file_reader(void *cls, uint64_t pos, char *out, size_t max)
{
	struct http_ctx *r = cls;
	struct file_state *f = r->f;
	size_t n = f ? buf_pending(&f->data) : 0;

	if (r->client_gone)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (n == 0) {
		if (!f || f->ended)
			return pos < (f ? f->st.size : 0) ? MHD_CONTENT_READER_END_WITH_ERROR
							  : MHD_CONTENT_READER_END_OF_STREAM;
		suspend(r);
		return 0;
	}
	if (n > max)
		n = max;
	memcpy(out, f->data.data + f->data.off, n);
	buf_consume(&f->data, n);
	metrics.file_bytes_out += n;
	if (r->s && r->s->paused_in && buf_pending(&f->data) < PUT_LOW_WATER)
		session_pause_input(r->s, false);
	return (ssize_t)n;
}

static ssize_t
head_reader(void *cls, uint64_t pos, char *out, size_t max)
{
	return MHD_CONTENT_READER_END_WITH_ERROR; /* HEAD: never called */
}

static void
stat_headers(struct MHD_Response *resp, const struct ajw_stat *st)
{
	char v[64];

	MHD_add_response_header(resp, "X-File-Type", type_name(st->type));
	snprintf(v, sizeof(v), "%04o", st->mode & 07777);
	MHD_add_response_header(resp, "X-File-Mode", v);
	snprintf(v, sizeof(v), "%" PRIu64, st->size);
	MHD_add_response_header(resp, "X-File-Size", v);
	time_t t = (time_t)(st->mtime_ns / 1000000000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(v, sizeof(v), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_LAST_MODIFIED, v);
}

static void
get_reply(struct wreq *w, uint32_t type, const char *p, uint32_t len)
{
	struct http_ctx *r = w->owner;

	if (!r)
		return;
	struct file_state *f = r->f;
	switch (type) {
	case AJW_STAT_REPLY:
		if (len < sizeof(f->st)) {
			respond_error(r, 500, "worker_protocol", "malformed stat");
			return;
		}
		memcpy(&f->st, p, sizeof(f->st));
		if (strcmp(r->method, "HEAD") == 0) {
			struct MHD_Response *resp = MHD_create_response_from_callback(
				f->st.type == AJW_T_FILE ? f->st.size : 0, 4096, head_reader, r,
				NULL);
			stat_headers(resp, &f->st);
			respond(r, 200, resp);
		} else if (f->st.type == AJW_T_DIR) {
			f->is_dir = true;
			f->entries = json_array();
		} else {
			struct MHD_Response *resp = MHD_create_response_from_callback(
				f->st.size, 64 << 10, file_reader, r, NULL);
			MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
						"application/octet-stream");
			stat_headers(resp, &f->st);
			respond(r, 200, resp);
		}
		return;
	case AJW_DATA:
		buf_append(&f->data, p, len);
		if (buf_pending(&f->data) > GET_HIGH_WATER)
			session_pause_input(w->s, true);
		if (r->suspended) {
			r->suspended = false;
			http_resume(r, r->conn);
		}
		return;
	case AJW_DIRENT: {
		struct ajw_stat st;
		if (len <= sizeof(st) || p[len - 1] != '\0' || !f->entries)
			return;
		memcpy(&st, p, sizeof(st));
		char t[32];
		time_t tt = (time_t)(st.mtime_ns / 1000000000);
		struct tm tm;
		gmtime_r(&tt, &tm);
		strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%SZ", &tm);
		char mode[8];
		snprintf(mode, sizeof(mode), "%04o", st.mode & 07777);
		json_t *name = json_string(p + sizeof(st));
		if (!name) {
			char *b = base64(p + sizeof(st), strlen(p + sizeof(st)));
			json_array_append_new(f->entries,
					      json_pack("{s:s,s:s,s:I,s:s,s:s}", "name_b64",
							b ? b : "", "type", type_name(st.type),
							"size", (json_int_t)st.size, "mode", mode,
							"mtime", t));
			free(b);
			return;
		}
		json_array_append_new(f->entries,
				      json_pack("{s:o,s:s,s:I,s:s,s:s}", "name", name, "type",
						type_name(st.type), "size", (json_int_t)st.size,
						"mode", mode, "mtime", t));
		return;
	}
	case AJW_END:
		f->ended = true;
		r->w = NULL;
		if (f->is_dir) {
			respond_json(r, 200,
				     json_pack("{s:s,s:s,s:O}", "path", r->path[0] ? r->path : "/",
					       "type", "directory", "entries", f->entries));
		} else if (r->suspended) {
			r->suspended = false;
			http_resume(r, r->conn);
		}
		return;
	case AJW_ERROR:
		r->w = NULL;
		f->ended = f->failed = true;
		if (!r->resp && !f->st.type)
			file_error(r, p, len);
		else if (r->suspended) {
			r->suspended = false;
			http_resume(r, r->conn); /* the reader ends the body short */
		}
		return;
	default: return;
	}
}

/* HEAD: a STAT. Its STAT_REPLY is the whole answer, which the session
 * cannot tell from a GET's first reply: the request is ended here, else it
 * would stay in flight and the session never be idle again. */
static void
head_reply(struct wreq *w, uint32_t type, const char *p, uint32_t len)
{
	struct http_ctx *r = w->owner;

	get_reply(w, type, p, len);
	if (type == AJW_STAT_REPLY) {
		if (r)
			r->w = NULL;
		wreq_done(w);
	}
}

static void
simple_reply(struct wreq *w, uint32_t type, const char *p, uint32_t len)
{
	struct http_ctx *r = w->owner;

	if (!r)
		return;
	r->w = NULL;
	if (type == AJW_ERROR) {
		file_error(r, p, len);
	} else if (type == AJW_STAT_REPLY) {
		struct ajw_stat st;
		memcpy(&st, p, len < sizeof(st) ? len : sizeof(st));
		r->f->st = st;
	} else if (strcmp(r->method, "DELETE") == 0) {
		audit(r, "file.delete", r->s ? r->s->id : r->sid,
		      (const char *[]){"path", r->path, NULL});
		respond_empty(r, 204);
	} else if (strcmp(r->method, "POST") == 0) {
		respond_json(r, 201, json_pack("{s:s,s:s}", "path", r->path, "type", "directory"));
	} else if (strcmp(r->method, "PUT") == 0) {
		char size[24];
		snprintf(size, sizeof(size), "%" PRIu64, r->f->put_bytes);
		audit(r, "file.write", r->s ? r->s->id : r->sid,
		      (const char *[]){"path", r->path, "size", size, NULL});
		respond_json(r, 200,
			     json_pack("{s:s,s:I}", "path", r->path, "size",
				       (json_int_t)r->f->put_bytes));
	}
}

static void
put_reply(struct wreq *w, uint32_t type, const char *p, uint32_t len)
{
	struct http_ctx *r = w->owner;

	if (!r)
		return;
	if (type == AJW_READY) {
		r->f->put_ready = true;
		return;
	}
	/* OK at the end, or ERROR at any time: after an ERROR the rest of the
	 * upload is read and dropped, and the error is the answer. */
	if (type == AJW_ERROR)
		r->f->failed = true;
	simple_reply(w, type, p, len);
}

static int
parse_mode(struct http_ctx *r, unsigned dflt, unsigned *ret)
{
	const char *m = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "mode");
	char *end;

	if (!m) {
		*ret = dflt;
		return 0;
	}
	unsigned long v = strtoul(m, &end, 8);
	if (!m[0] || *end || v > 0777) {
		respond_error(r, 422, "invalid_value",
			      "mode '%.16s': expected octal permission bits such as 0644", m);
		return -1;
	}
	*ret = (unsigned)v;
	return 0;
}

/* The first call of a file request (headers only). */
static void
files_start(struct http_ctx *r, struct session *s)
{
	const char *path = r->path;
	unsigned mode;

	r->f = calloc(1, sizeof(*r->f));
	if (!r->f) {
		respond_error(r, 500, "internal", "out of memory");
		return;
	}
	if (strcmp(r->method, "PUT") == 0) {
		const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);
		uint64_t size = cl ? strtoull(cl, NULL, 10) : 0;
		if (size > http_cfg->limits.max_body_bytes) {
			respond_error(r, 413, "payload_too_large",
				      "%" PRIu64 " bytes: uploads are limited to %" PRIu64, size,
				      http_cfg->limits.max_body_bytes);
			return;
		}
		if (!path[0]) {
			respond_error(r, 400, "invalid_path", "a file path is required");
			return;
		}
		if (parse_mode(r, 0644, &mode) < 0)
			return;
		struct ajw_put put = {.mode = mode, .size = size};
		r->w = wreq_send(s, AJW_PUT, &put, sizeof(put), path, strlen(path) + 1, put_reply,
				 r);
	} else if (strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0) {
		r->w = wreq_send(s, strcmp(r->method, "GET") == 0 ? AJW_GET : AJW_STAT, path,
				 strlen(path) + 1, NULL, 0,
				 strcmp(r->method, "GET") == 0 ? get_reply : head_reply, r);
	} else if (strcmp(r->method, "DELETE") == 0) {
		r->w = wreq_send(s, AJW_DELETE, path, strlen(path) + 1, NULL, 0, simple_reply, r);
	} else { /* POST */
		const char *op = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "op");
		if (!op || strcmp(op, "mkdir") != 0) {
			respond_error(r, 400, "invalid_request",
				      "POST on a file path needs ?op=mkdir");
			return;
		}
		if (parse_mode(r, 0755, &mode) < 0)
			return;
		uint32_t m32 = mode;
		r->w = wreq_send(s, AJW_MKDIR, &m32, sizeof(m32), path, strlen(path) + 1,
				 simple_reply, r);
	}
	if (!r->w && !r->resp)
		respond_error(r, 503, "session_ended", "the session's worker is gone");
}

/* Upload data for a PUT: forwarded as it comes, the connection suspended
 * while too much waits for the worker. */
static void
put_data(struct http_ctx *r, const char *p, size_t n)
{
	struct file_state *f = r->f;

	if (!f || f->failed || r->resp || !r->w)
		return; /* answered already: read and drop */
	f->put_bytes += n;
	metrics.file_bytes_in += n;
	if (f->put_bytes > http_cfg->limits.max_body_bytes) {
		f->failed = true;
		wreq_more(r->w, AJW_CANCEL, NULL, 0);
		wreq_orphan(r->w);
		r->w = NULL;
		respond_error(r, 413, "payload_too_large",
			      "uploads are limited to %" PRIu64 " bytes",
			      http_cfg->limits.max_body_bytes);
		return;
	}
	for (size_t off = 0; off < n; off += AJW_DATA_CHUNK) {
		size_t k = n - off > AJW_DATA_CHUNK ? AJW_DATA_CHUNK : n - off;
		wreq_more(r->w, AJW_DATA, p + off, k);
	}
	/* Not twice: a multipart body may bring several pieces per call. */
	if (session_queued(r->s) > PUT_HIGH_WATER && !r->suspended) {
		r->next_waiter = waiters;
		waiters = r;
		suspend(r);
	}
}

/* Called by the loop after each batch: resume uploads whose session's
 * queue drained. */
void
api_after_batch(void)
{
	for (struct http_ctx **pp = &waiters; *pp;) {
		struct http_ctx *r = *pp;
		if (!r->s || session_queued(r->s) < PUT_LOW_WATER) {
			*pp = r->next_waiter;
			r->next_waiter = NULL;
			if (r->suspended) {
				r->suspended = false;
				http_resume(r, r->conn);
			}
		} else {
			pp = &r->next_waiter;
		}
	}
}

static void
files_complete(struct http_ctx *r)
{
	struct file_state *f = r->f;

	if (strcmp(r->method, "PUT") == 0 && r->w && !f->failed)
		wreq_more(r->w, AJW_DATA, NULL, 0); /* end of file: OK or ERROR follows */
}

/* --- AgentCube compatibility ------------------------------------------------ */

/*
 * The endpoints of AgentCube's WorkloadManager (create, delete) and, under
 * the Router's prefix, of PicoD (execute, upload, download, list), for the
 * unmodified AgentCube SDK: see docs/api.md, "AgentCube compatibility".
 * compat.c parses and formats; here each request becomes the native
 * operation: create_session(), delete_session(), exec_start(), and the
 * worker's PUT, GET, STAT and MKDIR. The session is a native one with the
 * same owner check, touch, reaper, pools and limits.
 */

/* A multipart body's framing around its file, a JSON body's around its
 * base64. */
#define AC_BODY_SLACK (64u << 10)

enum ac_field { AC_F_NONE, AC_F_PATH, AC_F_MODE, AC_F_FILE, AC_F_SKIP };
enum ac_op { AC_UPLOAD, AC_DOWNLOAD, AC_LIST, AC_WORKDIR };

struct ac_state {
	char *arg;	       /* DELETE: the id; FILE: the path (as sent) */
	struct timespec start; /* execute: when it was asked for */
	uint32_t timeout_ms;   /* execute: the deadline the worker got */
	bool multipart;	       /* upload */
	struct compat_mp mp;
	enum ac_field field;	     /* the part being read */
	struct buf path_in, mode_in; /* the form's fields */
	struct buf file;	     /* the file part, while its path is not known */
	bool has_path, has_mode, has_file, streaming;
	unsigned mode;
	uint64_t body_bytes;
};

static void
ac_free(struct ac_state *a)
{
	if (!a)
		return;
	compat_mp_free(&a->mp);
	buf_free(&a->path_in);
	buf_free(&a->mode_in);
	buf_free(&a->file);
	free(a->arg);
	free(a);
}

/* Whether r sends a file to the worker (a cancel when its client goes). */
static bool
is_upload(const struct http_ctx *r)
{
	return r->f && ((r->route == R_FILES && strcmp(r->method, "PUT") == 0) ||
			(r->route == R_AC_FILES && strcmp(r->method, "POST") == 0));
}

/* Mark r as an AgentCube request if url is one of theirs. */
static bool
ac_route(struct http_ctx *r, const char *url)
{
	static const enum route routes[] = {
		[COMPAT_HEALTH] = R_AC_HEALTH, [COMPAT_CREATE] = R_AC_CREATE,
		[COMPAT_DELETE] = R_AC_DELETE, [COMPAT_EXECUTE] = R_AC_EXECUTE,
		[COMPAT_FILES] = R_AC_FILES,   [COMPAT_FILE] = R_AC_FILE,
		[COMPAT_OTHER] = R_AC_OTHER,
	};
	const char *arg;
	enum compat_kind k = compat_route(url, &arg);

	if (k == COMPAT_NONE)
		return false;
	metrics.compat_requests++;
	r->route = routes[k];
	r->compat = compat_data_plane(k) ? AC_DATA : AC_CONTROL;
	r->ac = calloc(1, sizeof(*r->ac));
	if (r->ac && arg)
		r->ac->arg = strdup(arg);
	return true;
}

/* A path of the request, cleaned (compat_clean_path); 0, or -1 with the
 * answer sent. */
static int
ac_path(struct http_ctx *r, const char *in, size_t n, char *out)
{
	int e = compat_clean_path(in, n, out, AJW_MAX_PATH + 1);

	if (e == -EXDEV)
		respond_error(r, 400, "path_escapes_workspace",
			      "access denied: path '%.*s' escapes the workspace",
			      (int)(n < 200 ? n : 200), in);
	else if (e < 0)
		respond_error(r, 400, "invalid_path", "invalid path: %s",
			      e == -ENAMETOOLONG ? "longer than 4095 bytes" : "a NUL byte");
	return e < 0 ? -1 : 0;
}

/* The session of a data-plane request: the x-agentcube-session-id header,
 * the caller's own. NULL with a 404 sent. */
static struct session *
ac_session(struct http_ctx *r)
{
	const char *id =
		MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "x-agentcube-session-id");
	struct session *s = id && strlen(id) < sizeof(r->sid) ? session_find(id) : NULL;

	if (s && !mine(r, s))
		s = NULL; /* someone else's: as if there were none */
	if (!s && id && session_was_reaped(id, r->owner)) {
		respond_error(r, 404, "session_expired",
			      "session '%.64s' not found (ended by the reaper: idle or too old)",
			      id);
		return NULL;
	}
	if (!s) {
		respond_error(r, 404, "session_not_found", "session '%.64s' not found",
			      id ? id : "");
		return NULL;
	}
	snprintf(r->sid, sizeof(r->sid), "%s", s->id);
	session_touch(s);
	return s;
}

/* An ERROR of the worker about a file, with PicoD's words where it has
 * its own. */
static void
ac_file_error(struct http_ctx *r, const char *p, uint32_t len, enum ac_op op)
{
	struct ajw_error er = {.code = AJW_E_INTERNAL};

	if (len >= sizeof(er))
		memcpy(&er, p, sizeof(er));
	if (er.code == AJW_E_NOT_FOUND && op == AC_DOWNLOAD)
		respond_error(r, 404, "file_not_found", "File not found");
	else if (er.code == AJW_E_NOT_FOUND && op == AC_LIST)
		respond_error(r, 404, "file_not_found", "Directory not found");
	else if (er.code == AJW_E_IS_DIRECTORY && op == AC_DOWNLOAD)
		respond_error(r, 400, "is_a_directory", "Path is a directory, not a file");
	else if (er.code == AJW_E_ESCAPE)
		respond_error(r, 400, "path_escapes_workspace",
			      "access denied: path '%.200s' escapes the workspace",
			      r->path ? r->path : "");
	else
		file_error(r, p, len);
}

/* A reply to a GET that is not wanted after all (a directory to download,
 * a file to list): the worker stops, the rest is dropped. */
static void
ac_drop(struct http_ctx *r, struct wreq *w)
{
	wreq_more(w, AJW_CANCEL, NULL, 0);
	wreq_orphan(w);
	r->w = NULL;
}

/* --- the control plane --- */

static void
ac_create(struct http_ctx *r)
{
	json_error_t je;
	struct compat_create c;
	const char *msg;
	json_t *root = json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, &je);

	if (compat_parse_create(root, &c, &msg) < 0) {
		respond_error(r, 400, "invalid_request", "%s", msg);
		json_decref(root);
		return;
	}
	/* A template names a profile (the "agentcube" configuration). */
	const char *profile = ajd_agentcube_profile(http_cfg, c.name);
	const json_t *p = profile_info(profile);
	if (!p) {
		respond_error(r, 404, "unknown_profile", "code interpreter not found");
		json_decref(root);
		return;
	}
	/* ttl is the lifetime, within the most a session of the profile may
	 * have: capped, not refused. */
	uint32_t cap = lifetime_cap(p, "max_lifetime_s", http_cfg->limits.max_lifetime_s);
	struct create_req q = {
		.profile = profile,
		.maxlife = c.ttl_s > 0 && (uint64_t)c.ttl_s < cap ? (uint64_t)c.ttl_s : 0,
	};
	json_t *md = json_pack("{s:{s:s,s:s}}", "agentcube", "name", c.name, "namespace", c.ns);
	if (c.metadata) {
		char *dump = json_dumps(c.metadata, JSON_COMPACT);
		if (dump && strlen(dump) <= MAX_METADATA_BYTES)
			json_object_update_missing(md, c.metadata);
		free(dump);
	}
	json_t *req = json_pack("{s:s,s:o}", "_ac_name", c.name, "metadata", md);
	json_decref(root);
	if (!req) {
		respond_error(r, 500, "internal", "out of memory");
		return;
	}
	create_session(r, req, &q);
	json_decref(req);
}

static void
ac_delete(struct http_ctx *r)
{
	const char *id = r->ac->arg;
	struct session *s = strlen(id) < sizeof(r->sid) ? session_find(id) : NULL;

	if (s && !mine(r, s))
		s = NULL;
	if (!s) {
		respond_error(r, 404, "session_not_found",
			      "Session ID %.64s not found, maybe already deleted", id);
		return;
	}
	delete_session(r, s);
}

/* --- execute --- */

/* The command is over (ex), or could not start (err, the worker's msg):
 * PicoD's answer, always 200. */
static void
ac_exec_done(struct http_ctx *r, const struct ajw_exit *ex, int err, const char *msg)
{
	struct exec_state *x = r->x;
	struct timespec end;
	char extra[640] = "";
	int code = 1;

	x->ended = true;
	count_exec_latency(now_us() - r->t0);
	clock_gettime(CLOCK_REALTIME, &end);
	if (ex) {
		code = compat_exit_code(ex);
		if (ex->flags & AJW_EXIT_TIMED_OUT)
			snprintf(extra, sizeof(extra), "Command timed out after %.0f seconds",
				 r->ac->timeout_ms / 1000.0);
	} else {
		json_t *cmd = json_object_get(r->pending_exec, "command");
		const char *argv0 = json_string_value(json_array_get(cmd, 0));
		compat_exec_failure(argv0 ? argv0 : "", err, msg, extra, sizeof(extra));
	}
	if (extra[0])
		buf_append(&x->err, extra, strlen(extra));
	respond_json(r, 200,
		     compat_exec_json(x->out.data, x->out.len, x->err.data, x->err.len, code,
				      &r->ac->start, &end));
}

/* working_dir made (like mkdir -p): now the command. */
static void
ac_workdir_reply(struct wreq *w, uint32_t type, const char *p, uint32_t len)
{
	struct http_ctx *r = w->owner;

	if (!r)
		return;
	r->w = NULL;
	if (type == AJW_ERROR)
		ac_file_error(r, p, len, AC_WORKDIR);
	else
		exec_start(r, w->s, r->pending_exec);
}

static void
ac_execute(struct http_ctx *r, struct session *s)
{
	char msg[COMPAT_MSG_MAX], cwd[AJW_MAX_PATH + 1] = "";
	struct compat_exec q;
	json_error_t je;
	json_t *root = json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, &je);

	clock_gettime(CLOCK_REALTIME, &r->ac->start);
	if (!root) {
		respond_error(r, 400, "invalid_request", "Invalid request body: %s", je.text);
		return;
	}
	if (compat_parse_execute(root, &q, msg, sizeof(msg)) < 0) {
		respond_error(r, 400, "invalid_request", "%s", msg);
		json_decref(root);
		return;
	}
	if (q.working_dir && ac_path(r, q.working_dir, strlen(q.working_dir), cwd) < 0) {
		json_decref(root);
		return;
	}
	/* PicoD's default is 60 s; the session's maximum caps any. */
	uint64_t ms = q.timeout_ns ? ((uint64_t)q.timeout_ns + 999999) / 1000000 : 60000;
	if (ms > s->exec_timeout_max_ms)
		ms = s->exec_timeout_max_ms;
	r->ac->timeout_ms = (uint32_t)ms;
	/* The native exec request: argv (no shell), cwd in the workspace, the
	 * session's environment and then these variables. */
	json_t *env = json_array(), *v;
	const char *key;
	json_object_foreach(q.env, key, v)
	{
		char *e;
		if (asprintf(&e, "%s=%s", key, json_string_value(v)) >= 0) {
			json_array_append_new(env, json_string(e));
			free(e);
		}
	}
	r->pending_exec = json_pack("{s:O,s:I,s:s,s:o}", "command", q.command, "timeout_ms",
				    (json_int_t)ms, "cwd", cwd, "_env", env);
	json_decref(root);
	if (!r->pending_exec) {
		respond_error(r, 500, "internal", "out of memory");
		return;
	}
	const char *argv0 = json_string_value(json_array_get(q.command, 0));
	if (!argv0 || !argv0[0]) {
		/* Go's LookPath("") fails before anything runs. */
		r->t0 = now_us();
		r->x = calloc(1, sizeof(*r->x));
		if (r->x)
			ac_exec_done(r, NULL, ENOENT, "exec : not found");
		else
			respond_error(r, 500, "internal", "out of memory");
		return;
	}
	if (cwd[0]) {
		uint32_t mode = 0755;
		r->path = strdup(cwd); /* for the messages */
		r->w = wreq_send(s, AJW_MKDIR, &mode, sizeof(mode), cwd, strlen(cwd) + 1,
				 ac_workdir_reply, r);
		if (!r->w)
			respond_error(r, 503, "session_ended", "the session's worker is gone");
		return;
	}
	exec_start(r, s, r->pending_exec);
}

/* --- download and list --- */

static void
ac_get_reply(struct wreq *w, uint32_t type, const char *p, uint32_t len)
{
	struct http_ctx *r = w->owner;
	struct file_state *f;

	if (!r)
		return;
	f = r->f;
	if (type == AJW_ERROR && !f->st.type) {
		r->w = NULL;
		ac_file_error(r, p, len, AC_DOWNLOAD);
		return;
	}
	if (type != AJW_STAT_REPLY) {
		get_reply(w, type, p, len); /* the bytes, the end */
		return;
	}
	if (len < sizeof(f->st)) {
		ac_drop(r, w);
		respond_error(r, 500, "worker_protocol", "malformed stat");
		return;
	}
	memcpy(&f->st, p, sizeof(f->st));
	if (f->st.type == AJW_T_DIR) {
		ac_drop(r, w);
		respond_error(r, 400, "is_a_directory", "Path is a directory, not a file");
		return;
	}
	/* The file name for Content-Disposition, safe in a quoted string. */
	const char *base = strrchr(r->path, '/');
	char name[256], cd[300];
	size_t i;
	base = base ? base + 1 : r->path;
	for (i = 0; base[i] && i + 1 < sizeof(name); i++)
		name[i] = (unsigned char)base[i] < 0x20 || base[i] == 0x7f || base[i] == '"' ||
					  base[i] == '\\'
				  ? '_'
				  : base[i];
	name[i] = '\0';
	snprintf(cd, sizeof(cd), "attachment; filename=\"%s\"", name);
	struct MHD_Response *resp =
		MHD_create_response_from_callback(f->st.size, 64 << 10, file_reader, r, NULL);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/octet-stream");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_DISPOSITION, cd);
	stat_headers(resp, &f->st);
	respond(r, 200, resp);
}

static void
ac_list_reply(struct wreq *w, uint32_t type, const char *p, uint32_t len)
{
	struct http_ctx *r = w->owner;
	struct file_state *f;
	struct ajw_stat st;

	if (!r)
		return;
	f = r->f;
	switch (type) {
	case AJW_STAT_REPLY:
		if (len < sizeof(st)) {
			ac_drop(r, w);
			respond_error(r, 500, "worker_protocol", "malformed stat");
		} else if (memcpy(&st, p, sizeof(st)), st.type != AJW_T_DIR) {
			ac_drop(r, w);
			respond_error(r, 400, "not_a_directory", "Path is not a directory");
		} else {
			f->is_dir = true;
			f->entries = json_array();
		}
		return;
	case AJW_DIRENT:
		if (len <= sizeof(st) || p[len - 1] != '\0' || !f->entries)
			return;
		memcpy(&st, p, sizeof(st));
		json_array_append_new(f->entries, compat_dirent(p + sizeof(st), &st));
		return;
	case AJW_END:
		r->w = NULL;
		respond_json(r, 200, json_pack("{s:O}", "files", f->entries));
		return;
	case AJW_ERROR:
		r->w = NULL;
		ac_file_error(r, p, len, AC_LIST);
		return;
	default: return;
	}
}

/* A GET to the worker for r->path: a download or a listing. */
static void
ac_get(struct http_ctx *r, struct session *s, const char *path, wreq_fn *fn)
{
	r->f = calloc(1, sizeof(*r->f));
	r->path = strdup(path);
	if (!r->f || !r->path) {
		respond_error(r, 500, "internal", "out of memory");
		return;
	}
	r->s = s;
	r->w = wreq_send(s, AJW_GET, path, strlen(path) + 1, NULL, 0, fn, r);
	if (!r->w)
		respond_error(r, 503, "session_ended", "the session's worker is gone");
}

/* --- upload --- */

/* The worker's answer to the upload's STAT: PicoD's FileInfo. */
static void
ac_stat_reply(struct wreq *w, uint32_t type, const char *p, uint32_t len)
{
	struct http_ctx *r = w->owner;
	struct ajw_stat st = {0};

	/* A STAT_REPLY ends a STAT (see head_reply()). */
	if (type == AJW_STAT_REPLY) {
		memcpy(&st, p, len < sizeof(st) ? len : sizeof(st));
		wreq_done(w);
	}
	if (!r)
		return;
	r->w = NULL;
	if (type == AJW_ERROR) {
		ac_file_error(r, p, len, AC_UPLOAD);
	} else if (len < sizeof(st)) {
		respond_error(r, 500, "worker_protocol", "malformed stat");
	} else {
		respond_json(r, 200, compat_file_info(r->path, &st));
	}
}

static void
ac_put_reply(struct wreq *w, uint32_t type, const char *p, uint32_t len)
{
	struct http_ctx *r = w->owner;

	if (!r || type == AJW_READY)
		return;
	r->w = NULL;
	if (type == AJW_ERROR) {
		/* At any time: the rest of the body is read and dropped. */
		r->f->failed = true;
		ac_file_error(r, p, len, AC_UPLOAD);
		return;
	}
	/* Written: what it is now (size, mode, time) is the answer. */
	char size[24];
	snprintf(size, sizeof(size), "%" PRIu64, r->f->put_bytes);
	audit(r, "file.write", w->s->id, (const char *[]){"path", r->path, "size", size, NULL});
	r->w = wreq_send(w->s, AJW_STAT, r->path, strlen(r->path) + 1, NULL, 0, ac_stat_reply, r);
	if (!r->w)
		respond_error(r, 503, "session_ended", "the session's worker is gone");
}

/* Send the PUT for r->path (the file's bytes follow as DATA); the session is
 * looked up again: the body may have taken a while. */
static int
ac_put_begin(struct http_ctx *r, uint64_t size)
{
	struct ac_state *a = r->ac;
	struct ajw_put put = {.mode = a->has_mode ? a->mode : 0644, .size = size};
	struct session *s = session_find(r->sid);

	if (!s) {
		respond_error(r, 404, "session_not_found", "session '%s' not found", r->sid);
		return -EPIPE;
	}
	r->s = s;
	r->w = wreq_send(s, AJW_PUT, &put, sizeof(put), r->path, strlen(r->path) + 1, ac_put_reply,
			 r);
	if (!r->w) {
		respond_error(r, 503, "session_ended", "the session's worker is gone");
		return -EPIPE;
	}
	return 0;
}

static void
ac_upload_abort(struct http_ctx *r)
{
	if (r->w)
		ac_drop(r, r->w);
	if (r->f)
		r->f->failed = true;
}

static int
ac_mp_part(void *cls, const char *name, const char *filename)
{
	struct http_ctx *r = cls;
	struct ac_state *a = r->ac;

	/* The first of each, as Go's FormValue and FormFile take. */
	a->field = AC_F_SKIP;
	if (strcmp(name, "path") == 0 && !a->has_path) {
		a->field = AC_F_PATH;
	} else if (strcmp(name, "mode") == 0 && !a->has_mode) {
		a->field = AC_F_MODE;
	} else if (strcmp(name, "file") == 0 && !a->has_file) {
		a->field = AC_F_FILE;
		a->has_file = true;
		/* The SDK sends path, mode, file: the file streams to the
		 * worker. A path after the file means holding the file. */
		if (a->has_path) {
			if (ac_put_begin(r, 0) < 0)
				return -EPIPE;
			a->streaming = true;
		}
	}
	return 0;
}

static int
ac_mp_data(void *cls, const char *p, size_t n)
{
	struct http_ctx *r = cls;
	struct ac_state *a = r->ac;

	switch (a->field) {
	case AC_F_PATH:
	case AC_F_MODE: {
		struct buf *b = a->field == AC_F_PATH ? &a->path_in : &a->mode_in;
		if (b->len + n > AJW_MAX_PATH) {
			respond_error(r, 400, "invalid_path", "the '%s' field is too long",
				      a->field == AC_F_PATH ? "path" : "mode");
			return -E2BIG;
		}
		return buf_append(b, p, n);
	}
	case AC_F_FILE:
		if (a->streaming) {
			put_data(r, p, n);
			return 0;
		}
		return buf_append(&a->file, p, n);
	case AC_F_NONE:
	case AC_F_SKIP: return 0;
	}
	return 0;
}

static int
ac_mp_end(void *cls)
{
	struct http_ctx *r = cls;
	struct ac_state *a = r->ac;
	char path[AJW_MAX_PATH + 1];

	if (a->field == AC_F_PATH) {
		a->has_path = true;
		if (!a->path_in.len) {
			respond_error(r, 400, "invalid_request", "Missing 'path' field");
			return -EINVAL;
		}
		if (ac_path(r, a->path_in.data ? a->path_in.data : "", a->path_in.len, path) < 0)
			return -EINVAL;
		if (!path[0]) {
			respond_error(r, 400, "is_a_directory", "Path is a directory, not a file");
			return -EINVAL;
		}
		r->path = strdup(path);
		if (!r->path)
			return -ENOMEM;
	} else if (a->field == AC_F_MODE) {
		a->has_mode = true;
		buf_append(&a->mode_in, "", 1);
		a->mode = memchr(a->mode_in.data, '\0', a->mode_in.len - 1)
				  ? 0644
				  : compat_parse_mode(a->mode_in.data);
	}
	a->field = AC_F_NONE;
	return 0;
}

static const struct compat_mp_ops ac_mp_ops = {ac_mp_part, ac_mp_data, ac_mp_end};

/* Body bytes of an upload: a multipart body is parsed as it comes (its
 * file streams to the worker); a JSON one is kept for the end. */
static void
ac_upload_chunk(struct http_ctx *r, const char *p, size_t n)
{
	struct ac_state *a = r->ac;

	a->body_bytes += n;
	if (r->resp)
		return; /* answered: read and drop */
	if (a->body_bytes > r->body_limit) {
		ac_upload_abort(r);
		respond_error(r, 413, "payload_too_large", "request body too large");
		return;
	}
	if (!a->multipart) {
		if (buf_append(&r->body, p, n) < 0)
			respond_error(r, 500, "internal", "out of memory");
		return;
	}
	int e = compat_mp_feed(&a->mp, p, n, &ac_mp_ops, r);
	if (e < 0 && !r->resp) {
		ac_upload_abort(r);
		if (e == -ENOMEM)
			respond_error(r, 500, "internal", "out of memory");
		else
			respond_error(r, 400, "invalid_request", "Failed to parse multipart form");
	} else if (e < 0) {
		ac_upload_abort(r);
	}
}

/* The end of a multipart body. */
static void
ac_upload_multipart(struct http_ctx *r)
{
	struct ac_state *a = r->ac;

	if (!compat_mp_done(&a->mp)) {
		ac_upload_abort(r);
		respond_error(r, 400, "invalid_request",
			      "Failed to parse multipart form: unexpected EOF");
	} else if (!a->has_path) {
		respond_error(r, 400, "invalid_request", "Missing 'path' field");
	} else if (!a->has_file) {
		respond_error(r, 400, "invalid_request", "Failed to get file: http: no such file");
	} else if (a->streaming) {
		if (r->w)
			wreq_more(r->w, AJW_DATA, NULL, 0); /* the end: OK or ERROR follows */
	} else if (ac_put_begin(r, a->file.len) == 0) {
		/* The file came before its path: held, sent now. */
		for (size_t off = 0; off < a->file.len; off += AJW_DATA_CHUNK) {
			size_t k = a->file.len - off;
			wreq_more(r->w, AJW_DATA, a->file.data + off,
				  k > AJW_DATA_CHUNK ? AJW_DATA_CHUNK : k);
		}
		metrics.file_bytes_in += a->file.len;
		buf_free(&a->file);
		wreq_more(r->w, AJW_DATA, NULL, 0);
	}
}

/* The end of a JSON body: {"path", "content" (base64), "mode"}. The
 * base64 is decoded where it lies in the body, and sent from there. */
static void
ac_upload_json(struct http_ctx *r)
{
	char path[AJW_MAX_PATH + 1], *rest = NULL;
	size_t off = 0, n = 0, rest_len = 0, size, bad;
	json_error_t je;
	json_t *root = NULL, *jp, *jc, *jm;
	int k = compat_json_take_string(r->body.data ? r->body.data : "", r->body.len, "content",
					&off, &n, &rest, &rest_len);

	if (k >= 0)
		root = k ? json_loadb(rest, rest_len, 0, &je)
			 : json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, &je);
	free(rest);
	jp = json_object_get(root, "path");
	jc = json_object_get(root, "content");
	jm = json_object_get(root, "mode");
	if (k == -ENOMEM) {
		respond_error(r, 500, "internal", "out of memory");
	} else if (!json_is_object(root) || (jp && !json_is_string(jp) && !json_is_null(jp)) ||
		   (jc && !json_is_string(jc) && !json_is_null(jc)) ||
		   (jm && !json_is_string(jm) && !json_is_null(jm))) {
		respond_error(r, 400, "invalid_request", "Invalid request body");
	} else if (!json_string_length(jp)) {
		respond_error(r, 400, "invalid_request", "Missing 'path' field");
	} else if (k == 0 || !json_is_string(jc)) {
		respond_error(r, 400, "invalid_request", "Missing 'content' field");
	} else if (ac_path(r, json_string_value(jp), json_string_length(jp), path) == 0) {
		char *data = r->body.data + off; /* the base64, unescaped in place */
		r->ac->mode = compat_parse_mode(json_string_value(jm));
		r->ac->has_mode = true;
		if (compat_b64_check(data, n, &size, &bad) < 0) {
			respond_error(
				r, 400, "invalid_request",
				"Invalid base64 content: illegal base64 data at input byte %zu",
				bad);
		} else if (!path[0]) {
			respond_error(r, 400, "is_a_directory", "Path is a directory, not a file");
		} else if ((r->path = strdup(path)) && ac_put_begin(r, size) == 0) {
			size = compat_b64_decode(data, n, data);
			for (size_t o = 0; o < size; o += AJW_DATA_CHUNK)
				wreq_more(r->w, AJW_DATA, data + o,
					  size - o > AJW_DATA_CHUNK ? AJW_DATA_CHUNK : size - o);
			wreq_more(r->w, AJW_DATA, NULL, 0);
			metrics.file_bytes_in += size;
		} else if (!r->resp) {
			respond_error(r, 500, "internal", "out of memory");
		}
	}
	json_decref(root);
	buf_free(&r->body); /* queued for the worker: not needed twice */
}

/* --- the requests --- */

/* With the headers: the session, the body's bound, the transfers that need
 * no body. */
static void
ac_early(struct http_ctx *r)
{
	const struct ajd_limits *dl = &http_cfg->limits;
	const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_LENGTH);
	uint64_t size = cl ? strtoull(cl, NULL, 10) : 0;
	struct ac_state *a = r->ac;
	struct session *s;
	char path[AJW_MAX_PATH + 1];

	if (!a || ((r->route == R_AC_DELETE || r->route == R_AC_FILE) && !a->arg)) {
		respond_error(r, 500, "internal", "out of memory");
		return;
	}
	if (r->route == R_AC_OTHER) {
		respond_error(r, 404, "not_found", "not found");
		return;
	}
	if (r->route == R_AC_CREATE || r->route == R_AC_EXECUTE) {
		r->body_limit = dl->max_json_bytes;
	} else if (r->route == R_AC_FILES && strcmp(r->method, "POST") == 0) {
		/* 32 MiB of file: as multipart, or as base64 in JSON. */
		a->multipart = compat_is_multipart(MHD_lookup_connection_value(
			r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE));
		r->body_limit =
			(a->multipart ? dl->max_body_bytes : (dl->max_body_bytes + 2) / 3 * 4) +
			AC_BODY_SLACK;
	}
	if (size > r->body_limit && (r->body_limit || r->route == R_AC_FILES)) {
		respond_error(r, 413, "payload_too_large", "request body too large");
		return;
	}
	if (r->compat != AC_DATA || !(s = ac_session(r)))
		return;
	r->s = s;
	if (r->route == R_AC_FILE) {
		if (ac_path(r, a->arg, strlen(a->arg), path) == 0)
			ac_get(r, s, path, ac_get_reply);
	} else if (r->route == R_AC_FILES && strcmp(r->method, "GET") == 0) {
		const char *q = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "path");
		if (!q || !q[0])
			respond_error(r, 400, "invalid_request",
				      "path query parameter is required");
		else if (ac_path(r, q, strlen(q), path) == 0)
			ac_get(r, s, path, ac_list_reply);
	} else if (r->route == R_AC_FILES) {
		r->f = calloc(1, sizeof(*r->f));
		if (!r->f) {
			respond_error(r, 500, "internal", "out of memory");
		} else if (a->multipart) {
			const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
								     MHD_HTTP_HEADER_CONTENT_TYPE);
			if (compat_mp_init(&a->mp, ct) < 0)
				respond_error(r, 400, "invalid_request",
					      "Failed to parse multipart form: no multipart "
					      "boundary param in Content-Type");
		} else if (size && !r->body.data) {
			/* All of it is held: one allocation of the right size. */
			r->body.data = malloc(size);
			r->body.cap = r->body.data ? size : 0;
		}
	}
}

static void
ac_dispatch(struct http_ctx *r)
{
	/* A download or a listing is under way since the headers. */
	if (r->route == R_AC_HEALTH)
		respond_json(r, 200, json_pack("{s:s}", "status", r->ac->arg));
	else if (r->route == R_AC_CREATE)
		ac_create(r);
	else if (r->route == R_AC_DELETE)
		ac_delete(r);
	else if (r->route == R_AC_EXECUTE)
		ac_execute(r, r->s);
	else if (r->route == R_AC_FILES && strcmp(r->method, "POST") == 0 && r->ac->multipart)
		ac_upload_multipart(r);
	else if (r->route == R_AC_FILES && strcmp(r->method, "POST") == 0)
		ac_upload_json(r);
}

/* --- agent runtimes: logs and invocations ------------------------------------- */

/* GET /v1/sessions/{id}/logs: the agent's output kept so far; with
 * ?follow=1, then what it writes, until the session ends. */
static void
logs_wake(void *cls)
{
	struct http_ctx *r = cls;

	if (r->suspended) {
		r->suspended = false;
		http_resume(r, r->conn);
	}
}

static ssize_t
logs_reader(void *cls, uint64_t pos, char *out, size_t max)
{
	struct http_ctx *r = cls;
	struct session *s = session_find(r->sid);

	if (r->client_gone)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	size_t n = s && s->state != SESSION_DEAD ? agent_log_read(s, &r->log_pos, out, max) : 0;
	if (n)
		return (ssize_t)n;
	if (!r->following || !s || s->state == SESSION_DEAD || !s->agent)
		return MHD_CONTENT_READER_END_OF_STREAM;
	suspend(r);
	return 0;
}

static void
get_logs(struct http_ctx *r, struct session *s)
{
	const char *f = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "follow");

	if (!s->agent) {
		respond_error(r, 404, "no_agent", "session '%s' runs no agent: it has no log",
			      s->id);
		return;
	}
	r->following = f && (!strcmp(f, "1") || !strcmp(f, "true"));
	if (r->following && agent_log_follow(s, logs_wake, r) < 0) {
		respond_error(r, 429, "too_many_followers", "too many clients follow this log");
		return;
	}
	struct MHD_Response *resp =
		MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 << 10, logs_reader, r, NULL);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	respond(r, 200, resp);
}

/*
 * ANY /v1/sessions/{id}/invocations/{path}: reverse-proxied to the agent's
 * port whose path_prefix is the longest prefix of /{path}. The connection
 * is made by the jail's worker inside the jail (CONNECT) and handed over;
 * the request (minus hop-by-hop headers and the caller's Authorization)
 * and its body stream to the agent, its answer streams back as it comes
 * (chunks and server-sent events included).
 */
#define PX_HIGH_WATER (1u << 20)

struct proxy_state {
	struct watch watch, twatch;
	struct http_ctx *r; /* NULL once its client is gone */
	char sid[32];
	int fd, timer_fd;
	char *head; /* the request head, until connected */
	struct buf out, in;
	bool chunked_up, body_done, answered, ended, failed, head_request;
	struct proxy_resp resp;
	struct wreq *w; /* the CONNECT, until it is answered */
};

static void
px_watch(struct proxy_state *p)
{
	if (p->fd < 0)
		return;
	uint32_t ev = EPOLLRDHUP;
	if (buf_pending(&p->out))
		ev |= EPOLLOUT;
	if (buf_pending(&p->in) < PX_HIGH_WATER && !p->ended)
		ev |= EPOLLIN;
	loop_watch(p->fd, &p->watch, ev);
}

/* The invocation is over on the agent's side. */
static void
px_close(struct proxy_state *p)
{
	if (p->fd >= 0) {
		loop_unwatch(p->fd);
		close(p->fd);
		p->fd = -1;
	}
	if (p->timer_fd >= 0) {
		loop_unwatch(p->timer_fd);
		close(p->timer_fd);
		p->timer_fd = -1;
	}
}

static void
px_free(struct proxy_state *p)
{
	struct session *s = session_find(p->sid);

	px_close(p);
	if (p->w)
		wreq_orphan(p->w);
	if (s && s->busy) {
		s->busy--;
		session_touch(s);
	}
	buf_free(&p->out);
	buf_free(&p->in);
	free(p->head);
	proxy_resp_free(&p->resp);
	free(p);
}

static void
px_wake(struct proxy_state *p)
{
	if (p->r && p->r->suspended) {
		p->r->suspended = false;
		http_resume(p->r, p->r->conn);
	}
}

static void
px_fail(struct proxy_state *p, unsigned status, const char *code, const char *msg)
{
	p->failed = true;
	p->ended = true;
	px_close(p);
	if (p->r && !p->answered) {
		p->answered = true;
		respond_error(p->r, status, code, "%s", msg);
	}
	px_wake(p);
}

static ssize_t
px_reader(void *cls, uint64_t pos, char *out, size_t max)
{
	struct http_ctx *r = cls;
	struct proxy_state *p = r->px;
	size_t n = p ? buf_pending(&p->in) : 0;

	if (r->client_gone)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (!n) {
		if (!p || p->failed)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		if (p->ended)
			return MHD_CONTENT_READER_END_OF_STREAM;
		suspend(r);
		return 0;
	}
	if (n > max)
		n = max;
	memcpy(out, p->in.data + p->in.off, n);
	buf_consume(&p->in, n);
	px_watch(p); /* room again: read the agent */
	return (ssize_t)n;
}

static void
px_body(void *cls, const char *d, size_t n)
{
	buf_append(&((struct proxy_state *)cls)->in, d, n);
}

/* The agent's answer: its head (then the answer starts), then its body. */
static void
px_read(struct proxy_state *p)
{
	char chunk[64 << 10];
	ssize_t n = read(p->fd, chunk, sizeof(chunk));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		if (!p->answered)
			px_fail(p, 502, "agent_unreachable",
				"the agent closed the connection without an answer");
		else if (p->resp.framing != PROXY_CLOSE)
			px_fail(p, 502, "agent_unreachable", "the agent's answer was cut short");
		else {
			p->ended = true;
			px_close(p);
			px_wake(p);
		}
		return;
	}
	size_t used = 0;
	if (!p->answered) {
		int h = proxy_resp_head(&p->resp, chunk, (size_t)n, p->head_request, &used);
		if (h < 0) {
			px_fail(p, 502, "agent_unreachable", "the agent's answer is not HTTP/1.1");
			return;
		}
		if (h == 0)
			return;
		p->answered = true;
		if (p->timer_fd >= 0) { /* the answer started: no more deadline */
			loop_unwatch(p->timer_fd);
			close(p->timer_fd);
			p->timer_fd = -1;
		}
		uint64_t size = p->resp.framing == PROXY_LENGTH	 ? p->resp.length
				: p->resp.framing == PROXY_EMPTY ? 0
								 : MHD_SIZE_UNKNOWN;
		struct MHD_Response *resp =
			MHD_create_response_from_callback(size, 64 << 10, px_reader, p->r, NULL);
		for (size_t i = 0; i < p->resp.n_hdrs; i++)
			MHD_add_response_header(resp, p->resp.hdrs[i].name, p->resp.hdrs[i].value);
		respond(p->r, p->resp.status, resp);
	}
	bool done = false;
	if (proxy_resp_body(&p->resp, chunk + used, (size_t)n - used, px_body, p, &done) < 0) {
		px_fail(p, 502, "agent_unreachable", "the agent's answer is malformed");
		return;
	}
	if (done) {
		p->ended = true;
		px_close(p);
	}
	px_wake(p);
	px_watch(p);
}

void
api_proxy_event(void *ptr, uint32_t events)
{
	struct watch *w = ptr;
	struct proxy_state *p = w->ptr;

	if (w == &p->twatch) {
		px_fail(p, 504, "agent_timeout", "the agent did not answer in time");
		return;
	}
	if (events & EPOLLOUT) {
		while (buf_pending(&p->out)) {
			ssize_t n = write(p->fd, p->out.data + p->out.off, buf_pending(&p->out));
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				break;
			if (n < 0) {
				px_fail(p, 502, "agent_unreachable",
					"the agent closed the connection");
				return;
			}
			buf_consume(&p->out, (size_t)n);
		}
		if (p->r && buf_pending(&p->out) < PX_HIGH_WATER / 2)
			px_wake(p); /* more of the client's body may come */
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP))
		px_read(p);
	if (p->fd >= 0)
		px_watch(p);
}

static void
px_connected(struct wreq *w, uint32_t type, const char *pl, uint32_t len)
{
	struct proxy_state *p = w->owner;

	if (!p)
		return;
	p->w = NULL;
	if (type != AJW_CONNECTED) {
		const char *msg = len > sizeof(struct ajw_error) && pl[len - 1] == '\0'
					  ? pl + sizeof(struct ajw_error)
					  : "the agent is unreachable";
		px_fail(p, 502, "agent_unreachable", msg);
		return;
	}
	p->fd = wreq_take_fd(w);
	fcntl(p->fd, F_SETFL, fcntl(p->fd, F_GETFL) | O_NONBLOCK);
	/* The head goes first: whatever of the body came meanwhile follows. */
	struct buf b = {0};
	buf_append(&b, p->head, strlen(p->head));
	buf_append(&b, p->out.data + p->out.off, buf_pending(&p->out));
	buf_free(&p->out);
	p->out = b;
	free(p->head);
	p->head = NULL;
	p->watch = (struct watch){WATCH_PROXY, p};
	px_watch(p);
}

/* The target as the agent sees it: /{path}, and the query, re-encoded. */
static enum MHD_Result
px_query_arg(void *cls, enum MHD_ValueKind kind, const char *k, const char *v)
{
	FILE *f = cls;
	static const char *safe = "-._~";
	const char *s[2] = {k, v};

	fputc(ftell(f) ? '&' : '?', f);
	for (int j = 0; j < 2 && s[j]; j++) {
		if (j)
			fputc('=', f);
		for (const unsigned char *c = (const unsigned char *)s[j]; *c; c++)
			if (isalnum(*c) || strchr(safe, *c))
				fputc(*c, f);
			else
				fprintf(f, "%%%02X", *c);
	}
	return MHD_YES;
}

struct hdrs {
	struct proxy_hdr v[100];
	size_t n;
};

static enum MHD_Result
px_header(void *cls, enum MHD_ValueKind kind, const char *k, const char *v)
{
	struct hdrs *h = cls;

	if (h->n < ARRAY_SIZE(h->v))
		h->v[h->n++] = (struct proxy_hdr){k, v ? v : ""};
	return MHD_YES;
}

static void
invoke(struct http_ctx *r, struct session *s)
{
	uint16_t port;
	char *q = NULL, target[AJW_MAX_PATH + 2];
	size_t qlen = 0;

	if (!s->agent) {
		respond_error(r, 404, "no_agent", "session '%s' runs no agent", s->id);
		return;
	}
	if (!agent_is_ready(s)) {
		respond_error(r, 503, "agent_not_ready", "the session's agent is not ready");
		return;
	}
	snprintf(target, sizeof(target), "/%s", r->path ? r->path : "");
	if (!agent_port(s, target, &port)) {
		respond_error(r, 404, "no_agent_port", "no port of the agent serves '%.200s'",
			      target);
		return;
	}
	FILE *f = open_memstream(&q, &qlen);
	if (f) {
		MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, px_query_arg, f);
		fclose(f);
	}
	char *full = NULL;
	if (asprintf(&full, "%s%s", target, q ? q : "") < 0)
		full = NULL;
	free(q);
	struct hdrs h = {.n = 0};
	MHD_get_connection_values(r->conn, MHD_HEADER_KIND, px_header, &h);
	const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_LENGTH);
	const char *te = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_TRANSFER_ENCODING);
	int64_t length = cl ? (int64_t)strtoull(cl, NULL, 10) : te ? -1 : 0;
	struct proxy_state *p = calloc(1, sizeof(*p));
	if (!p || !full ||
	    !(p->head = proxy_request_head(r->method, full, h.v, h.n, port,
					   r->who.unix_peer ? NULL : r->who.client, length))) {
		free(full);
		free(p);
		respond_error(r, 400, "invalid_request",
			      "the request cannot be passed on (a header with CR or LF?)");
		return;
	}
	free(full);
	p->r = r;
	p->fd = -1;
	p->chunked_up = length < 0;
	p->body_done = length == 0;
	p->head_request = !strcmp(r->method, "HEAD");
	snprintf(p->sid, sizeof(p->sid), "%s", s->id);
	p->twatch = (struct watch){WATCH_PROXY, p};
	/* A deadline for the answer to start: the session's exec timeout. */
	p->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (p->timer_fd >= 0) {
		struct itimerspec its = {.it_value = {(time_t)(s->exec_timeout_ms / 1000),
						      (long)(s->exec_timeout_ms % 1000) * 1000000}};
		timerfd_settime(p->timer_fd, 0, &its, NULL);
		loop_watch(p->timer_fd, &p->twatch, EPOLLIN);
	}
	r->px = p;
	s->busy++;
	if (r->body.len) { /* what came while the session was being made */
		struct buf held = r->body;
		r->body = (struct buf){0};
		invoke_body(r, held.data, held.len);
		buf_free(&held);
	}
	if (r->invoke_body_done)
		invoke_body_end(r);
	struct ajw_connect c = {.port = port, .timeout_ms = 5000};
	p->w = wreq_send(s, AJW_CONNECT, &c, sizeof(c), NULL, 0, px_connected, p);
	if (!p->w)
		px_fail(p, 503, "session_ended", "the session's worker is gone");
}

/* A piece of the client's body for the agent. false: not now (full). */
static bool
invoke_body(struct http_ctx *r, const char *d, size_t n)
{
	struct proxy_state *p = r->px;

	if (!p && r->resp)
		return true; /* dropped: the answer is an error already */
	if (!p) {
		/* The session is being made (AgentCube): kept until it is. */
		if (r->body.len + n > http_cfg->limits.max_body_bytes)
			return true; /* cut: the agent sees a short body, and says so */
		buf_append(&r->body, d, n);
		return true;
	}
	if (p->failed)
		return true;
	if (buf_pending(&p->out) > PX_HIGH_WATER)
		return false;
	if (p->chunked_up) {
		char hx[24];
		int k = snprintf(hx, sizeof(hx), "%zx\r\n", n);
		buf_append(&p->out, hx, (size_t)k);
	}
	buf_append(&p->out, d, n);
	if (p->chunked_up)
		buf_append(&p->out, "\r\n", 2);
	px_watch(p);
	return true;
}

static void
invoke_body_end(struct http_ctx *r)
{
	struct proxy_state *p = r->px;

	if (!p) {
		r->invoke_body_done = true;
		return;
	}
	if (p->body_done)
		return;
	p->body_done = true;
	if (p->chunked_up)
		buf_append(&p->out, "0\r\n\r\n", 5);
	px_watch(p);
}

/*
 * AgentCube's agent runtimes: /v1/namespaces/{ns}/agent-runtimes/{name}/
 * invocations/{path}, as its Router serves them. With x-agentcube-session-id
 * the invocation goes to that session's agent; without, a session of the
 * profile that {name} maps to (the "agentcube" configuration) is created
 * first, and its id comes back in that header.
 */
static bool
ac_agent_route(struct http_ctx *r, const char *url)
{
	static const char ns[] = "/v1/namespaces/", ar[] = "agent-runtimes/";
	const char *p;
	size_t n;

	if (strncmp(url, ns, sizeof(ns) - 1) != 0)
		return false;
	p = url + sizeof(ns) - 1;
	n = strcspn(p, "/");
	if (n == 0 || p[n] != '/' || strncmp(p + n + 1, ar, sizeof(ar) - 1) != 0)
		return false;
	p += n + sizeof(ar);
	n = strcspn(p, "/");
	if (n == 0 || n > JAIL_MAX_NAME || p[n] != '/' || strncmp(p + n + 1, "invocations", 11) ||
	    (p[n + 12] && p[n + 12] != '/'))
		return false;
	r->route = R_INVOKE;
	r->compat = AC_DATA;
	r->ac_agent = strndup(p, n);
	p += n + 12;
	r->path = strdup(*p ? p + 1 : "");
	return true;
}

/* The invocation of an AgentCube agent runtime: its session, or a new one. */
static void
ac_agent_early(struct http_ctx *r)
{
	const char *id =
		MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "x-agentcube-session-id");

	if (!r->ac_agent || !r->path) {
		respond_error(r, 500, "internal", "out of memory");
		return;
	}
	if (id) {
		struct session *s = strlen(id) < sizeof(r->sid) ? session_find(id) : NULL;
		if (s && !mine(r, s))
			s = NULL;
		if (!s) {
			respond_error(r, 404, "session_not_found", "session '%.64s' not found", id);
			return;
		}
		snprintf(r->sid, sizeof(r->sid), "%s", s->id);
		r->s = s;
		session_touch(s);
		invoke(r, s);
		return;
	}
	const char *profile = ajd_agentcube_profile(http_cfg, r->ac_agent);
	if (!profile_info(profile)) {
		respond_error(r, 404, "unknown_profile", "agent runtime '%s' not found",
			      r->ac_agent);
		return;
	}
	struct create_req q = {.profile = profile};
	json_t *req = json_pack("{s:s,s:{s:{s:s}}}", "_ac_name", r->ac_agent, "metadata",
				"agentcube", "name", r->ac_agent);
	if (!req) {
		respond_error(r, 500, "internal", "out of memory");
		return;
	}
	q.metadata = json_object_get(req, "metadata");
	create_session(r, req, &q);
	json_decref(req);
}

/* --- routing and the MHD handler ----------------------------------------- */

static void
route(struct http_ctx *r, const char *url)
{
	const char *p;

	r->route = R_NONE;
	if (ac_agent_route(r, url) || ac_route(r, url))
		return;
	if (strcmp(url, "/health") == 0)
		r->route = R_HEALTH;
	else if (strcmp(url, "/metrics") == 0)
		r->route = R_METRICS;
	else if (strcmp(url, "/v1/profiles") == 0)
		r->route = R_PROFILES;
	else if (strcmp(url, "/v1/pools") == 0)
		r->route = R_POOLS;
	else if (strcmp(url, "/v1/run") == 0)
		r->route = R_RUN;
	else if (strcmp(url, "/v1/sessions") == 0 || strcmp(url, "/v1/sessions/") == 0)
		r->route = R_SESSIONS;
	else if (strncmp(url, "/v1/sessions/", 13) == 0) {
		p = url + 13;
		size_t n = strcspn(p, "/");
		if (n == 0 || n >= sizeof(r->sid))
			return;
		memcpy(r->sid, p, n);
		r->sid[n] = '\0';
		p += n;
		if (!*p)
			r->route = R_SESSION;
		else if (strcmp(p, "/exec") == 0)
			r->route = R_EXEC;
		else if (strcmp(p, "/logs") == 0)
			r->route = R_LOGS;
		else if (strcmp(p, "/invocations") == 0 || strncmp(p, "/invocations/", 13) == 0) {
			r->route = R_INVOKE;
			/* MHD decoded the URL already: decode nothing twice. */
			r->path = strdup(p[12] == '/' ? p + 13 : "");
		} else if (strcmp(p, "/files") == 0 || strncmp(p, "/files/", 7) == 0) {
			r->route = R_FILES;
			/* MHD decoded the URL already: decode nothing twice. */
			r->path = strdup(p[6] == '/' ? p + 7 : "");
		}
	}
}

static const char *
allowed(enum route rt)
{
	switch (rt) {
	case R_HEALTH:
	case R_METRICS:
	case R_PROFILES:
	case R_POOLS: return "GET, HEAD";
	case R_SESSIONS: return "GET, POST";
	case R_SESSION: return "GET, DELETE";
	case R_EXEC:
	case R_RUN: return "POST";
	case R_LOGS: return "GET, HEAD";
	case R_INVOKE: return "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";
	case R_FILES: return "GET, HEAD, PUT, DELETE, POST";
	case R_AC_HEALTH:
	case R_AC_FILE: return "GET";
	case R_AC_CREATE:
	case R_AC_EXECUTE: return "POST";
	case R_AC_DELETE: return "DELETE";
	case R_AC_FILES:
	case R_AC_OTHER: return "GET, POST";
	case R_NONE: return "";
	}
	return "";
}

static bool
method_ok(struct http_ctx *r)
{
	char m[16];
	snprintf(m, sizeof(m), "%s", r->method);
	const char *a = allowed(r->route);
	const char *hit = strstr(a, m);
	return hit && (hit[strlen(m)] == ',' || hit[strlen(m)] == '\0');
}

static bool
wants_json_body(struct http_ctx *r)
{
	return strcmp(r->method, "POST") == 0 && r->route != R_FILES && r->route != R_INVOKE;
}

/* Checks made with the headers, before any body is read. */
static void
early(struct http_ctx *r)
{
	if (r->route == R_NONE) {
		respond_error(r, 404, "not_found", "no such endpoint");
		return;
	}
	if (!method_ok(r)) {
		respond_error(r, 405, "method_not_allowed", "%s is not allowed here (allowed: %s)",
			      r->method, allowed(r->route));
		MHD_add_response_header(r->resp, MHD_HTTP_HEADER_ALLOW, allowed(r->route));
		return;
	}
	if (r->route == R_INVOKE && r->ac_agent) {
		ac_agent_early(r);
		return;
	}
	if (r->compat) {
		ac_early(r);
		return;
	}
	if (r->route == R_METRICS && !r->who.admin &&
	    !(r->who.unix_peer && http_cfg->auth.metrics_open_on_unix)) {
		respond_error(r, 403, "forbidden", "/metrics is for administrators");
		return;
	}
	if (r->sid[0]) {
		r->s = session_find(r->sid);
		if (r->s && !mine(r, r->s))
			r->s = NULL; /* someone else's: as if there were none */
		if (!r->s && session_was_reaped(r->sid, r->owner)) {
			respond_error(r, 404, "session_expired",
				      "session '%.32s' was ended by the reaper (idle or too old)",
				      r->sid);
			return;
		}
		if (!r->s) {
			respond_error(r, 404, "session_not_found", "no session '%.32s'", r->sid);
			return;
		}
		session_touch(r->s);
	}
	if (wants_json_body(r)) {
		const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_TYPE);
		if (ct && strncmp(ct, "application/json", 16) != 0) {
			respond_error(r, 415, "unsupported_media_type",
				      "Content-Type '%.64s': expected application/json", ct);
			return;
		}
		const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);
		r->body_limit = http_cfg->limits.max_json_bytes;
		if (cl && strtoull(cl, NULL, 10) > r->body_limit) {
			respond_error(r, 413, "payload_too_large",
				      "a JSON body is limited to %" PRIu64 " bytes", r->body_limit);
			return;
		}
	}
	if (r->route == R_FILES && r->path && strlen(r->path) > AJW_MAX_PATH) {
		respond_error(r, 400, "invalid_path", "the path is longer than %d bytes",
			      AJW_MAX_PATH);
		return;
	}
	if (r->route == R_FILES)
		files_start(r, r->s);
	if (r->route == R_INVOKE)
		invoke(r, r->s); /* at once: the body streams to the agent */
}

static void
health(struct http_ctx *r)
{
	respond_json(r, 200,
		     json_pack("{s:s,s:I,s:b,s:s}", "status", "ok", "sessions",
			       (json_int_t)session_count(), "insecure_no_auth",
			       http_cfg->insecure_no_auth, "version", "0.1.0"));
}

/* The profiles without their host paths (bind sources, a host workspace,
 * a rootfs): what a tenant who is not an administrator sees. */
static json_t *
profiles_public(const json_t *ps)
{
	json_t *out = json_deep_copy(ps), *p, *m;
	size_t i, k;

	json_array_foreach(out, i, p)
	{
		json_object_del(p, "workspace_host_dir");
		json_object_del(p, "rootfs");
		json_array_foreach(json_object_get(p, "mounts"), k, m) json_object_del(m, "source");
	}
	return out ? out : json_array();
}

static void
dispatch(struct http_ctx *r)
{
	/* The session may have ended (and been freed) while the body came. */
	if (r->sid[0] && !(r->s = session_find(r->sid))) {
		if (r->compat)
			respond_error(r, 404, "session_not_found", "session '%s' not found",
				      r->sid);
		else
			respond_error(r, 503, "session_ended", "the session ended");
		return;
	}
	switch (r->route) {
	case R_HEALTH: health(r); return;
	case R_METRICS: {
		char *m = api_metrics();
		struct MHD_Response *resp = MHD_create_response_from_buffer(
			m ? strlen(m) : 0, m ? m : "",
			m ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
					"text/plain; version=0.0.4");
		respond(r, 200, resp);
		return;
	}
	case R_PROFILES: {
		json_t *ps = http_profiles();
		respond_json(r, 200,
			     json_pack("{s:o}", "profiles",
				       ps ? r->who.admin ? json_incref(ps) : profiles_public(ps)
					  : json_array()));
		return;
	}
	case R_POOLS: {
		json_t *ps = http_pools();
		respond_json(r, 200,
			     json_pack("{s:o}", "pools", ps ? json_incref(ps) : json_array()));
		return;
	}
	case R_SESSIONS:
		if (strcmp(r->method, "GET") == 0)
			list_sessions(r);
		else
			post_sessions(r);
		return;
	case R_SESSION:
		if (strcmp(r->method, "GET") == 0)
			respond_json(r, 200, session_json(r->s));
		else
			delete_session(r, r->s);
		return;
	case R_EXEC: post_exec(r, r->s); return;
	case R_RUN: post_run(r); return;
	case R_FILES: files_complete(r); return;
	case R_LOGS: get_logs(r, r->s); return;
	case R_INVOKE: invoke_body_end(r); return;
	case R_AC_HEALTH:
	case R_AC_CREATE:
	case R_AC_DELETE:
	case R_AC_EXECUTE:
	case R_AC_FILES:
	case R_AC_FILE:
	case R_AC_OTHER: ac_dispatch(r); return;
	case R_NONE: return;
	}
}

/* Who asks (auth.h): the tenant, or a refusal. */
static int
authenticate(struct http_ctx *r)
{
	struct auth_fail f;

	if (auth_request(r->conn, &r->who, &f) < 0) {
		respond_error(r, f.status, f.code, "%s", f.msg);
		if (f.status == 401)
			MHD_add_response_header(r->resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
						"Bearer");
		if (f.retry_after_s) {
			char ra[16];
			snprintf(ra, sizeof(ra), "%u", f.retry_after_s);
			MHD_add_response_header(r->resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
		}
		return -1;
	}
	snprintf(r->owner, sizeof(r->owner), "%s", r->who.tenant);
	return 0;
}

static enum MHD_Result queue(struct http_ctx *r);

/* An answer found with the headers. A small body still coming is read
 * (and dropped) first: answering and closing while the client sends
 * makes it fail on a broken pipe, or lose the answer to a reset, rather
 * than see the error. Small: up to limits.max_json_bytes; a larger one is
 * not waited for. */
static enum MHD_Result
early_answer(struct http_ctx *r)
{
	const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_LENGTH);
	uint64_t n = cl ? strtoull(cl, NULL, 10) : 0;

	if (n > 0 && n <= http_cfg->limits.max_json_bytes && r->status != 413)
		return MHD_YES; /* queued once the body is in */
	return queue(r);
}

static enum MHD_Result
queue(struct http_ctx *r)
{
	enum MHD_Result ret = MHD_queue_response(r->conn, r->status, r->resp);
	MHD_destroy_response(r->resp);
	r->resp = NULL;
	return ret;
}

enum MHD_Result
api_handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
	   const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct http_ctx *r = *con_cls;

	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r)
			return MHD_NO;
		r->watch = (struct watch){WATCH_CLIENT, r};
		r->conn = conn;
		snprintf(r->method, sizeof(r->method), "%s", method);
		*con_cls = r;
		metrics.requests++;
		route(r, url);
		if (r->route != R_HEALTH && r->route != R_AC_HEALTH && authenticate(r) < 0)
			return early_answer(r);
		early(r);
		if (r->resp)
			return early_answer(r);
		return MHD_YES;
	}
	if (*upload_data_size && r->resp) {
		*upload_data_size = 0; /* answered already: the body is read and dropped */
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (r->route == R_INVOKE) {
			if (!invoke_body(r, upload_data, *upload_data_size)) {
				suspend(r); /* the agent reads slower than the client sends */
				return MHD_YES;
			}
		} else if (r->route == R_FILES && strcmp(r->method, "PUT") == 0) {
			put_data(r, upload_data, *upload_data_size);
		} else if (r->route == R_AC_FILES) {
			ac_upload_chunk(r, upload_data, *upload_data_size);
		} else if (!r->body_too_large) {
			if (r->body.len + *upload_data_size > r->body_limit)
				r->body_too_large = true;
			else
				buf_append(&r->body, upload_data, *upload_data_size);
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (r->client_gone)
		return MHD_NO; /* close the connection: api_completed follows */
	if (r->resp)
		return queue(r);
	if (!r->dispatched) {
		r->dispatched = true;
		if (r->body_too_large && r->compat)
			respond_error(r, 413, "payload_too_large", "request body too large");
		else if (r->body_too_large)
			respond_error(r, 413, "payload_too_large",
				      "a JSON body is limited to %" PRIu64 " bytes", r->body_limit);
		else
			dispatch(r);
		if (r->resp)
			return queue(r);
	}
	/* Nothing to answer yet (first time, or resumed early): wait again,
	 * rather than have MHD call us in a loop. */
	suspend(r);
	return MHD_YES;
}

/* The request is over (answered, or its client gone): nothing may refer to
 * it afterwards. */
void
api_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
	      enum MHD_RequestTerminationCode toe)
{
	struct http_ctx *r = *con_cls;

	if (!r)
		return;
	*con_cls = NULL;
	for (struct http_ctx **pp = &waiters; *pp; pp = &(*pp)->next_waiter)
		if (*pp == r) {
			*pp = r->next_waiter;
			break;
		}
	if (r->w) {
		/* Its client went away: a running command is cancelled ("If
		 * the client disconnects, the command is killed"). */
		if (r->x && !r->x->ended)
			wreq_more(r->w, AJW_CANCEL, NULL, 0);
		if (is_upload(r) && !r->f->failed)
			wreq_more(r->w, AJW_CANCEL, NULL, 0);
		wreq_orphan(r->w);
		if (r->s && r->s->paused_in)
			session_pause_input(r->s, false);
	}
	if (r->waiting_priv)
		priv_orphan(r);
	if (r->creating)
		creating_del(r);
	if (r->px) {
		r->px->r = NULL;
		px_free(r->px);
	}
	/* A call's end is activity too: the idle time counts from it. */
	struct session *ts = r->sid[0] ? session_find(r->sid) : NULL;
	if (ts && ts->state != SESSION_DEAD && mine(r, ts))
		session_touch(ts);
	struct session *ls = r->following || r->waiting_agent ? session_find(r->sid) : NULL;
	if (ls && r->following)
		agent_log_unfollow(ls, r);
	if (r->waiting_agent && r->s) {
		/* Its client went away before the agent was ready. */
		agent_cancel_wait(r->s);
		session_end(r->s, "cancelled", false);
	}
	if (r->resp)
		MHD_destroy_response(r->resp);
	if (r->x && r->x->one_shot && r->s && !r->x->ended)
		session_end(r->s, "run_cancelled", false);
	exec_free(r->x);
	if (r->f) {
		buf_free(&r->f->data);
		json_decref(r->f->entries);
		free(r->f);
	}
	json_decref(r->pending_exec);
	ac_free(r->ac);
	buf_free(&r->body);
	free(r->path);
	free(r->ac_agent);
	free(r);
}

void
api_client_gone(struct http_ctx *r)
{
	/* The client hung up while we waited for its answer: stop the work
	 * at once ("if the client disconnects, the command is killed"), then
	 * let MHD close the connection (the handler or the reader says so). */
	if (r->client_gone)
		return;
	r->client_gone = true;
	if (r->w) {
		if ((r->x && !r->x->ended) || is_upload(r))
			wreq_more(r->w, AJW_CANCEL, NULL, 0);
		wreq_orphan(r->w);
		r->w = NULL;
	}
	if (r->suspended) {
		r->suspended = false;
		http_resume(r, r->conn);
	}
}
