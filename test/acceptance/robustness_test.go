package acceptance

import (
	"crypto/sha256"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/acctest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSecondRunChangesNothing: hardening an image ami-harden already hardened
// succeeds, reports every step ok but free-space (which fills the free space
// again: it cannot know what the blocks hold), and changes no file.
func TestSecondRunChangesNothing(t *testing.T) {
	tg := newTarget(t)
	tg.rig("seed", tg.Dir)
	body := `    wipe_paths = ["/opt/app/it's here"]`
	tg.harden(t, "ami_harden_first_run", body, buildCheck(true, []string{"11 changed, 4 ok, 1 skipped, 0 failed"}, nil))
	tg.Serve()
	before := tg.Snapshot()
	tg.harden(t, "ami_harden_second_run", body, buildCheck(true, []string{
		"sshd           ok       already in effect",
		"host-keys      ok       no host keys in the image",
		"free-space     changed  wrote ",
		"16 of 16 steps reported: 1 changed, 14 ok, 1 skipped, 0 failed",
	}, nil))
	assertSameSnapshot(t, before, tg.Snapshot())
}

// TestBadTargetState: a target the script cannot fix fails the build with a
// message naming the step and the cause, and is never left worse.
func TestBadTargetState(t *testing.T) {
	t.Run("sshd configuration already invalid", func(t *testing.T) {
		tg := newTarget(t)
		config := tg.Path("etc/ssh/sshd_config")
		f, err := os.OpenFile(config, os.O_APPEND|os.O_WRONLY, 0)
		require.NoError(t, err)
		_, err = f.WriteString("NoSuchKeyword yes\n")
		require.NoError(t, err)
		require.NoError(t, f.Close())
		before := sha256.Sum256([]byte(readFile(t, config)))
		tg.harden(t, "ami_harden_invalid_sshd", "", buildCheck(false, []string{
			"sshd           failed   sshd rejects the configuration before any change (sshd -T), fix it first",
			"NoSuchKeyword",
			"step sshd failed",
		}, nil))
		assert.Equal(t, before, sha256.Sum256([]byte(readFile(t, config))), "sshd_config must stay as it was")
	})

	t.Run("read-only files", func(t *testing.T) {
		tg := newTarget(t)
		tg.rig("seed", tg.Dir)
		locked := []string{tg.Path("home/alice/.bash_history"), tg.Path("var/log/auth.log")}
		run(t, "chattr", append([]string{"+i"}, locked...)...)
		t.Cleanup(func() { run(t, "chattr", append([]string{"-i"}, locked...)...) })
		tg.harden(t, "ami_harden_read_only", "", buildCheck(false, []string{
			"history        failed   could not remove /home/alice/.bash_history",
			"logs           failed   still holding data: /var/log/auth.log",
			"step history failed",
			"step logs failed",
		}, nil))
	})

	t.Run("login user without sudo", func(t *testing.T) {
		tg := newTarget(t)
		tg.rig("seed", tg.Dir)
		mustChroot(t, tg, "useradd", "-m", "-s", "/bin/bash", "nosudo")
		require.NoError(t, os.MkdirAll(tg.Path("home/nosudo/.ssh"), 0o700))
		pub, err := os.ReadFile(tg.Key + ".pub")
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(tg.Path("home/nosudo/.ssh/authorized_keys"), pub, 0o600))
		mustChroot(t, tg, "chown", "-R", "nosudo:nosudo", "/home/nosudo")
		before := tg.Snapshot()
		acctest.TestPlugin(t, &acctest.PluginTestCase{
			Name: "ami_harden_no_sudo", Type: "ami-harden",
			Template: linuxTemplate(""), BuildExtraArgs: tg.varsAs("nosudo"),
			Check: buildCheck(false, []string{
				"sudo: a password is required",
				"the script never started (no begin line)",
				"a login user without passwordless sudo needs execute_command set to a way of becoming root",
			}, nil),
		})
		// Nothing changed, and the uploaded script is gone too.
		assertSameSnapshot(t, before, tg.Snapshot())
	})

	t.Run("connection lost mid-run", func(t *testing.T) {
		tg := newTarget(t)
		tg.rig("seed", tg.Dir)
		// Cut the build's SSH connection (kill its sshd session process)
		// once the passwords step has locked root, while later steps run.
		cut := `(sudo -n sh -c 'until grep -q "^root:[*]" /etc/shadow; do sleep 0.01; done'; kill -9 $PPID) & sudo -n /bin/sh '{{.Path}}'`
		acctest.TestPlugin(t, &acctest.PluginTestCase{
			Name: "ami_harden_connection_lost", Type: "ami-harden",
			Template:       linuxTemplate("    execute_command = var.execute_command"),
			BuildExtraArgs: tg.vars("execute_command=" + cut),
			Check: buildCheck(false, []string{
				"the connection to the machine was lost",
				"the image may be half hardened; do not use it",
			}, nil),
		})
	})
}

// TestValidateRejectsBadConfig: a real `packer validate` names the fields.
func TestValidateRejectsBadConfig(t *testing.T) {
	if os.Getenv(acctest.TestEnvVar) == "" {
		t.Skipf("acceptance tests run only with %s=1 (make testacc)", acctest.TestEnvVar)
	}
	path := filepath.Join("testdata", "fixtures", "bad-config.pkr.hcl")
	out, err := exec.Command("packer", "validate", path).CombinedOutput()
	require.Error(t, err, "packer validate accepted a bad configuration:\n%s", out)
	for _, want := range []string{
		`steps: unknown step "fierwall"`,
		`sshd_settings: Match is not supported here`,
		`wipe_paths: "relative/path" is not an absolute path`,
		// Cleaned first: both are the root file system, which a check of the
		// path as written would let through.
		`wipe_paths: "/." resolves to /:`,
		`wipe_paths: "/usr/.." resolves to /:`,
	} {
		assert.Contains(t, string(out), want)
	}
}

func assertSameSnapshot(t *testing.T, before, after map[string]string) {
	t.Helper()
	for path, was := range before {
		if now, ok := after[path]; !ok {
			t.Errorf("removed: %s", path)
		} else if now != was {
			t.Errorf("changed: %s: %s -> %s", path, was, now)
		}
	}
	for path := range after {
		if _, ok := before[path]; !ok {
			t.Errorf("created: %s", path)
		}
	}
}
