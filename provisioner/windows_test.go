package provisioner

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
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
	assert.Contains(t, body, "$AmiHardenBuildUser = 'Administrator'\n$AmiHardenSysprep = 'auto'\n$AmiHardenSysprepTimeout = 1800\n$AmiHardenMode = 'enforce'\n$AmiHardenReportFile = ''\n")
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

// elevated_user = "SYSTEM" without a password (finding 9 of issue 22): as
// in Packer's powershell provisioner, the SDK's wrapper registers the task
// with logon type 5 (a service account) when the password is empty. It was
// refused before ("elevated_user and elevated_password go together").
func TestProvisionWindowsElevatedAsSystem(t *testing.T) {
	p := prepared(t, map[string]interface{}{"elevated_user": "SYSTEM", "steps": []string{"temp"}})
	report := "@@ami-harden begin 1\r\n@@ami-harden start temp\r\n@@ami-harden step temp ok temp folders are empty\r\n@@ami-harden end 0\r\n"
	comm := &recordingComm{answers: []answer{{stdout: ""}, {stdout: report}}}
	require.NoError(t, p.Provision(t.Context(), &recordingUi{}, comm, winrm))
	require.Len(t, comm.commands, 4)
	wrapper := string(comm.uploads[strings.TrimSuffix(strings.TrimPrefix(comm.commands[1], "<upload "), ">")])
	assert.Contains(t, wrapper, "<UserId>SYSTEM</UserId>")
	assert.Contains(t, wrapper, "$password = \"\"\nif ($password.Length -eq 0) {\n  $logon_type = 5", "no password: the task logs on as a service account")
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

// The last step hands Sysprep (and the work that must wait until the build
// lets go: the build account's password, the build's WinRM) to a process
// of its own on the machine: after the run, the provisioner sends nothing
// more over WinRM, whatever happens (Windows refuses every new WinRM shell
// once Sysprep has begun: hashicorp/packer#10129). It says what was handed
// over, then waits for the machine to power itself off, watching its WinRM
// endpoint without logging in (poweroff.go).
func TestProvisionWindowsHandover(t *testing.T) {
	quickWatch(t)
	steps := []string{"accounts", "sysprep"}
	base := "@@ami-harden begin 1\n@@ami-harden start accounts\n" +
		"@@ami-harden step accounts changed disables packer (the build's account), with a random password, after the build's last command (the handover)\n" +
		"@@ami-harden start sysprep\n"
	handedOver := "@@ami-harden step sysprep changed handed over: ec2launch-v2 runs after this run\n" +
		"@@ami-harden handover started after this run: Sysprep (ec2launch-v2: EC2Launch.exe sysprep --block --clean); a random password nobody knows, then disabled: packer (accounts)\n"
	cases := map[string]struct {
		answers []answer
		stays   bool   // the machine never powers off
		want    string // "" for success
		said    string // a line the output must hold
	}{
		"handed over": {[]answer{{stdout: crlf(base + handedOver + "@@ami-harden end 0\n")}}, false, "",
			"ami-harden: handed over to a process on the machine: after this run: Sysprep (ec2launch-v2: EC2Launch.exe sysprep --block --clean); a random password nobody knows, then disabled: packer (accounts)"},
		"connection lost after the end marker": {[]answer{{stdout: crlf(base + handedOver + "@@ami-harden end 0\n"), startErr: errors.New("http response error: 401 - invalid content type")}}, false, "",
			"ami-harden: handed over to a process on the machine"},
		"the machine stays up": {[]answer{{stdout: crlf(base + handedOver + "@@ami-harden end 0\n")}}, true,
			"the machine did not power itself off within power_off_timeout (1s)", "ami-harden: handed over to a process on the machine"},
		"withheld after a failed step": {[]answer{{exit: 1, stdout: crlf("@@ami-harden begin 1\n@@ami-harden start accounts\n" +
			"@@ami-harden step accounts failed could not disable bob (Access is denied)\n@@ami-harden start sysprep\n" +
			"@@ami-harden step sysprep failed not handed over because step(s) accounts failed: the machine stays reachable to fix them\n" +
			"@@ami-harden handover withheld step(s) accounts failed, so this was not done: a random password nobody knows, then disabled: packer (accounts); the machine stays up and reachable\n" +
			"@@ami-harden end 2\n")}}, false, "step accounts failed: could not disable bob", "ami-harden: nothing was handed over: step(s) accounts failed"},
		"the handover could not start": {[]answer{{exit: 2, stdout: crlf(base + "@@ami-harden step sysprep changed handed over: ec2launch-v2 runs after this run\n" +
			"@@ami-harden abort handover-failed: could not start the process that does the work left for after the run (Win32_Process.Create returned 8), so this was not done: Sysprep; do not use this image\n")}},
			false, "the script stopped after its steps had run: handover-failed: could not start the process", ""},
		"connection lost before the end marker": {[]answer{{stdout: crlf(base), startErr: errors.New("read: connection reset by peer")}},
			false, "the connection to the machine was lost during step sysprep", ""},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			p := prepared(t, map[string]interface{}{"steps": steps, "report_file": t.TempDir() + "/report.json", "power_off_timeout": "1s"})
			e := newEndpoint(t, false)
			host, port := e.hostPort(t)
			if !c.stays {
				go func() { time.Sleep(300 * time.Millisecond); e.srv.Close() }()
			}
			comm := &recordingComm{answers: c.answers}
			ui := &recordingUi{}
			err := p.Provision(t.Context(), ui, comm, map[string]interface{}{"ConnType": "winrm", "User": "Administrator", "Host": host, "Port": port})
			assert.Len(t, comm.commands, 2, "the upload and the run: nothing goes over WinRM after the run")
			if c.said != "" {
				assert.Contains(t, ui.all(), c.said)
			}
			b, rerr := os.ReadFile(p.config.ReportFile)
			require.NoError(t, rerr)
			if c.want == "" {
				require.NoError(t, err)
				assert.Contains(t, ui.all(), "ami-harden: the machine powered itself off")
				assert.Contains(t, string(b), `"state": "started",`)
				assert.Contains(t, string(b), `"powered_off": true`)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			assert.NotContains(t, ui.all(), "ami-harden: the machine powered itself off")
			assert.NotContains(t, string(b), `"powered_off": true`)
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

// The report file's read fails with a PowerShell error record (CLIXML on
// stderr): the build's error holds the record's text, not the XML
// (finding 7 of issue 22: it held "#< CLIXML <Objs ...").
func TestProvisionWindowsReportReadErrorIsText(t *testing.T) {
	raw, err := os.ReadFile("../test/winrmfake/testdata/clixml-write-error.txt")
	require.NoError(t, err)
	p := prepared(t, map[string]interface{}{"elevated_user": "packer", "elevated_password": "x", "steps": []string{"temp"}})
	comm := &recordingComm{answers: []answer{{stdout: ""}, {stderr: string(raw), exit: 1}}}
	err = p.Provision(t.Context(), &recordingUi{}, comm, winrm)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `could not read the report file C:\Windows\Temp\ami-harden-`)
	assert.Contains(t, err.Error(), `(exit 1): Write-Error "Error" : Error`)
	assert.NotContains(t, err.Error(), "CLIXML")
	assert.NotContains(t, err.Error(), "<Objs")
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
