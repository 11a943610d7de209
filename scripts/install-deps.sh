#!/bin/sh
# Install the Debian packages a make target needs, only those missing.
#   scripts/install-deps.sh build|test|bench|kmod|vm|dkms|demo [more groups...]
set -eu

pkgs_build="gcc make libc6-dev"
pkgs_test="$pkgs_build python3 git coreutils bash pkg-config groff-base"
pkgs_bench="$pkgs_build python3 libmimalloc2.0 libjemalloc2 libtcmalloc-minimal4"
# The module is built against, and the test VM boots, Debian's own kernel
# (headers and image go together); the kselftest harness and checkpatch.pl
# come from its source package.
pkgs_kmod="$pkgs_build linux-headers-amd64 linux-image-amd64"
pkgs_vm="$pkgs_kmod linux-source-6.1 qemu-system-x86 busybox-static cpio
	xz-utils file"
pkgs_dkms="dkms"
pkgs_demo="$pkgs_vm $pkgs_bench $pkgs_dkms gnuplot-nox"

want=""
for group in "${@:-build}"; do
	case $group in
	build) want="$want $pkgs_build" ;;
	test) want="$want $pkgs_test" ;;
	bench) want="$want $pkgs_bench" ;;
	kmod) want="$want $pkgs_kmod" ;;
	vm) want="$want $pkgs_vm" ;;
	dkms) want="$want $pkgs_dkms" ;;
	demo) want="$want $pkgs_demo" ;;
	*) echo "install-deps: unknown group '$group' (build, test, bench, kmod, vm, dkms, demo)" >&2; exit 2 ;;
	esac
done

missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing$missing"
[ "$(id -u)" -eq 0 ] || { echo "install-deps: need root to install$missing" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086 # word splitting of the package list is intended
apt-get install -y -q --no-install-recommends $missing ||
	{ apt-get update -q && apt-get install -y -q --no-install-recommends $missing; }
