#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Runs inside the test VM, with hakmem.ko loaded, on boots whose kernel
# command line sets HK_HOST_PROGRAMS=1: real programs of the host (its / is
# shared read-only over 9p, see qemu/run-vm.sh -S), chrooted into, with
# libhakmem on its default backing, which there is the device.
#   - tests/programs/run.sh: the programs' output must be byte-identical
#     with and without the library (HK_PROGRAMS: which ones, comma-separated;
#     by default all but gcc, whose cc1 runs take longer under TCG than
#     run.sh's 120 s limit);
#   - fork-heavy work timed on each backing (HK_FORK_MEASURE=1): a bash loop
#     of subshells, `make -j2` of libhakmem, Python multiprocessing with the
#     fork start method, and a heap forked again and again (bench/forks);
#   - real programs measured under each allocator (HK_PROGRAMS_MEASURE=1):
#     wall time, faults, peak RSS, and CPU time with that of the module's
#     zeroing threads over the same run added (bench/run-program).
# HK_REPO is the repository's path on the host.  Prints TAP; exits 1 on
# failure, 4 (skip) on boots that do not ask for it.
[ "${HK_HOST_PROGRAMS:-0}" = 1 ] || exit 4
host=/host
stats=/sys/class/misc/hakmem/stats
so=$HK_REPO/build/libhakmem.so
n=0 failed=0

ok() { n=$((n + 1)); echo "ok $n $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n $1"; failed=$((failed + 1)); }

# The host's tree: its / over 9p, from which a root on tmpfs binds the
# directories programs need (Debian's merged /usr: /bin and /lib are links),
# with the guest's own /proc, /sys, /dev and a writable /tmp.  Nothing is
# mounted on the 9p tree itself: 9p revalidates directories such as the
# host's /proc, whose attributes keep changing, and drops what is mounted
# on them.
mkdir -p $host /hostfs
if ! mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=262144 host /hostfs; then
	echo "1..1"
	not_ok "mount the host's / over 9p"
	exit 1
fi
mount -t tmpfs -o size=400m tmpfs $host
for d in usr etc root opt var; do
	mkdir -p $host/$d
	mount -o bind /hostfs/$d $host/$d
done
for d in bin sbin lib lib32 lib64; do
	[ -L /hostfs/$d ] && ln -s "$(readlink /hostfs/$d)" $host/$d
done
mkdir -p $host/proc $host/sys $host/dev $host/tmp
mount -t proc proc $host/proc
mount -t sysfs sysfs $host/sys
mount -t devtmpfs devtmpfs $host/dev
if [ ! -d "$host$HK_REPO" ]; then
	mkdir -p "$host$HK_REPO"
	mount -o bind "/hostfs$HK_REPO" "$host$HK_REPO"
fi
in_host() {	# in_host COMMAND...: run in the host's tree, scratch space in /tmp
	chroot $host /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/tmp TMPDIR=/tmp \
		LANG=C.UTF-8 "$@"
}

echo "TAP version 13"
if [ -e "$host$so" ]; then
	ok "libhakmem.so from the host: $so"
else
	not_ok "libhakmem.so from the host: no $so"
fi

# Real programs: identical output with and without libhakmem, which uses
# the device by default.
before=$(cat $stats/mmap_calls)
out=$(in_host timeout 1500 sh "$HK_REPO/tests/programs/run.sh" "$so" \
	$(echo "${HK_PROGRAMS:-sort,bash,git,python}" | tr , ' ') 2>&1)
rc=$?
after=$(cat $stats/mmap_calls)
echo "$out" | sed 's/^/# /'
if [ $rc -eq 0 ] && [ "$after" -gt "$before" ]; then
	ok "real programs by default: identical output (device maps: $((after - before)))"
else
	not_ok "real programs by default (exit $rc, device maps $before -> $after)"
fi

# Fork-heavy work on each backing: time and minor faults (measurement only).
if [ "${HK_FORK_MEASURE:-0}" = 1 ]; then
	loop='n=0; for i in $(seq 2000); do x=$(echo $i); n=$((n + ${#x})); done; echo $n'
	for b in kmod populate mmap kmod populate mmap; do
		r=$(in_host /usr/bin/time -f "%e s %R minflt" env LD_PRELOAD="$so" \
			HAKMEM_BACKING=$b bash -c "$loop" 2>&1 | tail -n 1)
		echo "# fork: bash, 2000 subshells, $b: $r"
	done
	for b in kmod populate mmap; do
		rm -rf $host/tmp/b
		r=$(in_host /usr/bin/time -f "%e s %R minflt" env LD_PRELOAD="$so" \
			HAKMEM_BACKING=$b make -s -j2 -C "$HK_REPO" BUILD=/tmp/b lib 2>&1 | tail -n 1)
		echo "# fork: make -j2 lib, $b: $r"
	done
	# A 20 MB heap, and a pool of two forked workers started 20 times.
	py='import multiprocessing as mp
heap = [str(i) * 3 for i in range(300000)]
ctx = mp.get_context("fork")
for _ in range(20):
    with ctx.Pool(2) as pool:
        assert sum(pool.map(len, heap[:2000])) > 0'
	for b in kmod populate mmap kmod populate mmap; do
		r=$(in_host /usr/bin/time -f "%e s %R minflt" env LD_PRELOAD="$so" \
			HAKMEM_BACKING=$b python3 -c "$py" 2>&1 | tail -n 1)
		echo "# fork: python multiprocessing, 20 pools of 2, $b: $r"
	done
	for b in kmod populate mmap kmod populate mmap; do
		r=$(in_host env LD_PRELOAD="$so" HAKMEM_BACKING=$b \
			"$HK_REPO/build/bench/forks" mib=128 forks=10 2>&1 | tail -n 1)
		echo "# fork: bench/forks 128 MiB x 10, 1% written, $b: $r"
	done
fi
# Real programs under each allocator (measurement only), with the CPU time
# the zeroing threads took meanwhile (bench/zerod-ticks.sh).
zerod_ticks() {
	sh "/hostfs$HK_REPO/bench/zerod-ticks.sh"
}
if [ "${HK_PROGRAMS_MEASURE:-0}" = 1 ]; then
	mi=/usr/lib/x86_64-linux-gnu/libmimalloc.so.2
	hz=$(getconf CLK_TCK 2>/dev/null || echo 100)
	for r in 1 2; do
	for prog in "cc1 sh $HK_REPO/bench/programs/compile.sh" \
		"sqlite python3 $HK_REPO/bench/programs/sqlite.py" \
		"bursty $HK_REPO/build/bench/bursty bursts=20 mib=8 gap_ms=50"; do
		set -- $prog
		name=$1
		shift
		for a in glibc mimalloc hakmem hakmem/mmap hakmem/populate; do
			case $a in
			glibc) pre="" b="" ;;
			mimalloc) pre=$mi b="" ;;
			hakmem) pre=$so b="" ;;
			*) pre=$so b=${a#hakmem/} ;;
			esac
			z0=$(zerod_ticks)
			r=$(in_host env LD_PRELOAD="$pre" ${b:+HAKMEM_BACKING=$b} \
				"$HK_REPO/build/bench/run-program" "$@" 2>&1 | tail -n 1)
			z=$(( $(zerod_ticks) - z0 ))
			echo "# programs: $name $a zerod_sec=$(echo "$z $hz" | awk '{printf "%.2f", $1 / $2}') $r"
		done
	done
	done
fi
umount "$host$HK_REPO" $host/dev $host/sys $host/proc 2>/dev/null
for d in usr etc root opt var; do
	umount $host/$d
done
umount $host /hostfs
echo "1..$n"
[ "$failed" -eq 0 ]
