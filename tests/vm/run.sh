#!/usr/bin/env bash
# The VM tier: boot Debian's cloud kernel under qemu (TCG) with an initramfs
# holding busybox, bash, the built binaries and their shared libraries, the
# probe, the test harness and tests/vm/tests/, and run those tests on a pure
# cgroup v2 host. Their "ok - ..." / "not ok - ..." lines come back over the
# serial console and are printed here, for tests/run.sh to count.
#
# Usage: tests/vm/run.sh [TEST...]   (TEST: a name in tests/vm/tests/,
#                                     with or without .sh; default: all)
#
# Exit status: 0 when every test passed; 77 (skipped) only when
# qemu-system-x86_64 is missing and cannot be installed; 1 on any failure,
# including a kernel that cannot be had, a VM that does not finish or a
# test that does not report.
#
# Environment:
#   AJ_BUILD            where agentjail is (default build; the probe is
#                       always build/ajprobe)
#   AJ_VM_DIR           the cache and work directory (default build/vm)
#   AJ_VM_TIMEOUT       seconds for the whole VM run (default 600)
#   AJ_VM_TEST_TIMEOUT  seconds for each test inside the VM (default 300)
#   AJ_VM_MEM, AJ_VM_CPUS   memory (MiB, default 1536) and CPUs (default 2)
#   AJ_VM_KVM=1         use KVM instead of TCG (hangs on the development
#                       machines: only when asked for)
#   AJ_VM_REFRESH=1     download the kernel again
#   AJ_VM_MODULES       the kernel modules to include (default
#                       "veth overlay macvlan"), with their dependencies
#   AJ_VM_CONSOLE=1     also print the whole console log
set -u -o pipefail
cd "$(dirname "$0")/../.." || exit 2
top=$PWD
build=${AJ_BUILD:-build}
case "$build" in /*) ;; *) build="$top/$build" ;; esac
vm=${AJ_VM_DIR:-$top/build/vm}
case "$vm" in /*) ;; *) vm="$top/$vm" ;; esac
vm_timeout=${AJ_VM_TIMEOUT:-600}
test_timeout=${AJ_VM_TEST_TIMEOUT:-300}
modules_wanted=${AJ_VM_MODULES:-veth overlay macvlan}
t_start=$SECONDS

say() { printf '# %s\n' "$*"; }
die() {
	echo "not ok - $*"
	exit 1
}
rel() { echo "${1#"$top"/}"; }

mkdir -p "$vm" || die "cannot create $vm"
# One VM run at a time per cache directory.
exec 9>"$vm/.lock"
flock 9

# --- Tools ------------------------------------------------------------------

apt_install() {
	[ "$(id -u)" = 0 ] || return 1
	say "installing $*"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y --no-install-recommends "$@" >>"$vm/apt.log" 2>&1 ||
		{ apt-get update >>"$vm/apt.log" 2>&1 &&
			apt-get install -y --no-install-recommends "$@" >>"$vm/apt.log" 2>&1; }
}

: >"$vm/apt.log"
if ! command -v qemu-system-x86_64 >/dev/null; then
	apt_install qemu-system-x86
	if ! command -v qemu-system-x86_64 >/dev/null; then
		echo "qemu-system-x86_64 is not installed and could not be installed" \
			"(apt-get install qemu-system-x86): VM tier skipped"
		exit 77
	fi
fi
if ! command -v busybox >/dev/null; then
	apt_install busybox-static
	command -v busybox >/dev/null ||
		die "busybox is not installed and could not be installed (apt-get install busybox-static; see $(rel "$vm")/apt.log)"
fi
busybox=$(readlink -f "$(command -v busybox)")

[ -x "$build/agentjail" ] || die "$(rel "$build")/agentjail is missing: run make first"
[ -x "$top/build/ajprobe" ] || die "build/ajprobe is missing: run make first"

# --- Tests to run -----------------------------------------------------------

tests=()
if [ $# -eq 0 ]; then
	for t in tests/vm/tests/*.sh; do
		[ -f "$t" ] && tests+=("$(basename "$t" .sh)")
	done
else
	for t in "$@"; do
		t=$(basename "$t" .sh)
		[ -f "tests/vm/tests/$t.sh" ] || die "no such VM test: tests/vm/tests/$t.sh"
		tests+=("$t")
	done
fi
[ "${#tests[@]}" -gt 0 ] || die "no VM test in tests/vm/tests/"

# --- The kernel -------------------------------------------------------------
# linux-image-cloud-amd64 is a metapackage; its Depends names the versioned
# image package. Both .debs are kept in $vm; the image is extracted into
# $vm/kernel (never installed).

kdir=$vm/kernel
find_kernel() {
	local f
	vmlinuz="" kver=""
	for f in "$kdir"/boot/vmlinuz-*; do
		[ -f "$f" ] || continue
		vmlinuz=$f
		kver=${f##*/vmlinuz-}
	done
	[ -n "$vmlinuz" ] && [ -d "$kdir/lib/modules/$kver" ]
}

apt_download() { # DIR PACKAGE...
	local dir=$1
	shift
	(cd "$dir" && apt-get download "$@") >>"$vm/apt.log" 2>&1 && return 0
	[ "$(id -u)" = 0 ] || return 1
	apt-get update >>"$vm/apt.log" 2>&1 &&
		(cd "$dir" && apt-get download "$@") >>"$vm/apt.log" 2>&1
}

fetch_kernel() {
	local dl meta dep pkg ver deb
	# apt drops root for downloads (user _apt): give it a directory it can
	# write, outside the work tree.
	dl=$(mktemp -d "${TMPDIR:-/tmp}/ajvm-apt.XXXXXX") || return 1
	chmod 0777 "$dl"
	apt_download "$dl" linux-image-cloud-amd64 || {
		rm -rf "$dl"
		echo "apt-get download linux-image-cloud-amd64 failed"
		return 1
	}
	meta=$(echo "$dl"/linux-image-cloud-amd64_*.deb)
	dep=$(dpkg-deb -f "$meta" Depends)
	# "linux-image-6.1.0-NN-cloud-amd64 (= 6.1.xxx-y)"
	pkg=${dep%%[ ,]*}
	ver=$(sed -n 's/^[^,]*(= *\([^)]*\)).*/\1/p' <<<"$dep")
	case "$pkg" in linux-image-*-cloud-amd64) ;; *)
		rm -rf "$dl"
		echo "unexpected Depends of linux-image-cloud-amd64: $dep"
		return 1
		;;
	esac
	apt_download "$dl" "$pkg${ver:+=$ver}" || {
		rm -rf "$dl"
		echo "apt-get download $pkg${ver:+=$ver} failed"
		return 1
	}
	deb=$(echo "$dl/${pkg}"_*.deb)
	rm -f "$vm"/linux-image-*.deb
	mv "$meta" "$deb" "$vm/" && rm -rf "$dl" || return 1
	extract_kernel "$vm/${deb##*/}"
}

extract_kernel() {
	rm -rf "$kdir" "$kdir.new"
	dpkg-deb -x "$1" "$kdir.new" && mv "$kdir.new" "$kdir"
}

t0=$SECONDS
kernel_how=cached
if [ -n "${AJ_VM_REFRESH:-}" ] || ! find_kernel; then
	kernel_how=extracted
	deb=""
	for f in "$vm"/linux-image-[0-9]*-cloud-amd64_*.deb; do [ -f "$f" ] && deb=$f; done
	if [ -n "${AJ_VM_REFRESH:-}" ] || [ -z "$deb" ] || ! extract_kernel "$deb" || ! find_kernel; then
		kernel_how=downloaded
		msg=$(fetch_kernel) || die "could not get the kernel: $msg (see $(rel "$vm")/apt.log)"
		find_kernel || die "no kernel in $(rel "$kdir") after extracting the package"
	fi
fi
say "kernel $kver ($kernel_how, $((SECONDS - t0)) s)"

# --- The initramfs ------------------------------------------------------------

t0=$SECONDS
root=$vm/initramfs
rm -rf "$root"
mkdir -p "$root/usr/bin" "$root/usr/sbin" "$root/usr/lib" "$root/usr/lib64" || die "cannot create $root"
# The host's layout of /bin, /sbin, /lib, /lib64 (symlinks into /usr on a
# merged-/usr system), so that ldd's paths are valid in the VM and the
# jail's default root (binds of /usr, /bin, ...) finds the same files.
for d in bin sbin lib lib64; do
	if [ -L "/$d" ]; then
		t=$(readlink "/$d")
		ln -s "${t#/}" "$root/$d"
	else
		mkdir -p "$root/$d"
	fi
done
for d in etc proc sys dev tmp run root aj/build aj/vm aj/tests; do mkdir -p "$root/$d"; done
chmod 1777 "$root/tmp"
chmod 0700 "$root/root"

copy_file() { # SRC [DST]
	local dst=$root${2:-$1}
	mkdir -p "$(dirname "$dst")" && cp -L "$1" "$dst"
}

# An executable and the shared libraries ldd names, at the host's paths.
copy_elf() { # SRC [DST]
	local lib out
	copy_file "$1" "${2:-$1}" || return 1
	out=$(ldd "$1" 2>&1) || return 0 # static: "not a dynamic executable"
	if grep -q 'not found' <<<"$out"; then
		echo "ldd $1: $(grep 'not found' <<<"$out" | tr -s ' \t' ' ')"
		return 1
	fi
	while IFS= read -r lib; do
		[ -e "$root$lib" ] || copy_file "$lib" || return 1
	done < <(awk '$2 == "=>" && $3 ~ /^\// { print $3; next } $1 ~ /^\// { print $1 }' <<<"$out")
}

msg=$(copy_elf "$busybox" /bin/busybox) || die "copy busybox: $msg"
msg=$(copy_elf "$(readlink -f "$(command -v bash)")" /bin/bash) || die "copy bash: $msg"
# The programs of $AJ_BUILD (agentjail, and whatever joins it there) and the
# probe, all in /aj/build.
for f in "$build"/*; do
	if [ ! -f "$f" ] || [ ! -x "$f" ]; then continue; fi
	msg=$(copy_elf "$f" "/aj/build/${f##*/}") || die "copy ${f##*/}: $msg"
done
msg=$(copy_elf "$top/build/ajprobe" /aj/build/ajprobe) || die "copy ajprobe: $msg"
# The session worker is, like the probe, always built in build/.
if [ ! -e "$build/agentjail-worker" ] && [ -x "$top/build/agentjail-worker" ]; then
	msg=$(copy_elf "$top/build/agentjail-worker" /aj/build/agentjail-worker) ||
		die "copy agentjail-worker: $msg"
fi
# busybox's applets, where nothing else is.
while IFS= read -r a; do
	case "$a" in bin/* | sbin/* | usr/bin/* | usr/sbin/*) ;; *) continue ;; esac
	[ -e "$root/$a" ] || [ -L "$root/$a" ] || ln -s /bin/busybox "$root/$a"
done < <("$busybox" --list-full)

if ! cp -R tests/harness tests/data tests/vm "$root/aj/tests/" || ! cp -R profiles "$root/aj/" ||
	! install -m 0755 tests/vm/init "$root/init"; then
	die "cannot copy the tests into $(rel "$root")"
fi
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"
# The kernel opens /dev/console for init only if the archive has it (init
# reopens it from devtmpfs when it is missing: mknod needs root).
mknod -m 0600 "$root/dev/console" c 5 1 2>/dev/null || true
# Variables passed on to the tests.
for v in AJ_ASAN AJ_VERBOSE ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
	[ -n "${!v:-}" ] && printf '%s=%s\n' "$v" "${!v}"
done >"$root/aj/vm/env"

# Kernel modules, with what they depend on (the .modinfo "depends=" field),
# listed in load order for init's insmod.
mdir=$kdir/lib/modules/$kver
declare -A mod_path=() mod_done=()
while IFS= read -r f; do
	n=${f##*/}
	n=${n%%.ko*}
	mod_path[${n//-/_}]=$f
done < <(find "$mdir/kernel" -name '*.ko*')
mod_list=()
mod_missing=()
add_module() {
	local n=${1//-/_} f dep deps
	[ -n "${mod_done[$n]:-}" ] && return 0
	mod_done[$n]=1
	f=${mod_path[$n]:-}
	if [ -z "$f" ]; then
		if grep -Eq "/${n//_/[-_]}\.ko" "$mdir/modules.builtin" 2>/dev/null; then
			say "module $n is built in"
		else
			mod_missing+=("$n")
		fi
		return 0
	fi
	local rel_f=${f#"$mdir"/} out=$root/lib/modules/$kver/${f#"$mdir"/}
	mkdir -p "$(dirname "$out")"
	case "$f" in
	*.ko) cp "$f" "$out" ;;
	*.ko.xz) xz -dc "$f" >"${out%.xz}" && rel_f=${rel_f%.xz} ;;
	*.ko.zst) zstd -qdc "$f" >"${out%.zst}" && rel_f=${rel_f%.zst} ;;
	*.ko.gz) gzip -dc "$f" >"${out%.gz}" && rel_f=${rel_f%.gz} ;;
	esac || {
		mod_missing+=("$n (cannot decompress ${f##*/})")
		return 0
	}
	deps=$(tr '\0' '\n' <"$root/lib/modules/$kver/$rel_f" | sed -n 's/^depends=//p' | head -1)
	for dep in ${deps//,/ }; do add_module "$dep"; done
	mod_list+=("$rel_f")
}
for m in $modules_wanted; do add_module "$m"; done
printf '%s\n' "${mod_list[@]}" >"$root/aj/vm/modules.list"
cp "$mdir"/modules.builtin "$mdir"/modules.order "$root/lib/modules/$kver/" 2>/dev/null
"$busybox" depmod -b "$root" "$kver" 2>/dev/null || true
[ "${#mod_missing[@]}" -eq 0 ] || say "modules not in this kernel: ${mod_missing[*]}"

chmod -R go-w,go+rX "$root/aj" "$root/usr" "$root/etc"
initrd=$vm/initramfs.cpio.gz
if ! (cd "$root" && find . | LC_ALL=C sort | "$busybox" cpio -o -H newc -R 0:0 2>/dev/null) |
	gzip -1 >"$initrd.new" || ! mv "$initrd.new" "$initrd"; then
	die "cannot write $(rel "$initrd")"
fi
say "initramfs: $(($(stat -c %s "$initrd") / 1024)) KiB, modules: ${mod_list[*]:-none} ($((SECONDS - t0)) s)"

# --- Boot ---------------------------------------------------------------------

# -cpu max gives the TCG guest RDRAND, which Debian's kernel trusts to seed
# its CRNG at once: without it the CRNG is ready only seconds into the tests,
# and the first reads of /dev/urandom (jansson seeds its hash tables from it)
# can stall. random.trust_cpu=on says so explicitly.
accel=(-accel tcg -cpu max)
[ "${AJ_VM_KVM:-}" = 1 ] && accel=(-accel kvm -cpu host)
names=$(
	IFS=,
	echo "${tests[*]}"
)
append="console=ttyS0 panic=-1 quiet random.trust_cpu=on cgroup_no_v1=all ajtimeout=$test_timeout ajtests=$names"
log=$vm/console.log
rm -f "$log" "$vm/serial.raw"
t0=$SECONDS
timeout -k 10 "$vm_timeout" qemu-system-x86_64 "${accel[@]}" -m "${AJ_VM_MEM:-1536}" \
	-smp "${AJ_VM_CPUS:-2}" -nodefaults -no-user-config -no-reboot -display none \
	-monitor none -serial "file:$vm/serial.raw" \
	-kernel "$vmlinuz" -initrd "$initrd" -append "$append" \
	</dev/null >"$vm/qemu.log" 2>&1
qrc=$?
tr -d '\r' <"$vm/serial.raw" >"$log" 2>/dev/null
rm -f "$vm/serial.raw"
say "VM ran $((SECONDS - t0)) s (qemu exit status $qrc; total $((SECONDS - t_start)) s)"
[ -n "${AJ_VM_CONSOLE:-}" ] && sed 's/^/# console: /' "$log"

# --- Results ------------------------------------------------------------------

failed=0
declare -A began=()
cur="" np=0 nf=0 ns=0 last="" timed_out="" finished=0
report_end() { # NAME STATUS
	local name=$1 rc=$2
	if [ -n "$timed_out" ]; then
		echo "not ok - vm/$name was killed at the time limit ($timed_out s)"
		failed=1
	elif [ "$rc" = 77 ] && [ $((np + nf + ns)) -eq 0 ]; then
		echo "ok - vm/$name # SKIP ${last:-exit status 77}"
	elif [ "$rc" != 0 ] && [ "$nf" -eq 0 ]; then
		echo "not ok - vm/$name exited with status $rc"
		failed=1
	elif [ "$rc" = 0 ] && [ $((np + nf + ns)) -eq 0 ]; then
		echo "not ok - vm/$name reported no test"
		failed=1
	fi
}
while IFS= read -r line; do
	case "$line" in
	*AJVM-BEGIN\ *)
		cur=${line#*AJVM-BEGIN }
		began[$cur]=1
		np=0 nf=0 ns=0 last="" timed_out=""
		say "vm/$cur"
		continue
		;;
	*AJVM-END\ *)
		pre=${line%%AJVM-END *}
		[ -n "$cur" ] && [ -n "$pre" ] && echo "$pre"
		rest=${line#*AJVM-END }
		report_end "${rest% *}" "${rest##* }"
		cur=""
		continue
		;;
	AJVM-TIMEOUT\ *)
		timed_out=${line##* }
		continue
		;;
	AJVM-DONE)
		finished=1
		break
		;;
	AJVM-NOTE\ * | AJVM-START\ * | AJVM-FATAL\ *)
		say "${line#AJVM-}"
		continue
		;;
	esac
	[ -n "$cur" ] || continue
	case "$line" in
	"not ok - "*) line="not ok - vm/$cur: ${line#not ok - }" ;;
	esac
	echo "$line"
	case "$line" in
	"not ok"*) nf=$((nf + 1)) failed=1 ;;
	"ok "*"# SKIP"*) ns=$((ns + 1)) ;;
	"ok "*) np=$((np + 1)) ;;
	esac
	last=$line
done <"$log"
if [ -n "$cur" ]; then
	echo "not ok - vm/$cur did not finish"
	failed=1
fi
for t in "${tests[@]}"; do
	[ -n "${began[$t]:-}" ] && continue
	echo "not ok - vm/$t did not run"
	failed=1
done
if [ "$finished" != 1 ]; then
	if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
		why="killed after AJ_VM_TIMEOUT=$vm_timeout s"
	else
		why="qemu exit status $qrc"
	fi
	echo "not ok - the VM did not finish ($why; see $(rel "$log"))"
	failed=1
	if [ -z "${AJ_VM_CONSOLE:-}" ] && [ "${#began[@]}" -eq 0 ]; then
		if [ -s "$log" ]; then
			say "last lines of the console:"
			tail -n 25 "$log" | sed 's/^/# console: /'
		else
			say "the console is empty: the kernel printed nothing"
		fi
	fi
	[ -s "$vm/qemu.log" ] && sed 's/^/# qemu: /' "$vm/qemu.log"
fi
exit "$failed"
