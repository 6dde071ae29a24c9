/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bearer tokens: JWS compact serialization (RFC 7515) carrying JWT claims
 * (RFC 7519), signed with RS256/RS384/RS512 or ES256/ES384 (RFC 7518). All
 * cryptography is libcrypto's (EVP_DigestVerify); this file parses, selects
 * a key and checks claims.
 *
 * Threat model. The token comes from anyone who can reach the HTTP API and
 * is parsed by the unprivileged HTTP process: every byte of it is the
 * attacker's, and the public keys may be known to them. The goal is that
 * no token verifies without a configured private key, and that a token that
 * verifies is current and meant for us. The known ways around a verifier:
 *
 *  - Algorithm confusion. A JWS header names its own algorithm; a verifier
 *    that obeys it can be told "none" (no signature at all), or "HS256"
 *    with the RSA public key, which anyone has, as the HMAC secret, or an
 *    RSA/ECDSA mix-up. Here each configured key has exactly one algorithm,
 *    fixed at load time by its type, its curve and the configuration; the
 *    header's alg must be one implemented here and equal to the key's, and
 *    that is checked before any signature work. There is no HMAC and no
 *    "none" code to reach.
 *  - Keys named by the token: jku, x5u, jwk and x5c are ignored; only
 *    configured keys verify, and kid only chooses among them.
 *  - Extensions we do not implement: a crit header is refused (RFC 7515
 *    4.1.11), which also refuses unencoded payloads (b64=false, RFC 7797).
 *  - Parser differentials and resource use: a length cap before any work;
 *    strict unpadded base64url with zero trailing bits, so that a token has
 *    one spelling; JSON objects without duplicate keys (else this file and a
 *    later reader of the claims could see different "sub"s); fixed buffers.
 *  - ECDSA encoding: JWS carries r||s of a fixed length, converted to DER
 *    here; any other length is a bad signature, never "close enough".
 *
 * Claims are checked here, after the signature and not by the endpoints,
 * so that no caller can forget exp or the audience: a JWT_OK token is
 * signed by a configured key, current (within the leeway), for the
 * configured issuer and audience, and names a subject.
 *
 * Messages say what failed (a claim, a kid, a number of seconds); they
 * never contain key material or the token, and quote a kid or alg from the
 * token only as at most 64 printable ASCII characters.
 */
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "internal.h"
#include "jwt.h"

#define JWT_PEM_MAX	 (64 * 1024)
#define JWT_RSA_MIN_BITS 2048

struct jwt_alg {
	const char *name;
	const char *type; /* the key type, as EVP_PKEY_is_a() names it */
	int curve;	  /* EC: the curve's NID */
	size_t half;	  /* EC: bytes of r and of s in a JWS signature; 0 for RSA */
	const EVP_MD *(*md)(void);
};

/* The first entry of a key type (and curve) is its default. */
static const struct jwt_alg jwt_algs[] = {
	{"RS256", "RSA", NID_undef, 0, EVP_sha256},
	{"RS384", "RSA", NID_undef, 0, EVP_sha384},
	{"RS512", "RSA", NID_undef, 0, EVP_sha512},
	{"ES256", "EC", NID_X9_62_prime256v1, 32, EVP_sha256},
	{"ES384", "EC", NID_secp384r1, 48, EVP_sha384},
};

struct jwt_key {
	char kid[JWT_KID_MAX + 1];
	const struct jwt_alg *alg;
	EVP_PKEY *pkey;
};

struct jwt_keyset {
	size_t n;
	struct jwt_key keys[JWT_MAX_KEYS];
};

const char *
jwt_status_code(enum jwt_status s)
{
	switch (s) {
	case JWT_OK: return "ok";
	case JWT_MISSING: return "missing";
	case JWT_MALFORMED: return "malformed";
	case JWT_BAD_ALG: return "bad_alg";
	case JWT_UNKNOWN_KEY: return "unknown_key";
	case JWT_BAD_SIGNATURE: return "bad_signature";
	case JWT_EXPIRED: return "expired";
	case JWT_NOT_YET_VALID: return "not_yet_valid";
	case JWT_TOO_LONG_LIVED: return "too_long_lived";
	case JWT_MISSING_EXP: return "missing_exp";
	case JWT_WRONG_ISSUER: return "wrong_issuer";
	case JWT_WRONG_AUDIENCE: return "wrong_audience";
	case JWT_MISSING_SUB: return "missing_sub";
	case JWT_UNSIGNED: return "unsigned";
	}
	return "invalid";
}

static bool
jwt_printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

/* s cut to JWT_KID_MAX characters, anything but printable ASCII as '?'. */
static const char *
jwt_quote(const char *s, char buf[static JWT_KID_MAX + 1])
{
	size_t i;

	for (i = 0; s[i] && i < JWT_KID_MAX; i++)
		buf[i] = jwt_printable(&s[i], 1) ? s[i] : '?';
	buf[i] = '\0';
	return buf;
}

static const struct jwt_alg *
jwt_alg_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(jwt_algs); i++)
		if (strcmp(jwt_algs[i].name, name) == 0)
			return &jwt_algs[i];
	return NULL;
}

/* --- the keyset --------------------------------------------------------- */

static void
jwt_pkey_freep(EVP_PKEY **p)
{
	EVP_PKEY_free(*p);
}

struct jwt_keyset *
jwt_keyset_new(void)
{
	return calloc(1, sizeof(struct jwt_keyset));
}

void
jwt_keyset_free(struct jwt_keyset *ks)
{
	if (!ks)
		return;
	for (size_t i = 0; i < ks->n; i++)
		EVP_PKEY_free(ks->keys[i].pkey);
	free(ks);
}

size_t
jwt_keyset_count(const struct jwt_keyset *ks)
{
	return ks ? ks->n : 0;
}

/* The public key of the first PEM block in pem: a PUBLIC KEY, or the key of
 * a CERTIFICATE. The DER must be exactly one structure. */
static int
jwt_pem_key(const char *kid, const char *pem, size_t len, EVP_PKEY **ret, struct jail_error *e)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	char *name = NULL, *header = NULL, label[JWT_KID_MAX + 1];
	unsigned char *der = NULL;
	const unsigned char *p;
	long n = 0;
	EVP_PKEY *pkey = NULL;
	X509 *x = NULL;
	int r = 0;

	if (!bio || PEM_read_bio(bio, &name, &header, &der, &n) != 1) {
		r = jerr_plain(e, EINVAL, "key '%s': no PEM block found", kid);
	} else if (strcmp(name, "PUBLIC KEY") == 0) {
		p = der;
		pkey = d2i_PUBKEY(NULL, &p, n);
		if (!pkey || p != der + n)
			r = jerr_plain(e, EINVAL, "key '%s': not a valid PEM public key", kid);
	} else if (strcmp(name, "CERTIFICATE") == 0) {
		p = der;
		x = d2i_X509(NULL, &p, n);
		if (!x || p != der + n || !(pkey = X509_get_pubkey(x)))
			r = jerr_plain(e, EINVAL, "key '%s': not a valid PEM certificate", kid);
	} else {
		r = jerr_plain(
			e, EINVAL,
			"key '%s': expected a PEM \"PUBLIC KEY\" or \"CERTIFICATE\", got \"%s\"",
			kid, jwt_quote(name, label));
	}
	if (r == 0)
		*ret = TAKE_PTR(pkey);
	EVP_PKEY_free(pkey);
	X509_free(x);
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(der);
	BIO_free(bio);
	ERR_clear_error();
	return r;
}

/* The algorithm of pkey: want, or its default when want is NULL or "". */
static int
jwt_key_alg(const char *kid, EVP_PKEY *pkey, const char *want, const struct jwt_alg **ret,
	    struct jail_error *e)
{
	char group[64] = "", q[JWT_KID_MAX + 1], names[64] = "";
	const char *type;
	int curve = NID_undef;

	if (EVP_PKEY_is_a(pkey, "RSA")) {
		int bits = EVP_PKEY_get_bits(pkey);

		type = "RSA";
		if (bits < JWT_RSA_MIN_BITS)
			return jerr_plain(
				e, EINVAL,
				"key '%s': an RSA key of %d bits, at least %d are required", kid,
				bits, JWT_RSA_MIN_BITS);
	} else if (EVP_PKEY_is_a(pkey, "EC")) {
		type = "EC";
		if (EVP_PKEY_get_group_name(pkey, group, sizeof(group), NULL) == 1)
			curve = OBJ_sn2nid(group);
		ERR_clear_error();
		if (curve != NID_X9_62_prime256v1 && curve != NID_secp384r1)
			return jerr_plain(
				e, EINVAL,
				"key '%s': unsupported EC curve %s (expected P-256 or P-384)", kid,
				group[0] ? group : "with explicit parameters");
	} else {
		const char *t = EVP_PKEY_get0_type_name(pkey);

		return jerr_plain(e, EINVAL,
				  "key '%s': unsupported key type %s (expected RSA or EC)", kid,
				  t ? t : "unknown");
	}
	for (size_t i = 0; i < ARRAY_SIZE(jwt_algs); i++) {
		const struct jwt_alg *a = &jwt_algs[i];

		if (strcmp(a->type, type) != 0 || a->curve != curve)
			continue;
		if (!want || !*want || strcmp(want, a->name) == 0) {
			*ret = a;
			return 0;
		}
		size_t l = strlen(names);
		snprintf(names + l, sizeof(names) - l, "%s%s", l ? ", " : "", a->name);
	}
	return jerr_plain(e, EINVAL,
			  "key '%s': algorithm '%s' is not valid for this %s key (expected %s)",
			  kid, jwt_quote(want, q), type, names);
}

int
jwt_keyset_add_pem(struct jwt_keyset *ks, const char *kid, const char *pem, size_t len,
		   const char *alg, struct jail_error *e)
{
	_cleanup_(jwt_pkey_freep) EVP_PKEY *pkey = NULL;
	const struct jwt_alg *a = NULL;
	char q[JWT_KID_MAX + 1];
	size_t n = kid ? strlen(kid) : 0;
	int r;

	if (n == 0 || n > JWT_KID_MAX || !jwt_printable(kid, n))
		return jerr_plain(e, EINVAL,
				  "key '%s': a kid must be 1 to %d printable ASCII characters",
				  jwt_quote(kid ? kid : "", q), JWT_KID_MAX);
	for (size_t i = 0; i < ks->n; i++)
		if (strcmp(ks->keys[i].kid, kid) == 0)
			return jerr_plain(e, EINVAL, "key '%s': duplicate kid", kid);
	if (ks->n == JWT_MAX_KEYS)
		return jerr_plain(e, ENOSPC, "key '%s': more than %d keys", kid, JWT_MAX_KEYS);
	if (!pem || len == 0 || len > JWT_PEM_MAX)
		return jerr_plain(e, EINVAL,
				  "key '%s': the PEM text is empty or longer than %d bytes", kid,
				  JWT_PEM_MAX);
	if ((r = jwt_pem_key(kid, pem, len, &pkey, e)) < 0 ||
	    (r = jwt_key_alg(kid, pkey, alg, &a, e)) < 0)
		return r;

	struct jwt_key *k = &ks->keys[ks->n++];
	memcpy(k->kid, kid, n + 1);
	k->alg = a;
	k->pkey = TAKE_PTR(pkey);
	return 0;
}

/* --- decoding ----------------------------------------------------------- */

static int
jwt_b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/* Strict unpadded base64url (RFC 7515 2): only [A-Za-z0-9_-], no '=', no
 * length of 1 mod 4, zero trailing bits. out has room for n * 3 / 4 bytes. */
static bool
jwt_b64url(const char *s, size_t n, unsigned char *out, size_t *ret_len)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t o = 0;

	if (n % 4 == 1)
		return false;
	for (size_t i = 0; i < n; i++) {
		int v = jwt_b64_value(s[i]);

		if (v < 0)
			return false;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	*ret_len = o;
	return acc == 0;
}

static enum jwt_status __attribute__((format(printf, 3, 4)))
jwt_fail(struct jwt_result *r, enum jwt_status s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
	return r->status = s;
}

/* One part of the token: base64url of a JSON object without duplicate keys. */
static enum jwt_status
jwt_object(const char *s, size_t n, const char *what, json_t **ret, struct jwt_result *r)
{
	unsigned char buf[JWT_MAX_TOKEN];
	size_t len;
	json_error_t je;
	json_t *v;

	if (!jwt_b64url(s, n, buf, &len))
		return jwt_fail(r, JWT_MALFORMED, "the %s is not unpadded base64url", what);
	if (!(v = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &je)))
		return jwt_fail(r, JWT_MALFORMED,
				json_error_code(&je) == json_error_duplicate_key
					? "the %s has a duplicate key"
					: "the %s is not valid JSON",
				what);
	if (!json_is_object(v)) {
		json_decref(v);
		return jwt_fail(r, JWT_MALFORMED, "the %s is not a JSON object", what);
	}
	*ret = v;
	return JWT_OK;
}

/* --- signatures --------------------------------------------------------- */

/* JWS ECDSA signatures are r||s, each half bytes (RFC 7518 3.4); libcrypto
 * takes DER. Returns the DER length, or -1. */
static int
jwt_ecdsa_der(const unsigned char *sig, size_t half, unsigned char *der, size_t size)
{
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *rn = BN_bin2bn(sig, (int)half, NULL), *sn = BN_bin2bn(sig + half, (int)half, NULL);
	int n = -1;

	if (es && rn && sn && ECDSA_SIG_set0(es, rn, sn) == 1) {
		rn = sn = NULL; /* es owns them */
		if (i2d_ECDSA_SIG(es, NULL) <= (int)size) {
			unsigned char *p = der;

			n = i2d_ECDSA_SIG(es, &p);
		}
	}
	BN_free(rn);
	BN_free(sn);
	ECDSA_SIG_free(es);
	return n;
}

/* Whether sig is k's signature of data, by k's algorithm alone. Any
 * failure, including an allocation, is "no". */
static bool
jwt_sig_ok(const struct jwt_key *k, const char *data, size_t n, const unsigned char *sig,
	   size_t len)
{
	unsigned char der[128];
	EVP_MD_CTX *ctx = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	bool ok = false;

	if (k->alg->half) {
		int d;

		if (len != 2 * k->alg->half ||
		    (d = jwt_ecdsa_der(sig, k->alg->half, der, sizeof(der))) < 0)
			return false;
		sig = der;
		len = (size_t)d;
	} else if (len != (size_t)EVP_PKEY_get_size(k->pkey)) {
		return false;
	}
	if ((ctx = EVP_MD_CTX_new()) &&
	    EVP_DigestVerifyInit(ctx, &pctx, k->alg->md(), NULL, k->pkey) == 1 &&
	    (k->alg->half || EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1))
		ok = EVP_DigestVerify(ctx, sig, len, (const unsigned char *)data, n) == 1;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}

/* --- claims ------------------------------------------------------------- */

/* A NumericDate (RFC 7519 2), an integer or a real: 1 present, 0 absent,
 * -1 (and r filled) not a number. */
static int
jwt_date(const json_t *claims, const char *name, double *ret, struct jwt_result *r)
{
	json_t *v = json_object_get(claims, name);

	if (!v)
		return 0;
	if (!json_is_number(v)) {
		jwt_fail(r, JWT_MALFORMED, "the %s claim is not a number", name);
		return -1;
	}
	*ret = json_number_value(v);
	return 1;
}

static enum jwt_status
jwt_claims(const struct jwt_policy *p, const json_t *c, int64_t now, struct jwt_result *r)
{
	double t = (double)now, leeway = p->leeway_s, exp = 0, nbf = 0, iat = 0;
	int has_exp, has_nbf, has_iat;
	json_t *v;

	if ((has_exp = jwt_date(c, "exp", &exp, r)) < 0 ||
	    (has_nbf = jwt_date(c, "nbf", &nbf, r)) < 0 ||
	    (has_iat = jwt_date(c, "iat", &iat, r)) < 0)
		return r->status;
	if (!has_exp)
		return jwt_fail(r, JWT_MISSING_EXP, "the token has no exp claim");
	if (t > exp + leeway)
		return jwt_fail(r, JWT_EXPIRED, "the token expired %.0f s ago", t - exp);
	if (has_nbf && t + leeway < nbf)
		return jwt_fail(r, JWT_NOT_YET_VALID, "the token is not valid for another %.0f s",
				nbf - t);
	if (has_iat && iat > t + leeway)
		return jwt_fail(r, JWT_NOT_YET_VALID, "the token was issued %.0f s in the future",
				iat - t);
	if (p->max_lifetime_s && !has_iat)
		return jwt_fail(r, JWT_TOO_LONG_LIVED,
				"the token has no iat claim, required with a maximum lifetime");
	if (p->max_lifetime_s && exp - iat > p->max_lifetime_s)
		return jwt_fail(r, JWT_TOO_LONG_LIVED, "lifetime %.0f s exceeds the maximum %u s",
				exp - iat, p->max_lifetime_s);
	if (p->issuer && *p->issuer) {
		v = json_object_get(c, "iss");
		if (!json_is_string(v) || strcmp(json_string_value(v), p->issuer) != 0)
			return jwt_fail(r, JWT_WRONG_ISSUER,
					v ? "issuer does not match" : "the token has no iss claim");
	}
	if (p->audience && *p->audience && !jwt_claim_has(c, "aud", p->audience))
		return jwt_fail(r, JWT_WRONG_AUDIENCE,
				json_object_get(c, "aud") ? "audience does not match"
							  : "the token has no aud claim");

	if (!(v = json_object_get(c, "sub")))
		return jwt_fail(r, JWT_MISSING_SUB, "the token has no sub claim");
	if (!json_is_string(v))
		return jwt_fail(r, JWT_MALFORMED, "the sub claim is not a string");
	size_t n = json_string_length(v);
	const char *s = json_string_value(v);
	if (n == 0)
		return jwt_fail(r, JWT_MISSING_SUB, "the sub claim is empty");
	if (n > JWT_SUB_MAX)
		return jwt_fail(r, JWT_MALFORMED, "the sub claim is longer than %d bytes",
				JWT_SUB_MAX);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return jwt_fail(r, JWT_MALFORMED, "the sub claim has control characters");
	memcpy(r->sub, s, n + 1);
	return JWT_OK;
}

bool
jwt_claim_has(const json_t *claims, const char *name, const char *value)
{
	json_t *v = claims ? json_object_get(claims, name) : NULL;

	if (json_is_string(v))
		return strcmp(json_string_value(v), value) == 0;
	for (size_t i = 0; i < json_array_size(v); i++) {
		json_t *x = json_array_get(v, i);

		if (json_is_string(x) && strcmp(json_string_value(x), value) == 0)
			return true;
	}
	return false;
}

/* --- verification ------------------------------------------------------- */

enum jwt_status
jwt_verify(const struct jwt_keyset *ks, const struct jwt_policy *p, const char *token, size_t len,
	   int64_t now, struct jwt_result *r)
{
	static const struct jwt_policy none;
	json_auto_t *hdr = NULL, *claims = NULL;
	const struct jwt_key *cand[JWT_MAX_KEYS], *used = NULL;
	const char *dot1, *dot2, *end;
	const struct jwt_alg *a;
	unsigned char sig[JWT_MAX_TOKEN];
	char q[JWT_KID_MAX + 1];
	size_t nc = 0, slen;
	json_t *alg, *kid;

	memset(r, 0, sizeof(*r));
	if (!p)
		p = &none;
	if (!token || len == 0)
		return jwt_fail(r, JWT_MISSING, "no token");
	if (len > JWT_MAX_TOKEN)
		return jwt_fail(r, JWT_MALFORMED, "token longer than %d bytes", JWT_MAX_TOKEN);
	end = token + len;
	if (!(dot1 = memchr(token, '.', len)) ||
	    !(dot2 = memchr(dot1 + 1, '.', (size_t)(end - dot1 - 1))) ||
	    memchr(dot2 + 1, '.', (size_t)(end - dot2 - 1)))
		return jwt_fail(r, JWT_MALFORMED, "the token is not three dot-separated parts");

	/* The header, and the key it may use: nothing is verified yet. */
	if (jwt_object(token, (size_t)(dot1 - token), "header", &hdr, r) != JWT_OK)
		return r->status;
	if (json_object_get(hdr, "crit"))
		return jwt_fail(r, JWT_BAD_ALG, "the header has a crit parameter");
	alg = json_object_get(hdr, "alg");
	if (!json_is_string(alg))
		return jwt_fail(r, JWT_BAD_ALG, "the header has no alg string");
	if (strcasecmp(json_string_value(alg), "none") == 0)
		return jwt_fail(r, JWT_UNSIGNED, "an unsigned token (alg none) is never accepted");
	if (!(a = jwt_alg_find(json_string_value(alg))))
		return jwt_fail(r, JWT_BAD_ALG, "algorithm '%s' is not accepted",
				jwt_quote(json_string_value(alg), q));
	kid = json_object_get(hdr, "kid");
	if (kid && !json_is_string(kid))
		return jwt_fail(r, JWT_MALFORMED, "the kid is not a string");
	for (size_t i = 0; ks && i < ks->n; i++) {
		const struct jwt_key *k = &ks->keys[i];

		if (kid ? strcmp(k->kid, json_string_value(kid)) == 0 : k->alg == a)
			cand[nc++] = k;
	}
	if (kid && nc == 0)
		return jwt_fail(r, JWT_UNKNOWN_KEY, "no key with kid '%s'",
				jwt_quote(json_string_value(kid), q));
	if (nc == 0)
		return jwt_fail(r, JWT_UNKNOWN_KEY, "no key for algorithm %s", a->name);
	if (cand[0]->alg != a)
		return jwt_fail(r, JWT_BAD_ALG, "algorithm %s, but key '%s' is for %s", a->name,
				cand[0]->kid, cand[0]->alg->name);

	if (!jwt_b64url(dot2 + 1, (size_t)(end - dot2 - 1), sig, &slen))
		return jwt_fail(r, JWT_MALFORMED, "the signature is not unpadded base64url");
	/* A signature of the wrong size is a damaged token (cut short, say),
	 * not a wrong key. */
	size_t want = cand[0]->alg->half ? 2 * cand[0]->alg->half
					 : (size_t)EVP_PKEY_get_size(cand[0]->pkey);
	if (kid && slen != want)
		return jwt_fail(r, JWT_MALFORMED, "the signature has %zu bytes, %s needs %zu", slen,
				a->name, want);
	for (size_t i = 0; i < nc && !used; i++)
		if (jwt_sig_ok(cand[i], token, (size_t)(dot2 - token), sig, slen))
			used = cand[i];
	if (!used && kid)
		return jwt_fail(r, JWT_BAD_SIGNATURE, "the signature does not verify with key '%s'",
				cand[0]->kid);
	if (!used)
		return jwt_fail(r, JWT_BAD_SIGNATURE,
				"the signature does not verify with any %s key", a->name);

	/* Signed by used: now the claims. */
	if (jwt_object(dot1 + 1, (size_t)(dot2 - dot1 - 1), "payload", &claims, r) != JWT_OK ||
	    jwt_claims(p, claims, now, r) != JWT_OK)
		return r->status;
	snprintf(r->kid, sizeof(r->kid), "%s", used->kid);
	r->claims = TAKE_PTR(claims);
	return r->status = JWT_OK;
}
