/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ajprobe: the in-jail probe.
 *
 * Tests run this static binary inside a jail and ask it what the jail looks
 * like: identity, capabilities, namespaces, mounts, network, which syscalls
 * the seccomp filter lets through, what limits bite.  Output is for shell
 * tests to grep: short, stable, one fact per line.  An operation that can
 * fail prints "ok" (plus details) or the errno name ("EPERM", "ENOSYS", ...).
 *
 * Exit status: 0 when the probe ran, whatever the result; 2 on a usage error
 * (with a usage line on stderr).  Commands that run a child report how the
 * child died ("signal=SIGSYS") on stdout; "syscall" and "tiocsti*" then die
 * of the same signal, so that a seccomp kill also shows in the exit status.
 *
 * libc only, no /etc/passwd, /sys optional; /proc is used where the fact
 * lives there.  See tests/probe/README.md.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <linux/capability.h>
#include <linux/ptrace.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef AF_ALG
#define AF_ALG 38
#endif
#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#ifndef TIOCLINUX
#define TIOCLINUX 0x541C
#endif
#ifndef PTRACE_SEIZE
#define PTRACE_SEIZE 0x4206
#endif
#define X32_SYSCALL_BIT		    0x40000000L
#define LANDLOCK_CREATE_RULESET_VER (1U << 0)
#define BPF_PROG_LOAD_CMD	    5
#define SYSLOG_ACTION_SIZE_BUFFER   10
#define MIB			    (1024L * 1024L)
#define READ_MAX		    (64 * 1024)
#define FORKBOMB_MAX_FORKS	    20000L /* safety net when run without a pids limit */
#define FORKBOMB_CHILD_LINGER_SEC   2

extern char **environ;

/* --- names --------------------------------------------------------------- */

struct name_entry {
	int value;
	const char *name;
};

/* clang-format off */
#define N(x) {x, #x}
/* clang-format on */
static const struct name_entry errno_names[] = {
	N(EPERM),	 N(ENOENT),	  N(ESRCH),	      N(EINTR),		  N(EIO),
	N(ENXIO),	 N(E2BIG),	  N(ENOEXEC),	      N(EBADF),		  N(ECHILD),
	N(EAGAIN),	 N(ENOMEM),	  N(EACCES),	      N(EFAULT),	  N(EBUSY),
	N(EEXIST),	 N(EXDEV),	  N(ENODEV),	      N(ENOTDIR),	  N(EISDIR),
	N(EINVAL),	 N(ENFILE),	  N(EMFILE),	      N(ENOTTY),	  N(ETXTBSY),
	N(EFBIG),	 N(ENOSPC),	  N(ESPIPE),	      N(EROFS),		  N(EMLINK),
	N(EPIPE),	 N(EDOM),	  N(ERANGE),	      N(EDEADLK),	  N(ENAMETOOLONG),
	N(ENOLCK),	 N(ENOSYS),	  N(ENOTEMPTY),	      N(ELOOP),		  N(ENOMSG),
	N(ENODATA),	 N(ENOLINK),	  N(EPROTO),	      N(EBADMSG),	  N(EOVERFLOW),
	N(EBADFD),	 N(EUSERS),	  N(ENOTSOCK),	      N(EDESTADDRREQ),	  N(EMSGSIZE),
	N(EPROTOTYPE),	 N(ENOPROTOOPT),  N(EPROTONOSUPPORT), N(ESOCKTNOSUPPORT), N(EOPNOTSUPP),
	N(EPFNOSUPPORT), N(EAFNOSUPPORT), N(EADDRINUSE),      N(EADDRNOTAVAIL),	  N(ENETDOWN),
	N(ENETUNREACH),	 N(ENETRESET),	  N(ECONNABORTED),    N(ECONNRESET),	  N(ENOBUFS),
	N(EISCONN),	 N(ENOTCONN),	  N(ESHUTDOWN),	      N(ETIMEDOUT),	  N(ECONNREFUSED),
	N(EHOSTDOWN),	 N(EHOSTUNREACH), N(EALREADY),	      N(EINPROGRESS),	  N(ESTALE),
	N(EDQUOT),	 N(ECANCELED),	  N(ENOKEY),	      N(EKEYEXPIRED),	  N(EKEYREVOKED),
	N(EKEYREJECTED), N(EOWNERDEAD),	  N(ENOTRECOVERABLE), N(ERFKILL),	  N(EHWPOISON),
	N(ENOPKG),	 N(EREMOTEIO),	  N(ENOMEDIUM),	      N(EMEDIUMTYPE),	  N(ENOSR),
	N(ENOSTR),	 N(ETIME),	  N(ECHRNG),	      N(EREMOTE),	  N(ENOTUNIQ),
	N(ELIBBAD),	 N(ELIBACC),	  N(ELIBEXEC),	      N(ENOTBLK),	  N(ENOTNAM),
	N(EISNAM),	 N(EILSEQ),	  N(ERESTART),	      N(ESTRPIPE),	  N(EUCLEAN),
	N(ENAVAIL),	 N(EADV),	  N(ESRMNT),	      N(ECOMM),		  N(EMULTIHOP),
	N(EDOTDOT),	 N(EL2NSYNC),	  N(EL3HLT),	      N(EL3RST),	  N(ELNRNG),
	N(EUNATCH),	 N(ENOCSI),	  N(EL2HLT),	      N(EBADE),		  N(EBADR),
	N(EXFULL),	 N(ENOANO),	  N(EBADRQC),	      N(EBADSLT),	  N(EBFONT),
	N(ENONET),	 N(ETOOMANYREFS),
};

static const struct name_entry signal_names[] = {
	N(SIGHUP),  N(SIGINT),	N(SIGQUIT),   N(SIGILL),    N(SIGTRAP), N(SIGABRT),  N(SIGBUS),
	N(SIGFPE),  N(SIGKILL), N(SIGUSR1),   N(SIGSEGV),   N(SIGUSR2), N(SIGPIPE),  N(SIGALRM),
	N(SIGTERM), N(SIGCHLD), N(SIGCONT),   N(SIGSTOP),   N(SIGTSTP), N(SIGTTIN),  N(SIGTTOU),
	N(SIGURG),  N(SIGXCPU), N(SIGXFSZ),   N(SIGVTALRM), N(SIGPROF), N(SIGWINCH), N(SIGIO),
	N(SIGPWR),  N(SIGSYS),	N(SIGSTKFLT),
};
#undef N

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
/* Every subcommand has the same signature; most ignore their arguments. */
#define UNUSED __attribute__((unused))

/* Returns a static buffer for unknown values: use before the next call. */
static const char *
errname(int e)
{
	static char buf[24];

	for (size_t i = 0; i < ARRAY_SIZE(errno_names); i++)
		if (errno_names[i].value == e)
			return errno_names[i].name;
	snprintf(buf, sizeof(buf), "E#%d", e);
	return buf;
}

static const char *
signame(int s)
{
	static char buf[24];

	for (size_t i = 0; i < ARRAY_SIZE(signal_names); i++)
		if (signal_names[i].value == s)
			return signal_names[i].name;
	snprintf(buf, sizeof(buf), "SIG#%d", s);
	return buf;
}

/* Print "ok" for r >= 0, else the name of errno -r. */
static void
report(long r)
{
	if (r >= 0)
		printf("ok\n");
	else
		printf("%s\n", errname((int)-r));
}

static long
neg_errno(long r)
{
	return r < 0 ? -errno : r;
}

/* --- argument parsing ---------------------------------------------------- */

static bool
parse_ll(const char *s, long long min, long long max, long long *ret)
{
	char *end;
	long long v;

	if (!s || !*s)
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*ret = v;
	return true;
}

static bool
parse_int(const char *s, int min, int max, int *ret)
{
	long long v;

	if (!parse_ll(s, min, max, &v))
		return false;
	*ret = (int)v;
	return true;
}

/* Seconds, fractional allowed, 0 .. one year. */
static bool
parse_seconds(const char *s, double *ret)
{
	char *end;
	double v;

	if (!s || !*s)
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !(v >= 0.0 && v <= 365.0 * 86400.0))
		return false;
	*ret = v;
	return true;
}

static bool
parse_signal(const char *s, int *ret)
{
	if (parse_int(s, 0, 64, ret))
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(signal_names); i++) {
		const char *n = signal_names[i].name;

		if (!strcmp(s, n) || !strcmp(s, n + 3)) {
			*ret = signal_names[i].value;
			return true;
		}
	}
	return false;
}

/* An IPv4 or IPv6 literal ("[::1]" accepted) and a port 0..65535. */
static bool
parse_sockaddr(const char *addr, const char *port, struct sockaddr_storage *ss, socklen_t *len)
{
	char buf[INET6_ADDRSTRLEN + 2];
	size_t n = strlen(addr);
	int p;

	if (!parse_int(port, 0, 65535, &p))
		return false;
	if (n >= 2 && addr[0] == '[' && addr[n - 1] == ']') {
		if (n - 2 >= sizeof(buf))
			return false;
		memcpy(buf, addr + 1, n - 2);
		buf[n - 2] = '\0';
		addr = buf;
	}
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)p);
		*len = sizeof(*sin);
		return true;
	}
	if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)p);
		*len = sizeof(*sin6);
		return true;
	}
	return false;
}

/* --- small helpers ------------------------------------------------------- */

static double
now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
sleep_until(double deadline)
{
	struct timespec ts;

	if (deadline <= 0)
		return;
	ts.tv_sec = (time_t)deadline;
	ts.tv_nsec = (long)((deadline - (double)ts.tv_sec) * 1e9);
	if (ts.tv_nsec >= 1000000000L)
		ts.tv_nsec = 999999999L;
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static pid_t
wait_child(pid_t pid, int *status)
{
	pid_t r;

	do
		r = waitpid(pid, status, 0);
	while (r < 0 && errno == EINTR);
	return r;
}

/* Die of sig, without a core file, so that our parent sees what we saw. */
static void
die_of(int sig)
{
	struct rlimit no_core = {0, 0};
	sigset_t set;

	fflush(stdout);
	fflush(stderr);
	setrlimit(RLIMIT_CORE, &no_core);
	signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
	_exit(128 + sig);
}

/*
 * After a child that prints its own result: report abnormal ends only.
 * With pass_signal, a child killed by a signal (seccomp's kill action) also
 * kills us by the same signal after the report, so the exit status says it
 * too.
 */
static void
report_child_end(pid_t pid, bool pass_signal)
{
	int st;

	if (wait_child(pid, &st) < 0) {
		printf("wait=%s\n", errname(errno));
	} else if (WIFSIGNALED(st)) {
		printf("signal=%s\n", signame(WTERMSIG(st)));
		if (pass_signal)
			die_of(WTERMSIG(st));
	} else if (WIFEXITED(st) && WEXITSTATUS(st) != 0) {
		printf("exit=%d\n", WEXITSTATUS(st));
	}
}

static pid_t
fork_flushed(void)
{
	fflush(stdout);
	fflush(stderr);
	return fork();
}

/*
 * Read a whole file (at most max bytes) into a NUL-terminated buffer.
 * Returns NULL with *err set on failure.
 */
static char *
slurp(const char *path, size_t max, size_t *ret_len, int *err)
{
	size_t len = 0, cap = 4096;
	char *buf = NULL;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		*err = errno;
		return NULL;
	}
	buf = malloc(cap + 1);
	if (!buf) {
		*err = ENOMEM;
		close(fd);
		return NULL;
	}
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *nb;

			if (cap >= max)
				break;
			cap = cap * 2 > max ? max : cap * 2;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				*err = ENOMEM;
				goto fail;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*err = errno;
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	if (ret_len)
		*ret_len = len;
	return buf;
fail:
	free(buf);
	close(fd);
	return NULL;
}

/* Copy a file to stdout; prints the errno name instead on failure. */
static void
copy_to_stdout(const char *path)
{
	char buf[8192];
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		printf("%s\n", errname(errno));
		return;
	}
	fflush(stdout);
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			printf("%s\n", errname(errno));
			break;
		}
		if (n == 0)
			break;
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
			break;
	}
	close(fd);
}

/* Collapse runs of blanks to one space and trim both ends, in place. */
static char *
collapse(char *s)
{
	char *w = s, *r = s;
	bool blank = false;

	while (*r == ' ' || *r == '\t')
		r++;
	for (; *r; r++) {
		if (*r == ' ' || *r == '\t' || *r == '\n') {
			blank = true;
			continue;
		}
		if (blank && w != s)
			*w++ = ' ';
		blank = false;
		*w++ = *r;
	}
	*w = '\0';
	return s;
}

/* A growable list of strings. */
struct strv {
	char **v;
	size_t n, cap;
};

static bool
strv_add(struct strv *l, const char *s)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		char **nv = realloc(l->v, cap * sizeof(*nv));

		if (!nv)
			return false;
		l->v = nv;
		l->cap = cap;
	}
	l->v[l->n] = strdup(s);
	if (!l->v[l->n])
		return false;
	l->n++;
	return true;
}

static void
strv_free(struct strv *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
cmp_num(const void *a, const void *b)
{
	long long x = strtoll(*(char *const *)a, NULL, 10);
	long long y = strtoll(*(char *const *)b, NULL, 10);

	return (x > y) - (x < y);
}

static bool
all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* Entries of a directory except . and .., optionally only numeric ones. */
static int
list_dir(const char *path, bool numeric, struct strv *out)
{
	struct dirent *de;
	DIR *d;

	d = opendir(path);
	if (!d)
		return -errno;
	errno = 0;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (numeric && !all_digits(de->d_name))
			continue;
		if (!strv_add(out, de->d_name)) {
			closedir(d);
			return -ENOMEM;
		}
	}
	if (errno) {
		int e = errno;

		closedir(d);
		return -e;
	}
	closedir(d);
	qsort(out->v, out->n, sizeof(*out->v), numeric ? cmp_num : cmp_str);
	return 0;
}

/* --- identity ------------------------------------------------------------ */

static int
cmd_id(int argc UNUSED, char **argv UNUSED)
{
	gid_t *groups = NULL;
	int n;

	printf("uid=%u euid=%u gid=%u egid=%u groups=", (unsigned)getuid(), (unsigned)geteuid(),
	       (unsigned)getgid(), (unsigned)getegid());
	n = getgroups(0, NULL);
	if (n > 0) {
		groups = calloc((size_t)n, sizeof(*groups));
		if (groups)
			n = getgroups(n, groups);
		else
			n = 0;
	}
	for (int i = 0; i < n; i++)
		printf("%s%u", i ? "," : "", (unsigned)groups[i]);
	printf("\n");
	free(groups);
	return 0;
}

static int
cmd_status(int argc UNUSED, char **argv UNUSED)
{
	static const char *const keys[] = {
		"Uid",	  "Gid",    "Groups",	  "CapInh",  "CapPrm",		"CapEff",
		"CapBnd", "CapAmb", "NoNewPrivs", "Seccomp", "Seccomp_filters",
	};
	char *buf, *line, *save;
	int err;

	buf = slurp("/proc/self/status", 1 << 20, NULL, &err);
	if (!buf) {
		printf("%s\n", errname(err));
		return 0;
	}
	/* Print in the kernel's order; keys absent on this kernel are skipped. */
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *colon = strchr(line, ':');

		if (!colon)
			continue;
		*colon = '\0';
		for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
			if (strcmp(line, keys[i]))
				continue;
			char *v = collapse(colon + 1);
			printf("%s:%s%s\n", line, *v ? " " : "", v);
		}
	}
	free(buf);
	return 0;
}

static int
cap_last_cap(void)
{
	char *buf;
	int err, v = 40;

	buf = slurp("/proc/sys/kernel/cap_last_cap", 64, NULL, &err);
	if (buf) {
		collapse(buf);
		if (!parse_int(buf, 0, 63, &v))
			v = 40;
		free(buf);
	}
	return v;
}

static int
cmd_caps(int argc UNUSED, char **argv UNUSED)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[2];
	unsigned long long eff, prm, inh, bnd = 0, amb = 0;
	int last = cap_last_cap();

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) < 0) {
		printf("%s\n", errname(errno));
		return 0;
	}
	eff = (unsigned long long)data[1].effective << 32 | data[0].effective;
	prm = (unsigned long long)data[1].permitted << 32 | data[0].permitted;
	inh = (unsigned long long)data[1].inheritable << 32 | data[0].inheritable;
	for (int i = 0; i <= last; i++) {
		if (prctl(PR_CAPBSET_READ, (unsigned long)i, 0UL, 0UL, 0UL) == 1)
			bnd |= 1ULL << i;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, (unsigned long)i, 0UL, 0UL) == 1)
			amb |= 1ULL << i;
	}
	/* Same width as the Cap* lines of /proc/self/status. */
	printf("eff=%016llx prm=%016llx inh=%016llx bnd=%016llx amb=%016llx\n", eff, prm, inh, bnd,
	       amb);
	return 0;
}

static int
cmd_ns(int argc UNUSED, char **argv UNUSED)
{
	static const char *const names[] = {
		"cgroup", "ipc",
		"mnt",	  "net",
		"pid",	  "pid_for_children",
		"time",	  "time_for_children",
		"user",	  "uts",
	};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		char path[64], link[256];
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/self/ns/%s", names[i]);
		n = readlink(path, link, sizeof(link) - 1);
		if (n < 0) {
			printf("%s=%s\n", names[i], errname(errno));
			continue;
		}
		link[n] = '\0';
		printf("%s=%s\n", names[i], link);
	}
	return 0;
}

static int
cmd_pid(int argc UNUSED, char **argv UNUSED)
{
	printf("pid=%d ppid=%d pgid=%d sid=%d\n", (int)getpid(), (int)getppid(), (int)getpgrp(),
	       (int)getsid(0));
	return 0;
}

/* --- filesystem ---------------------------------------------------------- */

static int
cmd_mounts(int argc UNUSED, char **argv UNUSED)
{
	copy_to_stdout("/proc/self/mountinfo");
	return 0;
}

static int
cmd_cat(int argc UNUSED, char **argv)
{
	copy_to_stdout(argv[0]);
	return 0;
}

static long
write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
cmd_write(int argc, char **argv)
{
	const char *data = argc > 1 ? argv[1] : "x";
	long r;
	int fd;

	fd = open(argv[0], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644);
	if (fd < 0) {
		report(-errno);
		return 0;
	}
	r = write_all(fd, data, strlen(data));
	if (r == 0)
		r = write_all(fd, "\n", 1);
	/* close() can report the quota or NFS error the write did not. */
	if (close(fd) < 0 && r == 0)
		r = -errno;
	report(r);
	return 0;
}

static int
cmd_fill(int argc UNUSED, char **argv)
{
	long long mib, done = 0;
	char *buf;
	long r = 0;
	int fd;

	if (!parse_ll(argv[1], 0, 1 << 20, &mib))
		return 2;
	buf = malloc(MIB);
	if (!buf) {
		printf("ENOMEM\n");
		return 0;
	}
	memset(buf, 'x', MIB);
	fd = open(argv[0], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644);
	if (fd < 0) {
		report(-errno);
		free(buf);
		return 0;
	}
	for (; done < mib; done++) {
		r = write_all(fd, buf, MIB);
		if (r < 0)
			break;
	}
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0)
		printf("%s at %lld\n", errname((int)-r), done);
	else
		printf("ok %lld\n", done);
	free(buf);
	return 0;
}

static int
cmd_mkdir(int argc UNUSED, char **argv)
{
	report(neg_errno(mkdir(argv[0], 0755)));
	return 0;
}

static int
cmd_rm(int argc UNUSED, char **argv)
{
	struct stat st;

	if (lstat(argv[0], &st) < 0)
		report(-errno);
	else if (S_ISDIR(st.st_mode))
		report(neg_errno(rmdir(argv[0])));
	else
		report(neg_errno(unlink(argv[0])));
	return 0;
}

static int
cmd_symlink(int argc UNUSED, char **argv)
{
	report(neg_errno(symlink(argv[0], argv[1])));
	return 0;
}

static int
cmd_read(int argc UNUSED, char **argv)
{
	char *buf;
	size_t total = 0;
	int fd;

	fd = open(argv[0], O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		report(-errno);
		return 0;
	}
	buf = malloc(READ_MAX);
	if (!buf) {
		printf("ENOMEM\n");
		close(fd);
		return 0;
	}
	while (total < READ_MAX) {
		ssize_t n = read(fd, buf + total, READ_MAX - total);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			/* A nonblocking fifo or device with nothing to give yet. */
			if (errno == EAGAIN && total > 0)
				break;
			report(-errno);
			goto out;
		}
		if (n == 0)
			break;
		total += (size_t)n;
	}
	printf("ok %zu\n", total);
out:
	free(buf);
	close(fd);
	return 0;
}

static const char *
file_type(mode_t m)
{
	if (S_ISREG(m))
		return "file";
	if (S_ISDIR(m))
		return "dir";
	if (S_ISLNK(m))
		return "link";
	if (S_ISCHR(m))
		return "chr";
	if (S_ISBLK(m))
		return "blk";
	if (S_ISFIFO(m))
		return "fifo";
	if (S_ISSOCK(m))
		return "sock";
	return "unknown";
}

static int
cmd_stat(int argc UNUSED, char **argv)
{
	struct stat st;

	if (lstat(argv[0], &st) < 0) {
		report(-errno);
		return 0;
	}
	printf("ok %s %04o %u %u\n", file_type(st.st_mode), (unsigned)(st.st_mode & 07777),
	       (unsigned)st.st_uid, (unsigned)st.st_gid);
	return 0;
}

static const char *
fs_type_name(unsigned long magic)
{
	static const struct {
		unsigned long magic;
		const char *name;
	} types[] = {
		{0x01021994, "tmpfs"},	 {0x9fa0, "proc"},	     {0x62656572, "sysfs"},
		{0xef53, "ext4"},	 {0x794c7630, "overlay"},    {0x1cd1, "devpts"},
		{0x63677270, "cgroup2"}, {0x27e0eb, "cgroup"},	     {0x19800202, "mqueue"},
		{0x9123683e, "btrfs"},	 {0x58465342, "xfs"},	     {0x73717368, "squashfs"},
		{0x6e736673, "nsfs"},	 {0x858458f6, "ramfs"},	     {0x64626720, "debugfs"},
		{0x74726163, "tracefs"}, {0x73636673, "securityfs"}, {0x6969, "nfs"},
		{0x65735546, "fuse"},	 {0x01021997, "9p"},	     {0x42494e4d, "binfmt_misc"},
		{0xcafe4a11, "bpf"},	 {0x2011bab0, "exfat"},	     {0x4d44, "vfat"},
		{0x9660, "iso9660"},	 {0x15013346, "hugetlbfs"},  {0x50495045, "pipefs"},
		{0x534f434b, "sockfs"},	 {0x1373, "devfs"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(types); i++)
		if (types[i].magic == magic)
			return types[i].name;
	return NULL;
}

static int
cmd_statfs(int argc UNUSED, char **argv)
{
	static const struct {
		unsigned long flag;
		const char *name;
	} flags[] = {
		{ST_NOSUID, "nosuid"},	       {ST_NODEV, "nodev"},	  {ST_NOEXEC, "noexec"},
		{ST_SYNCHRONOUS, "sync"},      {ST_MANDLOCK, "mand"},	  {ST_NOATIME, "noatime"},
		{ST_NODIRATIME, "nodiratime"}, {ST_RELATIME, "relatime"},
	};
	struct statvfs sv;
	struct statfs sf;
	const char *name;

	if (statfs(argv[0], &sf) < 0 || statvfs(argv[0], &sv) < 0) {
		report(-errno);
		return 0;
	}
	name = fs_type_name((unsigned long)sf.f_type);
	if (name)
		printf("ok type=%s flags=%s", name, sv.f_flag & ST_RDONLY ? "ro" : "rw");
	else
		printf("ok type=0x%lx flags=%s", (unsigned long)sf.f_type,
		       sv.f_flag & ST_RDONLY ? "ro" : "rw");
	for (size_t i = 0; i < ARRAY_SIZE(flags); i++)
		if (sv.f_flag & flags[i].flag)
			printf(",%s", flags[i].name);
	printf(" size=%llu free=%llu\n", (unsigned long long)sv.f_blocks * sv.f_frsize,
	       (unsigned long long)sv.f_bavail * sv.f_frsize);
	return 0;
}

static int
cmd_ls(int argc UNUSED, char **argv)
{
	struct strv l = {0};
	int r;

	r = list_dir(argv[0], false, &l);
	if (r < 0)
		report(r);
	else
		for (size_t i = 0; i < l.n; i++)
			printf("%s\n", l.v[i]);
	strv_free(&l);
	return 0;
}

/* --- processes ----------------------------------------------------------- */

static int
cmd_pids(int argc UNUSED, char **argv UNUSED)
{
	struct strv l = {0};
	int r;

	r = list_dir("/proc", true, &l);
	if (r < 0) {
		report(r);
	} else {
		for (size_t i = 0; i < l.n; i++)
			printf("%s%s", i ? " " : "", l.v[i]);
		printf("\n");
	}
	strv_free(&l);
	return 0;
}

static int
cmd_fds(int argc UNUSED, char **argv UNUSED)
{
	struct strv l = {0};
	int r;

	/* The listing's own directory fd is closed by the time we print. */
	r = list_dir("/proc/self/fd", true, &l);
	if (r < 0) {
		report(r);
		return 0;
	}
	for (size_t i = 0; i < l.n; i++) {
		char path[64], link[PATH_MAX];
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/self/fd/%s", l.v[i]);
		n = readlink(path, link, sizeof(link) - 1);
		if (n < 0)
			continue; /* the closed directory fd */
		link[n] = '\0';
		printf("%s -> %s\n", l.v[i], link);
	}
	strv_free(&l);
	return 0;
}

static int
cmd_cgroup(int argc UNUSED, char **argv UNUSED)
{
	static const char *const files[] = {
		"memory.max",
		"memory.swap.max",
		"pids.max",
		"cpu.max",
	};
	char *cg, *mi, *line, *save, *path = NULL;
	char mnt[PATH_MAX] = "", root[PATH_MAX] = "";
	int err;

	cg = slurp("/proc/self/cgroup", 1 << 16, NULL, &err);
	if (!cg) {
		printf("path=%s\n", errname(err));
		return 0;
	}
	for (line = strtok_r(cg, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (!strncmp(line, "0::", 3))
			path = line + 3;
	if (!path) {
		printf("path=ENOENT\n");
		free(cg);
		return 0;
	}
	printf("path=%s\n", path);

	/* Where is cgroup2 mounted, and which cgroup is the mount's root? */
	mi = slurp("/proc/self/mountinfo", 1 << 22, NULL, &err);
	for (line = mi ? strtok_r(mi, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		char r[PATH_MAX], m[PATH_MAX], *sep = strstr(line, " - ");
		char fstype[64];

		if (!sep || sscanf(sep, " - %63s", fstype) != 1 || strcmp(fstype, "cgroup2"))
			continue;
		if (sscanf(line, "%*s %*s %*s %4095s %4095s", r, m) != 2)
			continue;
		snprintf(root, sizeof(root), "%s", r);
		snprintf(mnt, sizeof(mnt), "%s", m);
		break;
	}
	free(mi);
	if (!*mnt) {
		for (size_t i = 0; i < ARRAY_SIZE(files); i++)
			printf("%s=ENOENT\n", files[i]);
		free(cg);
		return 0;
	}
	size_t rl = strlen(root);
	const char *rel = path;
	if (strcmp(root, "/") && !strncmp(path, root, rl) && (path[rl] == '/' || !path[rl]))
		rel = path + rl;
	if (!strcmp(rel, "/"))
		rel = "";
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		char file[3 * PATH_MAX];
		char *v;

		snprintf(file, sizeof(file), "%s%s/%s", mnt, rel, files[i]);
		v = slurp(file, 4096, NULL, &err);
		if (!v) {
			printf("%s=%s\n", files[i], errname(err));
			continue;
		}
		printf("%s=%s\n", files[i], collapse(v));
		free(v);
	}
	free(cg);
	return 0;
}

static int
cmd_oom_score(int argc UNUSED, char **argv UNUSED)
{
	char *v;
	int err;

	v = slurp("/proc/self/oom_score_adj", 64, NULL, &err);
	if (!v) {
		printf("%s\n", errname(err));
		return 0;
	}
	printf("%s\n", collapse(v));
	free(v);
	return 0;
}

/* --- network ------------------------------------------------------------- */

static int
cmd_ifaces(int argc UNUSED, char **argv UNUSED)
{
	char *buf, *line, *save;
	int err, fd, sock_err = 0;
	int n = 0;

	buf = slurp("/proc/net/dev", 1 << 20, NULL, &err);
	if (!buf) {
		printf("%s\n", errname(err));
		return 0;
	}
	/*
	 * SIOCGIFFLAGS works on any socket: the generic socket ioctl path
	 * falls through to dev_ioctl().  AF_UNIX first, since a strict policy
	 * may refuse AF_INET sockets.
	 */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		sock_err = errno;
		fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd >= 0)
			sock_err = 0;
	}
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *colon = strchr(line, ':');
		struct ifreq ifr;

		if (n++ < 2 || !colon) /* two header lines */
			continue;
		*colon = '\0';
		char *name = collapse(line);
		if (!*name || strlen(name) >= IFNAMSIZ)
			continue;
		if (fd < 0) {
			printf("%s ? %s\n", name, errname(sock_err));
			continue;
		}
		memset(&ifr, 0, sizeof(ifr));
		memcpy(ifr.ifr_name, name, strlen(name));
		if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
			printf("%s ? %s\n", name, errname(errno));
		else
			printf("%s %s\n", name, ifr.ifr_flags & IFF_UP ? "up" : "down");
	}
	if (fd >= 0)
		close(fd);
	free(buf);
	return 0;
}

static void
print_line_count(const char *key, const char *path, int header)
{
	char *buf;
	int err;
	long lines = 0;

	buf = slurp(path, 64 << 20, NULL, &err);
	if (!buf) {
		printf("%s=%s", key, errname(err));
		return;
	}
	for (char *p = buf; *p; p++)
		if (*p == '\n')
			lines++;
	if (*buf && buf[strlen(buf) - 1] != '\n')
		lines++;
	lines -= header;
	printf("%s=%ld", key, lines < 0 ? 0 : lines);
	free(buf);
}

static int
cmd_routes(int argc UNUSED, char **argv UNUSED)
{
	/* /proc/net/route has a header line, /proc/net/ipv6_route has none. */
	print_line_count("ipv4", "/proc/net/route", 1);
	printf(" ");
	print_line_count("ipv6", "/proc/net/ipv6_route", 0);
	printf("\n");
	return 0;
}

static long
udp_connect(char **argv, bool send_byte)
{
	struct sockaddr_storage ss;
	socklen_t len;
	long r;
	int fd;

	if (!parse_sockaddr(argv[0], argv[1], &ss, &len))
		return LONG_MIN;
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = neg_errno(connect(fd, (struct sockaddr *)&ss, len));
	if (r == 0 && send_byte)
		r = neg_errno(send(fd, "x", 1, MSG_NOSIGNAL));
	close(fd);
	return r;
}

static int
cmd_udp_connect(int argc UNUSED, char **argv)
{
	long r = udp_connect(argv, false);

	if (r == LONG_MIN)
		return 2;
	report(r);
	return 0;
}

static int
cmd_udp_send(int argc UNUSED, char **argv)
{
	long r = udp_connect(argv, true);

	if (r == LONG_MIN)
		return 2;
	report(r);
	return 0;
}

static int
cmd_tcp_connect(int argc, char **argv)
{
	struct sockaddr_storage ss;
	struct pollfd pfd;
	socklen_t len;
	int fd, timeout = 2000, soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (!parse_sockaddr(argv[0], argv[1], &ss, &len))
		return 2;
	if (argc > 2 && !parse_int(argv[2], 0, 3600 * 1000, &timeout))
		return 2;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		report(-errno);
		return 0;
	}
	if (connect(fd, (struct sockaddr *)&ss, len) == 0) {
		report(0);
		goto out;
	}
	if (errno != EINPROGRESS) {
		report(-errno);
		goto out;
	}
	pfd.fd = fd;
	pfd.events = POLLOUT;
	for (;;) {
		int n = poll(&pfd, 1, timeout);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			report(-errno);
			goto out;
		}
		if (n == 0) {
			printf("ETIMEDOUT\n");
			goto out;
		}
		break;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
		soerr = errno;
	report(-(long)soerr);
out:
	close(fd);
	return 0;
}

static int
cmd_tcp_listen(int argc, char **argv)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	struct pollfd pfd;
	int port, timeout = 10000, one = 1, fd, c;

	if (!parse_int(argv[0], 1, 65535, &port))
		return 2;
	if (argc > 1 && !parse_int(argv[1], 0, 3600 * 1000, &timeout))
		return 2;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		report(-errno);
		return 0;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 4) < 0) {
		report(-errno);
		close(fd);
		return 0;
	}
	printf("listening\n");
	fflush(stdout);
	pfd.fd = fd;
	pfd.events = POLLIN;
	for (;;) {
		int n = poll(&pfd, 1, timeout);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			printf("%s\n", n == 0 ? "ETIMEDOUT" : errname(errno));
			close(fd);
			return 0;
		}
		break;
	}
	c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0) {
		report(-errno);
	} else {
		send(c, "hello\n", 6, MSG_NOSIGNAL);
		printf("accepted\n");
		close(c);
	}
	close(fd);
	return 0;
}

/* --- syscall probes ------------------------------------------------------ */

/*
 * Each probe calls one syscall with arguments chosen so that, unfiltered,
 * it fails in a distinctive way before doing anything (a bad pointer gives
 * EFAULT, a bad fd EBADF, ...) or does something harmless.  A seccomp
 * filter shows up as EPERM (or ENOSYS, or SIGSYS).  Some syscalls check
 * capabilities before touching their arguments, so without the capability
 * they give EPERM unfiltered too; the comment gives the unfiltered result
 * for root / for an unprivileged caller.
 */
#define BAD ((void *)1)

static long
sc_mount(void) /* EFAULT: the type string is copied first */
{
	return neg_errno(syscall(SYS_mount, BAD, BAD, BAD, 0UL, NULL));
}

static long
sc_umount2(void) /* EFAULT */
{
	return neg_errno(syscall(SYS_umount2, BAD, 0));
}

static long
sc_pivot_root(void) /* root EFAULT, unprivileged EPERM */
{
	return neg_errno(syscall(SYS_pivot_root, BAD, BAD));
}

static long
sc_chroot(void) /* EFAULT */
{
	return neg_errno(syscall(SYS_chroot, BAD));
}

/* unshare-*: ok where allowed; EPERM without CAP_SYS_ADMIN (except user) */
static long
unshare_ns(long flag, long unused1 UNUSED, long unused2 UNUSED)
{
	return neg_errno(unshare((int)flag));
}

static long
sc_setns(void) /* EBADF */
{
	return neg_errno(syscall(SYS_setns, -1, 0));
}

static long
sc_clone_newuser(void) /* ok where user namespaces are allowed */
{
	long pid;
	int st;

	pid = syscall(SYS_clone, (unsigned long)(CLONE_NEWUSER | SIGCHLD), 0UL, NULL, NULL, 0UL);
	if (pid < 0)
		return -errno;
	if (pid == 0)
		_exit(0);
	if (wait_child((pid_t)pid, &st) < 0)
		return -errno;
	return 0;
}

static long
sc_clone3(void) /* EFAULT; ENOSYS when filtered the usual way */
{
	return neg_errno(syscall(SYS_clone3, BAD, 88UL));
}

static long
sc_keyctl(void) /* EOPNOTSUPP: unknown command */
{
	return neg_errno(syscall(SYS_keyctl, 0x7fffffffL, 0L, 0L, 0L, 0L));
}

static long
sc_add_key(void) /* EFAULT */
{
	return neg_errno(syscall(SYS_add_key, BAD, BAD, NULL, 0UL, 0L));
}

static long
sc_request_key(void) /* EFAULT */
{
	return neg_errno(syscall(SYS_request_key, BAD, BAD, NULL, 0L));
}

static long
sc_io_uring_setup(void) /* EFAULT; EPERM if kernel.io_uring_disabled */
{
	return neg_errno(syscall(SYS_io_uring_setup, 1U, NULL));
}

static long
sc_io_uring_enter(void) /* EBADF */
{
	return neg_errno(syscall(SYS_io_uring_enter, -1, 0U, 0U, 0U, NULL, 0UL));
}

static long
sc_userfaultfd(void) /* ok (user-mode-only faults need no privilege) */
{
	long fd = syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);

	if (fd < 0)
		return -errno;
	close((int)fd);
	return 0;
}

static long
sc_perf_event_open(void) /* EFAULT */
{
	return neg_errno(syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0UL));
}

static long
sc_bpf(void) /* root E2BIG (no instructions), unprivileged EPERM (unprivileged_bpf_disabled) */
{
	return neg_errno(syscall(SYS_bpf, BPF_PROG_LOAD_CMD, NULL, 0U));
}

static long
sc_personality_query(void) /* ok */
{
	return neg_errno(syscall(SYS_personality, 0xffffffffUL));
}

static long
sc_personality_exec(void) /* ok; Docker-like filters refuse it */
{
	return neg_errno(syscall(SYS_personality, (unsigned long)READ_IMPLIES_EXEC));
}

static long
sc_reboot(void) /* root EINVAL (bad magic), unprivileged EPERM */
{
	return neg_errno(syscall(SYS_reboot, 0, 0, 0, NULL));
}

static long
sc_swapon(void) /* root EFAULT, unprivileged EPERM */
{
	return neg_errno(syscall(SYS_swapon, BAD, 0));
}

static long
sc_swapoff(void) /* root EFAULT, unprivileged EPERM */
{
	return neg_errno(syscall(SYS_swapoff, BAD));
}

static long
sc_init_module(void) /* root EFAULT, unprivileged EPERM */
{
	return neg_errno(syscall(SYS_init_module, NULL, 4096UL, ""));
}

static long
sc_finit_module(void) /* root EBADF, unprivileged EPERM */
{
	return neg_errno(syscall(SYS_finit_module, -1, "", 0));
}

static long
sc_delete_module(void) /* root EFAULT, unprivileged EPERM */
{
	return neg_errno(syscall(SYS_delete_module, BAD, 0U));
}

static long
sc_kexec_load(void) /* root EFAULT, unprivileged EPERM; loads nothing */
{
	return neg_errno(syscall(SYS_kexec_load, 0UL, 1UL, BAD, 0UL));
}

static long
sc_acct(void) /* root EFAULT, unprivileged EPERM */
{
	return neg_errno(syscall(SYS_acct, BAD));
}

static long
sc_settimeofday(void) /* root ok (changes nothing), unprivileged EPERM */
{
	return neg_errno(syscall(SYS_settimeofday, NULL, NULL));
}

static long
sc_clock_settime(void) /* EFAULT: the time is copied first */
{
	return neg_errno(syscall(SYS_clock_settime, CLOCK_REALTIME, BAD));
}

static long
sc_mknod_chr(void) /* root ok (removed again), unprivileged EPERM */
{
	char path[64];

	snprintf(path, sizeof(path), "/tmp/ajprobe-mknod.%d", (int)getpid());
	if (mknod(path, S_IFCHR | 0600, makedev(1, 3)) < 0)
		return -errno;
	unlink(path);
	return 0;
}

static long
sc_open_by_handle_at(void) /* EFAULT (before 6.x: EPERM without CAP_DAC_READ_SEARCH) */
{
	return neg_errno(syscall(SYS_open_by_handle_at, AT_FDCWD, BAD, O_RDONLY));
}

static long
sc_name_to_handle_at(void) /* EFAULT */
{
	return neg_errno(syscall(SYS_name_to_handle_at, AT_FDCWD, BAD, BAD, BAD, 0));
}

static long
sc_process_vm_readv(void) /* ok: zero iovecs return before the pid is looked at */
{
	return neg_errno(syscall(SYS_process_vm_readv, 1, NULL, 0UL, NULL, 0UL, 0UL));
}

static long
sc_ptrace(void) /* ESRCH: pid 0 never exists */
{
	return neg_errno(syscall(SYS_ptrace, PTRACE_PEEKDATA, 0, NULL, NULL));
}

static long
sc_fsopen(void) /* root EFAULT, unprivileged EPERM */
{
	return neg_errno(syscall(SYS_fsopen, BAD, 0U));
}

static long
sc_fsmount(void) /* root EBADF, unprivileged EPERM */
{
	return neg_errno(syscall(SYS_fsmount, -1, 0U, 0U));
}

static long
sc_open_tree(void) /* EFAULT */
{
	return neg_errno(syscall(SYS_open_tree, AT_FDCWD, BAD, 0U));
}

static long
sc_move_mount(void) /* root EFAULT, unprivileged EPERM */
{
	return neg_errno(syscall(SYS_move_mount, AT_FDCWD, BAD, AT_FDCWD, BAD, 0U));
}

static long
sc_mount_setattr(void) /* root EFAULT, unprivileged EPERM */
{
	return neg_errno(syscall(SYS_mount_setattr, -1, BAD, 0U, BAD, 32UL));
}

static long
sc_seccomp(void) /* EINVAL: unknown operation */
{
	return neg_errno(syscall(SYS_seccomp, 0xffU, 0U, NULL));
}

static long
sc_landlock(void) /* ok (ABI version), EOPNOTSUPP when Landlock is off */
{
	return neg_errno(syscall(SYS_landlock_create_ruleset, NULL, 0UL,
				 (unsigned long)LANDLOCK_CREATE_RULESET_VER));
}

static long
sc_syslog(void) /* root ok, unprivileged EPERM with kernel.dmesg_restrict */
{
	return neg_errno(syscall(SYS_syslog, SYSLOG_ACTION_SIZE_BUFFER, NULL, 0));
}

static long
sc_pidfd_open(void) /* ok */
{
	long fd = syscall(SYS_pidfd_open, getpid(), 0U);

	if (fd < 0)
		return -errno;
	close((int)fd);
	return 0;
}

static long
sc_memfd_create(void) /* ok */
{
	long fd = syscall(SYS_memfd_create, "ajprobe", 1U /* MFD_CLOEXEC */);

	if (fd < 0)
		return -errno;
	close((int)fd);
	return 0;
}

#if defined(__x86_64__)
static long
sc_ioperm(void) /* EINVAL: the range is checked before the capability */
{
	return neg_errno(syscall(SYS_ioperm, 65536UL, 1UL, 1));
}

static long
sc_iopl(void) /* EINVAL: level > 3 */
{
	return neg_errno(syscall(SYS_iopl, 4));
}

static long
sc_modify_ldt(void) /* EINVAL: write with a wrong size */
{
	long r = syscall(SYS_modify_ldt, 1, NULL, 0UL);

	/* The kernel returns its int result zero-extended: -EINVAL looks positive. */
	if (r < 0)
		return -errno;
	return (int)r < 0 ? (int)r : 0;
}
#endif

/* socket-*: ok, EAFNOSUPPORT without the module, EPERM for raw sockets without caps */
static long
open_socket(long family, long type, long proto)
{
	int fd = socket((int)family, (int)type | SOCK_CLOEXEC, (int)proto);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static long
sc_setuid0(void) /* raw: glibc would broadcast to threads, we have none */
{
	return neg_errno(syscall(SYS_setuid, 0));
}

static long
sc_setgroups0(void)
{
	return neg_errno(syscall(SYS_setgroups, 0, NULL));
}

static long
sc_chown_root(void) /* the file's creation error if it cannot be created */
{
	char path[64];
	long r;
	int fd;

	snprintf(path, sizeof(path), "/tmp/ajprobe-chown.%d", (int)getpid());
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	close(fd);
	r = neg_errno(chown(path, 0, 0));
	unlink(path);
	return r;
}

static long
sc_sethostname(void) /* sets the current name again: changes nothing */
{
	struct utsname u;

	if (uname(&u) < 0)
		return -errno;
	return neg_errno(sethostname(u.nodename, strlen(u.nodename)));
}

static long
sc_mlock(void)
{
	long page = sysconf(_SC_PAGESIZE);
	void *p;
	long r;

	p = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	r = neg_errno(mlock(p, (size_t)page));
	munmap(p, (size_t)page);
	return r;
}

static long
sc_getpid(void) /* the control: always ok */
{
	return neg_errno(syscall(SYS_getpid));
}

/* A probe is fn(), or fn3(a[0], a[1], a[2]) for the families of similar calls. */
struct syscall_probe {
	const char *name;
	long (*fn)(void);
	long (*fn3)(long, long, long);
	long a[3];
};

/* clang-format off */
#define PROBE(n, f)		 {.name = n, .fn = f}
#define UNSHARE(n, flag)	 {.name = n, .fn3 = unshare_ns, .a = {flag, 0, 0}}
#define SOCKET(n, fam, type, pr) {.name = n, .fn3 = open_socket, .a = {fam, type, pr}}
/* clang-format on */

static const struct syscall_probe syscall_probes[] = {
	PROBE("getpid", sc_getpid),
	PROBE("mount", sc_mount),
	PROBE("umount2", sc_umount2),
	PROBE("pivot_root", sc_pivot_root),
	PROBE("chroot", sc_chroot),
	PROBE("fsopen", sc_fsopen),
	PROBE("fsmount", sc_fsmount),
	PROBE("open_tree", sc_open_tree),
	PROBE("move_mount", sc_move_mount),
	PROBE("mount_setattr", sc_mount_setattr),
	UNSHARE("unshare-user", CLONE_NEWUSER),
	UNSHARE("unshare-net", CLONE_NEWNET),
	UNSHARE("unshare-mount", CLONE_NEWNS),
	UNSHARE("unshare-pid", CLONE_NEWPID),
	UNSHARE("unshare-ipc", CLONE_NEWIPC),
	UNSHARE("unshare-uts", CLONE_NEWUTS),
	UNSHARE("unshare-cgroup", CLONE_NEWCGROUP),
	UNSHARE("unshare-time", CLONE_NEWTIME),
	PROBE("setns", sc_setns),
	PROBE("clone-newuser", sc_clone_newuser),
	PROBE("clone3", sc_clone3),
	PROBE("keyctl", sc_keyctl),
	PROBE("add_key", sc_add_key),
	PROBE("request_key", sc_request_key),
	PROBE("io_uring_setup", sc_io_uring_setup),
	PROBE("io_uring_enter", sc_io_uring_enter),
	PROBE("userfaultfd", sc_userfaultfd),
	PROBE("perf_event_open", sc_perf_event_open),
	PROBE("bpf", sc_bpf),
	PROBE("personality-query", sc_personality_query),
	PROBE("personality-exec", sc_personality_exec),
	PROBE("reboot", sc_reboot),
	PROBE("swapon", sc_swapon),
	PROBE("swapoff", sc_swapoff),
	PROBE("init_module", sc_init_module),
	PROBE("finit_module", sc_finit_module),
	PROBE("delete_module", sc_delete_module),
	PROBE("kexec_load", sc_kexec_load),
	PROBE("acct", sc_acct),
	PROBE("settimeofday", sc_settimeofday),
	PROBE("clock_settime", sc_clock_settime),
	PROBE("mknod-chr", sc_mknod_chr),
	PROBE("open_by_handle_at", sc_open_by_handle_at),
	PROBE("name_to_handle_at", sc_name_to_handle_at),
	PROBE("process_vm_readv", sc_process_vm_readv),
	PROBE("ptrace", sc_ptrace),
	PROBE("seccomp", sc_seccomp),
	PROBE("landlock_create_ruleset", sc_landlock),
	PROBE("syslog", sc_syslog),
	PROBE("pidfd_open", sc_pidfd_open),
	PROBE("memfd_create", sc_memfd_create),
#if defined(__x86_64__)
	PROBE("ioperm", sc_ioperm),
	PROBE("iopl", sc_iopl),
	PROBE("modify_ldt", sc_modify_ldt),
#endif
	SOCKET("socket-alg", AF_ALG, SOCK_SEQPACKET, 0),
	SOCKET("socket-vsock", AF_VSOCK, SOCK_STREAM, 0),
	SOCKET("socket-packet", AF_PACKET, SOCK_RAW, 0),
	SOCKET("socket-raw", AF_INET, SOCK_RAW, IPPROTO_ICMP),
	SOCKET("socket-inet", AF_INET, SOCK_STREAM, 0),
	SOCKET("socket-inet6", AF_INET6, SOCK_STREAM, 0),
	SOCKET("socket-unix", AF_UNIX, SOCK_STREAM, 0),
	SOCKET("socket-netlink", AF_NETLINK, SOCK_RAW, 0 /* NETLINK_ROUTE */),
	PROBE("setuid0", sc_setuid0),
	PROBE("setgroups0", sc_setgroups0),
	PROBE("chown-root", sc_chown_root),
	PROBE("sethostname", sc_sethostname),
	PROBE("mlock", sc_mlock),
};

static const struct syscall_probe *
find_syscall_probe(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(syscall_probes); i++)
		if (!strcmp(syscall_probes[i].name, name))
			return &syscall_probes[i];
	return NULL;
}

/*
 * Run a probe in a forked child so that a filter that kills shows up on
 * stdout as "signal=SIGSYS" (and, with pass_signal, in our exit status as
 * well).  If fork itself is refused, run it here.
 */
static long
call_probe(const struct syscall_probe *p)
{
	return p->fn ? p->fn() : p->fn3(p->a[0], p->a[1], p->a[2]);
}

static void
run_in_child(const struct syscall_probe *p, bool pass_signal)
{
	pid_t pid = fork_flushed();

	if (pid < 0) {
		report(call_probe(p));
		return;
	}
	if (pid == 0) {
		report(call_probe(p));
		fflush(stdout);
		_exit(0);
	}
	report_child_end(pid, pass_signal);
}

static int
cmd_syscall(int argc UNUSED, char **argv)
{
	const struct syscall_probe *p = find_syscall_probe(argv[0]);

	if (!p) {
		fprintf(stderr, "ajprobe: unknown syscall probe '%s'; one of:", argv[0]);
		for (size_t i = 0; i < ARRAY_SIZE(syscall_probes); i++)
			fprintf(stderr, " %s", syscall_probes[i].name);
		fprintf(stderr, "\n");
		return 2;
	}
	run_in_child(p, true);
	return 0;
}

static int
cmd_syscalls(int argc UNUSED, char **argv UNUSED)
{
	for (size_t i = 0; i < ARRAY_SIZE(syscall_probes); i++)
		printf("%s\n", syscall_probes[i].name);
	return 0;
}

/* --- terminal ioctls ----------------------------------------------------- */

/* An fd that is not a terminal: /dev/null, or a pipe where /dev is bare. */
static int
non_tty_fd(int *other)
{
	int p[2], fd;

	*other = -1;
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	*other = p[1];
	return p[0];
}

static long
tty_ioctl(unsigned long cmd, void *arg)
{
	long r;
	int other, fd = non_tty_fd(&other);

	if (fd < 0)
		return -errno;
	/* Raw syscall: the full 64-bit cmd reaches the filter, as an attacker's would. */
	r = neg_errno(syscall(SYS_ioctl, fd, cmd, arg));
	close(fd);
	if (other >= 0)
		close(other);
	return r;
}

static long
io_tiocsti(void) /* ENOTTY */
{
	char c = 'x';

	return tty_ioctl(TIOCSTI, &c);
}

static long
io_tiocsti_high(void) /* ENOTTY: the kernel ignores the high bits */
{
	char c = 'x';

	return tty_ioctl((unsigned long)TIOCSTI | (1UL << 32), &c);
}

static long
io_tioclinux(void) /* ENOTTY */
{
	char sub = 6; /* TIOCL_GETFGCONSOLE */

	return tty_ioctl(TIOCLINUX, &sub);
}

static int
cmd_tiocsti(int argc UNUSED, char **argv UNUSED)
{
	run_in_child(&(const struct syscall_probe){.fn = io_tiocsti}, true);
	return 0;
}

static int
cmd_tiocsti_high(int argc UNUSED, char **argv UNUSED)
{
	run_in_child(&(const struct syscall_probe){.fn = io_tiocsti_high}, true);
	return 0;
}

static int
cmd_tioclinux(int argc UNUSED, char **argv UNUSED)
{
	run_in_child(&(const struct syscall_probe){.fn = io_tioclinux}, true);
	return 0;
}

static int
cmd_tty(int argc UNUSED, char **argv UNUSED)
{
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);

	printf("stdin=%s stdout=%s stderr=%s devtty=%s\n", isatty(0) ? "tty" : "notty",
	       isatty(1) ? "tty" : "notty", isatty(2) ? "tty" : "notty",
	       fd >= 0 ? "ok" : errname(errno));
	if (fd >= 0)
		close(fd);
	return 0;
}

/* --- other ABIs ---------------------------------------------------------- */

#if defined(__x86_64__)
static long
abi_int80(void)
{
	long ret;

	/* i386 getpid (20) through the 32-bit entry point. */
	__asm__ volatile("int $0x80"
			 : "=a"(ret)
			 : "0"(20L)
			 : "r8", "r9", "r10", "r11", "memory", "cc");
	ret = (int)ret;
	return ret < 0 ? ret : 0;
}

static long
abi_x32(void)
{
	/* x32 getpid (39); ENOSYS on kernels built without x32. */
	return neg_errno(syscall(X32_SYSCALL_BIT | 39));
}
#endif

static int
cmd_int80(int argc UNUSED, char **argv UNUSED)
{
#if defined(__x86_64__)
	/* Being killed is the expected answer here: report it, exit 0. */
	run_in_child(&(const struct syscall_probe){.fn = abi_int80}, false);
#else
	printf("unsupported\n");
#endif
	return 0;
}

static int
cmd_x32(int argc UNUSED, char **argv UNUSED)
{
#if defined(__x86_64__)
	/* Being killed is the expected answer here: report it, exit 0. */
	run_in_child(&(const struct syscall_probe){.fn = abi_x32}, false);
#else
	printf("unsupported\n");
#endif
	return 0;
}

/* --- process creation ---------------------------------------------------- */

static void *
thread_main(void *arg)
{
	return arg;
}

static int
cmd_threads(int argc UNUSED, char **argv UNUSED)
{
	pthread_t t[4];
	int n = 0, r = 0;

	for (; n < 4; n++) {
		r = pthread_create(&t[n], NULL, thread_main, NULL);
		if (r)
			break;
	}
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	report(-(long)r);
	return 0;
}

static void
print_exit(const char *prefix, int st)
{
	if (WIFSIGNALED(st))
		printf("%s signal=%s\n", prefix, signame(WTERMSIG(st)));
	else
		printf("%s exit=%d\n", prefix, WEXITSTATUS(st));
}

static int
cmd_spawn(int argc UNUSED, char **argv)
{
	pid_t pid;
	int r, st;

	fflush(stdout);
	fflush(stderr);
	r = posix_spawn(&pid, argv[0], NULL, NULL, argv, environ);
	if (r) {
		report(-(long)r);
		return 0;
	}
	if (wait_child(pid, &st) < 0)
		report(-errno);
	else
		print_exit("ok", st);
	return 0;
}

static int
cmd_fork(int argc UNUSED, char **argv UNUSED)
{
	pid_t pid = fork_flushed();
	int st;

	if (pid < 0) {
		report(-errno);
		return 0;
	}
	if (pid == 0)
		_exit(0);
	report(wait_child(pid, &st) < 0 ? -errno : 0);
	return 0;
}

static int
cmd_exec(int argc UNUSED, char **argv)
{
	fflush(stdout);
	fflush(stderr);
	execv(argv[0], argv);
	report(-errno);
	return 0;
}

/* --- environment --------------------------------------------------------- */

static int
cmd_hostname(int argc UNUSED, char **argv UNUSED)
{
	struct utsname u;

	if (uname(&u) < 0)
		report(-errno);
	else
		printf("%s\n", u.nodename);
	return 0;
}

static int
cmd_env(int argc UNUSED, char **argv UNUSED)
{
	for (char **e = environ; e && *e; e++)
		printf("%s\n", *e);
	return 0;
}

static int
cmd_cwd(int argc UNUSED, char **argv UNUSED)
{
	char buf[PATH_MAX];

	if (!getcwd(buf, sizeof(buf)))
		report(-errno);
	else
		printf("%s\n", buf);
	return 0;
}

static int
cmd_rlimits(int argc UNUSED, char **argv UNUSED)
{
	static const struct name_entry res[] = {
		{RLIMIT_AS, "as"},	 {RLIMIT_CORE, "core"},	  {RLIMIT_CPU, "cpu"},
		{RLIMIT_DATA, "data"},	 {RLIMIT_FSIZE, "fsize"}, {RLIMIT_NOFILE, "nofile"},
		{RLIMIT_NPROC, "nproc"}, {RLIMIT_STACK, "stack"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(res); i++) {
		struct rlimit rl;
		char soft[32], hard[32];

		if (getrlimit((__rlimit_resource_t)res[i].value, &rl) < 0) {
			printf("%s %s\n", res[i].name, errname(errno));
			continue;
		}
		if (rl.rlim_cur == RLIM_INFINITY)
			snprintf(soft, sizeof(soft), "inf");
		else
			snprintf(soft, sizeof(soft), "%llu", (unsigned long long)rl.rlim_cur);
		if (rl.rlim_max == RLIM_INFINITY)
			snprintf(hard, sizeof(hard), "inf");
		else
			snprintf(hard, sizeof(hard), "%llu", (unsigned long long)rl.rlim_max);
		printf("%s %s %s\n", res[i].name, soft, hard);
	}
	return 0;
}

/* --- time and resources -------------------------------------------------- */

static int
cmd_sleep(int argc UNUSED, char **argv)
{
	double s;

	if (!parse_seconds(argv[0], &s))
		return 2;
	sleep_until(now_mono() + s);
	return 0;
}

/* Stdio of a process that outlives the probe: keep no test's pipe open. */
static void
detach_stdio(void)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	for (int i = 0; i < 3; i++) {
		if (fd >= 0)
			dup2(fd, i);
		else
			close(i);
	}
	if (fd > 2)
		close(fd);
}

static int
cmd_daemon(int argc UNUSED, char **argv)
{
	int p[2], st;
	pid_t child, gc = -1;
	double s;

	if (!parse_seconds(argv[0], &s))
		return 2;
	if (pipe2(p, O_CLOEXEC) < 0) {
		report(-errno);
		return 0;
	}
	child = fork_flushed();
	if (child < 0) {
		report(-errno);
		return 0;
	}
	if (child == 0) {
		pid_t g;

		close(p[0]);
		setsid();
		g = fork();
		if (g == 0) {
			close(p[1]);
			detach_stdio();
			sleep_until(now_mono() + s);
			_exit(0);
		}
		if (g < 0)
			g = -errno;
		if (write(p[1], &g, sizeof(g)) != sizeof(g))
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], &gc, sizeof(gc)) != sizeof(gc))
		gc = -EIO;
	close(p[0]);
	wait_child(child, &st);
	if (gc < 0)
		report(gc);
	else
		printf("pid=%d\n", (int)gc);
	return 0;
}

static double
cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmd_spin(int argc UNUSED, char **argv)
{
	volatile unsigned long counter = 0;
	double s, start, end, cpu0;

	if (!parse_seconds(argv[0], &s))
		return 2;
	cpu0 = cpu_seconds();
	start = now_mono();
	end = start + s;
	while (now_mono() < end)
		for (int i = 0; i < 10000; i++)
			counter++;
	printf("ok cpu_ms=%ld wall_ms=%ld\n", (long)((cpu_seconds() - cpu0) * 1000),
	       (long)((now_mono() - start) * 1000));
	return 0;
}

static int
cmd_alloc(int argc UNUSED, char **argv)
{
	long long mib;

	if (!parse_ll(argv[0], 0, 1 << 24, &mib))
		return 2;
	/* Kept until exit: the point is to hold the memory. */
	for (long long i = 0; i < mib; i++) {
		char *p = malloc(MIB);

		if (!p) {
			printf("ENOMEM at %lld\n", i);
			return 0;
		}
		memset(p, 0xa5, MIB);
	}
	printf("ok\n");
	return 0;
}

struct forkbomb_counters {
	long forks, eagain, other;
};

static void
forkbomb_loop(struct forkbomb_counters *c, double deadline, bool top)
{
	while (now_mono() < deadline) {
		pid_t pid;

		if (__atomic_load_n(&c->forks, __ATOMIC_RELAXED) >= FORKBOMB_MAX_FORKS) {
			if (top)
				usleep(10000);
			else
				break;
			continue;
		}
		pid = fork();
		if (pid == 0) {
			detach_stdio();
			top = false;
			continue;
		}
		if (pid > 0) {
			__atomic_fetch_add(&c->forks, 1, __ATOMIC_RELAXED);
			continue;
		}
		if (errno == EAGAIN)
			__atomic_fetch_add(&c->eagain, 1, __ATOMIC_RELAXED);
		else
			__atomic_fetch_add(&c->other, 1, __ATOMIC_RELAXED);
		usleep(1000);
	}
	if (top)
		return;
	/*
	 * Children stay a little past the deadline, holding their pids, and
	 * then go: a jail's teardown should kill them first, and on a host
	 * without a jail they do not live on.
	 */
	sleep_until(deadline + FORKBOMB_CHILD_LINGER_SEC);
	_exit(0);
}

static int
cmd_forkbomb(int argc UNUSED, char **argv)
{
	struct forkbomb_counters local = {0}, *c;
	double s;

	if (!parse_seconds(argv[0], &s) || s > 3600)
		return 2;
	/* Counters shared by the whole tree. */
	c = mmap(NULL, sizeof(*c), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (c == MAP_FAILED)
		c = &local;
	else
		memset(c, 0, sizeof(*c));
	fflush(stdout);
	fflush(stderr);
	forkbomb_loop(c, now_mono() + s, true);
	printf("forks=%ld eagain=%ld", __atomic_load_n(&c->forks, __ATOMIC_RELAXED),
	       __atomic_load_n(&c->eagain, __ATOMIC_RELAXED));
	if (c->other)
		printf(" other=%ld", __atomic_load_n(&c->other, __ATOMIC_RELAXED));
	printf("\n");
	return 0;
}

/* --- reaching other processes -------------------------------------------- */

static int
cmd_ptrace_attach(int argc UNUSED, char **argv)
{
	int pid;

	if (!parse_int(argv[0], 1, INT_MAX, &pid))
		return 2;
	/* SEIZE does not stop the tracee; our exit detaches. */
	report(neg_errno(syscall(SYS_ptrace, PTRACE_SEIZE, pid, NULL, NULL)));
	return 0;
}

static int
cmd_vm_read(int argc UNUSED, char **argv)
{
	unsigned long long addr = 0x400000;
	char path[64], buf[8], *maps;
	struct iovec local = {buf, sizeof(buf)}, remote;
	int pid, err;

	if (!parse_int(argv[0], 1, INT_MAX, &pid))
		return 2;
	/* The start of the first mapping if we may see it; any address will do. */
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	maps = slurp(path, 4096, NULL, &err);
	if (maps) {
		unsigned long long a;

		if (sscanf(maps, "%llx-", &a) == 1)
			addr = a;
		free(maps);
	}
	remote.iov_base = (void *)(uintptr_t)addr;
	remote.iov_len = sizeof(buf);
	report(neg_errno(syscall(SYS_process_vm_readv, pid, &local, 1UL, &remote, 1UL, 0UL)));
	return 0;
}

static int
cmd_signal(int argc UNUSED, char **argv)
{
	int pid, sig;

	if (!parse_int(argv[0], INT_MIN + 1, INT_MAX, &pid) || !parse_signal(argv[1], &sig))
		return 2;
	report(neg_errno(kill(pid, sig)));
	return 0;
}

static int
cmd_pidfd_getfd(int argc UNUSED, char **argv)
{
	long pidfd, fd;
	int pid, target;

	if (!parse_int(argv[0], 1, INT_MAX, &pid) || !parse_int(argv[1], 0, INT_MAX, &target))
		return 2;
	pidfd = syscall(SYS_pidfd_open, pid, 0U);
	if (pidfd < 0) {
		report(-errno);
		return 0;
	}
	fd = syscall(SYS_pidfd_getfd, (int)pidfd, target, 0U);
	report(neg_errno(fd));
	if (fd >= 0)
		close((int)fd);
	close((int)pidfd);
	return 0;
}

/* --- dispatch ------------------------------------------------------------ */

struct command {
	const char *name;
	const char *args;
	int min, max;
	int (*fn)(int argc, char **argv);
	const char *help;
};

static int cmd_help(int argc UNUSED, char **argv UNUSED);

static const struct command commands[] = {
	{"id", "", 0, 0, cmd_id, "uid=R euid=E gid=G egid=EG groups=G1,G2"},
	{"status", "", 0, 0, cmd_status,
	 "Uid/Gid/Groups/Cap*/NoNewPrivs/Seccomp* of /proc/self/status"},
	{"caps", "", 0, 0, cmd_caps, "eff= prm= inh= bnd= amb= (hex, from capget/prctl)"},
	{"ns", "", 0, 0, cmd_ns, "NAME=LINK per /proc/self/ns entry"},
	{"pid", "", 0, 0, cmd_pid, "pid= ppid= pgid= sid="},
	{"mounts", "", 0, 0, cmd_mounts, "/proc/self/mountinfo verbatim"},
	{"cgroup", "", 0, 0, cmd_cgroup,
	 "path= and memory.max= memory.swap.max= pids.max= cpu.max="},
	{"write", "PATH [DATA]", 1, 2, cmd_write,
	 "create/truncate, write DATA (default x) + newline"},
	{"fill", "PATH MIB", 2, 2, cmd_fill, "write MIB MiB: ok N | ERRNO at N"},
	{"mkdir", "PATH", 1, 1, cmd_mkdir, "mkdir 0755"},
	{"rm", "PATH", 1, 1, cmd_rm, "unlink or rmdir"},
	{"symlink", "TARGET PATH", 2, 2, cmd_symlink, "symlink"},
	{"read", "PATH", 1, 1, cmd_read, "read up to 64 KiB: ok N"},
	{"stat", "PATH", 1, 1, cmd_stat, "lstat: ok TYPE MODE UID GID"},
	{"statfs", "PATH", 1, 1, cmd_statfs, "ok type=FS flags=ro|rw,nosuid,... size= free="},
	{"ls", "PATH", 1, 1, cmd_ls, "sorted entries, one per line"},
	{"cat", "PATH", 1, 1, cmd_cat, "file contents"},
	{"pids", "", 0, 0, cmd_pids, "numeric entries of /proc"},
	{"fds", "", 0, 0, cmd_fds, "N -> target per open fd"},
	{"oom-score", "", 0, 0, cmd_oom_score, "/proc/self/oom_score_adj"},
	{"ifaces", "", 0, 0, cmd_ifaces, "NAME up|down (NAME ? ERRNO)"},
	{"routes", "", 0, 0, cmd_routes, "ipv4=N ipv6=N route counts"},
	{"udp-connect", "ADDR PORT", 2, 2, cmd_udp_connect, "UDP connect, nothing sent"},
	{"udp-send", "ADDR PORT", 2, 2, cmd_udp_send, "UDP connect + send one byte"},
	{"tcp-connect", "ADDR PORT [TIMEOUT_MS]", 2, 3, cmd_tcp_connect, "default 2000 ms"},
	{"tcp-listen", "PORT [TIMEOUT_MS]", 1, 2, cmd_tcp_listen,
	 "127.0.0.1:PORT: listening, then accepted (sends hello) or ETIMEDOUT (default 10000 ms)"},
	{"syscall", "NAME", 1, 1, cmd_syscall, "call NAME in a child: ok | ERRNO | signal=SIG"},
	{"syscalls", "", 0, 0, cmd_syscalls, "list the syscall probe names"},
	{"tiocsti", "", 0, 0, cmd_tiocsti, "ioctl TIOCSTI on a non-tty (ENOTTY unfiltered)"},
	{"tiocsti-high", "", 0, 0, cmd_tiocsti_high, "TIOCSTI with bit 32 set"},
	{"tioclinux", "", 0, 0, cmd_tioclinux, "ioctl TIOCLINUX on a non-tty"},
	{"tty", "", 0, 0, cmd_tty, "stdin= stdout= stderr= tty|notty, devtty=ok|ERRNO"},
	{"int80", "", 0, 0, cmd_int80, "i386 getpid via int $0x80 in a child"},
	{"x32", "", 0, 0, cmd_x32, "x32 getpid in a child"},
	{"threads", "", 0, 0, cmd_threads, "create and join 4 threads"},
	{"spawn", "PATH [ARGS...]", 1, INT_MAX, cmd_spawn, "posix_spawn: ok exit=N | ERRNO"},
	{"fork", "", 0, 0, cmd_fork, "fork + wait"},
	{"exec", "PATH [ARGS...]", 1, INT_MAX, cmd_exec, "execv; ERRNO on failure"},
	{"hostname", "", 0, 0, cmd_hostname, "uname nodename"},
	{"env", "", 0, 0, cmd_env, "environment, one per line"},
	{"cwd", "", 0, 0, cmd_cwd, "working directory"},
	{"rlimits", "", 0, 0, cmd_rlimits, "NAME soft hard (inf)"},
	{"sleep", "SECONDS", 1, 1, cmd_sleep, "sleep, fractional seconds allowed"},
	{"daemon", "SECONDS", 1, 1, cmd_daemon, "detached grandchild sleeping SECONDS: pid=N"},
	{"spin", "SECONDS", 1, 1, cmd_spin, "busy loop: ok cpu_ms=N wall_ms=N"},
	{"alloc", "MIB", 1, 1, cmd_alloc, "allocate and touch: ok | ENOMEM at N"},
	{"forkbomb", "SECONDS", 1, 1, cmd_forkbomb, "fork tree for SECONDS: forks=N eagain=M"},
	{"ptrace-attach", "PID", 1, 1, cmd_ptrace_attach, "PTRACE_SEIZE"},
	{"vm-read", "PID", 1, 1, cmd_vm_read, "process_vm_readv of 8 bytes"},
	{"signal", "PID SIG", 2, 2, cmd_signal, "kill (SIG number or name)"},
	{"pidfd-getfd", "PID FD", 2, 2, cmd_pidfd_getfd, "pidfd_open + pidfd_getfd"},
	{"help", "", 0, 0, cmd_help, "this list"},
};

static void
print_usage(FILE *f)
{
	fprintf(f, "usage: ajprobe SUBCOMMAND [ARGS...]\n"
		   "prints ok / an errno name / facts, one per line; exit 0 when the probe ran,\n"
		   "2 on a usage error\n\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-14s %-24s %s\n", commands[i].name, commands[i].args,
			commands[i].help);
	fprintf(f, "\nsyscall probes:");
	for (size_t i = 0; i < ARRAY_SIZE(syscall_probes); i++)
		fprintf(f, "%s%s", i % 6 ? " " : "\n  ", syscall_probes[i].name);
	fprintf(f, "\n");
}

static int
cmd_help(int argc UNUSED, char **argv UNUSED)
{
	print_usage(stdout);
	return 0;
}

int
main(int argc, char **argv)
{
	const struct command *cmd = NULL;
	int r;

	/* Line-buffered: output survives a kill and is never duplicated by fork. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2) {
		print_usage(stderr);
		return 2;
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(commands[i].name, argv[1]))
			cmd = &commands[i];
	if (!cmd) {
		fprintf(stderr, "ajprobe: unknown subcommand '%s'\n", argv[1]);
		print_usage(stderr);
		return 2;
	}
	argc -= 2;
	argv += 2;
	if (argc < cmd->min || argc > cmd->max) {
		fprintf(stderr, "usage: ajprobe %s %s\n", cmd->name, cmd->args);
		return 2;
	}
	r = cmd->fn(argc, argv);
	if (r == 2 && cmd->fn != cmd_syscall)
		fprintf(stderr, "usage: ajprobe %s %s\n", cmd->name, cmd->args);
	fflush(stdout);
	return r;
}
