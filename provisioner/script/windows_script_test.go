package script

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// No PowerShell runs here: these read the Windows script's files for what
// issue 13's review found missing or wrong, one line per finding. They hold
// the fix in place; whether each part behaves on Windows rests on reading
// (docs say so). The WinRM tests and the compatibility gate cover the rest.
func TestWindowsScriptReviewFindings(t *testing.T) {
	lines := []struct {
		item, file string
		want       []string // regular expressions the file must match
		not        []string // and must not
	}{
		{"1: Sysprep runs outside the WinRM command, started after the end marker by WMI",
			"sysprep", []string{`Invoke-CimMethod -ClassName Win32_Process -MethodName Create`, `@@ami-harden detach sysprep`},
			[]string{`(?m)^\s*& \$SysprepExe`, `Start-Process -FilePath \$command`}},
		{"1: main starts the runner after the end marker", "main",
			[]string{`(?s)@@ami-harden end .*Start-SysprepRunner`}, nil},
		{"2: ec2launch reset and sysprep both --block", "sysprep",
			[]string{`reset --block`, `'sysprep --block'`}, []string{`--clean`}},
		{"3: the runner checks ImageState, leaves no task", "sysprep",
			[]string{`IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE`, `Remove-Item -LiteralPath \$Self`},
			[]string{`Register-ScheduledTask`, `ami-harden-sysprep`}},
		{"3: the poll reads the runner's result and the image state", "poll",
			[]string{`state\.txt`, `IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE`, `step sysprep failed`}, nil},
		{"4: plain sysprep: /mode:vm and an answer file; the agent is reset", "sysprep",
			[]string{`/mode:vm /unattend:`, `SkipMachineOOBE`, `\$reset = Reset-LaunchAgent`}, nil},
		{"4: one agent detection for admin-password and sysprep", "admin-password",
			[]string{`switch \(Get-LaunchAgent\)`}, []string{`Test-Path -LiteralPath \$EC2LaunchV2Exe`}},
		{"4: ec2launch-v1 through PowerShell's full path (Test-Path does not search the PATH)", "sysprep",
			[]string{`WindowsPowerShell\\v1\.0\\powershell\.exe'\); Needs = \$prep`, `foreach \(\$f in \$command\.Exe, \$command\.Needs\)`},
			[]string{`Exe = 'powershell\.exe'`}},
		{"3: in shutdown mode the runner gives the poll's answer time to reach Packer", "sysprep",
			[]string{`(?s)'ack'\)\)\) \{ return \}\s+# .*\s+Start-Sleep -Seconds 5`}, nil},
		{"5: EC2Launch v2's stored password (data:) goes", "admin-password",
			[]string{`\^\\s\*data:`, `Set-FileText \$EC2LaunchV2Config`}, nil},
		{"6: EC2Config SetPasswordAfterSysprep", "admin-password",
			[]string{`SetPasswordAfterSysprep`, `\$bundle\.Save\(\$EC2ConfigBundle\)`}, nil},
		{"7: Credential Manager's store files of every profile; no pass on error 1312", "credentials",
			[]string{`AppData\\Roaming\\Microsoft\\Credentials`, `AppData\\Local\\Microsoft\\Vault`, `Write-Note 'credentials'`},
			[]string{`run with elevated_user to clear it`}},
		{"8: SYSTEM's and Default's profiles; aws cli cache", "lib",
			[]string{`Get-CimInstance -ClassName Win32_UserProfile\)`, `'Default'`}, []string{`-not \$_\.Special`}},
		{"8: aws cli cache", "credentials", []string{`\.aws\\cli\\cache`}, nil},
		{"9: temp files overwritten; failures say why", "temp",
			[]string{`Remove-Tree \$item\.FullName \$true`, `Get-ErrorText`, `packer-elevated-shell-`}, nil},
		{"10: pending reboot: renames, PackagesPending, JoinDomain, computer rename", "lib",
			[]string{`PackagesPending`, `JoinDomain`, `ActiveComputerName`, `PendingFileRenameOperations2`}, nil},
		{"10: checked before the first step", "main",
			[]string{`(?s)Get-PendingReboot.*@@ami-harden begin 1`}, nil},
		{"11: the report also goes to a report file", "lib",
			[]string{`AppendAllText\(\$AmiHardenReportFile`}, nil},
		{"12: no property read of a possibly null value", "sysprep",
			[]string{`PSObject\.Properties\.Name -contains 'ImageState'`}, []string{`\)\.ImageState`}},
		{"12: guest-account reads back a list", "guest-account",
			[]string{`\$after\.Count -eq 1 -and \$after\[0\]\.Disabled`}, []string{`if \(\$after\.Disabled\)`}},
		{"13: host keys go even without the sshd service", "host-keys",
			[]string{`\$keys\.Count -eq 0 -and`}, nil},
		{"13: service names with $ are data", "services",
			[]string{`\$_\.Name -eq \$name`}, []string{`Filter "Name = `}},
		{"guidance: every other enabled account disabled or a random password at launch", "accounts",
			[]string{`Disable-LocalUser`, `Add-FirstBootWork 'Set-RandomPassword'`, `Remove-LocalUser`}, nil},
		{"guidance: WinRM closed at first boot, never during the build", "winrm",
			[]string{`Add-FirstBootWork 'Close-BuildWinRM'`, `Transport=HTTP`, `AllowUnencrypted`}, []string{`(?m)^\s*Set-Item`}},
		{"files PowerShell reads later carry a UTF-8 byte order mark (5.1 reads others in the legacy code page)", "lib",
			[]string{`WriteAllText\(\$FirstBootScript, .*UTF8Encoding\(\$true\)`}, nil},
		{"the runner's file carries a byte order mark", "sysprep",
			[]string{`WriteAllText\(\$runner, .*UTF8Encoding\(\$true\)`}, nil},
		{"guidance: Winlogon secrets", "autologon", []string{`DefaultPassword`, `AutoAdminLogon`}, nil},
		{"guidance: answer files", "answer-files", []string{`unattend\*\.xml`, `Panther`}, nil},
		{"guidance: Recycle Bin", "recycle-bin", []string{`\$Recycle\.Bin`}, nil},
		{"guidance: page file and hibernation", "pagefile", []string{`ClearPageFileAtShutdown`, `/hibernate off`}, nil},
	}
	for _, l := range lines {
		src := windowsPart(l.file)
		// Close-BuildWinRM runs at first boot: its Set-Item lines are allowed.
		if l.file == "winrm" {
			src = src[:strings.Index(src, "function Close-BuildWinRM")]
		}
		for _, w := range l.want {
			assert.Regexp(t, regexp.MustCompile(w), src, "item %s: windows/%s.ps1", l.item, l.file)
		}
		for _, n := range l.not {
			assert.NotRegexp(t, regexp.MustCompile(n), src, "item %s: windows/%s.ps1", l.item, l.file)
		}
	}
}

// Under $ErrorActionPreference = 'Stop', Windows PowerShell 5.1 throws on a
// native program's first stderr line redirected with 2>&1: only
// Invoke-Native (which sets 'Continue' for its call) may redirect.
func TestWindowsNativeStderrOnlyThroughInvokeNative(t *testing.T) {
	entries, err := windowsFiles.ReadDir("windows")
	assert.NoError(t, err)
	for _, e := range entries {
		src := windowsPart(strings.TrimSuffix(e.Name(), ".ps1"))
		for i, line := range strings.Split(src, "\n") {
			if strings.Contains(line, "2>&1") && !strings.HasPrefix(strings.TrimSpace(line), "#") &&
				!strings.Contains(line, "$out = & $Program @Arguments 2>&1") {
				t.Errorf("windows/%s:%d redirects stderr outside Invoke-Native: %s", e.Name(), i+1, strings.TrimSpace(line))
			}
		}
	}
}
