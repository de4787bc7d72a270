#!/bin/sh
# The floor of the benchmark's scaling runs: only the I/O that cannot be
# avoided on the large image, and the processes that "touch only what you
# own" cannot avoid, with nothing checked or reported. Each secret file
# overwritten once and unlinked (the fastest way GNU shred has) by a process
# of its home's owner (root's writes in a user's home could be turned against
# the system), up to 8 homes at once, as ami-harden runs them; every temp
# entry deleted, every log overwritten once and emptied, in as few processes
# as find allows. FLOOR_AS_ROOT=1 overwrites every home's files in one shred
# as root instead: what no safe cleanup may do, measured for comparison. Run
# as root by `make bench` only, in a throwaway target's chroot.
set -e

# by_owner: for each "UID:GID HOME" line on stdin, one shred of the home's
# secret files (those of the large image) running as UID:GID, 8 at a time.
by_owner() {
	n=0
	while read -r ug h; do
		set --
		for f in "$h"/.ssh/authorized_keys "$h"/.ssh/id_* "$h"/.bash_history "$h"/.python_history; do
			[ -f "$f" ] && set -- "$@" "$f"
		done
		[ $# -gt 0 ] || continue
		setpriv --reuid="${ug%:*}" --regid="${ug#*:}" --clear-groups -- shred -n 1 --remove=unlink -- "$@" &
		n=$((n + 1))
		if [ "$n" -ge 8 ]; then
			wait
			n=0
		fi
	done
	wait
}

if [ "${FLOOR_AS_ROOT:-}" = 1 ]; then
	for h in /root /home/*; do
		for f in "$h"/.ssh/authorized_keys "$h"/.ssh/id_* "$h"/.bash_history "$h"/.python_history; do
			[ -f "$f" ] && printf '%s\0' "$f"
		done
	done | xargs -0 -r shred -n 1 --remove=unlink --
else
	stat -c '%u:%g %n' /root /home/* | by_owner
fi
find /tmp /var/tmp -xdev -mindepth 1 -delete
find /var/log -xdev -type f ! -size 0 -exec shred -n 1 -- {} + -exec truncate -s 0 -- {} +

# Stray secrets: a plain grep of the secrets step's patterns (the benchmark
# writes them to /run) over the same trees, listing the files.
grep -rIlE -f /run/ami-harden-bench-pattern /etc /root /home /opt /srv /usr/local /var >/dev/null 2>&1 || true
