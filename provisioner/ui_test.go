package provisioner

import (
	"fmt"
	"io"
	"strings"
	"sync"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

// recordingUi keeps every message the provisioner shows, in order: the
// SDK's MockUi keeps only the last error and the last machine-readable line.
// Lines arrive from the command's output goroutines too, hence the lock.
type recordingUi struct {
	mu    sync.Mutex
	lines []uiLine
}

// uiLine is one message: kind say, error or machine (text its type, args
// its fields).
type uiLine struct {
	kind, text string
	args       []string
}

func (u *recordingUi) add(l uiLine) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.lines = append(u.lines, l)
}

// The provisioner never asks and never downloads.
func (u *recordingUi) Ask(string) (string, error)          { panic("not used") }
func (u *recordingUi) Askf(string, ...any) (string, error) { panic("not used") }
func (u *recordingUi) TrackProgress(_ string, _, _ int64, stream io.ReadCloser) io.ReadCloser {
	return stream
}

func (u *recordingUi) Say(s string)              { u.add(uiLine{kind: "say", text: s}) }
func (u *recordingUi) Sayf(f string, a ...any)   { u.Say(fmt.Sprintf(f, a...)) }
func (u *recordingUi) Message(s string)          { u.Say(s) }
func (u *recordingUi) Error(s string)            { u.add(uiLine{kind: "error", text: s}) }
func (u *recordingUi) Errorf(f string, a ...any) { u.Error(fmt.Sprintf(f, a...)) }
func (u *recordingUi) Machine(t string, args ...string) {
	u.add(uiLine{kind: "machine", text: t, args: args})
}
func (u *recordingUi) of(kind string) (out []string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, l := range u.lines {
		if l.kind == kind {
			out = append(out, l.text)
		}
	}
	return out
}

// said are the lines shown with Say, in order.
func (u *recordingUi) said() []string { return u.of("say") }

// errors are the lines shown with Error, in order.
func (u *recordingUi) errors() []string { return u.of("error") }

// machine are the fields of every machine-readable line of type t.
func (u *recordingUi) machine(t string) (out [][]string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, l := range u.lines {
		if l.kind == "machine" && l.text == t {
			out = append(out, l.args)
		}
	}
	return out
}

// all is every line, as the user would read them one after the other.
func (u *recordingUi) all() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	var b strings.Builder
	for _, l := range u.lines {
		if l.kind != "machine" {
			b.WriteString(l.text + "\n")
		}
	}
	return b.String()
}

var _ packersdk.Ui = &recordingUi{}
