package provisioner

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/ami-harden/packer-plugin-ami-harden/provisioner/report"
)

// What the script prints, as Packer shows it: its output cut into lines,
// step results aligned, protocol lines hidden, PowerShell's error records
// made text again.

// lineWriter cuts a stream into lines and hands each one, without its line
// end, to emit. Flush hands over a last line that had no line end.
type lineWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	emit func(string)
	seen bool
}

// Seen tells whether any output arrived.
func (w *lineWriter) Seen() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.seen
}

func (w *lineWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(b)
	w.seen = w.seen || len(b) > 0
	for {
		i := bytes.IndexByte(w.buf.Bytes(), '\n')
		if i < 0 {
			return len(b), nil
		}
		line := string(w.buf.Next(i + 1))
		w.emit(strings.TrimRight(line, "\r\n"))
	}
}

// Flush emits what is left after the last line end.
func (w *lineWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.buf.Len() > 0 {
		w.emit(strings.TrimRight(w.buf.String(), "\r\n"))
		w.buf.Reset()
	}
}

// shownFindings is how many findings of a step Packer's output shows.
const shownFindings = 20

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
		// Every finding goes to -machine-readable output and the report
		// files; the first shownFindings to the screen.
		for i, f := range res.Findings {
			if i < shownFindings {
				ui.Error("               - " + f)
			}
			ui.Machine("ami-harden-finding", res.Step, f)
		}
		if more := len(res.Findings) - shownFindings; more > 0 {
			ui.Error(fmt.Sprintf("               - and %d more: report_file, junit_file and -machine-readable list every one", more))
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
