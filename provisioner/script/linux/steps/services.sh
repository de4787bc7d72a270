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
	# Each name with its lowercase form: protection ignores case, as the
	# provisioner's check does (one awk for every name, not a tr for each).
	printf '%s\n' "$AMI_HARDEN_DISABLE_SERVICES" | awk 'NF { print $0 "\t" tolower($0) }' >"$work/svc_given"
	while IFS="$tab" read -r _sn _sl; do
		case $_sn in
		*[!-A-Za-z0-9@_.:+$]* | [!A-Za-z0-9_]*)
			printf '%s (not a service name)\n' "$(show "$_sn")" >>"$work/svc_refused"
			;;
		*)
			if svc_protected "$_sl"; then
				printf '%s (%s)\n' "$_sn" "$(svc_protected_why "$_sl")" >>"$work/svc_refused"
			else
				printf '%s\n' "$_sn" >>"$work/svc_names"
			fi
			;;
		esac
	done <"$work/svc_given"
}

# svc_protected NAME: sshd, and the service manager's own units: never
# touched. NAME in lowercase. The provisioner refuses the same names in
# disable_services (provisioner/validate.go, protectedService; a test runs
# both on the same names).
svc_protected() {
	case $1 in
	ssh | sshd | ssh.* | sshd.* | ssh@* | sshd@* | sshd-* | openssh* | \
		systemd | systemd.* | systemd-* | dbus | dbus.* | dbus-* | init | init.* | *.target | *.slice | *.scope | *.mount) return 0 ;;
	esac
	return 1
}

# svc_protected_why NAME: why svc_protected NAME holds.
svc_protected_why() {
	case $1 in
	ssh | sshd | ssh.* | sshd.* | ssh@* | sshd@* | sshd-* | openssh*) echo "sshd, which the build runs over and the image is reached through" ;;
	*.target | *.slice | *.scope | *.mount) echo "a systemd ${1##*.}, not a service" ;;
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
