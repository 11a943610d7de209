#!/bin/sh
# Install the Debian packages a job needs, only those missing.  The only
# place that installs anything; scripts/run calls it, make targets never do.
#   scripts/install-deps.sh GROUP...
# Groups: build, kmod, kernels, roots, vm, dkms, deb (`make deb`, the Debian
# packages), bench, mbench (`make bench-mimalloc`: mimalloc-bench's build
# and /usr/bin/time), test (everything `make test` needs), demo (everything
# `make demo` needs).
# "roots" (part of vm and test) also makes the Debian 13 build root,
# build/roots/trixie (scripts/build-root.sh): the kernels from 6.16 on, and
# the compiler that built them.
set -eu

pkgs_build="gcc make libc6-dev"
# The module builds against a kernel's headers.  "kernels" are the kernels
# the test VM boots: Debian 12's 6.1, its 6.12 backport and the 6.12
# PREEMPT_RT flavour, each image with its headers (meta-packages, so that
# security updates move them together).
pkgs_kmod="$pkgs_build linux-headers-amd64"
pkgs_kernels="linux-image-amd64 linux-headers-amd64
	linux-image-6.12-amd64 linux-headers-6.12-amd64
	linux-image-6.12-rt-amd64 linux-headers-6.12-rt-amd64"
# The Debian 13 build root (scripts/build-root.sh) and what it runs.
pkgs_roots="debootstrap curl util-linux xz-utils binutils"
# The kselftest harness and checkpatch.pl come from the 6.1 source package.
pkgs_vm="$pkgs_build $pkgs_kernels $pkgs_roots linux-source-6.1 qemu-system-x86
	busybox-static cpio xz-utils file"
pkgs_dkms="dkms"
# debhelper's dh sequencer with its DKMS addon, run by dpkg-buildpackage;
# lintian checks the result when it is installed.
pkgs_deb="$pkgs_build $pkgs_dkms debhelper dh-dkms dpkg-dev fakeroot lintian"
pkgs_bench="$pkgs_build python3 libmimalloc2.0 libjemalloc2 libtcmalloc-minimal4"
pkgs_mbench="$pkgs_bench cmake g++ time git"
pkgs_test="$pkgs_build $pkgs_vm $pkgs_deb g++ python3 git coreutils bash pkg-config groff-base"
pkgs_demo="$pkgs_vm $pkgs_bench $pkgs_dkms gnuplot-nox"

want="" roots=""
for group in "${@:-build}"; do
	case $group in
	build | kmod | kernels | roots | vm | dkms | deb | bench | mbench | test | demo)
		eval "want=\"\$want \$pkgs_$group\"" ;;
	*) echo "install-deps: unknown group '$group'" \
		"(build, kmod, kernels, roots, vm, dkms, deb, bench, mbench, test, demo)" >&2
	   exit 2 ;;
	esac
	case $group in
	roots | vm | test) roots=yes ;;
	esac
done

# After the packages: debootstrap is one of them.
make_roots() {
	[ -z "$roots" ] || sh "$(dirname "$0")/build-root.sh" create "$(dirname "$0")/../build/roots/trixie"
}

missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
if [ -z "$missing" ]; then
	make_roots
	exit 0
fi

echo "install-deps: installing$missing"
[ "$(id -u)" -eq 0 ] || { echo "install-deps: need root to install$missing" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086 # word splitting of the package list is intended
apt-get install -y -q --no-install-recommends $missing ||
	{ apt-get update -q && apt-get install -y -q --no-install-recommends $missing; }
make_roots
