#!/bin/sh
# ami-harden: cleans and hardens a Linux machine before it becomes a shared image.
#
# The Packer provisioner joins this file, the file of each selected step
# (STEP.sh beside it) and run.sh into one script, writes its parameters as
# plain shell assignments right below the first line, uploads it once, runs it
# once as root and reads its report from standard output. The default script,
# every step included, is provisioner/testdata/default-linux.sh; it can also
# run by hand (as root, on a machine you are about to turn into an image, NEVER
# on your workstation):
#
#   AMI_HARDEN_STEPS="sshd passwords" sh default-linux.sh
#
# Report protocol, one line each, on standard output (nothing else starts with @@ami-harden):
#   @@ami-harden begin 1                      the script runs as root, protocol version 1
#   @@ami-harden start NAME                   step NAME starts (names the step a lost connection cut)
#   @@ami-harden finding NAME TEXT            audit mode: one thing step NAME found wrong
#   @@ami-harden note NAME TEXT               something step NAME leaves as it is, for the user to know
#   @@ami-harden step NAME STATUS DETAIL      STATUS is ok | changed | skipped | failed | finding
#   @@ami-harden end FAILED                   all steps ran; FAILED of them failed
#   @@ami-harden abort REASON                 nothing was changed, the run stopped
# DETAIL names files, accounts and counts; it never carries the contents of a file.
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
# Why each step exists: docs/provisioners/ami-harden.mdx.

# Parameters. The provisioner sets them above; the defaults are what an empty
# `provisioner "ami-harden" {}` block means.
: "${AMI_HARDEN_STEPS:=sshd services passwords host-keys user-keys credentials history accounts cloud-init machine-id temp secrets logs}"
# Keyword/value lines for sshd, one per line, "Keyword value".
: "${AMI_HARDEN_SSHD_SETTINGS:=PasswordAuthentication no
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PermitEmptyPasswords no
KbdInteractiveAuthentication no}"
# Absolute, clean paths, one per line, wiped by the credentials step.
: "${AMI_HARDEN_WIPE_PATHS:=}"
# Accounts, one per line, whose passwords and keys stay (keep_users).
: "${AMI_HARDEN_KEEP_USERS:=}"
# Accounts, one per line, that the accounts step removes (remove_users).
: "${AMI_HARDEN_REMOVE_USERS:=}"
# Globs of files, one per line, whose stray secrets are accepted (secrets_allow).
: "${AMI_HARDEN_SECRETS_ALLOW:=}"
# 1: cloud-init's seed (/var/lib/cloud/seed) stays (keep_cloud_init_seed).
: "${AMI_HARDEN_KEEP_CLOUD_INIT_SEED:=0}"
# Services, one per line, that the services step turns off: the default list
# less keep_services, plus disable_services (names: see services.sh).
: "${AMI_HARDEN_DISABLE_SERVICES:=telnet
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
nis}"
# Names of the default list left as they are (keep_services), one per line.
: "${AMI_HARDEN_KEEP_SERVICES:=}"
# Overwrite passes of random data before a secret file is unlinked.
: "${AMI_HARDEN_SHRED_PASSES:=1}"
# enforce: change what needs changing, then verify it. audit: change nothing,
# report as a finding everything enforce would change.
: "${AMI_HARDEN_MODE:=enforce}"
# 1 when the provisioner uploaded this file: it then removes itself.
: "${AMI_HARDEN_REMOVE_SELF:=0}"

set -u
umask 077
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH LC_ALL=C
# The build's own shell must not write a history file back after the wipe.
unset HISTFILE

# ---------------------------------------------------------------- reporting

# report STEP STATUS DETAIL: the one line the provisioner reads for a step.
report() {
	_detail=$(printf '%s' "$3" | tr '\t\r\n' '   ')
	printf '@@ami-harden step %s %s %s\n' "$1" "$2" "${_detail:--}"
	printf '%s\n' "$1" >>"$work/reported"
	[ "$2" = failed ] && printf '%s\n' "$1" >>"$work/failed"
	return 0
}

# finding STEP TEXT: in audit mode, one thing the step would change.
finding() {
	_text=$(printf '%s' "$2" | tr '\t\r\n' '   ')
	printf '@@ami-harden finding %s %s\n' "$1" "$_text"
	printf '%s\n' "$1" >>"$work/findings"
}

# note STEP TEXT: something the step leaves in place that the user must know
# about (a way into the image that stays, say); shown on a line of its own.
note() {
	_text=$(printf '%s' "$2" | tr '\t\r\n' '   ')
	printf '@@ami-harden note %s %s\n' "$1" "$_text"
}

# findings_from STEP FILE FORMAT: a finding per line of FILE (printf FORMAT
# with the line), the first 50 of them, then one that counts the rest.
findings_from() {
	_n=0
	while IFS= read -r _line; do
		_n=$((_n + 1))
		if [ "$_n" -le 50 ]; then
			# shellcheck disable=SC2059 # FORMAT is the caller's constant
			finding "$1" "$(printf "$3" "$_line")"
		fi
	done <"$2"
	[ "$_n" -le 50 ] || finding "$1" "and $((_n - 50)) more like these"
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
# showing only: a newline inside a name is shown as "?".
lines0() {
	tr '\n\0' '?\n' <"$1"
}

# count0 FILE: how many names a NUL-separated list holds.
count0() {
	tr -cd '\0' <"$1" | wc -c | tr -d ' '
}

# show NAME: a name as one line, a newline inside it shown as "?".
show() {
	printf '%s' "$1" | tr '\n' '?'
}

# refuse TEXT: note in this step's refusals something it would not do. What
# was refused fails the step (see finish_wipe): a secret may be left there.
refuse() {
	printf '%s\n' "$1" >>"$refused"
}


# ---------------------------------------------------------------- owners and mounts

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

# no_login: an awk regular expression for the shells of accounts that
# cannot log in.
no_login='(nologin|false|sync|halt|shutdown)$'

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

# mounts_under ROOT: the mount points strictly below ROOT, one per line as
# /proc/self/mountinfo writes them (a space as \040, a newline as \012).
# ROOT never holds a newline (homes come from passwd, the rest are fixed).
mounts_under() {
	[ -s "$work/mounts" ] || return 0
	awk -v root="$1" '{
		p = $0
		gsub(/\\040/, " ", p); gsub(/\\011/, "\t", p); gsub(/\\134/, "\\", p)
		if (root == "/" ? p != "/" : index(p, root "/") == 1) print p
	}' "$work/mounts"
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
	[ -s "$work/mounts" ] || return 1
	awk -v p="$1" '{ gsub(/\\040/, " "); gsub(/\\011/, "\t"); gsub(/\\012/, "\n"); gsub(/\\134/, "\\") } $0 == p { f = 1 } END { exit !f }' "$work/mounts"
}

# drop_mounts LIST: the names of a NUL-separated list that are not mount
# points (rm -rf --one-file-system stays on the file system of the name it
# is given: a mount point given to it is emptied). The caller refuses the
# mount points (refuse_mounts). A name with a newline that matches a mount
# point line is left out too, and where a mount point's path holds a
# newline, every name with one: leaving out is the safe side.
drop_mounts() {
	mounts_under / >"$work/mounts.all"
	if [ ! -s "$work/mounts.all" ]; then
		cat "$1"
		return
	fi
	_dm_nl=no
	grep -q '\\012' "$work/mounts.all" && _dm_nl=yes
	# shellcheck disable=SC2016 # expanded by the shell xargs runs
	xargs -0 -r sh -c 'nl="
" skip_nl=$1
	shift
	for f do
		case $f in *"$nl"*) [ "$skip_nl" = yes ] && continue ;; esac
		grep -qxF -- "$f" "$0" || printf "%s\0" "$f"
	done' "$work/mounts.all" "$_dm_nl" <"$1"
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

# ---------------------------------------------------------------- wiping files

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
	overwrite_files "$_tf_ug" "$work/hard" "$@"
	[ -s "$work/hard" ] || return 0
	refuse_hard "$work/hard"
	as_owner "$_tf_ug" xargs -0 rm -f -- <"$work/hard" 2>>"$work/wipe.err"
}

# overwrite_files UID:GID OUT PATH...: the work of take_files, in one find
# acting as UID:GID (and as few shred processes as the argument limit
# allows): links unlinked, single-link files overwritten and unlinked, and
# the names of files with more than one link written to OUT, untouched. No
# parentheses around -exec ... +: busybox's find does not run it there.
overwrite_files() {
	_of_ug=$1
	_of_out=$2
	shift 2
	if [ -n "$shred" ]; then
		# shellcheck disable=SC2086 # $shred_unlink is one option
		as_owner "$_of_ug" find -P "$@" -maxdepth 0 -type l -exec rm -f -- {} + -o \
			-type f -links 1 -exec shred -n "$AMI_HARDEN_SHRED_PASSES" $shred_unlink -- {} + -o \
			-type f -print0 >"$_of_out" 2>>"$work/wipe.err"
	else
		as_owner "$_of_ug" find -P "$@" -maxdepth 0 -type l -exec rm -f -- {} + -o \
			-type f -links 1 -exec sh -c "$zero_fill"' && rm -f -- "$@"' sh {} + -o \
			-type f -print0 >"$_of_out" 2>>"$work/wipe.err"
	fi
}

# refuse_hard LIST: refuse each file of a NUL-separated list for its other
# hard links.
refuse_hard() {
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
		sh -c "$zero_fill" sh "$1" 2>/dev/null || return 1
	fi
	{ printf '' >"$1"; } 2>/dev/null
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

# remove_tree UID:GID PATH: delete PATH and everything below it, acting as
# UID:GID, never entering another mount. GNU rm walks with openat and never
# follows a link; elsewhere files go first, then the emptied directories.
remove_tree() {
	if [ "$gnu_rm" ]; then
		as_owner "$1" rm -rf --one-file-system -- "$2" 2>>"$work/wipe.err"
	else
		as_owner "$1" find -P "$2" -xdev ! -type d -exec rm -f -- {} + 2>>"$work/wipe.err"
		as_owner "$1" find -P "$2" -xdev -depth -type d -exec rmdir -- {} + 2>>"$work/wipe.err"
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
	refuse_mounts "$1" || :
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
		if [ "$_dc_all" ]; then
			cp "$work/dc.all" "$work/dc.mine"
		else
			find -P "$1" -xdev -mindepth 1 -maxdepth 1 -user "$_dc_uid" -print0 >"$work/dc.mine"
		fi
		drop_mounts "$work/dc.mine" >"$work/dc.take"
		# shellcheck disable=SC2016 # expanded by the shell xargs runs
		as_owner "$_dc_uid:$_dc_gid" xargs -0 -r sh -c 'tool=$1 passes=$2; shift 2
			if [ "$tool" = shred ]; then find -P "$@" -xdev -type f -links 1 -exec shred -n "$passes" -- {} +
			else find -P "$@" -xdev -type f -links 1 -exec sh -c "$0" sh {} +; fi' "$zero_fill" "${shred:-zero}" \
			"$AMI_HARDEN_SHRED_PASSES" <"$work/dc.take" 2>>"$work/wipe.err"
		if [ "$gnu_rm" ]; then
			as_owner "$_dc_uid:$_dc_gid" xargs -0 -r rm -rf --one-file-system -- <"$work/dc.take" 2>>"$work/wipe.err"
		else
			# shellcheck disable=SC2016 # expanded by the shell xargs runs
			as_owner "$_dc_uid:$_dc_gid" xargs -0 -r sh -c 'find -P "$@" -xdev ! -type d -exec rm -f -- {} +
				find -P "$@" -xdev -depth -type d -exec rmdir -- {} +' sh <"$work/dc.take" 2>>"$work/wipe.err"
		fi
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

# finish_wipe STEP: report what the step took on and refused, and verify
# that what it took on is gone. Refusals fail the step.
finish_wipe() {
	_n=$(count0 "$found")
	if [ "$audit" ]; then
		lines0 "$found" >"$work/found.lines"
		findings_from "$1" "$work/found.lines" '%s exists'
		findings_from "$1" "$refused" '%s'
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

# relabel FILE: give a file the SELinux label policy wants for its path,
# where SELinux is in use (restorecon does nothing elsewhere).
relabel() {
	command -v restorecon >/dev/null 2>&1 || return 0
	[ -e /sys/fs/selinux/enforce ] || grep -Eqs '^SELINUX=(enforcing|permissive)' /etc/selinux/config || return 0
	restorecon -F -- "$1" >/dev/null 2>&1
}

# ---------------------------------------------------------------- accounts and homes

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
	while IFS="$tab" read -r _uid _h _user _shell; do
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
	done <"$work/homes.raw" >"$work/homes.dirs"
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

# Files the home steps take on in every home, relative to it (a * only in
# the last part). user-keys adds the AuthorizedKeysFile patterns of sshd.
home_files_user_keys='.ssh/authorized_keys .ssh/authorized_keys2 .ssh/id_* .ssh/*.pem .ssh/*.key .ssh/*.ppk
.ssh/known_hosts .ssh/known_hosts.old .ssh/config'
home_files_credentials='.aws/credentials .aws/sso/cache .aws/cli/cache .docker/config.json .git-credentials .netrc .pgpass .my.cnf
.gnupg/private-keys-v1.d .gnupg/secring.gpg .local/share/keyrings .m2/settings.xml .gradle/gradle.properties
.cargo/credentials .cargo/credentials.toml .config/containers/auth.json
.config/gcloud/credentials.db .config/gcloud/access_tokens.db .config/gcloud/application_default_credentials.json
.config/gcloud/legacy_credentials .azure/accessTokens.json .azure/msal_token_cache.json
.kube/config .npmrc .pypirc .config/gh/hosts.yml .vault-token .terraform.d/credentials.tfrc.json'
home_files_history='.bash_history .zsh_history .zhistory .sh_history .ash_history .history
.python_history .mysql_history .psql_history .sqlite_history .lesshst .viminfo .node_repl_history
.rediscli_history .irb_history .local/share/fish/fish_history .local/share/nano/search_history'

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

# home_files STEP: sets hf to the files STEP looks for in every home. A
# variable, not output: homes_pass asks for every home and step, and a
# command substitution forks a shell each time (1,500 forks for 500 homes).
home_files() {
	case $1 in
	user-keys) hf=$home_files_user_keys ;;
	credentials) hf=$home_files_credentials ;;
	*) hf=$home_files_history ;;
	esac
}

# homes_pass: one pass over every home for all the selected home steps
# (user-keys, credentials, history): per home one process as its owner
# overwrites and unlinks every file those steps take on, instead of one per
# step; on an image with hundreds of accounts that is most of the cost.
# Each step's lists ($work/STEP.found, .refused) are filled here; the steps
# then report their own part (finish_wipe).
homes_pass() {
	[ -e "$work/homes.done" ] && return 0
	: >"$work/homes.done"
	_steps=""
	for _s in user-keys credentials history; do
		# A home step that failed before the pass (user-keys, when sshd
		# cannot say where keys live) changes nothing here either.
		[ -e "$work/$_s.skip" ] && continue
		case " $AMI_HARDEN_STEPS " in *" $_s "*) _steps="$_steps $_s" ;; esac
		wipe_start "$_s"
	done
	refused_homes "$_steps"
	[ -s "$work/user_keys_files" ] && home_files_user_keys="$home_files_user_keys $(cat "$work/user_keys_files")"
	# The homes of keep_users keep their keys.
	_kept_homes=$(awk -F: 'FILENAME == ARGV[1] { if ($0 != "") keep[$0] = 1; next } ($1 in keep) { print $6 }' \
		"$work/keep_users" "$work/passwd" | while IFS= read -r _kh; do [ -d "$_kh" ] && readlink -f -- "$_kh"; done)
	_jobs=0
	while IFS="$tab" read -r _ug _m _home; do
		mnt=""
		[ "$_m" = m ] && mnt=1
		: >"$work/other_keys"
		set --
		for _s in $_steps; do
			if [ "$_s" = user-keys ]; then
				case "$nl$_kept_homes$nl" in *"$nl$_home$nl"*) continue ;; esac
			fi
			use_lists "$_s"
			home_files "$_s"
			set -f
			for _rel in $hf; do
				set +f
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
						wipe_tree "$_ug" "$_f"
					fi
				done
			done
			set +f
			[ "$_s" = user-keys ] && other_private_keys "$_home" "$@"
		done
		if [ -s "$work/other_keys" ]; then
			# Names of other private keys in .ssh: one per line (a name with a
			# newline in ~/.ssh is not a key file this looks for).
			while IFS= read -r _f; do
				use_lists user-keys
				printf '%s\0' "$_f" >>"$found"
				set -- "$@" "$_f"
			done <"$work/other_keys"
		fi
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
		overwrite_files "$_ug" "$work/hard.$_jobs" "$@" </dev/null &
		if [ "$_jobs" -ge "$homes_jobs" ]; then
			wait
			homes_reap "$_jobs" "$_steps"
			_jobs=0
		fi
	done <"$work/homes"
	wait
	homes_reap "$_jobs" "$_steps"
}

# other_private_keys HOME TAKEN...: in $work/other_keys, the files of
# HOME/.ssh that no pattern took (TAKEN) and that hold a private key (PEM,
# OpenSSH or PuTTY), whatever their names. Read as root, changing nothing;
# a grep only for homes with such files.
other_private_keys() {
	: >"$work/other_keys"
	_ok_dir=$1/.ssh
	shift
	[ -d "$_ok_dir" ] && [ ! -L "$_ok_dir" ] || return 0
	: >"$work/other_cands"
	for _ok_f in "$_ok_dir"/* "$_ok_dir"/.[!.]*; do
		if [ ! -f "$_ok_f" ] || [ -L "$_ok_f" ]; then continue; fi
		case $_ok_f in *"$nl"*) continue ;; esac
		for _ok_t; do [ "$_ok_t" = "$_ok_f" ] && continue 2; done
		printf '%s\n' "$_ok_f" >>"$work/other_cands"
	done
	[ -s "$work/other_cands" ] || return 0
	tr '\n' '\0' <"$work/other_cands" |
		xargs -0 grep -l -E -e '-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY-----' -e '^PuTTY-User-Key-File-' -- 2>/dev/null >"$work/other_keys"
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
					case $_hr_h in "$_hr_home"/$_hr_rel) _hr_to=$_hr_s ;; esac
				done
				set +f
			done
			hard_link_text "$_hr_h" >>"$work/$_hr_to.refused"
			echo >>"$work/$_hr_to.refused"
		done
		: >"$work/hard.$_hr_i"
	done
}
# ---------------------------------------------------------------- sshd helpers

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
# False (with $sshd empty) when there is no sshd.
sshd_ready() {
	[ -n "$sshd" ] && return 0
	sshd=$(sshd_binary) || { sshd=""; return 1; }
	sshd_command_line | awk '!seen[$0]++' >"$work/sshd_opts"
	sshd_probe_key
}

# has_systemd: whether the image boots with systemd.
has_systemd() {
	[ -d /etc/systemd/system ] && { [ -x /lib/systemd/systemd ] || [ -x /usr/lib/systemd/systemd ]; }
}

# live_systemd: the script runs on a booted machine whose init is systemd,
# not in a chroot of an image: that machine's own shutdown will still write
# to the disk after the steps (the random seed, login records, logs).
live_systemd() {
	[ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1 &&
		[ "$(stat -L -c %d:%i /proc/1/root 2>/dev/null)" = "$(stat -c %d:%i /)" ]
}

# live_machine: the script runs on a booted machine (any init), not in a
# chroot of an image: PID 1 sees the same / as the script (in a chroot it is
# the host's init, and its processes and sockets are the host's).
live_machine() {
	[ "$(stat -L -c %d:%i /proc/1/root 2>/dev/null)" = "$(stat -c %d:%i /)" ]
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

# ---------------------------------------------------------------- main

# run_step NAME: run one step in a subshell, so that a step that dies still
# leaves a report line and the steps after it still run.
run_step() {
	_fn=step_$(printf '%s' "$1" | tr - _)
	(
		"$_fn"
	)
	_rc=$?
	if ! grep -qx "$1" "$work/reported"; then
		report "$1" failed "the step stopped with exit status $_rc before reporting"
	fi
}

main() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "@@ami-harden abort not-root: the script runs as uid $(id -u); it needs root (see execute_command)"
		exit 2
	fi
	# Private scratch space, outside the /tmp that the temp step empties, and
	# outside the image where possible (/run is a tmpfs on a running system).
	for _base in /run /dev/shm; do
		work=$(mktemp -d "$_base/ami-harden.XXXXXX" 2>/dev/null) && break
	done
	if [ -z "${work:-}" ] || [ ! -d "$work" ]; then
		echo "@@ami-harden abort no-workdir: could not create a private directory in /run or /dev/shm"
		exit 2
	fi
	# Work that drops to a user's rights runs in /: the login user's home,
	# where the script starts, is no place another user may read.
	cd / || exit 2
	trap 'rm -rf "$work"' EXIT
	trap 'exit 130' INT TERM HUP
	: >"$work/reported"
	: >"$work/failed"
	: >"$work/findings"
	: >"$work/sshd_opts"
	printf '%s\n' "$AMI_HARDEN_KEEP_USERS" >"$work/keep_users"
	tab=$(printf '\t')
	nl='
'
	audit=""
	[ "$AMI_HARDEN_MODE" = audit ] && audit=1
	shred=""
	# Tried, not looked up: busybox sh can report an applet that will not run.
	printf 'x' >"$work/shred-probe" && shred -n 1 -- "$work/shred-probe" >/dev/null 2>&1 && shred=shred
	# GNU shred -u renames a file once per character of its name, syncing each
	# time, to hide the name; the names here are no secret, the contents are.
	# Plain unlink is three times faster where shred offers it.
	shred_unlink=-u
	[ -n "$shred" ] && shred -n 1 --remove=unlink -- "$work/shred-probe" >/dev/null 2>&1 && shred_unlink=--remove=unlink
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
	sshd=""

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
