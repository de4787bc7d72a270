package acceptance

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/acctest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ami-harden/packer-plugin-ami-harden/test/winrmfake"
)

// The Windows tests: real `packer build`s with Packer's null builder and
// its WinRM communicator (the SDK's, over masterzen/winrm and winrmcp)
// against a fake Windows machine on a loopback port (test/winrmfake). The
// fake speaks WS-Management as Windows does, runs the uploads, and answers
// the provisioner's commands with a recorded Windows run
// (testdata/windows), faults included. No root, no rig.

// Commands of the provisioner the scenarios answer.
var (
	// The script itself, run with the default execute_command.
	scriptRun = winrmfake.Matches(`^powershell -NoProfile -NonInteractive -ExecutionPolicy Bypass -File "C:/Windows/Temp/ami-harden-[0-9a-f]+\.ps1"$`)
	// The elevated runner's wrapper.
	elevatedRun = winrmfake.Matches(`^powershell -executionpolicy bypass -file "C:/Windows/Temp/packer-elevated-shell-[0-9a-f-]+\.ps1"$`)
	// The read of the report file the script writes under the elevated runner.
	reportRead = winrmfake.Matches(`ReadAllText\('C:\\Windows\\Temp\\ami-harden-[0-9a-f]+\.report'\)`)
	// The question whether the uploaded script is still there (it never ran).
	stillThere = winrmfake.Matches(`Test-Path -LiteralPath 'C:/Windows/Temp/ami-harden-[0-9a-f]+\.ps1'\) \{ exit 3 \}`)
)

// winrmAcc runs a Windows acceptance test, in parallel with the others
// (each waits five seconds in the SDK's connection check).
func winrmAcc(t *testing.T) {
	t.Helper()
	if os.Getenv(acctest.TestEnvVar) == "" {
		t.Skipf("acceptance tests run only with %s=1 (make testacc)", acctest.TestEnvVar)
	}
	t.Parallel()
}

// windowsFixture declares the variables and the source "null" "windows"
// of a build over WinRM to a fake machine; winrmVars gives their -var
// arguments.
//
//go:embed testdata/fixtures/windows-target.pkr.hcl
var windowsFixture string

// winrmTemplate is windowsFixture and a build of its source with one
// ami-harden block of the given body.
func winrmTemplate(body string) string {
	return windowsFixture + amiHardenBuild("source.null.windows", body)
}

// winrmVars are the -var arguments of windowsFixture for a build to f.
func winrmVars(f *winrmfake.Fake) []string {
	return []string{"-var", "winrm_host=" + f.Host(), "-var", "winrm_port=" + strconv.Itoa(f.Port()),
		"-var", "winrm_username=" + f.User(), "-var", "winrm_password=" + f.Password()}
}

// winrmBuildTimeout bounds one build: a build that hangs fails its test
// instead of holding the whole suite until go test's timeout. A build that
// hands work over waits for the power-off: 30 s of silence after it.
const winrmBuildTimeout = 75 * time.Second

// winrmBuild runs `packer build` of winrmTemplate(body) with winrmVars(f)
// as acctest.TestPlugin does (PACKER_LOG into a log file, -machine-readable,
// check called with the command and the log), but in a process group it
// kills after winrmBuildTimeout, and with the log kept as
// packer_log_NAME.txt when the check fails.
func winrmBuild(t *testing.T, name string, f *winrmfake.Fake, body string, check func(*exec.Cmd, string) error) {
	t.Helper()
	packer, err := exec.LookPath("packer")
	require.NoError(t, err, "packer must be on PATH (make dev; PATH=$PWD/bin:$PATH)")
	dir := t.TempDir()
	tpl := filepath.Join(dir, name+".pkr.hcl")
	require.NoError(t, os.WriteFile(tpl, []byte(winrmTemplate(body)), 0o644))
	logfile := filepath.Join(dir, "packer.log")

	ctx, cancel := context.WithTimeout(context.Background(), winrmBuildTimeout)
	defer cancel()
	cmd := exec.Command(packer, append(append([]string{"build"}, winrmVars(f)...), "--machine-readable", tpl)...)
	cmd.Env = append(os.Environ(), "PACKER_LOG=1", "PACKER_LOG_PATH="+logfile)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	started := time.Now()
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	hung := false
	select {
	case <-done:
	case <-ctx.Done():
		hung = true
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // packer, its builder and the plugin
		<-done
	}
	t.Logf("packer build %s: %s", name, time.Since(started).Round(100*time.Millisecond))

	keep := func() string {
		kept := "packer_log_" + name + ".txt"
		if b, err := os.ReadFile(logfile); err == nil {
			_ = os.WriteFile(kept, b, 0o644)
		}
		return kept
	}
	if hung {
		t.Fatalf("packer build did not finish within %s (killed); the log ends:\n%s\nwhole log: %s",
			winrmBuildTimeout, lastLines(logfile, 12), keep())
	}
	if err := check(cmd, logfile); err != nil {
		t.Fatalf("%v\nlog: %s", err, keep())
	}
}

// lastLines is the last n lines of a file.
func lastLines(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// windowsOutput is a recorded output from testdata/windows with Windows'
// CRLF line ends.
func windowsOutput(t *testing.T, name string) string {
	t.Helper()
	return winrmfake.CRLF(readFile(t, filepath.Join("testdata", "windows", name)))
}

// errorRecord is testdata/windows/error-record.txt as Windows PowerShell
// writes it to stderr over WinRM: serialized as CLIXML.
func errorRecord(t *testing.T) string {
	t.Helper()
	return winrmfake.CLIXML(windowsOutput(t, "error-record.txt"))
}

// stepLines are the lines Packer shows for the step results in a report.
func stepLines(report string) []string {
	var out []string
	for _, line := range strings.Split(report, "\r\n") {
		if rest, ok := strings.CutPrefix(line, "@@ami-harden step "); ok {
			f := strings.SplitN(rest, " ", 3)
			out = append(out, fmt.Sprintf("%-14s %-8s %s", f[0], f[1], f[2]))
		}
	}
	return out
}

// buildError is what Packer printed as the build's error: the log from
// its last "errored after".
func buildError(log string) string {
	i := strings.LastIndex(log, "errored after")
	if i < 0 {
		return ""
	}
	return log[i:]
}

// logWinRMStats prints what a build sent over WinRM: HTTP round trips by
// action, and the upload's bytes. The numbers of TestWinRMFullReport are
// the ones to compare across changes of the Windows protocol.
func logWinRMStats(t *testing.T, f *winrmfake.Fake) {
	t.Helper()
	s := f.Stats()
	t.Logf("winrm: %d round trips (%s), %d upload bytes (%d file(s); %d base64 characters in %d upload commands); "+
		"%d commands in all, %d requests dropped, %d refused; %d bytes sent, %d received",
		s.RoundTrips, s.Actions(), s.UploadBytes, s.Uploads, s.UploadBase64, s.UploadCommands,
		s.Commands, s.Dropped, s.Refused, s.RequestBytes, s.ResponseBytes)
	perCommand := map[int]map[string]int{}
	for _, r := range f.Requests() {
		if perCommand[r.Command] == nil {
			perCommand[r.Command] = map[string]int{}
		}
		perCommand[r.Command][r.Action]++
	}
	for _, c := range f.Runs() {
		n := perCommand[c.Seq]
		t.Logf("winrm: command %d (%d Receive, exit %d): %.100s", c.Seq, n["Receive"], c.Exit, strings.ReplaceAll(c.Text(), "\n", " "))
	}
}

// uploadedScript is the path and content of the hardening script the fake
// received.
func uploadedScript(t *testing.T, f *winrmfake.Fake) (string, []byte) {
	t.Helper()
	re := regexp.MustCompile(`^C:\\Windows\\Temp\\ami-harden-[0-9a-f]{12}\.ps1$`)
	for path, data := range f.Uploads() {
		if re.MatchString(path) {
			return path, data
		}
	}
	t.Fatalf("no hardening script among the uploads: %v", keys(f.Uploads()))
	return "", nil
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestWinRMFullReport: the default block on Windows over WinRM. The script
// uploaded is exactly the default one; the machine prints a whole report
// in several Receive answers, with CRLF and a PowerShell error record on
// stderr, ending with the handover of Sysprep to a process of its own. From
// the command's end on, the machine refuses everything as a generalizing
// Windows does (winrmfake.Generalizing, at once: harsher than the real
// handover, which waits 10 s), and powers off 2 s later: the build is green,
// shows every step, what was handed over and the power-off it waited for,
// and sends nothing over WinRM after the script's run but that command's
// own Signal and Delete.
func TestWinRMFullReport(t *testing.T) {
	winrmAcc(t)
	report := windowsOutput(t, "full-report.txt")
	f := winrmfake.Start(t, winrmfake.Options{Responder: winrmfake.NewScenario().
		On(scriptRun, winrmfake.Reply{Stdout: report, Stderr: errorRecord(t), Chunks: 6,
			StderrAfter: "@@ami-harden start temp\r\n", Then: winrmfake.Generalizing(0, 2*time.Second)})})

	want := append(stepLines(report),
		"note: in use by running processes, left: C:\\Windows\\Temp\\vmware-vmsvc-SYSTEM.log",
		"because it is being used by another process",
		"ami-harden: 18 of 18 steps reported: 9 changed, 8 ok, 1 skipped, 0 failed",
		"ami-harden: handed over to a process on the machine: after this run: Sysprep (ec2launch-v2: EC2Launch.exe sysprep --block --clean); "+
			"WinRM: Basic auth and unencrypted traffic off, self-signed HTTPS listeners removed with their certificates and keys (winrm)",
		"ami-harden: the machine powered itself off")
	winrmBuild(t, "ami_harden_winrm_full_report", f, "", buildCheck(true, want, func(log string) error {
		// How the error record reaches the user (the provisioner shows stderr as it comes).
		for _, line := range strings.Split(log, "\n") {
			if strings.Contains(line, "ui error:") && (strings.Contains(line, "CLIXML") || strings.Contains(line, "<Objs")) {
				t.Logf("stderr shown: %.160s", line[strings.Index(line, "ui error:"):])
			}
		}
		return nil
	}))

	path, body := uploadedScript(t, f)
	golden := readFile(t, filepath.Join("..", "..", "provisioner", "testdata", "default-windows.ps1"))
	assert.Equal(t, golden, string(body), "the uploaded script is the default one, provisioner/testdata/default-windows.ps1")
	assert.True(t, strings.HasPrefix(string(body), "\uFEFF# Parameters written by the ami-harden provisioner.\n"), "a UTF-8 BOM first")
	assert.Contains(t, string(body), "\n$AmiHardenBuildUser = 'Administrator'\n$AmiHardenSysprep = 'auto'\n$AmiHardenSysprepTimeout = 1800\n")

	runs := f.Runs()
	require.Len(t, runs, 2, "the connection check and the script: nothing after the handover")
	assert.Contains(t, runs[0].Script, `echo "WinRM connected."`)
	wantRun := `powershell -NoProfile -NonInteractive -ExecutionPolicy Bypass -File "` + strings.ReplaceAll(path, `\`, "/") + `"`
	assert.Equal(t, wantRun, runs[1].Line, "the script runs from where it was uploaded")
	assert.True(t, runs[1].Finished)
	assert.Zero(t, assertNothingAfterGeneralize(t, f, runs[1]), "the power-off watcher only connects: no request")
	logWinRMStats(t, f)
}

// assertNothingAfterGeneralize: after the run's command (last) finished,
// the build logged on for nothing more: it sent only that command's own
// Signal and Delete (refused by the generalizing machine; the client
// ignores them). Requests without credentials are counted and returned
// (the power-off watcher sends none: it only connects).
func assertNothingAfterGeneralize(t *testing.T, f *winrmfake.Fake, last winrmfake.Command) int {
	t.Helper()
	var after []string
	looks := 0
	seen := false
	for _, r := range f.Requests() {
		switch {
		case r.Command == last.Seq && r.Action == "Receive":
			seen = true
		case !seen:
		case r.Anonymous:
			looks++
			assert.Contains(t, []int{401, 0}, r.Status, "look %d: 401, or dropped once the machine is off", r.Seq)
		case r.Refused:
			after = append(after, r.Action)
		case r.Command != last.Seq && r.Action != "Signal" && r.Action != "Delete":
			t.Errorf("request %d (%s, status %d) after the run's last command", r.Seq, r.Action, r.Status)
		}
	}
	assert.Subset(t, []string{"Signal", "Delete"}, after, "refused after the handover: at most the command's own Signal and Delete")
	return looks
}

// TestWinRMConnectionLostMidReport: the connection drops in the middle of
// the report (during step temp) and the machine is gone. The build fails,
// and its error names the step that was running.
func TestWinRMConnectionLostMidReport(t *testing.T) {
	winrmAcc(t)
	report := windowsOutput(t, "full-report.txt")
	at := strings.Index(report, "@@ami-harden start temp\r\n") + len("@@ami-harden start temp\r\n") + 10
	f := winrmfake.Start(t, winrmfake.Options{Responder: winrmfake.NewScenario().
		On(scriptRun, winrmfake.Reply{Stdout: report, Chunks: 6, Drop: winrmfake.DropAfterStdout, DropAfter: at,
			Then: winrmfake.Gone})})

	winrmBuild(t, "ami_harden_winrm_lost_mid_report", f, "",
		buildCheck(false, stepLines(report[:at]), func(log string) error {
			errText := buildError(log)
			if !strings.Contains(errText, "step temp") {
				return fmt.Errorf("the build's error does not name step temp, which was running:\n%s", errText)
			}
			if strings.Contains(log, "temp           changed") {
				return fmt.Errorf("step temp's result shows, although it came after the drop")
			}
			return nil
		}))
	runs := f.Runs()
	require.Len(t, runs, 2, "the connection check and the script; nothing after the drop")
	assert.True(t, runs[1].Dropped)
}

// TestWinRMConnectionLostBeforeOutput: the machine accepts the script's
// command (the client has its CommandId: the script runs) and the
// connection drops before any output. Nobody knows how far the script
// got: the build must fail saying the image may be half hardened, not
// that the script could not start.
func TestWinRMConnectionLostBeforeOutput(t *testing.T) {
	winrmAcc(t)
	f := winrmfake.Start(t, winrmfake.Options{Responder: winrmfake.NewScenario().
		On(scriptRun, winrmfake.Reply{Stdout: windowsOutput(t, "full-report.txt"), Drop: winrmfake.DropBeforeOutput,
			Then: winrmfake.Gone})})

	// The provisioner asks the gone machine whether the script is still
	// there until start_retry_timeout: 3 s here, not the default 5 minutes.
	winrmBuild(t, "ami_harden_winrm_lost_before_output", f, `    start_retry_timeout = "3s"`,
		buildCheck(false, nil, func(log string) error {
			if errText := buildError(log); !strings.Contains(errText, "half hardened") {
				return fmt.Errorf("the script started (WinRM gave it a CommandId) and the connection was lost: "+
					"the error must say the image may be half hardened; it says:\n%s", errText)
			}
			return nil
		}))
	runs := f.Runs()
	require.Len(t, runs, 2)
	assert.True(t, runs[1].Dropped)
}

// TestWinRMStartRetriedWhenTheScriptNeverRan: WinRM drops the script's
// command before the client learns its CommandId, and then answers 503 for
// a while (the service restarting, as after a windows-restart). The
// provisioner asks until the machine answers whether the script is still
// there; it is, so nothing ran, and the script is uploaded and started
// again (start_retry_timeout). The build is green.
func TestWinRMStartRetriedWhenTheScriptNeverRan(t *testing.T) {
	winrmAcc(t)
	report := windowsOutput(t, "full-report.txt")
	f := winrmfake.Start(t, winrmfake.Options{Responder: winrmfake.NewScenario().
		Sequence(scriptRun,
			winrmfake.Reply{Drop: winrmfake.DropOnCommand, Then: winrmfake.Outage{Status: 503, Count: 3}},
			winrmfake.Reply{Stdout: report, Then: winrmfake.Generalizing(0, 2*time.Second)}).
		On(stillThere, winrmfake.Reply{ExitCode: 3})})

	winrmBuild(t, "ami_harden_winrm_start_retried", f, `    start_retry_timeout = "15s"`,
		buildCheck(true, []string{
			"the script is still there, so it never ran; trying again until start_retry_timeout (15s)",
			"ami-harden: 18 of 18 steps reported",
		}, nil))
	var scripts, checks int
	for _, r := range f.Runs() {
		switch {
		case scriptRun(r):
			scripts++
		case stillThere(r):
			checks++
		}
	}
	assert.Equal(t, 2, scripts, "the script's command twice: dropped, then run")
	assert.Equal(t, 1, checks, "one answered question whether the script is still there")
	logWinRMStats(t, f)
}

// TestWinRMElevated: with elevated_user the script runs through Packer's
// scheduled-task wrapper, uploaded too; its stream is only shown, the
// report is read from the script's report file afterwards.
func TestWinRMElevated(t *testing.T) {
	winrmAcc(t)
	report := windowsOutput(t, "full-report.txt")
	// The wrapper tails the task's log: lines may come cut or not at all.
	tailed := report[:strings.Index(report, "@@ami-harden start credentials")] + "@@ami-harden step cre"
	f := winrmfake.Start(t, winrmfake.Options{Responder: winrmfake.NewScenario().
		On(elevatedRun, winrmfake.Reply{Stdout: tailed, Chunks: 4}).
		// The handover waits until the report file is read and gone.
		On(reportRead, winrmfake.Reply{Stdout: report, Then: winrmfake.Generalizing(0, 2*time.Second)})})

	winrmBuild(t, "ami_harden_winrm_elevated", f, `    elevated_user     = "packer"
    elevated_password = "Elev-Passw0rd"`,
		buildCheck(true, append(stepLines(report), "ami-harden: 18 of 18 steps reported: 9 changed, 8 ok, 1 skipped, 0 failed"), nil))

	path, body := uploadedScript(t, f)
	reportFile := strings.TrimSuffix(path, ".ps1") + ".report"
	assert.Contains(t, string(body), "\n$AmiHardenReportFile = '"+reportFile+"'\n")

	var wrapperPath string
	var wrapper []byte
	for p, data := range f.Uploads() {
		if strings.Contains(p, `\packer-elevated-shell-`) {
			wrapperPath, wrapper = p, data
		}
	}
	require.NotEmpty(t, wrapperPath, "the elevated runner's wrapper is uploaded")
	assert.Contains(t, string(wrapper), "<UserId>packer</UserId>")
	assert.Contains(t, string(wrapper), `$password = "Elev-Passw0rd"`)
	inner := `powershell -NoProfile -NonInteractive -ExecutionPolicy Bypass -File &#34;` + strings.ReplaceAll(path, `\`, "/") + `&#34;`
	assert.Contains(t, string(wrapper), "<Arguments>/c "+inner+" &gt; %SYSTEMROOT%/Temp/packer-", "the wrapper's task runs the uploaded script")

	runs := f.Runs()
	require.Len(t, runs, 3, "the connection check, the wrapper, the report read")
	assert.Equal(t, `powershell -executionpolicy bypass -file "`+strings.ReplaceAll(wrapperPath, `\`, "/")+`"`, runs[1].Line)
	assert.True(t, reportRead(runs[2]), "then the report file is read: %.100s", runs[2].Text())
	assertNothingAfterGeneralize(t, f, runs[2])
	logWinRMStats(t, f)
}

// TestWinRMElevatedConnectionLost: under the elevated runner the
// connection drops while the wrapper's output comes, and the machine is
// gone. The build fails (the report file cannot be read: the image is not
// hardened), within the time limit.
func TestWinRMElevatedConnectionLost(t *testing.T) {
	winrmAcc(t)
	report := windowsOutput(t, "full-report.txt")
	f := winrmfake.Start(t, winrmfake.Options{Responder: winrmfake.NewScenario().
		On(elevatedRun, winrmfake.Reply{Stdout: report, Chunks: 4, Drop: winrmfake.DropAfterStdout, DropAfter: len(report) / 2,
			Then: winrmfake.Gone})})

	winrmBuild(t, "ami_harden_winrm_elevated_lost", f, `    elevated_user     = "packer"
    elevated_password = "Elev-Passw0rd"`,
		buildCheck(false, nil, func(log string) error {
			if errText := buildError(log); !strings.Contains(errText, "not hardened") {
				return fmt.Errorf("the build's error does not say the image is not hardened:\n%s", errText)
			}
			return nil
		}))
}
