# shellcheck shell=sh
# Kept paths (keep_paths): what the temp and logs steps leave as it is below
# /tmp, /var/tmp and /var/log, checked once per step, and the tests that
# leave it out of their walks.

# kept_paths STEP ROOT...: the paths of keep_paths below one of the ROOTs,
# which STEP leaves as they are (a file, or a directory with everything in
# it), checked, each named in a note. A path is kept only as the user named
# it: where a directory on its way down from / is a symbolic link, the name
# is not what the steps see (they never follow a link, and clean the link
# and what it leads to as paths of their own), and where a directory between
# ROOT and it is a mount point, the steps do not enter that mount at all (it
# is refused). Such a path, one not clean (a hand-written ".." could name a
# directory above ROOT) and one that does not exist are noted and cleaned as
# usual. The path itself may be a link or a mount point: it stays as it is.
# Writes, one a line: $work/STEP.kept, the kept paths; $work/STEP.ways, the
# directories between ROOT and a kept path, which stay (their other entries
# go); $work/STEP.exclude, find -path patterns matching each kept path and
# everything below it, literally; $work/STEP.ways.exclude, the same for each
# way. The paths have no newline (the provisioner checks; a line is a path).
kept_paths() {
	_kp_step=$1
	shift
	: >"$work/$_kp_step.kept"
	: >"$work/$_kp_step.ways.all"
	: >"$work/$_kp_step.notkept"
	if [ -z "$AMI_HARDEN_KEEP_PATHS" ]; then
		# Nothing to keep, the usual case: the same empty lists, no process.
		: >"$work/$_kp_step.ways"
		: >"$work/$_kp_step.exclude"
		: >"$work/$_kp_step.ways.exclude"
		return 0
	fi
	while IFS= read -r _kp; do
		_kp_root=""
		for _kp_r; do
			case $_kp in "$_kp_r"/?*) _kp_root=$_kp_r ;; esac
		done
		[ -n "$_kp_root" ] || continue
		case $_kp in
		*/./* | */../* | */. | */.. | *//* | */)
			printf 'not kept (keep_paths): %s is not a clean path; it is cleaned as usual\n' "$_kp" >>"$work/$_kp_step.notkept"
			continue
			;;
		esac
		# Every directory on the way down from /, the root's own included.
		_kp_why=""
		_kp_ways=""
		_kp_path=""
		_kp_rest=${_kp#/}
		while :; do
			case $_kp_rest in */*) ;; *) break ;; esac
			_kp_path="$_kp_path/${_kp_rest%%/*}"
			_kp_rest=${_kp_rest#*/}
			if [ -L "$_kp_path" ]; then
				_kp_why="$_kp_path is a symbolic link to $(readlink -- "$_kp_path"), which the step does not follow"
				break
			fi
			[ -d "$_kp_path" ] || break
			case $_kp_path in "$_kp_root"/?*) ;; *) continue ;; esac
			if is_mount "$_kp_path"; then
				_kp_why="$_kp_path is a mount point, which the step does not enter"
				break
			fi
			_kp_ways="$_kp_ways$_kp_path$nl"
		done
		if [ -n "$_kp_why" ]; then
			printf 'not kept (keep_paths): %s: %s; it is cleaned as usual\n' "$_kp" "$_kp_why" >>"$work/$_kp_step.notkept"
			continue
		fi
		if [ ! -e "$_kp" ] && [ ! -L "$_kp" ]; then
			printf 'not found (keep_paths): %s\n' "$_kp" >>"$work/$_kp_step.notkept"
			continue
		fi
		printf '%s\n' "$_kp" >>"$work/$_kp_step.kept"
		printf '%s' "$_kp_ways" >>"$work/$_kp_step.ways.all"
	done <<KEEP
$AMI_HARDEN_KEEP_PATHS
KEEP
	awk '!seen[$0]++' "$work/$_kp_step.kept" >"$work/$_kp_step.kept.u"
	mv "$work/$_kp_step.kept.u" "$work/$_kp_step.kept"
	awk '!seen[$0]++' "$work/$_kp_step.ways.all" >"$work/$_kp_step.ways"
	# find -path takes a glob: \ * ? [ ] are escaped to match only themselves.
	sed 's/[][\\*?]/\\&/g; p; s|$|/*|' "$work/$_kp_step.kept" >"$work/$_kp_step.exclude"
	sed 's/[][\\*?]/\\&/g' "$work/$_kp_step.ways" >"$work/$_kp_step.ways.exclude"
	while IFS= read -r _kp; do note "$_kp_step" "$_kp"; done <"$work/$_kp_step.notkept"
	[ -s "$work/$_kp_step.kept" ] && note "$_kp_step" "kept as they are (keep_paths): $(join <"$work/$_kp_step.kept")"
	return 0
}

# kept_detail STEP: "; kept N path(s) (keep_paths)" for STEP's line, or nothing.
kept_detail() {
	[ -s "$work/$1.kept" ] || return 0
	_kd=$(grep -c . "$work/$1.kept")
	[ "$_kd" -gt 0 ] && printf '; kept %s path(s) (keep_paths)' "$_kd"
	return 0
}

# is_kept STEP PATH: whether PATH is one of STEP's kept paths or below one.
is_kept() {
	while IFS= read -r _ik; do
		case $2 in "$_ik" | "$_ik"/*) return 0 ;; esac
	done <"$work/$1.kept"
	return 1
}

# refuse_mounts_kept ROOT STEP: refuse_mounts, but for the mount points that
# are STEP's kept paths or lie below one: the step does not enter them, and
# leaves them as they are.
refuse_mounts_kept() {
	if [ ! -s "$work/$2.kept" ]; then
		refuse_mounts "$1"
		return
	fi
	mounts_under "$1" | awk -v kept="$work/$2.kept" '
		BEGIN { while ((getline l < kept) > 0) k[++n] = l }
		{ for (i = 1; i <= n; i++) if ($0 == k[i] || index($0, k[i] "/") == 1) next; print }' >"$work/mounts.here"
	[ -s "$work/mounts.here" ] || return 0
	while IFS= read -r _rm_m; do
		refuse "not entered: $(printf '%s' "$_rm_m" | sed 's/\\012/?/g') is a mount point"
	done <"$work/mounts.here"
	return 1
}
