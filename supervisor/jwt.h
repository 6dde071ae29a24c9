/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bearer tokens: JWS compact serialization (JWT) verified with OpenSSL's
 * libcrypto against a set of configured public keys. See jwt.c for the
 * threat model.
 *
 * The privileged process reads the key files; the HTTP process gets their
 * contents, builds a keyset with jwt_keyset_add_pem() and calls
 * jwt_verify() on every request's "Authorization: Bearer" token. Each key
 * fixes its algorithm; the token's header never chooses one.
 */
#ifndef AGENTJAIL_SUPERVISOR_JWT_H
#define AGENTJAIL_SUPERVISOR_JWT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "jail.h" /* struct jail_error */

#define JWT_MAX_TOKEN 8192 /* bytes of a token; longer ones are malformed */
#define JWT_MAX_KEYS  32   /* keys in one set */
#define JWT_KID_MAX   64   /* bytes of a kid */
#define JWT_SUB_MAX   127  /* bytes of a sub claim */

enum jwt_status {
	JWT_OK = 0,
	JWT_MISSING,   /* no token (the caller uses this for a missing header) */
	JWT_MALFORMED, /* not three base64url parts of JSON objects, too long, bad sub */
	JWT_BAD_ALG,   /* alg none / HS* / not the key's algorithm / crit header */
	JWT_UNKNOWN_KEY,
	JWT_BAD_SIGNATURE,
	JWT_EXPIRED,
	JWT_NOT_YET_VALID,
	JWT_TOO_LONG_LIVED,
	JWT_MISSING_EXP,
	JWT_WRONG_ISSUER,
	JWT_WRONG_AUDIENCE,
	JWT_MISSING_SUB,
	JWT_UNSIGNED, /* alg "none": a token without a signature */
};

/* "ok", "missing", "malformed", "bad_alg", "unknown_key", "bad_signature",
 * "expired", "not_yet_valid", "too_long_lived", "missing_exp",
 * "wrong_issuer", "wrong_audience", "missing_sub", "unsigned": stable, used in API
 * errors and metrics labels. */
const char *jwt_status_code(enum jwt_status s);

struct jwt_keyset; /* opaque */

/* An empty set, or NULL with errno = ENOMEM. */
struct jwt_keyset *jwt_keyset_new(void);
void jwt_keyset_free(struct jwt_keyset *ks);

/*
 * Add a PEM public key ("PUBLIC KEY", SubjectPublicKeyInfo) or certificate
 * ("CERTIFICATE", whose key is used; its dates and issuer are not checked)
 * under kid. alg NULL or "" is the key's default: RS256 for RSA, ES256 for
 * EC P-256, ES384 for EC P-384; otherwise RS256, RS384 or RS512 for an RSA
 * key, and only its curve's algorithm for an EC key. RSA keys must have at
 * least 2048 bits; other key types and curves are refused. kid is 1 to 64
 * printable ASCII characters, unique in the set. Returns 0, or -EINVAL
 * (-ENOMEM, -ENOSPC when the set is full) with one line in e naming the kid.
 */
int jwt_keyset_add_pem(struct jwt_keyset *ks, const char *kid, const char *pem, size_t len,
		       const char *alg, struct jail_error *e);
size_t jwt_keyset_count(const struct jwt_keyset *ks);

struct jwt_policy {
	const char *issuer;	 /* NULL or "": not checked */
	const char *audience;	 /* NULL or "": not checked */
	uint32_t leeway_s;	 /* applied to exp, nbf, iat */
	uint32_t max_lifetime_s; /* 0: no maximum; else iat required and exp - iat <= it */
};

struct jwt_result {
	enum jwt_status status;
	char msg[160];	/* human reason, no secrets */
	char sub[128];	/* on JWT_OK */
	char kid[65];	/* the key used, on JWT_OK */
	json_t *claims; /* on JWT_OK: the payload object (a new reference; caller json_decref) */
};

/*
 * Verify token (the part after "Bearer "), len bytes, at time now (seconds
 * since the epoch). Returns r->status; r is filled in every case (claims is
 * NULL unless JWT_OK).
 *
 * The order of the checks: length, three base64url parts, the header (a
 * JSON object without duplicate keys, no crit, an alg this file implements),
 * the key (by kid, or every key of the header's alg), its algorithm equal to
 * the header's, the signature, then the payload (a JSON object) and its
 * claims: exp, nbf, iat, lifetime, iss, aud, sub. A missing iat when
 * max_lifetime_s is set is JWT_TOO_LONG_LIVED.
 */
enum jwt_status jwt_verify(const struct jwt_keyset *ks, const struct jwt_policy *p,
			   const char *token, size_t len, int64_t now, struct jwt_result *r);

/* Whether claims satisfy an admin rule: claim `name` equals the string
 * `value`, or is an array containing it (e.g. "roles" contains "admin"). */
bool jwt_claim_has(const json_t *claims, const char *name, const char *value);

#endif
