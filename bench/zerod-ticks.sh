#!/bin/sh
# SPDX-License-Identifier: MIT
# Print the CPU time that hakmem.ko's zeroing threads (hakmem_zerod<N>) have
# used so far: utime + stime, in clock ticks (USER_HZ, 100), 0 without
# the module.  bench/demo.sh and tests/vm/host-programs.sh add its growth
# over a run to the run's own CPU time, so that pre-zeroing which only
# moves work to another CPU shows.  `hakmem status` reads it
# (scripts/hakmem, which sits in ../scripts from here, in the source tree
# and in the demo's VM).
t=$(sh "$(dirname "$0")/../scripts/hakmem" status -r 2>/dev/null |
	sed -n 's/^stats zerod_ticks //p')
echo "${t:-0}"
