package provisioner

import (
	"context"
	"fmt"
	"strings"
	"time"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/ami-harden/packer-plugin-ami-harden/provisioner/report"
	"github.com/ami-harden/packer-plugin-ami-harden/provisioner/script"
	"github.com/ami-harden/packer-plugin-ami-harden/provisioner/steps"
)

// linuxGuest hardens Linux: a POSIX sh script run as root, over SSH (or
// any communicator but WinRM).
type linuxGuest struct{ c *Config }

func (linuxGuest) os() string { return steps.Linux }

func (linuxGuest) defaultRemotePath(suffix string) string { return "/tmp/ami-harden-" + suffix + ".sh" }

// defaultCommand runs the script with sudo unless the login user is root.
// env sets the variables after sudo: no sudoers policy on which variables
// a user may pass is involved. sudo -n never waits for a password.
func (linuxGuest) defaultCommand(user string) string {
	if user == "root" {
		return "env {{.Vars}} /bin/sh '{{.Path}}'"
	}
	return "sudo -n env {{.Vars}} /bin/sh '{{.Path}}'"
}

// vars are KEY='value' words: each value single-quoted, data and never code.
func (linuxGuest) vars(env []string) string {
	words := make([]string, len(env))
	for i, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		words[i] = k + "=" + script.Quote(v)
	}
	return strings.Join(words, " ")
}

func (g linuxGuest) render(run []string, _ string) []byte {
	disable, kept := g.c.services(steps.Linux)
	return script.RenderLinux(script.Params{
		Steps:               run,
		SSHDSettings:        g.c.sshdSettings(),
		SSHDAlgorithms:      g.c.SSHDAlgorithms,
		WipePaths:           g.c.WipePaths,
		KeepPaths:           g.c.KeepPaths,
		KeepUsers:           g.c.KeepUsers,
		RequireKeyInstaller: g.c.requireKeyInstaller(),
		FreeSpaceExclude:    g.c.WipeFreeSpaceExclude,
		KeepCloudInitSeed:   g.c.KeepCloudInitSeed,
		SecretsAllow:        g.c.SecretsAllow,
		RemoveUsers:         g.c.RemoveUsers,
		ShredPasses:         g.c.ShredPasses,
		DisableServices:     disable,
		KeepServices:        kept,
		Mode:                string(g.c.Mode),
		RemoveSelf:          true,
	})
}

func (linuxGuest) wrap(command string) (string, error) { return command, nil }

func (linuxGuest) output(ui packersdk.Ui, run *report.Run) (stdout, stderr func(string)) {
	return func(line string) { showLine(ui, run, line) }, ui.Error
}

// neverRan: over SSH, Start returns at once, and an error means the
// session never opened.
func (linuxGuest) neverRan(_ context.Context, _ packersdk.Communicator, _ string, _ time.Time, startErr error) string {
	return fmt.Sprintf("could not start the script (%v)", startErr)
}

func (linuxGuest) removeCommand(remotePath string) string { return "rm -f '" + remotePath + "'" }

// afterRun: the report came with the output; nothing goes on after it.
func (linuxGuest) afterRun(context.Context, packersdk.Ui, packersdk.Communicator, *report.Run, error) error {
	return nil
}

// finish: nothing goes on after a Linux run.
func (linuxGuest) finish(context.Context, packersdk.Ui, *report.Run, map[string]interface{}) error {
	return nil
}
