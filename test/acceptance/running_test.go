package acceptance

import (
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/acctest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runningBuild is the build block of the build on the running target: a
// shell provisioner logs var.log_tag, then ami-harden runs.
//
//go:embed testdata/fixtures/running-target.pkr.hcl
var runningBuild string

// bookwormRunning is what a running build machine has: cloud-init (which
// makes the login user), rsyslog and cron beside journald.
var bookwormRunning = image{Name: "bookworm-running", Suite: "bookworm", Extra: "cloud-init,rsyslog,cron"}

// TestRunningTarget builds on a booted machine, as a builder does: the target
// runs systemd, journald, rsyslog, logind, cron and cloud-init (which made the
// login user from a NoCloud seed). ami-harden runs last; then the machine
// shuts itself down from inside, over a connection opened before the build
// (as a builder's shutdown_command runs over its communicator). Nothing
// logged after the steps (the build's logout, sudo, the shutdown) may reach
// the disk, nor a random seed or cloud-init state; audit of the shut-down
// image finds nothing, and the next boot logs as before.
func TestRunningTarget(t *testing.T) {
	tg := newLiveTarget(t, bookwormRunning)
	tag := make([]byte, 6)
	_, _ = rand.Read(tag)
	early := "AMIHARDENEARLY" + hex.EncodeToString(tag) // logged by the build before the steps
	late := "AMIHARDENLATE" + hex.EncodeToString(tag)   // logged after them, before the shutdown

	// The connection the shutdown will use, opened before the build.
	ctl := filepath.Join(tg.tmpDir, "ctl")
	master := exec.Command("ssh", append(tg.sshArgs(), "-M", "-S", ctl, "-N", "builder@127.0.0.1")...)
	require.NoError(t, master.Start())
	t.Cleanup(func() { _ = master.Process.Kill(); _ = master.Wait() })
	for i := 0; i < 50; i++ {
		if exec.Command("ssh", "-S", ctl, "-O", "check", "x").Run() == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Secrets that other programs freed on this machine before the build
	// (test/rig/seed-freed.sh): only the free-space step takes them.
	freedWord := "AMIHARDENFREED" + hex.EncodeToString(tag)
	seed := exec.Command("ssh", append(tg.sshArgs(), "builder@127.0.0.1", "sudo sh -s "+freedWord)...)
	seedScript, err := os.Open(filepath.Join(rig, "seed-freed.sh"))
	require.NoError(t, err)
	seed.Stdin = seedScript
	seeded, err := seed.CombinedOutput()
	seedScript.Close()
	require.NoError(t, err, "seed-freed.sh: %s", seeded)
	t.Logf("secrets in free blocks before the build:\n%s", seeded)
	oldMachineID := strings.TrimSpace(tg.SSH("cat /etc/machine-id"))
	require.Regexp(t, `^[0-9a-f]{32}$`, oldMachineID)

	start := time.Now()
	acctest.TestPlugin(t, &acctest.PluginTestCase{
		Name:           "ami_harden_running_target",
		Type:           "ami-harden",
		Template:       linuxFixture + runningBuild,
		BuildExtraArgs: tg.vars("log_tag="+early, "wipe_free_space="+strconv.FormatBool(!noFreeSpaceWipe())),
		Check: buildCheck(true, []string{
			"logs           changed",
			"the journal writes to /run until shutdown",
			"rsyslog.service stopped until shutdown",
			"ami-harden-logs-at-shutdown.service armed",
			"ami-harden-machine-id-at-shutdown.service (this boot only)",
			"ami-harden-cloud-init-at-shutdown.service (this boot only) to remove /etc/sudoers.d/90-cloud-init-users",
			// On a running machine the services note also says what listens
			// now: the build's own sshd on its loopback port.
			"note: listens at boot: ",
			"; listening now: ",
			fmt.Sprintf("%d/tcp on loopback (sshd)", tg.Port),
			// cloud-init, with the NoCloud seed that made builder, installs
			// the launch key: the default require_key_installer passes.
			"at launch, keys come from: cloud-init (",
			freeSpaceLine(),
			"0 failed",
		}, nil),
	})
	t.Logf("packer build on the running target: %s", time.Since(start).Round(time.Millisecond))

	// After the steps: more log lines, then the machine's own shutdown.
	halt := exec.Command("ssh", "-S", ctl, "x", fmt.Sprintf("sudo logger -t build %s; sudo systemctl poweroff", late))
	out, err := halt.CombinedOutput()
	t.Logf("poweroff over the build's connection: %v %s", err, out)
	start = time.Now()
	tg.rig("halted", tg.Dir)
	t.Logf("shutdown took %s", time.Since(start).Round(time.Millisecond))

	// The disk after the shutdown.
	journals, _ := filepath.Glob(tg.Path("var/log/journal/*/*"))
	assert.Empty(t, journals, "journal files in the image")
	assert.Empty(t, strings.TrimSpace(mustChroot(t, tg, "find", "/var/log", "-type", "f", "!", "-size", "0")),
		"log files that hold data after the shutdown")
	assert.NoFileExists(t, tg.Path("var/lib/systemd/random-seed"))
	// The builder's sudo grant, needed by the shutdown, went at the shutdown.
	assert.NoFileExists(t, tg.Path("etc/sudoers.d/90-cloud-init-users"))
	assert.NoDirExists(t, tg.Path("var/lib/cloud/instances"))
	assert.NoFileExists(t, tg.Path("var/lib/cloud/instance"))
	assert.Empty(t, readFile(t, tg.Path("etc/machine-id")))
	for _, word := range []string{early, late, freedWord, "Accepted publickey for builder", "session opened for user builder",
		"session closed for user root"} {
		n := tg.ScanDisk(word)
		t.Logf("on the raw disk after the shutdown: %q %d time(s)", word, n)
		if n > 0 {
			t.Errorf("%q is still in the disk's blocks: %s", word, tg.WhereOnDisk(word))
		}
	}
	// The old machine-id: in no file and no free block. journald named its
	// directory after it at the build's boot, and ext4's own journal (inode 8)
	// keeps stale copies of that directory block, which nothing can reach
	// from a mounted file system: those are allowed, and counted.
	inJournal := 0
	for _, p := range tg.WhereOnDisk(oldMachineID) {
		if p.owner == "8" {
			inJournal += p.matches
			continue
		}
		t.Errorf("the old machine-id is still on the disk: %s", p)
	}
	t.Logf("on the raw disk after the shutdown: the old machine-id %d time(s), %d of them in ext4's journal",
		tg.ScanDisk(oldMachineID), inJournal)

	// Audit of the shut-down image: nothing to find. builder's sudo grant is
	// gone with the build, so the audit logs in as root (with a key the rig
	// keeps outside the image).
	tg.Serve()
	acctest.TestPlugin(t, &acctest.PluginTestCase{
		Name:           "ami_harden_running_target_audit",
		Type:           "ami-harden",
		Template:       linuxTemplate(`    mode = "audit"`),
		BuildExtraArgs: tg.varsAs("root"),
		Check:          buildCheck(true, []string{"0 failed"}, nil),
	})

	// The next boot logs as before: the units and masks lived in /run. The
	// rig's port drop-in is the build network's, not the image's.
	tg.rig("down", tg.Dir)
	require.NoError(t, os.Remove(tg.Path("etc/ssh/sshd_config.d/00-ami-harden-rig.conf")))
	boot := tg.Boot()
	assert.Equal(t, "active", boot["ssh"])
	assert.Equal(t, "ok", boot["keylogin"])
	assert.Equal(t, "publickey", boot["methods"])
	assert.Equal(t, "active", boot["syslog"], "rsyslog at the next boot")
	n, _ := strconv.Atoi(boot["journal"])
	assert.NotZero(t, n, "the next boot writes no journal to /var/log/journal")
	assert.NotEqual(t, oldMachineID, boot["machine_id"])
}
