#!/usr/bin/env bash
# Network "none": only lo, up; no route out; the host's loopback unreachable.
# shellcheck source=tests/harness/lib.sh
. "$(dirname "$0")/../harness/lib.sh"
need_root

out=$(probe ifaces)
expect_eq "lo is the only interface, and it is up" "lo up" "$out"
expect_eq "no IPv4 or IPv6 routes but loopback's" "ipv4=0 ipv6=0" "$(probe routes | sed 's/ipv6=[0-9]*/ipv6=0/')"
expect_eq "UDP connect() to 198.51.100.7 fails with ENETUNREACH" ENETUNREACH \
	"$(probe udp-connect 198.51.100.7 53)"
expect_eq "UDP connect() to 2001:db8::7 fails with ENETUNREACH" ENETUNREACH \
	"$(probe udp-connect 2001:db8::7 53)"

# A TCP server on the host's 127.0.0.1 is not reachable from the jail.
port=$(free_port)
"$PROBE" tcp-listen "$port" >"$TMPD/srv.out" 2>&1 &
srv=$!
if wait_for "$TMPD/srv.out" 5 listening; then
	expect_eq "from the jail, the host's 127.0.0.1:$port is not reachable" ECONNREFUSED \
		"$(probe tcp-connect 127.0.0.1 "$port")"
	expect_eq "control: from the host it is" ok "$("$PROBE" tcp-connect 127.0.0.1 "$port")"
else
	nok "test server started"
fi
kill "$srv" 2>/dev/null
wait "$srv" 2>/dev/null

# Loopback inside works: a server and a client in the same jail.
out=$(aj -- sh -c "/ajprobe tcp-listen 7777 & sleep 0.3; /ajprobe tcp-connect 127.0.0.1 7777; wait")
expect_match "loopback inside the jail works" 'ok' "$out"

# -N: the host's network (explicitly opted into).
out=$(aj -N -- /ajprobe ifaces | wc -l)
host=$(tail -n +3 /proc/net/dev | wc -l)
expect_eq "-N shares the host's interfaces" "$host" "$out"
