#!/bin/bash
# A throwaway Debian machine for the acceptance tests and the demo: a rootfs in
# a directory, its own sshd on a loopback port, and a boot with systemd-nspawn.
#
#   target.sh up DIR PORT PUBKEY [SUITE [EXTRA]]
#                                         unpack a fresh rootfs (rootfs.sh SUITE EXTRA) into DIR, add the
#                                         sudo user "builder" with PUBKEY, start sshd
#   target.sh seed DIR                    put into it what an image must not ship
#   target.sh serve DIR PORT PUBKEY       start sshd again on an image (after down), leaving
#                                         the image untouched: host key and PUBKEY live on
#                                         a tmpfs /run, as on a booted machine
#   target.sh down DIR                    stop its sshd, unmount what up mounted
#   target.sh boot DIR PRIVKEY PUBKEY     boot it; print what its first boot did
#   target.sh destroy DIR                 down, then delete DIR and its disk
#
# DIR is the mount point of an ext4 file system in DIR.img, so that a test can
# read the raw blocks after a cleanup (test/acceptance: ScanDisk): a file unlinked without being
# overwritten still shows there, as it would in an AMI snapshot.
#
# The hardening script locks root and deletes keys. It must only ever reach a
# target made here, never this machine: every command refuses a DIR that is /,
# and `up` proves that the sshd on PORT serves DIR before it reports ready.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
marker=.ami-harden-test-target

die() { echo "target.sh: $*" >&2; exit 1; }

# guard DIR: the directory is a target made by `up`, and not this machine's /.
guard() {
	[ -n "$1" ] || die "no directory given"
	local real
	real=$(realpath -m "$1")
	[ "$real" != / ] || die "refusing to use / as a target"
	if [ -e "$real" ] && [ "$(stat -c %d:%i "$real")" = "$(stat -c %d:%i /)" ]; then
		die "refusing $1: it is this machine's root directory"
	fi
	echo "$real"
}

mounts_below() {
	awk -v d="$1" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/self/mounts | sort -r
}

cmd_up() {
	local dir port pubkey suite extra tarball
	dir=$(guard "$1"); port=$2; pubkey=$3; suite=${4:-bookworm}; extra=${5:-}
	[ ! -e "$dir" ] || [ -z "$(ls -A "$dir")" ] || die "$dir is not empty"
	[ ! -e "$dir.img" ] || die "$dir.img exists: destroy the old target first"
	tarball=$("$here/rootfs.sh" "$suite" "$extra")
	mkdir -p "$dir"
	# AMI_HARDEN_DISK: a bigger disk for the benchmark's large image.
	truncate -s "${AMI_HARDEN_DISK:-2G}" "$dir.img"
	mkfs.ext4 -q -F "$dir.img"
	mount -o loop "$dir.img" "$dir"
	# Not mktemp's 0700: sshd refuses non-root logins below a private root.
	chmod 0755 "$dir"
	tar -C "$dir" -xf "$tarball"
	touch "$dir/$marker"
	# sudo looks the host name up; without this it warns on every call.
	printf '127.0.1.1\t%s\n' "$(hostname)" >>"$dir/etc/hosts"

	chroot "$dir" /usr/sbin/useradd -m -s /bin/bash -G sudo builder
	echo 'builder ALL=(ALL) NOPASSWD:ALL' >"$dir/etc/sudoers.d/builder"
	chmod 0440 "$dir/etc/sudoers.d/builder"
	install -d -m 0700 -o "$(stat -c %u "$dir/home/builder")" -g "$(stat -c %g "$dir/home/builder")" "$dir/home/builder/.ssh"
	install -m 0600 -o "$(stat -c %u "$dir/home/builder")" -g "$(stat -c %g "$dir/home/builder")" "$pubkey" "$dir/home/builder/.ssh/authorized_keys"
	# A builder instance has its own identity, which the image must not keep.
	chroot "$dir" /bin/sh -c 'cat /proc/sys/kernel/random/uuid 2>/dev/null | tr -d - >/etc/machine-id' || true
	[ -s "$dir/etc/machine-id" ] || od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$dir/etc/machine-id"

	mount -t proc proc "$dir/proc"
	mount --bind /dev "$dir/dev"
	mount -t devpts -o newinstance,ptmxmode=0666 devpts "$dir/dev/pts"
	mkdir -p "$dir/run/sshd"
	chroot "$dir" /usr/bin/ssh-keygen -A >/dev/null
	chroot "$dir" /usr/sbin/sshd -p "$port" -o ListenAddress=127.0.0.1 -o PidFile=/run/sshd-test.pid

	# Proof that the sshd on PORT is the one in DIR: its root is DIR.
	local pid root
	for _ in $(seq 50); do [ -s "$dir/run/sshd-test.pid" ] && break; sleep 0.1; done
	pid=$(cat "$dir/run/sshd-test.pid")
	root=$(readlink "/proc/$pid/root")
	[ "$root" = "$dir" ] || die "sshd $pid serves $root, not $dir"
	echo "target up: $dir, sshd pid $pid on 127.0.0.1:$port"
}

# serve: what `up` does for sshd, for an image that must not change (audit):
# its host keys and builder's authorized keys stay out of the image.
cmd_serve() {
	local dir port pubkey rig pid
	dir=$(guard "$1"); port=$2; pubkey=$3
	[ -e "$dir/$marker" ] || die "$dir was not made by target.sh up"
	[ "$(mounts_below "$dir")" = "$dir" ] || die "$dir still has mounts: run down first"
	mount -t tmpfs -o mode=0755 tmpfs "$dir/run"
	mount -t proc proc "$dir/proc"
	mount --bind /dev "$dir/dev"
	mount -t devpts -o newinstance,ptmxmode=0666 devpts "$dir/dev/pts"
	rig=/run/ami-harden-rig
	mkdir -p "$dir/run/sshd" "$dir$rig"
	ssh-keygen -q -t ed25519 -N '' -f "$dir$rig/host_key"
	install -m 0644 "$pubkey" "$dir$rig/builder.keys"
	chroot "$dir" /usr/sbin/sshd -p "$port" -o ListenAddress=127.0.0.1 -o PidFile=/run/sshd-test.pid \
		-h "$rig/host_key" -o "AuthorizedKeysFile=$rig/%u.keys"
	for _ in $(seq 50); do [ -s "$dir/run/sshd-test.pid" ] && break; sleep 0.1; done
	pid=$(cat "$dir/run/sshd-test.pid")
	[ "$(readlink "/proc/$pid/root")" = "$dir" ] || die "sshd $pid does not serve $dir"
	echo "target served: $dir, sshd pid $pid on 127.0.0.1:$port"
}

cmd_seed() {
	local dir
	dir=$(guard "$1")
	[ -e "$dir/$marker" ] || die "$dir was not made by target.sh up"
	chroot "$dir" /bin/sh -s <"$here/seed.sh"
}

cmd_down() {
	local dir pid m
	dir=$(guard "$1")
	if [ -s "$dir/run/sshd-test.pid" ]; then
		pid=$(cat "$dir/run/sshd-test.pid")
		# Only an sshd whose root is DIR is ours to stop.
		if [ "$(readlink "/proc/$pid/root" 2>/dev/null)" = "$dir" ]; then
			kill "$pid" 2>/dev/null || true
		fi
		rm -f "$dir/run/sshd-test.pid"
	fi
	# Sessions left by the build (and their children) live in DIR too.
	for p in /proc/[0-9]*; do
		if [ "$(readlink "$p/root" 2>/dev/null)" = "$dir" ]; then kill -9 "${p#/proc/}" 2>/dev/null || true; fi
	done
	sleep 0.2
	for m in $(mounts_below "$dir"); do
		[ "$m" = "$dir" ] && continue
		umount "$m" || umount -l "$m"
	done
	[ "$(mounts_below "$dir")" = "$(mounts_below "$dir" | grep -x "$dir" || true)" ] || die "still mounted below $dir"
}


cmd_destroy() {
	local dir
	dir=$(guard "$1")
	[ -e "$dir" ] || return 0
	cmd_down "$dir"
	if mountpoint -q "$dir"; then umount "$dir" || umount -l "$dir"; fi
	[ -z "$(mounts_below "$dir")" ] || die "still mounted below $dir"
	# --one-file-system: never into a mount (such as a bind of /dev) left below.
	rm -rf --one-file-system "$dir"
	rm -f "$dir.img" "$dir.boot.log"
}

# boot DIR PRIVKEY PUBKEY: give builder a new key, as EC2 does at launch, and
# boot the image once. A probe unit inside waits for sshd, logs in with that
# key over the container's loopback, and powers off. Prints key=value lines.
cmd_boot() {
	local dir privkey pubkey
	dir=$(guard "$1"); privkey=$2; pubkey=$3
	[ "$(mounts_below "$dir")" = "$dir" ] || die "$dir still has mounts: run down first"
	install -d -m 0700 "$dir/root/.probe"
	install -m 0600 "$privkey" "$dir/root/.probe/key"
	local uid gid
	uid=$(stat -c %u "$dir/home/builder"); gid=$(stat -c %g "$dir/home/builder")
	install -d -m 0700 -o "$uid" -g "$gid" "$dir/home/builder/.ssh"
	install -m 0600 -o "$uid" -g "$gid" "$pubkey" "$dir/home/builder/.ssh/authorized_keys"
	install -m 0755 "$here/probe.sh" "$dir/usr/local/sbin/ami-harden-probe"
	cat >"$dir/etc/systemd/system/ami-harden-probe.service" <<'UNIT'
[Unit]
Description=Report what the first boot did (ami-harden tests)
After=multi-user.target
[Service]
Type=oneshot
ExecStart=/usr/local/sbin/ami-harden-probe
StandardOutput=journal+console
UNIT
	mkdir -p "$dir/etc/systemd/system/multi-user.target.wants"
	ln -sf /etc/systemd/system/ami-harden-probe.service "$dir/etc/systemd/system/multi-user.target.wants/"
	rm -f "$dir/root/.probe/result"
	timeout 180 systemd-nspawn --register=no --keep-unit --private-network -q -D "$dir" --boot \
		>"$dir.boot.log" 2>&1 </dev/null || true
	[ -s "$dir/root/.probe/result" ] || { tail -n 40 "$dir.boot.log" >&2; die "the image did not finish its first boot"; }
	cat "$dir/root/.probe/result"
}

case "${1:-}" in
up) shift; cmd_up "$@" ;;
seed) shift; cmd_seed "$@" ;;
serve) shift; cmd_serve "$@" ;;
down) shift; cmd_down "$@" ;;
destroy) shift; cmd_destroy "$@" ;;
boot) shift; cmd_boot "$@" ;;
*) die "usage: target.sh up|seed|serve|down|boot|destroy DIR ..." ;;
esac
