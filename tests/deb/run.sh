#!/bin/sh
# The Debian packages end to end, as root:  tests/deb/run.sh [BUILD_DIR]
# Builds them (make deb), installs them, checks each package's files, that
# DKMS built hakmem.ko for every installed kernel the module supports and
# that the kernel hook rebuilds it, links a program against the installed
# library, checks that kernels the module does not support install cleanly,
# then purges the packages and checks that nothing is left.  The machine
# ends as it started: the test refuses to run over an existing hakmem
# installation, and its trap removes what it added if a check fails.
set -eu
build=${1:-build}
pkgs="hakmem-dkms libhakmem-dev libhakmem0"
version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' kmod/dkms.conf)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
libdir=/usr/lib/$multiarch
# Releases outside 6.1 to 7.3, above and below, with a fake headers tree.
fakes="7.4.0-0-fake-amd64 5.10.0-0-fake-amd64"
start=$(date +%s)

step() { echo "== $* ($(( $(date +%s) - start ))s)"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"; }
dkms_has() { dkms status -m hakmem 2>/dev/null | grep -q .; }
modules() { ls /lib/modules/"$1"/updates/dkms/hakmem.ko* 2>/dev/null; }

[ "$(id -u)" -eq 0 ] || fail "run as root (installs packages)"
for p in $pkgs; do
	! installed "$p" || fail "$p is installed already; purge it first"
done
! dkms_has || fail "dkms already has hakmem (make dkms-install?); dkms remove it first"
for rel in $fakes; do
	if [ -e "/lib/modules/$rel" ] || [ -e "/usr/src/linux-headers-$rel" ]; then
		fail "$rel exists already"
	fi
done

tmp=$(mktemp -d)
# dkms makes a module signing key on its first build; drop it if it is ours.
mok_before=$(ls /var/lib/dkms/mok.key /var/lib/dkms/mok.pub 2>/dev/null || true)
# The package creates the "hakmem" group and keeps it on purge; so does the
# test only if it was there before.
group_before=$(getent group hakmem || true)
cleanup() {
	rc=$?
	for rel in $fakes; do
		rm -rf "/lib/modules/$rel" "/usr/src/linux-headers-$rel"
	done
	for p in $pkgs; do
		if dpkg-query -W "$p" >/dev/null 2>&1; then
			apt-get purge -y -q "$p" >/dev/null 2>&1 || true
		fi
	done
	[ -n "$mok_before" ] || rm -f /var/lib/dkms/mok.key /var/lib/dkms/mok.pub
	[ -n "$group_before" ] || ! getent group hakmem >/dev/null || delgroup --system --quiet hakmem
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

step "make deb"
make --no-print-directory deb BUILD="$build"

step "apt-get install $build/deb/*.deb"
DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$PWD/$build"/deb/*.deb
for p in $pkgs; do
	installed "$p" || fail "$p not installed"
done

step "the hakmem group owns /dev/hakmem"
getent group hakmem >/dev/null || fail "no hakmem group"
grep -q 'GROUP="hakmem", MODE="0666"' /lib/udev/rules.d/60-hakmem.rules ||
	fail "the udev rule does not give /dev/hakmem to everyone, with the hakmem group"

step "dpkg -L: each package's files"
expect() {
	pkg=$1
	shift
	dpkg -L "$pkg" >"$tmp/list"
	for f; do
		grep -qx "$f" "$tmp/list" || fail "$pkg does not list $f"
		[ -e "$f" ] || fail "$pkg lists $f, but it is missing"
		echo "$pkg: $f"
	done
}
expect libhakmem0 "$libdir/libhakmem.so.$version" "$libdir/libhakmem.so.0"
expect libhakmem-dev "$libdir/libhakmem.so" "$libdir/libhakmem.a" \
	"$libdir/pkgconfig/hakmem.pc" /usr/include/hakmem.h /usr/bin/hakmem \
	/usr/share/man/man7/hakmem.7.gz
expect hakmem-dkms "/usr/src/hakmem-$version/dkms.conf" "/usr/src/hakmem-$version/Makefile" \
	"/usr/src/hakmem-$version/uapi/linux/hakmem.h" /lib/udev/rules.d/60-hakmem.rules \
	/etc/modprobe.d/hakmem.conf /etc/kernel/postinst.d/hakmem-dkms \
	/etc/kernel/header_postinst.d/hakmem-dkms
[ "$(readlink "$libdir/libhakmem.so.0")" = "libhakmem.so.$version" ] ||
	fail "libhakmem.so.0 does not point to libhakmem.so.$version"

step "dkms: hakmem.ko for every installed kernel it supports; the kernel hook"
sh tests/deb/dkms-check.sh

step "link against the installed library (pkg-config)"
cc=${CC:-cc}
# shellcheck disable=SC2046 # pkg-config output is a list of flags
$cc -o "$tmp/linked" tests/install/linked.c $(pkg-config --cflags --libs hakmem)
# ld.so may find it through /lib, the usrmerge symlink to /usr/lib.
linked=$(ldd "$tmp/linked" | sed -n 's/^[[:space:]]*libhakmem\.so\.0 => \([^ ]*\) .*/\1/p')
[ "$(readlink -f "$linked")" = "$libdir/libhakmem.so.$version" ] ||
	fail "linked to '$linked', not $libdir/libhakmem.so.0"
"$tmp/linked"
# shellcheck disable=SC2046
$cc -static -o "$tmp/linked-static" tests/install/linked.c \
	$(pkg-config --static --cflags --libs hakmem)
"$tmp/linked-static"
hakmem cat /proc/self/maps | grep -q "$libdir/libhakmem.so.$version" ||
	fail "the hakmem wrapper did not preload $libdir/libhakmem.so.$version"
echo "linked (shared and static) and the wrapper use $libdir/libhakmem.so.$version"

step "unsupported kernels install cleanly: $fakes"
for rel in $fakes; do
	mkdir -p "/usr/src/linux-headers-$rel/include" "/lib/modules/$rel"
	ln -s "/usr/src/linux-headers-$rel" "/lib/modules/$rel/build"
	# What the headers' and the image's postinst run (the image's other
	# hooks, initramfs-tools, have nothing to do with hakmem).
	run-parts --report --exit-on-error --arg="$rel" /etc/kernel/header_postinst.d ||
		fail "header_postinst.d failed for $rel"
	for hook in dkms hakmem-dkms; do
		"/etc/kernel/postinst.d/$hook" "$rel" || fail "postinst.d/$hook failed for $rel"
	done
	dkms autoinstall -k "$rel" || fail "dkms autoinstall -k $rel failed"
	# For a kernel without the module, dkms status says only "added".
	! dkms status -m hakmem -k "$rel" | grep -qF "$rel" || fail "dkms has hakmem for $rel"
	! ls -d /var/lib/dkms/hakmem/*/"$rel" 2>/dev/null || fail "dkms built hakmem for $rel"
	! modules "$rel" || fail "hakmem.ko installed for $rel"
	echo "$rel: exit 0, no module"
	rm -rf "/lib/modules/$rel" "/usr/src/linux-headers-$rel"
done

step "apt-get purge $pkgs"
# shellcheck disable=SC2086 # a list of packages
DEBIAN_FRONTEND=noninteractive apt-get purge -y -q $pkgs
for p in $pkgs; do
	! dpkg-query -W "$p" >/dev/null 2>&1 || fail "$p still known to dpkg"
done
! dkms_has || fail "dkms still has hakmem"
for f in /usr/src/hakmem-* /var/lib/dkms/hakmem /lib/modules/*/updates/dkms/hakmem.ko* \
	"$libdir"/libhakmem* /usr/include/hakmem.h /usr/bin/hakmem /etc/modprobe.d/hakmem.conf \
	/lib/udev/rules.d/60-hakmem.rules /etc/kernel/postinst.d/hakmem-dkms \
	/etc/kernel/header_postinst.d/hakmem-dkms; do
	if [ -e "$f" ] || [ -L "$f" ]; then
		fail "left behind: $f"
	fi
done
step "deb: ok"
