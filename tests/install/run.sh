#!/bin/sh
# make install into a staging root, then use what was installed the three
# ways users do: the wrapper, a shared link via pkg-config, a static link.
set -eu
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
prefix=/usr/local
cc=${CC:-cc}

make --no-print-directory -s install DESTDIR="$root" PREFIX="$prefix"
for f in lib/libhakmem.so lib/libhakmem.so.0 lib/libhakmem.a include/hakmem.h \
	lib/pkgconfig/hakmem.pc bin/hakmem share/man/man7/hakmem.7; do
	[ -e "$root$prefix/$f" ] || { echo "not installed: $prefix/$f"; exit 1; }
done

# The wrapper preloads the installed library.
"$root$prefix/bin/hakmem" cat /proc/self/maps | grep -q "$root$prefix/lib/libhakmem" ||
	{ echo "wrapper did not preload libhakmem"; exit 1; }
# After "--" any program runs so, also one named like a subcommand.
mkdir "$root/bin"
# shellcheck disable=SC2016 # the script expands it
printf '#!/bin/sh\necho "$LD_PRELOAD"\n' >"$root/bin/status"
chmod +x "$root/bin/status"
PATH="$root/bin:$PATH" "$root$prefix/bin/hakmem" -- status | grep -q "$root$prefix/lib/libhakmem" ||
	{ echo "wrapper did not run a program named status after --"; exit 1; }
# `hakmem status` shows the module, or says that it is not loaded.
if [ -d /sys/class/misc/hakmem/stats ]; then
	"$root$prefix/bin/hakmem" status | grep -q "^pool, MiB" ||
		{ echo "hakmem status shows no pools"; exit 1; }
elif "$root$prefix/bin/hakmem" status 2>/dev/null; then
	echo "hakmem status succeeded without the module"
	exit 1
fi

export PKG_CONFIG_PATH="$root$prefix/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$root"
flags=$(pkg-config --cflags --libs hakmem)
# shellcheck disable=SC2086 # pkg-config output is a list of flags
$cc -o "$root/linked-shared" tests/install/linked.c $flags
LD_LIBRARY_PATH="$root$prefix/lib" "$root/linked-shared"

$cc -static -o "$root/linked-static" tests/install/linked.c -I"$root$prefix/include" \
	"$root$prefix/lib/libhakmem.a" -pthread
"$root/linked-static"

man -l "$root$prefix/share/man/man7/hakmem.7" >/dev/null 2>&1 ||
	groff -man -Tutf8 "$root$prefix/share/man/man7/hakmem.7" >/dev/null ||
	{ echo "man page does not render"; exit 1; }
echo "install: ok"
