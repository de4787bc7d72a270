# shellcheck shell=sh
# Paths and owners: who controls a path (work below it runs as that user),
# dropping root to act as them, and the mount points no step may enter.

# controller PATH: "uid:gid" of who can change what PATH names: the owner of
# the first directory on the way down from / that root does not own, or
# 0:0. Work below PATH runs as that user (as_owner). PATH has no symbolic
# link in it (the callers resolve or refuse links first).
controller() {
	_ct_rest=${1#/}
	_ct_path=""
	while [ -n "$_ct_rest" ]; do
		_ct_path="$_ct_path/${_ct_rest%%/*}"
		case $_ct_rest in */*) _ct_rest=${_ct_rest#*/} ;; *) _ct_rest="" ;; esac
		# -O: owned by this process's user, root. A builtin: no process per component.
		if [ -e "$_ct_path" ] && [ ! -O "$_ct_path" ]; then
			if [ -d "$_ct_path" ]; then
				stat -c '%u' -- "$_ct_path" 2>/dev/null | user_groups | grep . && return 0
				return 1
			fi
			# A file is controlled by the owner of its directory (root here).
			break
		fi
	done
	echo 0:0
}

# user_groups: lines "UID" or "UID<TAB>REST" on stdin (anything from a ":"
# to the tab is dropped) become "UID:GID" and the same REST, GID the primary
# group of that UID's account, 65534 without one; root is always 0:0. Work
# as a user never runs with the group of the file it acts on: that may be a
# system group (root, shadow, mail) the user is not in.
user_groups() {
	awk 'FILENAME == ARGV[1] { split($0, f, ":"); if (!(f[3] in g)) g[f[3]] = f[4]; next }
		{
			t = index($0, "\t"); u = t ? substr($0, 1, t - 1) : $0; rest = t ? substr($0, t) : ""
			sub(/:.*/, "", u)
			print u ":" (u == "0" ? 0 : (u in g) ? g[u] : 65534) rest
		}' "$work/passwd" -
}

# as_owner UID:GID COMMAND...: run COMMAND as that user and group; as root
# itself for 0:0. It drops privileges the first way that works here (checked
# at start): util-linux setpriv or GNU chroot --userspec, with no other
# groups; else su to the account of that uid (busybox: its setpriv and
# chroot cannot change users), with the account's groups. Without any, it
# refuses.
as_owner() {
	_ao_ug=$1
	shift
	[ "$_ao_ug" = 0:0 ] && { "$@"; return; }
	case $drop in
	setpriv) setpriv --reuid="${_ao_ug%%:*}" --regid="${_ao_ug#*:}" --clear-groups -- "$@" ;;
	chroot) chroot --userspec="$_ao_ug" --groups="${_ao_ug#*:}" / "$@" ;;
	su)
		_ao_name=$(awk -F: -v u="${_ao_ug%%:*}" '$3 == u { print $1; exit }' "$work/passwd")
		[ -n "$_ao_name" ] || return 125
		# shellcheck disable=SC2016 # for the shell su starts
		su -s /bin/sh -c 'exec "$0" "$@"' -- "$_ao_name" "$@"
		;;
	*) return 125 ;;
	esac
}

# load_mounts: reads $work/mounts (the mount points as /proc/self/mountinfo
# writes them) once into mounts_dec, one a line, with \040, \011 and \134
# decoded and a newline left as \012 (a line is a path): the checks below
# then run in the shell, where the steps call them per home, tree and file.
load_mounts() {
	mounts_dec=""
	[ -s "$work/mounts" ] || return 0
	mounts_dec=$(awk '{ gsub(/\\040/, " "); gsub(/\\011/, "\t"); gsub(/\\134/, "\\"); print }' "$work/mounts")
}

# mounts_under ROOT: the mount points strictly below ROOT, one per line
# (a newline in one as \012). ROOT never holds a newline (homes come from
# passwd, the rest are fixed).
mounts_under() {
	[ -n "${mounts_dec-}" ] || return 0
	case $- in *f*) _mu_f="" ;; *) _mu_f=1 ;; esac
	set -f
	_mu_ifs=$IFS
	IFS=$nl
	for _mu in $mounts_dec; do
		if [ "$1" = / ]; then
			[ "$_mu" = / ] || printf '%s\n' "$_mu"
		else
			case $_mu in "$1"/*) printf '%s\n' "$_mu" ;; esac
		fi
	done
	IFS=$_mu_ifs
	[ -z "$_mu_f" ] || set +f
}

# refuse_mounts ROOT: refuse every mount point below ROOT; true when there is
# none. A file mount point (a bind-mounted file) cannot be kept out of a
# `find -xdev` walk, so a tree with one is not walked at all; the caller
# checks mounts_have_files.
refuse_mounts() {
	mounts_under "$1" >"$work/mounts.here"
	[ -s "$work/mounts.here" ] || return 0
	while IFS= read -r _rm_m; do
		refuse "not entered: $(printf '%s' "$_rm_m" | sed 's/\\012/?/g') is a mount point"
	done <"$work/mounts.here"
	return 1
}

# mounts_have_files: whether a mount point that refuse_mounts found last is
# not a directory.
mounts_have_files() {
	while IFS= read -r _mh_m; do
		case $_mh_m in *'\012'*) return 0 ;; esac
		[ -d "$_mh_m" ] && [ ! -L "$_mh_m" ] || return 0
	done <"$work/mounts.here"
	return 1
}

# is_mount PATH: whether PATH is a mount point.
is_mount() {
	[ -n "${mounts_dec-}" ] || return 1
	case $1 in
	*"$nl"*)
		# A newline in PATH: compared with the lines that hold one.
		printf '%s\n' "$mounts_dec" | awk -v p="$1" '{ gsub(/\\012/, "\n") } $0 == p { f = 1 } END { exit !f }'
		return
		;;
	esac
	case $nl$mounts_dec$nl in *"$nl$1$nl"*) return 0 ;; esac
	return 1
}

# drop_mounts LIST: the names of a NUL-separated list that are not mount
# points (rm -rf --one-file-system stays on the file system of the name it
# is given: a mount point given to it is emptied). The caller refuses the
# mount points (refuse_mounts). A name with a newline that matches a mount
# point line is left out too, and where a mount point's path holds a
# newline, every name with one: leaving out is the safe side.
drop_mounts() {
	_dm_all=$(mounts_under /)
	if [ -z "$_dm_all" ]; then
		cat "$1"
		return
	fi
	_dm_nl=no
	case $_dm_all in *'\012'*) _dm_nl=yes ;; esac
	# shellcheck disable=SC2016 # expanded by the shell xargs runs
	xargs -0 -r sh -c 'nl="
" skip_nl=$1
	shift
	for f do
		case $f in *"$nl"*) [ "$skip_nl" = yes ] && continue ;; esac
		case $nl$0$nl in *"$nl$f$nl"*) continue ;; esac
		printf "%s\0" "$f"
	done' "$_dm_all" "$_dm_nl" <"$1"
}

# system_path PATH: whether PATH is or lies in a directory of the system
# (never a home, never a tree to wipe).
system_path() {
	case $1 in
	/ | /bin | /bin/* | /boot | /boot/* | /dev | /dev/* | /etc | /etc/* | /lib | /lib/* | /lib32 | /lib32/* | \
		/lib64 | /lib64/* | /libx32 | /libx32/* | /proc | /proc/* | /run | /sbin | /sbin/* | /sys | /sys/* | \
		/usr | /usr/* | /var | /home | /srv | /opt | /tmp | /var/tmp | /var/log | /var/lib) return 0 ;;
	esac
	return 1
}

# has_link PATH: whether some part of PATH is a symbolic link (builtins
# only: no process per home).
has_link() {
	_hl_rest=${1#/}
	_hl_path=""
	while [ -n "$_hl_rest" ]; do
		_hl_path="$_hl_path/${_hl_rest%%/*}"
		case $_hl_rest in */*) _hl_rest=${_hl_rest#*/} ;; *) _hl_rest="" ;; esac
		[ -L "$_hl_path" ] && return 0
	done
	return 1
}

# system_dir PATH: whether PATH is the root or a top-level directory of the
# system: what no wipe path may name (the provisioner refuses these too).
system_dir() {
	case $1 in
	/ | /bin | /boot | /dev | /etc | /home | /lib | /lib32 | /lib64 | /libx32 | /proc | /root | /run | /sbin | /sys | /usr | /var) return 0 ;;
	esac
	return 1
}
