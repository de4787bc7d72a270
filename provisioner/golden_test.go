package provisioner

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// The script each system gets from an empty `provisioner "ami-harden" {}`
// block is committed, so that a reviewer sees exactly what runs, the
// PowerShell parser and shellcheck check it (make test), and its size is
// known. make generate rewrites the files (go test ./provisioner -update);
// this test fails when they are stale.
func TestDefaultScriptsAreGolden(t *testing.T) {
	// As Packer passes them for the build test/acceptance/winrm_test.go
	// runs, which compares what it receives with the golden file.
	p := prepared(t, map[string]interface{}{"packer_build_name": "windows", "packer_builder_type": "null"})
	for _, c := range []struct {
		conn, file string
	}{
		{"ssh", "default-linux.sh"},
		{"winrm", "default-windows.ps1"},
	} {
		g := p.guestFor(map[string]interface{}{"ConnType": c.conn})
		run, _, err := p.config.stepsFor(g.os())
		require.NoError(t, err)
		got := g.render(run, "Administrator")
		path := filepath.Join("testdata", c.file)
		if *update {
			require.NoError(t, os.WriteFile(path, got, 0o644))
		}
		want, err := os.ReadFile(path)
		require.NoError(t, err, "run go test ./provisioner -update")
		assert.Equal(t, string(want), string(got), "%s is stale: run make generate and commit it", path)
		t.Logf("%s: %d bytes", c.file, len(got))
	}
}
