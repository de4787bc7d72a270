// Package script holds the hardening scripts the provisioner uploads, and
// renders them with the user's settings.
//
// The scripts are real files that a reviewer can read and lint: a shared
// helper file (linux/lib.sh, windows/lib.ps1), one file per step
// (linux/STEP.sh, windows/STEP.ps1) and the lines that start the run
// (linux/run.sh, windows/main.ps1), joined at render time so that only the
// selected steps travel. The Windows script travels without its comments
// and blank lines: WinRM uploads it in chunks of a few kilobytes, one
// command each. Rendering only inserts plain variable
// assignments after the first line; every user value is single-quoted data
// there and never becomes code.
package script

import (
	"embed"
	"fmt"
	"sort"
	"strings"
)

//go:embed linux/*.sh
var linuxFiles embed.FS

// linuxPart is one file of the Linux script.
func linuxPart(name string) string {
	b, err := linuxFiles.ReadFile("linux/" + name + ".sh")
	if err != nil {
		// The files are embedded: a missing one is a build mistake.
		panic(err)
	}
	return string(b)
}

//go:embed windows/*.ps1
var windowsFiles embed.FS

// windowsPart is one file of the Windows script.
func windowsPart(name string) string {
	b, err := windowsFiles.ReadFile("windows/" + name + ".ps1")
	if err != nil {
		panic(err)
	}
	return string(b)
}

// LinuxSteps are the Linux step names in the order the script runs them. The
// names are interface: users write them in steps and skip_steps.
var LinuxSteps = []string{
	"sshd",
	// Right after sshd: its note of what listens names sshd's ports as
	// sshd -T gives them.
	"services",
	"passwords",
	"host-keys",
	"user-keys",
	"credentials",
	"history",
	"accounts",
	"cloud-init",
	"machine-id",
	"temp",
	"secrets",
	"logs",
}

// WindowsSteps are the Windows step names in the order the script runs them.
// Names shared with Linux mean the same thing; sysprep is always last.
var WindowsSteps = []string{
	"domain",
	"guest-account",
	"accounts",
	"services",
	"admin-password",
	"winrm",
	"user-keys",
	"host-keys",
	"credentials",
	"history",
	"autologon",
	"answer-files",
	"temp",
	"recycle-bin",
	"pagefile",
	"event-logs",
	"sysprep",
}

// defaultLinuxServices are the services step's default list on Linux: the
// services that authenticate in cleartext (AWS's security whitepaper, table
// 15: disable services and protocols that authenticate users in cleartext).
// They are names, not packages: each name covers the systemd units NAME.service
// and NAME.socket, the init script NAME (SysV and OpenRC), and the inetd and
// xinetd entries whose service is NAME or whose server is NAME, NAMEd,
// in.NAME or in.NAMEd; see linux/services.sh. linux/lib.sh holds the same
// list as AMI_HARDEN_DISABLE_SERVICES's default (a test keeps them equal).
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

// Params are the values a rendered script runs with.
type Params struct {
	// Steps to run, in order.
	Steps []string
	// SSHDSettings are keyword/value pairs for sshd, defaults included.
	SSHDSettings map[string]string
	// WipePaths are absolute paths the credentials step wipes.
	WipePaths []string
	// KeepUsers are accounts whose passwords and keys stay.
	KeepUsers []string
	// KeepCloudInitSeed keeps /var/lib/cloud/seed.
	KeepCloudInitSeed bool
	// SecretsAllow are globs of files whose stray secrets are accepted.
	SecretsAllow []string
	// RemoveUsers are accounts the accounts step removes.
	RemoveUsers []string
	// ShredPasses is how many passes of random data overwrite a secret.
	ShredPasses int
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
	// SysprepShutdown makes the Sysprep runner shut the machine down.
	SysprepShutdown bool
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
	fmt.Fprintf(&b, "$AmiHardenSysprepShutdown = %s\n", psBool(p.SysprepShutdown))
	fmt.Fprintf(&b, "$AmiHardenMode = %s\n", QuotePS(p.Mode))
	fmt.Fprintf(&b, "$AmiHardenReportFile = %s\n", QuotePS(p.ReportFile))
	fmt.Fprintf(&b, "$AmiHardenKeepFiles = %s\n", psArray(nonEmpty(p.ReportFile)))
	fmt.Fprintf(&b, "$AmiHardenRemoveSelf = %s\n", psBool(p.RemoveSelf))
	for _, kv := range p.Env {
		k, v, _ := strings.Cut(kv, "=")
		// The name is letters, digits and _ (config checks it).
		fmt.Fprintf(&b, "$env:%s = %s\n", k, QuotePS(v))
	}
	b.WriteString(compactPS(windowsPart("lib")))
	for _, s := range p.Steps {
		b.WriteString(compactPS(windowsPart(s)))
	}
	b.WriteString(compactPS(windowsPart("main")))
	return []byte(b.String())
}

// RenderWindowsPoll is the command that asks the detached Sysprep for its
// state (windows/poll.ps1), for powershell -EncodedCommand.
func RenderWindowsPoll(stateDir string, shutdown bool) string {
	return fmt.Sprintf("$StateDir = %s\n$Shutdown = %s\n", QuotePS(stateDir), psBool(shutdown)) + compactPS(windowsPart("poll"))
}

// WindowsSysprepStateDir is where the detached Sysprep keeps its state
// (windows/sysprep.ps1, $SysprepStateDir).
const WindowsSysprepStateDir = `C:\ProgramData\ami-harden\sysprep`

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

// RenderLinux returns the Linux script, its helpers, the selected steps and
// the lines that start the run, with p written in as assignments.
func RenderLinux(p Params) []byte {
	var header strings.Builder
	header.WriteString("# Parameters written by the ami-harden provisioner.\n")
	assign(&header, "AMI_HARDEN_STEPS", strings.Join(p.Steps, " "))
	assign(&header, "AMI_HARDEN_SSHD_SETTINGS", sshdLines(p.SSHDSettings))
	assign(&header, "AMI_HARDEN_WIPE_PATHS", strings.Join(p.WipePaths, "\n"))
	assign(&header, "AMI_HARDEN_KEEP_USERS", strings.Join(p.KeepUsers, "\n"))
	keepSeed := "0"
	if p.KeepCloudInitSeed {
		keepSeed = "1"
	}
	assign(&header, "AMI_HARDEN_KEEP_CLOUD_INIT_SEED", keepSeed)
	assign(&header, "AMI_HARDEN_SECRETS_ALLOW", strings.Join(p.SecretsAllow, "\n"))
	assign(&header, "AMI_HARDEN_REMOVE_USERS", strings.Join(p.RemoveUsers, "\n"))
	assign(&header, "AMI_HARDEN_SHRED_PASSES", fmt.Sprint(p.ShredPasses))
	assign(&header, "AMI_HARDEN_DISABLE_SERVICES", strings.Join(p.DisableServices, "\n"))
	assign(&header, "AMI_HARDEN_KEEP_SERVICES", strings.Join(p.KeepServices, "\n"))
	assign(&header, "AMI_HARDEN_MODE", p.Mode)
	removeSelf := "0"
	if p.RemoveSelf {
		removeSelf = "1"
	}
	assign(&header, "AMI_HARDEN_REMOVE_SELF", removeSelf)

	shebang, body, _ := strings.Cut(linuxPart("lib"), "\n")
	var b strings.Builder
	b.WriteString(shebang + "\n" + header.String() + body)
	for _, s := range p.Steps {
		b.WriteString("\n" + stepPart(linuxPart(s)))
	}
	b.WriteString("\n" + stepPart(linuxPart("run")))
	return []byte(b.String())
}

// stepPart is a step file without its shellcheck directive line, which
// only the file on its own needs.
func stepPart(s string) string {
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

func assign(b *strings.Builder, name, value string) {
	fmt.Fprintf(b, "%s=%s\n", name, Quote(value))
}

// Quote makes s one POSIX shell word that stands for s itself: inside single
// quotes nothing is special; a single quote in s closes the quotes, is
// written backslash-escaped, and opens them again.
func Quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
