// Package report reads the lines the hardening scripts print about their
// steps, and decides whether a run may be trusted.
//
// The protocol is line based so that it survives any transport (SSH, WinRM,
// CRLF line ends, interleaved output). Every line starts with Prefix;
// nothing else the scripts print does. The second word is one of Kinds:
//
//	@@ami-harden begin 1               the script runs with the rights it needs; protocol version 1
//	@@ami-harden start NAME            step NAME starts (names the step a lost connection cut)
//	@@ami-harden finding NAME TEXT     audit mode: one thing step NAME found wrong
//	@@ami-harden note NAME TEXT        something step NAME leaves as it is, for the user to know
//	@@ami-harden step NAME STATUS DETAIL
//	                                   step NAME's result; STATUS is one of Statuses
//	@@ami-harden handover STATE TEXT   Windows: what the script left to a process of its own
//	                                   for after the run (STATE started), or did not leave to
//	                                   it because a step failed (STATE withheld)
//	@@ami-harden end FAILED            every step ran; FAILED of them failed
//	@@ami-harden abort REASON          the script stopped: before the first step, or
//	                                   (Windows) when the handover could not start
//
// A run is complete only when it began, every expected step reported exactly
// once, and the end marker arrived. Anything less is a failure: an image must
// never be shared half hardened because a line went missing. The scripts'
// own tests check that they print no other kind of line.
package report

import (
	"fmt"
	"strings"
	"sync"
)

// Prefix starts every protocol line; nothing else the scripts print does.
const Prefix = "@@ami-harden "

// Kinds are the second words of the protocol's lines.
var Kinds = []string{"begin", "start", "finding", "note", "step", "handover", "end", "abort"}

// ProtocolVersion is the version the begin line must carry.
const ProtocolVersion = "1"

// Status is a step's outcome.
type Status string

const (
	OK      Status = "ok"      // already as it should be, nothing changed
	Changed Status = "changed" // changed, then verified
	Skipped Status = "skipped" // does not apply to this machine
	Failed  Status = "failed"  // could not be done or not verified
	Finding Status = "finding" // audit mode: something enforce would change
	Missing Status = "missing" // never reported (not a protocol status)
)

// Statuses are the statuses a step can report, in summary order.
var Statuses = []Status{Changed, OK, Skipped, Failed, Finding}

func (s Status) valid() bool {
	switch s {
	case OK, Changed, Skipped, Failed, Finding:
		return true
	}
	return false
}

// Result is one step's report line.
type Result struct {
	Step     string
	Status   Status
	Detail   string
	Findings []string // audit mode: what the step found wrong
	Notes    []string // what the step left in place that the user must know about
}

// Run collects the report of one script run. It is safe for concurrent
// use: the lines arrive from the command's output while the provisioner
// asks how far the run got (a cancelled build, a lost connection).
type Run struct {
	mu       sync.Mutex
	expected []string
	results  map[string]Result
	findings map[string][]string
	notes    map[string][]string
	order    []string
	began    bool
	ended    bool
	running  string
	handover Handover
	abort    string
	problems []string
}

// NewRun expects exactly the given steps.
func NewRun(steps []string) *Run {
	return &Run{expected: steps, results: map[string]Result{}, findings: map[string][]string{}, notes: map[string][]string{}}
}

// Line takes one line of output. It returns the step result when the line
// was a step report, and whether the line belonged to the protocol at all
// (other output is the caller's to pass through).
func (r *Run) Line(line string) (res *Result, protocol bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	line = strings.TrimRight(line, "\r\n")
	// A protocol line is recognised anywhere in the line: PowerShell and
	// some shells prefix output, and a prefix must not hide a result.
	i := strings.Index(line, Prefix)
	if i < 0 {
		return nil, false
	}
	kind, rest, _ := strings.Cut(strings.TrimSpace(line[i+len(Prefix):]), " ")
	switch kind {
	case "begin":
		if strings.TrimSpace(rest) != ProtocolVersion {
			r.problem("the script speaks report protocol %q, this plugin %q", rest, ProtocolVersion)
		}
		r.began = true
	case "start":
		r.running = strings.TrimSpace(rest)
	case "end":
		r.ended = true
	case "abort":
		r.abort = strings.TrimSpace(rest)
	case "handover":
		state, text, _ := strings.Cut(strings.TrimSpace(rest), " ")
		if state != HandoverStarted && state != HandoverWithheld {
			r.problem("handover line with the unknown state %q", state)
			break
		}
		r.handover = Handover{State: state, Text: strings.TrimSpace(text)}
	case "finding":
		r.collect(r.findings, kind, rest)
	case "note":
		r.collect(r.notes, kind, rest)
	case "step":
		return r.step(rest), true
	default:
		r.problem("unknown report line %q", truncate(line))
	}
	return nil, true
}

func (r *Run) step(rest string) *Result {
	fields := strings.SplitN(rest, " ", 3)
	if len(fields) < 2 {
		r.problem("malformed step line %q", truncate(rest))
		return nil
	}
	res := Result{Step: fields[0], Status: Status(fields[1])}
	if len(fields) == 3 {
		res.Detail = strings.TrimSpace(fields[2])
	}
	if !r.isExpected(res.Step) {
		r.problem("step %q reported, but it was not asked for", res.Step)
		return nil
	}
	if !res.Status.valid() {
		r.problem("step %s reported the unknown status %q", res.Step, res.Status)
		res.Status = Failed
	}
	if _, dup := r.results[res.Step]; dup {
		r.problem("step %s reported twice", res.Step)
		return nil
	}
	res.Findings = r.findings[res.Step]
	res.Notes = r.notes[res.Step]
	if res.Status == Finding && len(res.Findings) == 0 {
		r.problem("step %s reported findings but sent none", res.Step)
	}
	r.results[res.Step] = res
	r.order = append(r.order, res.Step)
	return &res
}

// collect keeps a "STEP TEXT" line of the given kind for its step.
func (r *Run) collect(into map[string][]string, kind, rest string) {
	step, text, _ := strings.Cut(strings.TrimSpace(rest), " ")
	if !r.isExpected(step) {
		r.problem("%s for step %q, which was not asked for", kind, step)
		return
	}
	into[step] = append(into[step], strings.TrimSpace(text))
}

func (r *Run) isExpected(step string) bool {
	for _, s := range r.expected {
		if s == step {
			return true
		}
	}
	return false
}

func (r *Run) problem(format string, args ...interface{}) {
	r.problems = append(r.problems, fmt.Sprintf(format, args...))
}

// locked is f's result, read under the run's lock.
func locked[T any](r *Run, f func() T) T {
	r.mu.Lock()
	defer r.mu.Unlock()
	return f()
}

// Expected are the steps the run expects, in the order they run.
func (r *Run) Expected() []string { return append([]string{}, r.expected...) }

// Began tells whether the script started (ran as root and printed begin).
func (r *Run) Began() bool { return locked(r, func() bool { return r.began }) }

// Running is the step that started last and has not reported yet, or "".
func (r *Run) Running() string { return locked(r, func() string { return r.unreported(r.running) }) }

// unreported is step, or "" when it has reported.
func (r *Run) unreported(step string) string {
	if _, done := r.results[step]; done {
		return ""
	}
	return step
}

// Handover is what a Windows script left to a process of its own for after
// the run: the work that must wait until the build has let go of the
// machine, and Sysprep.
type Handover struct {
	// State is HandoverStarted or HandoverWithheld; "" when there was no
	// handover line.
	State string
	// Text is what the process does, in the script's words.
	Text string
}

// The states of a handover line.
const (
	HandoverStarted  = "started"
	HandoverWithheld = "withheld"
)

// Handover is the run's handover line.
func (r *Run) Handover() Handover { return locked(r, func() Handover { return r.handover }) }

// Ended tells whether the script's end marker arrived.
func (r *Run) Ended() bool { return locked(r, func() bool { return r.ended }) }

// Aborted is the reason the script gave for stopping before any step, or "".
func (r *Run) Aborted() string { return locked(r, func() string { return r.abort }) }

// Results are the reported steps in the order they arrived.
func (r *Run) Results() []Result { return locked(r, r.resultList) }

func (r *Run) resultList() []Result {
	out := make([]Result, 0, len(r.order))
	for _, s := range r.order {
		out = append(out, r.results[s])
	}
	return out
}

// Status is the status a step reported, or "" when it has not.
func (r *Run) Status(step string) Status {
	return locked(r, func() Status { return r.results[step].Status })
}

// Complete tells whether the run began, reached its end marker, heard from
// every expected step, and read nothing it did not understand.
func (r *Run) Complete() bool { return locked(r, func() bool { return len(r.incomplete()) == 0 }) }

// Missing are the expected steps that have not reported.
func (r *Run) Missing() []string { return locked(r, r.missing) }

func (r *Run) missing() []string {
	var out []string
	for _, s := range r.expected {
		if _, ok := r.results[s]; !ok {
			out = append(out, s)
		}
	}
	return out
}

// Counts returns how many steps reported each status.
func (r *Run) Counts() map[Status]int { return locked(r, r.counts) }

func (r *Run) counts() map[Status]int {
	c := map[Status]int{}
	for _, res := range r.results {
		c[res.Status]++
	}
	return c
}

// Summary is the one line that ends the provisioner's output.
func (r *Run) Summary() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.counts()
	s := fmt.Sprintf("%d of %d steps reported: %d changed, %d ok, %d skipped, %d failed",
		len(r.results), len(r.expected), c[Changed], c[OK], c[Skipped], c[Failed])
	if c[Finding] > 0 {
		s += fmt.Sprintf(", %d with findings", c[Finding])
	}
	if m := r.missing(); len(m) > 0 {
		s += fmt.Sprintf("; no report from %s", strings.Join(m, ", "))
	}
	return s
}

// Err says why the run cannot be trusted or did not pass: Incomplete and
// Failures together; nil when every expected step reported, none failed or
// found anything, and the script reached its end.
func (r *Run) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	msgs := append(r.incomplete(), r.failures()...)
	if len(msgs) == 0 {
		return nil
	}
	return fmt.Errorf("%s", strings.Join(msgs, "\n"))
}

// Incomplete says why the report cannot be trusted (it never began, was cut
// short, or held lines that make no sense), or nil. This is never a matter
// of policy: an incomplete report always fails the build.
func (r *Run) Incomplete() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if msgs := r.incomplete(); len(msgs) > 0 {
		return fmt.Errorf("%s", strings.Join(msgs, "\n"))
	}
	return nil
}

// Failures lists the steps that failed and the findings of audit mode, one
// message each.
func (r *Run) Failures() []string { return locked(r, r.failures) }

func (r *Run) failures() []string {
	var msgs []string
	for _, res := range r.resultList() {
		switch res.Status {
		case Failed:
			msgs = append(msgs, fmt.Sprintf("step %s failed: %s", res.Step, res.Detail))
		case Finding:
			shown := res.Findings
			more := ""
			if len(shown) > 3 {
				shown, more = shown[:3], fmt.Sprintf(" and %d more", len(res.Findings)-3)
			}
			msgs = append(msgs, fmt.Sprintf("step %s found %d thing(s) to fix: %s%s", res.Step, len(res.Findings), strings.Join(shown, "; "), more))
		}
	}
	return msgs
}

func (r *Run) incomplete() []string {
	var msgs []string
	switch {
	case r.abort != "" && len(r.order) > 0:
		msgs = append(msgs, "the script stopped after its steps had run: "+r.abort)
	case r.abort != "":
		msgs = append(msgs, "the script stopped before changing anything: "+r.abort)
	case !r.began:
		msgs = append(msgs, "the script never started (no begin line): check that execute_command runs it as root")
	}
	msgs = append(msgs, r.problems...)
	if r.began && r.abort == "" {
		if m := r.missing(); len(m) > 0 {
			msgs = append(msgs, fmt.Sprintf("no report from step(s) %s: the run was cut short, so the image may be half hardened",
				strings.Join(m, ", ")))
		}
		if !r.ended {
			msgs = append(msgs, "the script's end marker never arrived: the run was cut short")
		}
	}
	return msgs
}

func truncate(s string) string {
	if len(s) > 120 {
		return s[:120] + "..."
	}
	return s
}
