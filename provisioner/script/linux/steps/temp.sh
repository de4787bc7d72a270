# shellcheck shell=sh
# temp: /tmp and /var/tmp emptied, hidden files and odd names included. Each
# entry is removed by its owner: root's with GNU rm, which walks a tree with
# openat and never follows a link, so no one can swap a directory for a link
# to redirect it; a user's entries as that user. Nothing below another mount
# is entered (refused and reported).
#
# keep_paths: a kept path stays as it is, with everything below it, and so do
# the directories on its way down (kept_paths checks them: no link, no mount
# point); their other entries go, each removed by who controls the directory
# (see temp_way_entries). Every find below leaves them out with -path tests
# whose patterns kept_paths escaped: a name with * or [ matches only itself.
step_temp() {
	kept_paths temp /tmp /var/tmp
	# The tests that leave out the kept paths, what lies below them and the
	# directories on their ways: "! -path PATTERN" each. Nothing without
	# keep_paths.
	set --
	while IFS= read -r _x; do set -- "$@" ! -path "$_x"; done <"$work/temp.exclude"
	while IFS= read -r _x; do set -- "$@" ! -path "$_x"; done <"$work/temp.ways.exclude"
	if [ "$audit" ]; then
		# One line per entry: a newline inside a name is shown as "?".
		find /tmp /var/tmp -xdev -mindepth 1 -maxdepth 1 "$@" -print0 2>/dev/null >"$work/temp"
		while IFS= read -r _w; do
			find -P "$_w" -xdev -mindepth 1 -maxdepth 1 "$@" -print0 2>/dev/null
		done <"$work/temp.ways" >>"$work/temp"
		lines0 "$work/temp" >"$work/temp.lines"
		findings_from temp "$work/temp.lines" '%s exists'
		audit_result temp "/tmp and /var/tmp are empty$(kept_detail temp)"
		return
	fi
	wipe_start temp
	for _d in /tmp /var/tmp; do
		refuse_mounts_kept "$_d" temp || :
	done
	# With GNU rm and nothing kept, rm -v counts what it removes, a line per
	# entry (it quotes a newline in a name): no walk of every entry just to
	# count them first. Otherwise a walk counts first.
	_rmv=""
	if [ "$gnu_rm" ] && [ ! -s "$work/temp.kept" ] && [ ! -s "$work/temp.ways" ]; then
		_rmv=v
	else
		_n=$(count_entries "$@")
	fi
	: >"$work/temp.removed"
	# Every owner of a top-level entry, then each one's entries, as that owner.
	top_owners /tmp /var/tmp >"$work/temp.owners"
	while IFS=: read -r _uid _gid; do
		if [ "$_uid" != 0 ] && [ -z "$drop" ]; then
			refuse "not touched: entries of uid $_uid (no setpriv, GNU chroot or su to act as that user)"
			continue
		fi
		if [ "$gnu_rm" ]; then
			# Listed as root (reading only), mount points taken out, removed as the owner.
			find /tmp /var/tmp -xdev -mindepth 1 -maxdepth 1 -user "$_uid" "$@" -print0 >"$work/temp.mine"
			drop_mounts "$work/temp.mine" | as_owner "$_uid:$_gid" xargs -0 -r rm -rf"$_rmv" --one-file-system -- \
				2>>"$work/temp_err" >>"$work/temp.removed"
		else
			# Files first, then the emptied directories, deepest first. Not
			# -delete: busybox's find may not have it. The kept paths are
			# left out by name, not pruned: -prune does nothing with -depth.
			as_owner "$_uid:$_gid" find /tmp /var/tmp -xdev -mindepth 1 ! -type d -user "$_uid" "$@" \
				-exec rm -f -- {} + 2>>"$work/temp_err"
			as_owner "$_uid:$_gid" find /tmp /var/tmp -xdev -mindepth 1 -depth -type d -user "$_uid" "$@" \
				-exec rmdir -- {} + 2>>"$work/temp_err"
		fi
	done <"$work/temp.owners"
	[ "$_rmv" ] && _n=$(($(wc -l <"$work/temp.removed")))
	# Without GNU rm, the walks above went through the ways' entries too.
	if [ "$gnu_rm" ]; then
		while IFS= read -r _w; do temp_way_entries "$_w" "$@"; done <"$work/temp.ways"
	fi
	# Counted again only when something is left: a walk of what the step
	# just emptied costs as much as the count before it. A way that is no
	# longer a directory (swapped for a link since it was checked) is left
	# too: the walks leave it out by name.
	_left=0
	if [ -n "$(find /tmp /var/tmp -xdev -mindepth 1 "$@" -print 2>/dev/null | head -n 1)" ]; then
		_left=$(count_entries "$@")
	fi
	while IFS= read -r _w; do
		if [ -L "$_w" ] || [ ! -d "$_w" ]; then
			_left=$((_left + 1))
			printf '%s is no longer the directory it was\n' "$(show "$_w")" >>"$work/temp_err"
		fi
	done <"$work/temp.ways"
	_why=""
	[ -s "$refused" ] && _why="; $(join <"$refused")"
	if [ "$_left" -gt 0 ]; then
		report temp failed "$_left entries could not be removed from /tmp and /var/tmp: $(head -n 3 "$work/temp_err" | join)$_why"
	elif [ -s "$refused" ]; then
		report temp failed "$(join <"$refused")"
	elif [ "$_n" -gt 0 ]; then
		report temp changed "removed $_n entries from /tmp and /var/tmp$(kept_detail temp)"
	else
		report temp ok "/tmp and /var/tmp are empty$(kept_detail temp)"
	fi
}

# count_entries TEST...: how many entries /tmp and /var/tmp hold that the
# TESTs pick (the kept paths left out), names with newlines included,
# without a process per entry.
count_entries() {
	find /tmp /var/tmp -xdev -mindepth 1 "$@" -exec sh -c 'echo $#' sh {} + 2>/dev/null |
		awk '{ n += $1 } END { print n + 0 }'
}

# temp_way_entries DIR TEST...: the entries right below DIR, a directory on
# the way down to a kept path, that the TESTs pick (not the kept paths, not
# the ways), removed with GNU rm. Who removes them is who may: in a directory
# anyone may write to (a /tmp inside /tmp) each entry's owner; elsewhere
# whoever controls DIR (see controller), as rm -rf of the entry above DIR
# would have, as its owner, without keep_paths. Mount points are left out
# (refused with the others, see refuse_mounts_kept).
temp_way_entries() {
	_tw=$1
	shift
	find -P "$_tw" -xdev -mindepth 1 -maxdepth 1 "$@" -print0 >"$work/tw.all" 2>/dev/null
	[ -s "$work/tw.all" ] || return 0
	if [ -n "$(find -P "$_tw" -maxdepth 0 -perm -0002 2>/dev/null)" ]; then
		top_owners "$_tw" >"$work/tw.owners"
		_tw_each=1
	else
		controller "$_tw" >"$work/tw.owners" || return 0
		_tw_each=""
	fi
	while IFS=: read -r _tw_uid _tw_gid; do
		if [ "$_tw_uid" != 0 ] && [ -z "$drop" ]; then
			refuse "not touched: entries of uid $_tw_uid in $(show "$_tw") (no setpriv, GNU chroot or su to act as that user)"
			continue
		fi
		if [ "$_tw_each" ]; then
			find -P "$_tw" -xdev -mindepth 1 -maxdepth 1 -user "$_tw_uid" "$@" -print0 >"$work/tw.mine" 2>/dev/null
		else
			cp "$work/tw.all" "$work/tw.mine"
		fi
		drop_mounts "$work/tw.mine" | as_owner "$_tw_uid:$_tw_gid" xargs -0 -r rm -rf --one-file-system -- 2>>"$work/temp_err"
	done <"$work/tw.owners"
}
