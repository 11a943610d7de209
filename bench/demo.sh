#!/bin/sh
# The fresh-memory comparison behind `make demo`: a few workloads under a
# few allocator configurations, alternating, with medians and ratios.
# POSIX sh and awk only, so that it runs in the test VM's busybox as well
# as on the host.
#
#   bench/demo.sh [-r REPS] [-s SCALE] [-p PAUSE] [-o RESULTS.tsv] -b BENCH_DIR CONFIG...
#
# CONFIG is NAME=PRELOAD[,VAR=VALUE...]: PRELOAD is the library to preload
# (empty for glibc), VAR=VALUE pairs go to the environment, e.g.
#   glibc=  hakmem/kmod=/lib/libhakmem.so,HAKMEM_BACKING=kmod
# SCALE (percent, default 100) shrinks every workload, for slow machines
# such as a TCG virtual machine.  PAUSE seconds of idle time (default 0)
# precede every run, for idle-time work to catch up as it would between
# bursts of a real workload.  The table goes to stdout; RESULTS.tsv
# gets one line of medians per workload and configuration.
set -eu

reps=3 scale=100 pause=0 out="" bench=""
while getopts r:s:p:o:b: opt; do
	case $opt in
	r) reps=$OPTARG ;;
	s) scale=$OPTARG ;;
	p) pause=$OPTARG ;;
	o) out=$OPTARG ;;
	b) bench=$OPTARG ;;
	*) sed -n '2,19s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ -n "$bench" ] && [ $# -gt 0 ] || { sed -n '2,19s/^# \{0,1\}//p' "$0" >&2; exit 2; }

# workload name, binary, arguments at 100% scale (the scaled one first).
workloads() {
	s=$scale
	echo "fresh-touch fresh-touch mib=$((256 * s / 100))"
	echo "procs procs procs=$((200 * s / 100)) mib=16"
	echo "bursty bursty bursts=$((20 * s / 100 + 1)) mib=8 gap_ms=50"
	echo "random-mixed random-mixed iters=$((50000000 / 100 * s))"
	echo "tiny-hot tiny-hot batches=$((1000000 / 100 * s))"
}

raw=$(mktemp)
trap 'rm -f "$raw"' EXIT

# The zeroing threads' CPU time, added to each run's (zerod-ticks.sh).
zerod_ticks() {
	sh "$(dirname "$0")/zerod-ticks.sh"
}
hz=$(getconf CLK_TCK 2>/dev/null || echo 100)

# run CONFIG BINARY ARGS...: one run; prints its key=value line or FAILED.
run() {
	config=$1
	shift
	preload=${config#*=}
	envs=""
	case $preload in
	*,*) envs=$(echo "${preload#*,}" | tr ',' ' '); preload=${preload%%,*} ;;
	esac
	z0=$(zerod_ticks)
	# shellcheck disable=SC2086 # $envs is a list of VAR=VALUE words
	if line=$(env LD_PRELOAD="$preload" $envs "$@" 2>/dev/null | grep '^ops_per_sec='); then
		echo "zerod_sec=$(echo "$(($(zerod_ticks) - z0)) $hz" | awk '{ print $1 / $2 }') $line"
	else
		echo "FAILED"
	fi
}

workloads | while read -r name binary args; do
	r=1
	while [ "$r" -le "$reps" ]; do
		for config in "$@"; do
			sleep "$pause"
			# shellcheck disable=SC2086 # $args is a list of NAME=VALUE words
			line=$(run "$config" "$bench/$binary" $args)
			echo "$name ${config%%=*} $line" >>"$raw"
			printf '[%s %d/%d] %-16s %s\n' "$name" "$r" "$reps" "${config%%=*}" \
				"$(echo "$line" | cut -c1-60)" >&2
		done
		r=$((r + 1))
	done
done

# Medians per (workload, config), then the table with ratios to the
# baselines present: glibc, mimalloc and hakmem/mmap.
awk -v out="$out" '
function median(list,    n, a, i, j, t) {
	n = split(list, a, " ")
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) {
			t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
		}
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{
	key = $1 SUBSEP $2
	if (!(key in seen)) {
		seen[key] = 1
		if (!($1 in wseen)) { wseen[$1] = 1; wl[++nw] = $1 }
		if (!($2 in cseen)) { cseen[$2] = 1; cl[++nc] = $2 }
	}
	if ($3 == "FAILED") { failed[key]++; next }
	for (i = 3; i <= NF; i++) {
		split($i, kv, "=")
		v[key, kv[1]] = v[key, kv[1]] " " kv[2]
	}
}
END {
	printf "| workload | allocator | time s | minor faults | faults on the working thread | kernel share | CPU s with zeroing threads | time vs glibc | vs mimalloc | vs hakmem/mmap |\n"
	printf "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n"
	for (w = 1; w <= nw; w++) {
		for (c = 1; c <= nc; c++) {
			key = wl[w] SUBSEP cl[c]
			if (!((key, "elapsed_sec") in v)) {
				printf "| %s | %s | FAILED | | | | | | | |\n", wl[w], cl[c]
				continue
			}
			t[key] = median(v[key, "elapsed_sec"])
			f[key] = median(v[key, "minflt"])
			tf[key] = median(v[key, "thread_minflt"])
			usr = median(v[key, "usr_sec"]); sys = median(v[key, "sys_sec"])
			ks[key] = usr + sys > 0 ? sys / (usr + sys) : 0
			cpu[key] = usr + sys + median(v[key, "zerod_sec"])
		}
		for (c = 1; c <= nc; c++) {
			key = wl[w] SUBSEP cl[c]
			if (!(key in t))
				continue
			row = sprintf("| %s | %s | %.4f | %d | %d | %.0f%% | %.3f |", wl[w], cl[c],
				      t[key], f[key], tf[key], 100 * ks[key], cpu[key])
			split("glibc mimalloc hakmem/mmap", base, " ")
			for (b = 1; b <= 3; b++) {
				bk = wl[w] SUBSEP base[b]
				row = row ((bk in t) && t[bk] > 0 ? sprintf(" %.2f× |", t[key] / t[bk]) : " |")
			}
			print row (key in failed ? " (" failed[key] " runs FAILED)" : "")
			if (out != "")
				printf "%s\t%s\t%.6f\t%d\t%d\t%.4f\n", wl[w], cl[c], t[key], f[key],
				       tf[key], ks[key] > out
		}
	}
}' "$raw"
