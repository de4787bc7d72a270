// Package script holds the hardening scripts the provisioner uploads, and
// renders them with the user's settings.
//
// The scripts are real files that a reviewer can read and lint. On Linux:
// the shared parts in linux/lib/ (joined in the order of linuxLib), one
// file per step in linux/steps/ (STEP.sh, and STEP.*.sh where a step has
// more than one), and linux/main.sh, which starts the run. On Windows:
// windows/lib.ps1, windows/handover.ps1 (what runs after the run: the
// work that must wait until the build lets go, and Sysprep), one file per
// step in windows/steps/, and windows/main.ps1. Only the selected steps
// travel. Which steps there are, and in which order they run, is
// provisioner/steps' list.
//
// The Windows script travels without its comments and blank lines: WinRM
// uploads it in chunks of a few kilobytes, one command each. Rendering only
// inserts plain variable assignments after the first line; every user
// value is single-quoted data there and never becomes code.
package script

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"time"
)

//go:embed linux windows
var files embed.FS

// file is one file of the scripts, by its path below this directory.
func file(name string) string {
	b, err := files.ReadFile(name)
	if err != nil {
		// The files are embedded: a missing one is a build mistake.
		panic(err)
	}
	return string(b)
}

// linuxLib are the Linux script's shared parts (linux/lib/NAME.sh), in the
// order they are joined. settings comes first: its first line is the
// script's, and it sets the shell's options for the rest.
var linuxLib = []string{"settings", "reporting", "paths", "wiping", "kept", "homes", "homejobs", "systemd", "sshd"}

// linuxStep is the code of a Linux step: linux/steps/NAME.sh, then its other
// files (NAME.*.sh) in name order.
func linuxStep(name string) string {
	parts := []string{file("linux/steps/" + name + ".sh")}
	more, err := fs.Glob(files, "linux/steps/"+name+".*.sh")
	if err != nil {
		panic(err)
	}
	sort.Strings(more)
	for _, m := range more {
		parts = append(parts, file(m))
	}
	for i, p := range parts {
		parts[i] = withoutDirective(p)
	}
	return strings.Join(parts, "\n")
}

// windowsStep is the code of a Windows step: windows/steps/NAME.ps1.
func windowsStep(name string) string { return file("windows/steps/" + name + ".ps1") }

// StepFiles are the names of the step files of os ("linux" or "windows"),
// without directory and extension, in name order: what a test compares
// with the list of steps.
func StepFiles(os string) []string {
	ext := map[string]string{"linux": ".sh", "windows": ".ps1"}[os]
	entries, err := files.ReadDir(os + "/steps")
	if err != nil {
		panic(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, strings.TrimSuffix(e.Name(), ext))
	}
	return out
}

// defaultLinuxServices are the services step's default list on Linux: the
// services that authenticate in cleartext (AWS's security whitepaper, table
// 15: disable services and protocols that authenticate users in cleartext).
// They are names, not packages: each name covers the systemd units NAME.service
// and NAME.socket, the init script NAME (SysV and OpenRC), and the inetd and
// xinetd entries whose service is NAME or whose server is NAME, NAMEd,
// in.NAME or in.NAMEd; see linux/steps/services.sh.
var defaultLinuxServices = []string{
	// telnet: telnet.socket (Fedora, RHEL, SUSE), inetd's and xinetd's
	// telnet (Debian's inetutils-telnetd and telnetd run /usr/sbin/telnetd
	// and in.telnetd from inetd); telnetd: busybox's (Alpine's OpenRC).
	"telnet", "telnetd",
	// rsh, rlogin, rexec: rsh.socket, rlogin.socket, rexec.socket (Fedora,
	// SUSE), xinetd's rsh, rlogin, rexec, and inetd's shell, login and exec
	// entries, whose servers are in.rshd, in.rlogind and in.rexecd (Debian's
	// rsh-server, rsh-redone-server).
	"rsh", "rlogin", "rexec",
	// tftp: tftp.socket and tftp.service (Fedora, RHEL, SUSE), inetd's and
	// xinetd's tftp; Debian's tftpd-hpa (an init script) and atftpd
	// (atftpd.service, atftpd.socket); Alpine's in.tftpd (OpenRC).
	"tftp", "tftpd-hpa", "atftpd", "in.tftpd",
	// Plain FTP: inetd's and xinetd's ftp (whatever server it runs), and the
	// standalone servers' units and init scripts on every distribution.
	"ftp", "vsftpd", "proftpd", "pure-ftpd",
	// NIS: ypserv, yppasswdd, ypxfrd (ypserv), ypbind (ypbind-mt), and the
	// single nis init script of older Debian and Ubuntu.
	"ypserv", "ypbind", "yppasswdd", "ypxfrd", "nis",
}

// defaultWindowsServices are the services step's default list on Windows:
// the whitepaper's non-essential services (file sharing and RPC are the
// system's own; the print spooler is not).
var defaultWindowsServices = []string{"Spooler"}

// DefaultServices are the services step's default list on os: what it
// disables unless keep_services names them; disable_services adds to them.
func DefaultServices(os string) []string {
	if os == "windows" {
		return append([]string{}, defaultWindowsServices...)
	}
	return append([]string{}, defaultLinuxServices...)
}

// SysprepModes are the values of sysprep, auto first.
var SysprepModes = []string{"auto", "ec2launch-v2", "ec2launch-v1", "ec2config", "sysprep", "none"}

// DefaultSSHDSettings are the sshd settings every image gets; sshd_settings
// overrides or adds to them.
var DefaultSSHDSettings = map[string]string{
	"PasswordAuthentication":       "no",
	"PermitRootLogin":              "prohibit-password",
	"PubkeyAuthentication":         "yes",
	"PermitEmptyPasswords":         "no",
	"KbdInteractiveAuthentication": "no",
}

// SSHDAlgorithmsModern is the value of sshd_algorithms that applies the
// modern algorithm set (linux/lib/sshd.sh: sshd_modern_algorithms).
const SSHDAlgorithmsModern = "modern"

// Params are the values a rendered script runs with.
type Params struct {
	// Steps to run, in order.
	Steps []string
	// SSHDSettings are keyword/value pairs for sshd, defaults included.
	SSHDSettings map[string]string
	// SSHDAlgorithms is "" or SSHDAlgorithmsModern.
	SSHDAlgorithms string
	// WipePaths are absolute paths the credentials step wipes.
	WipePaths []string
	// KeepPaths are paths the temp and logs steps leave alone.
	KeepPaths []string
	// KeepUsers are accounts whose passwords and keys stay.
	KeepUsers []string
	// RequireKeyInstaller makes user-keys fail when nothing will let anyone
	// log in to an instance.
	RequireKeyInstaller bool
	// KeepCloudInitSeed keeps /var/lib/cloud/seed.
	KeepCloudInitSeed bool
	// SecretsAllow are globs of files whose stray secrets are accepted.
	SecretsAllow []string
	// RemoveUsers are accounts the accounts step removes.
	RemoveUsers []string
	// ShredPasses is how many passes of random data overwrite a secret.
	ShredPasses int
	// FreeSpaceExclude are mount points the free-space step leaves alone.
	FreeSpaceExclude []string
	// DisableServices are the services the services step disables.
	DisableServices []string
	// KeepServices are the default services kept (keep_services), for the
	// report.
	KeepServices []string
	// Mode is enforce or audit.
	Mode string
	// RemoveSelf makes the script delete its own file before it starts.
	RemoveSelf bool
}

// WindowsParams are the values a rendered Windows script runs with.
type WindowsParams struct {
	// Steps to run, in order.
	Steps []string
	// WipePaths are the files and folders the credentials step wipes.
	WipePaths []string
	// DisableServices are the services the services step disables.
	DisableServices []string
	// KeepServices are the default services kept (keep_services), for the
	// report.
	KeepServices []string
	// Env are environment variables (environment_vars and Packer's own),
	// KEY=value, set at the top of the script.
	Env []string
	// RemoveUsers are the local accounts the accounts step removes.
	RemoveUsers []string
	// KeepUsers are the enabled local accounts the accounts step leaves.
	KeepUsers []string
	// BuildUser is the account the communicator logs in with: it keeps
	// working until the build ends.
	BuildUser string
	// Sysprep is one of SysprepModes.
	Sysprep string
	// SysprepTimeout is how long Sysprep may run before the handover stops
	// it and leaves the machine running.
	SysprepTimeout time.Duration
	// Mode is enforce or audit.
	Mode string
	// ReportFile, when set, is a remote file the script writes its report
	// lines to as well (the elevated runner's output can lose lines).
	ReportFile string
	// RemoveSelf makes the script delete its own file as it starts.
	RemoveSelf bool
}

// RenderWindows returns the PowerShell script: the helpers, the selected
// steps and main.ps1, with p written in as assignments at the top, without
// comment lines and blank lines. It starts with a UTF-8 byte order mark:
// Windows PowerShell 5.1 reads a file without one in the legacy code page,
// which would garble paths with non-ASCII letters.
func RenderWindows(p WindowsParams) []byte {
	var b strings.Builder
	b.WriteString("\uFEFF# Parameters written by the ami-harden provisioner.\n")
	fmt.Fprintf(&b, "$AmiHardenSteps = %s\n", psArray(p.Steps))
	fmt.Fprintf(&b, "$AmiHardenWipePaths = %s\n", psArray(p.WipePaths))
	fmt.Fprintf(&b, "$AmiHardenDisableServices = %s\n", psArray(p.DisableServices))
	fmt.Fprintf(&b, "$AmiHardenKeepServices = %s\n", psArray(p.KeepServices))
	fmt.Fprintf(&b, "$AmiHardenRemoveUsers = %s\n", psArray(p.RemoveUsers))
	fmt.Fprintf(&b, "$AmiHardenKeepUsers = %s\n", psArray(p.KeepUsers))
	fmt.Fprintf(&b, "$AmiHardenBuildUser = %s\n", QuotePS(p.BuildUser))
	fmt.Fprintf(&b, "$AmiHardenSysprep = %s\n", QuotePS(p.Sysprep))
	fmt.Fprintf(&b, "$AmiHardenSysprepTimeout = %d\n", int(p.SysprepTimeout/time.Second))
	fmt.Fprintf(&b, "$AmiHardenMode = %s\n", QuotePS(p.Mode))
	fmt.Fprintf(&b, "$AmiHardenReportFile = %s\n", QuotePS(p.ReportFile))
	fmt.Fprintf(&b, "$AmiHardenKeepFiles = %s\n", psArray(nonEmpty(p.ReportFile)))
	fmt.Fprintf(&b, "$AmiHardenRemoveSelf = %s\n", psBool(p.RemoveSelf))
	for _, kv := range p.Env {
		k, v, _ := strings.Cut(kv, "=")
		// The name is letters, digits and _ (config checks it).
		fmt.Fprintf(&b, "$env:%s = %s\n", k, QuotePS(v))
	}
	b.WriteString(compactPS(file("windows/lib.ps1")))
	b.WriteString(compactPS(file("windows/handover.ps1")))
	for _, s := range p.Steps {
		b.WriteString(compactPS(windowsStep(s)))
	}
	b.WriteString(compactPS(file("windows/main.ps1")))
	return []byte(b.String())
}

func nonEmpty(items ...string) []string {
	var out []string
	for _, s := range items {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// compactPS drops comment lines and blank lines, except inside here-strings
// (their lines are data: C# source, an answer file). A comment that follows
// code on its line stays: telling it from a # inside a string needs a
// parser. Indentation goes too: PowerShell does not read it.
func compactPS(src string) string {
	var b strings.Builder
	inHere := false
	for _, line := range strings.Split(src, "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case inHere:
			b.WriteString(line + "\n")
			if strings.HasPrefix(line, "'@") || strings.HasPrefix(line, "\"@") {
				inHere = false
			}
			continue
		case trimmed == "" || strings.HasPrefix(trimmed, "#"):
			continue
		}
		b.WriteString(trimmed + "\n")
		if strings.HasSuffix(trimmed, "@'") || strings.HasSuffix(trimmed, "@\"") {
			inHere = true
		}
	}
	return b.String()
}

// QuotePS makes s a PowerShell single-quoted string that stands for s
// itself. PowerShell also ends single-quoted strings at the typographic
// quotes U+2018 to U+201B, so each of those is doubled like '.
func QuotePS(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for _, r := range s {
		switch r {
		case '\'', '\u2018', '\u2019', '\u201A', '\u201B':
			b.WriteRune(r)
		}
		b.WriteRune(r)
	}
	b.WriteByte('\'')
	return b.String()
}

func psArray(items []string) string {
	quoted := make([]string, len(items))
	for i, s := range items {
		quoted[i] = QuotePS(s)
	}
	return "@(" + strings.Join(quoted, ", ") + ")"
}

func psBool(v bool) string {
	if v {
		return "$true"
	}
	return "$false"
}

// RenderLinux returns the Linux script: the shared parts, the selected
// steps and main.sh, with p written in as assignments below the first line,
// each with a comment that says what it holds.
func RenderLinux(p Params) []byte {
	flag := map[bool]string{false: "0", true: "1"}
	var header strings.Builder
	header.WriteString("# Parameters, written by the ami-harden provisioner.\n")
	for _, v := range []struct{ about, name, value string }{
		{"The steps to run, in this order.", "AMI_HARDEN_STEPS", strings.Join(p.Steps, " ")},
		{"sshd settings, one \"Keyword value\" a line: the defaults and sshd_settings.", "AMI_HARDEN_SSHD_SETTINGS", sshdLines(p.SSHDSettings)},
		{"modern: the sshd step adds a modern algorithm set (sshd_algorithms); empty: sshd's own algorithms stay.", "AMI_HARDEN_SSHD_ALGORITHMS", p.SSHDAlgorithms},
		{"Absolute, clean paths, one a line, that the credentials step wipes (wipe_paths).", "AMI_HARDEN_WIPE_PATHS", strings.Join(p.WipePaths, "\n")},
		{"Absolute, clean paths, one a line, that the temp and logs steps leave alone (keep_paths).", "AMI_HARDEN_KEEP_PATHS", strings.Join(p.KeepPaths, "\n")},
		{"Accounts, one a line, whose passwords and keys stay (keep_users).", "AMI_HARDEN_KEEP_USERS", strings.Join(p.KeepUsers, "\n")},
		{"1: user-keys fails when nothing installs a key at first boot and no key stays (require_key_installer).", "AMI_HARDEN_REQUIRE_KEY_INSTALLER", flag[p.RequireKeyInstaller]},
		{"1: cloud-init's seed, /var/lib/cloud/seed, stays (keep_cloud_init_seed).", "AMI_HARDEN_KEEP_CLOUD_INIT_SEED", flag[p.KeepCloudInitSeed]},
		{"Globs of files, one a line, whose stray secrets are accepted (secrets_allow).", "AMI_HARDEN_SECRETS_ALLOW", strings.Join(p.SecretsAllow, "\n")},
		{"Accounts, one a line, that the accounts step removes (remove_users).", "AMI_HARDEN_REMOVE_USERS", strings.Join(p.RemoveUsers, "\n")},
		{"Passes of random data over a secret file before it is unlinked (shred_passes).", "AMI_HARDEN_SHRED_PASSES", fmt.Sprint(p.ShredPasses)},
		{"Mount points, one a line, whose free space the free-space step leaves alone (wipe_free_space_exclude).", "AMI_HARDEN_FREE_SPACE_EXCLUDE", strings.Join(p.FreeSpaceExclude, "\n")},
		{"Services, one a line, that the services step turns off: the default list less keep_services, plus disable_services.", "AMI_HARDEN_DISABLE_SERVICES", strings.Join(p.DisableServices, "\n")},
		{"Names of the default list left as they are (keep_services), one a line.", "AMI_HARDEN_KEEP_SERVICES", strings.Join(p.KeepServices, "\n")},
		{"enforce: change what needs changing, then verify it; audit: change nothing, report what enforce would change.", "AMI_HARDEN_MODE", p.Mode},
		{"1: the script removes its own file as it starts (the provisioner uploaded it).", "AMI_HARDEN_REMOVE_SELF", flag[p.RemoveSelf]},
	} {
		fmt.Fprintf(&header, "# %s\n%s=%s\n", v.about, v.name, Quote(v.value))
	}

	shebang, settings, _ := strings.Cut(file("linux/lib/settings.sh"), "\n")
	var b strings.Builder
	b.WriteString(shebang + "\n" + header.String() + settings)
	for _, name := range linuxLib[1:] {
		b.WriteString("\n" + withoutDirective(file("linux/lib/"+name+".sh")))
	}
	for _, s := range p.Steps {
		b.WriteString("\n" + linuxStep(s))
	}
	b.WriteString("\n" + withoutDirective(file("linux/main.sh")))
	return []byte(b.String())
}

// withoutDirective is a part of the Linux script without its shellcheck
// directive line, which only the file on its own needs.
func withoutDirective(s string) string {
	return strings.TrimPrefix(s, "# shellcheck shell=sh\n")
}

// sshdLines renders settings as "Keyword value" lines in a stable order.
func sshdLines(settings map[string]string) string {
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	lines := make([]string, 0, len(keys))
	for _, k := range keys {
		lines = append(lines, k+" "+settings[k])
	}
	return strings.Join(lines, "\n")
}

// Quote makes s one POSIX shell word that stands for s itself: inside single
// quotes nothing is special; a single quote in s closes the quotes, is
// written backslash-escaped, and opens them again.
func Quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
