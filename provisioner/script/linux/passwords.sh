# shellcheck shell=sh
# passwords: no account keeps a usable or empty password. The password field
# of each becomes "*": no password hashes to it, and it is not a lock in
# sshd's eyes. OpenSSH on Linux refuses even key logins to an account whose
# field starts with "!" when it does not use PAM (UsePAM no, or an sshd built
# without PAM as on Alpine), so "!" (what passwd -l writes) could give an
# image no one logs in to; "*" keeps key logins working in every case.
# The step changes nothing unless it can read what sshd will really do.
step_passwords() {
	[ -r /etc/shadow ] || { report passwords failed "/etc/shadow cannot be read"; return; }
	_pam=unknown
	if sshd_ready; then
		if [ ! -s "$work/sshd_after" ] && ! sshd_effective >"$work/sshd_after"; then
			rm -f "$work/sshd_after"
			report passwords failed "could not read sshd's effective configuration (sshd -T failed: $(head -n 3 "$work/sshd_err")), so it is not known whether key logins would survive; no password was changed: fix sshd's configuration or skip this step"
			return
		fi
		_pam=$(awk '$1 == "usepam" { print $2 }' "$work/sshd_after")
	fi
	# A usable password is any field that does not start with ! or *; an empty one is usable too.
	awk -F: '$2 !~ /^[!*]/ { print $1 }' /etc/shadow >"$work/unlocked"
	if [ "$audit" ]; then
		findings_from passwords "$work/unlocked" '%s has a usable or empty password'
		audit_result passwords "no account has a usable or empty password"
		return
	fi
	locked_out_note "$_pam"
	if [ ! -s "$work/unlocked" ]; then
		report passwords ok "no account has a usable or empty password"
		return
	fi
	# One chpasswd -e for every account: it writes the field as given, with
	# the system's own locking of the account files. Then usermod -p; then,
	# where neither exists (busybox images without them), the file itself.
	sed 's/$/:*/' "$work/unlocked" >"$work/locked"
	if ! chpasswd -e <"$work/locked" >/dev/null 2>&1; then
		while IFS= read -r _u; do
			usermod -p '*' "$_u" >/dev/null 2>&1
		done <"$work/unlocked"
	fi
	awk -F: '$2 !~ /^[!*]/ { print $1 }' /etc/shadow >"$work/still"
	[ -s "$work/still" ] && star_in_shadow "$work/still"
	awk -F: '$2 !~ /^[!*]/ { print $1 }' /etc/shadow >"$work/still"
	if [ -s "$work/still" ]; then
		report passwords failed "could not set the password of $(join <"$work/still") to * (no working chpasswd -e or usermod -p, and /etc/shadow could not be rewritten)"
	else
		report passwords changed "no password works for $(join <"$work/unlocked") (password field *; key logins unaffected, UsePAM ${_pam:-absent: sshd without PAM})"
	fi
}

# star_in_shadow ACCOUNTS: write * into the password field of the accounts
# listed in ACCOUNTS, in /etc/shadow itself: a copy with the file's owner and
# mode gets the new text and is renamed over it, so that the file is never
# half written.
star_in_shadow() {
	if awk -F: -v OFS=: 'FILENAME == ARGV[1] { u[$1] = 1; next } ($1 in u) { $2 = "*" } 1' "$1" /etc/shadow >"$work/shadow.new" &&
		[ -s "$work/shadow.new" ] &&
		cp -p /etc/shadow /etc/shadow.ami-harden &&
		cat "$work/shadow.new" >/etc/shadow.ami-harden &&
		mv -f /etc/shadow.ami-harden /etc/shadow; then
		relabel /etc/shadow
	else
		rm -f /etc/shadow.ami-harden
		return 1
	fi
}

# locked_out_note USEPAM: without PAM, sshd refuses key logins to accounts
# whose password field starts with "!": say which login accounts are in that
# state already (this step does not unlock what someone locked on purpose).
locked_out_note() {
	[ "$1" = no ] || [ -z "$1" ] || return 0
	awk -F: 'NR == FNR { if ($7 !~ /(nologin|false|sync|halt|shutdown)$/) login[$1] = 1; next }
		$2 ~ /^!/ && login[$1] { print $1 }' "$work/passwd" /etc/shadow >"$work/bang"
	[ -s "$work/bang" ] || return 0
	note passwords "sshd does not use PAM here, so it refuses even key logins to $(join <"$work/bang"), whose password field starts with ! (set it to * with usermod -p '*' to allow key logins)"
}
