package acceptance

import (
	_ "embed"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/acctest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ami-harden/packer-plugin-ami-harden/test/winrmfake"
)

//go:embed testdata/fixtures/shared-linux-windows.pkr.hcl
var sharedBuild string

// TestSharedBlockLinuxAndWindows: one provisioner block serves a Linux
// source (the rig over SSH) and a Windows source (the fake WinRM machine)
// in one packer build. Each machine skips the other OS's step and says so,
// runs the rest, and writes report files named after its source, with the
// build's identity in them.
func TestSharedBlockLinuxAndWindows(t *testing.T) {
	winrmAcc(t)
	tg := newTarget(t)
	full := windowsOutput(t, "full-report.txt")
	// The Windows run without sysprep: the report up to that step; the
	// winrm step's final work is still handed over (and turns Basic auth
	// off: from then on every request gets 401, until the machine powers
	// itself off); then its end.
	report := full[:strings.Index(full, "@@ami-harden start sysprep")] +
		"@@ami-harden handover started after this run: WinRM: Basic auth and unencrypted traffic off, self-signed HTTPS listeners removed " +
		"with their certificates and keys (winrm); then the machine powers itself off, or stays up and says why in its Application event log and on COM1\r\n" +
		"@@ami-harden end 0\r\n"
	f := winrmfake.Start(t, winrmfake.Options{Responder: winrmfake.NewScenario().On(scriptRun,
		winrmfake.Reply{Stdout: report, Then: winrmfake.Outage{Status: 401, Count: -1, Delay: time.Second, PowerOffAfter: time.Second}})})
	dir := t.TempDir()

	acctest.TestPlugin(t, &acctest.PluginTestCase{
		Name:           "ami_harden_shared_block",
		Type:           "ami-harden",
		Template:       linuxFixture + windowsFixture + sharedBuild,
		BuildExtraArgs: append(tg.vars("report_dir="+dir), winrmVars(f)...),
		Check: buildCheck(true, []string{
			"null.target: ami-harden: not steps of linux, skipped on this machine: sysprep",
			"null.windows: ami-harden: not steps of windows, skipped on this machine: secrets",
			"null.target: ami-harden: 15 of 15 steps reported",
			"null.windows: ami-harden: 17 of 17 steps reported",
			"null.windows: ami-harden: handed over to a process on the machine: after this run: WinRM:",
			// {{.Vars}} in the default execute_command on Linux (the SSH
			// communicator logs the command it starts).
			`sudo -n env PACKER_BUILDER_TYPE='null' PACKER_BUILD_NAME='target' SHARED_TEST='it'\''s shared' /bin/sh '/tmp/ami-harden-`,
		}, nil),
	})

	// The Windows script sets environment_vars and Packer's own at its top.
	_, body := uploadedScript(t, f)
	assert.True(t, strings.Contains(string(body), "\n$env:PACKER_BUILDER_TYPE = 'null'\n$env:PACKER_BUILD_NAME = 'windows'\n$env:SHARED_TEST = 'it''s shared'\n"),
		"environment variables at the top of the Windows script")

	for _, c := range []struct{ source, os string }{{"target", "linux"}, {"windows", "windows"}} {
		doc, j := readReports(t, filepath.Join(dir, c.source+".json"), filepath.Join(dir, c.source+".xml"))
		assert.Equal(t, c.os, doc.OS)
		assert.Equal(t, c.source, doc.Build.Name)
		assert.Equal(t, "null", doc.Build.BuilderType)
		assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`, doc.Build.RunUUID, "PackerRunUUID")
		for _, s := range doc.Steps {
			assert.NotContains(t, []string{"secrets", "sysprep"}, s.Name)
		}
		require.Len(t, j.Suites, 1)
		assert.Equal(t, "ami-harden "+c.source+" ("+c.os+" enforce)", j.Suites[0].Name)
		assert.Equal(t, "ami-harden."+c.source, j.Suites[0].Cases[0].Classname)
		props := map[string]string{}
		for _, p := range j.Suites[0].Properties {
			props[p.Name] = p.Value
		}
		assert.Equal(t, doc.Build.RunUUID, props["packer_run_uuid"])
		assert.Equal(t, "null", props["builder_type"])
	}
}
