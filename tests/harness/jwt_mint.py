#!/usr/bin/env python3
"""Mint JWTs for agentjaild's tests (standard library + the openssl command).

    jwt_mint.py [--key PRIVATE.pem] [--kid K]
                [--alg RS256|RS384|RS512|ES256|ES384|none|HS256]
                [--hs-secret-file F] [--sub S | --no-sub] [--iss I] [--aud A]...
                [--exp-in SECONDS | --no-exp] [--iat-offset S | --no-iat]
                [--nbf-in S] [--claim NAME=JSON]... [--header NAME=JSON]...
                [--now T]
    jwt_mint.py keygen rsa|ec DIR NAME [--bits N] [--curve P-256|P-384]

The first form prints a token. --alg defaults to the key's (RS256 for RSA,
ES256/ES384 by curve); "none" gives an empty signature and HS256 an HMAC
keyed with the bytes of --hs-secret-file (give it a public key's PEM for the
algorithm-confusion attack). Times are relative to --now (default: the
clock): exp = now + exp-in (default 300), iat = now + iat-offset (default 0),
nbf = now + nbf-in. --aud once is a string, repeated an array. --claim and
--header set any member from a JSON value, last, so they override the
options (e.g. --claim 'roles=["admin"]', --header 'crit=["exp"]').

keygen writes DIR/NAME.key (the private key, mode 0600) and DIR/NAME.pub
(its public key, a SubjectPublicKeyInfo PEM) with openssl genpkey and pkey.
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time

DIGEST = {"RS256": "sha256", "RS384": "sha384", "RS512": "sha512",
          "ES256": "sha256", "ES384": "sha384"}
EC_HALF = {"ES256": 32, "ES384": 48}


def die(msg):
    sys.exit("jwt_mint: " + msg)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def openssl(*args, data=None):
    try:
        p = subprocess.run(["openssl", *args], input=data, capture_output=True, check=False)
    except FileNotFoundError:
        die("the openssl command is not installed")
    if p.returncode != 0:
        die("openssl %s: %s" % (args[0], p.stderr.decode(errors="replace").strip()))
    return p.stdout


def key_alg(key):
    """The default algorithm of a private key file."""
    text = openssl("pkey", "-in", key, "-noout", "-text_pub").decode()
    if "prime256v1" in text or "P-256" in text:
        return "ES256"
    if "secp384r1" in text or "P-384" in text:
        return "ES384"
    if "Modulus" in text:
        return "RS256"
    die("%s: not an RSA, P-256 or P-384 key" % key)


def der_to_raw(der, half):
    """An ECDSA-Sig-Value (SEQUENCE of INTEGER r, s) as JWS's r||s."""
    def length(i):
        n = der[i]
        if n < 0x80:
            return n, i + 1
        k = n & 0x7F
        return int.from_bytes(der[i + 1:i + 1 + k], "big"), i + 1 + k

    if der[0] != 0x30:
        die("ECDSA signature: not a DER SEQUENCE")
    _, i = length(1)
    out = b""
    for _ in range(2):
        if der[i] != 0x02:
            die("ECDSA signature: not a DER INTEGER")
        n, i = length(i + 1)
        v = int.from_bytes(der[i:i + n], "big")
        out += v.to_bytes(half, "big")
        i += n
    return out


def sign(alg, signing_input, key, hs_secret_file):
    if alg == "none":
        return b""
    if alg == "HS256":
        if not hs_secret_file:
            die("HS256 needs --hs-secret-file")
        with open(hs_secret_file, "rb") as f:
            return hmac.new(f.read(), signing_input, hashlib.sha256).digest()
    if alg not in DIGEST:
        die("unknown algorithm %s" % alg)
    if not key:
        die("%s needs --key" % alg)
    sig = openssl("dgst", "-" + DIGEST[alg], "-sign", key, data=signing_input)
    return der_to_raw(sig, EC_HALF[alg]) if alg in EC_HALF else sig


def members(pairs, what):
    out = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            die("%s %r: expected NAME=JSON" % (what, pair))
        try:
            out[name] = json.loads(value)
        except ValueError:
            die("%s %r: the value is not JSON (quote strings: NAME='\"text\"')" % (what, pair))
    return out


def mint(argv):
    ap = argparse.ArgumentParser(prog="jwt_mint.py", description="Print a signed JWT.")
    ap.add_argument("--key", help="private key PEM (RS*/ES*)")
    ap.add_argument("--kid")
    ap.add_argument("--alg", choices=sorted(DIGEST) + ["none", "HS256"])
    ap.add_argument("--hs-secret-file")
    ap.add_argument("--sub", default="test-user")
    ap.add_argument("--no-sub", action="store_true")
    ap.add_argument("--iss")
    ap.add_argument("--aud", action="append")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--exp-in", type=int, default=300)
    g.add_argument("--no-exp", action="store_true")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--iat-offset", type=int, default=0)
    g.add_argument("--no-iat", action="store_true")
    ap.add_argument("--nbf-in", type=int)
    ap.add_argument("--claim", action="append", metavar="NAME=JSON")
    ap.add_argument("--header", action="append", metavar="NAME=JSON")
    ap.add_argument("--now", type=int, help="seconds since the epoch (default: now)")
    a = ap.parse_args(argv)

    alg = a.alg or (key_alg(a.key) if a.key else die("give --key or --alg"))
    now = a.now if a.now is not None else int(time.time())

    header = {"alg": alg, "typ": "JWT"}
    if a.kid is not None:
        header["kid"] = a.kid
    header.update(members(a.header, "--header"))

    claims = {}
    if a.iss is not None:
        claims["iss"] = a.iss
    if not a.no_sub:
        claims["sub"] = a.sub
    if a.aud:
        claims["aud"] = a.aud[0] if len(a.aud) == 1 else a.aud
    if not a.no_iat:
        claims["iat"] = now + a.iat_offset
    if a.nbf_in is not None:
        claims["nbf"] = now + a.nbf_in
    if not a.no_exp:
        claims["exp"] = now + a.exp_in
    claims.update(members(a.claim, "--claim"))

    def part(obj):
        return b64url(json.dumps(obj, separators=(",", ":")).encode())

    signing_input = (part(header) + "." + part(claims)).encode("ascii")
    sig = sign(alg, signing_input, a.key, a.hs_secret_file)
    print(signing_input.decode("ascii") + "." + b64url(sig))


def keygen(argv):
    ap = argparse.ArgumentParser(prog="jwt_mint.py keygen",
                                 description="Write DIR/NAME.key and DIR/NAME.pub.")
    ap.add_argument("type", choices=["rsa", "ec"])
    ap.add_argument("dir")
    ap.add_argument("name")
    ap.add_argument("--bits", type=int, default=2048, help="RSA modulus bits")
    ap.add_argument("--curve", choices=["P-256", "P-384"], default="P-256")
    a = ap.parse_args(argv)

    os.makedirs(a.dir, exist_ok=True)
    key = os.path.join(a.dir, a.name + ".key")
    pub = os.path.join(a.dir, a.name + ".pub")
    if a.type == "rsa":
        opts = ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:%d" % a.bits]
    else:
        opts = ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:" + a.curve,
                "-pkeyopt", "ec_param_enc:named_curve"]
    old = os.umask(0o077)
    try:
        openssl("genpkey", *opts, "-out", key)
    finally:
        os.umask(old)
    openssl("pkey", "-in", key, "-pubout", "-out", pub)


def main():
    if sys.argv[1:2] == ["keygen"]:
        keygen(sys.argv[2:])
    else:
        mint(sys.argv[1:])


if __name__ == "__main__":
    main()
