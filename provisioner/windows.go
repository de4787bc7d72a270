package provisioner

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

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

// waitSysprep asks the detached Sysprep for its state, one short command at
// a time, until it reports the sysprep step. Sysprep resets WinRM on its
// way: a command that fails (a dropped connection, a 401) is asked again
// until sysprep_timeout. In shutdown mode the answer "done" also tells the
// runner to shut the machine down, so it is the last command of the build.
func (p *Provisioner) waitSysprep(ctx context.Context, ui packersdk.Ui, comm packersdk.Communicator, run *report.Run) error {
	ui.Say(fmt.Sprintf("ami-harden: Sysprep runs detached (%s); asking for its result every %s, for up to %s",
		run.Waiting(), pollInterval(), p.config.SysprepTimeout))
	command := encodedCommand(script.RenderWindowsPoll(script.WindowsSysprepStateDir, p.config.SysprepShutdown))
	deadline := time.Now().Add(p.config.SysprepTimeout)
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
				p.config.SysprepTimeout, last)
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

// reportFile is where the script also writes its report when it runs
// through the elevated runner, or "".
func (p *Provisioner) reportFile() string {
	if p.config.ElevatedUser == "" {
		return ""
	}
	return `C:\Windows\Temp\ami-harden-` + p.config.suffix + `.report`
}

// readReportFile reads the report the script wrote to its report file (the
// elevated runner's stream is not trusted for it) into run, and removes
// the file. A file that cannot be read leaves the run without a report,
// which fails the build.
func (p *Provisioner) readReportFile(ctx context.Context, ui packersdk.Ui, comm packersdk.Communicator, run *report.Run) error {
	path := script.QuotePS(p.reportFile())
	ps := "$ErrorActionPreference = 'Stop'\n" +
		"if (Test-Path -LiteralPath " + path + ") { [IO.File]::ReadAllText(" + path + "); Remove-Item -LiteralPath " + path + " -Force }\n"
	exit, errText, cancelled, err := askWindows(ctx, ui, comm, run, encodedCommand(ps))
	switch {
	case cancelled:
		return fmt.Errorf("could not read the report file %s: %w", p.reportFile(), ctx.Err())
	case err != nil:
		return fmt.Errorf("could not read the report file %s: %w", p.reportFile(), err)
	case exit != 0:
		return fmt.Errorf("could not read the report file %s (exit %d): %s", p.reportFile(), exit, errText)
	}
	return nil
}

// askWindows runs one short command whose output is report lines for run
// (the Sysprep poll, the report file's read): its exit status, its error
// stream as one line, whether the build was cancelled while it ran, and the
// transport error Start returned. Over WinRM no exit status follows such an
// error, so there is nothing to wait for then.
func askWindows(ctx context.Context, ui packersdk.Ui, comm packersdk.Communicator, run *report.Run, command string) (exit int, errText string, cancelled bool, err error) {
	var errs strings.Builder
	stdout := &lineWriter{emit: func(line string) { showLine(ui, run, line) }}
	stderr := &lineWriter{emit: func(line string) { errs.WriteString(line + " ") }}
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

// Windows PowerShell run over WinRM without a console sends its error stream
// as serialized objects: a "#< CLIXML" line, then an <Objs> element whose
// <S S="Error"> strings hold the text, with line ends written _x000D__x000A_.
var (
	clixmlString = regexp.MustCompile(`<S S="[A-Za-z]+">([^<]*)</S>`)
	clixmlChar   = regexp.MustCompile(`_x[0-9A-Fa-f]{4}_`)
	xmlEntities  = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&quot;", `"`, "&apos;", "'", "&amp;", "&")
)

// psStderr passes a line of the error stream on as text: the CLIXML header
// is dropped, an <Objs> element becomes its lines of text, anything else is
// passed through.
func psStderr(emit func(string)) func(string) {
	return func(line string) {
		switch {
		case strings.TrimSpace(line) == "#< CLIXML":
			return
		case strings.HasPrefix(line, "<Objs "):
			var b strings.Builder
			for _, m := range clixmlString.FindAllStringSubmatch(line, -1) {
				b.WriteString(clixmlChar.ReplaceAllStringFunc(m[1], func(e string) string {
					n, _ := strconv.ParseUint(e[2:6], 16, 16)
					return string(rune(n))
				}))
			}
			for _, l := range strings.Split(xmlEntities.Replace(b.String()), "\n") {
				if l = strings.TrimRight(l, "\r "); l != "" {
					emit(l)
				}
			}
		default:
			emit(line)
		}
	}
}
