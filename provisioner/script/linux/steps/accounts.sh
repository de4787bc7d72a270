# shellcheck shell=sh
# accounts: the accounts the build made and names in remove_users go (home
# overwritten and removed as its owner, mail spool, crontab, sudoers files
# that grant only them, then the account, even while it is the build's own
# login: its session goes on, and nothing logs in as it again). Every run
# then says who could still get in or get root: accounts with UID 0 besides
# root, sudo grants without a password (NOPASSWD), and accounts with a login
# shell and a password or keys (keep_users). Audit mode finds them all.
step_accounts() {
	wipe_start accounts
	_removed=""
	if [ -n "$AMI_HARDEN_REMOVE_USERS" ] && [ -z "$audit" ]; then
		while IFS= read -r _u; do
			[ -n "$_u" ] || continue
			if ! remove_account "$_u" || [ -s "$refused" ]; then
				report accounts failed "$(join <"$refused")"
				return
			fi
			[ "$removed_now" ] && _removed="${_removed:+$_removed, }$_u"
		done <<USERS
$AMI_HARDEN_REMOVE_USERS
USERS
		# The passwd database changed: the steps after this read it again.
		list_homes
	fi
	# The build's own login user needs its sudo grant until the end: said,
	# not a finding (remove_users takes it away with the account).
	account_exposure | awk -v me="${SUDO_USER:-}" -v out="$work/exposure.login" '
		me != "" && $0 ~ (" to " me "$") { print $0 " (the build'"'"'s login; remove_users removes it)" > out; next } { print }' \
		>"$work/exposure"
	touch "$work/exposure.login"
	if [ "$audit" ]; then
		while IFS= read -r _u; do
			[ -n "$_u" ] && getent_user "$_u" >/dev/null && finding accounts "$_u exists (remove_users)"
		done <<USERS
$AMI_HARDEN_REMOVE_USERS
USERS
		findings_from accounts "$work/exposure" '%s'
		while IFS= read -r _x; do note accounts "$_x"; done <"$work/exposure.login"
		audit_result accounts "no other root account, no sudo without a password, no login with a password or keys"
		return
	fi
	cat "$work/exposure.login" >>"$work/exposure"
	while IFS= read -r _x; do note accounts "$_x"; done <"$work/exposure"
	_n=$(grep -c . "$work/exposure")
	_said=""
	[ "$_n" -gt 0 ] && _said="; $_n way(s) to log in or get root remain, see below"
	if [ -n "$_removed" ]; then
		report accounts changed "removed $_removed$_said"
	else
		report accounts ok "no account to remove$_said"
	fi
}

# getent_user NAME: the passwd line of NAME, if any.
getent_user() {
	awk -F: -v u="$1" '$1 == u { print; f = 1 } END { exit !f }' /etc/passwd
}

# remove_account NAME: remove an account and what is its alone. False, with
# the reason refused, when it cannot.
remove_account() {
	_ra_name=$1
	removed_now=""
	_ra=$(getent_user "$_ra_name") || return 0
	_ra_uid=$(printf '%s' "$_ra" | cut -d: -f3)
	_ra_home=$(printf '%s' "$_ra" | cut -d: -f6)
	if [ "$_ra_uid" = 0 ]; then
		refuse "not removed: $_ra_name has UID 0"
		return 1
	fi
	if ! command -v userdel >/dev/null 2>&1 && ! command -v deluser >/dev/null 2>&1; then
		refuse "could not remove $_ra_name: no userdel or deluser here"
		return 1
	fi
	# The home, overwritten as its owner, when it is the account's own.
	if [ -d "$_ra_home" ] && [ ! -L "$_ra_home" ] && ! system_path "$_ra_home" &&
		[ "$(stat -c %u -- "$_ra_home" 2>/dev/null)" = "$_ra_uid" ]; then
		wipe_tree "$(printf '%s\n' "$_ra_uid" | user_groups)" "$_ra_home"
	fi
	set --
	for _f in "/var/mail/$_ra_name" "/var/spool/mail/$_ra_name" "/var/spool/cron/crontabs/$_ra_name" "/var/spool/cron/$_ra_name"; do
		# Not through a linked directory (Debian's /var/spool/mail -> ../mail).
		[ -L "${_f%/*}" ] && continue
		[ -f "$_f" ] && [ ! -L "$_f" ] && set -- "$@" "$_f"
	done
	# sudoers files that grant this account and nothing else.
	for _f in /etc/sudoers.d/*; do
		if [ ! -f "$_f" ] || [ -L "$_f" ]; then continue; fi
		awk -v u="$_ra_name" '/^[[:space:]]*(#|$)/ { next } $1 != u { other = 1 } END { exit other || NR == 0 }' "$_f" &&
			grep -q "^[[:space:]]*${_ra_name}[[:space:]]" "$_f" && set -- "$@" "$_f"
	done
	take_files 0:0 "$@"
	for _f; do
		if [ -e "$_f" ] || [ -L "$_f" ]; then
			refuse "could not remove $_f of $_ra_name$(first_errors)"
			return 1
		fi
	done
	# -f: also while the account is logged in (the build's own session).
	if command -v userdel >/dev/null 2>&1; then
		userdel -f "$_ra_name" >"$work/userdel.out" 2>&1
	else
		deluser "$_ra_name" >"$work/userdel.out" 2>&1
	fi
	if getent_user "$_ra_name" >/dev/null; then
		refuse "could not remove $_ra_name: $(head -n 2 "$work/userdel.out" | join)"
		return 1
	fi
	# The emptied home itself: its owner could not remove it from /home.
	[ -d "$_ra_home" ] && [ ! -L "$_ra_home" ] && ! system_path "$_ra_home" && rmdir -- "$_ra_home" 2>/dev/null
	if [ -e "$_ra_home" ] && ! system_path "$_ra_home" && [ "$(stat -c %u -- "$_ra_home" 2>/dev/null)" = "$_ra_uid" ]; then
		refuse "could not remove the home of $_ra_name, $_ra_home$(first_errors)"
		return 1
	fi
	# userdel keeps backups of the account files (shadow-, gshadow-).
	set --
	for _f in /etc/shadow- /etc/gshadow-; do
		[ -f "$_f" ] && set -- "$@" "$_f"
	done
	take_files 0:0 "$@"
	removed_now=1
	return 0
}

# account_exposure: one line per way in or to root that stays: other UID 0
# accounts, NOPASSWD sudo grants (file:line and who), login accounts with a
# usable password or authorized keys.
account_exposure() {
	awk -F: '$3 == 0 && $1 != "root" { print "account " $1 " has UID 0" }' /etc/passwd
	set --
	for _f in /etc/sudoers /etc/sudoers.d/*; do
		[ -f "$_f" ] && set -- "$@" "$_f"
	done
	# One awk for every sudoers file (FILENAME names each one's lines).
	[ $# -gt 0 ] && awk '/^[[:space:]]*#/ { next } /NOPASSWD/ { print FILENAME ":" FNR " grants sudo without a password to " $1 }' "$@" 2>/dev/null
	[ -r /etc/shadow ] && awk -F: -v no_login="$no_login" 'FILENAME == ARGV[1] { if ($7 !~ no_login) login[$1] = 1; next }
		login[$1] && $2 !~ /^[!*]/ { print "account " $1 " has a login shell and a usable password" }' /etc/passwd /etc/shadow
	awk -F: -v no_login="$no_login" '$7 !~ no_login && $6 ~ /^\// { print $1 "\t" $6 }' /etc/passwd |
		while IFS="$tab" read -r _ae_u _ae_h; do
			for _ae_k in "$_ae_h/.ssh/authorized_keys" "$_ae_h/.ssh/authorized_keys2"; do
				if [ -s "$_ae_k" ] && [ ! -L "$_ae_h/.ssh" ]; then
					echo "account $_ae_u has a login shell and authorized keys ($_ae_k)"
					break
				fi
			done
		done
}
