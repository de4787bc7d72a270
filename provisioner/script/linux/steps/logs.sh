# shellcheck shell=sh
# logs: rotated logs and the journal are overwritten and deleted; every other
# file under /var/log is overwritten and truncated, so that services find their
# log files with the owner and mode they expect. lastlog is sparse (its length
# grows with the highest uid) and holds no text: it is truncated only.
# Directories that a user owns (a database's log directory, say) are cleaned
# by that user; root cleans the rest and never enters those. A file with more
# than one hard link, and anything below another mount, is refused.
# Crash dumps and mail spools of the build go too, each entry removed by its
# owner (users write there). A kept path (keep_paths, see kept_paths) is left
# as it is, with everything below it: every find leaves it out by name.
step_logs() {
	[ -d /var/log ] || { report logs ok "no /var/log"; return; }
	wipe_start logs
	kept_paths logs /var/log
	# The tests that leave out the kept paths and what lies below them:
	# "! -path PATTERN" each; nothing without keep_paths. The directories on
	# their ways stay anyway: this step removes no directory but the
	# journal's empty ones.
	set --
	while IFS= read -r _x; do set -- "$@" ! -path "$_x"; done <"$work/logs.exclude"
	_keep_tests=""
	[ -s "$work/logs.exclude" ] && _keep_tests=$(cat "$work/logs.exclude")
	if ! refuse_mounts_kept /var/log logs && mounts_have_files; then
		report logs failed "$(join <"$refused"); nothing was changed"
		return
	fi
	# On a running machine, nothing may log into /var/log after the wipe.
	if [ -z "$audit" ] && live_systemd; then
		if ! _quiet=$(quiet_logging); then
			report logs failed "$_quiet; nothing was changed"
			return
		fi
	fi
	# $log_rotated is split into words, never globbed.
	set -f
	# shellcheck disable=SC2086
	find -P /var/log -xdev -type f \( $log_rotated \) "$@" -print0 >"$work/rotated"
	# shellcheck disable=SC2086
	find -P /var/log -xdev -type f ! \( $log_rotated \) ! -size 0 "$@" -print0 >"$work/active"
	set +f
	_rotated=$(count0 "$work/rotated")
	if [ "$audit" ]; then
		lines0 "$work/rotated" >"$work/rotated.lines"
		findings_from logs "$work/rotated.lines" '%s exists (rotated or journal)'
		lines0 "$work/active" >"$work/active.lines"
		findings_from logs "$work/active.lines" '%s is not empty'
		for _d in $crash_and_mail; do wipe_dir_contents "$_d"; done
		lines0 "$found" >"$work/found.lines"
		findings_from logs "$work/found.lines" '%s exists (a crash dump or mail of the build)'
		audit_result logs "all logs are empty$(kept_detail logs)"
		return
	fi
	_active=$(count0 "$work/active")
	find -P /var/log -xdev -type f -links +1 "$@" -print0 >"$work/hard"
	lines0 "$work/hard" | while IFS= read -r _h; do
		refuse "not overwritten: $_h has more than one hard link (its data is also another file's)"
	done

	# Root's part, then each user's directories as that user.
	printf '%s\0' /var/log | clean_logs 0:0 "$_keep_tests"
	find -P /var/log -xdev -type d ! -user 0 "$@" -prune -exec stat -c '%u' -- {} + 2>/dev/null | sort -u | user_groups >"$work/log.owners"
	while IFS=: read -r _uid _gid; do
		if [ -z "$drop" ]; then
			refuse "not touched: log directories of uid $_uid (no setpriv, GNU chroot or su to act as that user)"
			continue
		fi
		find -P /var/log -xdev -type d ! -user 0 "$@" -prune -user "$_uid" -print0 >"$work/log.dirs.all"
		drop_mounts "$work/log.dirs.all" >"$work/log.dirs"
		clean_logs "$_uid:$_gid" "$_keep_tests" <"$work/log.dirs"
	done <"$work/log.owners"
	# The journal's directories are named after the old machine-id.
	[ -d /var/log/journal ] && find -P /var/log/journal -xdev -mindepth 1 -depth -type d "$@" -exec rmdir -- {} + 2>/dev/null

	for _d in $crash_and_mail; do wipe_dir_contents "$_d"; done
	_other=$(count0 "$found")

	find -P /var/log -xdev -type f ! -size 0 "$@" -print0 >"$work/left"
	still_there "$found" >>"$work/left"
	still_there "$work/rotated" >>"$work/left"
	if [ -n "${_quiet:-}" ]; then
		journal_writes >>"$work/left"
		_quiet_done="; $_quiet"
	fi
	if [ -s "$work/left" ]; then
		report logs failed "still holding data: $(lines0 "$work/left" | join)$([ -s "$refused" ] && printf '; %s' "$(join <"$refused")")"
	elif [ -s "$refused" ]; then
		report logs failed "$(join <"$refused")"
	elif [ $((_rotated + _active + _other)) -gt 0 ]; then
		_more=""
		[ "$_other" -gt 0 ] && _more=", overwrote and removed $_other crash dump(s) and mail spool(s)"
		report logs changed "overwrote and deleted $_rotated rotated or journal file(s), overwrote and truncated $_active log file(s)$_more${_quiet_done:-}$(kept_detail logs)"
	elif [ -n "${_quiet:-}" ]; then
		report logs changed "all logs were empty; $_quiet$(kept_detail logs)"
	else
		report logs ok "all logs are empty$(kept_detail logs)"
	fi
}

# quiet_logging: on a running machine, nothing logs into /var/log for the
# rest of this boot, so that the build's logout and the shutdown stay out of
# the image: the journal moves to /run (journald's --relinquish-var; an older
# journald restarts with a runtime Storage=volatile), the syslog daemon stops
# and is masked until the next boot (journald would start it again through
# syslog.socket), and a unit armed for this shutdown wipes the login records
# written at logout and by the shutdown itself (wtmp, btmp). Everything it
# changes lives in /run: the next boot logs as before. Prints what it did, or
# what went wrong (and fails).
quiet_logging() {
	_ql_did=""
	if systemctl is-active --quiet systemd-journald.service; then
		if journalctl --relinquish-var >"$work/journald.err" 2>&1; then
			_ql_did="the journal writes to /run until shutdown"
		elif mkdir -p /run/systemd/journald.conf.d &&
			printf '# ami-harden: this boot only\n[Journal]\nStorage=volatile\n' >/run/systemd/journald.conf.d/ami-harden.conf &&
			systemctl restart systemd-journald.service >>"$work/journald.err" 2>&1; then
			_ql_did="journald restarted with Storage=volatile until shutdown"
		else
			echo "could not move the journal out of /var/log: $(head -n 2 "$work/journald.err" | join)"
			return 1
		fi
	fi
	for _ql_u in syslog.service rsyslog.service syslog-ng.service; do
		systemctl is-active --quiet "$_ql_u" || continue
		_ql_id=$(systemctl show -p Id --value "$_ql_u")
		if ! systemctl mask --runtime --now "$_ql_id" syslog.socket >"$work/syslog.err" 2>&1 ||
			systemctl is-active --quiet "$_ql_id"; then
			echo "could not stop $_ql_id: $(head -n 2 "$work/syslog.err" | join)"
			return 1
		fi
		_ql_did="${_ql_did:+$_ql_did, }$_ql_id stopped until shutdown"
	done
	# A kept login record stays (keep_paths): not wiped at shutdown either.
	set --
	for _ql_f in /var/log/wtmp /var/log/btmp; do is_kept logs "$_ql_f" || set -- "$@" "$_ql_f"; done
	if [ $# -eq 0 ]; then
		echo "${_ql_did:+$_ql_did, }the login records stay as they are (keep_paths)"
		return 0
	fi
	_ql_how=$(wipe_at_shutdown logs "$@") || { echo "$_ql_how"; return 1; }
	echo "${_ql_did:+$_ql_did, }ami-harden-logs-at-shutdown.service armed (this boot only) to wipe the login records of the logout and shutdown"
}

# journal_writes: the files below /var/log that journald still holds open
# (NUL-separated): after quiet_logging, none.
journal_writes() {
	_jw=$(systemctl show -p MainPID --value systemd-journald.service 2>/dev/null)
	[ -n "$_jw" ] && [ "$_jw" != 0 ] || return 0
	find "/proc/$_jw/fd" -mindepth 1 -maxdepth 1 -lname '/var/log/*' -printf '%l\0' 2>/dev/null
}

# crash_and_mail: directories of crash dumps and mail spools.
crash_and_mail='/var/crash /var/lib/systemd/coredump /var/mail /var/spool/mail'

# log_rotated: find tests (words, no spaces inside) for rotated and journal files.
log_rotated='-name *.[0-9] -o -name *.[0-9].log -o -name *.gz -o -name *.xz -o -name *.bz2 -o -name *.zst -o -name *.old
-o -name *-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9] -o -name *.journal -o -name *.journal~'

# clean_logs UID:GID KEPT: clean_logs_program as UID:GID on the directories
# NUL-separated on stdin (KEPT: the kept paths' find -path patterns).
clean_logs() {
	as_owner "$1" xargs -0 sh -c "$clean_logs_program" sh "${1%%:*}" "$AMI_HARDEN_SHRED_PASSES" \
		"${shred:-zero}" "$log_rotated" "$2" "$shred_unlink" "$zero_fill" 2>>"$work/wipe.err"
}

# clean_logs_program: a program for sh -c, run as the owner of the
# directories it is given: UID PASSES TOOL ROTATED KEPT UNLINK ZERO DIR...
# It never enters a directory owned by anyone else (that one's owner cleans
# it) or another mount, never writes to a file with another hard link, and
# never takes a kept path or a file below one (KEPT: find -path patterns, one
# a line, see kept_paths). Rotated files are overwritten and unlinked in one
# pass; the others are overwritten, then emptied by a second find (truncating
# first would free their blocks with the data in them). TOOL is shred (UNLINK
# its option to unlink), or "zero" for ZERO, the zero_fill program (images
# without shred). Each find runs its program itself, no xargs: -exec ... +
# comes after -o, never inside parentheses, where busybox's find runs it too.
# shellcheck disable=SC2016 # expanded by the shell that runs it
clean_logs_program='uid=$1 passes=$2 tool=$3 rotated=$4 kept=$5 unlink=$6 zero=$7
shift 7
set -f
ifs=$IFS
# The arguments become a ! -path test for each kept pattern, which every
# find takes after its own tests ($rotated is split into words, never
# globbed); the for loop has its list of directories already.
for dir do
	set --
	IFS="
"
	for k in $kept; do set -- "$@" ! -path "$k"; done
	IFS=$ifs
	if [ "$tool" = shred ]; then
		find -P "$dir" -xdev -type d ! -user "$uid" -prune -o -type f -links 1 \( $rotated \) "$@" \
			-exec shred -n "$passes" $unlink -- {} +
		find -P "$dir" -xdev -type d ! -user "$uid" -prune -o -type f -links 1 ! -size 0 ! -name lastlog "$@" \
			-exec shred -n "$passes" -- {} +
	else
		find -P "$dir" -xdev -type d ! -user "$uid" -prune -o -type f -links 1 \( $rotated \) "$@" \
			-exec sh -c "$zero"'"' && rm -f -- \"\$@\"'"' sh {} +
		find -P "$dir" -xdev -type d ! -user "$uid" -prune -o -type f -links 1 ! -size 0 ! -name lastlog "$@" \
			-exec sh -c "$zero" sh {} +
	fi
	find -P "$dir" -xdev -type d ! -user "$uid" -prune -o -type f -links 1 ! -size 0 "$@" -exec truncate -s 0 -- {} +
done'
