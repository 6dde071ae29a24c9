/* SPDX-License-Identifier: Apache-2.0 */
/*
 * struct jail_config: defaults, builders, and the one validator every front
 * end (command line, profiles, the daemon's API) goes through before any
 * system call is made on the config's behalf.
 */
#include <ctype.h>
#include <limits.h>
#include <seccomp.h>
#include <string.h>

#include "internal.h"

void
jail_config_init(struct jail_config *c)
{
	memset(c, 0, sizeof(*c));
	c->namespaces = JAIL_NS_DEFAULT;
	c->uid = JAIL_DEFAULT_UID;
	c->gid = JAIL_DEFAULT_GID;
	c->host_uid = JAIL_ID_AUTO;
	c->host_gid = JAIL_ID_AUTO;
	c->host_id_min = JAIL_DEFAULT_HOST_ID_MIN;
	c->host_id_max = JAIL_DEFAULT_HOST_ID_MAX;
	c->tmp_size = JAIL_DEFAULT_TMP_SIZE;
	c->workspace_size = JAIL_DEFAULT_WORKSPACE_SIZE;
	c->shm_size = JAIL_DEFAULT_SHM_SIZE;
	c->proc = true;
	c->net = JAIL_NET_NONE;
	c->rlimits[JAIL_RL_CORE].mode = JAIL_RLIMIT_VALUE; /* core = 0 */
	c->seccomp.policy = JAIL_SECCOMP_POLICY_DEFAULT;
	c->seccomp.action = JAIL_SECCOMP_ACTION_ERRNO;
	c->health.interval_s = JAIL_DEFAULT_HEALTH_INTERVAL;
	c->health.timeout_s = JAIL_DEFAULT_HEALTH_TIMEOUT;
	c->health.start_period_s = JAIL_DEFAULT_HEALTH_START;
	c->restart = JAIL_RESTART_NEVER;
	c->restart_max = JAIL_DEFAULT_RESTART_MAX;
}

static void
free_strv(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
jail_config_free(struct jail_config *c)
{
	if (!c)
		return;
	free(c->name);
	free(c->rootfs);
	for (size_t i = 0; i < c->n_mounts; i++) {
		free(c->mounts[i].source);
		free(c->mounts[i].target);
	}
	free(c->mounts);
	free(c->tmp_dir);
	free(c->workspace_dir);
	free(c->hostname);
	free(c->cwd);
	free_strv(c->env, c->n_env);
	free_strv(c->seccomp.allow, c->seccomp.n_allow);
	free_strv(c->seccomp.deny, c->seccomp.n_deny);
	free_strv(c->argv, c->argc);
	free(c->runtime_dir);
	free(c->cgroup.cpuset);
	free_strv(c->cgroup.io_max, c->cgroup.n_io_max);
	free_strv(c->agent_argv, c->agent_argc);
	for (size_t i = 0; i < c->n_tools && i < JAIL_MAX_TOOLS; i++)
		free(c->tools[i].source);
	memset(c, 0, sizeof(*c));
}

int
jail_config_set_string(char **dst, const char *src, struct jail_error *e)
{
	char *copy = NULL;

	if (src) {
		copy = xstrdup_n(src, JAIL_MAX_ARG_LEN);
		if (!copy)
			return jerr(e, errno, "copy '%.64s'", src);
	}
	free(*dst);
	*dst = copy;
	return 0;
}

int
jail_config_add_mount(struct jail_config *c, enum jail_mount_kind kind, const char *source,
		      const char *target, bool readonly, uint64_t size, struct jail_error *e)
{
	if (c->n_mounts >= JAIL_MAX_MOUNTS)
		return jerr_plain(e, E2BIG, "too many mounts (at most %d)", JAIL_MAX_MOUNTS);
	struct jail_mount *m = realloc(c->mounts, (c->n_mounts + 1) * sizeof(*m));
	if (!m)
		return jerr(e, ENOMEM, "add mount");
	c->mounts = m;
	m = &c->mounts[c->n_mounts];
	memset(m, 0, sizeof(*m));
	m->kind = kind;
	m->readonly = readonly;
	m->size = size;
	if (source && !(m->source = xstrdup_n(source, JAIL_MAX_PATH)))
		return jerr(e, errno, "mount source '%.64s'", source);
	if (!(m->target = xstrdup_n(target ? target : source, JAIL_MAX_PATH))) {
		free(m->source);
		return jerr(e, errno ? errno : EINVAL, "mount target");
	}
	c->n_mounts++;
	return 0;
}

int
jail_config_set_env(struct jail_config *c, const char *nv, struct jail_error *e)
{
	const char *eq = strchr(nv, '=');
	if (!eq || eq == nv)
		return jerr_plain(e, EINVAL, "environment entry '%.64s': expected NAME=value", nv);
	size_t klen = (size_t)(eq - nv);
	char *copy = xstrdup_n(nv, JAIL_MAX_ENV_LEN);
	if (!copy)
		return jerr_plain(e, errno == ENAMETOOLONG ? E2BIG : errno,
				  "environment entry '%.*s': longer than %d bytes", (int)klen, nv,
				  JAIL_MAX_ENV_LEN);
	for (size_t i = 0; i < c->n_env; i++) {
		if (strncmp(c->env[i], nv, klen + 1) == 0) {
			free(c->env[i]);
			c->env[i] = copy;
			return 0;
		}
	}
	if (c->n_env >= JAIL_MAX_ENV) {
		free(copy);
		return jerr_plain(e, E2BIG, "too many environment variables (at most %d)",
				  JAIL_MAX_ENV);
	}
	char **v = realloc(c->env, (c->n_env + 2) * sizeof(*v));
	if (!v) {
		free(copy);
		return jerr(e, ENOMEM, "set environment");
	}
	c->env = v;
	c->env[c->n_env++] = copy;
	c->env[c->n_env] = NULL;
	return 0;
}

int
jail_config_set_argv(struct jail_config *c, char *const *argv, size_t argc, struct jail_error *e)
{
	if (argc > JAIL_MAX_ARGS)
		return jerr_plain(e, E2BIG, "too many arguments (at most %d)", JAIL_MAX_ARGS);
	char **v = calloc(argc + 1, sizeof(*v));
	if (!v)
		return jerr(e, ENOMEM, "copy arguments");
	for (size_t i = 0; i < argc; i++) {
		if (!(v[i] = xstrdup_n(argv[i], JAIL_MAX_ARG_LEN))) {
			free_strv(v, i);
			return jerr_plain(e, E2BIG, "argument %zu: longer than %d bytes", i,
					  JAIL_MAX_ARG_LEN);
		}
	}
	free_strv(c->argv, c->argc);
	c->argv = v;
	c->argc = argc;
	return 0;
}

int
jail_config_add_syscall(struct jail_seccomp *s, bool allow, const char *name, struct jail_error *e)
{
	char ***v = allow ? &s->allow : &s->deny;
	size_t *n = allow ? &s->n_allow : &s->n_deny;

	if (*n >= JAIL_MAX_SYSCALLS)
		return jerr_plain(e, E2BIG, "too many syscalls in the %s list (at most %d)",
				  allow ? "allow" : "deny", JAIL_MAX_SYSCALLS);
	char *copy = xstrdup_n(name, JAIL_MAX_NAME);
	if (!copy)
		return jerr_plain(e, EINVAL, "syscall name '%.64s...': longer than %d bytes", name,
				  JAIL_MAX_NAME);
	char **nv = realloc(*v, (*n + 1) * sizeof(**v));
	if (!nv) {
		free(copy);
		return jerr(e, ENOMEM, "add syscall");
	}
	nv[(*n)++] = copy;
	*v = nv;
	return 0;
}

bool
jail_cpuset_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 256 || !isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]) && s[i] != ',' && s[i] != '-')
			return false;
	return !strstr(s, ",,") && !strstr(s, "--") && !strstr(s, ",-") && !strstr(s, "-,");
}

bool
jail_io_max_ok(const char *s)
{
	static const char *const keys[] = {"rbps=", "wbps=", "riops=", "wiops="};
	unsigned maj, min;
	int n = 0;

	if (strlen(s) > 256 || sscanf(s, "%u:%u%n", &maj, &min, &n) != 2 || s[n] != ' ')
		return false;
	for (const char *p = s + n; *p;) {
		if (*p++ != ' ')
			return false;
		size_t k = 0;
		while (k < ARRAY_SIZE(keys) && strncmp(p, keys[k], strlen(keys[k])) != 0)
			k++;
		if (k == ARRAY_SIZE(keys))
			return false;
		p += strlen(keys[k]);
		if (strncmp(p, "max", 3) == 0 && (p[3] == ' ' || !p[3]))
			p += 3;
		else if (isdigit((unsigned char)*p))
			while (isdigit((unsigned char)*p))
				p++;
		else
			return false;
	}
	return true;
}

int
jail_config_add_io_max(struct jail_config *c, const char *line, struct jail_error *e)
{
	struct jail_cgroup_limits *l = &c->cgroup;

	if (l->n_io_max >= JAIL_MAX_IO_MAX)
		return jerr_plain(e, E2BIG, "too many io.max lines (at most %d)", JAIL_MAX_IO_MAX);
	char *copy = xstrdup_n(line, 256);
	char **v = copy ? realloc(l->io_max, (l->n_io_max + 1) * sizeof(*v)) : NULL;
	if (!v) {
		free(copy);
		return jerr(e, ENOMEM, "add io.max line");
	}
	v[l->n_io_max++] = copy;
	l->io_max = v;
	return 0;
}

void
jail_config_clear_io_max(struct jail_config *c)
{
	free_strv(c->cgroup.io_max, c->cgroup.n_io_max);
	c->cgroup.io_max = NULL;
	c->cgroup.n_io_max = 0;
}

#define PATH_EXPECT "an absolute path without '.', '..' or '//' components, at most 4095 bytes"

/* --- agent runtimes ---------------------------------------------------- */

int
jail_config_set_agent_argv(struct jail_config *c, char *const *argv, size_t argc,
			   struct jail_error *e)
{
	char **v = NULL;

	if (argc > JAIL_MAX_AGENT_ARGS)
		return jerr_plain(e, E2BIG, "entrypoint: too many arguments (at most %d)",
				  JAIL_MAX_AGENT_ARGS);
	if (argc > 0) {
		if (!(v = calloc(argc + 1, sizeof(*v))))
			return jerr(e, ENOMEM, "copy entrypoint");
		for (size_t i = 0; i < argc; i++) {
			if (!(v[i] = xstrdup_n(argv[i], JAIL_MAX_ARG_LEN))) {
				free_strv(v, i);
				return jerr_plain(e, E2BIG,
						  "entrypoint argument %zu: longer than %d bytes",
						  i, JAIL_MAX_ARG_LEN);
			}
		}
	}
	free_strv(c->agent_argv, c->agent_argc);
	c->agent_argv = v;
	c->agent_argc = argc;
	return 0;
}

bool
jail_port_name_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= JAIL_PORT_NAME_MAX &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

/* A name that is also a file name in a directory of the jail's: no '/',
 * and not one of the two names every directory already has. */
bool
jail_file_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > JAIL_MAX_NAME || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

/* The path of an HTTP request line: what agentjaild puts there must not
 * need escaping. A prefix also may not climb out of itself with "..". */
bool
jail_http_path_ok(const char *s, bool prefix)
{
	size_t n = strlen(s);

	if (s[0] != '/' || n > JAIL_HTTP_PATH_MAX || (prefix && strstr(s, "..")))
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return false;
	return true;
}

/* Where PATH is in env, or NULL. */
static char **
env_path(struct jail_config *c)
{
	for (size_t i = 0; i < c->n_env; i++)
		if (strncmp(c->env[i], "PATH=", 5) == 0)
			return &c->env[i];
	return NULL;
}

/* Drop the mount jail_config_add_mount() added last. */
static void
drop_last_mount(struct jail_config *c)
{
	struct jail_mount *m = &c->mounts[--c->n_mounts];

	free(m->source);
	free(m->target);
	memset(m, 0, sizeof(*m));
}

int
jail_config_add_tool(struct jail_config *c, const char *name, const char *source,
		     struct jail_error *e)
{
	char target[sizeof(JAIL_TOOLS_DIR) + JAIL_MAX_NAME + 1];

	if (c->n_tools >= JAIL_MAX_TOOLS)
		return jerr_plain(e, E2BIG, "too many tools (at most %d)", JAIL_MAX_TOOLS);
	if (!jail_file_name_ok(name))
		return jerr_plain(e, EINVAL, "tool name '%.80s': expected %s", name,
				  JAIL_FILE_NAME_EXPECT);
	if (!jail_path_normal(source, false))
		return jerr_plain(e, EINVAL, "tool '%s': source '%.256s': expected %s", name,
				  source, PATH_EXPECT);
	snprintf(target, sizeof(target), JAIL_TOOLS_DIR "/%s", name);

	char **path = env_path(c);
	const char *base = path ? *path + 5 : JAIL_DEFAULT_PATH;
	_cleanup_free_ char *nv = NULL;
	_cleanup_free_ char *src = strdup(source);
	if (!src || asprintf(&nv, "PATH=%s:%s/bin:%s", base, target, target) < 0) {
		nv = NULL;
		return jerr(e, ENOMEM, "add tool '%s'", name);
	}
	int r = jail_config_add_mount(c, JAIL_MOUNT_BIND, source, target, true, 0, e);
	if (r < 0)
		return r;
	if ((r = jail_config_set_env(c, nv, e)) < 0) {
		drop_last_mount(c);
		jerr_wrap(e, "tool '%s'", name);
		return r;
	}
	struct jail_tool *t = &c->tools[c->n_tools++];
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->source = TAKE_PTR(src);
	return 0;
}

/* Whether mount m is the one jail_config_add_tool() made for tool t. */
static bool
is_tool_mount(const struct jail_mount *m, const struct jail_tool *t)
{
	return m->kind == JAIL_MOUNT_BIND && m->readonly && m->target && m->source && t->source &&
	       strncmp(m->target, JAIL_TOOLS_DIR "/", sizeof(JAIL_TOOLS_DIR)) == 0 &&
	       strcmp(m->target + sizeof(JAIL_TOOLS_DIR), t->name) == 0 &&
	       strcmp(m->source, t->source) == 0;
}

/* What jail_config_add_tool() appended to PATH for the tools so far. */
static void
tools_path_suffix(const struct jail_config *c, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < c->n_tools && len < size; i++) {
		const char *n = c->tools[i].name;
		int w = snprintf(buf + len, size - len, ":%s/%s/bin:%s/%s", JAIL_TOOLS_DIR, n,
				 JAIL_TOOLS_DIR, n);
		if (w < 0)
			break;
		len += (size_t)w;
	}
}

void
jail_config_clear_tools(struct jail_config *c)
{
	char suffix[JAIL_MAX_TOOLS * (2 * (sizeof(JAIL_TOOLS_DIR) + JAIL_MAX_NAME) + 8)];
	char **path = env_path(c);
	size_t kept = 0;

	if (c->n_tools > JAIL_MAX_TOOLS)
		c->n_tools = JAIL_MAX_TOOLS;
	/* PATH loses what the tools added, if it still ends with that. */
	tools_path_suffix(c, suffix, sizeof(suffix));
	if (path && suffix[0]) {
		size_t n = strlen(*path), k = strlen(suffix);

		if (n >= 5 + k && strcmp(*path + n - k, suffix) == 0)
			(*path)[n - k] = '\0';
	}
	for (size_t i = 0; i < c->n_mounts; i++) {
		bool tool = false;

		for (size_t k = 0; k < c->n_tools && !tool; k++)
			tool = is_tool_mount(&c->mounts[i], &c->tools[k]);
		if (tool) {
			free(c->mounts[i].source);
			free(c->mounts[i].target);
		} else {
			c->mounts[kept++] = c->mounts[i];
		}
	}
	c->n_mounts = kept;
	for (size_t i = 0; i < c->n_tools; i++)
		free(c->tools[i].source);
	memset(c->tools, 0, sizeof(c->tools));
	c->n_tools = 0;
}

uint64_t
jail_secrets_size(const struct jail_config *c)
{
	uint64_t size = 0;

	if (c->n_secrets == 0)
		return 0;
	/* Each file takes whole pages of a tmpfs; the 64 KiB are for the
	 * directory and for writing a secret beside the one it replaces. */
	for (size_t i = 0; i < c->n_secrets && i < JAIL_MAX_SECRETS; i++)
		size += ((uint64_t)c->secrets[i].max_bytes + 4095) / 4096 * 4096;
	return size + 65536;
}

/* --- validation ------------------------------------------------------- */

/* An absolute, normalized path: starts with '/', no empty, "." or ".."
 * components, no trailing '/', at most JAIL_MAX_PATH bytes. */
bool
jail_path_normal(const char *p, bool allow_root)
{
	if (!p || p[0] != '/' || strlen(p) > JAIL_MAX_PATH)
		return false;
	if (p[1] == '\0')
		return allow_root;
	for (const char *s = p; *s;) {
		const char *comp = s + 1;
		const char *end = strchrnul(comp, '/');
		size_t len = (size_t)(end - comp);
		if (len == 0 || (len == 1 && comp[0] == '.') ||
		    (len == 2 && comp[0] == '.' && comp[1] == '.'))
			return false;
		s = end;
	}
	return true;
}

static bool
hostname_ok(const char *h)
{
	size_t n = strlen(h);
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)h[i]) && h[i] != '-' && h[i] != '.' && h[i] != '_')
			return false;
	return true;
}

/* Paths the jail's own layout owns: a mount there would hide it. */
static bool
reserved_target(const char *t)
{
	static const char *const reserved[] = {"/proc", "/dev", "/tmp", "/workspace"};
	for (size_t i = 0; i < ARRAY_SIZE(reserved); i++)
		if (strcmp(t, reserved[i]) == 0)
			return true;
	return strncmp(t, "/proc/", 6) == 0 || strncmp(t, "/dev/", 5) == 0;
}

static int
validate_syscall_names(char *const *names, size_t n, const char *list, struct jail_error *e)
{
	for (size_t i = 0; i < n; i++)
		if (seccomp_syscall_resolve_name(names[i]) == __NR_SCMP_ERROR)
			return jerr_plain(
				e, EINVAL,
				"seccomp %s list: unknown syscall '%s' (expected a syscall "
				"name of this architecture, e.g. 'openat')",
				list, names[i]);
	return 0;
}

/* path is dir or below it. */
static bool
path_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* A mount at or under /tools or /run/secrets would hide what the tools and
 * secrets keys put there (or fail on their read-only mounts): with tools,
 * only the tools' own mounts go under /tools; with secrets, nothing goes
 * under /run/secrets. */
static int
validate_agent_mount(const struct jail_config *c, size_t i, struct jail_error *e)
{
	const struct jail_mount *m = &c->mounts[i];

	if (c->n_tools && path_under(m->target, JAIL_TOOLS_DIR)) {
		for (size_t k = 0; k < c->n_tools && k < JAIL_MAX_TOOLS; k++)
			if (is_tool_mount(m, &c->tools[k]))
				return 0;
		return jerr_plain(
			e, EINVAL,
			"mount %zu: target '%.256s' is under " JAIL_TOOLS_DIR
			", which the \"tools\" key manages (expected a path outside " JAIL_TOOLS_DIR
			")",
			i + 1, m->target);
	}
	if (c->n_secrets && path_under(m->target, JAIL_SECRETS_DIR))
		return jerr_plain(e, EINVAL,
				  "mount %zu: target '%.256s' is under " JAIL_SECRETS_DIR
				  ", which the \"secrets\" key manages (expected a path "
				  "outside " JAIL_SECRETS_DIR ")",
				  i + 1, m->target);
	return 0;
}

/* "a", "b", "c" for messages. */
static void
port_names(const struct jail_config *c, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < c->n_ports && len < size; i++) {
		int w = snprintf(buf + len, size - len, "%s%s", i ? ", " : "", c->ports[i].name);
		if (w < 0)
			break;
		len += (size_t)w;
	}
}

static int
validate_range(uint64_t v, uint64_t min, uint64_t max, const char *path, struct jail_error *e)
{
	if (v < min || v > max)
		return jerr_plain(
			e, EINVAL, "%s: expected an integer between %llu and %llu, got %llu", path,
			(unsigned long long)min, (unsigned long long)max, (unsigned long long)v);
	return 0;
}

/*
 * An agent runtime's keys, named by their JSON paths in a profile (which
 * is how every front end spells them). The profile loader checks types,
 * lengths and ranges as it reads; the names, paths, uniqueness and the
 * rules between the keys are checked here, once, for every front end.
 */
static int
validate_agent(const struct jail_config *c, struct jail_error *e)
{
	char path[64], names[JAIL_MAX_PORTS * (JAIL_PORT_NAME_MAX + 2) + 1];
	int r;

	/* The entrypoint. */
	if (c->agent_argc > JAIL_MAX_AGENT_ARGS || (c->agent_argc && !c->agent_argv) ||
	    (!c->agent_argc && c->agent_argv))
		return jerr_plain(e, EINVAL, "$.entrypoint: expected 1 to %d arguments, got %zu",
				  JAIL_MAX_AGENT_ARGS, c->agent_argc);
	for (size_t i = 0; i < c->agent_argc; i++)
		if (!c->agent_argv[i] || !c->agent_argv[i][0] ||
		    strlen(c->agent_argv[i]) > JAIL_MAX_ARG_LEN)
			return jerr_plain(e, EINVAL,
					  "$.entrypoint[%zu]: expected a non-empty string of at "
					  "most %d bytes",
					  i, JAIL_MAX_ARG_LEN);

	/* Ports. */
	if (c->n_ports > JAIL_MAX_PORTS)
		return jerr_plain(e, EINVAL, "$.ports: expected at most %d ports, got %zu",
				  JAIL_MAX_PORTS, c->n_ports);
	if (c->n_ports && !c->agent_argc)
		return jerr_plain(e, EINVAL,
				  "$.ports: needs an \"entrypoint\" (the agent program that "
				  "listens on them)");
	for (size_t i = 0; i < c->n_ports; i++) {
		const struct jail_port *p = &c->ports[i];

		if (!memchr(p->name, '\0', sizeof(p->name)) || !jail_port_name_ok(p->name))
			return jerr_plain(e, EINVAL, "$.ports[%zu].name: expected %s, got '%.32s'",
					  i, JAIL_PORT_NAME_EXPECT, p->name);
		snprintf(path, sizeof(path), "$.ports[%zu].port", i);
		if ((r = validate_range(p->port, 1, 65535, path, e)) < 0)
			return r;
		if (!memchr(p->path_prefix, '\0', sizeof(p->path_prefix)) ||
		    !jail_http_path_ok(p->path_prefix, true))
			return jerr_plain(e, EINVAL,
					  "$.ports[%zu].path_prefix: expected %s, got '%.256s'", i,
					  JAIL_HTTP_PATH_PREFIX_EXPECT, p->path_prefix);
		for (size_t k = 0; k < i; k++) {
			if (strcmp(c->ports[k].name, p->name) == 0)
				return jerr_plain(e, EINVAL,
						  "$.ports[%zu].name: '%s' is also the name of "
						  "$.ports[%zu] (expected unique names)",
						  i, p->name, k);
			if (c->ports[k].port == p->port)
				return jerr_plain(e, EINVAL,
						  "$.ports[%zu].port: %u is also the port of "
						  "$.ports[%zu] (expected unique ports)",
						  i, p->port, k);
		}
	}

	/* The health check. */
	if (c->health.set) {
		const struct jail_health *h = &c->health;
		bool found = false;

		if (!c->n_ports)
			return jerr_plain(e, EINVAL,
					  "$.health: needs \"ports\" (a health check is an HTTP "
					  "request to one of them)");
		if (!memchr(h->path, '\0', sizeof(h->path)) || !jail_http_path_ok(h->path, false))
			return jerr_plain(e, EINVAL, "$.health.path: expected %s, got '%.256s'",
					  JAIL_HTTP_PATH_EXPECT, h->path);
		for (size_t i = 0; i < c->n_ports && !found; i++)
			found = strncmp(h->port, c->ports[i].name, sizeof(h->port)) == 0;
		if (!found) {
			port_names(c, names, sizeof(names));
			return jerr_plain(e, EINVAL,
					  "$.health.port: '%.32s' is not one of the ports "
					  "(expected one of: %s)",
					  h->port, names);
		}
		if ((r = validate_range(h->interval_s, 1, JAIL_HEALTH_MAX_INTERVAL_S,
					"$.health.interval_s", e)) < 0 ||
		    (r = validate_range(h->timeout_s, 1, JAIL_HEALTH_MAX_TIMEOUT_S,
					"$.health.timeout_s", e)) < 0 ||
		    (r = validate_range(h->start_period_s, 1, JAIL_HEALTH_MAX_START_S,
					"$.health.start_period_s", e)) < 0)
			return r;
	}

	/* Tools: each with its mount (jail_config_add_tool keeps them so). */
	if (c->n_tools > JAIL_MAX_TOOLS)
		return jerr_plain(e, EINVAL, "$.tools: expected at most %d tools, got %zu",
				  JAIL_MAX_TOOLS, c->n_tools);
	for (size_t i = 0; i < c->n_tools; i++) {
		const struct jail_tool *t = &c->tools[i];
		bool mounted = false;

		if (!memchr(t->name, '\0', sizeof(t->name)) || !jail_file_name_ok(t->name))
			return jerr_plain(e, EINVAL, "$.tools[%zu].name: expected %s, got '%.64s'",
					  i, JAIL_FILE_NAME_EXPECT, t->name);
		if (!jail_path_normal(t->source, false))
			return jerr_plain(e, EINVAL,
					  "$.tools[%zu].source: expected %s, got '%.256s'", i,
					  PATH_EXPECT, t->source ? t->source : "");
		for (size_t k = 0; k < i; k++)
			if (strcmp(c->tools[k].name, t->name) == 0)
				return jerr_plain(e, EINVAL,
						  "$.tools[%zu].name: '%s' is also the name of "
						  "$.tools[%zu] (expected unique names)",
						  i, t->name, k);
		for (size_t k = 0; k < c->n_mounts && !mounted; k++)
			mounted = is_tool_mount(&c->mounts[k], t);
		if (!mounted)
			return jerr_plain(e, EINVAL,
					  "$.tools[%zu]: no read-only bind mount of '%.256s' "
					  "at " JAIL_TOOLS_DIR "/%s (expected the mount "
					  "jail_config_add_tool() makes)",
					  i, t->source, t->name);
	}

	/* Secrets. */
	if (c->n_secrets > JAIL_MAX_SECRETS)
		return jerr_plain(e, EINVAL, "$.secrets: expected at most %d secrets, got %zu",
				  JAIL_MAX_SECRETS, c->n_secrets);
	for (size_t i = 0; i < c->n_secrets; i++) {
		const struct jail_secret *s = &c->secrets[i];

		if (!memchr(s->name, '\0', sizeof(s->name)) || !jail_file_name_ok(s->name))
			return jerr_plain(e, EINVAL,
					  "$.secrets[%zu].name: expected %s, got '%.64s'", i,
					  JAIL_FILE_NAME_EXPECT, s->name);
		snprintf(path, sizeof(path), "$.secrets[%zu].max_bytes", i);
		if ((r = validate_range(s->max_bytes, 1, JAIL_SECRET_MAX_BYTES, path, e)) < 0)
			return r;
		for (size_t k = 0; k < i; k++)
			if (strcmp(c->secrets[k].name, s->name) == 0)
				return jerr_plain(e, EINVAL,
						  "$.secrets[%zu].name: '%s' is also the name of "
						  "$.secrets[%zu] (expected unique names)",
						  i, s->name, k);
	}

	/* The restart policy. */
	if (c->restart != JAIL_RESTART_NEVER && c->restart != JAIL_RESTART_ON_FAILURE)
		return jerr_plain(e, EINVAL, "$.restart: unknown policy %d", (int)c->restart);
	if (c->restart != JAIL_RESTART_NEVER && !c->agent_argc)
		return jerr_plain(e, EINVAL,
				  "$.restart: needs an \"entrypoint\" (the agent program it "
				  "restarts)");
	return validate_range(c->restart_max, 0, JAIL_RESTART_MAX_LIMIT, "$.restart_max", e);
}

int
jail_config_validate(const struct jail_config *c, unsigned flags, struct jail_error *e)
{
	const bool userns = c->namespaces & JAIL_NS_USER;

	if (flags & JAIL_VALIDATE_RUN) {
		if (!c->argv || c->argc == 0 || !c->argv[0] || !c->argv[0][0])
			return jerr_plain(e, EINVAL,
					  "no command given (expected: -- COMMAND [ARG...])");
	}
	if (c->namespaces & ~(unsigned)(JAIL_NS_DEFAULT | JAIL_NS_TIME))
		return jerr_plain(e, EINVAL, "namespaces: unknown flag 0x%x", c->namespaces);
	if (!(c->namespaces & JAIL_NS_MOUNT) &&
	    (c->rootfs || c->n_mounts || c->tmp_dir || c->workspace_dir))
		return jerr_plain(e, EINVAL,
				  "mounts and a rootfs need a mount namespace (remove "
				  "--disable_clone_newns, or the mounts)");
	if (userns && !(c->namespaces & JAIL_NS_PID) && c->proc && (c->namespaces & JAIL_NS_MOUNT))
		return jerr_plain(e, EINVAL,
				  "a fresh /proc needs the jail's own pid namespace when a user "
				  "namespace is used (drop --disable_clone_newpid, or add "
				  "--disable_proc)");
	if ((c->net == JAIL_NET_NONE) != !!(c->namespaces & JAIL_NS_NET))
		return jerr_plain(e, EINVAL, "network mode '%s' %s a network namespace",
				  c->net == JAIL_NET_NONE ? "none" : "host",
				  c->net == JAIL_NET_NONE ? "needs" : "cannot have");

	/* Identity. */
	if (c->uid == JAIL_ID_AUTO || c->gid == JAIL_ID_AUTO)
		return jerr_plain(e, EINVAL, "user: uid and gid must be below 4294967295");
	if (userns && (c->uid == 0 || c->gid == 0))
		return jerr_plain(e, EINVAL,
				  "user: uid/gid 0 inside the jail is refused (the command must "
				  "run unprivileged; expected a non-zero id such as 1000)");
	if (c->host_id_min == 0 || c->host_id_min > c->host_id_max ||
	    c->host_id_max == JAIL_ID_AUTO)
		return jerr_plain(e, EINVAL,
				  "host id range %u-%u: expected 0 < first <= last < 4294967295",
				  c->host_id_min, c->host_id_max);
	if (c->host_uid == 0 || c->host_gid == 0)
		return jerr_plain(e, EINVAL,
				  "host uid/gid 0 is refused: the jail would run as the host's "
				  "root");
	if (c->host_uid == JAIL_ID_AUTO && c->host_gid != JAIL_ID_AUTO)
		return jerr_plain(e, EINVAL,
				  "a host gid needs a host uid (-u UID:HOSTUID); an allocated "
				  "host uid comes with the gid of the same number");

	/* Filesystem. */
	if (c->rootfs && !jail_path_normal(c->rootfs, false))
		return jerr_plain(e, EINVAL, "rootfs '%.256s': expected %s", c->rootfs,
				  PATH_EXPECT);
	for (size_t i = 0; i < c->n_mounts; i++) {
		const struct jail_mount *m = &c->mounts[i];
		if (!jail_path_normal(m->target, false))
			return jerr_plain(e, EINVAL, "mount %zu: target '%.256s': expected %s",
					  i + 1, m->target ? m->target : "", PATH_EXPECT);
		if (m->kind != JAIL_MOUNT_SYMLINK && reserved_target(m->target))
			return jerr_plain(e, EINVAL,
					  "mount %zu: target '%s' is managed by agentjail itself "
					  "(expected a path outside /proc, /dev, and not exactly "
					  "/tmp or /workspace)",
					  i + 1, m->target);
		switch (m->kind) {
		case JAIL_MOUNT_BIND:
			if (!jail_path_normal(m->source, false))
				return jerr_plain(e, EINVAL,
						  "mount %zu: source '%.256s': expected %s", i + 1,
						  m->source ? m->source : "", PATH_EXPECT);
			break;
		case JAIL_MOUNT_TMPFS:
			if (m->mode & ~07777u)
				return jerr_plain(e, EINVAL,
						  "mount %zu: tmpfs mode %o: expected permission "
						  "bits (at most 07777)",
						  i + 1, m->mode);
			break;
		case JAIL_MOUNT_SYMLINK:
			if (!m->source || !m->source[0] || strlen(m->source) > JAIL_MAX_PATH)
				return jerr_plain(
					e, EINVAL,
					"symlink %zu: expected a non-empty link content of "
					"at most 4095 bytes",
					i + 1);
			break;
		default: return jerr_plain(e, EINVAL, "mount %zu: unknown kind %d", i + 1, m->kind);
		}
		int r = validate_agent_mount(c, i, e);
		if (r < 0)
			return r;
	}
	if (c->tmp_dir && !jail_path_normal(c->tmp_dir, false))
		return jerr_plain(e, EINVAL, "tmp host_dir '%.256s': expected %s", c->tmp_dir,
				  PATH_EXPECT);
	if (c->workspace_dir && !jail_path_normal(c->workspace_dir, false))
		return jerr_plain(e, EINVAL, "workspace host_dir '%.256s': expected %s",
				  c->workspace_dir, PATH_EXPECT);
	if ((!c->tmp_dir && c->tmp_size == 0) || (!c->workspace_dir && c->workspace_size == 0))
		return jerr_plain(e, EINVAL, "tmp/workspace size: expected more than 0 bytes");
	if (c->runtime_dir && !jail_path_normal(c->runtime_dir, false))
		return jerr_plain(e, EINVAL, "runtime dir '%.256s': expected %s", c->runtime_dir,
				  PATH_EXPECT);

	if (c->hostname && !hostname_ok(c->hostname))
		return jerr_plain(e, EINVAL,
				  "hostname '%.80s': expected 1-64 characters of [A-Za-z0-9._-]",
				  c->hostname);
	if (c->hostname && !(c->namespaces & JAIL_NS_UTS))
		return jerr_plain(e, EINVAL, "a hostname needs a UTS namespace");
	if (c->cwd && !jail_path_normal(c->cwd, true))
		return jerr_plain(e, EINVAL, "cwd '%.256s': expected %s", c->cwd, PATH_EXPECT);
	for (size_t i = 0; i < c->n_env; i++) {
		const char *eq = strchr(c->env[i], '=');
		if (!eq || eq == c->env[i])
			return jerr_plain(e, EINVAL,
					  "environment entry '%.64s': expected NAME=value",
					  c->env[i]);
	}

	/* Limits. */
	for (int r = 0; r < JAIL_RL_COUNT; r++)
		if (c->rlimits[r].mode > JAIL_RLIMIT_INF)
			return jerr_plain(e, EINVAL, "rlimit %s: unknown mode",
					  jail_rlimit_name((enum jail_rlimit_res)r));
	if (c->time_limit_ms > 366ull * 24 * 3600 * 1000)
		return jerr_plain(e, EINVAL, "time limit: expected at most one year");
	if (c->cgroup.cpuset && !jail_cpuset_ok(c->cgroup.cpuset))
		return jerr_plain(e, EINVAL,
				  "cpuset '%.64s': expected a CPU list such as \"0-3,6\"",
				  c->cgroup.cpuset);
	for (size_t i = 0; i < c->cgroup.n_io_max; i++)
		if (!jail_io_max_ok(c->cgroup.io_max[i]))
			return jerr_plain(e, EINVAL,
					  "io.max '%.64s': expected \"MAJOR:MINOR\" and rbps=, "
					  "wbps=, riops=, wiops= with a number or max",
					  c->cgroup.io_max[i]);
	if (c->cgroup.memory_high && c->cgroup.memory_max &&
	    c->cgroup.memory_high > c->cgroup.memory_max)
		return jerr_plain(e, EINVAL, "memory_high above memory: expected at most memory");
	if (c->cgroup.cpu_ms_per_sec > 1000u * 4096u)
		return jerr_plain(e, EINVAL,
				  "cpu limit %u ms/s: expected at most 4096000 (4096 CPUs)",
				  c->cgroup.cpu_ms_per_sec);

	/* Seccomp. */
	if (c->seccomp.policy > JAIL_SECCOMP_POLICY_EMPTY ||
	    c->seccomp.action > JAIL_SECCOMP_ACTION_LOG)
		return jerr_plain(e, EINVAL, "seccomp: unknown policy or action");
	int r = validate_syscall_names(c->seccomp.allow, c->seccomp.n_allow, "allow", e);
	if (r < 0)
		return r;
	if ((r = validate_syscall_names(c->seccomp.deny, c->seccomp.n_deny, "deny", e)) < 0)
		return r;

	/* An agent runtime. */
	return validate_agent(c, e);
}
