# shellcheck shell=sh
# network, the files: udev rules, ifcfg files, NetworkManager's profiles and
# state, and the networkd, netplan and ifupdown files that may pin a MAC
# address. Each function scans (net_fix empty) or changes (net_fix set).

# net_udev: udev's persistent-net rules name each card by the MAC address it
# had on the build: on an instance the cards have other addresses, so the
# names move on (eth1 for eth0) and the configuration of eth0 finds no card.
# virt-sysprep's udev-persistent-net removes the file (libguestfs,
# sysprep/sysprep_operation_udev_persistent_net.ml). A directory in its
# place is what chef/bento#497 put there to stop the generator
# (75-persistent-net-generator.rules) writing it again; it holds nothing of
# the build and stays, as does the generator: where it is still installed
# it writes each instance's own rules at that instance's first boot.
net_udev() {
	_f=/etc/udev/rules.d/70-persistent-net.rules
	[ -f "$_f" ] || [ -L "$_f" ] || return 0
	check_path "" "${_f#/}" || return 0
	if [ -z "$net_fix" ]; then
		net_find "$_f names the cards by the build's MAC addresses"
	else
		take_files 0:0 "$_f"
		[ -e "$_f" ] || [ -L "$_f" ] || net_did "removed $_f"
	fi
}

# net_ifcfg: Red Hat's ifcfg files without HWADDR= and MACADDR= (the card's
# address and a MAC address set on it: every instance would claim the
# build's), UUID= and HOSTNAME=/DHCP_HOSTNAME=, as virt-sysprep's net-hwaddr
# and net-hostname drop them (sysprep_operation_net_hwaddr.ml,
# sysprep_operation_net_hostname.ml). The file stays: DEVICE= or its name
# still says which card it configures.
net_ifcfg() {
	for _f in /etc/sysconfig/network-scripts/ifcfg-*; do
		[ -e "$_f" ] || [ -L "$_f" ] || continue
		net_file "$_f" || continue
		_keep=$(net_uuid_kept "$_f" 's/^[[:space:]]*UUID=["'\'']\{0,1\}\([^"'\'' ]*\).*/\1/p')
		net_edit "$_f" "$net_ifcfg_awk" -v keepuuid="$_keep" || continue
		net_change "$_f"
	done
}

# net_keyfiles: NetworkManager's keyfiles without their mac-address= pins
# (and a cloned-mac-address= that sets a fixed address), without uuid=, and
# without a dhcp-hostname= or dhcp-fqdn= that names the build's host.
# virt-sysprep has no operation for a profile's UUID: its net-nmconn deletes
# every keyfile on Red Hat systems (guestfs-tools,
# sysprep_operation_net_nmconn.ml), which leaves NetworkManager's automatic
# default connection, and nothing where no-auto-default is set. Here the
# profile stays. NetworkManager gives a keyfile without uuid= one hashed from
# its path (libnm-core, nm_keyfile_read_ensure_uuid), the same in every
# instance of the image, as a kept one would be: a profile's UUID needs to
# be unique among one machine's profiles only. So uuid= goes (the build's
# random value, traceable to it), unless another file names it (a port's
# controller= or master=, a VLAN's parent=, a dispatcher script): that
# reference would break, so it stays, and a note says so. The same for ifcfg.
net_keyfiles() {
	for _f in /etc/NetworkManager/system-connections/*; do
		[ -e "$_f" ] || [ -L "$_f" ] || continue
		net_file "$_f" || continue
		_keep=$(net_uuid_kept "$_f" 's/^[[:space:]]*uuid[[:space:]]*=[[:space:]]*\([^[:space:]]*\).*/\1/p')
		net_edit "$_f" "$net_keyfile_awk" -v keepuuid="$_keep" -v names="$(tr '\n' ' ' <"$work/net.names")" || continue
		net_change "$_f"
	done
}

# net_change FILE: FILE's edit (net.new, net.what) found or made.
net_change() {
	if [ -z "$net_fix" ]; then
		net_find "$1: $(cat "$work/net.what") tie it to the build machine"
	else
		net_write "$1" && net_did "$1: dropped $(cat "$work/net.what")"
	fi
}

# net_uuid_kept FILE SEDPROG: 1 when a UUID in FILE (SEDPROG prints it) is
# named by another file of NetworkManager's or of network-scripts.
net_uuid_kept() {
	sed -n "$2" "$1" 2>/dev/null | while IFS= read -r _u; do
		[ -n "$_u" ] || continue
		_by=$(find -P /etc/NetworkManager /etc/sysconfig/network-scripts -xdev -type f ! -path "$1" \
			-exec grep -lF -e "$_u" -- {} + 2>/dev/null | head -n 1)
		if [ -n "$_by" ]; then
			net_note "kept the UUID of $(show "$1"): $(show "$_by") names it"
			echo 1
			break
		fi
	done
}

# net_nm_state: what NetworkManager keeps about this machine in
# /var/lib/NetworkManager: secret_key, the host's key for stable-privacy
# IPv6 addresses and stable MAC addresses (two clones with one key derive
# the same addresses; NetworkManager makes a new key when there is none),
# timestamps and seen-bssids (the build's connections and the Wi-Fi access
# points it saw), no-auto-default.state (the build's MAC addresses) and the
# dhclient configurations it wrote (with the build's host name); its
# DHCP leases are machine-id's. NetworkManager.state (whether networking is
# on) is a setting and stays. On a running machine NetworkManager writes
# some of these again as it stops: they go at that shutdown too.
net_nm_state() {
	set --
	for _f in /var/lib/NetworkManager/secret_key /var/lib/NetworkManager/timestamps \
		/var/lib/NetworkManager/seen-bssids /var/lib/NetworkManager/no-auto-default.state \
		/var/lib/NetworkManager/dhclient*.conf; do
		{ [ -f "$_f" ] || [ -L "$_f" ]; } && check_path "" "${_f#/}" && set -- "$@" "$_f"
	done
	[ $# -gt 0 ] || return 0
	if [ -z "$net_fix" ]; then
		for _f; do net_find "$_f is NetworkManager's state of the build machine"; done
		return
	fi
	take_files 0:0 "$@"
	net_did "removed NetworkManager's state of the build ($(printf '%s\n' "$@" | join))"
	if live_systemd; then
		# shellcheck disable=SC2086 # globs, expanded at shutdown (not here: set -f)
		if _how=$(set -f; wipe_at_shutdown network $net_nm_globs); then
			net_did "armed ami-harden-network-at-shutdown.service (this boot only) for what NetworkManager writes as it stops"
		else
			refuse "$_how: NetworkManager's state written at shutdown would ship"
		fi
	fi
}
net_nm_globs='/var/lib/NetworkManager/secret_key /var/lib/NetworkManager/timestamps /var/lib/NetworkManager/seen-bssids
/var/lib/NetworkManager/no-auto-default.state /var/lib/NetworkManager/dhclient*.conf'

# net_pinned: systemd-networkd .network and .link files that match a card by
# MACAddress= or PermanentMACAddress= in [Match], netplan files with a
# macaddress: (a match, or an address set on the card), ifupdown
# interfaces(5) files with hwaddress (an address set on the card). Where
# cloud-init wrote the file (its name and its "generated by cloud-init"
# header) and renders the network again at each new instance, the file goes:
# the instance gets its own. Any other is not edited: the step fails, naming
# it and what to match on instead.
net_pinned() {
	_regen=""
	net_cloud_renders && _regen=1
	for _f in /etc/systemd/network/*.network /etc/systemd/network/*.link; do
		[ -e "$_f" ] || [ -L "$_f" ] || continue
		net_file "$_f" || continue
		net_edit "$_f" "$net_match_awk" || continue
		case ${_f##*/} in 10-cloud-init-*) _gen=1 ;; *) _gen="" ;; esac
		net_pin "$_f" "$_gen" "[Match] $(cat "$work/net.what") ties it to the build's card: match on Name=, Type= or Driver= instead"
	done
	for _f in /etc/netplan/*.yaml; do
		[ -e "$_f" ] || [ -L "$_f" ] || continue
		net_file "$_f" || continue
		grep -Eq '^[^#]*macaddress[[:space:]]*:' "$_f" || continue
		case ${_f##*/} in 50-cloud-init.yaml) _gen=1 ;; *) _gen="" ;; esac
		net_pin "$_f" "$_gen" "macaddress: ties it to the build's card: match on name: or driver: instead, and set no macaddress:"
	done
	for _f in /etc/network/interfaces /etc/network/interfaces.d/*; do
		[ -e "$_f" ] || [ -L "$_f" ] || continue
		net_file "$_f" || continue
		grep -Eq '^[[:space:]]*hwaddress[[:space:]]' "$_f" || continue
		case $_f in /etc/network/interfaces.d/50-cloud-init | /etc/network/interfaces.d/50-cloud-init.cfg) _gen=1 ;; *) _gen="" ;; esac
		net_pin "$_f" "$_gen" "hwaddress gives every instance the build's MAC address: remove that line"
	done
}

# net_pin FILE GENERATED WHAT: a file pinned to a MAC address: cloud-init's
# (GENERATED, and its header says so) goes while cloud-init renders the
# network; any other is named with WHAT.
net_pin() {
	if [ -n "$2" ] && grep -Eqi '^[[:space:]]*#.*(cloud-init|generated from information provided by the datasource)' "$1"; then
		if [ -n "$_regen" ]; then
			if [ -z "$net_fix" ]; then
				net_find "$1 (cloud-init's) is pinned to the build's MAC address"
			else
				take_files 0:0 "$1"
				[ -e "$1" ] || [ -L "$1" ] || net_did "removed cloud-init's $1 (cloud-init writes it again at each new instance)"
			fi
			return
		fi
		net_stop "$1: $3 (not changed: cloud-init is not installed or its network configuration is disabled, so nothing writes it again)"
		return
	fi
	net_stop "$1: $3 (not changed)"
}

# net_cloud_renders: cloud-init is installed, not disabled, and its network
# configuration is not disabled (network: {config: disabled} in cloud.cfg or
# cloud.cfg.d, or /etc/cloud/cloud-init.disabled): it writes the network
# configuration of each new instance.
net_cloud_renders() {
	command -v cloud-init >/dev/null 2>&1 || return 1
	[ ! -e /etc/cloud/cloud-init.disabled ] || return 1
	! grep -Eqs '^[^#]*config[[:space:]]*:[[:space:]]*["'\'']?disabled' /etc/cloud/cloud.cfg /etc/cloud/cloud.cfg.d/*.cfg
}

# net_ifcfg_awk: an ifcfg file without the keys that tie it to the build
# (UUID= only when keepuuid is empty); writes the keys dropped to out.
# shellcheck disable=SC2016 # awk's
net_ifcfg_awk='
{ line = $0; sub(/^[ \t]+/, "", line) }
line ~ /^(HWADDR|MACADDR|UUID|HOSTNAME|DHCP_HOSTNAME)=/ {
	k = line; sub(/=.*/, "", k)
	if (k != "UUID" || keepuuid == "") {
		if (!(k in d)) { d[k] = 1; what = what (what == "" ? "" : ", ") k }
		next
	}
}
{ print }
END { if (what != "") print what > out }'

# net_keyfile_awk: a NetworkManager keyfile without mac-address= and a fixed
# cloned-mac-address= in the device sections, uuid= in [connection] (unless
# keepuuid), and dhcp-hostname= or dhcp-fqdn= naming one of `names` (lower
# case, space-separated) or a name below it; writes the keys dropped to out.
# shellcheck disable=SC2016 # awk's
net_keyfile_awk='
BEGIN { k = split(names, nm, " ") }
function builds(v,  i, l) {
	l = tolower(v)
	for (i = 1; i <= k; i++) if (l == nm[i] || index(l, nm[i] ".") == 1) return 1
	return 0
}
function drop(key) { if (!(key in d)) { d[key] = 1; what = what (what == "" ? "" : ", ") key } }
{ line = $0; sub(/^[ \t]+/, "", line) }
line ~ /^\[/ { sec = line; sub(/^\[/, "", sec); sub(/\][ \t]*$/, "", sec); print; next }
sec ~ /^(ethernet|802-3-ethernet|wifi|802-11-wireless|infiniband)$/ && line ~ /^mac-address[ \t]*=/ { drop("mac-address"); next }
sec ~ /^(ethernet|802-3-ethernet|wifi|802-11-wireless)$/ && line ~ /^cloned-mac-address[ \t]*=[ \t]*[0-9A-Fa-f][0-9A-Fa-f]:/ { drop("cloned-mac-address"); next }
sec == "connection" && line ~ /^uuid[ \t]*=/ && keepuuid == "" { drop("uuid"); next }
(sec == "ipv4" || sec == "ipv6") && line ~ /^dhcp-(hostname|fqdn)[ \t]*=/ {
	v = line; sub(/^[^=]*=[ \t]*/, "", v); sub(/[ \t]+$/, "", v)
	if (builds(v)) { key = line; sub(/[ \t]*=.*/, "", key); drop(key); next }
}
{ print }
END { if (what != "") print what > out }'

# net_match_awk: writes to out the MACAddress= and PermanentMACAddress= keys
# that a systemd .network or .link file sets in [Match].
# shellcheck disable=SC2016 # awk's
net_match_awk='
{ line = $0; sub(/^[ \t]+/, "", line) }
line ~ /^\[/ { sec = line; print; next }
sec ~ /^\[Match\]/ && line ~ /^(MACAddress|PermanentMACAddress)[ \t]*=[ \t]*[^ \t]/ {
	k = line; sub(/[ \t]*=.*/, "", k)
	if (!(k in d)) { d[k] = 1; what = what (what == "" ? "" : ", ") k "=" }
}
{ print }
END { if (what != "") print what > out }'
