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
chmod 600 /etc/ssh/sshd_config

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

# Everyone's keys, histories and credentials, the tools' logins included
# (the files the credentials step names).
for h in /root /home/*; do
	shred -u "$h"/.ssh/authorized_keys "$h"/.ssh/authorized_keys2 "$h"/.ssh/id_* "$h"/.ssh/*.pem \
		"$h"/.ssh/known_hosts "$h"/.ssh/config 2>/dev/null || true
	shred -u "$h"/.*history "$h"/.viminfo "$h"/.lesshst 2>/dev/null || true
	shred -u "$h"/.aws/credentials "$h"/.docker/config.json "$h"/.git-credentials "$h"/.npmrc \
		"$h"/.m2/settings.xml "$h"/.cargo/credentials.toml "$h"/.config/containers/auth.json \
		"$h"/.config/pip/pip.conf "$h"/.pip/pip.conf "$h"/.config/pypoetry/auth.toml "$h"/.gem/credentials \
		"$h"/.local/share/gem/credentials "$h"/.config/composer/auth.json "$h"/.composer/auth.json \
		"$h"/.yarnrc.yml "$h"/.conan2/credentials.json "$h"/.config/hub "$h"/.config/helm/registry/config.json \
		"$h"/.config/doctl/config.yaml "$h"/.s3cfg "$h"/.boto "$h"/.config/rclone/rclone.conf \
		"$h"/.config/hcloud/cli.toml "$h"/.config/linode-cli "$h"/.vultr-cli.yaml "$h"/.config/scw/config.yaml \
		"$h"/.aliyun/config.json "$h"/.config/openstack/clouds.yaml "$h"/.config/openstack/secure.yaml 2>/dev/null || true
	rm -rf "$h"/.gnupg/private-keys-v1.d "$h"/.aws/cli/cache "$h"/.oci
done

# Logs: rotated ones deleted, the rest emptied.
find /var/log -type f \( -name '*.gz' -o -name '*.[0-9]' -o -name '*.old' \) -exec shred -u {} \;
find /var/log -type f -exec truncate -s 0 {} \;

# Temp files.
rm -rf /tmp/* /tmp/.[!.]* /var/tmp/* /var/tmp/.[!.]*

# Crash dumps and mail of the build.
rm -rf /var/crash/* /var/lib/systemd/coredump/* /var/mail/*

# Identity: machine, network, enrolments.
truncate -s 0 /etc/machine-id
rm -f /var/lib/dbus/machine-id /var/lib/dhcp/*.leases /etc/udev/rules.d/70-persistent-net.rules
rm -f /etc/ssl/private/ssl-cert-snakeoil.key /etc/ssl/certs/ssl-cert-snakeoil.pem
echo localhost >/etc/hostname
sed -i "/[[:space:]]$(hostname)\([[:space:]]\|$\)/d" /etc/hosts
rm -rf /etc/krb5.keytab /var/lib/sss/db/* /etc/puppetlabs/puppet/ssl /etc/chef/client.pem \
	/etc/salt/pki/minion /etc/salt/minion_id /var/lib/amazon/ssm/Vault /var/lib/amazon/ssm/registration

# Stray secrets: a plain grep of the secrets step's patterns (the benchmark
# writes them to /run) over the same trees, listing the files.
grep -rIlE -f /run/ami-harden-bench-pattern /etc /root /home /opt /srv /usr/local /var >/dev/null 2>&1 || true
