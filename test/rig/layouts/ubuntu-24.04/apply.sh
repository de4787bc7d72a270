#!/bin/bash
# Turns a Debian bookworm test target (target.sh up) into the Ubuntu 24.04
# layout: socket-activated sshd as noble ships it, enabled the way noble's
# openssh-server enables it, and the cloud image's sshd_config.d drop-ins.
# See README.md beside this file for the sources and what is adapted.
#
#   test/rig/layouts/ubuntu-24.04/apply.sh DIR
#
# Run by `target.sh layout DIR ubuntu-24.04`, which restarts the test sshd.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
die() { echo "ubuntu-24.04/apply.sh: $*" >&2; exit 1; }

[ -n "${1:-}" ] || die "usage: apply.sh DIR"
dir=$(realpath -m "$1")
if [ "$dir" = / ] || [ "$(stat -c %d:%i "$dir")" = "$(stat -c %d:%i /)" ]; then die "refusing this machine's /"; fi
[ -e "$dir/.ami-harden-test-target" ] || die "$dir was not made by target.sh up"

# The overlay: new files are root's, existing directories keep their metadata.
tar -C "$here/files" -cf - . | tar -C "$dir" -xf - --no-same-owner --no-overwrite-dir
chmod 0644 "$dir/usr/lib/systemd/system/ssh.socket" "$dir/usr/lib/systemd/system/ssh.service" \
	"$dir/etc/ssh/sshd_config.d/60-cloudimg-settings.conf"
# cloud-init makes its file 0600 (util.ensure_file(fname, 0o600)).
chmod 0600 "$dir/etc/ssh/sshd_config.d/50-cloud-init.conf"

# Enabled by hand, as `systemctl enable ssh.socket` would ([Install]
# WantedBy=sockets.target, RequiredBy=ssh.service) and as noble's postinst
# leaves it: ssh.service is installed --no-enable and disabled on upgrade, so
# neither it nor its Alias=sshd.service is linked.
sys=$dir/etc/systemd/system
rm -f "$sys/multi-user.target.wants/ssh.service" "$sys/sshd.service"
mkdir -p "$sys/sockets.target.wants" "$sys/ssh.service.requires"
ln -sfn /usr/lib/systemd/system/ssh.socket "$sys/sockets.target.wants/ssh.socket"
ln -sfn /usr/lib/systemd/system/ssh.socket "$sys/ssh.service.requires/ssh.socket"

echo "layout ubuntu-24.04: ssh.socket enabled, ssh.service disabled, 50-cloud-init.conf and 60-cloudimg-settings.conf in sshd_config.d"
