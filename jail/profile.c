/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Profiles: policy as JSON (formats 1 to 3) turned into a struct jail_config.
 *
 * The schema is the tables below; json.c makes them strict (unknown and
 * duplicate keys, wrong types and oversized values are errors naming the
 * JSON path). Every key a profile names replaces that field of the config,
 * except "env", which is merged over it; what it does not name is left as
 * an earlier layer (or jail_config_init()) set it. The result goes through
 * jail_config_validate(), the validator every front end shares. A load that
 * fails may have changed some fields already: the caller discards the config.
 *
 * See agentjail-profile(5).
 */
#include <fcntl.h>
#include <seccomp.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>

#include "json.h"

/* A profile is a few KiB; the cap keeps a wrong file from being slurped. */
#define PROFILE_MAX_SIZE	(1u << 20)
#define PROFILE_MAX_DESCRIPTION 1024
#define PROFILE_MAX_PIDS	4194304u    /* PID_MAX_LIMIT */
#define PROFILE_MAX_TIME_S	31622400u   /* 366 days */
#define PROFILE_ID_MAX		4294967294u /* (uid_t)-1 means "no id" */

/* jail/builtin.S */
extern const char aj_profile_default[], aj_profile_minimal[], aj_profile_python[];

/* State of one load: the config, and what the profile said about the
 * network, which two keys describe and must agree on. */
struct profile_load {
	struct jail_config *c;
	int ns_net;   /* namespaces.net: -1 absent, else 0/1 */
	int net_mode; /* network.mode: -1 absent, else enum jail_net_mode */
};

/* The member at byte offset off of the config being loaded into. */
#define CONFIG_FIELD(obj, type, off)                                                               \
	((type *)(void *)((char *)((struct profile_load *)(obj))->c + (off)))

/* --- generic fields of struct jail_config, located by offset ----------- */

static int
profile_flag(struct json_ctx *x, json_t *v, void *obj, int off)
{
	return json_read_bool(x, v, CONFIG_FIELD(obj, bool, off));
}

static int
profile_size(struct json_ctx *x, json_t *v, void *obj, int off)
{
	return json_read_size(x, v, CONFIG_FIELD(obj, uint64_t, off));
}

/* uid, gid and the host id range: never -1, which means "no id" to the
 * kernel and "allocate" to us; 0 is refused by the validator with a reason. */
static int
profile_id(struct json_ctx *x, json_t *v, void *obj, int off)
{
	uint64_t id;
	int r = json_read_uint(x, v, 1, PROFILE_ID_MAX, &id);

	if (r == 0)
		*CONFIG_FIELD(obj, uint32_t, off) = (uint32_t)id;
	return r;
}

/* A pool count: 0 to 10000 (0: no warm pool / no cap). */
static int
profile_pool_count(struct json_ctx *x, json_t *v, void *obj, int off)
{
	uint64_t n;
	int r = json_read_uint(x, v, 0, 10000, &n);

	if (r == 0)
		*CONFIG_FIELD(obj, uint32_t, off) = (uint32_t)n;
	return r;
}

/* A session's idle timeout (up to a week) or lifetime (up to 30 days). */
static int
profile_idle_s(struct json_ctx *x, json_t *v, void *obj, int off)
{
	uint64_t n;
	int r = json_read_uint(x, v, 1, 604800, &n);

	if (r == 0)
		*CONFIG_FIELD(obj, uint32_t, off) = (uint32_t)n;
	return r;
}

static int
profile_lifetime_s(struct json_ctx *x, json_t *v, void *obj, int off)
{
	uint64_t n;
	int r = json_read_uint(x, v, 1, 2592000, &n);

	if (r == 0)
		*CONFIG_FIELD(obj, uint32_t, off) = (uint32_t)n;
	return r;
}

static int
profile_path(struct json_ctx *x, json_t *v, void *obj, int off)
{
	const char *s;
	int r;

	if ((r = json_read_path(x, v, &s)) < 0)
		return r;
	if ((r = jail_config_set_string(CONFIG_FIELD(obj, char *, off), s, x->e)) < 0)
		return json_wrap(x, r);
	return 0;
}

/* --- top-level scalars -------------------------------------------------- */

static bool
profile_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > JAIL_MAX_NAME)
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

/* "format" is checked before the walk (see profile_check_format). */
static int
profile_skip(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	return 0;
}

static int
profile_name(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	struct profile_load *p = obj;
	const char *s;
	char q[80];
	int r = json_read_string(x, v, JAIL_MAX_NAME, &s);

	if (r < 0)
		return r;
	if (!profile_name_ok(s))
		return json_fail(x, "expected 1-64 characters of [A-Za-z0-9._-], got '%s'",
				 json_quote(s, q, sizeof(q)));
	if ((r = jail_config_set_string(&p->c->name, s, x->e)) < 0)
		return json_wrap(x, r);
	return 0;
}

/* Documentation for people; checked for size, not kept. */
static int
profile_description(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	const char *s;

	return json_read_string(x, v, PROFILE_MAX_DESCRIPTION, &s);
}

static int
profile_rootfs(struct json_ctx *x, json_t *v, void *obj, int off)
{
	struct profile_load *p = obj;

	/* null says "the host's system directories" explicitly, overriding a
	 * rootfs an earlier layer set. */
	if (json_is_null(v)) {
		free(p->c->rootfs);
		p->c->rootfs = NULL;
		return 0;
	}
	return profile_path(x, v, obj, off);
}

static int
profile_hostname(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	struct profile_load *p = obj;
	const char *s;
	int r;

	/* The length is checked here, the characters by the validator. */
	if ((r = json_read_string(x, v, JAIL_MAX_NAME, &s)) < 0)
		return r;
	if ((r = jail_config_set_string(&p->c->hostname, s, x->e)) < 0)
		return json_wrap(x, r);
	return 0;
}

static int
profile_namespace(struct json_ctx *x, json_t *v, void *obj, int bit)
{
	struct profile_load *p = obj;
	bool on;
	int r = json_read_bool(x, v, &on);

	if (r < 0)
		return r;
	if (on)
		p->c->namespaces |= (unsigned)bit;
	else
		p->c->namespaces &= ~(unsigned)bit;
	if (bit == JAIL_NS_NET)
		p->ns_net = on;
	return 0;
}

/* --- mounts ------------------------------------------------------------- */

/* One entry of "mounts", pointing into the JSON tree until it is added. */
struct profile_mount {
	const char *source, *target;
	bool readonly, optional;
	uint64_t size;
	uint32_t mode;
};

static int
profile_mount_source(struct json_ctx *x, json_t *v, void *obj, int kind)
{
	struct profile_mount *m = obj;

	/* A symlink's content is any relative or absolute text, not a path
	 * on the host. */
	if (kind == JAIL_MOUNT_SYMLINK) {
		int r = json_read_string(x, v, JAIL_MAX_PATH, &m->source);

		if (r < 0)
			return r;
		if (!m->source[0])
			return json_fail(x, "expected a non-empty string");
		return 0;
	}
	return json_read_path(x, v, &m->source);
}

static int
profile_mount_target(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	return json_read_path(x, v, &((struct profile_mount *)obj)->target);
}

static int
profile_mount_flag(struct json_ctx *x, json_t *v, void *obj, int off)
{
	return json_read_bool(x, v, (bool *)(void *)((char *)obj + off));
}

static int
profile_mount_size(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	return json_read_size(x, v, &((struct profile_mount *)obj)->size);
}

/* A string of octal digits: "0755", "1777". A number would be read as
 * decimal by JSON, which is how 755 becomes 01363 by mistake. */
static int
profile_mount_mode(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	struct profile_mount *m = obj;
	const char *s = json_is_string(v) ? json_string_value(v) : NULL;
	size_t n = s ? strlen(s) : 0;
	char q[80];
	unsigned long mode = 0;

	if (s && n > 0 && n <= 5 && strspn(s, "01234567") == n)
		mode = strtoul(s, NULL, 8);
	if (mode == 0 || mode > 07777) {
		if (!s)
			return json_fail(
				x, "expected a string of octal digits such as \"0755\", got %s",
				json_type_name(v));
		return json_fail(x,
				 "expected a string of octal digits such as \"0755\" (0001 to "
				 "07777), got '%s'",
				 json_quote(s, q, sizeof(q)));
	}
	m->mode = (uint32_t)mode;
	return 0;
}

static const struct json_field profile_bind_fields[] = {
	{"type", profile_skip, 0, NULL}, /* read first, to pick the table */
	{"source", profile_mount_source, JAIL_MOUNT_BIND, NULL},
	{"target", profile_mount_target, 0, NULL},
	{"readonly", profile_mount_flag, offsetof(struct profile_mount, readonly), NULL},
	{"optional", profile_mount_flag, offsetof(struct profile_mount, optional), NULL},
};
static const struct json_field profile_tmpfs_fields[] = {
	{"type", profile_skip, 0, NULL}, /* read first, to pick the table */
	{"target", profile_mount_target, 0, NULL},
	{"size", profile_mount_size, 0, NULL},
	{"mode", profile_mount_mode, 0, NULL},
};
static const struct json_field profile_symlink_fields[] = {
	{"type", profile_skip, 0, NULL}, /* read first, to pick the table */
	{"source", profile_mount_source, JAIL_MOUNT_SYMLINK, NULL},
	{"target", profile_mount_target, 0, NULL},
};
/* Indexed by enum jail_mount_kind, as are the type names. */
static const struct json_table profile_mount_tables[] = {
	[JAIL_MOUNT_BIND] = {profile_bind_fields, ARRAY_SIZE(profile_bind_fields)},
	[JAIL_MOUNT_TMPFS] = {profile_tmpfs_fields, ARRAY_SIZE(profile_tmpfs_fields)},
	[JAIL_MOUNT_SYMLINK] = {profile_symlink_fields, ARRAY_SIZE(profile_symlink_fields)},
};
static const char *const profile_mount_types[] = {
	[JAIL_MOUNT_BIND] = "bind",
	[JAIL_MOUNT_TMPFS] = "tmpfs",
	[JAIL_MOUNT_SYMLINK] = "symlink",
};

/* The "type" key picks the table the rest of the object is checked with. */
static int
profile_mount(struct json_ctx *x, json_t *v, struct jail_config *c)
{
	struct profile_mount m = {.readonly = true};
	json_t *type;
	int kind, r;

	if (!json_is_object(v))
		return json_fail(x, "expected an object, got %s", json_type_name(v));
	if (!(type = json_object_get(v, "type")))
		return json_fail(x, "missing key 'type' (expected one of: bind, tmpfs, symlink)");
	size_t saved = json_path_push_key(x, "type");
	if ((r = json_read_enum(x, type, profile_mount_types, ARRAY_SIZE(profile_mount_types),
				&kind)) < 0)
		return r;
	json_path_pop(x, saved);

	if (kind != JAIL_MOUNT_BIND)
		m.readonly = false; /* a tmpfs is there to be written */
	if ((r = json_walk_object(x, v, &profile_mount_tables[kind], &m)) < 0)
		return r;
	if (!m.target)
		return json_fail(x, "missing key 'target' (expected an absolute path)");
	if (!m.source && kind != JAIL_MOUNT_TMPFS)
		return json_fail(x, "missing key 'source' (expected %s)",
				 kind == JAIL_MOUNT_BIND ? "an absolute path on the host"
							 : "the symlink's content");

	r = jail_config_add_mount(c, (enum jail_mount_kind)kind, m.source, m.target, m.readonly,
				  m.size, x->e);
	if (r < 0)
		return json_wrap(x, r);
	c->mounts[c->n_mounts - 1].optional = m.optional;
	c->mounts[c->n_mounts - 1].mode = m.mode;
	return 0;
}

/* Whether m is the mount jail_config_add_tool() made for one of c's tools. */
static bool
profile_is_tool_mount(const struct jail_config *c, const struct jail_mount *m)
{
	const size_t dir = sizeof(JAIL_TOOLS_DIR); /* "/tools/" */

	if (m->kind != JAIL_MOUNT_BIND || !m->readonly ||
	    strncmp(m->target, JAIL_TOOLS_DIR "/", dir) != 0)
		return false;
	for (size_t k = 0; k < c->n_tools; k++)
		if (strcmp(m->target + dir, c->tools[k].name) == 0)
			return true;
	return false;
}

/* "mounts" replaces the list, but not the mounts of "tools" (an earlier
 * layer's), which only "tools" replaces. */
static void
profile_clear_mounts(struct jail_config *c)
{
	size_t kept = 0;

	for (size_t i = 0; i < c->n_mounts; i++) {
		struct jail_mount *m = &c->mounts[i];

		if (profile_is_tool_mount(c, m)) {
			c->mounts[kept++] = *m;
		} else {
			free(m->source);
			free(m->target);
		}
	}
	c->n_mounts = kept;
	if (!kept) {
		free(c->mounts);
		c->mounts = NULL;
	}
}

static int
profile_mounts(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	struct jail_config *c = ((struct profile_load *)obj)->c;
	size_t n;
	int r;

	if ((r = json_read_array(x, v, JAIL_MAX_MOUNTS, &n)) < 0)
		return r;
	profile_clear_mounts(c);
	for (size_t i = 0; i < n; i++) {
		size_t saved = json_path_push_index(x, i);
		if ((r = profile_mount(x, json_array_get(v, i), c)) < 0)
			return r;
		json_path_pop(x, saved);
	}
	return 0;
}

/* --- /tmp and /workspace: a tmpfs of some size, or a host directory ------ */

struct profile_area {
	json_t *size, *host_dir;
};

static int
profile_area_key(struct json_ctx *x, json_t *v, void *obj, int which)
{
	struct profile_area *a = obj;

	if (which == 0)
		a->size = v;
	else
		a->host_dir = v;
	return 0;
}

static const struct json_field profile_area_fields[] = {
	{"size", profile_area_key, 0, NULL},
	{"host_dir", profile_area_key, 1, NULL},
};
static const struct json_table profile_area_table = {profile_area_fields,
						     ARRAY_SIZE(profile_area_fields)};

static int
profile_area(struct json_ctx *x, json_t *v, void *obj, int workspace)
{
	struct jail_config *c = ((struct profile_load *)obj)->c;
	uint64_t *size = workspace ? &c->workspace_size : &c->tmp_size;
	char **dir = workspace ? &c->workspace_dir : &c->tmp_dir;
	struct profile_area a = {NULL, NULL};
	const char *path;
	size_t saved;
	int r;

	if ((r = json_walk_object(x, v, &profile_area_table, &a)) < 0)
		return r;
	if (!a.size == !a.host_dir)
		return json_fail(x, "expected exactly one of the keys 'size' and 'host_dir'");
	if (a.size) {
		saved = json_path_push_key(x, "size");
		if ((r = json_read_size(x, a.size, size)) < 0)
			return r;
		free(*dir);
		*dir = NULL;
	} else {
		saved = json_path_push_key(x, "host_dir");
		if ((r = json_read_path(x, a.host_dir, &path)) < 0)
			return r;
		if ((r = jail_config_set_string(dir, path, x->e)) < 0)
			return json_wrap(x, r);
	}
	json_path_pop(x, saved);
	return 0;
}

/* --- environment --------------------------------------------------------- */

static bool
profile_env_name_ok(const char *s)
{
	if (!(*s == '_' || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')))
		return false;
	size_t n = strlen(s);
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

static int
profile_env(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	struct jail_config *c = ((struct profile_load *)obj)->c;
	const char *val;
	char q[80];
	size_t n;
	int r;

	if ((r = json_read_object(x, v, JAIL_MAX_ENV, &n)) < 0)
		return r;
	for (void *it = json_object_iter(v); it; it = json_object_iter_next(v, it)) {
		const char *key = json_object_iter_key(it);
		size_t klen = strlen(key);

		if (!profile_env_name_ok(key))
			return json_fail(x,
					 "bad variable name '%s' (expected [A-Za-z_][A-Za-z0-9_]*)",
					 json_quote(key, q, sizeof(q)));
		size_t saved = json_path_push_key(x, key);
		/* "NAME=value" must fit JAIL_MAX_ENV_LEN, as jail_config_set_env
		 * requires; say so in terms of the value. */
		if (klen >= JAIL_MAX_ENV_LEN)
			return json_fail(x, "variable name longer than %d bytes", JAIL_MAX_ENV_LEN);
		if ((r = json_read_string(x, json_object_iter_value(it),
					  JAIL_MAX_ENV_LEN - klen - 1, &val)) < 0)
			return r;
		size_t size = klen + 1 + strlen(val) + 1;
		_cleanup_free_ char *nv = malloc(size);
		if (!nv)
			return jerr(x->e, ENOMEM, "%s: %s", x->origin, x->path);
		snprintf(nv, size, "%s=%s", key, val);
		if ((r = jail_config_set_env(c, nv, x->e)) < 0)
			return json_wrap(x, r);
		json_path_pop(x, saved);
	}
	return 0;
}

/* --- network ------------------------------------------------------------ */

static const char *const profile_net_modes[] = {
	[JAIL_NET_NONE] = "none",
	[JAIL_NET_HOST] = "host",
};

static int
profile_net_mode(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	return json_read_enum(x, v, profile_net_modes, ARRAY_SIZE(profile_net_modes),
			      &((struct profile_load *)obj)->net_mode);
}

/* Two keys describe one thing: the mode decides the namespace, and a
 * profile that names both must not contradict itself. */
static int
profile_network_check(struct json_ctx *x, struct profile_load *p)
{
	struct jail_config *c = p->c;

	if (p->net_mode >= 0 && p->ns_net >= 0 && p->ns_net != (p->net_mode == JAIL_NET_NONE))
		return json_fail(x,
				 "network.mode '%s' %s a network namespace, but namespaces.net "
				 "is %s",
				 profile_net_modes[p->net_mode],
				 p->net_mode == JAIL_NET_NONE ? "needs" : "cannot have",
				 p->ns_net ? "true" : "false");
	if (p->net_mode < 0 && p->ns_net < 0)
		return 0;
	/* namespaces.net alone means what nsjail's -N means: false shares the
	 * host's network. */
	c->net = p->net_mode >= 0 ? (enum jail_net_mode)p->net_mode
				  : (p->ns_net ? JAIL_NET_NONE : JAIL_NET_HOST);
	if (c->net == JAIL_NET_NONE)
		c->namespaces |= JAIL_NS_NET;
	else
		c->namespaces &= ~(unsigned)JAIL_NS_NET;
	return 0;
}

/* --- limits ------------------------------------------------------------- */

static int
profile_pids(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	return json_read_uint(x, v, 0, PROFILE_MAX_PIDS,
			      &((struct profile_load *)obj)->c->cgroup.pids_max);
}

static int
profile_cpu(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	struct jail_config *c = ((struct profile_load *)obj)->c;
	double cpus;
	int r;

	if ((r = json_read_number(x, v, &cpus)) < 0)
		return r;
	/* 10 ms per second is the finest share cpu.max is given with; below
	 * that a jail would barely run. */
	if (cpus != 0 && !(cpus >= 0.01 && cpus <= 4096))
		return json_fail(
			x, "expected a number of CPUs from 0.01 to 4096 (0: no limit), got %g",
			cpus);
	c->cgroup.cpu_ms_per_sec = (uint32_t)(cpus * 1000 + 0.5); /* rounded; cpus >= 0 */
	return 0;
}

static int
profile_cpuset(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	struct jail_config *c = ((struct profile_load *)obj)->c;
	const char *s;
	int r;

	if ((r = json_read_string(x, v, 256, &s)) < 0)
		return r;
	if (!jail_cpuset_ok(s))
		return json_fail(x, "expected a CPU list such as \"0-3,6\"");
	if ((r = jail_config_set_string(&c->cgroup.cpuset, s, x->e)) < 0)
		return json_wrap(x, r);
	return 0;
}

/* io.max lines replace the list: a profile says the whole of it. */
static int
profile_io_max(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	struct jail_config *c = ((struct profile_load *)obj)->c;
	size_t n;
	int r;

	if ((r = json_read_array(x, v, JAIL_MAX_IO_MAX, &n)) < 0)
		return r;
	jail_config_clear_io_max(c);
	for (size_t i = 0; i < n; i++) {
		size_t saved = json_path_push_index(x, i);
		const char *s;
		if ((r = json_read_string(x, json_array_get(v, i), 256, &s)) < 0)
			return r;
		if (!jail_io_max_ok(s))
			return json_fail(x, "expected \"MAJOR:MINOR\" and one or more of rbps=, "
					    "wbps=, riops=, wiops= with a number or max");
		if ((r = jail_config_add_io_max(c, s, x->e)) < 0)
			return json_wrap(x, r);
		json_path_pop(x, saved);
	}
	return 0;
}

static int
profile_time(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	struct jail_config *c = ((struct profile_load *)obj)->c;
	uint64_t s;
	int r;

	if ((r = json_read_uint(x, v, 0, PROFILE_MAX_TIME_S, &s)) < 0)
		return r;
	c->time_limit_ms = s * 1000;
	return 0;
}

/* An rlimit: a number (bytes for the byte-sized ones, which also take size
 * strings), or a word for the caller's soft/hard limit or infinity. */
static int
profile_rlimit(struct json_ctx *x, json_t *v, void *obj, int res)
{
	static const char *const words[] = {"soft", "hard", "inf"};
	static const enum jail_rlimit_mode modes[] = {JAIL_RLIMIT_SOFT, JAIL_RLIMIT_HARD,
						      JAIL_RLIMIT_INF};
	const bool bytes = res == JAIL_RL_AS || res == JAIL_RL_CORE || res == JAIL_RL_FSIZE ||
			   res == JAIL_RL_STACK;
	const char *s = json_is_string(v) ? json_string_value(v) : NULL;
	struct jail_rlimit rl = {JAIL_RLIMIT_VALUE, 0};
	bool ok = false;

	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		rl.value = (uint64_t)json_integer_value(v);
		ok = true;
	} else if (s) {
		for (size_t i = 0; i < ARRAY_SIZE(words) && !ok; i++)
			if ((ok = strcmp(s, words[i]) == 0))
				rl.mode = modes[i];
		if (!ok && bytes && strlen(s) <= 32)
			ok = jail_parse_size(s, &rl.value) == 0;
	}
	if (!ok) {
		char got[96], q[80];

		if (s)
			snprintf(got, sizeof(got), "'%s'", json_quote(s, q, sizeof(q)));
		else if (json_is_integer(v))
			snprintf(got, sizeof(got), "%lld", (long long)json_integer_value(v));
		else
			snprintf(got, sizeof(got), "%s", json_type_name(v));
		return json_fail(x, "expected %s or one of: soft, hard, inf; got %s",
				 bytes ? "a size (bytes, or a string such as \"64M\")"
				       : "a non-negative integer",
				 got);
	}
	((struct profile_load *)obj)->c->rlimits[res] = rl;
	return 0;
}

/* --- seccomp (also a file of its own: jail_seccomp_load_file) ------------ */

static const char *const profile_seccomp_policies[] = {
	[JAIL_SECCOMP_POLICY_DEFAULT] = "default",
	[JAIL_SECCOMP_POLICY_MINIMAL] = "minimal",
	[JAIL_SECCOMP_POLICY_EMPTY] = "empty",
};
static const char *const profile_seccomp_actions[] = {
	[JAIL_SECCOMP_ACTION_ERRNO] = "errno",
	[JAIL_SECCOMP_ACTION_KILL] = "kill",
	[JAIL_SECCOMP_ACTION_LOG] = "log",
};

static int
profile_seccomp_policy(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	struct jail_seccomp *s = obj;
	int i, r;

	r = json_read_enum(x, v, profile_seccomp_policies, ARRAY_SIZE(profile_seccomp_policies),
			   &i);
	if (r == 0)
		s->policy = (enum jail_seccomp_policy)i;
	return r;
}

static int
profile_seccomp_action(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	struct jail_seccomp *s = obj;
	int i, r;

	r = json_read_enum(x, v, profile_seccomp_actions, ARRAY_SIZE(profile_seccomp_actions), &i);
	if (r == 0)
		s->action = (enum jail_seccomp_action)i;
	return r;
}

/* Replace the allow (arg 1) or deny (arg 0) list. Names are resolved here,
 * as well as by the validator, so that a typo is reported at its index. */
static int
profile_syscalls(struct json_ctx *x, json_t *v, void *obj, int allow)
{
	struct jail_seccomp *s = obj;
	char ***list = allow ? &s->allow : &s->deny;
	size_t *count = allow ? &s->n_allow : &s->n_deny;
	const char *name;
	char q[80];
	size_t n;
	int r;

	if ((r = json_read_array(x, v, JAIL_MAX_SYSCALLS, &n)) < 0)
		return r;
	for (size_t i = 0; i < *count; i++)
		free((*list)[i]);
	free(*list);
	*list = NULL;
	*count = 0;
	for (size_t i = 0; i < n; i++) {
		size_t saved = json_path_push_index(x, i);
		if ((r = json_read_string(x, json_array_get(v, i), JAIL_MAX_NAME, &name)) < 0)
			return r;
		if (seccomp_syscall_resolve_name(name) == __NR_SCMP_ERROR)
			return json_fail(x,
					 "unknown syscall '%s' (expected a syscall name of this "
					 "architecture, e.g. 'openat')",
					 json_quote(name, q, sizeof(q)));
		if ((r = jail_config_add_syscall(s, allow, name, x->e)) < 0)
			return json_wrap(x, r);
		json_path_pop(x, saved);
	}
	return 0;
}

static const struct json_field profile_syscalls_fields[] = {
	{"allow", profile_syscalls, 1, NULL},
	{"deny", profile_syscalls, 0, NULL},
};
static const struct json_table profile_syscalls_table = {profile_syscalls_fields,
							 ARRAY_SIZE(profile_syscalls_fields)};

static const struct json_field profile_seccomp_fields[] = {
	{"policy", profile_seccomp_policy, 0, NULL},
	{"action", profile_seccomp_action, 0, NULL},
	{"syscalls", NULL, 0, &profile_syscalls_table},
};
static const struct json_table profile_seccomp_table = {profile_seccomp_fields,
							ARRAY_SIZE(profile_seccomp_fields)};

static int
profile_seccomp(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	return json_walk_object(x, v, &profile_seccomp_table,
				&((struct profile_load *)obj)->c->seccomp);
}

/* --- agent runtimes (format 3) ------------------------------------------- */

/* The loader checks what it reads (types, lengths, ranges, the characters
 * of names and paths) at the JSON path of the value. Uniqueness and the
 * rules between keys are left to the validator, whose messages name the
 * same paths. */

/* A string of at most max bytes copied into a buffer of max + 1. */
static int
profile_copy_string(struct json_ctx *x, json_t *v, char *buf, size_t max)
{
	const char *s;
	int r = json_read_string(x, v, max, &s);

	if (r == 0)
		snprintf(buf, max + 1, "%s", s);
	return r;
}

static int
profile_entrypoint(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	struct jail_config *c = ((struct profile_load *)obj)->c;
	_cleanup_free_ const char **argv = NULL;
	size_t n;
	int r;

	if ((r = json_read_array(x, v, JAIL_MAX_AGENT_ARGS, &n)) < 0)
		return r;
	if (n == 0)
		return json_fail(x,
				 "expected an array of 1 to %d strings (the agent's program "
				 "and its arguments), got an empty array",
				 JAIL_MAX_AGENT_ARGS);
	if (!(argv = calloc(n, sizeof(*argv))))
		return jerr(x->e, ENOMEM, "%s: %s", x->origin, x->path);
	for (size_t i = 0; i < n; i++) {
		size_t saved = json_path_push_index(x, i);
		if ((r = json_read_string(x, json_array_get(v, i), JAIL_MAX_ARG_LEN, &argv[i])) < 0)
			return r;
		if (!argv[i][0])
			return json_fail(x, "expected a non-empty string");
		json_path_pop(x, saved);
	}
	if ((r = jail_config_set_agent_argv(c, (char *const *)argv, n, x->e)) < 0)
		return json_wrap(x, r);
	return 0;
}

/* One port: "name" and "port" required; "path_prefix" "/" and "protocol"
 * "http" by default. */
struct profile_port {
	struct jail_port *port;
	bool named, numbered;
};

static int
profile_port_name(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	struct profile_port *p = obj;
	char q[80];
	int r = profile_copy_string(x, v, p->port->name, JAIL_PORT_NAME_MAX);

	if (r < 0)
		return r;
	if (!jail_port_name_ok(p->port->name))
		return json_fail(x, "expected %s, got '%s'", JAIL_PORT_NAME_EXPECT,
				 json_quote(p->port->name, q, sizeof(q)));
	p->named = true;
	return 0;
}

static int
profile_port_number(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	struct profile_port *p = obj;
	uint64_t n;
	int r = json_read_uint(x, v, 1, 65535, &n);

	if (r == 0) {
		p->port->port = (uint16_t)n;
		p->numbered = true;
	}
	return r;
}

static int
profile_port_prefix(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	struct profile_port *p = obj;
	char q[80];
	int r = profile_copy_string(x, v, p->port->path_prefix, JAIL_HTTP_PATH_MAX);

	if (r < 0)
		return r;
	if (!jail_http_path_ok(p->port->path_prefix, true))
		return json_fail(x, "expected %s, got '%s'", JAIL_HTTP_PATH_PREFIX_EXPECT,
				 json_quote(p->port->path_prefix, q, sizeof(q)));
	return 0;
}

static int
profile_port_protocol(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	static const char *const protocols[] = {"http"};
	int i;

	return json_read_enum(x, v, protocols, ARRAY_SIZE(protocols), &i);
}

static const struct json_field profile_port_fields[] = {
	{"name", profile_port_name, 0, NULL},
	{"port", profile_port_number, 0, NULL},
	{"path_prefix", profile_port_prefix, 0, NULL},
	{"protocol", profile_port_protocol, 0, NULL},
};
static const struct json_table profile_port_table = {profile_port_fields,
						     ARRAY_SIZE(profile_port_fields)};

static int
profile_ports(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	struct jail_config *c = ((struct profile_load *)obj)->c;
	size_t n;
	int r;

	if ((r = json_read_array(x, v, JAIL_MAX_PORTS, &n)) < 0)
		return r;
	memset(c->ports, 0, sizeof(c->ports));
	c->n_ports = 0;
	for (size_t i = 0; i < n; i++) {
		struct profile_port p = {.port = &c->ports[i]};
		size_t saved = json_path_push_index(x, i);

		strcpy(p.port->path_prefix, "/");
		if ((r = json_walk_object(x, json_array_get(v, i), &profile_port_table, &p)) < 0)
			return r;
		if (!p.named)
			return json_fail(x, "missing key 'name' (expected %s)",
					 JAIL_PORT_NAME_EXPECT);
		if (!p.numbered)
			return json_fail(x, "missing key 'port' (expected an integer between 1 "
					    "and 65535)");
		c->n_ports++;
		json_path_pop(x, saved);
	}
	return 0;
}

/* The health check: "path" required, the rest by default (the port: the
 * first of "ports", which the table reads before "health"). */
static int
profile_health_path(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	struct jail_health *h = obj;
	char q[80];
	int r = profile_copy_string(x, v, h->path, JAIL_HTTP_PATH_MAX);

	if (r < 0)
		return r;
	if (!jail_http_path_ok(h->path, false))
		return json_fail(x, "expected %s, got '%s'", JAIL_HTTP_PATH_EXPECT,
				 json_quote(h->path, q, sizeof(q)));
	return 0;
}

static int
profile_health_port(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	struct jail_health *h = obj;
	char q[80];
	int r = profile_copy_string(x, v, h->port, JAIL_PORT_NAME_MAX);

	if (r < 0)
		return r;
	if (!jail_port_name_ok(h->port))
		return json_fail(x, "expected the name of one of the ports (%s), got '%s'",
				 JAIL_PORT_NAME_EXPECT, json_quote(h->port, q, sizeof(q)));
	return 0;
}

/* interval_s, timeout_s and start_period_s: the field and its bound. */
static const struct {
	size_t off;
	uint32_t max;
} profile_health_times[] = {
	{offsetof(struct jail_health, interval_s), JAIL_HEALTH_MAX_INTERVAL_S},
	{offsetof(struct jail_health, timeout_s), JAIL_HEALTH_MAX_TIMEOUT_S},
	{offsetof(struct jail_health, start_period_s), JAIL_HEALTH_MAX_START_S},
};

static int
profile_health_seconds(struct json_ctx *x, json_t *v, void *obj, int which)
{
	uint32_t *field = (uint32_t *)(void *)((char *)obj + profile_health_times[which].off);
	uint64_t n;
	int r = json_read_uint(x, v, 1, profile_health_times[which].max, &n);

	if (r == 0)
		*field = (uint32_t)n;
	return r;
}

static const struct json_field profile_health_fields[] = {
	{"path", profile_health_path, 0, NULL},
	{"port", profile_health_port, 0, NULL},
	{"interval_s", profile_health_seconds, 0, NULL},
	{"timeout_s", profile_health_seconds, 1, NULL},
	{"start_period_s", profile_health_seconds, 2, NULL},
};
static const struct json_table profile_health_table = {profile_health_fields,
						       ARRAY_SIZE(profile_health_fields)};

static int
profile_health(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	struct jail_config *c = ((struct profile_load *)obj)->c;
	struct jail_health *h = &c->health;
	int r;

	memset(h, 0, sizeof(*h));
	h->interval_s = JAIL_DEFAULT_HEALTH_INTERVAL;
	h->timeout_s = JAIL_DEFAULT_HEALTH_TIMEOUT;
	h->start_period_s = JAIL_DEFAULT_HEALTH_START;
	if (c->n_ports)
		memcpy(h->port, c->ports[0].name, sizeof(h->port));
	if ((r = json_walk_object(x, v, &profile_health_table, h)) < 0)
		return r;
	if (!h->path[0])
		return json_fail(x, "missing key 'path' (expected %s)", JAIL_HTTP_PATH_EXPECT);
	h->set = true;
	return 0;
}

/* A tool or a secret: "name" a file name, read into a buffer of
 * JAIL_MAX_NAME + 1. */
static int
profile_file_name(struct json_ctx *x, json_t *v, char *buf)
{
	char q[80];
	int r = profile_copy_string(x, v, buf, JAIL_MAX_NAME);

	if (r < 0)
		return r;
	if (!jail_file_name_ok(buf))
		return json_fail(x, "expected %s, got '%s'", JAIL_FILE_NAME_EXPECT,
				 json_quote(buf, q, sizeof(q)));
	return 0;
}

struct profile_tool {
	char name[JAIL_MAX_NAME + 1];
	const char *source;
};

static int
profile_tool_key(struct json_ctx *x, json_t *v, void *obj, int which)
{
	struct profile_tool *t = obj;
	char q[80];
	int r;

	if (which == 0)
		return profile_file_name(x, v, t->name);
	if ((r = json_read_path(x, v, &t->source)) < 0)
		return r;
	/* The source is compared with its mount's: one spelling only. */
	if (!jail_path_normal(t->source, false))
		return json_fail(x,
				 "expected an absolute path without '.', '..' or '//' components "
				 "(and not /), got '%s'",
				 json_quote(t->source, q, sizeof(q)));
	return 0;
}

static const struct json_field profile_tool_fields[] = {
	{"name", profile_tool_key, 0, NULL},
	{"source", profile_tool_key, 1, NULL},
};
static const struct json_table profile_tool_table = {profile_tool_fields,
						     ARRAY_SIZE(profile_tool_fields)};

/* After "env" (the table's order), so that PATH grows from the profile's. */
static int
profile_tools(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	struct jail_config *c = ((struct profile_load *)obj)->c;
	size_t n;
	int r;

	if ((r = json_read_array(x, v, JAIL_MAX_TOOLS, &n)) < 0)
		return r;
	jail_config_clear_tools(c);
	for (size_t i = 0; i < n; i++) {
		struct profile_tool t = {.source = NULL};
		size_t saved = json_path_push_index(x, i);

		if ((r = json_walk_object(x, json_array_get(v, i), &profile_tool_table, &t)) < 0)
			return r;
		if (!t.name[0])
			return json_fail(x, "missing key 'name' (expected %s)",
					 JAIL_FILE_NAME_EXPECT);
		if (!t.source)
			return json_fail(x, "missing key 'source' (expected an absolute path on "
					    "the host)");
		if ((r = jail_config_add_tool(c, t.name, t.source, x->e)) < 0)
			return json_wrap(x, r);
		json_path_pop(x, saved);
	}
	return 0;
}

static int
profile_secret_name(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	return profile_file_name(x, v, ((struct jail_secret *)obj)->name);
}

static int
profile_secret_required(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	return json_read_bool(x, v, &((struct jail_secret *)obj)->required);
}

static int
profile_secret_max_bytes(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	uint64_t n;
	int r = json_read_uint(x, v, 1, JAIL_SECRET_MAX_BYTES, &n);

	if (r == 0)
		((struct jail_secret *)obj)->max_bytes = (uint32_t)n;
	return r;
}

static const struct json_field profile_secret_fields[] = {
	{"name", profile_secret_name, 0, NULL},
	{"required", profile_secret_required, 0, NULL},
	{"max_bytes", profile_secret_max_bytes, 0, NULL},
};
static const struct json_table profile_secret_table = {profile_secret_fields,
						       ARRAY_SIZE(profile_secret_fields)};

static int
profile_secrets(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	struct jail_config *c = ((struct profile_load *)obj)->c;
	size_t n;
	int r;

	if ((r = json_read_array(x, v, JAIL_MAX_SECRETS, &n)) < 0)
		return r;
	memset(c->secrets, 0, sizeof(c->secrets));
	c->n_secrets = 0;
	for (size_t i = 0; i < n; i++) {
		struct jail_secret *s = &c->secrets[i];
		size_t saved = json_path_push_index(x, i);

		s->required = true;
		s->max_bytes = JAIL_SECRET_DEFAULT_BYTES;
		if ((r = json_walk_object(x, json_array_get(v, i), &profile_secret_table, s)) < 0)
			return r;
		if (!s->name[0])
			return json_fail(x, "missing key 'name' (expected %s)",
					 JAIL_FILE_NAME_EXPECT);
		c->n_secrets++;
		json_path_pop(x, saved);
	}
	return 0;
}

static const char *const profile_restarts[] = {
	[JAIL_RESTART_NEVER] = "never",
	[JAIL_RESTART_ON_FAILURE] = "on-failure",
};

static int
profile_restart(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	int i, r = json_read_enum(x, v, profile_restarts, ARRAY_SIZE(profile_restarts), &i);

	if (r == 0)
		((struct profile_load *)obj)->c->restart = (enum jail_restart)i;
	return r;
}

static int
profile_restart_max(struct json_ctx *x, json_t *v, void *obj, int arg)
{
	uint64_t n;
	int r = json_read_uint(x, v, 0, JAIL_RESTART_MAX_LIMIT, &n);

	if (r == 0)
		((struct profile_load *)obj)->c->restart_max = (uint32_t)n;
	return r;
}

/* A restart policy is about the agent: "restart" and "restart_max" need an
 * entrypoint even when they say what the defaults say, which the config
 * cannot tell apart from their absence (the validator sees the rest). */
static int
profile_agent_check(struct json_ctx *x, json_t *root, const struct jail_config *c)
{
	static const char *const keys[] = {"restart", "restart_max"};

	for (size_t i = 0; i < ARRAY_SIZE(keys) && !c->agent_argc; i++)
		if (json_object_get(root, keys[i])) {
			json_path_push_key(x, keys[i]);
			return json_fail(x, "needs an \"entrypoint\" (the agent program it "
					    "restarts)");
		}
	return 0;
}

/* --- the schema ----------------------------------------------------------- */

#define CFG(member)   ((int)offsetof(struct jail_config, member))
#define TABLE(fields) (&(const struct json_table){fields, ARRAY_SIZE(fields)})

static const struct json_field profile_user_fields[] = {
	{"uid", profile_id, CFG(uid), NULL},
	{"gid", profile_id, CFG(gid), NULL},
};
static const struct json_field profile_host_ids_fields[] = {
	{"min", profile_id, CFG(host_id_min), NULL},
	{"max", profile_id, CFG(host_id_max), NULL},
};
static const struct json_field profile_pool_fields[] = {
	{"size", profile_pool_count, CFG(pool_size), NULL},
	{"max", profile_pool_count, CFG(pool_max), NULL},
};
static const struct json_field profile_session_fields[] = {
	{"idle_timeout_s", profile_idle_s, CFG(session_idle_s), NULL},
	{"max_lifetime_s", profile_lifetime_s, CFG(session_lifetime_s), NULL},
};
static const struct json_field profile_namespaces_fields[] = {
	{"user", profile_namespace, JAIL_NS_USER, NULL},
	{"pid", profile_namespace, JAIL_NS_PID, NULL},
	{"mount", profile_namespace, JAIL_NS_MOUNT, NULL},
	{"net", profile_namespace, JAIL_NS_NET, NULL},
	{"ipc", profile_namespace, JAIL_NS_IPC, NULL},
	{"uts", profile_namespace, JAIL_NS_UTS, NULL},
	{"cgroup", profile_namespace, JAIL_NS_CGROUP, NULL},
	{"time", profile_namespace, JAIL_NS_TIME, NULL},
};
static const struct json_field profile_dev_fields[] = {
	{"pts", profile_flag, CFG(dev_pts), NULL},
	{"tty", profile_flag, CFG(dev_tty), NULL},
	{"shm_size", profile_size, CFG(shm_size), NULL},
};
static const struct json_field profile_network_fields[] = {
	{"mode", profile_net_mode, 0, NULL},
};
static const struct json_field profile_rlimits_fields[] = {
	{"as", profile_rlimit, JAIL_RL_AS, NULL},
	{"core", profile_rlimit, JAIL_RL_CORE, NULL},
	{"cpu", profile_rlimit, JAIL_RL_CPU, NULL},
	{"fsize", profile_rlimit, JAIL_RL_FSIZE, NULL},
	{"nofile", profile_rlimit, JAIL_RL_NOFILE, NULL},
	{"nproc", profile_rlimit, JAIL_RL_NPROC, NULL},
	{"stack", profile_rlimit, JAIL_RL_STACK, NULL},
};
static const struct json_field profile_limits_fields[] = {
	{"memory", profile_size, CFG(cgroup.memory_max), NULL},
	{"memory_high", profile_size, CFG(cgroup.memory_high), NULL},
	{"pids", profile_pids, 0, NULL},
	{"cpu", profile_cpu, 0, NULL},
	{"cpuset", profile_cpuset, 0, NULL},
	{"io_max", profile_io_max, 0, NULL},
	{"time_s", profile_time, 0, NULL},
	{"require_cgroups", profile_flag, CFG(cgroup.require_cgroups), NULL},
	{"rlimits", NULL, 0, TABLE(profile_rlimits_fields)},
};
static const struct json_field profile_fields[] = {
	{"format", profile_skip, 0, NULL},
	{"name", profile_name, 0, NULL},
	{"description", profile_description, 0, NULL},
	{"rootfs", profile_rootfs, CFG(rootfs), NULL},
	{"hostname", profile_hostname, 0, NULL},
	{"user", NULL, 0, TABLE(profile_user_fields)},
	{"host_ids", NULL, 0, TABLE(profile_host_ids_fields)},
	{"namespaces", NULL, 0, TABLE(profile_namespaces_fields)},
	{"mounts", profile_mounts, 0, NULL},
	{"tmp", profile_area, 0, NULL},
	{"workspace", profile_area, 1, NULL},
	{"proc", profile_flag, CFG(proc), NULL},
	{"dev", NULL, 0, TABLE(profile_dev_fields)},
	{"cwd", profile_path, CFG(cwd), NULL},
	{"env", profile_env, 0, NULL},
	{"keep_env", profile_flag, CFG(keep_env), NULL},
	{"network", NULL, 0, TABLE(profile_network_fields)},
	{"limits", NULL, 0, TABLE(profile_limits_fields)},
	{"seccomp", profile_seccomp, 0, NULL},
	{"pool", NULL, 0, TABLE(profile_pool_fields)},
	{"session", NULL, 0, TABLE(profile_session_fields)},
	/* Format 3, in this order: health defaults to the first port, tools
	 * append to the PATH env gave. */
	{"entrypoint", profile_entrypoint, 0, NULL},
	{"ports", profile_ports, 0, NULL},
	{"health", profile_health, 0, NULL},
	{"tools", profile_tools, 0, NULL},
	{"secrets", profile_secrets, 0, NULL},
	{"restart", profile_restart, 0, NULL},
	{"restart_max", profile_restart_max, 0, NULL},
};
static const struct json_table profile_table = {profile_fields, ARRAY_SIZE(profile_fields)};

/* --- loading ------------------------------------------------------------- */

/* Before anything else: a newer profile has keys this reader does not know,
 * and "newer format" is the error that helps, not "unknown key". */
static int
profile_check_format(struct json_ctx *x, json_t *root)
{
	/* Keys added by a format: a profile that uses one says so. */
	static const struct {
		const char *key;
		unsigned format;
	} added[] = {{"pool", 2},    {"session", 2}, {"entrypoint", 3},
		     {"ports", 3},   {"health", 3},  {"tools", 3},
		     {"secrets", 3}, {"restart", 3}, {"restart_max", 3}};
	json_t *f = json_object_get(root, "format");
	uint64_t format;
	int r;

	if (!f)
		return json_fail(x, "missing key 'format' (expected \"format\": %d)",
				 JAIL_PROFILE_FORMAT);
	size_t saved = json_path_push_key(x, "format");
	if ((r = json_read_uint(x, f, 1, INT32_MAX, &format)) < 0)
		return r;
	if (format > JAIL_PROFILE_FORMAT)
		return json_fail(x,
				 "profile format %llu is newer than this agentjail supports (%d)",
				 (unsigned long long)format, JAIL_PROFILE_FORMAT);
	json_path_pop(x, saved);
	for (size_t i = 0; i < ARRAY_SIZE(added); i++)
		if (format < added[i].format && json_object_get(root, added[i].key)) {
			json_path_push_key(x, added[i].key);
			return json_fail(
				x,
				"a key of profile format %u (this profile says \"format\": %llu)",
				added[i].format, (unsigned long long)format);
		}
	return 0;
}

int
jail_profile_load_buffer(struct jail_config *c, const char *json, size_t len, const char *origin,
			 struct jail_error *e)
{
	struct profile_load p = {.c = c, .ns_net = -1, .net_mode = -1};
	json_auto_t *root = NULL;
	struct json_ctx x;
	int r;

	if (!origin)
		origin = "profile";
	json_ctx_init(&x, origin, e);
	if ((r = json_decode(&x, json, len, &root)) < 0)
		return r;
	if ((r = profile_check_format(&x, root)) < 0)
		return r;
	if ((r = json_walk_object(&x, root, &profile_table, &p)) < 0)
		return r;
	if ((r = profile_network_check(&x, &p)) < 0)
		return r;
	if ((r = profile_agent_check(&x, root, c)) < 0)
		return r;
	if ((r = jail_config_validate(c, 0, e)) < 0 && e)
		jerr_wrap(e, "%s", origin);
	return r;
}

int
jail_profile_load_file(struct jail_config *c, const char *path, struct jail_error *e)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r = json_read_file(path, PROFILE_MAX_SIZE, "a profile", &buf, &len, e);

	if (r < 0)
		return r;
	return jail_profile_load_buffer(c, buf, len, path, e);
}

static const struct {
	const char *name;
	const char *text;
} profile_builtins[] = {
	{"default", aj_profile_default},
	{"minimal", aj_profile_minimal},
	{"python", aj_profile_python},
};

const char *
jail_profile_builtin(const char *name, size_t *ret_len)
{
	for (size_t i = 0; name && i < ARRAY_SIZE(profile_builtins); i++) {
		if (strcmp(name, profile_builtins[i].name) == 0) {
			if (ret_len)
				*ret_len = strlen(profile_builtins[i].text);
			return profile_builtins[i].text;
		}
	}
	return NULL;
}

int
jail_profile_load(struct jail_config *c, const char *name_or_file, struct jail_error *e)
{
	const char *s = name_or_file;
	size_t n = s ? strlen(s) : 0;
	char q[80], paths[2][JAIL_MAX_PATH + 1];

	if (!s)
		return jerr_plain(e, EINVAL, "profile: no name given");
	if (strchr(s, '/') || (n >= 5 && strcmp(s + n - 5, ".json") == 0))
		return jail_profile_load_file(c, s, e);
	if (!profile_name_ok(s))
		return jerr_plain(
			e, EINVAL,
			"profile '%s': expected a name of 1-64 characters of "
			"[A-Za-z0-9._-], or a file name (containing '/' or ending in .json)",
			json_quote(s, q, sizeof(q)));

	snprintf(paths[0], sizeof(paths[0]), "%s/agentjail/profiles/%s.json", AJ_SYSCONFDIR, s);
	snprintf(paths[1], sizeof(paths[1]), "%s/profiles/%s.json", AJ_DATADIR, s);
	/* The first place that has the profile wins; a profile that is there but
	 * cannot be read is an error, never a silent fall-back to the next. */
	for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
		_cleanup_free_ char *buf = NULL;
		size_t len;
		int r = json_read_file(paths[i], PROFILE_MAX_SIZE, "a profile", &buf, &len, e);

		if (r == -ENOENT || r == -ENOTDIR) {
			jerr_clear(e);
			continue;
		}
		if (r < 0)
			return r;
		return jail_profile_load_buffer(c, buf, len, paths[i], e);
	}
	size_t len;
	const char *text = jail_profile_builtin(s, &len);
	if (text) {
		char origin[JAIL_MAX_NAME + 16];

		snprintf(origin, sizeof(origin), "builtin:%s", s);
		return jail_profile_load_buffer(c, text, len, origin, e);
	}
	return jerr_plain(e, ENOENT,
			  "profile '%s' not found (looked for %s, %s, and the builtin profiles "
			  "default, minimal, python)",
			  s, paths[0], paths[1]);
}

int
jail_seccomp_load_file(struct jail_seccomp *s, const char *path, struct jail_error *e)
{
	_cleanup_free_ char *buf = NULL;
	json_auto_t *root = NULL;
	struct json_ctx x;
	size_t len;
	int r;

	if ((r = json_read_file(path, PROFILE_MAX_SIZE, "a profile", &buf, &len, e)) < 0)
		return r;
	json_ctx_init(&x, path, e);
	if ((r = json_decode(&x, buf, len, &root)) < 0)
		return r;
	return json_walk_object(&x, root, &profile_seccomp_table, s);
}
