/* SPDX-License-Identifier: Apache-2.0 */
/* jail_config_validate(): every rule, with the message a user would see. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "jail.h"
#include "tap.h"

static struct jail_config c;
static struct jail_error e;

static void
fresh(void)
{
	jail_config_free(&c);
	jail_config_init(&c);
	char *argv[] = {"true"};
	jail_config_set_argv(&c, argv, 1, &e);
	memset(&e, 0, sizeof(e));
}

/* Expect validation to fail with a message containing `needle`. */
static void
rejects(const char *needle, const char *what)
{
	int r = jail_config_validate(&c, JAIL_VALIDATE_RUN, &e);
	tap_ok(r < 0 && e.err > 0 && strstr(e.msg, needle), "rejects %s", what);
	if (!(r < 0 && strstr(e.msg, needle)))
		tap_diag("r=%d msg='%s' expected '%s'", r, e.msg, needle);
}

int
main(void)
{
	jail_config_init(&c);
	tap_ok(jail_config_validate(&c, 0, &e) == 0, "defaults are valid (without a command)");
	rejects("no command given", "a run without a command");
	fresh();
	tap_ok(jail_config_validate(&c, JAIL_VALIDATE_RUN, &e) == 0, "defaults with a command");

	fresh();
	c.uid = 0;
	rejects("uid/gid 0 inside the jail is refused", "uid 0 inside");
	fresh();
	c.host_uid = 0;
	c.host_gid = 0;
	rejects("host uid/gid 0 is refused", "host uid 0");
	fresh();
	c.host_gid = 5000000;
	rejects("a host gid needs a host uid", "a host gid without a host uid");
	fresh();
	c.host_id_min = 10;
	c.host_id_max = 5;
	rejects("host id range 10-5", "an empty host id range");

	fresh();
	jail_config_set_string(&c.rootfs, "relative/dir", &e);
	rejects("rootfs 'relative/dir'", "a relative rootfs");
	fresh();
	jail_config_add_mount(&c, JAIL_MOUNT_BIND, "/usr", "/a/../b", true, 0, &e);
	rejects("target '/a/../b'", "a target with ..");
	fresh();
	jail_config_add_mount(&c, JAIL_MOUNT_BIND, "/usr", "/a//b", true, 0, &e);
	rejects("target '/a//b'", "a target with //");
	fresh();
	jail_config_add_mount(&c, JAIL_MOUNT_BIND, "/usr", "/proc/x", true, 0, &e);
	rejects("managed by agentjail itself", "a mount under /proc");
	fresh();
	jail_config_add_mount(&c, JAIL_MOUNT_BIND, "/usr", "/workspace", true, 0, &e);
	rejects("managed by agentjail itself", "a mount on /workspace");
	fresh();
	jail_config_add_mount(&c, JAIL_MOUNT_BIND, "/usr", "/workspace/src", true, 0, &e);
	tap_ok(jail_config_validate(&c, JAIL_VALIDATE_RUN, &e) == 0,
	       "a mount below /workspace is fine");
	fresh();
	jail_config_add_mount(&c, JAIL_MOUNT_SYMLINK, "", "/x", false, 0, &e);
	rejects("non-empty link content", "an empty symlink");
	fresh();
	jail_config_add_mount(&c, JAIL_MOUNT_TMPFS, NULL, "/x", false, 0, &e);
	c.mounts[0].mode = 010000;
	rejects("tmpfs mode", "a tmpfs mode beyond 07777");

	fresh();
	jail_config_set_string(&c.hostname, "has space", &e);
	rejects("hostname 'has space'", "a bad hostname");
	fresh();
	c.namespaces &= ~(unsigned)JAIL_NS_UTS;
	jail_config_set_string(&c.hostname, "x", &e);
	rejects("needs a UTS namespace", "a hostname without a UTS namespace");
	fresh();
	c.namespaces &= ~(unsigned)JAIL_NS_PID;
	rejects("needs the jail's own pid namespace", "/proc without a pid namespace (userns)");
	c.proc = false;
	tap_ok(jail_config_validate(&c, JAIL_VALIDATE_RUN, &e) == 0,
	       "... fine with --disable_proc");
	fresh();
	c.namespaces &= ~(unsigned)JAIL_NS_NET;
	rejects("network mode 'none' needs a network namespace", "net none without a netns");
	fresh();
	c.namespaces &= ~(unsigned)JAIL_NS_MOUNT;
	jail_config_add_mount(&c, JAIL_MOUNT_TMPFS, NULL, "/x", false, 0, &e);
	rejects("need a mount namespace", "mounts without a mount namespace");
	fresh();
	jail_config_set_string(&c.cwd, "rel", &e);
	rejects("cwd 'rel'", "a relative cwd");
	fresh();
	c.tmp_size = 0;
	rejects("expected more than 0 bytes", "a zero-sized /tmp");
	fresh();
	c.time_limit_ms = 400ull * 24 * 3600 * 1000;
	rejects("time limit", "a time limit over a year");
	fresh();
	jail_config_add_syscall(&c.seccomp, false, "not_a_syscall", &e);
	rejects("unknown syscall 'not_a_syscall'", "an unknown syscall name");

	/* Builders. */
	fresh();
	tap_ok(jail_config_set_env(&c, "NOEQUALS", &e) < 0 && strstr(e.msg, "NAME=value"),
	       "set_env refuses an entry without '='");
	jail_config_set_env(&c, "A=1", &e);
	jail_config_set_env(&c, "B=2", &e);
	jail_config_set_env(&c, "A=3", &e);
	tap_ok(c.n_env == 2 && strcmp(c.env[0], "A=3") == 0 && strcmp(c.env[1], "B=2") == 0,
	       "set_env replaces a variable set earlier");
	int over = 0;
	for (int i = 0; i < JAIL_MAX_MOUNTS + 1; i++)
		if (jail_config_add_mount(&c, JAIL_MOUNT_TMPFS, NULL, "/m", false, 0, &e) < 0)
			over = 1;
	tap_ok(over && strstr(e.msg, "too many mounts"), "mounts are capped at %d",
	       JAIL_MAX_MOUNTS);

	tap_ok(jail_cpuset_ok("0-3,6") && jail_cpuset_ok("1") && !jail_cpuset_ok("0--3") &&
		       !jail_cpuset_ok("a") && !jail_cpuset_ok(",1") && !jail_cpuset_ok(""),
	       "cpuset lists");
	tap_ok(jail_io_max_ok("8:0 rbps=1048576") && jail_io_max_ok("259:1 wbps=max riops=10") &&
		       !jail_io_max_ok("8:0") && !jail_io_max_ok("8:0 rbps=") &&
		       !jail_io_max_ok("8:0 speed=1") && !jail_io_max_ok("sda rbps=1") &&
		       !jail_io_max_ok("8:0 rbps=1\n8:1 rbps=1"),
	       "io.max lines");
	fresh();
	jail_config_set_string(&c.cgroup.cpuset, "0-", &e);
	rejects("cpuset '0-'", "a bad cpuset");
	fresh();
	c.cgroup.memory_max = 1 << 20;
	c.cgroup.memory_high = 2 << 20;
	rejects("memory_high above memory", "memory_high above memory");

	uint64_t v = 0;
	tap_ok(jail_parse_size("512M", &v) == 0 && v == 512ull << 20, "size 512M");
	tap_ok(jail_parse_size("1GiB", &v) == 0 && v == 1ull << 30, "size 1GiB");
	tap_ok(jail_parse_size("64k", &v) == 0 && v == 65536, "size 64k");
	tap_ok(jail_parse_size("123", &v) == 0 && v == 123, "size in bytes");
	tap_ok(jail_parse_size("1.5G", &v) < 0, "size 1.5G is refused");
	tap_ok(jail_parse_size("-1", &v) < 0, "a negative size is refused");
	tap_ok(jail_parse_size("99999999999T", &v) == -ERANGE, "an overflowing size is refused");

	struct jail_result r = {.termination = JAIL_TERM_SIGNAL, .signal = 9};
	tap_ok(jail_result_exit_status(&r) == 137, "signal 9 → 137");
	r = (struct jail_result){.termination = JAIL_TERM_TIMEOUT, .signal = 9};
	tap_ok(jail_result_exit_status(&r) == JAIL_EXIT_TIMEOUT, "timeout → %d", JAIL_EXIT_TIMEOUT);
	r = (struct jail_result){.termination = JAIL_TERM_EXIT, .exit_code = 3};
	tap_ok(jail_result_exit_status(&r) == 3, "exit 3 → 3");

	jail_config_free(&c);
	return tap_done();
}
