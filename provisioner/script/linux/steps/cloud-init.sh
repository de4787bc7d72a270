# shellcheck shell=sh
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
