#!/bin/sh
# Secrets in free blocks: what other programs delete, before ami-harden runs,
# without overwriting it. Run as root on a target (a rig target's chroot, a
# running target, a VM of the pipeline), never on this machine:
#
#   seed-freed.sh WORD
#
# Each secret holds WORD, is flushed to the disk (as a file that has lived
# for a while is), then freed the way its program frees it: by a rename over
# it (chpasswd, package managers, cloud-init's state) or by an unlink
# (cloud-init's ssh module deleting the image's host keys, logrotate, a user
# cleaning up). The blocks keep WORD; only an overwrite of the free space
# (the free-space step) takes it. Prints one line per secret.
set -eu
word=${1:?usage: seed-freed.sh WORD}
[ "$(id -u)" -eq 0 ] || { echo "seed-freed.sh: run as root" >&2; exit 1; }
# Never on the machine that runs the tests: a rig target has builder, made
# by the rig or by cloud-init from the rig's seed.
id builder >/dev/null 2>&1 || { echo "seed-freed.sh: no builder account: not a rig target" >&2; exit 1; }

# written FILE TEXT: FILE holds TEXT, on the disk.
written() {
	mkdir -p "$(dirname "$1")"
	printf '%s\n' "$2" >"$1"
	sync
}

# replaced FILE TEXT: a new FILE renamed over the old one.
replaced() {
	printf '%s\n' "$2" >"$1.new"
	mv -f "$1.new" "$1"
	sync
}

# 1. chpasswd writes a new /etc/shadow and renames it over the old one.
# (Its backup /etc/shadow- holds the previous state: the passwords step
# removes that copy.)
# shellcheck disable=SC2016 # a crypt(3) string, $ and all
printf 'root:$6$%s$freedhash\n' "$word" | chpasswd -e
sync
printf 'root:*\n' | chpasswd -e
sync
echo "freed: /etc/shadow with a password hash, rewritten by chpasswd"

# 2. cloud-init's ssh module deletes the image's host keys at the build's
# first boot (ssh_deletekeys) and makes new ones.
written /etc/ssh/ssh_host_seeded_key "-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAA$word
-----END OPENSSH PRIVATE KEY-----"
rm -f /etc/ssh/ssh_host_seeded_key
echo "freed: a host key, deleted as cloud-init deletes the image's"

# 3. A package manager replaces its credentials file.
written /etc/apt/auth.conf.d/90-seeded.conf "machine apt.example.org login ci password $word"
replaced /etc/apt/auth.conf.d/90-seeded.conf "# moved to a secret store"
rm -f /etc/apt/auth.conf.d/90-seeded.conf
sync
echo "freed: apt credentials, replaced by a rename"

# 4. cloud-init rewrites its state (user data in it) at each stage.
written /var/lib/cloud/seeded-state.json "{\"userdata_raw\": \"#cloud-config\\npassword: $word\"}"
replaced /var/lib/cloud/seeded-state.json "{}"
echo "freed: cloud-init state with user data, rewritten by a rename"

# 5. A user removes a tool's credentials with rm.
written /root/.config/pip/pip.conf "[global]
index-url = https://ci:$word@pypi.example.org/simple"
rm -f /root/.config/pip/pip.conf
sync
echo "freed: pip.conf with an index password, removed with rm"

# 6. logrotate deletes an old log.
written /var/log/seeded.log.4 "Accepted password for ci: $word"
rm -f /var/log/seeded.log.4
sync
echo "freed: a rotated log, deleted"

# 7. An enrolment agent renews its key (Puppet's agent writes a new one).
written /etc/puppetlabs/puppet/ssl/private_keys/build.example.org.pem "-----BEGIN RSA PRIVATE KEY-----
$word
-----END RSA PRIVATE KEY-----"
replaced /etc/puppetlabs/puppet/ssl/private_keys/build.example.org.pem "renewed"
rm -rf /etc/puppetlabs
sync
echo "freed: a Puppet agent key, renewed and then removed"

# 8. NetworkManager rewrites a connection profile (its UUID and the build's
# MAC address in it).
written /etc/NetworkManager/system-connections/seeded.nmconnection "[connection]
id=seeded
uuid=$word
[ethernet]
mac-address=52:54:00:12:34:56"
replaced /etc/NetworkManager/system-connections/seeded.nmconnection "[connection]
id=seeded"
rm -rf /etc/NetworkManager/system-connections/seeded.nmconnection
sync
echo "freed: a NetworkManager profile with the build's UUID, rewritten"

# 9. A tool credential that is still there when ami-harden runs: the
# credentials step overwrites it, and its blocks were once free too (the
# first write of the file went to other blocks before an editor saved it).
written /root/.config/pip/pip.conf "[global]
index-url = https://ci:$word@pypi.example.org/simple"
replaced /root/.config/pip/pip.conf "[global]
index-url = https://ci:$word@pypi.example.org/simple
timeout = 60"
echo "kept for the steps: /root/.config/pip/pip.conf with an index password (and its old blocks, freed by the editor's rename)"

# 10. The machine's enrolment identities, still there: the enrolment step
# overwrites them (a keytab once rewritten by a rename, as ktutil does).
written /etc/krb5.keytab "host/build.example.org@EXAMPLE.ORG $word old"
replaced /etc/krb5.keytab "host/build.example.org@EXAMPLE.ORG $word"
chmod 600 /etc/krb5.keytab
written /etc/salt/minion_id "build-$word"
echo "kept for the steps: /etc/krb5.keytab and /etc/salt/minion_id naming the build (and the keytab's old blocks)"

# 11. udev's persistent-net rules pinning a NIC the instances will not have
# (an older udev wrote these): the network step removes them.
written /etc/udev/rules.d/70-persistent-net.rules "# $word
SUBSYSTEM==\"net\", ACTION==\"add\", ATTR{address}==\"02:00:00:aa:bb:cc\", NAME=\"eth9\""
echo "kept for the steps: /etc/udev/rules.d/70-persistent-net.rules pinning a build NIC"
