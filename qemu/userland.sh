#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Copy dynamically linked programs and libraries into a VM root, with every
# shared library they load, at the same absolute paths as on the host:
#   qemu/userland.sh ROOT FILE...
# FILE may also be a directory: its executables are copied (not recursed).
set -eu
root=$1
shift

copy() {	# copy PATH to ROOT/PATH, following a symlink to its target too
	src=$1
	[ -e "$root$src" ] && return 0
	mkdir -p "$root$(dirname "$src")"
	cp -L "$src" "$root$src"
}

for arg in "$@"; do
	if [ -d "$arg" ]; then
		for f in "$arg"/*; do
			[ -f "$f" ] && [ -x "$f" ] && echo "$f"
		done
	else
		echo "$arg"
	fi
done | while read -r f; do
	f=$(readlink -f "$f")
	copy "$f"
	# ldd prints "name => /path (addr)" and "/lib64/ld-linux... (addr)".
	ldd "$f" 2>/dev/null | awk '/=> \// { print $3 } /^[ \t]*\// { print $1 }' |
		while read -r lib; do
			copy "$lib"
		done
done
