# shellcheck shell=sh
# cloud-init: forget this instance, so the image's instances run it afresh.
step_cloud_init() {
	if ! command -v cloud-init >/dev/null 2>&1; then
		report cloud-init skipped "cloud-init is not installed"
		return
	fi
	_sudoers=/etc/sudoers.d/90-cloud-init-users
	if [ "$audit" ]; then
		{
			[ -d /var/lib/cloud/instance ] || [ -L /var/lib/cloud/instance ] && echo "/var/lib/cloud/instance (state of the build's instance)"
			find /var/lib/cloud/instances -mindepth 1 -maxdepth 1 2>/dev/null
			find /var/log -maxdepth 1 -name 'cloud-init*.log' ! -size 0 2>/dev/null
			[ -e "$_sudoers" ] && echo "$_sudoers"
		} >"$work/found.lines"
		findings_from cloud-init "$work/found.lines" '%s exists'
		audit_result cloud-init "no instance state left"
		return
	fi
	if ! cloud-init clean --logs >"$work/cloud_init_out" 2>&1; then
		report cloud-init failed "cloud-init clean --logs failed: $(head -n 3 "$work/cloud_init_out")"
		return
	fi
	_extra=""
	if [ -e "$_sudoers" ] || [ -L "$_sudoers" ]; then
		wipe_start cloud-init
		take_files 0:0 "$_sudoers"
		[ -e "$_sudoers" ] && { report cloud-init failed "could not remove $_sudoers"; return; }
		_extra=", removed $_sudoers"
	fi
	report cloud-init changed "ran cloud-init clean --logs$_extra"
}
