/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The profile loader: every error path with its exact one-line message
 * (origin, JSON path, expectation), and the good paths: the builtin
 * profiles, values landing in the config, layering, seccomp files.
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

#include "jail.h"
#include "tap.h"

static char tmpdir[] = "/tmp/aj-test-profile-XXXXXX";

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

/* Load text as "bad.json"; it must fail with errno err and exactly msg. */
static void
bad_err(const char *text, int err, const char *want, const char *what)
{
	struct jail_config c;
	struct jail_error e = {0};

	jail_config_init(&c);
	int r = jail_profile_load_buffer(&c, text, strlen(text), "bad.json", &e);
	int ok = r == -err && e.err == err && strcmp(e.msg, want) == 0;
	tap_ok(ok, "%s", what);
	if (!ok)
		tap_diag("got %d '%s'\n#  expected %d '%s'", r, e.msg, -err, want);
	jail_config_free(&c);
}

static void
bad(const char *text, const char *want, const char *what)
{
	bad_err(text, EINVAL, want, what);
}

/* Load text as "good.json" on top of c; it must succeed. */
static int
good(struct jail_config *c, const char *text, const char *what)
{
	struct jail_error e = {0};
	int r = jail_profile_load_buffer(c, text, strlen(text), "good.json", &e);

	tap_ok(r == 0, "%s", what);
	if (r != 0)
		tap_diag("error %d: %s", r, e.msg);
	return r;
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

#define PROFILE_KEYS                                                                               \
	"format, name, description, rootfs, hostname, user, host_ids, namespaces, mounts, tmp, "   \
	"workspace, proc, dev, cwd, env, keep_env, network, limits, seccomp, pool, session, "      \
	"entrypoint, ports, health, tools, secrets, restart, restart_max"
#define SIZE_EXPECT                                                                                \
	"expected a size (a number of bytes, or a string such as \"512M\" with K, M, G or T "      \
	"meaning powers of 1024)"
#define PATH_EXPECT "expected an absolute path (at most 4095 bytes)"

static void
test_unknown_keys(void)
{
	bad("{\"format\": 1, \"hostnme\": \"x\"}",
	    "bad.json: $: unknown key 'hostnme' (expected one of: " PROFILE_KEYS ")",
	    "unknown top-level key: origin, path and every expected key");
	bad("{\"format\": 1, \"limits\": {\"memroy\": \"1G\"}}",
	    "bad.json: $.limits: unknown key 'memroy' (expected one of: memory, memory_high, pids, "
	    "cpu, cpuset, io_max, time_s, require_cgroups, rlimits)",
	    "unknown nested key");
	bad("{\"format\": 1, \"limits\": {\"rlimits\": {\"nofiles\": 1}}}",
	    "bad.json: $.limits.rlimits: unknown key 'nofiles' (expected one of: as, core, cpu, "
	    "fsize, nofile, nproc, stack)",
	    "unknown key two levels down");
	bad("{\"format\": 1, \"mounts\": [{\"type\": \"tmpfs\", \"target\": \"/a\"}, {\"type\": "
	    "\"bind\", \"source\": \"/a\", \"target\": \"/b\", \"size\": \"1M\"}]}",
	    "bad.json: $.mounts[1]: unknown key 'size' (expected one of: type, source, target, "
	    "readonly, optional)",
	    "a mount is checked against its type's table (bind has no size)");
	bad("{\"format\": 1, \"mounts\": [{\"type\": \"symlink\", \"source\": \"x\", \"target\": "
	    "\"/b\", \"readonly\": true}]}",
	    "bad.json: $.mounts[0]: unknown key 'readonly' (expected one of: type, source, target)",
	    "symlink has no readonly");
	bad("{\"format\": 1, \"seccomp\": {\"syscalls\": {\"alow\": []}}}",
	    "bad.json: $.seccomp.syscalls: unknown key 'alow' (expected one of: allow, deny)",
	    "unknown key in seccomp.syscalls");
	bad("{\"format\": 1, \"bad\\nkey\": 1}",
	    "bad.json: $: unknown key 'bad?key' (expected one of: " PROFILE_KEYS ")",
	    "control characters in a key do not break the one-line message");
}

static void
test_duplicates(void)
{
	bad("{\"format\": 1,\n \"hostname\": \"a\",\n \"hostname\": \"b\"}",
	    "bad.json:3:11: $: duplicate key 'hostname' (each key may appear once)",
	    "duplicate top-level key: line:col and path");
	bad("{\n  \"format\": 1,\n  \"limits\": {\"pids\": 1,\n    \"memory\": \"1M\", "
	    "\"memory\": \"2M\"}\n}",
	    "bad.json:4:28: $.limits: duplicate key 'memory' (each key may appear once)",
	    "duplicate nested key: path of the holding object");
	bad("{\"format\": 1, \"mounts\": [{\"type\": \"tmpfs\", \"target\": \"/a\"}, {\"type\": "
	    "\"tmpfs\", \"target\": \"/b\", \"target\": \"/c\"}]}",
	    "bad.json:1:102: $.mounts[1]: duplicate key 'target' (each key may appear once)",
	    "duplicate key in an array element: index in the path");
	bad("{\"format\": 1, \"env\": {\"A\": \"x}\\\"{[,:\", \"B\": \"]\", \"A\": \"y\"}}",
	    "bad.json:1:52: $.env: duplicate key 'A' (each key may appear once)",
	    "brackets, quotes and commas inside strings do not confuse the path");
	bad("{\"format\": 1, \"limits\": {\"rlimits\": {\"core\": 0}, \"cpu\": 1, \"rlimits\": "
	    "{}}}",
	    "bad.json:1:68: $.limits: duplicate key 'rlimits' (each key may appear once)",
	    "a closed sibling object does not stay on the path");
}

static void
test_types(void)
{
	bad("{\"format\": 1, \"user\": {\"uid\": \"1000\"}}",
	    "bad.json: $.user.uid: expected an integer, got a string", "uid as a string");
	bad("{\"format\": 1, \"user\": {\"gid\": 1000.0}}",
	    "bad.json: $.user.gid: expected an integer, got a real", "gid as a real");
	bad("{\"format\": 1, \"user\": {\"uid\": -1}}",
	    "bad.json: $.user.uid: expected an integer between 1 and 4294967294, got -1",
	    "negative uid");
	bad("{\"format\": 1, \"user\": {\"uid\": 4294967295}}",
	    "bad.json: $.user.uid: expected an integer between 1 and 4294967294, got 4294967295",
	    "uid -1 (no id) refused");
	bad("{\"format\": 1, \"user\": 1000}",
	    "bad.json: $.user: expected an object, got an integer", "user as an integer");
	bad("{\"format\": 1, \"proc\": \"true\"}",
	    "bad.json: $.proc: expected a boolean (true or false), got a string",
	    "boolean given as a string");
	bad("{\"format\": 1, \"namespaces\": {\"pid\": 1}}",
	    "bad.json: $.namespaces.pid: expected a boolean (true or false), got an integer",
	    "boolean given as an integer");
	bad("{\"format\": 1, \"hostname\": 5}",
	    "bad.json: $.hostname: expected a string, got an integer", "hostname as an integer");
	bad("{\"format\": 1, \"hostname\": null}",
	    "bad.json: $.hostname: expected a string, got null", "hostname null");
	bad("{\"format\": 1, \"cwd\": [\"/\"]}", "bad.json: $.cwd: " PATH_EXPECT ", got an array",
	    "path as an array");
	bad("{\"format\": 1, \"mounts\": {}}",
	    "bad.json: $.mounts: expected an array, got an object", "mounts as an object");
	bad("{\"format\": 1, \"mounts\": [\"/usr\"]}",
	    "bad.json: $.mounts[0]: expected an object, got a string", "mount as a string");
	bad("{\"format\": 1, \"limits\": {\"cpuset\": \"0-x\"}}",
	    "bad.json: $.limits.cpuset: expected a CPU list such as \"0-3,6\"", "a bad cpuset");
	bad("{\"format\": 1, \"limits\": {\"io_max\": [\"8:0 rbps=1\", \"8:0 speed=1\"]}}",
	    "bad.json: $.limits.io_max[1]: expected \"MAJOR:MINOR\" and one or more of rbps=, "
	    "wbps=, riops=, wiops= with a number or max",
	    "a bad io.max line");
	bad("{\"format\": 1, \"limits\": {\"memory\": \"1M\", \"memory_high\": \"2M\"}}",
	    "bad.json: memory_high above memory: expected at most memory",
	    "memory_high above memory");
	bad("{\"format\": 1, \"limits\": []}",
	    "bad.json: $.limits: expected an object, got an array", "limits as an array");
	bad("{\"format\": 1, \"env\": {\"FOO\": 1}}",
	    "bad.json: $.env.FOO: expected a string, got an integer", "env value as an integer");
	bad("{\"format\": 1, \"env\": []}", "bad.json: $.env: expected an object, got an array",
	    "env as an array");
	bad("{\"format\": 1, \"limits\": {\"memory\": true}}",
	    "bad.json: $.limits.memory: " SIZE_EXPECT ", got a boolean", "size as a boolean");
	bad("{\"format\": 1, \"limits\": {\"memory\": -1}}",
	    "bad.json: $.limits.memory: " SIZE_EXPECT ", got -1", "negative size");
	bad("{\"format\": 1, \"limits\": {\"memory\": 1.5}}",
	    "bad.json: $.limits.memory: " SIZE_EXPECT ", got a real", "size as a real");
	bad("{\"format\": 1, \"limits\": {\"cpu\": \"1\"}}",
	    "bad.json: $.limits.cpu: expected a number, got a string", "cpu as a string");
	bad("{\"format\": 1, \"limits\": {\"pids\": 1.5}}",
	    "bad.json: $.limits.pids: expected an integer, got a real", "pids as a real");
	bad("{\"format\": 1, \"limits\": {\"pids\": 5000000}}",
	    "bad.json: $.limits.pids: expected an integer between 0 and 4194304, got 5000000",
	    "pids above PID_MAX_LIMIT");
	bad("{\"format\": 1, \"limits\": {\"time_s\": 31622401}}",
	    "bad.json: $.limits.time_s: expected an integer between 0 and 31622400, got 31622401",
	    "time_s above a year");
	bad("{\"format\": 1, \"limits\": {\"cpu\": 5000}}",
	    "bad.json: $.limits.cpu: expected a number of CPUs from 0.01 to 4096 (0: no limit), "
	    "got 5000",
	    "cpu above 4096");
	bad("{\"format\": 1, \"limits\": {\"cpu\": 0.001}}",
	    "bad.json: $.limits.cpu: expected a number of CPUs from 0.01 to 4096 (0: no limit), "
	    "got 0.001",
	    "cpu below 0.01");
	bad("{\"format\": 1, \"seccomp\": {\"syscalls\": {\"allow\": [\"read\", 3]}}}",
	    "bad.json: $.seccomp.syscalls.allow[1]: expected a string, got an integer",
	    "syscall name as an integer");
	bad("{\"format\": 1, \"keep_env\": null}",
	    "bad.json: $.keep_env: expected a boolean (true or false), got null", "keep_env null");
	bad("{\"format\": 1, \"rootfs\": false}",
	    "bad.json: $.rootfs: " PATH_EXPECT ", got a boolean", "rootfs false");
}

static void
test_lengths(void)
{
	char big[40100];
	struct buf b;

	memset(big, 'a', sizeof(big));
	big[300] = '\0';
	buf_open(&b);
	fprintf(b.f, "{\"format\": 1, \"hostname\": \"%s\"}", big);
	char *t = buf_close(&b);
	bad(t, "bad.json: $.hostname: expected a string of at most 64 bytes, got 300 bytes",
	    "hostname of 300 bytes");
	free(t);

	big[65] = '\0';
	buf_open(&b);
	fprintf(b.f, "{\"format\": 1, \"name\": \"%s\"}", big);
	t = buf_close(&b);
	bad(t, "bad.json: $.name: expected a string of at most 64 bytes, got 65 bytes",
	    "name of 65 bytes");
	free(t);

	memset(big, 'a', sizeof(big));
	big[2000] = '\0';
	buf_open(&b);
	fprintf(b.f, "{\"format\": 1, \"description\": \"%s\"}", big);
	t = buf_close(&b);
	bad(t, "bad.json: $.description: expected a string of at most 1024 bytes, got 2000 bytes",
	    "description of 2000 bytes");
	free(t);

	memset(big, 'a', sizeof(big));
	big[0] = '/';
	big[5000] = '\0';
	buf_open(&b);
	fprintf(b.f, "{\"format\": 1, \"cwd\": \"%s\"}", big);
	t = buf_close(&b);
	bad(t, "bad.json: $.cwd: " PATH_EXPECT ", got 5000 bytes", "cwd of 5000 bytes");
	free(t);

	buf_open(&b);
	fprintf(b.f,
		"{\"format\": 1, \"mounts\": [{\"type\": \"bind\", \"source\": \"%s\", "
		"\"target\": \"/x\"}]}",
		big);
	t = buf_close(&b);
	bad(t, "bad.json: $.mounts[0].source: " PATH_EXPECT ", got 5000 bytes",
	    "mount source of 5000 bytes");
	free(t);

	memset(big, 'v', sizeof(big));
	big[40000] = '\0';
	buf_open(&b);
	fprintf(b.f, "{\"format\": 1, \"env\": {\"BIG\": \"%s\"}}", big);
	t = buf_close(&b);
	bad(t, "bad.json: $.env.BIG: expected a string of at most 32764 bytes, got 40000 bytes",
	    "env value over 32 KiB (NAME=value)");
	free(t);

	/* Exactly at the limit is fine. */
	big[32764] = '\0';
	buf_open(&b);
	fprintf(b.f, "{\"format\": 1, \"env\": {\"BIG\": \"%s\"}}", big);
	t = buf_close(&b);
	struct jail_config c;
	jail_config_init(&c);
	good(&c, t, "env NAME=value of exactly 32768 bytes");
	tap_ok(c.n_env == 1 && strlen(c.env[0]) == 32768, "... and it is set");
	jail_config_free(&c);
	free(t);

	jail_config_init(&c);
	good(&c, "{\"format\": 2, \"pool\": {\"size\": 4, \"max\": 100}}", "pool");
	tap_ok(c.pool_size == 4 && c.pool_max == 100, "... size and max land in the config");
	jail_config_free(&c);
	bad("{\"format\": 2, \"pool\": {\"size\": 20000}}",
	    "bad.json: $.pool.size: expected an integer between 0 and 10000, got 20000",
	    "a pool size over 10000");
	bad("{\"format\": 1, \"pool\": {\"size\": 4}}",
	    "bad.json: $.pool: a key of profile format 2 (this profile says \"format\": 1)",
	    "pool in a format 1 profile: the format it needs");
	jail_config_init(&c);
	good(&c, "{\"format\": 2, \"session\": {\"idle_timeout_s\": 60, \"max_lifetime_s\": 3600}}",
	     "session lifetimes");
	tap_ok(c.session_idle_s == 60 && c.session_lifetime_s == 3600, "... land in the config");
	jail_config_free(&c);
	bad("{\"format\": 2, \"session\": {\"idle_timeout_s\": 0}}",
	    "bad.json: $.session.idle_timeout_s: expected an integer between 1 and 604800, got 0",
	    "an idle timeout of 0");
	bad("{\"format\": 2, \"session\": {\"max_lifetime_s\": 2592001}}",
	    "bad.json: $.session.max_lifetime_s: expected an integer between 1 and 2592000, got "
	    "2592001",
	    "a lifetime over 30 days");
	bad("{\"format\": 1, \"session\": {\"idle_timeout_s\": 60}}",
	    "bad.json: $.session: a key of profile format 2 (this profile says \"format\": 1)",
	    "session in a format 1 profile");

	jail_config_init(&c);
	good(&c,
	     "{\"format\": 1, \"limits\": {\"memory\": \"1G\", \"memory_high\": \"768M\", "
	     "\"cpuset\": \"0-1\", \"io_max\": [\"8:0 rbps=1048576 wiops=max\"]}}",
	     "memory_high, cpuset, io_max");
	tap_ok(c.cgroup.memory_high == 768ull << 20 && c.cgroup.cpuset &&
		       strcmp(c.cgroup.cpuset, "0-1") == 0 && c.cgroup.n_io_max == 1 &&
		       strcmp(c.cgroup.io_max[0], "8:0 rbps=1048576 wiops=max") == 0,
	       "... land in the config");
	jail_config_free(&c);

	bad("{\"format\": 1, \"seccomp\": {\"syscalls\": {\"deny\": "
	    "[\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"]}}}",
	    "bad.json: $.seccomp.syscalls.deny[0]: expected a string of at most 64 bytes, got 74 "
	    "bytes",
	    "syscall name of 74 bytes");
}

static void
test_counts(void)
{
	struct buf b;
	char *t;

	buf_open(&b);
	fprintf(b.f, "{\"format\": 1, \"mounts\": [");
	for (int i = 0; i < 257; i++)
		fprintf(b.f, "%s{\"type\": \"tmpfs\", \"target\": \"/m%d\"}", i ? ", " : "", i);
	fprintf(b.f, "]}");
	t = buf_close(&b);
	bad(t, "bad.json: $.mounts: expected an array of at most 256 items, got 257 items",
	    "257 mounts");
	free(t);

	buf_open(&b);
	fprintf(b.f, "{\"format\": 1, \"mounts\": [");
	for (int i = 0; i < 256; i++)
		fprintf(b.f, "%s{\"type\": \"tmpfs\", \"target\": \"/m%d\"}", i ? ", " : "", i);
	fprintf(b.f, "]}");
	t = buf_close(&b);
	struct jail_config c;
	jail_config_init(&c);
	good(&c, t, "256 mounts are fine");
	tap_ok(c.n_mounts == 256 && strcmp(c.mounts[255].target, "/m255") == 0,
	       "... all 256 in order");
	jail_config_free(&c);
	free(t);

	buf_open(&b);
	fprintf(b.f, "{\"format\": 1, \"seccomp\": {\"syscalls\": {\"deny\": [");
	for (int i = 0; i < 513; i++)
		fprintf(b.f, "%s\"read\"", i ? ", " : "");
	fprintf(b.f, "]}}}");
	t = buf_close(&b);
	bad(t,
	    "bad.json: $.seccomp.syscalls.deny: expected an array of at most 512 items, got 513 "
	    "items",
	    "513 syscalls");
	free(t);

	buf_open(&b);
	fprintf(b.f, "{\"format\": 1, \"env\": {");
	for (int i = 0; i < 257; i++)
		fprintf(b.f, "%s\"V%d\": \"x\"", i ? ", " : "", i);
	fprintf(b.f, "}}");
	t = buf_close(&b);
	bad(t, "bad.json: $.env: expected an object of at most 256 entries, got 257 entries",
	    "257 environment variables");
	free(t);
}

static void
test_values(void)
{
	bad("{\"format\": 1, \"tmp\": {\"size\": \"12X\"}}",
	    "bad.json: $.tmp.size: " SIZE_EXPECT ", got '12X'", "size with a bad suffix");
	bad("{\"format\": 1, \"tmp\": {\"size\": \"M\"}}",
	    "bad.json: $.tmp.size: " SIZE_EXPECT ", got 'M'", "size without digits");
	bad("{\"format\": 1, \"tmp\": {\"size\": \"-5M\"}}",
	    "bad.json: $.tmp.size: " SIZE_EXPECT ", got '-5M'", "negative size string");
	bad("{\"format\": 1, \"workspace\": {\"size\": \"1.5G\"}}",
	    "bad.json: $.workspace.size: " SIZE_EXPECT ", got '1.5G'", "fractional size string");
	bad("{\"format\": 1, \"dev\": {\"shm_size\": \"99999999999T\"}}",
	    "bad.json: $.dev.shm_size: " SIZE_EXPECT ", got '99999999999T'", "size overflowing");
	bad("{\"format\": 1, \"tmp\": {\"size\": \"1M\", \"host_dir\": \"/srv\"}}",
	    "bad.json: $.tmp: expected exactly one of the keys 'size' and 'host_dir'",
	    "tmp with both size and host_dir");
	bad("{\"format\": 1, \"workspace\": {}}",
	    "bad.json: $.workspace: expected exactly one of the keys 'size' and 'host_dir'",
	    "workspace with neither");
	bad("{\"format\": 1, \"workspace\": {\"host_dir\": \"srv\"}}",
	    "bad.json: $.workspace.host_dir: " PATH_EXPECT ", got 'srv'", "relative host_dir");

#define TMPFS_MODE(m)                                                                              \
	"{\"format\": 1, \"mounts\": [{\"type\": \"tmpfs\", \"target\": \"/a\", \"mode\": " m "}]" \
	"}"
#define MODE_EXPECT "bad.json: $.mounts[0].mode: expected a string of octal digits such as \"0755\""
	bad(TMPFS_MODE("\"0789\""), MODE_EXPECT " (0001 to 07777), got '0789'",
	    "mode with a non-octal digit");
	bad(TMPFS_MODE("\"17777\""), MODE_EXPECT " (0001 to 07777), got '17777'",
	    "mode above 07777");
	bad(TMPFS_MODE("\"0\""), MODE_EXPECT " (0001 to 07777), got '0'", "mode 0");
	bad(TMPFS_MODE("\"\""), MODE_EXPECT " (0001 to 07777), got ''", "empty mode");
	bad(TMPFS_MODE("\"u+rwx\""), MODE_EXPECT " (0001 to 07777), got 'u+rwx'", "symbolic mode");
	bad(TMPFS_MODE("755"), MODE_EXPECT ", got an integer", "mode as a (decimal) integer");

#define RL_EXPECT_N "expected a non-negative integer or one of: soft, hard, inf"
#define RL_EXPECT_B                                                                                \
	"expected a size (bytes, or a string such as \"64M\") or one of: soft, hard, inf"
	bad("{\"format\": 1, \"limits\": {\"rlimits\": {\"nofile\": \"unlimited\"}}}",
	    "bad.json: $.limits.rlimits.nofile: " RL_EXPECT_N "; got 'unlimited'",
	    "bad rlimit word");
	bad("{\"format\": 1, \"limits\": {\"rlimits\": {\"nproc\": \"64\"}}}",
	    "bad.json: $.limits.rlimits.nproc: " RL_EXPECT_N "; got '64'",
	    "a count rlimit takes no string number");
	bad("{\"format\": 1, \"limits\": {\"rlimits\": {\"cpu\": -1}}}",
	    "bad.json: $.limits.rlimits.cpu: " RL_EXPECT_N "; got -1", "negative rlimit");
	bad("{\"format\": 1, \"limits\": {\"rlimits\": {\"stack\": \"8Q\"}}}",
	    "bad.json: $.limits.rlimits.stack: " RL_EXPECT_B "; got '8Q'", "bad byte rlimit");
	bad("{\"format\": 1, \"limits\": {\"rlimits\": {\"as\": true}}}",
	    "bad.json: $.limits.rlimits.as: " RL_EXPECT_B "; got a boolean", "rlimit as a boolean");

	bad("{\"format\": 1, \"seccomp\": {\"policy\": \"strict\"}}",
	    "bad.json: $.seccomp.policy: expected one of: default, minimal, empty; got 'strict'",
	    "bad seccomp policy");
	bad("{\"format\": 1, \"seccomp\": {\"action\": \"trap\"}}",
	    "bad.json: $.seccomp.action: expected one of: errno, kill, log; got 'trap'",
	    "bad seccomp action");
	bad("{\"format\": 1, \"seccomp\": {\"action\": 1}}",
	    "bad.json: $.seccomp.action: expected one of: errno, kill, log; got an integer",
	    "seccomp action as an integer");
	bad("{\"format\": 1, \"network\": {\"mode\": \"bridge\"}}",
	    "bad.json: $.network.mode: expected one of: none, host; got 'bridge'",
	    "bad network mode");
	bad("{\"format\": 1, \"mounts\": [{\"type\": \"overlay\", \"target\": \"/a\"}]}",
	    "bad.json: $.mounts[0].type: expected one of: bind, tmpfs, symlink; got 'overlay'",
	    "bad mount type");
	bad("{\"format\": 1, \"mounts\": [{\"target\": \"/a\"}]}",
	    "bad.json: $.mounts[0]: missing key 'type' (expected one of: bind, tmpfs, symlink)",
	    "mount without a type");
	bad("{\"format\": 1, \"mounts\": [{\"type\": \"bind\", \"source\": \"/a\"}]}",
	    "bad.json: $.mounts[0]: missing key 'target' (expected an absolute path)",
	    "mount without a target");
	bad("{\"format\": 1, \"mounts\": [{\"type\": \"bind\", \"target\": \"/a\"}]}",
	    "bad.json: $.mounts[0]: missing key 'source' (expected an absolute path on the host)",
	    "bind without a source");
	bad("{\"format\": 1, \"mounts\": [{\"type\": \"tmpfs\", \"target\": \"/a\"}, {\"type\": "
	    "\"tmpfs\", \"target\": \"/b\"}, {\"type\": \"tmpfs\", \"target\": \"relative\"}]}",
	    "bad.json: $.mounts[2].target: " PATH_EXPECT ", got 'relative'",
	    "relative mount target at index 2");
	bad("{\"format\": 1, \"mounts\": [{\"type\": \"symlink\", \"source\": \"\", \"target\": "
	    "\"/a\"}]}",
	    "bad.json: $.mounts[0].source: expected a non-empty string", "empty symlink content");

	bad("{\"format\": 1, \"name\": \"my profile\"}",
	    "bad.json: $.name: expected 1-64 characters of [A-Za-z0-9._-], got 'my profile'",
	    "name with a space");
	bad("{\"format\": 1, \"env\": {\"1FOO\": \"x\"}}",
	    "bad.json: $.env: bad variable name '1FOO' (expected [A-Za-z_][A-Za-z0-9_]*)",
	    "env name starting with a digit");
	bad("{\"format\": 1, \"env\": {\"A=B\": \"x\"}}",
	    "bad.json: $.env: bad variable name 'A=B' (expected [A-Za-z_][A-Za-z0-9_]*)",
	    "env name with '='");
	bad("{\"format\": 1, \"seccomp\": {\"syscalls\": {\"allow\": [\"read\", \"nosuchcall\"]}}}",
	    "bad.json: $.seccomp.syscalls.allow[1]: unknown syscall 'nosuchcall' (expected a "
	    "syscall name of this architecture, e.g. 'openat')",
	    "unknown syscall name");
	bad("{\"format\": 1, \"namespaces\": {\"net\": false}, \"network\": {\"mode\": \"none\"}}",
	    "bad.json: $: network.mode 'none' needs a network namespace, but namespaces.net is "
	    "false",
	    "network none with namespaces.net false names both");
	bad("{\"format\": 1, \"namespaces\": {\"net\": true}, \"network\": {\"mode\": \"host\"}}",
	    "bad.json: $: network.mode 'host' cannot have a network namespace, but namespaces.net "
	    "is true",
	    "network host with namespaces.net true names both");

	/* What the shared validator finds comes wrapped with the origin. */
	bad("{\"format\": 1, \"mounts\": [{\"type\": \"tmpfs\", \"target\": \"/proc\"}]}",
	    "bad.json: mount 1: target '/proc' is managed by agentjail itself (expected a path "
	    "outside /proc, /dev, and not exactly /tmp or /workspace)",
	    "validator error wrapped with the origin");
	bad("{\"format\": 1, \"hostname\": \"my host\"}",
	    "bad.json: hostname 'my host': expected 1-64 characters of [A-Za-z0-9._-]",
	    "hostname characters checked by the validator");
	bad("{\"format\": 1, \"host_ids\": {\"min\": 2000, \"max\": 1000}}",
	    "bad.json: host id range 2000-1000: expected 0 < first <= last < 4294967295",
	    "host id range upside down");
	bad("{\"format\": 1, \"cwd\": \"/a/../b\"}",
	    "bad.json: cwd '/a/../b': expected an absolute path without '.', '..' or '//' "
	    "components, at most 4095 bytes",
	    "cwd with '..'");
}

static void
test_document(void)
{
	bad("{\"name\": \"x\"}", "bad.json: $: missing key 'format' (expected \"format\": 3)",
	    "missing format");
	bad("{\"format\": 4, \"name\": \"x\", \"pool\": {\"size\": 4}, \"sidecars\": []}",
	    "bad.json: $.format: profile format 4 is newer than this agentjail supports (3)",
	    "newer format, reported before its unknown keys");
	bad("{\"format\": 0}",
	    "bad.json: $.format: expected an integer between 1 and 2147483647, got 0", "format 0");
	bad("{\"format\": \"1\"}", "bad.json: $.format: expected an integer, got a string",
	    "format as a string");
	bad("{\"format\": 1.0}", "bad.json: $.format: expected an integer, got a real",
	    "format as a real");
	bad("[1, 2]", "bad.json: $: expected an object, got an array", "array root");
	bad("42", "bad.json:1:2: '[' or '{' expected near '42'", "number root");
	bad("", "bad.json:1:0: '[' or '{' expected near end of file", "empty document");
	bad("{\n  \"format\": 1,\n  \"proc\": tru\n}", "bad.json:3:13: invalid token near 'tru'",
	    "syntax error with line:col");
	bad("{\"format\": 1} x", "bad.json:1:15: end of file expected near 'x'",
	    "trailing garbage");
	bad("{\"format\": 1, \"hostname\": \"a\\u0000b\"}",
	    "bad.json:1:36: \\u0000 is not allowed without JSON_ALLOW_NUL near '\"a\\u0000b\"'",
	    "NUL in a string");
	bad("{\"format\": 1, \"limits\": {\"pids\": 99999999999999999999}}",
	    "bad.json:1:53: too big integer near '99999999999999999999'", "integer overflow");

	/* Through a file: the origin is the file name. */
	const char *text = "{\"format\": 1,\n\t\"limits\": {\"pids\": \"many\"}}";
	const char *p = fixture("types.json", text, strlen(text));
	char want[PATH_MAX + 128];
	struct jail_config c;
	struct jail_error e = {0};
	jail_config_init(&c);
	int r = jail_profile_load_file(&c, p, &e);
	snprintf(want, sizeof(want), "%s: $.limits.pids: expected an integer, got a string", p);
	tap_ok(r == -EINVAL && strcmp(e.msg, want) == 0, "file errors name the file");
	if (strcmp(e.msg, want) != 0)
		tap_diag("got '%s'", e.msg);
	jail_config_free(&c);

	text = "{\"format\": 1,\n\t\"proc\": }";
	p = fixture("syntax.json", text, strlen(text));
	jail_config_init(&c);
	r = jail_profile_load(&c, p, &e);
	snprintf(want, sizeof(want), "%s:2:10: unexpected token near '}'", p);
	tap_ok(r == -EINVAL && strcmp(e.msg, want) == 0, "file syntax error: FILE:LINE:COL");
	if (strcmp(e.msg, want) != 0)
		tap_diag("got '%s', expected '%s'", e.msg, want);
	jail_config_free(&c);
}

static void
test_files(void)
{
	struct jail_config c;
	struct jail_error e = {0};
	char want[PATH_MAX + 128];
	int r;

	jail_config_init(&c);
	r = jail_profile_load_file(&c, "/nonexistent/agentjail/x.json", &e);
	tap_ok(r == -ENOENT &&
		       strcmp(e.msg, "/nonexistent/agentjail/x.json: No such file or directory") ==
			       0,
	       "missing file: the error names the file");
	if (r != -ENOENT)
		tap_diag("got %d '%s'", r, e.msg);

	r = jail_profile_load(&c, "nonexistent.json", &e);
	tap_ok(r == -ENOENT && strcmp(e.msg, "nonexistent.json: No such file or directory") == 0,
	       "a NAME ending in .json is a file");

	r = jail_profile_load(&c, "./nonexistent", &e);
	tap_ok(r == -ENOENT && strcmp(e.msg, "./nonexistent: No such file or directory") == 0,
	       "a NAME containing '/' is a file");

	/* One byte over the cap. */
	size_t big = (1u << 20) + 1;
	char *text = malloc(big);
	memset(text, ' ', big);
	memcpy(text, "{\"format\": 1}", 13);
	const char *p = fixture("big.json", text, big);
	r = jail_profile_load_file(&c, p, &e);
	snprintf(want, sizeof(want),
		 "%s: 1048577 bytes, larger than the 1048576 bytes a profile may have", p);
	tap_ok(r == -EFBIG && strcmp(e.msg, want) == 0, "a file over 1 MiB is refused");
	if (r != -EFBIG || strcmp(e.msg, want) != 0)
		tap_diag("got %d '%s'", r, e.msg);
	/* Exactly 1 MiB (mostly whitespace) is fine. */
	p = fixture("big.json", text, big - 1);
	r = jail_profile_load_file(&c, p, &e);
	tap_ok(r == 0, "a file of exactly 1 MiB is read");
	if (r)
		tap_diag("got %d '%s'", r, e.msg);
	free(text);

	r = jail_profile_load_file(&c, tmpdir, &e);
	snprintf(want, sizeof(want), "%s: expected a regular file", tmpdir);
	tap_ok(r == -EINVAL && strcmp(e.msg, want) == 0, "a directory is refused");

	r = jail_profile_load(&c, "bad name!", &e);
	tap_ok(r == -EINVAL && strcmp(e.msg, "profile 'bad name!': expected a name of 1-64 "
					     "characters of [A-Za-z0-9._-], or a file name "
					     "(containing '/' or ending in .json)") == 0,
	       "a NAME with bad characters");
	if (r != -EINVAL)
		tap_diag("got %d '%s'", r, e.msg);
	r = jail_profile_load(&c, "", &e);
	tap_ok(r == -EINVAL && strstr(e.msg, "profile '': expected a name") == e.msg,
	       "an empty NAME");
	r = jail_profile_load(
		&c, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", &e);
	tap_ok(r == -EINVAL && strstr(e.msg, "expected a name of 1-64 characters"),
	       "a NAME of 65 characters");

	r = jail_profile_load(&c, "nosuchprofile", &e);
	tap_ok(r == -ENOENT &&
		       strcmp(e.msg, "profile 'nosuchprofile' not found (looked for " AJ_SYSCONFDIR
				     "/agentjail/profiles/nosuchprofile.json, " AJ_DATADIR
				     "/profiles/nosuchprofile.json, and the builtin profiles "
				     "default, minimal, python)") == 0,
	       "an unknown NAME lists where it looked");
	if (r != -ENOENT)
		tap_diag("got %d '%s'", r, e.msg);
	jail_config_free(&c);
}

static void
test_builtins(void)
{
	static const char *const names[] = {"default", "minimal", "python"};
	char origin[64];
	size_t len;

	for (size_t i = 0; i < 3; i++) {
		const char *text = jail_profile_builtin(names[i], &len);
		struct jail_config c;
		struct jail_error e = {0};

		tap_ok(text && len == strlen(text) && len > 100, "builtin %s is there", names[i]);
		if (!text)
			continue;
		jail_config_init(&c);
		snprintf(origin, sizeof(origin), "builtin:%s", names[i]);
		int r = jail_profile_load_buffer(&c, text, len, origin, &e);
		tap_ok(r == 0 && c.name && strcmp(c.name, names[i]) == 0,
		       "builtin %s loads and validates", names[i]);
		if (r)
			tap_diag("%s", e.msg);
		tap_ok(jail_config_validate(&c, 0, &e) == 0, "builtin %s: validator agrees",
		       names[i]);
		jail_config_free(&c);

		/* By NAME: an installed copy may win, but it is the same profile. */
		jail_config_init(&c);
		r = jail_profile_load(&c, names[i], &e);
		tap_ok(r == 0 && c.name && strcmp(c.name, names[i]) == 0, "profile '%s' by name",
		       names[i]);
		if (r)
			tap_diag("%s", e.msg);
		jail_config_free(&c);
	}
	tap_ok(jail_profile_builtin("nope", NULL) == NULL &&
		       jail_profile_builtin(NULL, NULL) == NULL,
	       "no builtin 'nope'");
}

static const char *
env_get(const struct jail_config *c, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < c->n_env; i++)
		if (strncmp(c->env[i], name, n) == 0 && c->env[i][n] == '=')
			return c->env[i] + n + 1;
	return NULL;
}

static int
streq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

static void
test_values_land(void)
{
	struct jail_config c;
	struct jail_error e = {0};
	size_t len;
	const char *text = jail_profile_builtin("default", &len);

	jail_config_init(&c);
	if (jail_profile_load_buffer(&c, text, len, "builtin:default", &e) < 0) {
		tap_ok(0, "default loads: %s", e.msg);
		return;
	}
	tap_ok(c.uid == 1000 && c.gid == 1000 && !c.rootfs && streq(c.hostname, "agentjail") &&
		       streq(c.cwd, "/workspace"),
	       "default: user, rootfs, hostname, cwd");
	tap_ok(c.tmp_size == 256ull << 20 && c.workspace_size == 512ull << 20 && !c.tmp_dir &&
		       !c.workspace_dir && c.proc && !c.dev_pts && !c.dev_tty &&
		       c.shm_size == 64ull << 20,
	       "default: tmp 256M, workspace 512M, proc, no pts, shm 64M");
	tap_ok(c.net == JAIL_NET_NONE && c.namespaces == JAIL_NS_DEFAULT,
	       "default: network none, default namespaces");
	tap_ok(c.cgroup.memory_max == 512ull << 20 && c.cgroup.pids_max == 256 &&
		       c.cgroup.cpu_ms_per_sec == 1000 && c.time_limit_ms == 600000 &&
		       !c.cgroup.require_cgroups,
	       "default: memory 512M, pids 256, cpu 1, time 600 s");
	tap_ok(c.rlimits[JAIL_RL_CORE].mode == JAIL_RLIMIT_VALUE &&
		       c.rlimits[JAIL_RL_CORE].value == 0 &&
		       c.rlimits[JAIL_RL_NOFILE].mode == JAIL_RLIMIT_VALUE &&
		       c.rlimits[JAIL_RL_NOFILE].value == 1024 &&
		       c.rlimits[JAIL_RL_NPROC].value == 256 &&
		       c.rlimits[JAIL_RL_AS].mode == JAIL_RLIMIT_INHERIT,
	       "default: rlimits core 0, nofile 1024, nproc 256, as inherited");
	tap_ok(c.seccomp.policy == JAIL_SECCOMP_POLICY_DEFAULT &&
		       c.seccomp.action == JAIL_SECCOMP_ACTION_ERRNO && c.seccomp.n_allow == 0,
	       "default: seccomp default/errno");
	tap_ok(streq(env_get(&c, "PATH"), "/usr/local/bin:/usr/bin:/bin") &&
		       streq(env_get(&c, "HOME"), "/workspace") && c.n_env == 3,
	       "default: environment");

	/* A second layer: named fields replace, env merges, the rest stays. */
	good(&c,
	     "{\"format\": 1, \"name\": \"layer\", \"env\": {\"HOME\": \"/tmp\", \"NEW\": \"1\"},"
	     " \"mounts\": [{\"type\": \"bind\", \"source\": \"/opt\", \"target\": \"/opt\", "
	     "\"optional\": true},"
	     " {\"type\": \"tmpfs\", \"target\": \"/scratch\", \"size\": \"1M\", \"mode\": "
	     "\"1777\"},"
	     " {\"type\": \"symlink\", \"source\": \"usr/bin\", \"target\": \"/xbin\"},"
	     " {\"type\": \"bind\", \"source\": \"/srv\", \"target\": \"/data\", \"readonly\": "
	     "false}],"
	     " \"tmp\": {\"host_dir\": \"/var/tmp/j\"}, \"limits\": {\"memory\": 1048576, \"cpu\": "
	     "0.25, \"rlimits\": {\"as\": \"1G\", \"stack\": \"soft\", \"cpu\": \"inf\", "
	     "\"fsize\": "
	     "4096, \"nofile\": \"hard\"}}}",
	     "a second profile over default");
	tap_ok(streq(c.name, "layer") && streq(env_get(&c, "HOME"), "/tmp") &&
		       streq(env_get(&c, "NEW"), "1") &&
		       streq(env_get(&c, "PATH"), "/usr/local/bin:/usr/bin:/bin") && c.n_env == 4,
	       "env is merged: HOME replaced, NEW added, PATH kept");
	tap_ok(c.n_mounts == 4, "four mounts");
	if (c.n_mounts == 4) {
		struct jail_mount *m = c.mounts;
		tap_ok(m[0].kind == JAIL_MOUNT_BIND && streq(m[0].source, "/opt") &&
			       streq(m[0].target, "/opt") && m[0].readonly && m[0].optional,
		       "mount 0: bind, readonly by default, optional");
		tap_ok(m[1].kind == JAIL_MOUNT_TMPFS && !m[1].source &&
			       streq(m[1].target, "/scratch") && m[1].size == 1048576 &&
			       m[1].mode == 01777 && !m[1].readonly,
		       "mount 1: tmpfs 1M mode 01777, writable");
		tap_ok(m[2].kind == JAIL_MOUNT_SYMLINK && streq(m[2].source, "usr/bin") &&
			       streq(m[2].target, "/xbin"),
		       "mount 2: symlink");
		tap_ok(m[3].kind == JAIL_MOUNT_BIND && !m[3].readonly && !m[3].optional,
		       "mount 3: writable bind");
	}
	tap_ok(streq(c.tmp_dir, "/var/tmp/j") && c.workspace_size == 512ull << 20,
	       "tmp host_dir set, workspace kept");
	tap_ok(c.cgroup.memory_max == 1048576 && c.cgroup.cpu_ms_per_sec == 250 &&
		       c.cgroup.pids_max == 256 && c.time_limit_ms == 600000,
	       "limits: memory and cpu replaced, pids and time kept");
	tap_ok(c.rlimits[JAIL_RL_AS].mode == JAIL_RLIMIT_VALUE &&
		       c.rlimits[JAIL_RL_AS].value == 1ull << 30 &&
		       c.rlimits[JAIL_RL_STACK].mode == JAIL_RLIMIT_SOFT &&
		       c.rlimits[JAIL_RL_CPU].mode == JAIL_RLIMIT_INF &&
		       c.rlimits[JAIL_RL_FSIZE].mode == JAIL_RLIMIT_VALUE &&
		       c.rlimits[JAIL_RL_FSIZE].value == 4096 &&
		       c.rlimits[JAIL_RL_NOFILE].mode == JAIL_RLIMIT_HARD &&
		       c.rlimits[JAIL_RL_NPROC].value == 256,
	       "rlimits: sizes, words, numbers; nproc kept");

	/* A third: mounts replaced (not appended), tmp back to a size. */
	good(&c,
	     "{\"format\": 1, \"mounts\": [{\"type\": \"tmpfs\", \"target\": \"/only\"}], \"tmp\": "
	     "{\"size\": 65536}, \"rootfs\": \"/srv/root\", \"namespaces\": {\"net\": false, "
	     "\"time\": true}, \"seccomp\": {\"syscalls\": {\"deny\": [\"ptrace\"]}}}",
	     "a third profile");
	tap_ok(c.n_mounts == 1 && streq(c.mounts[0].target, "/only") && c.mounts[0].mode == 0 &&
		       c.mounts[0].size == 0,
	       "mounts are replaced, not appended");
	tap_ok(!c.tmp_dir && c.tmp_size == 65536, "tmp size clears host_dir");
	tap_ok(streq(c.rootfs, "/srv/root"), "rootfs set");
	tap_ok(c.net == JAIL_NET_HOST && !(c.namespaces & JAIL_NS_NET) &&
		       (c.namespaces & JAIL_NS_TIME),
	       "namespaces.net false alone means the host network; time ns on");
	tap_ok(c.seccomp.n_deny == 1 && streq(c.seccomp.deny[0], "ptrace") &&
		       c.seccomp.policy == JAIL_SECCOMP_POLICY_DEFAULT,
	       "seccomp deny list set, policy kept");

	good(&c,
	     "{\"format\": 1, \"rootfs\": null, \"network\": {\"mode\": \"none\"}, \"seccomp\": "
	     "{\"syscalls\": {\"deny\": []}}, \"limits\": {\"cpu\": 0}}",
	     "a fourth profile");
	tap_ok(!c.rootfs && c.net == JAIL_NET_NONE && (c.namespaces & JAIL_NS_NET) &&
		       c.seccomp.n_deny == 0 && c.cgroup.cpu_ms_per_sec == 0,
	       "rootfs null, network none turns the namespace back on, deny list emptied, cpu 0");
	jail_config_free(&c);

	/* minimal and python. */
	text = jail_profile_builtin("minimal", &len);
	jail_config_init(&c);
	if (jail_profile_load_buffer(&c, text, len, "builtin:minimal", &e) == 0) {
		tap_ok(c.tmp_size == 64ull << 20 && c.workspace_size == 128ull << 20 &&
			       c.cgroup.memory_max == 256ull << 20 && c.cgroup.pids_max == 64 &&
			       c.cgroup.cpu_ms_per_sec == 500 && c.time_limit_ms == 60000 &&
			       c.seccomp.policy == JAIL_SECCOMP_POLICY_MINIMAL && !c.dev_pts,
		       "minimal: smaller limits, minimal seccomp, no pts");
	} else {
		tap_ok(0, "minimal loads: %s", e.msg);
	}
	jail_config_free(&c);

	text = jail_profile_builtin("python", &len);
	jail_config_init(&c);
	if (jail_profile_load_buffer(&c, text, len, "builtin:python", &e) == 0) {
		tap_ok(c.cgroup.memory_max == 1ull << 30 && c.cgroup.pids_max == 512 &&
			       c.cgroup.cpu_ms_per_sec == 2000 && c.time_limit_ms == 600000 &&
			       streq(env_get(&c, "PYTHONUNBUFFERED"), "1") &&
			       streq(env_get(&c, "PYTHONDONTWRITEBYTECODE"), "1"),
		       "python: 1G, 512 pids, 2 CPUs, python environment");
	} else {
		tap_ok(0, "python loads: %s", e.msg);
	}
	jail_config_free(&c);
}

/* --- agent runtimes (format 3) ------------------------------------------- */

#define AGENT_PATH_EXPECT                                                                          \
	"a path starting with '/', at most 256 bytes of printable ASCII without spaces"
#define FILE_NAME_EXPECT "1-64 characters of [A-Za-z0-9._-], other than '.' and '..'"
/* A format 3 profile with an entrypoint and what follows. */
#define AGENT(rest) "{\"format\": 3, \"entrypoint\": [\"agent\"], " rest "}"

static const struct jail_mount *
mount_at(const struct jail_config *c, const char *target)
{
	for (size_t i = 0; i < c->n_mounts; i++)
		if (streq(c->mounts[i].target, target))
			return &c->mounts[i];
	return NULL;
}

static size_t
mounts_under_tools(const struct jail_config *c)
{
	size_t n = 0;

	for (size_t i = 0; i < c->n_mounts; i++)
		n += strncmp(c->mounts[i].target, "/tools/", 7) == 0;
	return n;
}

static void
test_agent_values(void)
{
	struct jail_config c;
	struct jail_error e = {0};
	size_t len;
	const char *text;

	/* Every key, and the defaults of what is left out. */
	jail_config_init(&c);
	good(&c,
	     "{\"format\": 3, \"entrypoint\": [\"python3\", \"/agent/agent.py\", \"--port\", "
	     "\"8080\"],"
	     " \"ports\": [{\"name\": \"http\", \"port\": 8080},"
	     "  {\"name\": \"admin-1\", \"port\": 9090, \"path_prefix\": \"/admin/\", "
	     "\"protocol\": \"http\"}],"
	     " \"health\": {\"path\": \"/health?full=1\"},"
	     " \"tools\": [{\"name\": \"git\", \"source\": \"/opt/git\"}, {\"name\": "
	     "\"node-20.1\", "
	     "\"source\": \"/opt/node\"}],"
	     " \"secrets\": [{\"name\": \"api_key\"}, {\"name\": \"cert.pem\", \"required\": false,"
	     " \"max_bytes\": 100000}],"
	     " \"restart\": \"on-failure\"}",
	     "an agent profile with every key");
	tap_ok(c.agent_argc == 4 && c.agent_argv && streq(c.agent_argv[0], "python3") &&
		       streq(c.agent_argv[3], "8080") && c.agent_argv[4] == NULL,
	       "entrypoint: agent_argv, NULL-terminated");
	tap_ok(c.n_ports == 2 && streq(c.ports[0].name, "http") && c.ports[0].port == 8080 &&
		       streq(c.ports[0].path_prefix, "/") && streq(c.ports[1].name, "admin-1") &&
		       c.ports[1].port == 9090 && streq(c.ports[1].path_prefix, "/admin/"),
	       "ports: names, numbers, path_prefix given and by default \"/\"");
	tap_ok(c.health.set && streq(c.health.path, "/health?full=1") &&
		       streq(c.health.port, "http") && c.health.interval_s == 5 &&
		       c.health.timeout_s == 2 && c.health.start_period_s == 30,
	       "health: path; port the first port, interval 5, timeout 2, start period 30");
	tap_ok(c.n_tools == 2 && streq(c.tools[0].name, "git") &&
		       streq(c.tools[0].source, "/opt/git") &&
		       streq(c.tools[1].name, "node-20.1") && streq(c.tools[1].source, "/opt/node"),
	       "tools: names and sources");
	const struct jail_mount *m = mount_at(&c, "/tools/git");
	tap_ok(m && m->kind == JAIL_MOUNT_BIND && streq(m->source, "/opt/git") && m->readonly &&
		       !m->optional && mount_at(&c, "/tools/node-20.1") && c.n_mounts == 2,
	       "tools: a read-only bind mount each, at /tools/NAME");
	tap_ok(streq(env_get(&c, "PATH"), "/usr/local/bin:/usr/bin:/bin:/tools/git/bin:/tools/git:"
					  "/tools/node-20.1/bin:/tools/node-20.1"),
	       "tools: PATH is the default one, then /tools/NAME/bin:/tools/NAME for each");
	tap_ok(c.n_secrets == 2 && streq(c.secrets[0].name, "api_key") && c.secrets[0].required &&
		       c.secrets[0].max_bytes == 65536 && streq(c.secrets[1].name, "cert.pem") &&
		       !c.secrets[1].required && c.secrets[1].max_bytes == 100000,
	       "secrets: names; required true and max_bytes 65536 by default");
	tap_ok(jail_secrets_size(&c) == 65536 + 102400 + 65536,
	       "secrets: the tmpfs is each max_bytes in whole pages, plus 64 KiB");
	tap_ok(c.restart == JAIL_RESTART_ON_FAILURE && c.restart_max == 3,
	       "restart on-failure, restart_max 3 by default");
	tap_ok(jail_config_validate(&c, 0, &e) == 0, "... and the validator agrees");
	jail_config_free(&c);

	/* health with every key, restart_max, PATH from the profile's env. */
	jail_config_init(&c);
	good(&c,
	     AGENT("\"env\": {\"PATH\": \"/opt/bin:/bin\"}, \"ports\": [{\"name\": \"a\", "
		   "\"port\": 1}, {\"name\": \"b\", \"port\": 65535}], \"health\": {\"path\": "
		   "\"/\", \"port\": \"b\", \"interval_s\": 3600, \"timeout_s\": 600, "
		   "\"start_period_s\": 1}, \"tools\": [{\"name\": \"t\", \"source\": \"/t\"}], "
		   "\"restart\": \"never\", \"restart_max\": 0"),
	     "health with every key, ports at the bounds");
	tap_ok(streq(c.health.port, "b") && c.health.interval_s == 3600 &&
		       c.health.timeout_s == 600 && c.health.start_period_s == 1 &&
		       c.ports[1].port == 65535,
	       "health: port, interval, timeout, start period land in the config");
	tap_ok(c.restart == JAIL_RESTART_NEVER && c.restart_max == 0,
	       "restart never, restart_max 0");
	tap_ok(streq(env_get(&c, "PATH"), "/opt/bin:/bin:/tools/t/bin:/tools/t"),
	       "tools: PATH grows from the profile's env PATH");

	/* A second layer: tools replace tools (mounts and PATH), mounts
	 * replace mounts but not the tools'. */
	good(&c,
	     "{\"format\": 3, \"tools\": [{\"name\": \"u\", \"source\": \"/u\"}], \"mounts\": "
	     "[{\"type\": \"tmpfs\", \"target\": \"/scratch\"}]}",
	     "a second layer with tools and mounts");
	tap_ok(c.n_tools == 1 && streq(c.tools[0].name, "u") && !mount_at(&c, "/tools/t") &&
		       mount_at(&c, "/tools/u") && mount_at(&c, "/scratch") && c.n_mounts == 2,
	       "... the tools and their mounts are replaced");
	tap_ok(streq(env_get(&c, "PATH"), "/opt/bin:/bin:/tools/u/bin:/tools/u"),
	       "... and so is their part of PATH");
	good(&c, "{\"format\": 3, \"mounts\": []}", "a third layer with mounts only");
	tap_ok(c.n_mounts == 1 && mount_at(&c, "/tools/u"), "... keeps the tools' mounts");
	good(&c, "{\"format\": 3, \"tools\": []}", "a fourth layer with no tools");
	tap_ok(c.n_tools == 0 && c.n_mounts == 0 && streq(env_get(&c, "PATH"), "/opt/bin:/bin"),
	       "... no tools, no tool mounts, PATH as env gave it");
	jail_config_free(&c);

	/* Without the keys of format 3 nothing changes. */
	text = jail_profile_builtin("default", &len);
	jail_config_init(&c);
	if (jail_profile_load_buffer(&c, text, len, "builtin:default", &e) == 0) {
		tap_ok(c.agent_argc == 0 && !c.agent_argv && c.n_ports == 0 && !c.health.set &&
			       c.n_tools == 0 && c.n_secrets == 0 && mounts_under_tools(&c) == 0 &&
			       c.restart == JAIL_RESTART_NEVER && c.restart_max == 3 &&
			       jail_secrets_size(&c) == 0,
		       "default: no agent, ports, health, tools or secrets");
		tap_ok(streq(env_get(&c, "PATH"), "/usr/local/bin:/usr/bin:/bin"),
		       "default: PATH unchanged");
	} else {
		tap_ok(0, "default loads: %s", e.msg);
	}
	jail_config_free(&c);

	/* Limits: 256 arguments, 8 ports, 16 tools, 16 secrets of 1 MiB. */
	struct buf b;
	buf_open(&b);
	fprintf(b.f, "{\"format\": 3, \"entrypoint\": [");
	for (int i = 0; i < 256; i++)
		fprintf(b.f, "%s\"a%d\"", i ? ", " : "", i);
	fprintf(b.f, "], \"ports\": [");
	for (int i = 0; i < 8; i++)
		fprintf(b.f, "%s{\"name\": \"p%d\", \"port\": %d}", i ? ", " : "", i, 8000 + i);
	fprintf(b.f, "], \"tools\": [");
	for (int i = 0; i < 16; i++)
		fprintf(b.f, "%s{\"name\": \"t%d\", \"source\": \"/opt/t%d\"}", i ? ", " : "", i,
			i);
	fprintf(b.f, "], \"secrets\": [");
	for (int i = 0; i < 16; i++)
		fprintf(b.f, "%s{\"name\": \"s%d\", \"max_bytes\": 1048576}", i ? ", " : "", i);
	fprintf(b.f, "]}");
	char *t = buf_close(&b);
	jail_config_init(&c);
	good(&c, t, "256 arguments, 8 ports, 16 tools, 16 secrets of 1 MiB");
	tap_ok(c.agent_argc == 256 && c.n_ports == 8 && c.n_tools == 16 && c.n_secrets == 16 &&
		       mounts_under_tools(&c) == 16 &&
		       jail_secrets_size(&c) == 16ull * 1048576 + 65536,
	       "... all there; the secrets tmpfs is 16 MiB + 64 KiB");
	jail_config_free(&c);
	free(t);
}

static void
test_agent_errors(void)
{
	/* Each key of format 3 in an older profile: the format it needs. */
	static const char *const keys[] = {"entrypoint", "ports",   "health",	  "tools",
					   "secrets",	 "restart", "restart_max"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char text[128], want[160];

		snprintf(text, sizeof(text), "{\"format\": 2, \"%s\": []}", keys[i]);
		snprintf(want, sizeof(want),
			 "bad.json: $.%s: a key of profile format 3 (this profile says \"format\": "
			 "2)",
			 keys[i]);
		bad(text, want, keys[i]);
	}
	bad("{\"format\": 1, \"pool\": {}, \"tools\": []}",
	    "bad.json: $.pool: a key of profile format 2 (this profile says \"format\": 1)",
	    "format 1 with keys of 2 and 3: the first named");

	/* entrypoint */
	bad("{\"format\": 3, \"entrypoint\": []}",
	    "bad.json: $.entrypoint: expected an array of 1 to 256 strings (the agent's program "
	    "and "
	    "its arguments), got an empty array",
	    "an empty entrypoint");
	bad("{\"format\": 3, \"entrypoint\": \"python3 agent.py\"}",
	    "bad.json: $.entrypoint: expected an array, got a string", "entrypoint as a string");
	bad("{\"format\": 3, \"entrypoint\": [\"python3\", 1]}",
	    "bad.json: $.entrypoint[1]: expected a string, got an integer",
	    "an entrypoint argument as a number");
	bad("{\"format\": 3, \"entrypoint\": [\"python3\", \"\"]}",
	    "bad.json: $.entrypoint[1]: expected a non-empty string", "an empty argument");
	bad("{\"format\": 3, \"entrypoint\": [\"a\\u0000b\"]}",
	    "bad.json:1:39: \\u0000 is not allowed without JSON_ALLOW_NUL near '\"a\\u0000b\"'",
	    "a NUL in an argument");
	struct buf b;
	buf_open(&b);
	fprintf(b.f, "{\"format\": 3, \"entrypoint\": [");
	for (int i = 0; i < 257; i++)
		fprintf(b.f, "%s\"a\"", i ? ", " : "");
	fprintf(b.f, "]}");
	char *t = buf_close(&b);
	bad(t, "bad.json: $.entrypoint: expected an array of at most 256 items, got 257 items",
	    "257 arguments");
	free(t);

	/* ports */
	bad("{\"format\": 3, \"ports\": [{\"name\": \"http\", \"port\": 8080}]}",
	    "bad.json: $.ports: needs an \"entrypoint\" (the agent program that listens on them)",
	    "ports without an entrypoint");
	bad(AGENT("\"ports\": [{\"name\": \"HTTP\", \"port\": 8080}]"),
	    "bad.json: $.ports[0].name: expected 1-32 characters of [a-z0-9_-], got 'HTTP'",
	    "a port name in capitals");
	bad(AGENT("\"ports\": [{\"name\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\", \"port\": 1}]"),
	    "bad.json: $.ports[0].name: expected a string of at most 32 bytes, got 33 bytes",
	    "a port name of 33 bytes");
	bad(AGENT("\"ports\": [{\"name\": \"\", \"port\": 1}]"),
	    "bad.json: $.ports[0].name: expected 1-32 characters of [a-z0-9_-], got ''",
	    "an empty port name");
	bad(AGENT("\"ports\": [{\"port\": 8080}]"),
	    "bad.json: $.ports[0]: missing key 'name' (expected 1-32 characters of [a-z0-9_-])",
	    "a port without a name");
	bad(AGENT("\"ports\": [{\"name\": \"http\"}]"),
	    "bad.json: $.ports[0]: missing key 'port' (expected an integer between 1 and 65535)",
	    "a port without a number");
	bad(AGENT("\"ports\": [{\"name\": \"http\", \"port\": 0}]"),
	    "bad.json: $.ports[0].port: expected an integer between 1 and 65535, got 0", "port 0");
	bad(AGENT("\"ports\": [{\"name\": \"http\", \"port\": 65536}]"),
	    "bad.json: $.ports[0].port: expected an integer between 1 and 65535, got 65536",
	    "port 65536");
	bad(AGENT("\"ports\": [{\"name\": \"http\", \"port\": \"8080\"}]"),
	    "bad.json: $.ports[0].port: expected an integer, got a string", "port as a string");
	bad(AGENT("\"ports\": [{\"name\": \"a\", \"port\": 8080}, {\"name\": \"a\", \"port\": "
		  "8081}]"),
	    "bad.json: $.ports[1].name: 'a' is also the name of $.ports[0] (expected unique names)",
	    "two ports of one name");
	bad(AGENT("\"ports\": [{\"name\": \"a\", \"port\": 8080}, {\"name\": \"b\", \"port\": "
		  "8081}, "
		  "{\"name\": \"c\", \"port\": 8080}]"),
	    "bad.json: $.ports[2].port: 8080 is also the port of $.ports[0] (expected unique "
	    "ports)",
	    "two ports of one number");
	bad(AGENT("\"ports\": [{\"name\": \"a\", \"port\": 1, \"path_prefix\": \"api\"}]"),
	    "bad.json: $.ports[0].path_prefix: expected " AGENT_PATH_EXPECT
	    " and without '..', got "
	    "'api'",
	    "a path_prefix without '/'");
	bad(AGENT("\"ports\": [{\"name\": \"a\", \"port\": 1, \"path_prefix\": \"/a/../b\"}]"),
	    "bad.json: $.ports[0].path_prefix: expected " AGENT_PATH_EXPECT
	    " and without '..', got "
	    "'/a/../b'",
	    "a path_prefix with '..'");
	bad(AGENT("\"ports\": [{\"name\": \"a\", \"port\": 1, \"path_prefix\": \"/a b\"}]"),
	    "bad.json: $.ports[0].path_prefix: expected " AGENT_PATH_EXPECT
	    " and without '..', got "
	    "'/a b'",
	    "a path_prefix with a space");
	bad(AGENT("\"ports\": [{\"name\": \"a\", \"port\": 1, \"path_prefix\": \"/\\u00e9\"}]"),
	    "bad.json: $.ports[0].path_prefix: expected " AGENT_PATH_EXPECT
	    " and without '..', got "
	    "'/\xc3\xa9'",
	    "a path_prefix beyond ASCII");
	bad(AGENT("\"ports\": [{\"name\": \"a\", \"port\": 1, \"protocol\": \"https\"}]"),
	    "bad.json: $.ports[0].protocol: expected one of: http; got 'https'", "protocol https");
	bad(AGENT("\"ports\": [{\"name\": \"a\", \"port\": 1, \"host\": \"0.0.0.0\"}]"),
	    "bad.json: $.ports[0]: unknown key 'host' (expected one of: name, port, path_prefix, "
	    "protocol)",
	    "an unknown key in a port");
	buf_open(&b);
	fprintf(b.f, "{\"format\": 3, \"entrypoint\": [\"a\"], \"ports\": [");
	for (int i = 0; i < 9; i++)
		fprintf(b.f, "%s{\"name\": \"p%d\", \"port\": %d}", i ? ", " : "", i, 8000 + i);
	fprintf(b.f, "]}");
	t = buf_close(&b);
	bad(t, "bad.json: $.ports: expected an array of at most 8 items, got 9 items", "9 ports");
	free(t);

	/* health */
	bad(AGENT("\"health\": {\"path\": \"/health\"}"),
	    "bad.json: $.health: needs \"ports\" (a health check is an HTTP request to one of "
	    "them)",
	    "health without ports");
	bad("{\"format\": 3, \"health\": {\"path\": \"/health\"}}",
	    "bad.json: $.health: needs \"ports\" (a health check is an HTTP request to one of "
	    "them)",
	    "health without ports or an entrypoint");
	bad(AGENT("\"ports\": [{\"name\": \"a\", \"port\": 1}], \"health\": {}"),
	    "bad.json: $.health: missing key 'path' (expected " AGENT_PATH_EXPECT ")",
	    "health without a path");
	bad(AGENT("\"ports\": [{\"name\": \"a\", \"port\": 1}], \"health\": {\"path\": "
		  "\"health\"}"),
	    "bad.json: $.health.path: expected " AGENT_PATH_EXPECT ", got 'health'",
	    "a relative health path");
	bad(AGENT("\"ports\": [{\"name\": \"http\", \"port\": 1}, {\"name\": \"metrics\", "
		  "\"port\": "
		  "2}], \"health\": {\"path\": \"/h\", \"port\": \"admin\"}"),
	    "bad.json: $.health.port: 'admin' is not one of the ports (expected one of: http, "
	    "metrics)",
	    "health.port naming no port");
	bad(AGENT("\"ports\": [{\"name\": \"a\", \"port\": 1}], \"health\": {\"path\": \"/h\", "
		  "\"port\": 1}"),
	    "bad.json: $.health.port: expected a string, got an integer",
	    "health.port as a number");
	bad(AGENT("\"ports\": [{\"name\": \"a\", \"port\": 1}], \"health\": {\"path\": \"/h\", "
		  "\"interval_s\": 0}"),
	    "bad.json: $.health.interval_s: expected an integer between 1 and 3600, got 0",
	    "interval 0");
	bad(AGENT("\"ports\": [{\"name\": \"a\", \"port\": 1}], \"health\": {\"path\": \"/h\", "
		  "\"timeout_s\": 601}"),
	    "bad.json: $.health.timeout_s: expected an integer between 1 and 600, got 601",
	    "timeout over 600");
	bad(AGENT("\"ports\": [{\"name\": \"a\", \"port\": 1}], \"health\": {\"path\": \"/h\", "
		  "\"start_period_s\": 3601}"),
	    "bad.json: $.health.start_period_s: expected an integer between 1 and 3600, got 3601",
	    "start period over 3600");
	bad(AGENT("\"ports\": [{\"name\": \"a\", \"port\": 1}], \"health\": {\"path\": \"/h\", "
		  "\"retries\": 3}"),
	    "bad.json: $.health: unknown key 'retries' (expected one of: path, port, interval_s, "
	    "timeout_s, start_period_s)",
	    "an unknown key in health");

	/* tools */
	bad("{\"format\": 3, \"tools\": [{\"name\": \"a/b\", \"source\": \"/opt/a\"}]}",
	    "bad.json: $.tools[0].name: expected " FILE_NAME_EXPECT ", got 'a/b'",
	    "a tool name with '/'");
	bad("{\"format\": 3, \"tools\": [{\"name\": \"..\", \"source\": \"/opt/a\"}]}",
	    "bad.json: $.tools[0].name: expected " FILE_NAME_EXPECT ", got '..'",
	    "a tool named '..'");
	bad("{\"format\": 3, \"tools\": [{\"name\": \"git\", \"source\": \"opt/git\"}]}",
	    "bad.json: $.tools[0].source: " PATH_EXPECT ", got 'opt/git'",
	    "a relative tool source");
	bad("{\"format\": 3, \"tools\": [{\"name\": \"git\", \"source\": \"/opt/../git\"}]}",
	    "bad.json: $.tools[0].source: expected an absolute path without '.', '..' or '//' "
	    "components (and not /), got '/opt/../git'",
	    "a tool source with '..'");
	bad("{\"format\": 3, \"tools\": [{\"name\": \"git\", \"source\": \"/\"}]}",
	    "bad.json: $.tools[0].source: expected an absolute path without '.', '..' or '//' "
	    "components (and not /), got '/'",
	    "the host's root as a tool");
	bad("{\"format\": 3, \"tools\": [{\"name\": \"git\"}]}",
	    "bad.json: $.tools[0]: missing key 'source' (expected an absolute path on the host)",
	    "a tool without a source");
	bad("{\"format\": 3, \"tools\": [{\"source\": \"/opt/git\"}]}",
	    "bad.json: $.tools[0]: missing key 'name' (expected " FILE_NAME_EXPECT ")",
	    "a tool without a name");
	bad("{\"format\": 3, \"tools\": [{\"name\": \"git\", \"source\": \"/a\"}, {\"name\": "
	    "\"git\", \"source\": \"/b\"}]}",
	    "bad.json: $.tools[1].name: 'git' is also the name of $.tools[0] (expected unique "
	    "names)",
	    "two tools of one name");
	bad("{\"format\": 3, \"mounts\": [{\"type\": \"tmpfs\", \"target\": \"/tools/x\"}], "
	    "\"tools\": [{\"name\": \"git\", \"source\": \"/a\"}]}",
	    "bad.json: mount 1: target '/tools/x' is under /tools, which the \"tools\" key manages "
	    "(expected a path outside /tools)",
	    "a mount under /tools beside tools");
	bad("{\"format\": 3, \"mounts\": [{\"type\": \"bind\", \"source\": \"/b\", \"target\": "
	    "\"/tools/git\"}], \"tools\": [{\"name\": \"git\", \"source\": \"/a\"}]}",
	    "bad.json: mount 1: target '/tools/git' is under /tools, which the \"tools\" key "
	    "manages (expected a path outside /tools)",
	    "a mount on a tool's own target");
	struct jail_config c;
	jail_config_init(&c);
	good(&c, "{\"format\": 3, \"mounts\": [{\"type\": \"tmpfs\", \"target\": \"/tools\"}]}",
	     "a mount at /tools without tools is as before");
	jail_config_free(&c);
	buf_open(&b);
	fprintf(b.f, "{\"format\": 3, \"tools\": [");
	for (int i = 0; i < 17; i++)
		fprintf(b.f, "%s{\"name\": \"t%d\", \"source\": \"/t\"}", i ? ", " : "", i);
	fprintf(b.f, "]}");
	t = buf_close(&b);
	bad(t, "bad.json: $.tools: expected an array of at most 16 items, got 17 items",
	    "17 tools");
	free(t);

	/* secrets */
	bad("{\"format\": 3, \"secrets\": [{\"name\": \"api key\"}]}",
	    "bad.json: $.secrets[0].name: expected " FILE_NAME_EXPECT ", got 'api key'",
	    "a secret name with a space");
	bad("{\"format\": 3, \"secrets\": [{\"name\": \".\"}]}",
	    "bad.json: $.secrets[0].name: expected " FILE_NAME_EXPECT ", got '.'",
	    "a secret named '.'");
	bad("{\"format\": 3, \"secrets\": [{\"required\": true}]}",
	    "bad.json: $.secrets[0]: missing key 'name' (expected " FILE_NAME_EXPECT ")",
	    "a secret without a name");
	bad("{\"format\": 3, \"secrets\": [{\"name\": \"a\"}, {\"name\": \"b\"}, {\"name\": "
	    "\"a\"}]}",
	    "bad.json: $.secrets[2].name: 'a' is also the name of $.secrets[0] (expected unique "
	    "names)",
	    "two secrets of one name");
	bad("{\"format\": 3, \"secrets\": [{\"name\": \"a\", \"max_bytes\": 0}]}",
	    "bad.json: $.secrets[0].max_bytes: expected an integer between 1 and 1048576, got 0",
	    "max_bytes 0");
	bad("{\"format\": 3, \"secrets\": [{\"name\": \"a\", \"max_bytes\": 1048577}]}",
	    "bad.json: $.secrets[0].max_bytes: expected an integer between 1 and 1048576, got "
	    "1048577",
	    "max_bytes over 1 MiB");
	bad("{\"format\": 3, \"secrets\": [{\"name\": \"a\", \"required\": \"yes\"}]}",
	    "bad.json: $.secrets[0].required: expected a boolean (true or false), got a string",
	    "required as a string");
	bad("{\"format\": 3, \"secrets\": [\"api_key\"]}",
	    "bad.json: $.secrets[0]: expected an object, got a string", "a secret as a string");
	bad("{\"format\": 3, \"mounts\": [{\"type\": \"tmpfs\", \"target\": \"/run/secrets\"}], "
	    "\"secrets\": [{\"name\": \"a\"}]}",
	    "bad.json: mount 1: target '/run/secrets' is under /run/secrets, which the \"secrets\" "
	    "key manages (expected a path outside /run/secrets)",
	    "a mount at /run/secrets beside secrets");
	buf_open(&b);
	fprintf(b.f, "{\"format\": 3, \"secrets\": [");
	for (int i = 0; i < 17; i++)
		fprintf(b.f, "%s{\"name\": \"s%d\"}", i ? ", " : "", i);
	fprintf(b.f, "]}");
	t = buf_close(&b);
	bad(t, "bad.json: $.secrets: expected an array of at most 16 items, got 17 items",
	    "17 secrets");
	free(t);

	/* restart */
	bad(AGENT("\"restart\": \"always\""),
	    "bad.json: $.restart: expected one of: never, on-failure; got 'always'",
	    "restart always");
	bad(AGENT("\"restart_max\": 101"),
	    "bad.json: $.restart_max: expected an integer between 0 and 100, got 101",
	    "restart_max over 100");
	bad("{\"format\": 3, \"restart\": \"on-failure\"}",
	    "bad.json: $.restart: needs an \"entrypoint\" (the agent program it restarts)",
	    "restart without an entrypoint");
	bad("{\"format\": 3, \"restart\": \"never\"}",
	    "bad.json: $.restart: needs an \"entrypoint\" (the agent program it restarts)",
	    "restart never without an entrypoint too");
	bad("{\"format\": 3, \"restart_max\": 5}",
	    "bad.json: $.restart_max: needs an \"entrypoint\" (the agent program it restarts)",
	    "restart_max without an entrypoint");
}

/* Configs made without a profile (as agentjaild's API may) meet the same
 * validator. */
static void
test_agent_validator(void)
{
	struct jail_config c;
	struct jail_error e = {0};
	char *argv[] = {"agent", NULL};

#define VALIDATE_FAILS(want, what)                                                                 \
	do {                                                                                       \
		int _r = jail_config_validate(&c, 0, &e);                                          \
		tap_ok(_r == -EINVAL && streq(e.msg, want), "validator: %s", what);                \
		if (_r != -EINVAL || !streq(e.msg, want))                                          \
			tap_diag("got %d '%s'", _r, e.msg);                                        \
	} while (0)

	jail_config_init(&c);
	c.n_ports = 1;
	snprintf(c.ports[0].name, sizeof(c.ports[0].name), "http");
	c.ports[0].port = 80;
	snprintf(c.ports[0].path_prefix, sizeof(c.ports[0].path_prefix), "/");
	VALIDATE_FAILS("$.ports: needs an \"entrypoint\" (the agent program that listens on them)",
		       "ports without an entrypoint");
	tap_ok(jail_config_set_agent_argv(&c, argv, 1, &e) == 0 &&
		       jail_config_validate(&c, 0, &e) == 0,
	       "validator: with an entrypoint they pass");
	c.ports[0].port = 0;
	VALIDATE_FAILS("$.ports[0].port: expected an integer between 1 and 65535, got 0", "port 0");
	c.ports[0].port = 80;
	c.ports[0].path_prefix[0] = '\0';
	VALIDATE_FAILS("$.ports[0].path_prefix: expected " AGENT_PATH_EXPECT " and without '..', "
		       "got ''",
		       "an empty path_prefix");
	c.ports[0].path_prefix[0] = '/';
	c.health.set = true;
	snprintf(c.health.path, sizeof(c.health.path), "/health");
	VALIDATE_FAILS("$.health.port: '' is not one of the ports (expected one of: http)",
		       "health without a port name");
	snprintf(c.health.port, sizeof(c.health.port), "http");
	c.health.interval_s = 0;
	VALIDATE_FAILS("$.health.interval_s: expected an integer between 1 and 3600, got 0",
		       "health interval 0");
	c.health.interval_s = 5;
	tap_ok(jail_config_validate(&c, 0, &e) == 0, "validator: a full health check passes");
	c.restart = JAIL_RESTART_ON_FAILURE;
	c.restart_max = 101;
	VALIDATE_FAILS("$.restart_max: expected an integer between 0 and 100, got 101",
		       "restart_max 101");
	c.restart_max = 3;
	tap_ok(jail_config_set_agent_argv(&c, NULL, 0, &e) == 0 && !c.agent_argv &&
		       c.agent_argc == 0,
	       "set_agent_argv with no arguments clears the entrypoint");
	c.n_ports = 0;
	c.health.set = false;
	VALIDATE_FAILS("$.restart: needs an \"entrypoint\" (the agent program it restarts)",
		       "restart on-failure without an entrypoint");
	c.restart = JAIL_RESTART_NEVER;

	/* Tools go through jail_config_add_tool, which refuses what the
	 * validator would. */
	tap_ok(jail_config_add_tool(&c, "../x", "/opt/x", &e) == -EINVAL &&
		       streq(e.msg, "tool name '../x': expected " FILE_NAME_EXPECT),
	       "add_tool: a bad name");
	tap_ok(jail_config_add_tool(&c, "x", "/opt//x", &e) == -EINVAL &&
		       streq(e.msg, "tool 'x': source '/opt//x': expected an absolute path without "
				    "'.', '..' or '//' components, at most 4095 bytes"),
	       "add_tool: a source not normalized");
	tap_ok(c.n_tools == 0 && c.n_mounts == 0 && c.n_env == 0,
	       "add_tool: a refusal changes nothing");
	tap_ok(jail_config_add_tool(&c, "x", "/opt/x", &e) == 0 && c.n_tools == 1 &&
		       c.n_mounts == 1 &&
		       streq(env_get(&c, "PATH"), "/usr/local/bin:/usr/bin:/bin:"
						  "/tools/x/bin:/tools/x") &&
		       jail_config_validate(&c, 0, &e) == 0,
	       "add_tool: mount, PATH, and the validator agrees");
	c.mounts[0].readonly = false;
	VALIDATE_FAILS("mount 1: target '/tools/x' is under /tools, which the \"tools\" key "
		       "manages (expected a path outside /tools)",
		       "a tool's mount made writable is not the tool's");
	c.mounts[0].readonly = true;
	c.n_mounts = 0;
	VALIDATE_FAILS("$.tools[0]: no read-only bind mount of '/opt/x' at /tools/x (expected the "
		       "mount jail_config_add_tool() makes)",
		       "a tool without its mount");
	c.n_mounts = 1;
	jail_config_clear_tools(&c);
	tap_ok(c.n_tools == 0 && c.n_mounts == 0 &&
		       streq(env_get(&c, "PATH"), "/usr/local/bin:/usr/bin:/bin"),
	       "clear_tools: mount and PATH undone");

	c.n_secrets = 2;
	snprintf(c.secrets[0].name, sizeof(c.secrets[0].name), "a");
	c.secrets[0].max_bytes = 1;
	snprintf(c.secrets[1].name, sizeof(c.secrets[1].name), "..");
	c.secrets[1].max_bytes = 1;
	VALIDATE_FAILS("$.secrets[1].name: expected " FILE_NAME_EXPECT ", got '..'",
		       "a secret named '..'");
	snprintf(c.secrets[1].name, sizeof(c.secrets[1].name), "b");
	c.secrets[1].max_bytes = 0;
	VALIDATE_FAILS("$.secrets[1].max_bytes: expected an integer between 1 and 1048576, got 0",
		       "a secret of 0 bytes");
	c.secrets[1].max_bytes = 1;
	tap_ok(jail_config_validate(&c, 0, &e) == 0 && jail_secrets_size(&c) == 2 * 4096 + 65536,
	       "validator: secrets pass; one page each plus 64 KiB");
	jail_config_free(&c);
#undef VALIDATE_FAILS
}

static void
test_seccomp_file(void)
{
	struct jail_config c;
	struct jail_error e = {0};
	char want[PATH_MAX + 256];
	const char *text = "{\"policy\": \"empty\", \"action\": \"kill\", \"syscalls\": "
			   "{\"allow\": [\"read\", \"write\", \"exit_group\"], \"deny\": "
			   "[\"write\"]}}";
	const char *p = fixture("seccomp.json", text, strlen(text));

	jail_config_init(&c);
	int r = jail_seccomp_load_file(&c.seccomp, p, &e);
	tap_ok(r == 0 && c.seccomp.policy == JAIL_SECCOMP_POLICY_EMPTY &&
		       c.seccomp.action == JAIL_SECCOMP_ACTION_KILL && c.seccomp.n_allow == 3 &&
		       streq(c.seccomp.allow[2], "exit_group") && c.seccomp.n_deny == 1 &&
		       streq(c.seccomp.deny[0], "write"),
	       "seccomp file loads");
	if (r)
		tap_diag("%s", e.msg);
	tap_ok(jail_config_validate(&c, 0, &e) == 0, "... and the config validates");
	jail_config_free(&c);

	text = "{\"format\": 1, \"policy\": \"default\"}";
	p = fixture("seccomp-bad.json", text, strlen(text));
	jail_config_init(&c);
	r = jail_seccomp_load_file(&c.seccomp, p, &e);
	snprintf(want, sizeof(want),
		 "%s: $: unknown key 'format' (expected one of: policy, action, syscalls)", p);
	tap_ok(r == -EINVAL && strcmp(e.msg, want) == 0, "seccomp file: only the seccomp keys");
	if (strcmp(e.msg, want) != 0)
		tap_diag("got '%s'", e.msg);

	text = "{\"action\": \"log\",\n \"action\": \"kill\"}";
	p = fixture("seccomp-dup.json", text, strlen(text));
	r = jail_seccomp_load_file(&c.seccomp, p, &e);
	snprintf(want, sizeof(want), "%s:2:9: $: duplicate key 'action' (each key may appear once)",
		 p);
	tap_ok(r == -EINVAL && strcmp(e.msg, want) == 0, "seccomp file: duplicate key");
	if (strcmp(e.msg, want) != 0)
		tap_diag("got '%s'", e.msg);

	r = jail_seccomp_load_file(&c.seccomp, "/nonexistent/seccomp.json", &e);
	tap_ok(r == -ENOENT &&
		       strcmp(e.msg, "/nonexistent/seccomp.json: No such file or directory") == 0,
	       "seccomp file: missing file named");
	jail_config_free(&c);
}

static void
cleanup(void)
{
	static const char *const files[] = {"types.json",   "syntax.json",	"big.json",
					    "seccomp.json", "seccomp-bad.json", "seccomp-dup.json"};
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
	test_unknown_keys();
	test_duplicates();
	test_types();
	test_lengths();
	test_counts();
	test_values();
	test_document();
	test_files();
	test_builtins();
	test_values_land();
	test_agent_values();
	test_agent_errors();
	test_agent_validator();
	test_seccomp_file();
	cleanup();
	return tap_done();
}
