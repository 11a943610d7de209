#!/bin/sh
# A module must be built by the compiler that built its kernel:
#   tests/module-compiler.sh MODULE[.ko|.ko.xz] KERNEL_CONFIG
# passes if every compiler the module's .comment names is the one
# CONFIG_CC_VERSION_TEXT of the kernel's configuration names (the version
# in parentheses and after them, e.g. "(Debian 14.2.0-19) 14.2.0").
set -eu
ko=$1 config=$2
want=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="[^(]*\(.*\)"$/\1/p' "$config")
[ -n "$want" ] || { echo "module-compiler: no CONFIG_CC_VERSION_TEXT in $config" >&2; exit 1; }
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
case $ko in
*.xz) xz -dc "$ko" >"$tmp" ;;
*) cat "$ko" >"$tmp" ;;
esac
have=$(readelf -p .comment "$tmp" | sed -n 's/.*GCC: \(.*\)$/\1/p' | sort -u)
[ "$have" = "$want" ] || {
	echo "module-compiler: $ko was built by '$have', its kernel by '$want'" >&2
	exit 1
}
echo "module-compiler: $ko: $have"
