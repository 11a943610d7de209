#!/bin/sh
# SPDX-License-Identifier: MIT
# Print the CPU time that hakmem.ko's zeroing threads (hakmem_zerod<N>) have
# used so far: utime + stime, in clock ticks (USER_HZ, 100), 0 without
# the module.  bench/demo.sh and tests/vm/host-programs.sh add its growth
# over a run to the run's own CPU time, so that pre-zeroing which only
# moves work to another CPU shows.
t=0
for d in /proc/[0-9]*; do
	case $(cat "$d/comm" 2>/dev/null) in
	hakmem_zerod*)
		# shellcheck disable=SC2046 # the fields after "(comm) "
		set -- $(sed 's/^.*) //' "$d/stat")
		t=$((t + ${12} + ${13})) ;;
	esac
done
echo "$t"
