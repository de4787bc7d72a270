# shellcheck shell=sh
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
