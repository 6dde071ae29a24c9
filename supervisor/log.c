/* SPDX-License-Identifier: Apache-2.0 */
/* One event per line, key=value or JSON, to stderr (journald takes it). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"

static bool log_json;
static const char *log_process = "agentjaild";

void
log_init(bool json, const char *process)
{
	log_json = json;
	log_process = process;
}

static const char *const level_names[] = {"debug", "info", "warn", "error"};

/* Append s quoted for the chosen format, control characters escaped. */
static size_t
put_value(char *buf, size_t n, size_t size, const char *s)
{
	bool quote = log_json || !s[0] || strpbrk(s, " \"=\\") || strpbrk(s, "\t\n\r");
	if (quote && n < size)
		buf[n++] = '"';
	for (const unsigned char *p = (const unsigned char *)s; *p && n + 7 < size; p++) {
		if (*p == '"' || *p == '\\') {
			buf[n++] = '\\';
			buf[n++] = (char)*p;
		} else if (*p < 0x20 || *p == 0x7f) {
			n += (size_t)snprintf(buf + n, size - n, "\\u%04x", *p);
		} else {
			buf[n++] = (char)*p;
		}
	}
	if (quote && n < size)
		buf[n++] = '"';
	return n;
}

static size_t
put_pair(char *buf, size_t n, size_t size, const char *k, const char *v)
{
	if (n + strlen(k) + 8 >= size)
		return n;
	if (log_json)
		n += (size_t)snprintf(buf + n, size - n, "%s\"%s\":", n > 1 ? "," : "", k);
	else
		n += (size_t)snprintf(buf + n, size - n, "%s%s=", n ? " " : "", k);
	return put_value(buf, n, size, v);
}

void
log_event(enum log_level level, const char *event, ...)
{
	const char *kv[65];
	size_t i = 0;
	va_list ap;

	va_start(ap, event);
	while (i < 64 && (kv[i] = va_arg(ap, const char *)) != NULL) {
		kv[i + 1] = va_arg(ap, const char *);
		i += 2;
	}
	va_end(ap);
	kv[i] = NULL;
	log_pairs(level, event, kv);
}

void
log_pairs(enum log_level level, const char *event, const char *const *kv)
{
	char buf[4096], ts[40];
	struct timespec now;
	struct tm tm;
	size_t n = 0;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	size_t tl = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + tl, sizeof(ts) - tl, ".%03ldZ", now.tv_nsec / 1000000);
	if (log_json)
		buf[n++] = '{';
	n = put_pair(buf, n, sizeof(buf), "ts", ts);
	n = put_pair(buf, n, sizeof(buf), "level", level_names[level]);
	n = put_pair(buf, n, sizeof(buf), "process", log_process);
	n = put_pair(buf, n, sizeof(buf), "event", event);
	for (size_t i = 0; i < 64 && kv[i]; i += 2)
		n = put_pair(buf, n, sizeof(buf), kv[i], kv[i + 1] ? kv[i + 1] : "");
	if (log_json && n < sizeof(buf) - 1)
		buf[n++] = '}';
	if (n >= sizeof(buf) - 1)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	fwrite(buf, 1, n, stderr);
	fflush(stderr);
}
