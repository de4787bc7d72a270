package report

import (
	"fmt"
	"strings"
	"testing"
)

// FuzzLine: no input, however malformed, panics the parser, and what the
// parser says agrees with the input read another way, by plain text:
//   - a complete run had a begin 1 line, an end line, no abort and a step
//     line for every expected step, and every protocol word in it is known;
//   - every result is a step that was asked for, reported once, in the
//     order of the input, with findings the input sent for it (a finding
//     status without any leaves the run incomplete);
//   - lines without the prefix change nothing, nor do CRLF line ends.
func FuzzLine(f *testing.F) {
	for _, s := range []string{
		"@@ami-harden begin 1", "@@ami-harden step sshd ok -", "@@ami-harden step", "@@ami-harden finding",
		"@@ami-harden end", "@@ami-harden abort x", "x @@ami-harden step logs failed y\r", "@@ami-harden start",
		"@@ami-harden finding sshd", "@@ami-harden step sshd finding 1",
		"@@ami-harden begin 1\n@@ami-harden step sshd ok -\n@@ami-harden step logs changed x\n@@ami-harden end 0",
		"@@ami-harden begin 1\n@@ami-harden finding sshd a\n@@ami-harden step sshd finding 1\n@@ami-harden step logs ok -\n@@ami-harden end 0",
		"@@ami-harden begin 2\n@@ami-harden step sshd ok -\n@@ami-harden step logs ok -\n@@ami-harden end 0",
		"@@ami-harden begin 1\n@@ami-harden step sshd ok -\n@@ami-harden step logs ok -\n@@ami-harden handover started x\n@@ami-harden end 0",
		"@@ami-harden handover", "@@ami-harden handover later y",
	} {
		f.Add(s)
	}
	expected := []string{"sshd", "logs"}
	f.Fuzz(func(t *testing.T, input string) {
		lines := strings.Split(input, "\n")
		r := runOf(expected, lines)
		_ = r.Summary()
		_ = r.Err()

		// What the input says, read as text.
		var protocol []string // each protocol line from its prefix on, trimmed
		for _, l := range lines {
			if i := strings.Index(l, Prefix); i >= 0 {
				protocol = append(protocol, strings.TrimSpace(strings.TrimRight(l[i+len(Prefix):], "\r\n")))
			}
		}
		has := func(pred func(kind string, fields []string) bool) bool {
			for _, p := range protocol {
				fields := strings.Fields(p)
				kind := ""
				if len(fields) > 0 {
					kind = fields[0]
				}
				if pred(kind, fields) {
					return true
				}
			}
			return false
		}

		if r.Complete() {
			if !has(func(k string, f []string) bool { return k == "begin" && len(f) == 2 && f[1] == ProtocolVersion }) {
				t.Fatal("complete without a begin 1 line")
			}
			if !has(func(k string, _ []string) bool { return k == "end" }) {
				t.Fatal("complete without an end line")
			}
			if has(func(k string, _ []string) bool { return k == "abort" }) {
				t.Fatal("complete although the script aborted")
			}
			if has(func(k string, _ []string) bool { return !contains(Kinds, k) }) {
				t.Fatal("complete although a protocol line was not understood")
			}
			for _, s := range expected {
				if !has(func(k string, f []string) bool { return k == "step" && len(f) >= 3 && f[1] == s }) {
					t.Fatalf("complete without a step line for %s", s)
				}
			}
			if len(r.Results()) != len(expected) || len(r.Missing()) != 0 {
				t.Fatalf("complete with %d results and %d missing", len(r.Results()), len(r.Missing()))
			}
		}

		seen := map[string]bool{}
		last := -1
		total := 0
		for _, res := range r.Results() {
			if !contains(expected, res.Step) || seen[res.Step] {
				t.Fatalf("a result for %q, not asked for or twice", res.Step)
			}
			seen[res.Step] = true
			// The first step line of that step in the input is the one taken.
			at := -1
			for i, p := range protocol {
				// Split as the parser splits: one space between the words.
				if f := strings.SplitN(p, " ", 4); len(f) >= 3 && f[0] == "step" && f[1] == res.Step {
					at = i
					break
				}
			}
			if at <= last {
				t.Fatalf("results out of the input's order at %s", res.Step)
			}
			last = at
			if res.Status == Finding && len(res.Findings) == 0 && r.Complete() {
				t.Fatalf("complete although step %s has status finding and sent no finding", res.Step)
			}
			for _, fnd := range res.Findings {
				if !has(func(k string, f []string) bool {
					return k == "finding" && len(f) >= 2 && f[1] == res.Step && strings.Join(f[2:], " ") == strings.Join(strings.Fields(fnd), " ")
				}) {
					t.Fatalf("finding %q of %s is not in the input", fnd, res.Step)
				}
			}
		}
		for _, n := range r.Counts() {
			total += n
		}
		if total != len(r.Results()) {
			t.Fatalf("counts add up to %d, results are %d", total, len(r.Results()))
		}
		if !strings.Contains(r.Summary(), fmt.Sprintf("%d of %d steps reported", len(r.Results()), len(expected))) {
			t.Fatalf("summary %q", r.Summary())
		}

		// The same input without its other lines, and with CRLF line ends.
		var only []string
		for _, l := range lines {
			if strings.Contains(l, Prefix) {
				only = append(only, l)
			}
		}
		crlf := make([]string, len(lines))
		for i, l := range lines {
			crlf[i] = l + "\r\n"
		}
		for name, other := range map[string]*Run{"protocol lines only": runOf(expected, only), "CRLF": runOf(expected, crlf)} {
			if other.Summary() != r.Summary() || other.Complete() != r.Complete() || fmt.Sprint(other.Err()) != fmt.Sprint(r.Err()) {
				t.Fatalf("%s: %q, %v; as given: %q, %v", name, other.Summary(), other.Err(), r.Summary(), r.Err())
			}
		}
	})
}

func runOf(expected, lines []string) *Run {
	r := NewRun(expected)
	for _, l := range lines {
		r.Line(l)
	}
	return r
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
