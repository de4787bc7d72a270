# shellcheck shell=sh
# Wiping: overwriting files before they are unlinked, trees, and what each
# step took on and refused.
#
# Everything a step wipes goes through these. wipe_start STEP names the
# step's lists: $found (NUL-separated) for what it took on, $refused (one
# line each) for what it would not touch; finish_wipe STEP reports both.

# wipe_start STEP: fresh lists for STEP.
wipe_start() {
	use_lists "$1"
	: >"$found"
	: >"$refused"
}

# use_lists STEP: go on with STEP's lists.
use_lists() {
	found=$work/$1.found
	refused=$work/$1.refused
}

# take_files UID:GID PATH...: take on files whose directories were checked,
# acting as UID:GID: a symbolic link is unlinked, never followed; a regular
# file is overwritten and unlinked. A file with more than one hard link is
# unlinked only (overwriting it would change the other names' file too),
# and refused: its data lives on under another name.
take_files() {
	_tf_ug=$1
	shift
	[ $# -gt 0 ] || return 0
	for _tf_f; do printf '%s\0' "$_tf_f" >>"$found"; done
	[ "$audit" ] && return 0
	if [ "$_tf_ug" != 0:0 ] && [ -z "$drop" ]; then
		refuse "not touched: $# file(s) of uid ${_tf_ug%%:*} (no setpriv, GNU chroot or su to act as that user)"
		return 0
	fi
	overwrite_files "$_tf_ug" "$work/hard" files "$@"
	[ -s "$work/hard" ] || return 0
	refuse_hard "$work/hard"
	as_owner "$_tf_ug" xargs -0 rm -f -- <"$work/hard" 2>>"$work/wipe.err"
}

# overwrite_files UID:GID OUT WALK PATH...: the work of take_files, in one
# find acting as UID:GID (and as few shred processes as the argument limit
# allows): links unlinked, single-link files overwritten and unlinked, and
# the names of files with more than one link written to OUT, untouched. WALK
# "files" looks at the PATHs themselves only; "trees" also below those that
# are directories (never leaving their file system), which stay. No
# parentheses around -exec ... +: busybox's find does not run it there.
overwrite_files() {
	_of_ug=$1
	_of_out=$2
	_of_walk=-xdev
	[ "$3" = files ] && _of_walk="-maxdepth 0"
	shift 3
	if [ -n "$shred" ]; then
		# shellcheck disable=SC2086 # $_of_walk and $shred_unlink are options
		as_owner "$_of_ug" find -P "$@" $_of_walk -type l -exec rm -f -- {} + -o \
			-type f -links 1 -exec shred -n "$AMI_HARDEN_SHRED_PASSES" $shred_unlink -- {} + -o \
			-type f -print0 >"$_of_out" 2>>"$work/wipe.err"
	else
		# shellcheck disable=SC2086 # $_of_walk is options
		as_owner "$_of_ug" find -P "$@" $_of_walk -type l -exec rm -f -- {} + -o \
			-type f -links 1 -exec sh -c "$zero_fill"' && rm -f -- "$@"' sh {} + -o \
			-type f -print0 >"$_of_out" 2>>"$work/wipe.err"
	fi
}

# refuse_hard LIST: refuse each file of a NUL-separated list for its other
# hard links.
refuse_hard() {
	[ -s "$1" ] || return 0
	lines0 "$1" | while IFS= read -r _rh; do refuse "$(hard_link_text "$_rh")"; done
}

# still_there LIST: the names of a NUL-separated list that still exist (or
# are links), NUL-separated.
still_there() {
	# shellcheck disable=SC2016 # expanded by the shell xargs runs
	xargs -0 sh -c 'for f do if [ -e "$f" ] || [ -L "$f" ]; then printf "%s\0" "$f"; fi; done' sh <"$1"
}

# top_owners DIR...: "UID:GID" of each owner of an entry right below the
# DIRs (GID the owner's own group, see user_groups), once each.
top_owners() {
	find -P "$@" -xdev -mindepth 1 -maxdepth 1 -exec stat -c '%u' -- {} + 2>/dev/null | sort -u | user_groups
}

# hard_link_text NAME: why a file was not overwritten.
hard_link_text() {
	printf 'not overwritten: %s has more than one hard link (unlinked; its data stays under the other names)' "$1"
}

# empty_file FILE: overwrite FILE, then truncate it, keeping its owner and
# mode (truncating alone frees its blocks with the data still in them). Not
# `: >FILE`: a failed redirection on the special builtin : ends a POSIX
# shell, and a read-only file must give a failed step, not a dead one. Only
# for files in directories that root alone can change.
empty_file() {
	if [ -f "$1" ] && [ ! -L "$1" ] && [ "$(stat -c %h -- "$1")" = 1 ]; then
		overwrite_in_place "$1" 2>/dev/null || return 1
	fi
	{ printf '' >"$1"; } 2>/dev/null
}

# overwrite_in_place FILE...: overwrite each FILE over its whole length, in
# place, flushed to the disk: shred where there is one (one process),
# zero_fill elsewhere.
overwrite_in_place() {
	if [ -n "$shred" ]; then
		shred -n "$AMI_HARDEN_SHRED_PASSES" -- "$@"
	else
		sh -c "$zero_fill" sh "$@"
	fi
}

# zero_fill: a program for sh -c: zeros over the whole length of each
# argument, in place, flushed to the disk. For images without shred (busybox).
# shellcheck disable=SC2016 # expanded by the shell that runs it
zero_fill='for f do
	s=$(wc -c <"$f") || exit 1
	[ "$s" -gt 0 ] || continue
	dd if=/dev/zero of="$f" bs=4096 count=$(((s + 4095) / 4096)) conv=notrunc,fsync 2>/dev/null || exit 1
done'

# wipe_tree UID:GID DIR: take on a directory and everything below it,
# acting as UID:GID: overwrite every file, then remove the tree, never
# leaving DIR's file system. Mount points below it are refused (and the tree
# is left whole when one of them is a file: find cannot step around it).
wipe_tree() {
	printf '%s\0' "$2" >>"$found"
	[ "$audit" ] && return 0
	if is_mount "$2"; then
		refuse "not entered: $(show "$2") is a mount point"
		return 0
	fi
	if ! refuse_mounts "$2" && mounts_have_files; then
		refuse "not wiped: $(show "$2") holds a mounted file"
		return 0
	fi
	if [ "$1" = 0:0 ]; then
		# Root acts only where no other user can swap a name under it.
		find -P "$2" -xdev -type d ! -user 0 -print0 >"$work/others" 2>/dev/null
		if [ -s "$work/others" ]; then
			lines0 "$work/others" | while IFS= read -r _d; do
				refuse "not wiped: $_d, below $(show "$2"), belongs to another user"
			done
			return 0
		fi
	elif [ -z "$drop" ]; then
		refuse "not touched: $(show "$2") of uid ${1%%:*} (no setpriv, GNU chroot or su to act as that user)"
		return 0
	fi
	find -P "$2" -xdev -type f -links +1 -print0 >"$work/hard" 2>/dev/null
	refuse_hard "$work/hard"
	if [ -n "$shred" ]; then
		as_owner "$1" find -P "$2" -xdev -type f -links 1 -exec shred -n "$AMI_HARDEN_SHRED_PASSES" -- {} + 2>>"$work/wipe.err"
	else
		as_owner "$1" find -P "$2" -xdev -type f -links 1 -exec sh -c "$zero_fill" sh {} + 2>>"$work/wipe.err"
	fi
	remove_tree "$1" "$2"
}

# remove_tree UID:GID PATH...: delete each PATH and everything below it,
# acting as UID:GID, never entering another mount. GNU rm walks with openat
# and never follows a link; elsewhere files go first, then the emptied
# directories.
remove_tree() {
	_rt_ug=$1
	shift
	if [ "$gnu_rm" ]; then
		as_owner "$_rt_ug" rm -rf --one-file-system -- "$@" 2>>"$work/wipe.err"
	else
		as_owner "$_rt_ug" find -P "$@" -xdev ! -type d -exec rm -f -- {} + 2>>"$work/wipe.err"
		as_owner "$_rt_ug" find -P "$@" -xdev -depth -type d -exec rmdir -- {} + 2>>"$work/wipe.err"
	fi
}

# wipe_dir_contents DIR: take on everything below DIR (a crash or mail
# directory): DIR itself stays. In a directory anyone may write to (/var/crash
# is 1777, like /tmp) each top-level entry is overwritten and removed by its
# owner; elsewhere (/var/mail, root:mail 2775) by who controls DIR, as its
# users cannot remove their own entries there. Nothing when DIR is a link.
wipe_dir_contents() {
	[ -d "$1" ] && [ ! -L "$1" ] || return 0
	find -P "$1" -xdev -mindepth 1 -maxdepth 1 -print0 >"$work/dc.all" 2>/dev/null
	[ -s "$work/dc.all" ] || return 0
	cat "$work/dc.all" >>"$found"
	[ "$audit" ] && return 0
	_dc_mnt=""
	refuse_mounts "$1" || _dc_mnt=1
	find -P "$1" -xdev -mindepth 1 -type f -links +1 -print0 >"$work/hard" 2>/dev/null
	refuse_hard "$work/hard"
	if [ -n "$(find -P "$1" -maxdepth 0 -perm -0002 2>/dev/null)" ]; then
		top_owners "$1" >"$work/dc.owners"
		_dc_all=""
	else
		controller "$1" >"$work/dc.owners" || return 0
		_dc_all=1
	fi
	while IFS=: read -r _dc_uid _dc_gid; do
		if [ "$_dc_uid" != 0 ] && [ -z "$drop" ]; then
			refuse "not touched: entries of uid $_dc_uid in $1 (no setpriv, GNU chroot or su to act as that user)"
			continue
		fi
		_dc_take=$work/dc.all
		if [ -z "$_dc_all" ]; then
			find -P "$1" -xdev -mindepth 1 -maxdepth 1 -user "$_dc_uid" -print0 >"$work/dc.mine"
			_dc_take=$work/dc.mine
		fi
		# Mount points among the entries stay (refused above); with no
		# mount below DIR there is none to look for.
		if [ "$_dc_mnt" ]; then
			drop_mounts "$_dc_take" >"$work/dc.take"
			_dc_take=$work/dc.take
		fi
		# One shell as the owner overwrites the files and removes the entries.
		# shellcheck disable=SC2016 # expanded by the shell xargs runs
		as_owner "$_dc_uid:$_dc_gid" xargs -0 -r sh -c 'tool=$1 passes=$2 gnu=$3; shift 3
			if [ "$tool" = shred ]; then find -P "$@" -xdev -type f -links 1 -exec shred -n "$passes" -- {} +
			else find -P "$@" -xdev -type f -links 1 -exec sh -c "$0" sh {} +; fi
			if [ "$gnu" ]; then rm -rf --one-file-system -- "$@"
			else
				find -P "$@" -xdev ! -type d -exec rm -f -- {} +
				find -P "$@" -xdev -depth -type d -exec rmdir -- {} +
			fi' "$zero_fill" "${shred:-zero}" "$AMI_HARDEN_SHRED_PASSES" "$gnu_rm" <"$_dc_take" 2>>"$work/wipe.err"
	done <"$work/dc.owners"
}

# check_path BASE REL: whether the directories of BASE/REL can be entered:
# none of them below BASE is a symbolic link (refused: what lies behind it is
# not ours to touch, and may hold a secret) or, where $mnt is set, a mount
# point (refused). False, quietly, when one of them does not exist.
check_path() {
	_cp_path=$1
	_cp_rest=$2
	while :; do
		case $_cp_rest in */*) ;; *) return 0 ;; esac
		_cp_path="$_cp_path/${_cp_rest%%/*}"
		_cp_rest=${_cp_rest#*/}
		if [ -L "$_cp_path" ]; then
			refuse "not followed: $(show "$_cp_path") is a symbolic link to $(show "$(readlink -- "$_cp_path")")"
			return 1
		fi
		[ -d "$_cp_path" ] || return 1
		if [ "$mnt" ] && is_mount "$_cp_path"; then
			refuse "not entered: $(show "$_cp_path") is a mount point"
			return 1
		fi
	done
}

# finish_wipe STEP [FAILURE]: report what the step took on and refused, and
# verify that what it took on is gone. Refusals fail the step, and so does
# FAILURE, something else the step found wrong (an audit finding in audit
# mode).
finish_wipe() {
	_n=$(count0 "$found")
	if [ "$audit" ]; then
		lines0 "$found" >"$work/found.lines"
		findings_from "$1" "$work/found.lines" '%s exists'
		findings_from "$1" "$refused" '%s'
		[ -n "${2:-}" ] && finding "$1" "$2"
		audit_result "$1" "none found"
		return
	fi
	still_there "$found" >"$work/left"
	_why=""
	[ -s "$refused" ] && _why="; $(join <"$refused")"
	_did=""
	[ "$_n" -gt 0 ] && _did="; overwrote and removed the rest"
	if [ -s "$work/left" ]; then
		report "$1" failed "could not remove $(lines0 "$work/left" | join)$_why$(first_errors)"
	elif [ -s "$refused" ]; then
		report "$1" failed "a secret may be left behind$_why$_did"
	elif [ -n "${2:-}" ]; then
		report "$1" failed "$2${_did:+; overwrote and removed $_n file(s)}"
	elif [ "$_n" -gt 0 ]; then
		report "$1" changed "overwrote and removed $_n file(s): $(lines0 "$found" | join)"
	else
		report "$1" ok "none found"
	fi
}

# first_errors: "; the first errors: ..." from the wiping tools, or nothing.
first_errors() {
	[ -s "$work/wipe.err" ] && printf '; the first errors: %s' "$(head -n 3 "$work/wipe.err" | join)"
	return 0
}
