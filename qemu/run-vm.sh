#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Boot a throw-away QEMU (TCG) VM with the stock Debian kernel, hakmem.ko and
# the kselftest binaries, and report the result.
#
# usage: qemu/run-vm.sh -k VMLINUZ -m HAKMEM_KO -t TEST_DIR -o OUT_DIR
#                       [-e EXTRA_KO]... [-a EXTRA_APPEND] [-O OVERLAY_DIR]...
#                       [-S SHARE_DIR]
#
# EXTRA_KO may be a .ko or a .ko.xz; a name that exists in neither form is
# skipped (a module the kernel has built in).  The guest loads them in any
# order that satisfies their dependencies.
# SHARE_DIR is exported read-only to the guest over virtio-9p, mount tag
# "host" (the guest needs the 9p modules among the EXTRA_KOs).
# TEST_DIR holds static test binaries; each runs as one top-level TAP test.
# An OVERLAY_DIR is copied over the initramfs root as is (e.g. dynamically
# linked programs and their libraries, see qemu/userland.sh); executables it
# puts in /tests run as tests too.
# environment: VM_TIMEOUT (seconds, default 480), VM_SMP (default 2),
#              VM_MEM (default 1G), VM_DEBUG=1 (all kernel messages on the
#              console, not only the final dmesg dump), VM_NUMA=<n> (n NUMA
#              nodes of 1G and one CPU (socket) each; overrides VM_SMP and
#              VM_MEM)
#
# Exit status: 0 only if every test passed AND the kernel log is clean
# (no BUG/WARNING/Oops/general protection/hung task/...).  The full serial
# console log is kept in OUT_DIR/console.log.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
kernel="" module="" tests="" out="" extra="" append="" overlays="" share=""
while getopts k:m:t:o:e:a:O:S: opt; do
	case $opt in
	k) kernel=$OPTARG ;;
	m) module=$OPTARG ;;
	t) tests=$OPTARG ;;
	o) out=$OPTARG ;;
	e) extra="$extra $OPTARG" ;;
	a) append="$append $OPTARG" ;;
	O) overlays="$overlays $OPTARG" ;;
	S) share=$OPTARG ;;
	*) echo "usage: $0 -k vmlinuz -m hakmem.ko -t testdir -o outdir" >&2
	   exit 2 ;;
	esac
done
for v in kernel module tests out; do
	eval "val=\$$v"
	if [ -z "$val" ]; then
		echo "run-vm: -${v%"${v#?}"} is required" >&2
		exit 2
	fi
done
[ -r "$kernel" ] || { echo "run-vm: cannot read $kernel" >&2; exit 2; }

busybox=/bin/busybox
if ! file -L "$busybox" | grep -q 'statically linked'; then
	echo "run-vm: $busybox is not static (apt-get install busybox-static)" >&2
	exit 2
fi

# --- initramfs --------------------------------------------------------------
root="$out/initramfs"
rm -rf "$root"
mkdir -p "$root/bin" "$root/tests" "$root/modules" "$root/dev"
cp "$busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
cp "$here/init.sh" "$root/init"
cp "$here/expected-oom.awk" "$root/expected-oom.awk"
chmod 755 "$root/init"
# Modules may be xz-compressed (Debian 6.12 and DKMS for it make NAME.ko.xz),
# which busybox insmod cannot load: decompress them here.
put_module() {	# put_module NAME.ko[.xz] DEST: copy, decompressed
	if [ -r "$1" ]; then
		case $1 in
		*.xz) xz -dc "$1" >"$2" ;;
		*) cp "$1" "$2" ;;
		esac
	elif [ -r "$1.xz" ]; then
		xz -dc "$1.xz" >"$2"
	else
		echo "run-vm: no module $1 or $1.xz" >&2
		exit 2
	fi
}
put_module "$module" "$root/hakmem.ko"
for m in $extra; do
	[ -r "$m" ] || [ -r "$m.xz" ] || continue
	put_module "$m" "$root/modules/$(basename "$m" .xz)"
done
found=0
for t in "$tests"/*; do
	if [ ! -f "$t" ] || [ ! -x "$t" ]; then
		continue
	fi
	if ! file -L "$t" | grep -Eq 'statically linked|static-pie linked'; then
		echo "run-vm: $t is not a static binary" >&2
		exit 2
	fi
	cp "$t" "$root/tests/"
	found=$((found + 1))
done
for o in $overlays; do
	cp -a "$o/." "$root/"
done
found=$(find "$root/tests" -maxdepth 1 -type f -perm -u+x | wc -l)
[ "$found" -gt 0 ] || { echo "run-vm: no tests in $tests or the overlays" >&2; exit 2; }
(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 > "$out/initramfs.cpio.gz"

# --- boot -------------------------------------------------------------------
log="$out/console.log"
# loglevel=5: warnings, oopses and their backtraces reach the console, boot
# chatter does not.  A soft lockup panics (and so ends the VM at once) after
# printing every CPU's backtrace.  Under TCG on a busy host a vCPU can be
# descheduled for many seconds; watchdog_thresh=30 (a soft lockup after
# 60 s) keeps that from passing for a lockup while a real one still ends
# the run long before the timeout.
quiet="loglevel=5 softlockup_panic=1 softlockup_all_cpu_backtrace=1 watchdog_thresh=30"
[ "${VM_DEBUG:-0}" = 1 ] && quiet="loglevel=8"
timeout_s=${VM_TIMEOUT:-480}
smp=${VM_SMP:-2} mem=${VM_MEM:-1G} numa=""
if [ "${VM_NUMA:-1}" -gt 1 ]; then
	# A socket per node: CPUs that share a cache must share a node.
	smp=$VM_NUMA,sockets=$VM_NUMA mem=${VM_NUMA}G
	i=0
	while [ $i -lt "$VM_NUMA" ]; do
		numa="$numa -object memory-backend-ram,id=m$i,size=1G"
		numa="$numa -numa node,nodeid=$i,cpus=$i,memdev=m$i"
		i=$((i + 1))
	done
fi
echo "run-vm: booting $kernel ($found test binaries, timeout ${timeout_s}s)" >&2
set +e
# thread=single: one host thread runs every vCPU (they still interleave).
# With one thread per vCPU, a vCPU now and then executed an int3 that the
# kernel's live code patching (static keys, at boot) had already removed:
# "Oops: int3" in sched_clock_cpu on 6.12, before any module was loaded,
# in about one boot in 30.  Boots take about a third longer.
virtfs=""
[ -n "$share" ] &&
	virtfs="-virtfs local,path=$share,mount_tag=host,security_model=none,readonly=on,multidevs=remap"
# shellcheck disable=SC2086 # $numa and $virtfs are lists of options
timeout -k 10 "$timeout_s" qemu-system-x86_64 \
	-accel tcg,thread=single -cpu max -smp "$smp" -m "$mem" $numa $virtfs \
	-nographic -no-reboot -nic none \
	-kernel "$kernel" -initrd "$out/initramfs.cpio.gz" \
	-append "console=ttyS0 panic=-1 $quiet mitigations=off$append" \
	< /dev/null 2>&1 | tr -d '\r' | tee "$log" | grep -v '^dmesg: '
set -e
# The exit status of "timeout" is lost in the pipe; a VM that did not
# finish is detected by the missing RESULT line instead.

status=0
if ! grep -q '^HAKMEM-VM: RESULT=' "$log"; then
	echo "run-vm: FAIL: VM did not finish (timeout ${timeout_s}s or crash)" >&2
	status=1
elif ! grep -q '^HAKMEM-VM: RESULT=PASS' "$log"; then
	echo "run-vm: FAIL: $(grep '^HAKMEM-VM: RESULT=' "$log")" >&2
	status=1
fi
# Belt and braces: scan the whole console too (a crash may never reach the
# guest's own dmesg check).  Lines of the test output itself and the OOM
# kills that tests cause are excluded.
pat='BUG|WARNING|Oops|general protection|hung task|blocked for more than'
pat="$pat|soft lockup|rcu_.*stall|Call Trace|Kernel panic"
problems=$(awk -f "$here/expected-oom.awk" "$log" |
	grep -v -e '^#' -e '^ok ' -e '^not ok ' -e '^HAKMEM-VM:' |
	grep -E "$pat" | head -20)
if [ -n "$problems" ]; then
	echo "run-vm: FAIL: kernel problems on the console:" >&2
	echo "$problems" >&2
	status=1
fi
summary=$(grep -Ec '^ok ' "$log" || true)
failed=$(grep -Ec '^not ok ' "$log" || true)
if [ "$summary" -lt "$found" ]; then
	echo "run-vm: FAIL: $summary of $found test binaries passed" >&2
	status=1
fi
totals=$(grep -E '^# # Totals:' "$log" | sed 's/^# # //' | tr '\n' ';')
if [ $status -eq 0 ]; then
	result="PASS: $summary ok, $failed not ok ($totals) dmesg clean"
else
	result="FAIL: $summary ok, $failed not ok ($totals)"
fi
echo "run-vm: $result (kernel messages: $out/console.log)" >&2
echo "$result" > "$out/result"
exit $status
