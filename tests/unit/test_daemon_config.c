/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agentjaild's configuration (supervisor/config.c): the defaults, every key
 * landing in the struct, every error with its exact one-line message (file,
 * JSON path, expectation), listen addresses of each kind, the cross-field
 * validator, files (missing, too large, not regular), and the shipped
 * example and man page kept in step with the parser.
 * Runs unprivileged; fixtures go to a mkdtemp directory removed at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "tap.h"

static char tmpdir[] = "/tmp/aj-test-daemon-config-XXXXXX";

/* Write a fixture; returns its path (static, overwritten by the next call). */
static const char *
fixture(const char *name, const char *text, size_t len)
{
	static char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	if (!(f = fopen(path, "we")) || fwrite(text, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
	return path;
}

/* Load text as "agentjaild.json" over the defaults; it must fail with errno
 * err and exactly msg, and leave the config as it was. */
static void
bad_err(const char *text, int err, const char *want, const char *what)
{
	struct ajd_config c, before;
	struct jail_error e = {0};

	ajd_config_init(&c);
	before = c;
	int r = ajd_config_load_buffer(&c, text, strlen(text), "agentjaild.json", &e);
	int ok = r == -err && e.err == err && strcmp(e.msg, want) == 0 &&
		 memcmp(&c, &before, sizeof(c)) == 0;
	tap_ok(ok, "%s", what);
	if (!ok)
		tap_diag("got %d '%s'\n#  expected %d '%s'%s", r, e.msg, -err, want,
			 memcmp(&c, &before, sizeof(c)) ? " (and the config changed)" : "");
}

static void
bad(const char *text, const char *want, const char *what)
{
	bad_err(text, EINVAL, want, what);
}

/* Load text over c; it must succeed. */
static int
good(struct ajd_config *c, const char *text, const char *what)
{
	struct jail_error e = {0};
	int r = ajd_config_load_buffer(c, text, strlen(text), "good.json", &e);

	tap_ok(r == 0, "%s", what);
	if (r != 0)
		tap_diag("error %d: %s", r, e.msg);
	return r;
}

/* c must fail validation with exactly msg. */
static void
invalid(const struct ajd_config *c, const char *want, const char *what)
{
	struct jail_error e = {0};
	int r = ajd_config_validate(c, &e);
	int ok = r == -EINVAL && strcmp(e.msg, want) == 0;

	tap_ok(ok, "%s", what);
	if (!ok)
		tap_diag("got %d '%s'\n#  expected '%s'", r, e.msg, want);
}

static void
valid(const struct ajd_config *c, const char *what)
{
	struct jail_error e = {0};
	int r = ajd_config_validate(c, &e);

	tap_ok(r == 0, "%s", what);
	if (r != 0)
		tap_diag("error %d: %s", r, e.msg);
}

/* A growing string for large documents. */
struct buf {
	char *s;
	size_t len;
	FILE *f;
};

static void
buf_open(struct buf *b)
{
	b->s = NULL;
	b->len = 0;
	b->f = open_memstream(&b->s, &b->len);
	if (!b->f)
		exit(1);
}

static char *
buf_close(struct buf *b)
{
	fclose(b->f);
	return b->s;
}

#define TOP_KEYS                                                                                   \
	"format, listen, socket_mode, socket_group, insecure_no_auth, http_user, profiles_dir, "   \
	"default_profile, runtime_dir, cgroup_parent, worker, log_format, limits, pools, auth, "   \
	"tenants, tls, agentcube"
#define LIMIT_KEYS                                                                                 \
	"max_body_bytes, max_json_bytes, max_header_bytes, max_connections, "                      \
	"max_connections_per_client, connection_timeout_s, max_execs_per_session, "                \
	"max_execs_total, max_sessions, max_output_bytes, exec_timeout_ms, idle_timeout_s, "       \
	"max_lifetime_s"
#define SIZE_EXPECT                                                                                \
	"expected a size (a number of bytes, or a string such as \"512M\" with K, M, G or T "      \
	"meaning powers of 1024)"
#define PATH_EXPECT                                                                                \
	"expected an absolute path without '.', '..' or empty components (at most 4095 bytes)"
#define USER_EXPECT                                                                                \
	"expected an unprivileged user: a name of 1 to 32 characters of [A-Za-z0-9._-] not "       \
	"starting with '-', other than root, or a numeric uid from 1 to 4294967294"
#define GROUP_EXPECT                                                                               \
	"expected a group: a name of 1 to 32 characters of [A-Za-z0-9._-] not starting with "      \
	"'-', or a numeric gid from 0 to 4294967294"
#define PROFILE_EXPECT "expected a profile name (1 to 64 characters of [A-Za-z0-9._-])"
#define CGROUP_EXPECT                                                                              \
	"expected a relative path below the cgroup v2 mount (no leading '/', no '..', '.' or "     \
	"empty components, at most 1024 bytes)"
#define MODE_EXPECT   "expected a string of octal digits such as \"0660\" (0000 to 0777)"
#define LISTEN_EXPECT "expected \"unix:/abs/path\", \"HOST:PORT\" or \"[V6]:PORT\""
#define UNIX_PATH_EXPECT                                                                           \
	"expected \"unix:/abs/path\" with an absolute path without '.', '..' or empty components"
#define IPV4_EXPECT                                                                                \
	"expected \"HOST:PORT\" with a numeric IPv4 address as HOST (names are not resolved)"
#define NO_AUTH_MSG                                                                                \
	"a TCP listener needs authentication: configure auth.jwt.keys, or set insecure_no_auth "   \
	"to accept unauthenticated TCP (a warning is logged)"

static void
test_defaults(void)
{
	struct ajd_config c;

	ajd_config_init(&c);
	tap_ok(c.n_listen == 1 && c.listen[0].kind == AJD_LISTEN_UNIX &&
		       strcmp(c.listen[0].path, "/run/agentjail/api.sock") == 0,
	       "default listen: unix:/run/agentjail/api.sock");
	tap_ok(c.socket_mode == 0660 && c.socket_group[0] == '\0',
	       "default socket: mode 0660, root's group");
	tap_ok(!c.insecure_no_auth, "default: authentication required for TCP");
	tap_ok(strcmp(c.http_user, "agentjail") == 0, "default http_user: agentjail");
	tap_ok(strcmp(c.profiles_dir, "/etc/agentjail/profiles") == 0 &&
		       strcmp(c.default_profile, "default") == 0,
	       "default profiles_dir and default_profile");
	tap_ok(strcmp(c.runtime_dir, "/run/agentjail") == 0, "default runtime_dir");
	tap_ok(c.cgroup_parent[0] == '\0' && c.worker[0] == '\0',
	       "default cgroup_parent and worker: automatic");
	tap_ok(c.log_format == AJD_LOG_TEXT, "default log_format: text");
	tap_ok(c.limits.max_body_bytes == 32u << 20 && c.limits.max_json_bytes == 1u << 20 &&
		       c.limits.max_header_bytes == 16384 && c.limits.max_output_bytes == 4u << 20,
	       "default byte limits: 32 MiB, 1 MiB, 16 KiB, 4 MiB");
	tap_ok(c.limits.max_connections == 1024 && c.limits.max_connections_per_client == 64 &&
		       c.limits.connection_timeout_s == 60,
	       "default connection limits: 1024, 64 per client, 60 s");
	tap_ok(c.limits.max_execs_per_session == 16 && c.limits.max_execs_total == 256 &&
		       c.limits.max_sessions == 1000,
	       "default exec and session counts: 16, 256, 1000");
	tap_ok(c.limits.exec_timeout_ms == 60000 && c.limits.idle_timeout_s == 900 &&
		       c.limits.max_lifetime_s == 28800,
	       "default times: exec 60 s, idle 15 min, lifetime 8 h");
	valid(&c, "the defaults validate");

	struct ajd_config d = c;
	good(&d, "{\"format\": 1}", "a file of only the format");
	tap_ok(memcmp(&c, &d, sizeof(c)) == 0, "... changes nothing");
	ajd_config_free(&d);
	ajd_config_free(NULL);
	tap_ok(1, "ajd_config_free takes NULL");
}

static void
test_every_key(void)
{
	struct ajd_config c;

	ajd_config_init(&c);
	good(&c,
	     "{\"format\": 1,\n"
	     " \"listen\": [\"unix:/run/aj/api.sock\", \"127.0.0.1:8080\", \"[::1]:8081\"],\n"
	     " \"socket_mode\": \"0600\",\n"
	     " \"socket_group\": \"agents\",\n"
	     " \"insecure_no_auth\": true,\n"
	     " \"http_user\": \"ajhttp\",\n"
	     " \"profiles_dir\": \"/srv/aj/profiles\",\n"
	     " \"default_profile\": \"python\",\n"
	     " \"runtime_dir\": \"/run/aj\",\n"
	     " \"cgroup_parent\": \"system.slice/agentjaild.service/jails\",\n"
	     " \"worker\": \"/usr/lib/agentjail/agentjail-worker\",\n"
	     " \"log_format\": \"json\",\n"
	     " \"limits\": {\"max_body_bytes\": \"64M\", \"max_json_bytes\": 2097152,\n"
	     "   \"max_header_bytes\": \"32K\", \"max_connections\": 2048,\n"
	     "   \"max_connections_per_client\": 128, \"connection_timeout_s\": 30,\n"
	     "   \"max_execs_per_session\": 8, \"max_execs_total\": 512,\n"
	     "   \"max_sessions\": 5000, \"max_output_bytes\": \"8MiB\",\n"
	     "   \"exec_timeout_ms\": 120000, \"idle_timeout_s\": 600,\n"
	     "   \"max_lifetime_s\": 3600}}",
	     "a file naming every key loads");
	tap_ok(c.n_listen == 3, "listen: three addresses");
	tap_ok(c.listen[0].kind == AJD_LISTEN_UNIX &&
		       strcmp(c.listen[0].path, "/run/aj/api.sock") == 0,
	       "listen[0]: unix socket path");
	tap_ok(c.listen[1].kind == AJD_LISTEN_TCP && strcmp(c.listen[1].host, "127.0.0.1") == 0 &&
		       c.listen[1].port == 8080,
	       "listen[1]: IPv4 host and port");
	tap_ok(c.listen[2].kind == AJD_LISTEN_TCP && strcmp(c.listen[2].host, "::1") == 0 &&
		       c.listen[2].port == 8081,
	       "listen[2]: IPv6 host without brackets, and port");
	tap_ok(c.socket_mode == 0600, "socket_mode read as octal");
	tap_ok(strcmp(c.socket_group, "agents") == 0, "socket_group");
	tap_ok(c.insecure_no_auth, "insecure_no_auth");
	tap_ok(strcmp(c.http_user, "ajhttp") == 0, "http_user");
	tap_ok(strcmp(c.profiles_dir, "/srv/aj/profiles") == 0, "profiles_dir");
	tap_ok(strcmp(c.default_profile, "python") == 0, "default_profile");
	tap_ok(strcmp(c.runtime_dir, "/run/aj") == 0, "runtime_dir");
	tap_ok(strcmp(c.cgroup_parent, "system.slice/agentjaild.service/jails") == 0,
	       "cgroup_parent");
	tap_ok(strcmp(c.worker, "/usr/lib/agentjail/agentjail-worker") == 0, "worker");
	tap_ok(c.log_format == AJD_LOG_JSON, "log_format json");
	tap_ok(c.limits.max_body_bytes == 64u << 20, "limits.max_body_bytes from \"64M\"");
	tap_ok(c.limits.max_json_bytes == 2097152, "limits.max_json_bytes from an integer");
	tap_ok(c.limits.max_header_bytes == 32768, "limits.max_header_bytes from \"32K\"");
	tap_ok(c.limits.max_connections == 2048, "limits.max_connections");
	tap_ok(c.limits.max_connections_per_client == 128, "limits.max_connections_per_client");
	tap_ok(c.limits.connection_timeout_s == 30, "limits.connection_timeout_s");
	tap_ok(c.limits.max_execs_per_session == 8, "limits.max_execs_per_session");
	tap_ok(c.limits.max_execs_total == 512, "limits.max_execs_total");
	tap_ok(c.limits.max_sessions == 5000, "limits.max_sessions");
	tap_ok(c.limits.max_output_bytes == 8u << 20, "limits.max_output_bytes from \"8MiB\"");
	tap_ok(c.limits.exec_timeout_ms == 120000, "limits.exec_timeout_ms");
	tap_ok(c.limits.idle_timeout_s == 600, "limits.idle_timeout_s");
	tap_ok(c.limits.max_lifetime_s == 3600, "limits.max_lifetime_s");
	valid(&c, "... and validates (insecure_no_auth allows the TCP listeners)");

	/* Layering: a later file replaces what it names, keeps the rest;
	 * null resets the nullable settings to automatic. */
	good(&c,
	     "{\"format\": 1, \"listen\": [\"unix:/run/b.sock\"], \"socket_group\": null, "
	     "\"cgroup_parent\": null, \"worker\": null, \"limits\": {\"max_sessions\": 7}}",
	     "a second file over the first");
	tap_ok(c.n_listen == 1 && strcmp(c.listen[0].path, "/run/b.sock") == 0,
	       "listen is replaced as a whole");
	tap_ok(!c.socket_group[0] && !c.cgroup_parent[0] && !c.worker[0],
	       "null resets socket_group, cgroup_parent and worker");
	tap_ok(c.limits.max_sessions == 7 && c.limits.max_execs_total == 512 &&
		       strcmp(c.http_user, "ajhttp") == 0,
	       "keys not named keep their values");

	good(&c, "{\"format\": 1, \"http_user\": 1000, \"socket_group\": 0}",
	     "numeric ids as JSON integers");
	tap_ok(strcmp(c.http_user, "1000") == 0 && strcmp(c.socket_group, "0") == 0,
	       "... are kept as written, in decimal");
	good(&c, "{\"format\": 1, \"http_user\": \"nobody\", \"socket_group\": \"1001\"}",
	     "names and numeric strings");
	tap_ok(strcmp(c.http_user, "nobody") == 0 && strcmp(c.socket_group, "1001") == 0,
	       "... are kept as written");
	good(&c, "{\"format\": 1, \"socket_mode\": \"0\", \"log_format\": \"text\"}",
	     "socket_mode \"0\", log_format text");
	tap_ok(c.socket_mode == 0 && c.log_format == AJD_LOG_TEXT, "... read");
	good(&c,
	     "{\"format\": 1, \"limits\": {\"max_body_bytes\": \"1G\", \"max_json_bytes\": "
	     "\"64M\", "
	     "\"max_header_bytes\": 1024, \"max_output_bytes\": \"1K\", \"max_connections\": "
	     "65536, \"exec_timeout_ms\": 86400000, \"idle_timeout_s\": 604800, "
	     "\"max_lifetime_s\": 2592000, \"connection_timeout_s\": 3600, \"max_sessions\": "
	     "100000, \"max_execs_total\": 65536, \"max_execs_per_session\": 1024}}",
	     "every limit at its upper bound (sizes at the lower one where it matters)");
	tap_ok(c.limits.max_body_bytes == 1u << 30 && c.limits.max_json_bytes == 64u << 20 &&
		       c.limits.max_header_bytes == 1024 && c.limits.max_output_bytes == 1024 &&
		       c.limits.exec_timeout_ms == 86400000,
	       "... read");
}

static void
test_unknown_and_duplicate(void)
{
	bad("{\"format\": 1, \"listn\": []}",
	    "agentjaild.json: $: unknown key 'listn' (expected one of: " TOP_KEYS ")",
	    "unknown top-level key: origin, path and every expected key");
	bad("{\"format\": 1, \"limits\": {\"max_conections\": 1}}",
	    "agentjaild.json: $.limits: unknown key 'max_conections' (expected one of: " LIMIT_KEYS
	    ")",
	    "unknown key in limits");
	bad("{\"format\": 1, \"limits\": {\"max_connections\": 0, \"bogus\": 1}}",
	    "agentjaild.json: $.limits: unknown key 'bogus' (expected one of: " LIMIT_KEYS ")",
	    "an unknown key is reported before a bad value next to it");
	bad("{\"format\": 1,\n \"worker\": null,\n \"worker\": null}",
	    "agentjaild.json:3:9: $: duplicate key 'worker' (each key may appear once)",
	    "duplicate top-level key: line:col and path");
	bad("{\"format\": 1,\n \"limits\": {\"max_sessions\": 1,\n   \"max_sessions\": 2}}",
	    "agentjaild.json:3:17: $.limits: duplicate key 'max_sessions' (each key may appear "
	    "once)",
	    "duplicate key in limits: the path of the object that holds it");
}

static void
test_format_and_syntax(void)
{
	bad("{\"listen\": [\"unix:/run/a.sock\"]}",
	    "agentjaild.json: $: missing key 'format' (expected \"format\": 1)", "missing format");
	bad("{\"format\": 2, \"listen\": []}",
	    "agentjaild.json: $.format: format 2 is newer than this agentjaild supports (1)",
	    "newer format");
	bad("{\"format\": 2, \"pools\": {}}",
	    "agentjaild.json: $.format: format 2 is newer than this agentjaild supports (1)",
	    "newer format is reported before its unknown keys");
	bad("{\"format\": \"1\"}",
	    "agentjaild.json: $.format: expected the format number 1, got a string",
	    "format as a string");
	bad("{\"format\": 0}", "agentjaild.json: $.format: expected the format number 1, got 0",
	    "format 0");
	bad("{\"format\": 1.0}",
	    "agentjaild.json: $.format: expected the format number 1, got a real",
	    "format as a real");
	bad("{\"format\": 1,\n \"listen\": [}", "agentjaild.json:2:13: unexpected token near '}'",
	    "syntax error: line:col");
	bad("{\"format\": 1} {}", "agentjaild.json:1:15: end of file expected near '{'",
	    "trailing garbage");
	bad("[1]", "agentjaild.json: $: expected an object, got an array",
	    "top level not an object");
	bad("", "agentjaild.json:1:0: '[' or '{' expected near end of file", "empty file");
}

static void
test_types(void)
{
	bad("{\"format\": 1, \"listen\": \"unix:/run/a.sock\"}",
	    "agentjaild.json: $.listen: expected an array, got a string", "listen as a string");
	bad("{\"format\": 1, \"listen\": [\"unix:/run/a.sock\", 8080]}",
	    "agentjaild.json: $.listen[1]: " LISTEN_EXPECT ", got an integer",
	    "listen item as an integer");
	bad("{\"format\": 1, \"socket_mode\": 660}",
	    "agentjaild.json: $.socket_mode: " MODE_EXPECT ", got an integer",
	    "socket_mode as a number (JSON would read it as decimal)");
	bad("{\"format\": 1, \"socket_group\": [\"a\"]}",
	    "agentjaild.json: $.socket_group: " GROUP_EXPECT ", or null, got an array",
	    "socket_group as an array");
	bad("{\"format\": 1, \"insecure_no_auth\": \"yes\"}",
	    "agentjaild.json: $.insecure_no_auth: expected a boolean (true or false), got a string",
	    "insecure_no_auth as a string");
	bad("{\"format\": 1, \"http_user\": true}",
	    "agentjaild.json: $.http_user: " USER_EXPECT ", got a boolean",
	    "http_user as a boolean");
	bad("{\"format\": 1, \"http_user\": null}",
	    "agentjaild.json: $.http_user: " USER_EXPECT ", got null", "http_user null");
	bad("{\"format\": 1, \"profiles_dir\": null}",
	    "agentjaild.json: $.profiles_dir: " PATH_EXPECT ", got null", "profiles_dir null");
	bad("{\"format\": 1, \"default_profile\": 1}",
	    "agentjaild.json: $.default_profile: " PROFILE_EXPECT ", got an integer",
	    "default_profile as an integer");
	bad("{\"format\": 1, \"runtime_dir\": {}}",
	    "agentjaild.json: $.runtime_dir: " PATH_EXPECT ", got an object",
	    "runtime_dir as an object");
	bad("{\"format\": 1, \"cgroup_parent\": false}",
	    "agentjaild.json: $.cgroup_parent: " CGROUP_EXPECT ", or null, got a boolean",
	    "cgroup_parent as a boolean");
	bad("{\"format\": 1, \"worker\": 1}",
	    "agentjaild.json: $.worker: " PATH_EXPECT ", or null, got an integer",
	    "worker as an integer");
	bad("{\"format\": 1, \"log_format\": \"xml\"}",
	    "agentjaild.json: $.log_format: expected one of: text, json; got 'xml'",
	    "log_format unknown");
	bad("{\"format\": 1, \"log_format\": 1}",
	    "agentjaild.json: $.log_format: expected one of: text, json; got an integer",
	    "log_format as an integer");
	bad("{\"format\": 1, \"limits\": []}",
	    "agentjaild.json: $.limits: expected an object, got an array", "limits as an array");
	bad("{\"format\": 1, \"limits\": {\"max_sessions\": \"10\"}}",
	    "agentjaild.json: $.limits.max_sessions: expected an integer from 1 to 100000, got a "
	    "string",
	    "a count as a string");
	bad("{\"format\": 1, \"limits\": {\"max_sessions\": 1.5}}",
	    "agentjaild.json: $.limits.max_sessions: expected an integer from 1 to 100000, got a "
	    "real",
	    "a count as a real");
	bad("{\"format\": 1, \"limits\": {\"max_body_bytes\": true}}",
	    "agentjaild.json: $.limits.max_body_bytes: " SIZE_EXPECT ", got a boolean",
	    "a size as a boolean");
}

static void
test_values(void)
{
	bad("{\"format\": 1, \"socket_mode\": \"0888\"}",
	    "agentjaild.json: $.socket_mode: " MODE_EXPECT ", got '0888'", "socket_mode not octal");
	bad("{\"format\": 1, \"socket_mode\": \"1777\"}",
	    "agentjaild.json: $.socket_mode: " MODE_EXPECT ", got '1777'",
	    "socket_mode with the sticky bit");
	bad("{\"format\": 1, \"socket_mode\": \"\"}",
	    "agentjaild.json: $.socket_mode: " MODE_EXPECT ", got ''", "socket_mode empty");
	bad("{\"format\": 1, \"socket_mode\": \"00660\"}",
	    "agentjaild.json: $.socket_mode: " MODE_EXPECT ", got '00660'",
	    "socket_mode of five digits");
	bad("{\"format\": 1, \"socket_mode\": \"-660\"}",
	    "agentjaild.json: $.socket_mode: " MODE_EXPECT ", got '-660'", "socket_mode negative");

	bad("{\"format\": 1, \"socket_group\": \"\"}",
	    "agentjaild.json: $.socket_group: " GROUP_EXPECT ", got ''",
	    "socket_group empty (null means none)");
	bad("{\"format\": 1, \"socket_group\": \"agent users\"}",
	    "agentjaild.json: $.socket_group: " GROUP_EXPECT ", got 'agent users'",
	    "socket_group with a space");
	bad("{\"format\": 1, \"socket_group\": 4294967295}",
	    "agentjaild.json: $.socket_group: " GROUP_EXPECT ", got '4294967295'",
	    "socket_group (gid_t)-1");
	bad("{\"format\": 1, \"socket_group\": \"-wheel\"}",
	    "agentjaild.json: $.socket_group: " GROUP_EXPECT ", got '-wheel'",
	    "socket_group starting with '-'");

	bad("{\"format\": 1, \"http_user\": \"root\"}",
	    "agentjaild.json: $.http_user: " USER_EXPECT ", got 'root'", "http_user root");
	bad("{\"format\": 1, \"http_user\": 0}",
	    "agentjaild.json: $.http_user: " USER_EXPECT ", got '0'", "http_user uid 0");
	bad("{\"format\": 1, \"http_user\": \"000\"}",
	    "agentjaild.json: $.http_user: " USER_EXPECT ", got '000'", "http_user \"000\"");
	bad("{\"format\": 1, \"http_user\": -5}",
	    "agentjaild.json: $.http_user: " USER_EXPECT ", got '-5'", "http_user negative");
	bad("{\"format\": 1, \"http_user\": \"a/b\"}",
	    "agentjaild.json: $.http_user: " USER_EXPECT ", got 'a/b'", "http_user with a slash");
	bad("{\"format\": 1, \"http_user\": \"abcdefghijabcdefghijabcdefghijabc\"}",
	    "agentjaild.json: $.http_user: " USER_EXPECT ", got 33 bytes", "http_user of 33 bytes");
	bad("{\"format\": 1, \"http_user\": \"bad\\nname\"}",
	    "agentjaild.json: $.http_user: " USER_EXPECT ", got 'bad?name'",
	    "a control character stays out of the one-line message");

	bad("{\"format\": 1, \"profiles_dir\": \"etc/agentjail/profiles\"}",
	    "agentjaild.json: $.profiles_dir: " PATH_EXPECT ", got 'etc/agentjail/profiles'",
	    "profiles_dir relative");
	bad("{\"format\": 1, \"profiles_dir\": \"/etc/agentjail/../profiles\"}",
	    "agentjaild.json: $.profiles_dir: " PATH_EXPECT ", got '/etc/agentjail/../profiles'",
	    "profiles_dir with '..'");
	bad("{\"format\": 1, \"profiles_dir\": \"/\"}",
	    "agentjaild.json: $.profiles_dir: " PATH_EXPECT ", got '/'", "profiles_dir /");
	bad("{\"format\": 1, \"runtime_dir\": \"/run/./agentjail\"}",
	    "agentjaild.json: $.runtime_dir: " PATH_EXPECT ", got '/run/./agentjail'",
	    "runtime_dir with '.'");
	bad("{\"format\": 1, \"runtime_dir\": \"/run/agentjail/\"}",
	    "agentjaild.json: $.runtime_dir: " PATH_EXPECT ", got '/run/agentjail/'",
	    "runtime_dir with a trailing '/'");
	bad("{\"format\": 1, \"worker\": \"agentjail-worker\"}",
	    "agentjaild.json: $.worker: " PATH_EXPECT ", got 'agentjail-worker'",
	    "worker relative");
	bad("{\"format\": 1, \"worker\": \"\"}",
	    "agentjaild.json: $.worker: " PATH_EXPECT ", got ''",
	    "worker empty (null means automatic)");

	char big[5000];
	struct buf b;
	memset(big, 'a', sizeof(big));
	big[0] = '/';
	big[4096] = '\0';
	buf_open(&b);
	fprintf(b.f, "{\"format\": 1, \"profiles_dir\": \"%s\"}", big);
	char *t = buf_close(&b);
	bad(t, "agentjaild.json: $.profiles_dir: " PATH_EXPECT ", got 4096 bytes",
	    "profiles_dir of 4096 bytes");
	free(t);
	big[4095] = '\0';
	struct ajd_config c;
	ajd_config_init(&c);
	buf_open(&b);
	fprintf(b.f, "{\"format\": 1, \"runtime_dir\": \"%s\"}", big);
	t = buf_close(&b);
	good(&c, t, "runtime_dir of 4095 bytes");
	tap_ok(strlen(c.runtime_dir) == 4095, "... kept whole");
	free(t);

	bad("{\"format\": 1, \"default_profile\": \"../etc/passwd\"}",
	    "agentjaild.json: $.default_profile: " PROFILE_EXPECT ", got '../etc/passwd'",
	    "default_profile with a '/'");
	bad("{\"format\": 1, \"default_profile\": \"\"}",
	    "agentjaild.json: $.default_profile: " PROFILE_EXPECT ", got ''",
	    "default_profile empty");
	memset(big, 'p', 65);
	big[65] = '\0';
	buf_open(&b);
	fprintf(b.f, "{\"format\": 1, \"default_profile\": \"%s\"}", big);
	t = buf_close(&b);
	bad(t, "agentjaild.json: $.default_profile: " PROFILE_EXPECT ", got 65 bytes",
	    "default_profile of 65 bytes");
	free(t);

	bad("{\"format\": 1, \"cgroup_parent\": \"/agentjail\"}",
	    "agentjaild.json: $.cgroup_parent: " CGROUP_EXPECT ", got '/agentjail'",
	    "cgroup_parent absolute");
	bad("{\"format\": 1, \"cgroup_parent\": \"agentjail/../../x\"}",
	    "agentjaild.json: $.cgroup_parent: " CGROUP_EXPECT ", got 'agentjail/../../x'",
	    "cgroup_parent with '..'");
	bad("{\"format\": 1, \"cgroup_parent\": \"..\"}",
	    "agentjaild.json: $.cgroup_parent: " CGROUP_EXPECT ", got '..'", "cgroup_parent '..'");
	bad("{\"format\": 1, \"cgroup_parent\": \"a//b\"}",
	    "agentjaild.json: $.cgroup_parent: " CGROUP_EXPECT ", got 'a//b'",
	    "cgroup_parent with an empty component");
	bad("{\"format\": 1, \"cgroup_parent\": \"./a\"}",
	    "agentjaild.json: $.cgroup_parent: " CGROUP_EXPECT ", got './a'",
	    "cgroup_parent with '.'");
	bad("{\"format\": 1, \"cgroup_parent\": \"a/\"}",
	    "agentjaild.json: $.cgroup_parent: " CGROUP_EXPECT ", got 'a/'",
	    "cgroup_parent with a trailing '/'");
	bad("{\"format\": 1, \"cgroup_parent\": \"\"}",
	    "agentjaild.json: $.cgroup_parent: " CGROUP_EXPECT ", got ''",
	    "cgroup_parent empty (null means automatic)");
}

/* Each count: 0 and max+1 refused with its bounds, max accepted. */
static void
test_count_bounds(void)
{
	static const struct {
		const char *key;
		unsigned long long max;
	} counts[] = {
		{"max_connections", 65536},	{"max_connections_per_client", 65536},
		{"connection_timeout_s", 3600}, {"max_execs_per_session", 1024},
		{"max_execs_total", 65536},	{"max_sessions", 100000},
		{"exec_timeout_ms", 86400000},	{"idle_timeout_s", 604800},
		{"max_lifetime_s", 2592000},
	};
	char doc[256], want[512];

	bad("{\"format\": 1, \"limits\": {\"max_connections\": 0}}",
	    "agentjaild.json: $.limits.max_connections: expected an integer from 1 to 65536, got 0",
	    "max_connections 0: the message of the brief");
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		snprintf(doc, sizeof(doc), "{\"format\": 1, \"limits\": {\"%s\": %llu}}",
			 counts[i].key, counts[i].max + 1);
		snprintf(want, sizeof(want),
			 "agentjaild.json: $.limits.%s: expected an integer from 1 to %llu, got "
			 "%llu",
			 counts[i].key, counts[i].max, counts[i].max + 1);
		bad(doc, want, counts[i].key);
		snprintf(doc, sizeof(doc), "{\"format\": 1, \"limits\": {\"%s\": -1}}",
			 counts[i].key);
		snprintf(want, sizeof(want),
			 "agentjaild.json: $.limits.%s: expected an integer from 1 to %llu, got -1",
			 counts[i].key, counts[i].max);
		bad(doc, want, counts[i].key);
	}
	bad("{\"format\": 1, \"limits\": {\"max_sessions\": 99999999999999999999}}",
	    "agentjaild.json:1:61: too big integer near '99999999999999999999'",
	    "an integer jansson cannot hold");
}

static void
test_size_bounds(void)
{
	bad("{\"format\": 1, \"limits\": {\"max_body_bytes\": \"2G\"}}",
	    "agentjaild.json: $.limits.max_body_bytes: expected a size from 1 KiB to 1 GiB, got "
	    "'2G'",
	    "max_body_bytes above 1 GiB, as written");
	bad("{\"format\": 1, \"limits\": {\"max_body_bytes\": 512}}",
	    "agentjaild.json: $.limits.max_body_bytes: expected a size from 1 KiB to 1 GiB, got "
	    "512",
	    "max_body_bytes below 1 KiB");
	bad("{\"format\": 1, \"limits\": {\"max_json_bytes\": \"65M\"}}",
	    "agentjaild.json: $.limits.max_json_bytes: expected a size from 1 KiB to 64 MiB, got "
	    "'65M'",
	    "max_json_bytes above 64 MiB");
	bad("{\"format\": 1, \"limits\": {\"max_header_bytes\": 1023}}",
	    "agentjaild.json: $.limits.max_header_bytes: expected a size from 1 KiB to 1 MiB, got "
	    "1023",
	    "max_header_bytes below 1024");
	bad("{\"format\": 1, \"limits\": {\"max_header_bytes\": 1048577}}",
	    "agentjaild.json: $.limits.max_header_bytes: expected a size from 1 KiB to 1 MiB, got "
	    "1048577",
	    "max_header_bytes above 1 MiB");
	bad("{\"format\": 1, \"limits\": {\"max_output_bytes\": \"1T\"}}",
	    "agentjaild.json: $.limits.max_output_bytes: expected a size from 1 KiB to 1 GiB, got "
	    "'1T'",
	    "max_output_bytes above 1 GiB");
	bad("{\"format\": 1, \"limits\": {\"max_output_bytes\": \"0\"}}",
	    "agentjaild.json: $.limits.max_output_bytes: expected a size from 1 KiB to 1 GiB, got "
	    "'0'",
	    "max_output_bytes zero");
	bad("{\"format\": 1, \"limits\": {\"max_body_bytes\": \"32Q\"}}",
	    "agentjaild.json: $.limits.max_body_bytes: " SIZE_EXPECT ", got '32Q'",
	    "a size with a bad suffix");
	bad("{\"format\": 1, \"limits\": {\"max_body_bytes\": \"1.5G\"}}",
	    "agentjaild.json: $.limits.max_body_bytes: " SIZE_EXPECT ", got '1.5G'",
	    "a size with a fraction");
	bad("{\"format\": 1, \"limits\": {\"max_body_bytes\": -1}}",
	    "agentjaild.json: $.limits.max_body_bytes: " SIZE_EXPECT ", got -1", "a negative size");
	bad("{\"format\": 1, \"limits\": {\"max_body_bytes\": \"99999999999999999999T\"}}",
	    "agentjaild.json: $.limits.max_body_bytes: " SIZE_EXPECT
	    ", got '99999999999999999999T'",
	    "a size that overflows");
}

/* ajd_parse_listen on its own, as --listen uses it. */
static void
listen_bad(const char *s, const char *want)
{
	struct ajd_listen l = {.kind = 42};
	struct jail_error e = {0};
	int r = ajd_parse_listen(s, &l, &e);
	int ok = r == -EINVAL && strcmp(e.msg, want) == 0 && l.kind == 42;

	tap_ok(ok, "listen '%s' refused", s);
	if (!ok)
		tap_diag("got %d '%s'\n#  expected '%s'", r, e.msg, want);
}

static void
listen_good(const char *s, int kind, const char *path, const char *host, unsigned port)
{
	struct ajd_listen l;
	struct jail_error e = {0};
	char back[256];
	int r = ajd_parse_listen(s, &l, &e);

	tap_ok(r == 0 && l.kind == kind && strcmp(l.path, path) == 0 && strcmp(l.host, host) == 0 &&
		       l.port == port,
	       "listen '%s' parsed", s);
	if (r)
		tap_diag("error: %s", e.msg);
	tap_ok(r == 0 && strcmp(ajd_listen_format(&l, back, sizeof(back)), s) == 0,
	       "listen '%s' formats back the same", s);
}

static void
test_listen(void)
{
	char big[300], s[320], want[512];

	listen_good("unix:/run/agentjail/api.sock", AJD_LISTEN_UNIX, "/run/agentjail/api.sock", "",
		    0);
	listen_good("127.0.0.1:8080", AJD_LISTEN_TCP, "", "127.0.0.1", 8080);
	listen_good("0.0.0.0:1", AJD_LISTEN_TCP, "", "0.0.0.0", 1);
	listen_good("[::1]:8080", AJD_LISTEN_TCP, "", "::1", 8080);
	listen_good("[::]:65535", AJD_LISTEN_TCP, "", "::", 65535);
	listen_good("[fe80::1:2]:443", AJD_LISTEN_TCP, "", "fe80::1:2", 443);

	/* The longest unix path sun_path holds: 107 bytes and its NUL. */
	memset(big, 'a', sizeof(big));
	big[0] = '/';
	big[107] = '\0';
	snprintf(s, sizeof(s), "unix:%s", big);
	listen_good(s, AJD_LISTEN_UNIX, big, "", 0);
	big[107] = 'a';
	big[108] = '\0';
	snprintf(s, sizeof(s), "unix:%s", big);
	listen_bad(s, "expected \"unix:/abs/path\" with a path of at most 107 bytes, got 108 "
		      "bytes");

	listen_bad("unix:run/api.sock", UNIX_PATH_EXPECT ", got 'unix:run/api.sock'");
	listen_bad("unix:", UNIX_PATH_EXPECT ", got 'unix:'");
	listen_bad("unix:/run/../api.sock", UNIX_PATH_EXPECT ", got 'unix:/run/../api.sock'");
	listen_bad("unix:/run/", UNIX_PATH_EXPECT ", got 'unix:/run/'");
	listen_bad("/run/api.sock", LISTEN_EXPECT ", got '/run/api.sock'");
	listen_bad("", LISTEN_EXPECT ", got ''");
	listen_bad("8080", LISTEN_EXPECT ", got '8080'");
	listen_bad("tcp://127.0.0.1:80", LISTEN_EXPECT ", got 'tcp://127.0.0.1:80'");
	listen_bad("localhost:8080", IPV4_EXPECT ", got 'localhost:8080'");
	listen_bad(":8080", IPV4_EXPECT ", got ':8080'");
	listen_bad("256.0.0.1:80", IPV4_EXPECT ", got '256.0.0.1:80'");
	listen_bad("127.1:80", IPV4_EXPECT ", got '127.1:80'");
	listen_bad("127.0.0.1:0",
		   "expected \"HOST:PORT\" with a port from 1 to 65535, got '127.0.0.1:0'");
	listen_bad("127.0.0.1:65536",
		   "expected \"HOST:PORT\" with a port from 1 to 65535, got '127.0.0.1:65536'");
	listen_bad("127.0.0.1:",
		   "expected \"HOST:PORT\" with a port from 1 to 65535, got '127.0.0.1:'");
	listen_bad("127.0.0.1:http",
		   "expected \"HOST:PORT\" with a port from 1 to 65535, got '127.0.0.1:http'");
	listen_bad("127.0.0.1:+80",
		   "expected \"HOST:PORT\" with a port from 1 to 65535, got '127.0.0.1:+80'");
	listen_bad("::1:8080",
		   "expected \"[V6]:PORT\" (an IPv6 address in brackets), got '::1:8080'");
	listen_bad("[::1]", "expected \"[V6]:PORT\" with a port from 1 to 65535, got '[::1]'");
	listen_bad("[::1]:0", "expected \"[V6]:PORT\" with a port from 1 to 65535, got '[::1]:0'");
	listen_bad("[::1]8080",
		   "expected \"[V6]:PORT\" with a port from 1 to 65535, got '[::1]8080'");
	listen_bad("[::1:8080",
		   "expected \"[V6]:PORT\" with a numeric IPv6 address, got '[::1:8080'");
	listen_bad("[127.0.0.1]:80",
		   "expected \"[V6]:PORT\" with a numeric IPv6 address, got '[127.0.0.1]:80'");
	listen_bad("[fe80::1%eth0]:80",
		   "expected \"[V6]:PORT\" with a numeric IPv6 address, got '[fe80::1%eth0]:80'");
	listen_bad("[]:80", "expected \"[V6]:PORT\" with a numeric IPv6 address, got '[]:80'");
	memset(big, '1', sizeof(big));
	big[200] = '\0';
	snprintf(s, sizeof(s), "[%s]:80", big);
	snprintf(want, sizeof(want),
		 "expected \"[V6]:PORT\" with a numeric IPv6 address, got '%.*s...'", 76, s);
	listen_bad(s, want);

	/* The same checks through the file, with the JSON path. */
	bad("{\"format\": 1, \"listen\": [\"unix:/run/a.sock\", \"localhost:8080\"]}",
	    "agentjaild.json: $.listen[1]: " IPV4_EXPECT ", got 'localhost:8080'",
	    "a bad address in the file names its index");
	bad("{\"format\": 1, \"listen\": [\"unix:relative.sock\"]}",
	    "agentjaild.json: $.listen[0]: " UNIX_PATH_EXPECT ", got 'unix:relative.sock'",
	    "a relative unix path in the file");
	bad("{\"format\": 1, \"listen\": [\"[::1]:99999\"]}",
	    "agentjaild.json: $.listen[0]: expected \"[V6]:PORT\" with a port from 1 to 65535, got "
	    "'[::1]:99999'",
	    "a bad IPv6 port in the file");
	bad("{\"format\": 1, \"listen\": []}",
	    "agentjaild.json: $.listen: expected at least one address (at most 8)",
	    "an empty listen list");
	bad("{\"format\": 1, \"listen\": [\"unix:/a\", \"unix:/b\", \"unix:/c\", \"unix:/d\", "
	    "\"unix:/e\", \"unix:/f\", \"unix:/g\", \"unix:/h\", \"unix:/i\"]}",
	    "agentjaild.json: $.listen: expected an array of at most 8 items, got 9 items",
	    "nine listen addresses");
	struct ajd_config c;
	ajd_config_init(&c);
	good(&c,
	     "{\"format\": 1, \"listen\": [\"unix:/a\", \"unix:/b\", \"unix:/c\", \"unix:/d\", "
	     "\"unix:/e\", \"unix:/f\", \"unix:/g\", \"unix:/h\"]}",
	     "eight listen addresses");
	tap_ok(c.n_listen == 8 && strcmp(c.listen[7].path, "/h") == 0, "... all kept");
}

static void
test_validate(void)
{
	struct ajd_config c;

	ajd_config_init(&c);
	good(&c, "{\"format\": 1, \"listen\": [\"unix:/run/a.sock\", \"127.0.0.1:8080\"]}",
	     "a TCP listener loads (the check is the validator's)");
	invalid(&c, "listen 127.0.0.1:8080: " NO_AUTH_MSG, "TCP without insecure_no_auth");
	good(&c, "{\"format\": 1, \"listen\": [\"[::1]:8080\"]}", "an IPv6 listener");
	invalid(&c, "listen [::1]:8080: " NO_AUTH_MSG, "IPv6 TCP without insecure_no_auth");
	c.insecure_no_auth = true; /* as --insecure-no-auth sets it */
	valid(&c, "TCP with insecure_no_auth");

	ajd_config_init(&c);
	good(&c, "{\"format\": 1, \"listen\": [\"unix:/run/a.sock\", \"unix:/run/a.sock\"]}",
	     "one address twice loads");
	invalid(&c, "listen unix:/run/a.sock: expected each address once, got it twice",
		"... and is refused by the validator");

	ajd_config_init(&c);
	good(&c,
	     "{\"format\": 1, \"limits\": {\"max_execs_per_session\": 32, \"max_execs_total\": "
	     "16}}",
	     "per-session execs above the total loads");
	invalid(&c,
		"limits.max_execs_per_session: expected at most limits.max_execs_total (16), got "
		"32",
		"max_execs_per_session > max_execs_total");
	c.limits.max_execs_per_session = 16;
	valid(&c, "max_execs_per_session == max_execs_total");

	ajd_config_init(&c);
	c.limits.max_connections = 10;
	invalid(&c,
		"limits.max_connections_per_client: expected at most limits.max_connections (10), "
		"got 64",
		"max_connections_per_client > max_connections");

	/* Values a front end set directly are held to the loader's bounds. */
	ajd_config_init(&c);
	c.limits.max_connections = 0;
	invalid(&c, "limits.max_connections: expected an integer from 1 to 65536, got 0",
		"a count out of range");
	ajd_config_init(&c);
	c.limits.max_body_bytes = 2ull << 30;
	invalid(&c, "limits.max_body_bytes: expected a size from 1 KiB to 1 GiB, got 2147483648",
		"a size out of range");
	ajd_config_init(&c);
	snprintf(c.profiles_dir, sizeof(c.profiles_dir), "profiles");
	invalid(&c, "profiles_dir: " PATH_EXPECT ", got 'profiles'", "a relative profiles_dir");
	ajd_config_init(&c);
	snprintf(c.http_user, sizeof(c.http_user), "root");
	invalid(&c, "http_user: " USER_EXPECT ", got 'root'", "http_user root");
	ajd_config_init(&c);
	snprintf(c.cgroup_parent, sizeof(c.cgroup_parent), "../escape");
	invalid(&c, "cgroup_parent: " CGROUP_EXPECT ", got '../escape'", "cgroup_parent '..'");
	ajd_config_init(&c);
	c.n_listen = 0;
	invalid(&c, "listen: expected 1 to 8 addresses, got 0", "no listen address");
	ajd_config_init(&c);
	c.listen[0].kind = AJD_LISTEN_TCP;
	snprintf(c.listen[0].host, sizeof(c.listen[0].host), "127.0.0.1");
	c.listen[0].port = 0;
	c.insecure_no_auth = true;
	invalid(&c,
		"listen 127.0.0.1:0: expected \"HOST:PORT\" with a port from 1 to 65535, got "
		"'127.0.0.1:0'",
		"a listen address set directly is checked as if parsed");
	ajd_config_init(&c);
	c.socket_mode = 01000;
	invalid(&c, "socket_mode: expected 0000 to 0777, got 1000", "socket_mode above 0777");
	ajd_config_init(&c);
	c.log_format = (enum ajd_log_format)7;
	invalid(&c, "log_format: expected text or json", "log_format out of the enum");

	/* --listen as the daemon applies it: parse into the config, then
	 * validate. */
	ajd_config_init(&c);
	struct jail_error e = {0};
	int r = ajd_parse_listen("127.0.0.1:9000", &c.listen[c.n_listen], &e);
	tap_ok(r == 0, "--listen parses into the config");
	c.n_listen++;
	invalid(&c, "listen 127.0.0.1:9000: " NO_AUTH_MSG,
		"--listen TCP without --insecure-no-auth");
}

static void
test_files(void)
{
	struct ajd_config c, before;
	struct jail_error e = {0};
	char want[PATH_MAX + 256], path[PATH_MAX];
	int r;

	ajd_config_init(&c);
	before = c;
	snprintf(path, sizeof(path), "%s/missing.json", tmpdir);
	r = ajd_config_load_file(&c, path, &e);
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	tap_ok(r == -ENOENT && e.err == ENOENT && strcmp(e.msg, want) == 0,
	       "a missing file: -ENOENT, named");
	if (r != -ENOENT || strcmp(e.msg, want) != 0)
		tap_diag("got %d '%s'", r, e.msg);

	r = ajd_config_load_file(&c, tmpdir, &e);
	snprintf(want, sizeof(want), "%s: expected a regular file", tmpdir);
	tap_ok(r == -EINVAL && strcmp(e.msg, want) == 0, "a directory: not a regular file");

	snprintf(path, sizeof(path), "%s/fifo.json", tmpdir);
	if (mkfifo(path, 0600) == 0) {
		r = ajd_config_load_file(&c, path, &e);
		snprintf(want, sizeof(want), "%s: expected a regular file", path);
		tap_ok(r == -EINVAL && strcmp(e.msg, want) == 0,
		       "a FIFO: refused at once, not read");
	} else {
		tap_skip("a FIFO: mkfifo failed");
	}

	/* Exactly 1 MiB: the document padded with spaces loads. */
	size_t max = AJD_CONFIG_MAX_SIZE;
	char *text = malloc(max + 1);
	if (!text)
		exit(1);
	memset(text, ' ', max + 1);
	memcpy(text, "{\"format\": 1}", 13);
	const char *p = fixture("max.json", text, max);
	r = ajd_config_load_file(&c, p, &e);
	tap_ok(r == 0, "a file of exactly 1 MiB loads");
	if (r)
		tap_diag("error: %s", e.msg);
	p = fixture("big.json", text, max + 1);
	r = ajd_config_load_file(&c, p, &e);
	snprintf(want, sizeof(want),
		 "%s: 1048577 bytes, larger than the 1048576 bytes a configuration file may have",
		 p);
	tap_ok(r == -EFBIG && e.err == EFBIG && strcmp(e.msg, want) == 0,
	       "a file of 1 MiB + 1: -EFBIG, named");
	if (r != -EFBIG || strcmp(e.msg, want) != 0)
		tap_diag("got %d '%s'", r, e.msg);
	free(text);

	/* Errors in a file name the file as given. */
	static const char bad_limits[] = "{\"format\": 1, \"listen\": [\"unix:/run/x.sock\"],\n"
					 " \"limits\": {\"max_sessions\": 0}}";
	p = fixture("bad.json", bad_limits, strlen(bad_limits));
	ajd_config_init(&c);
	before = c;
	r = ajd_config_load_file(&c, p, &e);
	snprintf(want, sizeof(want),
		 "%s: $.limits.max_sessions: expected an integer from 1 to 100000, got 0", p);
	tap_ok(r == -EINVAL && strcmp(e.msg, want) == 0, "an error in a file names the file");
	if (r != -EINVAL || strcmp(e.msg, want) != 0)
		tap_diag("got %d '%s'", r, e.msg);
	tap_ok(memcmp(&c, &before, sizeof(c)) == 0,
	       "a failed load leaves the config as it was (listen, read before the error, too)");

	static const char syntax[] = "{\"format\": 1,\n  \"worker\": nul}";
	p = fixture("syntax.json", syntax, strlen(syntax));
	r = ajd_config_load_file(&c, p, &e);
	snprintf(want, sizeof(want), "%s:2:15: invalid token near 'nul'", p);
	tap_ok(r == -EINVAL && strcmp(e.msg, want) == 0, "a syntax error: file:line:col");
	if (r != -EINVAL || strcmp(e.msg, want) != 0)
		tap_diag("got %d '%s'", r, e.msg);

	static const char ok[] = "{\"format\": 1, \"default_profile\": \"minimal\"}";
	p = fixture("ok.json", ok, strlen(ok));
	r = ajd_config_load_file(&c, p, &e);
	tap_ok(r == 0 && strcmp(c.default_profile, "minimal") == 0, "a good file loads");
}

/* The shipped example states every default, and the man page documents
 * every key the parser knows (taken from its unknown-key message). */
static void
test_example_and_man_page(void)
{
	const char *top = getenv("AJ_TOP") ? getenv("AJ_TOP") : ".";
	struct ajd_config c, defaults;
	struct jail_error e = {0};
	char path[PATH_MAX];

	ajd_config_init(&defaults);
	ajd_config_init(&c);
	c.limits.max_sessions = 1; /* the example must set it back */
	snprintf(path, sizeof(path), "%s/examples/agentjaild.json", top);
	int r = ajd_config_load_file(&c, path, &e);
	tap_ok(r == 0, "examples/agentjaild.json loads");
	if (r)
		tap_diag("error: %s", e.msg);
	tap_ok(r == 0 && memcmp(&c, &defaults, sizeof(c)) == 0,
	       "examples/agentjaild.json states the built-in defaults");
	valid(&c, "examples/agentjaild.json validates");

	snprintf(path, sizeof(path), "%s/man/agentjaild.conf.5", top);
	FILE *f = fopen(path, "re");
	char *page = NULL;
	size_t len = 0;
	if (!f || getdelim(&page, &len, '\0', f) < 0) {
		tap_ok(0, "read %s", path);
		if (f)
			fclose(f);
		free(page);
		return;
	}
	fclose(f);

	static const char *const docs[] = {"{\"format\": 1, \"zz\": 1}",
					   "{\"format\": 1, \"limits\": {\"zz\": 1}}"};
	for (size_t d = 0; d < 2; d++) {
		struct ajd_config x;
		ajd_config_init(&x);
		ajd_config_load_buffer(&x, docs[d], strlen(docs[d]), "k", &e);
		char *list = strstr(e.msg, "expected one of: ");
		if (!list) {
			tap_ok(0, "the unknown-key message lists the keys");
			continue;
		}
		list += strlen("expected one of: ");
		list[strcspn(list, ")")] = '\0';
		for (char *save = NULL, *k = strtok_r(list, ", ", &save); k;
		     k = strtok_r(NULL, ", ", &save)) {
			char needle[128];

			snprintf(needle, sizeof(needle), "\n.It Ic %s ", k);
			tap_ok(strstr(page, needle) != NULL, "agentjaild.conf(5) documents %s%s",
			       d ? "limits." : "", k);
		}
	}
	free(page);
}

static void
cleanup(void)
{
	static const char *const files[] = {"fifo.json", "max.json",	"big.json",
					    "bad.json",	 "syntax.json", "ok.json"};
	char path[PATH_MAX];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, files[i]);
		unlink(path);
	}
	rmdir(tmpdir);
}

int
main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_defaults();
	test_every_key();
	test_unknown_and_duplicate();
	test_format_and_syntax();
	test_types();
	test_values();
	test_count_bounds();
	test_size_bounds();
	test_listen();
	test_validate();
	test_files();
	test_example_and_man_page();
	cleanup();
	{
		struct ajd_config pc;
		struct jail_error pe = {0};
		const char *pj =
			"{\"format\": 1, \"pools\": {\"default\": {\"size\": 8, \"max\": 200}, "
			"\"python\": {\"size\": 2}}}";
		ajd_config_init(&pc);
		int pr = ajd_config_load_buffer(&pc, pj, strlen(pj), "agentjaild.json", &pe);
		tap_ok(pr == 0 && pc.n_pools == 2 && pc.pools[0].size == 8 &&
			       pc.pools[0].max == 200 && pc.pools[0].has_max &&
			       !pc.pools[1].has_max && pc.pools[1].size == 2,
		       "pools: per-profile size and max");
		pj = "{\"format\": 1, \"pools\": {\"bad name!\": {\"size\": 1}}}";
		pr = ajd_config_load_buffer(&pc, pj, strlen(pj), "agentjaild.json", &pe);
		tap_ok(pr < 0 && strstr(pe.msg, "expected a profile name"),
		       "pools: a bad profile name");
		pj = "{\"format\": 1, \"pools\": {\"x\": {\"siz\": 1}}}";
		pr = ajd_config_load_buffer(&pc, pj, strlen(pj), "agentjaild.json", &pe);
		tap_ok(pr < 0 && strstr(pe.msg, "$.pools.x: unknown key 'siz'"),
		       "pools: an unknown key");
	}
	return tap_done();
}
