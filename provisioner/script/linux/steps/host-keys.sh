# shellcheck shell=sh
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
