# shellcheck shell=sh
# enrolment: the image carries none of the build machine's enrolments: the
# keys and IDs by which a directory, a configuration manager or a vendor's
# service knows this one machine. Left in the image, every instance would
# authenticate as the build (its host keys, client keys, registration keys)
# and claim its identity, and anyone with the image holds those keys. Each is
# overwritten, then deleted (take_files, wipe_tree); each instance enrols
# again, as a new machine. Where a removal would break the image (a server
# whose own service needs it, a boot that needs the keytab) the step keeps it
# and fails, naming it and how to ship it on purpose.
step_enrolment() {
	wipe_start enrolment
	mnt=""
	: >"$work/enrol.did"
	: >"$work/enrol.kept"
	: >"$work/enrol.find"
	: >"$work/enrol.globs"

	# Kerberos: the host keytab holds the long-term keys of the host
	# principal (host/FQDN), which realm join and ipa-client-install write;
	# virt-sysprep's kerberos-hostkeytab removes it (libguestfs,
	# sysprep/sysprep_operation_kerberos_hostkeytab.ml). An NFS mount with
	# sec=krb5 in /etc/fstab needs it at boot (rpc.gssd uses the host key).
	if _why=$(enrol_ipa_server); then
		enrol_kept "the host Kerberos keytab" "$_why" /etc/krb5.keytab
	elif awk '$1 !~ /^#/ && $3 ~ /^nfs/ && $4 ~ /(^|,)sec=krb5/ && $4 !~ /(^|,)noauto(,|$)/ { f = 1 } END { exit !f }' /etc/fstab 2>/dev/null; then
		enrol_kept "the host Kerberos keytab" "/etc/fstab mounts NFS with sec=krb5 at boot, which needs it" /etc/krb5.keytab
	else
		enrol_take "the host Kerberos keytab" /etc/krb5.keytab /etc/krb5.keytab
	fi
	# FreeIPA client: default.conf names this host (host = FQDN) and
	# sysrestore/ holds what ipa-client-install changed, to undo it; both
	# make the image this enrolled host. virt-sysprep's ipa-client removes
	# them (guestfs-tools, sysprep/sysprep_operation_ipa_client.ml) with
	# the IPA CA certificate, which stays here: it is the realm's public
	# certificate, the same on every client. An IPA server's own services
	# need all of this: kept there.
	if _why=$(enrol_ipa_server); then
		enrol_kept "FreeIPA's enrolment" "$_why" /etc/ipa/default.conf /var/lib/ipa-client/sysrestore
	else
		enrol_take "FreeIPA's client enrolment" "/etc/ipa/default.conf /var/lib/ipa-client/sysrestore/*" \
			/etc/ipa/default.conf /var/lib/ipa-client/sysrestore/*
	fi
	# SSSD: its caches (db/: users, groups and, with cache_credentials, the
	# hashes of their passwords; mc/: the memory-mapped caches, sss_cache(8))
	# are this machine's view of the directory; virt-sysprep's sssd-db-log
	# removes db/* (sysprep_operation_sssd_db_log.ml). SSSD builds them anew.
	enrol_take "SSSD's caches" "/var/lib/sss/db/* /var/lib/sss/mc/*" /var/lib/sss/db/* /var/lib/sss/mc/*
	# Puppet: the agent's ssldir holds its private key and signed certificate
	# (Puppet docs, "SSL directory (ssldir)": $confdir/ssl, or the vardir
	# /var/lib/puppet/ssl where distribution packages put it); Puppet makes
	# it again at the next run, with a new key. A Puppet CA's own keys live
	# in /etc/puppetlabs/puppetserver/ca (or ssldir/ca before Puppet 6):
	# a Puppet server is kept.
	if [ -d /etc/puppetlabs/puppetserver/ca ] || [ -d /etc/puppetlabs/puppet/ssl/ca ] || [ -d /var/lib/puppet/ssl/ca ]; then
		enrol_kept "Puppet's SSL directory" "this is a Puppet CA, whose server needs its keys" \
			/etc/puppetlabs/puppet/ssl /var/lib/puppet/ssl
	else
		enrol_take "Puppet's agent SSL keys" "/etc/puppetlabs/puppet/ssl/*.pem /etc/puppetlabs/puppet/ssl/*/* /var/lib/puppet/ssl/*.pem /var/lib/puppet/ssl/*/*" \
			/etc/puppetlabs/puppet/ssl /var/lib/puppet/ssl
	fi
	# Chef: client.pem is the node's private key, which chef-client gets at
	# its first run (knife-client(1)); with it every instance is that node.
	enrol_take "Chef's client key" /etc/chef/client.pem /etc/chef/client.pem
	# Salt: the minion's key pair and the master's key it accepted in
	# pki/minion (pki_dir), and minion_id, the ID cached at its first start
	# (Salt's minion configuration: pki_dir, minion_id_caching); the master
	# knows the minion by both.
	enrol_take "Salt's minion keys and ID" "/etc/salt/pki/minion/* /etc/salt/minion_id" \
		/etc/salt/pki/minion/* /etc/salt/minion_id
	# AWS SSM Agent: a hybrid activation's registration (instance ID and
	# private key, Vault/Store/RegistrationKey; EC2RegistrationKey for
	# Default Host Management; amazon-ssm-agent,
	# agent/managedInstances/registration), the registration file, and the
	# temporary credentials of Default Host Management in credentials (AWS,
	# "Learn technical details about the SSM Agent").
	enrol_take "the SSM Agent's registration" "/var/lib/amazon/ssm/registration /var/lib/amazon/ssm/Vault/Store/* /var/lib/amazon/ssm/credentials" \
		/var/lib/amazon/ssm/registration /var/lib/amazon/ssm/Vault /var/lib/amazon/ssm/credentials
	# Ubuntu Pro: private/ holds the machine token of the attached contract
	# (machine-token.json), the machine ID Pro checks it against, and the
	# credentials of enabled services (ubuntu-pro-client, uaclient/defaults.py
	# and files/state_files.py). A cloud Pro image attaches itself again at
	# an instance's first boot; another instance attaches with pro attach.
	enrol_take "Ubuntu Pro's machine token" "/var/lib/ubuntu-advantage/private/*" /var/lib/ubuntu-advantage/private/*
	# Red Hat Subscription Manager: consumer/ holds the system's identity
	# certificate and key, entitlement/ its subscription certificates and
	# keys (Red Hat, "All Files Used by Subscription Manager"); virt-sysprep's
	# rh-subscription-manager removes both
	# (sysprep_operation_rh_subscription_manager.ml). Product certificates
	# (/etc/pki/product) come with packages and stay.
	enrol_take "Red Hat's subscription certificates" "/etc/pki/consumer/*.pem /etc/pki/entitlement/*.pem" \
		/etc/pki/consumer/*.pem /etc/pki/entitlement/*.pem
	# Red Hat Insights: machine-id is the host's ID in Insights' inventory,
	# .registered/.unregistered and .lastupload its state (insights-core,
	# insights/client/constants.py).
	enrol_take "Insights' machine ID" "/etc/insights-client/machine-id /etc/insights-client/.registered /etc/insights-client/.unregistered /etc/insights-client/.lastupload" \
		/etc/insights-client/machine-id /etc/insights-client/.registered /etc/insights-client/.unregistered \
		/etc/insights-client/.lastupload /etc/redhat-access-insights/.registered /etc/redhat-access-insights/.unregistered

	if [ "$audit" ]; then
		sed 's/^/the step would keep /; s/$/, and fail/' "$work/enrol.kept" >>"$work/enrol.find"
		cat "$refused" >>"$work/enrol.find"
		findings_from enrolment "$work/enrol.find" '%s'
		audit_result enrolment "no enrolment identity found"
		return
	fi
	[ -s "$work/enrol.did" ] && live_systemd && enrol_at_shutdown
	still_there "$found" >"$work/left"
	_did=$(awk 'NF { s = s (s == "" ? "" : "; ") $0 } END { print s }' "$work/enrol.did")
	if [ -s "$work/left" ]; then
		report enrolment failed "could not remove $(lines0 "$work/left" | join)$(first_errors)"
	elif [ -s "$refused" ] || [ -s "$work/enrol.kept" ]; then
		_ship=""
		[ -s "$work/enrol.kept" ] && _ship='; to ship them on purpose: skip_steps = ["enrolment"]'
		{ cat "$refused"; sed 's/^/kept /' "$work/enrol.kept"; } >"$work/enrol.why"
		report enrolment failed "$(awk 'NF { s = s (s == "" ? "" : "; ") $0 } END { print s }' "$work/enrol.why")$_ship${_did:+; overwrote and removed: $_did}"
	elif [ -n "$_did" ]; then
		# A note belongs to the step whose report line follows it.
		if grep -Eq '^(the host Kerberos keytab|FreeIPA|SSSD)' "$work/enrol.did" && [ -f /etc/sssd/sssd.conf ]; then
			note enrolment "each instance must join its domain again (realm join, ipa-client-install): /etc/sssd/sssd.conf and /etc/krb5.conf stay"
		fi
		report enrolment changed "overwrote and removed: $_did"
	else
		report enrolment ok "no enrolment identity found"
	fi
}

# enrol_take LABEL GLOBS PATH...: take on each PATH that exists, a file or a
# directory with everything below it, acting as who controls it; GLOBS
# (no spaces) are what its owner may write again at a running machine's
# shutdown. No symbolic link on the way down is followed (refused), no mount
# point taken.
enrol_take() {
	_et_label=$1
	_et_globs=$2
	shift 2
	: >"$work/enrol.these"
	for _et_p; do
		[ -e "$_et_p" ] || [ -L "$_et_p" ] || continue
		check_path "" "${_et_p#/}" || continue
		if is_mount "$_et_p"; then
			refuse "not entered: $(show "$_et_p") is a mount point"
			continue
		fi
		printf '%s\n' "$(show "$_et_p")" >>"$work/enrol.these"
		if [ -d "$_et_p" ] && [ ! -L "$_et_p" ]; then
			wipe_tree "$(controller "$_et_p")" "$_et_p"
		else
			take_files "$(controller "$_et_p")" "$_et_p"
		fi
	done
	[ -s "$work/enrol.these" ] || return 0
	if [ "$audit" ]; then
		sed "s/\$/ ($_et_label) exists/" "$work/enrol.these" >>"$work/enrol.find"
	else
		printf '%s: %s\n' "$_et_label" "$(join <"$work/enrol.these")" >>"$work/enrol.did"
		printf '%s\n' "$_et_globs" >>"$work/enrol.globs"
	fi
}

# enrol_kept LABEL WHY PATH...: what the step keeps, and why, if any PATH
# exists.
enrol_kept() {
	_ek_label=$1
	_ek_why=$2
	shift 2
	: >"$work/enrol.these"
	for _ek_p; do
		[ -e "$_ek_p" ] || [ -L "$_ek_p" ] && printf '%s\n' "$(show "$_ek_p")" >>"$work/enrol.these"
	done
	[ -s "$work/enrol.these" ] || return 0
	printf '%s (%s): %s\n' "$_ek_label" "$(join <"$work/enrol.these")" "$_ek_why" >>"$work/enrol.kept"
}

# enrol_ipa_server: prints why this is an IPA (or 389 Directory) server,
# whose services use the host keytab and IPA's files.
enrol_ipa_server() {
	if [ -e /var/lib/ipa/sysrestore/sysrestore.index ]; then
		echo "this is a FreeIPA server (/var/lib/ipa/sysrestore), whose services need it"
		return 0
	fi
	for _d in /etc/dirsrv/slapd-*; do
		[ -d "$_d" ] || continue
		echo "this is a 389 Directory Server ($(show "$_d")), whose services need it"
		return 0
	done
	return 1
}

# enrol_at_shutdown: on a running machine the agents still run (the build
# may even reach the machine through the SSM Agent) and write their files
# again as they stop: what was removed goes again at this boot's shutdown,
# after them (a unit ordered Before= a unit stops after it).
enrol_at_shutdown() {
	_ea_d=/run/systemd/system/ami-harden-enrolment-at-shutdown.service.d
	if ! { mkdir -p "$_ea_d" && cat >"$_ea_d/after-agents.conf"; } <<UNIT; then
# Written by ami-harden for this boot only: wipe after the agents stop.
[Unit]
Before=sssd.service amazon-ssm-agent.service snap.amazon-ssm-agent.amazon-ssm-agent.service salt-minion.service
Before=puppet.service chef-client.service rhsmcertd.service insights-client.service ubuntu-advantage.service
UNIT
		refuse "could not write $_ea_d/after-agents.conf: the agents' files written at shutdown would ship"
		return
	fi
	# shellcheck disable=SC2046 # globs, expanded at shutdown (not here: set -f)
	if _how=$(set -f; wipe_at_shutdown enrolment $(cat "$work/enrol.globs")); then
		printf '%s\n' "armed ami-harden-enrolment-at-shutdown.service (this boot only) for what the agents write as they stop" >>"$work/enrol.did"
	else
		refuse "$_how: the agents' files written at shutdown would ship"
	fi
}
