#!/bin/bash
# A real Debian VM for the acceptance test of a whole image pipeline
# (test/acceptance/vm_test.go) and `make demo-vm`: a bootable disk built from
# Debian's packages, a NoCloud seed as a cloud would give at launch, and QEMU.
#
#   vm.sh base                     build (once, then cached) a bookworm base disk, print its path
#   vm.sh accel                    print the accelerator that works here: kvm or tcg
#   vm.sh seed DIR USER PUBKEY INSTANCE_ID
#                                  write DIR/user-data, DIR/meta-data and the NoCloud
#                                  seed DIR/seed.iso (label cidata); print the ISO's path
#   vm.sh launch DISK SEEDISO PORT boot DISK (changed in place) in the background, sshd
#                                  forwarded to 127.0.0.1:PORT; the pid goes to DISK.pid,
#                                  the serial console to DISK.serial; print the pid.
#                                  AMI_HARDEN_MAC: the NIC's MAC address (default QEMU's)
#   vm.sh host-keys DISK           give the disk (qcow2, changed in place) SSH host keys, as
#                                  an image made from an uncleaned machine has them; print
#                                  the 5th line of the ed25519 private key
#   vm.sh wait-ssh PORT KEY USER [SECONDS]
#                                  wait until USER logs in with KEY (default 600 s)
#   vm.sh stop DISK [SECONDS]      wait that long (default 0) for the VM to power off,
#                                  then kill its QEMU
#
# The base disk: an MBR partition table, one ext4 partition with the rootfs
# that rootfs.sh builds (plus a kernel, cloud-init, rsyslog, cron and
# ifupdown), extlinux as its boot loader, the kernel's console on ttyS0. It
# has no login user, no host keys and an empty /etc/machine-id: cloud-init's
# NoCloud seed makes the user, as on EC2. The cache is $AMI_HARDEN_CACHE
# (default /var/cache/ami-harden), keyed by the rootfs and this script.
#
# Whatever runs inside these VMs (the hardening script too) stays there: the
# disks are files, the network is QEMU's user networking.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${AMI_HARDEN_CACHE:-/var/cache/ami-harden}
# What the VM needs beyond rootfs.sh's packages, installed with apt-get.
extra=linux-image-amd64,initramfs-tools,udev,kmod,cloud-init,rsyslog,cron,ifupdown,isc-dhcp-client
disk_size=3G

die() { echo "vm.sh: $*" >&2; exit 1; }

cmd_base() {
	local tarball key out part uuid
	tarball=$("$here/rootfs.sh" bookworm "$extra")
	key=$(basename "$tarball")
	key=$(printf '%s\n' "$key" | cat - "$0" | sha256sum | cut -c1-12)
	out=$cache/vm-bookworm-$key.qcow2
	if [ -s "$out" ]; then
		echo "$out"
		return
	fi
	[ "$(id -u)" -eq 0 ] || die "base: must run as root (loop devices, mounts)"
	for c in sfdisk losetup mkfs.ext4 extlinux qemu-img; do
		command -v "$c" >/dev/null || die "base: $c is missing (make deps)"
	done
	[ -f /usr/lib/EXTLINUX/mbr.bin ] || die "base: /usr/lib/EXTLINUX/mbr.bin is missing (make deps: extlinux)"

	work=$(mktemp -d "$cache/vm-build.XXXXXX")
	loop=
	# shellcheck disable=SC2317 # called by the trap
	cleanup() {
		umount "$work/mnt" 2>/dev/null || true
		[ -z "$loop" ] || losetup -d "$loop" 2>/dev/null || true
		rm -rf --one-file-system "$work"
	}
	trap cleanup EXIT
	truncate -s "$disk_size" "$work/disk.raw"
	printf 'label: dos\nstart=2048, type=83, bootable\n' | sfdisk -q "$work/disk.raw"
	# The partition through a loop device at its offset (containers often
	# have no partition devices for loop devices).
	loop=$(losetup -f --show -o $((2048 * 512)) "$work/disk.raw")
	part=$loop
	# No 64bit feature: extlinux reads the file system it boots from.
	mkfs.ext4 -q -F -L root -O ^64bit "$part"
	uuid=$(blkid -s UUID -o value "$part")
	mkdir "$work/mnt"
	mount "$part" "$work/mnt"
	chmod 0755 "$work/mnt"
	tar -C "$work/mnt" -xf "$tarball"

	local r=$work/mnt
	# debootstrap's dbus left its machine-id, which systemd would copy into
	# the empty /etc/machine-id of every instance.
	rm -f "$r/var/lib/dbus/machine-id"
	printf 'UUID=%s / ext4 errors=remount-ro 0 1\n' "$uuid" >"$r/etc/fstab"
	echo debian >"$r/etc/hostname"
	printf '127.0.0.1\tlocalhost\n127.0.1.1\tdebian\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$r/etc/hosts"
	# cloud-init writes the NIC's DHCP stanza to interfaces.d.
	printf 'source /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n' >"$r/etc/network/interfaces"
	# Only NoCloud (or none): no minutes spent probing for other clouds.
	# The host name resolves (sudo asks), and a locale that needs no locale-gen.
	printf 'datasource_list: [ NoCloud, None ]\nmanage_etc_hosts: localhost\nlocale: C.UTF-8\n' \
		>"$r/etc/cloud/cloud.cfg.d/90-ami-harden-vm.cfg"
	mkdir -p "$r/boot/extlinux"
	cat >"$r/boot/extlinux/extlinux.conf" <<-EOF
		DEFAULT debian
		PROMPT 0
		TIMEOUT 0
		LABEL debian
		  LINUX /vmlinuz
		  INITRD /initrd.img
		  APPEND root=UUID=$uuid ro console=ttyS0,115200
	EOF
	if [ ! -e "$r/vmlinuz" ] || [ ! -e "$r/initrd.img" ]; then
		die "base: no /vmlinuz or /initrd.img in the rootfs"
	fi
	extlinux --install "$r/boot/extlinux" >/dev/null 2>&1 || die "base: extlinux --install failed"
	umount "$r"
	losetup -d "$loop"
	loop=
	# extlinux took the loop device for a whole disk: tell its boot sector
	# where the partition starts (the BPB's hidden sectors, at byte 0x1C),
	# then put syslinux's MBR in front of the partition table.
	printf '\x00\x08\x00\x00' | dd of="$work/disk.raw" bs=1 seek=$((2048 * 512 + 0x1C)) conv=notrunc status=none
	dd if=/usr/lib/EXTLINUX/mbr.bin of="$work/disk.raw" bs=440 count=1 conv=notrunc status=none
	qemu-img convert -O qcow2 "$work/disk.raw" "$work/disk.qcow2"
	mv "$work/disk.qcow2" "$out"
	echo "$out"
}

# accel: KVM may be nested and abort, or hang right after the BIOS (a boot
# sector still runs, the kernel never prints). The probe boots the base disk
# (a throw-away snapshot of it) under KVM and wants the kernel to reach its
# initramfs within 10 s (under KVM: 1 or 2 s; TCG needs about 9 s on 2 cores). Prints
# kvm or tcg. AMI_HARDEN_ACCEL overrides it for launch.
cmd_accel() {
	local base dir pid ok=tcg
	[ -w /dev/kvm ] || { echo tcg; return; }
	base=$(cmd_base)
	dir=$(mktemp -d)
	qemu-system-x86_64 -accel kvm -cpu host -m 512 -display none -monitor none -nic none \
		-serial "file:$dir/serial" -snapshot -drive "file=$base,if=virtio,format=qcow2" \
		-pidfile "$dir/pid" -daemonize >/dev/null 2>&1 || { rm -rf "$dir"; echo tcg; return; }
	pid=$(cat "$dir/pid")
	for _ in $(seq 20); do
		if grep -q 'Run /init as init process' "$dir/serial" 2>/dev/null; then ok=kvm; break; fi
		[ -e "/proc/$pid" ] || break
		sleep 0.5
	done
	kill "$pid" 2>/dev/null || true
	for _ in $(seq 50); do [ -e "/proc/$pid" ] || break; sleep 0.1; done
	kill -9 "$pid" 2>/dev/null || true
	rm -rf "$dir"
	echo "$ok"
}

cmd_seed() {
	local dir=$1 user=$2 pubkey=$3 id=$4
	[ -n "$id" ] || die "seed: DIR USER PUBKEY INSTANCE_ID"
	case $user in *[!a-z0-9_-]* | '') die "seed: bad user name '$user'" ;; esac
	[ -s "$pubkey" ] || die "seed: no public key in $pubkey"
	mkdir -p "$dir"
	printf 'instance-id: %s\nlocal-hostname: %s\n' "$id" "$id" >"$dir/meta-data"
	cat >"$dir/user-data" <<-EOF
		#cloud-config
		users:
		  - name: $user
		    shell: /bin/bash
		    groups: [sudo]
		    sudo: "ALL=(ALL) NOPASSWD:ALL"
		    lock_passwd: true
		    ssh_authorized_keys:
		      - $(cat "$pubkey")
		ssh_pwauth: false
	EOF
	rm -f "$dir/seed.iso"
	xorriso -as mkisofs -quiet -output "$dir/seed.iso" -volid cidata -joliet -rock \
		"$dir/user-data" "$dir/meta-data" 2>/dev/null || die "seed: xorriso failed"
	echo "$dir/seed.iso"
}

cmd_launch() {
	local disk=$1 iso=$2 port=$3 accel cpu=()
	[ -f "$disk" ] || die "launch: no disk $disk"
	[ -f "$iso" ] || die "launch: no seed $iso"
	accel=${AMI_HARDEN_ACCEL:-$(cmd_accel)}
	# max under TCG: an emulated RDRAND seeds the kernel early, as on a cloud
	# (without it, two first boots here got the same machine-id).
	if [ "$accel" = kvm ]; then cpu=(-cpu host); else cpu=(-cpu max); fi
	rm -f "$disk.pid"
	qemu-system-x86_64 -accel "$accel" "${cpu[@]}" -m 1024 -smp 2 \
		-display none -monitor none -serial "file:$disk.serial" \
		-drive "file=$disk,if=virtio,format=qcow2" \
		-drive "file=$iso,media=cdrom,readonly=on" \
		-netdev "user,id=net0,hostfwd=tcp:127.0.0.1:$port-:22" -device "virtio-net-pci,netdev=net0${AMI_HARDEN_MAC:+,mac=$AMI_HARDEN_MAC}" \
		-pidfile "$disk.pid" -daemonize
	cat "$disk.pid"
}

# host-keys: through a raw copy on a loop device (no nbd here), keys made
# with ssh-keygen -A, then the qcow2 again.
cmd_host_keys() {
	local disk=$1 dir loop part
	[ "$(id -u)" -eq 0 ] || die "host-keys: must run as root (loop devices, mounts)"
	dir=$(mktemp -d "$(dirname "$disk")/host-keys.XXXXXX")
	qemu-img convert -O raw "$disk" "$dir/disk.raw"
	loop=$(losetup -f --show -o $((2048 * 512)) "$dir/disk.raw")
	mkdir "$dir/mnt"
	mount "$loop" "$dir/mnt" || { losetup -d "$loop"; rm -rf "$dir"; die "host-keys: mount failed"; }
	part=ok
	ssh-keygen -A -f "$dir/mnt" >/dev/null 2>&1 || part=
	[ -z "$part" ] || part=$(sed -n 5p "$dir/mnt/etc/ssh/ssh_host_ed25519_key")
	umount "$dir/mnt"
	losetup -d "$loop"
	[ -n "$part" ] || { rm -rf "$dir"; die "host-keys: ssh-keygen -A failed"; }
	qemu-img convert -O qcow2 "$dir/disk.raw" "$disk"
	rm -rf "$dir"
	echo "$part"
}

cmd_wait_ssh() {
	local port=$1 key=$2 user=$3 secs=${4:-600} end
	end=$((SECONDS + secs))
	while [ "$SECONDS" -lt "$end" ]; do
		if ssh -i "$key" -p "$port" -o BatchMode=yes -o ConnectTimeout=5 -o StrictHostKeyChecking=no \
			-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR "$user@127.0.0.1" true 2>/dev/null; then
			return 0
		fi
		sleep 2
	done
	die "wait-ssh: $user could not log in on 127.0.0.1:$port within $secs s"
}

# stop: only a QEMU whose command line names DISK is ours to kill.
cmd_stop() {
	local disk=$1 secs=${2:-0} pid end
	[ -s "$disk.pid" ] || return 0
	pid=$(cat "$disk.pid")
	ours() { [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "file=$disk,"; }
	end=$((SECONDS + secs))
	while ours && [ "$SECONDS" -lt "$end" ]; do sleep 1; done
	if ours; then
		kill "$pid"
		for _ in $(seq 50); do ours || break; sleep 0.1; done
		! ours || kill -9 "$pid"
	fi
	rm -f "$disk.pid"
}

cmd=${1:-}
shift || true
case $cmd in
base) cmd_base ;;
accel) cmd_accel ;;
seed) [ $# -eq 4 ] || die "usage: vm.sh seed DIR USER PUBKEY INSTANCE_ID"; cmd_seed "$@" ;;
launch) [ $# -eq 3 ] || die "usage: vm.sh launch DISK SEEDISO PORT"; cmd_launch "$@" ;;
host-keys) [ $# -eq 1 ] || die "usage: vm.sh host-keys DISK"; cmd_host_keys "$@" ;;
wait-ssh) [ $# -ge 3 ] || die "usage: vm.sh wait-ssh PORT KEY USER [SECONDS]"; cmd_wait_ssh "$@" ;;
stop) [ $# -ge 1 ] || die "usage: vm.sh stop DISK [SECONDS]"; cmd_stop "$@" ;;
*) die "usage: vm.sh base|accel|seed|launch|host-keys|wait-ssh|stop (see the top of $0)" ;;
esac
