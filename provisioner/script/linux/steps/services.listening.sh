# shellcheck shell=sh
# services, what the image listens on: the note every run of the step ends
# with (see services.sh).

# svc_known: enabled services known to be network daemons, and the ports
# they usually listen on. Unit files do not say which ports a daemon opens:
# these are named with their usual ports; others are not guessed at.
svc_known='apache2 httpd nginx lighttpd caddy:80/tcp 443/tcp
vsftpd proftpd pure-ftpd:21/tcp
tftpd-hpa atftpd in.tftpd tftp:69/udp
telnetd:23/tcp
rpcbind portmap:111/tcp 111/udp
ypserv ypbind yppasswdd ypxfrd nis:RPC ports from rpcbind
nfs-server nfs-kernel-server:2049/tcp
smbd smb samba:139/tcp 445/tcp
nmbd nmb:137/udp 138/udp
postfix exim4 sendmail:25/tcp
dovecot:110/tcp 143/tcp 993/tcp 995/tcp
mysql mariadb mysqld:3306/tcp
postgresql:5432/tcp
named bind9:53/tcp 53/udp
dnsmasq:53/tcp 53/udp
ntp ntpd ntpsec:123/udp
cups cupsd:631/tcp
avahi-daemon:5353/udp
snmpd:161/udp
xrdp:3389/tcp
rsync:873/tcp
redis-server redis:6379/tcp
memcached:11211/tcp
slapd:389/tcp
squid:3128/tcp
isc-dhcp-server dhcpd:67/udp
openvpn:1194/udp'

# svc_enabled: the services and sockets started at boot, one a line: systemd
# units (wanted by some unit, not masked, and those systemd makes from init
# scripts with start links), else OpenRC's or SysV init's scripts.
svc_enabled() {
	if has_systemd; then
		{
			for _el in /etc/systemd/system/*.wants/* /etc/systemd/system/*.requires/* \
				/usr/lib/systemd/system/*.wants/* /lib/systemd/system/*.wants/*; do
				[ -L "$_el" ] || [ -f "$_el" ] || continue
				_eu=${_el##*/}
				[ -L "/etc/systemd/system/$_eu" ] && svc_masked "$_eu" && continue
				printf '%s\n' "$_eu"
			done
			for _el in /etc/rc[2-5].d/S[0-9][0-9]*; do
				[ -L "$_el" ] || [ -f "$_el" ] || continue
				_eu=${_el##*/}
				_eu=${_eu#S[0-9][0-9]}.service
				unit_file "$_eu" >/dev/null && continue
				[ -L "/etc/systemd/system/$_eu" ] && svc_masked "$_eu" && continue
				[ -f "/etc/init.d/${_eu%.service}" ] && printf '%s\n' "$_eu"
			done
		} | awk '!seen[$0]++'
	elif [ -d /etc/runlevels ]; then
		for _el in /etc/runlevels/*/*; do
			[ -L "$_el" ] || [ -f "$_el" ] && printf '%s\n' "${_el##*/}"
		done | awk '!seen[$0]++'
	else
		for _el in /etc/rc[2-5].d/S[0-9][0-9]* /etc/rc.d/rc[2-5].d/S[0-9][0-9]*; do
			[ -L "$_el" ] || [ -f "$_el" ] || continue
			_eu=${_el##*/}
			printf '%s\n' "${_eu#S[0-9][0-9]}"
		done | awk '!seen[$0]++'
	fi
}

# svc_listens: what the image listens on at boot, one item a line.
svc_listens() {
	svc_enabled >"$work/svc_enabled"
	: >"$work/svc_other"
	while IFS= read -r _lu; do
		_lb=${_lu%.service}
		case $_lu in
		*.socket)
			_lf=$(unit_file "$_lu") || continue
			# Its drop-ins, in name order (a glob sorts): no ls.
			set --
			for _ld in /etc/systemd/system/"$_lu".d/*.conf; do
				[ -e "$_ld" ] && set -- "$@" "$_ld"
			done
			_lp=$(svc_socket_ports "$_lf" "$@")
			[ -n "$_lp" ] && printf '%s (%s)\n' "$_lu" "$_lp"
			;;
		ssh.service | sshd.service | ssh | sshd)
			printf '%s (%s)\n' "$_lu" "$(svc_sshd_ports)"
			;;
		inetd* | openbsd-inetd* | inetutils-inetd*)
			svc_super_entries inetd >"$work/svc_entries"
			svc_entry_ports "$_lu" "$work/svc_entries"
			;;
		xinetd*)
			svc_super_entries xinetd >"$work/svc_entries"
			svc_entry_ports "$_lu" "$work/svc_entries"
			;;
		*) printf '%s\n' "$_lu" >>"$work/svc_other" ;;
		esac
	done <"$work/svc_enabled"
	# The others: those of svc_known, with their usual ports.
	printf '%s\n' "$svc_known" | awk -F : '
		FILENAME == "-" { n = split($1, w, " "); for (i = 1; i <= n; i++) port[w[i]] = $2; next }
		{ b = $0; sub(/[.]service$/, "", b); sub(/@.*/, "", b); if (b in port) print $0 " (usually " port[b] ")" }
	' - "$work/svc_other"
}

# svc_socket_ports FILE...: the network addresses of a socket unit (and its
# drop-ins), as PORT/PROTOCOL [on ADDRESS]; paths and abstract sockets are
# the machine's own. An empty Listen line drops the earlier ones.
svc_socket_ports() {
	awk '
		/^[ \t]*Listen(Stream|Datagram)[ \t]*=/ {
			k = $0; sub(/^[ \t]*/, "", k); sub(/[ \t]*=.*/, "", k)
			v = $0; sub(/^[^=]*=[ \t]*/, "", v); sub(/[ \t]*$/, "", v)
			if (v == "") { n = 0; next }
			p = (k == "ListenDatagram") ? "udp" : "tcp"
			if (v ~ /^[0-9]+$/) out[++n] = v "/" p
			else if (v ~ /^([0-9.]+|\[[0-9a-fA-F:.%a-z]*\]):[0-9]+$/) {
				port = v; sub(/.*:/, "", port); a = v; sub(/:[0-9]+$/, "", a)
				out[++n] = port "/" p ((a == "0.0.0.0" || a == "[::]") ? "" : " on " a)
			}
		}
		END { for (i = 1; i <= n; i++) s = s (i > 1 ? ", " : "") out[i]; print s }
	' "$@"
}

# svc_sshd_ports: sshd's ports and addresses, from sshd -T.
svc_sshd_ports() {
	if ! { sshd_ready && sshd_known; }; then
		echo "ports unknown: sshd -T failed"
		return
	fi
	awk '
		$1 == "port" { port[$2] = 1 }
		$1 == "listenaddress" {
			a = $2; p = a; sub(/.*:/, "", p); sub(/:[0-9]+$/, "", a)
			if (a == "0.0.0.0" || a == "[::]") wild[p] = 1; else addr[p] = addr[p] (addr[p] != "" ? " " : "") a
		}
		END {
			for (p in port) if (!(p in wild) && !(p in addr)) wild[p] = 1
			for (p in wild) s = s (s != "" ? ", " : "") p "/tcp"
			for (p in addr) if (!(p in wild)) s = s (s != "" ? ", " : "") p "/tcp on " addr[p]
			print s
		}' "$work/sshd_after"
}

# svc_entry_ports DAEMON ENTRIES: "DAEMON: SERVICE (PORT/PROTOCOL)" for each
# entry that is on, the port from /etc/services where the entry names a
# service (a few are known without it: an image may lack netbase).
svc_entry_ports() {
	_es=/dev/null
	[ -r /etc/services ] && _es=/etc/services
	awk -F '\t' -v d="$1" '
		BEGIN {
			split("ftp 21 telnet 23 tftp 69 exec 512 login 513 shell 514 daytime 13 echo 7 discard 9 time 37 finger 79", k, " ")
			for (i = 1; i < 24; i += 2) { ports[k[i] "/tcp"] = k[i + 1] "/tcp"; ports[k[i] "/udp"] = k[i + 1] "/udp" }
		}
		FILENAME != ARGV[2] { split($0, f, /[ \t]+/); if (f[2] ~ /\//) ports[f[1] "/" substr(f[2], index(f[2], "/") + 1)] = f[2]; next }
		{
			s = $1; sub(/.*:/, "", s); p = $2; sub(/[46]$/, "", p)
			if ($3 ~ /^[0-9]+$/) pp = $3 "/" p
			else if (s ~ /^[0-9]+$/) pp = s "/" p
			else pp = ((s "/" p) in ports) ? ports[s "/" p] : p
			print d ": " s " (" pp ")"
		}' "$_es" "$2"
}

# svc_listening_now: on a running machine, the TCP and UDP sockets that
# listen now, with their processes. Only sockets of processes this machine
# shows count: a container may share its host's network, whose sockets are
# not the image's.
svc_listening_now() {
	# shellcheck disable=SC2012 # /proc/PID/fd: names are numbers; one ls for all processes
	ls -l /proc/[0-9]*/fd 2>/dev/null | awk '
		/^\/proc\/[0-9]+\/fd:$/ { pid = $0; sub(/^\/proc\//, "", pid); sub(/\/fd:$/, "", pid); next }
		/socket:\[/ { i = $NF; gsub(/[^0-9]/, "", i); if (!(i in owner)) owner[i] = pid }
		END { for (i in owner) print "inode", i, owner[i] }
	' >"$work/svc_inodes"
	awk '
		function hex(s,   i, n) { n = 0; s = toupper(s); for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789ABCDEF", substr(s, i, 1)) - 1; return n }
		FILENAME ~ /svc_inodes$/ { pid[$2] = $3; next }
		FNR == 1 { proto = FILENAME; sub(/.*\//, "", proto); sub(/6$/, "", proto); next }
		{
			if (proto == "tcp" && $4 != "0A") next
			if (proto == "udp" && ($4 != "07" || $3 !~ /^0+:0000$/)) next
			if (!($10 in pid)) next
			split($2, a, ":"); port = hex(a[2]); ad = a[1]
			if (ad ~ /^0+$/) where = ""
			else if (ad == "0100007F" || ad == "00000000000000000000000001000000" || ad ~ /7F$/ && length(ad) == 8) where = " on loopback"
			else if (length(ad) == 8) where = " on " hex(substr(ad, 7, 2)) "." hex(substr(ad, 5, 2)) "." hex(substr(ad, 3, 2)) "." hex(substr(ad, 1, 2))
			else where = " on an IPv6 address"
			c = ""; f = "/proc/" pid[$10] "/comm"; if ((getline c < f) > 0) close(f)
			k = port "/" proto where (c != "" ? " (" c ")" : "")
			if (!(k in seen)) { seen[k] = 1; print k }
		}
	' "$work/svc_inodes" /proc/net/tcp /proc/net/tcp6 /proc/net/udp /proc/net/udp6 2>/dev/null
}

# svc_listen_note: the one line that says what the image listens on.
svc_listen_note() {
	svc_listens >"$work/svc_listens"
	_ln="listens at boot: $(join <"$work/svc_listens")"
	[ -s "$work/svc_listens" ] || _ln="listens at boot: nothing found (enabled socket units, sshd, inetd, xinetd and known network daemons)"
	if live_machine; then
		svc_listening_now >"$work/svc_now"
		if [ -s "$work/svc_now" ]; then
			_ln="$_ln; listening now: $(join <"$work/svc_now")"
		else
			_ln="$_ln; listening now: nothing"
		fi
	fi
	note services "$_ln"
}
