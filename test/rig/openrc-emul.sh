#!/bin/sh
# Runs INSIDE an OpenRC layout (test/rig/layouts/alpine), in a chroot, for
# `target.sh openrc-boot`: does to /etc/init.d/sshd what OpenRC's openrc-run
# would do to start or stop it, as far as that runs without OpenRC.
#
#   openrc-emul.sh start PORT    source /etc/conf.d/sshd and /etc/init.d/sshd,
#                                run start_pre (checkconfig: ssh-keygen -A, sshd -t),
#                                then the default start(): start-stop-daemon --start
#                                --exec $command --pidfile $pidfile -- $command_args,
#                                with "-p PORT -o ListenAddress=127.0.0.1" added
#   openrc-emul.sh stop          the script's own stop()
#
# Stand-ins for what openrc-run provides (OpenRC's sh/functions.sh and
# sh/openrc-run.sh): einfo, ewarn, eerror, ebegin, eend, ewend, veinfo, vewarn,
# yesno, checkpath, and the dependency keywords of depend() (use, need, after,
# before, provide, keyword: no-ops, depend() is never called here).
# start-stop-daemon is a stand-in too (bin/start-stop-daemon beside this file,
# openrc-ssd.sh in test/rig, put ahead of PATH and of busybox's applet). Not emulated: runlevels, dependencies, the
# service state directory, supervise-daemon, cgroups, rc.conf's rc_* settings.
action=${1:-}
port=${2:-}
emul=$(dirname "$0")
PATH=$emul/bin:$PATH
export PATH

RC_SVCNAME=sshd
RC_SERVICE=/etc/init.d/$RC_SVCNAME
RC_RUNLEVEL=default
export RC_SVCNAME RC_SERVICE RC_RUNLEVEL

einfo() { printf ' * %s\n' "$*"; }
veinfo() { einfo "$@"; }
ewarn() { printf ' * %s\n' "$*" >&2; }
vewarn() { ewarn "$@"; }
eerror() { printf ' * ERROR: %s\n' "$*" >&2; }
ebegin() { printf ' * %s ...\n' "$*"; }
eend() {
	_st=${1:-0}
	shift 2>/dev/null
	if [ "$_st" -eq 0 ]; then
		printf ' [ ok ]\n'
	else
		[ $# -gt 0 ] && eerror "$*"
		printf ' [ !! ]\n'
	fi
	return "$_st"
}
ewend() { eend "$@"; }
# yesno VALUE: OpenRC's truth test (yes/true/on/1), following one level of
# indirection when VALUE names a variable, as OpenRC does.
yesno() {
	case ${1:-} in
	[Yy][Ee][Ss] | [Tt][Rr][Uu][Ee] | [Oo][Nn] | 1) return 0 ;;
	[Nn][Oo] | [Ff][Aa][Ll][Ss][Ee] | [Oo][Ff][Ff] | 0 | '') return 1 ;;
	esac
	case $1 in
	*[!A-Za-z0-9_]* | [0-9]*) return 1 ;;
	esac
	_v=''
	eval "_v=\${$1:-}"
	case $_v in
	[Yy][Ee][Ss] | [Tt][Rr][Uu][Ee] | [Oo][Nn] | 1) return 0 ;;
	esac
	return 1
}
# checkpath -d|-D|-f|-F [-m MODE] [-o OWNER] PATH...: the common subset.
checkpath() {
	_kind='' _mode='' _owner=''
	while [ $# -gt 0 ]; do
		case $1 in
		-d | -D) _kind=d ;;
		-f | -F) _kind=f ;;
		-m) shift; _mode=$1 ;;
		-o) shift; _owner=$1 ;;
		-q | -W | -s) ;;
		--) shift; break ;;
		-*) eerror "checkpath: $1 is not emulated"; return 1 ;;
		*) break ;;
		esac
		shift
	done
	for _p in "$@"; do
		if [ "$_kind" = d ]; then mkdir -p "$_p" || return 1; else [ -e "$_p" ] || : >"$_p" || return 1; fi
		[ -z "$_mode" ] || chmod "$_mode" "$_p" || return 1
		[ -z "$_owner" ] || chown "$_owner" "$_p" || return 1
	done
}
# The stand-in start-stop-daemon, also where the shell would not look in PATH:
# Debian's busybox-static ash runs its own applets ahead of PATH (standalone
# shell) once /proc is mounted. The alias is in place before the service
# script is read, so its functions get it.
# shellcheck disable=SC2139 # expanded here, on purpose
alias start-stop-daemon="$emul/bin/start-stop-daemon"
use() { :; }
need() { :; }
after() { :; }
before() { :; }
provide() { :; }
keyword() { :; }

# openrc-run reads rc.conf and conf.d/<service> before the service script.
# shellcheck disable=SC1091
[ -r /etc/rc.conf ] && . /etc/rc.conf
# shellcheck disable=SC1090
[ -r "/etc/conf.d/$RC_SVCNAME" ] && . "/etc/conf.d/$RC_SVCNAME"
# shellcheck disable=SC1090
. "$RC_SERVICE"

# Set by the sourced service script.
: "${command:?}" "${pidfile:?}"

case $action in
start)
	[ -n "$port" ] || { eerror "usage: openrc-emul.sh start PORT"; exit 2; }
	RC_CMD=start
	export RC_CMD
	for _f in ${required_files:-}; do
		[ -r "$_f" ] || { eerror "$RC_SVCNAME: cannot start: $_f is missing"; exit 1; }
	done
	if command -v start_pre >/dev/null 2>&1; then
		start_pre || { eerror "$RC_SVCNAME: start_pre failed"; exit 1; }
	fi
	ebegin "Starting $RC_SVCNAME (loopback test port $port)"
	# shellcheck disable=SC2086 # command_args is a word list, as in openrc-run
	start-stop-daemon --start --exec "$command" --pidfile "$pidfile" -- \
		${command_args:-} -p "$port" -o ListenAddress=127.0.0.1
	eend $? "$RC_SVCNAME did not start"
	;;
stop)
	RC_CMD=stop
	export RC_CMD
	stop
	;;
*)
	eerror "usage: openrc-emul.sh start PORT | stop"
	exit 2
	;;
esac
