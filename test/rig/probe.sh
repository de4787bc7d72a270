#!/bin/sh
# Runs INSIDE a hardened image at its first boot (target.sh boot): records what
# the boot did, then powers the container off. Output: key=value lines.
#
#   sshunit=      the unit that starts sshd here: ssh.socket where it is enabled
#                 (Ubuntu 24.04), else ssh.service (Debian), else sshd.service (RHEL)
#   ssh=          systemctl is-active of that unit
#   socketservice= (socket activation only) is-active of ssh.service after the login
#   cycles=       lines of this boot's journal that report an ordering cycle
#                 (target.sh boot also counts them in the console log)
#   hostkeys=     number of /etc/ssh/ssh_host_*_key files
#   hostkeygroup= group(s) of those files, comma-joined, unique
#   machine_id=   /etc/machine-id
#   hostname=     the host name this boot ended up with (hostname)
#   snakeoil=     SHA-256 of Debian's snakeoil TLS key, or nothing without one
#   keylogin=     ok when the launch key logs in as builder, else failed
#   methods=      what sshd still offers a client without a key
#   journal=      journal files below /var/log/journal after this boot (a later
#                 boot of a hardened image logs as before)
#   syslog=       systemctl is-active syslog.service (none without a syslog daemon)
#   listen=       what listens on the container's own network once multi-user.target
#                 is reached: PORT/tcp (listening) and PORT/udp (bound, unconnected),
#                 any address, sorted, space-separated, from /proc/net
out=/root/.probe/result.tmp

# enabled UNIT: systemctl says "enabled" (an alias says "alias").
enabled() { [ "$(systemctl is-enabled "$1" 2>/dev/null)" = enabled ]; }

if enabled ssh.socket; then
	unit=ssh.socket
elif enabled ssh.service; then
	unit=ssh.service
elif enabled sshd.service; then
	unit=sshd.service
else
	unit=ssh.service
fi

for _ in $(seq 60); do
	state=$(systemctl is-active "$unit")
	[ "$state" = active ] || [ "$state" = failed ] && break
	sleep 0.5
done
{
	echo "sshunit=$unit"
	echo "ssh=$(systemctl is-active "$unit")"
	echo "cycles=$(journalctl -b -q --no-pager 2>/dev/null | grep -ci 'ordering cycle')"
	echo "hostkeys=$(find /etc/ssh -name "ssh_host_*_key" | wc -l)"
	echo "hostkeygroup=$(find /etc/ssh -name "ssh_host_*_key" -exec stat -c %G {} + 2>/dev/null | sort -u | paste -sd, -)"
	echo "machine_id=$(cat /etc/machine-id)"
	echo "hostname=$(hostname 2>/dev/null || cat /proc/sys/kernel/hostname)"
	echo "snakeoil=$(sha256sum /etc/ssl/private/ssl-cert-snakeoil.key 2>/dev/null | cut -d ' ' -f 1)"
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
	echo "journal=$(find /var/log/journal -name '*.journal' 2>/dev/null | wc -l)"
	if [ -n "$(systemctl show -p FragmentPath --value syslog.service 2>/dev/null)" ]; then
		echo "syslog=$(systemctl is-active syslog.service)"
	else
		echo "syslog=none"
	fi
	echo "listen=$(awk '
		function hex(s,   i, n) { n = 0; for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789ABCDEF", toupper(substr(s, i, 1))) - 1; return n }
		FNR == 1 { p = FILENAME; sub(/.*\//, "", p); sub(/6$/, "", p); next }
		(p == "tcp" && $4 == "0A") || (p == "udp" && $4 == "07" && $3 ~ /^0+:0000$/) { split($2, a, ":"); print hex(a[2]) "/" p }
	' /proc/net/tcp /proc/net/tcp6 /proc/net/udp /proc/net/udp6 2>/dev/null | sort -u -n | paste -sd ' ' -)"
	# With Accept=no the first connection started the service behind the socket.
	[ "$unit" = ssh.socket ] && echo "socketservice=$(systemctl is-active ssh.service)"
} >"$out"
mv "$out" /root/.probe/result
systemctl poweroff
