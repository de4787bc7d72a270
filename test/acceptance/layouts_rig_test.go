package acceptance

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLayoutRig proves that each distribution layout of the rig
// (test/rig/layouts) works before any hardening: applied to a fresh Debian
// target, its sshd configuration passes `sshd -t` and `sshd -T`, builds can
// still log in over the test sshd, and the image's own way of starting sshd
// brings it up at first boot with new host keys and lets the launch key in.
//
//	PACKER_ACC=1 go test -tags layouts -run TestLayoutRig -count=1 -v ./test/acceptance/
func TestLayoutRig(t *testing.T) {
	t.Run("ubuntu-24.04", func(t *testing.T) {
		t.Parallel()
		tg := layoutTarget(t, "ubuntu-24.04")
		sshdChecks(t, tg)
		effective := mustChroot(t, tg, "/usr/sbin/sshd", "-T")
		// 50-cloud-init.conf (ssh_pwauth: true) is read before 60-cloudimg-settings.conf.
		assert.Contains(t, effective, "\npasswordauthentication yes\n")
		assert.FileExists(t, tg.Path("etc/systemd/system/sockets.target.wants/ssh.socket"))
		assert.FileExists(t, tg.Path("etc/systemd/system/ssh.service.requires/ssh.socket"))
		assert.NoFileExists(t, tg.Path("etc/systemd/system/multi-user.target.wants/ssh.service"))
		assert.NoFileExists(t, tg.Path("etc/systemd/system/sshd.service"))

		// As the image would ship: no host keys. Nothing in this layout makes
		// new ones (on noble that is cloud-init's job, with a data source):
		// the socket listens, the service behind it fails.
		removeHostKeys(t, tg)
		bare := tg.Boot()
		t.Logf("ubuntu-24.04 first boot without host keys: %v", bare)
		assert.Equal(t, "ssh.socket", bare["sshunit"])
		assert.Equal(t, "active", bare["ssh"])
		assert.Equal(t, "0", bare["cycles"])
		assert.Equal(t, "0", bare["hostkeys"])
		assert.Equal(t, "failed", bare["keylogin"])

		// With the keys cloud-init's ssh module would have made (ssh-keygen -A):
		// sshd starts through the socket and the launch key logs in.
		mustChroot(t, tg, "/usr/bin/ssh-keygen", "-A")
		forgetLaunchKey(t, tg)
		boot := tg.Boot()
		t.Logf("ubuntu-24.04 first boot with host keys: %v", boot)
		assert.Equal(t, "ssh.socket", boot["sshunit"])
		assert.Equal(t, "active", boot["ssh"])
		assert.Equal(t, "active", boot["socketservice"])
		assert.Equal(t, "0", boot["cycles"])
		assert.NotEqual(t, "0", boot["hostkeys"])
		assert.Equal(t, "ok", boot["keylogin"])
	})

	t.Run("rhel-9", func(t *testing.T) {
		t.Parallel()
		tg := layoutTarget(t, "rhel-9")
		sshdChecks(t, tg)
		// The command line the EC2 Instance Connect drop-in gives sshd.
		mustChroot(t, tg, "/usr/sbin/sshd", "-t",
			"-o", "AuthorizedKeysCommand /opt/aws/bin/eic_run_authorized_keys %u %f",
			"-o", "AuthorizedKeysCommandUser ec2-instance-connect")
		effective := mustChroot(t, tg, "/usr/sbin/sshd", "-T")
		assert.Contains(t, effective, "\nsyslogfacility AUTHPRIV\n", "50-redhat.conf is read")
		assert.Contains(t, effective, "\nrequiredrsasize 2048\n", "the crypto-policies back-end is read")
		// The FIPS back-end swapped in passes too, then DEFAULT comes back.
		backEnds := tg.Path("etc/crypto-policies/back-ends")
		def, err := os.Readlink(filepath.Join(backEnds, "opensshserver.config"))
		require.NoError(t, err)
		fips, err := os.Readlink(filepath.Join(backEnds, "opensshserver.config.fips"))
		require.NoError(t, err)
		relink(t, filepath.Join(backEnds, "opensshserver.config"), fips)
		fipsEffective := mustChroot(t, tg, "/usr/sbin/sshd", "-T")
		assert.Contains(t, fipsEffective, "\ngssapikeyexchange no\n")
		assert.Contains(t, fipsEffective, "\nkexalgorithms ecdh-sha2-nistp256,")
		relink(t, filepath.Join(backEnds, "opensshserver.config"), def)

		removeHostKeys(t, tg)
		boot := tg.Boot()
		t.Logf("rhel-9 first boot without host keys: %v", boot)
		assert.Equal(t, "sshd.service", boot["sshunit"])
		assert.Equal(t, "active", boot["ssh"])
		assert.Equal(t, "0", boot["cycles"])
		assert.Equal(t, "3", boot["hostkeys"], "sshd-keygen@rsa, @ecdsa and @ed25519")
		assert.Equal(t, "ssh_keys", boot["hostkeygroup"], "made by sshd-keygen, not ssh-keygen -A")
		assert.Equal(t, "ok", boot["keylogin"])
	})

	t.Run("alpine", func(t *testing.T) {
		t.Parallel()
		tg := layoutTarget(t, "alpine")
		sshdChecks(t, tg)
		// A sshd without PAM prints no usepam line; the real one says no.
		assert.NotContains(t, mustChroot(t, tg, "/usr/sbin/sshd", "-T"), "\nusepam ")
		assert.Contains(t, mustChroot(t, tg, "/usr/sbin/sshd.real", "-T"), "\nusepam no\n")
		assert.NoFileExists(t, tg.Path("usr/bin/systemctl"))
		assert.NoDirExists(t, tg.Path("etc/systemd/system"))
		sh, err := os.Readlink(tg.Path("usr/bin/sh"))
		require.NoError(t, err)
		assert.Equal(t, "busybox", sh)

		tg.rig("down", tg.Dir)
		removeHostKeys(t, tg)
		boot := openrcBoot(tg)
		t.Logf("alpine openrc-boot without host keys: %v", boot)
		assert.Equal(t, "/usr/sbin/sshd.real", boot["sshd"])
		assert.Equal(t, "", boot["usepam"])
		assert.NotEqual(t, "0", boot["hostkeys"], "start_pre's ssh-keygen -A")
		assert.Equal(t, "ok", boot["keylogin"])
		assert.Equal(t, "stopped", boot["stop"])
	})
}

// layoutTarget is a bookworm target with layout name applied; builds still
// log in as builder over the restarted test sshd.
func layoutTarget(t *testing.T, name string) *target {
	t.Helper()
	tg := newTargetOf(t, bookworm)
	t.Logf("%s", strings.TrimSpace(tg.rig("layout", tg.Dir, name)))
	require.Equal(t, "login-builder", strings.TrimSpace(tg.SSH("echo login-$(id -un)")))
	return tg
}

// sshdChecks: the layout's configuration passes sshd -t and sshd -T in the
// chroot (target.sh made /run/sshd there).
func sshdChecks(t *testing.T, tg *target) {
	t.Helper()
	require.DirExists(t, tg.Path("run/sshd"))
	mustChroot(t, tg, "/usr/sbin/sshd", "-t")
	require.Contains(t, mustChroot(t, tg, "/usr/sbin/sshd", "-T"), "\npubkeyauthentication yes\n")
}

func removeHostKeys(t *testing.T, tg *target) {
	t.Helper()
	keys, err := filepath.Glob(tg.Path("etc/ssh/ssh_host_*"))
	require.NoError(t, err)
	for _, k := range keys {
		require.NoError(t, os.Remove(k))
	}
}

// forgetLaunchKey lets Boot make a new launch key (it will not overwrite one).
func forgetLaunchKey(t *testing.T, tg *target) {
	t.Helper()
	for _, f := range []string{"launch_key", "launch_key.pub"} {
		require.NoError(t, os.RemoveAll(filepath.Join(tg.tmpDir, f)))
	}
}

func relink(t *testing.T, link, to string) {
	t.Helper()
	require.NoError(t, os.Remove(link))
	require.NoError(t, os.Symlink(to, link))
}

// openrcBoot runs `target.sh openrc-boot` with a new key for builder, as
// Boot does for systemd images, and returns what it printed.
func openrcBoot(tg *target) map[string]string {
	tg.t.Helper()
	key := filepath.Join(tg.tmpDir, "openrc_launch_key")
	require.NoError(tg.t, os.RemoveAll(key))
	require.NoError(tg.t, os.RemoveAll(key+".pub"))
	run(tg.t, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key)
	return probeLines(tg.rig("openrc-boot", tg.Dir, key, key+".pub"))
}
