/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bearer-token verification (supervisor/jwt.c). Keys are generated here
 * with libcrypto and tokens signed here with EVP_DigestSign (ECDSA's DER
 * converted to JWS's r||s), so that the verifier is checked against an
 * independent signer: every algorithm, key rotation and selection, each
 * time claim with and without leeway, issuer, audience and subject, the
 * algorithm-confusion attacks (none, HS256 keyed with the public PEM,
 * RS/ES mix-ups, crit), tampering, truncation, strict base64url, length
 * and duplicate-key limits, and the key loader's refusals with their
 * messages. The clock is fixed; nothing is timed.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "jwt.h"
#include "tap.h"

#define NOW 1700000000LL
#define TOK 16384

static EVP_PKEY *rsa1, *rsa2, *rsa3, *rsa_small, *ec1, *ec2, *ec384, *ed, *k1;

static void
die(const char *what)
{
	fprintf(stderr, "test_jwt: %s failed\n", what);
	exit(1);
}

static EVP_PKEY *
keygen(const char *type, const char *curve, size_t bits)
{
	EVP_PKEY *k = curve  ? EVP_PKEY_Q_keygen(NULL, NULL, type, curve)
		      : bits ? EVP_PKEY_Q_keygen(NULL, NULL, type, bits)
			     : EVP_PKEY_Q_keygen(NULL, NULL, type);

	if (!k)
		die(type);
	return k;
}

/* What a BIO holds, as a new string. */
static char *
bio_text(BIO *b)
{
	char *data, *s;
	long n = BIO_get_mem_data(b, &data);

	if (n <= 0 || !(s = strndup(data, (size_t)n)))
		die("BIO");
	BIO_free(b);
	return s;
}

static char *
pem_public(EVP_PKEY *k)
{
	BIO *b = BIO_new(BIO_s_mem());

	if (!b || PEM_write_bio_PUBKEY(b, k) != 1)
		die("PEM_write_bio_PUBKEY");
	return bio_text(b);
}

static char *
pem_private(EVP_PKEY *k)
{
	BIO *b = BIO_new(BIO_s_mem());

	if (!b || PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) != 1)
		die("PEM_write_bio_PrivateKey");
	return bio_text(b);
}

/* A self-signed certificate for k. */
static char *
pem_cert(EVP_PKEY *k)
{
	BIO *b = BIO_new(BIO_s_mem());
	X509 *x = X509_new();
	X509_NAME *name;

	if (!b || !x || X509_set_version(x, 2) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(x), 1) != 1 ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), 0) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 3600) || X509_set_pubkey(x, k) != 1 ||
	    !(name = X509_get_subject_name(x)) ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"test", -1,
				       -1, 0) != 1 ||
	    X509_set_issuer_name(x, name) != 1 || X509_sign(x, k, EVP_sha256()) <= 0 ||
	    PEM_write_bio_X509(b, x) != 1)
		die("certificate");
	X509_free(x);
	return bio_text(b);
}

/* --- tokens ------------------------------------------------------------- */

static void
b64url(char *out, const unsigned char *in, size_t n)
{
	static const char abc[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char *o = out + strlen(out);

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = in[i] << 16 | (i + 1 < n ? in[i + 1] << 8 : 0) |
			     (i + 2 < n ? in[i + 2] : 0);

		*o++ = abc[v >> 18 & 63];
		*o++ = abc[v >> 12 & 63];
		if (i + 1 < n)
			*o++ = abc[v >> 6 & 63];
		if (i + 2 < n)
			*o++ = abc[v & 63];
	}
	*o = '\0';
}

/* out = b64url(hdr) "." b64url(pl); returns its length. */
static size_t
signing_input(char *out, const char *hdr, const char *pl)
{
	out[0] = '\0';
	b64url(out, (const unsigned char *)hdr, strlen(hdr));
	strcat(out, ".");
	b64url(out, (const unsigned char *)pl, strlen(pl));
	return strlen(out);
}

/* Sign with k and md, as JWS encodes it: ECDSA's DER becomes r||s. */
static size_t
sign(EVP_PKEY *k, const EVP_MD *md, const char *data, size_t n, unsigned char *sig)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t len = 1024;

	if (!ctx || EVP_DigestSignInit(ctx, NULL, md, NULL, k) != 1 ||
	    EVP_DigestSign(ctx, sig, &len, (const unsigned char *)data, n) != 1)
		die("EVP_DigestSign");
	EVP_MD_CTX_free(ctx);
	if (EVP_PKEY_is_a(k, "EC")) {
		const unsigned char *p = sig;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
		int half = (EVP_PKEY_get_bits(k) + 7) / 8;

		if (!es || BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, half) != half ||
		    BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + half, half) != half)
			die("ECDSA_SIG");
		ECDSA_SIG_free(es);
		len = 2 * (size_t)half;
	}
	return len;
}

/* A token of hdr and pl signed by k with md; k NULL: an empty signature. */
static char *
mint(char *out, const char *hdr, const char *pl, EVP_PKEY *k, const EVP_MD *md)
{
	unsigned char sig[1024];
	size_t n = signing_input(out, hdr, pl), slen = k ? sign(k, md, out, n, sig) : 0;

	strcat(out, ".");
	b64url(out, sig, slen);
	return out;
}

/* HS256 with secret as the HMAC key. */
static char *
mint_hs(char *out, const char *hdr, const char *pl, const char *secret)
{
	unsigned char sig[EVP_MAX_MD_SIZE];
	unsigned slen = 0;
	size_t n = signing_input(out, hdr, pl);

	if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), (unsigned char *)out, n, sig, &slen))
		die("HMAC");
	strcat(out, ".");
	b64url(out, sig, slen);
	return out;
}

/* out = the first alen bytes of a, then b, then c. */
static char *
join(char *out, const char *a, size_t alen, const char *b, const char *c)
{
	if (alen + strlen(b) + strlen(c) >= TOK)
		die("join");
	memmove(out, a, alen);
	out[alen] = '\0';
	strcat(out, b);
	strcat(out, c);
	return out;
}

/* A header: alg, and kid unless NULL. */
static const char *
hdr(const char *alg, const char *kid)
{
	static char buf[512];

	if (kid)
		snprintf(buf, sizeof(buf), "{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"%s\"}", alg,
			 kid);
	else
		snprintf(buf, sizeof(buf), "{\"alg\":\"%s\",\"typ\":\"JWT\"}", alg);
	return buf;
}

/* A payload from a format. */
static const char *__attribute__((format(printf, 1, 2))) pl(const char *fmt, ...)
{
	static char buf[12288];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return buf;
}

/* The claims of a good token. */
#define GOOD                                                                                       \
	pl("{\"sub\":\"alice\",\"iat\":%lld,\"exp\":%lld,\"roles\":[\"user\",\"admin\"]}", NOW,    \
	   NOW + 300)

/* --- checks ------------------------------------------------------------- */

/* Verify tok; it must give want, a message containing msg (unless NULL),
 * claims exactly on JWT_OK, and never the token's text in the message. */
static void
expect_at(const struct jwt_keyset *ks, const struct jwt_policy *p, const char *tok, size_t len,
	  enum jwt_status want, const char *msg, const char *what)
{
	struct jwt_result r;
	enum jwt_status s = jwt_verify(ks, p, tok, len, NOW, &r);
	char head[13] = "";
	bool ok = s == want && r.status == want && (!msg || strstr(r.msg, msg)) &&
		  (want == JWT_OK) == (r.claims != NULL);

	if (tok && len >= 12) {
		memcpy(head, tok, 12);
		ok = ok && !strstr(r.msg, head);
	}
	tap_ok(ok, "%s: %s", what, jwt_status_code(want));
	if (!ok)
		tap_diag("got %s '%s'%s%s", jwt_status_code(s), r.msg, msg ? ", expected " : "",
			 msg ? msg : "");
	json_decref(r.claims);
}

static void
expect(const struct jwt_keyset *ks, const struct jwt_policy *p, const char *tok,
       enum jwt_status want, const char *msg, const char *what)
{
	expect_at(ks, p, tok, strlen(tok), want, msg, what);
}

/* tok must verify, with sub, kid and the roles claim. */
static void
good(const struct jwt_keyset *ks, const struct jwt_policy *p, const char *tok, const char *sub,
     const char *kid, const char *what)
{
	struct jwt_result r;
	enum jwt_status s = jwt_verify(ks, p, tok, strlen(tok), NOW, &r);
	bool ok = s == JWT_OK && strcmp(r.sub, sub) == 0 && strcmp(r.kid, kid) == 0 &&
		  json_is_object(r.claims) && jwt_claim_has(r.claims, "roles", "admin");

	tap_ok(ok, "%s: ok, sub %s, kid %s", what, sub, kid);
	if (!ok)
		tap_diag("got %s '%s' sub '%s' kid '%s'", jwt_status_code(s), r.msg, r.sub, r.kid);
	json_decref(r.claims);
}

/* Adding pem under kid must fail with exactly msg and leave the set as is. */
static void
refused(struct jwt_keyset *ks, const char *kid, const char *pem, const char *alg, int err,
	const char *msg, const char *what)
{
	struct jail_error e = {0};
	size_t before = jwt_keyset_count(ks);
	int r = jwt_keyset_add_pem(ks, kid, pem, pem ? strlen(pem) : 0, alg, &e);
	bool ok = r == -err && e.err == err && strcmp(e.msg, msg) == 0 &&
		  jwt_keyset_count(ks) == before;

	tap_ok(ok, "load refused: %s", what);
	if (!ok)
		tap_diag("got %d '%s'\n#  expected %d '%s'", r, e.msg, -err, msg);
}

static void
add(struct jwt_keyset *ks, const char *kid, const char *pem, const char *alg)
{
	struct jail_error e = {0};
	int r = jwt_keyset_add_pem(ks, kid, pem, strlen(pem), alg, &e);

	tap_ok(r == 0, "load key '%s'%s%s", kid, alg && *alg ? " as " : "", alg ? alg : "");
	if (r != 0)
		tap_diag("%s", e.msg);
}

/* --- the tests ---------------------------------------------------------- */

static char *pem_rsa1, *pem_rsa2, *pem_ec1;

static void
test_load(struct jwt_keyset *ks)
{
	char *pem_small = pem_public(rsa_small), *pem_priv = pem_private(ec1);
	char *pem_ed = pem_public(ed), *pem_k1 = pem_public(k1), *cert = pem_cert(rsa3);
	char *pem_ec2 = pem_public(ec2), *pem_ec384 = pem_public(ec384);
	char long_kid[70], broken[4096];

	add(ks, "rsa1", pem_rsa1, NULL);
	add(ks, "rsa2", pem_rsa2, "");
	add(ks, "rs384", pem_rsa2, "RS384");
	add(ks, "cert", cert, "RS512");
	add(ks, "ec1", pem_ec1, NULL);
	add(ks, "ec2", pem_ec2, NULL);
	add(ks, "ec384", pem_ec384, NULL);
	tap_ok(jwt_keyset_count(ks) == 7, "7 keys loaded");

	refused(ks, "bad", "hello", NULL, EINVAL, "key 'bad': no PEM block found", "not PEM");
	refused(ks, "bad", "", NULL, EINVAL,
		"key 'bad': the PEM text is empty or longer than 65536 bytes", "empty PEM");
	snprintf(broken, sizeof(broken),
		 "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");
	refused(ks, "bad", broken, NULL, EINVAL, "key 'bad': not a valid PEM public key",
		"a PUBLIC KEY block of garbage");
	refused(ks, "small", pem_small, NULL, EINVAL,
		"key 'small': an RSA key of 1024 bits, at least 2048 are required", "RSA 1024");
	refused(ks, "rsa1", pem_rsa2, NULL, EINVAL, "key 'rsa1': duplicate kid", "duplicate kid");
	refused(ks, "hs", pem_rsa1, "HS256", EINVAL,
		"key 'hs': algorithm 'HS256' is not valid for this RSA key (expected RS256, "
		"RS384, RS512)",
		"alg HS256 for an RSA key");
	refused(ks, "ps", pem_rsa1, "PS256", EINVAL,
		"key 'ps': algorithm 'PS256' is not valid for this RSA key (expected RS256, "
		"RS384, RS512)",
		"alg PS256 for an RSA key");
	refused(ks, "mix", pem_rsa1, "ES256", EINVAL,
		"key 'mix': algorithm 'ES256' is not valid for this RSA key (expected RS256, "
		"RS384, RS512)",
		"alg ES256 for an RSA key");
	refused(ks, "mix", pem_ec1, "RS256", EINVAL,
		"key 'mix': algorithm 'RS256' is not valid for this EC key (expected ES256)",
		"alg RS256 for an EC key");
	refused(ks, "mix", pem_ec1, "ES384", EINVAL,
		"key 'mix': algorithm 'ES384' is not valid for this EC key (expected ES256)",
		"alg ES384 for a P-256 key");
	refused(ks, "priv", pem_priv, NULL, EINVAL,
		"key 'priv': expected a PEM \"PUBLIC KEY\" or \"CERTIFICATE\", got \"PRIVATE KEY\"",
		"a private key");
	refused(ks, "ed", pem_ed, NULL, EINVAL,
		"key 'ed': unsupported key type ED25519 (expected RSA or EC)", "Ed25519");
	refused(ks, "k1", pem_k1, NULL, EINVAL,
		"key 'k1': unsupported EC curve secp256k1 (expected P-256 or P-384)", "secp256k1");
	refused(ks, "", pem_rsa1, NULL, EINVAL,
		"key '': a kid must be 1 to 64 printable ASCII characters", "empty kid");
	refused(ks, NULL, pem_rsa1, NULL, EINVAL,
		"key '': a kid must be 1 to 64 printable ASCII characters", "no kid");
	memset(long_kid, 'k', 65);
	long_kid[65] = '\0';
	refused(ks, long_kid, pem_rsa1, NULL, EINVAL,
		"key 'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk': a kid "
		"must be "
		"1 to 64 printable ASCII characters",
		"65-byte kid");
	refused(ks, "a\nb", pem_rsa1, NULL, EINVAL,
		"key 'a?b': a kid must be 1 to 64 printable ASCII characters",
		"kid with a newline");

	struct jwt_keyset *full = jwt_keyset_new();
	char kid[16];
	bool filled = full != NULL;

	for (int i = 0; filled && i < JWT_MAX_KEYS; i++) {
		snprintf(kid, sizeof(kid), "k%d", i);
		filled = jwt_keyset_add_pem(full, kid, pem_ec1, strlen(pem_ec1), NULL, NULL) == 0;
	}
	tap_ok(filled && jwt_keyset_count(full) == JWT_MAX_KEYS, "%d keys fit in a set",
	       JWT_MAX_KEYS);
	refused(full, "one-more", pem_ec1, NULL, ENOSPC, "key 'one-more': more than 32 keys",
		"a full set");
	jwt_keyset_free(full);
	free(pem_small);
	free(pem_priv);
	free(pem_ed);
	free(pem_k1);
	free(cert);
	free(pem_ec2);
	free(pem_ec384);
}

static void
test_algorithms(const struct jwt_keyset *ks)
{
	struct jwt_policy p = {0};
	char t[TOK];

	good(ks, &p, mint(t, hdr("RS256", "rsa1"), GOOD, rsa1, EVP_sha256()), "alice", "rsa1",
	     "RS256");
	good(ks, &p, mint(t, hdr("RS256", "rsa2"), GOOD, rsa2, EVP_sha256()), "alice", "rsa2",
	     "RS256, the second key (rotation)");
	good(ks, &p, mint(t, hdr("RS384", "rs384"), GOOD, rsa2, EVP_sha384()), "alice", "rs384",
	     "RS384");
	good(ks, &p, mint(t, hdr("RS512", "cert"), GOOD, rsa3, EVP_sha512()), "alice", "cert",
	     "RS512 with a key from a certificate");
	good(ks, &p, mint(t, hdr("ES256", "ec1"), GOOD, ec1, EVP_sha256()), "alice", "ec1",
	     "ES256");
	good(ks, &p, mint(t, hdr("ES256", "ec2"), GOOD, ec2, EVP_sha256()), "alice", "ec2",
	     "ES256, the second key (rotation)");
	good(ks, &p, mint(t, hdr("ES384", "ec384"), GOOD, ec384, EVP_sha384()), "alice", "ec384",
	     "ES384");

	/* ECDSA's r and s are shorter than the curve now and then (1 in 256
	 * each per leading zero byte): many signatures cover the padding. */
	int failures = 0;
	for (int i = 0; i < 200; i++) {
		struct jwt_result r;

		mint(t, hdr(i % 2 ? "ES384" : "ES256", NULL), GOOD, i % 2 ? ec384 : ec1,
		     i % 2 ? EVP_sha384() : EVP_sha256());
		failures += jwt_verify(ks, &p, t, strlen(t), NOW, &r) != JWT_OK;
		json_decref(r.claims);
	}
	tap_ok(failures == 0, "200 ES256 and ES384 signatures all verify (%d failed)", failures);

	/* Without a kid: every key of the header's algorithm, in order. */
	good(ks, &p, mint(t, hdr("RS256", NULL), GOOD, rsa1, EVP_sha256()), "alice", "rsa1",
	     "RS256 without kid, first key");
	good(ks, &p, mint(t, hdr("RS256", NULL), GOOD, rsa2, EVP_sha256()), "alice", "rsa2",
	     "RS256 without kid, second key");
	good(ks, &p, mint(t, hdr("ES256", NULL), GOOD, ec2, EVP_sha256()), "alice", "ec2",
	     "ES256 without kid, second key");
	good(ks, &p, mint(t, hdr("RS384", NULL), GOOD, rsa2, EVP_sha384()), "alice", "rs384",
	     "RS384 without kid: only the RS384 key, though rsa2 is the same key");
	expect(ks, &p, mint(t, hdr("RS256", NULL), GOOD, rsa3, EVP_sha256()), JWT_BAD_SIGNATURE,
	       "the signature does not verify with any RS256 key",
	       "RS256 without kid by a key that is only RS512");
	expect(ks, &p, mint(t, hdr("RS256", "nope"), GOOD, rsa1, EVP_sha256()), JWT_UNKNOWN_KEY,
	       "no key with kid 'nope'", "unknown kid");
	expect(ks, &p,
	       mint(t,
		    hdr("RS256", "x\\u0001yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"
				 "yyyyyyyyy"),
		    GOOD, rsa1, EVP_sha256()),
	       JWT_UNKNOWN_KEY,
	       "no key with kid 'x?yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy'",
	       "unknown kid, quoted printable and cut to 64 characters");
	expect(ks, &p, mint(t, hdr("RS256", "rsa1"), GOOD, rsa2, EVP_sha256()), JWT_BAD_SIGNATURE,
	       "the signature does not verify with key 'rsa1'", "signed by another key than kid's");

	struct jwt_keyset *one = jwt_keyset_new(), *empty = jwt_keyset_new();
	struct jail_error e = {0};

	if (!one || !empty || jwt_keyset_add_pem(one, "rsa1", pem_rsa1, strlen(pem_rsa1), NULL, &e))
		die("keyset");
	expect(one, &p, mint(t, hdr("ES256", NULL), GOOD, ec1, EVP_sha256()), JWT_UNKNOWN_KEY,
	       "no key for algorithm ES256", "no kid and no key of the alg");
	expect(empty, &p, mint(t, hdr("RS256", NULL), GOOD, rsa1, EVP_sha256()), JWT_UNKNOWN_KEY,
	       "no key for algorithm RS256", "empty keyset");
	expect(NULL, &p, t, JWT_UNKNOWN_KEY, NULL, "no keyset");
	jwt_keyset_free(one);
	jwt_keyset_free(empty);
	jwt_keyset_free(NULL);
}

static void
test_confusion(const struct jwt_keyset *ks)
{
	struct jwt_policy p = {0};
	char t[TOK], u[TOK];

	expect(ks, &p, mint(t, hdr("none", "rsa1"), GOOD, NULL, NULL), JWT_UNSIGNED,
	       "an unsigned token (alg none) is never accepted", "alg none, empty signature, kid");
	expect(ks, &p, mint(t, hdr("none", NULL), GOOD, NULL, NULL), JWT_UNSIGNED,
	       "an unsigned token (alg none) is never accepted",
	       "alg none, empty signature, no kid");
	expect(ks, &p, mint(t, hdr("None", NULL), GOOD, NULL, NULL), JWT_UNSIGNED, NULL,
	       "alg None");
	expect(ks, &p, mint(t, "{\"typ\":\"JWT\"}", GOOD, rsa1, EVP_sha256()), JWT_BAD_ALG,
	       "the header has no alg string", "no alg");
	expect(ks, &p, mint(t, "{\"alg\":null,\"kid\":\"rsa1\"}", GOOD, rsa1, EVP_sha256()),
	       JWT_BAD_ALG, "the header has no alg string", "alg null");
	expect(ks, &p, mint(t, "{\"alg\":\"rs256\",\"kid\":\"rsa1\"}", GOOD, rsa1, EVP_sha256()),
	       JWT_BAD_ALG, "algorithm 'rs256' is not accepted", "alg in lower case");
	expect(ks, &p, mint_hs(t, hdr("HS256", "rsa1"), GOOD, pem_rsa1), JWT_BAD_ALG,
	       "algorithm 'HS256' is not accepted", "HS256 keyed with the RSA public PEM, kid");
	expect(ks, &p, mint_hs(t, hdr("HS256", NULL), GOOD, pem_rsa1), JWT_BAD_ALG,
	       "algorithm 'HS256' is not accepted", "HS256 keyed with the RSA public PEM, no kid");
	expect(ks, &p, mint_hs(t, hdr("HS256", "ec1"), GOOD, pem_ec1), JWT_BAD_ALG, NULL,
	       "HS256 keyed with the EC public PEM");
	expect(ks, &p, mint(t, hdr("PS256", "rsa1"), GOOD, rsa1, EVP_sha256()), JWT_BAD_ALG,
	       "algorithm 'PS256' is not accepted", "PS256");
	expect(ks, &p, mint(t, hdr("RS256", "ec1"), GOOD, rsa1, EVP_sha256()), JWT_BAD_ALG,
	       "algorithm RS256, but key 'ec1' is for ES256", "RS256 token to an ES256 key's kid");
	expect(ks, &p, mint(t, hdr("ES256", "rsa1"), GOOD, rsa1, EVP_sha256()), JWT_BAD_ALG,
	       "algorithm ES256, but key 'rsa1' is for RS256",
	       "ES256 header, RSA signature, RSA key's kid");
	expect(ks, &p, mint(t, hdr("ES256", "ec1"), GOOD, rsa1, EVP_sha256()), JWT_MALFORMED,
	       "the signature has 256 bytes, ES256 needs 64",
	       "ES256 header, RSA signature, EC key's kid");
	expect(ks, &p, mint(t, hdr("ES256", NULL), GOOD, rsa1, EVP_sha256()), JWT_BAD_SIGNATURE,
	       NULL, "ES256 header, RSA signature, no kid");
	expect(ks, &p, mint(t, hdr("RS512", "rsa1"), GOOD, rsa1, EVP_sha512()), JWT_BAD_ALG,
	       "algorithm RS512, but key 'rsa1' is for RS256", "RS512 to an RS256 key");
	expect(ks, &p, mint(t, hdr("ES384", "ec1"), GOOD, ec1, EVP_sha384()), JWT_BAD_ALG, NULL,
	       "ES384 to a P-256 key");
	expect(ks, &p, mint(t, hdr("ES256", "ec384"), GOOD, ec384, EVP_sha256()), JWT_BAD_ALG, NULL,
	       "ES256 to a P-384 key");
	expect(ks, &p,
	       mint(t, "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"crit\":[\"exp\"],\"exp\":1}", GOOD,
		    rsa1, EVP_sha256()),
	       JWT_BAD_ALG, "the header has a crit parameter", "crit header");
	expect(ks, &p,
	       mint(t, "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"crit\":[]}", GOOD, rsa1,
		    EVP_sha256()),
	       JWT_BAD_ALG, "crit", "empty crit header");
	expect(ks, &p,
	       mint(t, "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"b64\":false,\"crit\":[\"b64\"]}",
		    GOOD, rsa1, EVP_sha256()),
	       JWT_BAD_ALG, "crit", "unencoded payload (b64 false)");
	/* An ES256 signature stretched or cut by a byte. */
	mint(t, hdr("ES256", "ec1"), GOOD, ec1, EVP_sha256());
	join(u, t, strlen(t), "AA", "");
	expect(ks, &p, u, JWT_MALFORMED, NULL, "ES256 signature of 66 bytes");
	u[strlen(t) - 2] = '\0';
	expect(ks, &p, u, JWT_MALFORMED, NULL, "ES256 signature of 63 bytes");
}

static void
test_tampering(const struct jwt_keyset *ks)
{
	struct jwt_policy p = {0};
	char t[TOK], u[TOK], evil[TOK];
	const char *dot1, *dot2;

	mint(t, hdr("RS256", "rsa1"), GOOD, rsa1, EVP_sha256());
	dot1 = strchr(t, '.');
	dot2 = strchr(dot1 + 1, '.');

	/* The payload of another token under this token's signature. */
	mint(evil, hdr("RS256", "rsa1"),
	     pl("{\"sub\":\"root\",\"iat\":%lld,\"exp\":%lld,\"roles\":[\"admin\"]}", NOW,
		NOW + 300),
	     NULL, NULL);
	join(u, evil, strlen(evil), dot2 + 1, ""); /* evil ends in '.' */
	expect(ks, &p, u, JWT_BAD_SIGNATURE, NULL, "tampered payload");

	strcpy(u, t);
	u[dot2 - t + 1] = u[dot2 - t + 1] == 'A' ? 'B' : 'A';
	expect(ks, &p, u, JWT_BAD_SIGNATURE, NULL, "a flipped signature character");

	strcpy(u, t);
	u[1] = u[1] == 'x' ? 'y' : 'x';
	expect(ks, &p, u, JWT_MALFORMED, NULL, "a flipped header character");

	/* Truncations: never OK. */
	for (size_t cut = 1; cut < strlen(t); cut += 37) {
		struct jwt_result r;
		enum jwt_status s = jwt_verify(ks, &p, t, cut, NOW, &r);

		if (s == JWT_OK || (s != JWT_MALFORMED && s != JWT_BAD_SIGNATURE)) {
			tap_ok(0, "truncated to %zu bytes: malformed or bad_signature", cut);
			tap_diag("got %s '%s'", jwt_status_code(s), r.msg);
			json_decref(r.claims);
			return;
		}
	}
	tap_ok(1, "truncated at every 37th byte: malformed or bad_signature");
	expect_at(ks, &p, t, strlen(t) - 22, JWT_MALFORMED,
		  "the signature has 240 bytes, RS256 needs 256",
		  "cut in the signature (240 of 256 bytes)");
	expect_at(ks, &p, t, (size_t)(dot2 - t) + 1, JWT_MALFORMED, NULL,
		  "no signature (\"h.p.\")");
	expect_at(ks, &p, t, (size_t)(dot2 - t), JWT_MALFORMED,
		  "the token is not three dot-separated parts", "two parts (\"h.p\")");
	expect_at(ks, &p, t, (size_t)(dot1 - t), JWT_MALFORMED, NULL, "one part");
	join(u, t, strlen(t), ".", dot2 + 1);
	expect(ks, &p, u, JWT_MALFORMED, "three dot-separated parts", "four parts");
	expect(ks, &p, "..", JWT_MALFORMED, "the header is not valid JSON", "empty parts");
	expect_at(ks, &p, "", 0, JWT_MISSING, "no token", "empty token");
	expect_at(ks, &p, NULL, 0, JWT_MISSING, "no token", "NULL token");

	/* Strict base64url. */
	join(u, t, strlen(t), "=", "");
	expect(ks, &p, u, JWT_MALFORMED, "the signature is not unpadded base64url",
	       "'=' after the signature");
	join(u, t, strlen(t), "==", "");
	expect(ks, &p, u, JWT_MALFORMED, NULL, "'==' after the signature");
	join(u, t, (size_t)(dot1 - t), "=", dot1);
	expect(ks, &p, u, JWT_MALFORMED, "the header is not unpadded base64url",
	       "'=' after the header");
	strcpy(u, t);
	u[dot2 - t + 2] = '+';
	expect(ks, &p, u, JWT_MALFORMED, NULL, "'+' (standard base64) in the signature");
	strcpy(u, t);
	u[dot2 - t + 2] = '/';
	expect(ks, &p, u, JWT_MALFORMED, NULL, "'/' (standard base64) in the signature");
	join(u, t, strlen(t), "\n", "");
	expect(ks, &p, u, JWT_MALFORMED, NULL, "a newline after the token");
	join(u, "", 0, " ", t);
	expect(ks, &p, u, JWT_MALFORMED, NULL, "a space before the token");
	/* A 256-byte signature ends in 2 characters, 4 bits of which must be 0. */
	strcpy(u, t);
	u[strlen(u) - 1]++;
	expect(ks, &p, u, JWT_MALFORMED, NULL, "non-zero trailing bits in the signature");
	/* A NUL inside the length. */
	strcpy(u, t);
	u[dot2 - t + 5] = '\0';
	expect_at(ks, &p, u, strlen(t), JWT_MALFORMED, NULL, "a NUL byte in the signature");

	/* Size. */
	size_t big = 100 * 1024;
	char *huge = malloc(big + 1);

	if (!huge)
		die("malloc");
	memset(huge, 'A', big);
	huge[100] = huge[200] = '.';
	huge[big] = '\0';
	expect(ks, &p, huge, JWT_MALFORMED, "token longer than 8192 bytes", "a 100 KiB token");
	expect_at(ks, &p, huge, 8193, JWT_MALFORMED, "token longer than 8192 bytes",
		  "a token of 8193 bytes");
	free(huge);
	mint(t, hdr("RS256", "rsa1"),
	     pl("{\"sub\":\"alice\",\"exp\":%lld,\"pad\":\"%07000d\",\"roles\":\"admin\"}",
		NOW + 300, 0),
	     rsa1, EVP_sha256());
	expect(ks, &p, t, JWT_MALFORMED, "token longer than 8192 bytes",
	       "a signed token of 9.7 KB");
}

static void
test_json(const struct jwt_keyset *ks)
{
	struct jwt_policy p = {0};
	char t[TOK];

	expect(ks, &p,
	       mint(t, "{\"alg\":\"RS256\",\"alg\":\"none\",\"kid\":\"rsa1\"}", GOOD, rsa1,
		    EVP_sha256()),
	       JWT_MALFORMED, "the header has a duplicate key", "duplicate alg in the header");
	expect(ks, &p,
	       mint(t, hdr("RS256", "rsa1"),
		    pl("{\"sub\":\"alice\",\"sub\":\"root\",\"exp\":%lld}", NOW + 300), rsa1,
		    EVP_sha256()),
	       JWT_MALFORMED, "the payload has a duplicate key", "duplicate sub in the payload");
	expect(ks, &p, mint(t, "[\"RS256\"]", GOOD, rsa1, EVP_sha256()), JWT_MALFORMED,
	       "the header is not a JSON object", "header an array");
	expect(ks, &p, mint(t, "{\"alg\":\"RS256\"", GOOD, rsa1, EVP_sha256()), JWT_MALFORMED,
	       "the header is not valid JSON", "header not JSON");
	expect(ks, &p, mint(t, "{\"alg\":\"RS256\",\"kid\":1}", GOOD, rsa1, EVP_sha256()),
	       JWT_MALFORMED, "the kid is not a string", "kid a number");
	expect(ks, &p, mint(t, hdr("RS256", "rsa1"), "\"alice\"", rsa1, EVP_sha256()),
	       JWT_MALFORMED, "the payload is not valid JSON", "payload a string");
	expect(ks, &p, mint(t, hdr("RS256", "rsa1"), "[1]", rsa1, EVP_sha256()), JWT_MALFORMED,
	       "the payload is not a JSON object", "payload an array");
	expect(ks, &p,
	       mint(t, hdr("RS256", "rsa1"), pl("{\"sub\":\"a\\u0000b\",\"exp\":%lld}", NOW + 300),
		    rsa1, EVP_sha256()),
	       JWT_MALFORMED, "the payload is not valid JSON", "a NUL in a string");
	expect(ks, &p,
	       mint(t, hdr("RS256", "rsa1"), pl("{\"sub\":\"alice\",\"exp\":%lld} x", NOW + 300),
		    rsa1, EVP_sha256()),
	       JWT_MALFORMED, "the payload is not valid JSON", "text after the payload object");
	good(ks, &p,
	     mint(t, "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"jku\":\"https://evil\",\"typ\":\"x\"}",
		  GOOD, rsa1, EVP_sha256()),
	     "alice", "rsa1", "jku and an odd typ are ignored");
}

static void
test_claims(const struct jwt_keyset *ks)
{
	struct jwt_policy p = {.leeway_s = 60};
	struct jwt_policy strict = {0};
	struct jwt_policy life = {.max_lifetime_s = 600};
	struct jwt_policy who = {.issuer = "https://issuer", .audience = "agentjail"};
	const char *h = "{\"alg\":\"ES256\",\"kid\":\"ec1\"}";
	char t[TOK];

#define T(...) mint(t, h, pl(__VA_ARGS__), ec1, EVP_sha256())

	/* exp */
	expect(ks, &p, T("{\"sub\":\"a\",\"exp\":%lld}", NOW - 30), JWT_OK, NULL,
	       "expired 30 s ago, leeway 60");
	expect(ks, &p, T("{\"sub\":\"a\",\"exp\":%lld}", NOW - 90), JWT_EXPIRED,
	       "the token expired 90 s ago", "expired 90 s ago, leeway 60");
	expect(ks, &strict, T("{\"sub\":\"a\",\"exp\":%lld}", NOW), JWT_OK, NULL,
	       "exp now, no leeway");
	expect(ks, &strict, T("{\"sub\":\"a\",\"exp\":%lld}", NOW - 1), JWT_EXPIRED,
	       "the token expired 1 s ago", "expired 1 s ago, no leeway");
	expect(ks, &strict, T("{\"sub\":\"a\",\"exp\":%lld.5}", NOW), JWT_OK, NULL,
	       "exp a real, half a second ahead");
	expect(ks, &strict, T("{\"sub\":\"a\",\"exp\":%lld.5}", NOW - 1), JWT_EXPIRED, NULL,
	       "exp a real, half a second ago");
	expect(ks, &p, T("{\"sub\":\"a\"}"), JWT_MISSING_EXP, "the token has no exp claim",
	       "no exp");
	expect(ks, &p, T("{\"sub\":\"a\",\"exp\":\"%lld\"}", NOW + 300), JWT_MALFORMED,
	       "the exp claim is not a number", "exp a string");
	expect(ks, &p, T("{\"sub\":\"a\",\"exp\":null}"), JWT_MALFORMED,
	       "the exp claim is not a number", "exp null");
	expect(ks, &p, T("{\"sub\":\"a\",\"exp\":1e400}"), JWT_MALFORMED, NULL,
	       "exp overflowing a double");

	/* nbf and iat */
	expect(ks, &p, T("{\"sub\":\"a\",\"exp\":%lld,\"nbf\":%lld}", NOW + 300, NOW + 30), JWT_OK,
	       NULL, "nbf in 30 s, leeway 60");
	expect(ks, &p, T("{\"sub\":\"a\",\"exp\":%lld,\"nbf\":%lld}", NOW + 300, NOW + 90),
	       JWT_NOT_YET_VALID, "the token is not valid for another 90 s",
	       "nbf in 90 s, leeway 60");
	expect(ks, &strict, T("{\"sub\":\"a\",\"exp\":%lld,\"nbf\":%lld}", NOW + 300, NOW + 1),
	       JWT_NOT_YET_VALID, NULL, "nbf in 1 s, no leeway");
	expect(ks, &p, T("{\"sub\":\"a\",\"exp\":%lld,\"nbf\":true}", NOW + 300), JWT_MALFORMED,
	       "the nbf claim is not a number", "nbf a boolean");
	expect(ks, &p, T("{\"sub\":\"a\",\"exp\":%lld,\"iat\":%lld}", NOW + 300, NOW + 30), JWT_OK,
	       NULL, "iat 30 s ahead, leeway 60");
	expect(ks, &p, T("{\"sub\":\"a\",\"exp\":%lld,\"iat\":%lld}", NOW + 300, NOW + 90),
	       JWT_NOT_YET_VALID, "the token was issued 90 s in the future",
	       "iat 90 s ahead, leeway 60");
	expect(ks, &p, T("{\"sub\":\"a\",\"exp\":%lld,\"iat\":[]}", NOW + 300), JWT_MALFORMED,
	       "the iat claim is not a number", "iat an array");

	/* Lifetime */
	expect(ks, &life, T("{\"sub\":\"a\",\"iat\":%lld,\"exp\":%lld}", NOW, NOW + 3600),
	       JWT_TOO_LONG_LIVED, "lifetime 3600 s exceeds the maximum 600 s",
	       "lifetime 3600 s, maximum 600");
	expect(ks, &life, T("{\"sub\":\"a\",\"iat\":%lld,\"exp\":%lld}", NOW - 100, NOW + 500),
	       JWT_OK, NULL, "lifetime 600 s, maximum 600");
	expect(ks, &life, T("{\"sub\":\"a\",\"exp\":%lld}", NOW + 60), JWT_TOO_LONG_LIVED,
	       "the token has no iat claim", "no iat with a maximum lifetime");
	expect(ks, &p, T("{\"sub\":\"a\",\"iat\":%lld,\"exp\":%lld}", NOW, NOW + 86400 * 365),
	       JWT_OK, NULL, "a year's lifetime without a maximum");

	/* Issuer and audience */
#define IA(iss_aud) T("{\"sub\":\"a\",\"exp\":%lld" iss_aud "}", NOW + 300)
	expect(ks, &who, IA(",\"iss\":\"https://issuer\",\"aud\":\"agentjail\""), JWT_OK, NULL,
	       "iss and aud (a string) match");
	expect(ks, &who, IA(",\"iss\":\"https://issuer\",\"aud\":[\"x\",\"agentjail\"]"), JWT_OK,
	       NULL, "aud an array containing ours");
	expect(ks, &who, IA(",\"iss\":\"https://evil\",\"aud\":\"agentjail\""), JWT_WRONG_ISSUER,
	       "issuer does not match", "another issuer");
	expect(ks, &who, IA(",\"iss\":\"https://issuer/\",\"aud\":\"agentjail\""), JWT_WRONG_ISSUER,
	       NULL, "issuer with a trailing slash");
	expect(ks, &who, IA(",\"iss\":1,\"aud\":\"agentjail\""), JWT_WRONG_ISSUER,
	       "issuer does not match", "iss a number");
	expect(ks, &who, IA(",\"aud\":\"agentjail\""), JWT_WRONG_ISSUER,
	       "the token has no iss claim", "no iss");
	expect(ks, &who, IA(",\"iss\":\"https://issuer\",\"aud\":\"other\""), JWT_WRONG_AUDIENCE,
	       "audience does not match", "another audience (a string)");
	expect(ks, &who, IA(",\"iss\":\"https://issuer\",\"aud\":[\"other\",\"AGENTJAIL\"]"),
	       JWT_WRONG_AUDIENCE, "audience does not match", "aud an array without ours");
	expect(ks, &who, IA(",\"iss\":\"https://issuer\",\"aud\":[[\"agentjail\"]]"),
	       JWT_WRONG_AUDIENCE, NULL, "ours nested in an array");
	expect(ks, &who, IA(",\"iss\":\"https://issuer\""), JWT_WRONG_AUDIENCE,
	       "the token has no aud claim", "no aud");
	expect(ks, &p, IA(",\"iss\":\"https://evil\",\"aud\":\"other\""), JWT_OK, NULL,
	       "iss and aud unchecked without a policy");
	struct jwt_policy empty_strings = {.issuer = "", .audience = ""};
	expect(ks, &empty_strings, IA(""), JWT_OK, NULL, "empty issuer and audience: unchecked");
	expect(ks, NULL, IA(""), JWT_OK, NULL, "NULL policy");

	/* sub */
	char long_sub[200];
	memset(long_sub, 's', sizeof(long_sub));
	long_sub[127] = '\0';
	expect(ks, &p, T("{\"exp\":%lld}", NOW + 300), JWT_MISSING_SUB,
	       "the token has no sub claim", "no sub");
	expect(ks, &p, T("{\"sub\":\"\",\"exp\":%lld}", NOW + 300), JWT_MISSING_SUB,
	       "the sub claim is empty", "empty sub");
	expect(ks, &p, T("{\"sub\":7,\"exp\":%lld}", NOW + 300), JWT_MALFORMED,
	       "the sub claim is not a string", "sub a number");
	expect(ks, &p, T("{\"sub\":\"%s\",\"exp\":%lld}", long_sub, NOW + 300), JWT_OK, NULL,
	       "sub of 127 bytes");
	long_sub[127] = 's';
	long_sub[128] = '\0';
	expect(ks, &p, T("{\"sub\":\"%s\",\"exp\":%lld}", long_sub, NOW + 300), JWT_MALFORMED,
	       "the sub claim is longer than 127 bytes", "sub of 128 bytes");
	expect(ks, &p, T("{\"sub\":\"a\\nb\",\"exp\":%lld}", NOW + 300), JWT_MALFORMED,
	       "the sub claim has control characters", "sub with a newline");
	expect(ks, &p, T("{\"sub\":\"a\\u007fb\",\"exp\":%lld}", NOW + 300), JWT_MALFORMED,
	       "the sub claim has control characters", "sub with DEL");

	struct jwt_result r;

	T("{\"sub\":\"Zo\\u00eb@example\",\"exp\":%lld}", NOW + 300);
	jwt_verify(ks, &p, t, strlen(t), NOW, &r);
	tap_ok(r.status == JWT_OK && strcmp(r.sub, "Zo\xc3\xab@example") == 0,
	       "sub in UTF-8 is kept as it is");
	json_decref(r.claims);
#undef IA
#undef T
}

static void
test_claim_has(void)
{
	json_t *c = json_pack("{s:s, s:[s, i, s], s:i, s:[]}", "role", "admin", "roles", "user", 3,
			      "admin", "n", 1, "none");

	if (!c)
		die("json_pack");
	tap_ok(jwt_claim_has(c, "role", "admin"), "claim_has: a string equal");
	tap_ok(!jwt_claim_has(c, "role", "adm"), "claim_has: a string not equal");
	tap_ok(jwt_claim_has(c, "roles", "admin"), "claim_has: an array containing it");
	tap_ok(!jwt_claim_has(c, "roles", "root"), "claim_has: an array without it");
	tap_ok(!jwt_claim_has(c, "n", "1"), "claim_has: a number is not its text");
	tap_ok(!jwt_claim_has(c, "none", "admin"), "claim_has: an empty array");
	tap_ok(!jwt_claim_has(c, "absent", "admin"), "claim_has: a missing claim");
	tap_ok(!jwt_claim_has(NULL, "role", "admin"), "claim_has: no claims");
	json_decref(c);
}

static void
test_codes(void)
{
	static const char *const want[] = {
		"ok",	       "missing",	"malformed",
		"bad_alg",     "unknown_key",	"bad_signature",
		"expired",     "not_yet_valid", "too_long_lived",
		"missing_exp", "wrong_issuer",	"wrong_audience",
		"missing_sub",
	};
	bool ok = true;

	for (int s = JWT_OK; s <= JWT_MISSING_SUB; s++)
		ok = ok && strcmp(jwt_status_code((enum jwt_status)s), want[s]) == 0;
	tap_ok(ok, "status codes are the documented snake_case names");
}

int
main(void)
{
	struct jwt_keyset *ks = jwt_keyset_new();

	if (!ks)
		die("jwt_keyset_new");
	rsa1 = keygen("RSA", NULL, 2048);
	rsa2 = keygen("RSA", NULL, 2048);
	rsa3 = keygen("RSA", NULL, 3072);
	rsa_small = keygen("RSA", NULL, 1024);
	ec1 = keygen("EC", "P-256", 0);
	ec2 = keygen("EC", "P-256", 0);
	ec384 = keygen("EC", "P-384", 0);
	k1 = keygen("EC", "secp256k1", 0);
	ed = keygen("ED25519", NULL, 0);
	pem_rsa1 = pem_public(rsa1);
	pem_rsa2 = pem_public(rsa2);
	pem_ec1 = pem_public(ec1);

	test_load(ks);
	test_algorithms(ks);
	test_confusion(ks);
	test_tampering(ks);
	test_json(ks);
	test_claims(ks);
	test_claim_has();
	test_codes();

	jwt_keyset_free(ks);
	free(pem_rsa1);
	free(pem_rsa2);
	free(pem_ec1);
	EVP_PKEY *keys[] = {rsa1, rsa2, rsa3, rsa_small, ec1, ec2, ec384, k1, ed};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		EVP_PKEY_free(keys[i]);
	return tap_done();
}
