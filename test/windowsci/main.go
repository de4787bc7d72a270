// Command windowsci renders the Windows script and checks a run's report,
// for the workflow that runs the script on a real Windows runner
// (.github/workflows/windows.yml). No Packer there: the script is rendered
// as the provisioner renders it, run with Windows PowerShell 5.1, and its
// output read with the provisioner's own report parser.
//
//	windowsci render -mode audit [-steps a,b] -o script.ps1
//	windowsci check -mode audit [-steps a,b] -exit-file exit.txt [-allow-failed a,b]
//	          [-status step=ok|changed] [-contains TEXT] [-contains-file FILE] report.txt
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ami-harden/packer-plugin-ami-harden/provisioner/report"
	"github.com/ami-harden/packer-plugin-ami-harden/provisioner/script"
	"github.com/ami-harden/packer-plugin-ami-harden/provisioner/steps"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "windowsci:", err)
		os.Exit(1)
	}
}

// list is a comma-separated flag.
type list []string

func (l *list) String() string { return strings.Join(*l, ",") }
func (l *list) Set(s string) error {
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*l = append(*l, v)
		}
	}
	return nil
}

// many is a flag that may be given more than once.
type many []string

func (m *many) String() string     { return strings.Join(*m, "; ") }
func (m *many) Set(s string) error { *m = append(*m, s); return nil }

func run(args []string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New("render or check?")
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	mode := fs.String("mode", "enforce", "enforce or audit")
	var stepList, allowFailed list
	var status, contains many
	fs.Var(&stepList, "steps", "the steps, comma-separated (default: the Windows defaults)")
	output := fs.String("o", "", "render: where to write the script")
	exitFile := fs.String("exit-file", "", "check: a file holding the script's exit status")
	fs.Var(&allowFailed, "allow-failed", "check: steps that may fail on this machine, comma-separated")
	fs.Var(&status, "status", "check: STEP=STATUS[|STATUS] the step must report (repeatable)")
	fs.Var(&contains, "contains", "check: text the report must hold, as UTF-8 (repeatable)")
	containsFile := fs.String("contains-file", "", "check: a UTF-8 file whose every line the report must hold")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if len(stepList) == 0 {
		stepList = steps.Defaults(steps.Windows)
	}
	for _, s := range stepList {
		if !steps.Has(steps.Windows, s) {
			return fmt.Errorf("no Windows step %q", s)
		}
	}
	switch args[0] {
	case "render":
		if *output == "" {
			return errors.New("render needs -o")
		}
		return os.WriteFile(*output, render(stepList, *mode), 0o644)
	case "check":
		if fs.NArg() != 1 {
			return errors.New("check needs the report file")
		}
		if *containsFile != "" {
			// Text with letters outside ASCII comes in a file: a command
			// line on Windows goes through the console's code page.
			b, err := os.ReadFile(*containsFile)
			if err != nil {
				return err
			}
			for _, l := range strings.Split(strings.TrimPrefix(string(b), "\uFEFF"), "\n") {
				if l = strings.TrimRight(l, "\r"); l != "" {
					contains = append(contains, l)
				}
			}
		}
		return check(out, fs.Arg(0), *exitFile, stepList, *mode, allowFailed, status, contains)
	}
	return fmt.Errorf("unknown command %q", args[0])
}

// render is the script the provisioner uploads for these steps with its
// defaults (Sysprep auto, 30m, the default services), as the machine's own
// administrator (no build account to spare, no report file).
func render(names []string, mode string) []byte {
	return script.RenderWindows(script.WindowsParams{
		Steps:           names,
		DisableServices: script.DefaultServices(steps.Windows),
		Sysprep:         "auto",
		SysprepTimeout:  30 * time.Minute,
		Mode:            mode,
		RemoveSelf:      true,
	})
}

func check(out io.Writer, path, exitFile string, names []string, mode string, allowFailed list, status, contains many) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	run := report.NewRun(names)
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		fmt.Fprintln(out, line)
		run.Line(line)
	}
	var problems []string
	if err := run.Incomplete(); err != nil {
		problems = append(problems, "the report is not complete: "+err.Error())
	}
	got := map[string]report.Status{}
	failed := false
	for _, r := range run.Results() {
		got[r.Step] = r.Status
		if r.Status == report.Failed || r.Status == report.Finding {
			failed = true
		}
		if r.Status == report.Failed && !slices.Contains(allowFailed, r.Step) {
			problems = append(problems, fmt.Sprintf("step %s failed: %s", r.Step, r.Detail))
		}
		if mode == "enforce" && r.Status == report.Finding {
			problems = append(problems, fmt.Sprintf("step %s has findings in enforce mode", r.Step))
		}
		if mode == "audit" && r.Status == report.Changed {
			problems = append(problems, fmt.Sprintf("step %s changed something in audit mode: %s", r.Step, r.Detail))
		}
	}
	if h := run.Handover(); h.State != "" {
		problems = append(problems, "the run handed work over ("+h.Text+"): no step selected here may")
	}
	for _, s := range status {
		step, want, ok := strings.Cut(s, "=")
		if !ok {
			return fmt.Errorf("-status %q is not STEP=STATUS", s)
		}
		if !slices.Contains(strings.Split(want, "|"), string(got[step])) {
			problems = append(problems, fmt.Sprintf("step %s reported %q, not %s", step, got[step], want))
		}
	}
	for _, c := range contains {
		if !bytes.Contains(raw, []byte(c)) {
			problems = append(problems, fmt.Sprintf("the report does not hold %q (as UTF-8)", c))
		}
	}
	if exitFile != "" {
		b, err := os.ReadFile(exitFile)
		if err != nil {
			return err
		}
		code, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			return fmt.Errorf("%s: %v", exitFile, err)
		}
		if want := map[bool]int{false: 0, true: 1}[failed]; code != want {
			problems = append(problems, fmt.Sprintf("the script exited %d, not %d", code, want))
		}
	}
	fmt.Fprintf(out, "windowsci: %s\n", run.Summary())
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "\n"))
	}
	return nil
}
