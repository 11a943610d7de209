#!/bin/sh
# Print the closing line of a test run and fail if any test failed.
#   tests/summarize.sh RESULTS_FILE
results=$1
passed=$(grep -c '^ok ' "$results" 2>/dev/null)
failed=$(grep -c '^FAIL ' "$results" 2>/dev/null)
if [ "${failed:-0}" -gt 0 ]; then
	echo "failed tests:"
	grep '^FAIL ' "$results" | sed 's/^/    /'
fi
echo "${passed:-0} passed, ${failed:-0} failed"
[ "${failed:-0}" -eq 0 ] && [ "${passed:-0}" -gt 0 ]
