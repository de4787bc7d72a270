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
# empties them next) or /var/tmp (emptied by temp), nor what a package
# manager installed and still vouches for (secrets.deps.sh). Binary files,
# links and other mounts are skipped. The kinds: secrets.kinds.sh.
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
	soh=$(printf '\001')
	_start=$(now_ms)
	secret_roots | awk '!seen[$0]++' >"$work/secret.roots"
	: >"$work/secret.files"
	: >"$work/dep.trees"
	: >"$work/dep.vouched"
	: >"$work/dep.notes"
	tr '\n' '\0' <"$work/secret.roots" >"$work/dep.cands"
	_depth=""
	# The trees, walked without following links or leaving their file
	# systems; a directory that may be a dependency tree is set aside, and
	# walked like any other when no package manager's record speaks for it.
	while [ -s "$work/dep.cands" ]; do
		secret_walk $_depth <"$work/dep.cands" >"$work/secret.found"
		_depth=-mindepth
		"$_grep" -z -v -E "$dep_names" "$work/secret.found" >>"$work/secret.files"
		"$_grep" -z -E "$dep_names" "$work/secret.found" | nul2lines | while IFS= read -r _c; do
			# find -xdev lists another file system's mount point but does not
			# enter it; neither does this.
			if [ -d "$_c" ] && is_mount "$_c"; then
				continue
			elif [ -d "$_c" ] && [ ! -L "$_c" ] && dep_tree "$_c"; then
				printf '%s\n' "$_c" >>"$work/dep.trees"
			elif [ -d "$_c" ] && [ ! -L "$_c" ]; then
				printf '%s\0' "$_c"
			else
				printf '%s\0' "$_c" >>"$work/secret.files"
			fi
		done >"$work/dep.cands"
	done
	secret_unvouched
	_files=$(count0 "$work/secret.files")
	_bytes=$(xargs -0 -r wc -c -- <"$work/secret.files" 2>/dev/null | awk '$2 != "total" { n += $1 } END { print n + 0 }')
	# grep -Z ends the file name with a NUL: any name, then "LINE:TEXT".
	# -D skip: a file swapped for a FIFO since the listing must not hang it.
	# grep's own errors (a file it could not read) fail the step: a file
	# not read is a file not known to be clean. One that vanished since the
	# listing is no such file.
	: >"$work/secret.groups"
	if ! xargs -0 -r "$_grep" -I -D skip -n -H -Z -E -e "$secret_any" -- <"$work/secret.files" 2>"$work/secret.err" |
		tr '\0' '\001' | AMI_HARDEN_SECRETS_ALLOW=$AMI_HARDEN_SECRETS_ALLOW SECRET_GROUPS=$work/secret.groups \
		awk "$secret_classify" >"$work/secret.ranked"; then
		report secrets failed "the scan did not finish (the patterns or secrets_allow could not be read); nothing is known about stray secrets"
		return
	fi
	if [ -s "$work/secret.err" ] && grep -v 'No such file or directory' "$work/secret.err" | grep -q .; then
		report secrets failed "the scan could not read every file: $(grep -v 'No such file or directory' "$work/secret.err" | head -n 3 | join)"
		return
	fi
	# Those that do not look like tests or examples first, in the order found.
	sort -s -t "$tab" -k1,1n "$work/secret.ranked" | cut -f 2- >"$work/secret.hits"
	_ms=$(($(now_ms) - _start))
	_scanned="scanned $_files files, $(mib_text "$_bytes") MiB, in ${_ms} ms$(secret_skipped)"
	# Every stray secret is a finding, in both modes: the report files get
	# the whole list; Packer's output shows the first of them.
	findings_from secrets "$work/secret.hits" '%s'
	while IFS= read -r _n; do note secrets "$_n"; done <"$work/dep.notes"
	if [ "$audit" ]; then
		audit_result secrets "no stray secret found ($_scanned)"
	elif [ -s "$work/secret.hits" ]; then
		report secrets failed "$(secret_summary); remove them from the image, or accept a known file with secrets_allow ($_scanned)"
	else
		report secrets ok "no stray secret found ($_scanned)"
	fi
}

# secret_walk [-mindepth]: walk the NUL-separated directories on stdin:
# regular files and the directories that may be dependency trees (dep_names)
# on stdout, NUL-separated; with -mindepth, below the directories only.
secret_walk() {
	_sw_min=""
	[ "${1:-}" = -mindepth ] && _sw_min="-mindepth 1"
	# shellcheck disable=SC2016 # expanded by the shell xargs runs
	xargs -0 -r sh -c 'min=$1 nl=$2; shift 2
		# shellcheck disable=SC2086 # $min is one option and its value, or nothing
		find -P "$@" -xdev $min \( -type d \( -path /var/lib/dpkg -o -path /var/lib/apt -o \
			-path /var/cache -o -path /var/lib/rpm -o -path /var/lib/dnf -o -path /var/lib/yum -o \
			-path /var/lib/apk -o -path /var/log -o -path /var/tmp -o -path /var/lib/cloud -o \
			-path /var/lib/docker -o -path /var/lib/containers \) -prune \) -o \
			\( -type d ! -path "*$nl*" \( -name node_modules -o -name site-packages -o -name dist-packages -o \
			-name vendor -o -name gems -o -path "*/pkg/mod" -o -path "*/.m2/repository" -o \
			-path "*/.cargo/registry" -o -path "*/.cargo/git" \) -prune -print0 \) -o \( -type f -print0 \)' \
		sh "$_sw_min" "$nl" 2>/dev/null
}

# dep_names: the directories secret_walk sets aside (grep -E).
dep_names='/(node_modules|site-packages|dist-packages|vendor|gems)$|/pkg/mod$|/[.]m2/repository$|/[.]cargo/(registry|git)$'

# secret_unvouched: the files of the dependency trees ($work/dep.trees) that
# their package managers do not vouch for ($work/dep.vouched) join the
# files to scan; $work/dep.skipped counts the others. Where a name in the
# trees holds \001 (which carries a newline through the line lists), nothing
# is passed over.
secret_unvouched() {
	echo 0 0 >"$work/dep.skipped"
	[ -s "$work/dep.trees" ] || return 0
	tr '\n' '\0' <"$work/dep.trees" | xargs -0 sh -c 'find -P "$@" -xdev -type f -print0' sh 2>/dev/null >"$work/dep.all"
	if "$_grep" -q -z -F "$soh" "$work/dep.all"; then
		cat "$work/dep.all" >>"$work/secret.files"
		: >"$work/dep.trees"
		return 0
	fi
	nul2lines <"$work/dep.all" | awk -v vouched="$work/dep.vouched" -v trees="$work/dep.trees" -v skipped="$work/dep.skipped" '
		BEGIN { while ((getline l < vouched) > 0) v[l] = 1; while ((getline l < trees) > 0) tree[++nt] = l }
		($0 in v) {
			n++
			for (i = 1; i <= nt; i++) if (index($0, tree[i] "/") == 1) used[i] = 1
			next
		}
		{ print }
		END { for (i in used) m++; print n + 0, m + 0 > skipped }
	' | lines2nul >>"$work/secret.files"
}

# secret_skipped: "; skipped N files in M dependency trees", or nothing.
secret_skipped() {
	read -r _sk_n _sk_m <"$work/dep.skipped"
	[ "$_sk_n" -gt 0 ] && printf '; skipped %s files in %s dependency trees' "$_sk_n" "$_sk_m"
	return 0
}

# secret_summary: the stray secrets for the step's line: the count, then the
# files by directory, those whose paths do not say test, example or
# documentation first, at most 20 files.
secret_summary() {
	LC_ALL=C sort -t "$tab" -k1,1n -k2,2 -k3,3 -k4,4n "$work/secret.groups" | awk -F '\t' '
		{
			f = $2 SUBSEP $3
			if (!(f in seen)) { seen[f] = ++nf; dir[nf] = $2; base[nf] = $3; rank[nf] = $1 }
			i = seen[f]; hits++
			nk = split($5, ks, ", ")
			for (k = 1; k <= nk; k++) if (!((i, ks[k]) in has)) { has[i, ks[k]] = 1; kinds[i] = kinds[i] (kinds[i] == "" ? "" : ", ") ks[k] }
		}
		END {
			for (i = 1; i <= nf; i++) tests += rank[i]
			s = hits " stray secret(s) in " nf " file(s)" (tests ? " (" tests " of them test, example or documentation files)" : "") ": "
			for (i = 1; i <= nf && i <= 20; i++) {
				if (i == 1 || dir[i] != dir[i - 1]) s = s (i > 1 ? "; " : "") dir[i] ": "
				else s = s ", "
				s = s base[i] " (" kinds[i] ")"
			}
			if (nf > 20) s = s "; and " (nf - 20) " more file(s)"
			printf "%s; each with its line and kind in the findings (report_file and junit_file have them all)", s
		}'
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

# mib_text BYTES: BYTES in MiB with one decimal, rounded (shell arithmetic:
# no awk for one number).
mib_text() {
	_mt=$((($1 * 10 + 524288) / 1048576))
	printf '%s.%s' "$((_mt / 10))" "$((_mt % 10))"
}
