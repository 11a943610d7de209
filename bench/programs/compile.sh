#!/bin/sh
# SPDX-License-Identifier: MIT
# gcc -O2 on a generated translation unit of many small functions and
# tables: cc1's own allocation pattern.  A bench/run.py workload.
set -e
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
awk 'BEGIN {
	for (i = 0; i < 600; i++) {
		printf "struct r%d { int a[%d]; double d; const char *s; };\n", i, i % 13 + 1
		printf "static const struct r%d t%d[] = { { { %d }, %d.5, \"t%d\" } };\n", i, i, i, i, i
		printf "int f%d(int x) {\n\tint r = 0;\n", i
		printf "\tfor (int k = 0; k < %d; k++)\n\t\tr += t%d[0].a[k %% %d] * x + k;\n", i % 17 + 2, i, i % 13 + 1
		printf "\tswitch (x & 3) {\n\tcase 0: r ^= %d; break;\n\tcase 1: r += (int)t%d[0].d; break;\n", i, i
		printf "\tdefault: r -= t%d[0].s[1];\n\t}\n\treturn r;\n}\n", i
	}
}' >"$scratch/gen.c"
gcc -O2 -c "$scratch/gen.c" -o "$scratch/gen.o"
