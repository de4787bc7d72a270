package provisioner

import "strings"

// sshdKeywords are the keywords of sshd_config(5) in OpenSSH 9.2 to 10.0 (and
// Debian's DebianBanner), lowercased: sshd_settings is checked against them
// at `packer validate` time, long before sshd -t would see a typo. Match
// and Include are left out on purpose: they change how the rest of the file
// is read and do not belong in a block of plain settings.
var sshdKeywords = func() map[string]bool {
	m := map[string]bool{}
	for _, k := range strings.Fields(`
		AcceptEnv AddressFamily AllowAgentForwarding AllowGroups AllowStreamLocalForwarding
		AllowTcpForwarding AllowUsers AuthenticationMethods AuthorizedKeysCommand
		AuthorizedKeysCommandUser AuthorizedKeysFile AuthorizedPrincipalsCommand
		AuthorizedPrincipalsCommandUser AuthorizedPrincipalsFile Banner CASignatureAlgorithms
		ChallengeResponseAuthentication ChannelTimeout ChrootDirectory Ciphers ClientAliveCountMax
		ClientAliveInterval Compression DebianBanner DenyGroups DenyUsers DisableForwarding
		ExposeAuthInfo FingerprintHash ForceCommand GatewayPorts GSSAPIAuthentication
		GSSAPICleanupCredentials GSSAPIKexAlgorithms GSSAPIKeyExchange GSSAPIStoreCredentialsOnRekey
		GSSAPIStrictAcceptorCheck HostbasedAcceptedAlgorithms HostbasedAcceptedKeyTypes
		HostbasedAuthentication HostbasedUsesNameFromPacketOnly HostCertificate HostKey HostKeyAgent
		HostKeyAlgorithms IgnoreRhosts IgnoreUserKnownHosts IPQoS KbdInteractiveAuthentication
		KerberosAuthentication KerberosGetAFSToken KerberosOrLocalPasswd KerberosTicketCleanup
		KexAlgorithms ListenAddress LoginGraceTime LogLevel LogVerbose MACs MaxAuthTries MaxSessions
		MaxStartups ModuliFile PasswordAuthentication PerSourceMaxStartups PerSourceNetBlockSize
		PerSourcePenalties PerSourcePenaltyExemptList PermitEmptyPasswords PermitListen PermitOpen
		PermitRootLogin PermitTTY PermitTunnel PermitUserEnvironment PermitUserRC PidFile Port
		PrintLastLog PrintMotd PubkeyAcceptedAlgorithms PubkeyAcceptedKeyTypes PubkeyAuthOptions
		PubkeyAuthentication RDomain RefuseConnection RekeyLimit RequiredRSASize RevokedKeys
		SecurityKeyProvider SetEnv SshdAuthPath SshdSessionPath StreamLocalBindMask
		StreamLocalBindUnlink StrictModes Subsystem SyslogFacility TCPKeepAlive TrustedUserCAKeys
		UnusedConnectionTimeout UseDNS UsePAM VersionAddendum X11DisplayOffset X11Forwarding
		X11UseLocalhost XAuthLocation`) {
		m[strings.ToLower(k)] = true
	}
	return m
}()
