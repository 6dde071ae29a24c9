#!/usr/bin/env bash
# make bench: agentjaild and the one-shot CLI, measured in one run, printed
# as one markdown table on stdout (progress and notes on stderr).
#
# Builds nothing itself (make bench does). Needs root, like agentjaild.
# Starts one agentjaild of its own, on a unix socket and on TCP 127.0.0.1
# (insecure_no_auth, loopback only), with two profiles copied from the
# default one: "cold" (no pool) and "warm" (a warm pool of 8; profile
# format 2). Then the cold one-shot CLI against bwrap and the fork + exec
# floor.
#
# Environment: AJ_BUILD (where agentjail and agentjaild are; default build),
# AJ_WORKER (default build/agentjail-worker), AJ_BENCH_QUICK=1 for a smoke
# run, AJ_BENCH_SPAWN_N (default 200) runs per one-shot command.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${AJ_BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$TOP/$BUILD" ;; esac
AJD="$BUILD/agentjaild"
AJ="$BUILD/agentjail"
AJB="$TOP/build/ajbench"
WORKER=${AJ_WORKER:-$TOP/build/agentjail-worker}
POOL_SIZE=8
SPAWN_N=${AJ_BENCH_SPAWN_N:-200}
QUICK=()
if [ "${AJ_BENCH_QUICK:-0}" = 1 ]; then
	QUICK=(--quick)
	SPAWN_N=20
fi

say() { printf 'bench: %s\n' "$*" >&2; }

if [ "$(id -u)" != 0 ]; then
	say "needs root (agentjaild and the jails): not run"
	exit 77
fi
for f in "$AJD" "$AJ" "$AJB" "$WORKER"; do
	[ -x "$f" ] || { say "missing $f: run make bench"; exit 1; }
done

TMPD=$(mktemp -d /tmp/ajbench.XXXXXX)
DPID=""
DTREE=""

# Every process below pid $1 (children first found, then theirs).
descendants() {
	local todo=("$1") found=() kids=() p
	while [ ${#todo[@]} -gt 0 ]; do
		p=${todo[0]}
		todo=("${todo[@]:1}")
		read -r -a kids <<<"$(cat "/proc/$p/task/"*/children 2>/dev/null)"
		found+=("${kids[@]}")
		todo+=("${kids[@]}")
	done
	echo "${found[*]}"
}

stop_daemon() {
	local left=() p
	[ -n "$DPID" ] || return 0
	if kill -0 "$DPID" 2>/dev/null; then
		DTREE=$(descendants "$DPID")
		kill -TERM "$DPID"
		wait "$DPID" || say "agentjaild exited with status $?"
	fi
	# Anything of the daemon's tree still there is ours to end, by pid.
	for p in $DTREE; do
		kill -0 "$p" 2>/dev/null && left+=("$p")
	done
	if [ ${#left[@]} -gt 0 ]; then
		say "left behind after SIGTERM: ${left[*]}: killing them"
		kill -KILL "${left[@]}" 2>/dev/null || true
	fi
	DPID=""
}

cleanup() {
	stop_daemon
	rm -rf "$TMPD"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- profiles and configuration ---------------------------------------------
mkdir -p "$TMPD/profiles"
# The built-in default profile, renamed; "warm" also gets a pool.
sed 's/"name": "default"/"name": "cold"/' "$TOP/profiles/default.json" >"$TMPD/profiles/cold.json"
sed -e 's/"name": "default"/"name": "warm"/' \
	-e "s/^\\t\"format\": 1,\$/\\t\"format\": 2,\\n\\t\"pool\": {\"size\": $POOL_SIZE},/" \
	"$TOP/profiles/default.json" >"$TMPD/profiles/warm.json"
grep -q '"pool"' "$TMPD/profiles/warm.json" || { say "could not add the pool to warm.json"; exit 1; }

SOCK="$TMPD/api.sock"
PORT=$("$AJB" freeport)
write_config() {
	cat >"$TMPD/agentjaild.json" <<JSON
{"format": 1, "listen": ["unix:$SOCK", "127.0.0.1:$PORT"], "insecure_no_auth": true,
 "profiles_dir": "$TMPD/profiles", "worker": "$WORKER",
 "limits": {"max_sessions": 200}}
JSON
}
write_config

POOL_NOTE="warm pool: profile \"warm\" has \"pool\": {\"size\": $POOL_SIZE}"
if ! out=$("$AJD" -n -c "$TMPD/agentjaild.json" 2>&1); then
	say "agentjaild -n: $out"
	exit 1
fi

# How busy the machine is without us: CPU time used during one second
# (from /proc/stat, all CPUs) and the other agentjaild processes.
busy_pct() {
	local a b
	read -r -a a < <(head -n 1 /proc/stat)
	sleep 1
	read -r -a b < <(head -n 1 /proc/stat)
	# cpu user nice system idle iowait irq softirq steal
	local busy=$((b[1] + b[2] + b[3] + b[6] + b[7] + b[8] - a[1] - a[2] - a[3] - a[6] - a[7] - a[8]))
	local idle=$((b[4] + b[5] - a[4] - a[5]))
	echo $((100 * busy / (busy + idle + 1)))
}
BUSY=$(busy_pct)
OTHERS=$(pgrep -c -x agentjaild || true)
QUIET="Before the run: ${BUSY}% of the CPUs busy, ${OTHERS} other agentjaild process(es) running"
if [ "$BUSY" -gt 10 ] || [ "$OTHERS" -gt 0 ]; then
	QUIET="$QUIET: **the machine was not quiet, the numbers are disturbed**"
	say "warning: ${BUSY}% CPU busy, $OTHERS other agentjaild process(es): numbers will be disturbed"
fi

# --- the daemon ------------------------------------------------------------
say "starting agentjaild on $SOCK and 127.0.0.1:$PORT"
"$AJD" -c "$TMPD/agentjaild.json" 2>"$TMPD/daemon.log" &
DPID=$!
for _ in $(seq 200); do [ -S "$SOCK" ] && break; sleep 0.05; done
[ -S "$SOCK" ] || { say "agentjaild did not start:"; cat "$TMPD/daemon.log" >&2; exit 1; }

{
	echo "Machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)," \
		"Linux $(uname -r), Debian $(cat /etc/debian_version 2>/dev/null || echo '?'), $(date -u +%Y-%m-%dT%H:%MZ)."
	echo "$POOL_NOTE."
	echo "$QUIET."
	echo
	"$AJB" header
} >"$TMPD/table.md"

rc=0
say "HTTP over the unix socket"
"$AJB" http --unix "$SOCK" --via "unix" --warm warm --cold cold --pool-size "$POOL_SIZE" \
	--daemon-pid "$DPID" "${QUICK[@]}" >>"$TMPD/table.md" || rc=1
say "HTTP over TCP 127.0.0.1:$PORT"
"$AJB" http --tcp "127.0.0.1:$PORT" --via "TCP" --warm warm --cold cold --pool-size "$POOL_SIZE" \
	--daemon-pid "$DPID" "${QUICK[@]}" >>"$TMPD/table.md" || rc=1

if grep -q 'level=error' "$TMPD/daemon.log"; then
	say "the daemon logged errors:"
	grep 'level=error' "$TMPD/daemon.log" | head -n 20 >&2
fi
stop_daemon
say "agentjaild stopped"

# --- cold one-shot processes -------------------------------------------------
BWRAP=(bwrap --unshare-all --die-with-parent --ro-bind /usr /usr --symlink usr/bin /bin
	--symlink usr/lib /lib --symlink usr/lib64 /lib64 --proc /proc --dev /dev /bin/true)
SPAWN=(@floor /bin/true @agentjail "$AJ" -q -- /bin/true)
RATIOS=(--ratio agentjail:floor)
BWRAP_SKIP=""
if ! command -v bwrap >/dev/null; then
	BWRAP_SKIP="bubblewrap is not installed (make deps installs it)"
elif ! err=$("${BWRAP[@]}" 2>&1); then
	BWRAP_SKIP="bwrap does not run here: ${err//|/\\|}"
else
	SPAWN+=(@bwrap "${BWRAP[@]}")
	RATIOS+=(--ratio agentjail:bwrap --ratio bwrap:floor)
fi
say "one-shot processes, $SPAWN_N runs each, interleaved"
"$AJB" spawn -n "$SPAWN_N" -w 10 "${RATIOS[@]}" "${SPAWN[@]}" >>"$TMPD/table.md" || rc=1
if [ -n "$BWRAP_SKIP" ]; then
	say "bwrap skipped: $BWRAP_SKIP"
	echo "| cold one-shot \`bwrap\` | process | 0 | – | – | – | – | **skipped**: $BWRAP_SKIP | – |" >>"$TMPD/table.md"
fi

cat "$TMPD/table.md"
trap - EXIT
cleanup
exit "$rc"
