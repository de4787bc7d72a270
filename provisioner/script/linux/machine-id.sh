# shellcheck shell=sh
# machine-id: an empty /etc/machine-id makes systemd give each instance its own.
step_machine_id() {
	if [ "$audit" ]; then
		[ -s /etc/machine-id ] && finding machine-id "/etc/machine-id holds this machine's id"
		[ -e /etc/machine-id ] || finding machine-id "/etc/machine-id is missing (an empty file is the image state)"
		if [ -f /var/lib/dbus/machine-id ] && [ ! -L /var/lib/dbus/machine-id ]; then
			finding machine-id "/var/lib/dbus/machine-id is a copy of the machine id"
		fi
		[ -f /var/lib/systemd/random-seed ] && finding machine-id "/var/lib/systemd/random-seed exists"
		audit_result machine-id "/etc/machine-id is empty"
		return
	fi
	_changed=""
	if [ -s /etc/machine-id ]; then
		empty_file /etc/machine-id || { report machine-id failed "could not empty /etc/machine-id"; return; }
		_changed="emptied /etc/machine-id"
	elif [ ! -e /etc/machine-id ]; then
		# An absent file would make a read-only root fail to boot; empty is the image state.
		empty_file /etc/machine-id && chmod 0444 /etc/machine-id
		_changed="created an empty /etc/machine-id"
	fi
	# D-Bus keeps a copy unless it is a link to /etc/machine-id.
	if [ -f /var/lib/dbus/machine-id ] && [ ! -L /var/lib/dbus/machine-id ]; then
		rm -f /var/lib/dbus/machine-id
		_changed="${_changed:+$_changed, }removed /var/lib/dbus/machine-id"
	fi
	# The saved random seed would be shared by every instance too.
	if [ -f /var/lib/systemd/random-seed ]; then
		wipe_start machine-id
		take_files 0:0 /var/lib/systemd/random-seed
		_changed="${_changed:+$_changed, }removed /var/lib/systemd/random-seed"
	fi
	if [ -s /etc/machine-id ] || { [ -f /var/lib/dbus/machine-id ] && [ ! -L /var/lib/dbus/machine-id ]; }; then
		report machine-id failed "a machine-id is still there"
	elif [ -n "$_changed" ]; then
		report machine-id changed "$_changed"
	else
		report machine-id ok "/etc/machine-id is already empty"
	fi
}

