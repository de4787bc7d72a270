#!/usr/bin/env bash
# make demo: builds a throwaway Debian bookworm target in /var/tmp (its own
# disk image and sshd on a loopback port), plants what an image must not ship,
# hardens it with `packer build example/demo`, then boots the result
# once to show that sshd comes up with new host keys. Everything is deleted at
# the end. The hardening only ever reaches the target, never this machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
rig=test/rig

work=$(mktemp -d /var/tmp/ami-harden-demo.XXXXXX)
dir=$work/root
cleanup() { "$rig/target.sh" destroy "$dir" >/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null || echo 22022)
ssh-keygen -q -t ed25519 -N '' -f "$work/key"
echo "==> Starting a throwaway Debian target in $dir (sshd on 127.0.0.1:$port)"
"$rig/target.sh" up "$dir" "$port" "$work/key.pub"
"$rig/target.sh" seed "$dir"

echo "==> packer build example/demo"
packer build -var "ssh_port=$port" -var "ssh_private_key_file=$work/key" example/demo

echo "==> First boot of the hardened image (systemd-nspawn), with a new launch key"
ssh-keygen -q -t ed25519 -N '' -f "$work/launch"
"$rig/target.sh" down "$dir"
"$rig/target.sh" boot "$dir" "$work/launch" "$work/launch.pub"
