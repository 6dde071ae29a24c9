/* SPDX-License-Identifier: Apache-2.0 */
#ifndef AGENTJAIL_LOG_H
#define AGENTJAIL_LOG_H

#include <stdbool.h>

/*
 * Structured logs: one event per line on stderr, either
 *   level=info event=session.create session=... profile=default
 * or the same as a JSON object. Callers pass key/value pairs; values are
 * quoted and escaped as needed, never trusted to be clean.
 */
enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_init(bool json, const char *process);
/* log_event(LOG_INFO, "session.create", "session", id, "profile", name, NULL) */
void log_event(enum log_level level, const char *event, ...) __attribute__((sentinel));
/* The same with the pairs in an array: key, value, ..., NULL (at most 32 pairs). */
void log_pairs(enum log_level level, const char *event, const char *const *kv);

#endif
