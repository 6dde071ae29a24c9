/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The seccomp module.
 *
 * 1. Parity: the default policy allows no syscall that Docker's default
 *    profile (tests/data, a copy) refuses a process without capabilities on
 *    amd64; the further denials are not allowed; minimal is within default.
 * 2. Behaviour: each check forks a child that sets no_new_privs, loads the
 *    exported filter with seccomp_filter_apply() and makes one system call;
 *    the exit code carries the errno back (or the child dies by a signal).
 *    The same call without a filter is the control: a denial only counts as
 *    the filter's doing when the control gets a different result.
 * 3. The filter sizes, as diagnostics.
 *
 * Needs no privilege. Reads tests/data/ relative to $AJ_TOP (default: the
 * current directory, the repository's top when run by tests/run.sh).
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/netlink.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "internal.h"
#include "seccomp.h"
#include "tap.h"

/* A child's result: 0 for success, an errno, or R_KILLED + signal. */
#define R_KILLED    1000
#define KILLED(sig) (R_KILLED + (sig))
#define R_SETUP	    255	 /* the filter could not be loaded */
#define R_WRONG	    254	 /* a multi-step check saw something unexpected */
#define ALLOWED	    (-1) /* expectation: the same result as without a filter */

static const char *
rstr(int r, char *buf, size_t len)
{
	if (r == 0)
		return "success";
	if (r == R_SETUP)
		return "filter not loaded";
	if (r == R_WRONG)
		return "unexpected results";
	if (r >= R_KILLED) {
		const char *s = sigabbrev_np(r - R_KILLED);
		snprintf(buf, len, "killed by SIG%s", s ? s : "?");
	} else {
		const char *s = strerrorname_np(r);
		if (s)
			snprintf(buf, len, "%s", s);
		else
			snprintf(buf, len, "status %d", r);
	}
	return buf;
}
#define RSTR(r) rstr((r), (char[48]){0}, 48)

/* Run fn in a child that has loaded f (NULL: no filter). */
static int
run(const struct jail_filter *f, int (*fn)(void))
{
	int st;
	pid_t pid = fork();

	if (pid < 0)
		return R_SETUP;
	if (pid == 0) {
		alarm(30);
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || seccomp_filter_apply(f) < 0)
			syscall(SYS_exit_group, R_SETUP);
		syscall(SYS_exit_group, fn());
		/* exit_group itself refused (EMPTY without it): die anyway,
		 * without another system call. */
		__builtin_trap();
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return R_SETUP;
	return WIFSIGNALED(st) ? KILLED(WTERMSIG(st)) : WEXITSTATUS(st);
}

/* errno of a raw system call, 0 on success. */
static int
sys_errno(long r)
{
	return r < 0 ? errno : 0;
}

/* --- the calls ---------------------------------------------------------
 * Arguments are chosen so that the kernel, unfiltered, answers with an
 * error the filter never gives (EFAULT, EINVAL, EBADF...), or succeeds. */

static int
try_mount(void)
{
	return sys_errno(syscall(SYS_mount, (char *)1, (char *)1, (char *)1, 0ul, NULL));
}

static int
try_umount2(void)
{
	return sys_errno(syscall(SYS_umount2, "/", 0x40)); /* unknown flag: EINVAL */
}

static int
try_unshare(void)
{
	return sys_errno(syscall(SYS_unshare, CLONE_NEWUSER));
}

static int
try_setns(void)
{
	return sys_errno(syscall(SYS_setns, -1, 0));
}

static int
try_pivot_root(void)
{
	return sys_errno(syscall(SYS_pivot_root, (char *)1, (char *)1));
}

static int
try_chroot(void)
{
	return sys_errno(syscall(SYS_chroot, (char *)1));
}

static int
try_ptrace(void)
{
	return sys_errno(syscall(SYS_ptrace, 0x7fff, 0, NULL, NULL)); /* no pid 0: ESRCH */
}

static int
try_process_vm_readv(void)
{
	return sys_errno(syscall(SYS_process_vm_readv, getpid(), NULL, 0, NULL, 0, 1ul));
}

static int
try_keyctl(void)
{
	return sys_errno(syscall(SYS_keyctl, 0x7fff, 0, 0, 0, 0));
}

static int
try_add_key(void)
{
	return sys_errno(syscall(SYS_add_key, (char *)1, (char *)1, NULL, 0, 0));
}

static int
try_request_key(void)
{
	return sys_errno(syscall(SYS_request_key, (char *)1, (char *)1, NULL, 0));
}

static int
try_io_uring_setup(void)
{
	return sys_errno(syscall(SYS_io_uring_setup, 1, (void *)1));
}

static int
try_io_uring_enter(void)
{
	return sys_errno(syscall(SYS_io_uring_enter, -1, 0, 0, 0, NULL, 0));
}

static int
try_io_uring_register(void)
{
	return sys_errno(syscall(SYS_io_uring_register, -1, 0, NULL, 0));
}

static int
try_perf_event_open(void)
{
	return sys_errno(syscall(SYS_perf_event_open, (void *)1, 0, -1, -1, 0));
}

static int
try_bpf(void)
{
	return sys_errno(syscall(SYS_bpf, 5 /* BPF_PROG_LOAD */, (void *)1, 64));
}

static int
try_userfaultfd(void)
{
	return sys_errno(syscall(SYS_userfaultfd, ~0));
}

static int
try_clone(unsigned long flags)
{
	long pid = syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0ul);

	if (pid == 0)
		syscall(SYS_exit_group, 0);
	if (pid < 0)
		return errno;
	waitpid((pid_t)pid, NULL, 0);
	return 0;
}

static int
try_clone_newuser(void)
{
	return try_clone(CLONE_NEWUSER);
}

static int
try_clone_newuser_fs(void)
{
	return try_clone(CLONE_NEWUSER | CLONE_FS); /* EINVAL to the kernel */
}

static int
try_clone_newns_fs(void)
{
	return try_clone(CLONE_NEWNS | CLONE_FS); /* EINVAL to the kernel */
}

static int
try_clone3(void)
{
	return sys_errno(syscall(SYS_clone3, NULL, 0)); /* size 0: EINVAL */
}

static int
try_fork(void)
{
	int st;
	pid_t pid = fork();

	if (pid == 0)
		syscall(SYS_exit_group, 7);
	if (pid < 0)
		return errno;
	if (waitpid(pid, &st, 0) < 0)
		return errno;
	return WIFEXITED(st) && WEXITSTATUS(st) == 7 ? 0 : R_WRONG;
}

static void *
thread_main(void *arg)
{
	return arg;
}

static int
try_pthread(void)
{
	pthread_t t;
	static int token;
	void *out = NULL;
	int r = pthread_create(&t, NULL, thread_main, &token);

	if (r)
		return r;
	pthread_join(t, &out);
	return out == &token ? 0 : R_WRONG;
}

/* The command for try_spawn: run under the filter, it must exit 0. */
static char *const *spawn_argv;

static int
try_spawn(void)
{
	pid_t pid;
	int st;
	int r = posix_spawn(&pid, spawn_argv[0], NULL, NULL, spawn_argv, environ);

	if (r)
		return r;
	if (waitpid(pid, &st, 0) < 0)
		return errno;
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st); /* as a shell says it */
	return WEXITSTATUS(st) ? R_WRONG : 0;
}

static int
try_spawn_true(void)
{
	static char *const argv[] = {"/bin/true", NULL};

	spawn_argv = argv;
	return try_spawn();
}

static int
try_ioctl(unsigned long cmd)
{
	char buf[256] = "x";
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return R_WRONG;
	int r = sys_errno(syscall(SYS_ioctl, fd, cmd, buf));
	close(fd);
	return r;
}

static int
try_tiocsti(void)
{
	return try_ioctl(TIOCSTI);
}

static int
try_tiocsti_hi(void)
{
	return try_ioctl(TIOCSTI | 1ul << 32); /* the kernel reads TIOCSTI */
}

static int
try_tioclinux(void)
{
	return try_ioctl(TIOCLINUX);
}

static int
try_tcgets(void)
{
	return try_ioctl(TCGETS);
}

static unsigned long
sweep_one(unsigned long cmd)
{
	uint32_t lo = (uint32_t)cmd;
	int want = lo == TIOCSTI || lo == TIOCLINUX ? EPERM : EBADF;

	return syscall(SYS_ioctl, -1, cmd, NULL) < 0 && errno == want ? 0 : 1;
}

/* ioctl(-1, cmd): EPERM exactly when the low 32 bits of cmd are TIOCSTI or
 * TIOCLINUX, EBADF otherwise. Every 16-bit command with the upper half
 * clear, all ones and bit 32 set; every one-bit change of the two. */
static int
try_ioctl_sweep(void)
{
	static const unsigned long hi[] = {0, 1ul << 32, 0xffffffff00000000ul};
	unsigned long wrong = 0;

	for (size_t h = 0; h < ARRAY_SIZE(hi); h++)
		for (unsigned long c = 0; c <= 0xffff; c++)
			wrong += sweep_one(hi[h] | c);
	for (int b = 0; b < 64; b++)
		wrong += sweep_one(TIOCSTI ^ 1ul << b) + sweep_one(TIOCLINUX ^ 1ul << b);
	return wrong ? R_WRONG : 0;
}

static int
try_socket(int family, int type, int proto)
{
	int fd = socket(family, type | SOCK_CLOEXEC, proto);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static int
try_af_alg(void)
{
	return try_socket(AF_ALG, SOCK_SEQPACKET, 0);
}

static int
try_af_vsock(void)
{
	return try_socket(AF_VSOCK, SOCK_STREAM, 0);
}

static int
try_af_packet(void)
{
	return try_socket(AF_PACKET, SOCK_DGRAM, 0);
}

static int
try_af_inet(void)
{
	return try_socket(AF_INET, SOCK_STREAM, 0);
}

static int
try_af_inet6(void)
{
	return try_socket(AF_INET6, SOCK_DGRAM, 0);
}

static int
try_af_netlink(void)
{
	return try_socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
}

static int
try_af_unix(void)
{
	return try_socket(AF_UNIX, SOCK_STREAM, 0);
}

/* socket(AF_INET) with bit 32 set in the family: the kernel reads AF_INET,
 * and so does the 32-bit compare. */
static int
try_af_inet_hi(void)
{
	long fd = syscall(SYS_socket, AF_INET | 1ul << 32, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return errno;
	close((int)fd);
	return 0;
}

static int
try_socketpair(int family)
{
	int sv[2];

	if (socketpair(family, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return errno;
	close(sv[0]);
	close(sv[1]);
	return 0;
}

static int
try_socketpair_unix(void)
{
	return try_socketpair(AF_UNIX);
}

static int
try_socketpair_inet(void)
{
	return try_socketpair(AF_INET); /* EOPNOTSUPP to the kernel */
}

static int
try_personality_query(void)
{
	return sys_errno(syscall(SYS_personality, 0xfffffffful));
}

static int
try_personality_linux(void)
{
	return sys_errno(syscall(SYS_personality, PER_LINUX));
}

static int
try_personality_rie(void)
{
	return sys_errno(syscall(SYS_personality, READ_IMPLIES_EXEC));
}

/* getpid through the i386 entry point; __NR_getpid is 20 there. */
static int
try_int80(void)
{
	long ret = 20;

	__asm__ volatile("int $0x80" : "+a"(ret) : : "memory", "r8", "r9", "r10", "r11");
	return ret < 0 ? (int)-ret : 0;
}

/* getpid as an x32 system call: 39 | __X32_SYSCALL_BIT. */
static int
try_x32(void)
{
	return sys_errno(syscall(0x40000000 | 39));
}

static int
try_getpid(void)
{
	return sys_errno(syscall(SYS_getpid));
}

/* --- 1. parity with Docker -------------------------------------------- */

static bool
has_amd64(json_t *arches)
{
	size_t i;
	json_t *a;

	json_array_foreach(arches, i, a)
	{
		const char *s = json_string_value(a);
		if (s &&
		    (!strcmp(s, "amd64") || !strcmp(s, "x86_64") || !strcmp(s, "SCMP_ARCH_X86_64")))
			return true;
	}
	return false;
}

/*
 * The syscalls Docker's profile allows a process without capabilities on
 * amd64, as a JSON object used as a set: rules whose action is
 * SCMP_ACT_ALLOW (with or without argument conditions or a minimum kernel)
 * that no capability gates ("includes.caps"; "excludes.caps" only takes
 * rules away from processes that have the capability) and no architecture
 * filter takes away from amd64.
 */
static json_t *
docker_allowed(const char *path)
{
	json_error_t je;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	size_t i, j;
	json_t *rule, *name;

	if (!root) {
		tap_diag("%s:%d: %s", path, je.line, je.text);
		return NULL;
	}
	json_t *set = json_object();
	json_array_foreach(json_object_get(root, "syscalls"), i, rule)
	{
		json_t *inc = json_object_get(rule, "includes");
		json_t *exc = json_object_get(rule, "excludes");
		const char *action = json_string_value(json_object_get(rule, "action"));

		if (!action || strcmp(action, "SCMP_ACT_ALLOW") != 0)
			continue;
		if (json_array_size(json_object_get(inc, "caps")) > 0)
			continue;
		json_t *arches = json_object_get(inc, "arches");
		if (json_array_size(arches) > 0 && !has_amd64(arches))
			continue;
		if (has_amd64(json_object_get(exc, "arches")))
			continue;
		json_array_foreach(json_object_get(rule, "names"), j, name)
		{
			if (json_is_string(name))
				json_object_set_new(set, json_string_value(name), json_true());
		}
	}
	json_decref(root);
	return set;
}

/* Names of `names` for which keep(name) is false, as "a, b, c". */
static void
offenders(char *buf, size_t len, const char *const *names, bool (*keep)(const char *, void *),
	  void *arg)
{
	size_t off = 0;

	buf[0] = '\0';
	for (; *names; names++) {
		if (keep(*names, arg))
			continue;
		int k = snprintf(buf + off, len - off, "%s%s", off ? ", " : "", *names);
		if (k < 0 || (size_t)k >= len - off)
			break;
		off += (size_t)k;
	}
}

static bool
in_json_set(const char *name, void *set)
{
	return json_object_get(set, name) != NULL;
}

static bool
not_allowed_by(const char *name, void *policy)
{
	return jail_seccomp_policy_allows(*(enum jail_seccomp_policy *)policy, name) == 0;
}

static bool
allowed_by(const char *name, void *policy)
{
	return jail_seccomp_policy_allows(*(enum jail_seccomp_policy *)policy, name) == 1;
}

static size_t
count(const char *const *names)
{
	size_t n = 0;

	while (names[n])
		n++;
	return n;
}

static const char *const further_denials[] = {
	/* the further denials beyond Docker's profile */
	"io_uring_setup", "io_uring_enter", "io_uring_register", "userfaultfd", "keyctl", "add_key",
	"request_key", "perf_event_open", "bpf", "clone3",
	/* what Docker reserves for capabilities */
	"unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "init_module",
	"finit_module", "delete_module", "reboot", "acct", "settimeofday", "open_by_handle_at",
	/* what Docker leaves out entirely */
	"kexec_load", "swapon",
	/* allowed by Docker, not by the default policy */
	"ptrace", "process_vm_readv", "process_vm_writev", "modify_ldt", NULL};

static void
test_parity(void)
{
	const char *top = getenv("AJ_TOP");
	char path[4096], buf[4096];
	enum jail_seccomp_policy def = JAIL_SECCOMP_POLICY_DEFAULT;
	enum jail_seccomp_policy min = JAIL_SECCOMP_POLICY_MINIMAL;

	snprintf(path, sizeof(path), "%s/tests/data/docker-default-seccomp.json",
		 top && *top ? top : ".");
	json_t *docker = docker_allowed(path);
	tap_ok(docker != NULL, "Docker's profile parsed (%s)", path);
	if (!docker)
		return;
	/* A parser that found nothing, or everything, would make the subset
	 * check below vacuous. */
	tap_ok(json_object_size(docker) > 300 && json_object_get(docker, "read") &&
		       json_object_get(docker, "clone") && json_object_get(docker, "socket") &&
		       !json_object_get(docker, "mount") && !json_object_get(docker, "clone3") &&
		       !json_object_get(docker, "unshare") && !json_object_get(docker, "bpf"),
	       "Docker's no-capability amd64 set: %zu names, with read/clone/socket, without "
	       "mount/clone3/unshare/bpf",
	       json_object_size(docker));

	const char *const *dn = jail_seccomp_policy_names(def);
	offenders(buf, sizeof(buf), dn, in_json_set, docker);
	tap_ok(buf[0] == '\0', "default policy (%zu names) is within Docker's no-capability set",
	       count(dn));
	if (buf[0])
		tap_diag("allowed by default but not by Docker: %s", buf);

	offenders(buf, sizeof(buf), further_denials, not_allowed_by, &def);
	tap_ok(buf[0] == '\0', "default policy denies the further denials and privileged calls");
	if (buf[0])
		tap_diag("allowed: %s", buf);
	offenders(buf, sizeof(buf), further_denials, not_allowed_by, &min);
	tap_ok(buf[0] == '\0', "minimal policy denies them too");
	if (buf[0])
		tap_diag("allowed: %s", buf);

	const char *const *mn = jail_seccomp_policy_names(min);
	offenders(buf, sizeof(buf), mn, allowed_by, &def);
	tap_ok(buf[0] == '\0', "minimal policy (%zu names) is within the default policy",
	       count(mn));
	if (buf[0])
		tap_diag("in minimal but not in default: %s", buf);

	/* What Docker allows on x86_64 that the default policy leaves out:
	 * for docs/security.md. */
	size_t off = 0;
	const char *key;
	json_t *v;
	buf[0] = '\0';
	json_object_foreach(docker, key, v)
	{
		if (seccomp_syscall_resolve_name(key) < 0 || jail_seccomp_policy_allows(def, key))
			continue;
		int k = snprintf(buf + off, sizeof(buf) - off, "%s%s", off ? " " : "", key);
		if (k > 0 && (size_t)k < sizeof(buf) - off)
			off += (size_t)k;
	}
	tap_diag("allowed by Docker on x86_64, not by default: %s", buf);
	json_decref(docker);
}

/* --- the API ---------------------------------------------------------- */

static bool
names_ok(const char *const *names, char *buf, size_t len)
{
	buf[0] = '\0';
	for (size_t i = 0; names[i]; i++) {
		if (seccomp_syscall_resolve_name(names[i]) < 0) {
			snprintf(buf, len, "'%s' is not an x86_64 syscall", names[i]);
			return false;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(names[i], names[j]) == 0) {
				snprintf(buf, len, "'%s' twice", names[i]);
				return false;
			}
	}
	return true;
}

static void
test_api(void)
{
	char buf[256];
	struct jail_error e = {0};

	for (int p = JAIL_SECCOMP_POLICY_DEFAULT; p <= JAIL_SECCOMP_POLICY_EMPTY; p++) {
		const char *const *n = jail_seccomp_policy_names((enum jail_seccomp_policy)p);
		bool ok = n && names_ok(n, buf, sizeof(buf));
		tap_ok(ok, "policy %d: every name is an x86_64 syscall, none twice", p);
		if (!ok)
			tap_diag("%s", n ? buf : "no list");
	}
	tap_ok(jail_seccomp_policy_names(JAIL_SECCOMP_POLICY_EMPTY)[0] == NULL &&
		       jail_seccomp_policy_names((enum jail_seccomp_policy)42) == NULL,
	       "empty policy lists nothing; an unknown policy has no list");
	tap_ok(jail_seccomp_policy_allows(JAIL_SECCOMP_POLICY_DEFAULT, "clone") == 1 &&
		       jail_seccomp_policy_allows(JAIL_SECCOMP_POLICY_DEFAULT, "ioctl") == 1 &&
		       jail_seccomp_policy_allows(JAIL_SECCOMP_POLICY_DEFAULT, "clone3") == 0 &&
		       jail_seccomp_policy_allows(JAIL_SECCOMP_POLICY_EMPTY, "read") == 0 &&
		       jail_seccomp_policy_allows(JAIL_SECCOMP_POLICY_DEFAULT, "no_such_call") ==
			       -EINVAL &&
		       jail_seccomp_policy_allows(JAIL_SECCOMP_POLICY_DEFAULT, "socketcall") ==
			       -EINVAL,
	       "policy_allows: clone 1, ioctl 1, clone3 0, empty/read 0, unknown and "
	       "non-x86_64 names -EINVAL");

	char *allow[] = {"getpid", "no_such_call"};
	char *deny[] = {"bogus_too"};
	struct jail_seccomp s = {.allow = allow, .n_allow = 2, .deny = deny, .n_deny = 1};
	struct jail_filter *f = (struct jail_filter *)&s; /* must stay untouched */
	int r = jail_filter_build(&s, &f, &e);
	tap_ok(r == -EINVAL && e.err == EINVAL && f == (struct jail_filter *)&s,
	       "unknown syscall names are an error (%d)", r);
	TAP_CONTAINS(e.msg, "'no_such_call' (allow list)", "the error names the unknown allow");
	TAP_CONTAINS(e.msg, "'bogus_too' (deny list)", "the error names the unknown deny");

	char *pseudo[] = {"socketcall"};
	s = (struct jail_seccomp){.allow = pseudo, .n_allow = 1};
	tap_ok(jail_filter_build(&s, &f, &e) == -EINVAL,
	       "socketcall (not a syscall on x86_64) is refused");

	s = (struct jail_seccomp){.policy = (enum jail_seccomp_policy)7};
	tap_ok(jail_filter_build(&s, &f, &e) == -EINVAL, "an unknown policy is refused: %s", e.msg);
	s = (struct jail_seccomp){.action = (enum jail_seccomp_action)7};
	tap_ok(jail_filter_build(&s, &f, &e) == -EINVAL, "an unknown action is refused: %s", e.msg);

	s = (struct jail_seccomp){.disabled_for_tests = true};
	r = jail_filter_build(&s, &f, &e);
	tap_ok(r == 0 && f == NULL && jail_filter_len(NULL) == 0 && seccomp_filter_apply(NULL) == 0,
	       "disabled_for_tests: no filter; length 0; loading NULL loads nothing");
	jail_filter_free(NULL);
}

/* The libseccomp 2.5 behaviour that seccomp.c is built around (see its
 * header comment): rules for one syscall with and without conditions fold
 * into the unconditional one, whatever the order and the actions, and a rule
 * with the default action is refused. */
static void
test_libseccomp_folding(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	/* what try_tiocsti and the child's exit need besides ioctl */
	seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 0);
	seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(close), 0);
	seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(exit_group), 0);
	int a = seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, SCMP_SYS(ioctl), 1,
				 SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCSTI));
	int b = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 0);
	int c = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
				 SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCLINUX));
	int st = 0;
	pid_t pid = fork();

	if (pid == 0) {
		alarm(30);
		if (seccomp_load(ctx) < 0)
			syscall(SYS_exit_group, R_SETUP);
		syscall(SYS_exit_group, try_tiocsti());
		__builtin_trap();
	}
	waitpid(pid, &st, 0);
	seccomp_release(ctx);
	tap_ok(a == 0 && b == 0 && WIFEXITED(st) && WEXITSTATUS(st) == ENOTTY,
	       "libseccomp: conditional KILL + unconditional ALLOW on ioctl both succeed and "
	       "TIOCSTI gets through (%s): hence the separate guard program",
	       WIFEXITED(st) ? RSTR(WEXITSTATUS(st)) : RSTR(KILLED(WTERMSIG(st))));
	tap_ok(c == -EACCES, "libseccomp: a rule with the default action is refused (%d)", c);
}

/* --- 2. behaviour ----------------------------------------------------- */

struct check {
	const char *what;
	int (*fn)(void);
	int in_default, in_minimal; /* expected results */
};

static const struct check checks[] = {
	{"mount", try_mount, EPERM, EPERM},
	{"umount2", try_umount2, EPERM, EPERM},
	{"unshare(CLONE_NEWUSER)", try_unshare, EPERM, EPERM},
	{"setns", try_setns, EPERM, EPERM},
	{"pivot_root", try_pivot_root, EPERM, EPERM},
	{"chroot", try_chroot, EPERM, EPERM},
	{"ptrace", try_ptrace, EPERM, EPERM},
	{"process_vm_readv", try_process_vm_readv, EPERM, EPERM},
	{"keyctl", try_keyctl, EPERM, EPERM},
	{"add_key", try_add_key, EPERM, EPERM},
	{"request_key", try_request_key, EPERM, EPERM},
	{"io_uring_setup", try_io_uring_setup, EPERM, EPERM},
	{"io_uring_enter", try_io_uring_enter, EPERM, EPERM},
	{"io_uring_register", try_io_uring_register, EPERM, EPERM},
	{"perf_event_open", try_perf_event_open, EPERM, EPERM},
	{"bpf", try_bpf, EPERM, EPERM},
	{"userfaultfd", try_userfaultfd, EPERM, EPERM},
	{"clone(CLONE_NEWUSER|SIGCHLD)", try_clone_newuser, EPERM, EPERM},
	{"clone(CLONE_NEWUSER|CLONE_FS)", try_clone_newuser_fs, EPERM, EPERM},
	{"clone(CLONE_NEWNS|CLONE_FS)", try_clone_newns_fs, EPERM, EPERM},
	{"clone3", try_clone3, ENOSYS, ENOSYS},
	{"fork", try_fork, ALLOWED, ALLOWED},
	{"pthread_create", try_pthread, ALLOWED, ALLOWED},
	{"posix_spawn /bin/true", try_spawn_true, ALLOWED, ALLOWED},
	{"ioctl(/dev/null, TIOCSTI)", try_tiocsti, EPERM, EPERM},
	{"ioctl(/dev/null, TIOCSTI | 1<<32)", try_tiocsti_hi, EPERM, EPERM},
	{"ioctl(/dev/null, TIOCLINUX)", try_tioclinux, EPERM, EPERM},
	{"ioctl(/dev/null, TCGETS)", try_tcgets, ALLOWED, ALLOWED},
	{"socket(AF_ALG)", try_af_alg, EPERM, EPERM},
	{"socket(AF_VSOCK)", try_af_vsock, EPERM, EPERM},
	{"socket(AF_PACKET)", try_af_packet, EPERM, EPERM},
	{"socket(AF_INET)", try_af_inet, ALLOWED, EPERM},
	{"socket(AF_INET | 1<<32)", try_af_inet_hi, ALLOWED, EPERM},
	{"socket(AF_INET6)", try_af_inet6, ALLOWED, EPERM},
	{"socket(AF_NETLINK)", try_af_netlink, ALLOWED, EPERM},
	{"socket(AF_UNIX)", try_af_unix, ALLOWED, ALLOWED},
	{"socketpair(AF_UNIX)", try_socketpair_unix, ALLOWED, ALLOWED},
	{"socketpair(AF_INET)", try_socketpair_inet, EPERM, EPERM},
	{"personality(0xffffffff)", try_personality_query, ALLOWED, ALLOWED},
	{"personality(PER_LINUX)", try_personality_linux, ALLOWED, ALLOWED},
	{"personality(READ_IMPLIES_EXEC)", try_personality_rie, EPERM, EPERM},
	{"getpid via int $0x80 (i386 ABI)", try_int80, KILLED(SIGSYS), KILLED(SIGSYS)},
	{"getpid via x32 number 0x40000027", try_x32, KILLED(SIGSYS), KILLED(SIGSYS)},
	{"getpid", try_getpid, ALLOWED, ALLOWED},
};

static struct jail_filter *
build(enum jail_seccomp_policy p, enum jail_seccomp_action a, char **allow, size_t n_allow,
      char **deny, size_t n_deny)
{
	struct jail_seccomp s = {.policy = p,
				 .action = a,
				 .allow = allow,
				 .n_allow = n_allow,
				 .deny = deny,
				 .n_deny = n_deny};
	struct jail_error e = {0};
	struct jail_filter *f = NULL;

	if (jail_filter_build(&s, &f, &e) < 0)
		tap_diag("jail_filter_build: %s", e.msg);
	return f;
}

/* One check under one policy, against the control ctl (no filter). */
static void
expect(const char *policy, const struct jail_filter *f, const struct check *c, int want, int ctl)
{
	int r = run(f, c->fn);

	if (ctl >= R_KILLED && want != ctl) {
		/* The host cannot make the call at all. */
		tap_skip("%s: %s: without a filter the child is %s (e.g. no ia32 emulation)",
			 policy, c->what, RSTR(ctl));
		return;
	}
	if (want == ALLOWED) {
		tap_ok(r == ctl, "%s: %s is allowed (%s)", policy, c->what, RSTR(r));
		if (r != ctl)
			tap_diag("without a filter: %s", RSTR(ctl));
	} else {
		tap_ok(r == want, "%s: %s -> %s", policy, c->what, RSTR(want));
		if (r != want)
			tap_diag("got %s", RSTR(r));
	}
}

static void
test_checks(void)
{
	struct jail_filter *def = build(JAIL_SECCOMP_POLICY_DEFAULT, 0, NULL, 0, NULL, 0);
	struct jail_filter *min = build(JAIL_SECCOMP_POLICY_MINIMAL, 0, NULL, 0, NULL, 0);

	tap_ok(def && min, "default and minimal filters build");
	if (!def || !min)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(checks); i++) {
		const struct check *c = &checks[i];
		int ctl = run(NULL, c->fn);
		bool denied = c->in_default != ALLOWED || c->in_minimal != ALLOWED;

		expect("default", def, c, c->in_default, ctl);
		expect("minimal", min, c, c->in_minimal, ctl);
		if (!denied)
			continue;
		/* The control: the call gets past the kernel's own checks with
		 * a result the filter never gives, so the filter refused it. */
		if (ctl == c->in_default || ctl == c->in_minimal)
			tap_skip("without a filter: %s gives %s too; no distinct result "
				 "on this host",
				 c->what, RSTR(ctl));
		else if (ctl < R_KILLED)
			tap_ok(1, "without a filter: %s gets past (%s)", c->what, RSTR(ctl));
	}
	tap_ok(run(def, try_ioctl_sweep) == 0,
	       "default: ioctl(-1, cmd) is EPERM exactly for TIOCSTI/TIOCLINUX in the low 32 "
	       "bits (196,608 commands + 256 bit flips)");
	jail_filter_free(def);
	jail_filter_free(min);
}

static void
test_actions_and_lists(void)
{
	struct jail_filter *f;

	f = build(JAIL_SECCOMP_POLICY_DEFAULT, JAIL_SECCOMP_ACTION_KILL, NULL, 0, NULL, 0);
	tap_ok(f && run(f, try_mount) == KILLED(SIGSYS), "action kill: mount -> killed by SIGSYS");
	tap_ok(f && run(f, try_tiocsti) == KILLED(SIGSYS),
	       "action kill: TIOCSTI -> killed by SIGSYS (the guard uses the action too)");
	tap_ok(f && run(f, try_clone3) == ENOSYS, "action kill: clone3 is still ENOSYS");
	tap_ok(f && run(f, try_getpid) == 0, "action kill: getpid works");
	jail_filter_free(f);

	f = build(JAIL_SECCOMP_POLICY_DEFAULT, JAIL_SECCOMP_ACTION_LOG, NULL, 0, NULL, 0);
	tap_ok(f && run(f, try_mount) == EFAULT,
	       "action log: mount is let through (EFAULT from the kernel)");
	int r = f ? run(f, try_int80) : R_SETUP;
	tap_ok(r >= R_KILLED, "action log: a foreign ABI is still killed (%s)", RSTR(r));
	jail_filter_free(f);

	char *getpid_[] = {"getpid"};
	f = build(JAIL_SECCOMP_POLICY_DEFAULT, 0, NULL, 0, getpid_, 1);
	tap_ok(f && run(f, try_getpid) == EPERM, "default + deny getpid: getpid -> EPERM");
	jail_filter_free(f);

	char *ioctl_[] = {"ioctl"};
	f = build(JAIL_SECCOMP_POLICY_DEFAULT, 0, NULL, 0, ioctl_, 1);
	tap_ok(f && f->n_progs == 1 && run(f, try_tcgets) == EPERM,
	       "default + deny ioctl: TCGETS -> EPERM, no guard program");
	jail_filter_free(f);

	char *clone3_[] = {"clone3"};
	f = build(JAIL_SECCOMP_POLICY_DEFAULT, 0, NULL, 0, clone3_, 1);
	tap_ok(f && run(f, try_clone3) == EPERM && run(f, try_pthread) != 0,
	       "default + deny clone3: clone3 -> EPERM (the violation action), and glibc's "
	       "pthread_create fails without its fallback");
	jail_filter_free(f);

	char *socket_[] = {"socket"};
	f = build(JAIL_SECCOMP_POLICY_DEFAULT, 0, NULL, 0, socket_, 1);
	tap_ok(f && run(f, try_af_unix) == EPERM,
	       "default + deny socket: AF_UNIX -> EPERM (deny wins over argument rules)");
	jail_filter_free(f);
	f = build(JAIL_SECCOMP_POLICY_MINIMAL, 0, socket_, 1, NULL, 0);
	tap_ok(f && run(f, try_af_inet) == 0 && run(f, try_af_alg) != EPERM,
	       "minimal + allow socket: every family (allow is unconditional)");
	jail_filter_free(f);
	f = build(JAIL_SECCOMP_POLICY_DEFAULT, 0, socket_, 1, socket_, 1);
	tap_ok(f && run(f, try_af_unix) == EPERM, "socket in both lists: deny wins");
	jail_filter_free(f);

	char *empty_allow[] = {"getpid", "exit_group"};
	f = build(JAIL_SECCOMP_POLICY_EMPTY, 0, empty_allow, 2, NULL, 0);
	tap_ok(f && f->n_progs == 1 && run(f, try_getpid) == 0,
	       "empty + allow getpid, exit_group: getpid works");
	jail_filter_free(f);
	f = build(JAIL_SECCOMP_POLICY_EMPTY, 0, empty_allow + 1, 1, NULL, 0);
	tap_ok(f && run(f, try_getpid) == EPERM, "empty + allow exit_group: getpid -> EPERM");
	jail_filter_free(f);
}

/* Real programs under the kill action: a syscall they need and the policy
 * lacks kills them with SIGSYS (exit status 159). */
static void
test_programs(void)
{
	static char *const sh_argv[] = {
		"/bin/bash", "-c",
		"set -e; d=$(mktemp -d); cd \"$d\"; echo hi > a; cp a b; mv b c; ln -s a l; "
		"readlink l >/dev/null; ls -la . >/dev/null; stat a >/dev/null; chmod 600 a; "
		"touch a; cat a c | sort | uniq -c >/dev/null; head -c 4096 /dev/urandom | "
		"sha256sum >/dev/null; find . -type f | xargs wc -c >/dev/null; mkfifo p; "
		"(echo x > p &); read -r x < p; wait; sleep 0.01; cd /; rm -r \"$d\"",
		NULL};
	static char *const py_default[] = {
		"/usr/bin/python3", "-c",
		"import os, socket, subprocess, tempfile, threading, hashlib, json\n"
		"t = threading.Thread(target=lambda: None); t.start(); t.join()\n"
		"subprocess.run(['true'], check=True)\n"
		"a, b = socket.socketpair(); a.send(b'x'); assert b.recv(1) == b'x'\n"
		"s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(); s.close()\n"
		"with tempfile.TemporaryDirectory() as d:\n"
		"    open(os.path.join(d, 'f'), 'w').write(json.dumps({'x': 1}))\n"
		"hashlib.sha256(os.urandom(64)).hexdigest()\n"
		"import asyncio, multiprocessing\n"
		"asyncio.run(asyncio.sleep(0))\n"
		"with multiprocessing.Pool(2) as p:\n"
		"    assert p.map(abs, [-1, -2]) == [1, 2]\n",
		NULL};
	static char *const py_minimal[] = {
		"/usr/bin/python3", "-c",
		"import os, socket, subprocess, tempfile, threading, hashlib, json\n"
		"t = threading.Thread(target=lambda: None); t.start(); t.join()\n"
		"subprocess.run(['true'], check=True)\n"
		"a, b = socket.socketpair(); a.send(b'x'); assert b.recv(1) == b'x'\n"
		"with tempfile.TemporaryDirectory() as d:\n"
		"    open(os.path.join(d, 'f'), 'w').write(json.dumps({'x': 1}))\n"
		"hashlib.sha256(os.urandom(64)).hexdigest()\n"
		"import asyncio, multiprocessing\n"
		"asyncio.run(asyncio.sleep(0))\n"
		"with multiprocessing.Pool(2) as p:\n"
		"    assert p.map(abs, [-1, -2]) == [1, 2]\n",
		NULL};
	static const struct {
		const char *what;
		enum jail_seccomp_policy policy;
		char *const *argv;
	} progs[] = {
		{"bash + coreutils", JAIL_SECCOMP_POLICY_DEFAULT, sh_argv},
		{"bash + coreutils", JAIL_SECCOMP_POLICY_MINIMAL, sh_argv},
		{"python3 (threads, subprocess, sockets, files, asyncio, multiprocessing)",
		 JAIL_SECCOMP_POLICY_DEFAULT, py_default},
		{"python3 (threads, subprocess, socketpair, files, asyncio, multiprocessing)",
		 JAIL_SECCOMP_POLICY_MINIMAL, py_minimal},
	};

	for (size_t i = 0; i < ARRAY_SIZE(progs); i++) {
		const char *pname =
			progs[i].policy == JAIL_SECCOMP_POLICY_DEFAULT ? "default" : "minimal";
		if (access(progs[i].argv[0], X_OK) != 0) {
			tap_skip("%s, action kill: %s: %s not installed", pname, progs[i].what,
				 progs[i].argv[0]);
			continue;
		}
		struct jail_filter *f =
			build(progs[i].policy, JAIL_SECCOMP_ACTION_KILL, NULL, 0, NULL, 0);
		spawn_argv = progs[i].argv;
		int ctl = run(NULL, try_spawn);
		int r = f ? run(f, try_spawn) : R_SETUP;
		tap_ok(ctl == 0 && r == 0, "%s, action kill: %s runs", pname, progs[i].what);
		if (ctl != 0 || r != 0)
			tap_diag("with the filter: %s; without: %s (159 = SIGSYS)", RSTR(r),
				 RSTR(ctl));
		jail_filter_free(f);
	}
}

/* --- 3. sizes --------------------------------------------------------- */

/* Median time to load f in a child, in microseconds. */
static long
attach_us(const struct jail_filter *f)
{
	long t[15];

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		int p[2];
		if (pipe2(p, O_CLOEXEC) < 0)
			return -1;
		pid_t pid = fork();
		if (pid == 0) {
			struct timespec a, b;
			prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
			clock_gettime(CLOCK_MONOTONIC, &a);
			int r = seccomp_filter_apply(f);
			clock_gettime(CLOCK_MONOTONIC, &b);
			long us = r < 0 ? -1
					: (b.tv_sec - a.tv_sec) * 1000000 +
						  (b.tv_nsec - a.tv_nsec) / 1000;
			(void)!write(p[1], &us, sizeof(us));
			syscall(SYS_exit_group, 0);
		}
		close(p[1]);
		if (pid < 0 || read(p[0], &t[i], sizeof(t[i])) != sizeof(t[i]))
			t[i] = -1;
		close(p[0]);
		waitpid(pid, NULL, 0);
	}
	for (size_t i = 1; i < ARRAY_SIZE(t); i++)
		for (size_t j = i; j > 0 && t[j - 1] > t[j]; j--) {
			long x = t[j];
			t[j] = t[j - 1];
			t[j - 1] = x;
		}
	return t[ARRAY_SIZE(t) / 2];
}

static void
test_sizes(void)
{
	static const char *const names[] = {"default", "minimal", "empty"};

	for (int p = JAIL_SECCOMP_POLICY_DEFAULT; p <= JAIL_SECCOMP_POLICY_EMPTY; p++) {
		struct jail_filter *f = build((enum jail_seccomp_policy)p, 0, NULL, 0, NULL, 0);
		if (!f) {
			tap_ok(0, "%s filter builds", names[p]);
			continue;
		}
		size_t guard = f->n_progs == 2 ? f->progs[0].len : 0;
		tap_diag("%s: %zu BPF instructions (policy %zu + ioctl guard %zu), %zu names; "
			 "attach %ld us (median of 15)",
			 names[p], jail_filter_len(f), jail_filter_len(f) - guard, guard,
			 count(jail_seccomp_policy_names((enum jail_seccomp_policy)p)),
			 p == JAIL_SECCOMP_POLICY_EMPTY ? -1 : attach_us(f));
		jail_filter_free(f);
	}
}

int
main(void)
{
	test_parity();
	test_api();
	test_libseccomp_folding();
	test_checks();
	test_actions_and_lists();
	test_programs();
	test_sizes();
	return tap_done();
}
