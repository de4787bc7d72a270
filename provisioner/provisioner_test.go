package provisioner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ami-harden/packer-plugin-ami-harden/provisioner/steps"
)

// recordingComm is a communicator that records every upload and command, in
// order, and answers each command with scripted output and an exit status.
type recordingComm struct {
	uploads  map[string][]byte
	commands []string
	answers  []answer
	// uploadErrs fail the first uploads, one each.
	uploadErrs []error
}

type answer struct {
	stdout, stderr string
	exit           int
	hang           bool // never exits, like a command on a stuck connection
	// startErr: Start writes the output, then returns this error, as
	// Packer's WinRM communicator does for a connection lost mid-command.
	startErr error
}

func (c *recordingComm) Start(_ context.Context, cmd *packersdk.RemoteCmd) error {
	c.commands = append(c.commands, cmd.Command)
	a := answer{}
	if len(c.answers) > 0 {
		a, c.answers = c.answers[0], c.answers[1:]
	}
	if a.startErr != nil {
		if cmd.Stdout != nil {
			_, _ = io.WriteString(cmd.Stdout, a.stdout) // a lineWriter: never fails
		}
		cmd.SetExited(1)
		return a.startErr
	}
	go func() {
		if cmd.Stdout != nil {
			_, _ = io.WriteString(cmd.Stdout, a.stdout)
		}
		if cmd.Stderr != nil {
			_, _ = io.WriteString(cmd.Stderr, a.stderr)
		}
		if !a.hang {
			cmd.SetExited(a.exit)
		}
	}()
	return nil
}

func (c *recordingComm) Upload(path string, r io.Reader, _ *os.FileInfo) error {
	if len(c.uploadErrs) > 0 {
		err := c.uploadErrs[0]
		c.uploadErrs = c.uploadErrs[1:]
		c.commands = append(c.commands, "<failed upload "+path+">")
		return err
	}
	b, err := io.ReadAll(r)
	if c.uploads == nil {
		c.uploads = map[string][]byte{}
	}
	c.uploads[path] = b
	c.commands = append(c.commands, "<upload "+path+">")
	return err
}

func (c *recordingComm) UploadDir(string, string, []string) error { panic("not used") }
func (c *recordingComm) Download(string, io.Writer) error         { panic("not used") }
func (c *recordingComm) DownloadDir(string, string, []string) error {
	panic("not used")
}

// fullReport is what the script prints when every step of steps succeeds.
func fullReport(steps []string) string {
	var b strings.Builder
	b.WriteString("@@ami-harden begin 1\n")
	for _, s := range steps {
		b.WriteString("@@ami-harden start " + s + "\n@@ami-harden step " + s + " ok -\n")
	}
	b.WriteString("@@ami-harden end 0\n")
	return b.String()
}

func prepared(t *testing.T, raw map[string]interface{}) *Provisioner {
	t.Helper()
	p := &Provisioner{}
	require.NoError(t, p.Prepare(raw))
	return p
}

func provision(t *testing.T, p *Provisioner, user string, answers ...answer) (*recordingComm, *recordingUi, error) {
	comm := &recordingComm{answers: answers}
	ui := &recordingUi{}
	err := p.Provision(context.Background(), ui, comm, map[string]interface{}{"User": user, "ConnType": "ssh"})
	return comm, ui, err
}

func TestProvisionUploadsOnceAndRunsOnce(t *testing.T) {
	p := prepared(t, map[string]interface{}{})
	comm, ui, err := provision(t, p, "builder", answer{stdout: fullReport(steps.Names(steps.Linux)) + "a line of other output\n"})
	require.NoError(t, err)
	path := p.config.remotePath(linuxGuest{})
	assert.Regexp(t, `^/tmp/ami-harden-[0-9a-f]{12}\.sh$`, path)
	assert.Equal(t, []string{"<upload " + path + ">", "sudo -n env PACKER_BUILDER_TYPE='' PACKER_BUILD_NAME='' /bin/sh '" + path + "'"}, comm.commands)
	body := string(comm.uploads[path])
	assert.True(t, strings.HasPrefix(body, "#!/bin/sh\n"))
	assert.Contains(t, body, "AMI_HARDEN_STEPS='"+strings.Join(steps.Names(steps.Linux), " ")+"'\n")
	assert.Contains(t, body, "AMI_HARDEN_REMOVE_SELF='1'\n")
	shown := ui.said()
	n := len(steps.Names(steps.Linux))
	assert.Regexp(t, fmt.Sprintf(`^ami-harden: %d of %d steps reported: 0 changed, %d ok, 0 skipped, 0 failed in \d+(\.\d+)?[µm]?s$`, n, n, n), shown[len(shown)-1])
	assert.Contains(t, shown, "a line of other output", "other output passes through")
	assert.Contains(t, shown, "sshd           ok       -")
	assert.NotContains(t, strings.Join(shown, "\n"), "@@ami-harden", "protocol lines are not shown raw")
}

func TestProvisionAsRootNeedsNoSudo(t *testing.T) {
	p := prepared(t, map[string]interface{}{})
	comm, _, err := provision(t, p, "root", answer{stdout: fullReport(steps.Names(steps.Linux))})
	require.NoError(t, err)
	assert.Equal(t, "env PACKER_BUILDER_TYPE='' PACKER_BUILD_NAME='' /bin/sh '"+p.config.remotePath(linuxGuest{})+"'", comm.commands[1])
}

func TestProvisionExecuteCommand(t *testing.T) {
	p := prepared(t, map[string]interface{}{
		"execute_command": "echo 'packer' | sudo -S /bin/sh '{{.Path}}' # {{.User}}",
		"remote_path":     "/var/tmp/harden.sh",
		"steps":           []string{"logs", "sshd"},
	})
	comm, _, err := provision(t, p, "ec2-user", answer{stdout: fullReport([]string{"sshd", "logs"})})
	require.NoError(t, err)
	assert.Equal(t, "echo 'packer' | sudo -S /bin/sh '/var/tmp/harden.sh' # ec2-user", comm.commands[1])
	assert.Contains(t, string(comm.uploads["/var/tmp/harden.sh"]), "AMI_HARDEN_STEPS='sshd logs'\n", "steps run in script order")
}

func TestProvisionFailsClosed(t *testing.T) {
	steps := steps.Names(steps.Linux)
	full := fullReport(steps)
	cut := strings.SplitAfter(full, "@@ami-harden start passwords\n")[0]
	cases := map[string]struct {
		answer answer
		want   []string
	}{
		"lost connection during a step": {
			answer{stdout: cut, exit: packersdk.CmdDisconnect},
			[]string{"connection to the machine was lost during step passwords", "half hardened"},
		},
		"sudo needs a password": {
			answer{stderr: "sudo: a password is required\n", exit: 1},
			[]string{"never started", "exited with status 1", "execute_command"},
		},
		"failed step": {
			answer{stdout: strings.Replace(full, "step logs ok -", "step logs failed could not truncate /var/log/x", 1), exit: 1},
			[]string{"step logs failed: could not truncate /var/log/x"},
		},
		"missing step": {
			answer{stdout: strings.Replace(full, "@@ami-harden step temp ok -\n", "", 1)},
			[]string{"no report from step(s) temp"},
		},
		"non-zero exit with a clean report": {
			answer{stdout: full, exit: 3},
			[]string{"exited with status 3 although every step succeeded"},
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			p := prepared(t, map[string]interface{}{})
			_, _, err := provision(t, p, "builder", c.answer)
			require.Error(t, err)
			for _, w := range c.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

// A script that never started as root cannot remove itself: the
// provisioner does, so a failed run leaves no file behind.
func TestProvisionRemovesScriptThatNeverRan(t *testing.T) {
	p := prepared(t, map[string]interface{}{})
	comm, _, err := provision(t, p, "builder", answer{stderr: "sudo: a password is required\n", exit: 1})
	require.Error(t, err)
	require.Len(t, comm.commands, 3)
	assert.Equal(t, "rm -f '"+p.config.remotePath(linuxGuest{})+"'", comm.commands[2])
}

func TestFailedStepGoesToErrorOutput(t *testing.T) {
	p := prepared(t, map[string]interface{}{"steps": []string{"sshd"}})
	_, ui, err := provision(t, p, "builder", answer{
		stdout: "@@ami-harden begin 1\n@@ami-harden step sshd failed sshd -t rejected it\n@@ami-harden end 1\n", exit: 1})
	require.Error(t, err)
	assert.Equal(t, []string{"sshd           failed   sshd -t rejected it"}, ui.errors(), "the failed step, and only it, on the error stream")
	assert.Equal(t, [][]string{{"sshd", "failed", "sshd -t rejected it"}}, ui.machine("ami-harden-step"))
}

func TestProvisionCancelled(t *testing.T) {
	p := prepared(t, map[string]interface{}{})
	ctx, cancel := context.WithCancel(context.Background())
	comm := &recordingComm{answers: []answer{{stdout: "@@ami-harden begin 1\n@@ami-harden start sshd\n", hang: true}}}
	go func() {
		time.Sleep(50 * time.Millisecond)
		cancel()
	}()
	err := p.Provision(ctx, &recordingUi{}, comm, map[string]interface{}{"User": "builder"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cancelled while the script ran (step: sshd)")
}

func TestOnFailureContinue(t *testing.T) {
	full := fullReport(steps.Names(steps.Linux))
	failed := strings.Replace(full, "step logs ok -", "step logs failed could not truncate /var/log/x", 1)

	p := prepared(t, map[string]interface{}{"on_failure": "continue"})
	_, ui, err := provision(t, p, "builder", answer{stdout: failed, exit: 1})
	require.NoError(t, err, "a failed step lets the build go on")
	errs := ui.errors()
	require.Len(t, errs, 2, "the failed step, then why the build goes on")
	assert.Equal(t, "logs           failed   could not truncate /var/log/x", errs[0])
	assert.Contains(t, errs[1], `on_failure = "continue": the build goes on although`)

	p = prepared(t, map[string]interface{}{"on_failure": "continue"})
	_, _, err = provision(t, p, "builder", answer{stdout: strings.Replace(full, "@@ami-harden end 0\n", "", 1), exit: packersdk.CmdDisconnect})
	require.Error(t, err, "an incomplete report fails the build whatever on_failure says")

	p = prepared(t, map[string]interface{}{})
	_, _, err = provision(t, p, "builder", answer{stdout: failed, exit: 1})
	require.Error(t, err, "abort is the default")
}

// The report files are written when the build fails too, and the results
// go to -machine-readable output.
func TestReportFilesOnFailure(t *testing.T) {
	dir := t.TempDir()
	p := prepared(t, map[string]interface{}{
		"mode":        "audit",
		"report_file": dir + "/out/report.json",
		"junit_file":  dir + "/out/junit.xml",
	})
	audit := strings.Replace(fullReport(steps.Names(steps.Linux)), "@@ami-harden step temp ok -",
		"@@ami-harden finding temp /tmp/x exists\n@@ami-harden step temp finding 1 finding(s)", 1)
	comm, ui, err := provision(t, p, "builder", answer{stdout: audit, exit: 1})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "step temp found 1 thing(s) to fix: /tmp/x exists")
	assert.Contains(t, string(comm.uploads[p.config.remotePath(linuxGuest{})]), "AMI_HARDEN_MODE='audit'\n")
	b, rerr := os.ReadFile(dir + "/out/report.json")
	require.NoError(t, rerr)
	assert.Contains(t, string(b), `"mode": "audit"`)
	assert.Contains(t, string(b), `"/tmp/x exists"`)
	assert.Contains(t, string(b), `"result": "failed"`)
	assert.FileExists(t, dir+"/out/junit.xml")
	assert.Equal(t, [][]string{{"temp", "/tmp/x exists"}}, ui.machine("ami-harden-finding"))
	assert.Len(t, ui.machine("ami-harden-step"), len(steps.Names(steps.Linux)), "a machine-readable line per step")
	ok := strconv.Itoa(len(steps.Names(steps.Linux)) - 1)
	assert.Equal(t, [][]string{{"audit", "0", ok, "0", "0", "1", "0"}}, ui.machine("ami-harden-summary"))
	assert.Equal(t, []string{"temp           finding  1 finding(s)", "               - /tmp/x exists"}, ui.errors()[:2])
}

// A report file that cannot be written fails the build, on_failure or not.
func TestReportFileErrorFailsTheBuild(t *testing.T) {
	blocker := t.TempDir() + "/file"
	require.NoError(t, os.WriteFile(blocker, nil, 0o644))
	full := fullReport(steps.Names(steps.Linux))
	failed := strings.Replace(full, "step logs ok -", "step logs failed x", 1)
	for _, c := range []struct {
		answer answer
		extra  map[string]interface{}
	}{
		{answer{stdout: full}, nil},
		{answer{stdout: failed, exit: 1}, map[string]interface{}{"on_failure": "continue"}},
	} {
		raw := map[string]interface{}{"report_file": blocker + "/report.json"}
		for k, v := range c.extra {
			raw[k] = v
		}
		p := prepared(t, raw)
		_, _, err := provision(t, p, "builder", c.answer)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "could not write report_file")
	}
}

// A machine that does not answer yet (restarting) gets the upload and the
// start again until start_retry_timeout; over SSH a Start error means the
// session never opened, so nothing ran.
func TestProvisionRetriesUploadAndStart(t *testing.T) {
	p := prepared(t, map[string]interface{}{"steps": []string{"temp"}, "start_retry_timeout": "1m"})
	path := p.config.remotePath(linuxGuest{})
	report := "@@ami-harden begin 1\n@@ami-harden start temp\n@@ami-harden step temp ok -\n@@ami-harden end 0\n"
	comm := &recordingComm{
		uploadErrs: []error{errors.New("connection refused")},
		answers:    []answer{{startErr: errors.New("ssh: handshake failed")}, {stdout: report}},
	}
	ui := &recordingUi{}
	require.NoError(t, p.Provision(t.Context(), ui, comm, map[string]interface{}{"User": "root"}))
	run := "env PACKER_BUILDER_TYPE='' PACKER_BUILD_NAME='' /bin/sh '" + path + "'"
	assert.Equal(t, []string{"<failed upload " + path + ">", "<upload " + path + ">", run, "<upload " + path + ">", run}, comm.commands)
	shown := ui.said()
	assert.Contains(t, shown, "ami-harden: could not upload the script (connection refused); trying again until start_retry_timeout (1m0s)")
	assert.Contains(t, shown, "ami-harden: could not start the script (ssh: handshake failed); trying again until start_retry_timeout (1m0s)")
}

// Past start_retry_timeout the last error fails the build, naming it.
func TestProvisionGivesUpAfterStartRetryTimeout(t *testing.T) {
	p := prepared(t, map[string]interface{}{"steps": []string{"temp"}, "start_retry_timeout": "1s"})
	comm := &recordingComm{uploadErrs: []error{errors.New("no route"), errors.New("no route"), errors.New("no route"), errors.New("no route")}}
	err := p.Provision(t.Context(), &recordingUi{}, comm, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "could not upload the hardening script to "+p.config.remotePath(linuxGuest{})+": no route")
	assert.Less(t, len(comm.commands), 4, "tried for about a second, every 2 s")
}
