# shellcheck shell=sh
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
