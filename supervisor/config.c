/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agentjaild.json: the daemon's configuration, format 1.
 *
 * The schema is the tables below, walked by jail/json.c: unknown and
 * duplicate keys, wrong types and out-of-range values are errors naming the
 * file and the JSON path. Each kind of value (the strings, the limits) is
 * described once, in a table that both the loader and ajd_config_validate()
 * use, so that a value set from the command line is held to the same
 * bounds as one read from the file.
 *
 * See agentjaild.conf(5).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "json.h"

#define AJD_ID_MAX 4294967294ull /* (uid_t)-1 is "no id" */

#define KIB (1ull << 10)
#define MIB (1ull << 20)
#define GIB (1ull << 30)

/* --- checks shared by the loader and the validator ---------------------- */

/* An absolute, normalized path, not "/" itself. */
static bool
ajd_path_ok(const char *p)
{
	return jail_path_normal(p, false);
}

/* Relative, below the cgroup v2 mount: what jail_cgroup_setup() takes
 * (which refuses any "..") and nothing it would have to normalize. */
static bool
ajd_cgroup_ok(const char *p)
{
	if (p[0] == '/' || strstr(p, ".."))
		return false;
	for (const char *s = p;; s++) {
		const char *end = strchrnul(s, '/');
		size_t len = (size_t)(end - s);

		if (len == 0 || (len == 1 && s[0] == '.'))
			return false;
		if (!*end)
			return true;
		s = end;
	}
}

/* A decimal id (uid or gid) of at most 10 digits, not (uid_t)-1. */
static bool
ajd_numeric_id(const char *s, uint64_t *ret)
{
	size_t n = strlen(s);

	if (n == 0 || n > 10 || strspn(s, "0123456789") != n)
		return false;
	*ret = strtoull(s, NULL, 10);
	return *ret <= AJD_ID_MAX;
}

/* A user or group name as useradd(8) and groupadd(8) take portably. A name
 * of digits only is an id, as chown(1) reads it. */
static bool
ajd_id_name_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= AJD_ID_NAME_MAX && s[0] != '-' &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

static bool
ajd_group_ok(const char *s)
{
	uint64_t id;

	return ajd_numeric_id(s, &id) ||
	       (strspn(s, "0123456789") != strlen(s) && ajd_id_name_ok(s));
}

/* The HTTP process parses untrusted input: never root, by name or by id.
 * (A name that resolves to uid 0 is the daemon's to refuse, at run time.) */
static bool
ajd_user_ok(const char *s)
{
	uint64_t id;

	if (strspn(s, "0123456789") == strlen(s))
		return ajd_numeric_id(s, &id) && id != 0;
	return ajd_id_name_ok(s) && strcmp(s, "root") != 0;
}

/* As profile names are: the daemon looks up PROFILES_DIR/NAME.json. */
static bool
ajd_profile_name_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= JAIL_MAX_NAME &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

#define EXPECT_PATH "an absolute path without '.', '..' or empty components (at most 4095 bytes)"
#define EXPECT_USER                                                                                \
	"an unprivileged user: a name of 1 to 32 characters of [A-Za-z0-9._-] not starting with "  \
	"'-', other than root, or a numeric uid from 1 to 4294967294"
#define EXPECT_GROUP                                                                               \
	"a group: a name of 1 to 32 characters of [A-Za-z0-9._-] not starting with '-', or a "     \
	"numeric gid from 0 to 4294967294"
#define EXPECT_PROFILE "a profile name (1 to 64 characters of [A-Za-z0-9._-])"
#define EXPECT_CGROUP                                                                              \
	"a relative path below the cgroup v2 mount (no leading '/', no '..', '.' or empty "        \
	"components, at most 1024 bytes)"
#define EXPECT_MODE	   "a string of octal digits such as \"0660\" (0000 to 0777)"
#define EXPECT_LISTEN_UNIX "\"unix:/abs/path\""
#define EXPECT_LISTEN_ANY  "\"unix:/abs/path\", \"HOST:PORT\" or \"[V6]:PORT\""

/* The string settings, each with its rule. */
enum {
	AJD_S_SOCKET_GROUP,
	AJD_S_HTTP_USER,
	AJD_S_PROFILES_DIR,
	AJD_S_DEFAULT_PROFILE,
	AJD_S_RUNTIME_DIR,
	AJD_S_CGROUP_PARENT,
	AJD_S_WORKER,
};

struct ajd_string_rule {
	const char *key;
	size_t off, size; /* the char array in struct ajd_config */
	bool (*ok)(const char *s);
	const char *expect;
	bool nullable; /* null, and "" in the struct, mean "not set" */
	bool integer;  /* a JSON integer is taken as its decimal text (an id) */
};

#define STR(m) offsetof(struct ajd_config, m), sizeof(((struct ajd_config *)0)->m)

static const struct ajd_string_rule ajd_strings[] = {
	[AJD_S_SOCKET_GROUP] = {"socket_group", STR(socket_group), ajd_group_ok, EXPECT_GROUP, true,
				true},
	[AJD_S_HTTP_USER] = {"http_user", STR(http_user), ajd_user_ok, EXPECT_USER, false, true},
	[AJD_S_PROFILES_DIR] = {"profiles_dir", STR(profiles_dir), ajd_path_ok, EXPECT_PATH, false,
				false},
	[AJD_S_DEFAULT_PROFILE] = {"default_profile", STR(default_profile), ajd_profile_name_ok,
				   EXPECT_PROFILE, false, false},
	[AJD_S_RUNTIME_DIR] = {"runtime_dir", STR(runtime_dir), ajd_path_ok, EXPECT_PATH, false,
			       false},
	[AJD_S_CGROUP_PARENT] = {"cgroup_parent", STR(cgroup_parent), ajd_cgroup_ok, EXPECT_CGROUP,
				 true, false},
	[AJD_S_WORKER] = {"worker", STR(worker), ajd_path_ok, EXPECT_PATH, true, false},
};

/* Check s against rule r: -EINVAL with "expected ..., got ..." (no prefix). */
static int
ajd_check_string(const struct ajd_string_rule *r, const char *s, struct jail_error *e)
{
	size_t n = strlen(s);
	char q[80];

	if (n >= r->size)
		return jerr_plain(e, EINVAL, "expected %s, got %zu bytes", r->expect, n);
	if (!r->ok(s))
		return jerr_plain(e, EINVAL, "expected %s, got '%s'", r->expect,
				  json_quote(s, q, sizeof(q)));
	return 0;
}

/* The numeric limits: sizes (uint64_t, an integer or a size string) and
 * counts (uint32_t, an integer). */
#define AJD_LIMITS(X)                                                                              \
	X(max_body_bytes, true, KIB, GIB)                                                          \
	X(max_json_bytes, true, KIB, 64 * MIB)                                                     \
	X(max_header_bytes, true, KIB, MIB)                                                        \
	X(max_connections, false, 1, 65536)                                                        \
	X(max_connections_per_client, false, 1, 65536)                                             \
	X(connection_timeout_s, false, 1, 3600)                                                    \
	X(max_execs_per_session, false, 1, 1024)                                                   \
	X(max_execs_total, false, 1, 65536)                                                        \
	X(max_sessions, false, 1, 100000)                                                          \
	X(max_output_bytes, true, KIB, GIB)                                                        \
	X(exec_timeout_ms, false, 1, 86400000)                                                     \
	X(idle_timeout_s, false, 1, 604800)                                                        \
	X(max_lifetime_s, false, 1, 2592000)

enum {
#define X(key, size, min, max) AJD_L_##key,
	AJD_LIMITS(X)
#undef X
};

struct ajd_limit_rule {
	const char *key;
	size_t off;
	bool size; /* uint64_t bytes; otherwise a uint32_t count */
	uint64_t min, max;
};

static const struct ajd_limit_rule ajd_limits[] = {
#define X(key, sz, lo, hi)                                                                         \
	[AJD_L_##key] = {#key, offsetof(struct ajd_config, limits.key), sz, lo, hi},
	AJD_LIMITS(X)
#undef X
};

static uint64_t
ajd_limit_get(const struct ajd_config *c, const struct ajd_limit_rule *l)
{
	const char *p = (const char *)c + l->off;

	return l->size ? *(const uint64_t *)(const void *)p : *(const uint32_t *)(const void *)p;
}

static void
ajd_limit_set(struct ajd_config *c, const struct ajd_limit_rule *l, uint64_t v)
{
	char *p = (char *)c + l->off;

	if (l->size)
		*(uint64_t *)(void *)p = v;
	else
		*(uint32_t *)(void *)p = (uint32_t)v; /* v <= l->max < 2^32 */
}

/* "1 KiB", "64 MiB", "1000 bytes": bounds as people write them. */
static const char *
ajd_bytes(uint64_t v, char *buf, size_t size)
{
	if (v >= GIB && v % GIB == 0)
		snprintf(buf, size, "%llu GiB", (unsigned long long)(v / GIB));
	else if (v >= MIB && v % MIB == 0)
		snprintf(buf, size, "%llu MiB", (unsigned long long)(v / MIB));
	else if (v >= KIB && v % KIB == 0)
		snprintf(buf, size, "%llu KiB", (unsigned long long)(v / KIB));
	else
		snprintf(buf, size, "%llu bytes", (unsigned long long)v);
	return buf;
}

/* Check v against l; got is how the value was written. */
static int
ajd_check_limit(const struct ajd_limit_rule *l, uint64_t v, const char *got, struct jail_error *e)
{
	char lo[32], hi[32];

	if (v >= l->min && v <= l->max)
		return 0;
	if (l->size)
		return jerr_plain(e, EINVAL, "expected a size from %s to %s, got %s",
				  ajd_bytes(l->min, lo, sizeof(lo)),
				  ajd_bytes(l->max, hi, sizeof(hi)), got);
	return jerr_plain(e, EINVAL, "expected an integer from %llu to %llu, got %s",
			  (unsigned long long)l->min, (unsigned long long)l->max, got);
}

/* --- listen addresses --------------------------------------------------- */

/* "1" to "65535", digits only. */
static bool
ajd_port(const char *s, unsigned *ret)
{
	size_t n = strlen(s);

	if (n == 0 || n > 5 || strspn(s, "0123456789") != n)
		return false;
	unsigned long v = strtoul(s, NULL, 10);
	if (v < 1 || v > 65535)
		return false;
	*ret = (unsigned)v;
	return true;
}

/* host[0..n) as an address of family af; copied into ret->host. */
static bool
ajd_host(const char *host, size_t n, int af, struct ajd_listen *ret)
{
	unsigned char addr[sizeof(struct in6_addr)];

	if (n >= sizeof(ret->host))
		return false;
	memcpy(ret->host, host, n);
	ret->host[n] = '\0';
	return inet_pton(af, ret->host, addr) == 1;
}

int
ajd_parse_listen(const char *s, struct ajd_listen *ret, struct jail_error *e)
{
	struct ajd_listen l = {0};
	const char *colon;
	char q[80];

	json_quote(s, q, sizeof(q));
	if (strncmp(s, "unix:", 5) == 0) {
		size_t n = strlen(s + 5);

		if (n >= sizeof(l.path))
			return jerr_plain(e, EINVAL,
					  "expected " EXPECT_LISTEN_UNIX
					  " with a path of at most %zu bytes, got %zu bytes",
					  sizeof(l.path) - 1, n);
		if (!ajd_path_ok(s + 5))
			return jerr_plain(e, EINVAL,
					  "expected " EXPECT_LISTEN_UNIX " with an absolute path "
					  "without '.', '..' or empty components, got '%s'",
					  q);
		l.kind = AJD_LISTEN_UNIX;
		memcpy(l.path, s + 5, n + 1);
		*ret = l;
		return 0;
	}

	l.kind = AJD_LISTEN_TCP;
	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (!end || !ajd_host(s + 1, (size_t)(end - s - 1), AF_INET6, &l))
			return jerr_plain(e, EINVAL,
					  "expected \"[V6]:PORT\" with a numeric IPv6 address, "
					  "got '%s'",
					  q);
		if (end[1] != ':' || !ajd_port(end + 2, &l.port))
			return jerr_plain(e, EINVAL,
					  "expected \"[V6]:PORT\" with a port from 1 to 65535, "
					  "got '%s'",
					  q);
		*ret = l;
		return 0;
	}
	/* IPv4: the last ':' ends the address. */
	if (!(colon = strrchr(s, ':')))
		return jerr_plain(e, EINVAL, "expected " EXPECT_LISTEN_ANY ", got '%s'", q);
	if (memchr(s, ':', (size_t)(colon - s))) {
		/* An IPv6 address without brackets is ambiguous: "::1:8080"
		 * is itself an address. */
		if (ajd_host(s, (size_t)(colon - s), AF_INET6, &l))
			return jerr_plain(e, EINVAL,
					  "expected \"[V6]:PORT\" (an IPv6 address in brackets), "
					  "got '%s'",
					  q);
		return jerr_plain(e, EINVAL, "expected " EXPECT_LISTEN_ANY ", got '%s'", q);
	}
	if (!ajd_host(s, (size_t)(colon - s), AF_INET, &l))
		return jerr_plain(
			e, EINVAL,
			"expected \"HOST:PORT\" with a numeric IPv4 address as HOST (names "
			"are not resolved), got '%s'",
			q);
	if (!ajd_port(colon + 1, &l.port))
		return jerr_plain(e, EINVAL,
				  "expected \"HOST:PORT\" with a port from 1 to 65535, got '%s'",
				  q);
	*ret = l;
	return 0;
}

const char *
ajd_listen_format(const struct ajd_listen *l, char *buf, size_t size)
{
	if (l->kind == AJD_LISTEN_UNIX)
		snprintf(buf, size, "unix:%s", l->path);
	else if (strchr(l->host, ':'))
		snprintf(buf, size, "[%s]:%u", l->host, l->port);
	else
		snprintf(buf, size, "%s:%u", l->host, l->port);
	return buf;
}

/* --- defaults ------------------------------------------------------------ */

void
ajd_config_init(struct ajd_config *c)
{
	memset(c, 0, sizeof(*c));
	c->listen[0].kind = AJD_LISTEN_UNIX;
	snprintf(c->listen[0].path, sizeof(c->listen[0].path), "%s",
		 AJD_DEFAULT_LISTEN + strlen("unix:"));
	c->n_listen = 1;
	c->socket_mode = AJD_DEFAULT_SOCKET_MODE;
	snprintf(c->http_user, sizeof(c->http_user), "%s", AJD_DEFAULT_HTTP_USER);
	snprintf(c->profiles_dir, sizeof(c->profiles_dir), "%s", AJD_DEFAULT_PROFILES_DIR);
	snprintf(c->default_profile, sizeof(c->default_profile), "%s", AJD_DEFAULT_PROFILE);
	snprintf(c->runtime_dir, sizeof(c->runtime_dir), "%s", AJD_DEFAULT_RUNTIME_DIR);
	c->log_format = AJD_LOG_TEXT;
	c->limits = (struct ajd_limits){
		.max_body_bytes = AJD_DEFAULT_MAX_BODY_BYTES,
		.max_json_bytes = AJD_DEFAULT_MAX_JSON_BYTES,
		.max_header_bytes = AJD_DEFAULT_MAX_HEADER,
		.max_connections = AJD_DEFAULT_MAX_CONNECTIONS,
		.max_connections_per_client = AJD_DEFAULT_MAX_PER_CLIENT,
		.connection_timeout_s = AJD_DEFAULT_CONN_TIMEOUT_S,
		.max_execs_per_session = AJD_DEFAULT_EXECS_SESSION,
		.max_execs_total = AJD_DEFAULT_EXECS_TOTAL,
		.max_sessions = AJD_DEFAULT_MAX_SESSIONS,
		.max_output_bytes = AJD_DEFAULT_MAX_OUTPUT,
		.exec_timeout_ms = AJD_DEFAULT_EXEC_TIMEOUT_MS,
		.idle_timeout_s = AJD_DEFAULT_IDLE_TIMEOUT_S,
		.max_lifetime_s = AJD_DEFAULT_MAX_LIFETIME_S,
	};
	c->auth.leeway_s = AJD_DEFAULT_LEEWAY_S;
	c->auth.max_failures_per_minute = AJD_DEFAULT_AUTH_FAILURES;
	c->auth.n_unix_admin_uids = 1; /* root */
}

void
ajd_config_free(struct ajd_config *c)
{
	if (c)
		memset(c, 0, sizeof(*c));
}

/* --- the loader's readers ----------------------------------------------- */

/* "format" is checked before the walk (see ajd_check_format). */
static int
ajd_load_skip(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	return 0;
}

static int
ajd_load_listen(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	struct ajd_config *c = obj;
	struct ajd_listen l[AJD_MAX_LISTEN];
	const char *s;
	size_t n;
	int r;

	if ((r = json_read_array(x, v, AJD_MAX_LISTEN, &n)) < 0)
		return r;
	if (n == 0)
		return json_fail(x, "expected at least one address (at most %d)", AJD_MAX_LISTEN);
	for (size_t i = 0; i < n; i++) {
		size_t saved = json_path_push_index(x, i);
		json_t *item = json_array_get(v, i);

		if (!json_is_string(item))
			return json_fail(x, "expected " EXPECT_LISTEN_ANY ", got %s",
					 json_type_name(item));
		s = json_string_value(item);
		if ((r = ajd_parse_listen(s, &l[i], x->e)) < 0)
			return json_wrap(x, r);
		json_path_pop(x, saved);
	}
	memcpy(c->listen, l, n * sizeof(l[0]));
	c->n_listen = n;
	return 0;
}

/* A string of octal digits, as a profile's tmpfs mode: JSON would read the
 * number 660 as decimal. */
static int
ajd_load_mode(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	struct ajd_config *c = obj;
	const char *s;
	char q[80];
	size_t n;

	if (!json_is_string(v))
		return json_fail(x, "expected " EXPECT_MODE ", got %s", json_type_name(v));
	s = json_string_value(v);
	n = strlen(s);
	if (n == 0 || n > 4 || strspn(s, "01234567") != n || strtoul(s, NULL, 8) > 0777)
		return json_fail(x, "expected " EXPECT_MODE ", got '%s'",
				 json_quote(s, q, sizeof(q)));
	c->socket_mode = (unsigned)strtoul(s, NULL, 8);
	return 0;
}

static int
ajd_load_bool(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	return json_read_bool(x, v, &((struct ajd_config *)obj)->insecure_no_auth);
}

static int
ajd_load_string(struct json_ctx *x, json_t *v, void *obj, int which)
{
	const struct ajd_string_rule *rule = &ajd_strings[which];
	char *dst = (char *)obj + rule->off;
	char num[24];
	const char *s;
	int r;

	if (json_is_null(v) && rule->nullable) {
		dst[0] = '\0';
		return 0;
	}
	if (json_is_integer(v) && rule->integer) {
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
		s = num;
	} else if (json_is_string(v)) {
		s = json_string_value(v);
	} else {
		return json_fail(x, "expected %s%s, got %s", rule->expect,
				 rule->nullable ? ", or null" : "", json_type_name(v));
	}
	if ((r = ajd_check_string(rule, s, x->e)) < 0)
		return json_wrap(x, r);
	memcpy(dst, s, strlen(s) + 1); /* fits: checked against rule->size */
	return 0;
}

static const char *const ajd_log_formats[] = {
	[AJD_LOG_TEXT] = "text",
	[AJD_LOG_JSON] = "json",
};

static int
ajd_load_log_format(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	int i, r = json_read_enum(x, v, ajd_log_formats, ARRAY_SIZE(ajd_log_formats), &i);

	if (r == 0)
		((struct ajd_config *)obj)->log_format = (enum ajd_log_format)i;
	return r;
}

static int
ajd_load_limit(struct json_ctx *x, json_t *v, void *obj, int which)
{
	const struct ajd_limit_rule *l = &ajd_limits[which];
	char got[96], q[80];
	uint64_t val;
	int r;

	if (l->size) {
		if ((r = json_read_size(x, v, &val)) < 0)
			return r;
		if (json_is_string(v))
			snprintf(got, sizeof(got), "'%s'",
				 json_quote(json_string_value(v), q, sizeof(q)));
		else
			snprintf(got, sizeof(got), "%llu", (unsigned long long)val);
	} else {
		if (!json_is_integer(v))
			return json_fail(x, "expected an integer from %llu to %llu, got %s",
					 (unsigned long long)l->min, (unsigned long long)l->max,
					 json_type_name(v));
		json_int_t i = json_integer_value(v);
		snprintf(got, sizeof(got), "%lld", (long long)i);
		/* Every minimum is at least 1: a negative count is below it. */
		val = i < 0 ? 0 : (uint64_t)i;
	}
	if ((r = ajd_check_limit(l, val, got, x->e)) < 0)
		return json_wrap(x, r);
	ajd_limit_set(obj, l, val);
	return 0;
}

/* "pools": {"NAME": {"size": N, "max": M}, ...}: the warm pools of the
 * profiles named, overriding what the profiles say. */
static int
ajd_pool_count(struct json_ctx *x, json_t *v, void *obj, int which)
{
	struct ajd_pool *p = obj;
	uint64_t n;
	int r = json_read_uint(x, v, 0, 10000, &n);

	if (r < 0)
		return r;
	if (which == 0) {
		p->size = (uint32_t)n;
		p->has_size = true;
	} else {
		p->max = (uint32_t)n;
		p->has_max = true;
	}
	return 0;
}

static const struct json_field ajd_pool_fields[] = {
	{"size", ajd_pool_count, 0, NULL},
	{"max", ajd_pool_count, 1, NULL},
};
static const struct json_table ajd_pool_table = {ajd_pool_fields, ARRAY_SIZE(ajd_pool_fields)};

static int
ajd_load_pools(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	struct ajd_config *c = obj;
	const char *name;
	json_t *val;
	size_t n;
	int r = json_read_object(x, v, AJD_MAX_POOLS, &n);

	if (r < 0)
		return r;
	c->n_pools = 0;
	json_object_foreach(v, name, val)
	{
		size_t saved = json_path_push_key(x, name);
		struct ajd_pool *p = &c->pools[c->n_pools];
		bool ok = name[0] && strlen(name) <= JAIL_MAX_NAME;
		for (const char *q = name; ok && *q; q++)
			ok = isalnum((unsigned char)*q) || *q == '.' || *q == '_' || *q == '-';
		if (!ok)
			return json_fail(x, "expected a profile name of [A-Za-z0-9._-]{1,64}");
		memset(p, 0, sizeof(*p));
		snprintf(p->profile, sizeof(p->profile), "%s", name);
		if ((r = json_walk_object(x, val, &ajd_pool_table, p)) < 0)
			return r;
		c->n_pools++;
		json_path_pop(x, saved);
	}
	return 0;
}

/* --- auth, tenants, tls, agentcube ---------------------------------------- */

/* A printable ASCII string of 1 to size-1 bytes, copied into dst. */
static int
ajd_read_text(struct json_ctx *x, json_t *v, char *dst, size_t size, const char *what)
{
	const char *s;
	char q[80];

	if (json_is_null(v)) {
		dst[0] = '\0';
		return 0;
	}
	if (!json_is_string(v))
		return json_fail(x, "expected %s, or null, got %s", what, json_type_name(v));
	s = json_string_value(v);
	size_t n = strlen(s);
	bool ok = n > 0 && n < size;
	for (size_t i = 0; ok && i < n; i++)
		ok = s[i] > 0x20 - 1 && s[i] < 0x7f;
	if (!ok)
		return json_fail(x, "expected %s (1 to %zu printable ASCII characters), got '%s'",
				 what, size - 1, json_quote(s, q, sizeof(q)));
	memcpy(dst, s, n + 1);
	return 0;
}

static int
ajd_read_path_into(struct json_ctx *x, json_t *v, char *dst, size_t size)
{
	char q[80];

	if (json_is_null(v)) {
		dst[0] = '\0';
		return 0;
	}
	if (!json_is_string(v))
		return json_fail(x, "expected " EXPECT_PATH ", or null, got %s", json_type_name(v));
	const char *s = json_string_value(v);
	if (strlen(s) >= size || !ajd_path_ok(s))
		return json_fail(x, "expected " EXPECT_PATH ", got '%s'",
				 json_quote(s, q, sizeof(q)));
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

static int
ajd_read_profile_into(struct json_ctx *x, json_t *v, char *dst)
{
	char q[80];

	if (!json_is_string(v))
		return json_fail(x, "expected " EXPECT_PROFILE ", got %s", json_type_name(v));
	if (!ajd_profile_name_ok(json_string_value(v)))
		return json_fail(x, "expected " EXPECT_PROFILE ", got '%s'",
				 json_quote(json_string_value(v), q, sizeof(q)));
	memcpy(dst, json_string_value(v), strlen(json_string_value(v)) + 1);
	return 0;
}

struct ajd_key_ctx {
	struct ajd_key *k;
};

static int
ajd_key_field(struct json_ctx *x, json_t *v, void *obj, int which)
{
	struct ajd_key *k = obj;

	switch (which) {
	case 0: return ajd_read_text(x, v, k->kid, sizeof(k->kid), "a key id");
	case 1: return ajd_read_path_into(x, v, k->file, sizeof(k->file));
	default: {
		static const char *const algs[] = {"RS256", "RS384", "RS512", "ES256", "ES384"};
		int i, r = json_read_enum(x, v, algs, ARRAY_SIZE(algs), &i);
		if (r == 0)
			snprintf(k->alg, sizeof(k->alg), "%s", algs[i]);
		return r;
	}
	}
}

static const struct json_field ajd_key_fields[] = {
	{"kid", ajd_key_field, 0, NULL},
	{"file", ajd_key_field, 1, NULL},
	{"alg", ajd_key_field, 2, NULL},
};
static const struct json_table ajd_key_table = {ajd_key_fields, ARRAY_SIZE(ajd_key_fields)};

static int
ajd_load_keys(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	struct ajd_auth *a = &((struct ajd_config *)obj)->auth;
	size_t n;
	int r;

	if ((r = json_read_array(x, v, AJD_MAX_KEYS, &n)) < 0)
		return r;
	a->n_keys = 0;
	for (size_t i = 0; i < n; i++) {
		size_t saved = json_path_push_index(x, i);
		struct ajd_key *k = &a->keys[i];
		memset(k, 0, sizeof(*k));
		if ((r = json_walk_object(x, json_array_get(v, i), &ajd_key_table, k)) < 0)
			return r;
		if (!k->kid[0] || !k->file[0])
			return json_fail(x,
					 "expected {\"kid\": ..., \"file\": ...}: both are needed");
		for (size_t j = 0; j < i; j++)
			if (strcmp(a->keys[j].kid, k->kid) == 0)
				return json_fail(x, "key id '%s' twice", k->kid);
		a->n_keys = i + 1;
		json_path_pop(x, saved);
	}
	return 0;
}

static int
ajd_auth_text(struct json_ctx *x, json_t *v, void *obj, int which)
{
	struct ajd_auth *a = &((struct ajd_config *)obj)->auth;

	switch (which) {
	case 0: return ajd_read_text(x, v, a->issuer, sizeof(a->issuer), "an issuer");
	case 1: return ajd_read_text(x, v, a->audience, sizeof(a->audience), "an audience");
	case 2: return ajd_read_text(x, v, a->admin_claim, sizeof(a->admin_claim), "a claim name");
	default:
		return ajd_read_text(x, v, a->admin_value, sizeof(a->admin_value), "a claim value");
	}
}

static int
ajd_auth_uint(struct json_ctx *x, json_t *v, void *obj, int which)
{
	struct ajd_auth *a = &((struct ajd_config *)obj)->auth;
	uint64_t n;
	int r;

	switch (which) {
	case 0:
		if ((r = json_read_uint(x, v, 0, 3600, &n)) == 0)
			a->leeway_s = (uint32_t)n;
		return r;
	case 1:
		if ((r = json_read_uint(x, v, 0, 31536000, &n)) == 0)
			a->max_token_lifetime_s = (uint32_t)n;
		return r;
	default:
		if ((r = json_read_uint(x, v, 1, 1000000, &n)) == 0)
			a->max_failures_per_minute = (uint32_t)n;
		return r;
	}
}

static int
ajd_auth_bool(struct json_ctx *x, json_t *v, void *obj, int which)
{
	return json_read_bool(x, v, &((struct ajd_config *)obj)->auth.metrics_open_on_unix);
}

/* "uids", "gids", "admin_uids": arrays of numeric ids. */
static int
ajd_auth_ids(struct json_ctx *x, json_t *v, void *obj, int which)
{
	struct ajd_auth *a = &((struct ajd_config *)obj)->auth;
	uint32_t *ids = which == 0 ? a->unix_uids : which == 1 ? a->unix_gids : a->unix_admin_uids;
	size_t *count = which == 0   ? &a->n_unix_uids
			: which == 1 ? &a->n_unix_gids
				     : &a->n_unix_admin_uids;
	size_t n;
	int r;

	if ((r = json_read_array(x, v, AJD_MAX_UNIX_IDS, &n)) < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		size_t saved = json_path_push_index(x, i);
		uint64_t id;
		if ((r = json_read_uint(x, json_array_get(v, i), 0, AJD_ID_MAX, &id)) < 0)
			return r;
		ids[i] = (uint32_t)id;
		json_path_pop(x, saved);
	}
	*count = n;
	return 0;
}

static const struct json_field ajd_admin_fields[] = {
	{"claim", ajd_auth_text, 2, NULL},
	{"value", ajd_auth_text, 3, NULL},
};
static const struct json_table ajd_admin_table = {ajd_admin_fields, ARRAY_SIZE(ajd_admin_fields)};

static const struct json_field ajd_jwt_fields[] = {
	{"keys", ajd_load_keys, 0, NULL},
	{"issuer", ajd_auth_text, 0, NULL},
	{"audience", ajd_auth_text, 1, NULL},
	{"leeway_s", ajd_auth_uint, 0, NULL},
	{"max_token_lifetime_s", ajd_auth_uint, 1, NULL},
	{"admin", NULL, 0, &ajd_admin_table},
};
static const struct json_table ajd_jwt_table = {ajd_jwt_fields, ARRAY_SIZE(ajd_jwt_fields)};

static const struct json_field ajd_unix_fields[] = {
	{"uids", ajd_auth_ids, 0, NULL},
	{"gids", ajd_auth_ids, 1, NULL},
	{"admin_uids", ajd_auth_ids, 2, NULL},
};
static const struct json_table ajd_unix_table = {ajd_unix_fields, ARRAY_SIZE(ajd_unix_fields)};

static const struct json_field ajd_auth_fields[] = {
	{"jwt", NULL, 0, &ajd_jwt_table},
	{"unix", NULL, 0, &ajd_unix_table},
	{"metrics_open_on_unix", ajd_auth_bool, 0, NULL},
	{"max_failures_per_minute", ajd_auth_uint, 2, NULL},
};
static const struct json_table ajd_auth_table = {ajd_auth_fields, ARRAY_SIZE(ajd_auth_fields)};

static int
ajd_tenant_field(struct json_ctx *x, json_t *v, void *obj, int which)
{
	struct ajd_tenant *t = obj;
	uint64_t n;
	size_t cnt;
	int r;

	switch (which) {
	case 0:
		if ((r = json_read_array(x, v, AJD_MAX_TENANT_PROFILES, &cnt)) < 0)
			return r;
		for (size_t i = 0; i < cnt; i++) {
			size_t saved = json_path_push_index(x, i);
			if ((r = ajd_read_profile_into(x, json_array_get(v, i), t->profiles[i])) <
			    0)
				return r;
			json_path_pop(x, saved);
		}
		t->n_profiles = cnt;
		t->any_profile = false;
		return 0;
	case 1: return json_read_bool(x, v, &t->allow_host_access);
	case 2:
		if ((r = json_read_uint(x, v, 0, 100000, &n)) == 0)
			t->max_sessions = (uint32_t)n;
		return r;
	default:
		if ((r = json_read_uint(x, v, 0, 65536, &n)) == 0)
			t->max_execs = (uint32_t)n;
		return r;
	}
}

static const struct json_field ajd_tenant_fields[] = {
	{"profiles", ajd_tenant_field, 0, NULL},
	{"allow_host_access", ajd_tenant_field, 1, NULL},
	{"max_sessions", ajd_tenant_field, 2, NULL},
	{"max_execs", ajd_tenant_field, 3, NULL},
};
static const struct json_table ajd_tenant_table = {ajd_tenant_fields,
						   ARRAY_SIZE(ajd_tenant_fields)};

static int
ajd_load_tenants(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	struct ajd_config *c = obj;
	const char *name;
	json_t *val;
	size_t n;
	int r;

	if ((r = json_read_object(x, v, AJD_MAX_TENANTS, &n)) < 0)
		return r;
	c->n_tenants = 0;
	json_object_foreach(v, name, val)
	{
		size_t saved = json_path_push_key(x, name);
		struct ajd_tenant *t = &c->tenants[c->n_tenants];
		size_t len = strlen(name);
		bool ok = len > 0 && len <= AJD_TENANT_MAX;
		for (size_t i = 0; ok && i < len; i++)
			ok = name[i] > 0x20 && name[i] < 0x7f;
		if (!ok)
			return json_fail(x, "expected a tenant (a token's sub, \"unix:UID\" or "
					    "\"*\") of 1 to 127 printable ASCII characters");
		memset(t, 0, sizeof(*t));
		memcpy(t->name, name, len + 1);
		t->any_profile = true;
		if ((r = json_walk_object(x, val, &ajd_tenant_table, t)) < 0)
			return r;
		c->n_tenants++;
		json_path_pop(x, saved);
	}
	return 0;
}

static int
ajd_tls_field(struct json_ctx *x, json_t *v, void *obj, int which)
{
	struct ajd_tls *t = &((struct ajd_config *)obj)->tls;

	return which == 0 ? ajd_read_path_into(x, v, t->cert, sizeof(t->cert))
			  : ajd_read_path_into(x, v, t->key, sizeof(t->key));
}

static const struct json_field ajd_tls_fields[] = {
	{"cert", ajd_tls_field, 0, NULL},
	{"key", ajd_tls_field, 1, NULL},
};
static const struct json_table ajd_tls_table = {ajd_tls_fields, ARRAY_SIZE(ajd_tls_fields)};

static int
ajd_load_templates(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	struct ajd_agentcube *a = &((struct ajd_config *)obj)->agentcube;
	const char *name;
	json_t *val;
	size_t n;
	int r;

	if ((r = json_read_object(x, v, AJD_MAX_TEMPLATES, &n)) < 0)
		return r;
	a->n_templates = 0;
	json_object_foreach(v, name, val)
	{
		size_t saved = json_path_push_key(x, name);
		if (!ajd_profile_name_ok(name))
			return json_fail(x, "expected a template name of [A-Za-z0-9._-]{1,64}");
		memcpy(a->templates[a->n_templates].name, name, strlen(name) + 1);
		if ((r = ajd_read_profile_into(x, val, a->templates[a->n_templates].profile)) < 0)
			return r;
		a->n_templates++;
		json_path_pop(x, saved);
	}
	return 0;
}

static int
ajd_agentcube_default(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	if (json_is_null(v)) {
		((struct ajd_config *)obj)->agentcube.default_profile[0] = '\0';
		return 0;
	}
	return ajd_read_profile_into(x, v, ((struct ajd_config *)obj)->agentcube.default_profile);
}

static const struct json_field ajd_agentcube_fields[] = {
	{"templates", ajd_load_templates, 0, NULL},
	{"default_profile", ajd_agentcube_default, 0, NULL},
};
static const struct json_table ajd_agentcube_table = {ajd_agentcube_fields,
						      ARRAY_SIZE(ajd_agentcube_fields)};

const struct ajd_tenant *
ajd_tenant_policy(const struct ajd_config *c, const char *tenant)
{
	static const struct ajd_tenant builtin = {.name = "*", .any_profile = true};
	const struct ajd_tenant *star = NULL;

	for (size_t i = 0; i < c->n_tenants; i++) {
		if (strcmp(c->tenants[i].name, tenant) == 0)
			return &c->tenants[i];
		if (strcmp(c->tenants[i].name, "*") == 0)
			star = &c->tenants[i];
	}
	return star ? star : &builtin;
}

const char *
ajd_agentcube_profile(const struct ajd_config *c, const char *name)
{
	for (size_t i = 0; i < c->agentcube.n_templates; i++)
		if (strcmp(c->agentcube.templates[i].name, name) == 0)
			return c->agentcube.templates[i].profile;
	return c->agentcube.default_profile[0] ? c->agentcube.default_profile : c->default_profile;
}

/* --- the schema ----------------------------------------------------------- */

static const struct json_field ajd_limits_fields[] = {
#define X(key, size, min, max) {#key, ajd_load_limit, AJD_L_##key, NULL},
	AJD_LIMITS(X)
#undef X
};
static const struct json_table ajd_limits_table = {ajd_limits_fields,
						   ARRAY_SIZE(ajd_limits_fields)};

static const struct json_field ajd_fields[] = {
	{"format", ajd_load_skip, 0, NULL},
	{"listen", ajd_load_listen, 0, NULL},
	{"socket_mode", ajd_load_mode, 0, NULL},
	{"socket_group", ajd_load_string, AJD_S_SOCKET_GROUP, NULL},
	{"insecure_no_auth", ajd_load_bool, 0, NULL},
	{"http_user", ajd_load_string, AJD_S_HTTP_USER, NULL},
	{"profiles_dir", ajd_load_string, AJD_S_PROFILES_DIR, NULL},
	{"default_profile", ajd_load_string, AJD_S_DEFAULT_PROFILE, NULL},
	{"runtime_dir", ajd_load_string, AJD_S_RUNTIME_DIR, NULL},
	{"cgroup_parent", ajd_load_string, AJD_S_CGROUP_PARENT, NULL},
	{"worker", ajd_load_string, AJD_S_WORKER, NULL},
	{"log_format", ajd_load_log_format, 0, NULL},
	{"limits", NULL, 0, &ajd_limits_table},
	{"pools", ajd_load_pools, 0, NULL},
	{"auth", NULL, 0, &ajd_auth_table},
	{"tenants", ajd_load_tenants, 0, NULL},
	{"tls", NULL, 0, &ajd_tls_table},
	{"agentcube", NULL, 0, &ajd_agentcube_table},
};
static const struct json_table ajd_table = {ajd_fields, ARRAY_SIZE(ajd_fields)};

/* --- loading ------------------------------------------------------------- */

/* Before anything else: a newer file has keys this reader does not know,
 * and "newer format" is the error that helps, not "unknown key". */
static int
ajd_check_format(struct json_ctx *x, json_t *root)
{
	json_t *f = json_object_get(root, "format");

	if (!f)
		return json_fail(x, "missing key 'format' (expected \"format\": %d)",
				 AJD_CONFIG_FORMAT);
	size_t saved = json_path_push_key(x, "format");
	if (!json_is_integer(f))
		return json_fail(x, "expected the format number %d, got %s", AJD_CONFIG_FORMAT,
				 json_type_name(f));
	if (json_integer_value(f) < 1)
		return json_fail(x, "expected the format number %d, got %lld", AJD_CONFIG_FORMAT,
				 (long long)json_integer_value(f));
	if (json_integer_value(f) > AJD_CONFIG_FORMAT)
		return json_fail(x, "format %lld is newer than this agentjaild supports (%d)",
				 (long long)json_integer_value(f), AJD_CONFIG_FORMAT);
	json_path_pop(x, saved);
	return 0;
}

int
ajd_config_load_buffer(struct ajd_config *c, const char *json, size_t len, const char *origin,
		       struct jail_error *e)
{
	json_auto_t *root = NULL;
	struct ajd_config next = *c; /* c changes only if all of it loads */
	struct json_ctx x;
	int r;

	if (!origin)
		origin = "agentjaild.json";
	json_ctx_init(&x, origin, e);
	if ((r = json_decode(&x, json, len, &root)) < 0)
		return r;
	if ((r = ajd_check_format(&x, root)) < 0)
		return r;
	if ((r = json_walk_object(&x, root, &ajd_table, &next)) < 0)
		return r;
	*c = next;
	return 0;
}

int
ajd_config_load_file(struct ajd_config *c, const char *path, struct jail_error *e)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r = json_read_file(path, AJD_CONFIG_MAX_SIZE, "a configuration file", &buf, &len, e);

	if (r < 0)
		return r;
	return ajd_config_load_buffer(c, buf, len, path, e);
}

/* --- validation ------------------------------------------------------------ */

int
ajd_config_validate(const struct ajd_config *c, struct jail_error *e)
{
	char a[AJD_SUN_PATH_MAX + 16], b[AJD_SUN_PATH_MAX + 16];
	struct ajd_listen l;
	int r;

	/* Each value on its own, by the loader's rules. */
	if (c->n_listen < 1 || c->n_listen > AJD_MAX_LISTEN)
		return jerr_plain(e, EINVAL, "listen: expected 1 to %d addresses, got %zu",
				  AJD_MAX_LISTEN, c->n_listen);
	for (size_t i = 0; i < c->n_listen; i++) {
		/* What was parsed formats back to what parses the same. */
		if (c->listen[i].kind != AJD_LISTEN_UNIX && c->listen[i].kind != AJD_LISTEN_TCP)
			return jerr_plain(e, EINVAL, "listen: address %zu has no kind", i);
		ajd_listen_format(&c->listen[i], a, sizeof(a));
		if ((r = ajd_parse_listen(a, &l, e)) < 0)
			return jerr_wrap(e, "listen %s", a);
	}
	if (c->socket_mode > 0777)
		return jerr_plain(e, EINVAL, "socket_mode: expected 0000 to 0777, got %04o",
				  c->socket_mode);
	for (size_t i = 0; i < ARRAY_SIZE(ajd_strings); i++) {
		const struct ajd_string_rule *rule = &ajd_strings[i];
		const char *s = (const char *)c + rule->off;

		if (strnlen(s, rule->size) == rule->size)
			return jerr_plain(e, EINVAL, "%s: not terminated", rule->key);
		if (rule->nullable && !s[0])
			continue;
		if ((r = ajd_check_string(rule, s, e)) < 0)
			return jerr_wrap(e, "%s", rule->key);
	}
	if ((unsigned)c->log_format >= ARRAY_SIZE(ajd_log_formats))
		return jerr_plain(e, EINVAL, "log_format: expected text or json");
	for (size_t i = 0; i < ARRAY_SIZE(ajd_limits); i++) {
		uint64_t v = ajd_limit_get(c, &ajd_limits[i]);
		char got[32];

		snprintf(got, sizeof(got), "%llu", (unsigned long long)v);
		if ((r = ajd_check_limit(&ajd_limits[i], v, got, e)) < 0)
			return jerr_wrap(e, "limits.%s", ajd_limits[i].key);
	}

	/* How the values go together. */
	for (size_t i = 0; i < c->n_listen; i++) {
		ajd_listen_format(&c->listen[i], a, sizeof(a));
		if (c->listen[i].kind == AJD_LISTEN_TCP && !c->insecure_no_auth && !c->auth.n_keys)
			return jerr_plain(
				e, EINVAL,
				"listen %s: a TCP listener needs authentication: configure "
				"auth.jwt.keys, or set insecure_no_auth to accept "
				"unauthenticated TCP (a warning is logged)",
				a);
		for (size_t j = 0; j < i; j++)
			if (strcmp(a, ajd_listen_format(&c->listen[j], b, sizeof(b))) == 0)
				return jerr_plain(e, EINVAL,
						  "listen %s: expected each address once, got it "
						  "twice",
						  a);
	}
	if (c->limits.max_execs_per_session > c->limits.max_execs_total)
		return jerr_plain(e, EINVAL,
				  "limits.max_execs_per_session: expected at most "
				  "limits.max_execs_total (%u), got %u",
				  c->limits.max_execs_total, c->limits.max_execs_per_session);
	if (!c->tls.cert[0] != !c->tls.key[0])
		return jerr_plain(e, EINVAL, "tls: expected both \"cert\" and \"key\", got only %s",
				  c->tls.cert[0] ? "\"cert\"" : "\"key\"");
	if (!c->auth.admin_claim[0] != !c->auth.admin_value[0])
		return jerr_plain(e, EINVAL,
				  "auth.jwt.admin: expected both \"claim\" and \"value\"");
	if (c->limits.max_connections_per_client > c->limits.max_connections)
		return jerr_plain(e, EINVAL,
				  "limits.max_connections_per_client: expected at most "
				  "limits.max_connections (%u), got %u",
				  c->limits.max_connections, c->limits.max_connections_per_client);
	return 0;
}
