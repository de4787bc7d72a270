// Package provisioner is the ami-harden Packer provisioner: it uploads one
// hardening script, runs it once as root, shows its report step by step, and
// fails the build unless every step reported success.
package provisioner

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2/hcldec"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/template/interpolate"

	"github.com/ami-harden/packer-plugin-ami-harden/provisioner/report"
	"github.com/ami-harden/packer-plugin-ami-harden/provisioner/script"
)

// Provisioner implements packersdk.Provisioner.
type Provisioner struct {
	config Config
}

// ConfigSpec returns the HCL2 spec generated from Config.
func (p *Provisioner) ConfigSpec() hcldec.ObjectSpec { return p.config.FlatMapstructure().HCL2Spec() }

// Provision hardens the machine behind comm. It opens two remote sessions:
// one upload and one run; the script removes itself.
func (p *Provisioner) Provision(ctx context.Context, ui packersdk.Ui, comm packersdk.Communicator, generatedData map[string]interface{}) error {
	steps := p.config.selectedSteps()
	body := script.RenderLinux(script.Params{
		Steps:        steps,
		SSHDSettings: p.config.sshdSettings(),
		ExtraPaths:   p.config.ExtraPaths,
		ShredPasses:  p.config.ShredPasses,
		RemoveSelf:   true,
	})
	command, err := p.executeCommand(generatedData)
	if err != nil {
		return fmt.Errorf("execute_command: %w", err)
	}

	ui.Say(fmt.Sprintf("Hardening the image (%d steps: %s)", len(steps), strings.Join(steps, ", ")))
	if err := comm.Upload(p.config.RemotePath, bytes.NewReader(body), nil); err != nil {
		return fmt.Errorf("could not upload the hardening script to %s: %w", p.config.RemotePath, err)
	}

	run := report.NewRun(steps)
	stdout := &lineWriter{emit: func(line string) { showLine(ui, run, line) }}
	stderr := &lineWriter{emit: ui.Error}
	cmd := &packersdk.RemoteCmd{Command: command, Stdout: stdout, Stderr: stderr}
	if err := comm.Start(ctx, cmd); err != nil {
		return fmt.Errorf("could not start the hardening script (%s): %w", command, err)
	}
	exit, err := wait(ctx, cmd)
	stdout.Flush()
	stderr.Flush()
	if err != nil {
		step := run.Running()
		if step == "" {
			step = "none yet"
		}
		return fmt.Errorf("ami-harden: cancelled while the script ran (step: %s): the image may be half hardened, do not use it", step)
	}

	if !run.Began() && exit != packersdk.CmdDisconnect {
		// The script never ran as root, so it could not delete itself.
		removeScript(ctx, comm, p.config.RemotePath)
	}
	ui.Say("ami-harden: " + run.Summary())
	return outcome(run, exit, command)
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

// outcome turns the report and the exit status into the provisioner's result.
func outcome(run *report.Run, exit int, command string) error {
	var msgs []string
	if exit == packersdk.CmdDisconnect {
		last := "before the first step started"
		if step := run.Running(); step != "" {
			last = "during step " + step
		} else if r := run.Results(); len(r) > 0 {
			last = "after step " + r[len(r)-1].Step + " reported"
		}
		msgs = append(msgs, "the connection to the machine was lost "+last+
			": the image may be half hardened; do not use it, and run ami-harden as the last provisioner")
	}
	if err := run.Err(); err != nil {
		msgs = append(msgs, err.Error())
	}
	if exit != 0 && exit != packersdk.CmdDisconnect && len(msgs) == 0 {
		msgs = append(msgs, fmt.Sprintf("the hardening script exited with status %d although every step succeeded", exit))
	}
	if !run.Began() && run.Aborted() == "" && exit != packersdk.CmdDisconnect {
		msgs = append(msgs, fmt.Sprintf("%q exited with status %d; a login user without passwordless sudo needs execute_command set to a way of becoming root", command, exit))
	}
	if len(msgs) == 0 {
		return nil
	}
	return fmt.Errorf("ami-harden: the image is not hardened:\n%s", strings.Join(msgs, "\n"))
}

// showLine puts one line of the script's output into Packer's UI: step
// results as aligned lines (failures on the error stream), protocol markers
// hidden, everything else passed through.
func showLine(ui packersdk.Ui, run *report.Run, line string) {
	res, protocol := run.Line(line)
	switch {
	case res != nil && res.Status == report.Failed:
		ui.Error(fmt.Sprintf("%-12s %-8s %s", res.Step, res.Status, res.Detail))
	case res != nil:
		ui.Say(fmt.Sprintf("%-12s %-8s %s", res.Step, res.Status, res.Detail))
	case !protocol:
		ui.Message(line)
	}
}

// executeCommand renders execute_command with {{.Path}}.
func (p *Provisioner) executeCommand(generatedData map[string]interface{}) (string, error) {
	tmpl := p.config.ExecuteCommand
	if tmpl == "" {
		tmpl = "sudo -n /bin/sh '{{.Path}}'"
		if user, _ := generatedData["User"].(string); user == "root" {
			tmpl = "/bin/sh '{{.Path}}'"
		}
	}
	data := map[string]interface{}{}
	for k, v := range generatedData {
		data[k] = v
	}
	data["Path"] = p.config.RemotePath
	ictx := p.config.ctx
	ictx.Data = data
	return interpolate.Render(tmpl, &ictx)
}

// removeScript deletes the uploaded script when it never ran; best effort,
// the build is failing already.
func removeScript(ctx context.Context, comm packersdk.Communicator, remotePath string) {
	cmd := &packersdk.RemoteCmd{Command: "rm -f '" + remotePath + "'"}
	if err := comm.Start(ctx, cmd); err == nil {
		cmd.Wait()
	}
}

func randomSuffix() string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
