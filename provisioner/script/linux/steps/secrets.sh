# shellcheck shell=sh
# secrets: stray secrets that an earlier provisioner left where no step looks
# (an .env file with an AWS key pair, a private key in /srv, a database URL
# with a password in an application's configuration) fail the build, named by
# file, line and kind, never by the secret itself. The step deletes nothing:
# those files belong to the application; the message says how to fix them or
# to accept a known file (secrets_allow). It runs after the steps that clean
# (so what they remove is not reported) and before logs.
#
# Scanned: /etc, /root, every home, /opt, /srv, /usr/local and /var, but not
# package databases and caches (only packaged files), logs (the logs step
# empties them next) or /var/tmp (emptied by temp). Binary files, links and
# other mounts are skipped. The patterns take their facts (prefixes, lengths,
# alphabets) from the published rule sets of gitleaks and trufflehog.
step_secrets() {
	# GNU grep (-I skips binary files, -Z ends names with a NUL), by its
	# path: busybox's shell would run its own grep, which has neither.
	_grep=""
	for _g in /usr/bin/grep /bin/grep "$(command -v grep)"; do
		[ -x "$_g" ] && printf 'x\n' | "$_g" -I -Z -H -n -E x >/dev/null 2>&1 && { _grep=$_g; break; }
	done
	if [ -z "$_grep" ]; then
		report secrets failed "GNU grep (for -I and -Z) is needed to scan for stray secrets; install it or skip this step"
		return
	fi
	secret_roots | awk '!seen[$0]++' >"$work/secret.roots"
	# The trees, walked without following links or leaving their file
	# systems, then grep over the files: one grep for every pattern.
	tr '\n' '\0' <"$work/secret.roots" |
		xargs -0 sh -c 'find -P "$@" -xdev \( -type d \( -path /var/lib/dpkg -o -path /var/lib/apt -o \
			-path /var/cache -o -path /var/lib/rpm -o -path /var/lib/dnf -o -path /var/lib/yum -o \
			-path /var/lib/apk -o -path /var/log -o -path /var/tmp -o -path /var/lib/cloud -o \
			-path /var/lib/docker -o -path /var/lib/containers \) -prune \) -o \( -type f -print0 \)' sh \
		2>/dev/null >"$work/secret.files"
	_files=$(count0 "$work/secret.files")
	_bytes=$(xargs -0 -r wc -c -- <"$work/secret.files" 2>/dev/null | awk '$2 != "total" { n += $1 } END { print n + 0 }')
	_start=$(now_ms)
	# grep -Z ends the file name with a NUL: any name, then "LINE:TEXT".
	# -D skip: a file swapped for a FIFO since the listing must not hang it.
	# grep's own errors (a file it could not read) fail the step: a file
	# not read is a file not known to be clean. One that vanished since the
	# listing is no such file.
	if ! xargs -0 -r "$_grep" -I -D skip -n -H -Z -E -e "$secret_any" -- <"$work/secret.files" 2>"$work/secret.err" |
		tr '\0' '\001' | AMI_HARDEN_SECRETS_ALLOW=$AMI_HARDEN_SECRETS_ALLOW awk "$secret_classify" >"$work/secret.hits"; then
		report secrets failed "the scan did not finish (the patterns or secrets_allow could not be read); nothing is known about stray secrets"
		return
	fi
	if grep -v 'No such file or directory' "$work/secret.err" | grep -q .; then
		report secrets failed "the scan could not read every file: $(grep -v 'No such file or directory' "$work/secret.err" | head -n 3 | join)"
		return
	fi
	_ms=$(($(now_ms) - _start))
	_scanned="scanned $_files files, $(awk -v b="$_bytes" 'BEGIN { printf "%.1f", b / 1048576 }') MiB, in ${_ms} ms"
	if [ "$audit" ]; then
		findings_from secrets "$work/secret.hits" '%s'
		audit_result secrets "no stray secret found ($_scanned)"
		return
	fi
	if [ -s "$work/secret.hits" ]; then
		report secrets failed "$(grep -c . "$work/secret.hits") stray secret(s): $(join <"$work/secret.hits"); remove them from the image, or accept a known file with secrets_allow ($_scanned)"
	else
		report secrets ok "no stray secret found ($_scanned)"
	fi
}

# now_ms: milliseconds since the epoch (seconds times 1000 where date has
# no %N, as busybox's).
now_ms() {
	_nm=$(date +%s%N)
	case $_nm in *N) echo $(($(date +%s) * 1000)) ;; *) echo $((_nm / 1000000)) ;; esac
}

# secret_roots: the trees to scan, one per line, each a real directory: the
# fixed ones, and the homes that lie outside them and outside the system's
# own directories (system accounts have homes like /, /usr/sbin, /run/sshd).
secret_roots() {
	for _sr in /etc /root /opt /srv /usr/local /var; do
		[ -d "$_sr" ] && [ ! -L "$_sr" ] && printf '%s\n' "$_sr"
	done
	cut -f 3 "$work/homes" | while IFS= read -r _sr; do
		system_path "$_sr" && continue
		case $_sr in /etc/* | /root/* | /opt/* | /srv/* | /usr/local/* | /var/* | /run/* | /tmp/*) continue ;; esac
		printf '%s\n' "$_sr"
	done
}

# secret_any: one extended regular expression that every kind below
# matches, for grep to pick the candidate lines.
secret_any='(A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}|[Ss][Ee][Cc][Rr][Ee][Tt]_?[Aa][Cc][Cc][Ee][Ss][Ss]_?[Kk][Ee][Yy]|-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----|PuTTY-User-Key-File-[0-9]|gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22}|glpat-[A-Za-z0-9_-]{20}|xox[abposr]-[0-9A-Za-z-]{10}|hooks\.slack\.com/services/|[rs]k_live_[0-9A-Za-z]{24}|AIza[0-9A-Za-z_-]{35}|npm_[A-Za-z0-9]{36}|[A-Za-z][A-Za-z0-9+.-]*://[^/?#@[:space:]"'"'"'<>]+:[^/?#@[:space:]"'"'"'<>]+@'

# secret_classify: an awk program over grep -Z -n -H output (the NUL after
# the file name turned into \001): for each line, the kinds of secret in it,
# as "FILE:LINE KIND" (a newline in FILE shown as ?), never the text. Files
# that match a glob of secrets_allow (in the environment, one per line) are
# accepted.
# Placeholders that documentation uses (AWS's EXAMPLE keys, ${VAR}, <var>,
# "password") are not secrets. Debian's awk (mawk) has no {n} in regular
# expressions: rep() writes them out.
# shellcheck disable=SC2016 # an awk program
secret_classify='
function rep(c, n,   s) { s = ""; while (n-- > 0) s = s c; return s }
function glob(p, s,   r, i, c) {
	r = ""
	for (i = 1; i <= length(p); i++) {
		c = substr(p, i, 1)
		if (c == "*") r = r ".*"
		else if (c == "?") r = r "."
		else if (c ~ /[A-Za-z0-9_\/-]/) r = r c
		else if (c == "^" || c == "\\" || c == "[" || c == "]") r = r "\\" c
		else r = r "[" c "]"
	}
	return s ~ ("^" r "$")
}
BEGIN {
	n = split(ENVIRON["AMI_HARDEN_SECRETS_ALLOW"], allowed, "\n")
	aws_id = "(A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)" rep("[A-Z0-9]", 16)
	aws_id_longer = "[A-Z0-9](A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)" rep("[A-Z0-9]", 16) "|(A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)" rep("[A-Z0-9]", 17)
	aws_secret = "[Ss][Ee][Cc][Rr][Ee][Tt]_?[Aa][Cc][Cc][Ee][Ss][Ss]_?[Kk][Ee][Yy][^A-Za-z0-9/+=]*" rep("[A-Za-z0-9/+=]", 40)
	github = "gh[pousr]_" rep("[A-Za-z0-9]", 36) "|github_pat_" rep("[A-Za-z0-9_]", 22)
	gitlab = "glpat-" rep("[A-Za-z0-9_-]", 20)
	slack = "xox[abposr]-" rep("[0-9A-Za-z-]", 10) "|hooks[.]slack[.]com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]+"
	stripe = "[rs]k_live_" rep("[0-9A-Za-z]", 24)
	google = "AIza" rep("[0-9A-Za-z_-]", 35)
	npm = "npm_" rep("[A-Za-z0-9]", 36)
}
{
	i = index($0, "\001")
	if (!i) next
	file = substr($0, 1, i - 1); rest = substr($0, i + 1)
	line = rest; sub(/:.*/, "", line); t = substr(rest, length(line) + 2)
	for (a = 1; a <= n; a++) if (allowed[a] != "" && glob(allowed[a], file)) next
	kinds = ""
	if (t ~ aws_id && t !~ /EXAMPLE/ && t !~ aws_id_longer) kinds = kinds ", AWS access key id"
	if (t ~ aws_secret && t !~ /EXAMPLEKEY/) kinds = kinds ", AWS secret access key"
	if (t ~ /-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----/) kinds = kinds ", private key"
	if (t ~ /PuTTY-User-Key-File-[0-9]/) kinds = kinds ", PuTTY private key"
	if (t ~ github) kinds = kinds ", GitHub token"
	if (t ~ gitlab) kinds = kinds ", GitLab token"
	if (t ~ slack) kinds = kinds ", Slack token"
	if (t ~ stripe) kinds = kinds ", Stripe key"
	if (t ~ google) kinds = kinds ", Google API key"
	if (t ~ npm) kinds = kinds ", npm token"
	u = t
	while (match(u, /[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\/?#@ \t"\047<>]+:[^\/?#@ \t"\047<>]+@/)) {
		cred = substr(u, RSTART, RLENGTH); u = substr(u, RSTART + RLENGTH)
		sub(/^[^:]*:\/\//, "", cred); pass = cred; sub(/^[^:]*:/, "", pass); sub(/@$/, "", pass)
		if (pass ~ /^([$<{%]|[*]+$|[xX]+$|[.][.][.]|password$|passwd$|pass$|secret$|PASSWORD$)/) continue
		kinds = kinds ", URL with a password"
		break
	}
	if (kinds == "") next
	gsub(/\n/, "?", file)
	print file ":" line " " substr(kinds, 3)
}'
