package script

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The script run by hand (no parameters written in) must disable what an
// empty block disables: lib.sh's default of AMI_HARDEN_DISABLE_SERVICES is
// the Go default list, in the same order.
func TestLinuxServicesDefaultMatchesScript(t *testing.T) {
	m := regexp.MustCompile(`(?s)\n: "\$\{AMI_HARDEN_DISABLE_SERVICES:=(.*?)\}"\n`).FindStringSubmatch(linuxPart("lib"))
	require.NotNil(t, m, "lib.sh sets no default for AMI_HARDEN_DISABLE_SERVICES")
	assert.Equal(t, DefaultServices("linux"), strings.Split(m[1], "\n"))
	assert.Contains(t, linuxPart("lib"), "\n: \"${AMI_HARDEN_KEEP_SERVICES:=}\"\n")
}

// Every default name is one the script accepts and may touch: no sshd, no
// unit of the service manager's own (the script would refuse it and say so).
func TestLinuxServicesDefaultsAreNotProtected(t *testing.T) {
	lib := linuxPart("services")
	require.Contains(t, lib, "\nsvc_protected() {")
	for _, s := range DefaultServices("linux") {
		assert.Regexp(t, `^[A-Za-z0-9_][A-Za-z0-9@_.:+$-]*$`, s)
		for _, bad := range []string{"ssh", "systemd", "dbus", "init"} {
			assert.False(t, strings.HasPrefix(s, bad), "%s looks like a protected name", s)
		}
	}
}
