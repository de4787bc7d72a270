#!/bin/sh
# Parameters written by the ami-harden provisioner.
AMI_HARDEN_STEPS='sshd passwords host-keys user-keys credentials history cloud-init machine-id temp logs'
AMI_HARDEN_SSHD_SETTINGS='KbdInteractiveAuthentication no
PasswordAuthentication no
PermitEmptyPasswords no
PermitRootLogin prohibit-password
PubkeyAuthentication yes'
AMI_HARDEN_EXTRA_PATHS=''
AMI_HARDEN_SHRED_PASSES='1'
AMI_HARDEN_MODE='enforce'
AMI_HARDEN_REMOVE_SELF='1'
# ami-harden: cleans and hardens a Linux machine before it becomes a shared image.
#
# The Packer provisioner uploads this file once, with its parameters written as
# plain shell assignments right below the first line, runs it once as root and
# reads its report from standard output. It can also run by hand (as root, on a
# machine you are about to turn into an image, NEVER on your workstation):
#
#   AMI_HARDEN_STEPS="sshd passwords" sh linux.sh
#
# Report protocol, one line each, on standard output (nothing else starts with @@ami-harden):
#   @@ami-harden begin 1                      the script runs as root, protocol version 1
#   @@ami-harden start NAME                   step NAME starts (names the step a lost connection cut)
#   @@ami-harden finding NAME TEXT            audit mode: one thing step NAME found wrong
#   @@ami-harden step NAME STATUS DETAIL      STATUS is ok | changed | skipped | failed | finding
#   @@ami-harden end FAILED                   all steps ran; FAILED of them failed
#   @@ami-harden abort REASON                 nothing was changed, the run stopped
# DETAIL names files, accounts and counts; it never carries the contents of a file.
#
# Why each step exists: docs/provisioners/ami-harden.mdx and ../shared/seeds.

# Parameters. The provisioner sets them above; the defaults are what an empty
# `provisioner "ami-harden" {}` block means.
: "${AMI_HARDEN_STEPS:=sshd passwords host-keys user-keys credentials history cloud-init machine-id temp logs}"
# Keyword/value lines for sshd, one per line, "Keyword value".
: "${AMI_HARDEN_SSHD_SETTINGS:=PasswordAuthentication no
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PermitEmptyPasswords no
KbdInteractiveAuthentication no}"
# Absolute paths, one per line, wiped by the credentials step.
: "${AMI_HARDEN_EXTRA_PATHS:=}"
# Overwrite passes of random data before a secret file is unlinked.
: "${AMI_HARDEN_SHRED_PASSES:=1}"
# enforce: change what needs changing, then verify it. audit: change nothing,
# report as a finding everything enforce would change.
: "${AMI_HARDEN_MODE:=enforce}"
# 1 when the provisioner uploaded this file: it then removes itself.
: "${AMI_HARDEN_REMOVE_SELF:=0}"

set -u
umask 077
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH LC_ALL=C
# The build's own shell must not write a history file back after the wipe.
unset HISTFILE

# ---------------------------------------------------------------- reporting

# report STEP STATUS DETAIL: the one line the provisioner reads for a step.
report() {
	_detail=$(printf '%s' "$3" | tr '\t\r\n' '   ')
	printf '@@ami-harden step %s %s %s\n' "$1" "$2" "${_detail:--}"
	printf '%s\n' "$1" >>"$work/reported"
	[ "$2" = failed ] && printf '%s\n' "$1" >>"$work/failed"
	return 0
}

# finding STEP TEXT: in audit mode, one thing the step would change.
finding() {
	_text=$(printf '%s' "$2" | tr '\t\r\n' '   ')
	printf '@@ami-harden finding %s %s\n' "$1" "$_text"
	printf '%s\n' "$1" >>"$work/findings"
}

# findings_from STEP FILE FORMAT: a finding per line of FILE (printf FORMAT
# with the line), the first 50 of them, then one that counts the rest.
findings_from() {
	_n=0
	while IFS= read -r _line; do
		_n=$((_n + 1))
		if [ "$_n" -le 50 ]; then
			# shellcheck disable=SC2059 # FORMAT is the caller's constant
			finding "$1" "$(printf "$3" "$_line")"
		fi
	done <"$2"
	[ "$_n" -le 50 ] || finding "$1" "and $((_n - 50)) more like these"
}

# audit_result STEP OKDETAIL: the step's line in audit mode.
audit_result() {
	_n=$(grep -cx "$1" "$work/findings")
	if [ "$_n" -gt 0 ]; then
		report "$1" finding "$_n finding(s)"
	else
		report "$1" ok "$2"
	fi
}

# join: stdin lines joined with ", ", at most 20 of them, then "and N more".
join() {
	awk 'NF { n++; if (n <= 20) s = s (n > 1 ? ", " : "") $0 }
	     END { if (n > 20) s = s ", and " (n - 20) " more"; print s }'
}

# ---------------------------------------------------------------- wiping files

# wipe FILE...: overwrite regular files, then unlink them, so that their
# contents are not left in the disk blocks an image snapshot copies. Symbolic
# links are unlinked, never followed: a link named .bash_history that points at
# /etc/shadow must not destroy /etc/shadow.
#
# With shred, files are queued and wipe_now overwrites and unlinks the queue
# in as few shred processes as the argument limit allows: a process per file
# costs more than the writing on an image with hundreds of accounts. The
# queue is NUL-separated, so no file name can split into another path.
wipe() {
	[ "$audit" ] && return 0
	for _f in "$@"; do
		if [ -L "$_f" ]; then
			rm -f -- "$_f"
		elif [ -f "$_f" ]; then
			if [ -n "$shred" ]; then
				printf '%s\0' "$_f" >>"$work/wipe.queue"
			else
				overwrite "$_f" && rm -f -- "$_f"
			fi
		fi
	done
}

# wipe_now: overwrite and unlink what wipe queued.
wipe_now() {
	[ -s "$work/wipe.queue" ] || return 0
	# shellcheck disable=SC2086 # $shred_unlink is one option, or none
	xargs -0 shred -n "$AMI_HARDEN_SHRED_PASSES" $shred_unlink -- <"$work/wipe.queue" 2>>"$work/wipe.err"
	: >"$work/wipe.queue"
}

# overwrite FILE: replace its contents in place and flush them to the disk.
overwrite() {
	if [ -n "$shred" ]; then
		shred -n "$AMI_HARDEN_SHRED_PASSES" -- "$1"
	else
		# No shred (busybox images): zeros over the whole length, then sync.
		_size=$(wc -c <"$1") || return 1
		[ "$_size" -gt 0 ] || return 0
		dd if=/dev/zero of="$1" bs=4096 count=$(((_size + 4095) / 4096)) conv=notrunc 2>/dev/null &&
			sync
	fi
}

# empty_file FILE: truncate FILE, keeping its owner and mode. Not `: >FILE`:
# a failed redirection on the special builtin : ends a POSIX shell, and a
# read-only file must give a failed step, not a dead one.
empty_file() {
	{ printf '' >"$1"; } 2>/dev/null
}

# wipe_tree DIR: wipe every file below DIR, then remove DIR.
wipe_tree() {
	[ "$audit" ] && return 0
	[ -L "$1" ] && { rm -f -- "$1"; return; }
	[ -d "$1" ] || return 0
	if [ -n "$shred" ]; then
		find "$1" -xdev -type f -exec shred -n "$AMI_HARDEN_SHRED_PASSES" -- {} + || return 1
	else
		find "$1" -xdev -type f | while IFS= read -r _f; do overwrite "$_f"; done
	fi
	rm -rf -- "$1"
}

# ---------------------------------------------------------------- accounts

# The passwd database is read once, into $work/passwd, and with it one line
# per distinct home directory that exists, for the steps that look into
# every home.
list_homes() {
	if command -v getent >/dev/null 2>&1; then getent passwd; else cat /etc/passwd; fi >"$work/passwd"
	awk -F: '$6 != "" && !seen[$6]++ { print $6 }' "$work/passwd" |
		while IFS= read -r _h; do
			[ -d "$_h" ] && [ ! -L "$_h" ] && printf '%s\n' "$_h"
		done >"$work/homes"
}

# wipe_in_homes STEP RELPATH...: wipe the named files in every home and report.
wipe_in_homes() {
	_step=$1
	shift
	: >"$work/found"
	while IFS= read -r _home; do
		for _rel in "$@"; do
			for _f in "$_home"/$_rel; do
				if [ -L "$_f" ] || [ -f "$_f" ]; then
					printf '%s\n' "$_f" >>"$work/found"
					wipe "$_f"
				fi
			done
		done
	done <"$work/homes"
	finish_wipe "$_step" "$@"
}

# finish_wipe STEP: report what the last wipe_* found, and verify it is gone.
finish_wipe() {
	wipe_now
	if [ "$audit" ]; then
		findings_from "$1" "$work/found" '%s exists'
		audit_result "$1" "none found"
		return
	fi
	: >"$work/left"
	while IFS= read -r _f; do
		if [ -e "$_f" ] || [ -L "$_f" ]; then printf '%s\n' "$_f" >>"$work/left"; fi
	done <"$work/found"
	_n=$(grep -c . "$work/found")
	if [ -s "$work/left" ]; then
		report "$1" failed "could not remove $(join <"$work/left")"
	elif [ "$_n" -gt 0 ]; then
		report "$1" changed "overwrote and removed $_n file(s): $(join <"$work/found")"
	else
		report "$1" ok "none found"
	fi
}

# ---------------------------------------------------------------- sshd helpers

# sshd_binary: the sshd of the image, if any.
sshd_binary() {
	for _s in /usr/sbin/sshd /usr/local/sbin/sshd; do
		[ -x "$_s" ] && { printf '%s\n' "$_s"; return 0; }
	done
	command -v sshd
}

# sshd_effective [-C SPEC]: the settings sshd would use (`sshd -T`), lowercased
# keywords. A throwaway host key is passed with -h because the image's own host
# keys may already be gone (a second run), and sshd refuses to test without one.
sshd_effective() {
	"$sshd" -T -h "$work/probe_key" "$@" 2>"$work/sshd_err"
}


sshd_probe_key() {
	[ -f "$work/probe_key" ] ||
		ssh-keygen -q -t ed25519 -N '' -C ami-harden-probe -f "$work/probe_key" >/dev/null 2>&1
}

# ---------------------------------------------------------------- steps

# sshd: password logins off, keys on. sshd keeps the FIRST value it reads for a
# keyword, and Debian and Ubuntu include sshd_config.d/*.conf at the top of
# sshd_config, where cloud images put PasswordAuthentication yes. So the block
# goes at the very top of sshd_config itself, ahead of every Include, and the
# result is read back from `sshd -T`, not from the file. sshd is neither
# restarted nor reloaded: the build's own connection must live to the end.
step_sshd() {
	sshd=$(sshd_binary) || { report sshd skipped "sshd is not installed"; return; }
	config=/etc/ssh/sshd_config
	[ -f "$config" ] || { report sshd failed "$config does not exist"; return; }
	sshd_probe_key || { report sshd failed "ssh-keygen could not make a throwaway key to test sshd's configuration"; return; }
	# sshd -T checks the configuration as -t does, and prints the result.
	sshd_effective >"$work/sshd_before" || { report sshd failed "sshd rejects the configuration before any change (sshd -T), fix it first: $(head -n 3 "$work/sshd_err")"; return; }

	# OpenSSH before 8.7 knows the keyword as ChallengeResponseAuthentication.
	printf '%s\n' "$AMI_HARDEN_SSHD_SETTINGS" >"$work/settings"
	if ! grep -q '^kbdinteractiveauthentication ' "$work/sshd_before"; then
		sed 's/^KbdInteractiveAuthentication /ChallengeResponseAuthentication /' "$work/settings" >"$work/settings.old"
		mv "$work/settings.old" "$work/settings"
	fi

	if [ "$audit" ]; then
		sshd_compare "$work/sshd_before"
		findings_from sshd "$work/wrong" '%s (sshd -T)'
		sshd_has_match && ! sshd_match_check && findings_from sshd "$work/wrong" 'a Match block sets %s'
		audit_result sshd "in effect: $(awk '{ print $1 " " $2 }' "$work/settings" | join)"
		return
	fi

	{
		echo '# BEGIN ami-harden: kept first, sshd uses the first value it reads.'
		grep . "$work/settings"
		echo '# END ami-harden'
		# Earlier runs' block is replaced, not stacked.
		sed '/^# BEGIN ami-harden/,/^# END ami-harden/d' "$config"
	} >"$work/sshd_config.new"

	if cmp -s "$work/sshd_config.new" "$config"; then
		status=ok
		cp "$work/sshd_before" "$work/sshd_after"
	else
		cp -p "$config" "$work/sshd_config.orig" || { report sshd failed "could not back up $config"; return; }
		# Write in place: keeps the owner, mode and any hard link of the file.
		cat "$work/sshd_config.new" >"$config" || {
			cat "$work/sshd_config.orig" >"$config"
			report sshd failed "could not write $config"
			return
		}
		if ! sshd_effective >"$work/sshd_after"; then
			cat "$work/sshd_config.orig" >"$config"
			report sshd failed "sshd rejected the new settings (sshd -T), $config was restored: $(head -n 3 "$work/sshd_err")"
			return
		fi
		status=changed
	fi

	# Verify the effect: what sshd will really use, for every setting asked for.
	sshd_compare "$work/sshd_after"
	if [ -s "$work/wrong" ]; then
		report sshd failed "sshd -T does not show the settings asked for: $(join <"$work/wrong")"
		return
	fi
	if sshd_has_match && ! sshd_match_check; then
		report sshd failed "a Match block in the sshd configuration turns password logins back on: $(join <"$work/wrong")"
		return
	fi

	_pam=$(awk '$1 == "usepam" { print $2 }' "$work/sshd_after")
	_summary=$(awk '{ print $1 " " $2 }' "$work/settings" | join)
	if [ "$status" = changed ]; then
		report sshd changed "$config now starts with: $_summary (verified with sshd -T; UsePAM ${_pam:-unknown})"
	else
		report sshd ok "already in effect: $_summary"
	fi
}

# sshd_compare EFFECTIVE: list in $work/wrong each setting asked for that the
# `sshd -T` output in EFFECTIVE does not show.
sshd_compare() {
	: >"$work/wrong"
	while read -r _key _want; do
		[ -n "$_key" ] || continue
		_lkey=$(printf '%s' "$_key" | tr '[:upper:]' '[:lower:]')
		_got=$(awk -v k="$_lkey" '$1 == k { $1 = ""; sub(/^ /, ""); print; exit }' "$1")
		if [ -z "$_got" ]; then
			printf '%s (sshd does not know it)\n' "$_key" >>"$work/wrong"
		elif ! same_sshd_value "$_want" "$_got"; then
			printf '%s is %s, not %s\n' "$_key" "$_got" "$_want" >>"$work/wrong"
		fi
	done <"$work/settings"
}

# sshd_has_match: Match blocks override the global settings for the
# connections they match, so they need a check of their own.
sshd_has_match() {
	grep -Eiqs '^[[:space:]]*Match[[:space:]]' /etc/ssh/sshd_config /etc/ssh/sshd_config.d/*.conf
}

# same_sshd_value WANT GOT: sshd -T prints some values under another name.
same_sshd_value() {
	_w=$(printf '%s' "$1" | tr '[:upper:]' '[:lower:]')
	_g=$(printf '%s' "$2" | tr '[:upper:]' '[:lower:]')
	[ "$_w" = "$_g" ] && return 0
	case "$_w:$_g" in
	prohibit-password:without-password | without-password:prohibit-password) return 0 ;;
	esac
	return 1
}

# sshd_match_check: with Match blocks present, check the password settings for
# root and every account with a login shell, as sshd would see their logins.
# What is wrong goes to $work/wrong.
sshd_match_check() {
	: >"$work/wrong"
	awk -F: '$7 !~ /(nologin|false|sync|halt|shutdown)$/ { print $1 }' "$work/passwd" >"$work/login_users"
	while IFS= read -r _u; do
		sshd_effective -C "user=$_u,host=image.invalid,addr=192.0.2.1,laddr=192.0.2.2,lport=22" >"$work/sshd_user" || {
			printf '%s (sshd -T -C failed)\n' "$_u" >>"$work/wrong"
			continue
		}
		for _k in passwordauthentication permitemptypasswords; do
			awk -v k="$_k" -v u="$_u" '$1 == k && $2 != "no" { print u ": " k " " $2 }' "$work/sshd_user" >>"$work/wrong"
		done
	done <"$work/login_users"
	[ ! -s "$work/wrong" ]
}

# passwords: lock every account that has a usable or an empty password.
step_passwords() {
	[ -r /etc/shadow ] || { report passwords failed "/etc/shadow cannot be read"; return; }
	# With UsePAM no, sshd refuses key logins to accounts whose password is
	# locked: locking would give an image no one can log in to.
	# The sshd step leaves what it verified in $work/sshd_after; without it
	# (the step skipped or stopped early), sshd is asked here.
	if [ -z "$audit" ] && { [ -s "$work/sshd_after" ] || sshd=$(sshd_binary); }; then
		{ [ -s "$work/sshd_after" ] || { sshd_probe_key && sshd_effective >"$work/sshd_after"; }; } &&
			if grep -q '^usepam no' "$work/sshd_after"; then
				report passwords failed "sshd has UsePAM no, and then a locked password also refuses key logins: set sshd_settings = { UsePAM = \"yes\" } or skip this step; no password was locked"
				return
			fi
	fi
	# A usable password is any hash not starting with ! or *; an empty one is usable too.
	awk -F: '$2 !~ /^[!*]/ { print $1 }' /etc/shadow >"$work/unlocked"
	if [ "$audit" ]; then
		findings_from passwords "$work/unlocked" '%s has a usable or empty password'
		audit_result passwords "no account has a usable or empty password"
		return
	fi
	if [ ! -s "$work/unlocked" ]; then
		report passwords ok "no account has a usable or empty password"
		return
	fi
	# One chpasswd -e for every account: the "!" in front of the hash is
	# exactly what passwd -l writes, without a process per account.
	awk -F: '$2 !~ /^[!*]/ { print $1 ":!" $2 }' /etc/shadow >"$work/locked"
	if ! chpasswd -e <"$work/locked" >/dev/null 2>&1; then
		while IFS= read -r _u; do
			if command -v passwd >/dev/null 2>&1; then
				passwd -l "$_u" >/dev/null 2>&1 || usermod -L "$_u" >/dev/null 2>&1
			else
				usermod -L "$_u" >/dev/null 2>&1
			fi
		done <"$work/unlocked"
	fi
	awk -F: '$2 !~ /^[!*]/ { print $1 }' /etc/shadow >"$work/still"
	if [ -s "$work/still" ]; then
		report passwords failed "could not lock $(join <"$work/still") (no working passwd -l or usermod -L)"
	else
		report passwords changed "locked $(join <"$work/unlocked")"
	fi
}

# host-keys: no two instances of the image may share host keys. The keys go,
# but only once the image is sure to make new ones before sshd starts.
step_host_keys() {
	if [ "$audit" ]; then
		find /etc/ssh -maxdepth 1 -name 'ssh_host_*' \( -type f -o -type l \) >"$work/found"
		findings_from host-keys "$work/found" '%s exists'
		_how=$(host_key_regeneration) || finding host-keys "$_how"
		audit_result host-keys "no host keys in the image; new keys at first boot by $_how"
		return
	fi
	if ! _how=$(arrange_host_key_regeneration); then
		report host-keys failed "$_how; no host key was removed"
		return
	fi
	: >"$work/found"
	for _f in /etc/ssh/ssh_host_*; do
		[ -e "$_f" ] || [ -L "$_f" ] || continue
		printf '%s\n' "$_f" >>"$work/found"
		wipe "$_f"
	done
	wipe_now
	_n=$(grep -c . "$work/found")
	for _f in /etc/ssh/ssh_host_*; do
		[ -e "$_f" ] || [ -L "$_f" ] || continue
		report host-keys failed "could not remove $_f"
		return
	done
	if [ "$_n" -gt 0 ]; then
		report host-keys changed "overwrote and removed $_n host key file(s); new keys at first boot by $_how"
	else
		report host-keys ok "no host keys in the image; new keys at first boot by $_how"
	fi
}

# host_key_regeneration: print what makes new host keys at first boot, or
# why nothing does (and fail). Audit mode asks this.
host_key_regeneration() {
	if [ -f /etc/systemd/system/ami-harden-host-keys.service ] &&
		[ -L /etc/systemd/system/multi-user.target.wants/ami-harden-host-keys.service ]; then
		echo "ami-harden-host-keys.service (ssh-keygen -A before sshd)$(other_host_key_makers)"
		return 0
	fi
	if command -v cloud-init >/dev/null 2>&1; then
		echo "cloud-init, when it finds its data source"
		return 0
	fi
	for _u in $(distro_keygen_units); do
		# ConditionFirstBoot holds only while /etc/machine-id is missing or
		# "uninitialized", never with the empty one the machine-id step leaves.
		if ! grep -qs '^ConditionFirstBoot=yes' "$_u"; then
			echo "the distribution's ${_u##*/}"
			return 0
		fi
	done
	echo "nothing makes new host keys at first boot (no cloud-init, no ami-harden-host-keys.service, no sshd-keygen unit that runs on every image's first boot)"
	return 1
}

# distro_keygen_units: the distribution's own host key units, by path.
distro_keygen_units() {
	for _d in /etc/systemd/system /usr/lib/systemd/system /lib/systemd/system; do
		for _u in sshd-keygen@.service sshd-keygen.service; do
			[ -f "$_d/$_u" ] && echo "$_d/$_u"
		done
	done
}

# other_host_key_makers: ", besides ..." for what else makes host keys.
other_host_key_makers() {
	command -v cloud-init >/dev/null 2>&1 && printf ', besides cloud-init'
	for _u in $(distro_keygen_units); do
		printf ", besides the distribution's %s" "${_u##*/}"
		break
	done
}

# arrange_host_key_regeneration: make sure the image makes new host keys at
# first boot, before sshd starts, and print what does. A small systemd unit
# that runs `ssh-keygen -A` is installed even where cloud-init or the
# distribution has its own way: cloud-init makes keys only when it finds its
# data source, and Debian's sshd-keygen.service only on a first boot that an
# empty /etc/machine-id does not announce. ssh-keygen -A makes only the keys
# that are missing, so whichever runs first, sshd starts with new keys.
arrange_host_key_regeneration() {
	if ! command -v ssh-keygen >/dev/null 2>&1; then
		echo "ssh-keygen is not installed, so nothing could make new host keys"
		return 1
	fi
	if [ ! -d /etc/systemd/system ] || ! command -v systemctl >/dev/null 2>&1; then
		if command -v cloud-init >/dev/null 2>&1; then
			echo "cloud-init (no systemd here for a fallback)"
			return 0
		fi
		echo "no cloud-init and no systemd: install cloud-init or a boot script that runs ssh-keygen -A before sshd starts"
		return 1
	fi
	_unit=/etc/systemd/system/ami-harden-host-keys.service
	cat >"$work/unit" <<UNIT
# Installed by ami-harden: the image was shared without SSH host keys, so each
# instance makes its own on first boot, before sshd starts.
[Unit]
Description=Generate missing SSH host keys (ami-harden)
Before=ssh.service sshd.service ssh.socket sshd.socket

[Service]
Type=oneshot
ExecStart=$(command -v ssh-keygen) -A

[Install]
WantedBy=multi-user.target ssh.service sshd.service
UNIT
	if ! cmp -s "$work/unit" "$_unit"; then
		if ! { cat "$work/unit" >"$_unit" && chmod 0644 "$_unit"; }; then
			echo "could not write $_unit"
			return 1
		fi
	fi
	# Enabled by hand: systemctl may not talk to a running systemd here (chroot).
	for _t in multi-user.target ssh.service sshd.service; do
		[ "$_t" = multi-user.target ] || [ -f "/lib/systemd/system/$_t" ] || [ -f "/usr/lib/systemd/system/$_t" ] || continue
		if ! { mkdir -p "/etc/systemd/system/$_t.wants" &&
			ln -sf "$_unit" "/etc/systemd/system/$_t.wants/ami-harden-host-keys.service"; }; then
			echo "could not enable $_unit"
			return 1
		fi
	done
	echo "ami-harden-host-keys.service (ssh-keygen -A before sshd)$(other_host_key_makers)"
}

# user-keys: nobody's keys ship in the image; instances get theirs at launch.
step_user_keys() {
	wipe_in_homes user-keys .ssh/authorized_keys .ssh/authorized_keys2 '.ssh/id_*'
}

# credentials: cloud and tool credentials in every home, and extra_paths.
step_credentials() {
	: >"$work/found"
	while IFS= read -r _home; do
		for _rel in .aws/credentials .aws/sso/cache .docker/config.json .git-credentials .netrc .pgpass .my.cnf \
			.config/gcloud/credentials.db .config/gcloud/access_tokens.db .config/gcloud/application_default_credentials.json \
			.config/gcloud/legacy_credentials .azure/accessTokens.json .azure/msal_token_cache.json \
			.kube/config .npmrc .pypirc .config/gh/hosts.yml .vault-token .terraform.d/credentials.tfrc.json; do
			wipe_path "$_home/$_rel"
		done
	done <"$work/homes"
	printf '%s\n' "$AMI_HARDEN_EXTRA_PATHS" | while IFS= read -r _p; do
		[ -n "$_p" ] && wipe_path "$_p"
	done
	finish_wipe credentials
}

# wipe_path PATH: wipe a file, or a whole directory, noting it as found.
wipe_path() {
	if [ -L "$1" ] || [ -f "$1" ]; then
		printf '%s\n' "$1" >>"$work/found"
		wipe "$1"
	elif [ -d "$1" ]; then
		printf '%s\n' "$1" >>"$work/found"
		wipe_tree "$1"
	fi
}

# history: shell and tool histories in every home. HISTFILE is unset above,
# so the shell running this script writes nothing back afterwards.
step_history() {
	wipe_in_homes history .bash_history .zsh_history .zhistory .sh_history .ash_history .history \
		.python_history .mysql_history .psql_history .sqlite_history .lesshst .viminfo .node_repl_history \
		.rediscli_history .irb_history .local/share/fish/fish_history .local/share/nano/search_history
}

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
		} >"$work/found"
		findings_from cloud-init "$work/found" '%s exists'
		audit_result cloud-init "no instance state left"
		return
	fi
	if ! cloud-init clean --logs >"$work/cloud_init_out" 2>&1; then
		report cloud-init failed "cloud-init clean --logs failed: $(head -n 3 "$work/cloud_init_out")"
		return
	fi
	_extra=""
	if [ -e "$_sudoers" ]; then
		wipe "$_sudoers"
		wipe_now
		[ -e "$_sudoers" ] && { report cloud-init failed "could not remove $_sudoers"; return; }
		_extra=", removed $_sudoers"
	fi
	report cloud-init changed "ran cloud-init clean --logs$_extra"
}

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
		wipe /var/lib/systemd/random-seed
		wipe_now
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

# temp: /tmp and /var/tmp emptied, hidden files and odd names included.
step_temp() {
	if [ "$audit" ]; then
		# One line per entry: a newline inside a name is shown as "?".
		find /tmp /var/tmp -xdev -mindepth 1 -maxdepth 1 -exec sh -c \
			'for f do printf "%s" "$f" | tr "\n" "?"; echo; done' sh {} + 2>/dev/null >"$work/found"
		findings_from temp "$work/found" '%s exists'
		audit_result temp "/tmp and /var/tmp are empty"
		return
	fi
	_n=$(count_entries)
	# Files first, then the emptied directories, deepest first. Not -delete:
	# busybox's find may not have it. rmdir leaves a directory that still
	# holds something (a mount point's contents, say), and it is reported.
	find /tmp /var/tmp -xdev -mindepth 1 ! -type d -exec rm -f -- {} + 2>"$work/temp_err"
	find /tmp /var/tmp -xdev -mindepth 1 -depth -type d -exec rmdir -- {} + 2>>"$work/temp_err"
	_left=$(count_entries)
	if [ "$_left" -gt 0 ]; then
		report temp failed "$_left entries could not be removed from /tmp and /var/tmp: $(head -n 3 "$work/temp_err")"
	elif [ "$_n" -gt 0 ]; then
		report temp changed "removed $_n entries from /tmp and /var/tmp"
	else
		report temp ok "/tmp and /var/tmp are empty"
	fi
}

# count_entries: how many entries /tmp and /var/tmp hold, names with newlines
# included, without a process per entry.
count_entries() {
	find /tmp /var/tmp -xdev -mindepth 1 -exec sh -c 'echo $#' sh {} + 2>/dev/null |
		awk '{ n += $1 } END { print n + 0 }'
}

# logs: rotated logs and the journal are overwritten and deleted; every other
# file under /var/log is overwritten and truncated, so that services find their
# log files with the owner and mode they expect. lastlog is sparse (its length
# grows with the highest uid) and holds no text: it is truncated only.
step_logs() {
	[ -d /var/log ] || { report logs ok "no /var/log"; return; }
	find /var/log -xdev -type f \( -name '*.[0-9]' -o -name '*.[0-9].log' -o -name '*.gz' -o -name '*.xz' \
		-o -name '*.bz2' -o -name '*.zst' -o -name '*.old' -o -name '*-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]' \
		-o -name '*.journal' -o -name '*.journal~' \) >"$work/rotated"
	_rotated=$(grep -c . "$work/rotated")
	if [ "$audit" ]; then
		findings_from logs "$work/rotated" '%s exists (rotated or journal)'
		find /var/log -xdev -type f ! -size 0 >"$work/active"
		grep -vxF -f "$work/rotated" "$work/active" >"$work/found"
		findings_from logs "$work/found" '%s is not empty'
		audit_result logs "all logs are empty"
		return
	fi
	if [ "$_rotated" -gt 0 ]; then
		if [ -n "$shred" ]; then
			tr '\n' '\0' <"$work/rotated" | xargs -0 shred -n "$AMI_HARDEN_SHRED_PASSES" -u --
		else
			while IFS= read -r _f; do wipe "$_f"; done <"$work/rotated"
		fi
	fi
	# The journal's directories are named after the old machine-id.
	[ -d /var/log/journal ] && find /var/log/journal -xdev -mindepth 1 -depth -type d -exec rmdir -- {} + 2>/dev/null

	find /var/log -xdev -type f ! -size 0 >"$work/active"
	_active=$(grep -c . "$work/active")
	if [ "$_active" -gt 0 ]; then
		if [ -n "$shred" ]; then
			grep -v '/lastlog$' "$work/active" | tr '\n' '\0' | xargs -0 -r shred -n "$AMI_HARDEN_SHRED_PASSES" --
		else
			grep -v '/lastlog$' "$work/active" | while IFS= read -r _f; do overwrite "$_f"; done
		fi
		while IFS= read -r _f; do empty_file "$_f"; done <"$work/active"
	fi

	find /var/log -xdev -type f ! -size 0 >"$work/left"
	while IFS= read -r _f; do [ -e "$_f" ] && printf '%s\n' "$_f"; done <"$work/rotated" >>"$work/left"
	if [ -s "$work/left" ]; then
		report logs failed "still holding data: $(join <"$work/left")"
	elif [ $((_rotated + _active)) -gt 0 ]; then
		report logs changed "overwrote and deleted $_rotated rotated or journal file(s), overwrote and truncated $_active log file(s)"
	else
		report logs ok "all logs are empty"
	fi
}

# ---------------------------------------------------------------- main

# run_step NAME: run one step in a subshell, so that a step that dies still
# leaves a report line and the steps after it still run.
run_step() {
	_fn=step_$(printf '%s' "$1" | tr - _)
	(
		"$_fn"
	)
	_rc=$?
	if ! grep -qx "$1" "$work/reported"; then
		report "$1" failed "the step stopped with exit status $_rc before reporting"
	fi
}

main() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "@@ami-harden abort not-root: the script runs as uid $(id -u); it needs root (see execute_command)"
		exit 2
	fi
	# Private scratch space, outside the /tmp that the temp step empties, and
	# outside the image where possible (/run is a tmpfs on a running system).
	for _base in /run /dev/shm; do
		work=$(mktemp -d "$_base/ami-harden.XXXXXX" 2>/dev/null) && break
	done
	if [ -z "${work:-}" ] || [ ! -d "$work" ]; then
		echo "@@ami-harden abort no-workdir: could not create a private directory in /run or /dev/shm"
		exit 2
	fi
	trap 'rm -rf "$work"' EXIT
	trap 'exit 130' INT TERM HUP
	: >"$work/reported"
	: >"$work/failed"
	: >"$work/findings"
	audit=""
	[ "$AMI_HARDEN_MODE" = audit ] && audit=1
	shred=""
	# Tried, not looked up: busybox sh can report an applet that will not run.
	printf 'x' >"$work/shred-probe" && shred -n 1 -- "$work/shred-probe" >/dev/null 2>&1 && shred=shred
	# GNU shred -u renames a file once per character of its name, syncing each
	# time, to hide the name; the names here are no secret, the contents are.
	# Plain unlink is three times faster where shred offers it.
	shred_unlink=-u
	[ -n "$shred" ] && shred -n 1 --remove=unlink -- "$work/shred-probe" >/dev/null 2>&1 && shred_unlink=--remove=unlink
	sshd=""

	echo "@@ami-harden begin 1"
	list_homes
	for _step in $AMI_HARDEN_STEPS; do
		echo "@@ami-harden start $_step"
		run_step "$_step"
	done
	_failed=$(grep -c . "$work/failed")
	echo "@@ami-harden end $_failed"
	[ "$_failed" -eq 0 ] && [ ! -s "$work/findings" ]
}

# The script leaves nothing behind: it removes itself before changing anything
# (the shell keeps reading it from the open file).
[ "$AMI_HARDEN_REMOVE_SELF" = 1 ] && rm -f -- "$0"

main
