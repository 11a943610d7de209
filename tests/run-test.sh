#!/bin/sh
# Run one test command, record its verdict, and keep its output for post-mortems.
#   tests/run-test.sh RESULTS_FILE NAME COMMAND [ARGS...]
# Prints "ok NAME" or "FAIL NAME (exit N)" followed by the tail of the output.
results=$1 name=$2
shift 2
log="${results%/*}/logs/$(printf '%s' "$name" | tr -c 'A-Za-z0-9_.-' '_').log"
mkdir -p "${log%/*}"
start=$(date +%s)
"$@" >"$log" 2>&1
rc=$?
secs=$(( $(date +%s) - start ))
if [ "$rc" -eq 0 ]; then
	echo "ok $name (${secs}s)" | tee -a "$results"
else
	echo "FAIL $name (exit $rc, ${secs}s)" | tee -a "$results"
	tail -n 40 "$log" | sed 's/^/    /'
fi
exit 0
