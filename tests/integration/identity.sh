#!/usr/bin/env bash
# Who the command is: an unprivileged uid/gid, no groups, no capabilities,
# no_new_privs, a seccomp filter, and a host uid of the jail's own.
# shellcheck source=tests/harness/lib.sh
. "$(dirname "$0")/../harness/lib.sh"
need_root

out=$(aj -- id)
expect_match "id: non-root uid and gid, no supplementary groups" \
	'^uid=1000\(jail\) gid=1000\(jail\) groups=1000\(jail\)$' "$out"

out=$(probe id)
expect_eq "probe id: uid/gid 1000, getgroups() empty" "uid=1000 euid=1000 gid=1000 egid=1000 groups=" "$out"

status=$(aj -- cat /proc/self/status)
expect_match "CapEff is all zero" $'CapEff:\t0000000000000000' "$status"
expect_match "CapBnd is all zero" $'CapBnd:\t0000000000000000' "$status"
expect_match "CapPrm, CapInh, CapAmb are all zero" \
	$'CapInh:\t0000000000000000.*CapPrm:\t0000000000000000.*CapAmb:\t0000000000000000' \
	"$(tr '\n' ' ' <<<"$status")"
expect_match "NoNewPrivs is 1" $'NoNewPrivs:\t1' "$status"
expect_match "Seccomp is 2 (filter)" $'Seccomp:\t2' "$status"
expect_match "Groups is empty" $'Groups:\t *\n' "$status"

out=$(aj -u 2000 -g 3000 -- /ajprobe id)
expect_eq "-u/-g set the ids inside" "uid=2000 euid=2000 gid=3000 egid=3000 groups=" "$out"

# Namespaces differ from the host's.
host_ns=$(for n in user pid mnt net ipc uts cgroup; do echo "$n=$(readlink /proc/self/ns/$n)"; done)
jail_ns=$(probe ns)
for n in user pid mnt net ipc uts cgroup; do
	h=$(grep "^$n=" <<<"$host_ns")
	j=$(grep "^$n=" <<<"$jail_ns")
	if [ -n "$j" ] && [ "$h" != "$j" ]; then ok "$n namespace differs from the host's"; else
		nok "$n namespace differs from the host's"
		diag "host: $h" "jail: $j"
	fi
done
j=$(aj --disable_clone_newipc -- /ajprobe ns | grep '^ipc=')
expect_eq "--disable_clone_newipc keeps the host's ipc namespace" "$(grep '^ipc=' <<<"$host_ns")" "$j"

# Two concurrent jails run under different host uids, seen from the host.
"$AJ" -v -- sleep 3 2>"$TMPD/a.err" &
pa=$!
"$AJ" -v -- sleep 3 2>"$TMPD/b.err" &
pb=$!
uids=()
for f in a b; do
	if wait_for "$TMPD/$f.err" 5 'jail pid [0-9]+'; then
		jp=$(grep -Eo 'jail pid [0-9]+' "$TMPD/$f.err" | grep -Eo '[0-9]+')
		uids+=("$(awk '/^Uid:/ {print $2}' "/proc/$jp/status")")
	fi
done
wait "$pa" "$pb"
if [ "${#uids[@]}" = 2 ] && [ -n "${uids[0]}" ] && [ "${uids[0]}" != "${uids[1]}" ] &&
	[ "${uids[0]}" -ge 1000000 ] && [ "${uids[1]}" -ge 1000000 ]; then
	ok "two concurrent jails run as different host uids (${uids[*]})"
else
	nok "two concurrent jails run as different host uids"
	diag "host uids seen: ${uids[*]}" "$(cat "$TMPD/a.err" "$TMPD/b.err")"
fi

# An explicitly requested host uid is exclusive too.
"$AJ" -q -u 1000:1999990 -- sleep 2 &
p1=$!
sleep 0.5
err=$("$AJ" -q -u 1000:1999990 -- true 2>&1)
rc=$?
wait "$p1"
expect_eq "a host uid in use by another jail is refused (255)" 255 "$rc"
expect_match "... with a message saying so" 'host uid 1999990 is in use by another jail' "$err"

# Without a user namespace the command runs as the host uid itself.
out=$("$AJ" -q --disable_clone_newuser -R "$PROBE:/ajprobe" -- /ajprobe id)
expect_match "--disable_clone_newuser: the command runs as an allocated host uid" \
	'^uid=1[0-9]{6} euid=1[0-9]{6} gid=1[0-9]{6} egid=1[0-9]{6} groups=$' "$out"
status=$("$AJ" -q --disable_clone_newuser -- cat /proc/self/status)
expect_match "--disable_clone_newuser: still no capabilities" $'CapEff:\t0000000000000000' "$status"
expect_match "--disable_clone_newuser: bounding set empty" $'CapBnd:\t0000000000000000' "$status"
