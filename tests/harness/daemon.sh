# shellcheck shell=bash
# For the integration tests that run an agentjaild of their own (sourced
# after lib.sh). The test writes its configuration (listening on $SOCK),
# then calls start_daemon; the daemon is stopped, and $TMPD removed, at
# exit.
#
#   start_daemon            agentjaild -c $TMPD/agentjaild.json,
#                           stderr appended to $LOG; waits for $SOCK; sets DPID
#   stop_daemon             SIGTERM and wait (nothing if it is not running)
#   api METHOD PATH [curl args...]
#                           a request on $SOCK: the body, then the status on the last line
#   status_of OUT; body_of (stdin); jfield a.b.0 (stdin: JSON; prints the value)
#   check_sanitizers        one check: no ASan/UBSan report in $LOG

AJD="$AJ_BUILD/agentjaild"
[ -x "$AJD" ] || { echo "no $AJD"; exit 1; }
SOCK="$TMPD/api.sock"
LOG="$TMPD/daemon.log"
DPID=""

start_daemon() {
	rm -f "$SOCK"
	"$AJD" -c "$TMPD/agentjaild.json" 2>>"$LOG" &
	DPID=$!
	for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
}
stop_daemon() {
	if [ -n "$DPID" ] && kill -0 "$DPID" 2>/dev/null; then
		kill -TERM "$DPID"
		wait "$DPID"
	fi
	DPID=""
}
trap 'stop_daemon; cleanup_tmp' EXIT

api() {
	local m=$1 p=$2
	shift 2
	curl -s --unix-socket "$SOCK" -X "$m" -w '\n%{http_code}' "$@" "http://localhost$p"
}
status_of() { tail -n 1 <<<"$1"; }
body_of() { sed '$d'; }
jfield() { python3 -c 'import json,sys; v=json.loads(sys.stdin.read())
for k in sys.argv[1].split("."): v = v[int(k)] if isinstance(v, list) else v[k]
print(v if not isinstance(v, (dict, list)) else json.dumps(v))' "$1"; }

check_sanitizers() {
	if grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$LOG"; then
		nok "no sanitizer report in the daemon's log"
		diag "$(grep -E -A20 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$LOG" | head -60)"
	else
		ok "no sanitizer report in the daemon's log"
	fi
}
