# shellcheck shell=sh
# sshd: what the image's sshd will really do (`sshd -T`, with the options
# its service manager passes on the command line), for the steps that ask.

# sshd_binary: the sshd of the image, if any.
sshd_binary() {
	for _s in /usr/sbin/sshd /usr/local/sbin/sshd; do
		[ -x "$_s" ] && { printf '%s\n' "$_s"; return 0; }
	done
	command -v sshd
}

# sshd_effective [-C SPEC]: the settings sshd would use (`sshd -T`),
# lowercased keywords, with the options the service manager passes on sshd's
# command line ($work/sshd_opts, one per line). A throwaway host key is
# passed with -h because the image's own host keys may already be gone (a
# second run), and sshd refuses to test without one. sshd wants its
# privilege separation directory, which a chroot (no /run) lacks: it is made
# for the check and removed after.
sshd_effective() {
	set -- "$@" -T -h "$work/probe_key"
	while IFS= read -r _o; do
		[ -n "$_o" ] && set -- "$@" -o "$_o"
	done <"$work/sshd_opts"
	"$sshd" "$@" 2>"$work/sshd_err" && return 0
	# sshd ends its messages with CR LF.
	_dir=$(sed -n 's/^Missing privilege separation directory: \([^[:space:]]*\).*/\1/p' "$work/sshd_err" | head -n 1)
	case $_dir in /?*) ;; *) return 1 ;; esac
	[ -e "$_dir" ] && return 1
	mkdir -m 0755 -- "$_dir" || return 1
	"$sshd" "$@" 2>"$work/sshd_err"
	_rc=$?
	rmdir -- "$_dir" 2>/dev/null
	return "$_rc"
}

# sshd_probe_key: a throwaway host key for sshd -T. ECDSA P-256 first, then
# RSA: FIPS mode refuses Ed25519 keys.
sshd_probe_key() {
	[ -f "$work/probe_key" ] && return 0
	ssh-keygen -q -t ecdsa -b 256 -N '' -C ami-harden-probe -f "$work/probe_key" >/dev/null 2>&1 && return 0
	rm -f "$work/probe_key" "$work/probe_key.pub"
	ssh-keygen -q -t rsa -b 3072 -N '' -C ami-harden-probe -f "$work/probe_key" >/dev/null 2>&1
}

# sshd_known: sshd's effective settings are in $work/sshd_after (the sshd
# step leaves what it verified there; otherwise sshd is asked now). False,
# with sshd's complaint in $work/sshd_err, when sshd cannot say.
sshd_known() {
	[ -s "$work/sshd_after" ] && return 0
	sshd_effective >"$work/sshd_after" && return 0
	rm -f "$work/sshd_after"
	return 1
}

# sshd_ready: find sshd, the options its service passes it, and a probe key.
# False (with $sshd empty) when there is no sshd. Found once per run: each
# step runs in a subshell, so what the first one found is kept in
# $work/sshd_bin (empty without sshd) for the others.
sshd_ready() {
	[ -n "$sshd" ] && return 0
	if [ -e "$work/sshd_bin" ]; then
		read -r sshd <"$work/sshd_bin" || sshd=""
		[ -n "$sshd" ] && [ -f "$work/probe_key" ]
		return
	fi
	sshd=$(sshd_binary) || { sshd=""; : >"$work/sshd_bin"; return 1; }
	sshd_command_line | awk '!seen[$0]++' >"$work/sshd_opts"
	sshd_probe_key || return 1
	printf '%s\n' "$sshd" >"$work/sshd_bin"
}

# sshd_units: the systemd units that start sshd on this image: the enabled
# ones among ssh.service and sshd.service, and the service behind an
# enabled ssh.socket (ssh@.service when it accepts each connection itself).
# When none is enabled, every one that is installed.
sshd_units() {
	_su_n=0
	for _su in ssh.service sshd.service; do
		unit_enabled "$_su" && { echo "$_su"; _su_n=1; }
	done
	for _su in ssh sshd; do
		unit_enabled "$_su.socket" || continue
		_su_n=1
		if grep -Eqs '^Accept=(yes|true|1)' "$(unit_file "$_su.socket")"; then
			echo "$_su@.service"
		else
			echo "$_su.service"
		fi
	done
	[ "$_su_n" = 1 ] && return 0
	for _su in ssh.service sshd.service ssh@.service; do
		unit_file "$_su" >/dev/null && echo "$_su"
	done
	return 0
}

# sshd_command_line: the -o options the service manager passes to sshd, one
# per line, and in $work/sshd_opts_from where each came from. sshd -T never
# sees these unless they are passed to it too (Amazon Linux's EC2 Instance
# Connect passes AuthorizedKeysCommand this way, from a sshd.service.d
# drop-in; a drop-in could as well turn password logins back on).
sshd_command_line() {
	: >"$work/sshd_opts_from"
	for _unit in $(sshd_units); do
		_main=$(unit_file "$_unit") || continue
		# Drop-ins in name order; one in /etc hides one of the same name below.
		for _d in /etc/systemd/system /run/systemd/system /usr/lib/systemd/system /lib/systemd/system; do
			for _f in "$_d/$_unit.d"/*.conf; do
				[ -f "$_f" ] && printf '%s\t%s\n' "${_f##*/}" "$_f"
			done
		done | awk -F '\t' '!seen[$1]++' | sort -t "$tab" -k1,1 | cut -f2 >"$work/dropins"
		# shellcheck disable=SC2046 # file names from a glob of unit directories
		awk -v unit="$_unit" '
			# EnvironmentFile= values are read for $OPTIONS-like variables.
			/^[ \t]*EnvironmentFile=/ { f = $0; sub(/^[^=]*=-?/, "", f); envf[++ne] = f }
			/^[ \t]*ExecStart=/ {
				v = $0; sub(/^[^=]*=/, "", v)
				if (v == "") { n = 0; next }
				cmd[++n] = v; src[n] = FILENAME
			}
			END {
				for (i = 1; i <= ne; i++) {
					while ((getline line < envf[i]) > 0) {
						if (line ~ /^[A-Za-z_][A-Za-z0-9_]*=/) {
							k = line; sub(/=.*/, "", k); val = line; sub(/^[^=]*=/, "", val)
							gsub(/^["\047]|["\047]$/, "", val); env[k] = val
						}
					}
				}
				for (i = 1; i <= n; i++) {
					c = cmd[i]
					for (k in env) { gsub("\\$\\{" k "\\}", env[k], c); gsub("\\$" k "([^A-Za-z0-9_]|$)", env[k] " ", c) }
					# Words: double quotes group, %% is a percent sign.
					nw = 0; w = ""; q = 0; inw = 0
					for (j = 1; j <= length(c); j++) {
						ch = substr(c, j, 1)
						if (ch == "\"") { q = !q; inw = 1; continue }
						if (!q && (ch == " " || ch == "\t")) { if (inw) { words[++nw] = w; w = ""; inw = 0 }; continue }
						w = w ch; inw = 1
					}
					if (inw) words[++nw] = w
					for (j = 1; j <= nw; j++) {
						o = ""
						if (words[j] == "-o" && j < nw) o = words[++j]
						else if (words[j] ~ /^-o./) o = substr(words[j], 3)
						if (o != "") { gsub(/%%/, "%", o); print o; print unit " (" src[i] "): -o " o > "/dev/stderr" }
					}
				}
			}' "$_main" $(cat "$work/dropins") 2>>"$work/sshd_opts_from"
	done
	# OpenRC (Alpine): the init script passes command_args (or the older
	# SSHD_OPTS) from /etc/conf.d/sshd.
	if [ -f /etc/conf.d/sshd ]; then
		sed -En 's/^[[:space:]]*(command_args|SSHD_OPTS)=["'\'']?([^"'\'']*).*/\2/p' /etc/conf.d/sshd | tr ' ' '\n' |
			awk '$0 == "-o" { o = 1; next } o { print; print "/etc/conf.d/sshd: -o " $0 > "/dev/stderr"; o = 0 }' \
				2>>"$work/sshd_opts_from"
	fi
}

# sshd_modern_candidates: the modern algorithm set (sshd_algorithms =
# "modern"), a line "Keyword candidates" per keyword, each list best first.
# The lists are ssh-audit's hardening guides for OpenSSH on Debian 12
# (version 3, 2025-04-18) and Debian 13 (2025-09-01) taken together: Debian
# 13's post-quantum key exchanges first, then Debian 12's (jtesta/ssh-audit,
# src/ssh_audit/hardening_guides.py; https://www.ssh-audit.com/hardening_guides.html).
# dev-sec's ssh-hardening sets the same kinds (ansible-collection-hardening,
# roles/ssh_hardening/vars/main.yml: ssh_kex_85_default, ssh_ciphers_66_default,
# ssh_macs_76_default), with hmac-sha2-512 and hmac-sha2-256 besides, which
# ssh-audit warns about (encrypt-and-MAC): they are left out here. Left out
# too: NIST curves (ecdh-sha2-nistp*, and ECDSA host keys), SHA-1
# (diffie-hellman-group14-sha1, ssh-rsa, hmac-sha1*), 64-bit tags (umac-64*),
# CBC ciphers, the 2048-bit diffie-hellman-group14-sha256, and GSSAPI key
# exchange (gss-*, a keyword of its own). TestSSHDModernCandidates in
# provisioner/script/script_test.go keeps those out of these lines.
sshd_modern_candidates() {
	cat <<'END'
KexAlgorithms mlkem768x25519-sha256,sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group-exchange-sha256
Ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes256-ctr,aes192-ctr,aes128-gcm@openssh.com,aes128-ctr
MACs hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com,umac-128-etm@openssh.com
HostKeyAlgorithms sk-ssh-ed25519-cert-v01@openssh.com,ssh-ed25519-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,sk-ssh-ed25519@openssh.com,ssh-ed25519,rsa-sha2-512,rsa-sha2-256
END
}

# sshd_modern_algorithms: the modern set as settings lines in $work/modern
# ("Keyword alg,alg,..."), for each keyword that $work/settings does not set
# (sshd_settings wins), each list cut to what this machine's sshd accepts:
# an older OpenSSH gets the part it knows. $work/modern_counts says, a line
# per keyword, "Keyword KEPT of ALL" or "Keyword from sshd_settings". False,
# with the keywords in $work/modern_empty, when sshd knows none of a
# keyword's candidates.
sshd_modern_algorithms() {
	: >"$work/modern"
	: >"$work/modern_counts"
	: >"$work/modern_empty"
	sshd_modern_candidates >"$work/modern_candidates"
	while read -r _kw _cands; do
		if awk -v k="$_kw" 'tolower($1) == tolower(k) { f = 1 } END { exit !f }' "$work/settings"; then
			printf '%s from sshd_settings\n' "$_kw" >>"$work/modern_counts"
			continue
		fi
		# The whole list first: an sshd that knows it all takes one run.
		if sshd_accepts "$_kw" "$_cands"; then
			_kept=$_cands
		else
			_kept=""
			for _a in $(printf '%s' "$_cands" | tr ',' ' '); do
				sshd_accepts "$_kw" "$_a" && _kept="${_kept:+$_kept,}$_a"
			done
		fi
		if [ -z "$_kept" ]; then
			printf '%s\n' "$_kw" >>"$work/modern_empty"
			continue
		fi
		printf '%s %s\n' "$_kw" "$_kept" >>"$work/modern"
		printf '%s %s of %s\n' "$_kw" "$(printf '%s' "$_kept" | tr ',' '\n' | grep -c .)" \
			"$(printf '%s' "$_cands" | tr ',' '\n' | grep -c .)" >>"$work/modern_counts"
	done <"$work/modern_candidates"
	[ ! -s "$work/modern_empty" ]
}

# sshd_accepts KEYWORD VALUE: whether this machine's sshd takes VALUE for
# KEYWORD: sshd refuses an algorithm name it does not know (sshd -T on a
# file with that line alone, as for sshd_settings).
sshd_accepts() {
	printf '%s %s\n' "$1" "$2" >"$work/alg_probe"
	sshd_effective -f "$work/alg_probe" >/dev/null </dev/null
}

# sshd_hostkeys_fit ALGORITHMS: whether a host key that sshd loads can sign
# with one of ALGORITHMS (comma-separated): a HostKeyAlgorithms list that
# fits none leaves sshd with nothing to offer, and no client gets in. The
# keys are the HostKey lines `sshd -T` shows in $work/sshd_before besides
# the throwaway key, or, without any, sshd's defaults (RSA, ECDSA and
# Ed25519). A key's type is the first word of its .pub file, or else what its
# name says; a key neither tells about is given the benefit of the doubt.
# The keys that do not fit go to $work/hostkeys_unfit.
sshd_hostkeys_fit() {
	: >"$work/hostkeys_unfit"
	awk -v probe="$work/probe_key" '$1 == "hostkey" { $1 = ""; sub(/^ /, ""); if ($0 != probe) print }' \
		"$work/sshd_before" >"$work/hostkeys"
	[ -s "$work/hostkeys" ] || return 0
	while IFS= read -r _hk; do
		_t=""
		[ -f "$_hk.pub" ] && read -r _t _rest <"$_hk.pub" 2>/dev/null
		if [ -z "$_t" ]; then
			case ${_hk##*/} in
			*ed25519*) _t=ssh-ed25519 ;;
			*ecdsa*) _t=ecdsa-sha2-nistp256 ;;
			*dsa*) _t=ssh-dss ;;
			*rsa*) _t=ssh-rsa ;;
			*) return 0 ;;
			esac
		fi
		# An RSA key signs with rsa-sha2-256 and rsa-sha2-512 too.
		[ "$_t" = ssh-rsa ] && _t="ssh-rsa rsa-sha2-256 rsa-sha2-512"
		for _a in $_t; do
			case ",$1," in *",$_a,"*) return 0 ;; esac
		done
		printf '%s (%s)\n' "$_hk" "${_t%% *}" >>"$work/hostkeys_unfit"
	done <"$work/hostkeys"
	return 1
}

# sshd_list_diff KEYWORD WANT GOT: how an algorithm list sshd uses (GOT)
# differs from the one asked for (WANT), on one line: what it allows
# besides, what it lacks, or that only the order differs.
sshd_list_diff() {
	awk -v k="$1" -v want="$2" -v got="$3" 'BEGIN {
		nw = split(tolower(want), w, ","); ng = split(tolower(got), g, ",")
		for (i = 1; i <= nw; i++) inw[w[i]] = 1
		for (i = 1; i <= ng; i++) { ing[g[i]] = 1; if (!(g[i] in inw)) extra = extra " " g[i] }
		for (i = 1; i <= nw; i++) if (!(w[i] in ing)) missing = missing " " w[i]
		s = k ":"
		if (extra != "") s = s " also allows" extra
		if (missing != "") s = s (extra != "" ? ";" : "") " lacks" missing
		if (extra == "" && missing == "") s = s " the same algorithms in another order"
		print s
	}'
}

# sshd_config_mode: the permission bits of sshd_config (stat's octal, e.g.
# 644), for the check that it is no wider than 600.
sshd_config_mode() {
	stat -c %a -- /etc/ssh/sshd_config 2>/dev/null
}

# mode_wider_than_600 MODE: whether octal MODE has a bit outside 0600
# (group or others, execute, set-id, sticky).
mode_wider_than_600() {
	[ $((0$1 & 07177)) -ne 0 ]
}
