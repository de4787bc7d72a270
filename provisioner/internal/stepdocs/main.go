// Command stepdocs writes what the docs say about the list of steps from
// the one list in provisioner/steps: the step tables of the provisioner's
// page, the lists at the top of docs/steps.md, and the lists in the
// documentation of the `steps` option (the comment of Config.Steps in
// provisioner/config.go, from which packer-sdc makes the configuration
// reference). `make generate` runs it (go generate in provisioner/);
// `make check-generate` fails when what it writes is not committed.
//
// In the Markdown files it rewrites only what stands between the lines
// `<!-- begin NAME: ... -->` and `<!-- end NAME -->`; in config.go only the
// sentences `On Linux: ....` and `On Windows: ....` of that comment, which
// it then wraps again.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/ami-harden/packer-plugin-ami-harden/provisioner/steps"
)

func main() {
	root := flag.String("root", "..", "the repository's top directory")
	flag.Parse()
	for _, f := range []struct {
		path string
		edit func([]byte) ([]byte, error)
	}{
		{"docs/provisioners/ami-harden.mdx", func(b []byte) ([]byte, error) {
			b, err := replaceRegion(b, "steps-linux", table(steps.Linux, "Linux step", "../steps.md"))
			if err != nil {
				return nil, err
			}
			return replaceRegion(b, "steps-windows", table(steps.Windows, "Windows step", "../steps.md"))
		}},
		{"docs/steps.md", func(b []byte) ([]byte, error) { return replaceRegion(b, "step-lists", lists()) }},
		{"provisioner/config.go", stepsComment},
	} {
		path := filepath.Join(*root, f.path)
		old, err := os.ReadFile(path)
		if err == nil {
			var b []byte
			if b, err = f.edit(old); err == nil && !bytes.Equal(b, old) {
				err = os.WriteFile(path, b, 0o644)
			}
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "stepdocs: %s: %v\n", f.path, err)
			os.Exit(1)
		}
	}
}

// table is a system's step table: each step's name, linked to its section
// of docs/steps.md, and its summary.
func table(os, heading, stepsPage string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| %s | What it does |\n| %s | ------------ |\n", heading, strings.Repeat("-", len(heading)))
	for _, s := range steps.Of(os) {
		summary := s.Summary
		if !s.Default {
			summary += " Not run by default: name it in `steps`."
		}
		fmt.Fprintf(&b, "| [`%s`](%s#%s) | %s |\n", s.Name, stepsPage, s.Anchor, summary)
	}
	return b.String()
}

// lists are the two lines at the top of docs/steps.md: each system's steps
// in the order they run, linked to their sections.
func lists() string {
	var b strings.Builder
	for _, os := range steps.OSes {
		var links []string
		for _, s := range steps.Of(os) {
			links = append(links, fmt.Sprintf("[%s](#%s)", s.Name, s.Anchor))
		}
		fmt.Fprintf(&b, "- %s, in the order they run: %s.\n", title(os), strings.Join(links, ", "))
	}
	return b.String()
}

func title(os string) string { return strings.ToUpper(os[:1]) + os[1:] }

// replaceRegion puts text between the begin and end lines of region name.
func replaceRegion(b []byte, name, text string) ([]byte, error) {
	begin := regexp.MustCompile(`(?m)^<!-- begin ` + regexp.QuoteMeta(name) + `:[^\n]*-->\n`)
	end := regexp.MustCompile(`(?m)^<!-- end ` + regexp.QuoteMeta(name) + ` -->\n`)
	bl := begin.FindIndex(b)
	el := end.FindIndex(b)
	if bl == nil || el == nil || el[0] < bl[1] {
		return nil, fmt.Errorf("no region %q (<!-- begin %s: ... --> ... <!-- end %s -->)", name, name, name)
	}
	out := append([]byte{}, b[:bl[1]]...)
	out = append(out, text...)
	return append(out, b[el[0]:]...), nil
}

// stepsComment rewrites the lists of steps in the comment of Config.Steps.
func stepsComment(src []byte) ([]byte, error) {
	m := regexp.MustCompile(`(?m)((?:^\t//[^\n]*\n)+)\tSteps \[\]string `).FindSubmatchIndex(src)
	if m == nil {
		return nil, fmt.Errorf("no comment above the Steps field")
	}
	var words []string
	for _, line := range strings.Split(strings.TrimSuffix(string(src[m[2]:m[3]]), "\n"), "\n") {
		words = append(words, strings.Fields(strings.TrimPrefix(line, "\t//"))...)
	}
	text := strings.Join(words, " ")
	lists := regexp.MustCompile(`On Linux: [^.]*\. On Windows: [^.]*\.`)
	if !lists.MatchString(text) {
		return nil, fmt.Errorf("the comment of Steps has no sentences \"On Linux: ... On Windows: ....\"")
	}
	text = lists.ReplaceAllLiteralString(text, "On Linux: "+commentList(steps.Linux)+" On Windows: "+commentList(steps.Windows))
	out := append([]byte{}, src[:m[2]]...)
	out = append(out, wrap(text, "\t// ", 72)...)
	return append(out, src[m[3]:]...), nil
}

// commentList is a system's steps in the order they run, as a sentence.
func commentList(os string) string {
	var on, off []string
	for _, s := range steps.Of(os) {
		if s.Default {
			on = append(on, s.Name)
		} else {
			off = append(off, s.Name)
		}
	}
	list := strings.Join(on, ", ")
	if len(off) > 0 {
		list += " (and, only when named: " + strings.Join(off, ", ") + ")"
	}
	return list + "."
}

// wrap fills lines of at most width characters after prefix.
func wrap(text, prefix string, width int) string {
	var b strings.Builder
	line := ""
	for _, w := range strings.Fields(text) {
		if line != "" && len(line)+1+len(w) > width {
			b.WriteString(prefix + line + "\n")
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		b.WriteString(prefix + line + "\n")
	}
	return b.String()
}
