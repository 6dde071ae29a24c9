/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Agent runtimes: the agent a session of a format-3 profile runs (its
 * secrets, its process, its health, its log, its restarts). agent.c.
 */
#ifndef AGENTJAIL_AGENT_H
#define AGENTJAIL_AGENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "http.h"

/* The agent is ready (err 0), or will never be (err < 0, msg says why,
 * with the agent's last output; s is NULL if the session ended). Called
 * once. */
typedef void agent_ready_fn(void *cls, struct session *s, int err, const char *msg);

/* Start the agent of session s: conf is the profile's "agent" object
 * (GET /v1/profiles), secrets an object of NAME: string (checked by the
 * caller against conf). ready is called once. On failure (-errno) the
 * caller ends the session. */
int agent_start(struct session *s, json_t *conf, json_t *secrets, agent_ready_fn *ready, void *cls);
/* The session ends: the agent with it (session_end calls it). */
void agent_free(struct session *s);
/* The create that waited went away: ready is not called. */
void agent_cancel_wait(struct session *s);
bool agent_is_ready(const struct session *s);
/* The port whose path_prefix is the longest prefix of path. */
bool agent_port(const struct session *s, const char *path, uint16_t *port);
/* An event on one of the agent's descriptors (WATCH_AGENT). */
void agent_on_event(struct watch *w, uint32_t events);

/* The log: bytes from *pos (an offset in all the agent ever wrote; moved
 * to the oldest kept if it is older), at most max; *pos advances. */
size_t agent_log_read(const struct session *s, uint64_t *pos, char *out, size_t max);
/* fn(cls) is called when the log grows or the session ends. */
typedef void agent_log_fn(void *cls);
int agent_log_follow(struct session *s, agent_log_fn *fn, void *cls);
void agent_log_unfollow(struct session *s, void *cls);

#endif
