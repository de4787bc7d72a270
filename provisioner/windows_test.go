package provisioner

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ami-harden/packer-plugin-ami-harden/provisioner/steps"
)

// The Windows path cannot run here (no Windows, no WinRM): these tests drive
// it through the recording communicator with what PowerShell would print.

var winrm = map[string]interface{}{"ConnType": "winrm", "User": "Administrator"}

// crlf is a report as it arrives from Windows: CRLF line ends.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

func TestProvisionWindowsUploadsOnceAndRunsOnce(t *testing.T) {
	p := prepared(t, map[string]interface{}{"wipe_paths": []string{`C:\deploy\it's ‘here’.txt`}})
	comm := &recordingComm{answers: []answer{{stdout: crlf(fullReport(steps.Names(steps.Windows)))}}}
	ui := &recordingUi{}
	require.NoError(t, p.Provision(t.Context(), ui, comm, winrm))

	path := p.config.remotePath(&windowsGuest{})
	assert.Equal(t, []string{
		"<upload " + path + ">",
		`powershell -NoProfile -NonInteractive -ExecutionPolicy Bypass -File "` + path + `"`,
	}, comm.commands)
	body := string(comm.uploads[path])
	assert.True(t, strings.HasPrefix(body, "\uFEFF# Parameters written by the ami-harden provisioner.\n"))
	assert.Contains(t, body, "$AmiHardenSteps = @('"+strings.Join(steps.Names(steps.Windows), "', '")+"')\n")
	assert.Contains(t, body, "$AmiHardenWipePaths = @('C:\\deploy\\it''s ‘‘here’’.txt')\n", "quotes, typographic ones included, are doubled")
	assert.Contains(t, body, "$AmiHardenDisableServices = @('Spooler')\n")
	assert.Contains(t, body, "$AmiHardenBuildUser = 'Administrator'\n$AmiHardenSysprep = 'auto'\n$AmiHardenSysprepShutdown = $false\n$AmiHardenMode = 'enforce'\n$AmiHardenReportFile = ''\n")
	assert.False(t, strings.Contains(body, "\n#"), "comment lines stay in the repository, not in the upload")
	shown := ui.said()
	last := shown[len(shown)-1]
	n := len(steps.Names(steps.Windows))
	assert.Regexp(t, fmt.Sprintf(`^ami-harden: %d of %d steps reported: 0 changed, %d ok, 0 skipped, 0 failed in \d+(\.\d+)?[µm]?s$`, n, n, n), last)
}

// elevated_user: the script runs through Packer's scheduled-task wrapper,
// which is uploaded too and wraps the PowerShell command. The wrapper's
// tail of the task's output can cut or drop lines, so the report
// is read from the script's report file afterwards: protocol lines in the
// stream are ignored, even a cut one.
func TestProvisionWindowsElevated(t *testing.T) {
	p := prepared(t, map[string]interface{}{"elevated_user": "packer", "elevated_password": "s3cr3t'$x", "steps": []string{"temp"}})
	report := "@@ami-harden begin 1\r\n@@ami-harden start temp\r\n@@ami-harden step temp ok temp folders are empty\r\n@@ami-harden end 0\r\n"
	cut := "@@ami-harden begin 1\r\n@@ami-harden start temp\r\n@@ami-harden step te\r\nmp ok temp folders are empty\r\n"
	comm := &recordingComm{answers: []answer{{stdout: cut}, {stdout: report}}}
	ui := &recordingUi{}
	require.NoError(t, p.Provision(t.Context(), ui, comm, winrm))

	require.Len(t, comm.commands, 4)
	path := p.config.remotePath(&windowsGuest{})
	assert.Equal(t, "<upload "+path+">", comm.commands[0])
	assert.Regexp(t, `^<upload C:/Windows/Temp/packer-elevated-shell-[0-9a-f-]+\.ps1>$`, comm.commands[1])
	wrapperPath := strings.TrimSuffix(strings.TrimPrefix(comm.commands[1], "<upload "), ">")
	assert.Equal(t, `powershell -executionpolicy bypass -file "`+wrapperPath+`"`, comm.commands[2])
	wrapper := string(comm.uploads[wrapperPath])
	assert.Contains(t, wrapper, "<UserId>packer</UserId>")
	assert.Contains(t, wrapper, "-File &#34;"+path+"&#34;", "the wrapper runs the uploaded script")
	assert.Contains(t, string(comm.uploads[path]), "$AmiHardenReportFile = '"+(&windowsGuest{c: &p.config, elevated: p}).reportFile()+"'\n")
	assert.Contains(t, decodePS(t, comm.commands[3]), "[IO.File]::ReadAllText('"+(&windowsGuest{c: &p.config, elevated: p}).reportFile()+"')")
	shown := ui.said()
	assert.Contains(t, shown[len(shown)-1], "1 of 1 steps reported: 0 changed, 1 ok")
	assert.NotContains(t, ui.all(), "@@ami-harden", "the cut protocol lines of the stream are not shown")
}

func repeat(a answer, n int) []answer {
	out := make([]answer, n)
	for i := range out {
		out[i] = a
	}
	return out
}

// decodePS returns the script of a powershell -EncodedCommand command line.
func decodePS(t *testing.T, command string) string {
	t.Helper()
	_, enc, ok := strings.Cut(command, "-EncodedCommand ")
	require.True(t, ok, "not an encoded command: %s", command)
	b, err := base64.StdEncoding.DecodeString(enc)
	require.NoError(t, err)
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
	}
	return string(utf16.Decode(u))
}

// Sysprep runs detached (it resets WinRM under the command that started
// it): the script reports
// detach, and the provisioner polls until the step reports, through
// transport errors, for up to sysprep_timeout.
func TestProvisionWindowsSysprepDetached(t *testing.T) {
	t.Setenv("AMI_HARDEN_POLL_INTERVAL", "1ms")
	steps := []string{"temp", "sysprep"}
	base := "@@ami-harden begin 1\n@@ami-harden start temp\n@@ami-harden step temp ok -\n@@ami-harden start sysprep\n"
	detached := crlf(base + "@@ami-harden detach sysprep ec2launch-v2 runs as a process of its own\n@@ami-harden end 0\n")
	waiting := answer{stdout: "@@ami-harden waiting sysprep running ec2launch-v2 since 2026-11-22T10:00:00\r\n"}
	done := answer{stdout: "@@ami-harden step sysprep changed generalised: done ec2launch-v2 exited 0, ImageState IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE\r\n"}
	dropped := answer{startErr: errors.New("http response error: 401 - invalid content type"), stdout: ""}
	cases := map[string]struct {
		config  map[string]interface{}
		answers []answer
		polls   int
		want    string // "" for success
	}{
		"done at once": {nil, []answer{{stdout: detached}, done}, 1, ""},
		"WinRM reset while Sysprep runs: 401, waiting, done": {nil, []answer{{stdout: detached}, dropped, waiting, done}, 3, ""},
		"connection lost after the end marker, then done":    {nil, []answer{{stdout: detached, startErr: errors.New("read: connection reset by peer")}, dropped, done}, 2, ""},
		"shutdown mode: done, and the machine goes": {map[string]interface{}{"sysprep_shutdown": true}, []answer{{stdout: detached},
			{stdout: "@@ami-harden step sysprep changed generalised: done; the machine shuts down now\r\n"}}, 1, ""},
		"Sysprep failed": {nil, []answer{{stdout: detached}, waiting,
			{stdout: "@@ami-harden step sysprep failed Sysprep did not generalise the image: failed ec2launch-v2 exited 1, ImageState IMAGE_STATE_UNDEPLOYABLE\r\n"}},
			2, "step sysprep failed: Sysprep did not generalise the image"},
		"the machine never answers": {map[string]interface{}{"sysprep_timeout": "30ms"}, append([]answer{{stdout: detached}}, repeat(dropped, 1000)...),
			-1, "step sysprep gave no result within sysprep_timeout (30ms)"},
		"connection lost before the end marker": {nil, []answer{{stdout: crlf(base), startErr: errors.New("read: connection reset by peer")}},
			0, "the connection to the machine was lost during step sysprep"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			raw := map[string]interface{}{"steps": steps}
			for k, v := range c.config {
				raw[k] = v
			}
			p := prepared(t, raw)
			comm := &recordingComm{answers: c.answers}
			err := p.Provision(t.Context(), &recordingUi{}, comm, winrm)
			if c.polls >= 0 {
				assert.Len(t, comm.commands, 2+c.polls, "upload, run, and the polls")
			}
			if len(comm.commands) > 2 {
				poll := decodePS(t, comm.commands[2])
				assert.Contains(t, poll, "$StateDir = 'C:\\ProgramData\\ami-harden\\sysprep'\n")
				assert.Contains(t, poll, fmt.Sprintf("$Shutdown = $%t\n", p.config.SysprepShutdown))
			}
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
	ui := &recordingUi{}
	comm := &recordingComm{answers: []answer{{stdout: report, stderr: stderr}}}
	require.NoError(t, p.Provision(t.Context(), ui, comm, winrm))
	assert.Equal(t, []string{
		"Remove-Item : Access to the path 'C:\\Windows\\Temp\\x.log' is denied.",
		"At C:\\Windows\\Temp\\ami-harden-1.ps1:300 char:17",
		"    + CategoryInfo          : PermissionDenied: (x.log:FileInfo) [Remove-Item], IOException",
	}, ui.errors(), "every line of the error stream, without its CR")
	assert.Contains(t, ui.said(), "temp           changed  removed 3 item(s) from 1 temp folder(s)", "no CR left in the detail")
}

func TestProvisionWindowsNotAdmin(t *testing.T) {
	p := prepared(t, map[string]interface{}{})
	comm := &recordingComm{answers: []answer{
		{stdout: "@@ami-harden abort not-admin: the script needs an elevated administrator (see elevated_user)\r\n", exit: 2},
	}}
	err := p.Provision(t.Context(), &recordingUi{}, comm, winrm)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "stopped before changing anything: not-admin")
	assert.Len(t, comm.commands, 2, "the script removed itself; nothing to clean up")
}

func TestProvisionWindowsScriptNeverStarted(t *testing.T) {
	p := prepared(t, map[string]interface{}{})
	comm := &recordingComm{answers: []answer{{stderr: "powershell : The term 'powershell' is not recognized\r\n", exit: 1}}}
	err := p.Provision(t.Context(), &recordingUi{}, comm, winrm)
	require.Error(t, err)
	require.Len(t, comm.commands, 3)
	assert.Equal(t, `powershell -NoProfile -NonInteractive -Command "Remove-Item -LiteralPath '`+p.config.remotePath(&windowsGuest{})+`' -Force -ErrorAction SilentlyContinue"`, comm.commands[2])
}

func TestProvisionRefusesStepsOfTheOtherOS(t *testing.T) {
	p := prepared(t, map[string]interface{}{"steps": []string{"sshd"}})
	comm := &recordingComm{}
	err := p.Provision(t.Context(), &recordingUi{}, comm, winrm)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "steps and skip_steps leave no step to run on this windows machine (sshd: not steps of windows)")
	assert.Empty(t, comm.commands, "nothing is uploaded or run")
}

// One block for a Linux and a Windows source: the Linux step named is
// skipped on Windows, said in the output, and the rest runs.
func TestProvisionSharedBlockSkipsTheOtherOSsSteps(t *testing.T) {
	p := prepared(t, map[string]interface{}{"steps": []string{"sshd", "temp"}, "skip_steps": []string{"secrets"}})
	report := "@@ami-harden begin 1\r\n@@ami-harden start temp\r\n@@ami-harden step temp ok -\r\n@@ami-harden end 0\r\n"
	ui := &recordingUi{}
	comm := &recordingComm{answers: []answer{{stdout: report}}}
	require.NoError(t, p.Provision(t.Context(), ui, comm, winrm))
	assert.Contains(t, ui.said(), "ami-harden: not steps of windows, skipped on this machine: sshd, secrets")
	require.Len(t, comm.uploads, 1)
	assert.Contains(t, string(comm.uploads[p.config.remotePath(&windowsGuest{})]), "$AmiHardenSteps = @('temp')\n")
}

// A real Windows PowerShell error record as it arrives over WinRM
// (test/winrmfake/testdata/clixml-write-error.txt) is shown as its text.
func TestProvisionWindowsCLIXMLErrors(t *testing.T) {
	raw, err := os.ReadFile("../test/winrmfake/testdata/clixml-write-error.txt")
	require.NoError(t, err)
	p := prepared(t, map[string]interface{}{"steps": []string{"temp"}})
	report := "@@ami-harden begin 1\r\n@@ami-harden start temp\r\n@@ami-harden step temp ok -\r\n@@ami-harden end 0\r\n"
	ui := &recordingUi{}
	comm := &recordingComm{answers: []answer{{stdout: report, stderr: string(raw)}}}
	require.NoError(t, p.Provision(t.Context(), ui, comm, winrm))
	assert.Equal(t, []string{
		`Write-Error "Error" : Error`,
		"    + CategoryInfo          : NotSpecified: (:) [Write-Error], WriteErrorExcep",
		"   tion",
		"    + FullyQualifiedErrorId : Microsoft.PowerShell.Commands.WriteErrorExceptio",
		"   n",
	}, ui.errors(), "the record's text, line by line, and nothing of the XML")
}

// Over WinRM a connection lost before any output still means the command
// was accepted and may have run: not "could not start".
func TestProvisionWindowsLostBeforeOutput(t *testing.T) {
	p := prepared(t, map[string]interface{}{})
	comm := &recordingComm{answers: []answer{{startErr: errors.New(`Post "http://127.0.0.1:5985/wsman": EOF`)}}}
	err := p.Provision(t.Context(), &recordingUi{}, comm, winrm)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the connection to the machine was lost before the first step started")
	assert.NotContains(t, err.Error(), "could not start")
	require.Len(t, comm.commands, 3, "asked once whether the script is still there; no retry, no cleanup")
	assert.Contains(t, comm.commands[2], "-EncodedCommand ")
}

// WinRM failed before the script began, and the script is still there: it
// never ran, so the start is tried again (a WinRM hiccup after a restart).
func TestProvisionWindowsRetriesAStartThatNeverRan(t *testing.T) {
	p := prepared(t, map[string]interface{}{"steps": []string{"temp"}, "start_retry_timeout": "1m"})
	report := "@@ami-harden begin 1\r\n@@ami-harden start temp\r\n@@ami-harden step temp ok -\r\n@@ami-harden end 0\r\n"
	comm := &recordingComm{answers: []answer{
		{startErr: errors.New(`Post "http://127.0.0.1:5985/wsman": EOF`)},
		{exit: 3}, // Test-Path: still there
		{stdout: report},
	}}
	require.NoError(t, p.Provision(t.Context(), &recordingUi{}, comm, winrm))
	require.Len(t, comm.commands, 5)
	assert.Equal(t, comm.commands[1], comm.commands[4], "the same command, started again")
	assert.Contains(t, comm.commands[2], "-EncodedCommand ")
}
