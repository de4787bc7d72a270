//go:generate go run ./internal/stepdocs -root ..
//go:generate go tool packer-sdc mapstructure-to-hcl2 -type Config

package provisioner

import (
	"time"

	"github.com/hashicorp/packer-plugin-sdk/common"
	"github.com/hashicorp/packer-plugin-sdk/template/config"
	"github.com/hashicorp/packer-plugin-sdk/template/interpolate"
)

// Mode is what the steps do: enforce changes, audit only checks.
type Mode string

// The modes.
const (
	ModeEnforce Mode = "enforce"
	ModeAudit   Mode = "audit"
)

// FailurePolicy is what a failed step, or an audit's finding, does to the
// build.
type FailurePolicy string

// The failure policies.
const (
	OnFailureAbort    FailurePolicy = "abort"
	OnFailureContinue FailurePolicy = "continue"
)

// Config is the provisioner block. Every field is optional: an empty
// `provisioner "ami-harden" {}` runs every step with safe defaults.
type Config struct {
	common.PackerConfig `mapstructure:",squash"`

	// `enforce` (the default) changes what needs changing and then verifies
	// it. `audit` changes nothing: every selected step only checks, reports
	// each finding (what is wrong, where), and the build fails when there is
	// any finding (see `on_failure`).
	Mode Mode `mapstructure:"mode"`
	// What a failed step, or in audit mode a finding, does to the build:
	// `abort` (the default) fails it; `continue` reports and lets the build
	// go on. A report that is incomplete (a lost connection, a step that
	// never reported) fails the build either way.
	OnFailure FailurePolicy `mapstructure:"on_failure"`
	// Write a JSON report of the run to this local path (also when the build
	// fails): plugin version, OS, mode, start and end time, and per step its
	// status, detail, findings and notes. Its schema is
	// docs/report.schema.json.
	ReportFile string `mapstructure:"report_file"`
	// Write the same report as JUnit XML to this local path: one test case
	// per step, failed steps and findings as failures, for CI systems.
	JUnitFile string `mapstructure:"junit_file"`
	// The operating system of the machine: `linux` or `windows`. Defaults
	// to `windows` when the communicator is WinRM and `linux` otherwise. The
	// name is the one Packer's puppet, chef and salt provisioners use;
	// their `unix` is not a value here, as only Linux is hardened.
	GuestOSType string `mapstructure:"guest_os_type"`
	// The steps to run, by name; by default the steps listed here for the OS.
	// Steps always run in their fixed order, whatever the order written here.
	// On Linux: sshd, services, passwords, host-keys, user-keys, credentials,
	// history, accounts, cloud-init, machine-id, network, enrolment, temp,
	// secrets, logs, free-space. On Windows: domain, guest-account, accounts,
	// services, admin-password, winrm, user-keys, host-keys, credentials,
	// history, autologon, answer-files, temp, recycle-bin, pagefile, logs,
	// event-logs, sysprep. A name that is a step of neither OS is an error
	// that lists the valid ones. While `guest_os_type` is not set, one block
	// can serve Linux and Windows sources alike: a step of the other OS is
	// skipped on each machine (the output says so), and only a selection that
	// leaves nothing to run on a machine fails its build.
	Steps []string `mapstructure:"steps"`
	// Steps not to run, by name. Applied after `steps`; naming a step in
	// both is an error. Names of the other OS's steps are accepted as in
	// `steps`.
	SkipSteps []string `mapstructure:"skip_steps"`
	// Linux: sshd keywords and values that override or add to the defaults
	// (`PasswordAuthentication no`, `PermitRootLogin prohibit-password`,
	// `PubkeyAuthentication yes`, `PermitEmptyPasswords no`,
	// `KbdInteractiveAuthentication no`). Each is written ahead of every
	// Include of sshd_config and verified with `sshd -T`. Keywords are
	// checked by the machine's own sshd, not by a list in the plugin, so a
	// distribution's keywords (RHEL's `GSSAPIEnablek5users`) work where
	// that sshd knows them: a keyword or value sshd rejects fails the sshd
	// step with sshd's message, before sshd_config is changed. `Match` and
	// `Include` are refused: they change how the rest of the file is read.
	SSHDSettings map[string]string `mapstructure:"sshd_settings"`
	// Linux: `modern` makes the sshd step also write the algorithm lists of
	// ssh-audit's hardening guides for OpenSSH (Debian 12 and 13), which
	// dev-sec's ssh-hardening largely shares: key exchange without NIST
	// curves or SHA-1, post-quantum first (`KexAlgorithms`), AEAD and CTR
	// ciphers (`Ciphers`), encrypt-then-MAC MACs with HMAC-SHA-2 or
	// UMAC-128 (`MACs`), and Ed25519 and RSA SHA-2 host keys
	// (`HostKeyAlgorithms`). Each list keeps what the machine's sshd knows
	// (tried with `sshd -T`: an older OpenSSH gets the part it has; none of
	// a list fails the step), is written and verified like `sshd_settings`,
	// and a keyword that `sshd_settings` sets wins. Clients that cannot
	// connect afterwards: OpenSSH before 6.5 (2014), clients that speak only
	// NIST curves or SHA-1, and libssh2 before 1.11 (2023; curl's SFTP and
	// libgit2 use it), which has no AEAD cipher and no encrypt-then-MAC MAC.
	// Empty (the default) leaves the distribution's algorithms.
	SSHDAlgorithms string `mapstructure:"sshd_algorithms"`
	// More absolute paths the credentials step overwrites and deletes: files,
	// or directories with everything in them. Spaces and quotes are fine;
	// the paths reach the script as data only. Each is cleaned (`path.Clean`)
	// first: a path that resolves to `/`, a top-level system directory
	// (`/bin`, `/boot`, `/dev`, `/etc`, `/home`, `/lib*`, `/proc`, `/root`,
	// `/run`, `/sbin`, `/sys`, `/usr`, `/var`) or, on Windows, a drive root or
	// system folder is an error. On Linux a path with a symbolic link or a
	// mount point on its way down from `/` is refused at run time (the step
	// fails, naming it): name the real path.
	WipePaths []string `mapstructure:"wipe_paths"`
	// Linux: absolute paths that the temp and logs steps leave as they
	// are: a file, or a directory with everything in it, below `/tmp`,
	// `/var/tmp` or `/var/log`, e.g. a log an image checker wants to see.
	// A path with a symbolic link on its way down is not kept (the steps
	// never follow links): name the real path.
	KeepPaths []string `mapstructure:"keep_paths"`
	// Linux: accounts whose passwords and keys stay as they are, for a
	// break-glass account: the passwords step leaves their password field
	// alone and user-keys their authorized keys and key pairs (in their homes
	// and in sshd's other AuthorizedKeysFile places). Their histories and
	// credentials are still wiped. The report names them. Windows: enabled
	// local accounts the accounts step leaves enabled (it disables every
	// other one but the built-in Administrator, Guest, which guest-account
	// handles, and the build's own account, which is disabled, with a random
	// password, after the build's last command unless it is named here).
	KeepUsers []string `mapstructure:"keep_users"`
	// Linux: the user-keys step fails unless someone can log in to an
	// instance of the image: a key kept with `keep_users`, or a service that
	// installs the launch key at first boot (cloud-init with a datasource
	// enabled, EC2 Instance Connect or another sshd `AuthorizedKeysCommand`,
	// google-guest-agent, WALinuxAgent). The report names what it found.
	// Set `false` for an image that is reached another way (a console, a
	// configuration management agent); the default is `true`.
	RequireKeyInstaller *bool `mapstructure:"require_key_installer"`
	// Linux: keep cloud-init's seed directory, `/var/lib/cloud/seed`, for an
	// image that boots from a seed baked into it (on premises, NoCloud). By
	// default the cloud-init step overwrites and removes it with the rest of
	// the build instance's state: its user-data often holds passwords.
	KeepCloudInitSeed bool `mapstructure:"keep_cloud_init_seed"`
	// Linux: accounts the accounts step removes, typically the ones the build
	// made (`["packer"]`): the home is overwritten and removed, with the mail
	// spool, the crontab and the sudoers.d files that grant only that
	// account. The build's own login user can be one of them (its session
	// goes on), but then nothing after this provisioner can log in as it:
	// let the builder stop the machine (amazon-ebs does) rather than a
	// `shutdown_command` over SSH. root and UID 0 accounts are refused.
	// Windows: local accounts removed with their profiles (every file
	// overwritten first); the built-in Administrator and Guest and the
	// build's own account are refused.
	RemoveUsers []string `mapstructure:"remove_users"`
	// Linux: files whose stray secrets the secrets step accepts: absolute
	// paths or globs (`*` and `?` match `/` too), e.g.
	// `["/opt/app/config/test-fixtures/*"]`. Use it for a known file the
	// application needs as it is; anything else the step names should be
	// removed from the image instead.
	SecretsAllow []string `mapstructure:"secrets_allow"`
	// Linux: how many passes of random data overwrite a secret file before
	// it is unlinked (GNU shred -n). Defaults to 1: one full overwrite
	// already leaves nothing of the file in the blocks an image snapshot
	// copies; more passes only guard against lab recovery from magnetic
	// media.
	ShredPasses int `mapstructure:"shred_passes"`
	// Linux: the free-space step, the very last, fills the free space of
	// every local file system of the machine (ext2/3/4, XFS, Btrfs, F2FS,
	// JFS, ReiserFS, FAT and exFAT mounted read-write; not tmpfs, network,
	// overlay or read-only mounts) with zeros, flushes them to the disk and
	// removes the filler, which goes even when the step fails or is
	// interrupted. It overwrites what other programs deleted without
	// overwriting before ami-harden ran (`/etc/shadow`'s old copy after
	// `chpasswd`, host keys cloud-init deleted at the build's boot, package
	// managers' replaced credentials): an image snapshot copies free blocks
	// too. The report gives the MiB written and the seconds it took: about
	// the disk's write speed times the free space (a few seconds per GiB on
	// a local disk; an EBS gp3 volume writes 125 MiB/s by default). A
	// machine whose root is a directory of a larger file system (a chroot,
	// a container) has nothing of its own to fill and is reported so.
	// Defaults to `true`; `false` skips the step (as `skip_steps =
	// ["free-space"]` does). In audit mode the step writes nothing and says
	// how much free space holds data nobody checked.
	WipeFreeSpace *bool `mapstructure:"wipe_free_space"`
	// Linux: mount points whose free space the free-space step leaves as
	// it is, e.g. a large data volume that never held a secret.
	WipeFreeSpaceExclude []string `mapstructure:"wipe_free_space_exclude"`
	// The command that runs the uploaded script, with `{{.Path}}` for its
	// remote path and `{{.Vars}}` for the environment variables
	// (`environment_vars` and Packer's own), as in Packer's shell and
	// powershell provisioners. On Linux it defaults to
	// `sudo -n env {{.Vars}} /bin/sh '{{.Path}}'`, or
	// `env {{.Vars}} /bin/sh '{{.Path}}'` when the communicator logs in as
	// root; `{{.Vars}}` is then `KEY='value' ...`, each value single-quoted.
	// `sudo -n` never waits for a password: a login user without
	// passwordless sudo fails at once with sudo's message. Set this to
	// escalate another way, e.g.
	// `echo 'packer' | sudo -S env {{.Vars}} /bin/sh '{{.Path}}'`. On Windows
	// it defaults to `powershell -NoProfile -NonInteractive -ExecutionPolicy
	// Bypass -File "{{.Path}}"`; the variables are set at the top of the
	// script itself, and `{{.Vars}}` is the same as PowerShell statements
	// (`$env:KEY='value'; ...`) for a command of your own.
	ExecuteCommand string `mapstructure:"execute_command"`
	// Environment variables for the script, as `KEY=value` strings, as in
	// Packer's shell provisioner. `PACKER_BUILD_NAME` and
	// `PACKER_BUILDER_TYPE` are always set. The script reads none of them
	// itself: they are for what it runs, e.g. `TMPDIR` or a proxy for
	// `cloud-init clean`. Names of letters, digits and `_`; names starting
	// with `AMI_HARDEN_` are the script's own and refused.
	EnvironmentVars []string `mapstructure:"environment_vars"`
	// How long to keep trying to upload and start the script when the
	// machine does not answer, e.g. while it restarts after a
	// `windows-restart` provisioner. Defaults to `5m`, as in Packer's shell
	// and powershell provisioners. A start is only tried again when nothing
	// can have run: over SSH when the session could not open, over WinRM
	// when the uploaded script is still there (it deletes itself as it
	// starts).
	StartRetryTimeout time.Duration `mapstructure:"start_retry_timeout"`
	// Where the script is uploaded. Defaults to
	// `/tmp/ami-harden-<random>.sh` on Linux and
	// `C:/Windows/Temp/ami-harden-<random>.ps1` on Windows. The script
	// deletes itself as it starts.
	RemotePath string `mapstructure:"remote_path"`
	// Windows: run the script as this user through a scheduled task, as
	// Packer's powershell provisioner does, for a WinRM user whose token is
	// not elevated. With `elevated_password`, or without one for a service
	// account such as `SYSTEM` (the task then logs on as a service).
	ElevatedUser string `mapstructure:"elevated_user"`
	// Windows: the password of `elevated_user`.
	ElevatedPassword string `mapstructure:"elevated_password"`
	// Services the services step stops and disables, added to its default
	// list. On Linux a name covers the systemd units `NAME.service` and
	// `NAME.socket` (or exactly the unit, with a suffix), the init script
	// `/etc/init.d/NAME` (SysV and OpenRC), and the inetd and xinetd entries
	// whose service is NAME or whose server is NAME, NAMEd, in.NAME or
	// in.NAMEd; the default list is the services that authenticate in
	// cleartext: telnet, telnetd, rsh, rlogin, rexec, tftp, tftpd-hpa,
	// atftpd, in.tftpd, ftp, vsftpd, proftpd, pure-ftpd, ypserv, ypbind,
	// yppasswdd, ypxfrd, nis. On Windows: service names (not display
	// names); the default list is `Spooler` (the print spooler). sshd, WinRM
	// and the service manager's own units are refused. A service that is
	// not installed is reported, not an error.
	DisableServices []string `mapstructure:"disable_services"`
	// Names from the services step's default list to leave as they are,
	// e.g. `["Spooler"]` for a print server or `["tftpd-hpa"]` for a boot
	// server. The report names each one kept. A name that is on neither OS's
	// default list is an error.
	KeepServices []string `mapstructure:"keep_services"`
	// Windows: how the sysprep step generalises the image: `auto` (the
	// default: EC2Launch v2, else EC2Launch v1, else EC2Config, else plain
	// sysprep.exe), `ec2launch-v2`, `ec2launch-v1`, `ec2config`, `sysprep`
	// (`sysprep.exe /generalize /oobe /quit` with an answer file) or `none`.
	// Sysprep runs after the script, in a process of its own on the machine:
	// once it begins, Windows refuses every new WinRM logon until the machine
	// is off. That process powers the machine off when the image is
	// generalised (and the work left for after the build's last command is
	// done), and leaves it running, with the reason in the Application event
	// log and on the serial console, when it is not. The provisioner waits
	// for the power-off (see `power_off_timeout`); builders with a
	// `shutdown_command` need `disable_shutdown = true`.
	Sysprep string `mapstructure:"sysprep"`
	// Deprecated, Windows: the generalised machine now always powers itself
	// off (see `sysprep`), because nothing can reach it over WinRM to shut it
	// down. `true` is accepted and changes nothing; `false` is refused.
	SysprepShutdown *bool `mapstructure:"sysprep_shutdown"`
	// Windows: how long Sysprep may run. Past it, the process that runs
	// Sysprep stops it and leaves the machine running, so the wait for the
	// power-off fails the build. Defaults to `30m`.
	SysprepTimeout time.Duration `mapstructure:"sysprep_timeout"`
	// Windows: how long the provisioner waits, after the script, for the
	// machine to power itself off once it has done what the script handed
	// over to it (Sysprep, the build account's new password, closing the
	// build's WinRM). It only connects to the communicator's host and port,
	// and sends nothing (no logon): a connection taken means the machine is
	// up; none taken for 30 seconds in a row means it is off. A machine
	// still up at the end fails the build. Defaults to `sysprep_timeout`
	// plus `15m`. Make the provisioner's `timeout`, if you set one, longer.
	PowerOffTimeout time.Duration `mapstructure:"power_off_timeout"`

	ctx interpolate.Context
	// suffix makes the default remote path unique to this build.
	suffix string
}

// Prepare decodes the block, fills in the defaults and reports every
// mistake in it at once, in the order of the fields (validate.go).
func (c *Config) Prepare(raws ...interface{}) error {
	err := config.Decode(c, &config.DecodeOpts{
		PluginType:         "ami-harden",
		Interpolate:        true,
		InterpolateContext: &c.ctx,
		InterpolateFilter: &interpolate.RenderFilter{
			// Rendered at run time, when {{.Path}} is known.
			Exclude: []string{"execute_command"},
		},
	}, raws...)
	if err != nil {
		return err
	}
	// Validated as written: an option set for the other system is one a
	// default would hide.
	err = c.validate()
	c.setDefaults()
	c.suffix = randomSuffix()
	return err
}

// setDefaults fills in what an unset option means, and writes wipe_paths
// as the script gets them (cleaned).
func (c *Config) setDefaults() {
	for i, p := range c.WipePaths {
		if clean, why := cleanWipePath(p); why == "" {
			c.WipePaths[i] = clean
		}
	}
	if c.Mode == "" {
		c.Mode = ModeEnforce
	}
	if c.OnFailure == "" {
		c.OnFailure = OnFailureAbort
	}
	if c.ShredPasses == 0 {
		c.ShredPasses = 1
	}
	if c.StartRetryTimeout == 0 {
		c.StartRetryTimeout = 5 * time.Minute
	}
	if c.Sysprep == "" {
		c.Sysprep = "auto"
	}
	if c.SysprepTimeout == 0 {
		c.SysprepTimeout = 30 * time.Minute
	}
	if c.PowerOffTimeout == 0 {
		c.PowerOffTimeout = c.SysprepTimeout + 15*time.Minute
	}
}
