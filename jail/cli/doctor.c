/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agentjail doctor: what this host can and cannot do for agentjail, the
 * way a bug report needs it. One line per check, "ok", "warn" or "fail",
 * and for the last two the exact fix. Exits 1 if anything the default
 * profile needs fails.
 */
#include <fcntl.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "options.h"
#include "net.h"
#include "uidalloc.h"

static int failures;

static void __attribute__((format(printf, 3, 4)))
line(const char *status, const char *fix, const char *fmt, ...)
{
	va_list ap;

	printf("%-4s  ", status);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (fix)
		printf("      fix: %s\n", fix);
	if (strcmp(status, "fail") == 0)
		failures++;
}

static long
read_long(const char *path, long dflt)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	long v;

	if (!f || fscanf(f, "%ld", &v) != 1)
		return dflt;
	return v;
}

static void
check_kernel(void)
{
	struct utsname u;
	int major = 0, minor = 0;

	uname(&u);
	sscanf(u.release, "%d.%d", &major, &minor);
	int v = major * 1000 + minor;
	if (v >= 5014)
		line("ok", NULL,
		     "kernel: %s (>= 5.14: clone3, pidfd, openat2, mount_setattr, "
		     "cgroup.kill)",
		     u.release);
	else if (v >= 5012)
		line("warn", "upgrade to Linux 5.14 or later",
		     "kernel: %s: no cgroup.kill before 5.14 (jails are killed by freezing "
		     "their cgroup and killing each process)",
		     u.release);
	else
		line("fail", "upgrade to Linux 5.14 or later",
		     "kernel: %s: agentjail needs mount_setattr (5.12) and clone3 with "
		     "CLONE_INTO_CGROUP (5.7)",
		     u.release);
}

/* Namespaces: the sysctls users trip over, then the real thing. */
static void
check_userns(void)
{
	long max = read_long("/proc/sys/user/max_user_namespaces", -1);
	if (max == 0)
		line("fail", "sysctl -w user.max_user_namespaces=15000",
		     "user namespaces: user.max_user_namespaces is 0");
	else
		line("ok", NULL, "user namespaces: user.max_user_namespaces = %ld", max);
	long aa = read_long("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", -1);
	if (aa == 1)
		line("ok", NULL,
		     "user namespaces: kernel.apparmor_restrict_unprivileged_userns = 1 "
		     "(restricts unprivileged users only; agentjail runs as root)");
	long deb = read_long("/proc/sys/kernel/unprivileged_userns_clone", -1);
	if (deb == 0)
		line("ok", NULL,
		     "user namespaces: kernel.unprivileged_userns_clone = 0 (restricts "
		     "unprivileged users only; agentjail runs as root)");

	pid_t p = fork();
	if (p == 0) {
		int flags = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET |
			    CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP;
		_exit(unshare(flags) == 0 ? 0 : errno);
	}
	int st = 0;
	waitpid(p, &st, 0);
	int err = WIFEXITED(st) ? WEXITSTATUS(st) : EINTR;
	if (err == 0)
		line("ok", NULL,
		     "namespaces: user, pid, mount, net, ipc, uts and cgroup can be "
		     "created");
	else
		line("fail",
		     "run as root; check user.max_user_namespaces and any security module "
		     "restricting namespaces",
		     "namespaces: unshare failed: %s", strerror(err));
}

static void
check_cgroup(void)
{
	struct jail_cgroup_info i;
	char names[64], fix[600];

	jail_cgroup_info(&i);
	if (strcmp(i.backend, "none") == 0) {
		line("warn",
		     "mount cgroup2 (mount -t cgroup2 none /sys/fs/cgroup) or boot with "
		     "systemd.unified_cgroup_hierarchy=1",
		     "cgroup v2: %s: no per-jail cgroups; jails end with their pid namespace, "
		     "limits fall back to rlimits",
		     i.why);
		return;
	}
	if (i.hybrid)
		line("warn",
		     "boot with systemd.unified_cgroup_hierarchy=1 (and cgroup_no_v1=all) for a "
		     "pure cgroup v2 hierarchy",
		     "cgroup v2: hybrid layout: cgroup2 at %s, the other controllers held by "
		     "cgroup v1",
		     i.mount);
	else
		line("ok", NULL, "cgroup v2: %s (pure cgroup2 hierarchy)", i.mount);

	unsigned core = JAIL_CGROUP_MEMORY | JAIL_CGROUP_PIDS | JAIL_CGROUP_CPU;
	unsigned missing = core & ~i.enforceable;
	if (!missing) {
		line("ok", NULL, "cgroup v2: controllers %s enabled for %s",
		     jail_cgroup_names(i.enforceable, names, sizeof(names)), i.base);
	} else if (core & i.available & ~i.enforceable) {
		snprintf(fix, sizeof(fix), "%s", i.why[0] ? i.why : "see agentjail(1)");
		line("warn", fix, "cgroup v2: %s available but not enabled for %s",
		     jail_cgroup_names(missing, names, sizeof(names)), i.base);
	} else {
		jail_cgroup_names(missing, names, sizeof(names));
		line("warn",
		     i.hybrid ? "boot with systemd.unified_cgroup_hierarchy=1 so that cgroup v2 "
				"holds the controllers"
			      : "enable them in the parent's cgroup.subtree_control, or run "
				"agentjail under systemd with Delegate=yes",
		     "cgroup v2: no %s controller%s at %s: memory, pids and cpu limits fall back "
		     "to rlimits (RLIMIT_AS per process, RLIMIT_NPROC, RLIMIT_CPU as a total); "
		     "--require_cgroups refuses instead",
		     names, strchr(names, ' ') ? "s" : "", i.mount);
	}
	unsigned extra = (JAIL_CGROUP_IO | JAIL_CGROUP_CPUSET) & i.available;
	if (extra)
		line("ok", NULL, "cgroup v2: %s available for jails that ask for them",
		     jail_cgroup_names(extra, names, sizeof(names)));

	char test[4200];
	snprintf(test, sizeof(test), "%.4000s/doctor-%d", i.base, (int)getpid());
	if (mkdir(test, 0755) == 0) {
		rmdir(test);
		line("ok", NULL, "cgroup v2: can create child cgroups under %s", i.base);
	} else {
		line("fail",
		     "make the cgroup writable for root, or give agentjail a delegated "
		     "subtree",
		     "cgroup v2: cannot create %s: %s", test, strerror(errno));
	}
	if (i.has_kill)
		line("ok", NULL, "cgroup v2: cgroup.kill present");
	else
		line("warn", "upgrade to Linux 5.14 or later",
		     "cgroup v2: no cgroup.kill: jails are killed by freezing and killing each "
		     "process");
}

static void
check_seccomp(void)
{
	char buf[256] = "";
	_cleanup_fclose_ FILE *f = fopen("/proc/sys/kernel/seccomp/actions_avail", "re");

	if (!f || !fgets(buf, sizeof(buf), f)) {
		line("fail", "use a kernel built with CONFIG_SECCOMP_FILTER",
		     "seccomp: no filter support");
		return;
	}
	buf[strcspn(buf, "\n")] = '\0';
	if (strstr(buf, "kill_process") && strstr(buf, "errno") && strstr(buf, "log"))
		line("ok", NULL, "seccomp: filters, actions %s", buf);
	else
		line("warn", "use Linux 4.14 or later",
		     "seccomp: actions %s (kill_process, errno and log expected)", buf);

	/* ia32 emulation: a foreign ABI the filter refuses; without it there
	 * is nothing to refuse. */
	pid_t p = fork();
	if (p == 0) {
		long ret = 20; /* i386 getpid */
		__asm__ volatile("int $0x80" : "+a"(ret) : : "memory");
		_exit(ret > 0 ? 0 : 1);
	}
	int st = 0;
	waitpid(p, &st, 0);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		line("ok", NULL,
		     "seccomp: ia32 emulation is on: i386 system calls reach the kernel, and "
		     "the jails' filters kill them");
	else
		line("ok", NULL, "seccomp: no ia32 emulation (no i386 system calls to refuse)");
}

static void
check_syscalls(void)
{
	int pfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	errno = 0;
	long c3 = syscall(SYS_clone3, NULL, 0);
	int c3err = c3 < 0 ? errno : 0;
	struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_BENEATH};
	int o2 = (int)syscall(SYS_openat2, AT_FDCWD, ".", &how, sizeof(how));
	int o2err = o2 < 0 ? errno : 0;

	if (pfd >= 0 && c3err != ENOSYS && o2 >= 0)
		line("ok", NULL, "system calls: pidfd_open, clone3, openat2");
	else
		line("fail", "upgrade to Linux 5.14 or later", "system calls: %s%s%s missing",
		     pfd < 0 ? "pidfd_open " : "", c3err == ENOSYS ? "clone3 " : "",
		     o2err == ENOSYS ? "openat2" : "");
	if (pfd >= 0)
		close(pfd);
	if (o2 >= 0)
		close(o2);
}

/* A filesystem or driver built in (listed) or available as a module. */
static bool
kernel_has(const char *list_file, const char *name, const char *module)
{
	char line_buf[256], path[512];
	struct utsname u;
	_cleanup_fclose_ FILE *f = fopen(list_file, "re");

	while (f && fgets(line_buf, sizeof(line_buf), f))
		if (strstr(line_buf, name))
			return true;
	snprintf(path, sizeof(path), "/sys/module/%s", module);
	if (access(path, F_OK) == 0)
		return true;
	uname(&u);
	snprintf(path, sizeof(path), "/lib/modules/%s/modules.dep", u.release);
	_cleanup_fclose_ FILE *dep = fopen(path, "re");
	snprintf(path, sizeof(path), "/%s.ko", module);
	while (dep && fgets(line_buf, sizeof(line_buf), dep)) {
		char *colon = strchr(line_buf, ':');
		if (colon) {
			*colon = '\0';
			if (strstr(line_buf, path))
				return true;
		}
	}
	return false;
}

static void
check_features(void)
{
	if (kernel_has("/proc/filesystems", "overlay", "overlay"))
		line("ok", NULL, "overlayfs: available (for profiles with an overlay rootfs)");
	else
		line("warn", "modprobe overlay, or use a kernel with CONFIG_OVERLAY_FS",
		     "overlayfs: not available (the default profile does not need it)");
	int links = net_probe_links();
	bool veth = links & 1, macvlan = links & 2;
	if (veth && macvlan)
		line("ok", NULL,
		     "network: veth and macvlan available (network modes veth, macvlan)");
	else
		line("warn", "modprobe veth macvlan",
		     "network: %s%s%s cannot be created (only needed by network modes veth and "
		     "macvlan)",
		     veth ? "" : "veth", !veth && !macvlan ? " and " : "",
		     macvlan ? "" : "macvlan");
}

static void
check_ids(void)
{
	struct jail_config c;
	struct jail_error e = {0};

	jail_config_init(&c);
	if (jail_profile_load(&c, "default", &e) < 0) {
		line("fail", "fix the profile", "profile default: %s", e.msg);
		jail_config_free(&c);
		return;
	}
	if (uidalloc_check_subids(NULL, NULL, c.host_id_min, c.host_id_max, &e) < 0)
		line("fail", "choose another host_ids range in the profile", "host ids: %s", e.msg);
	else
		line("ok", NULL, "host ids: %u-%u clear of /etc/subuid and /etc/subgid",
		     c.host_id_min, c.host_id_max);
	jail_config_free(&c);
}

/* The real thing: a jail of the default profile runs /bin/true. */
static void
check_jail(void)
{
	struct jail_config c;
	struct jail_filter *f = NULL;
	struct jail_error e = {0};
	struct jail_result r;
	struct jail *j = NULL;
	char *argv[] = {"true"};

	jail_config_init(&c);
	int rc = jail_profile_load(&c, "default", &e);
	if (rc >= 0)
		rc = jail_config_set_argv(&c, argv, 1, &e);
	if (rc >= 0)
		rc = jail_filter_build(&c.seccomp, &f, &e);
	uint64_t t0 = now_us();
	if (rc >= 0)
		rc = jail_start(&c, f, NULL, &j, &e);
	if (rc >= 0)
		rc = jail_wait(j, &r, &e);
	uint64_t t1 = now_us();
	if (rc >= 0 && r.termination == JAIL_TERM_EXIT && r.exit_code == 0)
		line("ok", NULL,
		     "jail: the default profile built a jail and ran true in it (%.1f ms)",
		     (double)(t1 - t0) / 1000.0);
	else
		line("fail", "see the error above and agentjail(1)",
		     "jail: the default profile cannot run true: %s",
		     rc < 0	      ? e.msg
		     : r.error.msg[0] ? r.error.msg
				      : "unexpected end");
	jail_free(j);
	jail_filter_free(f);
	jail_config_free(&c);
}

int
cli_doctor(void)
{
	if (geteuid() != 0)
		line("warn", "run agentjail doctor as root",
		     "running as uid %u: the checks below see what this user can do", geteuid());
	check_kernel();
	check_userns();
	check_cgroup();
	check_seccomp();
	check_syscalls();
	check_features();
	check_ids();
	check_jail();
	printf("%s\n", failures ? "agentjail cannot run its default profile here"
				: "agentjail can run its default profile here");
	return failures ? 1 : 0;
}
