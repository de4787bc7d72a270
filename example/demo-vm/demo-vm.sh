#!/usr/bin/env bash
# make demo-vm: the whole image pipeline on a real VM, as TestVMPipeline runs
# it. A Debian bookworm disk (test/rig/vm.sh base, built once and cached)
# boots under QEMU, cloud-init makes the login user "builder" from a NoCloud
# seed, and `packer build example/demo-vm` (the qemu builder) plants
# what an image must not ship, runs ami-harden last and shuts the machine
# down. The image is then launched as a new instance (a new instance ID, a new
# user "launch" with a new key) and shows who it is. Without working KVM
# (nested virtualisation often hangs) QEMU emulates the CPU (TCG): about five
# minutes. Everything is deleted at the end; the hardening runs only in the VM.
set -euo pipefail
cd "$(dirname "$0")/../.."
vm=test/rig/vm.sh

work=$(mktemp -d /var/tmp/ami-harden-demo-vm.XXXXXX)
chmod 0755 "$work"
cleanup() { "$vm" stop "$work/relaunch.qcow2" || true; rm -rf "$work"; }
trap cleanup EXIT

echo "==> Base disk (Debian bookworm from Debian's packages; built once, then cached)"
base=$("$vm" base)
accel=$("$vm" accel)
echo "    $base, accelerator: $accel"
ssh-keygen -q -t ed25519 -N '' -f "$work/build_key"
ssh-keygen -q -t ed25519 -N '' -f "$work/launch_key"
"$vm" seed "$work/build-seed" builder "$work/build_key.pub" i-build >/dev/null
qemu-img create -q -f qcow2 -b "$base" -F qcow2 "$work/base.qcow2"

echo "==> packer build example/demo-vm"
packer build -var "base_disk=$work/base.qcow2" -var "accelerator=$accel" \
	-var "seed_dir=$work/build-seed" -var "ssh_private_key_file=$work/build_key" \
	-var "output_directory=$work/out" -var "serial_log=$work/build-serial.log" \
	-var "log_marker=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" \
	example/demo-vm

echo "==> Launching the image as a new instance: instance ID i-launch, user launch with a new key"
# An overlay: the image itself stays as the build left it.
qemu-img create -q -f qcow2 -b "$work/out/image.qcow2" -F qcow2 "$work/relaunch.qcow2"
"$vm" seed "$work/launch-seed" launch "$work/launch_key.pub" i-launch >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null || echo 22122)
started=$SECONDS
AMI_HARDEN_ACCEL=$accel "$vm" launch "$work/relaunch.qcow2" "$work/launch-seed/seed.iso" "$port" >/dev/null
"$vm" wait-ssh "$port" "$work/launch_key" launch 600
echo "    SSH login after $((SECONDS - started)) s of boot"
opts=(-p "$port" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR)
# shellcheck disable=SC2016 # expanded on the instance
ssh "${opts[@]}" -i "$work/launch_key" launch@127.0.0.1 '
	echo "id:          $(id)"
	echo "machine-id:  $(cat /etc/machine-id)"
	echo "host key:    $(ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub)"
	echo "instance-id: $(cloud-init query instance_id)"
	echo "sshd:        $(sudo sshd -T | grep -E "^(passwordauthentication|kbdinteractiveauthentication|permitrootlogin) " | tr "\n" " ")"'
echo "==> The build's key, as builder:"
if ssh "${opts[@]}" -i "$work/build_key" -o IdentitiesOnly=yes builder@127.0.0.1 true; then
	echo "    it still logs in!"
	exit 1
fi
echo "    refused"
ssh "${opts[@]}" -i "$work/launch_key" launch@127.0.0.1 'sudo poweroff' || true
"$vm" stop "$work/relaunch.qcow2" 120
