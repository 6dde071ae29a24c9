/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Who is asking: the authentication of agentjaild's requests, and the TLS
 * credentials of its TCP listeners.
 *
 * Unix sockets authenticate by the peer's credentials (SO_PEERCRED): the
 * tenant is "unix:UID". TCP listeners authenticate by a bearer JWT
 * (jwt.h): the tenant is the token's `sub`. A TCP listener without keys
 * serves anyone only with insecure_no_auth (the tenant is then "").
 *
 * The key and certificate files are read by the monitor (root) and given
 * to the HTTP process as "material" (JSON text of their contents), at start
 * and after SIGHUP: the HTTP process never opens them.
 */
#ifndef AGENTJAIL_AUTH_H
#define AGENTJAIL_AUTH_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"

struct auth_who {
	char tenant[AJD_TENANT_MAX + 1];
	bool admin;
	bool unix_peer;
	char client[64]; /* for logs: "127.0.0.1", "unix:uid=1000" */
};

/* A refusal: the HTTP status, a machine code and a message (no secrets). */
struct auth_fail {
	unsigned status;
	char code[40];
	char msg[200];
	unsigned retry_after_s; /* 429 */
};

/* Root side: read the files c names (keys, TLS) into material (JSON
 * text, malloc'd, NUL-terminated). NULL and e on failure. */
char *auth_material_read(const struct ajd_config *c, struct jail_error *e);
/* Build what material describes (keys, certificate) without installing
 * it: the errors a start or a reload must refuse. */
int auth_material_check(const char *material, struct jail_error *e);

/* HTTP side: install the keys and the certificate; on failure the ones
 * in use stay. */
int auth_install(const char *material, struct jail_error *e);
/* Whether TLS credentials are installed. */
bool auth_tls_ready(void);
/* The MHD option of a TLS listener: a certificate callback that serves the
 * certificate installed last. */
struct MHD_OptionItem auth_tls_option(void);

/* Authenticate a request on conn (by peer credentials or bearer token).
 * 0: who is filled. -1: f says why not (401, 403, 429). */
int auth_request(struct MHD_Connection *conn, struct auth_who *who, struct auth_fail *f);

/* The Prometheus lines of the authentication counters (malloc'd). */
char *auth_metrics(void);

#endif
