package script

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzRenderLinuxQuoting: whatever a user writes into wipe_paths or an sshd
// value reaches the script as the same bytes, and never runs. Only the
// rendered header is evaluated, by a real sh; no hardening step runs.
func FuzzRenderLinuxQuoting(f *testing.F) {
	for _, s := range []string{"", "'", `'\''`, "$(touch CANARY)", "`touch CANARY`", "a'; touch CANARY; '", `"$HOME" \ * ?`, "‘’", "\t tab"} {
		f.Add(s)
	}
	dir := f.TempDir()
	canary := filepath.Join(dir, "CANARY")
	f.Fuzz(func(t *testing.T, s string) {
		// Prepare refuses line breaks and NUL in these values; sh cannot hold NUL.
		if strings.ContainsAny(s, "\n\r\x00") {
			t.Skip()
		}
		s = strings.ReplaceAll(s, "CANARY", canary)
		out := RenderLinux(Params{Steps: []string{"temp"}, WipePaths: []string{s}, SSHDSettings: map[string]string{"Banner": s}})
		header, _, _ := strings.Cut(string(out), "\nset -u\n")
		probe := header + "\nprintf '%s|%s' \"$AMI_HARDEN_WIPE_PATHS\" \"$AMI_HARDEN_SSHD_SETTINGS\"\n"
		cmd := exec.Command("sh", "-c", probe)
		cmd.Dir = dir
		got, err := cmd.Output()
		if err != nil {
			t.Fatalf("the rendered header does not run for %q: %v", s, err)
		}
		if want := s + "|Banner " + s; string(got) != want {
			t.Fatalf("value changed on the way: got %q, want %q", got, want)
		}
		if _, err := os.Stat(canary); err == nil {
			t.Fatalf("a value ran as code: %q", s)
		}
	})
}

// FuzzQuotePS: QuotePS output is exactly one PowerShell single-quoted string
// that stands for the input. There is no PowerShell here, so the check is a
// lexer written from the language specification: inside '...', any of the
// five single-quote characters ends the string unless the next character is
// also one of them, which stands for that quote.
func FuzzQuotePS(f *testing.F) {
	for _, s := range []string{"", "'", "''", "‘a’", "‚‛", "$(Remove-Item C:\\ -Recurse)", "`n", "a'b’c"} {
		f.Add(s)
	}
	isQuote := func(r rune) bool {
		return r == '\'' || r == '\u2018' || r == '\u2019' || r == '\u201A' || r == '\u201B'
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			t.Skip()
		}
		q := []rune(QuotePS(s))
		if len(q) < 2 || q[0] != '\'' {
			t.Fatalf("not a single-quoted string: %q", string(q))
		}
		var decoded []rune
		i := 1
		for ; i < len(q); i++ {
			if isQuote(q[i]) {
				if i+1 < len(q) && isQuote(q[i+1]) {
					decoded = append(decoded, q[i+1])
					i++
					continue
				}
				break // the string ends here
			}
			decoded = append(decoded, q[i])
		}
		if i != len(q)-1 {
			t.Fatalf("the string ends early, at %d of %d, for %q: %q", i, len(q), s, string(q))
		}
		if string(decoded) != s {
			t.Fatalf("decodes to %q, not %q", string(decoded), s)
		}
	})
}
