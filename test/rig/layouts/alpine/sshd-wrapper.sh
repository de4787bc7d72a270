#!/bin/sh
# ami-harden test rig (layout alpine), installed as /usr/sbin/sshd; the real
# sshd is /usr/sbin/sshd.real. Not Alpine's: it makes Debian's sshd, which is
# built with PAM, look like Alpine's default sshd (openssh-server, built
# --without-pam) where that shows:
#   - `sshd -T` prints no usepam line (a sshd built without PAM prints none);
#   - /run/sshd exists before sshd starts: Debian's build chroots its
#     unprivileged child there (Alpine's uses /var/empty, which
#     /etc/init.d/sshd makes), and nothing else makes it on an OpenRC system.
# Everything else execs the real binary with the same arguments. sshd then
# re-executes itself by the absolute path it was started with, which is
# /usr/sbin/sshd.real, so connections never pass through this script.
real=/usr/sbin/sshd.real

[ -d /run/sshd ] || mkdir -m 0755 /run/sshd 2>/dev/null

# Is -T among the options? Parsed as sshd's getopt string
# "C:E:b:c:f:g:h:k:o:p:u:46DGQRTdeiqrtV" would: an option that takes a value
# ends its word (the value is the rest of it, or the next word).
test_mode=
skip=
for arg in "$@"; do
	if [ -n "$skip" ]; then skip=; continue; fi
	case $arg in
	--) break ;;
	-?*) ;;
	*) continue ;;
	esac
	rest=${arg#-}
	while [ -n "$rest" ]; do
		c=${rest%"${rest#?}"}
		rest=${rest#?}
		case $c in
		T) test_mode=1 ;;
		[CEbcfghkopu])
			[ -n "$rest" ] || skip=1
			break
			;;
		esac
	done
done

if [ -n "$test_mode" ]; then
	out=$("$real" "$@")
	status=$?
	[ -z "$out" ] || printf '%s\n' "$out" | grep -v '^usepam '
	exit "$status"
fi
exec "$real" "$@"
