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
# False (with $sshd empty) when there is no sshd.
sshd_ready() {
	[ -n "$sshd" ] && return 0
	sshd=$(sshd_binary) || { sshd=""; return 1; }
	sshd_command_line | awk '!seen[$0]++' >"$work/sshd_opts"
	sshd_probe_key
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
