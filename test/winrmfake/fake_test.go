package winrmfake

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	sdkwinrm "github.com/hashicorp/packer-plugin-sdk/sdk-internals/communicator/winrm"
	"github.com/masterzen/winrm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// client is masterzen/winrm's client for f, as the SDK makes it.
func client(t *testing.T, f *Fake, timeout string) *winrm.Client {
	t.Helper()
	params := *winrm.DefaultParameters
	params.Timeout = timeout
	c, err := winrm.NewClientWithParameters(winrm.NewEndpoint(f.Host(), f.Port(), false, false, nil, nil, nil, 0),
		f.User(), f.Password(), &params)
	require.NoError(t, err)
	return c
}

// communicator is the SDK's WinRM communicator for f, as Packer's WinRM
// connect step makes it.
func communicator(t *testing.T, f *Fake) *sdkwinrm.Communicator {
	t.Helper()
	comm, err := sdkwinrm.New(&sdkwinrm.Config{Host: f.Host(), Port: f.Port(), Username: f.User(),
		Password: f.Password(), Timeout: 5 * time.Second})
	require.NoError(t, err)
	return comm
}

// start runs command through comm and returns its stdout, stderr, exit
// status and Start's error.
func start(t *testing.T, comm packersdk.Communicator, command string) (string, string, int, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	rc := &packersdk.RemoteCmd{Command: command, Stdout: &stdout, Stderr: &stderr}
	err := comm.Start(context.Background(), rc)
	exit := rc.Wait()
	return stdout.String(), stderr.String(), exit, err
}

func TestCommandOutputAndExitCode(t *testing.T) {
	out := CRLF("\nWindows IP Configuration\n\n   Host Name . . . . . . . . . . . . : EC2AMAZ-7QJ0V3R\n   Primary Dns Suffix  . . . . . . . : \n")
	f := Start(t, Options{Responder: NewScenario().On(Contains("ipconfig"),
		Reply{Stdout: out, Stderr: CLIXML("oops\r\n"), ExitCode: 3, Chunks: 4})})

	stdout, stderr, exit, err := client(t, f, "PT60S").RunCmdWithContext(context.Background(), "ipconfig /all")
	require.NoError(t, err)
	assert.Equal(t, out, stdout)
	assert.Equal(t, "#< CLIXML\r\n"+`<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04"><S S="Error">oops_x000D__x000A_</S></Objs>`, stderr)
	assert.Equal(t, 3, exit)

	cmds := f.Commands()
	require.Len(t, cmds, 1)
	assert.Equal(t, "ipconfig /all", cmds[0].Line)
	assert.True(t, cmds[0].Finished)
	assert.Equal(t, 3, cmds[0].Exit)
	s := f.Stats()
	assert.Equal(t, map[string]int{"Create": 1, "Command": 1, "Receive": 4, "Signal": 1, "Delete": 1}, s.ByAction,
		"one shell, one command, its output in four Receive answers, then Signal and Delete")
	assert.Equal(t, 8, s.RoundTrips)
	assert.Equal(t, "Create 1, Command 1, Receive 4, Signal 1, Delete 1", s.Actions())
}

// The SDK's communicator: New opens and closes a shell to check the
// connection; Start runs a command in a shell of its own.
func TestSDKCommunicatorStart(t *testing.T) {
	f := Start(t, Options{Responder: NewScenario().
		On(Contains("exit 7"), Reply{Stdout: "a\r\nb\r\n", ExitCode: 7}).
		On(Contains("Get-Date"), Reply{Stdout: "Monday, 1 January 2024\r\n", Stderr: CLIXML("warning\r\n")})})
	comm := communicator(t, f)

	stdout, stderr, exit, err := start(t, comm, "cmd /c \"echo a & echo b & exit 7\"")
	require.NoError(t, err)
	assert.Equal(t, "a\r\nb\r\n", stdout)
	assert.Empty(t, stderr)
	assert.Equal(t, 7, exit)

	// A PowerShell command, encoded as masterzen/winrm's Powershell() does.
	stdout, stderr, exit, err = start(t, comm, winrm.Powershell("Get-Date"))
	require.NoError(t, err)
	assert.Equal(t, "Monday, 1 January 2024\r\n", stdout)
	assert.Equal(t, "warning\r\n", ParseCLIXML(stderr))
	assert.Equal(t, 0, exit)

	runs := f.Runs()
	require.Len(t, runs, 2)
	assert.Equal(t, "$ProgressPreference = 'SilentlyContinue';Get-Date", runs[1].Script)
	assert.Equal(t, []string{"Create", "Delete", "Create", "Command", "Receive", "Signal", "Delete",
		"Create", "Command", "Receive", "Signal", "Delete"}, actions(f.Requests()))
}

func actions(rs []Request) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Action)
	}
	return out
}

// An upload through winrmcp: the file is rebuilt from the echo commands
// byte for byte, also across shells (15 chunks per shell) and to a path
// with a space.
func TestSDKCommunicatorUpload(t *testing.T) {
	f := Start(t, Options{})
	comm := communicator(t, f)

	small := []byte("\uFEFF# Parameters\n$AmiHardenSteps = @('temp')\n")
	require.NoError(t, comm.Upload("C:/Windows/Temp/ami-harden-1.ps1", bytes.NewReader(small), nil))
	got, ok := f.Upload(`C:\Windows\Temp\ami-harden-1.ps1`)
	require.True(t, ok)
	assert.Equal(t, small, got)

	big := make([]byte, 100_000) // 17 chunks of about 5.9 KB: two shells
	_, _ = rand.Read(big)
	require.NoError(t, comm.Upload("C:/Program Files/ami harden/big.bin", bytes.NewReader(big), nil))
	got, ok = f.Upload("c:/program files/AMI HARDEN/big.bin")
	require.True(t, ok)
	assert.Equal(t, big, got)
	assert.Contains(t, f.Uploads(), `C:\Program Files\ami harden\big.bin`)

	s := f.Stats()
	assert.Equal(t, 2, s.Uploads)
	assert.Equal(t, len(small)+len(big), s.UploadBytes)
	assert.Empty(t, f.Runs(), "uploads do not reach the responder")
	var chunks, restores, cleanups int
	for _, c := range f.Commands() {
		switch c.Upload {
		case UploadChunk:
			chunks++
			assert.Regexp(t, `^echo [A-Za-z0-9+/=]+ >> "%TEMP%\\winrmcp-[0-9a-f-]+\.tmp"$`, c.Line)
		case UploadRestore:
			restores++
		case UploadCleanup:
			cleanups++
		}
	}
	assert.Equal(t, 1+17, chunks)
	assert.Equal(t, 2, restores)
	assert.Equal(t, 2, cleanups)
	// Shells: the connection check's, one per 15 chunks, one per restore, one per cleanup.
	assert.Equal(t, 1+1+2+2+2, s.ByAction["Create"])
	t.Logf("winrm: %d round trips (%s), %d upload bytes", s.RoundTrips, s.Actions(), s.UploadBytes)
}

// A connection dropped in the middle of the output: Start returns the
// error, after the output that came before it; masterzen/winrm sets exit
// status 16001 for an EOF.
func TestDroppedConnectionSurfacesFromStart(t *testing.T) {
	out := CRLF("line one\nline two\nline three\nline four\nline five\nline six\n")
	f := Start(t, Options{Responder: NewScenario().On(Contains("long.ps1"),
		Reply{Stdout: out, Drop: DropAfterStdout, DropAfter: 20, Chunks: 6})})
	comm := communicator(t, f)

	stdout, _, exit, err := start(t, comm, `powershell -File "C:\long.ps1"`)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "EOF")
	assert.Equal(t, 16001, exit)
	assert.Equal(t, out[:20], stdout, "the output before the drop arrives, none after")
	runs := f.Runs()
	require.Len(t, runs, 1)
	assert.True(t, runs[0].Dropped)
	assert.False(t, runs[0].Finished)
	assert.Equal(t, 1, f.Stats().Dropped)
}

func TestDropKinds(t *testing.T) {
	for name, c := range map[string]struct {
		reply Reply
		want  string // in Start's error
		exit  int
	}{
		"on the Command request":    {Reply{Stdout: "x\r\n", Drop: DropOnCommand}, "EOF", 1},
		"before any output":         {Reply{Stdout: "x\r\n", Drop: DropBeforeOutput}, "EOF", 16001},
		"with a TCP reset":          {Reply{Stdout: "x\r\n", Drop: DropBeforeOutput, Reset: true}, "connection reset by peer", 0},
		"after the whole output":    {Reply{Stdout: "x\r\n", Drop: DropAfterStdout, DropAfter: 1 << 20}, "EOF", 16001},
		"then 401 for the next two": {Reply{Drop: DropBeforeOutput, Then: Outage{Status: 401, Count: 2}}, "EOF", 16001},
	} {
		t.Run(name, func(t *testing.T) {
			f := Start(t, Options{Responder: NewScenario().On(Contains("run"), c.reply)})
			comm := communicator(t, f)
			_, _, exit, err := start(t, comm, "run")
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			assert.Equal(t, c.exit, exit)
		})
	}
}

// Outages: 401 and 503 fail the next commands at their Create; the machine
// answers again once the outage is over. Gone drops everything.
func TestOutages(t *testing.T) {
	f := Start(t, Options{Responder: NewScenario().
		On(Contains("before"), Reply{Stdout: "ok\r\n", Then: Outage{Status: 401, Count: 3}}).
		On(Contains("after"), Reply{Stdout: "back\r\n"})})
	comm := communicator(t, f)

	stdout, _, _, err := start(t, comm, "before")
	require.NoError(t, err, "the outage begins after the command's Done: its Signal and Delete get 401, which the client ignores")
	assert.Equal(t, "ok\r\n", stdout)
	_, _, _, err = start(t, comm, "after")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "401", "the third request of the outage: the next command's Create")
	var statuses []int
	for _, r := range f.Requests()[len(f.Requests())-3:] {
		statuses = append(statuses, r.Status)
	}
	assert.Equal(t, []int{401, 401, 401}, statuses)
	stdout, _, _, err = start(t, comm, "after")
	require.NoError(t, err)
	assert.Equal(t, "back\r\n", stdout)

	f.Outage(Outage{Status: 503, Count: 1})
	_, _, _, err = start(t, comm, "after")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "503")

	f.Outage(Outage{Status: 500, Count: 1})
	_, _, _, err = start(t, comm, "after")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "received error response", "a WS-Man fault in answer to Create")

	f.Gone()
	_, _, _, err = start(t, comm, "after")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "EOF")
	_, err = sdkwinrm.New(&sdkwinrm.Config{Host: f.Host(), Port: f.Port(), Username: f.User(), Password: f.Password(), Timeout: time.Second})
	require.Error(t, err)
}

// Generalizing: after the delay every new command gets the 401 that the
// public threads record ("http response error: 401 - invalid content
// type"), until the power-off, which drops everything and is told once.
func TestGeneralizing(t *testing.T) {
	off := make(chan struct{}, 2)
	f := Start(t, Options{
		Responder:  NewScenario().On(Contains("last"), Reply{Stdout: "ok\r\n", Then: Generalizing(300*time.Millisecond, 700*time.Millisecond)}),
		OnPowerOff: func() { off <- struct{}{} },
	})
	comm := communicator(t, f)
	_, _, _, err := start(t, comm, "last")
	require.NoError(t, err)
	_, _, _, err = start(t, comm, "right after")
	require.NoError(t, err, "before the delay the machine still answers")

	time.Sleep(400 * time.Millisecond)
	_, _, _, err = start(t, comm, "during")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "http response error: 401 - invalid content type", "the error the threads record")
	assert.True(t, f.PoweredOff().IsZero())

	select {
	case <-off:
	case <-time.After(5 * time.Second):
		t.Fatal("the machine never powered off")
	}
	assert.False(t, f.PoweredOff().IsZero())
	_, _, _, err = start(t, comm, "after")
	require.Error(t, err)
	// A new connection is refused; one the client kept from before ends (EOF).
	assert.Regexp(t, "connection refused|EOF", err.Error(), "a machine that is off takes no connection")
	time.Sleep(200 * time.Millisecond)
	assert.Len(t, off, 0, "the power-off is told once")
	var refused int
	for _, r := range f.Requests() {
		if r.Refused {
			refused++
		}
	}
	assert.GreaterOrEqual(t, refused, 1, "the 401 is marked refused (the refused connection reaches no handler)")
}

func TestWrongPasswordIsRefused(t *testing.T) {
	f := Start(t, Options{})
	_, err := sdkwinrm.New(&sdkwinrm.Config{Host: f.Host(), Port: f.Port(), Username: f.User(), Password: "wrong", Timeout: time.Second})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "401")
	assert.Equal(t, http401(f.Requests()), 1)
}

func http401(rs []Request) int {
	n := 0
	for _, r := range rs {
		if r.Status == 401 {
			n++
		}
	}
	return n
}

// A command slower than the OperationTimeout: the waiting Receive gets
// Windows' w:TimedOut fault and the client asks again.
func TestSlowCommandTimesOutReceives(t *testing.T) {
	f := Start(t, Options{Responder: NewScenario().On(Contains("slow"), Reply{Stdout: "done\r\n", Delay: 2500 * time.Millisecond})})
	stdout, _, exit, err := client(t, f, "PT1S").RunCmdWithContext(context.Background(), "slow")
	require.NoError(t, err)
	assert.Equal(t, "done\r\n", stdout)
	assert.Equal(t, 0, exit)
	var timedOut int
	for _, r := range f.Requests() {
		if r.Action == "Receive" && r.Status == 500 {
			timedOut++
		}
	}
	assert.Equal(t, 2, timedOut, "two Receives of one second each time out, the third gets the output")
}

// After a restart of the WinRM service the old shell is gone: Windows'
// InvalidSelectors fault.
func TestRestartLosesShells(t *testing.T) {
	f := Start(t, Options{})
	c := client(t, f, "PT60S")
	shell, err := c.CreateShell()
	require.NoError(t, err)
	f.Outage(Outage{Status: 503, Count: 1, Restart: true})
	_, err = c.CreateShell()
	require.Error(t, err)
	_, err = shell.ExecuteWithContext(context.Background(), "hostname")
	require.Error(t, err)
	var fault *winrm.ExecuteCommandError
	require.True(t, errors.As(err, &fault))
	assert.Contains(t, fault.Body, "failed because the shell was not found on the server")
	assert.Contains(t, fault.Body, `Code="2150858843"`)
}

func TestScenarioRules(t *testing.T) {
	s := NewScenario().
		On(Contains("poll"), Reply{Stdout: "running"}).
		OnNth(Contains("poll"), 3, Reply{Stdout: "third"}).
		Sequence(Contains("seq"), Reply{ExitCode: 1}, Reply{ExitCode: 2})
	var got []string
	for i := 0; i < 4; i++ {
		got = append(got, s.Respond(Command{Line: "poll"}).Stdout)
	}
	assert.Equal(t, []string{"running", "running", "third", "running"}, got)
	var exits []int
	for i := 0; i < 3; i++ {
		exits = append(exits, s.Respond(Command{Line: "seq"}).ExitCode)
	}
	assert.Equal(t, []int{1, 2, 2}, exits)
	assert.Equal(t, "WinRM connected.\r\n", s.Respond(Command{Script: `echo "WinRM connected."`}).Stdout)
	assert.Equal(t, Reply{}, s.Respond(Command{Line: "other"}))
}

func TestPlanCutsOutputAndPlacesStderr(t *testing.T) {
	out := strings.Repeat("0123456789", 10)
	chunks := plan(Reply{Stdout: out, Stderr: "E", Chunks: 4, StderrAfter: "0123456789012345678901234567890"})
	require.Len(t, chunks, 4)
	var all string
	for _, c := range chunks {
		all += string(c.stdout)
	}
	assert.Equal(t, out, all)
	assert.Equal(t, "E", string(chunks[1].stderr), "stderr comes with the answer that carries the 31st byte")

	dropped := plan(Reply{Stdout: out, Chunks: 4, Drop: DropAfterStdout, DropAfter: 30})
	require.Len(t, dropped, 2)
	assert.Equal(t, 25, len(dropped[0].stdout))
	assert.Equal(t, 5, len(dropped[1].stdout))
	assert.Empty(t, plan(Reply{Stdout: out, Drop: DropBeforeOutput}))
	require.Len(t, plan(Reply{}), 1, "no output: one answer, with Done")
}

// CLIXML writes an error record as Windows PowerShell does:
// testdata/clixml-write-error.txt is what Windows sent for Write-Error
// "Error" (see testdata/README.md).
func TestCLIXMLMatchesWindows(t *testing.T) {
	sample, err := os.ReadFile("testdata/clixml-write-error.txt")
	require.NoError(t, err)
	text := "Write-Error \"Error\" : Error\r\n" +
		"    + CategoryInfo          : NotSpecified: (:) [Write-Error], WriteErrorExcep \r\n" +
		"   tion\r\n" +
		"    + FullyQualifiedErrorId : Microsoft.PowerShell.Commands.WriteErrorExceptio \r\n" +
		"   n\r\n" +
		" \r\n"
	assert.Equal(t, string(sample), CLIXML(text))
	assert.Equal(t, text, ParseCLIXML(string(sample)))
	assert.Equal(t, "a &lt; b _x005F_x _x0009__x000D__x000A_", clixmlEscape("a < b _x \t\r\n"))
}
