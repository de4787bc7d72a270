package script

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The Go list of steps and the script's default list must agree, and every
// step must have its function.
func TestStepsMatchScript(t *testing.T) {
	assert.Contains(t, linuxPart("lib"), `: "${AMI_HARDEN_STEPS:=`+strings.Join(LinuxSteps, " ")+`}"`)
	for _, s := range LinuxSteps {
		assert.Contains(t, linuxPart(s), "\nstep_"+strings.ReplaceAll(s, "-", "_")+"() {", "no function for step %s", s)
	}
}

// Only the selected steps travel, in the order asked for, and the run
// starts after all of them.
func TestRenderJoinsOnlySelectedSteps(t *testing.T) {
	out := string(RenderLinux(Params{Steps: []string{"sshd", "temp"}, SSHDSettings: DefaultSSHDSettings, ShredPasses: 1, Mode: "enforce"}))
	assert.Contains(t, out, "\nstep_sshd() {")
	assert.Contains(t, out, "\nstep_temp() {")
	assert.NotContains(t, out, "\nstep_logs() {")
	assert.NotContains(t, out, "# shellcheck shell=sh")
	assert.Less(t, strings.Index(out, "\nstep_sshd() {"), strings.Index(out, "\nstep_temp() {"))
	assert.True(t, strings.HasSuffix(out, "\nmain\n"), "the run starts last")
	assert.Equal(t, 1, strings.Count(out, "#!/bin/sh"))
}

// Values that look like code reach the script as the very same bytes, and
// run nothing. Only the rendered header is evaluated here, by a real sh: the
// hardening steps never run on this machine.
func TestRenderPassesValuesAsData(t *testing.T) {
	dir := t.TempDir()
	canary := filepath.Join(dir, "ran")
	evil := []string{
		"/opt/it's here",
		"/opt/$(touch " + canary + ")",
		"/opt/`touch " + canary + "`",
		"/opt/'; touch " + canary + "; '",
		`/opt/"quoted" \back\slash $HOME *`,
		"/opt/ spaces  twice ",
	}
	out := RenderLinux(Params{
		Steps:        []string{"sshd", "logs"},
		SSHDSettings: map[string]string{"Banner": "'$(touch " + canary + ")'"},
		WipePaths:    evil,
		ShredPasses:  3,
	})
	require.True(t, strings.HasPrefix(string(out), "#!/bin/sh\n# Parameters written by the ami-harden provisioner.\n"))
	header, _, ok := strings.Cut(string(out), "\nset -u\n")
	require.True(t, ok)
	// Stop before the steps: print the parameters the script would use.
	probe := header + "\nprintf '%s\\n--\\n%s\\n--\\n%s\\n--\\n%s\\n' \"$AMI_HARDEN_STEPS\" \"$AMI_HARDEN_WIPE_PATHS\" \"$AMI_HARDEN_SSHD_SETTINGS\" \"$AMI_HARDEN_SHRED_PASSES\"\n"
	got, err := exec.Command("sh", "-c", probe).CombinedOutput()
	require.NoError(t, err, string(got))
	want := "sshd logs\n--\n" + strings.Join(evil, "\n") + "\n--\nBanner '$(touch " + canary + ")'\n--\n3\n"
	assert.Equal(t, want, string(got))
	_, err = os.Stat(canary)
	assert.True(t, os.IsNotExist(err), "a value ran as code")
}

func TestSSHDLinesAreSorted(t *testing.T) {
	assert.Equal(t, "A 1\nB 2\nC 3", sshdLines(map[string]string{"C": "3", "A": "1", "B": "2"}))
}

func TestQuote(t *testing.T) {
	assert.Equal(t, `'it'\''s'`, Quote("it's"))
	assert.Equal(t, `''`, Quote(""))
}

func TestWindowsStepsMatchScript(t *testing.T) {
	for _, s := range WindowsSteps {
		assert.Contains(t, windowsPart(s), "\n$script:Steps['"+s+"'] = '", "windows/%s.ps1 registers no function for step %s", s, s)
	}
	assert.Equal(t, "sysprep", WindowsSteps[len(WindowsSteps)-1], "sysprep is always last")
}

func TestQuotePS(t *testing.T) {
	assert.Equal(t, `'it''s'`, QuotePS("it's"))
	assert.Equal(t, "'‘‘a’’ ‚‚b‛‛'", QuotePS("‘a’ ‚b‛"))
	assert.Equal(t, `'$(Remove-Item C:\ -Recurse) "x" `+"`"+`n'`, QuotePS(`$(Remove-Item C:\ -Recurse) "x" `+"`"+`n`), "nothing else is special in single quotes")
	assert.Equal(t, `''`, QuotePS(""))
}

func TestRenderWindows(t *testing.T) {
	out := string(RenderWindows(WindowsParams{Steps: []string{"temp"}, WipePaths: []string{`C:\a b`}, Sysprep: "none", BuildUser: "it's"}))
	assert.True(t, strings.HasPrefix(out, "\uFEFF# Parameters written by the ami-harden provisioner.\n$AmiHardenSteps = @('temp')\n$AmiHardenWipePaths = @('C:\\a b')\n$AmiHardenDisableServices = @()\n"))
	assert.Contains(t, out, "\n$AmiHardenBuildUser = 'it''s'\n")
	assert.Contains(t, out, "\nfunction Invoke-TempStep {\n")
	assert.NotContains(t, out, "Invoke-SysprepStep", "only the selected steps travel")
	assert.True(t, strings.HasSuffix(out, compactPS(windowsPart("main"))))
}

func TestCompactPS(t *testing.T) {
	in := "# a comment\n\n    $x = 1  \n$y = @'\n# data, kept\n\n    indented\n'@\n  # another\n$z = 'a # b'\n"
	assert.Equal(t, "$x = 1\n$y = @'\n# data, kept\n\n    indented\n'@\n$z = 'a # b'\n", compactPS(in))
}
