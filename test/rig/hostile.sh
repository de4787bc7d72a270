#!/bin/bash
# Seeds a test target (made by `target.sh up`, usually after `target.sh seed`)
# with every layout trick a cleanup can fall for, next to real secrets inside
# and outside the places the steps clean:
#
#   test/rig/hostile.sh DIR OUTSIDE
#
# DIR is the target's root. OUTSIDE is a directory outside the rootfs (a
# sibling of DIR, say) that is made here and bind-mounted into the target in
# three places: a home, /tmp and /var/log. What is in OUTSIDE belongs to
# another file system and must survive the build untouched. `target.sh
# destroy DIR` unmounts those mounts with everything else below DIR; deleting
# OUTSIDE is the caller's job.
#
# Every secret carries the word AMIHARDENSECRET. Files that must survive and
# are no secret (the victims a careless cleanup would destroy) say "must
# survive" instead. test/acceptance/hostile_test.go knows this layout: change
# both together.
set -euo pipefail

die() { echo "hostile.sh: $*" >&2; exit 1; }

# shellcheck source=test/rig/guard.sh
. "$(dirname "$0")/guard.sh"

[ $# -eq 2 ] || die "usage: hostile.sh DIR OUTSIDE"
dir=$(guard "$1")
[ -e "$dir/$marker" ] || die "$dir was not made by target.sh up"
[ -n "$2" ] || die "no OUTSIDE directory given"
outside=$(realpath -m "$2")
[ "$outside" != / ] || die "refusing / as OUTSIDE"
case "$outside/" in "$dir/"*) die "OUTSIDE ($outside) must be outside the target $dir" ;; esac
case "$dir/" in "$outside/"*) die "OUTSIDE ($outside) must not hold the target $dir" ;; esac
[ ! -e "$outside" ] || [ -z "$(ls -A "$outside")" ] || die "$outside is not empty"

# ------------------------------------------------------------ inside the target
chroot "$dir" /bin/sh -s <<'SEED'
set -eu
secret() { printf 'AMIHARDENSECRET %s\n' "$1"; }
survive() { printf 'must survive: %s\n' "$1"; }
nl='
'

# Accounts. seed.sh may have made alice already.
for u in alice carol dave; do
	id "$u" >/dev/null 2>&1 || useradd -m -s /bin/bash "$u"
done
# bob: his home is a symbolic link to a directory he owns. It is a real home
# and must be cleaned.
useradd -M -d /home/bob -s /bin/bash bob
mkdir -p /srv/bobhome/.ssh
ln -s /srv/bobhome /home/bob
secret "authorized key of bob (symlinked home)" >/srv/bobhome/.ssh/authorized_keys
secret "history of bob (symlinked home)" >/srv/bobhome/.bash_history
chown -R bob:bob /srv/bobhome
chmod 0750 /srv/bobhome
# mallory: her home is a symbolic link to /etc, which she does not own. It
# must be refused, and nothing in /etc touched.
useradd -M -d /home/mallory -s /bin/bash mallory
ln -s /etc /home/mallory

# Plain secrets in every real home, so that the steps have real work.
for u in alice carol dave; do
	h=/home/$u
	mkdir -p "$h/.ssh"
	secret "authorized key of $u" >"$h/.ssh/authorized_keys"
	secret "private key of $u" >"$h/.ssh/id_rsa"
	secret "history of $u" >"$h/.bash_history"
	chown -R "$u:$u" "$h"
done

# alice: links below her home, at the first level and as the last component.
# ~/.aws is a link to a directory alice owns outside her home.
rm -rf /home/alice/.aws
mkdir -p /srv/awsdata
secret "aws credentials behind a link in alice's home" >/srv/awsdata/credentials
chown -R alice:alice /srv/awsdata
ln -s /srv/awsdata /home/alice/.aws
# ~/.kube is a link into /etc; .kube/config is a credential name.
mkdir -p /etc/selinux
survive "SELINUX=disabled (/etc/selinux/config)" >/etc/selinux/config
ln -s /etc/selinux /home/alice/.kube
# A history name that is a link to a system file.
rm -f /home/alice/.bash_history
ln -s /etc/passwd /home/alice/.bash_history
# A directory whose name matches .ssh/id_* and holds a newline: listed one
# path per line, its file reads as /etc/victim3.
mkdir -p "/home/alice/.ssh/id_x$nl/etc"
secret "private key below a newline name in alice's .ssh" >"/home/alice/.ssh/id_x$nl/etc/victim3"
survive "/etc/victim3" >/etc/victim3
chown -R alice:alice /home/alice/.ssh
chown -h alice:alice /home/alice/.aws /home/alice/.kube /home/alice/.bash_history

# carol: a real ~/.aws with a link one level deeper, and ~/.ssh a link.
mkdir -p /home/carol/.aws
secret "aws credentials of carol" >/home/carol/.aws/credentials
ln -s /etc /home/carol/.aws/sso
rm -rf /home/carol/.ssh
ln -s /etc/ssh /home/carol/.ssh
chown -R carol:carol /home/carol/.aws
chown -h carol:carol /home/carol/.aws/sso /home/carol/.ssh

# dave: his history is a hard link to a file elsewhere on the same file
# system; ~/.aws/sso/cache is a real directory with a secret, beside a mount
# point (the mount is made from the host, below).
rm -f /home/dave/.bash_history
secret "history of dave, hard-linked to /srv/hl-victim" >/srv/hl-victim
chown dave:dave /srv/hl-victim
ln /srv/hl-victim /home/dave/.bash_history
mkdir -p /home/dave/.aws/sso/cache/mnt
secret "aws credentials of dave" >/home/dave/.aws/credentials
secret "aws sso token of dave" >/home/dave/.aws/sso/cache/0123abcd.json
chown -R dave:dave /home/dave/.aws

# /var/log: a newline name, a link deep down, a hard link, a mount point.
mkdir -p "/var/log/x$nl/etc"
secret "log below a newline name" >"/var/log/x$nl/etc/victim"
survive "/etc/victim" >/etc/victim
mkdir -p /var/log/deep
ln -s /etc /var/log/deep/link
secret "log hard-linked to /srv/hl-log-victim" >/srv/hl-log-victim
ln /srv/hl-log-victim /var/log/hl.log
mkdir -p /var/log/mounted

# /tmp and /var/tmp: newline names, links, a mount point.
mkdir -p "/tmp/x$nl/etc" "/var/tmp/x$nl/etc"
secret "temp file below a newline name" >"/tmp/x$nl/etc/victim1"
survive "/etc/victim1" >/etc/victim1
secret "var/tmp file below a newline name" >"/var/tmp/x$nl/etc/victim2"
survive "/etc/victim2" >/etc/victim2
survive "/etc/important" >/etc/important
ln -s /etc/important /tmp/lnk
mkdir -p /var/tmp/d
ln -s /usr/share/doc /var/tmp/d/sub
mkdir -p /tmp/mounted

# What the test names in wipe_paths, in odd spellings.
mkdir -p /srv/extra/secret-dir/nested
secret "wipe path directory" >/srv/extra/secret-dir/token
secret "wipe path nested" >/srv/extra/secret-dir/nested/key
secret "wipe path file" >/srv/extra/file.txt
survive "/srv/extra/keep.txt, beside the wipe paths" >/srv/extra/keep.txt
mkdir -p /srv/real-linked
secret "wipe path reached through the link /srv/linked" >/srv/real-linked/secret.txt
ln -s /srv/real-linked /srv/linked

# Secrets in no place the steps clean: not theirs to touch.
mkdir -p /opt/app /srv/data /etc/myapp
printf 'AWS_ACCESS_KEY_ID=AKIAAMIHARDENSECRET0\nAWS_SECRET_ACCESS_KEY=AMIHARDENSECRET/app/env/key\n' >/opt/app/.env
secret "notes in /srv/data" >/srv/data/notes.txt
printf 'database:\n  url: postgres://app:AMIHARDENSECRET-db-password@db.internal/app\n' >/etc/myapp/config.yml
SEED

# ------------------------------------------------------------ from the host
# Three directories of OUTSIDE, each bind-mounted into the target. The mount
# point must be a real directory of the target, reached through no link: a
# link there would put the mount somewhere on this machine.
mount_outside() {
	local name=$1 rel=$2 point
	point=$dir/$rel
	[ "$(realpath -e "$point")" = "$point" ] || die "$point is not a plain directory of the target"
	[ -d "$point" ] || die "$point is not a directory"
	! mountpoint -q "$point" || die "$point is already a mount point"
	mkdir -p "$outside/$name/sub"
	printf 'AMIHARDENSECRET kept in OUTSIDE/%s, mounted on /%s\n' "$name" "$rel" >"$outside/$name/keep"
	printf 'must survive: OUTSIDE/%s/sub/more\n' "$name" >"$outside/$name/sub/more"
	mount --bind "$outside/$name" "$point"
}

mkdir -p "$outside"
chmod 0755 "$outside"
mount_outside home home/dave/.aws/sso/cache/mnt
mount_outside tmp tmp/mounted
mount_outside log var/log/mounted
echo "hostile layout seeded in $dir (mounts from $outside)"
