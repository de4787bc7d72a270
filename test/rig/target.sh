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
#   target.sh layout DIR NAME             after up: turn the Debian target into distribution
#                                         layout NAME (test/rig/layouts/NAME/apply.sh DIR),
#                                         then restart its test sshd on the same port
#   target.sh boot DIR PRIVKEY PUBKEY     boot it; print what its first boot did
#   target.sh live DIR PORT PUBKEY [SUITE [EXTRA]]
#                                         a running target: unpack a fresh rootfs with cloud-init into DIR
#                                         and boot it with systemd-nspawn on this machine's loopback;
#                                         cloud-init's NoCloud seed creates "builder" with PUBKEY, sshd
#                                         listens on 127.0.0.1:PORT
#   target.sh halted DIR                  wait until a live target has shut itself down
#   target.sh openrc-boot DIR PRIVKEY PUBKEY
#                                         for an OpenRC layout (alpine), after down: start sshd
#                                         as OpenRC would, as far as that runs in a chroot;
#                                         print what happened
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
die() { echo "target.sh: $*" >&2; exit 1; }

# shellcheck source=test/rig/guard.sh
. "$here/guard.sh"

mounts_below() {
	awk -v d="$1" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/self/mounts | sort -r
}

# unpack DIR SUITE EXTRA: a fresh rootfs (rootfs.sh SUITE EXTRA) on a new
# ext4 disk DIR.img, mounted at DIR and marked as a target of this rig.
unpack() {
	local dir=$1 tarball
	[ ! -e "$dir" ] || [ -z "$(ls -A "$dir")" ] || die "$dir is not empty"
	[ ! -e "$dir.img" ] || die "$dir.img exists: destroy the old target first"
	tarball=$("$here/rootfs.sh" "$2" "$3")
	mkdir -p "$dir"
	# AMI_HARDEN_DISK: a bigger disk for the benchmark's large image.
	truncate -s "${AMI_HARDEN_DISK:-2G}" "$dir.img"
	mkfs.ext4 -q -F "$dir.img"
	mount -o loop "$dir.img" "$dir"
	# Not mktemp's 0700: sshd refuses non-root logins below a private root.
	chmod 0755 "$dir"
	tar -C "$dir" -xf "$tarball"
	touch "$dir/$marker"
}

cmd_up() {
	local dir port pubkey
	dir=$(guard "$1"); port=$2; pubkey=$3
	unpack "$dir" "${4:-bookworm}" "${5:-}"
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

	mount_api "$dir"
	chroot "$dir" /usr/bin/ssh-keygen -A >/dev/null
	# Kept beside the disk, not in the image: `layout` restarts sshd on it.
	echo "$port" >"$dir.port"
	echo "target up: $dir, $(start_test_sshd "$dir" "$port")"
}

# mount_api DIR: what sshd in the chroot needs (proc, dev, a devpts of its
# own), and sysfs, as Packer's amazon-chroot builder mounts it: the
# free-space step releases ext4's reserved clusters of the target's own disk
# there (/sys/fs/ext4/loopN), and sets them back.
mount_api() {
	mount -t proc proc "$1/proc"
	mount -t sysfs sysfs "$1/sys"
	mount --bind /dev "$1/dev"
	mount -t devpts -o newinstance,ptmxmode=0666 devpts "$1/dev/pts"
}

# start_test_sshd DIR PORT: start the image's own sshd on a loopback port (the
# API file systems mounted) and prove that the sshd on PORT is the one in
# DIR: its root is DIR. Prints "sshd pid PID on 127.0.0.1:PORT".
start_test_sshd() {
	local dir=$1 port=$2 pid root
	mkdir -p "$dir/run/sshd"
	rm -f "$dir/run/sshd-test.pid"
	chroot "$dir" /usr/sbin/sshd -p "$port" -o ListenAddress=127.0.0.1 -o PidFile=/run/sshd-test.pid
	for _ in $(seq 50); do [ -s "$dir/run/sshd-test.pid" ] && break; sleep 0.1; done
	[ -s "$dir/run/sshd-test.pid" ] || die "sshd in $dir wrote no pid file"
	pid=$(cat "$dir/run/sshd-test.pid")
	root=$(readlink "/proc/$pid/root")
	[ "$root" = "$dir" ] || die "sshd $pid serves $root, not $dir"
	echo "sshd pid $pid on 127.0.0.1:$port"
}

# layout DIR NAME: make the target look like distribution NAME (files and
# service links that its layout overlays on the Debian rootfs), then restart
# the test sshd the way `up` started it, so that builds still log in.
cmd_layout() {
	local dir name port
	dir=$(guard "$1"); name=${2:-}
	[ -e "$dir/$marker" ] || die "$dir was not made by target.sh up"
	case $name in
	'' | */* | .*) die "layout: no such layout name: '$name'" ;;
	esac
	[ -x "$here/layouts/$name/apply.sh" ] || die "layout: $here/layouts/$name/apply.sh does not exist"
	[ -s "$dir.port" ] || die "layout: $dir.port is missing: was $dir made by this target.sh up?"
	port=$(cat "$dir.port")
	"$here/layouts/$name/apply.sh" "$dir"
	cmd_down "$dir"
	mount_api "$dir"
	echo "layout $name applied: $dir, $(start_test_sshd "$dir" "$port")"
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
	mount -t sysfs sysfs "$dir/sys"
	mount --bind /dev "$dir/dev"
	mount -t devpts -o newinstance,ptmxmode=0666 devpts "$dir/dev/pts"
	rig=/run/ami-harden-rig
	mkdir -p "$dir/run/sshd" "$dir$rig"
	ssh-keygen -q -t ed25519 -N '' -f "$dir$rig/host_key"
	install -m 0644 "$pubkey" "$dir$rig/builder.keys"
	install -m 0644 "$pubkey" "$dir$rig/root.keys"
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
	stop_live "$dir"
	cmd_down "$dir"
	if mountpoint -q "$dir"; then umount "$dir" || umount -l "$dir"; fi
	[ -z "$(mounts_below "$dir")" ] || die "still mounted below $dir"
	# --one-file-system: never into a mount (such as a bind of /dev) left below.
	rm -rf --one-file-system "$dir"
	rm -f "$dir.img" "$dir.boot.log" "$dir.port" "$dir.openrc.log" "$dir.live.log"
}

# boot DIR PRIVKEY PUBKEY: give builder a new key, as EC2 does at launch, and
# boot the image once. A probe unit inside waits for sshd, logs in with that
# key over the container's loopback, and powers off. Prints key=value lines.
cmd_boot() {
	local dir privkey pubkey
	dir=$(guard "$1"); privkey=$2; pubkey=$3
	[ "$(mounts_below "$dir")" = "$dir" ] || die "$dir still has mounts: run down first"
	if [ ! -d "$dir/etc/systemd/system" ] || [ ! -x "$dir/usr/bin/systemctl" ]; then
		die "$dir has no systemd to boot (an OpenRC layout?): use openrc-boot"
	fi
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
	# systemd finds ordering cycles while it builds the boot transaction, often
	# before journald runs: those reach only the console. cycles= is the larger
	# of the two counts (a line can be in both).
	local journal console
	journal=$(sed -n 's/^cycles=//p' "$dir/root/.probe/result")
	console=$(grep -ci 'ordering cycle' "$dir.boot.log" || true)
	grep -v '^cycles=' "$dir/root/.probe/result"
	echo "cycles_journal=${journal:-0}"
	echo "cycles_console=$console"
	echo "cycles=$((${journal:-0} > console ? ${journal:-0} : console))"
}

# live DIR PORT PUBKEY [SUITE [EXTRA]]: a running machine to build on. A fresh
# rootfs (EXTRA must bring cloud-init) boots with systemd-nspawn; it shares
# this machine's network, so its sshd listens on 127.0.0.1:PORT only. As on
# EC2, cloud-init creates the login user from a NoCloud seed: "builder", with
# PUBKEY and NOPASSWD sudo. The rig's own files in the image: the seed,
# 00-ami-harden-rig.conf (the port) and 99-ami-harden-rig.cfg (the network is
# this machine's: cloud-init leaves it alone). Returns once builder logs in.
cmd_live() {
	local dir port pubkey extra pid
	dir=$(guard "$1"); port=$2; pubkey=$3; extra=${5:-cloud-init}
	unpack "$dir" "${4:-bookworm}" "$extra"
	[ -x "$dir/usr/bin/cloud-init" ] || die "live: the image has no cloud-init (EXTRA=$extra)"
	echo "$port" >"$dir.port"
	install -d -m 0755 "$dir/var/lib/cloud/seed/nocloud"
	printf 'instance-id: i-build-%s\nlocal-hostname: ami-harden-build\n' "$port" >"$dir/var/lib/cloud/seed/nocloud/meta-data"
	{
		echo '#cloud-config'
		echo 'users:'
		echo '  - name: builder'
		echo '    shell: /bin/bash'
		echo '    sudo: "ALL=(ALL) NOPASSWD:ALL"'
		echo '    lock_passwd: true'
		echo '    ssh_authorized_keys:'
		echo "      - $(cat "$pubkey")"
	} >"$dir/var/lib/cloud/seed/nocloud/user-data"
	printf 'datasource_list: [ NoCloud, None ]\nnetwork: {config: disabled}\nlocale: false\nmanage_etc_hosts: true\n' >"$dir/etc/cloud/cloud.cfg.d/99-ami-harden-rig.cfg"
	printf 'Port %s\nListenAddress 127.0.0.1\n' "$port" >"$dir/etc/ssh/sshd_config.d/00-ami-harden-rig.conf"
	# nspawn mounts /sys read-only. The free-space step releases ext4's
	# reserved clusters of the machine's own disk for its fill: that one
	# directory of sysfs is bound writable (and nothing else of this
	# machine's /sys or /proc/sys).
	ext4=/sys/fs/ext4/$(basename "$(findmnt -n -o SOURCE --target "$dir")")
	[ -d "$ext4" ] || die "live: no $ext4 for the target's disk"
	setsid systemd-nspawn --register=no --keep-unit -q -D "$dir" --bind="$ext4" --boot >"$dir.live.log" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$dir.nspawn"
	for _ in $(seq 240); do
		kill -0 "$pid" 2>/dev/null || { tail -n 40 "$dir.live.log" >&2; die "live: $dir stopped while booting"; }
		if ssh -i "${pubkey%.pub}" -p "$port" -o BatchMode=yes -o StrictHostKeyChecking=no \
			-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=2 builder@127.0.0.1 \
			'sudo -n cloud-init status --wait >/dev/null 2>&1; echo up' 2>/dev/null | grep -qx up; then
			echo "target live: $dir, systemd-nspawn pid $pid, sshd on 127.0.0.1:$port"
			return 0
		fi
		sleep 0.5
	done
	tail -n 40 "$dir.live.log" >&2
	die "live: builder could not log in to $dir on port $port"
}

# halted DIR: wait (up to 2 minutes) for a live target to shut down by itself.
cmd_halted() {
	local dir pid
	dir=$(guard "$1")
	[ -s "$dir.nspawn" ] || die "halted: $dir is not a live target"
	pid=$(cat "$dir.nspawn")
	for _ in $(seq 240); do
		kill -0 "$pid" 2>/dev/null || { rm -f "$dir.nspawn"; echo "halted: $dir"; return 0; }
		sleep 0.5
	done
	die "halted: $dir still runs (systemd-nspawn pid $pid)"
}

# stop_live DIR: shut a live target down (SIGTERM makes systemd-nspawn power
# its machine off), then kill it if it still runs.
stop_live() {
	local pid
	[ -s "$1.nspawn" ] || return 0
	pid=$(cat "$1.nspawn")
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
		kill -KILL "$pid" 2>/dev/null || true
		sleep 0.5
	fi
	rm -f "$1.nspawn"
}

# free_port: a loopback TCP port nothing listens on.
free_port() {
	local p
	for _ in $(seq 100); do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	die "no free loopback port found"
}

# openrc-boot DIR PRIVKEY PUBKEY: for the OpenRC layout (alpine), which has no
# systemd to boot. As far as it can run here: builder gets PUBKEY (as a cloud
# would give it at launch), then, in the chroot, /run is a fresh tmpfs (OpenRC
# mounts one at boot) and openrc-emul.sh runs /etc/init.d/sshd the way
# openrc-run would (its conf.d, start_pre, then command and command_args) but on
# a loopback test port; PRIVKEY logs in; the service is stopped the script's
# own way and everything is unmounted. Prints key=value lines.
cmd_openrc_boot() {
	local dir privkey pubkey uid gid port emul pid state
	dir=$(guard "$1"); privkey=$2; pubkey=$3
	[ -e "$dir/$marker" ] || die "$dir was not made by target.sh up"
	[ -f "$dir/etc/init.d/sshd" ] || die "$dir has no /etc/init.d/sshd: not an OpenRC layout"
	[ "$(mounts_below "$dir")" = "$dir" ] || die "$dir still has mounts: run down first"
	uid=$(stat -c %u "$dir/home/builder"); gid=$(stat -c %g "$dir/home/builder")
	install -d -m 0700 -o "$uid" -g "$gid" "$dir/home/builder/.ssh"
	install -m 0600 -o "$uid" -g "$gid" "$pubkey" "$dir/home/builder/.ssh/authorized_keys"
	port=$(free_port)
	openrc_dir=$dir
	trap 'cmd_down "$openrc_dir" >/dev/null 2>&1 || true' EXIT
	mount -t tmpfs -o mode=0755 tmpfs "$dir/run"
	mount_api "$dir"
	emul=/run/ami-harden-openrc
	install -d -m 0755 "$dir$emul/bin"
	install -m 0755 "$here/openrc-emul.sh" "$dir$emul/openrc-emul.sh"
	install -m 0755 "$here/openrc-ssd.sh" "$dir$emul/bin/start-stop-daemon"
	# /bin/sh of the image runs it, as openrc-run's shell would.
	if ! chroot "$dir" /bin/sh "$emul/openrc-emul.sh" start "$port" >"$dir.openrc.log" 2>&1; then
		tail -n 30 "$dir.openrc.log" >&2
		die "/etc/init.d/sshd did not start sshd"
	fi
	pid=
	for _ in $(seq 50); do [ -s "$dir/run/sshd.pid" ] && break; sleep 0.1; done
	[ -s "$dir/run/sshd.pid" ] && pid=$(cat "$dir/run/sshd.pid")
	if [ -z "$pid" ] || [ "$(readlink "/proc/$pid/root")" != "$dir" ]; then
		die "no sshd of $dir runs after start"
	fi
	echo "sshd=$(readlink "/proc/$pid/exe" | sed "s|^$dir||")"
	echo "usepam=$(chroot "$dir" /usr/sbin/sshd -T 2>/dev/null | awk '$1 == "usepam" { print $2 }')"
	echo "hostkeys=$(find "$dir/etc/ssh" -maxdepth 1 -name 'ssh_host_*_key' | wc -l)"
	echo "hostkeygroup=$(find "$dir/etc/ssh" -maxdepth 1 -name 'ssh_host_*_key' -exec stat -c %G {} + | sort -u | paste -sd, -)"
	if ssh -i "$privkey" -p "$port" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o LogLevel=ERROR builder@127.0.0.1 'echo keylogin-$(id -un)' 2>/dev/null | grep -qx keylogin-builder; then
		echo "keylogin=ok"
	else
		echo "keylogin=failed"
	fi
	echo "methods=$(ssh -p "$port" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o PubkeyAuthentication=no root@127.0.0.1 true 2>&1 | sed -n 's/.*Permission denied (\(.*\)).*/\1/p')"
	if chroot "$dir" /bin/sh "$emul/openrc-emul.sh" stop >>"$dir.openrc.log" 2>&1; then state=stopped; else state=failed; fi
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$pid" 2>/dev/null && state=still-running
	echo "stop=$state"
	cmd_down "$dir"
	trap - EXIT
}

case "${1:-}" in
up) shift; cmd_up "$@" ;;
seed) shift; cmd_seed "$@" ;;
serve) shift; cmd_serve "$@" ;;
down) shift; cmd_down "$@" ;;
destroy) shift; cmd_destroy "$@" ;;
boot) shift; cmd_boot "$@" ;;
layout) shift; cmd_layout "$@" ;;
openrc-boot) shift; cmd_openrc_boot "$@" ;;
live) shift; cmd_live "$@" ;;
halted) shift; cmd_halted "$@" ;;
*) die "usage: target.sh up|seed|serve|layout|down|boot|openrc-boot|live|halted|destroy DIR ..." ;;
esac
