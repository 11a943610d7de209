#!/bin/sh
# Draw the medians that bench/demo.sh wrote (RESULTS.tsv) as PNG bar charts:
#   bench/demo-plot.sh RESULTS.tsv OUTDIR TITLE
# OUTDIR/time.png: time of each workload relative to the first allocator;
# OUTDIR/faults.png: minor page faults of each workload (all threads and children).
set -eu
tsv=$1 outdir=$2 title=$3
command -v gnuplot >/dev/null || { echo "demo-plot: gnuplot missing" >&2; exit 1; }
mkdir -p "$outdir"

# matrix COLUMN: one row per workload, one column per allocator, header first.
matrix() {
	awk -F'\t' -v col="$1" '
	!($1 in w) { w[$1] = 1; wl[++nw] = $1 }
	!($2 in c) { c[$2] = 1; cl[++nc] = $2 }
	{ v[$1, $2] = $col }
	END {
		printf "workload"
		for (j = 1; j <= nc; j++) printf "\t\"%s\"", cl[j]
		printf "\n"
		for (i = 1; i <= nw; i++) {
			printf "%s", wl[i]
			base = v[wl[i], cl[1]]
			for (j = 1; j <= nc; j++) {
				x = v[wl[i], cl[j]]
				printf "\t%g", col == 3 ? (base > 0 ? x / base : 0) : x
			}
			printf "\n"
		}
	}' "$tsv"
}

ncols=$(cut -f2 "$tsv" | awk '!s[$0]++' | wc -l)
plot() {	# plot DATA PNG YLABEL SETTINGS OFFSET
	gnuplot <<GP
set terminal pngcairo size 1000,520 noenhanced font ",11"
set output "$2"
set title "$title"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set key outside right top
set ylabel "$3"
set grid ytics
set xtics nomirror
$4
plot for [i=2:$((ncols + 1))] "$1" using (column(i) + $5):xtic(1) title columnheader(i)
GP
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
matrix 3 >"$tmp/time"
matrix 4 >"$tmp/faults"
plot "$tmp/time" "$outdir/time.png" "time relative to $(head -1 "$tsv" | cut -f2) (lower is better)" \
	"set yrange [0:*]" 0
# Log scale: plot faults + 1, so that "no fault at all" still shows as a bar of 1.
plot "$tmp/faults" "$outdir/faults.png" "minor page faults + 1, all threads (log scale)" \
	"set logscale y; set yrange [0.5:*]" 1
echo "demo-plot: wrote $outdir/time.png $outdir/faults.png"
