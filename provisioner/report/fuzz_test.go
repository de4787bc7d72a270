package report

import (
	"strings"
	"testing"
)

// FuzzLine: no line, however malformed, panics the parser or makes a run
// look complete that is not.
func FuzzLine(f *testing.F) {
	for _, s := range []string{
		"@@ami-harden begin 1", "@@ami-harden step sshd ok -", "@@ami-harden step", "@@ami-harden finding",
		"@@ami-harden end", "@@ami-harden abort x", "x @@ami-harden step logs failed y\r", "@@ami-harden start",
		"@@ami-harden finding sshd", "@@ami-harden step sshd finding 1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		r := NewRun([]string{"sshd", "logs"})
		for _, l := range strings.Split(line, "\n") {
			res, protocol := r.Line(l)
			if res != nil && !protocol {
				t.Fatal("a result from a line that is not protocol")
			}
			if res != nil && res.Step != "sshd" && res.Step != "logs" {
				t.Fatalf("a result for a step not asked for: %q", res.Step)
			}
		}
		_ = r.Summary()
		_ = r.Err()
		if r.Complete() && (len(r.Missing()) > 0 || r.Incomplete() != nil) {
			t.Fatal("complete, yet steps are missing or the report is broken")
		}
	})
}
