// Package reportfile writes the result of a hardening run to files that
// outlive the build: a JSON report (schema: docs/report.schema.json) to keep
// with the image, and JUnit XML for CI systems to show failed steps and
// findings the way they show failed tests. Both are written atomically: a
// reader sees the old file or the whole new one, never a part.
package reportfile

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ami-harden/packer-plugin-ami-harden/provisioner/report"
)

// SchemaVersion is the version of the JSON report's layout.
const SchemaVersion = 1

// Document is the JSON report.
type Document struct {
	SchemaVersion   int       `json:"schema_version"`
	PluginVersion   string    `json:"plugin_version"`
	Build           Build     `json:"build"`
	OS              string    `json:"os"`
	Mode            string    `json:"mode"`
	StartedAt       time.Time `json:"started_at"`
	FinishedAt      time.Time `json:"finished_at"`
	DurationSeconds float64   `json:"duration_seconds"`
	// Result is "passed" when every step reported and none failed or found
	// anything, "failed" otherwise (also when on_failure let the build go on).
	Result string `json:"result"`
	// Error is why the run failed, when it did.
	Error   string  `json:"error,omitempty"`
	Summary Summary `json:"summary"`
	Steps   []Step  `json:"steps"`
	// Handover (Windows) is what the script left to a process of its own on
	// the machine for after the run: Sysprep, and the work that had to wait
	// until the build let go of the machine. The machine powers itself off
	// when all of it worked; the provisioner waits for that.
	Handover *Handover `json:"handover,omitempty"`
}

// Handover is the run's handover line.
type Handover struct {
	// State is "started", or "withheld" when a step failed.
	State string `json:"state"`
	// Text is what the process does, in the script's words.
	Text string `json:"text"`
	// PoweredOff: the provisioner saw the machine power itself off, which it
	// does only when all of it worked.
	PoweredOff bool `json:"powered_off"`
}

// Build says which build of which packer run the report is from.
type Build struct {
	// Name is PackerBuildName: the source's name, e.g. "app" for
	// source "amazon-ebs" "app".
	Name string `json:"name"`
	// BuilderType is PackerBuilderType, e.g. "amazon-ebs".
	BuilderType string `json:"builder_type"`
	// RunUUID is the packer run's PackerRunUUID.
	RunUUID string `json:"run_uuid"`
}

// Summary counts the steps by status.
type Summary struct {
	Changed int `json:"changed"`
	OK      int `json:"ok"`
	Skipped int `json:"skipped"`
	Failed  int `json:"failed"`
	Finding int `json:"finding"`
	Missing int `json:"missing"`
}

// Step is one step's outcome. Status "missing" means it never reported.
type Step struct {
	Name     string   `json:"name"`
	Status   string   `json:"status"`
	Detail   string   `json:"detail"`
	Findings []string `json:"findings"`
	// Notes are what the step left in place that the user must know about
	// (a way into the image that stays, a home it did not follow).
	Notes []string `json:"notes"`
}

// New builds the report of run. runErr is the run's failure, or nil.
func New(run *report.Run, steps []string, pluginVersion, os, mode string, started, finished time.Time, runErr error) *Document {
	d := &Document{
		SchemaVersion:   SchemaVersion,
		PluginVersion:   pluginVersion,
		OS:              os,
		Mode:            mode,
		StartedAt:       started.UTC(),
		FinishedAt:      finished.UTC(),
		DurationSeconds: finished.Sub(started).Seconds(),
		Result:          "passed",
		Steps:           []Step{},
	}
	results := map[string]report.Result{}
	for _, r := range run.Results() {
		results[r.Step] = r
	}
	for _, name := range steps {
		s := Step{Name: name, Status: string(report.Missing), Findings: []string{}, Notes: []string{}}
		if r, ok := results[name]; ok {
			s.Status, s.Detail = string(r.Status), r.Detail
			s.Findings = append(s.Findings, r.Findings...)
			s.Notes = append(s.Notes, r.Notes...)
		}
		d.Steps = append(d.Steps, s)
		switch report.Status(s.Status) {
		case report.Changed:
			d.Summary.Changed++
		case report.OK:
			d.Summary.OK++
		case report.Skipped:
			d.Summary.Skipped++
		case report.Failed:
			d.Summary.Failed++
		case report.Finding:
			d.Summary.Finding++
		default:
			d.Summary.Missing++
		}
	}
	if h := run.Handover(); h.State != "" {
		d.Handover = &Handover{State: h.State, Text: h.Text, PoweredOff: h.State == report.HandoverStarted && runErr == nil}
	}
	if runErr != nil {
		d.Result, d.Error = "failed", runErr.Error()
	}
	if d.Summary.Failed+d.Summary.Finding+d.Summary.Missing > 0 {
		d.Result = "failed"
	}
	return d
}

// WriteJSON writes d to path as indented JSON.
func WriteJSON(path string, d *Document) error {
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(path, append(b, '\n'))
}

// JUnit XML, in the layout CI systems read (Jenkins, GitLab, GitHub actions).
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

// WriteJUnit writes d to path as JUnit XML: one test case per step; failed
// steps, steps with findings and steps that never reported are failures.
func WriteJUnit(path string, d *Document) error {
	seconds := fmt.Sprintf("%.3f", d.DurationSeconds)
	// The build's name keeps the suites and cases of parallel builds apart
	// when a CI system reads several files into one view.
	name, class := fmt.Sprintf("ami-harden %s %s", d.OS, d.Mode), "ami-harden."+d.OS
	if d.Build.Name != "" {
		name, class = fmt.Sprintf("ami-harden %s (%s %s)", d.Build.Name, d.OS, d.Mode), "ami-harden."+d.Build.Name
	}
	suite := junitSuite{
		Name: name,
		Properties: []junitProperty{
			{"build_name", d.Build.Name}, {"builder_type", d.Build.BuilderType}, {"packer_run_uuid", d.Build.RunUUID},
			{"plugin_version", d.PluginVersion}, {"os", d.OS}, {"mode", d.Mode},
		},
		Time:      seconds,
		Timestamp: d.StartedAt.Format("2006-01-02T15:04:05"),
	}
	for _, s := range d.Steps {
		c := junitCase{Name: s.Name, Classname: class, SystemOut: strings.Join(append([]string{s.Detail}, s.Notes...), "\n")}
		switch report.Status(s.Status) {
		case report.Failed:
			c.Failure = &junitFailure{Message: s.Detail, Type: s.Status, Text: strings.Join(append([]string{s.Detail}, s.Findings...), "\n")}
		case report.Finding:
			c.Failure = &junitFailure{Message: fmt.Sprintf("%d finding(s)", len(s.Findings)), Type: s.Status,
				Text: strings.Join(s.Findings, "\n")}
		case report.Missing:
			c.Failure = &junitFailure{Message: "the step never reported: the run was cut short", Type: s.Status}
		case report.Skipped:
			c.Skipped = &junitSkipped{Message: s.Detail}
		}
		if c.Failure != nil {
			suite.Failures++
		}
		if c.Skipped != nil {
			suite.Skipped++
		}
		suite.Cases = append(suite.Cases, c)
	}
	suite.Tests = len(suite.Cases)
	doc := junitSuites{Name: "ami-harden", Tests: suite.Tests, Failures: suite.Failures, Skipped: suite.Skipped,
		Time: seconds, Suites: []junitSuite{suite}}
	b, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(path, append([]byte(xml.Header), append(b, '\n')...))
}

// writeAtomic writes data to a temporary file beside path, flushes it to the
// disk and renames it over path.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // after a successful rename there is nothing left to remove
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
