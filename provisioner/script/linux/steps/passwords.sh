# shellcheck shell=sh
# passwords: no password works, and no password hash stays in the image: not
# in /etc/shadow, not in its backups (shadow-, gshadow-, /var/backups/*.bak),
# not in the disk blocks of an old copy. The password field of an account
# with a usable (or empty) password becomes "*": no password hashes to it,
# and it is not a lock in sshd's eyes. OpenSSH on Linux refuses even key
# logins to an account whose field starts with "!" when it does not use PAM
# (UsePAM no, or an sshd built without PAM as on Alpine), so "!" (what
# passwd -l writes) could give an image no one logs in to; "*" keeps key
# logins working in every case. An account someone locked ("!" and a hash)
# keeps its "!" and loses the hash. keep_users are left alone.
# /etc/shadow and /etc/gshadow are rewritten in place, so that the blocks
# that held the hashes are the ones written over (chpasswd would write a new
# file and free the old one's blocks, hashes and all).
# The step changes nothing unless it can read what sshd will really do.
step_passwords() {
	[ -r /etc/shadow ] || { report passwords failed "/etc/shadow cannot be read"; return; }
	_pam=unknown
	if sshd_ready; then
		if ! sshd_known; then
			report passwords failed "could not read sshd's effective configuration (sshd -T failed: $(head -n 3 "$work/sshd_err")), so it is not known whether key logins would survive; no password was changed: fix sshd's configuration or skip this step"
			return
		fi
		_pam=$(awk '$1 == "usepam" { print $2 }' "$work/sshd_after")
	fi
	# usable: a field that does not start with ! or * (an empty one too);
	# hashed: a locked field that still holds a hash ("!$6$...").
	awk -F: -v list="$work/" 'FILENAME == ARGV[1] { if ($0 != "") keep[$0] = 1; next }
		NF < 2 { next }
		($1 in keep) { print $1 > (list "kept"); next }
		$2 !~ /^[!*]/ { print $1 > (list "unlocked"); next }
		$2 !~ /^[!*]*$/ { print $1 > (list "hashed") }' "$work/keep_users" /etc/shadow
	touch "$work/kept" "$work/unlocked" "$work/hashed"
	set --
	for _b in /etc/shadow- /etc/gshadow- /var/backups/shadow.bak /var/backups/gshadow.bak \
		/var/backups/passwd.bak /var/backups/group.bak; do
		[ -e "$_b" ] || [ -L "$_b" ] && set -- "$@" "$_b"
	done
	_ghash=""
	[ -r /etc/gshadow ] && awk -F: 'NF > 1 && $2 !~ /^[!*]*$/ { f = 1 } END { exit !f }' /etc/gshadow && _ghash=1
	if [ "$audit" ]; then
		findings_from passwords "$work/unlocked" '%s has a usable or empty password'
		findings_from passwords "$work/hashed" "%s is locked, but its password hash is still in /etc/shadow"
		[ "$_ghash" ] && finding passwords "/etc/gshadow holds a group password hash"
		for _b; do finding passwords "$_b exists (a copy of the account files)"; done
		audit_result passwords "no account has a usable or empty password, and no hash is kept$(kept_text)"
		return
	fi
	locked_out_note "$_pam"
	if [ ! -s "$work/unlocked" ] && [ ! -s "$work/hashed" ] && [ -z "$_ghash" ] && [ $# -eq 0 ]; then
		report passwords ok "no account has a usable or empty password, and no hash is kept$(kept_text)"
		return
	fi
	# The new fields: * for usable passwords, ! or * (as it was) for locked
	# ones, without their hashes; group passwords become !.
	awk -F: -v OFS=: 'FILENAME == ARGV[1] { if ($0 != "") keep[$0] = 1; next }
		NF < 2 || ($1 in keep) { print; next }
		$2 !~ /^[!*]/ { $2 = "*"; print; next }
		$2 !~ /^[!*]*$/ { $2 = substr($2, 1, 1) }
		{ print }' "$work/keep_users" /etc/shadow >"$work/shadow.new"
	if ! rewrite_in_place /etc/shadow "$work/shadow.new"; then
		report passwords failed "could not rewrite /etc/shadow in place; no password was changed"
		return
	fi
	if [ "$_ghash" ]; then
		awk -F: -v OFS=: 'NF > 1 && $2 !~ /^[!*]*$/ { $2 = "!" } { print }' /etc/gshadow >"$work/gshadow.new"
		rewrite_in_place /etc/gshadow "$work/gshadow.new" ||
			{ report passwords failed "could not rewrite /etc/gshadow in place"; return; }
	fi
	# The scratch copies hold the hashes that stay (keep_users), and /run
	# may be on the image's disk in a chroot build.
	overwrite_files 0:0 "$work/hard" files "$work/shadow.new" "$work/gshadow.new" 2>/dev/null
	wipe_start passwords
	take_files 0:0 "$@"
	awk -F: 'FILENAME == ARGV[1] { if ($0 != "") keep[$0] = 1; next }
		NF > 1 && !($1 in keep) && $2 !~ /^[!*]*$/ { print $1 }' "$work/keep_users" /etc/shadow >"$work/still"
	for _b; do [ -e "$_b" ] && printf '%s\n' "$_b"; done >>"$work/still"
	if [ -s "$work/still" ]; then
		report passwords failed "still holding a password or a hash: $(join <"$work/still")"
		return
	fi
	_did=""
	[ -s "$work/unlocked" ] && _did="no password works for $(join <"$work/unlocked") (password field *; key logins unaffected, UsePAM ${_pam:-absent: sshd without PAM})"
	[ -s "$work/hashed" ] && _did="${_did:+$_did; }removed the hashes of locked $(join <"$work/hashed")"
	[ "$_ghash" ] && _did="${_did:+$_did; }removed the group password hashes"
	[ $# -gt 0 ] && _did="${_did:+$_did; }overwrote and removed $(printf '%s\n' "$@" | join)"
	report passwords changed "$_did$(kept_text)"
}

# kept_text: "; kept ... (keep_users)" when some account was left alone.
kept_text() {
	[ -s "$work/kept" ] && printf '; kept the password of %s (keep_users)' "$(join <"$work/kept")"
	return 0
}

# rewrite_in_place FILE NEW: give FILE the contents of NEW (no longer than
# FILE) in the same inode and blocks: NEW over the start, zeros over the
# rest, flushed to the disk, then the rest cut off. The file's owner, mode
# and SELinux label stay; no copy of the old contents is left anywhere.
# (On a copy-on-write file system the old blocks are freed anyway.)
rewrite_in_place() {
	_rp_old=$(wc -c <"$1") && _rp_new=$(wc -c <"$2") || return 1
	[ -s "$2" ] && [ "$_rp_new" -le "$_rp_old" ] || return 1
	# conv=fsync flushes this file only: a global sync would wait for every
	# other write on the machine.
	{ cat "$2" && head -c $((_rp_old - _rp_new)) /dev/zero; } | dd of="$1" conv=notrunc,fsync 2>/dev/null || return 1
	truncate -s "$_rp_new" "$1"
}

# locked_out_note USEPAM: without PAM, sshd refuses key logins to accounts
# whose password field starts with "!": say which login accounts are in that
# state already (this step does not unlock what someone locked on purpose).
locked_out_note() {
	[ "$1" = no ] || [ -z "$1" ] || return 0
	awk -F: -v no_login="$no_login" 'NR == FNR { if ($7 !~ no_login) login[$1] = 1; next }
		$2 ~ /^!/ && login[$1] { print $1 }' "$work/passwd" /etc/shadow >"$work/bang"
	[ -s "$work/bang" ] || return 0
	note passwords "sshd does not use PAM here, so it refuses even key logins to $(join <"$work/bang"), whose password field starts with ! (set it to * with usermod -p '*' to allow key logins)"
}
