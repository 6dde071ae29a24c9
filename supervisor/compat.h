/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The AgentCube compatibility layer's pure parts (docs/api.md, "AgentCube
 * compatibility"; /work/shared/API-COMPAT.md): what the unmodified
 * AgentCube SDK sends is read here, and what it expects back is written
 * here. api.c translates the requests onto the native operations (sessions,
 * the worker's EXEC, PUT, GET, STAT, MKDIR) and uses these helpers for the
 * rest. Nothing here does I/O or keeps state between calls: every function
 * is a parser or a formatter, tested on its own (tests/unit/test_compat.c).
 *
 * Unlike the native API, the bodies are read leniently, as AgentCube's Go
 * servers read them: unknown fields are ignored (the SDK and the Router send
 * fields of their own). Every length and count is still bounded.
 */
#ifndef AGENTJAIL_COMPAT_H
#define AGENTJAIL_COMPAT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "proto.h"

/* --- URLs ------------------------------------------------------------------ */

enum compat_kind {
	COMPAT_NONE,	/* not an AgentCube URL */
	COMPAT_HEALTH,	/* GET /health/live, /health/ready (arg: "alive", "ready") */
	COMPAT_CREATE,	/* POST /v1/code-interpreter */
	COMPAT_DELETE,	/* DELETE /v1/code-interpreter/sessions/{id} (arg: the id) */
	COMPAT_EXECUTE, /* …/invocations/api/execute */
	COMPAT_FILES,	/* …/invocations/api/files: upload (POST), list (GET) */
	COMPAT_FILE,	/* …/invocations/api/files/{path}: download (arg: the path) */
	COMPAT_OTHER,	/* anything else below …/invocations/ */
};

/* The data plane is /v1/namespaces/{ns}/code-interpreters/{name}/invocations/
 * (the Router's prefix); {ns} and {name} are not used: the session comes from
 * the x-agentcube-session-id header. url is the path as libmicrohttpd
 * decoded it (nothing is decoded again); *ret_arg points into it. */
enum compat_kind compat_route(const char *url, const char **ret_arg);

static inline bool
compat_data_plane(enum compat_kind k)
{
	return k >= COMPAT_EXECUTE;
}

/* --- request bodies --------------------------------------------------------- */

#define COMPAT_MSG_MAX	   256
#define COMPAT_MAX_ENV	   64	  /* variables of one execute */
#define COMPAT_MAX_ARGS	   4096	  /* AJW_MAX_ARGS */
#define COMPAT_MAX_ARG_LEN 131072 /* bytes of one argument (JAIL_MAX_ARG_LEN) */

/* POST /v1/code-interpreter. Pointers go into root. -EINVAL with the
 * WorkloadManager's message ("Invalid request body", "name is required",
 * "namespace is required"). ttl is 0 when absent, null or not positive. */
struct compat_create {
	const char *name, *ns;
	int64_t ttl_s;
	json_t *metadata; /* an object, or NULL */
};
int compat_parse_create(json_t *root, struct compat_create *ret, const char **ret_msg);

/* POST …/api/execute, as PicoD reads it. command is an array of 1 to
 * COMPAT_MAX_ARGS strings without NUL bytes; timeout_ns is 0 when absent or
 * "", else positive; env is NULL or an object of string values with names
 * that can be variables (not empty, no '=', at most COMPAT_MAX_ENV). On
 * failure -EINVAL and msg: "command cannot be empty", "Invalid timeout
 * format: …", "Invalid request body: …". */
struct compat_exec {
	json_t *command;
	int64_t timeout_ns;
	const char *working_dir; /* NULL: not given */
	json_t *env;
};
int compat_parse_execute(json_t *root, struct compat_exec *ret, char *msg, size_t size);

/* A Go duration (time.ParseDuration): [-+]?([0-9]*(\.[0-9]*)?(ns|us|µs|μs|ms|s|m|h))+
 * or "0"; ns of int64 range. -EINVAL or -ERANGE with Go's message in err. */
int compat_parse_duration(const char *s, int64_t *ret_ns, char *err, size_t size);

/*
 * A file path as PicoD takes it, cleaned lexically like Go's path.Clean and
 * made relative to the workspace: a leading '/' is the workspace's root;
 * "." and empty components go, ".." removes the component before it. The
 * result is "" for the workspace itself. -EXDEV when ".." would go above the
 * workspace; -EINVAL for a NUL byte; -ENAMETOOLONG past AJW_MAX_PATH.
 * (Symlinks are the worker's business: it resolves beneath the workspace.)
 */
int compat_clean_path(const char *in, size_t n, char *out, size_t size);

/* An octal mode string ("0644", "755"); empty, invalid or above 0777 is
 * 0644, as PicoD has it. */
unsigned compat_parse_mode(const char *s);

/* Standard base64 (RFC 4648, padded), as Go's base64.StdEncoding reads it:
 * CR and LF are skipped. 0 and the decoded size; -EINVAL and the offset of
 * the first bad byte. */
int compat_b64_check(const char *s, size_t n, size_t *ret_size, size_t *ret_bad);
/* Decode what compat_b64_check accepted; out may be in (in place). Returns
 * the decoded size. */
size_t compat_b64_decode(const char *in, size_t n, char *out);

/*
 * A JSON upload ({"path", "content", "mode"}) is up to ~43 MiB, almost all
 * of it the base64 string. Rather than have jansson copy it twice, the
 * string value of the top-level key is found, its escapes decoded in place
 * (it stays at text[*ret_off], *ret_len bytes), and the rest of the text,
 * with that value emptied to "", is given back in *ret_rest (malloc'd) for
 * jansson. Returns 1 found, 0 no such key (*ret_rest NULL), -EINVAL for a
 * malformed text or string, a key given twice, -ENOMEM.
 */
int compat_json_take_string(char *text, size_t len, const char *key, size_t *ret_off,
			    size_t *ret_len, char **ret_rest, size_t *ret_rest_len);

/* --- multipart/form-data ------------------------------------------------------ */

/*
 * A streaming multipart/form-data parser: body bytes are fed as they come,
 * and each part's name and content go to callbacks, the content byte-exact
 * and in pieces (a 32 MiB file part is never held whole). The delimiter is
 * CRLF "--" boundary followed by "--" or optional blanks and CRLF, as Go's
 * mime/multipart reads it: content may hold CRLF, "--" and even the
 * boundary text followed by anything else.
 */
struct compat_mp_ops {
	/* A part begins: its Content-Disposition name and filename ("" if none). */
	int (*part)(void *cls, const char *name, const char *filename);
	int (*data)(void *cls, const char *p, size_t n);
	int (*end)(void *cls); /* the part is complete */
};

#define COMPAT_MP_BOUNDARY_MAX 200
#define COMPAT_MP_HEADERS_MAX  (16u << 10)

struct compat_mp {
	int state;
	char delim[COMPAT_MP_BOUNDARY_MAX + 5]; /* CRLF "--" boundary */
	size_t dlen;
	char *hold; /* bytes not yet parsed */
	size_t len, cap;
};

/* From the request's Content-Type; -EINVAL when it is not
 * multipart/form-data with a boundary. */
int compat_mp_init(struct compat_mp *m, const char *content_type);
/* 0; the first negative return of a callback; -EBADMSG for a malformed body;
 * -ENOMEM. After an error the parser takes nothing more. */
int compat_mp_feed(struct compat_mp *m, const char *p, size_t n, const struct compat_mp_ops *ops,
		   void *cls);
/* Whether the closing delimiter was seen. */
bool compat_mp_done(const struct compat_mp *m);
void compat_mp_free(struct compat_mp *m);

/* Whether a Content-Type is multipart/form-data (PicoD's choice of
 * handler: anything else is JSON). */
bool compat_is_multipart(const char *content_type);

/* --- responses ----------------------------------------------------------------- */

/* A JSON string of bytes: invalid UTF-8 becomes U+FFFD, byte by byte, as
 * Go's encoder has it. Never NULL (short of memory: ""). */
json_t *compat_string(const char *p, size_t n);

/* Errors: {"error": msg, "code": status} on the data plane (PicoD, the
 * Router), {"message": msg} on the control plane (the WorkloadManager). */
json_t *compat_error_json(bool data_plane, unsigned status, const char *msg);

/* Time as Go marshals it (RFC 3339 with nanoseconds, trailing zeros
 * dropped), in UTC. Returns buf. */
const char *compat_time(int64_t sec, long nsec, char *buf, size_t size);

/* Go's os.FileMode.String() for a worker stat: "-rw-r--r--",
 * "drwxr-xr-x", "Lrwxrwxrwx", "urwxr-xr-x" (setuid)… buf has 16 bytes. */
const char *compat_mode_string(const struct ajw_stat *st, char *buf);

/* PicoD's FileInfo of an upload and an entry of a listing. */
json_t *compat_file_info(const char *path, const struct ajw_stat *st);
json_t *compat_dirent(const char *name, const struct ajw_stat *st);

/* The WorkloadManager's answer to a create. */
json_t *compat_created_json(const char *id, const char *name);

/* PicoD's exit code for the worker's EXIT: 124 on the deadline, -1 when a
 * signal killed the command, else its status. */
int compat_exit_code(const struct ajw_exit *ex);
/* The stderr of a command that could not start, Go's way: `exec: "foo":
 * executable file not found in $PATH`, `fork/exec ./x: permission denied`;
 * other failures (chdir) as the worker said. */
void compat_exec_failure(const char *argv0, int err, const char *worker_msg, char *out,
			 size_t size);
/* PicoD's ExecuteResponse. */
json_t *compat_exec_json(const char *out, size_t out_n, const char *err, size_t err_n,
			 int exit_code, const struct timespec *start, const struct timespec *end);

#endif
