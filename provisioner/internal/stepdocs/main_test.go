package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Only the region between its markers is written, and writing it again
// changes nothing; a missing region is an error, not a silent skip.
func TestReplaceRegion(t *testing.T) {
	in := "before\n<!-- begin x: generated -->\nold\n<!-- end x -->\nafter\n"
	out, err := replaceRegion([]byte(in), "x", "new 1\nnew 2\n")
	require.NoError(t, err)
	assert.Equal(t, "before\n<!-- begin x: generated -->\nnew 1\nnew 2\n<!-- end x -->\nafter\n", string(out))
	again, err := replaceRegion(out, "x", "new 1\nnew 2\n")
	require.NoError(t, err)
	assert.Equal(t, string(out), string(again))
	_, err = replaceRegion([]byte(in), "y", "z\n")
	assert.Error(t, err)
}

// The comment of Config.Steps gets the lists of the step list, wrapped to
// its width, and is a fixed point: a second run changes nothing.
func TestStepsComment(t *testing.T) {
	src := "type Config struct {\n\t// The steps. On Linux: a, b. On Windows: c. A name that is a\n\t// step of neither OS is an error.\n\tSteps []string `mapstructure:\"steps\"`\n}\n"
	out, err := stepsComment([]byte(src))
	require.NoError(t, err)
	assert.Contains(t, string(out), "On Linux: sshd, services, passwords,")
	assert.Contains(t, strings.ReplaceAll(string(out), "\n\t// ", " "), "event-logs, sysprep. A name that is a step of neither OS is an error.")
	for _, line := range strings.Split(string(out), "\n") {
		assert.LessOrEqual(t, len(strings.TrimPrefix(line, "\t// ")), 72, line)
	}
	again, err := stepsComment(out)
	require.NoError(t, err)
	assert.Equal(t, string(out), string(again))
	_, err = stepsComment([]byte("type Config struct {\n\t// No lists here.\n\tSteps []string\n}\n"))
	assert.Error(t, err)
}
