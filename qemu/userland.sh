#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Put dynamically linked programs and libraries into a VM root:
#   qemu/userland.sh ROOT DIR FILE...
# Each FILE goes to ROOT/DIR/ (a directory FILE: its executables, to
# ROOT/DIR/<its name>/); every shared library they load goes to ROOT at
# the same absolute path as on the host, where the VM's ld.so looks.
set -eu
root=$1 dir=$2
shift 2

deps() {	# copy the shared libraries FILE loads
	ldd "$1" 2>/dev/null | awk '/=> \// { print $3 } /^[ \t]*\// { print $1 }' |
		while read -r lib; do
			[ -e "$root$lib" ] && continue
			mkdir -p "$root$(dirname "$lib")"
			cp -L "$lib" "$root$lib"
		done
}

put() {		# put FILE DEST: copy FILE and its libraries
	mkdir -p "$(dirname "$2")"
	cp -L "$1" "$2"
	deps "$1"
}

for arg in "$@"; do
	if [ -d "$arg" ]; then
		for f in "$arg"/*; do
			[ -f "$f" ] && [ -x "$f" ] && put "$f" "$root$dir/$(basename "$arg")/$(basename "$f")"
		done
	else
		put "$arg" "$root$dir/$(basename "$arg")"
	fi
done
