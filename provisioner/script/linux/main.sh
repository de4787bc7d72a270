# shellcheck shell=sh
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
