// Package steps is the one list of the hardening steps. Each record says
// what users write in `steps` and `skip_steps`, the system the step runs
// on, whether it runs when `steps` is not set, a one-line summary and its
// section in docs/steps.md; the list's order is the order the steps run in.
// libguestfs' virt-sysprep keeps its operations the same way, one record
// each.
//
// Everything else that names the steps comes from here: the validation of
// `steps` and `skip_steps`, the steps a rendered script runs, the list in
// the `steps` option's documentation (provisioner/config.go) and the step
// tables of the provisioner's docs (docs-partials/provisioner/steps-*.mdx),
// the last two written by `make generate`. A step's code is the file of its
// name: provisioner/script/linux/steps/NAME.sh or
// provisioner/script/windows/steps/NAME.ps1.
package steps

// The systems a step runs on, as users write them in `guest_os_type`.
const (
	Linux   = "linux"
	Windows = "windows"
)

// OSes are the systems, in the order the docs list them.
var OSes = []string{Linux, Windows}

// Step is one hardening step.
type Step struct {
	// Name is what users write in `steps` and `skip_steps`. A name both
	// systems have means the same kind of work on both.
	Name string
	// OS is the system the step runs on.
	OS string
	// Default: the step runs when `steps` is not set. A step that is not
	// on by default runs only when `steps` names it.
	Default bool
	// Summary is the step's line in the docs' step table: what it does,
	// for a user choosing steps.
	Summary string
	// Anchor is the step's section in docs/steps.md.
	Anchor string
}

// All are the steps of every system, each system's in the order they run.
var All = []Step{
	// Linux.
	{Name: "sshd", OS: Linux, Default: true, Anchor: "sshd",
		Summary: "Writes key-only login settings at the top of `sshd_config`, verified with `sshd -T`; does not restart sshd."},
	// Right after sshd: its note of what listens names sshd's ports as
	// sshd -T gives them.
	{Name: "services", OS: Linux, Default: true, Anchor: "services",
		Summary: "Turns off the services that log users in over cleartext (telnet, rsh, rlogin, rexec, tftp, plain FTP, NIS) for systemd, init scripts, inetd and xinetd, with `keep_services` and `disable_services`; notes what the image listens on at boot."},
	{Name: "passwords", OS: Linux, Default: true, Anchor: "passwords",
		Summary: "Sets every password field to `*` (no password works, no hash stays) and removes the copies of the account files."},
	{Name: "host-keys", OS: Linux, Default: true, Anchor: "host-keys",
		Summary: "Overwrites and deletes the SSH host keys, after making sure new ones are made at first boot."},
	{Name: "user-keys", OS: Linux, Default: true, Anchor: "user-keys",
		Summary: "Overwrites and deletes `authorized_keys`, key pairs and `known_hosts` in every home."},
	{Name: "credentials", OS: Linux, Default: true, Anchor: "credentials",
		Summary: "Overwrites and deletes cloud, container, Git and package-manager credentials in every home, and `wipe_paths`."},
	{Name: "history", OS: Linux, Default: true, Anchor: "history",
		Summary: "Overwrites and deletes shell and tool histories in every home."},
	{Name: "accounts", OS: Linux, Default: true, Anchor: "accounts",
		Summary: "Removes the accounts in `remove_users`; names every other way to log in or get root."},
	{Name: "cloud-init", OS: Linux, Default: true, Anchor: "cloud-init",
		Summary: "Overwrites and removes cloud-init's instance state, logs and seed, so each instance runs it anew."},
	{Name: "machine-id", OS: Linux, Default: true, Anchor: "machine-id",
		Summary: "Empties `/etc/machine-id`; removes the random seed, the DHCP leases and a Debian snakeoil key."},
	{Name: "network", OS: Linux, Default: true, Anchor: "network",
		Summary: "Makes the network configuration generic: removes udev persistent-net rules and NetworkManager's per-machine state, drops MAC pins, UUIDs and DHCP host names from ifcfg files and NetworkManager profiles, sets `/etc/hostname` to `localhost` and drops the build's host name from `/etc/hosts`; fails on a networkd, netplan or ifupdown file pinned to a MAC address that cloud-init does not write again."},
	{Name: "enrolment", OS: Linux, Default: true, Anchor: "enrolment",
		Summary: "Overwrites and deletes the machine's enrolment identities: the host Kerberos keytab, FreeIPA's client enrolment, SSSD's caches, Puppet's, Chef's and Salt's client keys, the SSM Agent's registration, Ubuntu Pro's machine token, Red Hat's subscription certificates and Insights ID; keeps them and fails where the image needs them (an IPA server, a Puppet CA, Kerberized NFS in fstab)."},
	{Name: "temp", OS: Linux, Default: true, Anchor: "temp",
		Summary: "Empties `/tmp` and `/var/tmp`."},
	// After every step that deletes secrets: it reads what stays.
	{Name: "secrets", OS: Linux, Default: true, Anchor: "secrets",
		Summary: "Scans the files that stay for stray secrets and fails the build on any; deletes nothing."},
	// Last: the steps before it write to the logs.
	{Name: "logs", OS: Linux, Default: true, Anchor: "logs",
		Summary: "Overwrites and empties the logs; deletes rotated logs, journals, crash dumps and mail."},
	// The very last: it fills what every other step freed.
	{Name: "free-space", OS: Linux, Default: true, Anchor: "free-space",
		Summary: "Fills the free space of every local file system with zeros, flushes and removes the filler, so that nothing deleted before or during the build stays in the image's blocks (`wipe_free_space`)."},

	// Windows.
	{Name: "domain", OS: Windows, Default: true, Anchor: "domain-windows",
		Summary: "Fails when the machine is joined to a domain; changes nothing."},
	{Name: "guest-account", OS: Windows, Default: true, Anchor: "guest-account-windows",
		Summary: "Disables the built-in Guest account."},
	{Name: "accounts", OS: Windows, Default: true, Anchor: "accounts-windows",
		Summary: "Removes `remove_users`, disables other needless accounts; the build's account gets a random password and is disabled after the build's last command."},
	{Name: "services", OS: Windows, Default: true, Anchor: "services-windows",
		Summary: "Stops and disables the default list (the print spooler, `Spooler`) less `keep_services`, plus `disable_services`."},
	{Name: "admin-password", OS: Windows, Default: true, Anchor: "admin-password-windows",
		Summary: "Makes the EC2 launch agent set a random Administrator password at first boot."},
	{Name: "winrm", OS: Windows, Default: true, Anchor: "winrm-windows",
		Summary: "Turns Basic auth and unencrypted traffic off and removes self-signed HTTPS listeners with their keys, after the build's last command."},
	{Name: "user-keys", OS: Windows, Default: true, Anchor: "user-keys-windows",
		Summary: "Overwrites and deletes SSH keys in every profile and `administrators_authorized_keys`."},
	{Name: "host-keys", OS: Windows, Default: true, Anchor: "host-keys-windows",
		Summary: "Overwrites and deletes the OpenSSH server's host keys."},
	{Name: "credentials", OS: Windows, Default: true, Anchor: "credentials-windows",
		Summary: "Overwrites and deletes credential files and Credential Manager's stores, and `wipe_paths`."},
	{Name: "history", OS: Windows, Default: true, Anchor: "history-windows",
		Summary: "Clears the session's PowerShell history and deletes every profile's PSReadLine history."},
	{Name: "autologon", OS: Windows, Default: true, Anchor: "autologon-windows",
		Summary: "Removes the automatic logon password from Winlogon."},
	{Name: "answer-files", OS: Windows, Default: true, Anchor: "answer-files-windows",
		Summary: "Overwrites and deletes cached `unattend.xml` answer files."},
	{Name: "temp", OS: Windows, Default: true, Anchor: "temp-windows",
		Summary: "Empties the temp folders and Windows Update's download cache."},
	{Name: "recycle-bin", OS: Windows, Default: true, Anchor: "recycle-bin-windows",
		Summary: "Empties the Recycle Bin on every fixed drive."},
	{Name: "pagefile", OS: Windows, Default: true, Anchor: "pagefile-windows",
		Summary: "Has Windows clear the page file at every shutdown from the next boot on; turns hibernation off."},
	{Name: "logs", OS: Windows, Default: true, Anchor: "logs-windows",
		Summary: "Overwrites and deletes the EC2 launch agents' logs of the build and crash dumps (`MEMORY.DMP`, minidumps, Windows Error Reporting's queues, live kernel reports)."},
	{Name: "event-logs", OS: Windows, Default: true, Anchor: "event-logs-windows",
		Summary: "Clears every event log."},
	// Always last: once Sysprep begins, Windows takes no WinRM logon.
	{Name: "sysprep", OS: Windows, Default: true, Anchor: "sysprep-windows",
		Summary: "Checks what makes Sysprep fail, resets the launch agent, and hands Sysprep to a process of its own that powers the machine off only when the image is generalised; last."},
}

// Of are the steps of os, in the order they run.
func Of(os string) []Step {
	var out []Step
	for _, s := range All {
		if s.OS == os {
			out = append(out, s)
		}
	}
	return out
}

// Names are the names of the steps of os, in the order they run.
func Names(os string) []string {
	var out []string
	for _, s := range Of(os) {
		out = append(out, s.Name)
	}
	return out
}

// Defaults are the names of the steps of os that run when `steps` is not
// set, in the order they run.
func Defaults(os string) []string {
	var out []string
	for _, s := range Of(os) {
		if s.Default {
			out = append(out, s.Name)
		}
	}
	return out
}

// Has tells whether os has a step called name.
func Has(os, name string) bool {
	for _, s := range Of(os) {
		if s.Name == name {
			return true
		}
	}
	return false
}
