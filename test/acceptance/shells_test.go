package acceptance

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/acctest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ami-harden/packer-plugin-ami-harden/provisioner/report"
	"github.com/ami-harden/packer-plugin-ami-harden/provisioner/script"
	"github.com/ami-harden/packer-plugin-ami-harden/provisioner/steps"
)

// These tests run the Linux script without Packer, directly in a chroot,
// under other POSIX shells: dash (Debian's /bin/sh) and busybox sh. Never
// on this machine: only inside a target's directory, which the rig guards.

func defaultLinuxScript() []byte {
	return script.RenderLinux(script.Params{
		Steps:           steps.Names(steps.Linux),
		SSHDSettings:    script.DefaultSSHDSettings,
		DisableServices: script.DefaultServices(steps.Linux),
		ShredPasses:     1,
		Mode:            "enforce",
	})
}

// runInChroot runs the script in dir with the shell (a path inside dir) and
// returns the parsed report, stdout and stderr.
func runInChroot(t *testing.T, dir string, shell ...string) (*report.Run, string, string, error) {
	t.Helper()
	require.NotEqual(t, "/", filepath.Clean(dir), "never the host")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "root/harden.sh"), defaultLinuxScript(), 0o700))
	cmd := exec.Command("chroot", append(append([]string{dir}, shell...), "/root/harden.sh")...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	run := report.NewRun(steps.Names(steps.Linux))
	for _, line := range strings.Split(stdout.String(), "\n") {
		run.Line(line)
	}
	return run, stdout.String(), stderr.String(), err
}

// A shell error is the shell's own complaint: a syntax error, a missing
// command, a bad substitution. Steps report tool failures themselves.
var shellError = regexp.MustCompile(`(?i)syntax error|not found|bad substitution|unexpected|parameter not set|unbound variable|illegal option`)

// TestScriptUnderDashAndBusybox: the whole default script runs under dash and
// under busybox sh on a seeded Debian image, with the same results.
func TestScriptUnderDashAndBusybox(t *testing.T) {
	busybox, err := exec.LookPath("busybox")
	require.NoError(t, err, "busybox-static is missing (make deps)")
	for _, c := range []struct {
		name  string
		shell []string
	}{
		{"dash", []string{"/bin/dash"}},
		{"busybox", []string{"/usr/local/bin/busybox", "sh"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			tg := newTarget(t)
			tg.rig("seed", tg.Dir)
			run(t, "cp", busybox, tg.Path("usr/local/bin/busybox"))
			r, stdout, stderr, err := runInChroot(t, tg.Dir, c.shell...)
			require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
			require.NoError(t, r.Err(), stdout)
			assert.Equal(t, "16 of 16 steps reported: 11 changed, 4 ok, 1 skipped, 0 failed", r.Summary())
			assert.NotRegexp(t, shellError, stderr)
			assert.NotContains(t, stdout+stderr, secretWord)
		})
	}
}

// TestScriptWithMissingTools: in a busybox-only image (no sshd, no
// ssh-keygen, no systemd, no getent, no usermod, and, here, no shred) every
// step still reports, falling back or saying what is missing, with no shell
// error; secrets are overwritten by the dd fallback before they go.
func TestScriptWithMissingTools(t *testing.T) {
	if os.Getenv(acctest.TestEnvVar) == "" {
		t.Skipf("acceptance tests run only with %s=1 (make testacc)", acctest.TestEnvVar)
	}
	busybox, err := exec.LookPath("busybox")
	require.NoError(t, err, "busybox-static is missing (make deps)")
	base, err := os.MkdirTemp("/var/tmp", "ami-harden-busybox-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(base) })
	dir := filepath.Join(base, "root")
	for _, d := range []string{"bin", "etc", "root/.ssh", "home/ann/.ssh", "tmp", "var/tmp", "var/log", "run", "dev"} {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, d), 0o755))
	}
	require.NoError(t, os.Chmod(filepath.Join(dir, "tmp"), 0o1777))
	run(t, "mknod", "-m", "666", filepath.Join(dir, "dev/null"), "c", "1", "3")
	run(t, "mknod", "-m", "666", filepath.Join(dir, "dev/zero"), "c", "1", "5")
	run(t, "cp", busybox, filepath.Join(dir, "bin/busybox"))
	run(t, "chroot", dir, "/bin/busybox", "--install", "-s", "/bin")
	require.NoError(t, os.Remove(filepath.Join(dir, "bin/shred")), "this image has no shred")
	write := func(path, text string, mode os.FileMode) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, path), []byte(text), mode))
	}
	write("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nann:x:1000:1000:ann:/home/ann:/bin/sh\n", 0o644)
	write("etc/group", "root:x:0:\nann:x:1000:\n", 0o644)
	write("etc/shadow", "root:$6$salt$hash:19000:0:99999:7:::\nann::19000:0:99999:7:::\n", 0o600)
	write("etc/machine-id", "0123456789abcdef0123456789abcdef\n", 0o444)
	write("root/.ssh/authorized_keys", secretWord+" root key\n", 0o600)
	write("home/ann/.ssh/id_rsa", secretWord+" ann key\n", 0o600)
	write("home/ann/.ash_history", secretWord+" history\n", 0o600)
	write("var/log/messages", secretWord+" log\n", 0o640)
	write("var/log/messages.1", secretWord+" old log\n", 0o640)
	write("tmp/.x", "temp\n", 0o644)

	r, stdout, stderr, err := runInChroot(t, dir, "/bin/sh")
	require.NoError(t, r.Incomplete(), "every step must report:\n%s\n%s", stdout, stderr)
	assert.Error(t, err, "host-keys cannot be arranged here, so the script exits non-zero")
	assert.NotRegexp(t, shellError, stderr)
	status := map[string]report.Result{}
	for _, res := range r.Results() {
		status[res.Step] = res
	}
	assert.Equal(t, report.Skipped, status["sshd"].Status, "no sshd")
	assert.Equal(t, report.Changed, status["passwords"].Status, "/etc/shadow rewritten in place: %s", status["passwords"].Detail)
	assert.Equal(t, report.Failed, status["host-keys"].Status)
	assert.Contains(t, status["host-keys"].Detail, "ssh-keygen is not installed")
	for _, s := range []string{"user-keys", "history", "machine-id", "temp", "logs"} {
		assert.Equal(t, report.Changed, status[s].Status, "%s: %s", s, status[s].Detail)
	}
	assert.Equal(t, report.Skipped, status["cloud-init"].Status)
	shadow, err := os.ReadFile(filepath.Join(dir, "etc/shadow"))
	require.NoError(t, err)
	assert.Regexp(t, `(?m)^root:\*:`, string(shadow))
	assert.Regexp(t, `(?m)^ann:\*:`, string(shadow))
	assert.NoFileExists(t, filepath.Join(dir, "home/ann/.ssh/id_rsa"))
	assert.NoFileExists(t, filepath.Join(dir, "var/log/messages.1"))
	fi, err := os.Stat(filepath.Join(dir, "var/log/messages"))
	require.NoError(t, err)
	assert.Zero(t, fi.Size())
	assert.Equal(t, os.FileMode(0o640), fi.Mode().Perm())

	// A read-only /etc/shadow (a read-only bind mount here) cannot be
	// rewritten in place: passwords fails, says why, and changes nothing.
	write("etc/shadow", "root:$6$salt$hash:19000:0:99999:7:::\n", 0o600)
	shadowPath := filepath.Join(dir, "etc/shadow")
	run(t, "mount", "--bind", shadowPath, shadowPath)
	t.Cleanup(func() { _ = exec.Command("umount", shadowPath).Run() })
	run(t, "mount", "-o", "remount,bind,ro", shadowPath, shadowPath)
	r, stdout, stderr, _ = runInChroot(t, dir, "/bin/sh")
	require.NoError(t, r.Incomplete(), "every step must report:\n%s\n%s", stdout, stderr)
	assert.NotRegexp(t, shellError, stderr)
	for _, res := range r.Results() {
		if res.Step == "passwords" {
			assert.Equal(t, report.Failed, res.Status)
			assert.Equal(t, "could not rewrite /etc/shadow in place; no password was changed", res.Detail)
		}
	}
}
