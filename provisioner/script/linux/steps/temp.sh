# shellcheck shell=sh
# temp: /tmp and /var/tmp emptied, hidden files and odd names included. Each
# entry is removed by its owner: root's with GNU rm, which walks a tree with
# openat and never follows a link, so no one can swap a directory for a link
# to redirect it; a user's entries as that user. Nothing below another mount
# is entered (refused and reported).
step_temp() {
	if [ "$audit" ]; then
		# One line per entry: a newline inside a name is shown as "?".
		find /tmp /var/tmp -xdev -mindepth 1 -maxdepth 1 -print0 2>/dev/null >"$work/temp"
		lines0 "$work/temp" >"$work/temp.lines"
		findings_from temp "$work/temp.lines" '%s exists'
		audit_result temp "/tmp and /var/tmp are empty"
		return
	fi
	wipe_start temp
	for _d in /tmp /var/tmp; do
		refuse_mounts "$_d" || :
	done
	_n=$(count_entries)
	# Every owner of a top-level entry, then each one's entries, as that owner.
	top_owners /tmp /var/tmp >"$work/temp.owners"
	while IFS=: read -r _uid _gid; do
		if [ "$_uid" != 0 ] && [ -z "$drop" ]; then
			refuse "not touched: entries of uid $_uid (no setpriv, GNU chroot or su to act as that user)"
			continue
		fi
		if [ "$gnu_rm" ]; then
			# Listed as root (reading only), mount points taken out, removed as the owner.
			find /tmp /var/tmp -xdev -mindepth 1 -maxdepth 1 -user "$_uid" -print0 >"$work/temp.mine"
			drop_mounts "$work/temp.mine" | as_owner "$_uid:$_gid" xargs -0 -r rm -rf --one-file-system -- 2>>"$work/temp_err"
		else
			# Files first, then the emptied directories, deepest first. Not
			# -delete: busybox's find may not have it.
			as_owner "$_uid:$_gid" find /tmp /var/tmp -xdev -mindepth 1 ! -type d -user "$_uid" \
				-exec rm -f -- {} + 2>>"$work/temp_err"
			as_owner "$_uid:$_gid" find /tmp /var/tmp -xdev -mindepth 1 -depth -type d -user "$_uid" \
				-exec rmdir -- {} + 2>>"$work/temp_err"
		fi
	done <"$work/temp.owners"
	# Counted again only when something is left: a walk of what the step
	# just emptied costs as much as the count before it.
	_left=0
	if [ -n "$(find /tmp /var/tmp -xdev -mindepth 1 -maxdepth 1 -print 2>/dev/null | head -n 1)" ]; then
		_left=$(count_entries)
	fi
	_why=""
	[ -s "$refused" ] && _why="; $(join <"$refused")"
	if [ "$_left" -gt 0 ]; then
		report temp failed "$_left entries could not be removed from /tmp and /var/tmp: $(head -n 3 "$work/temp_err" | join)$_why"
	elif [ -s "$refused" ]; then
		report temp failed "$(join <"$refused")"
	elif [ "$_n" -gt 0 ]; then
		report temp changed "removed $_n entries from /tmp and /var/tmp"
	else
		report temp ok "/tmp and /var/tmp are empty"
	fi
}

# count_entries: how many entries /tmp and /var/tmp hold, names with newlines
# included, without a process per entry.
count_entries() {
	find /tmp /var/tmp -xdev -mindepth 1 -exec sh -c 'echo $#' sh {} + 2>/dev/null |
		awk '{ n += $1 } END { print n + 0 }'
}
