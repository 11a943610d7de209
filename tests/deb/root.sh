#!/bin/sh
# hakmem-dkms on Debian 13, as root:  tests/deb/root.sh ROOT DEB_DIR
# Installs DEB_DIR's hakmem-dkms package (made by `make deb`) in the build
# root ROOT (scripts/build-root.sh) and checks, with tests/deb/dkms-check.sh,
# that DKMS built hakmem.ko there with Debian 13's compiler for each of the
# root's kernels: its own 6.12, 6.18 and the newest, and the newest's -rt;
# each module built by the compiler that built its kernel.
# The root is left as it was: the package goes into an overlay of it, in a
# mount namespace of the test's own, and is gone with it.
set -eu
root=$(cd "$1" && pwd) debs=$(cd "$2" && pwd)
fail() { echo "FAIL: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || fail "run as root (mounts an overlay, chroots)"
deb=$(ls "$debs"/hakmem-dkms_*_all.deb) || fail "no hakmem-dkms package in $debs (make deb)"
[ -f "$root/.complete" ] || fail "$root is not a build root (scripts/install-deps.sh roots)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/upper" "$tmp/work" "$tmp/merged"
cp "$deb" tests/deb/dkms-check.sh "$tmp/"

# In the namespace: the overlay, /proc, then the package and the checks.
cat >"$tmp/in-namespace.sh" <<'EOF'
set -eu
root=$1 tmp=$2 deb=$3
m=$tmp/merged
mount -t overlay overlay -o "lowerdir=$root,upperdir=$tmp/upper,workdir=$tmp/work" "$m"
mount -t proc proc "$m/proc"
mkdir "$m/hakmem-test"
cp "$tmp/$deb" "$tmp/dkms-check.sh" "$m/hakmem-test/"
chroot "$m" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
	DEBIAN_FRONTEND=noninteractive sh -ec "
		apt-get install -y -q --no-install-recommends /hakmem-test/$deb
		sh /hakmem-test/dkms-check.sh"
EOF
unshare --mount --fork sh "$tmp/in-namespace.sh" "$root" "$tmp" "$(basename "$deb")" \
	>"$tmp/log" 2>&1 </dev/null || { cat "$tmp/log"; fail "hakmem-dkms in $root"; }
cat "$tmp/log"
# Each kernel series of the root has its module.
for series in '6\.12\.' '6\.18\.' '7\.[0-9.]*\+deb13-amd64' '-rt-amd64'; do
	grep -Eq "^[^ ]*$series[^ ]*: /lib/modules/" "$tmp/log" ||
		fail "no hakmem.ko for a kernel matching $series in $root"
done
# The overlay's upper layer kept what DKMS installed: each module was built
# by its kernel's compiler, the root's and not the host's.
for ko in "$tmp"/upper/usr/lib/modules/*/updates/dkms/hakmem.ko*; do
	kver=${ko#"$tmp"/upper/usr/lib/modules/}
	kver=${kver%%/*}
	tests/module-compiler.sh "$ko" "$root/usr/src/linux-headers-$kver/.config"
done
echo "deb-root: ok"
