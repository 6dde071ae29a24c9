# shellcheck shell=bash
# Helpers for the integration tests (sourced). Each check prints one line:
#   ok - what          not ok - what          ok - what # SKIP why
# and tests/run.sh counts them.

AJ_TOP=${AJ_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
AJ_BUILD=${AJ_BUILD:-build}
case "$AJ_BUILD" in /*) ;; *) AJ_BUILD="$AJ_TOP/$AJ_BUILD" ;; esac
AJ="$AJ_BUILD/agentjail"
PROBE="$AJ_TOP/build/ajprobe"
export AJ AJ_TOP PROBE

ok() { echo "ok - $*"; }
nok() { echo "not ok - $*"; }
skip() { echo "ok - $1 # SKIP ${2:-}"; }
diag() { printf '# %s\n' "$@"; }

need_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "needs root"
		exit 77
	fi
}

# expect_eq DESC EXPECTED ACTUAL
expect_eq() {
	if [ "$2" == "$3" ]; then ok "$1"; else
		nok "$1"
		diag "expected: $2" "actual:   $3"
	fi
}

# expect_match DESC ERE ACTUAL
expect_match() {
	if [[ "$3" =~ $2 ]]; then ok "$1"; else
		nok "$1"
		diag "expected to match: $2" "actual: $3"
	fi
}

# expect_nomatch DESC ERE ACTUAL
expect_nomatch() {
	if [[ "$3" =~ $2 ]]; then
		nok "$1"
		diag "expected NOT to match: $2" "actual: $3"
	else ok "$1"; fi
}

# aj [OPTIONS] -- CMD...: agentjail, quiet, with the probe at /ajprobe.
aj() {
	"$AJ" -q -R "$PROBE:/ajprobe" "$@"
}

# probe [OPTIONS --] SUBCOMMAND...: run the probe in a default jail.
probe() {
	aj -- /ajprobe "$@"
}

# Wait (up to $2 seconds, default 5) for file $1 to contain a match of $3.
wait_for() {
	local file=$1 secs=${2:-5} re=$3 i
	for ((i = 0; i < secs * 20; i++)); do
		grep -Eq -- "$re" "$file" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# Live processes (pids) running as host uid $1. Zombies are dead: they
# wait only for their parent (possibly the host's init) to reap them.
pids_of_uid() {
	local uid=$1 p
	for p in /proc/[0-9]*; do
		awk -v uid="$uid" '/^State:/ {s=$2} /^Uid:/ {u=$2}
			END {exit !(u == uid && s != "Z")}' "$p/status" 2>/dev/null &&
			echo "${p#/proc/}"
	done
}

# live_after_kill UID: the live processes of UID, allowing SIGKILL up to
# 2 s to be delivered (a generous margin, not a benchmark).
live_after_kill() {
	local left i
	for ((i = 0; i < 40; i++)); do
		left=$(pids_of_uid "$1")
		[ -z "$left" ] && return 0
		sleep 0.05
	done
	echo "$left"
}

# A free TCP port on loopback.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

TMPD=$(mktemp -d /tmp/ajtest.XXXXXX)
chmod 755 "$TMPD"
cleanup_tmp() { rm -rf "$TMPD"; }
trap cleanup_tmp EXIT

if [ ! -x "$AJ" ] || [ ! -x "$PROBE" ]; then
	echo "build first: $AJ and $PROBE are needed"
	exit 1
fi
