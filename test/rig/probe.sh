#!/bin/sh
# Runs INSIDE a hardened image at its first boot (target.sh boot): records what
# the boot did, then powers the container off. Output: key=value lines.
out=/root/.probe/result.tmp
for _ in $(seq 60); do
	state=$(systemctl is-active ssh.service)
	[ "$state" = active ] || [ "$state" = failed ] && break
	sleep 0.5
done
{
	echo "ssh=$(systemctl is-active ssh.service)"
	echo "hostkeys=$(find /etc/ssh -name "ssh_host_*_key" | wc -l)"
	echo "machine_id=$(cat /etc/machine-id)"
	# The key EC2 would inject at launch logs in; BatchMode never asks for a password.
	if ssh -i /root/.probe/key -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		builder@127.0.0.1 'echo keylogin-$(id -un)' 2>/dev/null | grep -qx keylogin-builder; then
		echo "keylogin=ok"
	else
		echo "keylogin=failed"
	fi
	# Without a key, sshd lists the methods it still accepts: password must not be one.
	methods=$(ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o PubkeyAuthentication=no root@127.0.0.1 true 2>&1 | sed -n 's/.*Permission denied (\(.*\)).*/\1/p')
	echo "methods=$methods"
} >"$out"
mv "$out" /root/.probe/result
systemctl poweroff
