package acceptance

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestStraySecrets: secrets an earlier provisioner left where no
// step cleans fail the build, one in each scanned tree, named by file, line
// and kind, never by value; a file named in secrets_allow is accepted; the
// step deletes nothing. The values are made up here, with the shapes of the
// real thing (prefixes, lengths, alphabets).
func TestStraySecrets(t *testing.T) {
	tg := newTarget(t)
	tg.rig("seed", tg.Dir)
	rep := func(s string, n int) string { return strings.Repeat(s, n) }
	awsID := "AKIA" + rep("Q7", 8)
	awsSecret := rep("kT9/", 10)
	stray := []struct{ path, text, want string }{
		{"etc/myapp/config.yml", "db:\n  url: postgres://app:S3cretPassw0rd@db.internal/app\n", "/etc/myapp/config.yml:2 URL with a password"},
		// A system-wide pip configuration stays (it is the image's), but a
		// login to a private index in it is named: pip logs in with the
		// password in the index URL.
		{"etc/pip.conf", "[global]\nindex-url = https://ci:Pip1ndexPassw0rd@pypi.corp.internal/simple\n", "/etc/pip.conf:2 URL with a password"},
		{"etc/profile.d/aws.sh", "export AWS_SECRET_ACCESS_KEY=" + awsSecret + "\n", "/etc/profile.d/aws.sh:1 AWS secret access key"},
		{"root/notes.txt", "token ghp_" + rep("aB3", 12) + "\n", "/root/notes.txt:1 GitHub token"},
		{"home/alice/project/.env", "AWS_ACCESS_KEY_ID=" + awsID + "\n", "/home/alice/project/.env:1 AWS access key id"},
		{"opt/app/.env", "# chat\nSLACK=xoxb-" + rep("1234567890", 2) + "-abcdefABCDEF\n", "/opt/app/.env:2 Slack token"},
		{"srv/keys/server.key", "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----\n", "/srv/keys/server.key:1 private key"},
		{"usr/local/etc/pay.conf", "stripe = sk_live_" + rep("Zx9", 8) + "\n", "/usr/local/etc/pay.conf:1 Stripe key"},
		{"var/lib/app/state.json", `{"maps": "AIza` + rep("Sy0_-", 7) + `"}` + "\n", "/var/lib/app/state.json:1 Google API key"},
		// Accepted with secrets_allow, and documentation placeholders.
		{"opt/fixtures/test.pem", "-----BEGIN PRIVATE KEY-----\nMIIE\n", ""},
		{"etc/myapp/example.conf", "# url: https://user:password@example.com/ and AKIAIOSFODNN7EXAMPLE\n", ""},
	}
	for _, s := range stray {
		require.NoError(t, os.MkdirAll(filepath.Dir(tg.Path(s.path)), 0o755))
		require.NoError(t, os.WriteFile(tg.Path(s.path), []byte(s.text), 0o644))
	}
	var want []string
	for _, s := range stray {
		if s.want != "" {
			want = append(want, s.want)
		}
	}
	want = append(want, "secrets        failed   9 stray secret(s) in 9 file(s): /etc/: pip.conf (URL with a password); /etc/myapp/: config.yml (URL with a password); /etc/profile.d/: aws.sh", "accept a known file with secrets_allow")
	tg.harden(t, "ami_harden_stray_secrets", `    secrets_allow = ["/opt/fixtures/*"]`, buildCheck(false, want, func(log string) error {
		for _, leak := range []string{awsID, awsSecret, "S3cretPassw0rd", "Pip1ndexPassw0rd", "ghp_", "xoxb-", "sk_live_", "AIza", "test.pem", "example.conf"} {
			if strings.Contains(log, leak) {
				t.Errorf("packer's output holds %q", leak)
			}
		}
		return nil
	}))
	for _, s := range stray {
		assert.FileExists(t, tg.Path(s.path), "the secrets step deletes nothing")
	}
}
