package provisioner

import (
	"context"
	"time"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/ami-harden/packer-plugin-ami-harden/provisioner/report"
	"github.com/ami-harden/packer-plugin-ami-harden/provisioner/steps"
)

// guest is what the provisioner does differently on each system it
// hardens (linux.go, windows.go). Provision runs the same way for both and
// asks the guest for the parts that differ.
type guest interface {
	// os is the system: steps.Linux or steps.Windows.
	os() string
	// defaultRemotePath is where the script goes unless remote_path says.
	defaultRemotePath(suffix string) string
	// defaultCommand is execute_command's default for the login user.
	defaultCommand(user string) string
	// vars is {{.Vars}}: the environment as the system's shell writes it.
	vars(env []string) string
	// render is the script that runs steps, with the configuration in it.
	render(steps []string, buildUser string) []byte
	// wrap is the command as it is started: on Windows with
	// elevated_user, Packer's scheduled-task runner (uploaded here).
	wrap(command string) (string, error)
	// output are the handlers of the script's two streams, line by line.
	output(ui packersdk.Ui, run *report.Run) (stdout, stderr func(string))
	// neverRan says, after Start failed with startErr and no output, how
	// it is known that the script never began, or "" when it may have: only
	// a script that never began is started again.
	neverRan(ctx context.Context, comm packersdk.Communicator, remotePath string, deadline time.Time, startErr error) string
	// removeCommand deletes the uploaded script when it never began (it
	// deletes itself as it starts).
	removeCommand(remotePath string) string
	// afterRun completes the report once the script's command has ended
	// (Windows with elevated_user: the report file).
	afterRun(ctx context.Context, ui packersdk.Ui, comm packersdk.Communicator, run *report.Run, startErr error) error
	// finish does what comes after a sound run, without the communicator
	// (Windows: waits for the machine to power itself off after a
	// handover).
	finish(ctx context.Context, ui packersdk.Ui, run *report.Run, generatedData map[string]interface{}) error
}

// guestFor is the guest of the machine: guest_os_type, or what the
// communicator says (WinRM means Windows).
func (p *Provisioner) guestFor(generatedData map[string]interface{}) guest {
	if p.config.targetOS(generatedData) == steps.Windows {
		w := &windowsGuest{c: &p.config, winrm: generatedData["ConnType"] == "winrm"}
		if p.config.ElevatedUser != "" {
			w.elevated = p
		}
		return w
	}
	return &linuxGuest{c: &p.config}
}
