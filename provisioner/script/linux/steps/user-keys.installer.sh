# shellcheck shell=sh
# user-keys, who can log in afterwards: the step removes every key, which is
# right, and an image whose instances get no key at launch is one nobody can
# reach (hashicorp/packer#185, #3416). Something must install the launch key
# at first boot, or a key of keep_users must stay.

# key_installer: prints what will let someone log in to an instance, one
# line; prints nothing when nothing will.
key_installer() {
	# A key that stays: keep_users' own authorized keys.
	awk -F: 'FILENAME == ARGV[1] { if ($0 != "") keep[$0] = 1; next } ($1 in keep) { print $1 ":" $6 }' \
		"$work/keep_users" "$work/passwd" | while IFS=: read -r _ki_u _ki_h; do
		for _ki_f in "$_ki_h/.ssh/authorized_keys" "$_ki_h/.ssh/authorized_keys2"; do
			if [ -f "$_ki_f" ] && [ ! -L "$_ki_f" ] && grep -q '^[^#]' "$_ki_f" 2>/dev/null; then
				echo "the authorized keys of $_ki_u (keep_users)"
				return 0
			fi
		done
	done | head -n 1 | grep . && return 0
	# sshd asks a program for the keys at each login: EC2 Instance Connect
	# (eic_run_authorized_keys), or a directory service.
	if sshd_ready && sshd_known; then
		_ki_cmd=$(awk '$1 == "authorizedkeyscommand" && $2 != "none" { $1 = ""; sub(/^ /, ""); print; exit }' "$work/sshd_after")
		if [ -n "$_ki_cmd" ]; then
			case $_ki_cmd in
			*eic_run_authorized_keys*) echo "EC2 Instance Connect (sshd's AuthorizedKeysCommand $_ki_cmd)" ;;
			*) echo "sshd's AuthorizedKeysCommand $_ki_cmd" ;;
			esac
			return 0
		fi
	fi
	# The clouds' guest agents write the launch key into the user's home.
	if [ -x /usr/bin/google_guest_agent ] && boot_service_enabled google-guest-agent; then
		echo "google-guest-agent"
		return 0
	fi
	for _ki_s in walinuxagent waagent; do
		if { [ -x /usr/sbin/waagent ] || [ -x /usr/bin/waagent ]; } && boot_service_enabled "$_ki_s"; then
			echo "WALinuxAgent ($_ki_s)"
			return 0
		fi
	done
	# cloud-init: installed, not disabled, started at boot, with some
	# datasource to get the key from.
	_ki_why=$(cloud_init_installs_keys) && { echo "cloud-init ($_ki_why)"; return 0; }
	[ -n "$_ki_why" ] && printf '%s\n' "$_ki_why" >"$work/key_installer.why"
	return 0
}

# boot_service_enabled NAME: whether the image starts the service NAME at
# boot: a wanted systemd unit, or an OpenRC runlevel entry.
boot_service_enabled() {
	unit_enabled "$1.service" && return 0
	for _bs in /etc/runlevels/*/"$1"; do
		[ -e "$_bs" ] && return 0
	done
	return 1
}

# cloud_init_installs_keys: true, with the datasources printed, when
# cloud-init will run at the next boot with a datasource other than None;
# false, with the reason printed, when it is there but will not.
cloud_init_installs_keys() {
	command -v cloud-init >/dev/null 2>&1 || [ -x /usr/bin/cloud-init ] || return 1
	if [ -e /etc/cloud/cloud-init.disabled ]; then
		echo "cloud-init is disabled by /etc/cloud/cloud-init.disabled"
		return 1
	fi
	# cloud-init 24.3 and later start from cloud-init-main.service; earlier
	# ones from cloud-init-local.service and cloud-init.service.
	if has_systemd; then
		if ! boot_service_enabled cloud-init-main && ! boot_service_enabled cloud-init-local &&
			! boot_service_enabled cloud-init; then
			echo "cloud-init is installed but no cloud-init unit is enabled"
			return 1
		fi
	elif ! boot_service_enabled cloud-init && ! boot_service_enabled cloud-init-local; then
		echo "cloud-init is installed but not in any runlevel"
		return 1
	fi
	# datasource_list: the last file that sets it wins (cloud.cfg, then
	# cloud.cfg.d/*.cfg in name order); flow ([ A, B ]) or block (- A)
	# style. Not set anywhere: cloud-init tries every datasource it has.
	# shellcheck disable=SC2016 # awk's program
	_ki_ds=$(for _ki_c in /etc/cloud/cloud.cfg /etc/cloud/cloud.cfg.d/*.cfg; do
		[ -f "$_ki_c" ] && printf '%s\n' "$_ki_c"
	done | tr '\n' '\0' | xargs -0 -r awk '
		FNR == 1 { block = 0 }
		/^datasource_list[ \t]*:/ {
			v = $0; sub(/^datasource_list[ \t]*:[ \t]*/, "", v); sub(/[ \t]*#.*/, "", v)
			if (v == "") { list = ""; block = 1; next }
			gsub(/[][ \t"'"'"']/, "", v); gsub(/,/, " ", v); list = v; set = 1; block = 0; next
		}
		block && /^[ \t]*-[ \t]*/ { v = $0; sub(/^[ \t]*-[ \t]*/, "", v); sub(/[ \t]*#.*/, "", v); gsub(/["'"'"']/, "", v); list = list " " v; set = 1; next }
		block && /^[^ \t#]/ { block = 0 }
		END { if (!set) print "*"; else print list }')
	# No configuration file at all: cloud-init's built-in list, every one.
	if [ -z "$_ki_ds" ] || [ "$_ki_ds" = "*" ]; then
		echo "every datasource it has"
		return 0
	fi
	_ki_real=$(printf '%s\n' "$_ki_ds" | tr ' ' '\n' | grep -v -x -e None -e '' | tr '\n' ' ')
	if [ -n "$_ki_real" ]; then
		echo "datasource_list: ${_ki_real% }"
		return 0
	fi
	echo "cloud-init's datasource_list is [ None ]: no datasource gives it a key"
	return 1
}

# check_key_installer: notes what installs keys at launch; sets ki_fail to
# the reason user-keys fails when nothing does and require_key_installer
# holds, else to nothing.
check_key_installer() {
	ki_fail=""
	key_installer >"$work/key_installer"
	if [ -s "$work/key_installer" ]; then
		note user-keys "at launch, keys come from: $(cat "$work/key_installer")"
		return 0
	fi
	_ki_more=""
	[ -s "$work/key_installer.why" ] && _ki_more=" ($(cat "$work/key_installer.why"))"
	if [ "$AMI_HARDEN_REQUIRE_KEY_INSTALLER" != 1 ]; then
		note user-keys "nothing installs a key at launch and no key stays$_ki_more: the image is reached another way (require_key_installer = false)"
		return 0
	fi
	ki_fail="no key stays and nothing installs one at launch$_ki_more: nobody could log in to an instance. Install cloud-init with a datasource, EC2 Instance Connect or the cloud's guest agent, keep a user's key (keep_users), or set require_key_installer = false for an image reached another way"
}
