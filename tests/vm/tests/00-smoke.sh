#!/usr/bin/env bash
# The VM itself: a pure cgroup v2 host with the controllers the cgroup tests
# need, the modules, and a default jail that works on the initramfs's files.
# shellcheck source=tests/harness/lib.sh
. "$AJ_TOP/tests/harness/lib.sh"
need_root

cg=/sys/fs/cgroup

# The cgroup hierarchy.
expect_eq "/sys/fs/cgroup is a cgroup2 mount" cgroup2 \
	"$(awk '$2 == "/sys/fs/cgroup" { print $3 }' /proc/mounts)"
expect_eq "no cgroup v1 hierarchy is mounted" 0 "$(awk '$3 == "cgroup" { n++ } END { print n + 0 }' /proc/mounts)"
ctrls=" $(cat "$cg/cgroup.controllers" 2>/dev/null) "
for c in cpu memory pids io cpuset; do
	expect_match "the $c controller is available" " $c " "$ctrls"
done
expect_eq "the tests run in the leaf /init.scope" "0::/init.scope" "$(cat /proc/self/cgroup)"
if [ -e "$cg/init.scope/cgroup.kill" ]; then ok "cgroup.kill exists"; else nok "cgroup.kill exists"; fi

# A child cgroup with the controllers enabled: the limits' files appear.
saved=$(cat "$cg/cgroup.subtree_control")
echo "+cpu +memory +pids" >"$cg/cgroup.subtree_control"
mkdir "$cg/ajvm-smoke"
files=$(cd "$cg/ajvm-smoke" && echo memory.max memory.swap.max memory.peak pids.max cpu.max cpu.stat)
expect_eq "a child cgroup has memory.max ... cpu.stat" \
	"memory.max memory.swap.max memory.peak pids.max cpu.max cpu.stat" \
	"$(cd "$cg/ajvm-smoke" && for f in $files; do [ -f "$f" ] && printf '%s ' "$f"; done | sed 's/ $//')"
rmdir "$cg/ajvm-smoke"
for c in cpu memory pids; do
	case " $saved " in *" $c "*) ;; *) echo "-$c" >"$cg/cgroup.subtree_control" ;; esac
done

# Modules.
if [ -d /sys/module/veth ]; then ok "veth is loaded"; else nok "veth is loaded"; fi
expect_match "overlay is a known filesystem" $'\toverlay' "$(cat /proc/filesystems)"

# A default jail on the VM's own /usr, /bin, /lib ...
out=$("$AJ" -q -- /bin/busybox echo hello 2>&1)
expect_eq "a default jail runs /bin/busybox" hello "$out"
"$AJ" -q -- true
expect_eq "a default jail runs 'true' from PATH" 0 "$?"
# shellcheck disable=SC2016 # expanded by the jail's bash
expect_match "bash runs in a jail" '^[0-9]+\.' "$("$AJ" -q -- bash -c 'echo $BASH_VERSION' 2>&1)"
aj -- sh -c 'exit 7'
expect_eq "the command's exit status is agentjail's" 7 "$?"
expect_eq "the probe: uid and gid 1000, no groups" \
	"uid=1000 euid=1000 gid=1000 egid=1000 groups=" "$(probe id 2>&1)"
st=$(probe status 2>&1)
expect_match "the probe: no effective capabilities" $'(^|\n)CapEff: 0000000000000000(\n|$)' "$st"
expect_match "the probe: seccomp filter mode (2)" $'(^|\n)Seccomp: 2(\n|$)' "$st"
expect_match "the probe: no_new_privs" $'(^|\n)NoNewPrivs: 1(\n|$)' "$st"
expect_match "the probe: lo is up" '(^|'$'\n'')lo up' "$(probe ifaces 2>&1)"
expect_nomatch "the jail has a user namespace of its own" \
	"user=$(readlink /proc/self/ns/user)" "$(probe ns 2>&1)"
aj -t 1 -- sleep 10
expect_eq "-t 1: the time-limit status (124)" 124 "$?"
