#!/bin/bash
# Builds (once) a tarball of a bootable Debian rootfs that acceptance tests and
# the demo unpack into a throwaway directory. Only Debian's packages are used.
#
#   test/rig/rootfs.sh [SUITE [EXTRA]]   prints the path of the cached tarball
#
# SUITE is a Debian release (bookworm, trixie). EXTRA is a comma-separated
# list of packages installed with apt-get afterwards (debootstrap cannot
# resolve cloud-init's dependencies itself).
#
# The cache lives in $AMI_HARDEN_CACHE (default /var/cache/ami-harden) so that
# later runs on the same machine skip the minute debootstrap takes.
set -euo pipefail

suite=${1:-bookworm}
extra=${2:-}
cache=${AMI_HARDEN_CACHE:-/var/cache/ami-harden}
# What a small cloud image has: sshd, sudo for the login user, systemd to boot,
# and Debian's ssl-cert (its snakeoil TLS key is made at install time, so
# every image built from it shares one).
packages=openssh-server,sudo,systemd-sysv,dbus,openssh-client,ssl-cert
key=$(printf '%s %s %s' "$suite" "$packages" "$extra" | sha256sum | cut -c1-12)
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
if [ -n "$extra" ]; then
	cp /etc/resolv.conf "$work/root/etc/resolv.conf"
	mount -t proc proc "$work/root/proc"
	trap 'umount "$work/root/proc" 2>/dev/null || true; rm -rf --one-file-system "$work"' EXIT
	# No package's daemon starts during the install: in the chroot it would
	# run on this machine's network (inetd, tftpd). Removed afterwards, so
	# the image is as apt-get leaves it.
	printf '#!/bin/sh\nexit 101\n' >"$work/root/usr/sbin/policy-rc.d"
	chmod 0755 "$work/root/usr/sbin/policy-rc.d"
	if ! chroot "$work/root" /bin/sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(echo "$extra" | tr , ' ')" \
		>"$work/apt.log" 2>&1; then
		tail -n 30 "$work/apt.log" >&2
		exit 1
	fi
	umount "$work/root/proc"
	rm -f "$work/root/usr/sbin/policy-rc.d"
	chroot "$work/root" apt-get clean
	: >"$work/root/etc/resolv.conf"
fi
# Leave no host keys or machine-id from the build in the cache: each target
# makes its own, as a freshly launched builder instance would.
rm -f "$work"/root/etc/ssh/ssh_host_*
: >"$work/root/etc/machine-id"
tar -C "$work/root" -cf "$work/rootfs.tar" .
mv "$work/rootfs.tar" "$tarball"
echo "$tarball"
