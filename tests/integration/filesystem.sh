#!/usr/bin/env bash
# What the jail sees of the filesystem: a read-only root of system
# directories, writable /tmp and /workspace that vanish with the jail,
# nothing of the host's private places, a masked /proc.
# shellcheck source=tests/harness/lib.sh
. "$(dirname "$0")/../harness/lib.sh"
need_root

out=$(aj -- sh -c 'echo x > /usr/x' 2>&1)
rc=$?
if [ "$rc" -ne 0 ] && [[ "$out" =~ Read-only ]]; then ok "writing to /usr fails (read-only)"; else
	nok "writing to /usr fails (read-only)"
	diag "rc=$rc: $out"
fi
expect_eq "the root itself is read-only" EROFS "$(probe write /newfile)"
expect_eq "/etc is read-only" EROFS "$(probe write /etc/passwd)"
expect_eq "/tmp is writable" ok "$(probe write /tmp/f)"
expect_eq "/workspace is writable" ok "$(probe write /workspace/f)"
out=$(aj -- sh -c 'echo hello > /workspace/a && cat /workspace/a && echo t > /tmp/b && cat /tmp/b')
expect_eq "files written to /workspace and /tmp read back" "hello t" "$(tr '\n' ' ' <<<"$out" | sed 's/ $//')"
expect_eq "... and are gone in the next jail" ENOENT "$(probe read /workspace/a)"
expect_eq "the working directory is /workspace" /workspace "$(probe cwd)"
out=$(probe stat /workspace)
expect_match "/workspace belongs to the jail's user" '^ok dir 0?755 1000 1000$' "$out"
out=$(probe stat /tmp)
expect_match "/tmp is sticky and world-writable" '^ok dir 0?1777 ' "$out"
out=$(aj -- sh -c 'head -c 300M /dev/zero > /tmp/big' 2>&1)
expect_match "/tmp is size-limited (writing 300 MiB fails)" 'No space left' "$out"

for p in /home /root /run /sys /boot /work /var/lib; do
	expect_eq "$p is not visible" ENOENT "$(probe stat $p)"
done
mi=$(probe mounts)
expect_nomatch "no host /home, /root, /run or /sys in mountinfo" \
	' /(home|root|run|sys)( |/)' "$(awk '{print " " $5 " "}' <<<"$mi")"

# /proc: masked host-wide entries, read-only kernel tunables.
# Where the host has the entry it must be masked; where the kernel lacks it,
# it is not usable either (ENOENT).
for f in kcore keys timer_list kallsyms sched_debug; do
	if [ -e /proc/$f ]; then
		expect_eq "/proc/$f reads as empty (masked)" "ok 0" "$(probe read /proc/$f)"
	else
		expect_eq "/proc/$f is not usable (this kernel has none)" ENOENT "$(probe read /proc/$f)"
	fi
done
if [ -e /proc/sysrq-trigger ]; then
	expect_match "/proc/sysrq-trigger cannot be written" '^E(ROFS|ACCES)$' \
		"$(probe write /proc/sysrq-trigger)"
	expect_match "... and is a read-only mount" '^ro(,|$)' \
		"$(probe mounts | awk '$5 == "/proc/sysrq-trigger" {print $6}')"
else
	expect_eq "/proc/sysrq-trigger is not usable (this kernel has none)" ENOENT \
		"$(probe write /proc/sysrq-trigger)"
fi
expect_match "/proc/sys is read-only" '^E(ROFS|ACCES)$' "$(probe write /proc/sys/kernel/hostname)"
if [ -e /proc/acpi ]; then
	expect_eq "/proc/acpi is an empty directory" "" "$(probe ls /proc/acpi)"
else
	skip "/proc/acpi is an empty directory" "the host has no /proc/acpi"
fi

# A pid namespace of its own: only the jail's processes.
out=$(probe pids)
expect_eq "/proc shows only the jail's processes (PID 1 and the probe)" "1 2" "$out"
if command -v ps >/dev/null; then
	out=$(aj -- ps -e -o pid= | tr -d ' ' | tr '\n' ' ')
	expect_eq "ps inside shows only the jail" "1 2 " "$out"
fi

# /dev: the harmless devices only.
out=$(probe ls /dev | tr '\n' ' ')
expect_eq "/dev holds only the minimal set" "fd full null random shm stderr stdin stdout urandom zero " "$out"
expect_eq "/dev/null is writable" ok "$(probe write /dev/null)"
expect_match "/dev cannot be added to" '^E(ROFS|ACCES)$' "$(probe write /dev/newdev)"

# The profile's mounts: ro and rw binds, tmpfs, symlinks.
mkdir -p "$TMPD/ro" "$TMPD/rw"
echo data >"$TMPD/ro/file"
chmod 777 "$TMPD/rw"
out=$(aj -R "$TMPD/ro:/data" -- /ajprobe read /data/file)
expect_eq "-R binds read-only: readable" "ok 5" "$out"
expect_eq "-R binds read-only: not writable" EROFS "$(aj -R "$TMPD/ro:/data" -- /ajprobe write /data/new)"
aj -B "$TMPD/rw:/out" -- sh -c 'echo result > /out/r'
expect_eq "-B binds read-write: the host sees the file" result "$(cat "$TMPD/rw/r" 2>/dev/null)"
expect_eq "-T mounts a writable tmpfs" ok "$(aj -T /scratch -- /ajprobe write /scratch/x)"
expect_eq "-s makes a symlink" "/usr/bin/python3" "$(aj -s /usr/bin/python3:/opt/py -- readlink /opt/py)"

# --chroot: a rootfs directory's entries form the root.
mkdir -p "$TMPD/rootfs/etc" "$TMPD/rootfs/usr" "$TMPD/rootfs/bin"
echo "chrooted" >"$TMPD/rootfs/etc/marker"
cp "$PROBE" "$TMPD/rootfs/bin/ajprobe"
out=$("$AJ" -q -c "$TMPD/rootfs" -- /bin/ajprobe read /etc/marker)
expect_eq "--chroot: the rootfs's files are the jail's" "ok 9" "$out"
expect_eq "--chroot: the host's /usr/bin is not there" ENOENT "$("$AJ" -q -c "$TMPD/rootfs" -- /bin/ajprobe stat /usr/bin/python3)"
expect_eq "--chroot: read-only" EROFS "$("$AJ" -q -c "$TMPD/rootfs" -- /bin/ajprobe write /etc/x)"

# Nothing of the jail is left on the host.
left=$(grep -c agentjail /proc/self/mountinfo)
expect_eq "no mount of agentjail's is left in the host's mount table" 0 "$left"

# A host directory as the workspace (and /tmp), named by the profile.
mkdir -p "$TMPD/ws" "$TMPD/tmpdir"
chmod 777 "$TMPD/ws" "$TMPD/tmpdir"
cat >"$TMPD/hostdir.json" <<JSON
{"format": 1, "workspace": {"host_dir": "$TMPD/ws"}, "tmp": {"host_dir": "$TMPD/tmpdir"}}
JSON
aj --profile "$TMPD/hostdir.json" -- sh -c 'echo kept > /workspace/out; echo t > /tmp/t'
expect_eq "workspace.host_dir: what the jail writes stays on the host" kept "$(cat "$TMPD/ws/out" 2>/dev/null)"
expect_eq "tmp.host_dir: likewise for /tmp" t "$(cat "$TMPD/tmpdir/t" 2>/dev/null)"
expect_eq "... owned by the jail's host uid, not root" 1 \
	"$(stat -c %u "$TMPD/ws/out" | awk '{print ($1 >= 1000000)}')"
