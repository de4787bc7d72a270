// Package provisioner is the ami-harden Packer provisioner: it uploads one
// hardening script, runs it once with administrator rights, shows its report
// step by step, and fails the build unless every step reported success.
package provisioner

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/packer-plugin-sdk/guestexec"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/retry"
	"github.com/hashicorp/packer-plugin-sdk/template/interpolate"

	"github.com/ami-harden/packer-plugin-ami-harden/provisioner/report"
	"github.com/ami-harden/packer-plugin-ami-harden/provisioner/reportfile"
	"github.com/ami-harden/packer-plugin-ami-harden/provisioner/script"
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

// Provision hardens the machine behind comm: one upload and one run (on
// Windows with elevated_user, one more upload: the scheduled-task wrapper).
// In audit mode the same script only checks. The report files are written
// whatever the outcome.
func (p *Provisioner) Provision(ctx context.Context, ui packersdk.Ui, comm packersdk.Communicator, generatedData map[string]interface{}) error {
	p.comm = comm
	os := p.config.targetOS(generatedData)
	steps, otherOS, err := p.config.stepsFor(os)
	if err != nil {
		return fmt.Errorf("ami-harden: %w", err)
	}
	if len(otherOS) > 0 {
		ui.Say(fmt.Sprintf("ami-harden: not steps of %s, skipped on this machine: %s", os, strings.Join(otherOS, ", ")))
	}
	started := time.Now()
	run := report.NewRun(steps)
	err = p.harden(ctx, ui, comm, os, steps, run, generatedData)
	finished := time.Now()

	ui.Say(fmt.Sprintf("ami-harden: %s in %s", run.Summary(), finished.Sub(started).Round(time.Millisecond)))
	c := run.Counts()
	ui.Machine("ami-harden-summary", p.config.Mode, strconv.Itoa(c[report.Changed]), strconv.Itoa(c[report.OK]),
		strconv.Itoa(c[report.Skipped]), strconv.Itoa(c[report.Failed]), strconv.Itoa(c[report.Finding]),
		strconv.Itoa(len(run.Missing())))
	// A report file that could not be written fails the build whatever
	// on_failure says: the record the user asked for is missing.
	if werr := p.writeReports(run, steps, os, started, finished, generatedData, err); werr != nil {
		if err != nil {
			return fmt.Errorf("%w\nami-harden: %v", err, werr)
		}
		return fmt.Errorf("ami-harden: %w", werr)
	}
	if err != nil && p.config.OnFailure == "continue" && run.Incomplete() == nil && errors.Is(err, errStepsFailed) {
		ui.Error("ami-harden: on_failure = \"continue\": the build goes on although " + err.Error())
		return nil
	}
	return err
}

// harden uploads and runs the script and reads its report into run.
func (p *Provisioner) harden(ctx context.Context, ui packersdk.Ui, comm packersdk.Communicator, os string, steps []string, run *report.Run, generatedData map[string]interface{}) error {
	remotePath := p.config.remotePath(os)
	buildUser, _ := generatedData["User"].(string)
	body := p.render(os, steps, buildUser)
	command, err := p.executeCommand(os, remotePath, generatedData)
	if err != nil {
		return fmt.Errorf("execute_command: %w", err)
	}

	verb := "Hardening"
	if p.config.Mode == modeAudit {
		verb = "Auditing (changing nothing)"
	}
	ui.Say(fmt.Sprintf("%s the image (%s, %d steps: %s)", verb, os, len(steps), strings.Join(steps, ", ")))
	elevated := os == osWindows && p.config.ElevatedUser != ""
	show := func(line string) { showLine(ui, run, line) }
	if elevated {
		// Packer's elevated runner tails the task's output with a loop that
		// can cut a line in two or miss the last ones: the report is read
		// from the script's report file afterwards; here only the rest shows.
		scratch := report.NewRun(steps)
		show = func(line string) {
			if _, protocol := scratch.Line(line); !protocol {
				ui.Say(line)
			}
		}
	}

	// The upload and the start are tried again until start_retry_timeout,
	// as Packer's shell and powershell provisioners do, but only while
	// nothing can have run: the script must never run twice, or twice at
	// once.
	var cmd *packersdk.RemoteCmd
	var stdout, stderr *lineWriter
	var startErr error
	winrm := generatedData["ConnType"] == "winrm"
	again := fmt.Sprintf("trying again until start_retry_timeout (%s)", p.config.StartRetryTimeout)
	// One deadline for all the tries and the questions between them.
	deadline := time.Now().Add(p.config.StartRetryTimeout)
	err = retry.Config{
		StartTimeout: p.config.StartRetryTimeout,
		ShouldRetry:  func(err error) bool { return errors.As(err, new(*notRunError)) },
	}.Run(ctx, func(ctx context.Context) error {
		if err := comm.Upload(remotePath, bytes.NewReader(body), nil); err != nil {
			ui.Say(fmt.Sprintf("ami-harden: could not upload the script (%v); %s", err, again))
			return &notRunError{fmt.Errorf("could not upload the hardening script to %s: %w", remotePath, err)}
		}
		command := command
		if elevated {
			var err error
			if command, err = guestexec.GenerateElevatedRunner(command, p); err != nil {
				ui.Say(fmt.Sprintf("ami-harden: could not upload the elevated runner (%v); %s", err, again))
				return &notRunError{fmt.Errorf("could not prepare the elevated run as %s: %w", p.config.ElevatedUser, err)}
			}
		}
		stdout = &lineWriter{emit: show}
		stderr = &lineWriter{emit: ui.Error}
		if os == osWindows {
			stderr.emit = psStderr(ui.Error)
		}
		cmd = &packersdk.RemoteCmd{Command: command, Stdout: stdout, Stderr: stderr}
		// Not the SDK's RemoteCmd.RunWithUi: on a Start error (WinRM's lost
		// connection, the case that matters here) it returns while its
		// reader may still be passing lines on, and that reader then loops
		// on closed channels, waiting for an exit status that never comes,
		// until the build's context ends (SDK v0.6.4, packer/communicator.go);
		// nor does it say whether any output came. lineWriter does both.
		// Over SSH, Start returns at once, and an error means nothing ran.
		// Over WinRM, Start runs the whole command and returns the transport
		// error of a connection lost on the way, even before any output: the
		// command was accepted and may have run, unless the script is still
		// there (it deletes itself first). No exit status follows such an
		// error through Packer's plugin RPC, so there is nothing to wait for.
		startErr = comm.Start(ctx, cmd)
		switch {
		case startErr == nil || stdout.Seen():
			return nil
		case !winrm:
			ui.Say(fmt.Sprintf("ami-harden: could not start the script (%v); %s", startErr, again))
			return &notRunError{fmt.Errorf("could not start the hardening script (%s): %w", command, startErr)}
		case stillThere(ctx, comm, remotePath, deadline):
			ui.Say(fmt.Sprintf("ami-harden: WinRM failed before the script began (%v); the script is still there, so it never ran; %s", startErr, again))
			return &notRunError{fmt.Errorf("could not start the hardening script (%s): %w", command, startErr)}
		}
		return nil
	})
	if err != nil {
		return err
	}
	exit := packersdk.CmdDisconnect
	if startErr == nil {
		if exit, err = wait(ctx, cmd); err != nil {
			return cancelled(run)
		}
	}
	stdout.Flush()
	stderr.Flush()
	lost := exit == packersdk.CmdDisconnect || startErr != nil
	if elevated {
		if rerr := p.readReportFile(ctx, ui, comm, run); rerr != nil {
			if startErr != nil {
				return fmt.Errorf("ami-harden: the image is not hardened: the connection to the machine was lost while the elevated script ran (%v), and %w: the image may be half hardened, do not use it", startErr, rerr)
			}
			return fmt.Errorf("ami-harden: the image is not hardened: %w", rerr)
		}
	}
	if !run.Began() && run.Aborted() == "" && !lost {
		// The script never started (an abort means it started and removed
		// itself first), so its file is still there.
		removeScript(ctx, comm, os, remotePath)
	}
	if run.Detached() != "" && run.Ended() && len(run.Failures()) == 0 && run.Incomplete() != nil {
		// Only the detached step is missing: it goes on, and the poll reads
		// its result. A connection lost after the end marker is Sysprep
		// resetting WinRM early, not a lost report.
		if err := p.waitSysprep(ctx, ui, comm, run); err != nil {
			return err
		}
		exit, lost = 0, false
	}
	if lost && startErr != nil {
		ui.Error(fmt.Sprintf("ami-harden: the connection was lost: %v", startErr))
	}
	return outcome(run, exit, lost, command)
}

// notRunError is a failure to upload or start the script after which
// nothing of it can have run: the only kind tried again.
type notRunError struct{ err error }

func (e *notRunError) Error() string { return e.err.Error() }
func (e *notRunError) Unwrap() error { return e.err }

// stillThere asks a Windows machine whether the uploaded script is still
// there, that is, never began (it deletes itself as it starts). Asking is
// harmless, so a machine that does not answer (WinRM restarting) is asked
// again until the deadline (start_retry_timeout's); no answer by then
// counts as no: the script may have run, and is not started again.
func stillThere(ctx context.Context, comm packersdk.Communicator, remotePath string, deadline time.Time) bool {
	ps := "if (Test-Path -LiteralPath " + script.QuotePS(remotePath) + ") { exit 3 }; exit 0\n"
	there := false
	ask := func(ctx context.Context) error {
		cmd := &packersdk.RemoteCmd{Command: encodedCommand(ps)}
		if err := comm.Start(ctx, cmd); err != nil {
			return err
		}
		exit, err := wait(ctx, cmd)
		if err != nil {
			return nil // cancelled: the build ends
		}
		there = exit == 3
		return nil
	}
	// At least one question, however little time is left.
	if err := ask(ctx); err != nil && time.Until(deadline) > 0 {
		_ = retry.Config{StartTimeout: time.Until(deadline)}.Run(ctx, ask)
	}
	return there
}

// cancelled is the error of a build cancelled while the script ran.
func cancelled(run *report.Run) error {
	step := run.Running()
	if step == "" {
		step = "none yet"
	}
	return fmt.Errorf("ami-harden: cancelled while the script ran (step: %s): the image may be half hardened, do not use it", step)
}

// writeReports writes report_file and junit_file, when they are set.
func (p *Provisioner) writeReports(run *report.Run, steps []string, os string, started, finished time.Time, generatedData map[string]interface{}, runErr error) error {
	if p.config.ReportFile == "" && p.config.JUnitFile == "" {
		return nil
	}
	doc := reportfile.New(run, steps, version.PluginVersion.FormattedVersion(), os, p.config.Mode, started, finished, runErr)
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

// render is the script for os with the configuration written in.
func (p *Provisioner) render(os string, steps []string, buildUser string) []byte {
	disable, kept := p.config.services(os)
	if os == osWindows {
		return script.RenderWindows(script.WindowsParams{
			Steps:           steps,
			WipePaths:       p.config.WipePaths,
			DisableServices: disable,
			KeepServices:    kept,
			Env:             p.envVars(),
			RemoveUsers:     p.config.RemoveUsers,
			KeepUsers:       p.config.KeepUsers,
			BuildUser:       buildUser,
			Sysprep:         p.config.Sysprep,
			SysprepShutdown: p.config.SysprepShutdown,
			Mode:            p.config.Mode,
			ReportFile:      p.reportFile(),
			RemoveSelf:      true,
		})
	}
	return script.RenderLinux(script.Params{
		Steps:             steps,
		SSHDSettings:      p.config.sshdSettings(),
		WipePaths:         p.config.WipePaths,
		KeepUsers:         p.config.KeepUsers,
		KeepCloudInitSeed: p.config.KeepCloudInitSeed,
		SecretsAllow:      p.config.SecretsAllow,
		RemoveUsers:       p.config.RemoveUsers,
		ShredPasses:       p.config.ShredPasses,
		DisableServices:   disable,
		KeepServices:      kept,
		Mode:              p.config.Mode,
		RemoveSelf:        true,
	})
}

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

// showLine puts one line of the script's output into Packer's UI: step
// results as aligned lines, failures and findings on the error stream and
// for `-machine-readable`, protocol markers hidden, everything else passed
// through.
func showLine(ui packersdk.Ui, run *report.Run, line string) {
	res, protocol := run.Line(line)
	switch {
	case res != nil:
		text := fmt.Sprintf("%-14s %-8s %s", res.Step, res.Status, res.Detail)
		if res.Status == report.Failed || res.Status == report.Finding {
			ui.Error(text)
		} else {
			ui.Say(text)
		}
		for _, f := range res.Findings {
			ui.Error("               - " + f)
			ui.Machine("ami-harden-finding", res.Step, f)
		}
		for _, n := range res.Notes {
			ui.Say("               note: " + n)
			ui.Machine("ami-harden-note", res.Step, n)
		}
		ui.Machine("ami-harden-step", res.Step, string(res.Status), res.Detail)
	case !protocol:
		ui.Say(line)
	}
}

// executeCommand renders execute_command, or the default for os, with
// {{.Path}}, {{.Vars}} and the build's generated data.
func (p *Provisioner) executeCommand(os, remotePath string, generatedData map[string]interface{}) (string, error) {
	tmpl := p.config.ExecuteCommand
	if tmpl == "" {
		switch user, _ := generatedData["User"].(string); {
		case os == osWindows:
			tmpl = `powershell -NoProfile -NonInteractive -ExecutionPolicy Bypass -File "{{.Path}}"`
		case user == "root":
			tmpl = "env {{.Vars}} /bin/sh '{{.Path}}'"
		default:
			// env sets the variables after sudo: no sudoers policy on
			// which variables a user may pass is involved.
			tmpl = "sudo -n env {{.Vars}} /bin/sh '{{.Path}}'"
		}
	}
	data := map[string]interface{}{}
	for k, v := range generatedData {
		data[k] = v
	}
	data["Path"] = remotePath
	data["Vars"] = flatVars(os, p.envVars())
	ictx := p.config.ctx
	ictx.Data = data
	return interpolate.Render(tmpl, &ictx)
}

// envVars are the script's environment: Packer's own variables, as the
// shell provisioner sets them, then environment_vars, sorted by name (a
// later value of a name wins).
func (p *Provisioner) envVars() []string {
	vars := map[string]string{
		"PACKER_BUILD_NAME":   p.config.PackerBuildName,
		"PACKER_BUILDER_TYPE": p.config.PackerBuilderType,
	}
	for _, kv := range p.config.EnvironmentVars {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k + "=" + vars[k]
	}
	return out
}

// flatVars is {{.Vars}}: KEY='value' words for sh, or $env: assignments for
// PowerShell. Values are quoted data, never code.
func flatVars(os string, vars []string) string {
	words := make([]string, len(vars))
	for i, kv := range vars {
		k, v, _ := strings.Cut(kv, "=")
		if os == osWindows {
			words[i] = "$env:" + k + "=" + script.QuotePS(v) + ";"
		} else {
			words[i] = k + "=" + script.Quote(v)
		}
	}
	return strings.Join(words, " ")
}

// removeScript deletes the uploaded script when it never ran; best effort,
// the build is failing already.
func removeScript(ctx context.Context, comm packersdk.Communicator, os, remotePath string) {
	command := "rm -f '" + remotePath + "'"
	if os == osWindows {
		command = `powershell -NoProfile -NonInteractive -Command "Remove-Item -LiteralPath '` + remotePath + `' -Force -ErrorAction SilentlyContinue"`
	}
	cmd := &packersdk.RemoteCmd{Command: command}
	if err := comm.Start(ctx, cmd); err == nil {
		cmd.Wait()
	}
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
