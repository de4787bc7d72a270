# shellcheck shell=sh
# Accounts and homes: the passwd database and every home, resolved once,
# and the one pass over the homes that the home steps share (each of them
# names its files in its own step file: home_files_STEP).

# no_login: an awk regular expression for the shells of accounts that
# cannot log in.
no_login='(nologin|false|sync|halt|shutdown)$'

# The passwd database is read once, into $work/passwd. Each home directory
# is resolved once: $work/homes holds "UID:GID<TAB>M<TAB>DIR" lines, DIR a
# real directory (no symbolic link in it), UID:GID who acts in it, M "m" when
# some mount point lies below DIR. A home that is a symbolic link is followed
# once, and kept only when it leads to a directory its account owns that is
# not a system directory; otherwise it is not cleaned, and listed in
# $work/homes.refused ("ACCOUNT<TAB>SHELL<TAB>HOME<TAB>TARGET"): homes_pass
# refuses it where one of the files the steps look for lies behind it.
list_homes() {
	if command -v getent >/dev/null 2>&1; then getent passwd; else cat /etc/passwd; fi >"$work/passwd"
	: >"$work/homes.refused"
	awk -F: '$6 ~ /^\// && !seen[$6]++ { print $3 "\t" $6 "\t" $1 "\t" $7 }' "$work/passwd" >"$work/homes.raw"
	# A for over the lines, not while read: dash's read takes a byte per
	# system call, and an image may have thousands of accounts.
	_lh_all=$(cat "$work/homes.raw")
	_lh_ifs=$IFS
	set -f
	IFS=$nl
	for _lh in $_lh_all; do
		IFS=$_lh_ifs
		set +f
		_uid=${_lh%%"$tab"*}
		_lh=${_lh#*"$tab"}
		_h=${_lh%%"$tab"*}
		_lh=${_lh#*"$tab"}
		_user=${_lh%%"$tab"*}
		_shell=${_lh#*"$tab"}
		[ -e "$_h" ] || continue
		_real=$_h
		if has_link "$_h"; then
			_real=$(readlink -f -- "$_h") || continue
		fi
		if [ -L "$_h" ]; then
			_owner=$(stat -c %u -- "$_real" 2>/dev/null)
			if [ ! -d "$_real" ] || [ "$_owner" != "$_uid" ] || system_path "$_real"; then
				printf '%s\t%s\t%s\t%s\n' "$_user" "$_shell" "$_h" "$_real" >>"$work/homes.refused"
				continue
			fi
		fi
		[ -d "$_real" ] && printf '%s\n' "$_real"
	done </dev/null >"$work/homes.dirs"
	IFS=$_lh_ifs
	set +f
	# Who acts in each home (see controller), for all homes at once: one
	# stat of every directory on their ways down from /, not one per home.
	awk '{ n = split($0, c, "/"); p = ""; for (i = 2; i <= n; i++) { p = p "/" c[i]; if (!seen[p]++) print p } }' \
		"$work/homes.dirs" | tr '\n' '\0' | xargs -0 -r stat -c '%u:%g %n' -- >"$work/homes.owners" 2>/dev/null
	awk 'FILENAME == ARGV[1] { o = $1; sub(/^[^ ]* /, ""); owner[$0] = o; next }
		{
			n = split($0, c, "/"); p = ""; ug = "0:0"
			for (i = 2; i <= n; i++) {
				p = p "/" c[i]
				if (!(p in owner)) { ug = ""; break }
				if (owner[p] !~ /^0:/) { ug = owner[p]; sub(/:.*/, "", ug); break }
			}
			if (ug != "") print ug "\t" $0
		}' "$work/homes.owners" "$work/homes.dirs" | user_groups >"$work/homes.real"
	# One pass over the mounts for every home: M is set where one lies below.
	# FILENAME, not FNR == NR: with no mounts to read (no /proc) the first
	# file is empty, and FNR == NR would hold for the homes too.
	awk -F '\t' 'FILENAME == ARGV[1] {
			p = $0; gsub(/\\040/, " ", p); gsub(/\\011/, "\t", p); gsub(/\\134/, "\\", p); m[++n] = p; next
		}
		!seen[$2]++ {
			f = "-"
			for (i = 1; i <= n; i++) if (index(m[i], ($2 == "/" ? "" : $2) "/") == 1 && m[i] != $2) f = "m"
			print $1 "\t" f "\t" $2
		}' "$work/mounts" "$work/homes.real" >"$work/homes"
}

# refused_homes STEPS: for each home that list_homes would not follow, what
# lies behind the link is looked at (never changed): where one of the files
# a step looks for is there, that step refuses the home (a secret is left
# behind); where nothing is, a login account's linked home is a note, a
# system account's (bin's /bin -> /usr/bin) is nothing to speak of.
refused_homes() {
	while IFS="$tab" read -r _user _shell _h _real; do
		_hit=""
		for _s in $1; do
			use_lists "$_s"
			home_files "$_s"
			set -f
			for _rel in $hf; do
				set +f
				for _f in "$_h"/$_rel; do
					if [ -e "$_f" ] || [ -L "$_f" ]; then
						refuse "not followed: the home of $_user, $_h, is a symbolic link to $_real, not a directory of $_user, and holds $_rel"
						_hit=1
						break 2
					fi
				done
			done
			set +f
		done
		if [ -z "$_hit" ]; then
			case $_shell in *nologin | *false | *sync | *halt | *shutdown) continue ;; esac
			_first=${1# }
			note "${_first%% *}" "not followed: the home of $_user, $_h, is a symbolic link to $_real, not a directory of $_user (nothing to clean was found behind it)"
		fi
	done <"$work/homes.refused"
}

# home_files STEP: sets hf to the files STEP looks for in every home: the
# list its step file names home_files_STEP (a - in the name is a _ there),
# or nothing for a step that has none. A variable, not output: homes_pass
# asks for every home and step, and a command substitution forks a shell
# each time (1,500 forks for 500 homes).
home_files() {
	hf=""
	home_var "$1"
	# Step names are letters, digits and -: nothing else reaches the eval.
	case $hv in *[!a-z0-9_]* | "") return ;; esac
	eval "hf=\${home_files_$hv-}"
}

# home_var STEP: sets hv to STEP with each - made a _ (builtins only).
home_var() {
	hv=$1
	while :; do
		case $hv in
		*-*) hv=${hv%%-*}_${hv#*-} ;;
		*) return ;;
		esac
	done
}

# homes_pass: one pass over every home for all the selected steps that
# name files in homes (home_files): per home one process as its owner
# overwrites and unlinks every file those steps take on, instead of one per
# step; on an image with hundreds of accounts that is most of the cost.
# Each step's lists ($work/STEP.found, .refused) are filled here; the steps
# then report their own part (finish_wipe). The first of them to run makes
# the pass, so whatever a step adds to its list (user-keys: sshd's
# AuthorizedKeysFile patterns) it adds before it calls homes_pass. A step
# may also leave homes out ($work/homes.kept: STEP<TAB>HOME lines) and take
# more files of a home than its patterns name (a function home_more_STEP
# HOME TAKEN... that prints their names, one a line).
homes_pass() {
	[ -e "$work/homes.done" ] && return 0
	: >"$work/homes.done"
	_steps=""
	for _s in $AMI_HARDEN_STEPS; do
		home_files "$_s"
		[ -n "$hf" ] || continue
		# A home step that failed before the pass (user-keys, when sshd
		# cannot say where keys live) changes nothing here either.
		[ -e "$work/$_s.skip" ] && continue
		_steps="$_steps $_s"
		wipe_start "$_s"
	done
	refused_homes "$_steps"
	_kept=$nl
	[ -s "$work/homes.kept" ] && _kept="$nl$(cat "$work/homes.kept")$nl"
	homes_hard_links
	_jobs=0
	homes_lines
	for _hh in $homes_lines; do
		IFS=$_hl_ifs
		set +f
		home_fields "$_hh"
		mnt=""
		[ "$_m" = m ] && mnt=1
		set --
		_trees=0
		home_top "$_home"
		for _s in $_steps; do
			case $_kept in *"$nl$_s$tab$_home$nl"*) continue ;; esac
			use_lists "$_s"
			home_files "$_s"
			set -f
			for _rel in $hf; do
				set +f
				# Most names are not there: one look at the home's own
				# entries (home_top) spares the walk down each of them.
				case ${_rel%%/*} in
				*[][*?]*) ;;
				*) case $_top in *"$nl${_rel%%/*}$nl"*) ;; *) continue ;; esac ;;
				esac
				check_path "$_home" "$_rel" || continue
				for _f in "$_home"/$_rel; do
					if [ -L "$_f" ] || [ -f "$_f" ]; then
						if [ "$mnt" ] && is_mount "$_f"; then
							refuse "not entered: $(show "$_f") is a mount point"
						else
							printf '%s\0' "$_f" >>"$found"
							set -- "$@" "$_f"
						fi
					elif [ -d "$_f" ]; then
						if home_tree_joins "$_ug" "$_f"; then
							# A tree goes with the home's files, in its job
							# (first in the arguments: home_job removes them).
							printf '%s\0' "$_f" >>"$found"
							set -- "$_f" "$@"
							_trees=$((_trees + 1))
						else
							wipe_tree "$_ug" "$_f"
						fi
					fi
				done
			done
			set +f
			home_var "$_s"
			command -v "home_more_$hv" >/dev/null || continue
			"home_more_$hv" "$_home" "$@" >"$work/home_more"
			# One name a line: a name with a newline is not one a step's
			# own search takes.
			while IFS= read -r _f; do
				printf '%s\0' "$_f" >>"$found"
				set -- "$@" "$_f"
			done <"$work/home_more"
		done
		if [ $# -eq 0 ] || [ "$audit" ]; then continue; fi
		if [ "$_ug" != 0:0 ] && [ -z "$drop" ]; then
			_first=${_steps# }
			printf 'not touched: %s file(s) in %s of uid %s (no setpriv, GNU chroot or su to act as that user)\n' \
				"$#" "$_home" "${_ug%%:*}" >>"$work/${_first%% *}.refused"
			continue
		fi
		# Homes are independent: a few owners' processes run side by side,
		# which matters where hundreds of accounts each wait on their fsyncs.
		_jobs=$((_jobs + 1))
		printf '%s\t%s\n' "$_ug" "$_home" >"$work/job.$_jobs"
		if home_plain "$_home" "$_trees" "$@"; then
			# Only plain files with one link each: shred as the owner,
			# with no find to sort them (one process fewer per home), and
			# setpriv started as the job itself, not from a function in a
			# forked shell (one fork fewer).
			# shellcheck disable=SC2086 # $shred_unlink is one option
			if [ "$_ug" != 0:0 ] && [ "$drop" = setpriv ]; then
				setpriv --reuid="${_ug%%:*}" --regid="${_ug#*:}" --clear-groups -- \
					shred -n "$AMI_HARDEN_SHRED_PASSES" $shred_unlink -- "$@" </dev/null 2>>"$work/wipe.err" &
			else
				as_owner "$_ug" shred -n "$AMI_HARDEN_SHRED_PASSES" $shred_unlink -- "$@" </dev/null 2>>"$work/wipe.err" &
			fi
		else
			home_job "$_ug" "$work/hard.$_jobs" "$_trees" "$@" </dev/null &
		fi
		if [ "$_jobs" -ge "$homes_jobs" ]; then
			wait
			homes_reap "$_jobs" "$_steps"
			_jobs=0
		fi
	done </dev/null
	IFS=$_hl_ifs
	set +f
	wait
	homes_reap "$_jobs" "$_steps"
}

# home_top HOME: sets _top to the names of HOME's own entries, each between
# newlines (builtins: one read of the directory).
home_top() {
	_top=$nl
	for _ht in "$1"/* "$1"/.[!.]* "$1"/..?*; do
		{ [ -e "$_ht" ] || [ -L "$_ht" ]; } && _top="$_top${_ht##*/}$nl"
	done
}

# homes_lines: for a loop over the homes, one "UID:GID<TAB>M<TAB>DIR" line
# each (see list_homes): sets homes_lines to them and _hl_ifs to IFS, then
# splits on newlines only, globbing off. A for over the lines, not while
# read: dash's read takes a byte per system call, and an image may have
# thousands of homes. The loop's body starts with IFS=$_hl_ifs and set +f,
# and so does the code after it.
homes_lines() {
	homes_lines=$(cat "$work/homes")
	_hl_ifs=$IFS
	set -f
	IFS=$nl
}

# home_fields LINE: sets _ug, _m and _home from a line of $work/homes.
home_fields() {
	_ug=${1%%"$tab"*}
	_hf=${1#*"$tab"}
	_m=${_hf%%"$tab"*}
	_home=${_hf#*"$tab"}
}
