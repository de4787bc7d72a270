# shellcheck shell=sh
# The homes pass's work in each home (see homes_pass): which files may go
# straight to shred, the job that runs as the home's owner, and what is done
# after a batch of jobs.

# homes_hard_links: the files below the homes that have more than one hard
# link, one a line in $homes_hard (a newline in a name as "?"), from one
# walk of every home without a mount below it, as root, reading only.
homes_hard_links() {
	homes_hard=""
	[ -n "$shred" ] && [ -z "$audit" ] || return 0
	set --
	homes_lines
	for _hh in $homes_lines; do
		IFS=$_hl_ifs
		set +f
		home_fields "$_hh"
		[ "$_m" = m ] || set -- "$@" "$_home"
	done
	IFS=$_hl_ifs
	set +f
	[ $# -gt 0 ] || return 0
	homes_hard=$(find -P "$@" -xdev -type f -links +1 -print0 2>/dev/null | tr '\n\0' '?\n')
}

# home_plain HOME TREES FILE...: whether homes_pass may hand the FILEs of
# HOME straight to shred: shred is there, no tree, no mount below HOME, no
# symbolic link among the FILEs (shred would follow it), and no file below
# HOME with another hard link (homes_hard_links; shred would change the
# other name's data too). Builtins only. What changes between this look and
# the shred is the owner's doing, and the shred runs with the owner's rights.
home_plain() {
	[ -n "$shred" ] && [ "$2" -eq 0 ] && [ -z "$mnt" ] || return 1
	case $nl$homes_hard in *"$nl$1/"*) return 1 ;; esac
	shift 2
	for _hp_f; do
		[ -f "$_hp_f" ] && [ ! -L "$_hp_f" ] || return 1
	done
	return 0
}

# home_tree_joins UID:GID DIR: whether homes_pass may take the tree DIR (a
# directory a step names in a home) into the home's job, instead of
# wipe_tree's walks of its own: not in audit mode, no mount point below the
# home ($mnt), someone to act as, and for root no directory in it that
# another user owns (wipe_tree refuses those).
home_tree_joins() {
	[ -z "$audit" ] && [ -z "$mnt" ] || return 1
	if [ "$1" = 0:0 ]; then
		[ -z "$(find -P "$2" -xdev -type d ! -user 0 -print 2>/dev/null)" ]
	else
		[ -n "$drop" ]
	fi
}

# home_job UID:GID OUT N PATH...: what homes_pass does in a home, acting as
# UID:GID, in one find (overwrite_files): the first N PATHs are trees, the
# rest files; in the trees too, links are unlinked and single-link files
# overwritten and unlinked. Then the trees go, with what is left in them.
home_job() {
	_hj_ug=$1
	_hj_out=$2
	_hj_n=$3
	shift 3
	if [ "$_hj_n" -eq 0 ]; then
		overwrite_files "$_hj_ug" "$_hj_out" files "$@"
		return
	fi
	overwrite_files "$_hj_ug" "$_hj_out" trees "$@"
	# The trees: the first N arguments.
	_hj_all=$#
	_hj_i=0
	for _hj_a; do
		_hj_i=$((_hj_i + 1))
		[ "$_hj_i" -le "$_hj_n" ] && set -- "$@" "$_hj_a"
	done
	shift "$_hj_all"
	remove_tree "$_hj_ug" "$@"
}

# homes_jobs: how many owners' processes homes_pass runs at once.
homes_jobs=8

# homes_reap N STEPS: after homes_pass's jobs 1 to N: the files a job left
# because they have other hard links are unlinked (as the home's owner) and
# refused by the step whose pattern names them.
homes_reap() {
	_hr_i=0
	while [ "$_hr_i" -lt "$1" ]; do
		_hr_i=$((_hr_i + 1))
		[ -s "$work/hard.$_hr_i" ] || continue
		IFS="$tab" read -r _hr_ug _hr_home <"$work/job.$_hr_i"
		as_owner "$_hr_ug" xargs -0 rm -f -- <"$work/hard.$_hr_i" 2>>"$work/wipe.err"
		lines0 "$work/hard.$_hr_i" | while IFS= read -r _hr_h; do
			_hr_to=${2# }
			_hr_to=${_hr_to%% *}
			for _hr_s in $2; do
				home_files "$_hr_s"
				set -f
				for _hr_rel in $hf; do
					# shellcheck disable=SC2254 # the pattern is meant to match
					case $_hr_h in "$_hr_home"/$_hr_rel | "$_hr_home"/$_hr_rel/*) _hr_to=$_hr_s ;; esac
				done
				set +f
			done
			hard_link_text "$_hr_h" >>"$work/$_hr_to.refused"
			echo >>"$work/$_hr_to.refused"
		done
		: >"$work/hard.$_hr_i"
	done
}
