#!/usr/bin/env bash
# agentjaild's authentication, tenants and TLS, end to end: bearer JWTs on
# an HTTPS listener (each kind of bad token refused with its own reason),
# tenants kept apart (404, not 403), per-tenant policy and quotas, key and
# certificate rotation on SIGHUP, unix peers by their uid, the failure
# rate limit, and audit lines that never carry a token.
# shellcheck source=tests/harness/lib.sh
. "$(dirname "$0")/../harness/lib.sh"
# shellcheck source=tests/harness/daemon.sh
. "$(dirname "$0")/../harness/daemon.sh"
need_root

MINT="$AJ_TOP/tests/harness/jwt_mint.py"
command -v openssl >/dev/null || { echo "needs openssl (make deps)"; exit 77; }

PORT=$(free_port)
K="$TMPD/keys"
mkdir -p "$TMPD/profiles" "$K" "$TMPD/hostdir"
python3 "$MINT" keygen rsa "$K" k1 >/dev/null
python3 "$MINT" keygen rsa "$K" k2 >/dev/null
python3 "$MINT" keygen ec "$K" e1 >/dev/null
python3 "$MINT" keygen rsa "$K" stranger >/dev/null

# A test CA and two server certificates for 127.0.0.1 (the second one for
# the rotation).
tls_cert() { # NAME
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$K/$1.key" \
		-out "$K/$1.csr" -subj /CN=agentjail-test 2>/dev/null &&
		openssl x509 -req -in "$K/$1.csr" -CA "$K/ca.pem" -CAkey "$K/ca.key" \
			-set_serial "$2" -out "$K/$1.pem" -days 2 \
			-extfile <(printf 'subjectAltName=IP:127.0.0.1\n') 2>/dev/null
}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$K/ca.key" \
	-out "$K/ca.pem" -days 2 -subj /CN=agentjail-test-ca 2>/dev/null
if ! tls_cert srv1 4097 || ! tls_cert srv2 8193; then
	echo "openssl could not make the test certificates"
	exit 1
fi
cp "$K/srv1.pem" "$K/srv.pem"
cp "$K/srv1.key" "$K/srv.key"

sed 's/"name": "default"/"name": "default"/' "$AJ_TOP/profiles/default.json" >"$TMPD/profiles/default.json"
cp "$AJ_TOP/profiles/minimal.json" "$TMPD/profiles/minimal.json"
cat >"$TMPD/profiles/hostrw.json" <<JSON
{"format": 1, "name": "hostrw",
 "mounts": [{"type": "bind", "source": "$TMPD/hostdir", "target": "/workspace/host", "readonly": false}]}
JSON

# write_config [KEYS_JSON] [MAX_FAILURES] [UNIX_JSON]
write_config() {
	local keys=${1:-'[{"kid": "k1", "file": "'$K/k1.pub'"}, {"kid": "k2", "file": "'$K/k2.pub'"}, {"kid": "e1", "file": "'$K/e1.pub'"}]'}
	cat >"$TMPD/agentjaild.json" <<JSON
{"format": 1, "listen": ["unix:$SOCK", "127.0.0.1:$PORT"], "socket_mode": "0666",
 "profiles_dir": "$TMPD/profiles", "worker": "$AJ_TOP/build/agentjail-worker",
 "auth": {"jwt": {"keys": $keys, "issuer": "https://issuer.test", "audience": "agentjail",
                  "max_token_lifetime_s": 3600, "admin": {"claim": "roles", "value": "admin"}},
          "unix": ${3:-{\}},
          "max_failures_per_minute": ${2:-1000}},
 "tenants": {"alice": {"profiles": ["default"], "max_sessions": 2, "max_execs": 1},
             "bob": {},
             "*": {"profiles": ["minimal"]}},
 "tls": {"cert": "$K/srv.pem", "key": "$K/srv.key"},
 "limits": {"max_sessions": 50}}
JSON
}
write_config

# --- refusals before the start --------------------------------------------------
cat >"$TMPD/noauth.json" <<JSON
{"format": 1, "listen": ["127.0.0.1:$PORT"], "profiles_dir": "$TMPD/profiles"}
JSON
out=$("$AJD" -n -c "$TMPD/noauth.json" 2>&1)
rc=$?
expect_eq "TCP without keys or insecure_no_auth: the daemon refuses to start" 1 "$rc"
expect_match "... saying what to configure" "a TCP listener needs authentication: configure auth.jwt.keys, or set insecure_no_auth" "$out"
python3 "$MINT" keygen rsa "$K" small >/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out "$K/small.key" 2>/dev/null
openssl pkey -in "$K/small.key" -pubout -out "$K/small.pub" 2>/dev/null
sed "s|\"file\": \"$K/k1.pub\"|\"file\": \"$K/small.pub\"|" "$TMPD/agentjaild.json" >"$TMPD/small.json"
out=$("$AJD" -n -c "$TMPD/small.json" 2>&1)
expect_match "a 1024-bit RSA key stops the start, naming its kid" "k1.*(2048|bits)" "$out"

start_daemon

URL="https://127.0.0.1:$PORT"
# tapi TOKEN METHOD PATH [curl args...]: HTTPS with the test CA; body, then status.
tapi() {
	local t=$1 m=$2 p=$3
	shift 3
	curl -s --cacert "$K/ca.pem" -X "$m" -w '\n%{http_code}' ${t:+-H "Authorization: Bearer $t"} "$@" "$URL$p"
}
code_of() { body_of <<<"$1" | jfield error.code 2>/dev/null; }
mint() { # KEY [args]: a token of issuer/audience as configured
	local key=$1
	shift
	python3 "$MINT" --key "$K/$key.key" --iss https://issuer.test --aud agentjail "$@"
}

# --- tokens --------------------------------------------------------------------
ALICE=$(mint k1 --kid k1 --sub alice)
out=$(tapi "$ALICE" GET /v1/sessions)
expect_eq "HTTPS with the test CA, an RS256 token of the configured key: 200" 200 "$(status_of "$out")"
out=$(tapi "$(mint e1 --kid e1 --alg ES256 --sub alice)" GET /v1/sessions)
expect_eq "an ES256 token of the EC key: 200" 200 "$(status_of "$out")"
out=$(tapi "$(mint k2 --sub alice)" GET /v1/sessions)
expect_eq "a token without kid, tried with the keys of its algorithm: 200" 200 "$(status_of "$out")"

declare -A reason
check_bad() { # DESC TOKEN
	local out code
	out=$(tapi "$2" GET /v1/sessions)
	code=$(code_of "$out")
	expect_eq "$1: 401" 401 "$(status_of "$out")"
	reason[$1]=$code
	diag "$1 -> $code: $(body_of <<<"$out" | jfield error.message 2>/dev/null)"
}
check_bad "no token" ""
check_bad "expired" "$(mint k1 --kid k1 --sub alice --exp-in -300 --iat-offset -600)"
check_bad "not yet valid" "$(mint k1 --kid k1 --sub alice --nbf-in 600)"
check_bad "over-long-lived" "$(mint k1 --kid k1 --sub alice --exp-in 7200)"
check_bad "signed by another key" "$(mint stranger --kid k1 --sub alice)"
check_bad "wrong issuer" "$(python3 "$MINT" --key "$K/k1.key" --kid k1 --iss https://evil.test --aud agentjail --sub alice)"
check_bad "wrong audience" "$(python3 "$MINT" --key "$K/k1.key" --kid k1 --iss https://issuer.test --aud other --sub alice)"
check_bad "alg none" "$(python3 "$MINT" --alg none --kid k1 --iss https://issuer.test --aud agentjail --sub alice)"
check_bad "HS256 with the public key as the secret" "$(python3 "$MINT" --alg HS256 --hs-secret-file "$K/k1.pub" --kid k1 --iss https://issuer.test --aud agentjail --sub alice)"
check_bad "RS256 token for the EC key's kid" "$(mint k1 --kid e1 --sub alice)"
check_bad "unknown kid" "$(mint k1 --kid nope --sub alice)"
check_bad "truncated" "${ALICE:0:$((${#ALICE} - 20))}"
check_bad "without exp" "$(mint k1 --kid k1 --sub alice --no-exp)"
declare -A seen
dup=""
for d in "expired" "not yet valid" "over-long-lived" "signed by another key" "wrong issuer" "alg none" "HS256 with the public key as the secret" "truncated"; do
	c=${reason[$d]}
	[ -n "$c" ] || dup="$dup [$d: no code]"
	[ -n "${seen[$c]:-}" ] && dup="$dup [$d and ${seen[$c]}: $c]"
	seen[$c]=$d
done
expect_eq "each of the acceptance's eight bad tokens has its own reason" "" "$dup"
expect_eq "... expired is token_expired" token_expired "${reason[expired]}"
expect_eq "... no token is token_missing" token_missing "${reason[no token]}"

# Over 100 KiB: too long for a command line, so curl reads the header from a file.
big=$(head -c 26000 /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '=')
printf 'Authorization: Bearer %s.%s.%s\n' "$big" "$big" "$big" >"$TMPD/big.hdr"
[ "$(stat -c %s "$TMPD/big.hdr")" -gt 102400 ] || diag "the header is not over 100 KiB"
out=$(tapi "" GET /v1/sessions -H @"$TMPD/big.hdr")
st=$(status_of "$out")
if [ "$st" = 401 ] || [ "$st" = 431 ]; then ok "a token of over 100 KiB: $st"; else nok "a token of over 100 KiB: $st (expected 401 or 431)"; fi
out=$(tapi "$ALICE" GET /health)
expect_eq "the daemon still answers afterwards" 200 "$(status_of "$out")"

# --- tenants -------------------------------------------------------------------
BOB=$(mint k1 --kid k1 --sub bob)
CAROL=$(mint k1 --kid k1 --sub carol)
ADMIN=$(mint k1 --kid k1 --sub root-operator --claim 'roles=["ops", "admin"]')
JSON=(-H 'Content-Type: application/json')
out=$(tapi "$ALICE" POST /v1/sessions "${JSON[@]}" -d '{"profile": "default"}')
expect_eq "alice creates a session: 201" 201 "$(status_of "$out")"
A1=$(body_of <<<"$out" | jfield id)
for what in "GET /v1/sessions/$A1" "POST /v1/sessions/$A1/exec" "GET /v1/sessions/$A1/files/" "DELETE /v1/sessions/$A1"; do
	read -r m p <<<"$what"
	body=()
	[ "$m" = POST ] && body=(-d '{"command": ["true"]}')
	out=$(tapi "$BOB" "$m" "$p" "${JSON[@]}" "${body[@]}")
	expect_eq "bob: $m on alice's session: 404" 404 "$(status_of "$out")"
done
out=$(tapi "$BOB" GET /v1/sessions)
expect_nomatch "bob's session list does not show alice's" "$A1" "$out"
out=$(tapi "$ALICE" GET /v1/sessions)
expect_match "alice's does" "$A1" "$out"
out=$(tapi "$ALICE" POST "/v1/sessions/$A1/exec" "${JSON[@]}" -d '{"command": ["echo", "hi"]}')
expect_eq "alice runs a command in hers" 200 "$(status_of "$out")"
out=$(printf 'top secret content' | tapi "$ALICE" PUT "/v1/sessions/$A1/files/notes.txt" --data-binary @-)
expect_eq "... and writes a file" 200 "$(status_of "$out")"
expect_eq "... which bob cannot read (404)" 404 "$(status_of "$(tapi "$BOB" GET "/v1/sessions/$A1/files/notes.txt")")"
out=$(tapi "$ADMIN" GET /v1/sessions)
expect_match "the admin rule (roles contains admin) sees alice's session" "$A1" "$out"

out=$(tapi "$ALICE" POST /v1/sessions "${JSON[@]}" -d '{"profile": "minimal"}')
expect_eq "alice may not use a profile her policy does not list: 403" 403 "$(status_of "$out")"
expect_eq "... profile_not_allowed" profile_not_allowed "$(code_of "$out")"
out=$(tapi "$CAROL" POST /v1/sessions "${JSON[@]}" -d '{"profile": "default"}')
expect_eq "carol (policy \"*\": minimal only) may not use default: 403" 403 "$(status_of "$out")"
out=$(tapi "$CAROL" POST /v1/sessions "${JSON[@]}" -d '{"profile": "minimal"}')
expect_eq "... but minimal: 201" 201 "$(status_of "$out")"
out=$(tapi "$BOB" POST /v1/sessions "${JSON[@]}" -d '{"profile": "hostrw"}')
expect_eq "bob may not use a profile with a writable host directory: 403" 403 "$(status_of "$out")"
out=$(tapi "$ADMIN" POST /v1/sessions "${JSON[@]}" -d '{"profile": "hostrw"}')
expect_eq "an admin may: 201" 201 "$(status_of "$out")"
out=$(tapi "$BOB" GET /v1/profiles)
expect_nomatch "/v1/profiles hides host paths from a tenant" "$TMPD/hostdir" "$out"
out=$(tapi "$ADMIN" GET /v1/profiles)
expect_match "... and shows them to an admin" "$TMPD/hostdir" "$out"

out=$(tapi "$ALICE" POST /v1/sessions "${JSON[@]}" -d '{"profile": "default"}')
expect_eq "alice's second session: 201" 201 "$(status_of "$out")"
out=$(tapi "$ALICE" POST /v1/sessions "${JSON[@]}" -d '{"profile": "default"}')
expect_eq "her third is past her quota of 2: 429" 429 "$(status_of "$out")"
expect_eq "... quota_exceeded" quota_exceeded "$(code_of "$out")"
tapi "$ALICE" POST "/v1/sessions/$A1/exec" "${JSON[@]}" -d '{"command": ["sleep", "2"]}' >/dev/null &
slow=$!
sleep 0.7
out=$(tapi "$ALICE" POST "/v1/sessions/$A1/exec" "${JSON[@]}" -d '{"command": ["true"]}')
expect_eq "a second concurrent exec past her max_execs of 1: 429" 429 "$(status_of "$out")"
wait "$slow"

out=$(tapi "$ALICE" GET /metrics)
expect_eq "/metrics: a tenant gets 403" 403 "$(status_of "$out")"
out=$(tapi "$ADMIN" GET /metrics)
expect_eq "... an admin 200" 200 "$(status_of "$out")"
expect_match "... with the failures counted by reason" 'agentjail_auth_failures_total\{reason="token_expired"\} [1-9]' "$out"
out=$(api GET /metrics)
expect_eq "root on the unix socket (an admin uid) gets /metrics" 200 "$(status_of "$out")"
out=$(api GET /v1/sessions)
expect_match "... and sees every session" "$A1" "$out"

# --- unix peers ---------------------------------------------------------------
out=$(setpriv --reuid 4242 --regid 4242 --clear-groups curl -s --unix-socket "$SOCK" -w '\n%{http_code}' \
	-X POST -H 'Content-Type: application/json' -d '{"profile": "minimal"}' http://localhost/v1/sessions)
expect_eq "uid 4242 on the unix socket (no uids configured: the socket's mode decides): 201" 201 "$(status_of "$out")"
U1=$(body_of <<<"$out" | jfield id)
out=$(api GET "/v1/sessions/$U1")
expect_match "... its tenant is unix:4242" '"owner":"unix:4242"|unix:4242' "$out"
out=$(setpriv --reuid 4243 --regid 4243 --clear-groups curl -s --unix-socket "$SOCK" -w '\n%{http_code}' \
	"http://localhost/v1/sessions/$U1")
expect_eq "uid 4243 does not see uid 4242's session: 404" 404 "$(status_of "$out")"

# --- SIGHUP: key rotation, certificate rotation, unix uids, the rate limit --------------------
serial() { openssl s_client -connect "127.0.0.1:$PORT" -CAfile "$K/ca.pem" </dev/null 2>/dev/null | openssl x509 -noout -serial; }
expect_eq "the listener serves the first certificate" "serial=1001" "$(serial)"
K2TOK=$(mint k2 --kid k2 --sub alice)
expect_eq "a token of key k2 works" 200 "$(status_of "$(tapi "$K2TOK" GET /v1/sessions)")"
cp "$K/srv2.pem" "$K/srv.pem"
cp "$K/srv2.key" "$K/srv.key"
write_config '[{"kid": "k1", "file": "'"$K/k1.pub"'"}, {"kid": "e1", "file": "'"$K/e1.pub"'"}]' 1000 '{"uids": [4242]}'
kill -HUP "$DPID"
wait_for "$TMPD/daemon.log" 5 'event=config.reload keys=2' || diag "no config.reload line"
out=$(tapi "$K2TOK" GET /v1/sessions)
expect_eq "after k2 is removed and SIGHUP: its token gets 401" 401 "$(status_of "$out")"
expect_eq "... token_unknown_key" token_unknown_key "$(code_of "$out")"
expect_eq "... while k1's still works" 200 "$(status_of "$(tapi "$ALICE" GET /v1/sessions)")"
expect_eq "new connections get the new certificate" "serial=2001" "$(serial)"
out=$(setpriv --reuid 4243 --regid 4243 --clear-groups curl -s --unix-socket "$SOCK" -w '\n%{http_code}' http://localhost/v1/sessions)
expect_eq "auth.unix.uids [4242]: uid 4243 gets 403" 403 "$(status_of "$out")"
out=$(setpriv --reuid 4242 --regid 4242 --clear-groups curl -s --unix-socket "$SOCK" -w '\n%{http_code}' http://localhost/v1/sessions)
expect_eq "... uid 4242 200" 200 "$(status_of "$out")"

# A configuration that does not load changes nothing.
echo '{"format": 1, "auth": {"jwt": {"keys": [{"kid": "x", "file": "/nonexistent.pem"}]}}}' >"$TMPD/agentjaild.json"
kill -HUP "$DPID"
if wait_for "$TMPD/daemon.log" 5 'event=config.reload.*error=.*nonexistent'; then
	ok "a reload with a missing key file is refused and logged"
else
	nok "a reload with a missing key file is refused and logged"
fi
expect_eq "... and k1's tokens still work" 200 "$(status_of "$(tapi "$ALICE" GET /v1/sessions)")"

write_config "" 3
kill -HUP "$DPID"
sleep 0.5
for i in 1 2 3; do tapi "garbage$i" GET /v1/sessions >/dev/null; done
out=$(tapi "$ALICE" GET /v1/sessions)
expect_eq "max_failures_per_minute 3: after 3 failures even a good token gets 429" 429 "$(status_of "$out")"
expect_eq "... rate_limited" rate_limited "$(code_of "$out")"

# --- audit ---------------------------------------------------------------------
expect_match "auth failures are audit lines with client and reason" 'event=audit action=auth.failure client=127.0.0.1 reason=token_expired' "$(cat "$TMPD/daemon.log")"
leaked=""
for t in "$ALICE" "$BOB" "$ADMIN" "$K2TOK"; do
	grep -qF -- "${t##*.}" "$TMPD/daemon.log" && leaked=yes
done
expect_eq "no token (not even a signature) appears in the log" "" "$leaked"
expect_match "session creation is audited with its tenant" 'event=audit action=session.create .*tenant=alice' "$(cat "$TMPD/daemon.log")"
expect_match "a file write is audited with its path and size" 'event=audit action=file.write tenant=alice .*path=notes.txt size=18' "$(cat "$TMPD/daemon.log")"
expect_nomatch "... never its content" 'top secret' "$(cat "$TMPD/daemon.log")"
expect_match "exec is audited with argv, exit and duration" 'event=audit action=exec .*tenant=alice.*argv=.*echo.*exit_code=0' "$(cat "$TMPD/daemon.log")"

dpid=$DPID
stop_daemon
expect_eq "SIGTERM: the daemon stops" 1 "$([ -d "/proc/$dpid" ] && echo 0 || echo 1)"
check_sanitizers
