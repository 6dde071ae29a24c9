/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The session worker's shared state: worker.c (start-up, the event loop,
 * the socket and its queue), exec.c (commands), files.c (the workspace)
 * and agent.c (CONNECT and SECRET, for agent runtimes). See worker.c for
 * the overview.
 */
#ifndef AGENTJAIL_WORKER_H
#define AGENTJAIL_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/filter.h>

#include "../proto.h"

#define W_MAX_EXECS   64	 /* execs in flight; more get AJW_E_BUSY */
#define W_MAX_XFERS   64	 /* PUT/GET in flight; more get AJW_E_BUSY */
#define W_OUTQ_HIGH   (1u << 20) /* queued bytes above which nothing new is produced */
#define W_STDIN_MAX   (8u << 20) /* stdin queued for one exec */
#define W_MAX_DIRENTS 10000	 /* a larger directory listing is refused */
#define W_MAX_PROGS   4
#define W_MAX_INSNS   4096
#define W_MSG_MAX     512 /* ERROR message, NUL included */

/* What an epoll event is about: the low byte says which descriptor, the
 * rest is the exec's serial number (never reused, so that an event for
 * an exec freed earlier in the same batch finds nothing). */
enum w_kind {
	K_SOCK = 1,
	K_SIGNAL,
	K_OUT,	/* an exec's stdout pipe */
	K_ERR,	/* its stderr pipe */
	K_IN,	/* its stdin pipe (writable) */
	K_SYNC, /* the pipe that closes on execve or carries the setup errno */
	K_TIMER,
	K_EVENTS, /* its cgroup.events (populated) */
	K_CONN,	  /* a CONNECT's socket (writable: connected or failed) */
};
#define W_TAG(serial, kind) (((uint64_t)(serial) << 8) | (uint64_t)(kind))

struct w_prog {
	uint32_t flags;
	uint32_t len;
	struct sock_filter *insns;
};

struct worker {
	int sock;     /* AJW_FD_SOCKET */
	int ep;	      /* epoll */
	int sigfd;    /* SIGCHLD, SIGTERM, SIGINT, SIGHUP */
	int cgfd;     /* the jail's cgroup (O_PATH), or -1 */
	int wsfd;     /* the workspace (O_PATH | O_DIRECTORY) */
	int devnull;  /* stdin of execs without AJW_EXEC_STDIN, or -1 */
	bool pid1;    /* init of a pid namespace */
	bool proc;    /* /proc shows this pid namespace: pids read there are ours */
	mode_t umask; /* the jail's, for commands; the worker itself runs with 0 */
	unsigned n_progs;
	struct w_prog progs[W_MAX_PROGS];
	uint64_t serial;
	const char *secrets; /* the secrets directory: /run/secrets, or --secrets DIR */
};
extern struct worker W;

/* worker.c: the output queue and helpers */
extern char w_chunk[AJW_DATA_CHUNK]; /* scratch for one STDOUT/STDERR/DATA */
void w_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
__attribute__((noreturn)) void w_die_proto(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
__attribute__((noreturn)) void w_fatal(const char *what);
void *w_malloc(size_t n);
bool w_room(void);
void w_send(uint32_t type, uint32_t id, const void *p, size_t n);
void w_send2(uint32_t type, uint32_t id, const void *p1, size_t n1, const void *p2, size_t n2);
void w_send_fd(uint32_t type, uint32_t id, int fd);
unsigned w_fds_queued(void);
void w_error(uint32_t id, int err, uint32_t code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
uint64_t w_now_us(void);
int w_ep_add(int fd, uint32_t events, uint64_t tag);
void w_ep_del(int fd);
void w_close(int *fd);
void w_clean(const char *in, char *out, size_t size);

/* exec.c */
void exec_request(uint32_t id, const char *p, size_t n);
void exec_stdin(uint32_t id, const char *p, size_t n);
void exec_signal(uint32_t id, int32_t sig);
bool exec_cancel(uint32_t id);
bool exec_busy(uint32_t id);
void exec_event(uint64_t tag, uint32_t events);
void exec_reap(void);
void exec_resume(void);
void exec_kill_all(void);

/* files.c */
void file_request(uint32_t type, uint32_t id, const char *p, size_t n);
void file_data(uint32_t id, const char *p, size_t n);
bool file_cancel(uint32_t id);
bool file_busy(uint32_t id);
bool file_produce(void);
void file_abort_all(void);
uint32_t file_code(int err);

/* agent.c */
void conn_request(uint32_t id, const char *p, size_t n);
void conn_event(uint64_t tag);
bool conn_cancel(uint32_t id);
bool conn_busy(uint32_t id);
int conn_timeout(void);
void conn_expire(void);
void secret_request(uint32_t id, char *p, size_t n);

#endif
