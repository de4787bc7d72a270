package acceptance

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/acctest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// report is the part of report_file the tests read.
type reportDoc struct {
	OS     string `json:"os"`
	Mode   string `json:"mode"`
	Result string `json:"result"`
	Build  struct {
		Name        string `json:"name"`
		BuilderType string `json:"builder_type"`
		RunUUID     string `json:"run_uuid"`
	} `json:"build"`
	Steps []struct {
		Name     string   `json:"name"`
		Status   string   `json:"status"`
		Detail   string   `json:"detail"`
		Findings []string `json:"findings"`
		Notes    []string `json:"notes"`
	} `json:"steps"`
}

type junit struct {
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Suites   []struct {
		Name       string `xml:"name,attr"`
		Properties []struct {
			Name  string `xml:"name,attr"`
			Value string `xml:"value,attr"`
		} `xml:"properties>property"`
		Cases []struct {
			Name      string `xml:"name,attr"`
			Classname string `xml:"classname,attr"`
			Failure   *struct {
				Type string `xml:"type,attr"`
				Text string `xml:",chardata"`
			} `xml:"failure"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

// reportFiles returns the report_file and junit_file settings for a test,
// with their -var values, and reads them back: the JSON report validated
// against the documented schema (docs/report.schema.json) by Ajv.
func reportFiles(t *testing.T) (settings reportSettings, read func() (reportDoc, junit)) {
	dir := t.TempDir()
	jsonPath, junitPath := filepath.Join(dir, "report.json"), filepath.Join(dir, "junit.xml")
	settings = reportSettings{
		text:  "    report_file = var.report_file\n    junit_file = var.junit_file\n",
		vars:  []string{"report_file=" + jsonPath, "junit_file=" + junitPath},
		paths: []string{jsonPath, junitPath},
	}
	return settings, func() (reportDoc, junit) {
		t.Helper()
		return readReports(t, jsonPath, junitPath)
	}
}

// readReports reads a report_file, validated against the documented schema
// (docs/report.schema.json) by Ajv, and a junit_file.
func readReports(t *testing.T, jsonPath, junitPath string) (reportDoc, junit) {
	t.Helper()
	out, err := exec.Command("node", filepath.Join(rig, "..", "node", "validate-report.mjs"),
		filepath.Join(rig, "..", "..", "docs", "report.schema.json"), jsonPath).CombinedOutput()
	require.NoError(t, err, "report_file does not validate against docs/report.schema.json:\n%s", out)
	var r reportDoc
	var j junit
	b, err := os.ReadFile(jsonPath)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &r))
	b, err = os.ReadFile(junitPath)
	require.NoError(t, err)
	require.NoError(t, xml.Unmarshal(b, &j))
	return r, j
}

// reportSettings are the provisioner lines that ask for both report files
// (linux-target.pkr.hcl's variables), the -var values of those variables
// (target.vars(settings.vars...)), and the files' paths.
type reportSettings struct {
	text  string
	vars  []string
	paths []string
}

func (r reportSettings) String() string { return r.text }

// TestAuditDirtyImage: audit mode on a seeded image reports findings, fails
// the build, writes both report files, and changes no byte of the image.
func TestAuditDirtyImage(t *testing.T) {
	tg := newTarget(t)
	tg.rig("seed", tg.Dir)
	// Debian's sudo leaves ~/.sudo_as_admin_successful at a user's first
	// sudo: the login escalation's trace, not the audit's. In a real build
	// earlier provisioners have used sudo already; so does this test.
	tg.SSH("sudo -n true")
	before := tg.Snapshot()
	files, read := reportFiles(t)

	acctest.TestPlugin(t, &acctest.PluginTestCase{
		Name:           "ami_harden_audit_dirty",
		Type:           "ami-harden",
		Template:       linuxTemplate("    mode = \"audit\"\n    wipe_paths = [\"/opt/app/it's here\"]\n" + files.String()),
		BuildExtraArgs: tg.vars(files.vars...),
		Check: buildCheck(false, []string{
			"Auditing (changing nothing) the image",
			"sshd           finding  4 finding(s)",
			"PasswordAuthentication is yes, not no (sshd -T)",
			"- /etc/ssh/sshd_config is mode 644, wider than 600",
			"passwords      finding  6 finding(s)",
			"root has a usable or empty password",
			"/home/alice/.ssh/id_rsa exists",
			"/etc/ssh/ssh_host_ed25519_key exists",
			"nothing makes new host keys at first boot",
			"/etc/machine-id holds this machine's id",
			"/var/log/auth.log is not empty",
			"with findings",
			"step passwords found 6 thing(s) to fix",
		}, nil),
	})

	assertSameSnapshot(t, before, tg.Snapshot())

	r, j := read()
	assert.Equal(t, "audit", r.Mode)
	assert.Equal(t, "failed", r.Result)
	byName := map[string][]string{}
	for _, s := range r.Steps {
		byName[s.Name] = s.Findings
		// cloud-init is not installed; the seed starts no cleartext service
		// and enrols the machine nowhere; free space is only noted.
		if s.Name != "cloud-init" && s.Name != "services" && s.Name != "enrolment" && s.Name != "free-space" {
			assert.Equal(t, "finding", s.Status, "step %s", s.Name)
		}
	}
	assert.Contains(t, byName["passwords"], "alice has a usable or empty password")
	assert.Contains(t, byName["credentials"], "/opt/app/it's here exists")
	assert.Equal(t, 16, j.Tests)
	assert.Equal(t, 12, j.Failures)
	for _, c := range j.Suites[0].Cases {
		if c.Name == "user-keys" {
			require.NotNil(t, c.Failure)
			assert.Equal(t, "finding", c.Failure.Type)
			assert.Contains(t, c.Failure.Text, "/root/.ssh/authorized_keys exists")
		}
	}
}

// TestEnforceThenAudit: enforce writes both report files and passes; an
// audit of the image it produced then finds nothing and passes.
func TestEnforceThenAudit(t *testing.T) {
	tg := newTarget(t)
	tg.rig("seed", tg.Dir)
	files, read := reportFiles(t)
	acctest.TestPlugin(t, &acctest.PluginTestCase{
		Name:           "ami_harden_enforce_reports",
		Type:           "ami-harden",
		Template:       linuxTemplate(`    wipe_paths = ["/opt/app/it's here"]` + "\n" + files.String()),
		BuildExtraArgs: tg.vars(files.vars...),
		Check:          buildCheck(true, []string{"11 changed, 4 ok, 1 skipped, 0 failed in "}, nil),
	})
	r, j := read()
	assert.Equal(t, "enforce", r.Mode)
	assert.Equal(t, "passed", r.Result)
	assert.Equal(t, 16, j.Tests)
	assert.Equal(t, 0, j.Failures)

	tg.Serve()
	files, read = reportFiles(t)
	acctest.TestPlugin(t, &acctest.PluginTestCase{
		Name:           "ami_harden_audit_hardened",
		Type:           "ami-harden",
		Template:       linuxTemplate("    mode = \"audit\"\n    wipe_paths = [\"/opt/app/it's here\"]\n" + files.String()),
		BuildExtraArgs: tg.vars(files.vars...),
		Check: buildCheck(true, []string{
			"Auditing (changing nothing) the image",
			"0 changed, 15 ok, 1 skipped, 0 failed in ",
		}, func(log string) error {
			if strings.Contains(log, " finding ") {
				return fmt.Errorf("the audit of a hardened image has findings")
			}
			return nil
		}),
	})
	r, j = read()
	assert.Equal(t, "passed", r.Result)
	assert.Equal(t, 0, j.Failures)
}
