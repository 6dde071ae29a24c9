/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The worker protocol: agentjaild (the supervisor's HTTP process) and a
 * session's worker, the jail's PID 1 (supervisor/worker/), over one
 * SOCK_STREAM socket pair. Both ends run on the same host: fields are in
 * host byte order.
 *
 * Every message is a 16-byte header and `len` bytes of payload. Requests
 * carry an id chosen by the supervisor (non-zero, unique among the
 * requests in flight); every reply carries the id of its request, so that
 * several execs and file transfers share the socket. Each side treats what
 * the other sends as untrusted: lengths are bounded (AJW_MAX_PAYLOAD),
 * strings must be NUL-terminated inside the payload, counts must match.
 * A malformed message ends the session.
 *
 * An exchange, by request type (→ supervisor to worker, ← worker to
 * supervisor):
 *
 *   EXEC         → struct ajw_exec + strings
 *                ← STARTED, then any number of STDOUT/STDERR, then EXIT;
 *                  or ERROR (the command could not be started)
 *     STDIN      → bytes for the command's stdin (len 0: close it);
 *                  the supervisor sends stdin only after STARTED
 *     SIGNAL     → int32 signal for the exec's process
 *     CANCEL     → (empty) kill the exec's whole cgroup; EXIT follows
 *                  with AJW_EXIT_CANCELLED
 *   PUT          → struct ajw_put + path: create/replace a file
 *                ← READY, or ERROR
 *     DATA       → file bytes; DATA with len 0 ends the file
 *                ← OK once it is written and closed, or ERROR (after which
 *                  the worker ignores further DATA of this id)
 *   GET          → path
 *                ← STAT (of what was opened), then for a regular file any
 *                  number of DATA and one END; for a directory one DIRENT
 *                  per entry and END; or ERROR
 *   STAT         → path              ← STAT or ERROR
 *   DELETE       → path              ← OK or ERROR (a directory must be empty)
 *   MKDIR        → uint32 mode + path ← OK or ERROR (parents are created)
 *   PING         → (empty)           ← OK
 *   CONNECT      → struct ajw_connect ← CONNECTED with a descriptor, or ERROR
 *                  (AJW_E_CONNECT with the errno: ECONNREFUSED, ETIMEDOUT..)
 *     CANCEL     → (empty) while connecting: ERROR AJW_E_CONNECT ECANCELED
 *   SECRET       → struct ajw_secret + name + content ← OK or ERROR
 *
 * Terminal replies, after which the id is free again: EXIT, ERROR, OK, END
 * and CONNECTED.
 *
 * Paths are relative to the workspace; a leading '/' also means the
 * workspace's root. The worker resolves them with openat2() from a
 * directory fd of the workspace with RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS
 * (an escape fails with EXDEV), creates and removes through parent
 * directory fds, opens with O_NOFOLLOW | O_NONBLOCK and serves regular files
 * only, so that nothing the jailed code plants (symlinks, FIFOs, devices)
 * reaches outside the workspace or blocks the worker.
 */
#ifndef AGENTJAIL_PROTO_H
#define AGENTJAIL_PROTO_H

#include <stdint.h>

/* 2: CONNECT, SECRET, AJW_EXEC_AGENT. A supervisor may require >= 2 before
 * it uses them; nothing else changed from 1. */
#define AJW_VERSION	2
#define AJW_MAX_PAYLOAD (1u << 20)  /* 1 MiB per message */
#define AJW_DATA_CHUNK	(64u << 10) /* what the worker sends per DATA/STDOUT */
#define AJW_MAX_ARGS	4096
#define AJW_MAX_ENV	256
#define AJW_MAX_PATH	4095

/* The worker finds its socket and resources at fixed descriptors (each
 * may be absent: then the feature is off, and HELLO says so). It opens the
 * workspace itself (/workspace, or --workspace DIR for tests). */
#define AJW_FD_SOCKET 3 /* the protocol socket */
#define AJW_FD_CGROUP 4 /* O_PATH fd of the jail's cgroup, delegated to the jail's uid */
#define AJW_FD_FILTER 5 /* sealed memfd: the profile's seccomp programs, for commands */

/* The filter memfd: a header, then per program a header and its
 * struct sock_filter instructions; loaded in order with seccomp(2). */
#define AJW_FILTER_MAGIC 0x4c464a41u /* "AJFL" */
struct ajw_filter_hdr {
	uint32_t magic;
	uint32_t n_progs; /* 0..4 (0: no filter; tests only) */
};
struct ajw_filter_prog {
	uint32_t len;	/* instructions, 1..4096 */
	uint32_t flags; /* SECCOMP_FILTER_FLAG_*, 0 */
};

struct ajw_hdr {
	uint32_t type;
	uint32_t id;
	uint32_t len;
	uint32_t flags; /* reserved, 0 */
};

enum ajw_type {
	/* requests */
	AJW_EXEC = 1,
	AJW_STDIN,
	AJW_SIGNAL,
	AJW_CANCEL,
	AJW_PUT,
	AJW_DATA,
	AJW_GET,
	AJW_STAT,
	AJW_DELETE,
	AJW_MKDIR,
	AJW_PING,
	AJW_CONNECT, /* struct ajw_connect */
	AJW_SECRET,  /* struct ajw_secret + name (NUL-terminated) + content */
	/* replies */
	AJW_HELLO = 100, /* sent once at start, id 0: struct ajw_hello */
	AJW_STARTED,	 /* struct ajw_started */
	AJW_STDOUT,
	AJW_STDERR,
	AJW_EXIT, /* struct ajw_exit */
	AJW_READY,
	AJW_OK,
	AJW_ERROR,	/* struct ajw_error + message (NUL-terminated) */
	AJW_STAT_REPLY, /* struct ajw_stat */
	AJW_DIRENT,	/* struct ajw_stat + name (NUL-terminated) */
	AJW_END,
	AJW_CONNECTED, /* empty, with the connected socket (SCM_RIGHTS): see below */
};

struct ajw_hello {
	uint32_t version; /* AJW_VERSION */
	int32_t pid;	  /* the worker's pid in the host's pid namespace is unknown to it: 1 */
	uint32_t flags;	  /* AJW_HELLO_* */
	uint32_t reserved;
};
#define AJW_HELLO_CGROUP 1u /* per-exec cgroups are available */
#define AJW_HELLO_FILTER 2u /* commands get the profile's seccomp filter */

/* EXEC payload: this struct, then NUL-terminated strings: cwd, argc
 * arguments, envc "NAME=value" entries. An empty cwd means /workspace. */
struct ajw_exec {
	uint32_t argc;
	uint32_t envc;
	uint32_t timeout_ms;	   /* 0: none */
	uint32_t flags;		   /* AJW_EXEC_* */
	uint64_t max_output_bytes; /* per stream; 0: AJW_DEFAULT_MAX_OUTPUT */
};
#define AJW_EXEC_STDIN	       1u /* the supervisor will send STDIN (else stdin is /dev/null) */
#define AJW_EXEC_AGENT	       2u /* a long-running agent: see below */
#define AJW_DEFAULT_MAX_OUTPUT (4ull << 20)
/* Output past max_output_bytes is dropped (and flagged); a command that
 * keeps writing past the hard cap is killed with AJW_EXIT_OUTPUT_LIMIT. */
#define AJW_HARD_CAP(max) ((max)*2 + (1ull << 20))
/*
 * AJW_EXEC_AGENT: the command is an agent runtime that lives as long as the
 * session wants it. timeout_ms must be 0 (else ERROR AJW_E_BAD_REQUEST,
 * EINVAL); max_output_bytes is ignored: nothing is dropped, truncated or
 * killed for its volume, and STDOUT/STDERR flow for the life of the process
 * (the supervisor keeps what it wants of them, bounded). Backpressure is
 * that of every exec: while the worker's reply queue is full it stops
 * reading the agent's pipes, and the agent blocks in write(2). Otherwise an
 * exec like any other: its own cgroup, SIGNAL, CANCEL, STDIN, and EXIT at
 * the end. One agent per worker at a time (until its EXIT, or its ERROR if
 * it could not start): another gets ERROR AJW_E_BUSY, EBUSY.
 */

struct ajw_started {
	int32_t pid; /* in the jail's pid namespace */
	uint32_t reserved;
};

struct ajw_exit {
	int32_t exit_code; /* -1 if killed by a signal */
	int32_t signal;	   /* 0 if it exited */
	uint32_t flags;	   /* AJW_EXIT_* */
	uint32_t reserved;
	uint64_t duration_us;
	uint64_t cpu_us;       /* the exec's cgroup cpu.stat usage (or rusage) */
	uint64_t memory_peak;  /* bytes, 0 if unknown */
	uint64_t stdout_bytes; /* produced (including what was dropped) */
	uint64_t stderr_bytes;
};
#define AJW_EXIT_TIMED_OUT	  1u
#define AJW_EXIT_OOM		  2u
#define AJW_EXIT_OUTPUT_LIMIT	  4u
#define AJW_EXIT_CANCELLED	  8u
#define AJW_EXIT_STDOUT_TRUNCATED 16u
#define AJW_EXIT_STDERR_TRUNCATED 32u

struct ajw_error {
	int32_t err;   /* errno */
	uint32_t code; /* enum ajw_error_code */
};

enum ajw_error_code {
	AJW_E_INTERNAL = 1,
	AJW_E_NOT_FOUND,   /* ENOENT */
	AJW_E_ESCAPE,	   /* the path leaves the workspace (EXDEV, ELOOP on a magic link) */
	AJW_E_NOT_REGULAR, /* a FIFO, device, socket or symlink where a file was expected */
	AJW_E_IS_DIRECTORY,
	AJW_E_NOT_DIRECTORY,
	AJW_E_EXISTS,
	AJW_E_NOT_EMPTY,
	AJW_E_READ_ONLY,   /* EROFS, EACCES, EPERM */
	AJW_E_NO_SPACE,	   /* ENOSPC, EDQUOT, EFBIG */
	AJW_E_BAD_REQUEST, /* malformed, bad path */
	AJW_E_EXEC_FAILED, /* the command could not be started (message says why) */
	AJW_E_BUSY,	   /* too many execs in flight */
	AJW_E_CONNECT,	   /* CONNECT failed: err says why (ECONNREFUSED, ETIMEDOUT, ...) */
};

struct ajw_put {
	uint32_t mode;	/* permission bits, 0: 0644 */
	uint32_t flags; /* AJW_PUT_* */
	uint64_t size;	/* announced size, 0 if unknown (a bound, not a promise) */
};

struct ajw_stat {
	uint32_t type; /* AJW_T_* */
	uint32_t mode; /* permission bits */
	uint64_t size;
	int64_t mtime_ns;
};
enum { AJW_T_FILE = 1, AJW_T_DIR, AJW_T_SYMLINK, AJW_T_OTHER };

/*
 * CONNECT: a TCP connection to 127.0.0.1:port in the jail's network
 * namespace (its own loopback; with a host-network profile, the host's),
 * made by the worker as the jail's uid, the way jailed code could make it.
 * The connect is non-blocking: other requests are served meanwhile. On
 * success the reply is CONNECTED, an empty payload, and the connected
 * socket attached to that message as SCM_RIGHTS (one descriptor); the worker
 * then closes its own copy. On failure: ERROR AJW_E_CONNECT with the errno
 * and a message such as "connect 127.0.0.1:8080: Connection refused";
 * ETIMEDOUT after timeout_ms. A port of 0: ERROR AJW_E_BAD_REQUEST. At most
 * AJW_MAX_CONNECTS connections in flight (connecting, or CONNECTED queued
 * and not yet sent): more get ERROR AJW_E_BUSY (as does a worker out of
 * descriptors). So a supervisor never holds more than AJW_MAX_CONNECTS
 * received descriptors not yet dispatched.
 *
 * Receiving descriptors: once it has sent CONNECT, the supervisor must read
 * the socket with recvmsg(2) on every read, with room for one descriptor
 * (CMSG_SPACE(sizeof(int))) and MSG_CMSG_CLOEXEC; read(2) or recv(2) would
 * discard (close) a descriptor that comes along. The worker sends each
 * CONNECTED in a sendmsg of its own that starts with the message's header,
 * so that its descriptor arrives with the recvmsg that reads the header's
 * first byte (possibly after bytes of earlier messages, never later), and a
 * recvmsg never returns more than one: the supervisor keeps received
 * descriptors in arrival order and gives each CONNECTED the oldest. A
 * CONNECTED without a descriptor received, MSG_CTRUNC, or anything but one
 * SCM_RIGHTS of one fd is a malformed reply. A descriptor nobody wants (its
 * request gone meanwhile) must be closed.
 */
#define AJW_MAX_CONNECTS	   16
#define AJW_CONNECT_TIMEOUT_MS	   2000	 /* when timeout_ms is 0 */
#define AJW_CONNECT_MAX_TIMEOUT_MS 60000 /* a larger timeout_ms is lowered to it */
struct ajw_connect {
	uint16_t port;	     /* 1..65535 */
	uint16_t reserved;   /* 0 */
	uint32_t timeout_ms; /* 0: AJW_CONNECT_TIMEOUT_MS */
};

/*
 * SECRET: struct ajw_secret, the name (NUL-terminated), then the content:
 * every remaining byte of the payload (payload length - 8 - strlen(name) - 1,
 * possibly 0; any bytes, NULs included). The worker creates the file NAME in
 * the secrets directory (/run/secrets, a tmpfs of the jail's uid, mode 0500:
 * the worker adds the owner's write bit for the time of the creation) with
 * O_CREAT | O_EXCL | O_NOFOLLOW, writes the content and replies OK. Errors:
 *   a name not matching [A-Za-z0-9._-]{1,64}, or "." or "..";
 *     a mode with other than read bits, or without 0400:
 *                          AJW_E_BAD_REQUEST, EINVAL;
 *   the name exists:       AJW_E_EXISTS, EEXIST (a secret is written once);
 *   no secrets directory:  AJW_E_NOT_FOUND, ENOENT;
 *   the tmpfs is full:     AJW_E_NO_SPACE, ENOSPC (nothing is left behind).
 * A payload shorter than 9 bytes, a name without its NUL or reserved != 0 is
 * malformed. The content is never logged nor echoed in a message (names
 * are), and the worker zeroes it in its request buffer once handled. (The
 * unit test starts the worker with --secrets DIR.)
 */
#define AJW_SECRET_NAME_MAX 64
struct ajw_secret {
	uint32_t mode;	   /* read bits including 0400; 0: 0400 */
	uint32_t reserved; /* 0 */
};

#endif
