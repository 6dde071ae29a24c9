/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libagentjail: one jail from one config.
 *
 * Build a struct jail_config (from a profile, command-line options or an API
 * request), validate it with jail_config_validate(), compile its seccomp
 * policy once with jail_filter_build(), then start any number of jails from
 * it with jail_start().
 *
 * Error contract: every function that can fail returns 0 (or a non-negative
 * value) on success and a negative errno on failure, and fills the
 * struct jail_error it was given with that errno and one line of text that
 * names the step, the object and the cause, e.g.
 *   "mount /usr -> /usr (bind,ro): No such file or directory".
 * The library never prints; front ends do.
 */
#ifndef AGENTJAIL_JAIL_H
#define AGENTJAIL_JAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define JAIL_API __attribute__((visibility("default")))

#define JAIL_ERROR_MAX 1024

struct jail_error {
	int err; /* positive errno of the failure, 0 if none */
	char msg[JAIL_ERROR_MAX];
};

/* Namespaces, each switchable. */
enum {
	JAIL_NS_USER = 1u << 0,
	JAIL_NS_PID = 1u << 1,
	JAIL_NS_MOUNT = 1u << 2,
	JAIL_NS_NET = 1u << 3,
	JAIL_NS_IPC = 1u << 4,
	JAIL_NS_UTS = 1u << 5,
	JAIL_NS_CGROUP = 1u << 6,
	JAIL_NS_TIME = 1u << 7,
	JAIL_NS_DEFAULT = JAIL_NS_USER | JAIL_NS_PID | JAIL_NS_MOUNT | JAIL_NS_NET | JAIL_NS_IPC |
			  JAIL_NS_UTS | JAIL_NS_CGROUP,
};

enum jail_mount_kind {
	JAIL_MOUNT_BIND,
	JAIL_MOUNT_TMPFS,
	JAIL_MOUNT_SYMLINK,
};

struct jail_mount {
	enum jail_mount_kind kind;
	char *source;  /* bind: host path; symlink: what the link points to; tmpfs: NULL */
	char *target;  /* absolute path inside the jail (bind/tmpfs mount point, symlink path) */
	bool readonly; /* bind, tmpfs */
	bool optional; /* bind: skip silently when the source does not exist */
	uint64_t size; /* tmpfs: bytes, 0 = JAIL_TMPFS_DEFAULT_SIZE */
	uint32_t mode; /* tmpfs: permission bits of the root, 0 = 0755 */
};

enum jail_rlimit_res {
	JAIL_RL_AS,
	JAIL_RL_CORE,
	JAIL_RL_CPU,
	JAIL_RL_FSIZE,
	JAIL_RL_NOFILE,
	JAIL_RL_NPROC,
	JAIL_RL_STACK,
	JAIL_RL_COUNT,
};

enum jail_rlimit_mode {
	JAIL_RLIMIT_INHERIT = 0, /* leave as inherited from the caller */
	JAIL_RLIMIT_VALUE,	 /* value, in bytes / seconds / count */
	JAIL_RLIMIT_SOFT,	 /* the caller's current soft limit */
	JAIL_RLIMIT_HARD,	 /* the caller's current hard limit */
	JAIL_RLIMIT_INF,	 /* RLIM_INFINITY (clamped to the hard limit) */
};

/* Limits are only ever lowered: a value above the current hard limit is
 * clamped to it (raising needs CAP_SYS_RESOURCE, which is not assumed). */
struct jail_rlimit {
	enum jail_rlimit_mode mode;
	uint64_t value;
};

enum jail_seccomp_policy {
	JAIL_SECCOMP_POLICY_DEFAULT, /* Docker-parity allow-list minus further denials */
	JAIL_SECCOMP_POLICY_MINIMAL, /* stricter allow-list */
	JAIL_SECCOMP_POLICY_EMPTY,   /* nothing allowed but syscalls.allow */
};

enum jail_seccomp_action {
	JAIL_SECCOMP_ACTION_ERRNO, /* EPERM */
	JAIL_SECCOMP_ACTION_KILL,  /* kill the process */
	JAIL_SECCOMP_ACTION_LOG,   /* allow, but log to the audit log */
};

struct jail_seccomp {
	enum jail_seccomp_policy policy;
	enum jail_seccomp_action action;
	char **allow; /* syscall names added to the policy */
	size_t n_allow;
	char **deny; /* syscall names removed from the policy (deny wins) */
	size_t n_deny;
	bool disabled_for_tests; /* test-only: load no filter at all */
};

enum jail_net_mode {
	JAIL_NET_NONE, /* new network namespace with only lo, up */
	JAIL_NET_HOST, /* the host's network namespace */
};

/* cgroup v2 limits; 0 / NULL means no limit. */
struct jail_cgroup_limits {
	uint64_t memory_max;	 /* bytes */
	uint64_t memory_high;	 /* bytes: reclaim pressure above this */
	uint64_t pids_max;	 /* processes */
	uint32_t cpu_ms_per_sec; /* CPU time per wall second, ms (1000 = one CPU) */
	char *cpuset;		 /* cpuset.cpus, e.g. "0-1" */
	char **io_max;		 /* io.max lines, "MAJ:MIN rbps=N wbps=N riops=N wiops=N" */
	size_t n_io_max;
	bool require_cgroups; /* a limit that cannot be enforced is an error */
};

/* cgroup v2 controllers. */
enum {
	JAIL_CGROUP_MEMORY = 1u << 0,
	JAIL_CGROUP_PIDS = 1u << 1,
	JAIL_CGROUP_CPU = 1u << 2,
	JAIL_CGROUP_IO = 1u << 3,
	JAIL_CGROUP_CPUSET = 1u << 4,
};

#define JAIL_ID_AUTO ((uint32_t)-1)

/* Caps on everything a profile, option or request can make large. */
#define JAIL_MAX_PATH	  4095
#define JAIL_MAX_NAME	  64
#define JAIL_MAX_MOUNTS	  256
#define JAIL_MAX_ENV	  256
#define JAIL_MAX_ENV_LEN  32768
#define JAIL_MAX_ARGS	  4096
#define JAIL_MAX_ARG_LEN  131072
#define JAIL_MAX_SYSCALLS 512
#define JAIL_MAX_IO_MAX	  16

/*
 * An agent runtime (profile format 3): a long-lived agent program in the
 * jail, started by agentjaild rather than by a command, serving HTTP on
 * ports of its own that agentjaild reaches for its clients. Every string is
 * checked by jail_config_validate(); the JAIL_*_EXPECT texts say what it
 * accepts, for front ends' messages.
 */
#define JAIL_MAX_AGENT_ARGS	     256 /* entrypoint: 1 to this many arguments */
#define JAIL_MAX_PORTS		     8
#define JAIL_PORT_NAME_MAX	     32
#define JAIL_HTTP_PATH_MAX	     256
#define JAIL_MAX_TOOLS		     16
#define JAIL_MAX_SECRETS	     16
#define JAIL_SECRET_MAX_BYTES	     1048576u
#define JAIL_SECRET_DEFAULT_BYTES    65536u
#define JAIL_HEALTH_MAX_INTERVAL_S   3600u
#define JAIL_HEALTH_MAX_TIMEOUT_S    600u
#define JAIL_HEALTH_MAX_START_S	     3600u
#define JAIL_DEFAULT_HEALTH_INTERVAL 5u
#define JAIL_DEFAULT_HEALTH_TIMEOUT  2u
#define JAIL_DEFAULT_HEALTH_START    30u
#define JAIL_RESTART_MAX_LIMIT	     100u
#define JAIL_DEFAULT_RESTART_MAX     3u
#define JAIL_TOOLS_DIR		     "/tools"	    /* tool NAME is at /tools/NAME */
#define JAIL_SECRETS_DIR	     "/run/secrets" /* secret NAME is the file /run/secrets/NAME */
#define JAIL_SECRETS_DIR_MODE	     0500u
#define JAIL_PORT_NAME_EXPECT	     "1-32 characters of [a-z0-9_-]"
#define JAIL_FILE_NAME_EXPECT	     "1-64 characters of [A-Za-z0-9._-], other than '.' and '..'"
#define JAIL_HTTP_PATH_EXPECT                                                                      \
	"a path starting with '/', at most 256 bytes of printable ASCII without spaces"
#define JAIL_HTTP_PATH_PREFIX_EXPECT JAIL_HTTP_PATH_EXPECT " and without '..'"

/* One HTTP port the agent listens on, inside the jail's network namespace. */
struct jail_port {
	char name[JAIL_PORT_NAME_MAX + 1]; /* [a-z0-9_-]{1,32}, unique among ports */
	uint16_t port;			   /* 1-65535, unique among ports */
	/* The URL path this port serves: agentjaild forwards requests under
	 * it. Starts with '/', no "..", printable ASCII without spaces,
	 * JAIL_HTTP_PATH_MAX bytes at most; "/" by default. The protocol is
	 * HTTP, the only one a profile can name so far. */
	char path_prefix[JAIL_HTTP_PATH_MAX + 1];
};

/* How agentjaild tells that the agent is up: an HTTP GET of path on the
 * named port, answered with a 2xx within timeout_s, every interval_s;
 * failures in the first start_period_s after a (re)start do not count. */
struct jail_health {
	bool set;			   /* no health check unless set */
	char path[JAIL_HTTP_PATH_MAX + 1]; /* JAIL_HTTP_PATH_EXPECT */
	char port[JAIL_PORT_NAME_MAX + 1]; /* the name of one of ports[] */
	uint32_t interval_s;		   /* 1-3600, default 5 */
	uint32_t timeout_s;		   /* 1-600, default 2 */
	uint32_t start_period_s;	   /* 1-3600, default 30 */
};

/* A host directory of programs, bind-mounted read-only at /tools/NAME, with
 * /tools/NAME/bin and /tools/NAME appended to the PATH in env. Added with
 * jail_config_add_tool(), which keeps the three in step: the mount is one of
 * the config's mounts (target /tools/NAME, readonly, same source). */
struct jail_tool {
	char name[JAIL_MAX_NAME + 1]; /* JAIL_FILE_NAME_EXPECT, unique among tools */
	char *source;		      /* host path, absolute and normalized; owned */
};

/* A file a session delivers at creation, as JAIL_SECRETS_DIR/NAME. With any
 * secret the jail has a tmpfs at /run/secrets, mode 0500, owned by the
 * jail's uid and gid, nosuid, nodev, noexec, of jail_secrets_size() bytes. */
struct jail_secret {
	char name[JAIL_MAX_NAME + 1]; /* JAIL_FILE_NAME_EXPECT, unique among secrets */
	bool required;		      /* a session without it is refused; default true */
	uint32_t max_bytes;	      /* 1-1048576, default 65536 */
};

enum jail_restart {
	JAIL_RESTART_NEVER,	 /* the default: an agent that exits stays down */
	JAIL_RESTART_ON_FAILURE, /* restarted after a non-zero exit or a signal */
};

struct jail_config {
	char *name; /* profile name, for messages; may be NULL */

	unsigned namespaces; /* JAIL_NS_* */
	uint32_t uid, gid;   /* inside the jail (with a user namespace) */
	/* Host uid/gid the jail runs as: JAIL_ID_AUTO takes a free one from
	 * [host_id_min, host_id_max] through the host-wide allocator. */
	uint32_t host_uid, host_gid;
	uint32_t host_id_min, host_id_max;

	char *rootfs; /* NULL: host system directories, read-only */
	struct jail_mount *mounts;
	size_t n_mounts;

	uint64_t tmp_size; /* /tmp tmpfs bytes, unless tmp_dir is set */
	char *tmp_dir;	   /* host directory bind-mounted rw at /tmp */
	uint64_t workspace_size;
	char *workspace_dir; /* host directory bind-mounted rw at /workspace */

	bool proc;    /* fresh /proc */
	bool dev_pts; /* /dev/pts (new instance) and /dev/ptmx */
	bool dev_tty; /* /dev/tty */
	uint64_t shm_size;

	char *hostname;
	char *cwd;
	char **env; /* "NAME=value", later entries override earlier ones */
	size_t n_env;
	bool keep_env; /* start from the caller's environment */

	struct jail_rlimit rlimits[JAIL_RL_COUNT];
	uint64_t time_limit_ms; /* wall-clock limit of the whole jail; 0 = none */
	struct jail_cgroup_limits cgroup;
	struct jail_seccomp seccomp;
	enum jail_net_mode net;

	char **argv; /* command and arguments; NULL-terminated */
	size_t argc;

	char *runtime_dir; /* host directory for the uid ledger and mount staging */

	/* agentjaild only: jails of this profile kept ready (warm pool), and
	 * the most that may live at once (0: no cap but the daemon's). */
	uint32_t pool_size, pool_max;
	/* agentjaild only: a session's idle timeout and lifetime, seconds
	 * (0: the daemon's); both the default and the most a session may ask. */
	uint32_t session_idle_s, session_lifetime_s;

	/*
	 * An agent runtime (profile format 3; see the structs above). The
	 * entrypoint, ports, health check and restart policy are for
	 * agentjaild, which starts agent_argv in the jail (with the config's
	 * env, cwd and uid, like a command) instead of waiting for commands;
	 * agentjail(1) runs the command it is given and ignores them. tools
	 * and secrets shape the jail's filesystem (and PATH) for every front
	 * end. The validator requires an entrypoint for ports and for a
	 * restart policy other than never, ports for a health check, and a
	 * health port that is one of ports.
	 */
	char **agent_argv; /* the entrypoint, NULL-terminated; NULL if none; owned */
	size_t agent_argc; /* 0 (no agent) or 1 to JAIL_MAX_AGENT_ARGS */
	struct jail_port ports[JAIL_MAX_PORTS];
	size_t n_ports;
	struct jail_health health;
	struct jail_tool tools[JAIL_MAX_TOOLS];
	size_t n_tools;
	struct jail_secret secrets[JAIL_MAX_SECRETS];
	size_t n_secrets;
	enum jail_restart restart;
	uint32_t restart_max; /* the most restarts in the jail's lifetime; 0-100, default 3 */
};

/* Defaults. */
#define JAIL_DEFAULT_UID	    1000u
#define JAIL_DEFAULT_GID	    1000u
#define JAIL_DEFAULT_HOST_ID_MIN    1000000u
#define JAIL_DEFAULT_HOST_ID_MAX    1999999u
#define JAIL_DEFAULT_HOSTNAME	    "agentjail"
#define JAIL_DEFAULT_CWD	    "/workspace"
#define JAIL_DEFAULT_RUNTIME_DIR    "/run/agentjail"
#define JAIL_DEFAULT_PATH	    "/usr/local/bin:/usr/bin:/bin"
#define JAIL_TMPFS_DEFAULT_SIZE	    (64ull << 20)
#define JAIL_DEFAULT_TMP_SIZE	    (256ull << 20)
#define JAIL_DEFAULT_WORKSPACE_SIZE (512ull << 20)
#define JAIL_DEFAULT_SHM_SIZE	    (64ull << 20)

/* --- config.c --------------------------------------------------------- */

JAIL_API void jail_config_init(struct jail_config *c);
JAIL_API void jail_config_free(struct jail_config *c);

enum {
	JAIL_VALIDATE_RUN = 1u << 0, /* also require a command (argv) */
};
/* The one validator shared by every front end; makes no system calls that
 * change anything. */
JAIL_API int jail_config_validate(const struct jail_config *c, unsigned flags,
				  struct jail_error *e);

/* Builders that keep the config consistent; all copy their arguments. */
JAIL_API int jail_config_add_mount(struct jail_config *c, enum jail_mount_kind kind,
				   const char *source, const char *target, bool readonly,
				   uint64_t size, struct jail_error *e);
/* "NAME=value" sets NAME, replacing an earlier value. */
JAIL_API int jail_config_set_env(struct jail_config *c, const char *name_value,
				 struct jail_error *e);
JAIL_API int jail_config_set_argv(struct jail_config *c, char *const *argv, size_t argc,
				  struct jail_error *e);
/* Replace *dst with a copy of src (NULL allowed). */
JAIL_API int jail_config_set_string(char **dst, const char *src, struct jail_error *e);
JAIL_API int jail_config_add_syscall(struct jail_seccomp *s, bool allow, const char *name,
				     struct jail_error *e);
JAIL_API int jail_config_add_io_max(struct jail_config *c, const char *line, struct jail_error *e);
JAIL_API void jail_config_clear_io_max(struct jail_config *c);
/* The agent's argv (argc 0: no agent), checked for count and length. */
JAIL_API int jail_config_set_agent_argv(struct jail_config *c, char *const *argv, size_t argc,
					struct jail_error *e);
/* A tool: a read-only bind mount of source at /tools/NAME, and
 * ":/tools/NAME/bin:/tools/NAME" appended to env's PATH (JAIL_DEFAULT_PATH
 * when env has none). -EINVAL for a bad name or source, -E2BIG past
 * JAIL_MAX_TOOLS. */
JAIL_API int jail_config_add_tool(struct jail_config *c, const char *name, const char *source,
				  struct jail_error *e);
/* Undo every jail_config_add_tool(): the tools, their mounts, and their
 * part of PATH (when PATH still ends with it). */
JAIL_API void jail_config_clear_tools(struct jail_config *c);
/* The size of the /run/secrets tmpfs: each secret's max_bytes rounded up
 * to 4 KiB pages, plus 64 KiB; 0 without secrets. */
JAIL_API uint64_t jail_secrets_size(const struct jail_config *c);
/* Syntax checks shared by the parsers: a cpuset.cpus list ("0-3,6"), and an
 * io.max line ("8:0 rbps=1048576 wiops=max"). */
JAIL_API bool jail_cpuset_ok(const char *s);
/* An absolute, normalized path (no empty, "." or ".." components, no
 * trailing '/'), at most JAIL_MAX_PATH bytes; "/" only with allow_root. */
JAIL_API bool jail_path_normal(const char *p, bool allow_root);
JAIL_API bool jail_io_max_ok(const char *s);
/* Names and paths of agent runtimes, as the JAIL_*_EXPECT texts describe:
 * a port name, a tool or secret name (a file name), an HTTP path (a
 * path_prefix also without ".."). */
JAIL_API bool jail_port_name_ok(const char *s);
JAIL_API bool jail_file_name_ok(const char *s);
JAIL_API bool jail_http_path_ok(const char *s, bool prefix);

/* --- util.c ----------------------------------------------------------- */

/* "512M", "1G", "64k", "1048576" (bytes; K/M/G/T are powers of 1024). */
JAIL_API int jail_parse_size(const char *s, uint64_t *ret);
JAIL_API const char *jail_rlimit_name(enum jail_rlimit_res r);

/* --- profile.c -------------------------------------------------------- */

#define JAIL_PROFILE_FORMAT 3

/* Load a profile into c (which must have been jail_config_init()ed): fields
 * the profile names replace those in c. origin names the source in errors
 * (a file name, or "builtin:default"). */
JAIL_API int jail_profile_load_buffer(struct jail_config *c, const char *json, size_t len,
				      const char *origin, struct jail_error *e);
JAIL_API int jail_profile_load_file(struct jail_config *c, const char *path, struct jail_error *e);
/* NAME: /etc/agentjail/profiles/NAME.json, then the installed profiles
 * directory, then the profiles built into the binary. A NAME containing '/'
 * or ending in ".json" is a file. */
JAIL_API int jail_profile_load(struct jail_config *c, const char *name_or_file,
			       struct jail_error *e);
/* A JSON object with the keys of a profile's "seccomp" object. */
JAIL_API int jail_seccomp_load_file(struct jail_seccomp *s, const char *path, struct jail_error *e);
/* The builtin profile text, or NULL. */
JAIL_API const char *jail_profile_builtin(const char *name, size_t *ret_len);

/* --- seccomp.c -------------------------------------------------------- */

struct jail_filter; /* a compiled, exported BPF program */

JAIL_API int jail_filter_build(const struct jail_seccomp *s, struct jail_filter **ret,
			       struct jail_error *e);
JAIL_API void jail_filter_free(struct jail_filter *f);
/* Number of BPF instructions (for -v and tests). */
JAIL_API size_t jail_filter_len(const struct jail_filter *f);
/* Whether the policy (before any custom allow/deny) allows NAME at all,
 * unconditionally or with argument conditions. For tests and docs. */
JAIL_API int jail_seccomp_policy_allows(enum jail_seccomp_policy p, const char *name);
/* The policy's allowed syscall names, NULL-terminated, static. */
JAIL_API const char *const *jail_seccomp_policy_names(enum jail_seccomp_policy p);

/* --- spawn.c ---------------------------------------------------------- */

struct jail;

struct jail_stdio {
	int in, out, err; /* fds to become the command's 0, 1, 2; -1 = inherit */
};

enum jail_termination {
	JAIL_TERM_EXIT,	       /* the command exited */
	JAIL_TERM_SIGNAL,      /* the command was killed by a signal */
	JAIL_TERM_TIMEOUT,     /* the time limit killed the jail */
	JAIL_TERM_OOM,	       /* the memory limit killed the command */
	JAIL_TERM_EXEC_FAILED, /* the command could not be executed (126/127) */
	JAIL_TERM_SETUP_FAILED,
	JAIL_TERM_KILLED, /* killed by jail_kill() */
};

struct jail_result {
	enum jail_termination termination;
	int exit_code; /* exit status the way a shell reports it */
	int signal;    /* terminating signal, 0 if none */
	uint64_t wall_us;
	uint64_t cpu_user_us, cpu_system_us;
	uint64_t max_rss_kib;	 /* largest single process, from getrusage */
	uint64_t memory_peak;	 /* cgroup memory.peak, 0 if not measured */
	uint64_t pids_peak;	 /* cgroup pids.peak, 0 if not measured */
	uint64_t cpu_usage_us;	 /* cgroup cpu.stat usage_usec, 0 if not measured */
	bool cgroup_measured;	 /* the figures above come from the jail's cgroup */
	bool oom_killed;	 /* memory.events oom_kill > 0 */
	bool pids_max_hit;	 /* pids.events max > 0: a fork failed with EAGAIN */
	struct jail_error error; /* set for EXEC_FAILED and SETUP_FAILED */
};

/* Build a jail and start argv in it. Returns once the jail is fully set up
 * (or failed to be, with the failing step in e); the command may still fail
 * to execute, which jail_wait() reports. */
JAIL_API int jail_start(const struct jail_config *c, const struct jail_filter *f,
			const struct jail_stdio *io, struct jail **ret, struct jail_error *e);
JAIL_API pid_t jail_pid(const struct jail *j);
JAIL_API int jail_pidfd(const struct jail *j);
JAIL_API uint32_t jail_host_uid(const struct jail *j);
/* CLOCK_MONOTONIC deadline in microseconds, 0 if none. */
JAIL_API uint64_t jail_deadline_us(const struct jail *j);
/* Forward a signal to the command. */
JAIL_API int jail_signal(struct jail *j, int sig);
/* Kill everything in the jail. */
JAIL_API int jail_kill(struct jail *j);
/* Block until the jail ends (enforcing the time limit); fill res. */
JAIL_API int jail_wait(struct jail *j, struct jail_result *res, struct jail_error *e);
/* Non-blocking: -EAGAIN while the jail runs. Enforces nothing. */
JAIL_API int jail_reap(struct jail *j, struct jail_result *res, struct jail_error *e);
/* Kill (if still running), reap and release everything. NULL allowed. */
JAIL_API void jail_free(struct jail *j);

/*
 * A session jail (agentjaild): instead of a command, the jail's PID 1 is the
 * static worker program `exe_fd` refers to (an O_PATH fd, opened outside the
 * jail: execveat'ed, never visible inside), loaded with `worker_filter`
 * (which must allow everything commands may do: filters stack). It starts
 * with the protocol socket `sock_fd` at fd 3, an O_PATH fd of the jail's
 * cgroup at fd 4 (the cgroup, its cgroup.procs, cgroup.threads and
 * cgroup.subtree_control chowned to the jail's host uid: delegated, so
 * that the worker can give each command a cgroup of its own), and a sealed
 * memfd holding `command_filter` at fd 5 (supervisor/proto.h's format), for
 * the worker to load in each command. Its stdout and stderr go to `log_fd`
 * (-1: /dev/null). The config's time limit does not apply.
 */
struct jail_worker {
	int exe_fd;
	int sock_fd;
	int log_fd;
	const struct jail_filter *worker_filter;
};
JAIL_API int jail_start_worker(const struct jail_config *c,
			       const struct jail_filter *command_filter,
			       const struct jail_worker *w, struct jail **ret,
			       struct jail_error *e);
/* The same, without waiting for the jail to build itself: *ret is a jail in
 * the making. Poll jail_setup_fd(j) for POLLIN and call
 * jail_setup_continue(j, e) until it returns 0 (ready) rather than -EAGAIN;
 * on an error, jail_free(j). For a supervisor that must not block while
 * jails are made (warm pools). */
JAIL_API int jail_start_worker_async(const struct jail_config *c,
				     const struct jail_filter *command_filter,
				     const struct jail_worker *w, struct jail **ret,
				     struct jail_error *e);
/* The fd to poll while the jail builds itself; -1 once it is built. */
JAIL_API int jail_setup_fd(const struct jail *j);
JAIL_API int jail_setup_continue(struct jail *j, struct jail_error *e);
/* Narrow a live jail's cgroup limits (a warm jail claimed by a session);
 * 0 fields are left as they are. -EOPNOTSUPP where the host cannot. */
JAIL_API int jail_narrow_limits(struct jail *j, const struct jail_cgroup_limits *l,
				struct jail_error *e);

/* A sealed memfd holding f in supervisor/proto.h's filter format. */
JAIL_API int jail_filter_memfd(const struct jail_filter *f, struct jail_error *e);

/* Become the jail (nsjail's -Me): build it around the calling process and
 * execve the command in place, with no supervising process. There is no pid
 * namespace (the config must not ask for one); a time limit is an alarm()
 * that ends the command only. Returns only on failure. The host uid lease and
 * the jail's cgroup are held by a small helper outside the jail, which removes
 * the cgroup when the command exits. Notices go to notice_fd (-1: none). */
JAIL_API int jail_exec(const struct jail_config *c, const struct jail_filter *f, int notice_fd,
		       struct jail_error *e);

/* Remove what jails that ended without cleaning up left behind (their
 * supervisor was killed): every cgroup of a jail whose host uid is no longer
 * leased in any of the ledgers in runtime_dirs (and the default one), after
 * killing anything still in it. removed() hears each cgroup's path. Returns
 * how many were removed. A jail build does this once per process anyway;
 * a daemon calls it at start to report it. */
JAIL_API int jail_sweep_stale(const char *const *runtime_dirs, size_t n,
			      void (*removed)(const char *cgroup, void *arg), void *arg);

/* Non-fatal notices gathered while building (e.g. a limit clamped), one per
 * line, for the front end to print; NULL if none. */
JAIL_API const char *jail_notices(const struct jail *j);

/* --- cgroup.c --------------------------------------------------------- */

/* Where jails' cgroups go. mount: the cgroup v2 mount (NULL: the one in
 * /proc/self/mountinfo, /sys/fs/cgroup preferred); parent: a directory
 * under it (NULL: "agentjail" under the mount's root). Optional; call before
 * the first jail. */
JAIL_API int jail_cgroup_setup(const char *mount, const char *parent, struct jail_error *e);

struct jail_cgroup_info {
	const char *backend;  /* "v2" or "none" */
	char mount[4096];     /* the cgroup2 mount, "" if none */
	char base[4096];      /* where jails' cgroups go */
	bool hybrid;	      /* cgroup v1 hierarchies hold controllers too */
	unsigned available;   /* JAIL_CGROUP_* in the mount root's cgroup.controllers */
	unsigned enforceable; /* enabled for jails' cgroups */
	bool has_kill;	      /* cgroup.kill (Linux 5.14) */
	char why[512];	      /* why the backend is "none", or what could not be enabled */
};
/* Discover (once) and describe the cgroup backend. */
JAIL_API void jail_cgroup_info(struct jail_cgroup_info *ret);
/* "memory, pids and cpu" for a mask; buf of 64 bytes. */
JAIL_API const char *jail_cgroup_names(unsigned mask, char *buf, size_t size);

/* --- helpers for front ends ------------------------------------------- */

JAIL_API const char *jail_termination_name(enum jail_termination t);
/* Exit status a front end should use for a result: the command's, 128+N
 * for signal N, JAIL_EXIT_TIMEOUT, or JAIL_EXIT_SETUP. */
JAIL_API int jail_result_exit_status(const struct jail_result *r);

#define JAIL_EXIT_TIMEOUT  124
#define JAIL_EXIT_SETUP	   255
#define JAIL_EXIT_NOEXEC   126
#define JAIL_EXIT_NOTFOUND 127

#endif
