package provisioner

import (
	"strings"
	"testing"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ami-harden/packer-plugin-ami-harden/provisioner/script"
)

// The Windows path cannot run here (no Windows, no WinRM): these tests drive
// it through the recording communicator with what PowerShell would print.

var winrm = map[string]interface{}{"ConnType": "winrm", "User": "Administrator"}

// crlf is a report as it arrives from Windows: CRLF line ends.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

func TestProvisionWindowsUploadsOnceAndRunsOnce(t *testing.T) {
	p := prepared(t, map[string]interface{}{"extra_paths": []string{`C:\deploy\it's ‘here’.txt`}})
	comm := &recordingComm{answers: []answer{{stdout: crlf(fullReport(script.WindowsSteps))}}}
	ui := &packersdk.MockUi{}
	require.NoError(t, p.Provision(t.Context(), ui, comm, winrm))

	path := p.config.remotePath(osWindows)
	assert.Equal(t, []string{
		"<upload " + path + ">",
		`powershell -NoProfile -NonInteractive -ExecutionPolicy Bypass -File "` + path + `"`,
	}, comm.commands)
	body := string(comm.uploads[path])
	assert.True(t, strings.HasPrefix(body, "\uFEFF# Parameters written by the ami-harden provisioner.\n"))
	assert.Contains(t, body, "$AmiHardenSteps = @('domain', 'guest-account', 'services', 'admin-password', 'user-keys', 'host-keys', 'credentials', 'history', 'temp', 'event-logs', 'sysprep')\n")
	assert.Contains(t, body, "$AmiHardenExtraPaths = @('C:\\deploy\\it''s ‘‘here’’.txt')\n", "quotes, typographic ones included, are doubled")
	assert.Contains(t, body, "$AmiHardenDisableServices = @('Spooler')\n")
	assert.Contains(t, body, "$AmiHardenSysprep = 'auto'\n$AmiHardenSysprepShutdown = $false\n$AmiHardenMode = 'enforce'\n$AmiHardenRemoveSelf = $true\n")
	last := ui.SayMessages[len(ui.SayMessages)-1].Message
	assert.Regexp(t, `^ami-harden: 11 of 11 steps reported: 0 changed, 11 ok, 0 skipped, 0 failed in \d+(\.\d+)?[µm]?s$`, last)
}

// elevated_user: the script runs through Packer's scheduled-task wrapper,
// which is uploaded too and wraps the PowerShell command.
func TestProvisionWindowsElevated(t *testing.T) {
	p := prepared(t, map[string]interface{}{"elevated_user": "packer", "elevated_password": "s3cr3t'$x"})
	comm := &recordingComm{answers: []answer{{stdout: crlf(fullReport(script.WindowsSteps))}}}
	require.NoError(t, p.Provision(t.Context(), &packersdk.MockUi{}, comm, winrm))

	require.Len(t, comm.commands, 3)
	path := p.config.remotePath(osWindows)
	assert.Equal(t, "<upload "+path+">", comm.commands[0])
	assert.Regexp(t, `^<upload C:/Windows/Temp/packer-elevated-shell-[0-9a-f-]+\.ps1>$`, comm.commands[1])
	wrapperPath := strings.TrimSuffix(strings.TrimPrefix(comm.commands[1], "<upload "), ">")
	assert.Equal(t, `powershell -executionpolicy bypass -file "`+wrapperPath+`"`, comm.commands[2])
	wrapper := string(comm.uploads[wrapperPath])
	assert.Contains(t, wrapper, "<UserId>packer</UserId>")
	assert.Contains(t, wrapper, "-File &#34;"+path+"&#34;", "the wrapper runs the uploaded script")
}

func TestProvisionWindowsSysprepShutdown(t *testing.T) {
	steps := script.WindowsSteps
	full := fullReport(steps)
	started := strings.Replace(full, "step sysprep ok -", "step sysprep changed started ec2launch-v2; the machine shuts down when Sysprep is done", 1)
	beforeSysprep := strings.SplitAfter(full, "@@ami-harden start sysprep\n")[0]
	cases := map[string]struct {
		shutdown bool
		answer   answer
		want     string // "" for success
	}{
		"disconnect after the sysprep line and the end marker": {
			true, answer{stdout: crlf(started), exit: packersdk.CmdDisconnect}, "",
		},
		"clean exit before the shutdown": {
			true, answer{stdout: crlf(started)}, "",
		},
		"disconnect before the sysprep line": {
			true, answer{stdout: crlf(beforeSysprep), exit: packersdk.CmdDisconnect},
			"connection to the machine was lost during step sysprep",
		},
		"disconnect after sysprep reported failed": {
			true, answer{stdout: crlf(strings.Replace(full, "step sysprep ok -", "step sysprep failed a reboot is pending", 1)), exit: packersdk.CmdDisconnect},
			"step sysprep failed: a reboot is pending",
		},
		"disconnect after the end marker without sysprep_shutdown": {
			false, answer{stdout: crlf(started), exit: packersdk.CmdDisconnect},
			"connection to the machine was lost",
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			p := prepared(t, map[string]interface{}{"sysprep_shutdown": c.shutdown})
			comm := &recordingComm{answers: []answer{c.answer}}
			err := p.Provision(t.Context(), &packersdk.MockUi{}, comm, winrm)
			if c.want == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

// PowerShell writes errors to stderr in its own multi-line format; they are
// shown, and the report on stdout still decides.
func TestProvisionWindowsStderrAndCRLF(t *testing.T) {
	p := prepared(t, map[string]interface{}{"steps": []string{"temp"}})
	stderr := "Remove-Item : Access to the path 'C:\\Windows\\Temp\\x.log' is denied.\r\n" +
		"At C:\\Windows\\Temp\\ami-harden-1.ps1:300 char:17\r\n" +
		"    + CategoryInfo          : PermissionDenied: (x.log:FileInfo) [Remove-Item], IOException\r\n"
	report := "@@ami-harden begin 1\r\n@@ami-harden start temp\r\n" +
		"@@ami-harden step temp changed removed 3 item(s) from 1 temp folder(s)\r\n@@ami-harden end 0\r\n"
	ui := &packersdk.MockUi{}
	comm := &recordingComm{answers: []answer{{stdout: report, stderr: stderr}}}
	require.NoError(t, p.Provision(t.Context(), ui, comm, winrm))
	assert.Equal(t, "    + CategoryInfo          : PermissionDenied: (x.log:FileInfo) [Remove-Item], IOException", ui.ErrorMessage)
	var said []string
	for _, m := range ui.SayMessages {
		said = append(said, m.Message)
	}
	assert.Contains(t, said, "temp           changed  removed 3 item(s) from 1 temp folder(s)", "no CR left in the detail")
}

func TestProvisionWindowsNotAdmin(t *testing.T) {
	p := prepared(t, map[string]interface{}{})
	comm := &recordingComm{answers: []answer{
		{stdout: "@@ami-harden abort not-admin: the script needs an elevated administrator (see elevated_user)\r\n", exit: 2},
	}}
	err := p.Provision(t.Context(), &packersdk.MockUi{}, comm, winrm)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "stopped before changing anything: not-admin")
	assert.Len(t, comm.commands, 2, "the script removed itself; nothing to clean up")
}

func TestProvisionWindowsScriptNeverStarted(t *testing.T) {
	p := prepared(t, map[string]interface{}{})
	comm := &recordingComm{answers: []answer{{stderr: "powershell : The term 'powershell' is not recognized\r\n", exit: 1}}}
	err := p.Provision(t.Context(), &packersdk.MockUi{}, comm, winrm)
	require.Error(t, err)
	require.Len(t, comm.commands, 3)
	assert.Equal(t, `powershell -NoProfile -NonInteractive -Command "Remove-Item -LiteralPath '`+p.config.remotePath(osWindows)+`' -Force -ErrorAction SilentlyContinue"`, comm.commands[2])
}

func TestProvisionRefusesStepsOfTheOtherOS(t *testing.T) {
	p := prepared(t, map[string]interface{}{"steps": []string{"sshd"}})
	comm := &recordingComm{}
	err := p.Provision(t.Context(), &packersdk.MockUi{}, comm, winrm)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the machine runs windows, which has no step sshd")
	assert.Empty(t, comm.commands, "nothing is uploaded or run")
}
