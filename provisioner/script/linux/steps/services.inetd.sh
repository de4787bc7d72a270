# shellcheck shell=sh
# services, inetd and xinetd: their configuration files, the entries that
# match a name, and turning them off (see services.sh).

# svc_inetd_files, svc_xinetd_files: the configuration files of inetd and
# xinetd, regular files only (no name here has a space: globs of fixed
# directories, whose entries the distributions name without one).
svc_inetd_files() {
	for _if in /etc/inetd.conf /etc/inetd.d/*; do
		[ -f "$_if" ] && [ ! -L "$_if" ] && printf '%s\n' "$_if"
	done
	return 0
}

svc_xinetd_files() {
	for _if in /etc/xinetd.d/*; do
		[ -f "$_if" ] && [ ! -L "$_if" ] && printf '%s\n' "$_if"
	done
	return 0
}

# svc_match: awk functions shared by the inetd and xinetd programs: the names
# from the first file, and whether a service or server matches one.
# shellcheck disable=SC2016 # awk code
svc_match='
FILENAME == ARGV[1] { if ($0 != "") { names[$0] = 1; prog[$0] = 1; prog["in." $0] = 1; prog[$0 "d"] = 1; prog["in." $0 "d"] = 1 }; next }
function base(p) { sub(/.*\//, "", p); return p }
function hit(svc, p1, p2) { sub(/.*:/, "", svc); return (svc in names) || (base(p1) in prog) || (base(p2) in prog) }
'

# svc_inetd MODE NAMES FILE: inetd entries of FILE. MODE scan: a scan line for
# each entry that is on and matches NAMES; off: FILE with those entries
# turned off, on stdout; on: every entry that is on, as
# SERVICE<TAB>PROTOCOL<TAB>SERVER.
svc_inetd() {
	awk -v mode="$1" -v file="$3" "$svc_match"'
		# An entry is on when it is not a comment: service, socket type,
		# protocol, wait, user, server, arguments (tcpd runs the server named
		# by the first argument).
		{ on = ($0 !~ /^[ \t]*(#|$)/) && NF >= 6 }
		mode == "on" { if (on) print $1 "\t" $3 "\t" ($6 ~ /tcpd$/ && NF >= 7 ? $7 : $6); next }
		mode == "scan" { if (on && hit($1, $6, $7)) print "inetd\t" file "\t" file ": " $1 " is on (" ($6 ~ /tcpd$/ && NF >= 7 ? $7 : $6) ")"; next }
		{ print ((on && hit($1, $6, $7)) ? "#<off># " $0 : $0) }
	' "$2" "$3"
}

# svc_xinetd MODE NAMES FILE: the same for the services of an xinetd file.
# A service matches by its name or its server (never by the file's name: a
# file may hold other services too); it is on
# unless it says disable = yes. off: such services get disable = yes (a
# disable line is changed, else one is added after the opening brace).
svc_xinetd() {
	awk -v mode="$1" -v file="$3" "$svc_match"'
		function flush(   i, match_, set) {
			if (!n) return
			match_ = svc != "" && hit(svc, server, "")
			if (mode == "scan" && match_ && !off) print "xinetd\t" file "\t" file ": service " svc " is on"
			if (mode == "on" && svc != "" && !off) print svc "\t" (proto != "" ? proto : (stype == "dgram" ? "udp" : "tcp")) "\t" port
			if (mode == "off") {
				for (i = 1; i <= n; i++) {
					if (match_ && !off && buf[i] ~ /^[ \t]*disable[ \t]*=/) { print "\tdisable = yes"; set = 1; continue }
					print buf[i]
					if (match_ && !off && !hasdis && !set && buf[i] ~ /{[ \t]*$/) { print "\tdisable = yes"; set = 1 }
				}
			}
			n = 0; svc = ""; server = ""; off = 0; hasdis = 0; proto = ""; stype = ""; port = ""
		}
		{ buf[++n] = $0 }
		$1 == "service" { svc = $2 }
		$1 == "server" && $2 == "=" { server = $3 }
		$1 == "protocol" && $2 == "=" { proto = $3 }
		$1 == "socket_type" && $2 == "=" { stype = $3 }
		$1 == "port" && $2 == "=" { port = $3 }
		$1 == "disable" { hasdis = 1; off = ($3 == "yes") }
		/^[ \t]*}/ || (svc == "" && n) { flush() }
		END { flush() }
	' "$2" "$3"
}

# svc_super_entries inetd|xinetd: the entries that are on, of all files.
svc_super_entries() {
	for _sf in $("svc_$1_files"); do
		"svc_$1" on /dev/null "$_sf"
	done
}

# svc_super_names inetd|xinetd: the names the daemon itself has.
svc_super_names() {
	case $1 in
	inetd) printf '%s\n' inetd openbsd-inetd inetutils-inetd ;;
	xinetd) printf '%s\n' xinetd ;;
	esac
}
