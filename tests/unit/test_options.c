/* SPDX-License-Identifier: Apache-2.0 */
/* The command line: nsjail's names, units and forms; errors that say what
 * was expected. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "tap.h"

static struct cli_opts o;
static struct jail_error e;

static int
parse(const char *first, ...)
{
	char *argv[64] = {"agentjail"};
	int argc = 1;
	va_list ap;

	va_start(ap, first);
	for (const char *a = first; a && argc < 63; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	cli_opts_free(&o);
	memset(&e, 0, sizeof(e));
	return cli_parse(argc, argv, &o, &e);
}

#define PARSE(...) parse(__VA_ARGS__, (const char *)NULL)

static void
fails(int r, const char *needle, const char *what)
{
	tap_ok(r < 0 && strstr(e.msg, needle), "%s", what);
	if (!(r < 0 && strstr(e.msg, needle)))
		tap_diag("r=%d msg='%s' expected '%s'", r, e.msg, needle);
}

int
main(void)
{
	struct jail_rlimit rl;
	uint32_t in, out;

	tap_ok(PARSE("--", "id") == 0 && o.config.argc == 1 && strcmp(o.config.argv[0], "id") == 0,
	       "-- COMMAND");
	tap_ok(o.mode == CLI_MODE_ONCE && o.config.time_limit_ms == 600000 &&
		       o.config.namespaces == JAIL_NS_DEFAULT,
	       "defaults come from the default profile (mode o, 600 s)");
	tap_ok(PARSE("-t", "5", "-H", "box", "-D", "/tmp", "--", "x") == 0 &&
		       o.config.time_limit_ms == 5000 && strcmp(o.config.hostname, "box") == 0 &&
		       strcmp(o.config.cwd, "/tmp") == 0,
	       "-t seconds, -H, -D");
	tap_ok(PARSE("-R", "/usr/share:/s", "-B", "/srv", "-T", "/t", "-s", "/a:/b", "--", "x") ==
			       0 &&
		       o.config.n_mounts == 4 && o.config.mounts[0].readonly &&
		       strcmp(o.config.mounts[0].target, "/s") == 0 &&
		       !o.config.mounts[1].readonly &&
		       strcmp(o.config.mounts[1].target, "/srv") == 0 &&
		       o.config.mounts[2].kind == JAIL_MOUNT_TMPFS &&
		       o.config.mounts[3].kind == JAIL_MOUNT_SYMLINK &&
		       strcmp(o.config.mounts[3].source, "/a") == 0,
	       "-R SRC:DST, -B SRC, -T DST, -s SRC:DST in order");
	tap_ok(PARSE("--rlimit_as", "64", "--rlimit_fsize", "2", "--rlimit_cpu", "7",
		     "--rlimit_nofile", "max", "--", "x") == 0 &&
		       o.config.rlimits[JAIL_RL_AS].value == 64ull << 20 &&
		       o.config.rlimits[JAIL_RL_FSIZE].value == 2ull << 20 &&
		       o.config.rlimits[JAIL_RL_CPU].value == 7 &&
		       o.config.rlimits[JAIL_RL_NOFILE].mode == JAIL_RLIMIT_HARD,
	       "rlimits in nsjail's units (MiB, seconds) and words");
	tap_ok(cli_parse_rlimit("soft", 1, &rl) == 0 && rl.mode == JAIL_RLIMIT_SOFT, "'soft'");
	tap_ok(cli_parse_rlimit("def", 1, &rl) == 0 && rl.mode == JAIL_RLIMIT_SOFT, "'def'");
	tap_ok(cli_parse_rlimit("inf", 1, &rl) == 0 && rl.mode == JAIL_RLIMIT_INF, "'inf'");
	tap_ok(cli_parse_rlimit("-5", 1, &rl) < 0, "a negative rlimit is refused");
	tap_ok(cli_parse_idmap("2000", &in, &out) == 0 && in == 2000 && out == (uint32_t)-1,
	       "-u N");
	tap_ok(cli_parse_idmap("2000:1500000", &in, &out) == 0 && out == 1500000, "-u N:HOST");
	tap_ok(cli_parse_idmap("2000:1500000:1", &in, &out) == 0, "-u N:HOST:1");
	tap_ok(cli_parse_idmap("2000:1500000:5", &in, &out) < 0, "a count other than 1 is refused");
	tap_ok(cli_parse_idmap("nobody", &in, &out) < 0, "names are refused");
	fails(PARSE("-u", "root", "--", "x"), "user and group names are not resolved",
	      "-u NAME says names are not resolved");
	tap_ok(PARSE("--disable_clone_newuser", "-u", "1500001", "--", "x") == 0 &&
		       o.config.host_uid == 1500001,
	       "without a user namespace, -u N is the host uid (as in nsjail)");
	tap_ok(PARSE("-N", "--", "x") == 0 && o.config.net == JAIL_NET_HOST &&
		       !(o.config.namespaces & JAIL_NS_NET),
	       "-N: host network");
	tap_ok(PARSE("--disable_clone_newpid", "--disable_proc", "--disable_clone_newipc", "--",
		     "x") == 0 &&
		       !(o.config.namespaces & (JAIL_NS_PID | JAIL_NS_IPC)) && !o.config.proc,
	       "--disable_clone_new*, --disable_proc");
	tap_ok(PARSE("--cgroup_mem_max", "64M", "--cgroup_pids_max", "32",
		     "--cgroup_cpu_ms_per_sec", "250", "--", "x") == 0 &&
		       o.config.cgroup.memory_max == 64ull << 20 &&
		       o.config.cgroup.pids_max == 32 && o.config.cgroup.cpu_ms_per_sec == 250,
	       "cgroup options (bytes with suffixes, count, ms per second)");
	tap_ok(PARSE("-p", "9000", "--", "x") == 0 && o.mode == CLI_MODE_LISTEN && o.port == 9000,
	       "--port implies --mode l");
	tap_ok(PARSE("-Mr", "--", "x") == 0 && o.mode == CLI_MODE_RERUN, "-Mr");
	fails(PARSE("-Ml", "--", "x"), "--mode l needs --port", "-Ml without --port");
	fails(PARSE("-Mx", "--", "x"), "expected one of o, e, r, l", "a bad mode");
	fails(PARSE("-t", "soon", "--", "x"), "--time_limit 'soon': expected seconds",
	      "a bad time limit");
	fails(PARSE("--rlimit_as", "big", "--", "x"),
	      "--rlimit_as 'big': expected MiB, or max|hard|def|soft|inf", "a bad rlimit");
	fails(PARSE("--nonsense", "--", "x"), "unknown option '--nonsense'", "an unknown option");
	fails(PARSE("-t"), "needs an argument", "a missing argument");
	fails(PARSE("--profile", "no_such_profile", "--", "x"), "no_such_profile",
	      "an unknown profile is named");
	fails(PARSE("-s", "nocolon", "--", "x"), "expected SRC:DST", "a bad --symlink");
	fails(PARSE("--"), "no command given", "no command");
	tap_ok(PARSE("--help") == 0 && o.help, "--help");
	tap_ok(PARSE("-E", "A=1", "-E", "A=2", "--", "x") == 0 && o.config.n_env >= 1,
	       "-E NAME=VALUE");
	int found = 0;
	for (size_t i = 0; i < o.config.n_env; i++)
		found |= strcmp(o.config.env[i], "A=2") == 0;
	tap_ok(found, "-E: the later value wins");
	unsetenv("AJ_SURELY_UNSET");
	tap_ok(PARSE("-E", "AJ_SURELY_UNSET", "--", "x") == 0 && strstr(o.warnings, "not set"),
	       "-E NAME that is not set: a warning, not an error");
	tap_ok(PARSE("--profile", "minimal", "--", "x") == 0 &&
		       o.config.seccomp.policy == JAIL_SECCOMP_POLICY_MINIMAL,
	       "--profile NAME (builtin)");
	cli_opts_free(&o);
	return tap_done();
}
