package report

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var steps = []string{"sshd", "passwords", "logs"}

func feed(r *Run, text string) {
	for _, line := range strings.Split(text, "\n") {
		r.Line(line)
	}
}

func TestCompleteRun(t *testing.T) {
	r := NewRun(steps)
	feed(r, "@@ami-harden begin 1\n"+
		"@@ami-harden start sshd\n"+
		"@@ami-harden step sshd changed PasswordAuthentication no\n"+
		"some other output\n"+
		"@@ami-harden step passwords ok no account has a usable or empty password\r\n"+
		"@@ami-harden step logs skipped -\n"+
		"@@ami-harden end 0")
	require.NoError(t, r.Err())
	assert.Equal(t, "3 of 3 steps reported: 1 changed, 1 ok, 1 skipped, 0 failed", r.Summary())
	assert.Equal(t, "no account has a usable or empty password", r.Results()[1].Detail, "CR is not part of the detail")
}

func TestLineClassifiesOutput(t *testing.T) {
	r := NewRun(steps)
	res, protocol := r.Line("hello")
	assert.Nil(t, res)
	assert.False(t, protocol)
	res, protocol = r.Line("@@ami-harden begin 1")
	assert.Nil(t, res)
	assert.True(t, protocol)
	res, protocol = r.Line("prefix from a shell @@ami-harden step sshd failed sshd -t said no")
	require.NotNil(t, res)
	assert.True(t, protocol)
	assert.Equal(t, Result{Step: "sshd", Status: Failed, Detail: "sshd -t said no"}, *res)
}

// Every way a run can be incomplete or wrong makes Err name the cause.
func TestFailClosed(t *testing.T) {
	full := "@@ami-harden begin 1\n@@ami-harden step sshd ok -\n@@ami-harden step passwords ok -\n@@ami-harden step logs ok -\n@@ami-harden end 0"
	cases := map[string]struct{ output, want string }{
		"nothing at all":        {"", "never started"},
		"only other output":     {"sudo: a password is required", "never started"},
		"abort":                 {"@@ami-harden abort not-root: uid 1000", "stopped before changing anything: not-root"},
		"missing step":          {strings.Replace(full, "@@ami-harden step passwords ok -\n", "", 1), "no report from step(s) passwords"},
		"missing end":           {strings.TrimSuffix(full, "@@ami-harden end 0"), "end marker never arrived"},
		"failed step":           {strings.Replace(full, "logs ok -", "logs failed could not truncate /var/log/x", 1), "step logs failed: could not truncate /var/log/x"},
		"unknown status":        {strings.Replace(full, "logs ok", "logs fine", 1), `unknown status "fine"`},
		"unexpected step":       {full + "\n@@ami-harden step temp ok -", `"temp" reported, but it was not asked for`},
		"duplicate step":        {full + "\n@@ami-harden step sshd ok -", "sshd reported twice"},
		"malformed step":        {full + "\n@@ami-harden step sshd", "malformed step line"},
		"other protocol":        {strings.Replace(full, "begin 1", "begin 2", 1), `protocol "2"`},
		"unknown line kind":     {full + "\n@@ami-harden bogus", "unknown report line"},
		"abort after the steps": {strings.Replace(full, "@@ami-harden end 0", "@@ami-harden abort handover-failed: no process", 1), "stopped after its steps had run: handover-failed: no process"},
		"unknown handover":      {strings.Replace(full, "@@ami-harden end 0", "@@ami-harden handover later x\n@@ami-harden end 0", 1), `handover line with the unknown state "later"`},
		"cut after one step":    {"@@ami-harden begin 1\n@@ami-harden start sshd\n@@ami-harden step sshd ok -\n@@ami-harden start passwords", "no report from step(s) passwords, logs"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			r := NewRun(steps)
			feed(r, c.output)
			err := r.Err()
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

// The handover line (Windows): kept for the output and the report file; it
// neither completes nor fails a run by itself.
func TestHandover(t *testing.T) {
	r := NewRun(steps)
	assert.Equal(t, Handover{}, r.Handover())
	feed(r, "@@ami-harden begin 1\n@@ami-harden step sshd ok -\n@@ami-harden step passwords ok -\n@@ami-harden step logs ok -\n"+
		"@@ami-harden handover started after this run: Sysprep (sysprep: sysprep.exe /generalize)\r\n@@ami-harden end 0")
	require.NoError(t, r.Err())
	assert.Equal(t, Handover{State: HandoverStarted, Text: "after this run: Sysprep (sysprep: sysprep.exe /generalize)"}, r.Handover())
}

func TestRunningNamesTheCutStep(t *testing.T) {
	r := NewRun(steps)
	feed(r, "@@ami-harden begin 1\n@@ami-harden start sshd\n@@ami-harden step sshd ok -\n@@ami-harden start passwords")
	assert.Equal(t, "passwords", r.Running())
	r.Line("@@ami-harden step passwords ok -")
	assert.Equal(t, "", r.Running())
	assert.Equal(t, []string{"logs"}, r.Missing())
}

func TestFindings(t *testing.T) {
	r := NewRun(steps)
	feed(r, "@@ami-harden begin 1\n"+
		"@@ami-harden finding sshd PasswordAuthentication is yes, not no (sshd -T)\n"+
		"@@ami-harden finding sshd PermitRootLogin is yes, not prohibit-password (sshd -T)\n"+
		"@@ami-harden step sshd finding 2 finding(s)\n"+
		"@@ami-harden step passwords ok -\n"+
		"@@ami-harden step logs ok -\n"+
		"@@ami-harden end 0")
	require.NoError(t, r.Incomplete(), "findings are not a broken report")
	assert.True(t, r.Complete())
	res := r.Results()[0]
	assert.Equal(t, Finding, res.Status)
	assert.Equal(t, []string{"PasswordAuthentication is yes, not no (sshd -T)", "PermitRootLogin is yes, not prohibit-password (sshd -T)"}, res.Findings)
	assert.Equal(t, []string{"step sshd found 2 thing(s) to fix: PasswordAuthentication is yes, not no (sshd -T); PermitRootLogin is yes, not prohibit-password (sshd -T)"}, r.Failures())
	assert.Error(t, r.Err())
	assert.Equal(t, "3 of 3 steps reported: 0 changed, 2 ok, 0 skipped, 0 failed, 1 with findings", r.Summary())
}

func TestFindingProblems(t *testing.T) {
	r := NewRun(steps)
	feed(r, "@@ami-harden begin 1\n@@ami-harden finding temp /tmp/x exists\n@@ami-harden step sshd finding 1 finding(s)\n"+
		"@@ami-harden step passwords ok -\n@@ami-harden step logs ok -\n@@ami-harden end 0")
	err := r.Incomplete()
	require.Error(t, err)
	assert.Contains(t, err.Error(), `finding for step "temp", which was not asked for`)
	assert.Contains(t, err.Error(), "step sshd reported findings but sent none")
}

// Notes belong to the step they name and never fail a run; a note for a
// step that was not asked for is a protocol problem.
func TestNotes(t *testing.T) {
	r := NewRun(steps)
	feed(r, "@@ami-harden begin 1\n"+
		"@@ami-harden note sshd AuthorizedKeysCommand /opt/aws/bin/eic %u %f decides who logs in\n"+
		"@@ami-harden step sshd changed done\n"+
		"@@ami-harden step passwords ok -\n"+
		"@@ami-harden step logs ok -\n"+
		"@@ami-harden end 0")
	require.NoError(t, r.Err())
	assert.Equal(t, []string{"AuthorizedKeysCommand /opt/aws/bin/eic %u %f decides who logs in"}, r.Results()[0].Notes)
	assert.Empty(t, r.Results()[1].Notes)

	r = NewRun(steps)
	feed(r, "@@ami-harden begin 1\n@@ami-harden note temp something\n")
	assert.ErrorContains(t, r.Incomplete(), `note for step "temp", which was not asked for`)
}
