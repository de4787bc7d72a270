# shellcheck shell=bash
# The rig's one guard, sourced by target.sh and hostile.sh: whatever they are
# given, they never work on this machine's own root. The sourcing script
# defines die.

# marker: the file `target.sh up` leaves in every target it makes.
# shellcheck disable=SC2034 # read by the scripts that source this
marker=.ami-harden-test-target

# guard DIR: prints DIR's real path; dies on no DIR, on /, and on any path
# that is this machine's root directory under another name.
guard() {
	[ -n "$1" ] || die "no directory given"
	local real
	real=$(realpath -m "$1")
	[ "$real" != / ] || die "refusing to use / as a target"
	if [ -e "$real" ] && [ "$(stat -c %d:%i "$real")" = "$(stat -c %d:%i /)" ]; then
		die "refusing $1: it is this machine's root directory"
	fi
	echo "$real"
}
