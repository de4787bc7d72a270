package acceptance

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/acctest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bookwormVenv is bookworm with Python's venv module: the application
// image's Python environment points at its python3.
var bookwormVenv = image{Name: "bookworm-python3-venv", Suite: "bookworm", Extra: "python3-venv"}

// appTarget is a seeded target carrying an application as users ship one
// (test/rig/app.sh): a Node.js backend with its node_modules (about 8,000
// files), a Python virtual environment, and a Go module cache in the login
// user's home (about 14,000 files), their times as npm, Python and Go left
// them; seeded with what the other steps clean, when seed is set.
func appTarget(t *testing.T, seed bool) *target {
	t.Helper()
	tg := newTargetOf(t, bookwormVenv)
	tarball := strings.TrimSpace(run(t, filepath.Join(rig, "app.sh")))
	run(t, "tar", "-xf", tarball, "-C", tg.Dir, "--numeric-owner")
	mustChroot(t, tg, "chown", "-R", "builder:builder", "/home/builder/go")
	if seed {
		tg.rig("seed", tg.Dir)
	}
	return tg
}

// sitePackages is the virtual environment's site-packages, relative to the
// target's root.
func sitePackages(t *testing.T, tg *target) string {
	t.Helper()
	m, err := filepath.Glob(tg.Path("opt/app/venv/lib/python3*/site-packages"))
	require.NoError(t, err)
	require.Len(t, m, 1)
	rel, err := filepath.Rel(tg.Dir, m[0])
	require.NoError(t, err)
	return "/" + rel
}

// TestSecretsApplicationImage: on an image with an application and its
// dependency trees, the default block fails naming exactly the secrets
// planted for it (the application's own, and files a build wrote into the
// trees after the package managers), none of the thousands of test keys
// and example URLs the published packages carry; the full list is in the
// report files. With the planted files gone, the same image passes.
func TestSecretsApplicationImage(t *testing.T) {
	tg := appTarget(t, true)
	r := strings.Repeat
	site := sitePackages(t, tg)
	awsID, awsKey, dbPass := "AKIA"+r("Q7", 8), r("kT9/", 10), "Zq8vR2mW9xLp"
	npmToken, slack, github := "npm_"+r("a1B2", 9), "xoxb-"+r("1234567890", 2)+"-abcdefABCDEF", "ghp_"+r("aB3", 12)
	planted := []struct{ path, text string }{
		{"/opt/app/.env", "NODE_ENV=production\nAWS_ACCESS_KEY_ID=" + awsID + "\nAWS_SECRET_ACCESS_KEY=" + awsKey + "\n"},
		{"/opt/app/config/database.json", "{\n  \"url\": \"postgres://orders:" + dbPass + "@db.internal:5432/orders\"\n}\n"},
		{"/srv/app/tls.key", "-----BEGIN EC PRIVATE KEY-----\nMHcC\n-----END EC PRIVATE KEY-----\n"},
		// Written into the dependency trees after the package managers:
		// the trees' records do not vouch for them.
		{"/opt/app/node_modules/.npmrc", "//npm.internal/:_authToken=" + npmToken + "\n"},
		{"/opt/app/node_modules/express/.env", "SLACK_TOKEN=" + slack + "\n"},
		{site + "/app_settings.py", "GITHUB_TOKEN = '" + github + "'\n"},
	}
	want := []string{
		"/opt/app/.env:2 AWS access key id",
		"/opt/app/.env:3 AWS secret access key",
		"/opt/app/config/database.json:2 URL with a password",
		"/srv/app/tls.key:1 private key",
		"/opt/app/node_modules/.npmrc:1 npm token",
		"/opt/app/node_modules/express/.env:1 Slack token",
		site + "/app_settings.py:1 GitHub token",
	}
	// After npm's record of the install, by more than the file system's
	// time resolution.
	time.Sleep(10 * time.Millisecond)
	for _, p := range planted {
		require.NoError(t, os.MkdirAll(filepath.Dir(tg.Path(p.path)), 0o755))
		require.NoError(t, os.WriteFile(tg.Path(p.path), []byte(p.text), 0o644))
	}
	files, read := reportFiles(t)
	skipped := regexp.MustCompile(`skipped (\d+) files in 3 dependency trees\)`)
	acctest.TestPlugin(t, &acctest.PluginTestCase{
		Name: "ami_harden_app_image", Type: "ami-harden",
		Template: linuxTemplate(files.text), BuildExtraArgs: tg.vars(files.vars...),
		Check: buildCheck(false, []string{
			"secrets        failed   7 stray secret(s) in 6 file(s): /opt/app/: .env (AWS access key id, AWS secret access key);",
			"/opt/app/config/: database.json (URL with a password); /opt/app/node_modules/: .npmrc (npm token);",
		}, func(log string) error {
			for _, v := range []string{awsID, awsKey, dbPass, npmToken, slack, github, "MHcC"} {
				if strings.Contains(log, v) {
					return fmt.Errorf("packer's output holds the planted secret %q", v)
				}
			}
			t.Logf("dirty: %s", secretsLine(log))
			m := skipped.FindStringSubmatch(log)
			if m == nil {
				return fmt.Errorf("the secrets step's line does not count the skipped dependency files")
			}
			if n, _ := strconv.Atoi(m[1]); n < 20000 {
				return fmt.Errorf("only %d files skipped in the dependency trees", n)
			}
			return nil
		}),
	})
	rep, _ := read()
	var got []string
	for _, s := range rep.Steps {
		if s.Name == "secrets" {
			got = s.Findings
		}
	}
	sort.Strings(got)
	sort.Strings(want)
	assert.Equal(t, want, got, "the findings are exactly the planted secrets")

	// The same image without them: the default block passes (its other
	// steps have nothing left to do but what a second run does).
	for _, p := range planted {
		require.NoError(t, os.Remove(tg.Path(p.path)))
	}
	tg.Serve()
	tg.harden(t, "ami_harden_app_image_clean", "", buildCheck(true, []string{
		"secrets        ok       no stray secret found (scanned ",
	}, func(log string) error {
		t.Logf("clean: %s", secretsLine(log))
		if skipped.FindStringSubmatch(log) == nil {
			return fmt.Errorf("the secrets step's line does not count the skipped dependency files")
		}
		return nil
	}))
}

// TestSecretsApplicationImageAudit: audit mode counts every stray secret
// (one finding each, none for a cap), and a module of the
// Go cache that no longer hashes to Go's record is scanned (its test keys
// are findings too) and named in a note.
func TestSecretsApplicationImageAudit(t *testing.T) {
	tg := appTarget(t, false)
	mods, err := filepath.Glob(tg.Path("home/builder/go/pkg/mod/golang.org/x/crypto@*"))
	require.NoError(t, err)
	require.NotEmpty(t, mods)
	sort.Strings(mods)
	crypto := mods[len(mods)-1]
	require.NoError(t, exec.Command("chmod", "u+w", crypto).Run())
	require.NoError(t, os.WriteFile(filepath.Join(crypto, "CHANGED"), []byte("x\n"), 0o444))
	files, read := reportFiles(t)
	acctest.TestPlugin(t, &acctest.PluginTestCase{
		Name: "ami_harden_app_image_audit", Type: "ami-harden",
		// The image's own private keys (sshd's, Debian's snakeoil) are the
		// other steps' to remove, which do not run here.
		Template: linuxTemplate("    mode = \"audit\"\n    steps = [\"secrets\"]\n" +
			"    secrets_allow = [\"/etc/ssh/ssh_host_*\", \"/etc/ssl/private/*\"]\n" + files.text),
		BuildExtraArgs: tg.vars(files.vars...),
		Check: buildCheck(false, []string{
			"module(s) do not hash to what Go recorded when it downloaded them (cache/download), so they were scanned: golang.org/x/crypto@",
			"report_file, junit_file and -machine-readable list every one",
		}, nil),
	})
	rep, _ := read()
	require.Len(t, rep.Steps, 1)
	s := rep.Steps[0]
	t.Logf("audit: %s, %d findings; notes: %v", s.Detail, len(s.Findings), s.Notes)
	assert.Equal(t, "finding", s.Status)
	assert.Equal(t, fmt.Sprintf("%d finding(s)", len(s.Findings)), s.Detail, "the count is the findings', none of them a count")
	assert.Greater(t, len(s.Findings), 20)
	for _, f := range s.Findings {
		assert.Contains(t, f, strings.TrimPrefix(crypto, tg.Dir)+"/", "only the changed module's files")
	}
}

// secretsLine is the secrets step's result line in packer's output.
func secretsLine(log string) string {
	return regexp.MustCompile(`secrets +(ok|failed|finding) +[^\n]*`).FindString(log)
}

// TestSecretsDoNotEnterMounts: a directory that may be a dependency tree is
// no way into another file system: a node_modules that is a mount point is
// not entered, as no other mount point is, and what lies behind it stays
// unread.
func TestSecretsDoNotEnterMounts(t *testing.T) {
	tg := newTarget(t)
	outside := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(outside, "outside.pem"), []byte("-----BEGIN PRIVATE KEY-----\nMIIE\n"), 0o644))
	mnt := tg.Path("opt/app/node_modules")
	require.NoError(t, os.MkdirAll(mnt, 0o755))
	run(t, "mount", "--bind", outside, mnt)
	t.Cleanup(func() { _ = exec.Command("umount", mnt).Run() })
	tg.harden(t, "ami_harden_secrets_mount", "    steps = [\"secrets\"]\n"+
		"    secrets_allow = [\"/etc/ssh/ssh_host_*\", \"/etc/ssl/private/*\"]\n", buildCheck(true, []string{
		"secrets        ok       no stray secret found",
	}, nil))
}
