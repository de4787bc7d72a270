package acceptance

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Images are not all Debian: each distribution layout of the rig (test/rig/layouts, with the
// files those distributions ship and where they come from) is hardened by a
// real packer build with the default block and then started the image's own
// way; a new launch key logs in.

// TestHardenUbuntuSocketActivated: Ubuntu 24.04 starts sshd through
// ssh.socket, which is ordered before sockets.target. A host-key unit with
// default dependencies (after basic.target, so after sockets.target) and
// Before=ssh.socket is an ordering cycle that systemd breaks differently on
// each boot. The unit now has none: no cycle, the keys are there before the
// first connection starts ssh.service.
func TestHardenUbuntuSocketActivated(t *testing.T) {
	tg := layoutTarget(t, "ubuntu-24.04")
	tg.rig("seed", tg.Dir)
	tg.harden(t, "ami_harden_ubuntu_socket", "", buildCheck(true, []string{
		"sshd           changed",
		"passwords      changed",
		"host-keys      changed  overwrote and removed 6 host key file(s); new keys at first boot by ami-harden-host-keys.service",
		"ami-harden: 16 of 16 steps reported: 11 changed, 4 ok, 1 skipped, 0 failed",
	}, nil))
	unit := readFile(t, tg.Path("etc/systemd/system/ami-harden-host-keys.service"))
	assert.Contains(t, unit, "\nDefaultDependencies=no\n")
	assert.FileExists(t, tg.Path("etc/systemd/system/sysinit.target.wants/ami-harden-host-keys.service"))
	boot := tg.Boot()
	t.Logf("ubuntu-24.04 first boot: %v", boot)
	assert.Equal(t, "ssh.socket", boot["sshunit"])
	assert.Equal(t, "active", boot["ssh"])
	assert.Equal(t, "0", boot["cycles"], "systemd found an ordering cycle")
	assert.NotEqual(t, "0", boot["hostkeys"])
	assert.Equal(t, "ok", boot["keylogin"])
	assert.Equal(t, "publickey", boot["methods"])
}

// TestHardenRHEL: RHEL 9 / Amazon Linux 2023. sshd-keygen@.service makes
// missing keys before sshd.service on every boot, with the ssh_keys group
// (and SELinux labels): ami-harden steps aside instead of racing it with a
// second ssh-keygen. EC2 Instance Connect passes AuthorizedKeysCommand on
// sshd's command line from a drop-in, where sshd -T alone never sees it: it
// is reported in enforce mode and a finding in audit mode.
func TestHardenRHEL(t *testing.T) {
	tg := layoutTarget(t, "rhel-9")
	tg.rig("seed", tg.Dir)
	eic := "AuthorizedKeysCommand /opt/aws/bin/eic_run_authorized_keys %u %f decides who logs in (on the command line of sshd: sshd.service (/usr/lib/systemd/system/sshd.service.d/ec2-instance-connect.conf))"
	tg.harden(t, "ami_harden_rhel", "", buildCheck(true, []string{
		"sshd           changed",
		"1 other way(s) in, see below",
		"note: " + eic,
		"host-keys      changed  overwrote and removed 6 host key file(s); new keys at first boot by the distribution's sshd-keygen@.service (before sshd.service, when a key is missing)",
	}, nil))
	assert.NoFileExists(t, tg.Path("etc/systemd/system/ami-harden-host-keys.service"), "no second ssh-keygen may race sshd-keygen@")
	matches, _ := filepath.Glob(tg.Path("etc/systemd/system/*.wants/ami-harden-host-keys.service"))
	assert.Empty(t, matches)

	// Audit of the hardened image: the command that stays is a finding.
	tg.Serve()
	tg.harden(t, "ami_harden_rhel_audit", `    mode = "audit"`+"\n"+`    steps = ["sshd", "host-keys"]`, buildCheck(false, []string{
		"sshd           finding  1 finding(s)",
		"- " + eic,
		"host-keys      ok       no host keys in the image; new keys at first boot by the distribution's sshd-keygen@.service",
	}, nil))

	boot := tg.Boot()
	t.Logf("rhel-9 first boot: %v", boot)
	assert.Equal(t, "sshd.service", boot["sshunit"])
	assert.Equal(t, "active", boot["ssh"])
	assert.Equal(t, "0", boot["cycles"])
	assert.Equal(t, "3", boot["hostkeys"])
	assert.Equal(t, "ssh_keys", boot["hostkeygroup"], "the keys are sshd-keygen's, with its group")
	assert.Equal(t, "ok", boot["keylogin"])
	assert.NotContains(t, boot["methods"], "password")
	assert.Contains(t, boot["methods"], "publickey")
}

// TestHardenRHELFIPS: in FIPS mode (RHEL, Amazon Linux 2023 with FIPS on)
// Ed25519 keys are refused. Emulated here with the FIPS crypto policy's
// sshd back-end and an ssh-keygen that refuses -t ed25519 as RHEL's does in
// FIPS mode (test/rig/layouts/rhel-9/README.md). The sshd step's throwaway
// probe key is ECDSA P-256 now, which FIPS accepts.
func TestHardenRHELFIPS(t *testing.T) {
	tg := layoutTarget(t, "rhel-9")
	backEnds := tg.Path("etc/crypto-policies/back-ends")
	fips, err := os.Readlink(filepath.Join(backEnds, "opensshserver.config.fips"))
	require.NoError(t, err)
	relink(t, filepath.Join(backEnds, "opensshserver.config"), fips)
	wrapper := "#!/bin/sh\n# FIPS mode, as RHEL's ssh-keygen: no Ed25519 keys.\n" +
		"for a; do case $prev$a in -ted25519|-ted25519-sk) echo 'ssh-keygen: ed25519 keys are not allowed in FIPS mode' >&2; exit 255 ;; esac; prev=$a; done\n" +
		"exec /usr/bin/ssh-keygen \"$@\"\n"
	require.NoError(t, os.WriteFile(tg.Path("usr/local/bin/ssh-keygen"), []byte(wrapper), 0o755))
	out, err := tg.Chroot("/usr/local/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", "/root/fips-check")
	require.Error(t, err, "the FIPS stand-in must refuse ed25519: %s", out)

	tg.harden(t, "ami_harden_rhel_fips", `    steps = ["sshd", "passwords"]`, buildCheck(true, []string{
		"sshd           changed  /etc/ssh/sshd_config now starts with:",
		"passwords      ",
	}, nil))
	eff := mustChroot(t, tg, "/bin/sh", "-c", "ssh-keygen -q -t ecdsa -N '' -f /run/k && /usr/sbin/sshd -T -h /run/k; rm -f /run/k /run/k.pub")
	assert.Contains(t, eff, "\npasswordauthentication no\n")
}

// TestHardenAlpineLike: OpenRC, busybox, an sshd without PAM. The init
// script's start_pre already runs ssh-keygen -A before sshd: host-keys
// recognises it instead of failing. Without PAM, a password field that
// starts with "!" refuses key logins too, and sshd -T prints no usepam line
// at all: the passwords step writes "*", and the key login works when the
// image's sshd is started the OpenRC way (as far as that runs here).
func TestHardenAlpineLike(t *testing.T) {
	tg := layoutTarget(t, "alpine")
	tg.rig("seed", tg.Dir)
	tg.harden(t, "ami_harden_alpine", "", buildCheck(true, []string{
		"sshd           changed",
		"UsePAM absent: sshd without PAM",
		"passwords      changed  no password works for root, builder, alice, emptypw (password field *",
		"host-keys      changed  overwrote and removed 6 host key file(s); new keys at first boot by the distribution's /etc/init.d/sshd (ssh-keygen -A before sshd starts)",
		"user-keys      changed",
		"logs           changed",
	}, nil))
	assert.Contains(t, "\n"+readFile(t, tg.Path("etc/shadow")), "\nbuilder:*:")
	tg.rig("down", tg.Dir)
	boot := openrcBoot(tg)
	t.Logf("alpine openrc-boot: %v", boot)
	assert.Equal(t, "", boot["usepam"])
	assert.NotEqual(t, "0", boot["hostkeys"], "start_pre's ssh-keygen -A")
	assert.Equal(t, "ok", boot["keylogin"], "without PAM the launch key must still log in")
	assert.Equal(t, "publickey", strings.TrimSpace(boot["methods"]))
}
