package provisioner

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ami-harden/packer-plugin-ami-harden/provisioner/report"
)

// collect is an emit function that keeps the lines.
func collect() (*[]string, func(string)) {
	var mu sync.Mutex
	var lines []string
	return &lines, func(l string) {
		mu.Lock()
		defer mu.Unlock()
		lines = append(lines, l)
	}
}

// Lines are cut where the line ends are, whatever the chunks: a line in two
// writes is one line, CR LF and LF both end one, and Flush hands over the
// last line without an end, once.
func TestLineWriterCutsLinesAcrossWrites(t *testing.T) {
	lines, emit := collect()
	w := &lineWriter{emit: emit}
	assert.False(t, w.Seen())
	_, _ = w.Write(nil)
	assert.False(t, w.Seen(), "an empty write is no output")
	for _, chunk := range []string{"a\nb", "c\r\n", "\r\n", "d", "e"} {
		n, err := w.Write([]byte(chunk))
		require.NoError(t, err)
		assert.Equal(t, len(chunk), n)
	}
	assert.True(t, w.Seen())
	assert.Equal(t, []string{"a", "bc", ""}, *lines, "no line before its end")
	w.Flush()
	w.Flush()
	assert.Equal(t, []string{"a", "bc", "", "de"}, *lines)
}

// Writers on two goroutines (a command's output copied while the build
// asks how far it got): every line whole, none lost. Run with -race.
func TestLineWriterConcurrentWrites(t *testing.T) {
	lines, emit := collect()
	w := &lineWriter{emit: emit}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				_, _ = fmt.Fprintf(w, "writer %d line %03d\n", g, i)
			}
		}()
	}
	wg.Wait()
	w.Flush()
	require.Len(t, *lines, 800)
	got := append([]string{}, *lines...)
	sort.Strings(got)
	assert.Equal(t, "writer 0 line 000", got[0])
	assert.Equal(t, "writer 3 line 199", got[799])
}

// PowerShell's error stream over WinRM is CLIXML: the header goes, each
// record becomes its lines of text, escapes and entities decoded, empty
// lines and trailing blanks dropped; other lines pass as they are.
func TestPSStderr(t *testing.T) {
	lines, emit := collect()
	f := psStderr(emit)
	f("#< CLIXML\r")
	f(`<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">` +
		`<S S="Error">Remove-Item : Cannot remove C:\Users\Jos_x00E9_\a&amp;b &lt;x&gt;_x000D__x000A_</S>` +
		`<S S="Error">    + CategoryInfo : &quot;q&quot; &apos;s&apos;   _x000D__x000A_</S>` +
		`<S S="Error"> _x000D__x000A_</S><S S="Warning">a warning_x000A_</S></Objs>`)
	f("plain text, not CLIXML")
	assert.Equal(t, []string{
		`Remove-Item : Cannot remove C:\Users\José\a&b <x>`,
		`    + CategoryInfo : "q" 's'`,
		"a warning",
		"plain text, not CLIXML",
	}, *lines)
}

// A step's line is aligned and goes to Say, or to Error when it failed or
// found something, with its findings and notes, and one machine-readable
// line each; protocol markers are hidden; other output passes through.
func TestShowLine(t *testing.T) {
	ui := &recordingUi{}
	run := report.NewRun([]string{"sshd", "temp"})
	for _, l := range []string{
		"@@ami-harden begin 1", "@@ami-harden start sshd", "other output",
		"@@ami-harden note sshd AuthorizedKeysCommand stays",
		"@@ami-harden step sshd changed PasswordAuthentication no",
		"@@ami-harden finding temp /tmp/x exists", "@@ami-harden step temp finding 1 finding(s)",
		"@@ami-harden end 0",
	} {
		showLine(ui, run, l)
	}
	assert.Equal(t, []string{
		"other output",
		"sshd           changed  PasswordAuthentication no",
		"               note: AuthorizedKeysCommand stays",
	}, ui.said())
	assert.Equal(t, []string{"temp           finding  1 finding(s)", "               - /tmp/x exists"}, ui.errors())
	assert.Equal(t, [][]string{{"sshd", "changed", "PasswordAuthentication no"}, {"temp", "finding", "1 finding(s)"}}, ui.machine("ami-harden-step"))
	assert.Equal(t, [][]string{{"sshd", "AuthorizedKeysCommand stays"}}, ui.machine("ami-harden-note"))
	assert.Equal(t, [][]string{{"temp", "/tmp/x exists"}}, ui.machine("ami-harden-finding"))
	assert.NotContains(t, ui.all(), "@@ami-harden")
	assert.True(t, strings.HasPrefix(run.Summary(), "2 of 2 steps reported"))
}
