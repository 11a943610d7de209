#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Runs inside the test VM, with hakmem.ko loaded: libhakmem on the device.
# The library must use the device by default (no HAKMEM_BACKING) as well as
# with HAKMEM_BACKING=kmod, the conformance and stress tests must pass on
# /dev/hakmem regions, and first touches of fresh heap must not fault.
# qemu/userland.sh put the binaries in /opt/hakmem.  Prints TAP; exits 1 on
# failure.
dir=/opt/hakmem
lib=$dir/libhakmem.so
stats=/sys/class/misc/hakmem/stats
params=/sys/module/hakmem/parameters
n=0 failed=0

check() {	# check NAME COMMAND...: one TAP line
	name=$1
	shift
	n=$((n + 1))
	if out=$("$@" 2>&1); then
		echo "$out" | tail -n 1 | sed 's/^/# /'
		echo "ok $n $name"
	else
		echo "$out" | tail -n 5 | sed 's/^/# /'
		echo "not ok $n $name"
		failed=$((failed + 1))
	fi
}

preload() {	# preload COMMAND...: run with libhakmem, its defaults
	env LD_PRELOAD="$lib" "$@"
}

kmod() {	# kmod COMMAND...: run with libhakmem on the kmod backing
	preload HAKMEM_BACKING=kmod "$@"
}

uses_device() {	# uses_device RUNNER: does the stress test map the device?
	before=$(cat $stats/mmap_calls)
	"$1" HAKMEM_STATS=1 "$dir/stress" random 5 2>&1 | grep -q "backing kmod" ||
		{ echo "HAKMEM_STATS does not say 'backing kmod'"; return 1; }
	after=$(cat $stats/mmap_calls)
	[ "$after" -gt "$before" ] || { echo "mmap_calls stayed at $before"; return 1; }
}

# 32 MiB of fresh small objects.  Faulting in 4 KiB pages would take 8192
# faults; from pre-mapped regions the touching thread may take at most one
# per 2 MiB SuperSlab (16), plus at most 8 it pays once: its heap's pages,
# the page-table pages its SuperSlabs' slots fall in, the purger's start.
# (Runs have taken 15 to 18 in all.)  (The anonymous run is printed for
# comparison only: with THP "always", Debian's default, the kernel maps
# each 2 MiB-aligned SuperSlab with one huge-page fault, zeroing 2 MiB on
# the touching thread instead.)
touch_faults() {	# touch_faults BACKING: faults of the touching thread
	env LD_PRELOAD="$lib" HAKMEM_BACKING="$1" "$dir/fresh-touch" mib=32 |
		sed -n 's/.*thread_minflt=\([0-9]*\).*/\1/p'
}

# Wait up to 30 s for every node's pool to hold $1 MiB.
pools_hold() {
	want=$(($1 * 256)) i=0
	for d in /sys/class/misc/hakmem/node*; do
		while [ "$(cat "$d/pool_zeroed_pages")" -lt "$want" ]; do
			i=$((i + 1))
			[ $i -le 300 ] || return 1
			sleep 0.1
		done
	done
}

# Only blocks from the pool are mapped at once (a pool miss is faulted in
# on first touch, as anonymous memory is), so give the pool room for the
# whole heap, stock included, and let it fill first.
first_touch_faults() {
	anon=$(touch_faults mmap)
	low=$(cat $params/pool_low_mb) high=$(cat $params/pool_high_mb)
	echo 64 > $params/pool_high_mb && echo 64 > $params/pool_low_mb &&
		pools_hold 48
	full=$?
	[ $full -eq 0 ] && dev=$(touch_faults kmod)
	echo "$low" > $params/pool_low_mb
	echo "$high" > $params/pool_high_mb
	[ $full -eq 0 ] || { echo "the pool did not fill to 48 MiB"; return 1; }
	echo "fresh-touch 32 MiB, faults on the touching thread: mmap $anon, kmod $dev"
	[ -n "$dev" ] && [ "$dev" -le $((16 + 8)) ]
}

# Under strict overcommit with 32 MiB left to commit, a small program still
# runs with libhakmem (and its baseline run without, in commit-charge): the
# library commits only what it uses.  The limit is set in kilobytes, above
# what the VM has committed, and restored at once.
strict_overcommit() {	# strict_overcommit COMMAND...
	vm=/proc/sys/vm
	mode=$(cat $vm/overcommit_memory) kb=$(cat $vm/overcommit_kbytes)
	ratio=$(cat $vm/overcommit_ratio)
	committed=$(awk '/^Committed_AS:/ { print $2 }' /proc/meminfo)
	echo $((committed + 32 * 1024)) > $vm/overcommit_kbytes &&
		echo 2 > $vm/overcommit_memory
	"$@"
	rc=$?
	echo "$mode" > $vm/overcommit_memory
	if [ "$kb" -gt 0 ]; then echo "$kb" > $vm/overcommit_kbytes
	else echo "$ratio" > $vm/overcommit_ratio; fi
	return $rc
}

echo "TAP version 13"
check "libhakmem uses /dev/hakmem by default" uses_device preload
check "libhakmem uses /dev/hakmem with HAKMEM_BACKING=kmod" uses_device kmod
check "first touch of fresh heap: at most 1 fault per 2 MiB and the set-up's" \
	first_touch_faults
# Robust and pshared pthread objects in malloc'd memory (pshared-futex) take
# shared futexes, which the device's pages take as anonymous ones do.
for g in identity align zero realloc calloc-dirty trim double-free invalid-free-stack \
		pshared-futex unshare-user setns-mnt helper-signals; do
	check "conformance $g by default" preload "$dir/conformance" "$g"
done
check "a small program under strict overcommit, 32 MiB left" \
	strict_overcommit preload "$dir/conformance" identity commit-charge
for t in random xthread churn fork; do
	check "stress $t by default" preload "$dir/stress" "$t" 20
done
echo "1..$n"
echo "# libhakmem on kmod: $((n - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
