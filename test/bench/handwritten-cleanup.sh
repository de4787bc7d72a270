#!/bin/sh
# The hand-written alternative the benchmark measures ami-harden against: what
# teams paste into Packer's shell provisioner today. The commands are the
# guidance's own (../shared/seeds: AWS shared-AMI guidelines, SSH best
# practices, the image-sharing guide), plus what ami-harden's steps add, in
# the idioms such scripts use. It verifies nothing and reports nothing.
# Run as root by `make bench` only, on a throwaway target.
set -e

# sshd: password logins off, root by key only.
sed -i -e 's/^#*PasswordAuthentication.*/PasswordAuthentication no/' \
	-e 's/^#*PermitRootLogin.*/PermitRootLogin without-password/' \
	-e 's/^#*KbdInteractiveAuthentication.*/KbdInteractiveAuthentication no/' \
	-e 's/^#*PermitEmptyPasswords.*/PermitEmptyPasswords no/' /etc/ssh/sshd_config
rm -f /etc/ssh/sshd_config.d/*.conf

# Every password locked.
awk -F: '$2 !~ /^[!*]/ { print $1 }' /etc/shadow | while IFS= read -r u; do
	passwd -l "$u" >/dev/null
done

# Host keys, and new ones at first boot.
shred -u /etc/ssh/*_key /etc/ssh/*_key.pub
cat >/etc/systemd/system/regen-host-keys.service <<'UNIT'
[Unit]
Before=ssh.service
[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A
[Install]
WantedBy=multi-user.target
UNIT
ln -sf /etc/systemd/system/regen-host-keys.service /etc/systemd/system/multi-user.target.wants/

# Everyone's keys, histories and credentials.
for h in /root /home/*; do
	shred -u "$h"/.ssh/authorized_keys "$h"/.ssh/authorized_keys2 "$h"/.ssh/id_* 2>/dev/null || true
	shred -u "$h"/.*history "$h"/.viminfo "$h"/.lesshst 2>/dev/null || true
	shred -u "$h"/.aws/credentials "$h"/.docker/config.json "$h"/.git-credentials 2>/dev/null || true
done

# Logs: rotated ones deleted, the rest emptied.
find /var/log -type f \( -name '*.gz' -o -name '*.[0-9]' -o -name '*.old' \) -exec shred -u {} \;
find /var/log -type f -exec truncate -s 0 {} \;

# Temp files.
rm -rf /tmp/* /tmp/.[!.]* /var/tmp/* /var/tmp/.[!.]*

# Identity.
truncate -s 0 /etc/machine-id
rm -f /var/lib/dbus/machine-id

# Stray secrets: a plain grep of the secrets step's patterns (the benchmark
# writes them to /run) over the same trees, listing the files.
grep -rIlE -f /run/ami-harden-bench-pattern /etc /root /home /opt /srv /usr/local /var >/dev/null 2>&1 || true
