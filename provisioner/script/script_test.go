package script

import (
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ami-harden/packer-plugin-ami-harden/provisioner/report"
	"github.com/ami-harden/packer-plugin-ami-harden/provisioner/steps"
)

// Every step of the list has its file, and every step file is a step of the
// list: adding a step is the list's record and the file, nothing here.
func TestStepFilesAreTheListsSteps(t *testing.T) {
	for _, os := range steps.OSes {
		var names []string
		for _, f := range StepFiles(os) {
			if name, _, more := strings.Cut(f, "."); !more {
				names = append(names, name)
			} else {
				assert.True(t, steps.Has(os, name), "%s/steps/%s: a part of %s, which is no step", os, f, name)
			}
		}
		want := steps.Names(os)
		sort.Strings(want)
		assert.Equal(t, want, names, "the step files of %s", os)
	}
	for _, s := range steps.Names(steps.Linux) {
		assert.Contains(t, linuxStep(s), "\nstep_"+strings.ReplaceAll(s, "-", "_")+"() {", "no function for step %s", s)
	}
	for _, s := range steps.Names(steps.Windows) {
		assert.Contains(t, windowsStep(s), "\n$script:Steps['"+s+"'] = '", "windows/steps/%s.ps1 registers no function for step %s", s, s)
	}
}

// Every shared part of the Linux script is joined: a file in linux/lib that
// linuxLib does not name would never travel.
func TestLinuxLibIsJoinedWhole(t *testing.T) {
	entries, err := files.ReadDir("linux/lib")
	require.NoError(t, err)
	var got []string
	for _, e := range entries {
		got = append(got, strings.TrimSuffix(e.Name(), ".sh"))
	}
	want := append([]string{}, linuxLib...)
	sort.Strings(want)
	assert.Equal(t, want, got)
}

// A file a reviewer reads in one sitting: no part of either script is longer
// than about 400 lines.
func TestScriptFilesStaySmall(t *testing.T) {
	require.NoError(t, fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		assert.LessOrEqual(t, strings.Count(file(p), "\n"), 400, "%s is too long: split it by topic", p)
		return nil
	}))
}

// The scripts print only lines the provisioner understands, and every kind
// of line it understands is one some script prints.
func TestProtocolWordsAreTheReportsKinds(t *testing.T) {
	used := map[string]bool{}
	word := regexp.MustCompile(`@@ami-harden ([a-z]+)`)
	require.NoError(t, fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		for _, m := range word.FindAllStringSubmatch(file(p), -1) {
			assert.Contains(t, report.Kinds, m[1], "%s prints @@ami-harden %s, which the provisioner does not read", p, m[1])
			used[m[1]] = true
		}
		return nil
	}))
	for _, k := range report.Kinds {
		assert.True(t, used[k], "no script prints @@ami-harden %s", k)
	}
}

// The statuses a step reports are the provisioner's: report STEP STATUS on
// Linux, Write-Report STEP 'STATUS' on Windows.
func TestReportedStatusesAreKnown(t *testing.T) {
	linux := regexp.MustCompile(`(?:^|[{;&|] )report ("\$1"|[a-z-]+) ([a-z]+)\b`)
	windows := regexp.MustCompile(`Write-Report (?:'[a-z-]+'|\$[A-Za-z]+) '([a-z]+)'`)
	valid := map[string]bool{}
	for _, s := range report.Statuses {
		valid[string(s)] = true
	}
	n := 0
	require.NoError(t, fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		for _, line := range strings.Split(file(p), "\n") {
			if line = strings.TrimSpace(line); strings.HasPrefix(line, "#") {
				continue
			}
			for _, m := range linux.FindAllStringSubmatch(line, -1) {
				n++
				assert.True(t, valid[m[2]], "%s reports status %q: %s", p, m[2], line)
			}
			for _, m := range windows.FindAllStringSubmatch(line, -1) {
				n++
				assert.True(t, valid[m[1]], "%s reports status %q: %s", p, m[1], line)
			}
		}
		return nil
	}))
	assert.Greater(t, n, 100, "the patterns found the report calls")
}

// Only the selected steps travel, with all their files, in the order asked
// for, and the run starts after all of them.
func TestRenderJoinsOnlySelectedSteps(t *testing.T) {
	out := string(RenderLinux(Params{Steps: []string{"sshd", "services"}, SSHDSettings: DefaultSSHDSettings, ShredPasses: 1, Mode: "enforce"}))
	assert.Contains(t, out, "\nstep_sshd() {")
	assert.Contains(t, out, "\nstep_services() {")
	assert.Contains(t, out, "\nsvc_inetd() {", "services.inetd.sh travels with services")
	assert.Contains(t, out, "\nsvc_listen_note() {", "services.listening.sh travels with services")
	assert.NotContains(t, out, "\nstep_logs() {")
	assert.NotContains(t, out, "\nhome_files_history=", "history's list is history's")
	assert.NotContains(t, out, "# shellcheck shell=sh")
	assert.Less(t, strings.Index(out, "\nstep_sshd() {"), strings.Index(out, "\nstep_services() {"))
	for _, lib := range linuxLib[1:] {
		assert.Contains(t, out, withoutDirective(file("linux/lib/"+lib+".sh")))
	}
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
	require.True(t, strings.HasPrefix(string(out), "#!/bin/sh\n# Parameters, written by the ami-harden provisioner.\n"))
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

// Every parameter the script reads is one the header sets: with set -u, a
// parameter the renderer forgot would stop the script.
func TestEveryParameterIsRendered(t *testing.T) {
	header, _, _ := strings.Cut(string(RenderLinux(Params{Steps: steps.Names(steps.Linux)})), "\nset -u\n")
	set := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^(AMI_HARDEN_[A-Z_]+)=`).FindAllStringSubmatch(header, -1) {
		set[m[1]] = true
	}
	require.NoError(t, fs.WalkDir(files, "linux", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		for _, m := range regexp.MustCompile(`\$\{?(AMI_HARDEN_[A-Z_]+)`).FindAllStringSubmatch(file(p), -1) {
			assert.True(t, set[m[1]], "%s reads %s, which the header does not set", p, m[1])
		}
		return nil
	}))
}

// The modern algorithm set (sshd_algorithms = "modern") names the four
// keywords, each once, and none of what it must never allow: NIST curves
// (key exchange and ECDSA host keys), SHA-1, 64-bit MAC tags,
// encrypt-and-MAC MACs, CBC ciphers, 2048-bit DH group 14, GSSAPI.
func TestSSHDModernCandidates(t *testing.T) {
	lib := file("linux/lib/sshd.sh")
	_, body, ok := strings.Cut(lib, "\nsshd_modern_candidates() {\n\tcat <<'END'\n")
	require.True(t, ok, "lib/sshd.sh has no sshd_modern_candidates here-document")
	body, _, ok = strings.Cut(body, "\nEND\n")
	require.True(t, ok)
	forbidden := regexp.MustCompile(`nistp|ecdsa|sha1|umac-64|-cbc|^hmac-sha2-(256|512)$|group14|^gss-|^ssh-rsa|^ssh-dss|^(3des|arcfour|blowfish|cast128)`)
	got := map[string][]string{}
	for _, line := range strings.Split(body, "\n") {
		kw, list, ok := strings.Cut(line, " ")
		require.True(t, ok, "not \"Keyword list\": %q", line)
		require.NotContains(t, got, kw, "%s twice", kw)
		got[kw] = strings.Split(list, ",")
		for _, alg := range got[kw] {
			assert.NotRegexp(t, forbidden, alg, "%s: %s must not be in the modern set", kw, alg)
			assert.Regexp(t, `^[a-z0-9@.-]+$`, alg, "%s: %q is not an algorithm name", kw, alg)
		}
	}
	assert.ElementsMatch(t, []string{"KexAlgorithms", "Ciphers", "MACs", "HostKeyAlgorithms"}, keys(got))
	for _, mac := range got["MACs"] {
		assert.True(t, strings.HasSuffix(mac, "-etm@openssh.com"), "MAC %s is not encrypt-then-MAC", mac)
	}
}

// How the sshd step words an algorithm list that is not the one asked for,
// and which modes of sshd_config are wider than 600: lib/sshd.sh's pure
// helpers, run by sh on their own (lib/sshd.sh only defines functions).
func TestSSHDListDiffAndMode(t *testing.T) {
	run := func(call string) string {
		t.Helper()
		out, err := exec.Command("sh", "-c", file("linux/lib/sshd.sh")+"\n"+call).CombinedOutput()
		require.NoError(t, err, string(out))
		return strings.TrimSuffix(string(out), "\n")
	}
	assert.Equal(t, "KexAlgorithms: also allows ecdh-sha2-nistp256 diffie-hellman-group14-sha256; lacks sntrup761x25519-sha512@openssh.com",
		run(`sshd_list_diff KexAlgorithms sntrup761x25519-sha512@openssh.com,curve25519-sha256 curve25519-sha256,ecdh-sha2-nistp256,diffie-hellman-group14-sha256`))
	assert.Equal(t, "MACs: also allows umac-64-etm@openssh.com",
		run(`sshd_list_diff MACs hmac-sha2-512-etm@openssh.com umac-64-etm@openssh.com,hmac-sha2-512-etm@openssh.com`))
	assert.Equal(t, "Ciphers: lacks aes128-ctr", run(`sshd_list_diff Ciphers aes256-ctr,aes128-ctr aes256-ctr`))
	assert.Equal(t, "Ciphers: the same algorithms in another order", run(`sshd_list_diff Ciphers aes256-ctr,aes128-ctr aes128-ctr,aes256-ctr`))
	for mode, wider := range map[string]bool{"644": true, "640": true, "604": true, "700": true, "4600": true, "1600": true,
		"600": false, "400": false, "200": false, "0": false} {
		got := run("mode_wider_than_600 " + mode + " && echo wider || echo not")
		assert.Equal(t, map[bool]string{true: "wider", false: "not"}[wider], got, "mode %s", mode)
	}
}

func keys(m map[string][]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestSSHDLinesAreSorted(t *testing.T) {
	assert.Equal(t, "A 1\nB 2\nC 3", sshdLines(map[string]string{"C": "3", "A": "1", "B": "2"}))
}

func TestQuote(t *testing.T) {
	assert.Equal(t, `'it'\''s'`, Quote("it's"))
	assert.Equal(t, `''`, Quote(""))
}

func TestWindowsSysprepIsLast(t *testing.T) {
	names := steps.Names(steps.Windows)
	assert.Equal(t, "sysprep", names[len(names)-1], "sysprep is always last")
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
	assert.True(t, strings.HasSuffix(out, compactPS(file("windows/main.ps1"))))
}

func TestCompactPS(t *testing.T) {
	in := "# a comment\n\n    $x = 1  \n$y = @'\n# data, kept\n\n    indented\n'@\n  # another\n$z = 'a # b'\n"
	assert.Equal(t, "$x = 1\n$y = @'\n# data, kept\n\n    indented\n'@\n$z = 'a # b'\n", compactPS(in))
}

// Under $ErrorActionPreference = 'Stop', Windows PowerShell 5.1 throws on a
// native program's first stderr line redirected with 2>&1: only
// Invoke-Native (which sets 'Continue' for its call) may redirect.
func TestWindowsNativeStderrOnlyThroughInvokeNative(t *testing.T) {
	require.NoError(t, fs.WalkDir(files, "windows", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".ps1" {
			return err
		}
		for i, line := range strings.Split(file(p), "\n") {
			if strings.Contains(line, "2>&1") && !strings.HasPrefix(strings.TrimSpace(line), "#") &&
				!strings.Contains(line, "$out = & $Program @Arguments 2>&1") {
				t.Errorf("%s:%d redirects stderr outside Invoke-Native: %s", p, i+1, strings.TrimSpace(line))
			}
		}
		return nil
	}))
}
