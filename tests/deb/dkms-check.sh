#!/bin/sh
# What an installed hakmem-dkms must have done, as root on the system that
# installed it:  sh tests/deb/dkms-check.sh
# DKMS built and installed hakmem.ko for every kernel with headers that the
# module supports (and for no other), each for its own release; and the
# kernel hook builds it again for a kernel that lost it.  Prints a line
# "<release>: <module>" for each kernel.  tests/deb/run.sh runs it on the
# host, tests/deb/root.sh in a build root.
set -eu
fail() { echo "FAIL: $*" >&2; exit 1; }
modules() { ls /lib/modules/"$1"/updates/dkms/hakmem.ko* 2>/dev/null; }

conf=$(ls /usr/src/hakmem-*/dkms.conf 2>/dev/null) || fail "no /usr/src/hakmem-*/dkms.conf"
version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$conf")
supported=$(sed -n 's/^BUILD_EXCLUSIVE_KERNEL="\(.*\)"/\1/p' "$conf")

kernels=""
for build_dir in /lib/modules/*/build; do
	kver=${build_dir#/lib/modules/}
	kver=${kver%/build}
	[ -e "$build_dir/include" ] || continue
	if echo "$kver" | grep -Eq "$supported"; then
		kernels="$kernels $kver"
	else
		! modules "$kver" || fail "hakmem.ko installed for unsupported $kver"
	fi
done
[ -n "$kernels" ] || fail "no installed kernel with headers that the module supports"
dkms status -m hakmem
for kver in $kernels; do
	dkms status -m hakmem -v "$version" -k "$kver" | grep -q ": installed" ||
		fail "dkms: hakmem not installed for $kver"
	ko=$(modules "$kver") || fail "no hakmem.ko in /lib/modules/$kver/updates/dkms"
	modinfo -F vermagic "$ko" | grep -q "^$kver " || fail "$ko is not built for $kver"
	echo "$kver: $ko"
done

# The first kernel loses its module, and the hook (what installing a
# kernel or its headers runs) brings it back.
kver=${kernels# }
kver=${kver%% *}
dkms remove -m hakmem -v "$version" -k "$kver" >/dev/null
! modules "$kver" || fail "dkms remove left hakmem.ko for $kver"
/etc/kernel/postinst.d/hakmem-dkms "$kver" >/dev/null
modules "$kver" || fail "the kernel hook did not install hakmem.ko for $kver"
