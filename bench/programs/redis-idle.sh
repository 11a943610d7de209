#!/bin/sh
# SPDX-License-Identifier: MIT
# Does a server give memory back once it is idle?  redis-server fills
# 200 000 keys of 512 bytes, drops them all (FLUSHALL), then makes no
# allocator call while it idles; its RSS is read from /proc after 1, 3 and
# 12 s.  Needs redis-server and redis-cli (apt-get install redis-server).
#
#   bench/programs/redis-idle.sh [LIBRARY...]
#
# Each LIBRARY is preloaded in turn; "" (the default) runs redis with its
# own allocator (Debian links it with jemalloc).
set -e
command -v redis-server >/dev/null && command -v redis-cli >/dev/null ||
	{ echo "redis-idle: needs redis-server and redis-cli" >&2; exit 1; }
[ $# -gt 0 ] || set -- ""

kib() {	# kib PID FIELD: a /proc/PID/status field in KiB
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

for lib; do
	port=$(( 20000 + $$ % 10000 ))
	env ${lib:+LD_PRELOAD=$lib} redis-server --port "$port" --save "" \
		--appendonly no --enable-debug-command yes >/dev/null &
	pid=$!
	until redis-cli -p "$port" PING >/dev/null 2>&1; do sleep 0.1; done
	redis-cli -p "$port" DEBUG POPULATE 200000 key 512 >/dev/null
	full=$(kib "$pid" VmRSS)
	redis-cli -p "$port" FLUSHALL >/dev/null
	line="${lib:-redis's own}: filled $full KiB"
	for wait in 1 2 9; do
		sleep "$wait"
		line="$line, $(kib "$pid" VmRSS)"
	done
	echo "$line KiB after 1, 3, 12 s idle (peak $(kib "$pid" VmHWM) KiB)"
	kill "$pid"
	wait "$pid" || true
done
