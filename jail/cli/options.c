/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agentjail's options, named as nsjail names them wherever an option has
 * the same meaning (and then with nsjail's units); options whose argument
 * language differs from nsjail's have names of their own.
 *
 * One table drives getopt_long and --help; tests compare it with the man
 * page.
 */
#include <ctype.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "options.h"

enum {
	OPT_BINDHOST = 0x100,
	OPT_MAX_CONNS,
	OPT_NO_USER,
	OPT_NO_NS,
	OPT_NO_PID,
	OPT_NO_IPC,
	OPT_NO_UTS,
	OPT_NO_CGROUP,
	OPT_NO_PROC,
	OPT_RL_AS,
	OPT_RL_CORE,
	OPT_RL_CPU,
	OPT_RL_FSIZE,
	OPT_RL_NOFILE,
	OPT_RL_NPROC,
	OPT_RL_STACK,
	OPT_CG_MEM,
	OPT_CG_PIDS,
	OPT_CG_CPU,
	OPT_REQUIRE_CG,
	OPT_CG_MOUNT,
	OPT_PROFILE,
	OPT_SECCOMP_JSON,
	OPT_REPORT,
	OPT_VERSION,
	OPT_TESTONLY_NO_SECCOMP,
};

struct cli_option {
	struct option opt;
	const char *arg; /* name of the argument in --help, NULL if none */
	const char *help;
};

/* clang-format off */
static const struct cli_option options[] = {
	{{"help", no_argument, NULL, 'h'}, NULL, "Show this help and exit"},
	{{"version", no_argument, NULL, OPT_VERSION}, NULL, "Show the version and exit"},
	{{"profile", required_argument, NULL, OPT_PROFILE}, "NAME|FILE",
	 "Profile to start from (default: 'default'); options below override it"},
	{{"mode", required_argument, NULL, 'M'}, "o|e|r|l",
	 "o: run once (default); e: execve without a supervising process; r: rerun forever; "
	 "l: one jail per TCP connection on --port"},
	{{"chroot", required_argument, NULL, 'c'}, "DIR",
	 "Directory whose entries form the jail's read-only root (default: the host's system directories)"},
	{{"user", required_argument, NULL, 'u'}, "UID[:HOSTUID[:1]]",
	 "uid inside the jail (default 1000), and optionally the host uid it maps to (default: allocated)"},
	{{"group", required_argument, NULL, 'g'}, "GID[:HOSTGID[:1]]",
	 "gid inside the jail (default 1000), and optionally the host gid"},
	{{"hostname", required_argument, NULL, 'H'}, "NAME", "UTS name of the jail (default: 'agentjail')"},
	{{"cwd", required_argument, NULL, 'D'}, "DIR", "Working directory in the jail (default: /workspace)"},
	{{"port", required_argument, NULL, 'p'}, "PORT", "TCP port to listen on (implies --mode l)"},
	{{"bindhost", required_argument, NULL, OPT_BINDHOST}, "ADDR",
	 "Address to listen on in --mode l (default: '::')"},
	{{"max_conns", required_argument, NULL, OPT_MAX_CONNS}, "N",
	 "Maximum concurrent connections in --mode l (default: 0, meaning 1024)"},
	{{"time_limit", required_argument, NULL, 't'}, "SECONDS",
	 "Wall-clock limit of the jail, 0 for none (default: the profile's, 600)"},
	{{"verbose", no_argument, NULL, 'v'}, NULL, "Verbose output, with a summary line at the end"},
	{{"quiet", no_argument, NULL, 'q'}, NULL, "Print errors only"},
	{{"keep_env", no_argument, NULL, 'e'}, NULL, "Pass the whole environment to the command"},
	{{"env", required_argument, NULL, 'E'}, "NAME[=VALUE]",
	 "Set an environment variable (NAME alone copies it from this environment)"},
	{{"bindmount_ro", required_argument, NULL, 'R'}, "SRC[:DST]", "Bind-mount SRC read-only at DST"},
	{{"bindmount", required_argument, NULL, 'B'}, "SRC[:DST]", "Bind-mount SRC read-write at DST"},
	{{"tmpfsmount", required_argument, NULL, 'T'}, "DST", "Mount a 64 MiB tmpfs at DST"},
	{{"symlink", required_argument, NULL, 's'}, "SRC:DST", "Create the symlink DST pointing to SRC"},
	{{"disable_clone_newnet", no_argument, NULL, 'N'}, NULL,
	 "Use the host's network (no network namespace)"},
	{{"disable_clone_newuser", no_argument, NULL, OPT_NO_USER}, NULL,
	 "No user namespace: the command runs as the host uid itself"},
	{{"disable_clone_newns", no_argument, NULL, OPT_NO_NS}, NULL,
	 "No mount namespace (and so no private root)"},
	{{"disable_clone_newpid", no_argument, NULL, OPT_NO_PID}, NULL, "No pid namespace"},
	{{"disable_clone_newipc", no_argument, NULL, OPT_NO_IPC}, NULL, "No IPC namespace"},
	{{"disable_clone_newuts", no_argument, NULL, OPT_NO_UTS}, NULL, "No UTS namespace"},
	{{"disable_clone_newcgroup", no_argument, NULL, OPT_NO_CGROUP}, NULL, "No cgroup namespace"},
	{{"disable_proc", no_argument, NULL, OPT_NO_PROC}, NULL, "Do not mount /proc in the jail"},
	{{"rlimit_as", required_argument, NULL, OPT_RL_AS}, "MIB|max|hard|def|soft|inf",
	 "RLIMIT_AS in MiB (per process address space)"},
	{{"rlimit_core", required_argument, NULL, OPT_RL_CORE}, "MIB|max|hard|def|soft|inf",
	 "RLIMIT_CORE in MiB (default: 0)"},
	{{"rlimit_cpu", required_argument, NULL, OPT_RL_CPU}, "SECONDS|max|hard|def|soft|inf",
	 "RLIMIT_CPU in seconds of CPU time"},
	{{"rlimit_fsize", required_argument, NULL, OPT_RL_FSIZE}, "MIB|max|hard|def|soft|inf",
	 "RLIMIT_FSIZE in MiB"},
	{{"rlimit_nofile", required_argument, NULL, OPT_RL_NOFILE}, "N|max|hard|def|soft|inf",
	 "RLIMIT_NOFILE"},
	{{"rlimit_nproc", required_argument, NULL, OPT_RL_NPROC}, "N|max|hard|def|soft|inf",
	 "RLIMIT_NPROC (counted on the jail's own host uid)"},
	{{"rlimit_stack", required_argument, NULL, OPT_RL_STACK}, "MIB|max|hard|def|soft|inf",
	 "RLIMIT_STACK in MiB"},
	{{"cgroup_mem_max", required_argument, NULL, OPT_CG_MEM}, "BYTES",
	 "cgroup memory.max in bytes (K/M/G suffixes accepted), 0 for none"},
	{{"cgroup_pids_max", required_argument, NULL, OPT_CG_PIDS}, "N", "cgroup pids.max, 0 for none"},
	{{"cgroup_cpu_ms_per_sec", required_argument, NULL, OPT_CG_CPU}, "MS",
	 "CPU time per wall second in ms (cgroup cpu.max), 0 for none"},
	{{"require_cgroups", no_argument, NULL, OPT_REQUIRE_CG}, NULL,
	 "Fail if a cgroup limit cannot be enforced"},
	{{"cgroupv2_mount", required_argument, NULL, OPT_CG_MOUNT}, "DIR",
	 "Location of the cgroup v2 hierarchy (default: found in /proc/self/mountinfo)"},
	{{"seccomp_json", required_argument, NULL, OPT_SECCOMP_JSON}, "FILE",
	 "Seccomp policy as JSON (the keys of a profile's \"seccomp\" object)"},
	{{"report", required_argument, NULL, OPT_REPORT}, "FILE",
	 "Write a JSON report of the run (exit, signal, times, memory, termination) to FILE"},
	{{"testonly_no_seccomp", no_argument, NULL, OPT_TESTONLY_NO_SECCOMP}, NULL,
	 "For agentjail's test suite only: load no seccomp filter"},
};
/* clang-format on */

#define SHORTOPTS "+hM:c:u:g:H:D:p:t:vqeE:R:B:T:s:N"

void
cli_usage(FILE *out)
{
	fprintf(out, "Usage: agentjail [OPTION]... -- COMMAND [ARG]...\n"
		     "       agentjail check NAME|FILE\n"
		     "       agentjail doctor\n"
		     "Run COMMAND in a jail built from kernel primitives alone.\n\n");
	for (size_t i = 0; i < ARRAY_SIZE(options); i++) {
		const struct cli_option *o = &options[i];
		char lead[96];
		int n;

		if (o->opt.val < 0x100)
			n = snprintf(lead, sizeof(lead), "  -%c, --%s", o->opt.val, o->opt.name);
		else
			n = snprintf(lead, sizeof(lead), "      --%s", o->opt.name);
		if (o->arg && n > 0 && (size_t)n < sizeof(lead))
			snprintf(lead + n, sizeof(lead) - (size_t)n, " %s", o->arg);
		fprintf(out, "%s\n\t%s\n", lead, o->help);
	}
	fprintf(out,
		"\nExit status: the command's; 128+N if it was killed by signal N; %d if the\n"
		"time limit ended it; %d if the jail could not be built.\n",
		JAIL_EXIT_TIMEOUT, JAIL_EXIT_SETUP);
}

static void
warn(struct cli_opts *o, const char *fmt, ...)
{
	size_t n = strlen(o->warnings);
	va_list ap;

	if (n >= sizeof(o->warnings) - 2)
		return;
	va_start(ap, fmt);
	vsnprintf(o->warnings + n, sizeof(o->warnings) - n - 1, fmt, ap);
	va_end(ap);
	strcat(o->warnings, "\n");
}

static int
parse_u64(const char *s, uint64_t max, uint64_t *ret)
{
	char *end;

	if (!s || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

int
cli_parse_rlimit(const char *s, uint64_t unit, struct jail_rlimit *ret)
{
	uint64_t v;

	if (strcmp(s, "max") == 0 || strcmp(s, "hard") == 0)
		*ret = (struct jail_rlimit){.mode = JAIL_RLIMIT_HARD};
	else if (strcmp(s, "def") == 0 || strcmp(s, "soft") == 0)
		*ret = (struct jail_rlimit){.mode = JAIL_RLIMIT_SOFT};
	else if (strcmp(s, "inf") == 0)
		*ret = (struct jail_rlimit){.mode = JAIL_RLIMIT_INF};
	else if (parse_u64(s, UINT64_MAX / unit, &v) == 0)
		*ret = (struct jail_rlimit){.mode = JAIL_RLIMIT_VALUE, .value = v * unit};
	else
		return -EINVAL;
	return 0;
}

int
cli_parse_idmap(const char *s, uint32_t *inside, uint32_t *outside)
{
	uint64_t v[3] = {0, JAIL_ID_AUTO, 1};
	char buf[64];
	char *save = NULL;
	int n = 0;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	for (char *tok = strtok_r(buf, ":", &save); tok; tok = strtok_r(NULL, ":", &save)) {
		if (n == 3 || parse_u64(tok, UINT32_MAX - 1, &v[n]) < 0)
			return -EINVAL;
		n++;
	}
	/* One id, mapped to one host id: a count other than 1 would share a
	 * host id range between jails. */
	if (n == 0 || s[strlen(s) - 1] == ':' || v[2] != 1)
		return -EINVAL;
	*inside = (uint32_t)v[0];
	*outside = (uint32_t)v[1];
	return 0;
}

/* "SRC" or "SRC:DST". */
static int
add_bind(struct jail_config *c, const char *arg, bool ro, struct jail_error *e)
{
	const char *colon = strchr(arg, ':');
	_cleanup_free_ char *src = colon ? strndup(arg, (size_t)(colon - arg)) : strdup(arg);

	if (!src)
		return jerr(e, ENOMEM, "bind mount");
	return jail_config_add_mount(c, JAIL_MOUNT_BIND, src, colon ? colon + 1 : src, ro, 0, e);
}

static int
opt_error(struct jail_error *e, const char *name, const char *arg, const char *expected)
{
	return jerr_plain(e, EINVAL, "--%s '%s': expected %s", name, arg, expected);
}

static const char *
long_name(int val)
{
	for (size_t i = 0; i < ARRAY_SIZE(options); i++)
		if (options[i].opt.val == val)
			return options[i].opt.name;
	return "?";
}

static int
apply(struct cli_opts *o, int opt, const char *arg, bool *uid_given, struct jail_error *e)
{
	struct jail_config *c = &o->config;
	const char *name = long_name(opt);
	uint64_t v;

	switch (opt) {
	case 'M':
		if (!arg[0] || arg[1])
			return opt_error(e, name, arg, "one of o, e, r, l");
		switch (arg[0]) {
		case 'o': o->mode = CLI_MODE_ONCE; break;
		case 'e': o->mode = CLI_MODE_EXECVE; break;
		case 'r': o->mode = CLI_MODE_RERUN; break;
		case 'l': o->mode = CLI_MODE_LISTEN; break;
		default: return opt_error(e, name, arg, "one of o, e, r, l");
		}
		return 0;
	case 'c': return jail_config_set_string(&c->rootfs, arg, e);
	case 'u':
	case 'g': {
		uint32_t in, out;
		if (cli_parse_idmap(arg, &in, &out) < 0)
			return opt_error(e, name, arg,
					 "a numeric id, ID:HOSTID or ID:HOSTID:1 (user and group "
					 "names are not resolved)");
		if (opt == 'u') {
			c->uid = in;
			c->host_uid = out;
			*uid_given = true;
		} else {
			c->gid = in;
			c->host_gid = out;
		}
		return 0;
	}
	case 'H': return jail_config_set_string(&c->hostname, arg, e);
	case 'D': return jail_config_set_string(&c->cwd, arg, e);
	case 'p':
		if (parse_u64(arg, 65535, &v) < 0 || v == 0)
			return opt_error(e, name, arg, "a TCP port, 1-65535");
		o->port = (unsigned)v;
		o->mode = CLI_MODE_LISTEN;
		return 0;
	case OPT_BINDHOST: o->bindhost = arg; return 0;
	case OPT_MAX_CONNS:
		if (parse_u64(arg, 1000000, &v) < 0)
			return opt_error(e, name, arg, "a number of connections, 0-1000000");
		o->max_conns = (unsigned)v;
		return 0;
	case 't':
		if (parse_u64(arg, 31622400, &v) < 0)
			return opt_error(e, name, arg, "seconds, 0 (none) to 31622400");
		c->time_limit_ms = v * 1000;
		return 0;
	case 'v': o->verbosity = 1; return 0;
	case 'q': o->verbosity = -1; return 0;
	case 'e': c->keep_env = true; return 0;
	case 'E': {
		if (strchr(arg, '='))
			return jail_config_set_env(c, arg, e);
		const char *val = getenv(arg);
		if (!val) {
			warn(o, "--env %s: not set in this environment; ignored", arg);
			return 0;
		}
		_cleanup_free_ char *nv = NULL;
		if (asprintf(&nv, "%s=%s", arg, val) < 0)
			return jerr(e, ENOMEM, "--env");
		return jail_config_set_env(c, nv, e);
	}
	case 'R': return add_bind(c, arg, true, e);
	case 'B': return add_bind(c, arg, false, e);
	case 'T':
		return jail_config_add_mount(c, JAIL_MOUNT_TMPFS, NULL, arg, false,
					     JAIL_TMPFS_DEFAULT_SIZE, e);
	case 's': {
		const char *colon = strchr(arg, ':');
		if (!colon || colon == arg || !colon[1])
			return opt_error(e, name, arg, "SRC:DST");
		_cleanup_free_ char *src = strndup(arg, (size_t)(colon - arg));
		if (!src)
			return jerr(e, ENOMEM, "--symlink");
		return jail_config_add_mount(c, JAIL_MOUNT_SYMLINK, src, colon + 1, false, 0, e);
	}
	case 'N':
		c->namespaces &= ~(unsigned)JAIL_NS_NET;
		c->net = JAIL_NET_HOST;
		return 0;
	case OPT_NO_USER: c->namespaces &= ~(unsigned)JAIL_NS_USER; return 0;
	case OPT_NO_NS: c->namespaces &= ~(unsigned)JAIL_NS_MOUNT; return 0;
	case OPT_NO_PID: c->namespaces &= ~(unsigned)JAIL_NS_PID; return 0;
	case OPT_NO_IPC: c->namespaces &= ~(unsigned)JAIL_NS_IPC; return 0;
	case OPT_NO_UTS: c->namespaces &= ~(unsigned)JAIL_NS_UTS; return 0;
	case OPT_NO_CGROUP: c->namespaces &= ~(unsigned)JAIL_NS_CGROUP; return 0;
	case OPT_NO_PROC: c->proc = false; return 0;
	case OPT_RL_AS:
	case OPT_RL_CORE:
	case OPT_RL_CPU:
	case OPT_RL_FSIZE:
	case OPT_RL_NOFILE:
	case OPT_RL_NPROC:
	case OPT_RL_STACK: {
		static const struct {
			int res;
			uint64_t unit;
			const char *what;
		} rl[] = {
			[OPT_RL_AS - OPT_RL_AS] = {JAIL_RL_AS, 1 << 20, "MiB"},
			[OPT_RL_CORE - OPT_RL_AS] = {JAIL_RL_CORE, 1 << 20, "MiB"},
			[OPT_RL_CPU - OPT_RL_AS] = {JAIL_RL_CPU, 1, "seconds"},
			[OPT_RL_FSIZE - OPT_RL_AS] = {JAIL_RL_FSIZE, 1 << 20, "MiB"},
			[OPT_RL_NOFILE - OPT_RL_AS] = {JAIL_RL_NOFILE, 1, "a count"},
			[OPT_RL_NPROC - OPT_RL_AS] = {JAIL_RL_NPROC, 1, "a count"},
			[OPT_RL_STACK - OPT_RL_AS] = {JAIL_RL_STACK, 1 << 20, "MiB"},
		};
		int i = opt - OPT_RL_AS;
		char expected[96];
		if (cli_parse_rlimit(arg, rl[i].unit, &c->rlimits[rl[i].res]) < 0) {
			snprintf(expected, sizeof(expected), "%s, or max|hard|def|soft|inf",
				 rl[i].what);
			return opt_error(e, name, arg, expected);
		}
		return 0;
	}
	case OPT_CG_MEM:
		if (jail_parse_size(arg, &v) < 0)
			return opt_error(e, name, arg, "bytes, with an optional K, M or G suffix");
		c->cgroup.memory_max = v;
		return 0;
	case OPT_CG_PIDS:
		if (parse_u64(arg, UINT32_MAX, &v) < 0)
			return opt_error(e, name, arg, "a number of processes");
		c->cgroup.pids_max = v;
		return 0;
	case OPT_CG_CPU:
		if (parse_u64(arg, 4096000, &v) < 0)
			return opt_error(e, name, arg, "milliseconds per second, 0-4096000");
		c->cgroup.cpu_ms_per_sec = (uint32_t)v;
		return 0;
	case OPT_REQUIRE_CG: c->cgroup.require_cgroups = true; return 0;
	case OPT_CG_MOUNT: return jail_cgroup_setup(arg, NULL, e);
	case OPT_SECCOMP_JSON: o->seccomp_json = arg; return 0;
	case OPT_REPORT: o->report = arg; return 0;
	case OPT_TESTONLY_NO_SECCOMP: c->seccomp.disabled_for_tests = true; return 0;
	}
	return jerr_plain(e, EINVAL, "unhandled option %d", opt);
}

int
cli_parse(int argc, char **argv, struct cli_opts *o, struct jail_error *e)
{
	struct option longopts[ARRAY_SIZE(options) + 1];
	bool uid_given = false;
	int opt, r;

	memset(o, 0, sizeof(*o));
	jail_config_init(&o->config);
	for (size_t i = 0; i < ARRAY_SIZE(options); i++)
		longopts[i] = options[i].opt;
	memset(&longopts[ARRAY_SIZE(options)], 0, sizeof(longopts[0]));

	/* Pass 1: the profile (and --help), which the other options modify. */
	opterr = 0;
	optind = 0;
	while ((opt = getopt_long(argc, argv, SHORTOPTS, longopts, NULL)) != -1) {
		if (opt == OPT_PROFILE)
			o->profile = optarg;
		else if (opt == 'h')
			o->help = true;
		else if (opt == OPT_VERSION)
			o->version = true;
		else if (opt == '?') {
			const char *bad = argv[optind - 1];
			if (optopt && optopt < 0x100 && strchr(SHORTOPTS, optopt))
				return jerr_plain(e, EINVAL, "option -%c needs an argument",
						  optopt);
			if (optopt >= 0x100)
				return jerr_plain(e, EINVAL, "option --%s needs an argument",
						  long_name(optopt));
			return jerr_plain(e, EINVAL, "unknown option '%s' (see --help)", bad);
		}
	}
	if (o->help || o->version)
		return 0;
	r = jail_profile_load(&o->config, o->profile ? o->profile : "default", e);
	if (r < 0)
		return r;

	/* Pass 2: everything else, in order. */
	optind = 0;
	while ((opt = getopt_long(argc, argv, SHORTOPTS, longopts, NULL)) != -1) {
		if (opt == OPT_PROFILE || opt == 'h' || opt == OPT_VERSION)
			continue;
		r = apply(o, opt, optarg, &uid_given, e);
		if (r < 0)
			return r;
	}
	if (o->seccomp_json) {
		r = jail_seccomp_load_file(&o->config.seccomp, o->seccomp_json, e);
		if (r < 0)
			return r;
	}
	/* Without a user namespace there is no inside: -u N means host uid N,
	 * as in nsjail. */
	if (!(o->config.namespaces & JAIL_NS_USER) && uid_given &&
	    o->config.host_uid == JAIL_ID_AUTO) {
		o->config.host_uid = o->config.uid;
		if (o->config.host_gid == JAIL_ID_AUTO)
			o->config.host_gid = o->config.gid;
	}
	if (optind < argc) {
		r = jail_config_set_argv(&o->config, argv + optind, (size_t)(argc - optind), e);
		if (r < 0)
			return r;
	}
	if (o->mode == CLI_MODE_LISTEN && o->port == 0)
		return jerr_plain(e, EINVAL, "--mode l needs --port");
	return jail_config_validate(&o->config, JAIL_VALIDATE_RUN, e);
}

void
cli_opts_free(struct cli_opts *o)
{
	jail_config_free(&o->config);
}
