/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Strict, table-driven JSON over jansson. Policy files are untrusted input:
 * nothing is accepted that the schema does not name, every size is capped,
 * and the first error ends the walk with one line that says where (origin
 * and JSON path) and what was expected.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "json.h"

void
json_ctx_init(struct json_ctx *x, const char *origin, struct jail_error *e)
{
	x->origin = origin;
	x->e = e;
	x->path[0] = '$';
	x->path[1] = '\0';
	x->path_len = 1;
}

int
json_fail(struct json_ctx *x, const char *fmt, ...)
{
	char msg[JAIL_ERROR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return jerr_plain(x->e, EINVAL, "%s: %s: %s", x->origin, x->path, msg);
}

int
json_wrap(struct json_ctx *x, int r)
{
	if (x->e)
		jerr_wrap(x->e, "%s: %s", x->origin, x->path);
	return r;
}

const char *
json_quote(const char *s, char *buf, size_t size)
{
	size_t n = 0;

	for (; *s && n + 1 < size; s++, n++)
		buf[n] = ((unsigned char)*s < 0x20 || *s == 0x7f) ? '?' : *s;
	buf[n] = '\0';
	if (*s && size > 4)
		memcpy(buf + size - 4, "...", 4);
	return buf;
}

/* --- the path ---------------------------------------------------------- */

static size_t json_path_append(struct json_ctx *x, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static size_t
json_path_append(struct json_ctx *x, const char *fmt, ...)
{
	size_t saved = x->path_len;
	size_t room = sizeof(x->path) - x->path_len;
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(x->path + x->path_len, room, fmt, ap);
	va_end(ap);
	/* A path too long for the buffer is cut, never overrun. */
	if (n > 0)
		x->path_len += (size_t)n < room ? (size_t)n : room - 1;
	return saved;
}

size_t
json_path_push_key(struct json_ctx *x, const char *key)
{
	char q[80];

	return json_path_append(x, ".%s", json_quote(key, q, sizeof(q)));
}

size_t
json_path_push_index(struct json_ctx *x, size_t i)
{
	return json_path_append(x, "[%zu]", i);
}

void
json_path_pop(struct json_ctx *x, size_t saved)
{
	x->path_len = saved;
	x->path[saved] = '\0';
}

/* --- decoding ---------------------------------------------------------- */

#define JSON_SCAN_DEPTH 32

/*
 * jansson reports a duplicate key by line, column and byte position (just
 * past the key) but not by path. The text up to there was accepted by
 * jansson, so a tokenizer that knows only brackets, commas, colons and
 * strings can follow it and tell which object, at which path, holds the key.
 */
static int
json_fail_duplicate(struct json_ctx *x, const char *buf, size_t len, const json_error_t *je)
{
	struct {
		bool object, want_key;
		size_t index;
		const char *key;
		size_t key_len;
	} st[JSON_SCAN_DEPTH];
	size_t depth = 0, end = (size_t)je->position < len ? (size_t)je->position : len;

	for (size_t i = 0; i < end; i++) {
		bool known = depth > 0 && depth <= JSON_SCAN_DEPTH;

		switch (buf[i]) {
		case '{':
		case '[':
			if (depth < JSON_SCAN_DEPTH) {
				st[depth].object = buf[i] == '{';
				st[depth].want_key = true;
				st[depth].index = 0;
				st[depth].key = NULL;
				st[depth].key_len = 0;
			}
			depth++;
			break;
		case '}':
		case ']':
			if (depth > 0)
				depth--;
			break;
		case ',':
			if (known) {
				st[depth - 1].index++;
				st[depth - 1].want_key = true;
			}
			break;
		case ':':
			if (known)
				st[depth - 1].want_key = false;
			break;
		case '"': {
			size_t start = ++i;

			while (i < end && buf[i] != '"')
				i += buf[i] == '\\' ? 2 : 1;
			if (known && st[depth - 1].object && st[depth - 1].want_key) {
				st[depth - 1].key = buf + start;
				st[depth - 1].key_len = (i < end ? i : end) - start;
			}
			break;
		}
		default: break;
		}
	}
	if (depth == 0 || depth > JSON_SCAN_DEPTH || !st[depth - 1].key)
		return jerr_plain(x->e, EINVAL, "%s:%d:%d: %s (each key may appear once)",
				  x->origin, je->line, je->column, je->text);

	/* The path of the innermost object: each enclosing container's current
	 * key or index. Keys are shown as written (escapes and all). */
	for (size_t k = 0; k + 1 < depth; k++) {
		if (st[k].object)
			json_path_append(x, ".%.*s", (int)(st[k].key_len < 64 ? st[k].key_len : 64),
					 st[k].key);
		else
			json_path_append(x, "[%zu]", st[k].index);
	}
	size_t klen = st[depth - 1].key_len;
	return jerr_plain(x->e, EINVAL,
			  "%s:%d:%d: %s: duplicate key '%.*s%s' (each key may appear once)",
			  x->origin, je->line, je->column, x->path, (int)(klen < 64 ? klen : 64),
			  st[depth - 1].key, klen > 64 ? "..." : "");
}

int
json_decode(struct json_ctx *x, const char *buf, size_t len, json_t **ret)
{
	json_error_t je;

	/* Duplicates rejected, trailing garbage rejected (no
	 * JSON_DISABLE_EOF_CHECK), "\u0000" rejected (no JSON_ALLOW_NUL), so
	 * every decoded string is a C string. */
	json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		if (json_error_code(&je) == json_error_duplicate_key)
			return json_fail_duplicate(x, buf, len, &je);
		if (json_error_code(&je) == json_error_out_of_memory)
			return jerr(x->e, ENOMEM, "%s: decode JSON", x->origin);
		return jerr_plain(x->e, EINVAL, "%s:%d:%d: %s", x->origin, je.line, je.column,
				  je.text);
	}
	if (!json_is_object(root)) {
		int r = json_fail(x, "expected an object, got %s", json_type_name(root));
		json_decref(root);
		return r;
	}
	*ret = root;
	return 0;
}

/* --- tables ------------------------------------------------------------ */

const char *
json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a real";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "null";
	}
	return "an unknown type";
}

static const struct json_field *
json_field_find(const struct json_table *t, const char *key)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->fields[i].key, key) == 0)
			return &t->fields[i];
	return NULL;
}

static int
json_fail_unknown(struct json_ctx *x, const struct json_table *t, const char *key)
{
	char keys[512], q[80];
	size_t n = 0;

	keys[0] = '\0';
	for (size_t i = 0; i < t->n && n < sizeof(keys); i++) {
		int w = snprintf(keys + n, sizeof(keys) - n, "%s%s", i ? ", " : "",
				 t->fields[i].key);
		if (w < 0)
			break;
		n += (size_t)w;
	}
	return json_fail(x, "unknown key '%s' (expected one of: %s)", json_quote(key, q, sizeof(q)),
			 keys);
}

int
json_walk_object(struct json_ctx *x, json_t *v, const struct json_table *t, void *obj)
{
	json_t *val;

	if (!json_is_object(v))
		return json_fail(x, "expected an object, got %s", json_type_name(v));
	/* Unknown keys first, so that a typo is reported as a typo even when a
	 * known key before it is also wrong. */
	for (void *it = json_object_iter(v); it; it = json_object_iter_next(v, it))
		if (!json_field_find(t, json_object_iter_key(it)))
			return json_fail_unknown(x, t, json_object_iter_key(it));

	for (size_t i = 0; i < t->n; i++) {
		const struct json_field *f = &t->fields[i];

		if (!(val = json_object_get(v, f->key)))
			continue;
		size_t saved = json_path_push_key(x, f->key);
		int r = f->parse ? f->parse(x, val, obj, f->arg)
				 : json_walk_object(x, val, f->sub, obj);
		if (r < 0)
			return r;
		json_path_pop(x, saved);
	}
	return 0;
}

/* --- readers ----------------------------------------------------------- */

int
json_read_bool(struct json_ctx *x, json_t *v, bool *ret)
{
	if (!json_is_boolean(v))
		return json_fail(x, "expected a boolean (true or false), got %s",
				 json_type_name(v));
	*ret = json_is_true(v);
	return 0;
}

int
json_read_string(struct json_ctx *x, json_t *v, size_t max, const char **ret)
{
	if (!json_is_string(v))
		return json_fail(x, "expected a string, got %s", json_type_name(v));
	if (json_string_length(v) > max)
		return json_fail(x, "expected a string of at most %zu bytes, got %zu bytes", max,
				 json_string_length(v));
	*ret = json_string_value(v);
	return 0;
}

int
json_read_path(struct json_ctx *x, json_t *v, const char **ret)
{
	char q[80];

	if (!json_is_string(v))
		return json_fail(x, "expected an absolute path (at most %d bytes), got %s",
				 JAIL_MAX_PATH, json_type_name(v));
	const char *s = json_string_value(v);
	if (json_string_length(v) > JAIL_MAX_PATH)
		return json_fail(x, "expected an absolute path (at most %d bytes), got %zu bytes",
				 JAIL_MAX_PATH, json_string_length(v));
	if (s[0] != '/')
		return json_fail(x, "expected an absolute path (at most %d bytes), got '%s'",
				 JAIL_MAX_PATH, json_quote(s, q, sizeof(q)));
	*ret = s;
	return 0;
}

int
json_read_uint(struct json_ctx *x, json_t *v, uint64_t min, uint64_t max, uint64_t *ret)
{
	if (!json_is_integer(v))
		return json_fail(x, "expected an integer, got %s", json_type_name(v));
	json_int_t i = json_integer_value(v);
	if (i < 0 || (uint64_t)i < min || (uint64_t)i > max)
		return json_fail(x, "expected an integer between %llu and %llu, got %lld",
				 (unsigned long long)min, (unsigned long long)max, (long long)i);
	*ret = (uint64_t)i;
	return 0;
}

int
json_read_number(struct json_ctx *x, json_t *v, double *ret)
{
	if (!json_is_number(v))
		return json_fail(x, "expected a number, got %s", json_type_name(v));
	*ret = json_number_value(v);
	return 0;
}

#define JSON_SIZE_EXPECT                                                                           \
	"a size (a number of bytes, or a string such as \"512M\" with K, M, G or T "               \
	"meaning powers of 1024)"

int
json_read_size(struct json_ctx *x, json_t *v, uint64_t *ret)
{
	char q[80];

	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			return json_fail(x, "expected %s, got %lld", JSON_SIZE_EXPECT,
					 (long long)json_integer_value(v));
		*ret = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return json_fail(x, "expected %s, got %s", JSON_SIZE_EXPECT, json_type_name(v));
	/* Short strings only: "18446744073709551615" is the longest sensible one. */
	if (json_string_length(v) > 32 || jail_parse_size(json_string_value(v), ret) < 0)
		return json_fail(x, "expected %s, got '%s'", JSON_SIZE_EXPECT,
				 json_quote(json_string_value(v), q, sizeof(q)));
	return 0;
}

int
json_read_enum(struct json_ctx *x, json_t *v, const char *const *names, size_t n, int *ret)
{
	char list[256], q[80];
	size_t len = 0;

	if (json_is_string(v)) {
		for (size_t i = 0; i < n; i++) {
			if (strcmp(json_string_value(v), names[i]) == 0) {
				*ret = (int)i;
				return 0;
			}
		}
	}
	list[0] = '\0';
	for (size_t i = 0; i < n && len < sizeof(list); i++) {
		int w = snprintf(list + len, sizeof(list) - len, "%s%s", i ? ", " : "", names[i]);
		if (w < 0)
			break;
		len += (size_t)w;
	}
	if (json_is_string(v))
		return json_fail(x, "expected one of: %s; got '%s'", list,
				 json_quote(json_string_value(v), q, sizeof(q)));
	return json_fail(x, "expected one of: %s; got %s", list, json_type_name(v));
}

int
json_read_array(struct json_ctx *x, json_t *v, size_t max, size_t *ret_n)
{
	if (!json_is_array(v))
		return json_fail(x, "expected an array, got %s", json_type_name(v));
	if (json_array_size(v) > max)
		return json_fail(x, "expected an array of at most %zu items, got %zu items", max,
				 json_array_size(v));
	*ret_n = json_array_size(v);
	return 0;
}

int
json_read_object(struct json_ctx *x, json_t *v, size_t max, size_t *ret_n)
{
	if (!json_is_object(v))
		return json_fail(x, "expected an object, got %s", json_type_name(v));
	if (json_object_size(v) > max)
		return json_fail(x, "expected an object of at most %zu entries, got %zu entries",
				 max, json_object_size(v));
	*ret_n = json_object_size(v);
	return 0;
}

/* Read a whole (small) regular file of at most max bytes; `what` names it
 * in errors ("a profile"). */
int
json_read_file(const char *path, size_t max, const char *what, char **ret, size_t *ret_len,
	       struct jail_error *e)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t n = 0;

	/* O_NONBLOCK: a FIFO planted in place of the file must not hang us
	 * before the S_ISREG check. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return jerr(e, errno, "%s", path);
	if (fstat(fd, &st) < 0)
		return jerr(e, errno, "%s", path);
	if (!S_ISREG(st.st_mode))
		return jerr_plain(e, EINVAL, "%s: expected a regular file", path);
	if ((uint64_t)st.st_size > max)
		return jerr_plain(e, EFBIG, "%s: %lld bytes, larger than the %zu bytes %s may have",
				  path, (long long)st.st_size, max, what);
	if (!(buf = malloc(max + 1)))
		return jerr(e, ENOMEM, "%s", path);
	/* Read to EOF, not to st_size: the file may change under us. */
	for (;;) {
		ssize_t k = read(fd, buf + n, max + 1 - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return jerr(e, errno, "read %s", path);
		if (k == 0)
			break;
		n += (size_t)k;
		if (n > max)
			return jerr_plain(e, EFBIG, "%s: larger than the %zu bytes %s may have",
					  path, max, what);
	}
	*ret = TAKE_PTR(buf);
	*ret_len = n;
	return 0;
}
