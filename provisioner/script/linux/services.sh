# shellcheck shell=sh
# services: the image starts no service that authenticates in cleartext (AWS's
# security whitepaper, table 15, asks to disable the services and protocols
# that do; telnet, rsh, rlogin, rexec, tftp, plain FTP and NIS are such
# services), and the report says what the image will listen on.
#
# The list (AMI_HARDEN_DISABLE_SERVICES: the default list less keep_services,
# plus disable_services) holds names, looked up every way an image starts a
# service, since one daemon has other names in each:
#   - systemd: NAME.service and NAME.socket (a name with a unit suffix: that
#     unit; vsftpd.service also covers /etc/init.d/vsftpd, whose unit systemd
#     makes from it), and the unit an alias names (Debian's
#     openbsd-inetd.service is inetd.service). The links that enable them go
#     and they are masked: a package upgrade, or another unit that wants
#     them, would start a merely disabled unit again;
#   - init scripts: their /etc/rc?.d start links become stop links (what
#     update-rc.d disable does); OpenRC: their /etc/runlevels links go (what
#     rc-update del does);
#   - inetd: the entries whose service is NAME, or whose server is NAME,
#     NAMEd, in.NAME or in.NAMEd (telnet: /usr/sbin/telnetd, in.telnetd; rsh:
#     the entry "shell" that runs in.rshd) are commented out the way
#     update-inetd --disable does ("#<off># "), which package upgrades leave
#     off; xinetd: such services get "disable = yes". An inetd or xinetd
#     whose last entry this turned off is disabled too: it would listen on
#     nothing, but it is one more daemon that runs as root and waits for input.
# sshd and the service manager's own units (systemd, D-Bus, targets) are never
# touched, whatever the list says: the build runs over sshd, and the image is
# reached through it. On a running machine what was turned off is also
# stopped now, except a unit that holds this very session (it stops at the
# next boot); in a chroot of an image nothing runs to stop.
#
# Every run ends with a note of what the image listens on at boot: enabled
# socket units with network addresses, sshd with the ports sshd -T gives,
# inetd and xinetd entries that are on, and enabled services known to be
# network daemons (svc_known); on a running machine also what listens now.
step_services() {
	svc_names
	svc_scan "$work/svc_names" >"$work/svc_on"
	_kept=""
	[ -n "$AMI_HARDEN_KEEP_SERVICES" ] && _kept="; kept (keep_services): $(printf '%s\n' "$AMI_HARDEN_KEEP_SERVICES" | join)"
	_svn=$(grep -c . "$work/svc_names")
	while IFS= read -r _r; do note services "not touched: $_r"; done <"$work/svc_refused"
	if [ "$audit" ]; then
		cut -f 3 "$work/svc_on" >"$work/svc_text"
		findings_from services "$work/svc_text" '%s'
		svc_listen_note
		audit_result services "none of the $_svn service name(s) is installed or on$_kept"
		return
	fi
	: >"$work/svc_done"
	: >"$work/svc_err"
	: >"$work/svc_stop"
	svc_turn_off "$work/svc_on" "$work/svc_names" ""
	# Entries this run turned off may have been inetd's or xinetd's last ones.
	for _d in inetd xinetd; do
		grep -q "^$_d$tab" "$work/svc_on" || continue
		[ -z "$(svc_super_entries "$_d")" ] || continue
		svc_super_names "$_d" >"$work/svc_super"
		svc_scan "$work/svc_super" >"$work/svc_super_on"
		svc_turn_off "$work/svc_super_on" "$work/svc_super" ", $_d has no entry left"
		cat "$work/svc_super" >>"$work/svc_names"
	done
	live_machine && svc_stop_now
	# Verify: what the names find now must be nothing. With nothing found
	# the first time, nothing was changed, and the first scan was the check.
	if [ -s "$work/svc_on" ]; then
		svc_scan "$work/svc_names" >"$work/svc_left"
	else
		: >"$work/svc_left"
	fi
	svc_listen_note
	awk '!seen[$0]++' "$work/svc_done" >"$work/svc_done.u"
	if [ -s "$work/svc_err" ] || [ -s "$work/svc_left" ]; then
		cut -f 3 "$work/svc_left" >>"$work/svc_err"
		_did=""
		[ -s "$work/svc_done.u" ] && _did="; turned off: $(join <"$work/svc_done.u")"
		report services failed "still on: $(join <"$work/svc_err")$_did"
	elif [ -s "$work/svc_done.u" ]; then
		report services changed "turned off: $(join <"$work/svc_done.u")$(svc_stopped)$_kept"
	else
		report services ok "none of the $_svn service name(s) is installed or on$_kept"
	fi
}

# svc_names: the names of AMI_HARDEN_DISABLE_SERVICES in $work/svc_names, one
# a line; in $work/svc_refused the ones never touched, and why. The
# provisioner checks names; a script run by hand may get anything.
svc_names() {
	: >"$work/svc_names"
	: >"$work/svc_refused"
	printf '%s\n' "$AMI_HARDEN_DISABLE_SERVICES" | while IFS= read -r _sn; do
		[ -n "$_sn" ] || continue
		case $_sn in
		*[!-A-Za-z0-9@_.:+$]* | [!A-Za-z0-9_]*)
			printf '%s (not a service name)\n' "$(show "$_sn")" >>"$work/svc_refused"
			;;
		*)
			if svc_protected "$_sn"; then
				printf '%s (%s)\n' "$_sn" "$(svc_protected_why "$_sn")" >>"$work/svc_refused"
			else
				printf '%s\n' "$_sn" >>"$work/svc_names"
			fi
			;;
		esac
	done
}

# svc_protected NAME: sshd, and the service manager's own units: never touched.
svc_protected() {
	case $1 in
	ssh | sshd | ssh.* | sshd.* | ssh@* | sshd@* | sshd-* | openssh* | \
		systemd | systemd.* | systemd-* | dbus | dbus.* | dbus-* | init | init.* | *.target | *.slice | *.scope | *.mount) return 0 ;;
	esac
	return 1
}

svc_protected_why() {
	case $1 in
	ssh* | openssh*) echo "sshd: the build runs over it and the image is reached through it" ;;
	*) echo "the service manager's own" ;;
	esac
}

# svc_units NAME: the systemd units NAME stands for, in $svc_u (a variable,
# not output: the scan runs for every name, twice, and a command
# substitution costs a process each time).
svc_units() {
	case $1 in
	*.service | *.socket | *.timer | *.path) svc_u=$1 ;;
	*) svc_u="$1.service $1.socket" ;;
	esac
}

# svc_script NAME: the init script name NAME stands for, in $svc_s (empty
# for a socket or timer unit).
svc_script() {
	case $1 in
	*.service) svc_s=${1%.service} ;;
	*.socket | *.timer | *.path) svc_s="" ;;
	*) svc_s=$1 ;;
	esac
}

# svc_masked UNIT: UNIT is masked in /etc.
svc_masked() {
	[ -L "/etc/systemd/system/$1" ] && [ "$(readlink "/etc/systemd/system/$1")" = /dev/null ]
}

# svc_unit_present UNIT: systemd knows UNIT here: a unit file, an init script
# it makes one from, or a mask.
svc_unit_present() {
	unit_file "$1" >/dev/null && return 0
	case $1 in *.service) [ -f "/etc/init.d/${1%.service}" ] && return 0 ;; esac
	[ -L "/etc/systemd/system/$1" ]
}

# svc_scan NAMES: what starts the services of the file NAMES (one a line), one
# line each: KIND<TAB>OBJECT<TAB>TEXT, KIND one of unit (OBJECT a unit to
# disable and mask), rc (OBJECT an init script with start links), openrc
# (OBJECT a runlevel link), inetd and xinetd (OBJECT a file with entries to
# turn off).
svc_scan() {
	if has_systemd; then
		while IFS= read -r _ss; do
			svc_units "$_ss"
			# $svc_u: unit names, which hold no space (svc_names checked them).
			for _su in $svc_u; do
				svc_unit_present "$_su" || continue
				# An alias in the vendor's directory names the real unit.
				_sf=$(unit_file "$_su") && [ -L "$_sf" ] && _sc=$(readlink "$_sf") && _sc=${_sc##*/} &&
					[ "$_sc" != "$_su" ] && [ "${_sc##*.}" = "${_su##*.}" ] && ! svc_protected "$_sc" &&
					! svc_masked "$_sc" && svc_unit_line "$_sc"
				svc_masked "$_su" || svc_unit_line "$_su"
			done
		done <"$1" | awk '!seen[$0]++'
	fi
	while IFS= read -r _ss; do
		svc_script "$_ss"
		_sn=$svc_s
		[ -n "$_sn" ] || continue
		_sr=""
		for _sl in /etc/rc[0-6S].d/S[0-9][0-9]"$_sn" /etc/rc.d/rc[0-6].d/S[0-9][0-9]"$_sn"; do
			[ -L "$_sl" ] || [ -f "$_sl" ] || continue
			_sr="${_sr:+$_sr }$_sl"
		done
		[ -n "$_sr" ] && printf 'rc\t%s\t%s starts at boot (%s)\n' "$_sn" "$_sn" "$_sr"
		for _sl in /etc/runlevels/*/"$_sn"; do
			[ -L "$_sl" ] || [ -f "$_sl" ] || continue
			printf 'openrc\t%s\t%s starts at boot (%s)\n' "$_sl" "$_sn" "$_sl"
		done
	done <"$1"
	for _sf in $(svc_inetd_files); do
		svc_inetd scan "$1" "$_sf"
	done
	for _sf in $(svc_xinetd_files); do
		svc_xinetd scan "$1" "$_sf"
	done
}

# svc_unit_line UNIT: the scan line of a unit to disable and mask.
svc_unit_line() {
	if unit_enabled "$1" || svc_rc_enabled "${1%.service}"; then
		printf 'unit\t%s\t%s starts at boot (enabled, not masked)\n' "$1" "$1"
	else
		printf 'unit\t%s\t%s is installed and not masked\n' "$1" "$1"
	fi
}

# svc_rc_enabled SCRIPT: an init script has a start link in a multi-user
# runlevel (systemd's sysv generator enables its unit then).
svc_rc_enabled() {
	for _re in /etc/rc[2-5].d/S[0-9][0-9]"$1"; do
		[ -e "$_re" ] || [ -L "$_re" ] && return 0
	done
	return 1
}

# svc_inetd_files, svc_xinetd_files: the configuration files of inetd and
# xinetd, regular files only (no name here has a space: globs of fixed
# directories, whose entries the distributions name without one).
svc_inetd_files() {
	for _if in /etc/inetd.conf /etc/inetd.d/*; do
		[ -f "$_if" ] && [ ! -L "$_if" ] && printf '%s\n' "$_if"
	done
	return 0
}

svc_xinetd_files() {
	for _if in /etc/xinetd.d/*; do
		[ -f "$_if" ] && [ ! -L "$_if" ] && printf '%s\n' "$_if"
	done
	return 0
}

# svc_match: awk functions shared by the inetd and xinetd programs: the names
# from the first file, and whether a service or server matches one.
# shellcheck disable=SC2016 # awk code
svc_match='
FILENAME == ARGV[1] { if ($0 != "") { names[$0] = 1; prog[$0] = 1; prog["in." $0] = 1; prog[$0 "d"] = 1; prog["in." $0 "d"] = 1 }; next }
function base(p) { sub(/.*\//, "", p); return p }
function hit(svc, p1, p2) { sub(/.*:/, "", svc); return (svc in names) || (base(p1) in prog) || (base(p2) in prog) }
'

# svc_inetd MODE NAMES FILE: inetd entries of FILE. MODE scan: a scan line for
# each entry that is on and matches NAMES; off: FILE with those entries
# turned off, on stdout; on: every entry that is on, as
# SERVICE<TAB>PROTOCOL<TAB>SERVER.
svc_inetd() {
	awk -v mode="$1" -v file="$3" "$svc_match"'
		# An entry is on when it is not a comment: service, socket type,
		# protocol, wait, user, server, arguments (tcpd runs the server named
		# by the first argument).
		{ on = ($0 !~ /^[ \t]*(#|$)/) && NF >= 6 }
		mode == "on" { if (on) print $1 "\t" $3 "\t" ($6 ~ /tcpd$/ && NF >= 7 ? $7 : $6); next }
		mode == "scan" { if (on && hit($1, $6, $7)) print "inetd\t" file "\t" file ": " $1 " is on (" ($6 ~ /tcpd$/ && NF >= 7 ? $7 : $6) ")"; next }
		{ print ((on && hit($1, $6, $7)) ? "#<off># " $0 : $0) }
	' "$2" "$3"
}

# svc_xinetd MODE NAMES FILE: the same for the services of an xinetd file.
# A service matches by its name or its server (never by the file's name: a
# file may hold other services too); it is on
# unless it says disable = yes. off: such services get disable = yes (a
# disable line is changed, else one is added after the opening brace).
svc_xinetd() {
	awk -v mode="$1" -v file="$3" "$svc_match"'
		function flush(   i, match_, set) {
			if (!n) return
			match_ = svc != "" && hit(svc, server, "")
			if (mode == "scan" && match_ && !off) print "xinetd\t" file "\t" file ": service " svc " is on"
			if (mode == "on" && svc != "" && !off) print svc "\t" (proto != "" ? proto : (stype == "dgram" ? "udp" : "tcp")) "\t" port
			if (mode == "off") {
				for (i = 1; i <= n; i++) {
					if (match_ && !off && buf[i] ~ /^[ \t]*disable[ \t]*=/) { print "\tdisable = yes"; set = 1; continue }
					print buf[i]
					if (match_ && !off && !hasdis && !set && buf[i] ~ /{[ \t]*$/) { print "\tdisable = yes"; set = 1 }
				}
			}
			n = 0; svc = ""; server = ""; off = 0; hasdis = 0; proto = ""; stype = ""; port = ""
		}
		{ buf[++n] = $0 }
		$1 == "service" { svc = $2 }
		$1 == "server" && $2 == "=" { server = $3 }
		$1 == "protocol" && $2 == "=" { proto = $3 }
		$1 == "socket_type" && $2 == "=" { stype = $3 }
		$1 == "port" && $2 == "=" { port = $3 }
		$1 == "disable" { hasdis = 1; off = ($3 == "yes") }
		/^[ \t]*}/ || (svc == "" && n) { flush() }
		END { flush() }
	' "$2" "$3"
}

# svc_super_entries inetd|xinetd: the entries that are on, of all files.
svc_super_entries() {
	for _sf in $("svc_$1_files"); do
		"svc_$1" on /dev/null "$_sf"
	done
}

# svc_super_names inetd|xinetd: the names the daemon itself has.
svc_super_names() {
	case $1 in
	inetd) printf '%s\n' inetd openbsd-inetd inetutils-inetd ;;
	xinetd) printf '%s\n' xinetd ;;
	esac
}

# svc_turn_off SCAN NAMES WHY: turn off what the scan lines of SCAN (made
# from the names of the file NAMES) find; what was done goes to
# $work/svc_done, each line ending in WHY, what failed to $work/svc_err.
svc_turn_off() {
	while IFS="$tab" read -r _tk _to _tt; do
		case $_tk in
		unit)
			if svc_mask "$_to"; then
				echo "$_to (masked$3)" >>"$work/svc_done"
				echo "$_to" >>"$work/svc_stop"
			fi
			;;
		rc)
			# Each start link becomes a stop link with the same number: a
			# later update-rc.d sees the script as disabled, not as never
			# configured.
			for _to in /etc/rc[0-6S].d/S[0-9][0-9]"$_to" /etc/rc.d/rc[0-6].d/S[0-9][0-9]"$_to"; do
				[ -L "$_to" ] || [ -f "$_to" ] || continue
				_tn=${_to##*/}
				if [ -e "${_to%/*}/K${_tn#S}" ] || [ -L "${_to%/*}/K${_tn#S}" ]; then
					rm -f -- "$_to"
				else
					mv -f -- "$_to" "${_to%/*}/K${_tn#S}"
				fi
				if [ -e "$_to" ] || [ -L "$_to" ]; then
					echo "could not remove $_to" >>"$work/svc_err"
				else
					echo "${_tn#S[0-9][0-9]} (start links in /etc/rc?.d made stop links$3)" >>"$work/svc_done"
					echo "${_tn#S[0-9][0-9]}" >>"$work/svc_stop"
				fi
			done
			;;
		openrc)
			rm -f -- "$_to"
			if [ -e "$_to" ] || [ -L "$_to" ]; then
				echo "could not remove $_to" >>"$work/svc_err"
			else
				_tr=${_to%/*}
				echo "${_to##*/} (removed from OpenRC runlevel ${_tr##*/}$3)" >>"$work/svc_done"
				echo "${_to##*/}" >>"$work/svc_stop"
			fi
			;;
		inetd | xinetd)
			# Each file once, with every matching entry.
			grep -qxF "$_tk $_to" "$work/svc_files_done" 2>/dev/null && continue
			echo "$_tk $_to" >>"$work/svc_files_done"
			"svc_$_tk" scan "$2" "$_to" | cut -f 3 >"$work/svc_conf.what"
			# Written in place: keeps the owner, mode and SELinux label. Never
			# through a hard link: that would change another file too.
			if [ "$(stat -c %h -- "$_to" 2>/dev/null)" != 1 ]; then
				echo "not written: $_to has more than one hard link (or none could be read)" >>"$work/svc_err"
				continue
			fi
			if ! { "svc_$_tk" off "$2" "$_to" >"$work/svc_conf.new" && cat "$work/svc_conf.new" >"$_to"; }; then
				echo "could not write $_to" >>"$work/svc_err"
				continue
			fi
			sed -e 's/ is on$/ turned off/' -e 's/ is on (/ turned off (/' "$work/svc_conf.what" >>"$work/svc_done"
			echo "$_tk" >>"$work/svc_stop"
			;;
		esac
	done <"$1"
	rm -f "$work/svc_files_done"
}

# svc_mask UNIT: disable (the links that want it, and aliases of it in /etc)
# and mask UNIT. Prints nothing; what failed goes to $work/svc_err.
svc_mask() {
	for _ml in /etc/systemd/system/*.wants/"$1" /etc/systemd/system/*.requires/"$1" /etc/systemd/system/*.upholds/"$1"; do
		[ -L "$_ml" ] && rm -f -- "$_ml"
	done
	for _ml in /etc/systemd/system/*; do
		if [ -L "$_ml" ] && [ "${_ml##*/}" != "$1" ]; then
			_mt=$(readlink "$_ml")
			[ "${_mt##*/}" = "$1" ] && rm -f -- "$_ml"
		fi
	done
	_mm=/etc/systemd/system/$1
	if [ -L "$_mm" ]; then
		# A link to the unit file elsewhere (linked, not installed).
		rm -f -- "$_mm"
	elif [ -e "$_mm" ]; then
		echo "$1 (a unit file of this image's own in /etc/systemd/system: remove it, or keep_services)" >>"$work/svc_err"
		return 1
	fi
	if ! ln -s /dev/null "$_mm" 2>/dev/null; then
		echo "$1 (could not mask it)" >>"$work/svc_err"
		return 1
	fi
}

# svc_stop_now: on a running machine, stop what was turned off (never a unit
# whose cgroup holds this session: that one stops at the next boot), and
# make an inetd or xinetd that stays read its entries again.
svc_stop_now() {
	: >"$work/svc_stopped"
	: >"$work/svc_later"
	[ -s "$work/svc_stop" ] || return 0
	if live_systemd; then
		systemctl daemon-reload >/dev/null 2>&1
		while IFS= read -r _st; do
			case $_st in
			inetd | xinetd)
				for _su in $(svc_super_names "$_st"); do
					systemctl try-reload-or-restart "$_su.service" >/dev/null 2>&1
				done
				continue
				;;
			*.*) ;;
			*) _st=$_st.service ;;
			esac
			systemctl is-active --quiet "$_st" 2>/dev/null || continue
			if awk -v u="/$_st/" 'index($0 "/", u) { f = 1 } END { exit !f }' /proc/self/cgroup 2>/dev/null; then
				echo "$_st" >>"$work/svc_later"
			elif systemctl stop "$_st" >/dev/null 2>&1; then
				echo "$_st" >>"$work/svc_stopped"
			else
				echo "$_st" >>"$work/svc_later"
			fi
		done <"$work/svc_stop"
		return 0
	fi
	# OpenRC and SysV init: the init script, as the runlevel change would.
	awk '!seen[$0]++' "$work/svc_stop" | while IFS= read -r _st; do
		case $_st in
		inetd | xinetd)
			for _su in $(svc_super_names "$_st"); do
				[ -x "/etc/init.d/$_su" ] && "/etc/init.d/$_su" reload >/dev/null 2>&1
			done
			;;
		*)
			[ -x "/etc/init.d/$_st" ] || continue
			if "/etc/init.d/$_st" stop >/dev/null 2>&1; then
				echo "$_st" >>"$work/svc_stopped"
			else
				echo "$_st" >>"$work/svc_later"
			fi
			;;
		esac
	done
}

# svc_stopped: the "; stopped now" part of the report.
svc_stopped() {
	[ -s "$work/svc_stopped" ] && printf '; stopped now: %s' "$(join <"$work/svc_stopped")"
	[ -s "$work/svc_later" ] && printf '; still running until the next boot: %s' "$(join <"$work/svc_later")"
	return 0
}

# ---------------------------------------------------------------- what listens

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
			# shellcheck disable=SC2046 # drop-in names from a glob of a fixed directory
			_lp=$(svc_socket_ports "$_lf" $(ls /etc/systemd/system/"$_lu".d/*.conf 2>/dev/null))
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
