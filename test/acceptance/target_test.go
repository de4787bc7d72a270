package acceptance

import (
	"crypto/sha256"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/acctest"
)

// rig is test/rig: the scripts that make, seed, boot and destroy targets.
var rig = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "rig")
}()

// image is a Debian rootfs the rig builds: a release, and packages added
// with apt-get afterwards.
type image struct {
	Name, Suite, Extra string
}

var (
	bookworm          = image{Name: "bookworm", Suite: "bookworm"}
	trixie            = image{Name: "trixie", Suite: "trixie"}
	bookwormCloudInit = image{Name: "bookworm-cloud-init", Suite: "bookworm", Extra: "cloud-init"}
)

// target is a throwaway Debian machine: a rootfs on its own ext4 disk, with
// its own sshd on a loopback port. The hardening script reaches it only over
// that sshd, inside the rootfs; it never touches this machine.
type target struct {
	t      *testing.T
	Dir    string
	Port   int
	Key    string // private key of the login user "builder"
	tmpDir string
}

func newTarget(t *testing.T) *target { return newTargetOf(t, bookworm) }

func newTargetOf(t *testing.T, img image) *target {
	t.Helper()
	tg := prepareTarget(t)
	tg.rig("up", tg.Dir, strconv.Itoa(tg.Port), tg.Key+".pub", img.Suite, img.Extra)
	return tg
}

// newLiveTarget is a running target (target.sh live): img booted with
// systemd-nspawn, its login user "builder" made by cloud-init from a NoCloud
// seed, sshd on a loopback port.
func newLiveTarget(t *testing.T, img image) *target {
	t.Helper()
	tg := prepareTarget(t)
	tg.rig("live", tg.Dir, strconv.Itoa(tg.Port), tg.Key+".pub", img.Suite, img.Extra)
	return tg
}

// prepareTarget: the checks, directory, port, key and cleanup of a target
// that the rig has not made yet.
func prepareTarget(t *testing.T) *target {
	t.Helper()
	if os.Getenv(acctest.TestEnvVar) == "" {
		t.Skipf("acceptance tests run only with %s=1 (make testacc)", acctest.TestEnvVar)
	}
	if os.Geteuid() != 0 {
		t.Fatal("acceptance tests need root (chroot, mounts, systemd-nspawn): run them with make testacc")
	}
	base, err := os.MkdirTemp("/var/tmp", "ami-harden-acc-")
	if err != nil {
		t.Fatal(err)
	}
	tg := &target{t: t, Dir: filepath.Join(base, "root"), Port: freePort(t), tmpDir: base}
	tg.Key = filepath.Join(base, "builder_key")
	run(t, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", tg.Key)
	t.Cleanup(func() {
		if out, err := exec.Command(filepath.Join(rig, "target.sh"), "destroy", tg.Dir).CombinedOutput(); err != nil {
			t.Errorf("destroying %s: %v\n%s", tg.Dir, err, out)
		}
		os.RemoveAll(base)
	})
	return tg
}

// rig runs target.sh with args and returns its output.
func (tg *target) rig(args ...string) string {
	tg.t.Helper()
	return run(tg.t, filepath.Join(rig, "target.sh"), args...)
}

// SSH runs a command on the target as builder, over its sshd.
func (tg *target) SSH(command string) string {
	tg.t.Helper()
	return run(tg.t, "ssh", append(tg.sshArgs(), "builder@127.0.0.1", command)...)
}

// sshArgs are ssh's options to reach the target's sshd with builder's key.
func (tg *target) sshArgs() []string {
	return []string{"-i", tg.Key, "-p", strconv.Itoa(tg.Port), "-o", "BatchMode=yes",
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"}
}

// Path is a path inside the target.
func (tg *target) Path(p string) string { return filepath.Join(tg.Dir, p) }

// Chroot runs a command inside the target and returns its output.
func (tg *target) Chroot(args ...string) (string, error) {
	out, err := exec.Command("chroot", append([]string{tg.Dir}, args...)...).CombinedOutput()
	return string(out), err
}

// Boot stops the target's sshd, boots the image once with a new key for
// builder (as EC2 injects one at launch) and returns what the probe saw.
func (tg *target) Boot() map[string]string {
	tg.t.Helper()
	tg.rig("down", tg.Dir)
	key := filepath.Join(tg.tmpDir, "launch_key")
	run(tg.t, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key)
	return probeLines(tg.rig("boot", tg.Dir, key, key+".pub"))
}

// probeLines reads the key=value lines a boot probe prints.
func probeLines(out string) map[string]string {
	res := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			res[k] = v
		}
	}
	return res
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// ScanDisk counts the occurrences of word in the raw blocks of the target's
// disk image, deleted files included: what an image snapshot would copy. It
// reads only the image's data regions (SEEK_DATA/SEEK_HOLE), not its holes.
func (tg *target) ScanDisk(word string) int {
	tg.t.Helper()
	syscall.Sync()
	return len(scanFile(tg.t, tg.Dir+".img", []string{word})[word])
}

// WhereOnDisk says which blocks of the target's ext4 disk hold word, and
// the file (inode 8: ext4's own journal) or free space each belongs to:
// what a failed ScanDisk should be told.
func (tg *target) WhereOnDisk(word string) []place {
	tg.t.Helper()
	syscall.Sync()
	offsets := scanFile(tg.t, tg.Dir+".img", []string{word})[word]
	if len(offsets) == 0 {
		return nil
	}
	return newDiskIndex(tg.t, tg.Dir+".img").places(offsets)
}

// Serve starts sshd again on the (hardened) image without changing it: the
// host key and builder's key live on a tmpfs /run, as on a booted instance.
func (tg *target) Serve() {
	tg.t.Helper()
	tg.rig("down", tg.Dir)
	tg.rig("serve", tg.Dir, strconv.Itoa(tg.Port), tg.Key+".pub")
}

// watched are the parts of the image the steps read or change.
var watched = []string{"etc", "root", "home", "srv", "opt", "tmp", "var/tmp", "var/log", "var/lib/dbus", "var/lib/systemd", "var/lib/cloud"}

// Snapshot records every file, link and directory below the watched paths:
// kind, mode, owner, size and a SHA-256 of the contents (links: the target).
func (tg *target) Snapshot() map[string]string {
	tg.t.Helper()
	snap := map[string]string{}
	for _, w := range watched {
		root := tg.Path(w)
		if _, err := os.Lstat(root); err != nil {
			continue
		}
		err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			fi, err := os.Lstat(path)
			if err != nil {
				return err
			}
			st := fi.Sys().(*syscall.Stat_t)
			entry := fmt.Sprintf("%s %o %d:%d", fi.Mode().Type(), fi.Mode().Perm(), st.Uid, st.Gid)
			switch {
			case fi.Mode()&os.ModeSymlink != 0:
				target, err := os.Readlink(path)
				if err != nil {
					return err
				}
				entry += " -> " + target
			case fi.Mode().IsRegular():
				b, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				entry += fmt.Sprintf(" %d %x", len(b), sha256.Sum256(b))
			}
			snap[strings.TrimPrefix(path, tg.Dir)] = entry
			return nil
		})
		if err != nil {
			tg.t.Fatal(err)
		}
	}
	return snap
}

// harden is a real packer build of linuxTemplate(body) against tg, logging
// in as builder, and check is its acctest Check.
func (tg *target) harden(t *testing.T, name, body string, check func(*exec.Cmd, string) error) {
	t.Helper()
	acctest.TestPlugin(t, &acctest.PluginTestCase{
		Name: name, Type: "ami-harden", Template: linuxTemplate(body), BuildExtraArgs: tg.vars(), Check: check,
	})
}
