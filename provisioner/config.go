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
	// to `windows` when the communicator is WinRM and `linux` otherwise.
	OS string `mapstructure:"os"`
	// The steps to run, by name; the default is every step of the OS. Steps
	// always run in their fixed order, whatever the order written here. On
	// Linux: sshd, passwords, host-keys, user-keys, credentials, history,
	// accounts, cloud-init, machine-id, temp, secrets, logs. On Windows:
	// domain, guest-account, accounts, services, admin-password, winrm,
	// user-keys, host-keys, credentials, history, autologon, answer-files,
	// temp, recycle-bin, pagefile, event-logs, sysprep. An unknown name is an error that lists the
	// valid ones.
	Steps []string `mapstructure:"steps"`
	// Steps not to run, by name. Applied after `steps`; naming a step in
	// both is an error.
	SkipSteps []string `mapstructure:"skip_steps"`
	// Linux: sshd keywords and values that override or add to the defaults
	// (`PasswordAuthentication no`, `PermitRootLogin prohibit-password`,
	// `PubkeyAuthentication yes`, `PermitEmptyPasswords no`,
	// `KbdInteractiveAuthentication no`). Each is written ahead of every
	// Include of sshd_config and verified with `sshd -T`.
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
	ExtraPaths []string `mapstructure:"extra_paths"`
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
	// remote path. On Linux it defaults to `sudo -n /bin/sh '{{.Path}}'`, or
	// `/bin/sh '{{.Path}}'` when the communicator logs in as root. `sudo -n`
	// never waits for a password: a login user without passwordless sudo
	// fails at once with sudo's message. Set this to escalate another way,
	// e.g. `echo 'packer' | sudo -S /bin/sh '{{.Path}}'`. On Windows it
	// defaults to `powershell -NoProfile -NonInteractive -ExecutionPolicy
	// Bypass -File "{{.Path}}"`.
	ExecuteCommand string `mapstructure:"execute_command"`
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
	// Windows: services the services step stops and disables. Defaults to
	// `["Spooler"]` (the print spooler). A service that is not installed is
	// reported, not an error.
	DisableServices []string `mapstructure:"disable_services"`
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
	// A Windows service name (its short name, not its display name); named
	// SQL Server instances have a $ (MSSQL$INSTANCE).
	serviceName = regexp.MustCompile(`^[A-Za-z0-9_.$-]+$`)
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

	switch c.OS {
	case "", osLinux, osWindows:
	default:
		add("os: %q is neither linux nor windows", c.OS)
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

	for i, ep := range c.ExtraPaths {
		if strings.ContainsAny(ep, "\r\n\x00") {
			add("extra_paths: %q contains a line break or NUL", ep)
			continue
		}
		if !isAbs(c.OS, ep) {
			add("extra_paths: %q is not an absolute path", ep)
			continue
		}
		clean, why := cleanExtraPath(ep)
		if why != "" {
			add("extra_paths: %q %s", ep, why)
			continue
		}
		c.ExtraPaths[i] = clean
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
	for _, os := range []string{osLinux, osWindows} {
		if c.OS != "" && c.OS != os {
			continue
		}
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
	left := 0
	for _, os := range []string{osLinux, osWindows} {
		if c.OS == "" || c.OS == os {
			left += len(c.selectedSteps(os))
		}
	}
	if left == 0 {
		add("steps and skip_steps leave no step to run")
	}
}

func (c *Config) prepareLinux(add func(string, ...interface{})) {
	for k, v := range c.SSHDSettings {
		if !sshdKeyword.MatchString(k) || !sshdKeywords[strings.ToLower(k)] {
			add("sshd_settings: %q is not an sshd keyword (see sshd_config(5); Match and Include are not supported here)", k)
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
		switch c.OS {
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
	if c.OS == osWindows {
		if len(c.SSHDSettings) > 0 {
			add("sshd_settings is for os = \"linux\" only")
		}
		if c.ShredPasses != 0 {
			add("shred_passes is for os = \"linux\" only")
		}
		if c.KeepCloudInitSeed {
			add("keep_cloud_init_seed is for os = \"linux\" only")
		}
		if len(c.SecretsAllow) > 0 {
			add("secrets_allow is for os = \"linux\" only")
		}
	}
	if c.ShredPasses == 0 {
		c.ShredPasses = 1
	}
}

func (c *Config) prepareWindows(add func(string, ...interface{})) {
	if c.OS == osLinux {
		for name, set := range map[string]bool{
			"elevated_user":     c.ElevatedUser != "",
			"elevated_password": c.ElevatedPassword != "",
			"disable_services":  c.DisableServices != nil,
			"sysprep":           c.Sysprep != "",
			"sysprep_shutdown":  c.SysprepShutdown,
			"sysprep_timeout":   c.SysprepTimeout != 0,
		} {
			if set {
				add("%s is for os = \"windows\" only", name)
			}
		}
	}
	if (c.ElevatedUser == "") != (c.ElevatedPassword == "") {
		add("elevated_user and elevated_password go together")
	}
	if c.DisableServices == nil {
		c.DisableServices = []string{"Spooler"}
	}
	for _, s := range c.DisableServices {
		if !serviceName.MatchString(s) {
			add("disable_services: %q is not a service name", s)
		}
	}
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

// stepsOf are the steps of an OS, in the order its script runs them.
func stepsOf(os string) []string {
	if os == osWindows {
		return script.WindowsSteps
	}
	return script.LinuxSteps
}

// targetOS is os, or what the communicator says: WinRM means Windows.
func (c *Config) targetOS(generatedData map[string]interface{}) string {
	if c.OS != "" {
		return c.OS
	}
	if conn, _ := generatedData["ConnType"].(string); conn == "winrm" {
		return osWindows
	}
	return osLinux
}

// stepsFor are the steps to run on os, or an error naming the steps the
// configuration asks for that os does not have.
func (c *Config) stepsFor(os string) ([]string, error) {
	valid := map[string]bool{}
	for _, s := range stepsOf(os) {
		valid[s] = true
	}
	var wrong []string
	for _, s := range append(append([]string{}, c.Steps...), c.SkipSteps...) {
		if !valid[s] {
			wrong = append(wrong, s)
		}
	}
	if len(wrong) > 0 {
		return nil, fmt.Errorf("the machine runs %s, which has no step %s; its steps are: %s (set os to say which system the template is for)",
			os, strings.Join(wrong, ", "), strings.Join(stepsOf(os), ", "))
	}
	steps := c.selectedSteps(os)
	if len(steps) == 0 {
		return nil, fmt.Errorf("steps and skip_steps leave no step to run on %s", os)
	}
	return steps, nil
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

// systemDirs are the directories no extra path may name: wiping one would
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

// cleanExtraPath returns an extra path as the script gets it (a Unix path
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
