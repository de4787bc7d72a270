#!/bin/bash
# Builds (once) a tarball of a bootable Debian rootfs that acceptance tests and
# the demo unpack into a throwaway directory. Only Debian's packages are used.
#
#   test/rig/rootfs.sh [SUITE]   prints the path of the cached tarball
#
# The cache lives in $AMI_HARDEN_CACHE (default /var/cache/ami-harden) so that
# later runs on the same machine skip the minute debootstrap takes.
set -euo pipefail

suite=${1:-bookworm}
cache=${AMI_HARDEN_CACHE:-/var/cache/ami-harden}
# What a small cloud image has: sshd, sudo for the login user, systemd to boot.
packages=openssh-server,sudo,systemd-sysv,dbus,openssh-client
key=$(printf '%s %s' "$suite" "$packages" | sha256sum | cut -c1-12)
tarball=$cache/rootfs-$suite-$key.tar

if [ -s "$tarball" ]; then
	echo "$tarball"
	exit 0
fi

[ "$(id -u)" -eq 0 ] || { echo "rootfs.sh: must run as root (debootstrap)" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "rootfs.sh: debootstrap is missing (make deps)" >&2; exit 1; }

mkdir -p "$cache"
work=$(mktemp -d "$cache/build.XXXXXX")
trap 'rm -rf --one-file-system "$work"' EXIT
chmod 0755 "$work"
debootstrap --variant=minbase --include="$packages" "$suite" "$work/root" >"$work/debootstrap.log" 2>&1 || {
	tail -n 30 "$work/debootstrap.log" >&2
	exit 1
}
# Leave no host keys or machine-id from the build in the cache: each target
# makes its own, as a freshly launched builder instance would.
rm -f "$work"/root/etc/ssh/ssh_host_*
: >"$work/root/etc/machine-id"
tar -C "$work/root" -cf "$work/rootfs.tar" .
mv "$work/rootfs.tar" "$tarball"
echo "$tarball"
