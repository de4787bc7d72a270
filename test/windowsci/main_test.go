package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func write(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
	return p
}

func TestRender(t *testing.T) {
	out := filepath.Join(t.TempDir(), "s.ps1")
	require.NoError(t, run([]string{"render", "-mode", "audit", "-steps", "temp,logs", "-o", out}, io.Discard))
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Contains(t, string(b), "\n$AmiHardenSteps = @('temp', 'logs')\n")
	assert.Contains(t, string(b), "\n$AmiHardenMode = 'audit'\n")
	assert.Error(t, run([]string{"render", "-steps", "sshd", "-o", out}, io.Discard), "a Linux step")
}

// check passes a whole report and fails, naming why, on every way the
// workflow's runs can go wrong.
func TestCheck(t *testing.T) {
	audit := "@@ami-harden begin 1\r\n@@ami-harden start temp\r\n@@ami-harden finding temp C:\\Windows\\Temp\\ami-härden-ß.txt exists\r\n" +
		"@@ami-harden step temp finding 1 finding(s)\r\n@@ami-harden start admin-password\r\n" +
		"@@ami-harden step admin-password failed no EC2 launch agent\r\n@@ami-harden end 1\r\n"
	exit1 := write(t, "exit", "1\r\n")
	base := []string{"check", "-mode", "audit", "-steps", "temp,admin-password", "-exit-file", exit1}
	pass := append(append([]string{}, base...), "-allow-failed", "admin-password", "-status", "temp=finding",
		"-contains", `C:\Windows\Temp\ami-härden-ß.txt exists`)
	require.NoError(t, run(append(pass, write(t, "r", audit)), io.Discard))
	fromFile := append(append([]string{}, base...), "-allow-failed", "admin-password",
		"-contains-file", write(t, "want", "\uFEFFC:\\Windows\\Temp\\ami-härden-ß.txt exists\r\n"))
	require.NoError(t, run(append(fromFile, write(t, "r", audit)), io.Discard), "a UTF-8 file with a byte order mark and CRLF")
	require.Error(t, run(append(fromFile, write(t, "r", strings.ReplaceAll(audit, "ß", "?"))), io.Discard))

	cases := map[string]struct {
		args   []string
		report string
		want   string
	}{
		"a failed step not allowed": {base, audit, "step admin-password failed"},
		"cut short":                 {pass, strings.Split(audit, "@@ami-harden start admin-password")[0], "not complete"},
		"garbled name":              {pass, strings.ReplaceAll(audit, "ä", "\x84"), "does not hold"},
		"changed in audit":          {pass, strings.Replace(audit, "step temp finding 1 finding(s)", "step temp changed removed", 1), "changed something in audit mode"},
		"wrong exit":                {append(append([]string{}, pass...), "-exit-file", write(t, "e0", "0")), audit, "exited 0, not 1"},
		"handed over":               {pass, strings.Replace(audit, "@@ami-harden end 1", "@@ami-harden handover started x\r\n@@ami-harden end 1", 1), "handed work over"},
		"wrong status":              {append(append([]string{}, pass...), "-status", "temp=ok"), audit, `step temp reported "finding", not ok`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			err := run(append(append([]string{}, c.args...), write(t, "r", c.report)), io.Discard)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}
