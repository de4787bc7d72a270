package provisioner

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/hashicorp/packer-plugin-sdk/guestexec"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/retry"

	"github.com/ami-harden/packer-plugin-ami-harden/provisioner/report"
	"github.com/ami-harden/packer-plugin-ami-harden/provisioner/script"
	"github.com/ami-harden/packer-plugin-ami-harden/provisioner/steps"
)

// windowsGuest hardens Windows: a Windows PowerShell 5.1 script run as an
// administrator, over WinRM or SSH. Its last step hands Sysprep to a process
// of its own on the machine, which starts when the script has ended (and,
// with elevated_user, once the report file is read): from then on nothing
// of the build goes over WinRM, and the provisioner waits for the machine
// to power itself off.
type windowsGuest struct {
	c *Config
	// elevated runs the script through Packer's scheduled-task runner as
	// elevated_user; nil without it.
	elevated guestexec.ElevatedProvisioner
	// winrm: the communicator is WinRM, not SSH.
	winrm bool
}

func (windowsGuest) os() string { return steps.Windows }

func (windowsGuest) defaultRemotePath(suffix string) string {
	return "C:/Windows/Temp/ami-harden-" + suffix + ".ps1"
}

// defaultCommand: the variables are set at the top of the script itself.
func (windowsGuest) defaultCommand(string) string {
	return `powershell -NoProfile -NonInteractive -ExecutionPolicy Bypass -File "{{.Path}}"`
}

// vars are PowerShell statements, $env:KEY='value';, for a command of the
// user's own. Values are quoted data, never code.
func (windowsGuest) vars(env []string) string {
	words := make([]string, len(env))
	for i, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		words[i] = "$env:" + k + "=" + script.QuotePS(v) + ";"
	}
	return strings.Join(words, " ")
}

func (g *windowsGuest) render(run []string, buildUser string) []byte {
	disable, kept := g.c.services(steps.Windows)
	return script.RenderWindows(script.WindowsParams{
		Steps:           run,
		WipePaths:       g.c.WipePaths,
		DisableServices: disable,
		KeepServices:    kept,
		Env:             g.c.envVars(),
		RemoveUsers:     g.c.RemoveUsers,
		KeepUsers:       g.c.KeepUsers,
		BuildUser:       buildUser,
		Sysprep:         g.c.Sysprep,
		SysprepTimeout:  g.c.SysprepTimeout,
		Mode:            string(g.c.Mode),
		ReportFile:      g.reportFile(),
		RemoveSelf:      true,
	})
}

func (g *windowsGuest) wrap(command string) (string, error) {
	if g.elevated == nil {
		return command, nil
	}
	return guestexec.GenerateElevatedRunner(command, g.elevated)
}

// output: PowerShell's error records become text. Packer's elevated runner
// tails the task's output with a loop that can cut a line in two or miss
// the last ones: with it, the report is read from the script's report file
// afterwards (afterRun), and the stream only shows what is not protocol.
func (g *windowsGuest) output(ui packersdk.Ui, run *report.Run) (stdout, stderr func(string)) {
	stdout = func(line string) { showLine(ui, run, line) }
	if g.elevated != nil {
		scratch := report.NewRun(run.Expected())
		stdout = func(line string) {
			if _, protocol := scratch.Line(line); !protocol {
				ui.Say(line)
			}
		}
	}
	return stdout, psStderr(ui.Error)
}

// neverRan: over SSH a Start error means the session never opened. Over
// WinRM, Start runs the whole command and returns the transport error of a
// connection lost on the way, even before any output: the command was
// accepted and may have run, unless the script is still there (it deletes
// itself first).
func (g *windowsGuest) neverRan(ctx context.Context, comm packersdk.Communicator, remotePath string, deadline time.Time, startErr error) string {
	switch {
	case !g.winrm:
		return fmt.Sprintf("could not start the script (%v)", startErr)
	case stillThere(ctx, comm, remotePath, deadline):
		return fmt.Sprintf("WinRM failed before the script began (%v); the script is still there, so it never ran", startErr)
	}
	return ""
}

func (windowsGuest) removeCommand(remotePath string) string {
	return `powershell -NoProfile -NonInteractive -Command "Remove-Item -LiteralPath '` + remotePath + `' -Force -ErrorAction SilentlyContinue"`
}

// afterRun reads the report file of an elevated run (the handover
// waits for it to be read and gone before Sysprep begins).
func (g *windowsGuest) afterRun(ctx context.Context, ui packersdk.Ui, comm packersdk.Communicator, run *report.Run, startErr error) error {
	if g.elevated == nil {
		return nil
	}
	if err := g.readReportFile(ctx, ui, comm, run); err != nil {
		if startErr != nil {
			return fmt.Errorf("ami-harden: the image is not hardened: the connection to the machine was lost while the elevated script ran (%v), and %w: the image may be half hardened, do not use it", startErr, err)
		}
		return fmt.Errorf("ami-harden: the image is not hardened: %w", err)
	}
	return nil
}

// finish: the wait for the power-off after a handover (poweroff.go).
func (g *windowsGuest) finish(ctx context.Context, ui packersdk.Ui, run *report.Run, generatedData map[string]interface{}) error {
	return finishWindows(ctx, ui, run, generatedData, g.c.PowerOffTimeout)
}

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

// encodedCommand runs a PowerShell script given as -EncodedCommand (base64
// of UTF-16LE): no quoting of the script through cmd.exe and WinRM.
func encodedCommand(ps string) string {
	u := utf16.Encode([]rune(ps))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		b[2*i], b[2*i+1] = byte(c), byte(c>>8)
	}
	return "powershell -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand " + base64.StdEncoding.EncodeToString(b)
}

// reportFile is where the script also writes its report when it runs
// through the elevated runner, or "".
func (g *windowsGuest) reportFile() string {
	if g.elevated == nil {
		return ""
	}
	return `C:\Windows\Temp\ami-harden-` + g.c.suffix + `.report`
}

// readReportFile reads the report the script wrote to its report file (the
// elevated runner's stream is not trusted for it) into run, and removes
// the file. A file that cannot be read leaves the run without a report,
// which fails the build.
func (g *windowsGuest) readReportFile(ctx context.Context, ui packersdk.Ui, comm packersdk.Communicator, run *report.Run) error {
	path := script.QuotePS(g.reportFile())
	ps := "$ErrorActionPreference = 'Stop'\n" +
		"if (Test-Path -LiteralPath " + path + ") { [IO.File]::ReadAllText(" + path + "); Remove-Item -LiteralPath " + path + " -Force }\n"
	exit, errText, cancelled, err := askWindows(ctx, ui, comm, run, encodedCommand(ps))
	switch {
	case cancelled:
		return fmt.Errorf("could not read the report file %s: %w", g.reportFile(), ctx.Err())
	case err != nil:
		return fmt.Errorf("could not read the report file %s: %w", g.reportFile(), err)
	case exit != 0:
		return fmt.Errorf("could not read the report file %s (exit %d): %s", g.reportFile(), exit, errText)
	}
	return nil
}

// askWindows runs one short command whose output is report lines for run
// (the report file's read): its exit status, its error
// stream as one line, whether the build was cancelled while it ran, and the
// transport error Start returned. Over WinRM no exit status follows such an
// error, so there is nothing to wait for then.
func askWindows(ctx context.Context, ui packersdk.Ui, comm packersdk.Communicator, run *report.Run, command string) (exit int, errText string, cancelled bool, err error) {
	var errs strings.Builder
	stdout := &lineWriter{emit: func(line string) { showLine(ui, run, line) }}
	// PowerShell's error records arrive as CLIXML: made text again.
	stderr := &lineWriter{emit: psStderr(func(line string) { errs.WriteString(line + " ") })}
	cmd := &packersdk.RemoteCmd{Command: command, Stdout: stdout, Stderr: stderr}
	if err = comm.Start(ctx, cmd); err == nil {
		if exit, err = wait(ctx, cmd); err != nil {
			return 0, "", true, nil
		}
	}
	stdout.Flush()
	stderr.Flush()
	return exit, strings.TrimSpace(errs.String()), false, err
}
