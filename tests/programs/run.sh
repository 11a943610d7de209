#!/bin/sh
# Real programs must behave identically with the allocator preloaded.
#
#   tests/programs/run.sh SO [PROGRAM...]
#
# PROGRAM is any of python gcc gxx git sort bash (default: all).  Each workload
# runs twice in the same scratch directory, once without and once with
# LD_PRELOAD=SO (inherited by every child: cc1, as, ld, git helpers...), and
# its stdout, stderr and exit status must be byte-identical.  Every run has a
# timeout, so a hang is a failure.  Exits non-zero if anything failed.
set -u

TIMEOUT=120

die() {
	echo "FAIL: $*" >&2
	exit 1
}

[ $# -ge 1 ] || die "usage: $0 SO [python|gcc|git|sort|bash...]"
so=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
self="$here/$(basename "$0")"

# ------------------------------------------------------------------
# Workloads.  Each runs in the current directory (the scratch directory)
# and writes its results to stdout.  When called, LD_PRELOAD is already set
# (or not).

work_python() {
	PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1 python3 "$here/workload.py"
}

# A generated translation unit big enough to keep cc1 busy for a while.
generate_c() {
	awk 'BEGIN {
		n = 600
		for (i = 0; i < n; i++) {
			printf "static const char *s%d[] = { \"%d-a\", \"%d-bb\", \"%d-ccc\" };\n", i, i, i * 7, i * 13
			printf "static unsigned long f%d(unsigned long x) {\n", i
			printf "\tswitch (x %% 5) {\n"
			for (c = 0; c < 5; c++)
				printf "\tcase %d: x = x * %d + %d; break;\n", c, i + c + 3, c * i
			printf "\t}\n\tfor (int k = 0; k < 3; k++) x ^= (unsigned long)s%d[k][0] << k;\n", i
			printf "\treturn x;\n}\n"
		}
		printf "unsigned long generated_checksum(void);\n"
		printf "unsigned long generated_checksum(void) {\n\tunsigned long x = 1;\n"
		for (i = 0; i < n; i++)
			printf "\tx = f%d(x);\n", i
		printf "\treturn x;\n}\n"
	}' >gen.c
}

work_gcc() {
	cp "$here/sample.c" sample.c
	generate_c
	gcc -O2 -g -Wall -c sample.c -o sample.o &&
	gcc -O2 -g -c gen.c -o gen.o &&
	gcc -O0 -g -S gen.c -o gen.s &&
	gcc -o prog sample.o gen.o &&
	./prog &&
	sha256sum sample.o gen.o gen.s
}

# cc1plus and the program it builds both allocate through operator new.
work_gxx() {
	g++ -std=gnu++17 -O2 -g -Wall -o sample-cc "$here/sample.cc" &&
	./sample-cc &&
	g++ -std=gnu++17 -O1 -S "$here/sample.cc" -o sample.s &&
	sha256sum sample.s
}

work_git() {
	mkdir home repo
	export HOME="$PWD/home" GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
	export GIT_AUTHOR_NAME="Test Author" GIT_AUTHOR_EMAIL=author@example.com
	export GIT_COMMITTER_NAME="Test Committer" GIT_COMMITTER_EMAIL=committer@example.com
	cd repo || return 1
	git init -q -b main . || return 1
	i=1
	while [ "$i" -le 25 ]; do
		GIT_AUTHOR_DATE="$((1700000000 + i * 86400)) +0000"
		GIT_COMMITTER_DATE="$((1700000000 + i * 86400 + 60)) +0000"
		export GIT_AUTHOR_DATE GIT_COMMITTER_DATE
		seq "$i" $((i * 200)) >"numbers-$((i % 5)).txt"
		awk -v n="$i" 'BEGIN { for (k = 0; k < 2000 * n; k++) printf "line %d of commit %d\n", k, n }' >big.txt
		if [ $((i % 7)) -eq 0 ]; then
			git rm -q -f "numbers-$((i % 5)).txt" || return 1
		else
			git add -A || return 1
		fi
		git commit -q -m "commit $i" -m "Body of commit $i." || return 1
		i=$((i + 1))
	done
	git checkout -q -b side HEAD~5 && echo side >side.txt && git add side.txt &&
	git commit -q -m "side branch" && git checkout -q main &&
	git merge -q --no-ff -m "merge side" side || return 1
	git -c pack.threads=2 gc -q || return 1
	git fsck --no-progress || return 1
	git log --graph --stat --format='%H %an <%ae> %ad %cd%n%s%n%b' --date=iso-strict
	git rev-parse HEAD
	git log -p | sha256sum
	git diff --stat HEAD~10 HEAD
	git blame -s numbers-3.txt | sha256sum
}

work_sort() {
	awk 'BEGIN {
		x = 12345
		for (i = 0; i < 200000; i++) {
			x = (x * 1103515245 + 12345) % 2147483648
			printf "%08x %d word%d %s\n", x, x % 100000, i % 977, substr("abcdefghijklmnopqrstuvwxyz", x % 26 + 1, x % 13 + 1)
		}
	}' >input.txt
	wc -c <input.txt
	mkdir tmp
	LC_ALL=C sort input.txt | sha256sum &&
	LC_ALL=C sort -k2,2n -k1,1 input.txt | sha256sum &&
	LC_ALL=C sort -r -k3,3 -k4 input.txt | sha256sum &&
	LC_ALL=C sort --parallel=2 -S 1M -T tmp input.txt | sha256sum &&
	LC_ALL=C sort -u -k3,3 input.txt | wc -l &&
	LC_ALL=C sort -k2,2n input.txt | head -n 3
}

work_bash() {
	bash "$here/strings.bash"
}

# ------------------------------------------------------------------
# Harness

# Internal entry point: run one workload in the current directory.
if [ "$so" = "--work" ]; then
	"work_$1"
	exit $?
fi

# Install a missing tool; if that fails the test fails.
need() {
	command -v "$1" >/dev/null 2>&1 && return 0
	echo "$1 missing, installing package $2"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >/dev/null 2>&1 ||
		die "cannot install $2 (needed for $1)"
	command -v "$1" >/dev/null 2>&1 || die "$1 still missing after installing $2"
}

[ -f "$so" ] || die "no such library: $so"
so=$(readlink -f "$so")
need timeout coreutils
need sha256sum coreutils
need awk gawk

# ld.so only warns when a preload cannot be loaded and runs the program
# anyway, so check that the library really is mapped and that loading it is
# silent.  cat must read /proc/self/maps itself: "self" is the preloaded cat.
# shellcheck disable=SC2002
LD_PRELOAD=$so cat /proc/self/maps | grep -qF "$so" ||
	die "$so is not mapped into a process started with LD_PRELOAD=$so"
noise=$(LD_PRELOAD=$so true 2>&1)
[ -z "$noise" ] || die "preloading $so prints: $noise"

work=$(mktemp -d "${TMPDIR:-/tmp}/hakmem-programs.XXXXXX") || die "mktemp failed"
trap 'rm -rf "$work"' EXIT INT TERM

# run_once PROGRAM MODE: run the workload in a fresh scratch directory (the
# same path both times, so paths embedded in outputs match) and keep its
# stdout, stderr and exit status under $work/MODE.
run_once() {
	rm -rf "$work/scratch"
	mkdir -p "$work/scratch" "$work/$2"
	if [ "$2" = preload ]; then
		(cd "$work/scratch" &&
			timeout -k 10 $TIMEOUT env LD_PRELOAD="$so" "$self" --work "$1")
	else
		(cd "$work/scratch" &&
			timeout -k 10 $TIMEOUT env -u LD_PRELOAD "$self" --work "$1")
	fi >"$work/$2/out" 2>"$work/$2/err"
	echo $? >"$work/$2/status"
}

check_program() {
	prog=$1
	case $prog in
	python) need python3 python3 ;;
	gcc) need gcc gcc ;;
	gxx) need g++ g++ ;;
	git) need git git ;;
	sort) need sort coreutils ;;
	bash) need bash bash ;;
	*) echo "FAIL: unknown program $prog"; return 1 ;;
	esac

	run_once "$prog" base
	run_once "$prog" preload
	base_status=$(cat "$work/base/status") pre_status=$(cat "$work/preload/status")
	ok=1
	if [ "$base_status" -ne 0 ]; then
		echo "FAIL $prog: the run without preload failed (status $base_status)"
		tail -n 20 "$work/base/err"
		ok=0
	fi
	if [ "$pre_status" -ne "$base_status" ]; then
		echo "FAIL $prog: exit status $pre_status with preload, $base_status without" \
			"(124/137 = timeout after ${TIMEOUT}s)"
		tail -n 20 "$work/preload/err"
		ok=0
	fi
	for stream in out err; do
		if ! cmp -s "$work/base/$stream" "$work/preload/$stream"; then
			echo "FAIL $prog: std$stream differs with preload (- glibc, + preload):"
			diff -u "$work/base/$stream" "$work/preload/$stream" | head -n 40
			ok=0
		fi
	done
	if [ $ok -eq 1 ]; then
		echo "ok $prog ($(wc -l <"$work/base/out") lines of identical output)"
		return 0
	fi
	return 1
}

[ $# -gt 0 ] || set -- python gcc gxx git sort bash
status=0
for prog in "$@"; do
	check_program "$prog" || status=1
done
exit $status
