// Package acceptance runs real `packer build`s with the installed plugin
// against throwaway Debian targets (test/rig), over real SSH as a sudo user,
// and checks the hardened image on disk and at its first boot.
//
// Run with `make testacc` (root, PACKER_ACC=1, packer and the plugin built).
package acceptance

import (
	"crypto/sha256"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/acctest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The seed marks every secret with this word (test/rig/seed.sh).
const secretWord = "AMIHARDENSECRET"

// linuxFixture declares the variables and the source "null" "target" of a
// build over SSH to a rig target; target.vars gives their -var arguments.
//
//go:embed testdata/fixtures/linux-target.pkr.hcl
var linuxFixture string

// linuxTemplate is linuxFixture and a build of its source with one
// ami-harden block of the given body. acctest writes it with Fprintf: it
// must hold no percent sign; values go in -var arguments, not into it.
//
// The rig's targets have no key installer: the rig itself puts the launch
// key in (target.sh boot, serve), as cloud-init would. So a body that does
// not say otherwise gets require_key_installer = false.
func linuxTemplate(body string) string {
	if !strings.Contains(body, "require_key_installer") {
		body = "    require_key_installer = false\n" + body
	}
	if noFreeSpaceWipe() && !strings.Contains(body, "wipe_free_space") && !strings.Contains(body, "steps") {
		body = "    wipe_free_space = false\n" + body
	}
	return linuxFixture + amiHardenBuild("source.null.target", body)
}

// noFreeSpaceWipe: AMI_HARDEN_WIPE_FREE_SPACE=false runs the builds that
// scan the disk without the free-space step, to measure what the free
// blocks keep without it: their scans then fail, and say where.
func noFreeSpaceWipe() bool { return os.Getenv("AMI_HARDEN_WIPE_FREE_SPACE") == "false" }

// summaryLine is the run's summary line, as wanted, or any summary line
// without the free-space step (one step fewer).
func summaryLine(summary string) string {
	if noFreeSpaceWipe() {
		return "ami-harden: "
	}
	return "ami-harden: " + summary
}

// freeSpaceLine is the start of the free-space step's line in a default
// build's output (nothing to look for without the step).
func freeSpaceLine() string {
	if noFreeSpaceWipe() {
		return "ami-harden: "
	}
	return "free-space     changed  wrote "
}

// amiHardenBuild is a build block of the source with one ami-harden
// provisioner block of the given body.
func amiHardenBuild(source, body string) string {
	return `
build {
  sources = ["` + source + `"]
  provisioner "ami-harden" {
` + body + `
  }
}
`
}

// vars are the -var arguments of linuxFixture for a build over SSH to tg as
// builder, then one for each of more ("name=value").
func (tg *target) vars(more ...string) []string { return tg.varsAs("builder", more...) }

// varsAs is vars with another login user.
func (tg *target) varsAs(user string, more ...string) []string {
	args := []string{"-var", "ssh_port=" + strconv.Itoa(tg.Port), "-var", "ssh_username=" + user,
		"-var", "ssh_private_key_file=" + tg.Key}
	for _, m := range more {
		args = append(args, "-var", m)
	}
	return args
}

// buildCheck is an acctest Check: packer must exit as wanted (success or
// failure; acctest itself never looks) and its log must hold every line in
// want. extra, if set, checks the log further.
func buildCheck(succeed bool, want []string, extra func(log string) error) func(*exec.Cmd, string) error {
	return func(cmd *exec.Cmd, logfile string) error {
		b, err := os.ReadFile(logfile)
		if err != nil {
			return err
		}
		log := string(b)
		code := -1
		if cmd.ProcessState != nil {
			code = cmd.ProcessState.ExitCode()
		}
		if succeed && code != 0 {
			return fmt.Errorf("packer build exited %d, want 0", code)
		}
		if !succeed && code == 0 {
			return fmt.Errorf("packer build succeeded, want a failure")
		}
		for _, w := range want {
			if !strings.Contains(log, w) {
				return fmt.Errorf("packer output lacks %q", w)
			}
		}
		if extra != nil {
			return extra(log)
		}
		return nil
	}
}

// TestHardenDirtyImage is the main job: the default block hardens a seeded
// image as a sudo user, and the image boots with sshd running, new host
// keys, a new machine-id, and key logins only. On Debian bookworm (OpenSSH
// 9.2), trixie (OpenSSH 10.0), and bookworm with cloud-init.
func TestHardenDirtyImage(t *testing.T) {
	for _, c := range []struct {
		img                 image
		hostKeys, cloudInit string
		summary             string
	}{
		{bookworm, "new keys at first boot by ami-harden-host-keys.service (ssh-keygen -A early in boot, before sshd)", "cloud-init     skipped  cloud-init is not installed",
			"16 of 16 steps reported: 12 changed, 3 ok, 1 skipped, 0 failed"},
		// trixie's openssh-server brings its own sshd-keygen.service, which
		// runs only when systemd sees a first boot.
		{trixie, "new keys at first boot by ami-harden-host-keys.service (ssh-keygen -A early in boot, before sshd), besides the distribution's sshd-keygen.service", "cloud-init     skipped  cloud-init is not installed",
			"16 of 16 steps reported: 12 changed, 3 ok, 1 skipped, 0 failed"},
		{bookwormCloudInit, "new keys at first boot by ami-harden-host-keys.service (ssh-keygen -A early in boot, before sshd), besides cloud-init",
			"cloud-init     changed  overwrote its state and logs, ran cloud-init clean --logs, removed /var/lib/cloud/seed", "16 of 16 steps reported: 13 changed, 3 ok, 0 skipped, 0 failed"},
	} {
		t.Run(c.img.Name, func(t *testing.T) { hardenDirtyImage(t, c.img, c.hostKeys, c.cloudInit, c.summary) })
	}
}

func hardenDirtyImage(t *testing.T, img image, hostKeys, cloudInit, summary string) {
	// With cloud-init, the default require_key_installer holds: cloud-init
	// installs the launch key. Without it, the rig does (linuxTemplate).
	keys, keysNote := "", "note: nothing installs a key at launch and no key stays: the image is reached another way (require_key_installer = false)"
	if img.Extra == "cloud-init" {
		keys, keysNote = "    require_key_installer = true\n", "note: at launch, keys come from: cloud-init ("
	}
	tg := newTargetOf(t, img)
	tg.rig("seed", tg.Dir)
	t.Logf("secrets in free blocks before the build:\n%s", tg.seedFreed(secretWord))
	// The scan must see the seeded secrets, or its zero below proves nothing.
	secretsBefore := tg.ScanDisk(secretWord)
	require.NotZero(t, secretsBefore, "the disk scan does not find the seeded secrets")
	// Password hashes with markers, in /etc/shadow itself and its backups.
	hashesBefore := plantHashes(t, tg, "root", "builder", "alice")
	oldMachineID := readFile(t, tg.Path("etc/machine-id"))
	oldSnakeoil := fmt.Sprintf("%x", sha256.Sum256([]byte(readFile(t, tg.Path("etc/ssl/private/ssl-cert-snakeoil.key")))))
	passwdBefore := readFile(t, tg.Path("etc/passwd"))

	files, read := reportFiles(t)
	acctest.TestPlugin(t, &acctest.PluginTestCase{
		Name:           "ami_harden_dirty_image_" + strings.ReplaceAll(img.Name, "-", "_"),
		Type:           "ami-harden",
		Template:       linuxTemplate(keys + `    wipe_paths = ["/opt/app/it's here"]` + "\n" + files.String()),
		BuildExtraArgs: tg.vars(files.vars...),
		Check: buildCheck(true, []string{
			keysNote,
			freeSpaceLine(),
			// test/rig/seed-freed.sh's identities, still in files.
			"network        changed  removed /etc/udev/rules.d/70-persistent-net.rules",
			"enrolment      changed  overwrote and removed: the host Kerberos keytab: /etc/krb5.keytab; Salt's minion keys and ID: /etc/salt/minion_id",
			"sshd           changed",
			"passwords      changed  no password works for root, builder, alice, emptypw (password field *",
			"host-keys      changed  overwrote and removed",
			hostKeys,
			"user-keys      changed",
			"credentials    changed",
			"history        changed",
			cloudInit,
			"machine-id     changed",
			"temp           changed",
			"logs           changed",
			summaryLine(summary),
		}, func(log string) error {
			// One upload and one run: two SSH sessions (packer's shell provisioner opens five).
			if n := strings.Count(log, "Opening new ssh session"); n > 2 {
				return fmt.Errorf("%d SSH sessions opened, want at most 2", n)
			}
			t.Logf("SSH sessions opened by the provisioning: %d", strings.Count(log, "Opening new ssh session"))
			if strings.Contains(log, secretWord) {
				return fmt.Errorf("a secret from the target appears in packer's log")
			}
			return nil
		}),
	})
	// No file contents in the reports either.
	r, j := read()
	assert.Equal(t, "passed", r.Result)
	assert.Zero(t, j.Failures)
	for _, f := range files.paths {
		assert.NotContains(t, readFile(t, f), secretWord, "a secret from the target appears in %s", f)
	}

	// sshd: the effective settings, read back from sshd itself.
	run(t, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", tg.Path("run/probe_key"))
	eff, err := tg.Chroot("/usr/sbin/sshd", "-T", "-h", "/run/probe_key")
	require.NoError(t, err, eff)
	for _, want := range []string{
		"passwordauthentication no", "permitrootlogin without-password", "pubkeyauthentication yes",
		"permitemptypasswords no", "kbdinteractiveauthentication no",
	} {
		assert.Contains(t, eff, "\n"+want+"\n")
	}
	assert.FileExists(t, tg.Path("etc/ssh/sshd_config.d/50-cloudimg-settings.conf"), "drop-ins are outranked, not deleted")

	// passwords: no account keeps a usable or empty password.
	for _, line := range strings.Split(readFile(t, tg.Path("etc/shadow")), "\n") {
		f := strings.Split(line, ":")
		if len(f) > 1 {
			assert.Regexp(t, `^[!*]`, f[1], "account %s still has a usable password", f[0])
		}
	}

	// Keys, histories, credentials: gone, wherever the home is.
	for _, home := range []string{"root", "home/builder", "home/alice", "srv/app data/svc"} {
		for _, f := range []string{".ssh/authorized_keys", ".ssh/authorized_keys2", ".ssh/id_rsa", ".ssh/id_ed25519",
			".ssh/id_ed25519.pub", ".bash_history", ".python_history", ".viminfo", ".aws/credentials",
			".docker/config.json", ".git-credentials"} {
			assert.NoFileExists(t, tg.Path(filepath.Join(home, f)))
		}
	}
	assert.NoDirExists(t, tg.Path("opt/app/it's here"))
	assert.DirExists(t, tg.Path("opt/app"), "only the wipe path goes, not its parent")
	assert.NoFileExists(t, tg.Path("home/alice/.lesshst"))
	assert.Equal(t, passwdBefore, readFile(t, tg.Path("etc/passwd")), "a history symlink must be removed, not followed")
	keysLeft, _ := filepath.Glob(tg.Path("etc/ssh/ssh_host_*"))
	assert.Empty(t, keysLeft)

	// Logs: files kept with owner and mode, all empty; rotated ones gone.
	fi, err := os.Stat(tg.Path("var/log/auth.log"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o640), fi.Mode().Perm())
	assert.Equal(t, "root:adm\n", mustChroot(t, tg, "stat", "-c", "%U:%G", "/var/log/auth.log"))
	assert.Empty(t, strings.TrimSpace(mustChroot(t, tg, "find", "/var/log", "-type", "f", "!", "-size", "0")))
	assert.NoFileExists(t, tg.Path("var/log/syslog.1"))
	assert.FileExists(t, tg.Path("var/log/wtmp"))

	// Temp and identity.
	assert.Empty(t, strings.TrimSpace(mustChroot(t, tg, "find", "/tmp", "/var/tmp", "-mindepth", "1")),
		"temp dirs must be empty, the uploaded script included")
	assert.Empty(t, readFile(t, tg.Path("etc/machine-id")))
	assert.NoFileExists(t, tg.Path("var/lib/dbus/machine-id"))

	// Nothing secret in the raw blocks either: overwritten, not just unlinked.
	secretsAfter, hashesAfter := tg.ScanDisk(secretWord), tg.ScanDisk(hashMarker)
	t.Logf("markers on the raw disk: secrets %d before, %d after; password hashes %d before, %d after",
		secretsBefore, secretsAfter, hashesBefore, hashesAfter)
	if secretsAfter > 0 {
		for _, p := range tg.WhereOnDisk(secretWord) {
			t.Logf("    %s", p)
		}
	}
	assert.Zero(t, secretsAfter, "secrets are still in the disk's blocks")
	assert.Zero(t, hashesAfter, "password hashes are still in the disk's blocks")
	// The old machine-id (seed.sh copied it to D-Bus's file too): in no file
	// and no free block; ext4's own journal (inode 8) may keep stale copies of
	// the journal directory's block, which names it.
	for _, p := range tg.WhereOnDisk(strings.TrimSpace(oldMachineID)) {
		if p.owner != "8" {
			t.Errorf("the old machine-id is still on the disk: %s", p)
		}
	}

	// First boot: sshd runs with new host keys; a launch key logs in; passwords do not.
	boot := tg.Boot()
	assert.Equal(t, "active", boot["ssh"])
	assert.NotEqual(t, "0", boot["hostkeys"])
	assert.Regexp(t, regexp.MustCompile(`^[0-9a-f]{32}$`), boot["machine_id"])
	assert.NotEqual(t, strings.TrimSpace(oldMachineID), boot["machine_id"])
	// Debian's snakeoil TLS key: a new one, made at this instance's first boot.
	assert.Regexp(t, regexp.MustCompile(`^[0-9a-f]{64}$`), boot["snakeoil"], "no snakeoil key at first boot")
	assert.NotEqual(t, oldSnakeoil, boot["snakeoil"], "the image's snakeoil key was kept")
	assert.Equal(t, "ok", boot["keylogin"])
	assert.Equal(t, "publickey", boot["methods"])
}

// TestFailedStepFailsBuild: a setting sshd rejects fails the step and the
// build, with the step named and sshd's own words, and sshd_config is not
// touched. The keywords are the machine's sshd's to judge: RHEL's
// GSSAPIEnablek5users passes packer validate and is refused by Debian's
// sshd here, as a wrong value is.
func TestFailedStepFailsBuild(t *testing.T) {
	tg := newTarget(t)
	before := sha256.Sum256([]byte(readFile(t, tg.Path("etc/ssh/sshd_config"))))
	for _, c := range []struct{ name, setting, sshdSays string }{
		{"value", `PermitRootLogin = "sometimes"`, "unsupported option \"sometimes\""},
		{"keyword", `GSSAPIEnablek5users = "no"`, "Bad configuration option: GSSAPIEnablek5users"},
	} {
		tg.harden(t, "ami_harden_failed_step_"+c.name, `    steps = ["sshd"]`+"\n"+`    sshd_settings = { `+c.setting+` }`, buildCheck(false, []string{
			"sshd           failed   sshd_settings: this machine's sshd rejects them, /etc/ssh/sshd_config is unchanged (sshd -T: sshd_settings",
			c.sshdSays,
			"step sshd failed",
			"the image is not hardened",
		}, nil))
		after := sha256.Sum256([]byte(readFile(t, tg.Path("etc/ssh/sshd_config"))))
		assert.Equal(t, before, after, "sshd_config must be untouched")
	}
}

// seedFreed runs test/rig/seed-freed.sh in tg's chroot: secrets with word
// that other programs freed (renamed over, unlinked) before the build, in
// the disk's free blocks. It returns what the script says it freed.
func (tg *target) seedFreed(word string) string {
	tg.t.Helper()
	script, err := os.Open(filepath.Join(rig, "seed-freed.sh"))
	require.NoError(tg.t, err)
	defer script.Close()
	cmd := exec.Command("chroot", tg.Dir, "/bin/sh", "-s", word)
	cmd.Stdin = script
	out, err := cmd.CombinedOutput()
	require.NoError(tg.t, err, "seed-freed.sh: %s", out)
	return strings.TrimSpace(string(out))
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

func mustChroot(t *testing.T, tg *target, args ...string) string {
	t.Helper()
	out, err := tg.Chroot(args...)
	require.NoError(t, err, out)
	return out
}
