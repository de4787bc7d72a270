#!/bin/bash
# Turns a Debian bookworm test target (target.sh up) into the RHEL 9 / Amazon
# Linux 2023 layout: RHEL's sshd_config (Include at the top), 50-redhat.conf
# and its crypto-policies back-end, sshd.service with sshd-keygen@ and
# sshd-keygen.target, /etc/sysconfig/sshd, the ssh_keys group, and EC2
# Instance Connect's sshd.service drop-in with its user. See README.md beside
# this file for the sources and what is adapted for Debian's sshd.
#
#   test/rig/layouts/rhel-9/apply.sh DIR
#
# Run by `target.sh layout DIR rhel-9`, which restarts the test sshd.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
die() { echo "rhel-9/apply.sh: $*" >&2; exit 1; }

[ -n "${1:-}" ] || die "usage: apply.sh DIR"
dir=$(realpath -m "$1")
if [ "$dir" = / ] || [ "$(stat -c %d:%i "$dir")" = "$(stat -c %d:%i /)" ]; then die "refusing this machine's /"; fi
[ -e "$dir/.ami-harden-test-target" ] || die "$dir was not made by target.sh up"

# The overlay: new files are root's, existing directories keep their metadata.
tar -C "$here/files" -cf - . | tar -C "$dir" -xf - --no-same-owner --no-overwrite-dir

# Modes from the spec's %files (openssh 8.7p1-34.el9_3.3).
chmod 0600 "$dir/etc/ssh/sshd_config" "$dir/etc/ssh/sshd_config.d/50-redhat.conf"
chmod 0700 "$dir/etc/ssh/sshd_config.d"
chmod 0640 "$dir/etc/sysconfig/sshd"
chmod 0755 "$dir/usr/libexec/openssh" "$dir/usr/libexec/openssh/sshd-keygen"
chmod 0644 "$dir/usr/lib/systemd/system/sshd.service" "$dir/usr/lib/systemd/system/sshd-keygen@.service" \
	"$dir/usr/lib/systemd/system/sshd-keygen.target"
chmod 0755 "$dir/usr/lib/systemd/system/sshd.service.d" "$dir/usr/lib/systemd/system/sshd-keygen@.service.d"
chmod 0644 "$dir"/usr/lib/systemd/system/sshd.service.d/*.conf "$dir"/usr/lib/systemd/system/sshd-keygen@.service.d/*.conf
# sshd runs an AuthorizedKeysCommand only if it and every directory above it
# are root's and writable by no one else.
chmod 0755 "$dir/opt/aws" "$dir/opt/aws/bin" "$dir/opt/aws/bin/eic_run_authorized_keys"
chmod 0755 "$dir/usr/share/crypto-policies" "$dir/usr/share/crypto-policies/DEFAULT" "$dir/usr/share/crypto-policies/FIPS"
chmod 0644 "$dir"/usr/share/crypto-policies/*/opensshserver.txt

# crypto-policies: the back-end is a link to the policy's file, as
# update-crypto-policies leaves it. The FIPS one waits beside it; a test swaps
# it in with: mv -T opensshserver.config.fips opensshserver.config
install -d -m 0755 "$dir/etc/crypto-policies" "$dir/etc/crypto-policies/back-ends"
ln -sfn /usr/share/crypto-policies/DEFAULT/opensshserver.txt "$dir/etc/crypto-policies/back-ends/opensshserver.config"
ln -sfn /usr/share/crypto-policies/FIPS/opensshserver.txt "$dir/etc/crypto-policies/back-ends/opensshserver.config.fips"

# RHEL's sshd_config names /usr/libexec/openssh/sftp-server; Debian's is here.
ln -sfn /usr/lib/openssh/sftp-server "$dir/usr/libexec/openssh/sftp-server"

# The openssh package's %pre makes the group (groupadd -r ssh_keys), and
# ec2-instance-connect's %pre its user (useradd -r -M -s /sbin/nologin; usermod -L).
chroot "$dir" /usr/bin/getent group ssh_keys >/dev/null || chroot "$dir" /usr/sbin/groupadd -r ssh_keys
if ! chroot "$dir" /usr/bin/getent passwd ec2-instance-connect >/dev/null; then
	chroot "$dir" /usr/sbin/useradd -r -M -s /sbin/nologin ec2-instance-connect
fi
chroot "$dir" /usr/sbin/usermod -L ec2-instance-connect

# Services, linked by hand as systemctl would: Debian's ssh.service and its
# Alias=sshd.service link go (the alias in /etc would hide RHEL's
# sshd.service), RHEL's sshd.service is enabled (WantedBy=multi-user.target).
# sshd-keygen@rsa/ecdsa/ed25519 need no links: sshd.service wants
# sshd-keygen.target, which wants them.
sys=$dir/etc/systemd/system
rm -f "$sys/multi-user.target.wants/ssh.service" "$sys/sshd.service"
mkdir -p "$sys/multi-user.target.wants"
ln -sfn /usr/lib/systemd/system/sshd.service "$sys/multi-user.target.wants/sshd.service"

echo "layout rhel-9: sshd.service enabled (with sshd-keygen.target and the EC2 Instance Connect drop-in), ssh.service disabled, crypto policy DEFAULT"
