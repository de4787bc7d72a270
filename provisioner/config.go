//go:generate go tool packer-sdc mapstructure-to-hcl2 -type Config

package provisioner

import (
	"fmt"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/common"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/template/config"
	"github.com/hashicorp/packer-plugin-sdk/template/interpolate"

	"github.com/ami-harden/packer-plugin-ami-harden/provisioner/script"
)

// The operating systems the provisioner hardens.
const (
	osLinux   = "linux"
	osWindows = "windows"
)

// The modes.
const (
	modeEnforce = "enforce"
	modeAudit   = "audit"
)

// Config is the provisioner block. Every field is optional: an empty
// `provisioner "ami-harden" {}` runs every step with safe defaults.
type Config struct {
	common.PackerConfig `mapstructure:",squash"`

	// `enforce` (the default) changes what needs changing and then verifies
	// it. `audit` changes nothing: every selected step only checks, reports
	// each finding (what is wrong, where), and the build fails when there is
	// any finding (see `on_failure`).
	Mode string `mapstructure:"mode"`
	// What a failed step, or in audit mode a finding, does to the build:
	// `abort` (the default) fails it; `continue` reports and lets the build
	// go on. A report that is incomplete (a lost connection, a step that
	// never reported) fails the build either way.
	OnFailure string `mapstructure:"on_failure"`
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
	// The steps to run, by name; the default is every step of the OS. Steps
	// always run in their fixed order, whatever the order written here. On
	// Linux: sshd, services, passwords, host-keys, user-keys, credentials,
	// history, accounts, cloud-init, machine-id, temp, secrets, logs. On
	// Windows: domain, guest-account, accounts, services, admin-password,
	// winrm, user-keys, host-keys, credentials, history, autologon,
	// answer-files, temp, recycle-bin, pagefile, event-logs, sysprep. A name
	// that is a step of neither OS is an error that lists the valid ones.
	// While `guest_os_type` is not set, one block can serve Linux and
	// Windows sources alike: a step of the other OS is skipped on each
	// machine (the output says so), and only a selection that leaves nothing
	// to run on a machine fails its build.
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
	// Linux: accounts whose passwords and keys stay as they are, for a
	// break-glass account: the passwords step leaves their password field
	// alone and user-keys their authorized keys and key pairs (in their homes
	// and in sshd's other AuthorizedKeysFile places). Their histories and
	// credentials are still wiped. The report names them. Windows: enabled
	// local accounts the accounts step leaves enabled (it disables every
	// other one but the built-in Administrator, Guest, which guest-account
	// handles, and the build's own account, which gets a random password at
	// each instance's first boot unless it is named here).
	KeepUsers []string `mapstructure:"keep_users"`
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
	// not elevated. Needs `elevated_password`.
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
	// (`sysprep.exe /generalize /oobe`) or `none`.
	Sysprep string `mapstructure:"sysprep"`
	// Windows: shut the machine down once Sysprep has generalised it. Sysprep
	// always runs detached from WinRM (it resets WinRM), and the provisioner
	// asks for its result until the image state is
	// `IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE`; with this set, that answer
	// also makes the machine shut down, and the builder must not stop it
	// itself (amazon-ebs: `disable_stop_instance = true`). Without it (the
	// default) the generalised machine keeps running until the builder stops
	// it, as amazon-ebs does by default.
	SysprepShutdown bool `mapstructure:"sysprep_shutdown"`
	// Windows: how long to wait for the detached Sysprep's result. Defaults
	// to `30m`. A machine that does not answer in that time fails the build.
	SysprepTimeout time.Duration `mapstructure:"sysprep_timeout"`

	ctx interpolate.Context
	// suffix makes the default remote path unique to this build.
	suffix string
}

var (
	// sshd keywords are letters and digits; a value is one line.
	sshdKeyword = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*$`)
	// The remote path appears in execute_command, so it stays plain: a
	// Unix path, or a Windows path with a drive letter.
	safeRemotePath = regexp.MustCompile(`^(/|[A-Za-z]:[/\\])[A-Za-z0-9/\\._-]+$`)
	// A Linux account name, as useradd accepts it by default.
	accountName = regexp.MustCompile(`^[a-z_][a-z0-9_.-]*[$]?$`)
	// A service name: a Windows service's short name (named SQL Server
	// instances have a $: MSSQL$INSTANCE), a systemd unit (getty@tty1.service,
	// sys-fs-fuse-connections.mount) or an init script's name. Data only,
	// never a pattern: no space, quote, slash or wildcard.
	serviceName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9@_.:+$-]*$`)
	// An environment variable's name, as the shell provisioner takes it.
	envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	// A Windows local account name: at most 20 characters, none of
	// " / \ [ ] : ; | = , + * ? < > @ and no control character.
	windowsAccountName = regexp.MustCompile(`^[^"/\\\[\]:;|=,+*?<>@\x00-\x1f]{1,20}$`)
)

// Prepare decodes the block and reports every mistake in it at once.
func (p *Provisioner) Prepare(raws ...interface{}) error {
	err := config.Decode(&p.config, &config.DecodeOpts{
		PluginType:         "ami-harden",
		Interpolate:        true,
		InterpolateContext: &p.config.ctx,
		InterpolateFilter: &interpolate.RenderFilter{
			// Rendered at run time, when {{.Path}} is known.
			Exclude: []string{"execute_command"},
		},
	}, raws...)
	if err != nil {
		return err
	}
	c := &p.config
	var errs *packersdk.MultiError
	add := func(format string, args ...interface{}) {
		errs = packersdk.MultiErrorAppend(errs, fmt.Errorf(format, args...))
	}

	switch c.GuestOSType {
	case "", osLinux, osWindows:
	default:
		add("guest_os_type: %q is neither linux nor windows", c.GuestOSType)
	}
	if c.Mode == "" {
		c.Mode = modeEnforce
	}
	if c.Mode != modeEnforce && c.Mode != modeAudit {
		add("mode: %q is neither enforce nor audit", c.Mode)
	}
	if c.OnFailure == "" {
		c.OnFailure = "abort"
	}
	if c.OnFailure != "abort" && c.OnFailure != "continue" {
		add("on_failure: %q is neither abort nor continue", c.OnFailure)
	}
	if c.ReportFile != "" && c.ReportFile == c.JUnitFile {
		add("report_file and junit_file must be different files")
	}
	c.prepareSteps(add)
	c.prepareLinux(add)
	c.prepareWindows(add)

	for i, ep := range c.WipePaths {
		if strings.ContainsAny(ep, "\r\n\x00") {
			add("wipe_paths: %q contains a line break or NUL", ep)
			continue
		}
		if !isAbs(c.GuestOSType, ep) {
			add("wipe_paths: %q is not an absolute path", ep)
			continue
		}
		clean, why := cleanExtraPath(ep)
		if why != "" {
			add("wipe_paths: %q %s", ep, why)
			continue
		}
		c.WipePaths[i] = clean
	}
	for _, kv := range c.EnvironmentVars {
		k, v, ok := strings.Cut(kv, "=")
		switch {
		case !ok || !envName.MatchString(k):
			add("environment_vars: %q is not KEY=value with a name of letters, digits and _", kv)
		case strings.HasPrefix(strings.ToUpper(k), "AMI_HARDEN_"):
			add("environment_vars: %s: names starting with AMI_HARDEN_ are the script's own settings", k)
		case strings.ContainsRune(v, 0):
			add("environment_vars: the value of %s contains NUL", k)
		}
	}
	if c.StartRetryTimeout < 0 {
		add("start_retry_timeout must be positive")
	}
	if c.StartRetryTimeout == 0 {
		c.StartRetryTimeout = 5 * time.Minute
	}
	if c.RemotePath != "" && !safeRemotePath.MatchString(c.RemotePath) {
		add("remote_path: %q must be an absolute path of letters, digits and / \\ . _ -", c.RemotePath)
	}
	c.suffix = randomSuffix()

	if errs != nil && len(errs.Errors) > 0 {
		return errs
	}
	return nil
}

// prepareSteps checks steps and skip_steps against the steps of the OS, or
// of either OS while the OS is left to the communicator.
func (c *Config) prepareSteps(add func(string, ...interface{})) {
	valid := map[string]bool{}
	var names []string
	for _, os := range c.mayRunOn() {
		for _, s := range stepsOf(os) {
			if !valid[s] {
				valid[s] = true
				names = append(names, s)
			}
		}
	}
	for _, field := range []struct {
		name  string
		steps []string
	}{{"steps", c.Steps}, {"skip_steps", c.SkipSteps}} {
		for _, s := range field.steps {
			if !valid[s] {
				add("%s: unknown step %q; valid steps are: %s", field.name, s, strings.Join(names, ", "))
			}
		}
	}
	for _, s := range c.SkipSteps {
		for _, t := range c.Steps {
			if s == t {
				add("step %q is in both steps and skip_steps", s)
			}
		}
	}
	// A shared block (no os) may leave nothing for one OS: that machine's
	// build fails when it gets there, naming its steps. Nothing left for
	// every OS is a mistake to say now.
	left := 0
	for _, os := range c.mayRunOn() {
		left += len(c.selectedSteps(os))
	}
	if left == 0 {
		add("steps and skip_steps leave no step to run")
	}
}

func (c *Config) prepareLinux(add func(string, ...interface{})) {
	for k, v := range c.SSHDSettings {
		// Whether sshd knows the keyword, the machine's sshd says (the sshd
		// step tests the settings with sshd -T before it writes them):
		// distributions add their own. Here only what cannot be a keyword.
		switch {
		case !sshdKeyword.MatchString(k):
			add("sshd_settings: %q is not an sshd keyword: letters and digits only (see sshd_config(5))", k)
		case strings.EqualFold(k, "Match") || strings.EqualFold(k, "Include"):
			add("sshd_settings: %s is not supported here: it changes how the rest of sshd_config is read; put it in a file of your own", k)
		}
		if strings.TrimSpace(v) == "" {
			add("sshd_settings: %s has an empty value", k)
		}
		if strings.ContainsAny(v, "\r\n") {
			add("sshd_settings: the value of %s must be one line", k)
		}
	}
	for _, g := range c.SecretsAllow {
		if !strings.HasPrefix(g, "/") || strings.ContainsAny(g, "\r\n\x00") {
			add("secrets_allow: %q is not an absolute path or glob on one line", g)
		}
	}
	validName := func(u string) bool {
		switch c.GuestOSType {
		case osLinux:
			return accountName.MatchString(u)
		case osWindows:
			return windowsAccountName.MatchString(u) && strings.Trim(u, ". ") != ""
		}
		return accountName.MatchString(u) || windowsAccountName.MatchString(u) && strings.Trim(u, ". ") != ""
	}
	for _, u := range c.KeepUsers {
		if !validName(u) {
			add("keep_users: %q is not an account name", u)
		}
	}
	for _, u := range c.RemoveUsers {
		if !validName(u) || u == "root" {
			add("remove_users: %q is not an account name that can be removed", u)
		}
		for _, k := range c.KeepUsers {
			if k == u {
				add("account %q is in both keep_users and remove_users", u)
			}
		}
	}
	if c.ShredPasses < 0 || c.ShredPasses > 35 {
		add("shred_passes must be between 1 and 35, not %d", c.ShredPasses)
	}
	if c.GuestOSType == osWindows {
		if len(c.SSHDSettings) > 0 {
			add("sshd_settings is for guest_os_type = \"linux\" only")
		}
		if c.ShredPasses != 0 {
			add("shred_passes is for guest_os_type = \"linux\" only")
		}
		if c.KeepCloudInitSeed {
			add("keep_cloud_init_seed is for guest_os_type = \"linux\" only")
		}
		if len(c.SecretsAllow) > 0 {
			add("secrets_allow is for guest_os_type = \"linux\" only")
		}
	}
	if c.ShredPasses == 0 {
		c.ShredPasses = 1
	}
}

func (c *Config) prepareWindows(add func(string, ...interface{})) {
	if c.GuestOSType == osLinux {
		for name, set := range map[string]bool{
			"elevated_user":     c.ElevatedUser != "",
			"elevated_password": c.ElevatedPassword != "",
			"sysprep":           c.Sysprep != "",
			"sysprep_shutdown":  c.SysprepShutdown,
			"sysprep_timeout":   c.SysprepTimeout != 0,
		} {
			if set {
				add("%s is for guest_os_type = \"windows\" only", name)
			}
		}
	}
	if (c.ElevatedUser == "") != (c.ElevatedPassword == "") {
		add("elevated_user and elevated_password go together")
	}
	c.prepareServices(add)
	if c.Sysprep == "" {
		c.Sysprep = "auto"
	}
	known := false
	for _, m := range script.SysprepModes {
		known = known || m == c.Sysprep
	}
	if !known {
		add("sysprep: %q is not one of %s", c.Sysprep, strings.Join(script.SysprepModes, ", "))
	}
	if c.SysprepTimeout < 0 {
		add("sysprep_timeout must be positive")
	}
	if c.SysprepTimeout == 0 {
		c.SysprepTimeout = 30 * time.Minute
	}
	if c.Sysprep == "none" && c.SysprepShutdown {
		add("sysprep_shutdown needs a sysprep other than \"none\"")
	}
}

// prepareServices checks disable_services and keep_services: names only,
// and every kept name on the default list of an OS the block may run on.
func (c *Config) prepareServices(add func(string, ...interface{})) {
	for _, field := range []struct {
		name  string
		names []string
	}{{"disable_services", c.DisableServices}, {"keep_services", c.KeepServices}} {
		for _, s := range field.names {
			if !serviceName.MatchString(s) {
				add("%s: %q is not a service name", field.name, s)
			}
		}
	}
	for _, s := range c.DisableServices {
		if why := protectedService(s); why != "" {
			add("disable_services: %q is %s: never disabled", s, why)
		}
	}
	defaults := c.defaultServiceNames()
	for _, k := range c.KeepServices {
		if !containsFold(defaults, k) {
			add("keep_services: %q is not on the services step's default list (%s): only a default can be kept", k, strings.Join(defaults, ", "))
		}
		if containsFold(c.DisableServices, k) {
			add("service %q is in both disable_services and keep_services", k)
		}
	}
}

// protectedService says why a service must never be disabled, or "": what
// the build and the image are reached through, and the service manager's
// own units (the Linux script refuses the same names, services.sh).
func protectedService(name string) string {
	n := strings.ToLower(name)
	switch {
	case n == "ssh" || n == "sshd" || strings.HasPrefix(n, "ssh.") || strings.HasPrefix(n, "sshd.") ||
		strings.HasPrefix(n, "ssh@") || strings.HasPrefix(n, "sshd@") || strings.HasPrefix(n, "sshd-") || strings.HasPrefix(n, "openssh"):
		return "sshd, which the build runs over and the image is reached through"
	case n == "winrm":
		return "WinRM, which the build runs over"
	case n == "systemd" || strings.HasPrefix(n, "systemd.") || strings.HasPrefix(n, "systemd-") ||
		n == "dbus" || strings.HasPrefix(n, "dbus.") || strings.HasPrefix(n, "dbus-") || n == "init" || strings.HasPrefix(n, "init."):
		return "the service manager's own"
	}
	for _, suffix := range []string{".target", ".slice", ".scope", ".mount"} {
		if strings.HasSuffix(n, suffix) {
			return "a systemd " + strings.TrimPrefix(suffix, ".") + ", not a service"
		}
	}
	return ""
}

// defaultServiceNames are the default lists of the OSes the block may run on.
func (c *Config) defaultServiceNames() []string {
	var out []string
	for _, os := range c.mayRunOn() {
		out = append(out, script.DefaultServices(os)...)
	}
	return out
}

// mayRunOn are the OSes the block may run on: guest_os_type, both while it
// is left to the communicator, none for a value that is no OS (Prepare says
// so).
func (c *Config) mayRunOn() []string {
	var out []string
	for _, os := range []string{osLinux, osWindows} {
		if c.GuestOSType == "" || c.GuestOSType == os {
			out = append(out, os)
		}
	}
	return out
}

// services are the services the services step disables on os (the
// default list without keep_services, then disable_services), and the
// defaults kept.
func (c *Config) services(os string) (disable, kept []string) {
	for _, s := range script.DefaultServices(os) {
		if containsFold(c.KeepServices, s) {
			kept = append(kept, s)
		} else {
			disable = append(disable, s)
		}
	}
	for _, s := range c.DisableServices {
		if !containsFold(disable, s) {
			disable = append(disable, s)
		}
	}
	return disable, kept
}

// containsFold: s is in list, ignoring case (Windows service names are
// case-insensitive; no two Linux defaults differ in case only).
func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// stepsOf are the steps of an OS, in the order its script runs them.
func stepsOf(os string) []string {
	if os == osWindows {
		return script.WindowsSteps
	}
	return script.LinuxSteps
}

// targetOS is os, or what the communicator says: WinRM means Windows.
func (c *Config) targetOS(generatedData map[string]interface{}) string {
	if c.GuestOSType != "" {
		return c.GuestOSType
	}
	if conn, _ := generatedData["ConnType"].(string); conn == "winrm" {
		return osWindows
	}
	return osLinux
}

// stepsFor are the steps to run on os, and the steps asked for by name
// that os does not have (another OS's, from a block shared by Linux and
// Windows sources), or an error when nothing is left to run on os. With
// guest_os_type set in the block, Prepare has refused the other OS's names already.
func (c *Config) stepsFor(os string) (steps, otherOS []string, err error) {
	valid := map[string]bool{}
	for _, s := range stepsOf(os) {
		valid[s] = true
	}
	seen := map[string]bool{}
	for _, s := range append(append([]string{}, c.Steps...), c.SkipSteps...) {
		if !valid[s] && !seen[s] {
			seen[s] = true
			otherOS = append(otherOS, s)
		}
	}
	steps = c.selectedSteps(os)
	if len(steps) == 0 {
		why := ""
		if len(otherOS) > 0 {
			why = fmt.Sprintf(" (%s: not steps of %s)", strings.Join(otherOS, ", "), os)
		}
		return nil, otherOS, fmt.Errorf("steps and skip_steps leave no step to run on this %s machine%s; its steps are: %s", os, why, strings.Join(stepsOf(os), ", "))
	}
	return steps, otherOS, nil
}

// selectedSteps are the steps to run on os, in script order.
func (c *Config) selectedSteps(os string) []string {
	want := map[string]bool{}
	for _, s := range c.Steps {
		want[s] = true
	}
	skip := map[string]bool{}
	for _, s := range c.SkipSteps {
		skip[s] = true
	}
	var out []string
	for _, s := range stepsOf(os) {
		if (len(c.Steps) == 0 || want[s]) && !skip[s] {
			out = append(out, s)
		}
	}
	return out
}

// remotePath is where the script goes on os.
func (c *Config) remotePath(os string) string {
	if c.RemotePath != "" {
		return c.RemotePath
	}
	if os == osWindows {
		return "C:/Windows/Temp/ami-harden-" + c.suffix + ".ps1"
	}
	return "/tmp/ami-harden-" + c.suffix + ".sh"
}

// sshdSettings are the defaults with the user's settings on top.
func (c *Config) sshdSettings() map[string]string {
	out := map[string]string{}
	for k, v := range script.DefaultSSHDSettings {
		out[k] = v
	}
	for k, v := range c.SSHDSettings {
		// sshd keywords are case-insensitive: a user's value replaces ours.
		for d := range out {
			if strings.EqualFold(d, k) {
				delete(out, d)
			}
		}
		out[k] = strings.TrimSpace(v)
	}
	return out
}

// systemDirs are the directories no wipe path may name: wiping one would
// wreck the system (or every user) rather than remove a secret.
var systemDirs = map[string]bool{
	"/": true, "/bin": true, "/boot": true, "/dev": true, "/etc": true, "/home": true, "/lib": true,
	"/lib32": true, "/lib64": true, "/libx32": true, "/proc": true, "/root": true, "/run": true,
	"/sbin": true, "/sys": true, "/usr": true, "/var": true,
}

// windowsSystemDirs are the same for Windows, below the drive, lowercased.
var windowsSystemDirs = map[string]bool{
	"/": true, "/windows": true, "/program files": true, "/program files (x86)": true,
	"/programdata": true, "/users": true,
}

// cleanExtraPath returns a wipe path as the script gets it (a Unix path
// cleaned with path.Clean, so "/usr/.." is seen for the "/" it is; a
// Windows path as written), or why it is refused.
func cleanExtraPath(p string) (string, string) {
	if path.IsAbs(p) {
		clean := path.Clean(p)
		if systemDirs[clean] {
			return "", fmt.Sprintf("resolves to %s: a whole file system or a system directory, not a secret to wipe", clean)
		}
		return clean, ""
	}
	// A drive letter, then the path on the drive, either slash.
	rest := path.Clean("/" + strings.ReplaceAll(p[2:], `\`, "/"))
	if windowsSystemDirs[strings.ToLower(rest)] {
		return "", fmt.Sprintf("resolves to %s%s: a drive root or a system folder, not a secret to wipe", p[:2], strings.ReplaceAll(rest, "/", `\`))
	}
	return p, ""
}

// isAbs: an absolute path on os: a Unix path on Linux, a path with a drive
// letter on Windows, either while the OS is not known yet.
func isAbs(os, p string) bool {
	unix := path.IsAbs(p)
	windows := len(p) >= 3 && p[1] == ':' && (p[2] == '\\' || p[2] == '/') &&
		(p[0]|0x20 >= 'a' && p[0]|0x20 <= 'z')
	switch os {
	case osLinux:
		return unix
	case osWindows:
		return windows
	}
	return unix || windows
}
