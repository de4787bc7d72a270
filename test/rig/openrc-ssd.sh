#!/bin/sh
# Stand-in for OpenRC's start-stop-daemon, installed as bin/start-stop-daemon
# beside openrc-emul.sh (target.sh openrc-boot): only what /etc/init.d/sshd of
# Alpine's openssh uses.
#
#   --start --exec CMD --pidfile FILE -- ARGS   run CMD ARGS (sshd forks itself)
#   --stop --exec CMD --pidfile FILE [--quiet]  TERM the pid in FILE, wait for it
#   --signal SIG --exec CMD --pidfile FILE      send SIG to the pid in FILE
#
# Unlike OpenRC's, it does not match --exec against the running process:
# the layout's /usr/sbin/sshd is a wrapper that execs /usr/sbin/sshd.real,
# which OpenRC's --exec check would not recognise.
mode='' exe='' pidfile='' sig=''
while [ $# -gt 0 ]; do
	case $1 in
	--start | -S) mode=start ;;
	--stop | -K) mode=stop ;;
	--signal | -s) shift; sig=$1 ;;
	--exec | -x) shift; exe=$1 ;;
	--pidfile | -p) shift; pidfile=$1 ;;
	--quiet | -q) ;;
	--) shift; break ;;
	*) echo "start-stop-daemon (stand-in): $1 is not emulated" >&2; exit 2 ;;
	esac
	shift
done
[ -n "$mode" ] || { [ -n "$sig" ] && mode=signal; }

case $mode in
start)
	[ -n "$exe" ] || { echo "start-stop-daemon (stand-in): --start needs --exec" >&2; exit 2; }
	exec "$exe" "$@"
	;;
stop | signal)
	[ -s "$pidfile" ] || exit 1
	pid=$(cat "$pidfile")
	kill -"${sig:-TERM}" "$pid" 2>/dev/null || exit 1
	[ "$mode" = stop ] || exit 0
	for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		kill -0 "$pid" 2>/dev/null || exit 0
		sleep 0.25
	done
	exit 1
	;;
*)
	echo "start-stop-daemon (stand-in): say --start, --stop or --signal" >&2
	exit 2
	;;
esac
