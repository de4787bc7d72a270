package acceptance

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/acctest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The environment make release-check gives TestReleasedPlugin: the plugin
// directory it installed (packer plugins install --path) this machine's
// binary from the snapshot release's archive into, and the release's version.
const (
	releasePluginsEnv = "AMI_HARDEN_RELEASE_PLUGINS"
	releaseVersionEnv = "AMI_HARDEN_RELEASE_VERSION"
)

//go:embed testdata/release/released.pkr.hcl
var releasedTemplate string

// TestReleasedPlugin: the binary of the release archive, installed as a user
// installs it, is the plugin a template that requires exactly that version
// gets: `packer init` finds it without the network, and `packer build`
// hardens a seeded target over SSH with it and reports its version. It runs
// from make release-check, after the snapshot release (make testacc skips it).
func TestReleasedPlugin(t *testing.T) {
	if os.Getenv(acctest.TestEnvVar) == "" {
		t.Skipf("acceptance tests run only with %s=1 (make release-check)", acctest.TestEnvVar)
	}
	dir, version := os.Getenv(releasePluginsEnv), os.Getenv(releaseVersionEnv)
	if dir == "" || version == "" {
		t.Fatalf("%s and %s are not set: this test checks a release; run it with make release-check", releasePluginsEnv, releaseVersionEnv)
	}
	dir, err := filepath.Abs(dir)
	require.NoError(t, err)
	binary := filepath.Join(dir, "github.com", "ami-harden", "ami-harden",
		"packer-plugin-ami-harden_v"+version+"_x5.0_"+runtime.GOOS+"_"+runtime.GOARCH)
	if _, err := os.Stat(binary); err != nil {
		t.Fatalf("the released plugin is not installed in %s (%v): run make release-check", dir, err)
	}
	// Only the release: Packer must not be able to pick the dev build.
	t.Setenv("PACKER_PLUGIN_PATH", dir)
	installed := strings.TrimSpace(run(t, "packer", "plugins", "installed"))
	require.Equal(t, binary, installed, "packer plugins installed, with PACKER_PLUGIN_PATH=%s", dir)

	tmpl := strings.ReplaceAll(releasedTemplate, "RELEASE_VERSION", version)
	require.Equal(t, 1, strings.Count(releasedTemplate, "RELEASE_VERSION"), "the fixture names the version in one place")
	require.NotContains(t, tmpl, "%", "acctest writes the template with Fprintf")
	require.Contains(t, tmpl, `version = "= `+version+`"`)

	tg := newTarget(t)
	tg.rig("seed", tg.Dir)
	files, read := reportFiles(t)
	found := regexp.MustCompile(`Found the following "github.com/ami-harden/ami-harden" installations: \[(.*)\]`)
	acctest.TestPlugin(t, &acctest.PluginTestCase{
		Name:     "ami_harden_released_plugin",
		Type:     "ami-harden",
		Template: tmpl,
		Init:     true,
		// packer init exits 0 with the plugin installed, and fetched nothing.
		CheckInit: func(cmd *exec.Cmd, logfile string) error {
			b, err := os.ReadFile(logfile)
			if err != nil {
				return err
			}
			if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 0 {
				return fmt.Errorf("packer init failed (offline, with the plugin installed):\n%s", b)
			}
			if strings.Contains(string(b), "Installed plugin") {
				return fmt.Errorf("packer init installed a plugin; the released one should have satisfied it:\n%s", b)
			}
			return nil
		},
		BuildExtraArgs: []string{
			"-var", "ssh_port=" + strconv.Itoa(tg.Port),
			"-var", "ssh_private_key_file=" + tg.Key,
			"-var", "report_file=" + files.paths[0],
			"-var", "junit_file=" + files.paths[1],
		},
		Check: buildCheck(true, []string{
			"sshd           changed",
			"passwords      changed",
			"host-keys      changed",
			", 0 failed in ",
		}, func(log string) error {
			// The one installation Packer found, and the binary it ran.
			m := found.FindStringSubmatch(log)
			if m == nil {
				return fmt.Errorf("the log does not say which ami-harden installations Packer found")
			}
			if want := "{" + binary + " v" + version + " x5.0}"; m[1] != want {
				return fmt.Errorf("packer found ami-harden installations %s, want only %s", m[1], want)
			}
			if !strings.Contains(log, "Starting plugin: "+binary+" ") {
				return fmt.Errorf("the log shows no start of %s", binary)
			}
			summary := regexp.MustCompile(`ami-harden: (\d+) of (\d+) steps reported: `).FindStringSubmatch(log)
			if summary == nil || summary[1] != summary[2] {
				return fmt.Errorf("no summary with every step reported (%v)", summary)
			}
			if strings.Contains(log, secretWord) {
				return fmt.Errorf("a secret from the target appears in packer's log")
			}
			return nil
		}),
	})

	// The report says which plugin wrote it: the release, not a dev build.
	r, j := read()
	assert.Equal(t, "passed", r.Result)
	assert.Zero(t, j.Failures)
	assert.NotEmpty(t, r.Steps)
	b, err := os.ReadFile(files.paths[0])
	require.NoError(t, err)
	var doc struct {
		PluginVersion string `json:"plugin_version"`
	}
	require.NoError(t, json.Unmarshal(b, &doc))
	assert.Equal(t, version, doc.PluginVersion, "report_file's plugin_version")

	// And it did its job: no password hash, no key left.
	for _, line := range strings.Split(readFile(t, tg.Path("etc/shadow")), "\n") {
		if f := strings.Split(line, ":"); len(f) > 1 {
			assert.Regexp(t, `^[!*]`, f[1], "account %s still has a usable password", f[0])
		}
	}
	keysLeft, _ := filepath.Glob(tg.Path("etc/ssh/ssh_host_*"))
	assert.Empty(t, keysLeft)
	assert.NoFileExists(t, tg.Path("home/builder/.ssh/authorized_keys"))
}
