package reportfile

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ami-harden/packer-plugin-ami-harden/provisioner/report"
)

func sampleRun() (*report.Run, []string) {
	steps := []string{"sshd", "passwords", "temp", "logs"}
	run := report.NewRun(steps)
	for _, l := range []string{
		"@@ami-harden begin 1",
		"@@ami-harden finding sshd PasswordAuthentication is yes, not no (sshd -T)",
		"@@ami-harden step sshd finding 1 finding(s)",
		"@@ami-harden step passwords failed could not lock root",
		"@@ami-harden step temp skipped -",
	} {
		run.Line(l)
	}
	return run, steps
}

func TestDocument(t *testing.T) {
	run, steps := sampleRun()
	start := time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)
	d := New(run, steps, "0.1.0-dev", "linux", "audit", start, start.Add(1500*time.Millisecond), errors.New("boom"))
	assert.Equal(t, "failed", d.Result)
	assert.Equal(t, "boom", d.Error)
	assert.Equal(t, 1.5, d.DurationSeconds)
	assert.Equal(t, Summary{Failed: 1, Finding: 1, Skipped: 1, Missing: 1}, d.Summary)
	assert.Equal(t, Step{Name: "sshd", Status: "finding", Detail: "1 finding(s)", Findings: []string{"PasswordAuthentication is yes, not no (sshd -T)"}, Notes: []string{}}, d.Steps[0])
	assert.Equal(t, Step{Name: "logs", Status: "missing", Findings: []string{}, Notes: []string{}}, d.Steps[3])
	assert.Nil(t, d.Handover, "no handover line: no handover in the report")
}

// A Windows run's handover line goes into the report as it came.
func TestDocumentHandover(t *testing.T) {
	run := report.NewRun([]string{"sysprep"})
	for _, l := range []string{"@@ami-harden begin 1", "@@ami-harden step sysprep changed handed over",
		"@@ami-harden handover started after this run: Sysprep (sysprep: sysprep.exe /generalize)", "@@ami-harden end 0"} {
		run.Line(l)
	}
	d := New(run, []string{"sysprep"}, "0.1.0-dev", "windows", "enforce", time.Now(), time.Now(), nil)
	assert.Equal(t, &Handover{State: "started", Text: "after this run: Sysprep (sysprep: sysprep.exe /generalize)", PoweredOff: true}, d.Handover)
	d = New(run, []string{"sysprep"}, "0.1.0-dev", "windows", "enforce", time.Now(), time.Now(), errors.New("did not power itself off"))
	assert.False(t, d.Handover.PoweredOff, "a run that failed (here: no power-off seen) did not see it")
}

func TestWriteJSONAndJUnit(t *testing.T) {
	run, steps := sampleRun()
	start := time.Now()
	d := New(run, steps, "0.1.0-dev", "linux", "audit", start, start.Add(time.Second), nil)
	dir := t.TempDir()
	jsonPath := filepath.Join(dir, "reports", "ami-harden.json")
	junitPath := filepath.Join(dir, "reports", "ami-harden.xml")
	require.NoError(t, WriteJSON(jsonPath, d))
	require.NoError(t, WriteJUnit(junitPath, d))

	var back Document
	b, err := os.ReadFile(jsonPath)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, d.Steps, back.Steps)
	assert.Equal(t, "failed", back.Result, "findings and missing steps fail the run even without an error")

	var suites junitSuites
	b, err = os.ReadFile(junitPath)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(b), `<?xml version="1.0" encoding="UTF-8"?>`))
	require.NoError(t, xml.Unmarshal(b, &suites))
	require.Len(t, suites.Suites, 1)
	s := suites.Suites[0]
	assert.Equal(t, 4, s.Tests)
	assert.Equal(t, 3, s.Failures)
	assert.Equal(t, 1, s.Skipped)
	assert.Equal(t, "finding", s.Cases[0].Failure.Type)
	assert.Equal(t, "PasswordAuthentication is yes, not no (sshd -T)", s.Cases[0].Failure.Text)
	assert.Equal(t, "failed", s.Cases[1].Failure.Type)
	assert.NotNil(t, s.Cases[2].Skipped)
	assert.Equal(t, "missing", s.Cases[3].Failure.Type)

	entries, err := os.ReadDir(filepath.Join(dir, "reports"))
	require.NoError(t, err)
	assert.Len(t, entries, 2, "no temporary file is left behind")
}

// A reader never sees a half-written report: the old file is never
// truncated or written over in place (a reader that opened it before still
// reads all of it), the new one appears whole under the name, and nothing
// else is left beside it, also when the write fails.
func TestWriteIsAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r.json")
	old := []byte(`{"old": "report, long enough to be cut by a truncating write"}`)
	require.NoError(t, os.WriteFile(path, old, 0o600))
	reader, err := os.Open(path)
	require.NoError(t, err)
	defer reader.Close()

	run, steps := sampleRun()
	doc := New(run, steps, "v", "linux", "enforce", time.Now(), time.Now(), nil)
	require.NoError(t, WriteJSON(path, doc))

	held, err := io.ReadAll(reader)
	require.NoError(t, err)
	assert.Equal(t, string(old), string(held), "the old file was changed in place")
	var back Document
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &back), "the new report is whole")
	assert.Equal(t, doc.Steps, back.Steps)
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), info.Mode().Perm())

	// A write that cannot replace the name (a directory is there) fails,
	// leaves the directory as it was and no temporary file.
	blocked := filepath.Join(dir, "blocked.json")
	require.NoError(t, os.MkdirAll(filepath.Join(blocked, "inside"), 0o755))
	require.Error(t, WriteJSON(blocked, doc))
	assert.DirExists(t, filepath.Join(blocked, "inside"))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.Equal(t, []string{"blocked.json", "r.json"}, names, "no temporary file is left behind")
}
