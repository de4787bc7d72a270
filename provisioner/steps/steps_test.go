package steps

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Each record is one a user can write and a reader can find: a name of
// lowercase words, once per system, a summary that is a sentence, and a
// section of docs/steps.md that exists.
func TestRecords(t *testing.T) {
	doc, err := os.ReadFile("../../docs/steps.md")
	require.NoError(t, err)
	anchors := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^#+ (.+)$`).FindAllStringSubmatch(string(doc), -1) {
		// GitHub's anchor of a heading: lowercase, spaces as -, other
		// punctuation but - and _ dropped.
		a := strings.ToLower(m[1])
		a = regexp.MustCompile(`[^a-z0-9 _-]`).ReplaceAllString(a, "")
		anchors[strings.ReplaceAll(a, " ", "-")] = true
	}
	seen := map[string]bool{}
	for _, s := range All {
		assert.Regexp(t, `^[a-z][a-z0-9]*(-[a-z0-9]+)*$`, s.Name)
		assert.Contains(t, OSes, s.OS, "step %s", s.Name)
		assert.False(t, seen[s.OS+" "+s.Name], "step %s twice on %s", s.Name, s.OS)
		seen[s.OS+" "+s.Name] = true
		assert.True(t, strings.HasSuffix(s.Summary, "."), "the summary of %s is a sentence", s.Name)
		assert.True(t, anchors[s.Anchor], "step %s: docs/steps.md has no section #%s", s.Name, s.Anchor)
	}
	assert.Len(t, seen, len(All))
}

// Sysprep generalises the machine and resets WinRM: nothing runs after it.
func TestSysprepIsLast(t *testing.T) {
	names := Names(Windows)
	assert.Equal(t, "sysprep", names[len(names)-1])
}

func TestSelectors(t *testing.T) {
	assert.Equal(t, Names(Linux), Defaults(Linux), "every Linux step runs by default")
	assert.True(t, Has(Windows, "winrm"))
	assert.False(t, Has(Linux, "winrm"))
	assert.True(t, Has(Linux, "temp") && Has(Windows, "temp"), "a name both systems have")
	assert.Equal(t, len(All), len(Of(Linux))+len(Of(Windows)))
}
