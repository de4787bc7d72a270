# shellcheck shell=sh
# sshd: password logins off, keys on. sshd keeps the FIRST value it reads for a
# keyword, and Debian and Ubuntu include sshd_config.d/*.conf at the top of
# sshd_config, where cloud images put PasswordAuthentication yes. So the block
# goes at the very top of sshd_config itself, ahead of every Include, and the
# result is read back from `sshd -T`, not from the file, with the options the
# service manager passes on sshd's command line (which outrank any file).
# With sshd_algorithms = "modern" the block also carries the modern
# KexAlgorithms, Ciphers, MACs and HostKeyAlgorithms (lib/sshd.sh:
# sshd_modern_candidates), cut to what this sshd knows. sshd_config ends up
# mode 600 at most (Lynis FILE-7524 and the CIS benchmarks; Debian ships 644):
# it says how the machine is reached, which is no one else's business.
# sshd is neither restarted nor reloaded: the build's own connection must
# live to the end. The other ways in (a keys command, a CA, principals, other
# key files) are reported: they are the user's to keep or remove.
step_sshd() {
	sshd_ready || { report sshd skipped "sshd is not installed"; return; }
	config=/etc/ssh/sshd_config
	# Written in place and chmod-ed: never through a link, which could
	# point anywhere.
	if has_link "$config"; then
		report sshd failed "$config is a symbolic link or lies below one: the step writes and chmods no file through a link (make it a regular file)"
		return
	fi
	[ -f "$config" ] || { report sshd failed "$config does not exist"; return; }
	[ -f "$work/probe_key" ] || { report sshd failed "ssh-keygen could not make a throwaway key to test sshd's configuration"; return; }
	_mode=$(sshd_config_mode)
	[ -n "$_mode" ] || { report sshd failed "could not read the mode of $config (stat)"; return; }
	# sshd -T checks the configuration as -t does, and prints the result.
	sshd_effective >"$work/sshd_before" || { report sshd failed "sshd rejects the configuration before any change (sshd -T), fix it first: $(head -n 3 "$work/sshd_err")"; return; }

	# OpenSSH before 8.7 knows the keyword as ChallengeResponseAuthentication.
	printf '%s\n' "$AMI_HARDEN_SSHD_SETTINGS" >"$work/settings"
	if ! grep -q '^kbdinteractiveauthentication ' "$work/sshd_before"; then
		sed 's/^KbdInteractiveAuthentication /ChallengeResponseAuthentication /' "$work/settings" >"$work/settings.old"
		mv "$work/settings.old" "$work/settings"
	fi

	# Whether sshd knows each keyword and value, this machine's sshd says
	# (distributions add keywords of their own): the settings alone, as a
	# file of their own, before sshd_config is touched.
	if ! sshd_effective -f "$work/settings" >/dev/null; then
		report sshd failed "sshd_settings: this machine's sshd rejects them, $config is unchanged (sshd -T: $(grep -v 'terminating, [0-9]* bad configuration' "$work/sshd_err" | head -n 3 | sed "s|$work/settings|sshd_settings|" | tr -d '\r' | join))"
		return
	fi
	_summary=$(awk 'NF { print $1 " " $2 }' "$work/settings" | join)

	# The modern algorithms join the settings, below those of sshd_settings
	# (a keyword there wins), each list what this sshd accepts of it.
	if [ "$AMI_HARDEN_SSHD_ALGORITHMS" = modern ]; then
		if ! sshd_modern_algorithms; then
			report sshd failed "sshd_algorithms: this machine's sshd knows none of the modern $(join <"$work/modern_empty"), $config is unchanged"
			return
		fi
		if grep -q '^HostKeyAlgorithms ' "$work/modern" &&
			! sshd_hostkeys_fit "$(awk '$1 == "HostKeyAlgorithms" { print $2 }' "$work/modern")"; then
			report sshd failed "sshd_algorithms: the modern HostKeyAlgorithms fit none of sshd's host keys ($(join <"$work/hostkeys_unfit")): sshd would have no host key to offer; add an Ed25519 or RSA HostKey, or set HostKeyAlgorithms in sshd_settings. $config is unchanged"
			return
		fi
		cat "$work/modern" >>"$work/settings"
		_summary="$_summary; modern algorithms: $(join <"$work/modern_counts")"
	fi

	if [ "$audit" ]; then
		sshd_compare "$work/sshd_before"
		findings_from sshd "$work/wrong" '%s (sshd -T)'
		sshd_has_match && ! sshd_match_check && findings_from sshd "$work/wrong" 'a Match block sets %s'
		# A command, principals or a CA that lets people in stays a finding;
		# other key file locations are only said (user-keys audits the files).
		sshd_ways_in "$work/sshd_before"
		grep -v '^AuthorizedKeysFile ' "$work/ways_in" >"$work/ways_in.stay"
		findings_from sshd "$work/ways_in.stay" '%s'
		grep '^AuthorizedKeysFile ' "$work/ways_in" | while IFS= read -r _w; do note sshd "$_w"; done
		mode_wider_than_600 "$_mode" && finding sshd "$config is mode $_mode, wider than 600"
		audit_result sshd "in effect: $_summary; $config is mode $_mode"
		return
	fi

	{
		echo '# BEGIN ami-harden: kept first, sshd uses the first value it reads.'
		grep . "$work/settings"
		echo '# END ami-harden'
		# Earlier runs' block is replaced, not stacked.
		sed '/^# BEGIN ami-harden/,/^# END ami-harden/d' "$config"
	} >"$work/sshd_config.new"

	_written=""
	if cmp -s "$work/sshd_config.new" "$config"; then
		cp "$work/sshd_before" "$work/sshd_after"
	else
		cp -p "$config" "$work/sshd_config.orig" || { report sshd failed "could not back up $config"; return; }
		# Written in place: keeps the owner, mode, SELinux label and any hard
		# link of the file.
		cat "$work/sshd_config.new" >"$config" || {
			cat "$work/sshd_config.orig" >"$config"
			report sshd failed "could not write $config"
			return
		}
		if ! sshd_effective >"$work/sshd_after"; then
			cat "$work/sshd_config.orig" >"$config"
			rm -f "$work/sshd_after"
			report sshd failed "sshd rejected the new settings (sshd -T), $config was restored: $(head -n 3 "$work/sshd_err")"
			return
		fi
		_written=1
	fi

	# Verify the effect: what sshd will really use, for every setting asked for.
	sshd_compare "$work/sshd_after"
	if [ -s "$work/wrong" ]; then
		_from=""
		[ -s "$work/sshd_opts_from" ] && _from=" (sshd's command line outranks its files: $(join <"$work/sshd_opts_from"))"
		report sshd failed "sshd -T does not show the settings asked for: $(join <"$work/wrong")$_from"
		return
	fi
	if sshd_has_match && ! sshd_match_check; then
		report sshd failed "a Match block in the sshd configuration turns password logins back on: $(join <"$work/wrong")"
		return
	fi

	# Only narrower: the bits outside 600 go, a 400 stays 400. The path has
	# no link on it (checked above), and /etc/ssh is root's.
	_mode_done=""
	if mode_wider_than_600 "$_mode"; then
		_new=$(printf '%o' $((0$_mode & 0600)))
		if ! chmod "$_new" "$config" || mode_wider_than_600 "$(sshd_config_mode)"; then
			report sshd failed "could not make $config mode $_new (it is $(sshd_config_mode)); its settings are in effect"
			return
		fi
		_mode_done="; $config mode $_new, was $_mode"
	fi

	sshd_ways_in "$work/sshd_after"
	while IFS= read -r _w; do note sshd "$_w"; done <"$work/ways_in"
	_pam=$(awk '$1 == "usepam" { print $2 }' "$work/sshd_after")
	_more=""
	[ -s "$work/ways_in" ] && _more="; $(grep -c . "$work/ways_in") other way(s) in, see below"
	if [ "$_written" ]; then
		report sshd changed "$config now starts with: $_summary (verified with sshd -T; UsePAM ${_pam:-absent: sshd without PAM})$_mode_done$_more"
	elif [ "$_mode_done" ]; then
		report sshd changed "already in effect: $_summary$_mode_done$_more"
	else
		report sshd ok "already in effect: $_summary$_more"
	fi
}

# sshd_compare EFFECTIVE: list in $work/wrong each setting asked for that the
# `sshd -T` output in EFFECTIVE does not show. One awk for every setting:
# keywords and values compare without case, and sshd -T prints some values
# under another name (prohibit-password is without-password).
sshd_compare() {
	awk 'FILENAME == ARGV[1] { if (!($1 in got)) { v = $0; sub(/^[^ ]* ?/, "", v); got[$1] = v }; next }
		NF {
			key = $1; want = $0
			sub(/^[ \t]*[^ \t]+[ \t]*/, "", want); sub(/[ \t]+$/, "", want)
			lk = tolower(key)
			if (!(lk in got) || got[lk] == "") { print "missing\t" key; next }
			w = tolower(want); g = tolower(got[lk])
			if (w == g || (w ":" g) ~ /^(prohibit-password:without-password|without-password:prohibit-password)$/) next
			print (lk ~ /^(kexalgorithms|ciphers|macs|hostkeyalgorithms)$/ ? "list" : "value") "\t" key "\t" want "\t" got[lk]
		}' "$1" "$work/settings" | while IFS="$tab" read -r _kind _key _want _got; do
		case $_kind in
		missing) printf '%s (not in sshd -T'"'"'s output)\n' "$_key" ;;
		list) sshd_list_diff "$_key" "$_want" "$_got" ;;
		*) printf '%s is %s, not %s\n' "$_key" "$_got" "$_want" ;;
		esac
	done >"$work/wrong"
}

# sshd_ways_in EFFECTIVE: the ways in besides the keys in ~/.ssh that the
# `sshd -T` output in EFFECTIVE shows, one line each in $work/ways_in, with
# where a command-line option came from.
sshd_ways_in() {
	awk '
		$1 == "authorizedkeyscommand" && $2 != "none" { k = "AuthorizedKeysCommand" }
		$1 == "authorizedprincipalscommand" && $2 != "none" { k = "AuthorizedPrincipalsCommand" }
		$1 == "authorizedprincipalsfile" && $2 != "none" { k = "AuthorizedPrincipalsFile" }
		$1 == "trustedusercakeys" && $2 != "none" { k = "TrustedUserCAKeys" }
		$1 == "authorizedkeysfile" {
			for (i = 2; i <= NF; i++)
				if ($i !~ /^(%h\/)?\.ssh\/authorized_keys2?$/) k = "AuthorizedKeysFile"
		}
		k { v = $0; sub(/^[^ ]* /, "", v); print k "\t" tolower(k) "\t" v; k = "" }
	' "$1" | while IFS="$tab" read -r _k _lk _v; do
		_src=$(grep -i -- "-o ${_lk}[ =]" "$work/sshd_opts_from" | head -n 1 | sed 's/: -o .*//')
		case $_k in
		AuthorizedKeysFile) _what="keys are also read from $_v (user-keys cleans these files)" ;;
		TrustedUserCAKeys) _what="certificates signed by the CA keys in $_v log in" ;;
		*) _what="$_v decides who logs in" ;;
		esac
		[ -n "$_src" ] && _what="$_what (on the command line of sshd: $_src)"
		printf '%s %s\n' "$_k" "$_what"
	done >"$work/ways_in"
}

# sshd_has_match: Match blocks override the global settings for the
# connections they match, so they need a check of their own.
sshd_has_match() {
	grep -Eiqs '^[[:space:]]*Match[[:space:]]' /etc/ssh/sshd_config /etc/ssh/sshd_config.d/*.conf
}

# sshd_match_check: with Match blocks present, check the password settings for
# root and every account with a login shell, as sshd would see their logins.
# What is wrong goes to $work/wrong.
sshd_match_check() {
	: >"$work/wrong"
	awk -F: -v no_login="$no_login" '$7 !~ no_login { print $1 }' "$work/passwd" >"$work/login_users"
	while IFS= read -r _u; do
		sshd_effective -C "user=$_u,host=image.invalid,addr=192.0.2.1,laddr=192.0.2.2,lport=22" >"$work/sshd_user" || {
			printf '%s (sshd -T -C failed)\n' "$_u" >>"$work/wrong"
			continue
		}
		for _k in passwordauthentication permitemptypasswords; do
			awk -v k="$_k" -v u="$_u" '$1 == k && $2 != "no" { print u ": " k " " $2 }' "$work/sshd_user" >>"$work/wrong"
		done
	done <"$work/login_users"
	[ ! -s "$work/wrong" ]
}
