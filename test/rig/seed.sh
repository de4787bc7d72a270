#!/bin/sh
# Runs INSIDE a test target's chroot (target.sh seed): puts there what a shared
# image must not ship. Every secret carries the word AMIHARDENSECRET so that a
# test can look for it in the files, in Packer's output and in the raw disk.
set -eu

secret() { printf 'AMIHARDENSECRET %s\n' "$1"; }

# sshd: a cloud image drop-in that turns password logins on, read before
# anything appended to sshd_config would be.
mkdir -p /etc/ssh/sshd_config.d
printf 'PasswordAuthentication yes\nKbdInteractiveAuthentication yes\n' >/etc/ssh/sshd_config.d/50-cloudimg-settings.conf
printf 'PermitRootLogin yes\n' >>/etc/ssh/sshd_config

# Accounts: one with a home outside /home, with a space in its path.
useradd -m -s /bin/bash alice
mkdir -p '/srv/app data'
useradd -d '/srv/app data/svc' -m -s /bin/sh svc
useradd -M -s /bin/sh emptypw
# Passwords: usable ones, and an empty one.
echo 'root:rootpw' | chpasswd
echo 'builder:builderpw' | chpasswd
echo 'alice:alicepw' | chpasswd
usermod -p '' emptypw

for home in /root /home/builder /home/alice '/srv/app data/svc'; do
	owner=$(stat -c %u:%g "$home")
	mkdir -p "$home/.ssh" "$home/.aws" "$home/.docker"
	secret "authorized key in $home" >>"$home/.ssh/authorized_keys"
	secret "authorized key 2 in $home" >"$home/.ssh/authorized_keys2"
	secret "private key in $home" >"$home/.ssh/id_rsa"
	secret "ed25519 key in $home" >"$home/.ssh/id_ed25519"
	secret "public key in $home" >"$home/.ssh/id_ed25519.pub"
	for h in .bash_history .python_history .mysql_history .psql_history .viminfo .zsh_history; do
		secret "history $h in $home" >"$home/$h"
	done
	secret "aws in $home" >"$home/.aws/credentials"
	secret "docker in $home" >"$home/.docker/config.json"
	secret "git in $home" >"$home/.git-credentials"
	# Key material beyond id_*: any private key, known hosts, client config.
	printf -- '-----BEGIN OPENSSH PRIVATE KEY-----\n%s\n-----END OPENSSH PRIVATE KEY-----\n' "$(secret "deploy key in $home")" >"$home/.ssh/deploy"
	secret "pem in $home" >"$home/.ssh/server.pem"
	secret "known hosts in $home" >"$home/.ssh/known_hosts"
	secret "ssh config in $home" >"$home/.ssh/config"
	mkdir -p "$home/.gnupg/private-keys-v1.d" "$home/.aws/cli/cache" "$home/.m2" "$home/.cargo" "$home/.config/containers"
	secret "gpg key in $home" >"$home/.gnupg/private-keys-v1.d/0123.key"
	secret "aws cli cache in $home" >"$home/.aws/cli/cache/token.json"
	secret "maven in $home" >"$home/.m2/settings.xml"
	secret "cargo in $home" >"$home/.cargo/credentials.toml"
	secret "containers in $home" >"$home/.config/containers/auth.json"
	# Tools that keep a login in a file of their own (credentials.sh names
	# them, with each tool's documentation): package indexes, clouds, storage.
	for f in .config/pip/pip.conf .pip/pip.conf .config/pypoetry/auth.toml .gem/credentials \
		.local/share/gem/credentials .config/composer/auth.json .composer/auth.json .yarnrc.yml \
		.conan2/credentials.json .config/hub .config/helm/registry/config.json .config/doctl/config.yaml \
		.oci/config .oci/oci_api_key.pem .oci/sessions/DEFAULT/token .s3cfg .boto .config/rclone/rclone.conf \
		.config/hcloud/cli.toml .config/linode-cli .vultr-cli.yaml .config/scw/config.yaml .aliyun/config.json \
		.config/openstack/clouds.yaml .config/openstack/secure.yaml; do
		mkdir -p "$home/$(dirname "$f")"
		secret "$f in $home" >"$home/$f"
	done
	chown -R "$owner" "$home"
done
# A history file that is a link to a file that must survive.
ln -s /etc/passwd /home/alice/.lesshst

# A credential the user names in wipe_paths, with a space and a quote in its path.
mkdir -p "/opt/app/it's here"
secret "wipe path" >"/opt/app/it's here/token file.txt"

# Logs: live, rotated, binary and journal ones.
secret "auth log" >/var/log/auth.log
chmod 0640 /var/log/auth.log
chown root:adm /var/log/auth.log
secret "syslog" >/var/log/syslog
secret "rotated syslog" >/var/log/syslog.1
secret "compressed syslog" >/var/log/syslog.2.gz
secret "wtmp" >>/var/log/wtmp
secret "btmp" >>/var/log/btmp
mkdir -p "/var/log/journal/$(cat /etc/machine-id)"
# An archived journal: on a booted machine journald holds system.journal open,
# and truncating it here would free the boot's log blocks unwritten, which no
# cleanup can reach afterwards.
secret "journal" >"/var/log/journal/$(cat /etc/machine-id)/system@0000000000000000000000000000000a-0000000000000001-0000000000000001.journal"

# Temp files: hidden, odd names, nested.
mkdir -p /tmp/nested/deeper /var/tmp/cache
echo temp >/tmp/.hidden
echo temp >'/tmp/-odd name'
echo temp >'/tmp/new
line'
echo temp >/tmp/nested/deeper/file
echo temp >/var/tmp/cache/file

# Identity: a D-Bus copy of the machine-id.
mkdir -p /var/lib/dbus
# A copy, not the link a booted Debian makes.
rm -f /var/lib/dbus/machine-id
cp /etc/machine-id /var/lib/dbus/machine-id

# cloud-init's state of the build instance: its logs and the user data it
# was given (and keeps, in the seed, after cloud-init clean).
if command -v cloud-init >/dev/null 2>&1; then
	secret "cloud-init log" >>/var/log/cloud-init.log
	secret "cloud-init output log" >>/var/log/cloud-init-output.log
	mkdir -p /var/lib/cloud/seed/nocloud /var/lib/cloud/instances/i-build
	secret "seed user-data password" >/var/lib/cloud/seed/nocloud/user-data
	secret "instance user-data" >/var/lib/cloud/instances/i-build/user-data.txt
	ln -sfn /var/lib/cloud/instances/i-build /var/lib/cloud/instance
fi

# Package repository credentials.
mkdir -p /etc/apt/auth.conf.d
secret "apt repository login" >/etc/apt/auth.conf.d/private.conf
chmod 0600 /etc/apt/auth.conf.d/private.conf

# A crash dump of a user's program, a core dump, mail for a user.
mkdir -p /var/crash /var/lib/systemd/coredump /var/mail
chmod 1777 /var/crash
secret "crash dump" >/var/crash/_usr_bin_app.1001.crash
chown alice /var/crash/_usr_bin_app.1001.crash
secret "core dump" >/var/lib/systemd/coredump/core.app.1001.zst
secret "mail for alice" >/var/mail/alice
chown alice /var/mail/alice

# A DHCP lease of the build instance.
mkdir -p /var/lib/dhcp
secret "dhcp lease" >/var/lib/dhcp/dhclient.eth0.leases
