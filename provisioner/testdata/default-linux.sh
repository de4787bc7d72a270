#!/bin/sh
# Parameters, written by the ami-harden provisioner.
# The steps to run, in this order.
AMI_HARDEN_STEPS='sshd services passwords host-keys user-keys credentials history accounts cloud-init machine-id network enrolment temp secrets logs free-space'
# sshd settings, one "Keyword value" a line: the defaults and sshd_settings.
AMI_HARDEN_SSHD_SETTINGS='KbdInteractiveAuthentication no
PasswordAuthentication no
PermitEmptyPasswords no
PermitRootLogin prohibit-password
PubkeyAuthentication yes'
# modern: the sshd step adds a modern algorithm set (sshd_algorithms); empty: sshd's own algorithms stay.
AMI_HARDEN_SSHD_ALGORITHMS=''
# Absolute, clean paths, one a line, that the credentials step wipes (wipe_paths).
AMI_HARDEN_WIPE_PATHS=''
# Absolute, clean paths, one a line, that the temp and logs steps leave alone (keep_paths).
AMI_HARDEN_KEEP_PATHS=''
# Accounts, one a line, whose passwords and keys stay (keep_users).
AMI_HARDEN_KEEP_USERS=''
# 1: user-keys fails when nothing installs a key at first boot and no key stays (require_key_installer).
AMI_HARDEN_REQUIRE_KEY_INSTALLER='1'
# 1: cloud-init's seed, /var/lib/cloud/seed, stays (keep_cloud_init_seed).
AMI_HARDEN_KEEP_CLOUD_INIT_SEED='0'
# Globs of files, one a line, whose stray secrets are accepted (secrets_allow).
AMI_HARDEN_SECRETS_ALLOW=''
# Accounts, one a line, that the accounts step removes (remove_users).
AMI_HARDEN_REMOVE_USERS=''
# Passes of random data over a secret file before it is unlinked (shred_passes).
AMI_HARDEN_SHRED_PASSES='1'
# Mount points, one a line, whose free space the free-space step leaves alone (wipe_free_space_exclude).
AMI_HARDEN_FREE_SPACE_EXCLUDE=''
# Services, one a line, that the services step turns off: the default list less keep_services, plus disable_services.
AMI_HARDEN_DISABLE_SERVICES='telnet
telnetd
rsh
rlogin
rexec
tftp
tftpd-hpa
atftpd
in.tftpd
ftp
vsftpd
proftpd
pure-ftpd
ypserv
ypbind
yppasswdd
ypxfrd
nis'
# Names of the default list left as they are (keep_services), one a line.
AMI_HARDEN_KEEP_SERVICES=''
# enforce: change what needs changing, then verify it; audit: change nothing, report what enforce would change.
AMI_HARDEN_MODE='enforce'
# 1: the script removes its own file as it starts (the provisioner uploaded it).
AMI_HARDEN_REMOVE_SELF='1'
# ami-harden: cleans and hardens a Linux machine before it becomes a shared image.
#
# The Packer provisioner joins the files of this directory (lib/, in a fixed
# order), the file of each selected step (steps/STEP.sh, and STEP.*.sh where
# a step has more than one file) and main.sh into one script, writes its
# parameters as plain shell assignments right below the first line, uploads
# it once, runs it once as root and reads its report from standard output
# (provisioner/script/script.go). The parameters (AMI_HARDEN_*) are described
# where they are written, in the script itself. The script of an empty
# `provisioner "ami-harden" {}` block is provisioner/testdata/default-linux.sh.
# To run that by hand (as root, on a machine you are about to turn into an
# image, NEVER on your workstation), change the parameters at its top, e.g.
# AMI_HARDEN_STEPS='sshd passwords', then `sh default-linux.sh`; with
# AMI_HARDEN_REMOVE_SELF='1' it deletes its own file as it starts.
#
# The report is one line per event on standard output, each starting with
# "@@ami-harden " (nothing else the script prints does); the words and
# what they mean are in provisioner/report/report.go. A step's DETAIL names
# files, accounts and counts; it never carries the contents of a file.
#
# Touching only what it owns: file names travel NUL-separated from a listing
# to the command that acts on them (or never leave find -exec); no step
# follows a symbolic link below the directory it was given, enters another
# mount, or writes through a file with more than one hard link; work below a
# directory that a user owns (a home, a user's directory under /tmp or
# /var/log) runs as that user, so that a user who swaps a file for a link
# between the listing and the wiping can only hurt what that user could
# destroy alone. What a step refuses it reports by path, and it fails the step
# where a secret may be left behind.
#
# Why each step exists: docs/steps.md.

set -u
umask 077
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH LC_ALL=C
# The build's own shell must not write a history file back after the wipe.
unset HISTFILE

# Reporting: the lines the provisioner reads (the protocol is documented in
# provisioner/report/report.go) and the small helpers that shape a step's
# detail. Nothing here touches the image.

# Characters the helpers look for, set once (a command substitution is a
# process): a tab separates the fields of the scratch files.
tab=$(printf '\t')
cr=$(printf '\r')
nl='
'

# swap_all TEXT CHAR WITH: sets sw to TEXT with every CHAR made WITH.
# Builtins only: every report line and shown name goes through it (a tr
# would be a process each time).
swap_all() {
	sw=$1
	while :; do
		case $sw in
		*"$2"*) sw="${sw%%"$2"*}$3${sw#*"$2"}" ;;
		*) return 0 ;;
		esac
	done
}

# one_line TEXT: sets ol to TEXT with each tab, carriage return and newline
# made a space: a report line is one line.
one_line() {
	swap_all "$1" "$tab" " "
	swap_all "$sw" "$cr" " "
	swap_all "$sw" "$nl" " "
	ol=$sw
}

# report STEP STATUS DETAIL: the one line the provisioner reads for a step.
report() {
	one_line "$3"
	printf '@@ami-harden step %s %s %s\n' "$1" "$2" "${ol:--}"
	: >"$work/reported.$1"
	[ "$2" = failed ] && printf '%s\n' "$1" >>"$work/failed"
	return 0
}

# finding STEP TEXT: in audit mode, one thing the step would change.
finding() {
	one_line "$2"
	printf '@@ami-harden finding %s %s\n' "$1" "$ol"
	printf '%s\n' "$1" >>"$work/findings"
}

# note STEP TEXT: something the step leaves in place that the user must know
# about (a way into the image that stays, say); shown on a line of its own.
note() {
	one_line "$2"
	printf '@@ami-harden note %s %s\n' "$1" "$ol"
}

# findings_from STEP FILE FORMAT: a finding per line of FILE (printf FORMAT
# with the line), every one: the report files keep the whole list, and
# Packer's output shows the first of them. One awk for them all: an audit of
# /tmp may have a hundred thousand.
findings_from() {
	awk -v step="$1" -v fmt="$3" -v rec="$work/findings" '
		{ t = $0; gsub(/[\t\r]/, " ", t); printf "@@ami-harden finding %s " fmt "\n", step, t; print step >>rec }
	' "$2"
}

# audit_result STEP OKDETAIL: the step's line in audit mode.
audit_result() {
	_n=$(grep -cx "$1" "$work/findings")
	if [ "$_n" -gt 0 ]; then
		report "$1" finding "$_n finding(s)"
	else
		report "$1" ok "$2"
	fi
}

# join: stdin lines joined with ", ", at most 20 of them, then "and N more".
join() {
	awk 'NF { n++; if (n <= 20) s = s (n > 1 ? ", " : "") $0 }
	     END { if (n > 20) s = s ", and " (n - 20) " more"; print s }'
}

# lines0 FILE: a NUL-separated list as one line per name, for reading and
# showing only: a newline inside a name is shown as "?". Nothing to start
# for an empty list, the usual case.
lines0() {
	[ -s "$1" ] || return 0
	tr '\n\0' '?\n' <"$1"
}

# count0 FILE: how many names a NUL-separated list holds.
count0() {
	if [ -s "$1" ]; then
		_c0=$(tr -cd '\0' <"$1" | wc -c)
		echo $((_c0))
	else
		echo 0
	fi
}

# show NAME: a name as one line, a newline inside it shown as "?".
show() {
	swap_all "$1" "$nl" "?"
	printf '%s' "$sw"
}

# refuse TEXT: note in this step's refusals something it would not do. What
# was refused fails the step (see finish_wipe): a secret may be left there.
refuse() {
	printf '%s\n' "$1" >>"$refused"
}

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

# systemd and the running machine: whether the image boots with systemd,
# whether the script runs on a booted machine or in a chroot of an image,
# and unit files: finding, enabling, arming for this boot only.

has_systemd() {
	[ -d /etc/systemd/system ] && { [ -x /lib/systemd/systemd ] || [ -x /usr/lib/systemd/systemd ]; }
}

# live_systemd: the script runs on a booted machine whose init is systemd,
# not in a chroot of an image: that machine's own shutdown will still write
# to the disk after the steps (the random seed, login records, logs).
live_systemd() {
	[ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1 && live_machine
}

# live_machine: the script runs on a booted machine (any init), not in a
# chroot of an image: PID 1 sees the same / as the script (in a chroot it is
# the host's init, and its processes and sockets are the host's). Looked at
# once (main asks first: the steps' subshells keep the answer in $live).
live_machine() {
	if [ -z "${live-}" ]; then
		live=no
		[ "$(stat -L -c %d:%i /proc/1/root 2>/dev/null)" = "$(stat -c %d:%i /)" ] && live=yes
	fi
	[ "$live" = yes ]
}

# wipe_at_shutdown NAME PATTERN...: arm, for this boot only, the unit
# ami-harden-NAME-at-shutdown.service, which at the machine's shutdown
# overwrites and removes the files that PATTERN... (globs, no spaces) match:
# after the services that write them then (the random seed, the shutdown
# record in wtmp, DHCP clients) have stopped, and before /var is unmounted.
# It lives in /run, so the image never holds it and no later boot runs it.
# Prints what went wrong.
wipe_at_shutdown() {
	_ws_unit=ami-harden-$1-at-shutdown.service
	shift
	if ! { mkdir -p /run/ami-harden && printf '%s\n' "$at_shutdown_program" >/run/ami-harden/at-shutdown.sh; }; then
		echo "could not write /run/ami-harden/at-shutdown.sh"
		return 1
	fi
	cat >"/run/systemd/system/$_ws_unit" <<UNIT || { echo "could not write /run/systemd/system/$_ws_unit"; return 1; }
# Armed by ami-harden for this boot only (it lives in /run): the machine is
# becoming an image, and these files are written again at its shutdown.
[Unit]
Description=Wipe what the shutdown writes into the image (ami-harden)
DefaultDependencies=no
Conflicts=shutdown.target
RequiresMountsFor=/var/lib /var/log
Before=shutdown.target systemd-random-seed.service systemd-update-utmp.service systemd-journal-flush.service
Before=networking.service NetworkManager.service systemd-networkd.service dhcpcd.service wicked.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/true
ExecStop=/bin/sh /run/ami-harden/at-shutdown.sh $*
UNIT
	if ! { systemctl daemon-reload && systemctl start "$_ws_unit"; } >"$work/systemctl.err" 2>&1; then
		echo "could not start $_ws_unit: $(head -n 3 "$work/systemctl.err" | join)"
		return 1
	fi
	systemctl is-active --quiet "$_ws_unit" || { echo "$_ws_unit is not active"; return 1; }
}

# at_shutdown_program: what the units of wipe_at_shutdown run at shutdown,
# with globs: every regular file they match (never a link, never a file with
# another hard link) is overwritten with zeros, synced and removed.
# shellcheck disable=SC2016 # expanded by the shell that runs it
at_shutdown_program='# Written by ami-harden; run at shutdown by ami-harden-*-at-shutdown.service.
for f in $*; do
	[ -f "$f" ] && [ ! -L "$f" ] || continue
	[ "$(stat -c %h -- "$f")" = 1 ] || continue
	s=$(stat -c %s -- "$f")
	[ "$s" -gt 0 ] && dd if=/dev/zero of="$f" bs=4096 count=$(((s + 4095) / 4096)) conv=notrunc,fsync 2>/dev/null
	rm -f -- "$f"
done
sync'

# install_unit TEXT NAME TARGET: install the unit NAME, whose text is in the
# file TEXT, in /etc/systemd/system with the SELinux label policy wants, and
# enable it by hand for TARGET: systemctl may not reach a running systemd
# here (a chroot). Prints what went wrong.
install_unit() {
	_iu=/etc/systemd/system/$2
	if ! cmp -s "$1" "$_iu"; then
		if ! { cat "$1" >"$_iu" && chmod 0644 "$_iu"; }; then
			echo "could not write $_iu"
			return 1
		fi
		relabel "$_iu"
	fi
	_iw=/etc/systemd/system/$3.wants
	if ! { { [ -d "$_iw" ] || mkdir -m 0755 "$_iw"; } && ln -sf "$_iu" "$_iw/$2"; }; then
		echo "could not enable $_iu"
		return 1
	fi
}

# unit_dirs: where systemd looks for units, most important first.
unit_dirs='/etc/systemd/system /run/systemd/system /usr/lib/systemd/system /lib/systemd/system'

# unit_file NAME: the file of a unit, if any.
unit_file() {
	for _uf_d in $unit_dirs; do
		[ -f "$_uf_d/$1" ] && { printf '%s\n' "$_uf_d/$1"; return 0; }
	done
	return 1
}

# unit_enabled NAME: whether some target or unit wants or requires NAME.
unit_enabled() {
	for _ue_l in /etc/systemd/system/*.wants/"$1" /etc/systemd/system/*.requires/"$1" \
		/usr/lib/systemd/system/*.wants/"$1" /lib/systemd/system/*.wants/"$1"; do
		[ -e "$_ue_l" ] && return 0
	done
	return 1
}

# relabel FILE: give a file the SELinux label policy wants for its path,
# where SELinux is in use (restorecon does nothing elsewhere).
relabel() {
	command -v restorecon >/dev/null 2>&1 || return 0
	[ -e /sys/fs/selinux/enforce ] || grep -Eqs '^SELINUX=(enforcing|permissive)' /etc/selinux/config || return 0
	restorecon -F -- "$1" >/dev/null 2>&1
}

# sshd: what the image's sshd will really do (`sshd -T`, with the options
# its service manager passes on the command line), for the steps that ask.

# sshd_binary: the sshd of the image, if any.
sshd_binary() {
	for _s in /usr/sbin/sshd /usr/local/sbin/sshd; do
		[ -x "$_s" ] && { printf '%s\n' "$_s"; return 0; }
	done
	command -v sshd
}

# sshd_effective [-C SPEC]: the settings sshd would use (`sshd -T`),
# lowercased keywords, with the options the service manager passes on sshd's
# command line ($work/sshd_opts, one per line). A throwaway host key is
# passed with -h because the image's own host keys may already be gone (a
# second run), and sshd refuses to test without one. sshd wants its
# privilege separation directory, which a chroot (no /run) lacks: it is made
# for the check and removed after.
sshd_effective() {
	set -- "$@" -T -h "$work/probe_key"
	while IFS= read -r _o; do
		[ -n "$_o" ] && set -- "$@" -o "$_o"
	done <"$work/sshd_opts"
	"$sshd" "$@" 2>"$work/sshd_err" && return 0
	# sshd ends its messages with CR LF.
	_dir=$(sed -n 's/^Missing privilege separation directory: \([^[:space:]]*\).*/\1/p' "$work/sshd_err" | head -n 1)
	case $_dir in /?*) ;; *) return 1 ;; esac
	[ -e "$_dir" ] && return 1
	mkdir -m 0755 -- "$_dir" || return 1
	"$sshd" "$@" 2>"$work/sshd_err"
	_rc=$?
	rmdir -- "$_dir" 2>/dev/null
	return "$_rc"
}

# sshd_probe_key: a throwaway host key for sshd -T. ECDSA P-256 first, then
# RSA: FIPS mode refuses Ed25519 keys.
sshd_probe_key() {
	[ -f "$work/probe_key" ] && return 0
	ssh-keygen -q -t ecdsa -b 256 -N '' -C ami-harden-probe -f "$work/probe_key" >/dev/null 2>&1 && return 0
	rm -f "$work/probe_key" "$work/probe_key.pub"
	ssh-keygen -q -t rsa -b 3072 -N '' -C ami-harden-probe -f "$work/probe_key" >/dev/null 2>&1
}

# sshd_known: sshd's effective settings are in $work/sshd_after (the sshd
# step leaves what it verified there; otherwise sshd is asked now). False,
# with sshd's complaint in $work/sshd_err, when sshd cannot say.
sshd_known() {
	[ -s "$work/sshd_after" ] && return 0
	sshd_effective >"$work/sshd_after" && return 0
	rm -f "$work/sshd_after"
	return 1
}

# sshd_ready: find sshd, the options its service passes it, and a probe key.
# False (with $sshd empty) when there is no sshd. Found once per run: each
# step runs in a subshell, so what the first one found is kept in
# $work/sshd_bin (empty without sshd) for the others.
sshd_ready() {
	[ -n "$sshd" ] && return 0
	if [ -e "$work/sshd_bin" ]; then
		read -r sshd <"$work/sshd_bin" || sshd=""
		[ -n "$sshd" ] && [ -f "$work/probe_key" ]
		return
	fi
	sshd=$(sshd_binary) || { sshd=""; : >"$work/sshd_bin"; return 1; }
	sshd_command_line | awk '!seen[$0]++' >"$work/sshd_opts"
	sshd_probe_key || return 1
	printf '%s\n' "$sshd" >"$work/sshd_bin"
}

# sshd_units: the systemd units that start sshd on this image: the enabled
# ones among ssh.service and sshd.service, and the service behind an
# enabled ssh.socket (ssh@.service when it accepts each connection itself).
# When none is enabled, every one that is installed.
sshd_units() {
	_su_n=0
	for _su in ssh.service sshd.service; do
		unit_enabled "$_su" && { echo "$_su"; _su_n=1; }
	done
	for _su in ssh sshd; do
		unit_enabled "$_su.socket" || continue
		_su_n=1
		if grep -Eqs '^Accept=(yes|true|1)' "$(unit_file "$_su.socket")"; then
			echo "$_su@.service"
		else
			echo "$_su.service"
		fi
	done
	[ "$_su_n" = 1 ] && return 0
	for _su in ssh.service sshd.service ssh@.service; do
		unit_file "$_su" >/dev/null && echo "$_su"
	done
	return 0
}

# sshd_command_line: the -o options the service manager passes to sshd, one
# per line, and in $work/sshd_opts_from where each came from. sshd -T never
# sees these unless they are passed to it too (Amazon Linux's EC2 Instance
# Connect passes AuthorizedKeysCommand this way, from a sshd.service.d
# drop-in; a drop-in could as well turn password logins back on).
sshd_command_line() {
	: >"$work/sshd_opts_from"
	for _unit in $(sshd_units); do
		_main=$(unit_file "$_unit") || continue
		# Drop-ins in name order; one in /etc hides one of the same name below.
		for _d in /etc/systemd/system /run/systemd/system /usr/lib/systemd/system /lib/systemd/system; do
			for _f in "$_d/$_unit.d"/*.conf; do
				[ -f "$_f" ] && printf '%s\t%s\n' "${_f##*/}" "$_f"
			done
		done | awk -F '\t' '!seen[$1]++' | sort -t "$tab" -k1,1 | cut -f2 >"$work/dropins"
		# shellcheck disable=SC2046 # file names from a glob of unit directories
		awk -v unit="$_unit" '
			# EnvironmentFile= values are read for $OPTIONS-like variables.
			/^[ \t]*EnvironmentFile=/ { f = $0; sub(/^[^=]*=-?/, "", f); envf[++ne] = f }
			/^[ \t]*ExecStart=/ {
				v = $0; sub(/^[^=]*=/, "", v)
				if (v == "") { n = 0; next }
				cmd[++n] = v; src[n] = FILENAME
			}
			END {
				for (i = 1; i <= ne; i++) {
					while ((getline line < envf[i]) > 0) {
						if (line ~ /^[A-Za-z_][A-Za-z0-9_]*=/) {
							k = line; sub(/=.*/, "", k); val = line; sub(/^[^=]*=/, "", val)
							gsub(/^["\047]|["\047]$/, "", val); env[k] = val
						}
					}
				}
				for (i = 1; i <= n; i++) {
					c = cmd[i]
					for (k in env) { gsub("\\$\\{" k "\\}", env[k], c); gsub("\\$" k "([^A-Za-z0-9_]|$)", env[k] " ", c) }
					# Words: double quotes group, %% is a percent sign.
					nw = 0; w = ""; q = 0; inw = 0
					for (j = 1; j <= length(c); j++) {
						ch = substr(c, j, 1)
						if (ch == "\"") { q = !q; inw = 1; continue }
						if (!q && (ch == " " || ch == "\t")) { if (inw) { words[++nw] = w; w = ""; inw = 0 }; continue }
						w = w ch; inw = 1
					}
					if (inw) words[++nw] = w
					for (j = 1; j <= nw; j++) {
						o = ""
						if (words[j] == "-o" && j < nw) o = words[++j]
						else if (words[j] ~ /^-o./) o = substr(words[j], 3)
						if (o != "") { gsub(/%%/, "%", o); print o; print unit " (" src[i] "): -o " o > "/dev/stderr" }
					}
				}
			}' "$_main" $(cat "$work/dropins") 2>>"$work/sshd_opts_from"
	done
	# OpenRC (Alpine): the init script passes command_args (or the older
	# SSHD_OPTS) from /etc/conf.d/sshd.
	if [ -f /etc/conf.d/sshd ]; then
		sed -En 's/^[[:space:]]*(command_args|SSHD_OPTS)=["'\'']?([^"'\'']*).*/\2/p' /etc/conf.d/sshd | tr ' ' '\n' |
			awk '$0 == "-o" { o = 1; next } o { print; print "/etc/conf.d/sshd: -o " $0 > "/dev/stderr"; o = 0 }' \
				2>>"$work/sshd_opts_from"
	fi
}

# sshd_modern_candidates: the modern algorithm set (sshd_algorithms =
# "modern"), a line "Keyword candidates" per keyword, each list best first.
# The lists are ssh-audit's hardening guides for OpenSSH on Debian 12
# (version 3, 2025-04-18) and Debian 13 (2025-09-01) taken together: Debian
# 13's post-quantum key exchanges first, then Debian 12's (jtesta/ssh-audit,
# src/ssh_audit/hardening_guides.py; https://www.ssh-audit.com/hardening_guides.html).
# dev-sec's ssh-hardening sets the same kinds (ansible-collection-hardening,
# roles/ssh_hardening/vars/main.yml: ssh_kex_85_default, ssh_ciphers_66_default,
# ssh_macs_76_default), with hmac-sha2-512 and hmac-sha2-256 besides, which
# ssh-audit warns about (encrypt-and-MAC): they are left out here. Left out
# too: NIST curves (ecdh-sha2-nistp*, and ECDSA host keys), SHA-1
# (diffie-hellman-group14-sha1, ssh-rsa, hmac-sha1*), 64-bit tags (umac-64*),
# CBC ciphers, the 2048-bit diffie-hellman-group14-sha256, and GSSAPI key
# exchange (gss-*, a keyword of its own). TestSSHDModernCandidates in
# provisioner/script/script_test.go keeps those out of these lines.
sshd_modern_candidates() {
	cat <<'END'
KexAlgorithms mlkem768x25519-sha256,sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group-exchange-sha256
Ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes256-ctr,aes192-ctr,aes128-gcm@openssh.com,aes128-ctr
MACs hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com,umac-128-etm@openssh.com
HostKeyAlgorithms sk-ssh-ed25519-cert-v01@openssh.com,ssh-ed25519-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,sk-ssh-ed25519@openssh.com,ssh-ed25519,rsa-sha2-512,rsa-sha2-256
END
}

# sshd_modern_algorithms: the modern set as settings lines in $work/modern
# ("Keyword alg,alg,..."), for each keyword that $work/settings does not set
# (sshd_settings wins), each list cut to what this machine's sshd accepts:
# an older OpenSSH gets the part it knows. $work/modern_counts says, a line
# per keyword, "Keyword KEPT of ALL" or "Keyword from sshd_settings". False,
# with the keywords in $work/modern_empty, when sshd knows none of a
# keyword's candidates.
sshd_modern_algorithms() {
	: >"$work/modern"
	: >"$work/modern_counts"
	: >"$work/modern_empty"
	sshd_modern_candidates >"$work/modern_candidates"
	while read -r _kw _cands; do
		if awk -v k="$_kw" 'tolower($1) == tolower(k) { f = 1 } END { exit !f }' "$work/settings"; then
			printf '%s from sshd_settings\n' "$_kw" >>"$work/modern_counts"
			continue
		fi
		# The whole list first: an sshd that knows it all takes one run.
		if sshd_accepts "$_kw" "$_cands"; then
			_kept=$_cands
		else
			_kept=""
			for _a in $(printf '%s' "$_cands" | tr ',' ' '); do
				sshd_accepts "$_kw" "$_a" && _kept="${_kept:+$_kept,}$_a"
			done
		fi
		if [ -z "$_kept" ]; then
			printf '%s\n' "$_kw" >>"$work/modern_empty"
			continue
		fi
		printf '%s %s\n' "$_kw" "$_kept" >>"$work/modern"
		printf '%s %s of %s\n' "$_kw" "$(printf '%s' "$_kept" | tr ',' '\n' | grep -c .)" \
			"$(printf '%s' "$_cands" | tr ',' '\n' | grep -c .)" >>"$work/modern_counts"
	done <"$work/modern_candidates"
	[ ! -s "$work/modern_empty" ]
}

# sshd_accepts KEYWORD VALUE: whether this machine's sshd takes VALUE for
# KEYWORD: sshd refuses an algorithm name it does not know (sshd -T on a
# file with that line alone, as for sshd_settings).
sshd_accepts() {
	printf '%s %s\n' "$1" "$2" >"$work/alg_probe"
	sshd_effective -f "$work/alg_probe" >/dev/null </dev/null
}

# sshd_hostkeys_fit ALGORITHMS: whether a host key that sshd loads can sign
# with one of ALGORITHMS (comma-separated): a HostKeyAlgorithms list that
# fits none leaves sshd with nothing to offer, and no client gets in. The
# keys are the HostKey lines `sshd -T` shows in $work/sshd_before besides
# the throwaway key, or, without any, sshd's defaults (RSA, ECDSA and
# Ed25519). A key's type is the first word of its .pub file, or else what its
# name says; a key neither tells about is given the benefit of the doubt.
# The keys that do not fit go to $work/hostkeys_unfit.
sshd_hostkeys_fit() {
	: >"$work/hostkeys_unfit"
	awk -v probe="$work/probe_key" '$1 == "hostkey" { $1 = ""; sub(/^ /, ""); if ($0 != probe) print }' \
		"$work/sshd_before" >"$work/hostkeys"
	[ -s "$work/hostkeys" ] || return 0
	while IFS= read -r _hk; do
		_t=""
		[ -f "$_hk.pub" ] && read -r _t _rest <"$_hk.pub" 2>/dev/null
		if [ -z "$_t" ]; then
			case ${_hk##*/} in
			*ed25519*) _t=ssh-ed25519 ;;
			*ecdsa*) _t=ecdsa-sha2-nistp256 ;;
			*dsa*) _t=ssh-dss ;;
			*rsa*) _t=ssh-rsa ;;
			*) return 0 ;;
			esac
		fi
		# An RSA key signs with rsa-sha2-256 and rsa-sha2-512 too.
		[ "$_t" = ssh-rsa ] && _t="ssh-rsa rsa-sha2-256 rsa-sha2-512"
		for _a in $_t; do
			case ",$1," in *",$_a,"*) return 0 ;; esac
		done
		printf '%s (%s)\n' "$_hk" "${_t%% *}" >>"$work/hostkeys_unfit"
	done <"$work/hostkeys"
	return 1
}

# sshd_list_diff KEYWORD WANT GOT: how an algorithm list sshd uses (GOT)
# differs from the one asked for (WANT), on one line: what it allows
# besides, what it lacks, or that only the order differs.
sshd_list_diff() {
	awk -v k="$1" -v want="$2" -v got="$3" 'BEGIN {
		nw = split(tolower(want), w, ","); ng = split(tolower(got), g, ",")
		for (i = 1; i <= nw; i++) inw[w[i]] = 1
		for (i = 1; i <= ng; i++) { ing[g[i]] = 1; if (!(g[i] in inw)) extra = extra " " g[i] }
		for (i = 1; i <= nw; i++) if (!(w[i] in ing)) missing = missing " " w[i]
		s = k ":"
		if (extra != "") s = s " also allows" extra
		if (missing != "") s = s (extra != "" ? ";" : "") " lacks" missing
		if (extra == "" && missing == "") s = s " the same algorithms in another order"
		print s
	}'
}

# sshd_config_mode: the permission bits of sshd_config (stat's octal, e.g.
# 644), for the check that it is no wider than 600.
sshd_config_mode() {
	stat -c %a -- /etc/ssh/sshd_config 2>/dev/null
}

# mode_wider_than_600 MODE: whether octal MODE has a bit outside 0600
# (group or others, execute, set-id, sticky).
mode_wider_than_600() {
	[ $((0$1 & 07177)) -ne 0 ]
}

# sshd: password logins off, keys on. sshd keeps the FIRST value it reads for a
# keyword, and Debian and Ubuntu include sshd_config.d/*.conf at the top of
# sshd_config, where cloud images put PasswordAuthentication yes. So the block
# goes at the very top of sshd_config itself, ahead of every Include, and the
# result is read back from `sshd -T`, not from the file, with the options the
# service manager passes on sshd's command line (which outrank any file).
# With sshd_algorithms = "modern" the block also carries the modern
# KexAlgorithms, Ciphers, MACs and HostKeyAlgorithms (lib/sshd.sh:
# sshd_modern_candidates), cut to what this sshd knows. sshd_config ends up
# mode 600 at most (Lynis FILE-7524 and the CIS benchmarks; Debian ships 644):
# it says how the machine is reached, which is no one else's business.
# sshd is neither restarted nor reloaded: the build's own connection must
# live to the end. The other ways in (a keys command, a CA, principals, other
# key files) are reported: they are the user's to keep or remove.
step_sshd() {
	sshd_ready || { report sshd skipped "sshd is not installed"; return; }
	config=/etc/ssh/sshd_config
	# Written in place and chmod-ed: never through a link, which could
	# point anywhere.
	if has_link "$config"; then
		report sshd failed "$config is a symbolic link or lies below one: the step writes and chmods no file through a link (make it a regular file)"
		return
	fi
	[ -f "$config" ] || { report sshd failed "$config does not exist"; return; }
	[ -f "$work/probe_key" ] || { report sshd failed "ssh-keygen could not make a throwaway key to test sshd's configuration"; return; }
	_mode=$(sshd_config_mode)
	[ -n "$_mode" ] || { report sshd failed "could not read the mode of $config (stat)"; return; }
	# sshd -T checks the configuration as -t does, and prints the result.
	sshd_effective >"$work/sshd_before" || { report sshd failed "sshd rejects the configuration before any change (sshd -T), fix it first: $(head -n 3 "$work/sshd_err")"; return; }

	# OpenSSH before 8.7 knows the keyword as ChallengeResponseAuthentication.
	printf '%s\n' "$AMI_HARDEN_SSHD_SETTINGS" >"$work/settings"
	if ! grep -q '^kbdinteractiveauthentication ' "$work/sshd_before"; then
		sed 's/^KbdInteractiveAuthentication /ChallengeResponseAuthentication /' "$work/settings" >"$work/settings.old"
		mv "$work/settings.old" "$work/settings"
	fi

	# Whether sshd knows each keyword and value, this machine's sshd says
	# (distributions add keywords of their own): the settings alone, as a
	# file of their own, before sshd_config is touched.
	if ! sshd_effective -f "$work/settings" >/dev/null; then
		report sshd failed "sshd_settings: this machine's sshd rejects them, $config is unchanged (sshd -T: $(grep -v 'terminating, [0-9]* bad configuration' "$work/sshd_err" | head -n 3 | sed "s|$work/settings|sshd_settings|" | tr -d '\r' | join))"
		return
	fi
	_summary=$(awk 'NF { print $1 " " $2 }' "$work/settings" | join)

	# The modern algorithms join the settings, below those of sshd_settings
	# (a keyword there wins), each list what this sshd accepts of it.
	if [ "$AMI_HARDEN_SSHD_ALGORITHMS" = modern ]; then
		if ! sshd_modern_algorithms; then
			report sshd failed "sshd_algorithms: this machine's sshd knows none of the modern $(join <"$work/modern_empty"), $config is unchanged"
			return
		fi
		if grep -q '^HostKeyAlgorithms ' "$work/modern" &&
			! sshd_hostkeys_fit "$(awk '$1 == "HostKeyAlgorithms" { print $2 }' "$work/modern")"; then
			report sshd failed "sshd_algorithms: the modern HostKeyAlgorithms fit none of sshd's host keys ($(join <"$work/hostkeys_unfit")): sshd would have no host key to offer; add an Ed25519 or RSA HostKey, or set HostKeyAlgorithms in sshd_settings. $config is unchanged"
			return
		fi
		cat "$work/modern" >>"$work/settings"
		_summary="$_summary; modern algorithms: $(join <"$work/modern_counts")"
	fi

	if [ "$audit" ]; then
		sshd_compare "$work/sshd_before"
		findings_from sshd "$work/wrong" '%s (sshd -T)'
		sshd_has_match && ! sshd_match_check && findings_from sshd "$work/wrong" 'a Match block sets %s'
		# A command, principals or a CA that lets people in stays a finding;
		# other key file locations are only said (user-keys audits the files).
		sshd_ways_in "$work/sshd_before"
		grep -v '^AuthorizedKeysFile ' "$work/ways_in" >"$work/ways_in.stay"
		findings_from sshd "$work/ways_in.stay" '%s'
		grep '^AuthorizedKeysFile ' "$work/ways_in" | while IFS= read -r _w; do note sshd "$_w"; done
		mode_wider_than_600 "$_mode" && finding sshd "$config is mode $_mode, wider than 600"
		audit_result sshd "in effect: $_summary; $config is mode $_mode"
		return
	fi

	{
		echo '# BEGIN ami-harden: kept first, sshd uses the first value it reads.'
		grep . "$work/settings"
		echo '# END ami-harden'
		# Earlier runs' block is replaced, not stacked.
		sed '/^# BEGIN ami-harden/,/^# END ami-harden/d' "$config"
	} >"$work/sshd_config.new"

	_written=""
	if cmp -s "$work/sshd_config.new" "$config"; then
		cp "$work/sshd_before" "$work/sshd_after"
	else
		cp -p "$config" "$work/sshd_config.orig" || { report sshd failed "could not back up $config"; return; }
		# Written in place: keeps the owner, mode, SELinux label and any hard
		# link of the file.
		cat "$work/sshd_config.new" >"$config" || {
			cat "$work/sshd_config.orig" >"$config"
			report sshd failed "could not write $config"
			return
		}
		if ! sshd_effective >"$work/sshd_after"; then
			cat "$work/sshd_config.orig" >"$config"
			rm -f "$work/sshd_after"
			report sshd failed "sshd rejected the new settings (sshd -T), $config was restored: $(head -n 3 "$work/sshd_err")"
			return
		fi
		_written=1
	fi

	# Verify the effect: what sshd will really use, for every setting asked for.
	sshd_compare "$work/sshd_after"
	if [ -s "$work/wrong" ]; then
		_from=""
		[ -s "$work/sshd_opts_from" ] && _from=" (sshd's command line outranks its files: $(join <"$work/sshd_opts_from"))"
		report sshd failed "sshd -T does not show the settings asked for: $(join <"$work/wrong")$_from"
		return
	fi
	if sshd_has_match && ! sshd_match_check; then
		report sshd failed "a Match block in the sshd configuration turns password logins back on: $(join <"$work/wrong")"
		return
	fi

	# Only narrower: the bits outside 600 go, a 400 stays 400. The path has
	# no link on it (checked above), and /etc/ssh is root's.
	_mode_done=""
	if mode_wider_than_600 "$_mode"; then
		_new=$(printf '%o' $((0$_mode & 0600)))
		if ! chmod "$_new" "$config" || mode_wider_than_600 "$(sshd_config_mode)"; then
			report sshd failed "could not make $config mode $_new (it is $(sshd_config_mode)); its settings are in effect"
			return
		fi
		_mode_done="; $config mode $_new, was $_mode"
	fi

	sshd_ways_in "$work/sshd_after"
	while IFS= read -r _w; do note sshd "$_w"; done <"$work/ways_in"
	_pam=$(awk '$1 == "usepam" { print $2 }' "$work/sshd_after")
	_more=""
	[ -s "$work/ways_in" ] && _more="; $(grep -c . "$work/ways_in") other way(s) in, see below"
	if [ "$_written" ]; then
		report sshd changed "$config now starts with: $_summary (verified with sshd -T; UsePAM ${_pam:-absent: sshd without PAM})$_mode_done$_more"
	elif [ "$_mode_done" ]; then
		report sshd changed "already in effect: $_summary$_mode_done$_more"
	else
		report sshd ok "already in effect: $_summary$_more"
	fi
}

# sshd_compare EFFECTIVE: list in $work/wrong each setting asked for that the
# `sshd -T` output in EFFECTIVE does not show. One awk for every setting:
# keywords and values compare without case, and sshd -T prints some values
# under another name (prohibit-password is without-password).
sshd_compare() {
	awk 'FILENAME == ARGV[1] { if (!($1 in got)) { v = $0; sub(/^[^ ]* ?/, "", v); got[$1] = v }; next }
		NF {
			key = $1; want = $0
			sub(/^[ \t]*[^ \t]+[ \t]*/, "", want); sub(/[ \t]+$/, "", want)
			lk = tolower(key)
			if (!(lk in got) || got[lk] == "") { print "missing\t" key; next }
			w = tolower(want); g = tolower(got[lk])
			if (w == g || (w ":" g) ~ /^(prohibit-password:without-password|without-password:prohibit-password)$/) next
			print (lk ~ /^(kexalgorithms|ciphers|macs|hostkeyalgorithms)$/ ? "list" : "value") "\t" key "\t" want "\t" got[lk]
		}' "$1" "$work/settings" | while IFS="$tab" read -r _kind _key _want _got; do
		case $_kind in
		missing) printf '%s (not in sshd -T'"'"'s output)\n' "$_key" ;;
		list) sshd_list_diff "$_key" "$_want" "$_got" ;;
		*) printf '%s is %s, not %s\n' "$_key" "$_got" "$_want" ;;
		esac
	done >"$work/wrong"
}

# sshd_ways_in EFFECTIVE: the ways in besides the keys in ~/.ssh that the
# `sshd -T` output in EFFECTIVE shows, one line each in $work/ways_in, with
# where a command-line option came from.
sshd_ways_in() {
	awk '
		$1 == "authorizedkeyscommand" && $2 != "none" { k = "AuthorizedKeysCommand" }
		$1 == "authorizedprincipalscommand" && $2 != "none" { k = "AuthorizedPrincipalsCommand" }
		$1 == "authorizedprincipalsfile" && $2 != "none" { k = "AuthorizedPrincipalsFile" }
		$1 == "trustedusercakeys" && $2 != "none" { k = "TrustedUserCAKeys" }
		$1 == "authorizedkeysfile" {
			for (i = 2; i <= NF; i++)
				if ($i !~ /^(%h\/)?\.ssh\/authorized_keys2?$/) k = "AuthorizedKeysFile"
		}
		k { v = $0; sub(/^[^ ]* /, "", v); print k "\t" tolower(k) "\t" v; k = "" }
	' "$1" | while IFS="$tab" read -r _k _lk _v; do
		_src=$(grep -i -- "-o ${_lk}[ =]" "$work/sshd_opts_from" | head -n 1 | sed 's/: -o .*//')
		case $_k in
		AuthorizedKeysFile) _what="keys are also read from $_v (user-keys cleans these files)" ;;
		TrustedUserCAKeys) _what="certificates signed by the CA keys in $_v log in" ;;
		*) _what="$_v decides who logs in" ;;
		esac
		[ -n "$_src" ] && _what="$_what (on the command line of sshd: $_src)"
		printf '%s %s\n' "$_k" "$_what"
	done >"$work/ways_in"
}

# sshd_has_match: Match blocks override the global settings for the
# connections they match, so they need a check of their own.
sshd_has_match() {
	grep -Eiqs '^[[:space:]]*Match[[:space:]]' /etc/ssh/sshd_config /etc/ssh/sshd_config.d/*.conf
}

# sshd_match_check: with Match blocks present, check the password settings for
# root and every account with a login shell, as sshd would see their logins.
# What is wrong goes to $work/wrong.
sshd_match_check() {
	: >"$work/wrong"
	awk -F: -v no_login="$no_login" '$7 !~ no_login { print $1 }' "$work/passwd" >"$work/login_users"
	while IFS= read -r _u; do
		sshd_effective -C "user=$_u,host=image.invalid,addr=192.0.2.1,laddr=192.0.2.2,lport=22" >"$work/sshd_user" || {
			printf '%s (sshd -T -C failed)\n' "$_u" >>"$work/wrong"
			continue
		}
		for _k in passwordauthentication permitemptypasswords; do
			awk -v k="$_k" -v u="$_u" '$1 == k && $2 != "no" { print u ": " k " " $2 }' "$work/sshd_user" >>"$work/wrong"
		done
	done <"$work/login_users"
	[ ! -s "$work/wrong" ]
}

# services: the image starts no service that authenticates in cleartext (AWS's
# security whitepaper, table 15, asks to disable the services and protocols
# that do; telnet, rsh, rlogin, rexec, tftp, plain FTP and NIS are such
# services), and the report says what the image will listen on.
#
# The list (AMI_HARDEN_DISABLE_SERVICES: the default list less keep_services,
# plus disable_services) holds names, looked up every way an image starts a
# service, since one daemon has other names in each:
#   - systemd: NAME.service and NAME.socket (a name with a unit suffix: that
#     unit; vsftpd.service also covers /etc/init.d/vsftpd, whose unit systemd
#     makes from it), and the unit an alias names (Debian's
#     openbsd-inetd.service is inetd.service). The links that enable them go
#     and they are masked: a package upgrade, or another unit that wants
#     them, would start a merely disabled unit again;
#   - init scripts: their /etc/rc?.d start links become stop links (what
#     update-rc.d disable does); OpenRC: their /etc/runlevels links go (what
#     rc-update del does);
#   - inetd: the entries whose service is NAME, or whose server is NAME,
#     NAMEd, in.NAME or in.NAMEd (telnet: /usr/sbin/telnetd, in.telnetd; rsh:
#     the entry "shell" that runs in.rshd) are commented out the way
#     update-inetd --disable does ("#<off># "), which package upgrades leave
#     off; xinetd: such services get "disable = yes". An inetd or xinetd
#     whose last entry this turned off is disabled too: it would listen on
#     nothing, but it is one more daemon that runs as root and waits for input.
# sshd and the service manager's own units (systemd, D-Bus, targets) are never
# touched, whatever the list says: the build runs over sshd, and the image is
# reached through it. On a running machine what was turned off is also
# stopped now, except a unit that holds this very session (it stops at the
# next boot); in a chroot of an image nothing runs to stop.
#
# Every run ends with a note of what the image listens on at boot: enabled
# socket units with network addresses, sshd with the ports sshd -T gives,
# inetd and xinetd entries that are on, and enabled services known to be
# network daemons (svc_known); on a running machine also what listens now.
step_services() {
	svc_names
	svc_scan "$work/svc_names" >"$work/svc_on"
	_kept=""
	[ -n "$AMI_HARDEN_KEEP_SERVICES" ] && _kept="; kept (keep_services): $(printf '%s\n' "$AMI_HARDEN_KEEP_SERVICES" | join)"
	_svn=$(grep -c . "$work/svc_names")
	while IFS= read -r _r; do note services "not touched: $_r"; done <"$work/svc_refused"
	if [ "$audit" ]; then
		cut -f 3 "$work/svc_on" >"$work/svc_text"
		findings_from services "$work/svc_text" '%s'
		svc_listen_note
		audit_result services "none of the $_svn service name(s) is installed or on$_kept"
		return
	fi
	: >"$work/svc_done"
	: >"$work/svc_err"
	: >"$work/svc_stop"
	svc_turn_off "$work/svc_on" "$work/svc_names" ""
	# Entries this run turned off may have been inetd's or xinetd's last ones.
	for _d in inetd xinetd; do
		grep -q "^$_d$tab" "$work/svc_on" || continue
		[ -z "$(svc_super_entries "$_d")" ] || continue
		svc_super_names "$_d" >"$work/svc_super"
		svc_scan "$work/svc_super" >"$work/svc_super_on"
		svc_turn_off "$work/svc_super_on" "$work/svc_super" ", $_d has no entry left"
		cat "$work/svc_super" >>"$work/svc_names"
	done
	live_machine && svc_stop_now
	# Verify: what the names find now must be nothing. With nothing found
	# the first time, nothing was changed, and the first scan was the check.
	if [ -s "$work/svc_on" ]; then
		svc_scan "$work/svc_names" >"$work/svc_left"
	else
		: >"$work/svc_left"
	fi
	svc_listen_note
	awk '!seen[$0]++' "$work/svc_done" >"$work/svc_done.u"
	if [ -s "$work/svc_err" ] || [ -s "$work/svc_left" ]; then
		cut -f 3 "$work/svc_left" >>"$work/svc_err"
		_did=""
		[ -s "$work/svc_done.u" ] && _did="; turned off: $(join <"$work/svc_done.u")"
		report services failed "still on: $(join <"$work/svc_err")$_did"
	elif [ -s "$work/svc_done.u" ]; then
		report services changed "turned off: $(join <"$work/svc_done.u")$(svc_stopped)$_kept"
	else
		report services ok "none of the $_svn service name(s) is installed or on$_kept"
	fi
}

# svc_names: the names of AMI_HARDEN_DISABLE_SERVICES in $work/svc_names, one
# a line; in $work/svc_refused the ones never touched, and why. The
# provisioner checks names; a script run by hand may get anything.
svc_names() {
	: >"$work/svc_names"
	: >"$work/svc_refused"
	# Each name with its lowercase form: protection ignores case, as the
	# provisioner's check does (one awk for every name, not a tr for each).
	printf '%s\n' "$AMI_HARDEN_DISABLE_SERVICES" | awk 'NF { print $0 "\t" tolower($0) }' >"$work/svc_given"
	while IFS="$tab" read -r _sn _sl; do
		case $_sn in
		*[!-A-Za-z0-9@_.:+$]* | [!A-Za-z0-9_]*)
			printf '%s (not a service name)\n' "$(show "$_sn")" >>"$work/svc_refused"
			;;
		*)
			if svc_protected "$_sl"; then
				printf '%s (%s)\n' "$_sn" "$(svc_protected_why "$_sl")" >>"$work/svc_refused"
			else
				printf '%s\n' "$_sn" >>"$work/svc_names"
			fi
			;;
		esac
	done <"$work/svc_given"
}

# svc_protected NAME: sshd, and the service manager's own units: never
# touched. NAME in lowercase. The provisioner refuses the same names in
# disable_services (provisioner/validate.go, protectedService; a test runs
# both on the same names).
svc_protected() {
	case $1 in
	ssh | sshd | ssh.* | sshd.* | ssh@* | sshd@* | sshd-* | openssh* | \
		systemd | systemd.* | systemd-* | dbus | dbus.* | dbus-* | init | init.* | *.target | *.slice | *.scope | *.mount) return 0 ;;
	esac
	return 1
}

# svc_protected_why NAME: why svc_protected NAME holds.
svc_protected_why() {
	case $1 in
	ssh | sshd | ssh.* | sshd.* | ssh@* | sshd@* | sshd-* | openssh*) echo "sshd, which the build runs over and the image is reached through" ;;
	*.target | *.slice | *.scope | *.mount) echo "a systemd ${1##*.}, not a service" ;;
	*) echo "the service manager's own" ;;
	esac
}

# svc_units NAME: the systemd units NAME stands for, in $svc_u (a variable,
# not output: the scan runs for every name, twice, and a command
# substitution costs a process each time).
svc_units() {
	case $1 in
	*.service | *.socket | *.timer | *.path) svc_u=$1 ;;
	*) svc_u="$1.service $1.socket" ;;
	esac
}

# svc_script NAME: the init script name NAME stands for, in $svc_s (empty
# for a socket or timer unit).
svc_script() {
	case $1 in
	*.service) svc_s=${1%.service} ;;
	*.socket | *.timer | *.path) svc_s="" ;;
	*) svc_s=$1 ;;
	esac
}

# svc_masked UNIT: UNIT is masked in /etc.
svc_masked() {
	[ -L "/etc/systemd/system/$1" ] && [ "$(readlink "/etc/systemd/system/$1")" = /dev/null ]
}

# svc_unit_present UNIT: systemd knows UNIT here: a unit file, an init script
# it makes one from, or a mask.
svc_unit_present() {
	unit_file "$1" >/dev/null && return 0
	case $1 in *.service) [ -f "/etc/init.d/${1%.service}" ] && return 0 ;; esac
	[ -L "/etc/systemd/system/$1" ]
}

# svc_scan NAMES: what starts the services of the file NAMES (one a line), one
# line each: KIND<TAB>OBJECT<TAB>TEXT, KIND one of unit (OBJECT a unit to
# disable and mask), rc (OBJECT an init script with start links), openrc
# (OBJECT a runlevel link), inetd and xinetd (OBJECT a file with entries to
# turn off).
svc_scan() {
	if has_systemd; then
		while IFS= read -r _ss; do
			svc_units "$_ss"
			# $svc_u: unit names, which hold no space (svc_names checked them).
			for _su in $svc_u; do
				svc_unit_present "$_su" || continue
				# An alias in the vendor's directory names the real unit.
				_sf=$(unit_file "$_su") && [ -L "$_sf" ] && _sc=$(readlink "$_sf") && _sc=${_sc##*/} &&
					[ "$_sc" != "$_su" ] && [ "${_sc##*.}" = "${_su##*.}" ] && ! svc_protected "$_sc" &&
					! svc_masked "$_sc" && svc_unit_line "$_sc"
				svc_masked "$_su" || svc_unit_line "$_su"
			done
		done <"$1" | awk '!seen[$0]++'
	fi
	while IFS= read -r _ss; do
		svc_script "$_ss"
		_sn=$svc_s
		[ -n "$_sn" ] || continue
		_sr=""
		for _sl in /etc/rc[0-6S].d/S[0-9][0-9]"$_sn" /etc/rc.d/rc[0-6].d/S[0-9][0-9]"$_sn"; do
			[ -L "$_sl" ] || [ -f "$_sl" ] || continue
			_sr="${_sr:+$_sr }$_sl"
		done
		[ -n "$_sr" ] && printf 'rc\t%s\t%s starts at boot (%s)\n' "$_sn" "$_sn" "$_sr"
		for _sl in /etc/runlevels/*/"$_sn"; do
			[ -L "$_sl" ] || [ -f "$_sl" ] || continue
			printf 'openrc\t%s\t%s starts at boot (%s)\n' "$_sl" "$_sn" "$_sl"
		done
	done <"$1"
	for _sf in $(svc_inetd_files); do
		svc_inetd scan "$1" "$_sf"
	done
	for _sf in $(svc_xinetd_files); do
		svc_xinetd scan "$1" "$_sf"
	done
}

# svc_unit_line UNIT: the scan line of a unit to disable and mask.
svc_unit_line() {
	if unit_enabled "$1" || svc_rc_enabled "${1%.service}"; then
		printf 'unit\t%s\t%s starts at boot (enabled, not masked)\n' "$1" "$1"
	else
		printf 'unit\t%s\t%s is installed and not masked\n' "$1" "$1"
	fi
}

# svc_rc_enabled SCRIPT: an init script has a start link in a multi-user
# runlevel (systemd's sysv generator enables its unit then).
svc_rc_enabled() {
	for _re in /etc/rc[2-5].d/S[0-9][0-9]"$1"; do
		[ -e "$_re" ] || [ -L "$_re" ] && return 0
	done
	return 1
}

# svc_turn_off SCAN NAMES WHY: turn off what the scan lines of SCAN (made
# from the names of the file NAMES) find; what was done goes to
# $work/svc_done, each line ending in WHY, what failed to $work/svc_err.
svc_turn_off() {
	while IFS="$tab" read -r _tk _to _tt; do
		case $_tk in
		unit)
			if svc_mask "$_to"; then
				echo "$_to (masked$3)" >>"$work/svc_done"
				echo "$_to" >>"$work/svc_stop"
			fi
			;;
		rc)
			# Each start link becomes a stop link with the same number: a
			# later update-rc.d sees the script as disabled, not as never
			# configured.
			for _to in /etc/rc[0-6S].d/S[0-9][0-9]"$_to" /etc/rc.d/rc[0-6].d/S[0-9][0-9]"$_to"; do
				[ -L "$_to" ] || [ -f "$_to" ] || continue
				_tn=${_to##*/}
				if [ -e "${_to%/*}/K${_tn#S}" ] || [ -L "${_to%/*}/K${_tn#S}" ]; then
					rm -f -- "$_to"
				else
					mv -f -- "$_to" "${_to%/*}/K${_tn#S}"
				fi
				if [ -e "$_to" ] || [ -L "$_to" ]; then
					echo "could not remove $_to" >>"$work/svc_err"
				else
					echo "${_tn#S[0-9][0-9]} (start links in /etc/rc?.d made stop links$3)" >>"$work/svc_done"
					echo "${_tn#S[0-9][0-9]}" >>"$work/svc_stop"
				fi
			done
			;;
		openrc)
			rm -f -- "$_to"
			if [ -e "$_to" ] || [ -L "$_to" ]; then
				echo "could not remove $_to" >>"$work/svc_err"
			else
				_tr=${_to%/*}
				echo "${_to##*/} (removed from OpenRC runlevel ${_tr##*/}$3)" >>"$work/svc_done"
				echo "${_to##*/}" >>"$work/svc_stop"
			fi
			;;
		inetd | xinetd)
			# Each file once, with every matching entry.
			grep -qxF "$_tk $_to" "$work/svc_files_done" 2>/dev/null && continue
			echo "$_tk $_to" >>"$work/svc_files_done"
			"svc_$_tk" scan "$2" "$_to" | cut -f 3 >"$work/svc_conf.what"
			# Written in place: keeps the owner, mode and SELinux label. Never
			# through a hard link: that would change another file too.
			if [ "$(stat -c %h -- "$_to" 2>/dev/null)" != 1 ]; then
				echo "not written: $_to has more than one hard link (or none could be read)" >>"$work/svc_err"
				continue
			fi
			if ! { "svc_$_tk" off "$2" "$_to" >"$work/svc_conf.new" && cat "$work/svc_conf.new" >"$_to"; }; then
				echo "could not write $_to" >>"$work/svc_err"
				continue
			fi
			sed -e 's/ is on$/ turned off/' -e 's/ is on (/ turned off (/' "$work/svc_conf.what" >>"$work/svc_done"
			echo "$_tk" >>"$work/svc_stop"
			;;
		esac
	done <"$1"
	rm -f "$work/svc_files_done"
}

# svc_mask UNIT: disable (the links that want it, and aliases of it in /etc)
# and mask UNIT. Prints nothing; what failed goes to $work/svc_err.
svc_mask() {
	for _ml in /etc/systemd/system/*.wants/"$1" /etc/systemd/system/*.requires/"$1" /etc/systemd/system/*.upholds/"$1"; do
		[ -L "$_ml" ] && rm -f -- "$_ml"
	done
	for _ml in /etc/systemd/system/*; do
		if [ -L "$_ml" ] && [ "${_ml##*/}" != "$1" ]; then
			_mt=$(readlink "$_ml")
			[ "${_mt##*/}" = "$1" ] && rm -f -- "$_ml"
		fi
	done
	_mm=/etc/systemd/system/$1
	if [ -L "$_mm" ]; then
		# A link to the unit file elsewhere (linked, not installed).
		rm -f -- "$_mm"
	elif [ -e "$_mm" ]; then
		echo "$1 (a unit file of this image's own in /etc/systemd/system: remove it, or keep_services)" >>"$work/svc_err"
		return 1
	fi
	if ! ln -s /dev/null "$_mm" 2>/dev/null; then
		echo "$1 (could not mask it)" >>"$work/svc_err"
		return 1
	fi
}

# svc_stop_now: on a running machine, stop what was turned off (never a unit
# whose cgroup holds this session: that one stops at the next boot), and
# make an inetd or xinetd that stays read its entries again.
svc_stop_now() {
	: >"$work/svc_stopped"
	: >"$work/svc_later"
	[ -s "$work/svc_stop" ] || return 0
	if live_systemd; then
		systemctl daemon-reload >/dev/null 2>&1
		while IFS= read -r _st; do
			case $_st in
			inetd | xinetd)
				for _su in $(svc_super_names "$_st"); do
					systemctl try-reload-or-restart "$_su.service" >/dev/null 2>&1
				done
				continue
				;;
			*.*) ;;
			*) _st=$_st.service ;;
			esac
			systemctl is-active --quiet "$_st" 2>/dev/null || continue
			if awk -v u="/$_st/" 'index($0 "/", u) { f = 1 } END { exit !f }' /proc/self/cgroup 2>/dev/null; then
				echo "$_st" >>"$work/svc_later"
			elif systemctl stop "$_st" >/dev/null 2>&1; then
				echo "$_st" >>"$work/svc_stopped"
			else
				echo "$_st" >>"$work/svc_later"
			fi
		done <"$work/svc_stop"
		return 0
	fi
	# OpenRC and SysV init: the init script, as the runlevel change would.
	awk '!seen[$0]++' "$work/svc_stop" | while IFS= read -r _st; do
		case $_st in
		inetd | xinetd)
			for _su in $(svc_super_names "$_st"); do
				[ -x "/etc/init.d/$_su" ] && "/etc/init.d/$_su" reload >/dev/null 2>&1
			done
			;;
		*)
			[ -x "/etc/init.d/$_st" ] || continue
			if "/etc/init.d/$_st" stop >/dev/null 2>&1; then
				echo "$_st" >>"$work/svc_stopped"
			else
				echo "$_st" >>"$work/svc_later"
			fi
			;;
		esac
	done
}

# svc_stopped: the "; stopped now" part of the report.
svc_stopped() {
	[ -s "$work/svc_stopped" ] && printf '; stopped now: %s' "$(join <"$work/svc_stopped")"
	[ -s "$work/svc_later" ] && printf '; still running until the next boot: %s' "$(join <"$work/svc_later")"
	return 0
}

# services, inetd and xinetd: their configuration files, the entries that
# match a name, and turning them off (see services.sh).

# svc_inetd_files, svc_xinetd_files: the configuration files of inetd and
# xinetd, regular files only (no name here has a space: globs of fixed
# directories, whose entries the distributions name without one).
svc_inetd_files() {
	for _if in /etc/inetd.conf /etc/inetd.d/*; do
		[ -f "$_if" ] && [ ! -L "$_if" ] && printf '%s\n' "$_if"
	done
	return 0
}

svc_xinetd_files() {
	for _if in /etc/xinetd.d/*; do
		[ -f "$_if" ] && [ ! -L "$_if" ] && printf '%s\n' "$_if"
	done
	return 0
}

# svc_match: awk functions shared by the inetd and xinetd programs: the names
# from the first file, and whether a service or server matches one.
# shellcheck disable=SC2016 # awk code
svc_match='
FILENAME == ARGV[1] { if ($0 != "") { names[$0] = 1; prog[$0] = 1; prog["in." $0] = 1; prog[$0 "d"] = 1; prog["in." $0 "d"] = 1 }; next }
function base(p) { sub(/.*\//, "", p); return p }
function hit(svc, p1, p2) { sub(/.*:/, "", svc); return (svc in names) || (base(p1) in prog) || (base(p2) in prog) }
'

# svc_inetd MODE NAMES FILE: inetd entries of FILE. MODE scan: a scan line for
# each entry that is on and matches NAMES; off: FILE with those entries
# turned off, on stdout; on: every entry that is on, as
# SERVICE<TAB>PROTOCOL<TAB>SERVER.
svc_inetd() {
	awk -v mode="$1" -v file="$3" "$svc_match"'
		# An entry is on when it is not a comment: service, socket type,
		# protocol, wait, user, server, arguments (tcpd runs the server named
		# by the first argument).
		{ on = ($0 !~ /^[ \t]*(#|$)/) && NF >= 6 }
		mode == "on" { if (on) print $1 "\t" $3 "\t" ($6 ~ /tcpd$/ && NF >= 7 ? $7 : $6); next }
		mode == "scan" { if (on && hit($1, $6, $7)) print "inetd\t" file "\t" file ": " $1 " is on (" ($6 ~ /tcpd$/ && NF >= 7 ? $7 : $6) ")"; next }
		{ print ((on && hit($1, $6, $7)) ? "#<off># " $0 : $0) }
	' "$2" "$3"
}

# svc_xinetd MODE NAMES FILE: the same for the services of an xinetd file.
# A service matches by its name or its server (never by the file's name: a
# file may hold other services too); it is on
# unless it says disable = yes. off: such services get disable = yes (a
# disable line is changed, else one is added after the opening brace).
svc_xinetd() {
	awk -v mode="$1" -v file="$3" "$svc_match"'
		function flush(   i, match_, set) {
			if (!n) return
			match_ = svc != "" && hit(svc, server, "")
			if (mode == "scan" && match_ && !off) print "xinetd\t" file "\t" file ": service " svc " is on"
			if (mode == "on" && svc != "" && !off) print svc "\t" (proto != "" ? proto : (stype == "dgram" ? "udp" : "tcp")) "\t" port
			if (mode == "off") {
				for (i = 1; i <= n; i++) {
					if (match_ && !off && buf[i] ~ /^[ \t]*disable[ \t]*=/) { print "\tdisable = yes"; set = 1; continue }
					print buf[i]
					if (match_ && !off && !hasdis && !set && buf[i] ~ /{[ \t]*$/) { print "\tdisable = yes"; set = 1 }
				}
			}
			n = 0; svc = ""; server = ""; off = 0; hasdis = 0; proto = ""; stype = ""; port = ""
		}
		{ buf[++n] = $0 }
		$1 == "service" { svc = $2 }
		$1 == "server" && $2 == "=" { server = $3 }
		$1 == "protocol" && $2 == "=" { proto = $3 }
		$1 == "socket_type" && $2 == "=" { stype = $3 }
		$1 == "port" && $2 == "=" { port = $3 }
		$1 == "disable" { hasdis = 1; off = ($3 == "yes") }
		/^[ \t]*}/ || (svc == "" && n) { flush() }
		END { flush() }
	' "$2" "$3"
}

# svc_super_entries inetd|xinetd: the entries that are on, of all files.
svc_super_entries() {
	for _sf in $("svc_$1_files"); do
		"svc_$1" on /dev/null "$_sf"
	done
}

# svc_super_names inetd|xinetd: the names the daemon itself has.
svc_super_names() {
	case $1 in
	inetd) printf '%s\n' inetd openbsd-inetd inetutils-inetd ;;
	xinetd) printf '%s\n' xinetd ;;
	esac
}

# services, what the image listens on: the note every run of the step ends
# with (see services.sh).

# svc_known: enabled services known to be network daemons, and the ports
# they usually listen on. Unit files do not say which ports a daemon opens:
# these are named with their usual ports; others are not guessed at.
svc_known='apache2 httpd nginx lighttpd caddy:80/tcp 443/tcp
vsftpd proftpd pure-ftpd:21/tcp
tftpd-hpa atftpd in.tftpd tftp:69/udp
telnetd:23/tcp
rpcbind portmap:111/tcp 111/udp
ypserv ypbind yppasswdd ypxfrd nis:RPC ports from rpcbind
nfs-server nfs-kernel-server:2049/tcp
smbd smb samba:139/tcp 445/tcp
nmbd nmb:137/udp 138/udp
postfix exim4 sendmail:25/tcp
dovecot:110/tcp 143/tcp 993/tcp 995/tcp
mysql mariadb mysqld:3306/tcp
postgresql:5432/tcp
named bind9:53/tcp 53/udp
dnsmasq:53/tcp 53/udp
ntp ntpd ntpsec:123/udp
cups cupsd:631/tcp
avahi-daemon:5353/udp
snmpd:161/udp
xrdp:3389/tcp
rsync:873/tcp
redis-server redis:6379/tcp
memcached:11211/tcp
slapd:389/tcp
squid:3128/tcp
isc-dhcp-server dhcpd:67/udp
openvpn:1194/udp'

# svc_enabled: the services and sockets started at boot, one a line: systemd
# units (wanted by some unit, not masked, and those systemd makes from init
# scripts with start links), else OpenRC's or SysV init's scripts.
svc_enabled() {
	if has_systemd; then
		{
			for _el in /etc/systemd/system/*.wants/* /etc/systemd/system/*.requires/* \
				/usr/lib/systemd/system/*.wants/* /lib/systemd/system/*.wants/*; do
				[ -L "$_el" ] || [ -f "$_el" ] || continue
				_eu=${_el##*/}
				[ -L "/etc/systemd/system/$_eu" ] && svc_masked "$_eu" && continue
				printf '%s\n' "$_eu"
			done
			for _el in /etc/rc[2-5].d/S[0-9][0-9]*; do
				[ -L "$_el" ] || [ -f "$_el" ] || continue
				_eu=${_el##*/}
				_eu=${_eu#S[0-9][0-9]}.service
				unit_file "$_eu" >/dev/null && continue
				[ -L "/etc/systemd/system/$_eu" ] && svc_masked "$_eu" && continue
				[ -f "/etc/init.d/${_eu%.service}" ] && printf '%s\n' "$_eu"
			done
		} | awk '!seen[$0]++'
	elif [ -d /etc/runlevels ]; then
		for _el in /etc/runlevels/*/*; do
			[ -L "$_el" ] || [ -f "$_el" ] && printf '%s\n' "${_el##*/}"
		done | awk '!seen[$0]++'
	else
		for _el in /etc/rc[2-5].d/S[0-9][0-9]* /etc/rc.d/rc[2-5].d/S[0-9][0-9]*; do
			[ -L "$_el" ] || [ -f "$_el" ] || continue
			_eu=${_el##*/}
			printf '%s\n' "${_eu#S[0-9][0-9]}"
		done | awk '!seen[$0]++'
	fi
}

# svc_listens: what the image listens on at boot, one item a line.
svc_listens() {
	svc_enabled >"$work/svc_enabled"
	: >"$work/svc_other"
	while IFS= read -r _lu; do
		_lb=${_lu%.service}
		case $_lu in
		*.socket)
			_lf=$(unit_file "$_lu") || continue
			# Its drop-ins, in name order (a glob sorts): no ls.
			set --
			for _ld in /etc/systemd/system/"$_lu".d/*.conf; do
				[ -e "$_ld" ] && set -- "$@" "$_ld"
			done
			_lp=$(svc_socket_ports "$_lf" "$@")
			[ -n "$_lp" ] && printf '%s (%s)\n' "$_lu" "$_lp"
			;;
		ssh.service | sshd.service | ssh | sshd)
			printf '%s (%s)\n' "$_lu" "$(svc_sshd_ports)"
			;;
		inetd* | openbsd-inetd* | inetutils-inetd*)
			svc_super_entries inetd >"$work/svc_entries"
			svc_entry_ports "$_lu" "$work/svc_entries"
			;;
		xinetd*)
			svc_super_entries xinetd >"$work/svc_entries"
			svc_entry_ports "$_lu" "$work/svc_entries"
			;;
		*) printf '%s\n' "$_lu" >>"$work/svc_other" ;;
		esac
	done <"$work/svc_enabled"
	# The others: those of svc_known, with their usual ports.
	printf '%s\n' "$svc_known" | awk -F : '
		FILENAME == "-" { n = split($1, w, " "); for (i = 1; i <= n; i++) port[w[i]] = $2; next }
		{ b = $0; sub(/[.]service$/, "", b); sub(/@.*/, "", b); if (b in port) print $0 " (usually " port[b] ")" }
	' - "$work/svc_other"
}

# svc_socket_ports FILE...: the network addresses of a socket unit (and its
# drop-ins), as PORT/PROTOCOL [on ADDRESS]; paths and abstract sockets are
# the machine's own. An empty Listen line drops the earlier ones.
svc_socket_ports() {
	awk '
		/^[ \t]*Listen(Stream|Datagram)[ \t]*=/ {
			k = $0; sub(/^[ \t]*/, "", k); sub(/[ \t]*=.*/, "", k)
			v = $0; sub(/^[^=]*=[ \t]*/, "", v); sub(/[ \t]*$/, "", v)
			if (v == "") { n = 0; next }
			p = (k == "ListenDatagram") ? "udp" : "tcp"
			if (v ~ /^[0-9]+$/) out[++n] = v "/" p
			else if (v ~ /^([0-9.]+|\[[0-9a-fA-F:.%a-z]*\]):[0-9]+$/) {
				port = v; sub(/.*:/, "", port); a = v; sub(/:[0-9]+$/, "", a)
				out[++n] = port "/" p ((a == "0.0.0.0" || a == "[::]") ? "" : " on " a)
			}
		}
		END { for (i = 1; i <= n; i++) s = s (i > 1 ? ", " : "") out[i]; print s }
	' "$@"
}

# svc_sshd_ports: sshd's ports and addresses, from sshd -T.
svc_sshd_ports() {
	if ! { sshd_ready && sshd_known; }; then
		echo "ports unknown: sshd -T failed"
		return
	fi
	awk '
		$1 == "port" { port[$2] = 1 }
		$1 == "listenaddress" {
			a = $2; p = a; sub(/.*:/, "", p); sub(/:[0-9]+$/, "", a)
			if (a == "0.0.0.0" || a == "[::]") wild[p] = 1; else addr[p] = addr[p] (addr[p] != "" ? " " : "") a
		}
		END {
			for (p in port) if (!(p in wild) && !(p in addr)) wild[p] = 1
			for (p in wild) s = s (s != "" ? ", " : "") p "/tcp"
			for (p in addr) if (!(p in wild)) s = s (s != "" ? ", " : "") p "/tcp on " addr[p]
			print s
		}' "$work/sshd_after"
}

# svc_entry_ports DAEMON ENTRIES: "DAEMON: SERVICE (PORT/PROTOCOL)" for each
# entry that is on, the port from /etc/services where the entry names a
# service (a few are known without it: an image may lack netbase).
svc_entry_ports() {
	_es=/dev/null
	[ -r /etc/services ] && _es=/etc/services
	awk -F '\t' -v d="$1" '
		BEGIN {
			split("ftp 21 telnet 23 tftp 69 exec 512 login 513 shell 514 daytime 13 echo 7 discard 9 time 37 finger 79", k, " ")
			for (i = 1; i < 24; i += 2) { ports[k[i] "/tcp"] = k[i + 1] "/tcp"; ports[k[i] "/udp"] = k[i + 1] "/udp" }
		}
		FILENAME != ARGV[2] { split($0, f, /[ \t]+/); if (f[2] ~ /\//) ports[f[1] "/" substr(f[2], index(f[2], "/") + 1)] = f[2]; next }
		{
			s = $1; sub(/.*:/, "", s); p = $2; sub(/[46]$/, "", p)
			if ($3 ~ /^[0-9]+$/) pp = $3 "/" p
			else if (s ~ /^[0-9]+$/) pp = s "/" p
			else pp = ((s "/" p) in ports) ? ports[s "/" p] : p
			print d ": " s " (" pp ")"
		}' "$_es" "$2"
}

# svc_listening_now: on a running machine, the TCP and UDP sockets that
# listen now, with their processes. Only sockets of processes this machine
# shows count: a container may share its host's network, whose sockets are
# not the image's.
svc_listening_now() {
	# shellcheck disable=SC2012 # /proc/PID/fd: names are numbers; one ls for all processes
	ls -l /proc/[0-9]*/fd 2>/dev/null | awk '
		/^\/proc\/[0-9]+\/fd:$/ { pid = $0; sub(/^\/proc\//, "", pid); sub(/\/fd:$/, "", pid); next }
		/socket:\[/ { i = $NF; gsub(/[^0-9]/, "", i); if (!(i in owner)) owner[i] = pid }
		END { for (i in owner) print "inode", i, owner[i] }
	' >"$work/svc_inodes"
	awk '
		function hex(s,   i, n) { n = 0; s = toupper(s); for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789ABCDEF", substr(s, i, 1)) - 1; return n }
		FILENAME ~ /svc_inodes$/ { pid[$2] = $3; next }
		FNR == 1 { proto = FILENAME; sub(/.*\//, "", proto); sub(/6$/, "", proto); next }
		{
			if (proto == "tcp" && $4 != "0A") next
			if (proto == "udp" && ($4 != "07" || $3 !~ /^0+:0000$/)) next
			if (!($10 in pid)) next
			split($2, a, ":"); port = hex(a[2]); ad = a[1]
			if (ad ~ /^0+$/) where = ""
			else if (ad == "0100007F" || ad == "00000000000000000000000001000000" || ad ~ /7F$/ && length(ad) == 8) where = " on loopback"
			else if (length(ad) == 8) where = " on " hex(substr(ad, 7, 2)) "." hex(substr(ad, 5, 2)) "." hex(substr(ad, 3, 2)) "." hex(substr(ad, 1, 2))
			else where = " on an IPv6 address"
			c = ""; f = "/proc/" pid[$10] "/comm"; if ((getline c < f) > 0) close(f)
			k = port "/" proto where (c != "" ? " (" c ")" : "")
			if (!(k in seen)) { seen[k] = 1; print k }
		}
	' "$work/svc_inodes" /proc/net/tcp /proc/net/tcp6 /proc/net/udp /proc/net/udp6 2>/dev/null
}

# svc_listen_note: the one line that says what the image listens on.
svc_listen_note() {
	svc_listens >"$work/svc_listens"
	_ln="listens at boot: $(join <"$work/svc_listens")"
	[ -s "$work/svc_listens" ] || _ln="listens at boot: nothing found (enabled socket units, sshd, inetd, xinetd and known network daemons)"
	if live_machine; then
		svc_listening_now >"$work/svc_now"
		if [ -s "$work/svc_now" ]; then
			_ln="$_ln; listening now: $(join <"$work/svc_now")"
		else
			_ln="$_ln; listening now: nothing"
		fi
	fi
	note services "$_ln"
}

# passwords: no password works, and no password hash stays in the image: not
# in /etc/shadow, not in its backups (shadow-, gshadow-, /var/backups/*.bak),
# not in the disk blocks of an old copy. The password field of an account
# with a usable (or empty) password becomes "*": no password hashes to it,
# and it is not a lock in sshd's eyes. OpenSSH on Linux refuses even key
# logins to an account whose field starts with "!" when it does not use PAM
# (UsePAM no, or an sshd built without PAM as on Alpine), so "!" (what
# passwd -l writes) could give an image no one logs in to; "*" keeps key
# logins working in every case. An account someone locked ("!" and a hash)
# keeps its "!" and loses the hash. keep_users are left alone.
# /etc/shadow and /etc/gshadow are rewritten in place, so that the blocks
# that held the hashes are the ones written over (chpasswd would write a new
# file and free the old one's blocks, hashes and all).
# The step changes nothing unless it can read what sshd will really do.
step_passwords() {
	[ -r /etc/shadow ] || { report passwords failed "/etc/shadow cannot be read"; return; }
	_pam=unknown
	if sshd_ready; then
		if ! sshd_known; then
			report passwords failed "could not read sshd's effective configuration (sshd -T failed: $(head -n 3 "$work/sshd_err")), so it is not known whether key logins would survive; no password was changed: fix sshd's configuration or skip this step"
			return
		fi
		_pam=$(awk '$1 == "usepam" { print $2 }' "$work/sshd_after")
	fi
	# usable: a field that does not start with ! or * (an empty one too);
	# hashed: a locked field that still holds a hash ("!$6$...").
	awk -F: -v list="$work/" 'FILENAME == ARGV[1] { if ($0 != "") keep[$0] = 1; next }
		NF < 2 { next }
		($1 in keep) { print $1 > (list "kept"); next }
		$2 !~ /^[!*]/ { print $1 > (list "unlocked"); next }
		$2 !~ /^[!*]*$/ { print $1 > (list "hashed") }' "$work/keep_users" /etc/shadow
	touch "$work/kept" "$work/unlocked" "$work/hashed"
	set --
	for _b in /etc/shadow- /etc/gshadow- /var/backups/shadow.bak /var/backups/gshadow.bak \
		/var/backups/passwd.bak /var/backups/group.bak; do
		[ -e "$_b" ] || [ -L "$_b" ] && set -- "$@" "$_b"
	done
	_ghash=""
	[ -r /etc/gshadow ] && awk -F: 'NF > 1 && $2 !~ /^[!*]*$/ { f = 1 } END { exit !f }' /etc/gshadow && _ghash=1
	if [ "$audit" ]; then
		findings_from passwords "$work/unlocked" '%s has a usable or empty password'
		findings_from passwords "$work/hashed" "%s is locked, but its password hash is still in /etc/shadow"
		[ "$_ghash" ] && finding passwords "/etc/gshadow holds a group password hash"
		for _b; do finding passwords "$_b exists (a copy of the account files)"; done
		audit_result passwords "no account has a usable or empty password, and no hash is kept$(kept_text)"
		return
	fi
	locked_out_note "$_pam"
	if [ ! -s "$work/unlocked" ] && [ ! -s "$work/hashed" ] && [ -z "$_ghash" ] && [ $# -eq 0 ]; then
		report passwords ok "no account has a usable or empty password, and no hash is kept$(kept_text)"
		return
	fi
	# The new fields: * for usable passwords, ! or * (as it was) for locked
	# ones, without their hashes; group passwords become !.
	awk -F: -v OFS=: 'FILENAME == ARGV[1] { if ($0 != "") keep[$0] = 1; next }
		NF < 2 || ($1 in keep) { print; next }
		$2 !~ /^[!*]/ { $2 = "*"; print; next }
		$2 !~ /^[!*]*$/ { $2 = substr($2, 1, 1) }
		{ print }' "$work/keep_users" /etc/shadow >"$work/shadow.new"
	if ! rewrite_in_place /etc/shadow "$work/shadow.new"; then
		report passwords failed "could not rewrite /etc/shadow in place; no password was changed"
		return
	fi
	if [ "$_ghash" ]; then
		awk -F: -v OFS=: 'NF > 1 && $2 !~ /^[!*]*$/ { $2 = "!" } { print }' /etc/gshadow >"$work/gshadow.new"
		rewrite_in_place /etc/gshadow "$work/gshadow.new" ||
			{ report passwords failed "could not rewrite /etc/gshadow in place"; return; }
	fi
	# The scratch copies hold the hashes that stay (keep_users), and /run
	# may be on the image's disk in a chroot build.
	overwrite_files 0:0 "$work/hard" files "$work/shadow.new" "$work/gshadow.new" 2>/dev/null
	wipe_start passwords
	take_files 0:0 "$@"
	awk -F: 'FILENAME == ARGV[1] { if ($0 != "") keep[$0] = 1; next }
		NF > 1 && !($1 in keep) && $2 !~ /^[!*]*$/ { print $1 }' "$work/keep_users" /etc/shadow >"$work/still"
	for _b; do [ -e "$_b" ] && printf '%s\n' "$_b"; done >>"$work/still"
	if [ -s "$work/still" ]; then
		report passwords failed "still holding a password or a hash: $(join <"$work/still")"
		return
	fi
	_did=""
	[ -s "$work/unlocked" ] && _did="no password works for $(join <"$work/unlocked") (password field *; key logins unaffected, UsePAM ${_pam:-absent: sshd without PAM})"
	[ -s "$work/hashed" ] && _did="${_did:+$_did; }removed the hashes of locked $(join <"$work/hashed")"
	[ "$_ghash" ] && _did="${_did:+$_did; }removed the group password hashes"
	[ $# -gt 0 ] && _did="${_did:+$_did; }overwrote and removed $(printf '%s\n' "$@" | join)"
	report passwords changed "$_did$(kept_text)"
}

# kept_text: "; kept ... (keep_users)" when some account was left alone.
kept_text() {
	[ -s "$work/kept" ] && printf '; kept the password of %s (keep_users)' "$(join <"$work/kept")"
	return 0
}

# rewrite_in_place FILE NEW: give FILE the contents of NEW (no longer than
# FILE) in the same inode and blocks: NEW over the start, zeros over the
# rest, flushed to the disk, then the rest cut off. The file's owner, mode
# and SELinux label stay; no copy of the old contents is left anywhere.
# (On a copy-on-write file system the old blocks are freed anyway.)
rewrite_in_place() {
	_rp_old=$(wc -c <"$1") && _rp_new=$(wc -c <"$2") || return 1
	[ -s "$2" ] && [ "$_rp_new" -le "$_rp_old" ] || return 1
	# conv=fsync flushes this file only: a global sync would wait for every
	# other write on the machine.
	{ cat "$2" && head -c $((_rp_old - _rp_new)) /dev/zero; } | dd of="$1" conv=notrunc,fsync 2>/dev/null || return 1
	truncate -s "$_rp_new" "$1"
}

# locked_out_note USEPAM: without PAM, sshd refuses key logins to accounts
# whose password field starts with "!": say which login accounts are in that
# state already (this step does not unlock what someone locked on purpose).
locked_out_note() {
	[ "$1" = no ] || [ -z "$1" ] || return 0
	awk -F: -v no_login="$no_login" 'NR == FNR { if ($7 !~ no_login) login[$1] = 1; next }
		$2 ~ /^!/ && login[$1] { print $1 }' "$work/passwd" /etc/shadow >"$work/bang"
	[ -s "$work/bang" ] || return 0
	note passwords "sshd does not use PAM here, so it refuses even key logins to $(join <"$work/bang"), whose password field starts with ! (set it to * with usermod -p '*' to allow key logins)"
}

# host-keys: no two instances of the image may share host keys. The keys go,
# but only once the image is sure to make new ones before sshd starts, the
# way its init system starts sshd:
#   - RHEL, Fedora, Amazon Linux: the distribution's sshd-keygen@.service runs
#     before sshd.service whenever a key is missing (and sets the ssh_keys
#     group and SELinux labels): ami-harden steps aside, so no second
#     ssh-keygen races it for the same file;
#   - other systemd images (Debian, Ubuntu with ssh.socket or ssh.service):
#     ami-harden-host-keys.service runs ssh-keygen -A early in boot, before
#     sysinit.target, so before every socket and service that starts sshd,
#     with no ordering cycle (it has no default dependencies);
#   - OpenRC (Alpine): /etc/init.d/sshd runs ssh-keygen -A before sshd;
#   - cloud-init alone, on images with neither.
step_host_keys() {
	wipe_start host-keys
	if [ "$audit" ]; then
		find /etc/ssh -maxdepth 1 -name 'ssh_host_*' \( -type f -o -type l \) >"$work/host_keys"
		findings_from host-keys "$work/host_keys" '%s exists'
		_how=$(host_key_maker check) || finding host-keys "$_how"
		audit_result host-keys "no host keys in the image; new keys at first boot by $_how"
		return
	fi
	if ! _how=$(host_key_maker arrange); then
		report host-keys failed "$_how; no host key was removed"
		return
	fi
	set --
	for _f in /etc/ssh/ssh_host_*; do
		[ -e "$_f" ] || [ -L "$_f" ] || continue
		set -- "$@" "$_f"
	done
	take_files 0:0 "$@"
	_n=$#
	for _f in /etc/ssh/ssh_host_*; do
		[ -e "$_f" ] || [ -L "$_f" ] || continue
		report host-keys failed "could not remove $_f"
		return
	done
	if [ -s "$refused" ]; then
		report host-keys failed "$(join <"$refused")"
	elif [ "$_n" -gt 0 ]; then
		report host-keys changed "overwrote and removed $_n host key file(s); new keys at first boot by $_how"
	else
		report host-keys ok "no host keys in the image; new keys at first boot by $_how"
	fi
}

# rhel_keygen: the distribution's sshd-keygen@.service, when it will make
# missing keys before sshd.service on every boot: sshd.service wants
# sshd-keygen.target, and the unit has no ConditionFirstBoot (which an empty
# /etc/machine-id, the image state, never satisfies).
rhel_keygen() {
	_t=$(unit_file sshd-keygen@.service) || return 1
	grep -qs '^ConditionFirstBoot=yes' "$_t" && return 1
	_s=$(unit_file sshd.service) || return 1
	cat "$_s" "${_s%/*}"/sshd.service.d/*.conf /etc/systemd/system/sshd.service.d/*.conf 2>/dev/null |
		grep -Eq '^(Wants|Requires|After)=.*sshd-keygen[.]target' || return 1
	printf '%s\n' "$_t"
}

# openrc_keygen: Alpine's /etc/init.d/sshd runs ssh-keygen (-A) in its
# start_pre, before it starts sshd, unless /etc/conf.d/sshd sets
# sshd_disable_keygen (or the older SSHD_DISABLE_KEYGEN).
openrc_keygen() {
	[ -f /etc/init.d/sshd ] || return 1
	head -n 1 /etc/init.d/sshd | grep -q openrc-run || return 1
	grep -q 'ssh-keygen' /etc/init.d/sshd || return 1
	! grep -Eiqs '^[[:space:]]*(sshd_disable_keygen|SSHD_DISABLE_KEYGEN)=["'\'']?(yes|true|on|1)' /etc/conf.d/sshd
}

# host_key_maker check|arrange: print what makes new host keys at first
# boot, before sshd starts, or why nothing does (and fail). "arrange" also
# makes it so: it installs ami-harden-host-keys.service where that is the
# way, and removes an earlier one where the distribution's own unit would
# race it. Audit mode only checks.
host_key_maker() {
	if [ "$1" = arrange ] && ! command -v ssh-keygen >/dev/null 2>&1; then
		echo "ssh-keygen is not installed, so nothing could make new host keys"
		return 1
	fi
	if has_systemd; then
		if _t=$(rhel_keygen); then
			# Two ssh-keygen runs would race for the same key file.
			if [ "$1" = arrange ] && ! remove_host_key_unit; then
				echo "could not remove ami-harden-host-keys.service, which would race ${_t##*/}"
				return 1
			fi
			echo "the distribution's ${_t##*/} (before sshd.service, when a key is missing)"
			return 0
		fi
		if [ "$1" = arrange ]; then
			install_host_key_unit || return 1
		fi
		if [ -f /etc/systemd/system/ami-harden-host-keys.service ] &&
			[ -L /etc/systemd/system/sysinit.target.wants/ami-harden-host-keys.service ]; then
			echo "ami-harden-host-keys.service (ssh-keygen -A early in boot, before sshd)$(other_host_key_makers)"
			return 0
		fi
	elif openrc_keygen; then
		echo "the distribution's /etc/init.d/sshd (ssh-keygen -A before sshd starts)"
		return 0
	fi
	if command -v cloud-init >/dev/null 2>&1; then
		echo "cloud-init, when it finds its data source"
		return 0
	fi
	echo "nothing makes new host keys at first boot (no ami-harden-host-keys.service, no sshd-keygen@.service before sshd, no OpenRC sshd that runs ssh-keygen -A, no cloud-init): add a boot script that runs ssh-keygen -A before sshd starts"
	return 1
}

# other_host_key_makers: ", besides ..." for what else makes host keys.
other_host_key_makers() {
	command -v cloud-init >/dev/null 2>&1 && printf ', besides cloud-init'
	_u=$(unit_file sshd-keygen.service) && printf ", besides the distribution's %s" "${_u##*/}"
	return 0
}

# install_host_key_unit: a small unit that runs ssh-keygen -A at every boot
# (it makes only the keys that are missing). No default dependencies: with
# them it would come after basic.target, which comes after sockets.target,
# and Ubuntu's ssh.socket is ordered before sockets.target: a cycle that
# systemd breaks by dropping a unit, on one boot ssh.socket itself. Instead
# it runs once local file systems are mounted, before sysinit.target, which
# every socket and service that starts sshd comes after.
install_host_key_unit() {
	cat >"$work/unit" <<UNIT
# Installed by ami-harden: the image was shared without SSH host keys, so each
# instance makes its own on first boot, before anything starts sshd.
[Unit]
Description=Generate missing SSH host keys (ami-harden)
DefaultDependencies=no
After=local-fs.target
Before=sysinit.target ssh.socket ssh.service sshd.socket sshd.service shutdown.target
Conflicts=shutdown.target

[Service]
Type=oneshot
ExecStart=$(command -v ssh-keygen) -A

[Install]
WantedBy=sysinit.target
UNIT
	# Links of earlier versions (wanted by multi-user.target) go.
	rm -f /etc/systemd/system/multi-user.target.wants/ami-harden-host-keys.service \
		/etc/systemd/system/ssh.service.wants/ami-harden-host-keys.service \
		/etc/systemd/system/sshd.service.wants/ami-harden-host-keys.service
	install_unit "$work/unit" ami-harden-host-keys.service sysinit.target
}

# remove_host_key_unit: take back what install_host_key_unit did.
remove_host_key_unit() {
	rm -f /etc/systemd/system/ami-harden-host-keys.service \
		/etc/systemd/system/*.wants/ami-harden-host-keys.service
}

# user-keys: nobody's keys ship in the image; instances get theirs at launch.
# Besides ~/.ssh, the files that sshd's AuthorizedKeysFile names, in every
# home (a relative pattern) or for every account (/etc/ssh/authorized_keys/%u).
#
# The files taken in every home, relative to it (a * only in the last part);
# sshd's relative AuthorizedKeysFile patterns are added at run time.
# shellcheck disable=SC2034 # read through home_files, by name
home_files_user_keys='.ssh/authorized_keys .ssh/authorized_keys2 .ssh/id_* .ssh/*.pem .ssh/*.key .ssh/*.ppk
.ssh/known_hosts .ssh/known_hosts.old .ssh/config'

step_user_keys() {
	if ! authorized_keys_patterns; then
		: >"$work/user-keys.skip"
		report user-keys failed "could not read sshd's AuthorizedKeysFile (sshd -T failed: $(head -n 3 "$work/sshd_err")); no key was removed"
		return
	fi
	[ -s "$work/user_keys_files" ] && home_files_user_keys="$home_files_user_keys $(cat "$work/user_keys_files")"
	# The homes of keep_users keep their keys.
	awk -F: 'FILENAME == ARGV[1] { if ($0 != "") keep[$0] = 1; next } ($1 in keep) { print $6 }' \
		"$work/keep_users" "$work/passwd" | while IFS= read -r _kh; do
		[ -d "$_kh" ] && printf 'user-keys\t%s\n' "$(readlink -f -- "$_kh")"
	done >>"$work/homes.kept"
	homes_pass
	use_lists user-keys
	# Patterns for every account: each account's own file, as sshd finds it.
	if [ -s "$work/user_keys_accounts" ]; then
		mnt=1
		while IFS=: read -r _user _x _uid _gid _gecos _home _shell; do
			grep -qxF -- "$_user" "$work/keep_users" && continue
			while IFS= read -r _pat; do
				_f=$(expand_keys_pattern "$_pat" "$_user" "$_uid" "$_home")
				case $_f in /?*) ;; *) continue ;; esac
				check_path "" "${_f#/}" || continue
				[ -L "$_f" ] || [ -e "$_f" ] || continue
				if [ -d "$_f" ] && [ ! -L "$_f" ]; then
					refuse "not touched: $(show "$_f") (AuthorizedKeysFile of $_user) is a directory"
					continue
				fi
				take_files "$(controller "$_f")" "$_f"
			done <"$work/user_keys_accounts"
		done <"$work/passwd"
	fi
	grep -v '^$' "$work/keep_users" >"$work/kept_keys"
	[ -s "$work/kept_keys" ] && note user-keys "kept the keys of $(join <"$work/kept_keys") (keep_users)"
	check_key_installer
	finish_wipe user-keys "$ki_fail"
}

# authorized_keys_patterns: the AuthorizedKeysFile patterns sshd uses, beyond
# the two defaults: relative ones (the same in every home) go to
# $work/user_keys_files, the others (absolute, or naming the user) to
# $work/user_keys_accounts. False when sshd is there but cannot say.
authorized_keys_patterns() {
	: >"$work/user_keys_files"
	: >"$work/user_keys_accounts"
	sshd_ready || return 0
	sshd_known || return 1
	awk '$1 == "authorizedkeysfile" { for (i = 2; i <= NF; i++) print $i }' "$work/sshd_after" |
		while IFS= read -r _p; do
			case $_p in
			.ssh/authorized_keys | .ssh/authorized_keys2 | %h/.ssh/authorized_keys | %h/.ssh/authorized_keys2 | none) ;;
			%h/*%*) printf '%s\n' "$_p" >>"$work/user_keys_accounts" ;;
			%h/*) printf '%s\n' "${_p#%h/}" >>"$work/user_keys_files" ;;
			/* | *%*) printf '%s\n' "$_p" >>"$work/user_keys_accounts" ;;
			*) printf '%s\n' "$_p" >>"$work/user_keys_files" ;;
			esac
		done
	return 0
}

# expand_keys_pattern PATTERN USER UID HOME: the file sshd reads for USER
# (sshd_config(5), TOKENS: %% %h %U %u; a relative path is below HOME).
expand_keys_pattern() {
	awk -v p="$1" -v u="$2" -v id="$3" -v h="$4" 'BEGIN {
		out = ""
		for (i = 1; i <= length(p); i++) {
			c = substr(p, i, 1)
			if (c != "%" || i == length(p)) { out = out c; continue }
			t = substr(p, ++i, 1)
			if (t == "%") out = out "%"; else if (t == "h") out = out h; else if (t == "u") out = out u
			else if (t == "U") out = out id; else { print ""; exit }
		}
		if (out !~ /^\//) out = h "/" out
		print out
	}'
}

# home_more_user_keys HOME TAKEN...: (for homes_pass) the files of
# HOME/.ssh that no pattern took (TAKEN) and that hold a private key (PEM,
# OpenSSH or PuTTY), whatever their names, one a line. Read as root,
# changing nothing; a grep only for homes with such files.
home_more_user_keys() {
	_ok_dir=$1/.ssh
	shift
	[ -d "$_ok_dir" ] && [ ! -L "$_ok_dir" ] || return 0
	_ok_n=$#
	for _ok_f in "$_ok_dir"/* "$_ok_dir"/.[!.]*; do
		if [ ! -f "$_ok_f" ] || [ -L "$_ok_f" ]; then continue; fi
		case $_ok_f in *"$nl"*) continue ;; esac
		_ok_i=0
		for _ok_t; do
			_ok_i=$((_ok_i + 1))
			[ "$_ok_i" -le "$_ok_n" ] || break
			[ "$_ok_t" = "$_ok_f" ] && continue 2
		done
		set -- "$@" "$_ok_f"
	done
	# The candidates follow TAKEN in the arguments.
	shift "$_ok_n"
	[ $# -gt 0 ] || return 0
	grep -l -E -e '-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY-----' -e '^PuTTY-User-Key-File-' -- "$@" 2>/dev/null
}

# user-keys, who can log in afterwards: the step removes every key, which is
# right, and an image whose instances get no key at launch is one nobody can
# reach (hashicorp/packer#185, #3416). Something must install the launch key
# at first boot, or a key of keep_users must stay.

# key_installer: prints what will let someone log in to an instance, one
# line; prints nothing when nothing will.
key_installer() {
	# A key that stays: keep_users' own authorized keys.
	awk -F: 'FILENAME == ARGV[1] { if ($0 != "") keep[$0] = 1; next } ($1 in keep) { print $1 ":" $6 }' \
		"$work/keep_users" "$work/passwd" | while IFS=: read -r _ki_u _ki_h; do
		for _ki_f in "$_ki_h/.ssh/authorized_keys" "$_ki_h/.ssh/authorized_keys2"; do
			if [ -f "$_ki_f" ] && [ ! -L "$_ki_f" ] && grep -q '^[^#]' "$_ki_f" 2>/dev/null; then
				echo "the authorized keys of $_ki_u (keep_users)"
				return 0
			fi
		done
	done | head -n 1 | grep . && return 0
	# sshd asks a program for the keys at each login: EC2 Instance Connect
	# (eic_run_authorized_keys), or a directory service.
	if sshd_ready && sshd_known; then
		_ki_cmd=$(awk '$1 == "authorizedkeyscommand" && $2 != "none" { $1 = ""; sub(/^ /, ""); print; exit }' "$work/sshd_after")
		if [ -n "$_ki_cmd" ]; then
			case $_ki_cmd in
			*eic_run_authorized_keys*) echo "EC2 Instance Connect (sshd's AuthorizedKeysCommand $_ki_cmd)" ;;
			*) echo "sshd's AuthorizedKeysCommand $_ki_cmd" ;;
			esac
			return 0
		fi
	fi
	# The clouds' guest agents write the launch key into the user's home.
	if [ -x /usr/bin/google_guest_agent ] && boot_service_enabled google-guest-agent; then
		echo "google-guest-agent"
		return 0
	fi
	for _ki_s in walinuxagent waagent; do
		if { [ -x /usr/sbin/waagent ] || [ -x /usr/bin/waagent ]; } && boot_service_enabled "$_ki_s"; then
			echo "WALinuxAgent ($_ki_s)"
			return 0
		fi
	done
	# cloud-init: installed, not disabled, started at boot, with some
	# datasource to get the key from.
	_ki_why=$(cloud_init_installs_keys) && { echo "cloud-init ($_ki_why)"; return 0; }
	[ -n "$_ki_why" ] && printf '%s\n' "$_ki_why" >"$work/key_installer.why"
	return 0
}

# boot_service_enabled NAME: whether the image starts the service NAME at
# boot: a wanted systemd unit, or an OpenRC runlevel entry.
boot_service_enabled() {
	unit_enabled "$1.service" && return 0
	for _bs in /etc/runlevels/*/"$1"; do
		[ -e "$_bs" ] && return 0
	done
	return 1
}

# cloud_init_installs_keys: true, with the datasources printed, when
# cloud-init will run at the next boot with a datasource other than None;
# false, with the reason printed, when it is there but will not.
cloud_init_installs_keys() {
	command -v cloud-init >/dev/null 2>&1 || [ -x /usr/bin/cloud-init ] || return 1
	if [ -e /etc/cloud/cloud-init.disabled ]; then
		echo "cloud-init is disabled by /etc/cloud/cloud-init.disabled"
		return 1
	fi
	# cloud-init 24.3 and later start from cloud-init-main.service; earlier
	# ones from cloud-init-local.service and cloud-init.service.
	if has_systemd; then
		if ! boot_service_enabled cloud-init-main && ! boot_service_enabled cloud-init-local &&
			! boot_service_enabled cloud-init; then
			echo "cloud-init is installed but no cloud-init unit is enabled"
			return 1
		fi
	elif ! boot_service_enabled cloud-init && ! boot_service_enabled cloud-init-local; then
		echo "cloud-init is installed but not in any runlevel"
		return 1
	fi
	# datasource_list: the last file that sets it wins (cloud.cfg, then
	# cloud.cfg.d/*.cfg in name order); flow ([ A, B ]) or block (- A)
	# style. Not set anywhere: cloud-init tries every datasource it has.
	# shellcheck disable=SC2016 # awk's program
	_ki_ds=$(for _ki_c in /etc/cloud/cloud.cfg /etc/cloud/cloud.cfg.d/*.cfg; do
		[ -f "$_ki_c" ] && printf '%s\n' "$_ki_c"
	done | tr '\n' '\0' | xargs -0 -r awk '
		FNR == 1 { block = 0 }
		/^datasource_list[ \t]*:/ {
			v = $0; sub(/^datasource_list[ \t]*:[ \t]*/, "", v); sub(/[ \t]*#.*/, "", v)
			if (v == "") { list = ""; block = 1; next }
			gsub(/[][ \t"'"'"']/, "", v); gsub(/,/, " ", v); list = v; set = 1; block = 0; next
		}
		block && /^[ \t]*-[ \t]*/ { v = $0; sub(/^[ \t]*-[ \t]*/, "", v); sub(/[ \t]*#.*/, "", v); gsub(/["'"'"']/, "", v); list = list " " v; set = 1; next }
		block && /^[^ \t#]/ { block = 0 }
		END { if (!set) print "*"; else print list }')
	# No configuration file at all: cloud-init's built-in list, every one.
	if [ -z "$_ki_ds" ] || [ "$_ki_ds" = "*" ]; then
		echo "every datasource it has"
		return 0
	fi
	_ki_real=$(printf '%s\n' "$_ki_ds" | tr ' ' '\n' | grep -v -x -e None -e '' | tr '\n' ' ')
	if [ -n "$_ki_real" ]; then
		echo "datasource_list: ${_ki_real% }"
		return 0
	fi
	echo "cloud-init's datasource_list is [ None ]: no datasource gives it a key"
	return 1
}

# check_key_installer: notes what installs keys at launch; sets ki_fail to
# the reason user-keys fails when nothing does and require_key_installer
# holds, else to nothing.
check_key_installer() {
	ki_fail=""
	key_installer >"$work/key_installer"
	if [ -s "$work/key_installer" ]; then
		note user-keys "at launch, keys come from: $(cat "$work/key_installer")"
		return 0
	fi
	_ki_more=""
	[ -s "$work/key_installer.why" ] && _ki_more=" ($(cat "$work/key_installer.why"))"
	if [ "$AMI_HARDEN_REQUIRE_KEY_INSTALLER" != 1 ]; then
		note user-keys "nothing installs a key at launch and no key stays$_ki_more: the image is reached another way (require_key_installer = false)"
		return 0
	fi
	ki_fail="no key stays and nothing installs one at launch$_ki_more: nobody could log in to an instance. Install cloud-init with a datasource, EC2 Instance Connect or the cloud's guest agent, keep a user's key (keep_users), or set require_key_installer = false for an image reached another way"
}

# credentials: cloud and tool credentials in every home (home_files_credentials),
# and wipe_paths. A wipe path is taken on only when no directory on its way
# down from / is a symbolic link (the user named that path, not what a link
# leads to) and it is no mount point itself; below it, nothing crosses into
# another mount. Directories above it may be mount points (/srv on a disk of
# its own): the user named a path there.
#
# The files taken in every home, relative to it (a * only in the last part;
# a name that is a directory there is wiped whole). Each is a file whose
# purpose is a login, or where the tool keeps one by default; a tool's
# plain settings stay. The tools' own documentation, by tool, for those
# added with pip's:
#   pip: .config/pip/pip.conf, and the legacy .pip/pip.conf, both read
#     (an index URL with user:password in it is pip's documented way to log
#     in): https://pip.pypa.io/en/stable/topics/configuration/ and
#     https://pip.pypa.io/en/stable/topics/authentication/
#   Poetry: auth.toml in its config directory, where the password goes
#     when no keyring is there: https://python-poetry.org/docs/repositories/
#   RubyGems: .gem/credentials, else .local/share/gem/credentials (API
#     keys of gem signin/push): https://docs.ruby-lang.org/en/master/Gem/ConfigFile.html
#     (credentials_path)
#   Composer: the global auth.json in COMPOSER_HOME (.config/composer, or
#     .composer where that exists):
#     https://getcomposer.org/doc/articles/authentication-for-private-packages.md
#   Yarn 2 and later: yarn npm login writes its token into .yarnrc.yml in
#     the home, never the project's: https://yarnpkg.com/cli/npm/login
#   Conan 2: credentials.json and source_credentials.json in its home:
#     https://docs.conan.io/2/reference/config_files/credentials.html
#   hub: .config/hub, where hub saves its OAuth token: https://github.com/github/hub (README)
#   Helm: .config/helm/registry/config.json, helm registry login's file:
#     https://helm.sh/docs/helm/helm_registry/ (--registry-config)
#   doctl: .config/doctl/config.yaml, where doctl auth init keeps the API
#     token: https://docs.digitalocean.com/reference/doctl/reference/auth/init/
#   OCI CLI: the whole .oci: its config (user, fingerprint, key_file), the
#     API signing key pair Oracle's steps make there (oci_api_key.pem) and
#     session tokens; the one setting file besides (oci_cli_rc) is cheap to
#     lose: https://docs.oracle.com/iaas/Content/API/Concepts/sdkconfig.htm and
#     https://docs.oracle.com/iaas/Content/API/Concepts/apisigningkey.htm
#   s3cmd: .s3cfg, with the access and secret key s3cmd --configure saves:
#     https://s3tools.org/kb/item14.htm
#   boto and gsutil: .boto, with the credentials gsutil config writes:
#     https://cloud.google.com/storage/docs/boto-gsutil
#   rclone: .config/rclone/rclone.conf (passwords only obscured, tokens in
#     clear): https://rclone.org/commands/rclone_obscure/
#   Hetzner hcloud: .config/hcloud/cli.toml, the contexts and their tokens:
#     https://github.com/hetznercloud/cli/blob/main/docs/tutorials/setup-hcloud-cli.md
#   Linode CLI: .config/linode-cli, its token: https://pypi.org/project/linode-cli/
#   Vultr CLI: .vultr-cli.yaml, its API key: https://github.com/vultr/vultr-cli
#   Scaleway: .config/scw/config.yaml (access_key, secret_key):
#     https://www.scaleway.com/en/docs/scaleway-cli/reference-content/scaleway-configuration-file/
#   Alibaba Cloud CLI: .aliyun/config.json, its profiles' AccessKeys:
#     https://www.alibabacloud.com/help/en/cli/configure-credentials/
#   OpenStack: .config/openstack/clouds.yaml ("may contain private
#     information") and secure.yaml (the secrets split out of it):
#     https://docs.openstack.org/openstacksdk/latest/user/config/configuration.html
# shellcheck disable=SC2034 # read through home_files, by name
home_files_credentials='.aws/credentials .aws/sso/cache .aws/cli/cache .docker/config.json .git-credentials .netrc .pgpass .my.cnf
.gnupg/private-keys-v1.d .gnupg/secring.gpg .local/share/keyrings .m2/settings.xml .gradle/gradle.properties
.cargo/credentials .cargo/credentials.toml .config/containers/auth.json
.config/gcloud/credentials.db .config/gcloud/access_tokens.db .config/gcloud/application_default_credentials.json
.config/gcloud/legacy_credentials .azure/accessTokens.json .azure/msal_token_cache.json
.kube/config .npmrc .pypirc .config/gh/hosts.yml .vault-token .terraform.d/credentials.tfrc.json
.config/pip/pip.conf .pip/pip.conf .config/pypoetry/auth.toml .gem/credentials .local/share/gem/credentials
.config/composer/auth.json .composer/auth.json .yarnrc.yml .conan2/credentials.json .conan2/source_credentials.json
.config/hub .config/helm/registry/config.json
.config/doctl/config.yaml .oci .s3cfg .boto .config/rclone/rclone.conf .config/hcloud/cli.toml .config/linode-cli
.vultr-cli.yaml .config/scw/config.yaml .aliyun/config.json .config/openstack/clouds.yaml .config/openstack/secure.yaml'

step_credentials() {
	homes_pass
	use_lists credentials
	mnt=""
	# Package repository credentials (apt's netrc-style files).
	set --
	for _f in /etc/apt/auth.conf /etc/apt/auth.conf.d/*; do
		[ -f "$_f" ] || [ -L "$_f" ] && set -- "$@" "$_f"
	done
	take_files 0:0 "$@"
	while IFS= read -r _p; do
		case $_p in /?*) ;; *) continue ;; esac
		if system_dir "$_p"; then
			refuse "not touched: wipe path $_p is a system directory"
			continue
		fi
		check_path "" "${_p#/}" || continue
		if [ -L "$_p" ] || [ -f "$_p" ]; then
			if is_mount "$_p"; then
				refuse "not entered: $(show "$_p") is a mount point"
			else
				take_files "$(controller "$_p")" "$_p"
			fi
		elif [ -d "$_p" ]; then
			if is_mount "$_p"; then
				refuse "not entered: $(show "$_p") is a mount point"
			else
				wipe_tree "$(controller "$_p")" "$_p"
			fi
		fi
	done <<EXTRA
$AMI_HARDEN_WIPE_PATHS
EXTRA
	finish_wipe credentials
}

# history: shell and tool histories in every home (home_files_history). HISTFILE
# is unset above, so the shell running this script writes nothing back afterwards.
#
# The files taken in every home, relative to it (a * only in the last part).
# shellcheck disable=SC2034 # read through home_files, by name
home_files_history='.bash_history .zsh_history .zhistory .sh_history .ash_history .history
.python_history .mysql_history .psql_history .sqlite_history .lesshst .viminfo .node_repl_history
.rediscli_history .irb_history .local/share/fish/fish_history .local/share/nano/search_history'

step_history() {
	homes_pass
	use_lists history
	finish_wipe history
}

# accounts: the accounts the build made and names in remove_users go (home
# overwritten and removed as its owner, mail spool, crontab, sudoers files
# that grant only them, then the account, even while it is the build's own
# login: its session goes on, and nothing logs in as it again). Every run
# then says who could still get in or get root: accounts with UID 0 besides
# root, sudo grants without a password (NOPASSWD), and accounts with a login
# shell and a password or keys (keep_users). Audit mode finds them all.
step_accounts() {
	wipe_start accounts
	_removed=""
	if [ -n "$AMI_HARDEN_REMOVE_USERS" ] && [ -z "$audit" ]; then
		while IFS= read -r _u; do
			[ -n "$_u" ] || continue
			if ! remove_account "$_u" || [ -s "$refused" ]; then
				report accounts failed "$(join <"$refused")"
				return
			fi
			[ "$removed_now" ] && _removed="${_removed:+$_removed, }$_u"
		done <<USERS
$AMI_HARDEN_REMOVE_USERS
USERS
		# The passwd database changed: the steps after this read it again.
		list_homes
	fi
	# The build's own login user needs its sudo grant until the end: said,
	# not a finding (remove_users takes it away with the account).
	account_exposure | awk -v me="${SUDO_USER:-}" -v out="$work/exposure.login" '
		me != "" && $0 ~ (" to " me "$") { print $0 " (the build'"'"'s login; remove_users removes it)" > out; next } { print }' \
		>"$work/exposure"
	touch "$work/exposure.login"
	if [ "$audit" ]; then
		while IFS= read -r _u; do
			[ -n "$_u" ] && getent_user "$_u" >/dev/null && finding accounts "$_u exists (remove_users)"
		done <<USERS
$AMI_HARDEN_REMOVE_USERS
USERS
		findings_from accounts "$work/exposure" '%s'
		while IFS= read -r _x; do note accounts "$_x"; done <"$work/exposure.login"
		audit_result accounts "no other root account, no sudo without a password, no login with a password or keys"
		return
	fi
	cat "$work/exposure.login" >>"$work/exposure"
	while IFS= read -r _x; do note accounts "$_x"; done <"$work/exposure"
	_n=$(grep -c . "$work/exposure")
	_said=""
	[ "$_n" -gt 0 ] && _said="; $_n way(s) to log in or get root remain, see below"
	if [ -n "$_removed" ]; then
		report accounts changed "removed $_removed$_said"
	else
		report accounts ok "no account to remove$_said"
	fi
}

# getent_user NAME: the passwd line of NAME, if any.
getent_user() {
	awk -F: -v u="$1" '$1 == u { print; f = 1 } END { exit !f }' /etc/passwd
}

# remove_account NAME: remove an account and what is its alone. False, with
# the reason refused, when it cannot.
remove_account() {
	_ra_name=$1
	removed_now=""
	_ra=$(getent_user "$_ra_name") || return 0
	_ra_uid=$(printf '%s' "$_ra" | cut -d: -f3)
	_ra_home=$(printf '%s' "$_ra" | cut -d: -f6)
	if [ "$_ra_uid" = 0 ]; then
		refuse "not removed: $_ra_name has UID 0"
		return 1
	fi
	if ! command -v userdel >/dev/null 2>&1 && ! command -v deluser >/dev/null 2>&1; then
		refuse "could not remove $_ra_name: no userdel or deluser here"
		return 1
	fi
	# The home, overwritten as its owner, when it is the account's own.
	if [ -d "$_ra_home" ] && [ ! -L "$_ra_home" ] && ! system_path "$_ra_home" &&
		[ "$(stat -c %u -- "$_ra_home" 2>/dev/null)" = "$_ra_uid" ]; then
		wipe_tree "$(printf '%s\n' "$_ra_uid" | user_groups)" "$_ra_home"
	fi
	set --
	for _f in "/var/mail/$_ra_name" "/var/spool/mail/$_ra_name" "/var/spool/cron/crontabs/$_ra_name" "/var/spool/cron/$_ra_name"; do
		# Not through a linked directory (Debian's /var/spool/mail -> ../mail).
		[ -L "${_f%/*}" ] && continue
		[ -f "$_f" ] && [ ! -L "$_f" ] && set -- "$@" "$_f"
	done
	# sudoers files that grant this account and nothing else.
	for _f in /etc/sudoers.d/*; do
		if [ ! -f "$_f" ] || [ -L "$_f" ]; then continue; fi
		awk -v u="$_ra_name" '/^[[:space:]]*(#|$)/ { next } $1 != u { other = 1 } END { exit other || NR == 0 }' "$_f" &&
			grep -q "^[[:space:]]*${_ra_name}[[:space:]]" "$_f" && set -- "$@" "$_f"
	done
	take_files 0:0 "$@"
	for _f; do
		if [ -e "$_f" ] || [ -L "$_f" ]; then
			refuse "could not remove $_f of $_ra_name$(first_errors)"
			return 1
		fi
	done
	# -f: also while the account is logged in (the build's own session).
	if command -v userdel >/dev/null 2>&1; then
		userdel -f "$_ra_name" >"$work/userdel.out" 2>&1
	else
		deluser "$_ra_name" >"$work/userdel.out" 2>&1
	fi
	if getent_user "$_ra_name" >/dev/null; then
		refuse "could not remove $_ra_name: $(head -n 2 "$work/userdel.out" | join)"
		return 1
	fi
	# The emptied home itself: its owner could not remove it from /home.
	[ -d "$_ra_home" ] && [ ! -L "$_ra_home" ] && ! system_path "$_ra_home" && rmdir -- "$_ra_home" 2>/dev/null
	if [ -e "$_ra_home" ] && ! system_path "$_ra_home" && [ "$(stat -c %u -- "$_ra_home" 2>/dev/null)" = "$_ra_uid" ]; then
		refuse "could not remove the home of $_ra_name, $_ra_home$(first_errors)"
		return 1
	fi
	# userdel keeps backups of the account files (shadow-, gshadow-).
	set --
	for _f in /etc/shadow- /etc/gshadow-; do
		[ -f "$_f" ] && set -- "$@" "$_f"
	done
	take_files 0:0 "$@"
	removed_now=1
	return 0
}

# account_exposure: one line per way in or to root that stays: other UID 0
# accounts, NOPASSWD sudo grants (file:line and who), login accounts with a
# usable password or authorized keys.
account_exposure() {
	awk -F: '$3 == 0 && $1 != "root" { print "account " $1 " has UID 0" }' /etc/passwd
	set --
	for _f in /etc/sudoers /etc/sudoers.d/*; do
		[ -f "$_f" ] && set -- "$@" "$_f"
	done
	# One awk for every sudoers file (FILENAME names each one's lines).
	[ $# -gt 0 ] && awk '/^[[:space:]]*#/ { next } /NOPASSWD/ { print FILENAME ":" FNR " grants sudo without a password to " $1 }' "$@" 2>/dev/null
	[ -r /etc/shadow ] && awk -F: -v no_login="$no_login" 'FILENAME == ARGV[1] { if ($7 !~ no_login) login[$1] = 1; next }
		login[$1] && $2 !~ /^[!*]/ { print "account " $1 " has a login shell and a usable password" }' /etc/passwd /etc/shadow
	awk -F: -v no_login="$no_login" '$7 !~ no_login && $6 ~ /^\// { print $1 "\t" $6 }' /etc/passwd |
		while IFS="$tab" read -r _ae_u _ae_h; do
			for _ae_k in "$_ae_h/.ssh/authorized_keys" "$_ae_h/.ssh/authorized_keys2"; do
				if [ -s "$_ae_k" ] && [ ! -L "$_ae_h/.ssh" ]; then
					echo "account $_ae_u has a login shell and authorized keys ($_ae_k)"
					break
				fi
			done
		done
}

# cloud-init: forget this instance, so the image's instances run it afresh.
# `cloud-init clean --logs` only unlinks, and keeps /var/lib/cloud/seed: the
# build instance's user data (often with passwords) and logs would stay in
# the disk's blocks. So everything it is about to delete is overwritten
# first, and the seed goes too unless keep_cloud_init_seed says the image
# boots from it (an on-premises image with a baked NoCloud seed).
step_cloud_init() {
	if ! command -v cloud-init >/dev/null 2>&1; then
		report cloud-init skipped "cloud-init is not installed"
		return
	fi
	_sudoers=/etc/sudoers.d/90-cloud-init-users
	_seed=/var/lib/cloud/seed
	if [ "$audit" ]; then
		{
			[ -d /var/lib/cloud/instance ] || [ -L /var/lib/cloud/instance ] && echo "/var/lib/cloud/instance (state of the build's instance)"
			find /var/lib/cloud/instances -mindepth 1 -maxdepth 1 2>/dev/null
			find /var/log -maxdepth 1 -name 'cloud-init*.log' ! -size 0 2>/dev/null
			[ -e "$_sudoers" ] && echo "$_sudoers"
			[ "$AMI_HARDEN_KEEP_CLOUD_INIT_SEED" = 1 ] || { [ -e "$_seed" ] && echo "$_seed (seed data, user-data included)"; }
		} >"$work/found.lines"
		findings_from cloud-init "$work/found.lines" '%s exists'
		audit_result cloud-init "no instance state left"
		return
	fi
	wipe_start cloud-init
	# Overwritten in place (cloud-init unlinks them next); never below a
	# directory of another owner or another mount, never through a link.
	_keep=""
	[ "$AMI_HARDEN_KEEP_CLOUD_INIT_SEED" = 1 ] && _keep=$_seed
	{
		find -P /var/lib/cloud -xdev \( -path "${_keep:-/nonexistent}" -prune \) -o \( -type d ! -user 0 -prune \) -o \
			\( -type f -links 1 -print0 \) 2>/dev/null
		find -P /var/log -maxdepth 1 -xdev -name 'cloud-init*' -type f -links 1 -print0 2>/dev/null
	} >"$work/cloud.files"
	if [ -s "$work/cloud.files" ]; then
		if [ -n "$shred" ]; then
			xargs -0 shred -n "$AMI_HARDEN_SHRED_PASSES" -- <"$work/cloud.files" 2>>"$work/wipe.err"
		else
			xargs -0 sh -c "$zero_fill" sh <"$work/cloud.files" 2>>"$work/wipe.err"
		fi
	fi
	if ! cloud-init clean --logs >"$work/cloud_init_out" 2>&1; then
		report cloud-init failed "cloud-init clean --logs failed: $(head -n 3 "$work/cloud_init_out")"
		return
	fi
	_extra=""
	if [ -z "$_keep" ] && [ -d "$_seed" ] && [ ! -L "$_seed" ]; then
		wipe_tree 0:0 "$_seed"
		_extra=", removed $_seed"
	fi
	# The sudo grant cloud-init made for the login user: on a running machine
	# the builder's own shutdown_command (sudo shutdown) still needs it, so it
	# goes at that shutdown; elsewhere now.
	_at_shutdown=""
	if [ -e "$_sudoers" ] || [ -L "$_sudoers" ]; then
		if live_systemd; then
			if ! _how=$(wipe_at_shutdown cloud-init "$_sudoers"); then
				report cloud-init failed "$_how: $_sudoers would ship"
				return
			fi
			_at_shutdown=1
			_extra="$_extra, armed ami-harden-cloud-init-at-shutdown.service (this boot only) to remove $_sudoers once the machine shuts down"
		else
			take_files 0:0 "$_sudoers"
			_extra="$_extra, removed $_sudoers"
		fi
	fi
	if [ -z "$_at_shutdown" ] && { [ -e "$_sudoers" ] || [ -L "$_sudoers" ]; }; then
		report cloud-init failed "could not remove $_sudoers$(first_errors)"
		return
	fi
	if [ -z "$_keep" ] && [ -e "$_seed" ]; then
		report cloud-init failed "could not remove $_seed$(first_errors)"
		return
	fi
	if [ -s "$refused" ]; then
		report cloud-init failed "$(join <"$refused")"
		return
	fi
	[ "$_keep" ] && _extra="$_extra; kept $_seed (keep_cloud_init_seed)"
	report cloud-init changed "overwrote its state and logs, ran cloud-init clean --logs$_extra"
}

# machine-id: nothing that identifies this machine ships. An empty
# /etc/machine-id makes systemd give each instance its own; the D-Bus copy,
# the saved random seed (every instance would start from the same entropy)
# and the DHCP leases of the build go; Debian's snakeoil TLS key (made when
# ssl-cert was installed: the same key in every instance) goes, and a unit
# makes a new one at each instance's first boot.
step_machine_id() {
	set --
	# shellcheck disable=SC2086 # globs
	for _f in $machine_leases; do
		[ -f "$_f" ] || [ -L "$_f" ] && set -- "$@" "$_f"
	done
	_leases=$#
	_snakeoil=/etc/ssl/private/ssl-cert-snakeoil.key
	_snakecert=/etc/ssl/certs/ssl-cert-snakeoil.pem
	if [ "$audit" ]; then
		[ -s /etc/machine-id ] && finding machine-id "/etc/machine-id holds this machine's id"
		[ -e /etc/machine-id ] || finding machine-id "/etc/machine-id is missing (an empty file is the image state)"
		if [ -f /var/lib/dbus/machine-id ] && [ ! -L /var/lib/dbus/machine-id ]; then
			finding machine-id "/var/lib/dbus/machine-id is a copy of the machine id"
		fi
		[ -f /var/lib/systemd/random-seed ] && finding machine-id "/var/lib/systemd/random-seed exists"
		for _f; do finding machine-id "$_f exists (a DHCP lease of the build)"; done
		[ -e "$_snakeoil" ] && finding machine-id "$_snakeoil exists (the same TLS key in every instance)"
		audit_result machine-id "/etc/machine-id is empty"
		return
	fi
	wipe_start machine-id
	_changed=""
	if [ -s /etc/machine-id ]; then
		empty_file /etc/machine-id || { report machine-id failed "could not empty /etc/machine-id"; return; }
		_changed="emptied /etc/machine-id"
	elif [ ! -e /etc/machine-id ]; then
		# An absent file would make a read-only root fail to boot; empty is the image state.
		empty_file /etc/machine-id && chmod 0444 /etc/machine-id
		_changed="created an empty /etc/machine-id"
	fi
	# D-Bus keeps a copy unless it is a link to /etc/machine-id. Overwritten
	# with the rest: unlinked only, its block would keep the id.
	if [ -f /var/lib/dbus/machine-id ] && [ ! -L /var/lib/dbus/machine-id ]; then
		set -- "$@" /var/lib/dbus/machine-id
		_changed="${_changed:+$_changed, }removed /var/lib/dbus/machine-id"
	fi
	# The saved random seed would be shared by every instance too.
	if [ -f /var/lib/systemd/random-seed ]; then
		set -- "$@" /var/lib/systemd/random-seed
		_changed="${_changed:+$_changed, }removed /var/lib/systemd/random-seed"
	fi
	[ "$_leases" -gt 0 ] && _changed="${_changed:+$_changed, }removed $_leases DHCP lease file(s) of the build"
	# On a running machine, its shutdown saves a new seed (systemd-random-seed)
	# and DHCP clients write their leases again: those go at shutdown too.
	if live_systemd; then
		# shellcheck disable=SC2086 # globs, expanded at shutdown
		if ! _how=$(wipe_at_shutdown machine-id /var/lib/systemd/random-seed $machine_leases); then
			report machine-id failed "$_how: the random seed saved at shutdown would ship"
			return
		fi
		_changed="${_changed:+$_changed, }armed ami-harden-machine-id-at-shutdown.service (this boot only) to remove the random seed and DHCP leases written at shutdown"
	fi
	if [ -e "$_snakeoil" ]; then
		if ! _how=$(arrange_snakeoil); then
			report machine-id failed "$_how; $_snakeoil was kept"
			return
		fi
		set -- "$@" "$_snakeoil"
		[ -e "$_snakecert" ] && set -- "$@" "$_snakecert"
		_changed="${_changed:+$_changed, }removed the snakeoil TLS key and certificate (new ones at first boot by $_how)"
	fi
	take_files 0:0 "$@"
	if [ -s /etc/machine-id ] || { [ -f /var/lib/dbus/machine-id ] && [ ! -L /var/lib/dbus/machine-id ]; }; then
		report machine-id failed "a machine-id is still there"
		return
	fi
	for _f; do
		[ -e "$_f" ] && { report machine-id failed "could not remove $_f$(first_errors)"; return; }
	done
	if [ -s "$refused" ]; then
		report machine-id failed "$(join <"$refused")"
	elif [ -n "$_changed" ]; then
		report machine-id changed "$_changed"
	else
		report machine-id ok "/etc/machine-id is already empty"
	fi
}

# machine_leases: DHCP clients' leases (globs, no spaces): dhclient, dhcpcd,
# NetworkManager, wicked.
machine_leases='/var/lib/dhcp/*.lease* /var/lib/dhclient/*.lease* /var/lib/dhcpcd/*.lease*
/var/lib/NetworkManager/*.lease* /var/lib/wicked/lease*'

# arrange_snakeoil: a unit that makes a new snakeoil key and certificate with
# Debian's own make-ssl-cert at first boot, once the host name is set
# (cloud-init sets it) and before the services that use them start. Prints
# what does it, or why nothing can (and fails).
arrange_snakeoil() {
	if ! command -v make-ssl-cert >/dev/null 2>&1; then
		echo "make-ssl-cert is not installed, so nothing could make a new snakeoil key"
		return 1
	fi
	if ! has_systemd; then
		echo "no systemd here to make a new snakeoil key at first boot"
		return 1
	fi
	cat >"$work/snakeoil.unit" <<UNIT
# Installed by ami-harden: the image was shared without the snakeoil TLS key
# that Debian's ssl-cert made at install time, so each instance makes its own.
[Unit]
Description=Generate the snakeoil TLS key and certificate (ami-harden)
ConditionPathExists=!/etc/ssl/private/ssl-cert-snakeoil.key
After=cloud-init.service systemd-hostnamed.service
Before=multi-user.target apache2.service nginx.service postfix.service exim4.service dovecot.service

[Service]
Type=oneshot
ExecStart=$(command -v make-ssl-cert) generate-default-snakeoil

[Install]
WantedBy=multi-user.target
UNIT
	install_unit "$work/snakeoil.unit" ami-harden-snakeoil.service multi-user.target || return 1
	echo "ami-harden-snakeoil.service (make-ssl-cert)"
}

# network: nothing in the image's network configuration ties it to the build
# machine. An instance has other network cards, with other MAC addresses, than
# the build had: a configuration pinned to the build's MAC addresses finds no
# card and the instance comes up without network (chef/bento#497: a box packed
# with the build's udev rules named its card eth1, and its eth0 configuration
# never came up), and the build's host name would be every instance's. The
# model is libguestfs' virt-sysprep and its operations udev-persistent-net,
# net-hwaddr, net-hostname and net-nmconn (guestfs-tools, sysprep/
# sysprep_operation_*.ml). What it does (network.files.sh has the files):
#   - udev's 70-persistent-net.rules goes;
#   - ifcfg files and NetworkManager profiles lose their MAC pins, their
#     UUIDs and the build's DHCP host name: edited line by line, never removed;
#   - NetworkManager's per-machine state goes (secret_key, timestamps,
#     seen-bssids, no-auto-default.state, its dhclient configurations);
#   - a systemd-networkd, netplan or ifupdown file pinned to a MAC address
#     goes only where cloud-init wrote it and writes it again at each new
#     instance; any other fails the step, named with what to change (YAML and
#     interfaces(5) files are not edited here: a wrong edit could leave an
#     image without network);
#   - /etc/hostname says localhost, and /etc/hosts no longer names the
#     build's host (the old /etc/hostname and `hostname`).
# So the image comes up with whatever configuration it had, now matching any
# card: nothing it configures is removed unless something writes it again.
# Files that named the build are overwritten in place (zeros over the old
# contents, then the new ones): a new file renamed over the old one would
# leave the old contents in free blocks (the free-space step may be off).
step_network() {
	wipe_start network
	mnt=""
	: >"$work/net.did"
	: >"$work/net.note"
	net_names >"$work/net.names"
	# One scan finds what would change; enforce then changes it (net_fix) and
	# scans again: what that second scan still finds was not changed.
	net_fix=""
	net_pass
	if [ "$audit" ]; then
		cat "$work/net.stop" >>"$work/net.find"
		awk '!seen[$0]++' "$refused" >>"$work/net.find"
		net_notes
		findings_from network "$work/net.find" '%s'
		audit_result network "nothing ties the network to the build machine"
		return
	fi
	if [ -s "$work/net.find" ]; then
		net_fix=1
		net_pass
		net_fix=""
		net_pass
	fi
	# On a running machine, once /etc/hosts no longer names it, its name
	# does not resolve: sudo warns at every call until the shutdown, and
	# mails root about it, into the image's /var/mail. The running machine
	# takes the name it ships with (never in a chroot: that is the host's).
	if live_machine && [ -s "$work/net.names" ] && grep -q -e '^/etc/hosts' -e '^set /etc/hostname' "$work/net.did"; then
		if hostname localhost 2>/dev/null || { printf 'localhost' >/proc/sys/kernel/hostname; } 2>/dev/null; then
			net_did "the running machine is named localhost until it shuts down"
		else
			net_note "the running machine keeps its name until it shuts down, and /etc/hosts no longer resolves it (sudo warns)"
		fi
	fi
	net_notes
	_did=$(net_list "$work/net.did")
	awk '!seen[$0]++' "$refused" >"$work/net.refused"
	if [ -s "$work/net.stop" ] || [ -s "$work/net.find" ] || [ -s "$work/net.refused" ]; then
		cat "$work/net.stop" "$work/net.find" "$work/net.refused" >"$work/net.left"
		report network failed "$(net_list "$work/net.left")$(first_errors)${_did:+; done: $_did}"
	elif [ -n "$_did" ]; then
		report network changed "$_did"
	else
		report network ok "nothing ties the network to the build machine"
	fi
}

# net_pass: one scan of every file the step knows (net_fix empty), or one
# round of changes (net_fix set). A scan writes what it would change to
# net.find and what it will not change to net.stop.
net_pass() {
	: >"$work/net.find"
	: >"$work/net.stop"
	net_udev
	net_ifcfg
	net_keyfiles
	net_nm_state
	net_pinned
	net_hostname
	net_hosts
}

net_find() { printf '%s\n' "$1" >>"$work/net.find"; }
net_stop() { printf '%s\n' "$1" >>"$work/net.stop"; }
net_did() { printf '%s\n' "$1" >>"$work/net.did"; }
net_note() { printf '%s\n' "$1" >>"$work/net.note"; }

# net_notes: each note once.
net_notes() {
	awk '!seen[$0]++' "$work/net.note" | while IFS= read -r _nn; do note network "$_nn"; done
}

# net_list FILE: its lines joined with "; " (they hold commas of their own).
net_list() {
	awk 'NF { s = s (s == "" ? "" : "; ") $0 } END { print s }' "$1"
}

# net_names: the build's host names, lower case, one a line: the first word
# of /etc/hostname and what `hostname` says (in a chroot, the build host's),
# each also without its domain, leaving out the names every machine has.
net_names() {
	{
		if [ -f /etc/hostname ] && [ ! -L /etc/hostname ]; then
			sed -n '/^[[:space:]]*#/d; s/^[[:space:]]*//; s/[[:space:]].*//; /./p' /etc/hostname 2>/dev/null
		fi
		hostname 2>/dev/null || cat /proc/sys/kernel/hostname 2>/dev/null
	} | awk '
		function add(n) { if (n != "" && n !~ /^(localhost|localhost\.localdomain|localhost4|localhost4\.localdomain4|localhost6|localhost6\.localdomain6|ip6-localhost|ip6-loopback)$/ && !seen[n]++) print n }
		NF { n = tolower($1); add(n); sub(/\..*/, "", n); add(n) }'
}

# net_file FILE: whether FILE may be read and written here: no symbolic link
# on the way to it or at it (refused: what it leads to is not the image's
# file to change), not a mount point (a file bind-mounted into a container
# is not the image's: noted, left alone).
net_file() {
	check_path "" "${1#/}" || return 1
	if [ -L "$1" ]; then
		refuse "not followed: $(show "$1") is a symbolic link to $(show "$(readlink -- "$1")")"
		return 1
	fi
	[ -f "$1" ] || return 1
	if is_mount "$1"; then
		net_note "not touched: $(show "$1") is a mount point (the image's own file lies below it)"
		return 1
	fi
}

# net_edit FILE AWKPROG [AWKARG...]: FILE run through the awk program into
# net.new; true when the program says (in net.what) that it dropped
# something.
net_edit() {
	_ne_f=$1
	_ne_prog=$2
	shift 2
	: >"$work/net.what"
	awk -v out="$work/net.what" "$@" "$_ne_prog" "$_ne_f" >"$work/net.new" 2>>"$work/wipe.err" || return 1
	[ -s "$work/net.what" ]
}

# net_write FILE: FILE gets the contents of net.new, in place, keeping its
# owner, mode and label: zeros over the old contents first (flushed), then
# the new ones. Never through a second hard link.
net_write() {
	if [ "$(stat -c %h -- "$1")" != 1 ]; then
		refuse "not written: $(show "$1") has more than one hard link"
		return 1
	fi
	if ! overwrite_in_place "$1" 2>>"$work/wipe.err" || ! { cat "$work/net.new" >"$1"; } 2>>"$work/wipe.err"; then
		refuse "could not write $(show "$1")"
		return 1
	fi
}

# net_hostname: /etc/hostname names no machine: localhost. systemd-hostnamed
# treats a static name of localhost as none (hostnamed.c: "/etc/hostname with
# something other than localhost has the highest preference"), so the name
# DHCP or cloud-init gives the instance applies, as with an empty file. Debian's
# own cloud images empty the file instead (debian-cloud-images, bookworm's
# scripts/LAST/10-cleanup); localhost is what systemd falls back to for an
# empty one, and it is a name every reader of the file accepts. A missing file
# stays missing: it names nothing. Red Hat's old /etc/sysconfig/network
# HOSTNAME= goes as virt-sysprep's old hostname operation replaced it.
net_hostname() {
	_f=/etc/hostname
	if { [ -e "$_f" ] || [ -L "$_f" ]; } && net_file "$_f"; then
		if grep -qv '^[[:space:]]*localhost[[:space:]]*$' "$_f"; then
			if [ -z "$net_fix" ]; then
				net_find "$_f names this machine (it would say localhost)"
			else
				printf 'localhost\n' >"$work/net.new"
				net_write "$_f" && net_did "set $_f to localhost"
			fi
		fi
	fi
	_f=/etc/sysconfig/network
	if [ -e "$_f" ] && net_file "$_f" && net_edit "$_f" "$net_sysconfig_awk"; then
		if [ -z "$net_fix" ]; then
			net_find "$_f: HOSTNAME= names this machine"
		else
			net_write "$_f" && net_did "$_f: dropped HOSTNAME"
		fi
	fi
}

# net_hosts: /etc/hosts names the build's host nowhere; the loopback lines
# and every other name stay, a line left without a name goes.
net_hosts() {
	_f=/etc/hosts
	{ [ -e "$_f" ] || [ -L "$_f" ]; } && [ -s "$work/net.names" ] || return 0
	net_file "$_f" || return 0
	net_edit "$_f" "$net_hosts_awk" -v names="$(tr '\n' ' ' <"$work/net.names")" || return 0
	if [ -z "$net_fix" ]; then
		net_find "$_f names the build's host name ($(cat "$work/net.what"))"
	else
		net_write "$_f" && net_did "$_f: the build's host name dropped ($(cat "$work/net.what"))"
	fi
}

# net_sysconfig_awk: /etc/sysconfig/network without HOSTNAME=.
# shellcheck disable=SC2016 # awk's
net_sysconfig_awk='/^[ \t]*HOSTNAME=/ { n++; next } { print } END { if (n) print "HOSTNAME" > out }'

# net_hosts_awk: /etc/hosts without the names in `names` (lower case, space-
# separated) or names whose first label is one of them (the build's FQDN);
# a line left with its address alone goes. Comments and untouched lines stay
# as they were. Writes "N name(s) on M line(s)" to out.
# shellcheck disable=SC2016 # awk's
net_hosts_awk='
BEGIN { k = split(names, nm, " ") }
function builds(n,  i, l) {
	l = tolower(n)
	for (i = 1; i <= k; i++) if (l == nm[i] || index(l, nm[i] ".") == 1) return 1
	return 0
}
/^[ \t]*(#|$)/ { print; next }
{
	orig = $0; c = ""; p = index($0, "#")
	if (p) { c = substr($0, p); $0 = substr($0, 1, p - 1) }
	kept = ""; hit = 0
	for (i = 2; i <= NF; i++) if (builds($i)) hit++; else kept = kept " " $i
	if (!hit) { print orig; next }
	names_out += hit
	lines_out++
	if (kept != "") print $1 "\t" substr(kept, 2) (c == "" ? "" : " " c)
}
END { if (names_out) print names_out " name(s) on " lines_out " line(s)" > out }'

# network, the files: udev rules, ifcfg files, NetworkManager's profiles and
# state, and the networkd, netplan and ifupdown files that may pin a MAC
# address. Each function scans (net_fix empty) or changes (net_fix set).

# net_udev: udev's persistent-net rules name each card by the MAC address it
# had on the build: on an instance the cards have other addresses, so the
# names move on (eth1 for eth0) and the configuration of eth0 finds no card.
# virt-sysprep's udev-persistent-net removes the file (libguestfs,
# sysprep/sysprep_operation_udev_persistent_net.ml). A directory in its
# place is what chef/bento#497 put there to stop the generator
# (75-persistent-net-generator.rules) writing it again; it holds nothing of
# the build and stays, as does the generator: where it is still installed
# it writes each instance's own rules at that instance's first boot.
net_udev() {
	_f=/etc/udev/rules.d/70-persistent-net.rules
	[ -f "$_f" ] || [ -L "$_f" ] || return 0
	check_path "" "${_f#/}" || return 0
	if [ -z "$net_fix" ]; then
		net_find "$_f names the cards by the build's MAC addresses"
	else
		take_files 0:0 "$_f"
		[ -e "$_f" ] || [ -L "$_f" ] || net_did "removed $_f"
	fi
}

# net_ifcfg: Red Hat's ifcfg files without HWADDR= and MACADDR= (the card's
# address and a MAC address set on it: every instance would claim the
# build's), UUID= and HOSTNAME=/DHCP_HOSTNAME=, as virt-sysprep's net-hwaddr
# and net-hostname drop them (sysprep_operation_net_hwaddr.ml,
# sysprep_operation_net_hostname.ml). The file stays: DEVICE= or its name
# still says which card it configures.
net_ifcfg() {
	for _f in /etc/sysconfig/network-scripts/ifcfg-*; do
		[ -e "$_f" ] || [ -L "$_f" ] || continue
		net_file "$_f" || continue
		_keep=$(net_uuid_kept "$_f" 's/^[[:space:]]*UUID=["'\'']\{0,1\}\([^"'\'' ]*\).*/\1/p')
		net_edit "$_f" "$net_ifcfg_awk" -v keepuuid="$_keep" || continue
		net_change "$_f"
	done
}

# net_keyfiles: NetworkManager's keyfiles without their mac-address= pins
# (and a cloned-mac-address= that sets a fixed address), without uuid=, and
# without a dhcp-hostname= or dhcp-fqdn= that names the build's host.
# virt-sysprep has no operation for a profile's UUID: its net-nmconn deletes
# every keyfile on Red Hat systems (guestfs-tools,
# sysprep_operation_net_nmconn.ml), which leaves NetworkManager's automatic
# default connection, and nothing where no-auto-default is set. Here the
# profile stays. NetworkManager gives a keyfile without uuid= one hashed from
# its path (libnm-core, nm_keyfile_read_ensure_uuid), the same in every
# instance of the image, as a kept one would be: a profile's UUID needs to
# be unique among one machine's profiles only. So uuid= goes (the build's
# random value, traceable to it), unless another file names it (a port's
# controller= or master=, a VLAN's parent=, a dispatcher script): that
# reference would break, so it stays, and a note says so. The same for ifcfg.
net_keyfiles() {
	for _f in /etc/NetworkManager/system-connections/*; do
		[ -e "$_f" ] || [ -L "$_f" ] || continue
		net_file "$_f" || continue
		_keep=$(net_uuid_kept "$_f" 's/^[[:space:]]*uuid[[:space:]]*=[[:space:]]*\([^[:space:]]*\).*/\1/p')
		net_edit "$_f" "$net_keyfile_awk" -v keepuuid="$_keep" -v names="$(tr '\n' ' ' <"$work/net.names")" || continue
		net_change "$_f"
	done
}

# net_change FILE: FILE's edit (net.new, net.what) found or made.
net_change() {
	if [ -z "$net_fix" ]; then
		net_find "$1: $(cat "$work/net.what") tie it to the build machine"
	else
		net_write "$1" && net_did "$1: dropped $(cat "$work/net.what")"
	fi
}

# net_uuid_kept FILE SEDPROG: 1 when a UUID in FILE (SEDPROG prints it) is
# named by another file of NetworkManager's or of network-scripts.
net_uuid_kept() {
	sed -n "$2" "$1" 2>/dev/null | while IFS= read -r _u; do
		[ -n "$_u" ] || continue
		_by=$(find -P /etc/NetworkManager /etc/sysconfig/network-scripts -xdev -type f ! -path "$1" \
			-exec grep -lF -e "$_u" -- {} + 2>/dev/null | head -n 1)
		if [ -n "$_by" ]; then
			net_note "kept the UUID of $(show "$1"): $(show "$_by") names it"
			echo 1
			break
		fi
	done
}

# net_nm_state: what NetworkManager keeps about this machine in
# /var/lib/NetworkManager: secret_key, the host's key for stable-privacy
# IPv6 addresses and stable MAC addresses (two clones with one key derive
# the same addresses; NetworkManager makes a new key when there is none),
# timestamps and seen-bssids (the build's connections and the Wi-Fi access
# points it saw), no-auto-default.state (the build's MAC addresses) and the
# dhclient configurations it wrote (with the build's host name); its
# DHCP leases are machine-id's. NetworkManager.state (whether networking is
# on) is a setting and stays. On a running machine NetworkManager writes
# some of these again as it stops: they go at that shutdown too.
net_nm_state() {
	set --
	for _f in /var/lib/NetworkManager/secret_key /var/lib/NetworkManager/timestamps \
		/var/lib/NetworkManager/seen-bssids /var/lib/NetworkManager/no-auto-default.state \
		/var/lib/NetworkManager/dhclient*.conf; do
		{ [ -f "$_f" ] || [ -L "$_f" ]; } && check_path "" "${_f#/}" && set -- "$@" "$_f"
	done
	[ $# -gt 0 ] || return 0
	if [ -z "$net_fix" ]; then
		for _f; do net_find "$_f is NetworkManager's state of the build machine"; done
		return
	fi
	take_files 0:0 "$@"
	net_did "removed NetworkManager's state of the build ($(printf '%s\n' "$@" | join))"
	if live_systemd; then
		# shellcheck disable=SC2086 # globs, expanded at shutdown (not here: set -f)
		if _how=$(set -f; wipe_at_shutdown network $net_nm_globs); then
			net_did "armed ami-harden-network-at-shutdown.service (this boot only) for what NetworkManager writes as it stops"
		else
			refuse "$_how: NetworkManager's state written at shutdown would ship"
		fi
	fi
}
net_nm_globs='/var/lib/NetworkManager/secret_key /var/lib/NetworkManager/timestamps /var/lib/NetworkManager/seen-bssids
/var/lib/NetworkManager/no-auto-default.state /var/lib/NetworkManager/dhclient*.conf'

# net_pinned: systemd-networkd .network and .link files that match a card by
# MACAddress= or PermanentMACAddress= in [Match], netplan files with a
# macaddress: (a match, or an address set on the card), ifupdown
# interfaces(5) files with hwaddress (an address set on the card). Where
# cloud-init wrote the file (its name and its "generated by cloud-init"
# header) and renders the network again at each new instance, the file goes:
# the instance gets its own. Any other is not edited: the step fails, naming
# it and what to match on instead.
net_pinned() {
	_regen=""
	net_cloud_renders && _regen=1
	for _f in /etc/systemd/network/*.network /etc/systemd/network/*.link; do
		[ -e "$_f" ] || [ -L "$_f" ] || continue
		net_file "$_f" || continue
		net_edit "$_f" "$net_match_awk" || continue
		case ${_f##*/} in 10-cloud-init-*) _gen=1 ;; *) _gen="" ;; esac
		net_pin "$_f" "$_gen" "[Match] $(cat "$work/net.what") ties it to the build's card: match on Name=, Type= or Driver= instead"
	done
	for _f in /etc/netplan/*.yaml; do
		[ -e "$_f" ] || [ -L "$_f" ] || continue
		net_file "$_f" || continue
		grep -Eq '^[^#]*macaddress[[:space:]]*:' "$_f" || continue
		case ${_f##*/} in 50-cloud-init.yaml) _gen=1 ;; *) _gen="" ;; esac
		net_pin "$_f" "$_gen" "macaddress: ties it to the build's card: match on name: or driver: instead, and set no macaddress:"
	done
	for _f in /etc/network/interfaces /etc/network/interfaces.d/*; do
		[ -e "$_f" ] || [ -L "$_f" ] || continue
		net_file "$_f" || continue
		grep -Eq '^[[:space:]]*hwaddress[[:space:]]' "$_f" || continue
		case $_f in /etc/network/interfaces.d/50-cloud-init | /etc/network/interfaces.d/50-cloud-init.cfg) _gen=1 ;; *) _gen="" ;; esac
		net_pin "$_f" "$_gen" "hwaddress gives every instance the build's MAC address: remove that line"
	done
}

# net_pin FILE GENERATED WHAT: a file pinned to a MAC address: cloud-init's
# (GENERATED, and its header says so) goes while cloud-init renders the
# network; any other is named with WHAT.
net_pin() {
	if [ -n "$2" ] && grep -Eqi '^[[:space:]]*#.*(cloud-init|generated from information provided by the datasource)' "$1"; then
		if [ -n "$_regen" ]; then
			if [ -z "$net_fix" ]; then
				net_find "$1 (cloud-init's) is pinned to the build's MAC address"
			else
				take_files 0:0 "$1"
				[ -e "$1" ] || [ -L "$1" ] || net_did "removed cloud-init's $1 (cloud-init writes it again at each new instance)"
			fi
			return
		fi
		net_stop "$1: $3 (not changed: cloud-init is not installed or its network configuration is disabled, so nothing writes it again)"
		return
	fi
	net_stop "$1: $3 (not changed)"
}

# net_cloud_renders: cloud-init is installed, not disabled, and its network
# configuration is not disabled (network: {config: disabled} in cloud.cfg or
# cloud.cfg.d, or /etc/cloud/cloud-init.disabled): it writes the network
# configuration of each new instance.
net_cloud_renders() {
	command -v cloud-init >/dev/null 2>&1 || return 1
	[ ! -e /etc/cloud/cloud-init.disabled ] || return 1
	! grep -Eqs '^[^#]*config[[:space:]]*:[[:space:]]*["'\'']?disabled' /etc/cloud/cloud.cfg /etc/cloud/cloud.cfg.d/*.cfg
}

# net_ifcfg_awk: an ifcfg file without the keys that tie it to the build
# (UUID= only when keepuuid is empty); writes the keys dropped to out.
# shellcheck disable=SC2016 # awk's
net_ifcfg_awk='
{ line = $0; sub(/^[ \t]+/, "", line) }
line ~ /^(HWADDR|MACADDR|UUID|HOSTNAME|DHCP_HOSTNAME)=/ {
	k = line; sub(/=.*/, "", k)
	if (k != "UUID" || keepuuid == "") {
		if (!(k in d)) { d[k] = 1; what = what (what == "" ? "" : ", ") k }
		next
	}
}
{ print }
END { if (what != "") print what > out }'

# net_keyfile_awk: a NetworkManager keyfile without mac-address= and a fixed
# cloned-mac-address= in the device sections, uuid= in [connection] (unless
# keepuuid), and dhcp-hostname= or dhcp-fqdn= naming one of `names` (lower
# case, space-separated) or a name below it; writes the keys dropped to out.
# shellcheck disable=SC2016 # awk's
net_keyfile_awk='
BEGIN { k = split(names, nm, " ") }
function builds(v,  i, l) {
	l = tolower(v)
	for (i = 1; i <= k; i++) if (l == nm[i] || index(l, nm[i] ".") == 1) return 1
	return 0
}
function drop(key) { if (!(key in d)) { d[key] = 1; what = what (what == "" ? "" : ", ") key } }
{ line = $0; sub(/^[ \t]+/, "", line) }
line ~ /^\[/ { sec = line; sub(/^\[/, "", sec); sub(/\][ \t]*$/, "", sec); print; next }
sec ~ /^(ethernet|802-3-ethernet|wifi|802-11-wireless|infiniband)$/ && line ~ /^mac-address[ \t]*=/ { drop("mac-address"); next }
sec ~ /^(ethernet|802-3-ethernet|wifi|802-11-wireless)$/ && line ~ /^cloned-mac-address[ \t]*=[ \t]*[0-9A-Fa-f][0-9A-Fa-f]:/ { drop("cloned-mac-address"); next }
sec == "connection" && line ~ /^uuid[ \t]*=/ && keepuuid == "" { drop("uuid"); next }
(sec == "ipv4" || sec == "ipv6") && line ~ /^dhcp-(hostname|fqdn)[ \t]*=/ {
	v = line; sub(/^[^=]*=[ \t]*/, "", v); sub(/[ \t]+$/, "", v)
	if (builds(v)) { key = line; sub(/[ \t]*=.*/, "", key); drop(key); next }
}
{ print }
END { if (what != "") print what > out }'

# net_match_awk: writes to out the MACAddress= and PermanentMACAddress= keys
# that a systemd .network or .link file sets in [Match].
# shellcheck disable=SC2016 # awk's
net_match_awk='
{ line = $0; sub(/^[ \t]+/, "", line) }
line ~ /^\[/ { sec = line; print; next }
sec ~ /^\[Match\]/ && line ~ /^(MACAddress|PermanentMACAddress)[ \t]*=[ \t]*[^ \t]/ {
	k = line; sub(/[ \t]*=.*/, "", k)
	if (!(k in d)) { d[k] = 1; what = what (what == "" ? "" : ", ") k "=" }
}
{ print }
END { if (what != "") print what > out }'

# enrolment: the image carries none of the build machine's enrolments: the
# keys and IDs by which a directory, a configuration manager or a vendor's
# service knows this one machine. Left in the image, every instance would
# authenticate as the build (its host keys, client keys, registration keys)
# and claim its identity, and anyone with the image holds those keys. Each is
# overwritten, then deleted (take_files, wipe_tree); each instance enrols
# again, as a new machine. Where a removal would break the image (a server
# whose own service needs it, a boot that needs the keytab) the step keeps it
# and fails, naming it and how to ship it on purpose.
step_enrolment() {
	wipe_start enrolment
	mnt=""
	: >"$work/enrol.did"
	: >"$work/enrol.kept"
	: >"$work/enrol.find"
	: >"$work/enrol.globs"

	# Kerberos: the host keytab holds the long-term keys of the host
	# principal (host/FQDN), which realm join and ipa-client-install write;
	# virt-sysprep's kerberos-hostkeytab removes it (libguestfs,
	# sysprep/sysprep_operation_kerberos_hostkeytab.ml). An NFS mount with
	# sec=krb5 in /etc/fstab needs it at boot (rpc.gssd uses the host key).
	if _why=$(enrol_ipa_server); then
		enrol_kept "the host Kerberos keytab" "$_why" /etc/krb5.keytab
	elif awk '$1 !~ /^#/ && $3 ~ /^nfs/ && $4 ~ /(^|,)sec=krb5/ && $4 !~ /(^|,)noauto(,|$)/ { f = 1 } END { exit !f }' /etc/fstab 2>/dev/null; then
		enrol_kept "the host Kerberos keytab" "/etc/fstab mounts NFS with sec=krb5 at boot, which needs it" /etc/krb5.keytab
	else
		enrol_take "the host Kerberos keytab" /etc/krb5.keytab /etc/krb5.keytab
	fi
	# FreeIPA client: default.conf names this host (host = FQDN) and
	# sysrestore/ holds what ipa-client-install changed, to undo it; both
	# make the image this enrolled host. virt-sysprep's ipa-client removes
	# them (guestfs-tools, sysprep/sysprep_operation_ipa_client.ml) with
	# the IPA CA certificate, which stays here: it is the realm's public
	# certificate, the same on every client. An IPA server's own services
	# need all of this: kept there.
	if _why=$(enrol_ipa_server); then
		enrol_kept "FreeIPA's enrolment" "$_why" /etc/ipa/default.conf /var/lib/ipa-client/sysrestore
	else
		enrol_take "FreeIPA's client enrolment" "/etc/ipa/default.conf /var/lib/ipa-client/sysrestore/*" \
			/etc/ipa/default.conf /var/lib/ipa-client/sysrestore/*
	fi
	# SSSD: its caches (db/: users, groups and, with cache_credentials, the
	# hashes of their passwords; mc/: the memory-mapped caches, sss_cache(8))
	# are this machine's view of the directory; virt-sysprep's sssd-db-log
	# removes db/* (sysprep_operation_sssd_db_log.ml). SSSD builds them anew.
	enrol_take "SSSD's caches" "/var/lib/sss/db/* /var/lib/sss/mc/*" /var/lib/sss/db/* /var/lib/sss/mc/*
	# Puppet: the agent's ssldir holds its private key and signed certificate
	# (Puppet docs, "SSL directory (ssldir)": $confdir/ssl, or the vardir
	# /var/lib/puppet/ssl where distribution packages put it); Puppet makes
	# it again at the next run, with a new key. A Puppet CA's own keys live
	# in /etc/puppetlabs/puppetserver/ca (or ssldir/ca before Puppet 6):
	# a Puppet server is kept.
	if [ -d /etc/puppetlabs/puppetserver/ca ] || [ -d /etc/puppetlabs/puppet/ssl/ca ] || [ -d /var/lib/puppet/ssl/ca ]; then
		enrol_kept "Puppet's SSL directory" "this is a Puppet CA, whose server needs its keys" \
			/etc/puppetlabs/puppet/ssl /var/lib/puppet/ssl
	else
		enrol_take "Puppet's agent SSL keys" "/etc/puppetlabs/puppet/ssl/*.pem /etc/puppetlabs/puppet/ssl/*/* /var/lib/puppet/ssl/*.pem /var/lib/puppet/ssl/*/*" \
			/etc/puppetlabs/puppet/ssl /var/lib/puppet/ssl
	fi
	# Chef: client.pem is the node's private key, which chef-client gets at
	# its first run (knife-client(1)); with it every instance is that node.
	enrol_take "Chef's client key" /etc/chef/client.pem /etc/chef/client.pem
	# Salt: the minion's key pair and the master's key it accepted in
	# pki/minion (pki_dir), and minion_id, the ID cached at its first start
	# (Salt's minion configuration: pki_dir, minion_id_caching); the master
	# knows the minion by both.
	enrol_take "Salt's minion keys and ID" "/etc/salt/pki/minion/* /etc/salt/minion_id" \
		/etc/salt/pki/minion/* /etc/salt/minion_id
	# AWS SSM Agent: a hybrid activation's registration (instance ID and
	# private key, Vault/Store/RegistrationKey; EC2RegistrationKey for
	# Default Host Management; amazon-ssm-agent,
	# agent/managedInstances/registration), the registration file, and the
	# temporary credentials of Default Host Management in credentials (AWS,
	# "Learn technical details about the SSM Agent").
	enrol_take "the SSM Agent's registration" "/var/lib/amazon/ssm/registration /var/lib/amazon/ssm/Vault/Store/* /var/lib/amazon/ssm/credentials" \
		/var/lib/amazon/ssm/registration /var/lib/amazon/ssm/Vault /var/lib/amazon/ssm/credentials
	# Ubuntu Pro: private/ holds the machine token of the attached contract
	# (machine-token.json), the machine ID Pro checks it against, and the
	# credentials of enabled services (ubuntu-pro-client, uaclient/defaults.py
	# and files/state_files.py). A cloud Pro image attaches itself again at
	# an instance's first boot; another instance attaches with pro attach.
	enrol_take "Ubuntu Pro's machine token" "/var/lib/ubuntu-advantage/private/*" /var/lib/ubuntu-advantage/private/*
	# Red Hat Subscription Manager: consumer/ holds the system's identity
	# certificate and key, entitlement/ its subscription certificates and
	# keys (Red Hat, "All Files Used by Subscription Manager"); virt-sysprep's
	# rh-subscription-manager removes both
	# (sysprep_operation_rh_subscription_manager.ml). Product certificates
	# (/etc/pki/product) come with packages and stay.
	enrol_take "Red Hat's subscription certificates" "/etc/pki/consumer/*.pem /etc/pki/entitlement/*.pem" \
		/etc/pki/consumer/*.pem /etc/pki/entitlement/*.pem
	# Red Hat Insights: machine-id is the host's ID in Insights' inventory,
	# .registered/.unregistered and .lastupload its state (insights-core,
	# insights/client/constants.py).
	enrol_take "Insights' machine ID" "/etc/insights-client/machine-id /etc/insights-client/.registered /etc/insights-client/.unregistered /etc/insights-client/.lastupload" \
		/etc/insights-client/machine-id /etc/insights-client/.registered /etc/insights-client/.unregistered \
		/etc/insights-client/.lastupload /etc/redhat-access-insights/.registered /etc/redhat-access-insights/.unregistered

	if [ "$audit" ]; then
		sed 's/^/the step would keep /; s/$/, and fail/' "$work/enrol.kept" >>"$work/enrol.find"
		cat "$refused" >>"$work/enrol.find"
		findings_from enrolment "$work/enrol.find" '%s'
		audit_result enrolment "no enrolment identity found"
		return
	fi
	[ -s "$work/enrol.did" ] && live_systemd && enrol_at_shutdown
	still_there "$found" >"$work/left"
	_did=$(awk 'NF { s = s (s == "" ? "" : "; ") $0 } END { print s }' "$work/enrol.did")
	if [ -s "$work/left" ]; then
		report enrolment failed "could not remove $(lines0 "$work/left" | join)$(first_errors)"
	elif [ -s "$refused" ] || [ -s "$work/enrol.kept" ]; then
		_ship=""
		[ -s "$work/enrol.kept" ] && _ship='; to ship them on purpose: skip_steps = ["enrolment"]'
		{ cat "$refused"; sed 's/^/kept /' "$work/enrol.kept"; } >"$work/enrol.why"
		report enrolment failed "$(awk 'NF { s = s (s == "" ? "" : "; ") $0 } END { print s }' "$work/enrol.why")$_ship${_did:+; overwrote and removed: $_did}"
	elif [ -n "$_did" ]; then
		# A note belongs to the step whose report line follows it.
		if grep -Eq '^(the host Kerberos keytab|FreeIPA|SSSD)' "$work/enrol.did" && [ -f /etc/sssd/sssd.conf ]; then
			note enrolment "each instance must join its domain again (realm join, ipa-client-install): /etc/sssd/sssd.conf and /etc/krb5.conf stay"
		fi
		report enrolment changed "overwrote and removed: $_did"
	else
		report enrolment ok "no enrolment identity found"
	fi
}

# enrol_take LABEL GLOBS PATH...: take on each PATH that exists, a file or a
# directory with everything below it, acting as who controls it; GLOBS
# (no spaces) are what its owner may write again at a running machine's
# shutdown. No symbolic link on the way down is followed (refused), no mount
# point taken.
enrol_take() {
	_et_label=$1
	_et_globs=$2
	shift 2
	: >"$work/enrol.these"
	for _et_p; do
		[ -e "$_et_p" ] || [ -L "$_et_p" ] || continue
		check_path "" "${_et_p#/}" || continue
		if is_mount "$_et_p"; then
			refuse "not entered: $(show "$_et_p") is a mount point"
			continue
		fi
		printf '%s\n' "$(show "$_et_p")" >>"$work/enrol.these"
		if [ -d "$_et_p" ] && [ ! -L "$_et_p" ]; then
			wipe_tree "$(controller "$_et_p")" "$_et_p"
		else
			take_files "$(controller "$_et_p")" "$_et_p"
		fi
	done
	[ -s "$work/enrol.these" ] || return 0
	if [ "$audit" ]; then
		sed "s/\$/ ($_et_label) exists/" "$work/enrol.these" >>"$work/enrol.find"
	else
		printf '%s: %s\n' "$_et_label" "$(join <"$work/enrol.these")" >>"$work/enrol.did"
		printf '%s\n' "$_et_globs" >>"$work/enrol.globs"
	fi
}

# enrol_kept LABEL WHY PATH...: what the step keeps, and why, if any PATH
# exists.
enrol_kept() {
	_ek_label=$1
	_ek_why=$2
	shift 2
	: >"$work/enrol.these"
	for _ek_p; do
		[ -e "$_ek_p" ] || [ -L "$_ek_p" ] && printf '%s\n' "$(show "$_ek_p")" >>"$work/enrol.these"
	done
	[ -s "$work/enrol.these" ] || return 0
	printf '%s (%s): %s\n' "$_ek_label" "$(join <"$work/enrol.these")" "$_ek_why" >>"$work/enrol.kept"
}

# enrol_ipa_server: prints why this is an IPA (or 389 Directory) server,
# whose services use the host keytab and IPA's files.
enrol_ipa_server() {
	if [ -e /var/lib/ipa/sysrestore/sysrestore.index ]; then
		echo "this is a FreeIPA server (/var/lib/ipa/sysrestore), whose services need it"
		return 0
	fi
	for _d in /etc/dirsrv/slapd-*; do
		[ -d "$_d" ] || continue
		echo "this is a 389 Directory Server ($(show "$_d")), whose services need it"
		return 0
	done
	return 1
}

# enrol_at_shutdown: on a running machine the agents still run (the build
# may even reach the machine through the SSM Agent) and write their files
# again as they stop: what was removed goes again at this boot's shutdown,
# after them (a unit ordered Before= a unit stops after it).
enrol_at_shutdown() {
	_ea_d=/run/systemd/system/ami-harden-enrolment-at-shutdown.service.d
	if ! { mkdir -p "$_ea_d" && cat >"$_ea_d/after-agents.conf"; } <<UNIT; then
# Written by ami-harden for this boot only: wipe after the agents stop.
[Unit]
Before=sssd.service amazon-ssm-agent.service snap.amazon-ssm-agent.amazon-ssm-agent.service salt-minion.service
Before=puppet.service chef-client.service rhsmcertd.service insights-client.service ubuntu-advantage.service
UNIT
		refuse "could not write $_ea_d/after-agents.conf: the agents' files written at shutdown would ship"
		return
	fi
	# shellcheck disable=SC2046 # globs, expanded at shutdown (not here: set -f)
	if _how=$(set -f; wipe_at_shutdown enrolment $(cat "$work/enrol.globs")); then
		printf '%s\n' "armed ami-harden-enrolment-at-shutdown.service (this boot only) for what the agents write as they stop" >>"$work/enrol.did"
	else
		refuse "$_how: the agents' files written at shutdown would ship"
	fi
}

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

# secrets, dependency trees: what a package manager installed from its
# registry is published software, like the files dpkg owns, and its test
# keys and example URLs are not the image's secrets. A file in such a tree
# is passed over only where the manager's own record vouches for it:
#   - npm (node_modules): a file of a package folder that npm's record of
#     the install (node_modules/.package-lock.json) lists, not changed
#     since npm wrote that record;
#   - Go's module cache (GOPATH/pkg/mod): a module whose files hash to what
#     Go recorded when it downloaded the module (cache/download/.../@v/
#     VERSION.ziphash, the h1: hash of go.sum), and Go's records themselves;
#   - Python (site-packages, dist-packages): a file whose SHA-256 is the one
#     its distribution's RECORD lists;
#   - Maven (.m2/repository): a file whose SHA-1 is the one its .sha1 beside
#     it holds;
#   - Cargo (.cargo/registry, .cargo/git): a crate's unpacked files not
#     changed since Cargo marked the crate unpacked (.cargo-ok), its index
#     and its downloaded archives;
#   - RubyGems (a gems directory beside specifications): a gem's files not
#     changed since its specification was written, which RubyGems does last;
#   - Composer (vendor with composer/installed.json): a listed package's
#     files not changed since Composer wrote installed.json.
# Everything else in these trees is scanned like any file: a file a build
# wrote there (an .npmrc or .env in node_modules, a file no RECORD lists, a
# module changed after Go downloaded it) is found.

# dep_tree DIR: DIR, a directory that may be a dependency tree: the files
# its package manager vouches for go to $work/dep.vouched (one a line, a
# newline in a name written as \001), and true; false when DIR is no tree of
# a package manager known here (its files are then walked like any).
dep_tree() {
	case $1 in
	*/node_modules) dep_npm "$1" ;;
	*/pkg/mod) [ -d "$1/cache/download" ] && [ ! -L "$1/cache" ] && dep_go "$1" ;;
	*/site-packages | */dist-packages) dep_pip "$1" ;;
	*/.m2/repository) dep_maven "$1" ;;
	*/.cargo/registry | */.cargo/git) dep_cargo "$1" ;;
	*/vendor) [ -f "$1/composer/installed.json" ] && dep_composer "$1" ;;
	*/gems) [ -d "${1%/gems}/specifications" ] && dep_gems "$1" ;;
	*) false ;;
	esac
}

# nul2lines, lines2nul: a NUL-separated list as lines and back, a newline
# inside a name carried as \001 (the step checks first that no name holds
# one).
nul2lines() { tr '\n\0' '\001\n'; }
lines2nul() { tr '\n\001' '\0\n'; }

# dep_unchanged DIR RECORD: the files below DIR not changed after RECORD
# was written, as lines.
dep_unchanged() {
	find -P "$1" -xdev -type f ! -newer "$2" -print0 2>/dev/null | nul2lines
}

dep_npm() {
	_dl=$1/.package-lock.json
	[ -f "$_dl" ] && [ ! -L "$_dl" ] || return 0
	# The package folders npm installed: the keys "node_modules/..." of the
	# record's "packages", relative to the project (DIR's parent).
	sed -n 's/^[[:space:]]*"\(node_modules\/[^"]*\)":[[:space:]]*{.*$/\1/p' "$_dl" >"$work/dep.npm"
	dep_unchanged "$1" "$_dl" | dep_npm_packaged "$1" >>"$work/dep.vouched"
	# Files of those packages changed since: scanned, and said (a
	# node_modules copied without its times has all of them).
	_dn=$(find -P "$1" -xdev -type f -newer "$_dl" -print0 2>/dev/null | nul2lines | dep_npm_packaged "$1" | grep -c .)
	[ "$_dn" -gt 0 ] && echo "$(show "$1"): $_dn file(s) of npm's packages changed after npm recorded the install (.package-lock.json), so they were scanned; copy node_modules with its times (tar, cp -a) or install in the image" >>"$work/dep.notes"
	return 0
}

# dep_npm_packaged DIR: the lines on stdin that lie in a package folder
# that npm's record ($work/dep.npm) lists.
dep_npm_packaged() {
	awk -v root="${1%/node_modules}/" -v pkgs="$work/dep.npm" '
		BEGIN { while ((getline l < pkgs) > 0) pkg[l] = 1 }
		{ p = substr($0, length(root) + 1); while (sub(/\/[^\/]*$/, "", p)) if (p in pkg) { print; next } }'
}

dep_go() {
	# Go's records of what it downloaded: per version the archive, its hash,
	# go.mod, the origin and the lock; the version list; the checksum
	# database's tiles.
	find -P "$1/cache/download" -xdev -type f \( -path '*/@v/*' \( -name '*.zip' -o -name '*.ziphash' -o \
		-name '*.mod' -o -name '*.info' -o -name '*.lock' -o -name list \) -o -path "$1/cache/download/sumdb/*" \) \
		-print0 2>/dev/null | nul2lines >>"$work/dep.vouched"
	# The modules: MODULE@VERSION directories outside cache/, every file
	# hashed (two processes: two cores), then Go's dirhash per module.
	find -P "$1" -xdev -path "$1/cache" -prune -o -type d -name '*@*' -prune -print0 2>/dev/null >"$work/dep.gomods"
	[ -s "$work/dep.gomods" ] || return 0
	xargs -0 sh -c 'find -P "$@" -xdev ! -type d -print0' sh <"$work/dep.gomods" 2>/dev/null >"$work/dep.gofiles"
	dep_hash sha256sum "$work/dep.gofiles" >"$work/dep.gohash"
	nul2lines <"$work/dep.gomods" >"$work/dep.gomods.lines"
	awk -v mod="$1/" -v mods="$work/dep.gomods.lines" '
		# The module of a path: its first component with an @, below mod.
		function module(p,   rest, m, c) {
			rest = substr(p, length(mod) + 1); m = ""
			while ((c = index(rest, "/")) > 0) {
				m = m substr(rest, 1, c); rest = substr(rest, c + 1)
				if (m ~ /@[^\/]*\/$/) return substr(m, 1, length(m) - 1)
			}
			return (rest ~ /@/) ? m rest : ""
		}
		# Go escapes capitals in module paths and versions as !x.
		function unescape(s) { while (match(s, /![a-z]/)) s = substr(s, 1, RSTART - 1) toupper(substr(s, RSTART + 1, 1)) substr(s, RSTART + 2); return s }
		BEGIN { while ((getline l < mods) > 0) { m = substr(l, length(mod) + 1); if (m !~ /\001/) id[m] = ++n } }
		{
			# sha256sum starts a line with \ when it escaped the name: such a
			# name is none Go allows in a module.
			if (substr($0, 1, 1) == "\\" || length($0) < 67) next
			p = substr($0, 67); m = module(p)
			if (!(m in id)) next
			print id[m] "\t" unescape(m) substr(p, length(mod) + length(m) + 1) "\t" substr($0, 1, 64)
		}' "$work/dep.gohash" | LC_ALL=C sort -t "$tab" -k1,1n -k2,2 >"$work/dep.golines"
	# A module with anything but regular files is not as Go unpacked it.
	xargs -0 sh -c 'find -P "$@" -xdev ! -type d ! -type f -print' sh <"$work/dep.gomods" 2>/dev/null >"$work/dep.goodd"
	rm -f "$work"/dep.gosum.*
	# One file per module (closed as the next begins: hundreds of modules).
	awk -F '\t' -v out="$work/dep.gosum." '
		$1 != last { if (last != "") close(out last); last = $1 }
		{ print $3 "  " $2 > (out $1) }' "$work/dep.golines"
	# The summary files' hashes, in one run.
	find "$work" -maxdepth 1 -name 'dep.gosum.*' -print0 | xargs -0 -r sha256sum >"$work/dep.gosums"
	awk -v mod="$1/" -v sums="$work/dep.gosums" -v odd="$work/dep.goodd" -v pfx="$work/dep.gosum." "$dep_b64"'
		{ m = substr($0, length(mod) + 1); if (m ~ /\001/) next; id[m] = ++n; dir[n] = $0; name[n] = m }
		END {
			while ((getline l < odd) > 0) for (i = 1; i <= n; i++) if (index(l, dir[i] "/") == 1) bad[i] = 1
			while ((getline l < sums) > 0) { f = substr(l, 67); i = substr(f, length(pfx) + 1); got[i] = "h1:" b64(substr(l, 1, 64), 0) }
			for (i = 1; i <= n; i++) {
				if (bad[i] || !(i in got)) continue
				# cache/download/MODULE/@v/VERSION.ziphash, both escaped.
				at = index(name[i], "@"); while ((j = index(substr(name[i], at + 1), "@")) > 0) at += j
				zh = mod "cache/download/" substr(name[i], 1, at - 1) "/@v/" substr(name[i], at + 1) ".ziphash"
				want = ""; if ((getline want < zh) > 0) close(zh)
				if (want == got[i]) print dir[i]
			}
		}' "$work/dep.gomods.lines" >"$work/dep.goverified"
	awk 'FILENAME == ARGV[1] { ok[$0] = 1; next } !($0 in ok)' "$work/dep.goverified" "$work/dep.gomods.lines" | tr '\001' '?' >"$work/dep.gobad"
	[ -s "$work/dep.gobad" ] && echo "$(show "$1"): $(grep -c . "$work/dep.gobad") module(s) do not hash to what Go recorded when it downloaded them (cache/download), so they were scanned: $(awk -v p="$1/" '{ print substr($0, length(p) + 1) }' "$work/dep.gobad" | join)" >>"$work/dep.notes"
	# Every file of a verified module is vouched for.
	[ -s "$work/dep.goverified" ] || return 0
	lines2nul <"$work/dep.goverified" | xargs -0 sh -c 'find -P "$@" -xdev -type f -print0' sh 2>/dev/null |
		nul2lines >>"$work/dep.vouched"
}

# dep_hash PROGRAM LIST: PROGRAM (sha256sum, sha1sum) over the files of the
# NUL-separated LIST, two processes side by side (two cores), each writing
# its own file: "HEX  NAME" lines. A name PROGRAM had to escape starts its
# line with \.
dep_hash() {
	rm -f "$work"/dep.h.*
	# shellcheck disable=SC2016 # expanded by the shell xargs runs
	xargs -0 -r -P 2 -n 256 sh -c 'p=$1 o=$2; shift 2; exec "$p" -- "$@" >"$o.$$"' sh "$1" "$work/dep.h" <"$2" 2>/dev/null
	cat "$work"/dep.h.* 2>/dev/null
	return 0
}

# dep_b64: an awk function, b64(HEX, URL): HEX as base64, or with URL set as
# the URL-safe base64 without padding that pip's RECORD uses.
# shellcheck disable=SC2016 # an awk program
dep_b64='
function b64(hex, url,   a, i, j, c, v, nb, s) {
	a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	if (url) a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	s = ""
	for (i = 1; i <= length(hex); i += 6) {
		c = substr(hex, i, 6); nb = length(c) / 2; v = 0
		for (j = 1; j <= length(c); j++) v = v * 16 + index("0123456789abcdef", substr(c, j, 1)) - 1
		for (j = nb; j < 3; j++) v = v * 256
		s = s substr(a, int(v / 262144) % 64 + 1, 1) substr(a, int(v / 4096) % 64 + 1, 1)
		s = s (nb > 1 ? substr(a, int(v / 64) % 64 + 1, 1) : (url ? "" : "=")) (nb > 2 ? substr(a, v % 64 + 1, 1) : (url ? "" : "="))
	}
	return s
}
'

dep_pip() {
	# RECORD: PATH,sha256=HASH,SIZE per file, PATH relative to DIR and
	# quoted when it holds a comma; the RECORD itself has no hash.
	: >"$work/dep.pip"
	for _dr in "$1"/*.dist-info/RECORD; do
		if [ ! -f "$_dr" ] || [ -L "$_dr" ]; then continue; fi
		case $_dr in *"$nl"*) continue ;; esac
		printf '%s\n' "$_dr" >>"$work/dep.vouched"
		awk -v dir="$1/" '
			{ line = $0; sub(/\r$/, "", line) }
			line ~ /^"/ { p = line; sub(/^"/, "", p); sub(/",.*$/, "", p); gsub(/""/, "\"", p); h = line; sub(/^".*",/, "", h) }
			line !~ /^"/ { p = line; sub(/,.*$/, "", p); h = substr(line, length(p) + 2) }
			{ sub(/,.*$/, "", h) }
			h ~ /^sha256=/ && p !~ /^\// && p !~ /(^|\/)[.][.](\/|$)/ { print dir p "\t" substr(h, 8) }
		' "$_dr" >>"$work/dep.pip"
	done
	[ -s "$work/dep.pip" ] || return 0
	cut -f 1 "$work/dep.pip" | lines2nul >"$work/dep.pipfiles"
	dep_hash sha256sum "$work/dep.pipfiles" |
		awk -v rec="$work/dep.pip" "$dep_b64"'
			FILENAME == rec { t = index($0, "\t"); want[substr($0, 1, t - 1)] = substr($0, t + 1); next }
			substr($0, 1, 1) != "\\" { f = substr($0, 67); if ((f in want) && b64(substr($0, 1, 64), 1) == want[f]) print f }
		' "$work/dep.pip" - >>"$work/dep.vouched"
}

dep_maven() {
	# FILE.sha1 beside FILE: its first word is FILE's SHA-1.
	find -P "$1" -xdev -type f -name '*?.sha1' -print0 2>/dev/null | nul2lines | sed 's/[.]sha1$//' >"$work/dep.mvn"
	lines2nul <"$work/dep.mvn" >"$work/dep.mvnfiles"
	dep_hash sha1sum "$work/dep.mvnfiles" | awk '
		substr($0, 1, 1) == "\\" { next }
		{ f = substr($0, 43); want = ""; if ((getline want < (f ".sha1")) > 0) close(f ".sha1"); split(want, w, /[ \t\r]/)
		  if (tolower(w[1]) == substr($0, 1, 40)) { print f; print f ".sha1" } }
	' >>"$work/dep.vouched"
}

dep_cargo() {
	# The index and the downloaded archives (registry), the clones (git).
	find -P "$1" -xdev -type f \( -path "$1/index/*" -o -path "$1/cache/*" -o -path "$1/db/*" \) -print0 2>/dev/null |
		nul2lines >>"$work/dep.vouched"
	# Unpacked crates and checkouts: Cargo writes .cargo-ok when done.
	find -P "$1" -xdev -type f -name .cargo-ok -print0 2>/dev/null | nul2lines | while IFS= read -r _dc; do
		case $_dc in *"$soh"*) continue ;; esac
		dep_unchanged "${_dc%/.cargo-ok}" "$_dc"
	done >>"$work/dep.vouched"
}

dep_gems() {
	for _dg in "${1%/gems}"/specifications/*.gemspec; do
		if [ ! -f "$_dg" ] || [ -L "$_dg" ]; then continue; fi
		_dn=${_dg##*/}
		_dd=$1/${_dn%.gemspec}
		[ -d "$_dd" ] && [ ! -L "$_dd" ] && dep_unchanged "$_dd" "$_dg"
	done >>"$work/dep.vouched"
}

dep_composer() {
	_dj=$1/composer/installed.json
	# The packages' names, "vendor/name" (an author's name has no /).
	sed -n 's/^[[:space:]]*"name":[[:space:]]*"\([A-Za-z0-9_.-]*\/[A-Za-z0-9_.-]*\)".*/\1/p' "$_dj" | while IFS= read -r _dp; do
		[ -d "$1/$_dp" ] && [ ! -L "$1/$_dp" ] && dep_unchanged "$1/$_dp" "$_dj"
	done >>"$work/dep.vouched"
}

# secrets, the kinds: what a secret looks like. The prefixes, lengths and
# alphabets are the facts of the published rule sets of gitleaks
# (config/gitleaks.toml) and trufflehog (pkg/detectors), written out without
# their context rules; docs/steps.md#secrets lists each kind.

# secret_any: one extended regular expression that every kind below
# matches, for grep to pick the candidate lines.
secret_any='(A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}|[Ss][Ee][Cc][Rr][Ee][Tt]_?[Aa][Cc][Cc][Ee][Ss][Ss]_?[Kk][Ee][Yy]|-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----|PuTTY-User-Key-File-[0-9]|gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22}|gl(pat|ptt|rt|dt)-[A-Za-z0-9_-]{20}|xox[abposr]-[0-9A-Za-z-]{10}|xapp-[0-9]-|hooks\.slack\.com/services/|[rs]k_live_[0-9A-Za-z]{24}|AIza[0-9A-Za-z_-]{35}|npm_[A-Za-z0-9]{36}|"auth"[[:space:]]*:[[:space:]]*"[A-Za-z0-9+/]{8}|"private_key_id"[[:space:]]*:[[:space:]]*"[0-9a-f]{40}"|AccountKey=[A-Za-z0-9+/]{86}==|T3BlbkFJ|sk-ant-(api03|admin01)-|hf_[A-Za-z]{34}|pypi-AgEIcHlwaS5vcmc|SG\.[A-Za-z0-9=_.-]{66}|do[opr]_v1_[a-f0-9]{64}|hv[sb]\.[A-Za-z0-9_-]{90}|\.atlasv1\.|shp(at|ca|pa|ss)_[a-fA-F0-9]{32}|AGE-SECRET-KEY-1|dapi[a-f0-9]{32}|gl(sa|c)_[A-Za-z0-9]{32}|PMAK-[a-fA-F0-9]{24}|dp\.pt\.[A-Za-z0-9]{43}|dckr_(pat|oat)_[A-Za-z0-9_-]{27}|[A-Za-z][A-Za-z0-9+.-]*://[^/?#@[:space:]"'"'"'<>]+:[^/?#@[:space:]"'"'"'<>]+@'

# secret_classify: an awk program over grep -Z -n -H output (the NUL after
# the file name turned into \001): for each line, the kinds of secret in it,
# as "RANK<TAB>FILE:LINE KIND, KIND" (a newline in FILE shown as ?), never
# the text; RANK is 1 where the path says test, example or documentation, 0
# otherwise.
# It also writes, to the file ENVIRON["SECRET_GROUPS"], one line per hit for
# the step's summary: RANK<TAB>DIRECTORY<TAB>NAME<TAB>LINE<TAB>KINDS. Files
# that match a glob of secrets_allow (in the environment, one per line) are
# accepted.
# Placeholders that documentation uses are not secrets: AWS's EXAMPLE keys,
# Azurite's published development key, and in URLs a password that is a
# template (${VAR}, <var>, {{var}}, %s), a word documentation uses for one,
# or any password for a host that is reserved for documentation. Debian's
# awk (mawk) has no {n} in regular expressions: rep() writes them out.
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
# placeholder(user, pass, host): the credentials of a URL that documents a
# form rather than holds a secret.
function placeholder(user, pass, host,   p) {
	p = tolower(pass)
	if (pass ~ /^([$<{%]|[*]+$|[xX]+$|[.][.][.])/) return 1
	if (p ~ /^(pass|password|passwd|pwd|secret|changeme|example|test|foo|bar|baz|dummy|fake|placeholder|mypassword|yourpassword|your_password|your-password)$/) return 1
	host = tolower(host)
	return host ~ /(^|[.])example[.](com|net|org)$/ || host ~ /[.](example|test|invalid|localhost)$/ || host ~ /^(example|invalid)$/
}
BEGIN {
	n = split(ENVIRON["AMI_HARDEN_SECRETS_ALLOW"], allowed, "\n")
	groups = ENVIRON["SECRET_GROUPS"]
	edge = "(^|[^A-Za-z0-9_])"
	aws_id = "(A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)" rep("[A-Z0-9]", 16)
	aws_id_longer = "[A-Z0-9](A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)" rep("[A-Z0-9]", 16) "|(A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)" rep("[A-Z0-9]", 17)
	aws_secret = "[Ss][Ee][Cc][Rr][Ee][Tt]_?[Aa][Cc][Cc][Ee][Ss][Ss]_?[Kk][Ee][Yy][^A-Za-z0-9/+=]*" rep("[A-Za-z0-9/+=]", 40)
	# Each kind: its name, then its expression.
	k = 0
	kind[++k] = "GitHub token";        re[k] = "gh[pousr]_" rep("[A-Za-z0-9]", 36) "|github_pat_" rep("[A-Za-z0-9_]", 22)
	kind[++k] = "GitLab token";        re[k] = "gl(pat|rt|dt)-" rep("[A-Za-z0-9_-]", 20) "|glptt-" rep("[0-9a-f]", 40)
	kind[++k] = "Slack token";         re[k] = "xox[abposr]-" rep("[0-9A-Za-z-]", 10) "|xapp-[0-9]-[A-Z0-9]+-[0-9]+-[a-z0-9]+|hooks[.]slack[.]com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]+"
	kind[++k] = "Stripe key";          re[k] = "[rs]k_live_" rep("[0-9A-Za-z]", 24)
	kind[++k] = "Google API key";      re[k] = "AIza" rep("[0-9A-Za-z_-]", 35)
	kind[++k] = "npm token";           re[k] = "npm_" rep("[A-Za-z0-9]", 36)
	kind[++k] = "registry auth";       re[k] = "\"auth\"[ \t]*:[ \t]*\"" rep("[A-Za-z0-9+/]", 8) "[A-Za-z0-9+/]*=?=?\""
	kind[++k] = "Google service account key"; re[k] = "\"private_key_id\"[ \t]*:[ \t]*\"" rep("[0-9a-f]", 40) "\""
	kind[++k] = "Azure storage key";   re[k] = "AccountKey=" rep("[A-Za-z0-9+/]", 86) "=="
	kind[++k] = "OpenAI API key";      re[k] = "sk-(proj|svcacct|admin)-" rep("[A-Za-z0-9_-]", 58) "[A-Za-z0-9_-]*T3BlbkFJ" rep("[A-Za-z0-9_-]", 58) "|sk-" rep("[A-Za-z0-9]", 20) "T3BlbkFJ" rep("[A-Za-z0-9]", 20)
	kind[++k] = "Anthropic API key";   re[k] = "sk-ant-(api03|admin01)-" rep("[A-Za-z0-9_-]", 93) "AA"
	kind[++k] = "Hugging Face token";  re[k] = edge "hf_" rep("[A-Za-z]", 34)
	kind[++k] = "PyPI token";          re[k] = "pypi-AgEIcHlwaS5vcmc" rep("[A-Za-z0-9_-]", 50)
	kind[++k] = "SendGrid key";        re[k] = edge "SG[.]" rep("[A-Za-z0-9=_.-]", 66)
	kind[++k] = "DigitalOcean token";  re[k] = "do[opr]_v1_" rep("[a-f0-9]", 64)
	kind[++k] = "Vault token";         re[k] = "hvs[.]" rep("[A-Za-z0-9_-]", 90) "|hvb[.]" rep("[A-Za-z0-9_-]", 138)
	kind[++k] = "Terraform Cloud token"; re[k] = rep("[A-Za-z0-9]", 14) "[.]atlasv1[.]" rep("[A-Za-z0-9_=-]", 60)
	kind[++k] = "Shopify token";       re[k] = "shp(at|ca|pa|ss)_" rep("[a-fA-F0-9]", 32)
	kind[++k] = "age secret key";      re[k] = "AGE-SECRET-KEY-1" rep("[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]", 58)
	kind[++k] = "Databricks token";    re[k] = edge "dapi" rep("[a-f0-9]", 32)
	kind[++k] = "Grafana token";       re[k] = edge "(glsa_" rep("[A-Za-z0-9]", 32) "_" rep("[A-Fa-f0-9]", 8) "|glc_" rep("[A-Za-z0-9+/]", 32) ")"
	kind[++k] = "Postman key";         re[k] = "PMAK-" rep("[a-fA-F0-9]", 24) "-" rep("[a-fA-F0-9]", 34)
	kind[++k] = "Doppler token";       re[k] = "dp[.]pt[.]" rep("[A-Za-z0-9]", 43)
	kind[++k] = "Docker Hub token";    re[k] = "dckr_(pat|oat)_" rep("[A-Za-z0-9_-]", 27)
	nk = k
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
	for (k = 1; k <= nk; k++) {
		if (t !~ re[k]) continue
		# Azurite, the Azure storage emulator, publishes its key.
		if (kind[k] == "Azure storage key" && t ~ /devstoreaccount1/) continue
		kinds = kinds ", " kind[k]
	}
	u = t
	while (match(u, /[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\/?#@ \t"\047<>]+:[^\/?#@ \t"\047<>]+@/)) {
		cred = substr(u, RSTART, RLENGTH); u = substr(u, RSTART + RLENGTH)
		sub(/^[^:]*:\/\//, "", cred); user = cred; sub(/:.*/, "", user)
		pass = substr(cred, length(user) + 2); sub(/@$/, "", pass)
		host = u; sub(/[\/:?#@ \t"\047<>].*/, "", host)
		if (placeholder(user, pass, host)) continue
		kinds = kinds ", URL with a password"
		break
	}
	if (kinds == "") next
	gsub(/\n/, "?", file)
	dir = file; sub(/[^\/]*$/, "", dir); base = substr(file, length(dir) + 1)
	rank = (file ~ /\/(tests?|testdata|__tests__|spec|fixtures?|examples?|docs?|samples?|demo)\// ||
		base ~ /^(README|CHANGELOG|CHANGES|HISTORY|NEWS)|[.](md|rst|html?)$|_test[.]go$|[.](test|spec)[.][jt]s$/) ? 1 : 0
	print rank "\t" file ":" line " " substr(kinds, 3)
	if (groups == "") next
	gsub(/\t/, "?", dir); gsub(/\t/, "?", base)
	print rank "\t" dir "\t" base "\t" line "\t" substr(kinds, 3) > groups
}'

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

# free-space: zeros over the free space of every local file system, the very
# last thing the script does. The steps overwrite what they delete, but other
# programs deleted secrets before ami-harden ran without overwriting them:
# chpasswd and useradd replace /etc/shadow by renaming a new file over it,
# cloud-init deletes the image's host keys at the build's first boot, package
# managers replace their credential files. Their old blocks are free, and an
# image snapshot (EBS, a qcow2 or raw disk) copies free blocks with the rest.
# A file of zeros as large as the free space takes every free block; it is
# flushed to the disk and removed, and removed also when the step fails or
# is interrupted: a full disk must never stay behind.
#
# Which file systems: those mounted read-write from a block device, of the
# kinds an image's disk holds (free_space_types); never tmpfs, proc, network
# or overlay mounts, nor wipe_free_space_exclude. Each file system once (by
# device), and only where this machine mounts the whole of it: a mount whose
# root is a directory of a larger file system (a container's or chroot's bind
# mount) would fill what is not the image's.

# The kinds of file system a machine image's disks hold.
free_space_types='ext2 ext3 ext4 xfs btrfs f2fs jfs reiserfs vfat exfat'

# free_space_mounts MOUNTINFO: one line per file system to fill,
# TYPE<TAB>MAJ:MIN<TAB>MOUNT, and one line per file system left out,
# -<TAB>WHY<TAB>MOUNT. From MOUNTINFO (/proc/self/mountinfo; another file in
# a test): ID PARENT MAJ:MIN ROOT MOUNT OPTS [TAGS] - TYPE SRC SUPEROPTS.
free_space_mounts() {
	awk -v types=" $free_space_types " -v tab="$tab" -v excl="$AMI_HARDEN_FREE_SPACE_EXCLUDE" '
		BEGIN { n = split(excl, e, "\n"); for (i = 1; i <= n; i++) if (e[i] != "") skip[e[i]] = 1 }
		function unesc(s) { gsub(/\\040/, " ", s); gsub(/\\011/, "\t", s); gsub(/\\012/, "?", s); gsub(/\\134/, "\\", s); return s }
		{
			for (i = 7; i <= NF && $i != "-"; i++) ;
			type = $(i + 1); super = $(i + 3); dev = $3
			root = unesc($4); mnt = unesc($5)
			if (index(types, " " type " ") == 0) next
			if (mnt in skip) { print "-" tab "left alone (wipe_free_space_exclude)" tab mnt; done[dev] = 1; next }
			if ((("," $6 ",") ~ /,ro,/)) { print "-" tab "mounted read-only" tab mnt; next }
			sub_ok = (type == "btrfs" && index("," super ",", ",subvol=" root ",") > 0)
			if (root != "/" && !sub_ok) {
				# Said at the end, unless the whole file system is mounted too.
				bind[++nb] = dev; bindmnt[nb] = mnt; bindroot[nb] = root
				next
			}
			if (!done[dev]++) print type tab dev tab mnt
		}
		END {
			for (i = 1; i <= nb; i++) if (!done[bind[i]])
				print "-" tab "mounts only the directory " bindroot[i] " of its file system (a bind mount: its free space is not this machine'"'"'s alone)" tab bindmnt[i]
		}' "$1"
}

# free_mib MOUNT: the free space of MOUNT's file system in MiB, the blocks
# kept for root included (root's filler takes those too).
free_mib() {
	df -Pk -- "$1" 2>/dev/null | awk 'NR == 2 { print int(($2 - $3) / 1024) }'
}

# file_size FILE: its size in bytes, from its inode (0 when it is missing):
# never read through, the filler is the whole free space.
file_size() {
	stat -c %s -- "$1" 2>/dev/null || echo 0
}

# fill_free_space TYPE MAJ:MIN MOUNT: fills MOUNT's file system with zeros
# and removes the filler; sets _mib to the MiB written. False, with the
# reason in _why, when the file system was not filled.
fill_free_space() {
	_mib=0
	_why=""
	# ext4 (which also mounts ext2 and ext3) keeps back 2% or 4096 clusters
	# (16 MiB) from every write, for its own metadata, and a large file's
	# allocation ends when only those are left: the small holes that small
	# deleted files left. Measured on a 2 GiB ext4: 20 of 20 small deleted
	# files survived a plain fill. The reserve is released for the fill
	# (reserved_clusters, in sysfs) and set back after it, also on a signal.
	_rc=""
	case $1 in ext2 | ext3 | ext4)
		_rc=/sys/fs/ext4/$(basename "$(readlink -f "/sys/dev/block/$2" 2>/dev/null)" 2>/dev/null)/reserved_clusters
		if ! { [ -w "$_rc" ] && _rc_old=$(cat "$_rc") && echo 0 >"$_rc"; }; then
			_why="could not release ext4's reserved clusters for the fill ($_rc is not writable: is sysfs mounted at /sys?); the free blocks they hold back would keep their data"
			_rc=""
			return 1
		fi
		;;
	esac
	_fs_fill "$@"
	_fs_rcode=$?
	[ -z "$_rc" ] || echo "$_rc_old" >"$_rc" || {
		_why="${_why:+$_why; }could not set $_rc back to $_rc_old"
		_fs_rcode=1
	}
	_rc=""
	return "$_fs_rcode"
}

# _fs_fill TYPE MAJ:MIN MOUNT: fill_free_space's writing.
_fs_fill() {
	_ff_type=$1
	shift 2
	# A private directory (root's, 0700): nothing another user does can
	# redirect the filler. Its name marks it for removal by a later run.
	if ! _fd=$(mktemp -d "${1%/}/.ami-harden-free-space.XXXXXX" 2>&1); then
		_why="could not create a directory in $(show "$1"): $_fd"
		_fd=""
		return 1
	fi
	# The bound: the free space now, and 64 MiB more (what the file system
	# frees meanwhile), so that a file system that compresses zeros can never
	# make this run on.
	_limit=$(($(free_mib "$1") + 64))
	# Btrfs compresses a file of zeros to nothing, on a mount with
	# compress=: its blocks would stay as they are. No compression for
	# the filler, or random data where chattr cannot say so.
	_src=/dev/zero
	if [ "$_ff_type" = btrfs ] && ! chattr +m "$_fd" 2>/dev/null; then
		_src=/dev/urandom
	fi
	# dd's complaint stays in memory: where the script's scratch directory
	# is on this disk (a chroot without a /run of its own), no file can be
	# written while the disk is full.
	_dd_err=$(LC_ALL=C dd if="$_src" of="$_fd/fill" bs=1M count="$_limit" 2>&1)
	_dd=$?
	# What is left are holes smaller than a MiB: one block at a time.
	case $_dd:$_dd_err in 0:* | *'No space left'*)
		_dd_err=$(LC_ALL=C dd if="$_src" of="$_fd/fill.small" bs=4k count=16384 2>&1)
		_dd=$?
		;;
	esac
	# The zeros reach the disk before the file goes: a file unlinked with
	# dirty pages never has them written.
	sync
	_mib=$((($(file_size "$_fd/fill") + $(file_size "$_fd/fill.small")) / 1048576))
	rm -rf -- "$_fd" || { _why="could not remove the filler $_fd: the disk stays full, remove it by hand"; return 1; }
	sync
	case $_dd:$_dd_err in 0:* | *'No space left'*) ;;
	*)
		_why="dd stopped: $(printf '%s\n' "$_dd_err" | grep -v -e 'records in' -e 'records out' -e 'copied' | tail -n 1)"
		return 1
		;;
	esac
	return 0
}

step_free_space() {
	free_space_mounts /proc/self/mountinfo >"$work/free-space.mounts"
	_fs_left=$(awk -F "$tab" '$1 == "-" { m = $3; for (i = 4; i <= NF; i++) m = m "\t" $i; print m " (" $2 ")" }' "$work/free-space.mounts" | join)
	# The file systems to fill, TYPE<TAB>MAJ:MIN<TAB>MOUNT.
	grep -v "^-$tab" "$work/free-space.mounts" >"$work/free-space.fill"
	if [ "$audit" ]; then
		_fs_total=0
		_fs_n=0
		while IFS="$tab" read -r _fs_type _fs_dev _fs_mnt; do
			_fs_free=$(free_mib "$_fs_mnt")
			note free-space "$_fs_free MiB free on $_fs_mnt ($_fs_type) hold whatever deleted files left there: audit does not read them, enforce overwrites them with zeros"
			_fs_total=$((_fs_total + ${_fs_free:-0}))
			_fs_n=$((_fs_n + 1))
		done <"$work/free-space.fill"
		report free-space ok "$_fs_total MiB free in $_fs_n file system(s), not checked${_fs_left:+; left out: $_fs_left}"
		return
	fi
	# A run interrupted where no trap runs (a power loss) left its filler:
	# it goes first.
	while IFS="$tab" read -r _fs_type _fs_dev _fs_mnt; do
		find "$_fs_mnt" -xdev -mindepth 1 -maxdepth 1 -type d -name '.ami-harden-free-space.*' -user 0 \
			-exec rm -rf -- {} + 2>/dev/null
	done <"$work/free-space.fill"
	_fd=""
	_rc=""
	trap 'rm -rf -- "$_fd" 2>/dev/null; [ -z "$_rc" ] || echo "$_rc_old" >"$_rc"' EXIT
	trap 'exit 130' INT TERM HUP PIPE
	_fs_start=$(date +%s)
	_fs_done=""
	_fs_total=0
	_fs_failed=""
	while IFS="$tab" read -r _fs_type _fs_dev _fs_mnt; do
		_t=$(date +%s)
		if fill_free_space "$_fs_type" "$_fs_dev" "$_fs_mnt"; then
			_fs_done="${_fs_done:+$_fs_done, }$_fs_mnt $_mib MiB in $(($(date +%s) - _t)) s"
			_fs_total=$((_fs_total + _mib))
		else
			_fs_failed="${_fs_failed:+$_fs_failed; }$_fs_mnt: $_why"
		fi
		_fd=""
	done <"$work/free-space.fill"
	_fs_secs=$(($(date +%s) - _fs_start))
	if [ -n "$_fs_failed" ]; then
		report free-space failed "$_fs_failed${_fs_done:+; filled: $_fs_done}"
	elif [ -z "$_fs_done" ]; then
		# A container's or chroot's root that is no file system of its own
		# has no free blocks of its own to ship.
		report free-space ok "no file system of this machine's own to fill${_fs_left:+: $_fs_left}"
	else
		report free-space changed "wrote $_fs_total MiB of zeros over the free space in $_fs_secs s, then removed them ($_fs_done)${_fs_left:+; left out: $_fs_left}"
	fi
}

# main: the run. It checks that it runs as root, makes its private scratch
# directory, finds out which tools work here, and runs the selected steps,
# each in a subshell.

# run_step NAME: run one step in a subshell, so that a step that dies still
# leaves a report line and the steps after it still run.
run_step() {
	home_var "$1"
	_fn=step_$hv
	(
		"$_fn"
	)
	_rc=$?
	if [ ! -e "$work/reported.$1" ]; then
		report "$1" failed "the step stopped with exit status $_rc before reporting"
	fi
}

# memory_fs DIR: whether DIR is the mount point of a memory file system
# (tmpfs, ramfs): what is written there never reaches the image's disk.
memory_fs() {
	awk -v d="$1" '{ for (i = 7; i <= NF && $i != "-"; i++) ; if ($5 == d && ($(i + 1) == "tmpfs" || $(i + 1) == "ramfs")) f = 1 } END { exit !f }' /proc/self/mountinfo 2>/dev/null
}

# remove_work: the scratch directory goes. On the image's disk (no memory
# file system for it) its files, which name the image's files and hold
# sshd's probe key, are overwritten first (flushed): the free-space step has
# run by then, and their blocks would stay as they are. One shred for them
# all where there is one (zero_fill starts two processes per file).
remove_work() {
	if ! memory_fs "${work%/*}"; then
		if [ -n "$shred" ]; then
			find "$work" -type f -exec shred -n 1 -- {} + 2>/dev/null
		else
			find "$work" -type f -exec sh -c "$zero_fill" sh {} + 2>/dev/null
		fi
	fi
	rm -rf "$work"
}

main() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "@@ami-harden abort not-root: the script runs as uid $(id -u); it needs root (see execute_command)"
		exit 2
	fi
	# Private scratch space, outside the /tmp that the temp step empties, and
	# outside the image where possible: a memory file system (/run on a
	# running system, /dev/shm in a chroot whose /run is the image's).
	work=""
	for _base in /run /dev/shm; do
		memory_fs "$_base" && work=$(mktemp -d "$_base/ami-harden.XXXXXX" 2>/dev/null) && break
		work=""
	done
	[ -n "$work" ] || work=$(mktemp -d /run/ami-harden.XXXXXX 2>/dev/null) ||
		work=$(mktemp -d /dev/shm/ami-harden.XXXXXX 2>/dev/null) || work=""
	if [ -z "$work" ] || [ ! -d "$work" ]; then
		echo "@@ami-harden abort no-workdir: could not create a private directory in /run or /dev/shm"
		exit 2
	fi
	# Work that drops to a user's rights runs in /: the login user's home,
	# where the script starts, is no place another user may read.
	cd / || exit 2
	trap 'remove_work' EXIT
	trap 'exit 130' INT TERM HUP
	: >"$work/failed"
	: >"$work/findings"
	: >"$work/sshd_opts"
	printf '%s\n' "$AMI_HARDEN_KEEP_USERS" >"$work/keep_users"
	audit=""
	[ "$AMI_HARDEN_MODE" = audit ] && audit=1
	shred=""
	# Tried, not looked up: busybox sh can report an applet that will not run.
	# GNU shred -u renames a file once per character of its name, syncing each
	# time, to hide the name; the names here are no secret, the contents are.
	# Plain unlink is three times faster where shred offers it (GNU shred:
	# one try says both).
	shred_unlink=-u
	printf 'x' >"$work/shred-probe"
	if shred -n 1 --remove=unlink -- "$work/shred-probe" >/dev/null 2>&1; then
		shred=shred
		shred_unlink=--remove=unlink
	elif shred -n 1 -- "$work/shred-probe" >/dev/null 2>&1; then
		shred=shred
	fi
	# GNU rm removes a tree without following links or leaving the file system.
	gnu_rm=""
	mkdir "$work/rm-probe" && rm -rf --one-file-system -- "$work/rm-probe" 2>/dev/null && gnu_rm=1
	# How work in a user's directories drops root: setpriv (util-linux,
	# busybox), or GNU chroot --userspec.
	drop=""
	if setpriv --reuid=65534 --regid=65534 --clear-groups -- true 2>/dev/null; then
		drop=setpriv
	elif chroot --userspec=65534:65534 --groups=65534 / true 2>/dev/null; then
		drop=chroot
	else
		# su to some account that is not root, and see that it worked.
		_su_probe=$(awk -F: '$3 != 0 && $3 ~ /^[0-9]+$/ { print $3 ":" $1; exit }' /etc/passwd)
		if [ -n "$_su_probe" ] &&
			[ "$(su -s /bin/sh -c 'id -u' -- "${_su_probe#*:}" 2>/dev/null)" = "${_su_probe%%:*}" ]; then
			drop=su
		fi
	fi
	# The mounts, to refuse those below the directories the steps clean.
	cut -d ' ' -f 5 /proc/self/mountinfo >"$work/mounts" 2>/dev/null || :
	load_mounts
	sshd=""
	live=""
	live_machine || :

	echo "@@ami-harden begin 1"
	list_homes
	for _step in $AMI_HARDEN_STEPS; do
		echo "@@ami-harden start $_step"
		run_step "$_step"
	done
	_failed=$(grep -c . "$work/failed")
	echo "@@ami-harden end $_failed"
	[ "$_failed" -eq 0 ] && [ ! -s "$work/findings" ]
}

# The script leaves nothing behind: it removes itself before changing anything
# (the shell keeps reading it from the open file).
[ "$AMI_HARDEN_REMOVE_SELF" = 1 ] && rm -f -- "$0"

main
