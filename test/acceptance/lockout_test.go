package acceptance

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Never lock anyone out of the image, and fail closed when unsure.

// TestUsePAMNoKeepsKeyLogins: with UsePAM no, OpenSSH refuses key logins to
// an account whose password field starts with "!" (what passwd -l writes).
// The passwords step writes "*" instead: no password matches it, and the
// image still lets the launch key in. Before: the step refused to lock
// anything and failed the build.
func TestUsePAMNoKeepsKeyLogins(t *testing.T) {
	tg := newTarget(t)
	tg.rig("seed", tg.Dir)

	tg.harden(t, "ami_harden_usepam_no", `    sshd_settings = { UsePAM = "no" }`, buildCheck(true, []string{
		"sshd           changed",
		"UsePAM no",
		"passwords      changed  no password works for root, builder, alice, emptypw (password field *",
	}, nil))
	shadow := "\n" + readFile(t, tg.Path("etc/shadow"))
	for _, user := range []string{"root", "builder", "alice", "emptypw"} {
		assert.Contains(t, shadow, "\n"+user+":*:", "%s must have the password field *", user)
	}
	boot := tg.Boot()
	assert.Equal(t, "active", boot["ssh"])
	assert.Equal(t, "ok", boot["keylogin"], "UsePAM no: the launch key must still log in")
	assert.Equal(t, "publickey", boot["methods"])
}

// TestPasswordsFailClosed: when sshd's effective configuration cannot be
// read, it is not known whether key logins survive a lock, so the
// passwords step changes nothing and fails, saying why. Before: it locked
// every account anyway.
func TestPasswordsFailClosed(t *testing.T) {
	tg := newTarget(t)
	tg.rig("seed", tg.Dir)
	// A drop-in sshd rejects: sshd -T fails. The running test sshd keeps
	// the configuration it started with.
	require.NoError(t, os.WriteFile(tg.Path("etc/ssh/sshd_config.d/99-broken.conf"), []byte("NoSuchKeyword yes\n"), 0o644))
	shadowBefore := readFile(t, tg.Path("etc/shadow"))

	tg.harden(t, "ami_harden_passwords_fail_closed", `    steps = ["passwords", "user-keys", "history"]`, buildCheck(false, []string{
		"passwords      failed   could not read sshd's effective configuration (sshd -T failed:",
		"no password was changed",
		// Where keys live is not known either: no key is touched.
		"user-keys      failed   could not read sshd's AuthorizedKeysFile",
		"history        changed",
	}, nil))
	assert.Equal(t, shadowBefore, readFile(t, tg.Path("etc/shadow")), "no password may change")
	assert.FileExists(t, tg.Path("home/alice/.ssh/authorized_keys"), "user-keys failed: the pass over homes must leave keys alone")
	assert.NoFileExists(t, tg.Path("home/alice/.bash_history"))
}

// TestChrootWithoutRunSSHD: in a chroot build (amazon-chroot) /run is not
// mounted, and sshd -T stops at "Missing privilege separation directory:
// /run/sshd". The sshd checks make the directory for themselves and
// remove it after. Before: the sshd step failed there.
func TestChrootWithoutRunSSHD(t *testing.T) {
	tg := newTarget(t)
	tg.rig("seed", tg.Dir)
	tg.rig("down", tg.Dir)
	require.NoError(t, os.RemoveAll(tg.Path("run/sshd")))

	r, stdout, stderr, err := runInChroot(t, tg.Dir, "/bin/sh")
	require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	require.NoError(t, r.Err(), stdout)
	for _, res := range r.Results() {
		if res.Step == "sshd" {
			assert.Contains(t, res.Detail, "verified with sshd -T")
		}
	}
	assert.NoDirExists(t, tg.Path("run/sshd"), "the privilege separation directory made for the check is gone again")
	eff, err := tg.Chroot("/bin/sh", "-c", "mkdir /run/sshd && ssh-keygen -q -t ecdsa -N '' -f /run/k && /usr/sbin/sshd -T -h /run/k; rm -rf /run/sshd /run/k /run/k.pub")
	require.NoError(t, err, eff)
	assert.Contains(t, eff, "\npasswordauthentication no\n")
}

// TestOtherWaysIn: keys sshd reads from elsewhere than ~/.ssh (an
// AuthorizedKeysFile pattern per account) are cleaned for every account;
// a CA that lets certificates in stays, and is said on a line of its own,
// and is a finding in audit mode. Before: nothing looked at either.
func TestOtherWaysIn(t *testing.T) {
	tg := newTarget(t)
	tg.rig("seed", tg.Dir)
	require.NoError(t, os.WriteFile(tg.Path("etc/ssh/sshd_config.d/40-central-keys.conf"),
		[]byte("AuthorizedKeysFile .ssh/authorized_keys /etc/ssh/authorized_keys/%u\nTrustedUserCAKeys /etc/ssh/user_ca.pub\n"), 0o644))
	require.NoError(t, os.MkdirAll(tg.Path("etc/ssh/authorized_keys"), 0o755))
	for _, u := range []string{"alice", "builder"} {
		require.NoError(t, os.WriteFile(tg.Path("etc/ssh/authorized_keys/"+u), []byte(secretWord+" central key of "+u+"\n"), 0o644))
	}
	run(t, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ca", "-f", tg.Path("etc/ssh/user_ca"))
	require.NoError(t, os.Remove(tg.Path("etc/ssh/user_ca")))

	ca := "TrustedUserCAKeys certificates signed by the CA keys in /etc/ssh/user_ca.pub log in"
	tg.harden(t, "ami_harden_other_ways_in", `    steps = ["sshd", "user-keys"]`, buildCheck(true, []string{
		"sshd           changed",
		"2 other way(s) in, see below",
		"note: AuthorizedKeysFile keys are also read from .ssh/authorized_keys /etc/ssh/authorized_keys/%u (user-keys cleans these files)",
		"note: " + ca,
		// The seed's 36 key files (9 in each of 4 homes), and the two central ones.
		"user-keys      changed  overwrote and removed 38 file(s)",
	}, nil))
	assert.NoFileExists(t, tg.Path("etc/ssh/authorized_keys/alice"))
	assert.NoFileExists(t, tg.Path("etc/ssh/authorized_keys/builder"))
	assert.FileExists(t, tg.Path("etc/ssh/user_ca.pub"), "a CA is the user's to keep")

	tg.Serve()
	tg.harden(t, "ami_harden_other_ways_in_audit", `    mode = "audit"`+"\n"+`    steps = ["sshd", "user-keys"]`, buildCheck(false, []string{
		"sshd           finding  1 finding(s)",
		"- " + ca,
		"user-keys      ok       none found",
	}, nil))
}
