/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Authentication of agentjaild's requests and the TLS credentials of its
 * TCP listeners; see auth.h.
 *
 * The order for a request: the client's address (a unix peer's uid, a TCP
 * peer's IP); refused at once (429) if it failed too often this minute;
 * then its credentials. A unix peer is its uid, allowed if the
 * configuration lists it (or its group), or lists nobody. A TCP peer
 * presents a bearer token, verified by jwt.c against the keys installed
 * last; its `sub` is the tenant. Failures are counted per reason, logged
 * as audit lines (never the token), and count against the client.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "auth.h"
#include "internal.h"
#include "http.h"
#include "json.h"
#include "jwt.h"
#include "log.h"

#define MATERIAL_FILE_MAX (64u << 10)
#define TLS_MAX_CHAIN	  8

/* --- material: the files' contents, read as root ------------------------ */

static int
add_file(json_t *obj, const char *key, const char *path, const char *what, struct jail_error *e)
{
	char *buf = NULL;
	size_t len = 0;
	int r = json_read_file(path, MATERIAL_FILE_MAX, what, &buf, &len, e);

	if (r < 0)
		return r;
	json_object_set_new(obj, key, json_stringn(buf, len));
	free(buf);
	if (!json_object_get(obj, key))
		return jerr_plain(e, EINVAL, "%s %s: not text", what, path);
	return 0;
}

char *
auth_material_read(const struct ajd_config *c, struct jail_error *e)
{
	json_auto_t *m = json_object();
	json_t *keys = json_array();
	int r = 0;

	json_object_set_new(m, "keys", keys);
	for (size_t i = 0; r == 0 && i < c->auth.n_keys; i++) {
		const struct ajd_key *k = &c->auth.keys[i];
		json_t *o = json_pack("{s:s,s:s}", "kid", k->kid, "alg", k->alg);
		json_array_append_new(keys, o);
		r = add_file(o, "pem", k->file, "auth.jwt.keys: key file", e);
	}
	if (r == 0 && c->tls.cert[0]) {
		json_t *t = json_object();
		json_object_set_new(m, "tls", t);
		r = add_file(t, "cert", c->tls.cert, "tls.cert: certificate file", e);
		if (r == 0)
			r = add_file(t, "key", c->tls.key, "tls.key: key file", e);
	}
	return r < 0 ? NULL : json_dumps(m, JSON_COMPACT);
}

/* --- TLS ------------------------------------------------------------------ */

struct tls_gen {
	gnutls_pcert_st pc[TLS_MAX_CHAIN];
	unsigned n;
	gnutls_privkey_t key;
};

static void
tls_free(struct tls_gen *g)
{
	if (!g)
		return;
	for (unsigned i = 0; i < g->n; i++)
		gnutls_pcert_deinit(&g->pc[i]);
	if (g->key)
		gnutls_privkey_deinit(g->key);
	free(g);
}

/* The key must be the certificate's: sign with one, verify with the other. */
static int
tls_match(struct tls_gen *g)
{
	gnutls_datum_t data = {(unsigned char *)"agentjail", 9}, sig = {0};
	int pk = gnutls_privkey_get_pk_algorithm(g->key, NULL);
	int r = gnutls_privkey_sign_data(g->key, GNUTLS_DIG_SHA256, 0, &data, &sig);

	if (r >= 0)
		r = gnutls_pubkey_verify_data2(
			g->pc[0].pubkey,
			gnutls_pk_to_sign((gnutls_pk_algorithm_t)pk, GNUTLS_DIG_SHA256), 0, &data,
			&sig);
	gnutls_free(sig.data);
	return r;
}

static int
tls_load(const char *cert, const char *key, struct tls_gen **ret, struct jail_error *e)
{
	struct tls_gen *g = calloc(1, sizeof(*g));
	gnutls_datum_t c = {(unsigned char *)cert, (unsigned)strlen(cert)};
	gnutls_datum_t k = {(unsigned char *)key, (unsigned)strlen(key)};
	int r;

	if (!g)
		return jerr_plain(e, ENOMEM, "tls: out of memory");
	g->n = TLS_MAX_CHAIN;
	r = gnutls_pcert_list_import_x509_raw(g->pc, &g->n, &c, GNUTLS_X509_FMT_PEM, 0);
	if (r < 0) {
		g->n = 0;
		tls_free(g);
		return jerr_plain(e, EINVAL, "tls.cert: %s", gnutls_strerror(r));
	}
	if (g->n == 0) {
		tls_free(g);
		return jerr_plain(e, EINVAL, "tls.cert: no certificate in the file");
	}
	if ((r = gnutls_privkey_init(&g->key)) < 0 ||
	    (r = gnutls_privkey_import_x509_raw(g->key, &k, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
		tls_free(g);
		return jerr_plain(e, EINVAL, "tls.key: %s", gnutls_strerror(r));
	}
	if (tls_match(g) < 0) {
		tls_free(g);
		return jerr_plain(e, EINVAL, "tls.key: not the key of the certificate in tls.cert");
	}
	*ret = g;
	return 0;
}

/* In use, and the one before (a handshake in progress may still hold it). */
static struct tls_gen *tls_cur, *tls_prev;

static int
tls_cert_cb(gnutls_session_t s, const gnutls_datum_t *req_ca_dn, int nreqs,
	    const gnutls_pk_algorithm_t *algos, int n_algos, gnutls_pcert_st **pcert,
	    unsigned int *pcert_len, gnutls_privkey_t *key)
{
	if (!tls_cur)
		return -1;
	*pcert = tls_cur->pc;
	*pcert_len = tls_cur->n;
	*key = tls_cur->key;
	return 0;
}

bool
auth_tls_ready(void)
{
	return tls_cur != NULL;
}

struct MHD_OptionItem
auth_tls_option(void)
{
	return (struct MHD_OptionItem){MHD_OPTION_HTTPS_CERT_CALLBACK, 0, (void *)tls_cert_cb};
}

/* --- installing material ------------------------------------------------ */

static struct jwt_keyset *keys;

static int
build(const char *material, struct jwt_keyset **ret_ks, struct tls_gen **ret_tls,
      struct jail_error *e)
{
	json_error_t err;
	json_auto_t *m = json_loads(material, JSON_REJECT_DUPLICATES, &err);
	struct jwt_keyset *ks = jwt_keyset_new();
	struct tls_gen *tls = NULL;
	json_t *k, *t = json_object_get(m, "tls");
	size_t i;

	if (!m || !ks) {
		jwt_keyset_free(ks);
		return jerr_plain(e, EINVAL, "auth material: %s", m ? "out of memory" : err.text);
	}
	json_array_foreach(json_object_get(m, "keys"), i, k)
	{
		const char *pem = json_string_value(json_object_get(k, "pem"));
		if (!pem ||
		    jwt_keyset_add_pem(ks, json_string_value(json_object_get(k, "kid")), pem,
				       strlen(pem), json_string_value(json_object_get(k, "alg")),
				       e) < 0) {
			jwt_keyset_free(ks);
			return jerr_wrap(e, "auth.jwt.keys");
		}
	}
	if (t && tls_load(json_string_value(json_object_get(t, "cert")),
			  json_string_value(json_object_get(t, "key")), &tls, e) < 0) {
		jwt_keyset_free(ks);
		return -EINVAL;
	}
	*ret_ks = ks;
	*ret_tls = tls;
	return 0;
}

int
auth_material_check(const char *material, struct jail_error *e)
{
	struct jwt_keyset *ks;
	struct tls_gen *tls;
	int r = build(material, &ks, &tls, e);

	if (r == 0) {
		jwt_keyset_free(ks);
		tls_free(tls);
	}
	return r;
}

int
auth_install(const char *material, struct jail_error *e)
{
	struct jwt_keyset *ks;
	struct tls_gen *tls;
	int r = build(material, &ks, &tls, e);

	if (r < 0)
		return r;
	jwt_keyset_free(keys);
	keys = ks;
	if (tls) {
		tls_free(tls_prev);
		tls_prev = tls_cur;
		tls_cur = tls;
	}
	return 0;
}

/* --- failures: counted, rate-limited per client ------------------------- */

#define RL_SLOTS 1024

static struct {
	uint64_t key; /* FNV-1a of the client */
	int64_t minute;
	uint32_t n;
} rl[RL_SLOTS];

static uint64_t
fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* The failures of client in the current minute (its slot, reset when the
 * minute or the client changed: memory stays bounded). */
static uint32_t *
failures_of(const char *client)
{
	uint64_t k = fnv1a(client);
	int64_t minute = (int64_t)time(NULL) / 60;
	size_t i = (size_t)(k % RL_SLOTS);

	if (rl[i].key != k || rl[i].minute != minute) {
		rl[i].key = k;
		rl[i].minute = minute;
		rl[i].n = 0;
	}
	return &rl[i].n;
}

static const char *const reasons[] = {
	"token_missing",       "token_malformed",    "token_bad_alg",	     "token_unknown_key",
	"token_bad_signature", "token_expired",	     "token_not_yet_valid",  "token_too_long_lived",
	"token_missing_exp",   "token_wrong_issuer", "token_wrong_audience", "token_missing_sub",
	"token_unsigned",      "peer_not_allowed",   "rate_limited",
};
static uint64_t reason_count[sizeof(reasons) / sizeof(reasons[0])];

static int fail(const struct auth_who *who, struct auth_fail *f, unsigned status, const char *code,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int
fail(const struct auth_who *who, struct auth_fail *f, unsigned status, const char *code,
     const char *fmt, ...)
{
	va_list ap;

	f->status = status;
	snprintf(f->code, sizeof(f->code), "%s", code);
	va_start(ap, fmt);
	vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
	va_end(ap);
	for (size_t i = 0; i < ARRAY_SIZE(reasons); i++)
		if (strcmp(reasons[i], code) == 0)
			reason_count[i]++;
	if (status == 429)
		return -1; /* counted; not logged: a flood must not flood the log */
	(*failures_of(who->client))++;
	log_event(LOG_WARN, "audit", "action", "auth.failure", "client", who->client, "reason",
		  code, NULL);
	return -1;
}

char *
auth_metrics(void)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	if (!f)
		return NULL;
	fputs("# HELP agentjail_auth_failures_total Refused authentications, by reason.\n"
	      "# TYPE agentjail_auth_failures_total counter\n",
	      f);
	for (size_t i = 0; i < ARRAY_SIZE(reasons); i++)
		fprintf(f, "agentjail_auth_failures_total{reason=\"%s\"} %" PRIu64 "\n", reasons[i],
			reason_count[i]);
	fclose(f);
	return out;
}

/* --- requests --------------------------------------------------------------- */

static bool
id_in(uint32_t id, const uint32_t *ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

static int
auth_unix(struct MHD_Connection *conn, struct auth_who *who, struct auth_fail *f)
{
	const struct ajd_auth *a = &http_cfg->auth;
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct ucred uc;
	socklen_t len = sizeof(uc);

	who->unix_peer = true;
	if (!ci || getsockopt(ci->connect_fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0) {
		snprintf(who->client, sizeof(who->client), "unix:uid=?");
		return fail(who, f, 403, "peer_not_allowed", "the peer's credentials are unknown");
	}
	snprintf(who->client, sizeof(who->client), "unix:uid=%u", (unsigned)uc.uid);
	snprintf(who->tenant, sizeof(who->tenant), "unix:%u", (unsigned)uc.uid);
	who->admin = id_in(uc.uid, a->unix_admin_uids, a->n_unix_admin_uids);
	if (!a->n_unix_uids && !a->n_unix_gids)
		return 0; /* the socket's mode and group decide */
	if (id_in(uc.uid, a->unix_uids, a->n_unix_uids) ||
	    id_in(uc.gid, a->unix_gids, a->n_unix_gids))
		return 0;
	gid_t groups[256];
	len = sizeof(groups);
	if (a->n_unix_gids &&
	    getsockopt(ci->connect_fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0)
		for (size_t i = 0; i < len / sizeof(gid_t); i++)
			if (id_in(groups[i], a->unix_gids, a->n_unix_gids))
				return 0;
	return fail(who, f, 403, "peer_not_allowed",
		    "uid %u is not allowed on this socket (auth.unix)", (unsigned)uc.uid);
}

int
auth_request(struct MHD_Connection *conn, struct auth_who *who, struct auth_fail *f)
{
	const struct ajd_auth *a = &http_cfg->auth;
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	memset(who, 0, sizeof(*who));
	memset(f, 0, sizeof(*f));
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
			  who->client, sizeof(who->client));
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
			  who->client, sizeof(who->client));
	bool tcp = who->client[0] != '\0';
	if (!tcp) {
		int r = auth_unix(conn, who, f);
		if (r < 0 || *failures_of(who->client) < a->max_failures_per_minute)
			return r;
	}
	if (*failures_of(who->client) >= a->max_failures_per_minute) {
		f->retry_after_s = (unsigned)(60 - time(NULL) % 60);
		return fail(who, f, 429, "rate_limited",
			    "too many failed authentications from %s: try again in %u s",
			    who->client, f->retry_after_s);
	}
	if (!tcp)
		return 0;

	const char *h =
		MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (!h && http_cfg->insecure_no_auth) {
		who->admin = true; /* everyone is the one anonymous tenant */
		return 0;
	}
	if (!keys || !jwt_keyset_count(keys))
		return fail(who, f, 401, "token_unknown_key",
			    "this listener has no keys to verify tokens with");
	if (!h)
		return fail(who, f, 401, "token_missing",
			    "missing Authorization header (expected \"Bearer <token>\")");
	if (strncasecmp(h, "Bearer ", 7) != 0 || !h[7])
		return fail(who, f, 401, "token_malformed",
			    "the Authorization header is not \"Bearer <token>\"");
	const char *tok = h + 7;
	struct jwt_policy p = {
		.issuer = a->issuer,
		.audience = a->audience,
		.leeway_s = a->leeway_s,
		.max_lifetime_s = a->max_token_lifetime_s,
	};
	struct jwt_result res = {0};
	if (jwt_verify(keys, &p, tok, strlen(tok), (int64_t)time(NULL), &res) != JWT_OK) {
		char code[40];
		snprintf(code, sizeof(code), "token_%s", jwt_status_code(res.status));
		return fail(who, f, 401, code, "%s", res.msg);
	}
	snprintf(who->tenant, sizeof(who->tenant), "%s", res.sub);
	who->admin = a->admin_claim[0] && jwt_claim_has(res.claims, a->admin_claim, a->admin_value);
	json_decref(res.claims);
	return 0;
}
