#!/bin/bash
# Turns a Debian bookworm test target (target.sh up) into an Alpine-like
# layout: OpenRC's sshd service (Alpine's /etc/init.d/sshd and
# /etc/conf.d/sshd, enabled in the default runlevel), busybox as /bin/sh, no
# systemd for a script to find, and an sshd that behaves as one built
# without PAM. See README.md beside this file for the sources and what is
# emulated.
#
#   test/rig/layouts/alpine/apply.sh DIR
#
# Run by `target.sh layout DIR alpine`, which restarts the test sshd. The
# image cannot boot with systemd afterwards: `target.sh openrc-boot` starts
# its sshd the OpenRC way instead.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
die() { echo "alpine/apply.sh: $*" >&2; exit 1; }

[ -n "${1:-}" ] || die "usage: apply.sh DIR"
dir=$(realpath -m "$1")
if [ "$dir" = / ] || [ "$(stat -c %d:%i "$dir")" = "$(stat -c %d:%i /)" ]; then die "refusing this machine's /"; fi
[ -e "$dir/.ami-harden-test-target" ] || die "$dir was not made by target.sh up"

# busybox: the host's static one (Debian's busybox-static), and /bin/sh is
# busybox ash, as on Alpine. (In bookworm /bin is a link to /usr/bin.)
[ -x /bin/busybox ] || die "/bin/busybox is missing: apt-get install busybox-static"
install -m 0755 /bin/busybox "$dir/usr/bin/busybox"
chroot "$dir" /usr/bin/busybox true || die "busybox does not run in $dir"
ln -sfn busybox "$dir/usr/bin/sh"

# The overlay: new files are root's, existing directories keep their metadata.
tar -C "$here/files" -cf - . | tar -C "$dir" -xf - --no-same-owner --no-overwrite-dir
chmod 0755 "$dir/etc/init.d/sshd"
chmod 0644 "$dir/etc/conf.d/sshd"
# rc-update add sshd default
install -d -m 0755 "$dir/etc/runlevels" "$dir/etc/runlevels/default"
ln -sfn /etc/init.d/sshd "$dir/etc/runlevels/default/sshd"
# Debian's SysV script for its sshd is not Alpine's.
rm -f "$dir/etc/init.d/ssh" "$dir"/etc/rc[0-6S].d/[SK][0-9][0-9]ssh

# No systemd for a script to find: no systemctl, no /etc/systemd/system.
rm -f "$dir/usr/bin/systemctl" "$dir/usr/sbin/systemctl"
rm -rf --one-file-system "$dir/etc/systemd/system"

# Debian's ssl-cert (its snakeoil key and make-ssl-cert) is not Alpine's either.
rm -f "$dir/etc/ssl/private/ssl-cert-snakeoil.key" "$dir/etc/ssl/certs/ssl-cert-snakeoil.pem" \
	"$dir/usr/sbin/make-ssl-cert"

# An sshd without PAM: UsePAM no, and a wrapper that hides the usepam line of
# sshd -T as a PAM-less build would (README.md).
if [ ! -e "$dir/usr/sbin/sshd.real" ]; then
	mv "$dir/usr/sbin/sshd" "$dir/usr/sbin/sshd.real"
fi
install -m 0755 "$here/sshd-wrapper.sh" "$dir/usr/sbin/sshd"
sed -i 's/^UsePAM yes$/UsePAM no/' "$dir/etc/ssh/sshd_config"
grep -qx 'UsePAM no' "$dir/etc/ssh/sshd_config" || die "sshd_config has no 'UsePAM yes' line to turn off"
if grep -v '^UsePAM no$' "$dir/etc/ssh/sshd_config" | grep -qi '^[[:space:]]*usepam'; then
	die "sshd_config still sets UsePAM somewhere else"
fi

# With UsePAM no, sshd refuses even key logins to an account whose password
# field starts with "!" (locked); Alpine's images leave "*". builder's login
# shell is /bin/sh (busybox ash), as adduser gives on Alpine.
chroot "$dir" /usr/sbin/usermod -p '*' -s /bin/sh builder

echo "layout alpine: OpenRC sshd service (default runlevel), /bin/sh is busybox, no systemctl, sshd without PAM (wrapper over /usr/sbin/sshd.real)"
