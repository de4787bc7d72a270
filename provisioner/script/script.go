// Package script holds the hardening scripts the provisioner uploads, and
// renders them with the user's settings.
//
// The scripts are real files (linux.sh) that a reviewer can read and lint.
// Rendering only inserts plain variable assignments after the first line;
// every user value is single-quoted data there and never becomes code.
package script

import (
	_ "embed"
	"fmt"
	"sort"
	"strings"
)

//go:embed linux.sh
var linuxScript string

// LinuxSteps are the Linux step names in the order the script runs them. The
// names are interface: users write them in steps and skip_steps.
var LinuxSteps = []string{
	"sshd",
	"passwords",
	"host-keys",
	"user-keys",
	"credentials",
	"history",
	"cloud-init",
	"machine-id",
	"temp",
	"logs",
}

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
	// ExtraPaths are absolute paths the credentials step wipes.
	ExtraPaths []string
	// ShredPasses is how many passes of random data overwrite a secret.
	ShredPasses int
	// RemoveSelf makes the script delete its own file before it starts.
	RemoveSelf bool
}

// RenderLinux returns the Linux script with p written in as assignments.
func RenderLinux(p Params) []byte {
	var header strings.Builder
	header.WriteString("# Parameters written by the ami-harden provisioner.\n")
	assign(&header, "AMI_HARDEN_STEPS", strings.Join(p.Steps, " "))
	assign(&header, "AMI_HARDEN_SSHD_SETTINGS", sshdLines(p.SSHDSettings))
	assign(&header, "AMI_HARDEN_EXTRA_PATHS", strings.Join(p.ExtraPaths, "\n"))
	assign(&header, "AMI_HARDEN_SHRED_PASSES", fmt.Sprint(p.ShredPasses))
	removeSelf := "0"
	if p.RemoveSelf {
		removeSelf = "1"
	}
	assign(&header, "AMI_HARDEN_REMOVE_SELF", removeSelf)

	shebang, body, _ := strings.Cut(linuxScript, "\n")
	return []byte(shebang + "\n" + header.String() + body)
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
