// Package provisioner is the ami-harden Packer provisioner: it uploads one
// hardening script, runs it once with administrator rights, shows its report
// step by step, and fails the build unless every step reported success.
//
// The block's options are config.go (checked in validate.go, chosen from at
// run time in selection.go); what differs between Linux and Windows is a
// guest (guest.go, linux.go, windows.go, sysprep.go); the script's output
// becomes Packer's in output.go.
package provisioner

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2/hcldec"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/retry"
	"github.com/hashicorp/packer-plugin-sdk/template/interpolate"

	"github.com/ami-harden/packer-plugin-ami-harden/provisioner/report"
	"github.com/ami-harden/packer-plugin-ami-harden/provisioner/reportfile"
	"github.com/ami-harden/packer-plugin-ami-harden/version"
)

// Provisioner implements packersdk.Provisioner.
type Provisioner struct {
	config Config
	// comm is the communicator of the running provisioning, for the
	// elevated runner (guestexec.ElevatedProvisioner).
	comm packersdk.Communicator
}

// ConfigSpec returns the HCL2 spec generated from Config.
func (p *Provisioner) ConfigSpec() hcldec.ObjectSpec { return p.config.FlatMapstructure().HCL2Spec() }

// Prepare decodes and checks the block (Config.Prepare).
func (p *Provisioner) Prepare(raws ...interface{}) error { return p.config.Prepare(raws...) }

// Provision hardens the machine behind comm: one upload and one run (on
// Windows with elevated_user, one more upload: the scheduled-task wrapper).
// In audit mode the same script only checks. The report files are written
// whatever the outcome.
func (p *Provisioner) Provision(ctx context.Context, ui packersdk.Ui, comm packersdk.Communicator, generatedData map[string]interface{}) error {
	p.comm = comm
	g := p.guestFor(generatedData)
	steps, otherOS, err := p.config.stepsFor(g.os())
	if err != nil {
		return fmt.Errorf("ami-harden: %w", err)
	}
	if len(otherOS) > 0 {
		ui.Say(fmt.Sprintf("ami-harden: not steps of %s, skipped on this machine: %s", g.os(), strings.Join(otherOS, ", ")))
	}
	if _, windows := g.(*windowsGuest); windows && p.config.SysprepShutdown != nil {
		ui.Say("ami-harden: sysprep_shutdown is deprecated and changes nothing: the machine always powers itself off once Sysprep has generalised it; remove the setting")
	}

	started := time.Now()
	run := report.NewRun(steps)
	err = p.harden(ctx, ui, comm, g, run, generatedData)
	if err == nil || errors.Is(err, errStepsFailed) {
		// Windows: what the run handed over, and the wait for the
		// power-off that says it is done.
		if ferr := g.finish(ctx, ui, run, generatedData); ferr != nil && err == nil {
			err = ferr
		}
	}
	finished := time.Now()

	ui.Say(fmt.Sprintf("ami-harden: %s in %s", run.Summary(), finished.Sub(started).Round(time.Millisecond)))
	c := run.Counts()
	ui.Machine("ami-harden-summary", string(p.config.Mode), strconv.Itoa(c[report.Changed]), strconv.Itoa(c[report.OK]),
		strconv.Itoa(c[report.Skipped]), strconv.Itoa(c[report.Failed]), strconv.Itoa(c[report.Finding]),
		strconv.Itoa(len(run.Missing())))
	// A report file that could not be written fails the build whatever
	// on_failure says: the record the user asked for is missing.
	if werr := p.writeReports(run, g.os(), started, finished, generatedData, err); werr != nil {
		if err != nil {
			return fmt.Errorf("%w\nami-harden: %v", err, werr)
		}
		return fmt.Errorf("ami-harden: %w", werr)
	}
	if err != nil && p.config.OnFailure == OnFailureContinue && run.Incomplete() == nil && errors.Is(err, errStepsFailed) {
		ui.Error("ami-harden: on_failure = \"continue\": the build goes on although " + err.Error())
		return nil
	}
	return err
}

// harden uploads and runs the script and reads its report into run.
func (p *Provisioner) harden(ctx context.Context, ui packersdk.Ui, comm packersdk.Communicator, g guest, run *report.Run, generatedData map[string]interface{}) error {
	remotePath := p.config.remotePath(g)
	user, _ := generatedData["User"].(string)
	body := g.render(run.Expected(), user)
	command, err := p.executeCommand(g, remotePath, generatedData)
	if err != nil {
		return fmt.Errorf("execute_command: %w", err)
	}
	verb := "Hardening"
	if p.config.Mode == ModeAudit {
		verb = "Auditing (changing nothing)"
	}
	ui.Say(fmt.Sprintf("%s the image (%s, %d steps: %s)", verb, g.os(), len(run.Expected()), strings.Join(run.Expected(), ", ")))

	r, err := p.start(ctx, ui, comm, g, run, remotePath, body, command)
	if err != nil {
		return err
	}
	exit := packersdk.CmdDisconnect
	if r.startErr == nil {
		if exit, err = wait(ctx, r.cmd); err != nil {
			return cancelled(run)
		}
	}
	r.stdout.Flush()
	r.stderr.Flush()
	lost := exit == packersdk.CmdDisconnect || r.startErr != nil

	if err := g.afterRun(ctx, ui, comm, run, r.startErr); err != nil {
		return err
	}
	if !run.Began() && run.Aborted() == "" && !lost {
		// The script never started (an abort means it started and removed
		// itself first), so its file is still there. Best effort: the build
		// is failing already.
		remove := &packersdk.RemoteCmd{Command: g.removeCommand(remotePath)}
		if err := comm.Start(ctx, remove); err == nil {
			remove.Wait()
		}
	}
	if lost && r.startErr != nil {
		ui.Error(fmt.Sprintf("ami-harden: the connection was lost: %v", r.startErr))
	}
	return outcome(run, exit, lost, command)
}

// started is a started script: its command, its two streams, and the
// transport error its Start returned after output had come (WinRM's lost
// connection), if any.
type started struct {
	cmd            *packersdk.RemoteCmd
	stdout, stderr *lineWriter
	startErr       error
}

// start uploads the script and starts it. Both are tried again until
// start_retry_timeout, as Packer's shell and powershell provisioners do,
// but only while nothing can have run: the script must never run twice,
// or twice at once.
func (p *Provisioner) start(ctx context.Context, ui packersdk.Ui, comm packersdk.Communicator, g guest, run *report.Run, remotePath string, body []byte, command string) (*started, error) {
	var r *started
	again := fmt.Sprintf("trying again until start_retry_timeout (%s)", p.config.StartRetryTimeout)
	// One deadline for all the tries and the questions between them.
	deadline := time.Now().Add(p.config.StartRetryTimeout)
	err := retry.Config{
		StartTimeout: p.config.StartRetryTimeout,
		ShouldRetry:  func(err error) bool { return errors.As(err, new(*notRunError)) },
	}.Run(ctx, func(ctx context.Context) error {
		if err := comm.Upload(remotePath, bytes.NewReader(body), nil); err != nil {
			ui.Say(fmt.Sprintf("ami-harden: could not upload the script (%v); %s", err, again))
			return &notRunError{fmt.Errorf("could not upload the hardening script to %s: %w", remotePath, err)}
		}
		wrapped, err := g.wrap(command)
		if err != nil {
			ui.Say(fmt.Sprintf("ami-harden: could not upload the elevated runner (%v); %s", err, again))
			return &notRunError{fmt.Errorf("could not prepare the elevated run as %s: %w", p.config.ElevatedUser, err)}
		}
		stdout, stderr := g.output(ui, run)
		r = &started{stdout: &lineWriter{emit: stdout}, stderr: &lineWriter{emit: stderr}}
		r.cmd = &packersdk.RemoteCmd{Command: wrapped, Stdout: r.stdout, Stderr: r.stderr}
		// Not the SDK's RemoteCmd.RunWithUi: on a Start error (WinRM's lost
		// connection, the case that matters here) it returns while its
		// reader may still be passing lines on, and that reader then loops
		// on closed channels, waiting for an exit status that never comes,
		// until the build's context ends (SDK v0.6.4, packer/communicator.go);
		// nor does it say whether any output came. lineWriter does both.
		// No exit status follows a Start error through Packer's plugin RPC,
		// so there is nothing to wait for then.
		r.startErr = comm.Start(ctx, r.cmd)
		if r.startErr == nil || r.stdout.Seen() {
			return nil
		}
		if why := g.neverRan(ctx, comm, remotePath, deadline, r.startErr); why != "" {
			ui.Say(fmt.Sprintf("ami-harden: %s; %s", why, again))
			return &notRunError{fmt.Errorf("could not start the hardening script (%s): %w", command, r.startErr)}
		}
		return nil
	})
	return r, err
}

// notRunError is a failure to upload or start the script after which
// nothing of it can have run: the only kind tried again.
type notRunError struct{ err error }

func (e *notRunError) Error() string { return e.err.Error() }
func (e *notRunError) Unwrap() error { return e.err }

// wait waits for the remote command, or for the build to be cancelled.
func wait(ctx context.Context, cmd *packersdk.RemoteCmd) (int, error) {
	done := make(chan int, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case exit := <-done:
		return exit, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// cancelled is the error of a build cancelled while the script ran.
func cancelled(run *report.Run) error {
	step := run.Running()
	if step == "" {
		step = "none yet"
	}
	return fmt.Errorf("ami-harden: cancelled while the script ran (step: %s): the image may be half hardened, do not use it", step)
}

// errStepsFailed marks a result whose only problems are failed steps or
// findings: the one kind of failure on_failure = "continue" lets through.
var errStepsFailed = errors.New("some steps failed or found something to fix")

// outcome turns the report and the exit status into the provisioner's
// result. A lost connection fails the build unless the whole report
// arrived first.
func outcome(run *report.Run, exit int, lost bool, command string) error {
	var msgs []string
	if lost && !run.Complete() {
		last := "before the first step started"
		if step := run.Running(); step != "" {
			last = "during step " + step
		} else if r := run.Results(); len(r) > 0 {
			last = "after step " + r[len(r)-1].Step + " reported"
		}
		msgs = append(msgs, "the connection to the machine was lost "+last+
			": the image may be half hardened; do not use it, and run ami-harden as the last provisioner")
	}
	if err := run.Incomplete(); err != nil {
		msgs = append(msgs, err.Error())
	}
	failures := run.Failures()
	if exit != 0 && !lost && len(msgs) == 0 && len(failures) == 0 {
		msgs = append(msgs, fmt.Sprintf("the hardening script exited with status %d although every step succeeded", exit))
	}
	if !run.Began() && run.Aborted() == "" && !lost {
		msgs = append(msgs, fmt.Sprintf("%q exited with status %d; a login user without passwordless sudo needs execute_command set to a way of becoming root (on Windows: elevated_user)", command, exit))
	}
	switch {
	case len(msgs) > 0:
		return fmt.Errorf("ami-harden: the image is not hardened:\n%s", strings.Join(append(msgs, failures...), "\n"))
	case len(failures) > 0:
		return fmt.Errorf("ami-harden: the image is not hardened: %w:\n%s", errStepsFailed, strings.Join(failures, "\n"))
	}
	return nil
}

// executeCommand renders execute_command, or the guest's default, with
// {{.Path}}, {{.Vars}} and the build's generated data.
func (p *Provisioner) executeCommand(g guest, remotePath string, generatedData map[string]interface{}) (string, error) {
	tmpl := p.config.ExecuteCommand
	if tmpl == "" {
		user, _ := generatedData["User"].(string)
		tmpl = g.defaultCommand(user)
	}
	data := map[string]interface{}{}
	for k, v := range generatedData {
		data[k] = v
	}
	data["Path"] = remotePath
	data["Vars"] = g.vars(p.config.envVars())
	ictx := p.config.ctx
	ictx.Data = data
	return interpolate.Render(tmpl, &ictx)
}

// writeReports writes report_file and junit_file, when they are set.
func (p *Provisioner) writeReports(run *report.Run, os string, started, finished time.Time, generatedData map[string]interface{}, runErr error) error {
	if p.config.ReportFile == "" && p.config.JUnitFile == "" {
		return nil
	}
	doc := reportfile.New(run, run.Expected(), version.PluginVersion.FormattedVersion(), os, string(p.config.Mode), started, finished, runErr)
	uuid, _ := generatedData["PackerRunUUID"].(string)
	doc.Build = reportfile.Build{
		Name:        p.config.PackerBuildName,
		BuilderType: p.config.PackerBuilderType,
		RunUUID:     uuid,
	}
	if p.config.ReportFile != "" {
		if err := reportfile.WriteJSON(p.config.ReportFile, doc); err != nil {
			return fmt.Errorf("could not write report_file: %w", err)
		}
	}
	if p.config.JUnitFile != "" {
		if err := reportfile.WriteJUnit(p.config.JUnitFile, doc); err != nil {
			return fmt.Errorf("could not write junit_file: %w", err)
		}
	}
	return nil
}

// Communicator, ElevatedUser and ElevatedPassword make the provisioner a
// guestexec.ElevatedProvisioner, for the scheduled-task runner.
func (p *Provisioner) Communicator() packersdk.Communicator { return p.comm }
func (p *Provisioner) ElevatedUser() string                 { return p.config.ElevatedUser }
func (p *Provisioner) ElevatedPassword() string             { return p.config.ElevatedPassword }

func randomSuffix() string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// sayHandover tells what a Windows script left to a process of its own on
// the machine.
func sayHandover(ui packersdk.Ui, h report.Handover) {
	switch h.State {
	case report.HandoverStarted:
		ui.Say("ami-harden: handed over to a process on the machine: " + h.Text)
	case report.HandoverWithheld:
		ui.Error("ami-harden: nothing was handed over: " + h.Text)
	default:
		return
	}
	ui.Machine("ami-harden-handover", h.State, h.Text)
}
