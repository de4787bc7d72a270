# shellcheck shell=sh
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
