#!/bin/busybox sh
# shellcheck shell=dash
# SPDX-License-Identifier: GPL-2.0
#
# /init of the hakmem test VM.  Loads hakmem.ko, runs every kselftest binary
# in /tests (in name order) as a TAP 13 suite, then scans the kernel log for
# problems and powers the VM off.  The order is the one constraint on test
# names: hakmem_unload_test, which unloads and reloads the module, must sort
# after the other hakmem_*_test binaries (libhakmem's tests from the
# overlays, libhakmem-*, come after it).  The last line it prints is
#   HAKMEM-VM: RESULT=PASS   or   HAKMEM-VM: RESULT=FAIL <reasons>
# which qemu/run-vm.sh looks for.

/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mkdir -p /proc /sys /dev /tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mkdir -p /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup 2>/dev/null

# Report hung tasks well inside the VM time budget.
[ -w /proc/sys/kernel/hung_task_timeout_secs ] &&
	echo 30 > /proc/sys/kernel/hung_task_timeout_secs

fail=""
finish() {
	dmesg > /tmp/dmesg.txt
	echo "HAKMEM-VM: ---- dmesg begin ----"
	sed 's/^/dmesg: /' /tmp/dmesg.txt
	echo "HAKMEM-VM: ---- dmesg end ----"
	pat='BUG|WARNING|Oops|general protection|hung task|blocked for more than'
	pat="$pat|soft lockup|rcu_.*stall|Call Trace|refcount_t|Bad page"
	pat="$pat|list_(add|del) corruption|UBSAN|KASAN|kernel panic"
	# The OOM kills that tests cause on purpose are not findings.
	awk -f /expected-oom.awk /tmp/dmesg.txt > /tmp/dmesg-scan.txt
	if grep -Eq "$pat" /tmp/dmesg-scan.txt; then
		echo "HAKMEM-VM: kernel log findings:"
		grep -E "$pat" /tmp/dmesg-scan.txt | sed 's/^/HAKMEM-VM:   /'
		fail="$fail kernel-log"
	fi
	# Taint flags other than O (out-of-tree, 4096) and E (unsigned, 8192)
	# mean a warning, oops, lockup, bad page, ... happened.
	taint=$(cat /proc/sys/kernel/tainted)
	if [ $((taint & ~0x3000)) -ne 0 ]; then
		echo "HAKMEM-VM: kernel tainted: $taint"
		fail="$fail taint=$taint"
	fi
	if [ -z "$fail" ]; then
		echo "HAKMEM-VM: RESULT=PASS"
	else
		echo "HAKMEM-VM: RESULT=FAIL$fail"
	fi
	sync
	poweroff -f
	sleep 10
}

echo "HAKMEM-VM: kernel $(uname -r), $(nproc) cpus, cmdline: $(cat /proc/cmdline)"
# Extra modules, in whatever order their dependencies allow: load what
# loads, then try the rest again while that makes progress.
left=$(ls /modules/*.ko 2>/dev/null)
while [ -n "$left" ]; do
	next=""
	for m in $left; do
		insmod "$m" 2>/dev/null || next="$next $m"
	done
	if [ "$(echo $next)" = "$(echo $left)" ]; then
		echo "HAKMEM-VM: modules that do not load: $next"
		break
	fi
	left=$next
done
# Explicit parameters exercise the load-time parameter path; HK_POOL_*_MB
# on the kernel command line override them (the demo wants a bigger pool).
if ! insmod /hakmem.ko pool_low_mb="${HK_POOL_LOW_MB:-8}" \
		pool_high_mb="${HK_POOL_HIGH_MB:-32}" pool_max_mb="${HK_POOL_MAX_MB:-256}"; then
	fail="$fail insmod"
	finish
fi
if [ ! -c /dev/hakmem ]; then
	fail="$fail no-/dev/hakmem"
	finish
fi
echo "HAKMEM-VM: module loaded: $(cat /sys/module/hakmem/version 2>/dev/null)"

# Top-level TAP in the kselftest runner format: each binary's own TAP is
# indented behind "# ".
# HK_LOOPS=<n> on the kernel command line repeats the whole run n times.
loops=${HK_LOOPS:-1}
set -- /tests/*
echo "TAP version 13"
echo "1..$(($# * loops))"
n=0
iter=0
while [ $iter -lt "$loops" ]; do
	iter=$((iter + 1))
	for t in "$@"; do
		n=$((n + 1))
		name=${t##*/}
		echo "# selftests: hakmem: $name"
		# Stream the output, so that a hang still shows how far it got.
		# HK_TEST=<name> on the kernel command line reaches the tests
		# through the environment; they skip all other tests.
		{ HAKMEM_KO=/hakmem.ko "$t" 2>&1; echo $? > /tmp/rc; } |
			sed 's/^/# /'
		rc=$(cat /tmp/rc 2>/dev/null || echo 99)
		if [ "$rc" -eq 0 ]; then
			echo "ok $n selftests: hakmem: $name"
		elif [ "$rc" -eq 4 ]; then
			echo "ok $n selftests: hakmem: $name # SKIP"
		else
			echo "not ok $n selftests: hakmem: $name # exit=$rc"
			fail="$fail $name"
		fi
	done
done

# Module exit with a populated pool must be clean too.
if grep -q '^hakmem ' /proc/modules; then
	echo "HAKMEM-VM: stats before rmmod:"
	for f in /sys/class/misc/hakmem/stats/*; do
		[ -r "$f" ] && echo "HAKMEM-VM:   ${f##*/} $(cat "$f")"
	done
	for d in /sys/class/misc/hakmem/node*; do
		[ -d "$d" ] || continue
		line=""
		for f in "$d"/*; do
			line="$line ${f##*/}=$(cat "$f")"
		done
		echo "HAKMEM-VM:   ${d##*/}:$line"
	done
	rmmod hakmem || fail="$fail rmmod"
fi
finish
