/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Strict, table-driven JSON over jansson (internal).
 *
 * A document is decoded with duplicate keys rejected, then walked with
 * tables of {key, callback}: a key not in the table is an error, every
 * string length and array/object count is capped by the reader that takes
 * it, and every error is one line naming the origin, the JSON path and what
 * was expected:
 *   profiles/x.json: $.limits.pids: expected an integer, got a string
 */
#ifndef AGENTJAIL_JSON_H
#define AGENTJAIL_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "internal.h"

#define JSON_PATH_MAX 256

/* Where a walk is: the document's origin and the path of the current value. */
struct json_ctx {
	const char *origin; /* a file name, or "builtin:NAME" */
	struct jail_error *e;
	size_t path_len;
	char path[JSON_PATH_MAX]; /* "$.mounts[2].target" */
};

struct json_table;

/*
 * One key of an object. Either parse is called with the key's value (the
 * path already names the key), the object's obj and arg; or, when parse is
 * NULL, the value must be an object walked with sub and the same obj.
 */
struct json_field {
	const char *key;
	int (*parse)(struct json_ctx *x, json_t *v, void *obj, int arg);
	int arg;
	const struct json_table *sub;
};

struct json_table {
	const struct json_field *fields;
	size_t n;
};

void json_ctx_init(struct json_ctx *x, const char *origin, struct jail_error *e);

/* Decode len bytes into an object; syntax errors are "ORIGIN:LINE:COL: ...",
 * a duplicate key also names the path of the object that holds it. */
int json_decode(struct json_ctx *x, const char *buf, size_t len, json_t **ret);

/* Fail at the current path: "ORIGIN: PATH: message". Returns -EINVAL. */
int json_fail(struct json_ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefix an error already in x->e (from a config builder) with origin and path. */
int json_wrap(struct json_ctx *x, int r);

/* The path grows by one step and shrinks back to what push returned. */
size_t json_path_push_key(struct json_ctx *x, const char *key);
size_t json_path_push_index(struct json_ctx *x, size_t i);
void json_path_pop(struct json_ctx *x, size_t saved);

/* "an object", "an array", "a string", "an integer", "a real", "a boolean", "null". */
const char *json_type_name(const json_t *v);

/* Check that v is an object whose keys are all in t, then call the field of
 * every key present, in table order (so later fields may depend on earlier). */
int json_walk_object(struct json_ctx *x, json_t *v, const struct json_table *t, void *obj);

/* Readers: check type and bounds, fill *ret only on success. */
int json_read_bool(struct json_ctx *x, json_t *v, bool *ret);
/* A string of at most max bytes; points into v. */
int json_read_string(struct json_ctx *x, json_t *v, size_t max, const char **ret);
/* An absolute path of at most JAIL_MAX_PATH bytes. */
int json_read_path(struct json_ctx *x, json_t *v, const char **ret);
int json_read_uint(struct json_ctx *x, json_t *v, uint64_t min, uint64_t max, uint64_t *ret);
/* An integer or a real. */
int json_read_number(struct json_ctx *x, json_t *v, double *ret);
/* A byte count: a non-negative integer, or a string for jail_parse_size(). */
int json_read_size(struct json_ctx *x, json_t *v, uint64_t *ret);
/* One of names[0..n); *ret is its index. */
int json_read_enum(struct json_ctx *x, json_t *v, const char *const *names, size_t n, int *ret);
int json_read_array(struct json_ctx *x, json_t *v, size_t max, size_t *ret_n);
/* An object with free-form keys (the caller checks them), at most max. */
int json_read_object(struct json_ctx *x, json_t *v, size_t max, size_t *ret_n);

/* Read a whole regular file of at most max bytes (`what`, e.g. "a profile",
 * names it in errors). */
int json_read_file(const char *path, size_t max, const char *what, char **ret, size_t *ret_len,
		   struct jail_error *e);

/* A string made safe to quote in a one-line message: control characters
 * become '?', and it is cut to fit size with "...". Returns buf. */
const char *json_quote(const char *s, char *buf, size_t size);

#endif
