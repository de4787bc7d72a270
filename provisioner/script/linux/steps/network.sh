# shellcheck shell=sh
# network: nothing in the image's network configuration ties it to the build
# machine. An instance has other network cards, with other MAC addresses, than
# the build had: a configuration pinned to the build's MAC addresses finds no
# card and the instance comes up without network (chef/bento#497: a box packed
# with the build's udev rules named its card eth1, and its eth0 configuration
# never came up), and the build's host name would be every instance's. The
# model is libguestfs' virt-sysprep and its operations udev-persistent-net,
# net-hwaddr, net-hostname and net-nmconn (guestfs-tools, sysprep/
# sysprep_operation_*.ml). What it does (network.files.sh has the files):
#   - udev's 70-persistent-net.rules goes;
#   - ifcfg files and NetworkManager profiles lose their MAC pins, their
#     UUIDs and the build's DHCP host name: edited line by line, never removed;
#   - NetworkManager's per-machine state goes (secret_key, timestamps,
#     seen-bssids, no-auto-default.state, its dhclient configurations);
#   - a systemd-networkd, netplan or ifupdown file pinned to a MAC address
#     goes only where cloud-init wrote it and writes it again at each new
#     instance; any other fails the step, named with what to change (YAML and
#     interfaces(5) files are not edited here: a wrong edit could leave an
#     image without network);
#   - /etc/hostname says localhost, and /etc/hosts no longer names the
#     build's host (the old /etc/hostname and `hostname`).
# So the image comes up with whatever configuration it had, now matching any
# card: nothing it configures is removed unless something writes it again.
# Files that named the build are overwritten in place (zeros over the old
# contents, then the new ones): a new file renamed over the old one would
# leave the old contents in free blocks (the free-space step may be off).
step_network() {
	wipe_start network
	mnt=""
	: >"$work/net.did"
	: >"$work/net.note"
	net_names >"$work/net.names"
	# One scan finds what would change; enforce then changes it (net_fix) and
	# scans again: what that second scan still finds was not changed.
	net_fix=""
	net_pass
	if [ "$audit" ]; then
		cat "$work/net.stop" >>"$work/net.find"
		awk '!seen[$0]++' "$refused" >>"$work/net.find"
		net_notes
		findings_from network "$work/net.find" '%s'
		audit_result network "nothing ties the network to the build machine"
		return
	fi
	if [ -s "$work/net.find" ]; then
		net_fix=1
		net_pass
		net_fix=""
		net_pass
	fi
	# On a running machine, once /etc/hosts no longer names it, its name
	# does not resolve: sudo warns at every call until the shutdown, and
	# mails root about it, into the image's /var/mail. The running machine
	# takes the name it ships with (never in a chroot: that is the host's).
	if live_machine && [ -s "$work/net.names" ] && grep -q -e '^/etc/hosts' -e '^set /etc/hostname' "$work/net.did"; then
		if hostname localhost 2>/dev/null || { printf 'localhost' >/proc/sys/kernel/hostname; } 2>/dev/null; then
			net_did "the running machine is named localhost until it shuts down"
		else
			net_note "the running machine keeps its name until it shuts down, and /etc/hosts no longer resolves it (sudo warns)"
		fi
	fi
	net_notes
	_did=$(net_list "$work/net.did")
	awk '!seen[$0]++' "$refused" >"$work/net.refused"
	if [ -s "$work/net.stop" ] || [ -s "$work/net.find" ] || [ -s "$work/net.refused" ]; then
		cat "$work/net.stop" "$work/net.find" "$work/net.refused" >"$work/net.left"
		report network failed "$(net_list "$work/net.left")$(first_errors)${_did:+; done: $_did}"
	elif [ -n "$_did" ]; then
		report network changed "$_did"
	else
		report network ok "nothing ties the network to the build machine"
	fi
}

# net_pass: one scan of every file the step knows (net_fix empty), or one
# round of changes (net_fix set). A scan writes what it would change to
# net.find and what it will not change to net.stop.
net_pass() {
	: >"$work/net.find"
	: >"$work/net.stop"
	net_udev
	net_ifcfg
	net_keyfiles
	net_nm_state
	net_pinned
	net_hostname
	net_hosts
}

net_find() { printf '%s\n' "$1" >>"$work/net.find"; }
net_stop() { printf '%s\n' "$1" >>"$work/net.stop"; }
net_did() { printf '%s\n' "$1" >>"$work/net.did"; }
net_note() { printf '%s\n' "$1" >>"$work/net.note"; }

# net_notes: each note once.
net_notes() {
	awk '!seen[$0]++' "$work/net.note" | while IFS= read -r _nn; do note network "$_nn"; done
}

# net_list FILE: its lines joined with "; " (they hold commas of their own).
net_list() {
	awk 'NF { s = s (s == "" ? "" : "; ") $0 } END { print s }' "$1"
}

# net_names: the build's host names, lower case, one a line: the first word
# of /etc/hostname and what `hostname` says (in a chroot, the build host's),
# each also without its domain, leaving out the names every machine has.
net_names() {
	{
		if [ -f /etc/hostname ] && [ ! -L /etc/hostname ]; then
			sed -n '/^[[:space:]]*#/d; s/^[[:space:]]*//; s/[[:space:]].*//; /./p' /etc/hostname 2>/dev/null
		fi
		hostname 2>/dev/null || cat /proc/sys/kernel/hostname 2>/dev/null
	} | awk '
		function add(n) { if (n != "" && n !~ /^(localhost|localhost\.localdomain|localhost4|localhost4\.localdomain4|localhost6|localhost6\.localdomain6|ip6-localhost|ip6-loopback)$/ && !seen[n]++) print n }
		NF { n = tolower($1); add(n); sub(/\..*/, "", n); add(n) }'
}

# net_file FILE: whether FILE may be read and written here: no symbolic link
# on the way to it or at it (refused: what it leads to is not the image's
# file to change), not a mount point (a file bind-mounted into a container
# is not the image's: noted, left alone).
net_file() {
	check_path "" "${1#/}" || return 1
	if [ -L "$1" ]; then
		refuse "not followed: $(show "$1") is a symbolic link to $(show "$(readlink -- "$1")")"
		return 1
	fi
	[ -f "$1" ] || return 1
	if is_mount "$1"; then
		net_note "not touched: $(show "$1") is a mount point (the image's own file lies below it)"
		return 1
	fi
}

# net_edit FILE AWKPROG [AWKARG...]: FILE run through the awk program into
# net.new; true when the program says (in net.what) that it dropped
# something.
net_edit() {
	_ne_f=$1
	_ne_prog=$2
	shift 2
	: >"$work/net.what"
	awk -v out="$work/net.what" "$@" "$_ne_prog" "$_ne_f" >"$work/net.new" 2>>"$work/wipe.err" || return 1
	[ -s "$work/net.what" ]
}

# net_write FILE: FILE gets the contents of net.new, in place, keeping its
# owner, mode and label: zeros over the old contents first (flushed), then
# the new ones. Never through a second hard link.
net_write() {
	if [ "$(stat -c %h -- "$1")" != 1 ]; then
		refuse "not written: $(show "$1") has more than one hard link"
		return 1
	fi
	if ! overwrite_in_place "$1" 2>>"$work/wipe.err" || ! { cat "$work/net.new" >"$1"; } 2>>"$work/wipe.err"; then
		refuse "could not write $(show "$1")"
		return 1
	fi
}

# net_hostname: /etc/hostname names no machine: localhost. systemd-hostnamed
# treats a static name of localhost as none (hostnamed.c: "/etc/hostname with
# something other than localhost has the highest preference"), so the name
# DHCP or cloud-init gives the instance applies, as with an empty file. Debian's
# own cloud images empty the file instead (debian-cloud-images, bookworm's
# scripts/LAST/10-cleanup); localhost is what systemd falls back to for an
# empty one, and it is a name every reader of the file accepts. A missing file
# stays missing: it names nothing. Red Hat's old /etc/sysconfig/network
# HOSTNAME= goes as virt-sysprep's old hostname operation replaced it.
net_hostname() {
	_f=/etc/hostname
	if { [ -e "$_f" ] || [ -L "$_f" ]; } && net_file "$_f"; then
		if grep -qv '^[[:space:]]*localhost[[:space:]]*$' "$_f"; then
			if [ -z "$net_fix" ]; then
				net_find "$_f names this machine (it would say localhost)"
			else
				printf 'localhost\n' >"$work/net.new"
				net_write "$_f" && net_did "set $_f to localhost"
			fi
		fi
	fi
	_f=/etc/sysconfig/network
	if [ -e "$_f" ] && net_file "$_f" && net_edit "$_f" "$net_sysconfig_awk"; then
		if [ -z "$net_fix" ]; then
			net_find "$_f: HOSTNAME= names this machine"
		else
			net_write "$_f" && net_did "$_f: dropped HOSTNAME"
		fi
	fi
}

# net_hosts: /etc/hosts names the build's host nowhere; the loopback lines
# and every other name stay, a line left without a name goes.
net_hosts() {
	_f=/etc/hosts
	{ [ -e "$_f" ] || [ -L "$_f" ]; } && [ -s "$work/net.names" ] || return 0
	net_file "$_f" || return 0
	net_edit "$_f" "$net_hosts_awk" -v names="$(tr '\n' ' ' <"$work/net.names")" || return 0
	if [ -z "$net_fix" ]; then
		net_find "$_f names the build's host name ($(cat "$work/net.what"))"
	else
		net_write "$_f" && net_did "$_f: the build's host name dropped ($(cat "$work/net.what"))"
	fi
}

# net_sysconfig_awk: /etc/sysconfig/network without HOSTNAME=.
# shellcheck disable=SC2016 # awk's
net_sysconfig_awk='/^[ \t]*HOSTNAME=/ { n++; next } { print } END { if (n) print "HOSTNAME" > out }'

# net_hosts_awk: /etc/hosts without the names in `names` (lower case, space-
# separated) or names whose first label is one of them (the build's FQDN);
# a line left with its address alone goes. Comments and untouched lines stay
# as they were. Writes "N name(s) on M line(s)" to out.
# shellcheck disable=SC2016 # awk's
net_hosts_awk='
BEGIN { k = split(names, nm, " ") }
function builds(n,  i, l) {
	l = tolower(n)
	for (i = 1; i <= k; i++) if (l == nm[i] || index(l, nm[i] ".") == 1) return 1
	return 0
}
/^[ \t]*(#|$)/ { print; next }
{
	orig = $0; c = ""; p = index($0, "#")
	if (p) { c = substr($0, p); $0 = substr($0, 1, p - 1) }
	kept = ""; hit = 0
	for (i = 2; i <= NF; i++) if (builds($i)) hit++; else kept = kept " " $i
	if (!hit) { print orig; next }
	names_out += hit
	lines_out++
	if (kept != "") print $1 "\t" substr(kept, 2) (c == "" ? "" : " " c)
}
END { if (names_out) print names_out " name(s) on " lines_out " line(s)" > out }'
