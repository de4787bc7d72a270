# shellcheck shell=sh
# user-keys: nobody's keys ship in the image; instances get theirs at launch.
# Besides ~/.ssh, the files that sshd's AuthorizedKeysFile names, in every
# home (a relative pattern) or for every account (/etc/ssh/authorized_keys/%u).
#
# The files taken in every home, relative to it (a * only in the last part);
# sshd's relative AuthorizedKeysFile patterns are added at run time.
# shellcheck disable=SC2034 # read through home_files, by name
home_files_user_keys='.ssh/authorized_keys .ssh/authorized_keys2 .ssh/id_* .ssh/*.pem .ssh/*.key .ssh/*.ppk
.ssh/known_hosts .ssh/known_hosts.old .ssh/config'

step_user_keys() {
	if ! authorized_keys_patterns; then
		: >"$work/user-keys.skip"
		report user-keys failed "could not read sshd's AuthorizedKeysFile (sshd -T failed: $(head -n 3 "$work/sshd_err")); no key was removed"
		return
	fi
	[ -s "$work/user_keys_files" ] && home_files_user_keys="$home_files_user_keys $(cat "$work/user_keys_files")"
	# The homes of keep_users keep their keys.
	awk -F: 'FILENAME == ARGV[1] { if ($0 != "") keep[$0] = 1; next } ($1 in keep) { print $6 }' \
		"$work/keep_users" "$work/passwd" | while IFS= read -r _kh; do
		[ -d "$_kh" ] && printf 'user-keys\t%s\n' "$(readlink -f -- "$_kh")"
	done >>"$work/homes.kept"
	homes_pass
	use_lists user-keys
	# Patterns for every account: each account's own file, as sshd finds it.
	if [ -s "$work/user_keys_accounts" ]; then
		mnt=1
		while IFS=: read -r _user _x _uid _gid _gecos _home _shell; do
			grep -qxF -- "$_user" "$work/keep_users" && continue
			while IFS= read -r _pat; do
				_f=$(expand_keys_pattern "$_pat" "$_user" "$_uid" "$_home")
				case $_f in /?*) ;; *) continue ;; esac
				check_path "" "${_f#/}" || continue
				[ -L "$_f" ] || [ -e "$_f" ] || continue
				if [ -d "$_f" ] && [ ! -L "$_f" ]; then
					refuse "not touched: $(show "$_f") (AuthorizedKeysFile of $_user) is a directory"
					continue
				fi
				take_files "$(controller "$_f")" "$_f"
			done <"$work/user_keys_accounts"
		done <"$work/passwd"
	fi
	grep -v '^$' "$work/keep_users" >"$work/kept_keys"
	[ -s "$work/kept_keys" ] && note user-keys "kept the keys of $(join <"$work/kept_keys") (keep_users)"
	check_key_installer
	finish_wipe user-keys "$ki_fail"
}

# authorized_keys_patterns: the AuthorizedKeysFile patterns sshd uses, beyond
# the two defaults: relative ones (the same in every home) go to
# $work/user_keys_files, the others (absolute, or naming the user) to
# $work/user_keys_accounts. False when sshd is there but cannot say.
authorized_keys_patterns() {
	: >"$work/user_keys_files"
	: >"$work/user_keys_accounts"
	sshd_ready || return 0
	sshd_known || return 1
	awk '$1 == "authorizedkeysfile" { for (i = 2; i <= NF; i++) print $i }' "$work/sshd_after" |
		while IFS= read -r _p; do
			case $_p in
			.ssh/authorized_keys | .ssh/authorized_keys2 | %h/.ssh/authorized_keys | %h/.ssh/authorized_keys2 | none) ;;
			%h/*%*) printf '%s\n' "$_p" >>"$work/user_keys_accounts" ;;
			%h/*) printf '%s\n' "${_p#%h/}" >>"$work/user_keys_files" ;;
			/* | *%*) printf '%s\n' "$_p" >>"$work/user_keys_accounts" ;;
			*) printf '%s\n' "$_p" >>"$work/user_keys_files" ;;
			esac
		done
	return 0
}

# expand_keys_pattern PATTERN USER UID HOME: the file sshd reads for USER
# (sshd_config(5), TOKENS: %% %h %U %u; a relative path is below HOME).
expand_keys_pattern() {
	awk -v p="$1" -v u="$2" -v id="$3" -v h="$4" 'BEGIN {
		out = ""
		for (i = 1; i <= length(p); i++) {
			c = substr(p, i, 1)
			if (c != "%" || i == length(p)) { out = out c; continue }
			t = substr(p, ++i, 1)
			if (t == "%") out = out "%"; else if (t == "h") out = out h; else if (t == "u") out = out u
			else if (t == "U") out = out id; else { print ""; exit }
		}
		if (out !~ /^\//) out = h "/" out
		print out
	}'
}

# home_more_user_keys HOME TAKEN...: (for homes_pass) the files of
# HOME/.ssh that no pattern took (TAKEN) and that hold a private key (PEM,
# OpenSSH or PuTTY), whatever their names, one a line. Read as root,
# changing nothing; a grep only for homes with such files.
home_more_user_keys() {
	_ok_dir=$1/.ssh
	shift
	[ -d "$_ok_dir" ] && [ ! -L "$_ok_dir" ] || return 0
	_ok_n=$#
	for _ok_f in "$_ok_dir"/* "$_ok_dir"/.[!.]*; do
		if [ ! -f "$_ok_f" ] || [ -L "$_ok_f" ]; then continue; fi
		case $_ok_f in *"$nl"*) continue ;; esac
		_ok_i=0
		for _ok_t; do
			_ok_i=$((_ok_i + 1))
			[ "$_ok_i" -le "$_ok_n" ] || break
			[ "$_ok_t" = "$_ok_f" ] && continue 2
		done
		set -- "$@" "$_ok_f"
	done
	# The candidates follow TAKEN in the arguments.
	shift "$_ok_n"
	[ $# -gt 0 ] || return 0
	grep -l -E -e '-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY-----' -e '^PuTTY-User-Key-File-' -- "$@" 2>/dev/null
}
