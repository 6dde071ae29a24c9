/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The AgentCube compatibility layer's parsers and formatters
 * (supervisor/compat.c): URLs, request bodies, Go durations (against the
 * values Go's time.ParseDuration gives), path cleaning, modes, base64, the
 * in-place JSON string taken out of an upload, the streaming multipart
 * parser (fed whole and byte by byte), and the answers' formats.
 *
 * compat.c is pure (libc and jansson), so it is compiled into this test
 * directly: the generic rule for tests/unit/ links only the libraries.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../supervisor/compat.c"
#include "tap.h"

static void
test_route(void)
{
	static const struct {
		const char *url;
		enum compat_kind kind;
		const char *arg;
	} t[] = {
		{"/v1/code-interpreter", COMPAT_CREATE, NULL},
		{"/v1/code-interpreter/", COMPAT_CREATE, NULL},
		{"/v1/code-interpreter/sessions/abc-DEF_1", COMPAT_DELETE, "abc-DEF_1"},
		{"/v1/code-interpreter/sessions/", COMPAT_NONE, NULL},
		{"/v1/code-interpreter/sessions/a/b", COMPAT_NONE, NULL},
		{"/v1/namespaces/default/code-interpreters/my/invocations/api/execute",
		 COMPAT_EXECUTE, NULL},
		{"/v1/namespaces/ns/code-interpreters/n/invocations/api/files", COMPAT_FILES, NULL},
		{"/v1/namespaces/ns/code-interpreters/n/invocations/api/files/a b/../c",
		 COMPAT_FILE, "a b/../c"},
		{"/v1/namespaces/ns/code-interpreters/n/invocations/api/files/", COMPAT_FILE, ""},
		{"/v1/namespaces/ns/code-interpreters/n/invocations/api/other", COMPAT_OTHER, NULL},
		{"/v1/namespaces/ns/code-interpreters/n/invocations//api/execute", COMPAT_OTHER,
		 NULL},
		{"/v1/namespaces/ns/code-interpreters/n/invocations", COMPAT_OTHER, NULL},
		{"/v1/namespaces/ns/code-interpreters/n/invocationsX", COMPAT_NONE, NULL},
		{"/v1/namespaces//code-interpreters/n/invocations/api/execute", COMPAT_NONE, NULL},
		{"/v1/namespaces/ns/agent-runtimes/n/invocations/api/execute", COMPAT_NONE, NULL},
		{"/health/live", COMPAT_HEALTH, "alive"},
		{"/health/ready", COMPAT_HEALTH, "ready"},
		{"/health", COMPAT_NONE, NULL},
		{"/v1/sessions", COMPAT_NONE, NULL},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const char *arg;
		enum compat_kind k = compat_route(t[i].url, &arg);
		tap_ok(k == t[i].kind && (t[i].arg ? arg && strcmp(arg, t[i].arg) == 0 : !arg),
		       "route %s: kind %d", t[i].url, t[i].kind);
	}
	tap_ok(!compat_data_plane(COMPAT_CREATE) && !compat_data_plane(COMPAT_HEALTH) &&
		       compat_data_plane(COMPAT_EXECUTE) && compat_data_plane(COMPAT_OTHER),
	       "data plane: execute, files, file, other");
}

static void
test_duration(void)
{
	/* Values from Go's time.ParseDuration. */
	static const struct {
		const char *s;
		int64_t ns;
	} ok[] = {
		{"0", 0},
		{"-0", 0},
		{"+0", 0},
		{"5s", 5000000000},
		{"30s", 30000000000},
		{"1478s", 1478000000000},
		{"-5s", -5000000000},
		{"+5s", 5000000000},
		{"-0s", 0},
		{"5.0s", 5000000000},
		{"5.6s", 5600000000},
		{"5.s", 5000000000},
		{".5s", 500000000},
		{"1.0s", 1000000000},
		{"1.00s", 1000000000},
		{"1.004s", 1004000000},
		{"1.0040s", 1004000000},
		{"100.00100s", 100001000000},
		{"10ns", 10},
		{"11us", 11000},
		{"12\xc2\xb5s", 12000},
		{"12\xce\xbcs", 12000},
		{"13ms", 13000000},
		{"14s", 14000000000},
		{"15m", 900000000000},
		{"16h", 57600000000000},
		{"3h30m", 12600000000000},
		{"10.5s4m", 250500000000},
		{"-2m3.4s", -123400000000},
		{"1h2m3s4ms5us6ns", 3723004005006},
		{"39h9m14.425s", 140954425000000},
		{"52763797000ns", 52763797000},
		{"0.3333333333333333333h", 1200000000000},
		{"9007199254740993ns", 9007199254740993},
		{"9223372036854775807ns", INT64_MAX},
		{"9223372036854775.807us", INT64_MAX},
		{"9223372036s854ms775us807ns", INT64_MAX},
		{"-9223372036854775808ns", INT64_MIN},
		{"-9223372036854775.808us", INT64_MIN},
		{"0.100000000000000000000h", 360000000000},
		{"0.830103483285477580700h", 2988372539827},
		{"1.5s", 1500000000},
		{"300ms", 300000000},
		{"2.0s", 2000000000},
		{"120s", 120000000000},
	};
	static const struct {
		const char *s, *msg;
	} bad[] = {
		{"", "time: invalid duration \"\""},
		{"3", "time: missing unit in duration \"3\""},
		{"-", "time: invalid duration \"-\""},
		{"s", "time: invalid duration \"s\""},
		{".", "time: invalid duration \".\""},
		{"-.", "time: invalid duration \"-.\""},
		{".s", "time: invalid duration \".s\""},
		{"+.s", "time: invalid duration \"+.s\""},
		{"1d", "time: unknown unit \"d\" in duration \"1d\""},
		{"1e-05s", "time: unknown unit \"e-\" in duration \"1e-05s\""},
		{"1.5 s", "time: unknown unit \" s\" in duration \"1.5 s\""},
		{"9223372036854775808ns", "time: invalid duration \"9223372036854775808ns\""},
		{"9223372036854775.808us", "time: invalid duration \"9223372036854775.808us\""},
		{"9223372036854ms775us808ns",
		 "time: invalid duration \"9223372036854ms775us808ns\""},
		{"-9223372036854775809ns", "time: invalid duration \"-9223372036854775809ns\""},
		{"3000000h", "time: invalid duration \"3000000h\""},
	};
	char err[COMPAT_MSG_MAX];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		int64_t ns = 42;
		int r = compat_parse_duration(ok[i].s, &ns, err, sizeof(err));
		tap_ok(r == 0 && ns == ok[i].ns, "duration '%s' = %lld ns", ok[i].s,
		       (long long)ok[i].ns);
		if (r != 0 || ns != ok[i].ns)
			tap_diag("got %d, %lld, %s", r, (long long)ns, r ? err : "");
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t ns = 42;
		int r = compat_parse_duration(bad[i].s, &ns, err, sizeof(err));
		tap_ok(r == -EINVAL && ns == 42 && strcmp(err, bad[i].msg) == 0,
		       "duration '%s': %s", bad[i].s, bad[i].msg);
		if (r != -EINVAL || strcmp(err, bad[i].msg) != 0)
			tap_diag("got %d: %s", r, err);
	}
}

static void
test_paths(void)
{
	static const struct {
		const char *in, *out;
		int r;
	} t[] = {
		{"a/b", "a/b", 0},
		{"/a/b", "a/b", 0},
		{"//a//b//", "a/b", 0},
		{"./a/./b/.", "a/b", 0},
		{"a/../b", "b", 0},
		{"a/b/../../c", "c", 0},
		{"a b/../x", "x", 0},
		{"", "", 0},
		{"/", "", 0},
		{".", "", 0},
		{"a/..", "", 0},
		{"..", NULL, -EXDEV},
		{"../a", NULL, -EXDEV},
		{"/../a", NULL, -EXDEV},
		{"a/../../b", NULL, -EXDEV},
		{"../../etc/passwd", NULL, -EXDEV},
		{"...", "...", 0},
		{"..a/b..", "..a/b..", 0},
		{"\xf0\x9f\x9a\x80/f", "\xf0\x9f\x9a\x80/f", 0},
	};
	char out[AJW_MAX_PATH + 1], big[AJW_MAX_PATH + 2];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int r = compat_clean_path(t[i].in, strlen(t[i].in), out, sizeof(out));
		tap_ok(r == t[i].r && (r < 0 || strcmp(out, t[i].out) == 0), "path '%s' → %s",
		       t[i].in, t[i].out ? t[i].out : "escapes");
	}
	tap_ok(compat_clean_path("a\0b", 3, out, sizeof(out)) == -EINVAL,
	       "path with a NUL byte: EINVAL");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	tap_ok(compat_clean_path(big, strlen(big), out, sizeof(out)) == -ENAMETOOLONG,
	       "path of 4096 bytes: ENAMETOOLONG");
	tap_ok(compat_clean_path("abcdef", 6, out, 4) == -ENAMETOOLONG, "path longer than out");
}

static void
test_mode(void)
{
	tap_ok(compat_parse_mode("0644") == 0644 && compat_parse_mode("755") == 0755 &&
		       compat_parse_mode("0") == 0 && compat_parse_mode("0777") == 0777,
	       "mode: octal strings");
	tap_ok(compat_parse_mode(NULL) == 0644 && compat_parse_mode("") == 0644 &&
		       compat_parse_mode("999") == 0644 && compat_parse_mode("01000") == 0644 &&
		       compat_parse_mode("+644") == 0644 && compat_parse_mode(" 644") == 0644 &&
		       compat_parse_mode("0o644") == 0644 && compat_parse_mode("4755") == 0644,
	       "mode: empty, invalid or above 0777 is 0644");
	struct ajw_stat st = {.type = AJW_T_FILE, .mode = 0644};
	char buf[16];
	tap_ok(strcmp(compat_mode_string(&st, buf), "-rw-r--r--") == 0, "mode string of a file");
	st = (struct ajw_stat){.type = AJW_T_DIR, .mode = 0755};
	tap_ok(strcmp(compat_mode_string(&st, buf), "drwxr-xr-x") == 0, "... of a directory");
	st = (struct ajw_stat){.type = AJW_T_SYMLINK, .mode = 0777};
	tap_ok(strcmp(compat_mode_string(&st, buf), "Lrwxrwxrwx") == 0, "... of a symlink");
	st = (struct ajw_stat){.type = AJW_T_FILE, .mode = 04755};
	tap_ok(strcmp(compat_mode_string(&st, buf), "urwxr-xr-x") == 0, "... setuid");
	st = (struct ajw_stat){.type = AJW_T_DIR, .mode = 01777};
	tap_ok(strcmp(compat_mode_string(&st, buf), "dtrwxrwxrwx") == 0, "... sticky directory");
	st = (struct ajw_stat){.type = AJW_T_OTHER, .mode = 0600};
	tap_ok(strcmp(compat_mode_string(&st, buf), "?rw-------") == 0, "... other");
}

static void
test_base64(void)
{
	static const struct {
		const char *in, *out;
	} ok[] = {
		{"", ""},	 {"QQ==", "A"},		  {"QUI=", "AB"},
		{"QUJD", "ABC"}, {"aGVsbG8K", "hello\n"}, {"QUJD\r\nREVG", "ABCDEF"},
		{"QQ=\n=", "A"}, {"QR==", "A"}, /* non-zero trailing bits: Go's StdEncoding accepts
						   them */
	};
	static const struct {
		const char *in;
		size_t bad;
	} bad[] = {
		{"Q", 0},     {"QQ", 0},	  {"QQ=", 3},	  {"QQ=x", 2},
		{"Q===", 1},  {"=", 0},		  {"QUJD!", 4},	  {"QQ==QQ==", 4},
		{"QUJ D", 3}, {"not base64!", 3}, {"aGVsbG8", 4}, {"QQ-_", 2},
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		size_t size = 99, bad_at = 99;
		char buf[64];
		int r = compat_b64_check(ok[i].in, strlen(ok[i].in), &size, &bad_at);
		strcpy(buf, ok[i].in);
		size_t n = compat_b64_decode(buf, strlen(buf), buf); /* in place */
		tap_ok(r == 0 && size == strlen(ok[i].out) && n == size &&
			       memcmp(buf, ok[i].out, n) == 0,
		       "base64 %zu decodes in place (%zu bytes)", i, strlen(ok[i].out));
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t size = 99, bad_at = 99;
		int r = compat_b64_check(bad[i].in, strlen(bad[i].in), &size, &bad_at);
		tap_ok(r == -EINVAL && bad_at == bad[i].bad, "base64 '%s': bad at byte %zu",
		       bad[i].in, bad[i].bad);
		if (r != -EINVAL || bad_at != bad[i].bad)
			tap_diag("got %d at %zu", r, bad_at);
	}
	/* Every byte value, through a large buffer. */
	char raw[3000], enc[4100];
	static const char tbl[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0, size, bad_at;
	for (size_t i = 0; i < sizeof(raw); i++)
		raw[i] = (char)(i * 7 + 3);
	for (size_t i = 0; i < sizeof(raw); i += 3) {
		uint32_t v = (uint32_t)(unsigned char)raw[i] << 16 |
			     (uint32_t)(unsigned char)raw[i + 1] << 8 | (unsigned char)raw[i + 2];
		enc[o++] = tbl[v >> 18 & 63];
		enc[o++] = tbl[v >> 12 & 63];
		enc[o++] = tbl[v >> 6 & 63];
		enc[o++] = tbl[v & 63];
	}
	tap_ok(compat_b64_check(enc, o, &size, &bad_at) == 0 && size == sizeof(raw) &&
		       compat_b64_decode(enc, o, enc) == sizeof(raw) &&
		       memcmp(enc, raw, sizeof(raw)) == 0,
	       "base64 of 3000 bytes of every value, decoded in place");
}

static void
test_take_string(void)
{
	char text[512], *rest;
	size_t off, len, rest_len;
	int r;

	strcpy(text, "{\"path\": \"a\", \"content\": \"QUJD\\/\\u0041\", \"mode\": \"0644\"}");
	r = compat_json_take_string(text, strlen(text), "content", &off, &len, &rest, &rest_len);
	tap_ok(r == 1 && len == 6 && memcmp(text + off, "QUJD/A", 6) == 0 && rest &&
		       strcmp(rest, "{\"path\": \"a\", \"content\": \"\", \"mode\": \"0644\"}") ==
			       0 &&
		       rest_len == strlen(rest),
	       "take \"content\": decoded in place, the rest with \"\" in its place");
	free(rest);
	strcpy(text, " { \"n\" : [1, {\"content\": \"x\"}, \"]\"], \"c\\u006fntent\" : "
		     "\"\\ud83d\\ude80\\n\" } ");
	r = compat_json_take_string(text, strlen(text), "content", &off, &len, &rest, &rest_len);
	tap_ok(r == 1 && len == 5 && memcmp(text + off, "\xf0\x9f\x9a\x80\n", 5) == 0 &&
		       strstr(rest, "\"c\\u006fntent\" : \"\" }"),
	       "take: nested values skipped, an escaped key, a surrogate pair");
	free(rest);
	strcpy(text, "{\"path\": \"a\", \"content\": 5}");
	r = compat_json_take_string(text, strlen(text), "content", &off, &len, &rest, &rest_len);
	tap_ok(r == 0 && !rest, "take: a value that is not a string is left for jansson");
	strcpy(text, "{\"path\": \"a\"}");
	tap_ok(compat_json_take_string(text, strlen(text), "content", &off, &len, &rest,
				       &rest_len) == 0,
	       "take: absent key");
	strcpy(text, "{}");
	tap_ok(compat_json_take_string(text, strlen(text), "content", &off, &len, &rest,
				       &rest_len) == 0,
	       "take: empty object");
	static const char *const bad[] = {
		"",
		"[]",
		"{\"content\": \"a\", \"content\": \"b\"}",
		"{\"content\": \"a\\ud83d\"}",
		"{\"content\": \"a\\u0000\"}",
		"{\"content\": \"a\\x\"}",
		"{\"content\": \"a\nb\"}",
		"{\"content\": \"abc",
		"{\"content\" \"abc\"}",
		"{\"content\": \"abc\",}x",
		"{\"a\": [1, 2, \"content\": \"x\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "%s", bad[i]);
		r = compat_json_take_string(text, strlen(text), "content", &off, &len, &rest,
					    &rest_len);
		tap_ok(r == -EINVAL || (r == 0 && !rest), "take: malformed %zu refused", i);
		if (r == 1)
			free(rest);
	}
}

/* Multipart: what the callbacks saw, as text "[name|filename]data<end>". */
struct mp_log {
	char out[8192];
	size_t n;
	int fail_at_part; /* return an error from the part callback with this name */
};

static void
mp_put(struct mp_log *l, const char *p, size_t n)
{
	if (l->n + n < sizeof(l->out)) {
		memcpy(l->out + l->n, p, n);
		l->n += n;
		l->out[l->n] = '\0';
	}
}

static int
mp_part(void *cls, const char *name, const char *filename)
{
	struct mp_log *l = cls;
	mp_put(l, "[", 1);
	mp_put(l, name, strlen(name));
	mp_put(l, "|", 1);
	mp_put(l, filename, strlen(filename));
	mp_put(l, "]", 1);
	return l->fail_at_part && strcmp(name, "stop") == 0 ? -E2BIG : 0;
}

static int
mp_data(void *cls, const char *p, size_t n)
{
	mp_put(cls, p, n);
	return 0;
}

static int
mp_end(void *cls)
{
	mp_put(cls, "<end>", 5);
	return 0;
}

static const struct compat_mp_ops mp_ops = {mp_part, mp_data, mp_end};

/* Parse body fed in pieces of `step` bytes (0: whole). */
static int
mp_run(const char *ct, const char *body, size_t len, size_t step, struct mp_log *l, bool *done)
{
	struct compat_mp m;
	int r = compat_mp_init(&m, ct);

	if (r < 0)
		return r;
	for (size_t i = 0; i < len && r == 0; i += step ? step : len)
		r = compat_mp_feed(&m, body + i, step && len - i > step ? step : len - i, &mp_ops,
				   l);
	*done = compat_mp_done(&m);
	compat_mp_free(&m);
	return r;
}

static void
test_multipart(void)
{
	static const char sdk[] =
		"--2cb5\r\nContent-Disposition: form-data; name=\"path\"\r\n\r\ndir/up.bin\r\n"
		"--2cb5\r\nContent-Disposition: form-data; name=\"mode\"\r\n\r\n0644\r\n"
		"--2cb5\r\nContent-Disposition: form-data; name=\"file\"; "
		"filename=\"up.bin\"\r\n\r\n"
		"a\r\nb--\r\n--2cb\r\n--2cb5x\r\n--2cb5\tz\r\n\r\n--\r\n"
		"--2cb5--\r\nepilogue";
	static const char want[] = "[path|]dir/up.bin<end>[mode|]0644<end>[file|up.bin]"
				   "a\r\nb--\r\n--2cb\r\n--2cb5x\r\n--2cb5\tz\r\n\r\n--<end>";
	static const size_t steps[] = {0, 1, 2, 3, 7, 64};
	struct mp_log l;
	bool done;
	int r;

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		memset(&l, 0, sizeof(l));
		r = mp_run("multipart/form-data; boundary=2cb5", sdk, sizeof(sdk) - 1, steps[i], &l,
			   &done);
		tap_ok(r == 0 && done && strcmp(l.out, want) == 0,
		       "multipart as the SDK sends it, fed %zu bytes at a time: byte-exact",
		       steps[i]);
		if (r != 0 || strcmp(l.out, want) != 0)
			tap_diag("r %d, got '%s'", r, l.out);
	}
	static const char padded[] = "preamble\r\n--b \t\r\nX-Other: 1\r\ncontent-disposition: "
				     "FORM-DATA; NAME=path; filename=\"q\\\"x\"\r\n\r\nv\r\n--b\r\n"
				     "\r\nno headers\r\n--b--";
	memset(&l, 0, sizeof(l));
	r = mp_run("Multipart/Form-Data; charset=x; boundary=\"b\"", padded, sizeof(padded) - 1, 1,
		   &l, &done);
	tap_ok(r == 0 && done && strcmp(l.out, "[path|q\"x]v<end>[|]no headers<end>") == 0,
	       "multipart: preamble, padding after the boundary, any case, quoted values, a part "
	       "without headers");
	if (strcmp(l.out, "[path|q\"x]v<end>[|]no headers<end>") != 0)
		tap_diag("got '%s'", l.out);
	memset(&l, 0, sizeof(l));
	r = mp_run("multipart/form-data; boundary=b", "--b\r\n\r\nx\r\n--b", 13, 0, &l, &done);
	tap_ok(r == 0 && !done, "multipart without its closing delimiter: not done");
	memset(&l, 0, sizeof(l));
	r = mp_run("multipart/form-data; boundary=b", "--b\r\nbad header\r\n\r\nx\r\n--b--", 27, 0,
		   &l, &done);
	tap_ok(r == -EBADMSG, "multipart: a header line without ':' is refused");
	memset(&l, 0, sizeof(l));
	r = mp_run("multipart/form-data; boundary=b", "--b--\r\n", 7, 0, &l, &done);
	tap_ok(r == 0 && done && l.n == 0, "multipart: an empty form");
	memset(&l, 0, sizeof(l));
	l.fail_at_part = 1;
	static const char stop[] =
		"--b\r\nContent-Disposition: form-data; name=stop\r\n\r\nx\r\n--b--";
	r = mp_run("multipart/form-data; boundary=b", stop, sizeof(stop) - 1, 0, &l, &done);
	tap_ok(r == -E2BIG, "multipart: a callback's error stops the parser");
	char *hdr = malloc(COMPAT_MP_HEADERS_MAX + 64);
	size_t n = (size_t)sprintf(hdr, "--b\r\nX: ");
	memset(hdr + n, 'a', COMPAT_MP_HEADERS_MAX);
	n += COMPAT_MP_HEADERS_MAX;
	memcpy(hdr + n, "\r\n\r\n", 4);
	memset(&l, 0, sizeof(l));
	r = mp_run("multipart/form-data; boundary=b", hdr, n + 4, 4096, &l, &done);
	tap_ok(r == -EBADMSG, "multipart: a part's headers past 16 KiB are refused");
	free(hdr);
	struct compat_mp m;
	tap_ok(compat_mp_init(&m, "multipart/form-data") == -EINVAL &&
		       compat_mp_init(&m, "multipart/form-data; boundary=") == -EINVAL &&
		       compat_mp_init(&m, "application/json; boundary=x") == -EINVAL &&
		       compat_mp_init(&m, NULL) == -EINVAL,
	       "multipart: a Content-Type without a boundary is refused");
	tap_ok(compat_is_multipart("multipart/form-data; boundary=x") &&
		       compat_is_multipart("MULTIPART/FORM-DATA") &&
		       !compat_is_multipart("multipart/form-dataX") &&
		       !compat_is_multipart("application/json") && !compat_is_multipart(NULL),
	       "multipart/form-data is recognised by its prefix");
}

static void
test_bodies(void)
{
	struct compat_create c;
	struct compat_exec q;
	const char *msg;
	char m[COMPAT_MSG_MAX];
	json_t *v;

	v = json_loads("{\"name\": \"n\", \"namespace\": \"d\", \"ttl\": 60, \"metadata\": {}, "
		       "\"kind\": \"CodeInterpreter\"}",
		       0, NULL);
	tap_ok(compat_parse_create(v, &c, &msg) == 0 && strcmp(c.name, "n") == 0 &&
		       strcmp(c.ns, "d") == 0 && c.ttl_s == 60 && c.metadata,
	       "create: name, namespace, ttl, metadata; unknown fields ignored");
	json_decref(v);
	static const struct {
		const char *body, *msg;
	} bad[] = {
		{"[]", "Invalid request body"},
		{"{\"name\": 5, \"namespace\": \"d\"}", "Invalid request body"},
		{"{\"name\": \"n\", \"namespace\": \"d\", \"ttl\": \"60\"}",
		 "Invalid request body"},
		{"{\"name\": \"n\", \"namespace\": \"d\", \"metadata\": []}",
		 "Invalid request body"},
		{"{\"name\": \"n\"}", "namespace is required"},
		{"{\"name\": \"\", \"namespace\": \"d\"}", "name is required"},
		{"{\"namespace\": \"d\"}", "name is required"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = json_loads(bad[i].body, 0, NULL);
		tap_ok(compat_parse_create(v, &c, &msg) == -EINVAL && strcmp(msg, bad[i].msg) == 0,
		       "create %s: %s", bad[i].body, bad[i].msg);
		json_decref(v);
	}
	tap_ok(compat_parse_create(NULL, &c, &msg) == -EINVAL &&
		       strcmp(msg, "Invalid request body") == 0,
	       "create of no JSON: Invalid request body");

	v = json_loads("{\"command\": [\"a\", \"b\"], \"timeout\": \"1.5s\", \"working_dir\": "
		       "\"w\", \"env\": {\"K\": \"V\"}, \"extra\": 1}",
		       0, NULL);
	tap_ok(compat_parse_execute(v, &q, m, sizeof(m)) == 0 && json_array_size(q.command) == 2 &&
		       q.timeout_ns == 1500000000 && strcmp(q.working_dir, "w") == 0 &&
		       json_object_size(q.env) == 1,
	       "execute: command, timeout, working_dir, env; unknown fields ignored");
	json_decref(v);
	v = json_loads("{\"command\": [\"a\"], \"timeout\": \"\", \"working_dir\": \"\"}", 0, NULL);
	tap_ok(compat_parse_execute(v, &q, m, sizeof(m)) == 0 && q.timeout_ns == 0 &&
		       !q.working_dir && !q.env,
	       "execute: an empty timeout and working_dir are absent");
	json_decref(v);
	static const struct {
		const char *body, *msg;
	} xbad[] = {
		{"{}", "command cannot be empty"},
		{"{\"command\": []}", "command cannot be empty"},
		{"{\"command\": null}", "command cannot be empty"},
		{"{\"command\": \"ls\"}",
		 "Invalid request body: command: expected an array of strings"},
		{"{\"command\": [1]}", "Invalid request body: command[0]: expected a string"},
		{"{\"command\": [\"a\\u0000b\"]}",
		 "Invalid request body: command[0]: expected a string"},
		{"{\"command\": [\"a\"], \"timeout\": 5}", "Invalid timeout format: "},
		{"{\"command\": [\"a\"], \"timeout\": \"5\"}",
		 "Invalid timeout format: time: missing unit in duration \"5\""},
		{"{\"command\": [\"a\"], \"timeout\": \"0\"}",
		 "Invalid timeout format: 0: not positive"},
		{"{\"command\": [\"a\"], \"timeout\": \"-1s\"}",
		 "Invalid timeout format: -1s: not positive"},
		{"{\"command\": [\"a\"], \"env\": {\"A=B\": \"x\"}}",
		 "Invalid request body: env: 'A=B'"},
		{"{\"command\": [\"a\"], \"env\": {\"\": \"x\"}}", "Invalid request body: env: ''"},
		{"{\"command\": [\"a\"], \"env\": {\"A\": 1}}", "Invalid request body: env: 'A'"},
		{"{\"command\": [\"a\"], \"env\": []}", "Invalid request body: env"},
		{"{\"command\": [\"a\"], \"working_dir\": 1}", "Invalid request body: working_dir"},
		{"[]", "Invalid request body"},
	};
	for (size_t i = 0; i < sizeof(xbad) / sizeof(xbad[0]); i++) {
		v = json_loads(xbad[i].body, JSON_ALLOW_NUL, NULL);
		int r = compat_parse_execute(v, &q, m, sizeof(m));
		tap_ok(r == -EINVAL && strncmp(m, xbad[i].msg, strlen(xbad[i].msg)) == 0,
		       "execute %s: %s…", xbad[i].body, xbad[i].msg);
		if (r != -EINVAL || strncmp(m, xbad[i].msg, strlen(xbad[i].msg)) != 0)
			tap_diag("got %d: %s", r, m);
		json_decref(v);
	}
}

static bool
json_is(json_t *v, const char *want)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ENCODE_ANY |
					JSON_REAL_PRECISION(10));
	bool same = s && strcmp(s, want) == 0;
	if (!same)
		tap_diag("got %s", s ? s : "(null)");
	free(s);
	json_decref(v);
	return same;
}

static void
test_answers(void)
{
	struct timespec a = {1700000000, 123456789}, b = {1700000001, 500000000};
	char t[48], out[256];

	tap_ok(strcmp(compat_time(1700000000, 0, t, sizeof(t)), "2023-11-14T22:13:20Z") == 0 &&
		       strcmp(compat_time(1700000000, 120000000, t, sizeof(t)),
			      "2023-11-14T22:13:20.12Z") == 0 &&
		       strcmp(compat_time(1700000000, 1, t, sizeof(t)),
			      "2023-11-14T22:13:20.000000001Z") == 0,
	       "times as Go's RFC3339Nano (trailing zeros dropped)");
	tap_ok(json_is(compat_string("a\xff\xc3(b\xed\xa0\x80\xf0\x9f\x9a\x80", 12),
		       "\"a\\uFFFD\\uFFFD(b\\uFFFD\\uFFFD\\uFFFD\\uD83D\\uDE80\""),
	       "invalid UTF-8 becomes U+FFFD per byte; valid stays");
	tap_ok(json_is(compat_string(NULL, 0), "\"\"") &&
		       json_is(compat_string("a\0b", 3), "\"a\\u0000b\""),
	       "empty and NUL-holding strings");
	tap_ok(json_is(compat_error_json(true, 404, "File not found"),
		       "{\"error\":\"File not found\",\"code\":404}") &&
		       json_is(compat_error_json(false, 400, "name is required"),
			       "{\"message\":\"name is required\"}"),
	       "errors: {error, code} on the data plane, {message} on the control plane");
	tap_ok(json_is(compat_created_json("abcdefghij", "my"),
		       "{\"kind\":\"Sandbox\",\"sessionId\":\"abcdefghij\",\"sandboxId\":"
		       "\"abcdefghij\","
		       "\"sandboxName\":\"my-abcdefgh\",\"entryPoints\":[]}"),
	       "create's answer");
	tap_ok(json_is(compat_exec_json("o", 1, "e\xff", 2, 3, &a, &b),
		       "{\"stdout\":\"o\",\"stderr\":\"e\\uFFFD\",\"exit_code\":3,\"duration\":1."
		       "376543211,"
		       "\"start_time\":\"2023-11-14T22:13:20.123456789Z\",\"end_time\":\"2023-11-"
		       "14T22:"
		       "13:21.5Z\"}"),
	       "execute's answer");
	struct ajw_stat st = {
		.type = AJW_T_FILE, .mode = 0600, .size = 5, .mtime_ns = 1700000000000000000};
	tap_ok(json_is(compat_file_info("a/b", &st),
		       "{\"path\":\"a/b\",\"size\":5,\"mode\":\"-rw-------\","
		       "\"modified\":\"2023-11-14T22:13:20Z\"}") &&
		       json_is(compat_dirent("b", &st),
			       "{\"name\":\"b\",\"size\":5,\"modified\":\"2023-11-14T22:13:20Z\","
			       "\"mode\":\"-rw-------\",\"is_dir\":false}"),
	       "FileInfo and a listing's entry");
	struct ajw_exit ex = {.exit_code = 3};
	tap_ok(compat_exit_code(&ex) == 3, "exit code: the status");
	ex = (struct ajw_exit){.exit_code = -1, .signal = 9};
	tap_ok(compat_exit_code(&ex) == -1, "exit code: -1 when killed by a signal");
	ex.flags = AJW_EXIT_TIMED_OUT;
	tap_ok(compat_exit_code(&ex) == 124, "exit code: 124 on the deadline");
	compat_exec_failure("foo", ENOENT, "exec foo: No such file or directory", out, sizeof(out));
	tap_ok(strcmp(out, "exec: \"foo\": executable file not found in $PATH") == 0,
	       "not found on PATH: Go's LookPath message");
	compat_exec_failure("./x", EACCES, "exec ./x: Permission denied", out, sizeof(out));
	tap_ok(strcmp(out, "fork/exec ./x: permission denied") == 0, "not executable: fork/exec");
	compat_exec_failure("foo", ENOENT, "chdir /w: No such file or directory", out, sizeof(out));
	tap_ok(strcmp(out, "chdir /w: No such file or directory") == 0,
	       "other steps: the worker's message");
	compat_exec_failure("foo", EPERM, "exec foo: seccomp: Operation not permitted", out,
			    sizeof(out));
	tap_ok(strcmp(out, "exec foo: seccomp: Operation not permitted") == 0,
	       "... the seccomp step too");
}

int
main(void)
{
	test_route();
	test_duration();
	test_paths();
	test_mode();
	test_base64();
	test_take_string();
	test_multipart();
	test_bodies();
	test_answers();
	return tap_done();
}
