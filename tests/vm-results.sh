#!/bin/sh
# Record each test case of the VM boots as a result of its own:
#   tests/vm-results.sh RESULTS_FILE BUILD_DIR RELEASE/MODE...
# reads BUILD_DIR/vm/RELEASE/MODE/console.log, where the guest printed its
# kselftest cases as "# ok N name" / "# not ok N name".
results=$1 build=$2
shift 2
for boot in "$@"; do
	log=$build/vm/$boot/console.log
	[ -r "$log" ] || { echo "FAIL vm/$boot (no console log)" >>"$results"; continue; }
	sed -n -e "s|^# ok [0-9]* \(.*\)|ok vm/$boot: \1|p" \
		-e "s|^# not ok [0-9]* \(.*\)|FAIL vm/$boot: \1|p" "$log" | grep -v ' # SKIP' >>"$results"
done
