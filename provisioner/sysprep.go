package provisioner

import (
	"context"
	"fmt"
	"os"
	"time"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/ami-harden/packer-plugin-ami-harden/provisioner/report"
	"github.com/ami-harden/packer-plugin-ami-harden/provisioner/script"
)

// pollInterval is the pause between two questions to the detached Sysprep.
// AMI_HARDEN_POLL_INTERVAL (a Go duration) shortens it for the plugin's own
// tests against a fake WinRM endpoint; builds leave it alone.
func pollInterval() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("AMI_HARDEN_POLL_INTERVAL")); err == nil && d > 0 {
		return d
	}
	return 10 * time.Second
}

// waitSysprep asks the detached Sysprep for its state, one short command at
// a time, until it reports the sysprep step. Sysprep resets WinRM on its
// way: a command that fails (a dropped connection, a 401) is asked again
// until sysprep_timeout. In shutdown mode the answer "done" also tells the
// runner to shut the machine down, so it is the last command of the build.
func (g *windowsGuest) waitSysprep(ctx context.Context, ui packersdk.Ui, comm packersdk.Communicator, run *report.Run) error {
	ui.Say(fmt.Sprintf("ami-harden: Sysprep runs detached (%s); asking for its result every %s, for up to %s",
		run.Waiting(), pollInterval(), g.c.SysprepTimeout))
	command := encodedCommand(script.RenderWindowsPoll(script.WindowsSysprepStateDir, g.c.SysprepShutdown))
	deadline := time.Now().Add(g.c.SysprepTimeout)
	var last string
	for polls := 1; ; polls++ {
		exit, errText, cancelled, err := askWindows(ctx, ui, comm, run, command)
		if cancelled {
			return cancelledSysprep(run)
		}
		if run.Detached() == "" {
			return nil
		}
		switch {
		case ctx.Err() != nil:
			return cancelledSysprep(run)
		case err != nil:
			last = fmt.Sprintf("poll %d: the machine did not answer: %v", polls, err)
			ui.Say("ami-harden: " + last + " (Sysprep resets WinRM; asking again)")
		case exit != 0:
			last = fmt.Sprintf("poll %d exited %d: %s", polls, exit, errText)
			ui.Say("ami-harden: " + last)
		default:
			last = "Sysprep still running: " + run.Waiting()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("ami-harden: the image is not hardened: step sysprep gave no result within sysprep_timeout (%s); last: %s. "+
				"The machine may be half generalised: do not use the image; see C:\\Windows\\System32\\Sysprep\\Panther\\setuperr.log",
				g.c.SysprepTimeout, last)
		}
		select {
		case <-ctx.Done():
			return cancelledSysprep(run)
		case <-time.After(pollInterval()):
		}
	}
}

func cancelledSysprep(run *report.Run) error {
	return fmt.Errorf("ami-harden: cancelled while Sysprep ran (%s): the image may be half generalised, do not use it", run.Waiting())
}
