#!/bin/sh
# Build roots: a Debian release of its own under build/roots/<suite>, made by
# debootstrap, holding kernel headers with the compiler that built those
# kernels, and the kernels' images and modules for the test VM.  Kernels that
# Debian 12 cannot build for (6.16 and later need Debian 13's gcc-14) are
# built and booted from here; the host's sources.list is never touched.
#
#   scripts/build-root.sh create DIR   make the root (as root), unless DIR
#                                      is complete already
#   scripts/build-root.sh run DIR CMD  run CMD in the root, with /proc
#   scripts/build-root.sh make DIR TREE ARGS
#                                      run make ARGS in TREE (a folder of the
#                                      host's), with the root's compiler
#
# The root is Debian 13 (trixie) with trixie-backports.  It holds:
#   headers   trixie's own 6.12, the newest 6.18 (long-term) and the newest
#             kernel of all, with its PREEMPT_RT flavour, and dkms; the
#             newest kernel is that of the newest linux-image package
#   images    the newest 6.18 and the newest kernel (and -rt), unpacked into
#             the root's /boot and /lib/modules (no initramfs: the test VM
#             makes its own), for `make test-vm`
# A root is made in DIR.tmp and renamed when complete, so that DIR is either
# whole or absent.  HK_DEBIAN_MIRROR chooses the Debian mirror.
set -eu

suite=trixie
mirror=${HK_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# The kernel series besides the newest: the long-term one.
lts_series=6.18

usage() {
	echo "usage: scripts/build-root.sh create DIR | run DIR CMD... | make DIR TREE ARGS..." >&2
	exit 2
}

# Run CMD in the root DIR in a mount namespace of its own, so that its /proc
# goes away with it.
run() {
	root=$1
	shift
	unshare --mount --fork sh -c 'mount -t proc proc "$0/proc" && exec chroot "$0" "$@"' \
		"$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"
}

# make ARGS in the host's folder TREE, mounted at /hakmem in the root DIR.
make_in() {
	dir=$1 tree=$(cd "$2" && pwd)
	shift 2
	mkdir -p "$dir/hakmem"
	unshare --mount --fork sh -c 'mount --bind "$1" "$0/hakmem" && mount -t proc proc "$0/proc" &&
		shift && exec chroot "$0" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
		make -C /hakmem "$@"' "$dir" "$tree" "$@"
}

# The newest release "<release>" of a "linux-image-<release>-amd64" package
# whose release begins with $1 (any release if $1 is empty).
newest() {
	run "$tmp" apt-cache pkgnames linux-image- |
		sed -n "s/^linux-image-\($1[0-9.]*+deb[0-9]*\)-amd64\$/\1/p" |
		sort -V | tail -n 1
}

# Install the headers of kernel $1 (e.g. 7.3.4+deb13-amd64).  The package
# lists of trixie-backports lack the headers of some kernels whose images
# they list (6.18's), while the archive's pool has them: those are fetched
# from the pool, at the image's version, and installed from the files.
install_headers() {
	k=$1 base=${1%-rt-amd64}
	base=${base%-amd64}
	if run "$tmp" apt-cache show "linux-headers-$k" >/dev/null 2>&1; then
		echo "linux-headers-$k"
		return
	fi
	version=$(run "$tmp" apt-cache show "linux-image-$k" | sed -n 's/^Version: //p' | head -n 1)
	flavour=${k#"$base"-}
	common=linux-headers-$base-common
	[ "$flavour" = amd64 ] || common="$common linux-headers-$base-common-rt"
	for p in "linux-headers-$k:amd64" "linux-base-$k:amd64" "linux-kbuild-$base:amd64" \
		$(for c in $common; do echo "$c:all"; done); do
		file=${p%:*}_${version}_${p#*:}.deb
		curl -fsS -o "$tmp/var/cache/hakmem/$file" "$mirror/pool/main/l/linux/$file" ||
			{ echo "build-root: $file is neither listed nor in $mirror/pool" >&2; exit 1; }
		echo "/var/cache/hakmem/$file"
	done
}

create() {
	dir=$1
	[ ! -e "$dir/.complete" ] || exit 0
	[ "$(id -u)" -eq 0 ] || { echo "build-root: need root to make $dir" >&2; exit 1; }
	command -v debootstrap >/dev/null ||
		{ echo "build-root: debootstrap is missing (scripts/install-deps.sh roots)" >&2; exit 1; }
	tmp=$dir.tmp
	rm -rf "$tmp"
	mkdir -p "$(dirname "$dir")"
	echo "build-root: debootstrap $suite into $tmp"
	debootstrap --variant=minbase "$suite" "$tmp" "$mirror" >"$tmp.log" 2>&1 ||
		{ tail -n 20 "$tmp.log" >&2; exit 1; }
	cat >"$tmp/etc/apt/sources.list.d/backports.sources" <<-EOF
	Types: deb
	URIs: $mirror
	Suites: $suite-backports
	Components: main
	Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	EOF
	run "$tmp" apt-get update -q >>"$tmp.log"

	own=$(run "$tmp" apt-cache pkgnames linux-headers-6.12. |
		sed -n 's/^linux-headers-\(6\.12\.[0-9]*+deb[0-9]*\)-amd64$/\1/p' | sort -V | tail -n 1)
	lts=$(newest "$lts_series.")
	latest=$(newest "")
	for rel in "$own" "$lts" "$latest"; do
		[ -n "$rel" ] || { echo "build-root: a kernel series is missing from $mirror" >&2; exit 1; }
	done
	booted="$lts-amd64 $latest-amd64 $latest-rt-amd64"
	echo "build-root: headers for $own-amd64 $booted; images of $booted"
	mkdir -p "$tmp/var/cache/hakmem"
	pkgs="make dkms"
	for k in "$own-amd64" $booted; do
		pkgs="$pkgs $(install_headers "$k")"
	done
	# shellcheck disable=SC2086 # one word per package
	run "$tmp" apt-get install -y -q --no-install-recommends $pkgs >>"$tmp.log" 2>&1 ||
		{ tail -n 20 "$tmp.log" >&2; exit 1; }
	rm -f "$tmp"/var/cache/hakmem/*.deb

	# A kernel's files are in linux-image-<release> up to 6.18, later in
	# linux-binary-<release> and linux-modules-<release> beside it.
	for k in $booted; do
		for p in linux-image linux-binary linux-modules; do
			run "$tmp" apt-cache show "$p-$k" >/dev/null 2>&1 || continue
			run "$tmp" sh -c "cd /var/cache/hakmem && apt-get download -q $p-$k" \
				>>"$tmp.log" 2>&1
		done
	done
	for deb in "$tmp"/var/cache/hakmem/*.deb; do
		dpkg-deb -x "$deb" "$tmp"
	done
	rm -rf "$tmp/var/cache/hakmem" "$tmp/var/cache/apt/archives"/*.deb
	# Images of the newer layout are /usr/lib/modules/<release>/vmlinuz,
	# which their postinst links into /boot.
	for k in $booted; do
		[ -e "$tmp/boot/vmlinuz-$k" ] || [ ! -f "$tmp/usr/lib/modules/$k/vmlinuz" ] ||
			ln -s "../usr/lib/modules/$k/vmlinuz" "$tmp/boot/vmlinuz-$k"
		[ -f "$tmp/boot/vmlinuz-$k" ] && [ -d "$tmp/lib/modules/$k/kernel" ] ||
			{ echo "build-root: no image for $k" >&2; exit 1; }
	done
	touch "$tmp/.complete"
	rm -rf "$dir"
	mv "$tmp" "$dir"
	rm -f "$tmp.log"
	echo "build-root: $dir is ready"
}

[ $# -ge 2 ] || usage
case $1 in
create) create "$2" ;;
run) shift; run "$@" ;;
make) [ $# -ge 3 ] || usage; shift; make_in "$@" ;;
*) usage ;;
esac
