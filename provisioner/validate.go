package provisioner

import (
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/ami-harden/packer-plugin-ami-harden/provisioner/script"
	"github.com/ami-harden/packer-plugin-ami-harden/provisioner/steps"
)

var (
	// sshd keywords are letters and digits; a value is one line.
	sshdKeyword = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*$`)
	// The remote path appears in execute_command, so it stays plain: a
	// Unix path, or a Windows path with a drive letter.
	safeRemotePath = regexp.MustCompile(`^(/|[A-Za-z]:[/\\])[A-Za-z0-9/\\._-]+$`)
	// A Linux account name, as useradd accepts it by default.
	linuxAccountName = regexp.MustCompile(`^[a-z_][a-z0-9_.-]*[$]?$`)
	// A Windows local account name: at most 20 characters, none of
	// " / \ [ ] : ; | = , + * ? < > @ and no control character.
	windowsAccountName = regexp.MustCompile(`^[^"/\\\[\]:;|=,+*?<>@\x00-\x1f]{1,20}$`)
	// A service name: a Windows service's short name (named SQL Server
	// instances have a $: MSSQL$INSTANCE), a systemd unit (getty@tty1.service,
	// sys-fs-fuse-connections.mount) or an init script's name. Data only,
	// never a pattern: no space, quote, slash or wildcard.
	serviceName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9@_.:+$-]*$`)
	// An environment variable's name, as the shell provisioner takes it.
	envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// otherOSOptions are the options of one system only, in the order of the
// fields: set with guest_os_type naming the other system, each is an error.
var otherOSOptions = []struct {
	name, os string
	set      func(*Config) bool
}{
	{"sshd_settings", steps.Linux, func(c *Config) bool { return len(c.SSHDSettings) > 0 }},
	{"sshd_algorithms", steps.Linux, func(c *Config) bool { return c.SSHDAlgorithms != "" }},
	{"keep_paths", steps.Linux, func(c *Config) bool { return len(c.KeepPaths) > 0 }},
	{"require_key_installer", steps.Linux, func(c *Config) bool { return c.RequireKeyInstaller != nil }},
	{"keep_cloud_init_seed", steps.Linux, func(c *Config) bool { return c.KeepCloudInitSeed }},
	{"secrets_allow", steps.Linux, func(c *Config) bool { return len(c.SecretsAllow) > 0 }},
	{"shred_passes", steps.Linux, func(c *Config) bool { return c.ShredPasses != 0 }},
	{"wipe_free_space", steps.Linux, func(c *Config) bool { return c.WipeFreeSpace != nil }},
	{"wipe_free_space_exclude", steps.Linux, func(c *Config) bool { return len(c.WipeFreeSpaceExclude) > 0 }},
	{"elevated_user", steps.Windows, func(c *Config) bool { return c.ElevatedUser != "" }},
	{"elevated_password", steps.Windows, func(c *Config) bool { return c.ElevatedPassword != "" }},
	{"sysprep", steps.Windows, func(c *Config) bool { return c.Sysprep != "" }},
	{"sysprep_shutdown", steps.Windows, func(c *Config) bool { return c.SysprepShutdown != nil }},
	{"sysprep_timeout", steps.Windows, func(c *Config) bool { return c.SysprepTimeout != 0 }},
	{"power_off_timeout", steps.Windows, func(c *Config) bool { return c.PowerOffTimeout != 0 }},
}

// validate names every mistake in the block, in the order of the fields,
// with the options as written (before the defaults).
func (c *Config) validate() error {
	var errs *packersdk.MultiError
	add := func(format string, args ...interface{}) {
		errs = packersdk.MultiErrorAppend(errs, fmt.Errorf(format, args...))
	}
	switch c.Mode {
	case "", ModeEnforce, ModeAudit:
	default:
		add("mode: %q is neither enforce nor audit", c.Mode)
	}
	switch c.OnFailure {
	case "", OnFailureAbort, OnFailureContinue:
	default:
		add("on_failure: %q is neither abort nor continue", c.OnFailure)
	}
	if c.ReportFile != "" && c.ReportFile == c.JUnitFile {
		add("report_file and junit_file must be different files")
	}
	switch c.GuestOSType {
	case "", steps.Linux, steps.Windows:
	default:
		add("guest_os_type: %q is neither linux nor windows", c.GuestOSType)
	}
	c.validateSteps(add)
	c.validateSSHDSettings(add)
	if c.SSHDAlgorithms != "" && c.SSHDAlgorithms != script.SSHDAlgorithmsModern {
		add("sshd_algorithms: %q is not %s (or empty, for the distribution's algorithms)", c.SSHDAlgorithms, script.SSHDAlgorithmsModern)
	}
	c.validateWipePaths(add)
	c.validateKeepPaths(add)
	c.validateAccounts(add)
	for _, g := range c.SecretsAllow {
		if !strings.HasPrefix(g, "/") || strings.ContainsAny(g, "\r\n\x00") {
			add("secrets_allow: %q is not an absolute path or glob on one line", g)
		}
	}
	if c.ShredPasses < 0 || c.ShredPasses > 35 {
		add("shred_passes must be between 1 and 35, not %d", c.ShredPasses)
	}
	if c.WipeFreeSpace != nil {
		switch {
		case !*c.WipeFreeSpace && contains(c.Steps, freeSpaceStep):
			add("wipe_free_space = false, but steps names %s, the step it turns off", freeSpaceStep)
		case *c.WipeFreeSpace && contains(c.SkipSteps, freeSpaceStep):
			add("wipe_free_space = true, but skip_steps names %s, the step it turns on", freeSpaceStep)
		}
	}
	for _, m := range c.WipeFreeSpaceExclude {
		if !strings.HasPrefix(m, "/") || strings.ContainsAny(m, "\r\n\x00") || path.Clean(m) != m {
			add("wipe_free_space_exclude: %q is not a clean absolute path on one line (a mount point, as /proc/mounts shows it)", m)
		}
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
	if c.RemotePath != "" && !safeRemotePath.MatchString(c.RemotePath) {
		add("remote_path: %q must be an absolute path of letters, digits and / \\ . _ -", c.RemotePath)
	}
	// elevated_user without a password is a service account (SYSTEM), as
	// in Packer's powershell provisioner: its scheduled task logs on as one.
	if c.ElevatedUser == "" && c.ElevatedPassword != "" {
		add("elevated_password needs elevated_user")
	}
	c.validateServices(add)
	if c.Sysprep != "" && !contains(script.SysprepModes, c.Sysprep) {
		add("sysprep: %q is not one of %s", c.Sysprep, strings.Join(script.SysprepModes, ", "))
	}
	if c.SysprepShutdown != nil && !*c.SysprepShutdown {
		add("sysprep_shutdown = false is no longer possible: once Sysprep runs, Windows takes no WinRM logon until the machine is off " +
			"(hashicorp/packer#10129), so the builder cannot shut it down; the machine powers itself off when the image is generalised. " +
			"Remove the setting: the provisioner waits for that power-off (builders with a shutdown_command need disable_shutdown = true)")
	}
	if c.SysprepTimeout < 0 {
		add("sysprep_timeout must be positive")
	}
	if c.PowerOffTimeout < 0 {
		add("power_off_timeout must be positive")
	}
	for _, o := range otherOSOptions {
		if c.GuestOSType != "" && c.GuestOSType != o.os && o.set(c) {
			add("%s is for guest_os_type = %q only", o.name, o.os)
		}
	}
	if errs != nil && len(errs.Errors) > 0 {
		return errs
	}
	return nil
}

// validateSteps checks steps and skip_steps against the steps of the
// systems the block may run on.
func (c *Config) validateSteps(add func(string, ...interface{})) {
	var names []string
	for _, os := range c.mayRunOn() {
		for _, s := range steps.Names(os) {
			if !contains(names, s) {
				names = append(names, s)
			}
		}
	}
	for _, field := range []struct {
		name  string
		steps []string
	}{{"steps", c.Steps}, {"skip_steps", c.SkipSteps}} {
		for _, s := range field.steps {
			if !contains(names, s) {
				add("%s: unknown step %q; valid steps are: %s", field.name, s, strings.Join(names, ", "))
			}
		}
	}
	for _, s := range c.SkipSteps {
		if contains(c.Steps, s) {
			add("step %q is in both steps and skip_steps", s)
		}
	}
	// A shared block (no guest_os_type) may leave nothing for one system:
	// that machine's build fails when it gets there, naming its steps.
	// Nothing left for every system is a mistake to say now.
	left := 0
	for _, os := range c.mayRunOn() {
		left += len(c.selectedSteps(os))
	}
	if left == 0 {
		add("steps and skip_steps leave no step to run")
	}
}

// validateSSHDSettings checks what cannot be an sshd keyword or value.
// Whether sshd knows a keyword, the machine's sshd says (the sshd step tests
// the settings with sshd -T before it writes them): distributions add their
// own.
func (c *Config) validateSSHDSettings(add func(string, ...interface{})) {
	keys := make([]string, 0, len(c.SSHDSettings))
	for k := range c.SSHDSettings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := c.SSHDSettings[k]
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
}

// validateWipePaths: absolute paths of the system, on one line, that name
// no system directory once cleaned.
func (c *Config) validateWipePaths(add func(string, ...interface{})) {
	for _, p := range c.WipePaths {
		if strings.ContainsAny(p, "\r\n\x00") {
			add("wipe_paths: %q contains a line break or NUL", p)
			continue
		}
		if !isAbs(c.GuestOSType, p) {
			add("wipe_paths: %q is not an absolute path", p)
			continue
		}
		if _, why := cleanWipePath(p); why != "" {
			add("wipe_paths: %q %s", p, why)
		}
	}
}

// keepPathRoots are the directories whose contents the temp and logs
// steps remove: the only places keep_paths can mean anything.
var keepPathRoots = []string{"/tmp", "/var/tmp", "/var/log"}

// validateKeepPaths: clean absolute paths on one line, strictly below one of
// keepPathRoots.
func (c *Config) validateKeepPaths(add func(string, ...interface{})) {
	for _, p := range c.KeepPaths {
		if strings.ContainsAny(p, "\r\n\x00") || !strings.HasPrefix(p, "/") || path.Clean(p) != p {
			add("keep_paths: %q is not a clean absolute path on one line", p)
			continue
		}
		below := false
		for _, r := range keepPathRoots {
			below = below || strings.HasPrefix(p, r+"/")
		}
		if !below {
			add("keep_paths: %q is not below %s, the directories the temp and logs steps empty", p, strings.Join(keepPathRoots, ", "))
		}
	}
}

// validateAccounts checks keep_users and remove_users: account names of
// the systems the block may run on, none in both lists, root never removed.
func (c *Config) validateAccounts(add func(string, ...interface{})) {
	valid := func(u string) bool {
		for _, os := range c.mayRunOn() {
			if accountName(os, u) {
				return true
			}
		}
		return false
	}
	for _, u := range c.KeepUsers {
		if !valid(u) {
			add("keep_users: %q is not an account name", u)
		}
	}
	for _, u := range c.RemoveUsers {
		if !valid(u) || u == "root" {
			add("remove_users: %q is not an account name that can be removed", u)
		}
		if contains(c.KeepUsers, u) {
			add("account %q is in both keep_users and remove_users", u)
		}
	}
}

// accountName tells whether u can name a local account on os.
func accountName(os, u string) bool {
	if os == steps.Windows {
		return windowsAccountName.MatchString(u) && strings.Trim(u, ". ") != ""
	}
	return linuxAccountName.MatchString(u)
}

// validateServices checks disable_services and keep_services: names only,
// none that must never be disabled, and every kept name on the default list
// of a system the block may run on.
func (c *Config) validateServices(add func(string, ...interface{})) {
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
	var defaults []string
	for _, os := range c.mayRunOn() {
		defaults = append(defaults, script.DefaultServices(os)...)
	}
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
// own units. Case does not count (Windows service names ignore it). The
// Linux script refuses the same names (svc_protected in
// script/linux/steps/services.sh; TestProtectedServicesAreTheScripts runs
// both on the same names).
func protectedService(name string) string {
	n := strings.ToLower(name)
	switch {
	case n == "ssh" || n == "sshd" || strings.HasPrefix(n, "ssh.") || strings.HasPrefix(n, "sshd.") ||
		strings.HasPrefix(n, "ssh@") || strings.HasPrefix(n, "sshd@") || strings.HasPrefix(n, "sshd-") || strings.HasPrefix(n, "openssh"):
		return "sshd, which the build runs over and the image is reached through"
	case n == "winrm":
		return "WinRM, which the build runs over"
	}
	for _, suffix := range []string{".target", ".slice", ".scope", ".mount"} {
		if strings.HasSuffix(n, suffix) {
			return "a systemd " + strings.TrimPrefix(suffix, ".") + ", not a service"
		}
	}
	if n == "systemd" || strings.HasPrefix(n, "systemd.") || strings.HasPrefix(n, "systemd-") ||
		n == "dbus" || strings.HasPrefix(n, "dbus.") || strings.HasPrefix(n, "dbus-") || n == "init" || strings.HasPrefix(n, "init.") {
		return "the service manager's own"
	}
	return ""
}

// linuxSystemDirs are the directories no wipe path may name: wiping one
// would wreck the system (or every user) rather than remove a secret. The
// Linux script refuses the same (system_dir in script/linux/lib/paths.sh;
// TestSystemDirsAreTheScripts runs both on the same paths).
var linuxSystemDirs = []string{
	"/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32", "/proc",
	"/root", "/run", "/sbin", "/sys", "/usr", "/var",
}

// windowsSystemDirs are the same for Windows, below the drive, lowercased.
var windowsSystemDirs = []string{"/", "/windows", "/program files", "/program files (x86)", "/programdata", "/users"}

// cleanWipePath returns a wipe path as the script gets it (a Unix path
// cleaned with path.Clean, so "/usr/.." is seen for the "/" it is; a
// Windows path as written), or why it is refused.
func cleanWipePath(p string) (string, string) {
	switch {
	case path.IsAbs(p):
		clean := path.Clean(p)
		if contains(linuxSystemDirs, clean) {
			return "", fmt.Sprintf("resolves to %s: a whole file system or a system directory, not a secret to wipe", clean)
		}
		return clean, ""
	case isAbs(steps.Windows, p):
		// A drive letter, then the path on the drive, either slash.
		rest := path.Clean("/" + strings.ReplaceAll(p[2:], `\`, "/"))
		if contains(windowsSystemDirs, strings.ToLower(rest)) {
			return "", fmt.Sprintf("resolves to %s%s: a drive root or a system folder, not a secret to wipe", p[:2], strings.ReplaceAll(rest, "/", `\`))
		}
		return p, ""
	}
	return "", "is not an absolute path"
}

// isAbs: an absolute path on os: a Unix path on Linux, a path with a drive
// letter on Windows, either while the system is not known yet.
func isAbs(os, p string) bool {
	unix := path.IsAbs(p)
	windows := len(p) >= 3 && p[1] == ':' && (p[2] == '\\' || p[2] == '/') &&
		(p[0]|0x20 >= 'a' && p[0]|0x20 <= 'z')
	switch os {
	case steps.Linux:
		return unix
	case steps.Windows:
		return windows
	}
	return unix || windows
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
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
