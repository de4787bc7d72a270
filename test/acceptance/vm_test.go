package acceptance

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/acctest"
)

// TestVMPipeline is the whole pipeline on a real VM, as a cloud runs it: a
// Debian bookworm disk (test/rig/vm.sh base) boots under QEMU, cloud-init
// makes the build's login user from a NoCloud seed, and a real `packer
// build` with the qemu builder (example/demo-vm/demo-vm.pkr.hcl) leaves the usual
// dirt (test/rig/seed.sh, log lines with a marker), runs ami-harden last and
// shuts the machine down with its shutdown_command. The image is then
// launched again with a new instance ID and a new user and key, and must
// behave as a new instance: keys only, a new host key and machine-id, the
// new instance ID, the build's key refused. Last, every block of the image
// (converted to raw) is read for the dirt, the marker and the build's host
// key. The hardening script runs only inside the VM.
func TestVMPipeline(t *testing.T) {
	if os.Getenv(acctest.TestEnvVar) == "" {
		t.Skipf("acceptance tests run only with %s=1 (make testacc)", acctest.TestEnvVar)
	}
	if os.Geteuid() != 0 {
		t.Fatal("TestVMPipeline needs root (loop devices for the base disk and the scan): run it with make testacc")
	}
	total := time.Now()
	repo := filepath.Join(rig, "..", "..")
	vmsh := filepath.Join(rig, "vm.sh")
	for _, c := range []string{"packer", "qemu-system-x86_64", "qemu-img", "xorriso", "ssh", "ssh-keygen", "ssh-keyscan", "debugfs", "losetup"} {
		if _, err := exec.LookPath(c); err != nil {
			t.Fatalf("%s is not on PATH: run make deps and make dev, with bin/ on PATH (make testacc does both)", c)
		}
	}
	pluginPath := os.Getenv("PACKER_PLUGIN_PATH")
	if pluginPath == "" {
		pluginPath = filepath.Join(repo, "bin", "plugins")
	}
	for plugin, how := range map[string]string{"hashicorp/qemu/packer-plugin-qemu_*": "make qemu-plugin", "ami-harden/ami-harden/packer-plugin-ami-harden_*": "make dev"} {
		if m, _ := filepath.Glob(filepath.Join(pluginPath, "github.com", plugin)); len(m) == 0 {
			t.Fatalf("no %s in PACKER_PLUGIN_PATH=%s: run %s", plugin, pluginPath, how)
		}
	}

	work, err := os.MkdirTemp("/var/tmp", "ami-harden-vm-")
	if err != nil {
		t.Fatal(err)
	}
	// Cleanups run last in, first out: QEMU first, the directory last.
	t.Cleanup(func() { os.RemoveAll(work) })
	t.Cleanup(func() { killQemuUsing(t, work) })
	if err := os.Chmod(work, 0o755); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	base := strings.TrimSpace(run(t, vmsh, "base"))
	t.Logf("base disk %s (%s)", base, since(start))
	start = time.Now()
	accel := strings.TrimSpace(run(t, vmsh, "accel"))
	t.Logf("accelerator: %s (probe %s)", accel, since(start))

	tag := make([]byte, 8)
	_, _ = rand.Read(tag)
	id := hex.EncodeToString(tag)
	marker := "AMIHARDENLOG" + id // only ever logged, in no file packer uploads
	buildKey := filepath.Join(work, "build_key")
	launchKey := filepath.Join(work, "launch_key")
	run(t, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", buildKey)
	run(t, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", launchKey)
	run(t, vmsh, "seed", filepath.Join(work, "build-seed"), "builder", buildKey+".pub", "i-build-"+id)
	copyDisk := filepath.Join(work, "base.qcow2")
	run(t, "qemu-img", "create", "-q", "-f", "qcow2", "-b", base, "-F", "qcow2", copyDisk)
	// Host keys in the disk before its first boot, as an image made from a
	// machine nobody cleaned has them: cloud-init deletes them at the build's
	// boot (ssh_deletekeys) without overwriting, and makes new ones.
	preKey := strings.TrimSpace(run(t, vmsh, "host-keys", copyDisk))
	sum := strings.Fields(run(t, "sha256sum", copyDisk))[0]

	// 1. The build. AMI_HARDEN_VM_SEED: another dirt script, for experiments.
	seedScript := filepath.Join(rig, "seed.sh")
	if s := os.Getenv("AMI_HARDEN_VM_SEED"); s != "" {
		seedScript, _ = filepath.Abs(s)
		t.Logf("dirt from %s (AMI_HARDEN_VM_SEED)", seedScript)
	}
	out := filepath.Join(work, "out")
	start = time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "packer", "build", "-color=false",
		"-var", "base_disk="+copyDisk, "-var", "base_disk_checksum=sha256:"+sum,
		"-var", "accelerator="+accel,
		"-var", "seed_dir="+filepath.Join(work, "build-seed"),
		"-var", "ssh_private_key_file="+buildKey,
		"-var", "output_directory="+out,
		"-var", "serial_log="+filepath.Join(work, "build-serial.log"),
		"-var", "seed_script="+seedScript,
		"-var", "log_marker="+id,
		"-var", "show_host_key_part=true",
		// AMI_HARDEN_WIPE_FREE_SPACE=false: what the free blocks keep
		// without the free-space step (the scan below then fails, and says
		// where).
		"-var", "wipe_free_space="+strconv.FormatBool(!noFreeSpaceWipe()),
		filepath.Join(repo, "example", "demo-vm"))
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "PACKER_PLUGIN_PATH="+pluginPath, "CHECKPOINT_DISABLE=1")
	said, err := cmd.CombinedOutput()
	_ = os.WriteFile(filepath.Join(work, "packer.log"), said, 0o644)
	if err != nil {
		t.Fatalf("packer build (%s): %v\n%s\nserial console, last lines:\n%s", since(start), err, said,
			tail(filepath.Join(work, "build-serial.log"), 40))
	}
	t.Logf("packer build with %s: %s", accel, since(start))
	for _, line := range strings.Split(string(said), "\n") {
		if strings.Contains(line, "ami-harden:") || strings.Contains(line, "qemu.debian: free-space ") ||
			strings.Contains(line, "Build 'qemu.debian' finished") {
			t.Log(strings.TrimSpace(line))
		}
	}
	build := map[string]string{}
	for _, m := range regexp.MustCompile(`(build-[a-z-]+)=(\S+)`).FindAllStringSubmatch(string(said), -1) {
		build[m[1]] = m[2]
	}
	for _, k := range []string{"build-machine-id", "build-host-key", "build-host-pubkey", "build-host-key-part"} {
		if build[k] == "" {
			t.Fatalf("packer's output has no %s= line:\n%s", k, said)
		}
	}
	if build["build-host-key-part"] == preKey {
		t.Fatalf("the build machine kept the disk's host keys: cloud-init did not delete them at its first boot, so the test seeds nothing in free blocks")
	}
	for _, l := range []string{"qemu.debian: user-keys      changed", "note: at launch, keys come from: cloud-init",
		"qemu.debian: free-space     changed  wrote "} {
		if noFreeSpaceWipe() && strings.Contains(l, "free-space") {
			continue
		}
		if !strings.Contains(string(said), l) {
			t.Errorf("packer's output has no %q", l)
		}
	}
	image := filepath.Join(out, "image.qcow2")
	if _, err := os.Stat(image); err != nil {
		t.Fatalf("the build made no image: %v", err)
	}

	// 2. A new instance of the image: its own overlay, so that the image
	// itself stays as the build left it for the scan.
	t.Run("relaunch", func(t *testing.T) {
		disk := filepath.Join(work, "relaunch.qcow2")
		run(t, "qemu-img", "create", "-q", "-f", "qcow2", "-b", image, "-F", "qcow2", disk)
		newID := "i-launch-" + id
		iso := strings.TrimSpace(run(t, vmsh, "seed", filepath.Join(work, "launch-seed"), "launch", launchKey+".pub", newID))
		port := strconv.Itoa(freePort(t))
		start := time.Now()
		launch := exec.Command(vmsh, "launch", disk, iso, port)
		// Another NIC than the build's (QEMU's default MAC): what pinned the
		// network to the build's NIC must not keep this one down.
		launch.Env = append(os.Environ(), "AMI_HARDEN_ACCEL="+accel, "AMI_HARDEN_MAC=52:54:00:a1:b2:c3")
		if b, err := launch.CombinedOutput(); err != nil {
			t.Fatalf("vm.sh launch: %v\n%s", err, b)
		}
		t.Cleanup(func() { _ = exec.Command(vmsh, "stop", disk).Run() })
		if b, err := exec.Command(vmsh, "wait-ssh", port, launchKey, "launch", "600").CombinedOutput(); err != nil {
			t.Fatalf("%s\nserial console, last lines:\n%s", b, tail(disk+".serial", 60))
		}
		t.Logf("relaunch: boot to an SSH login with the new key in %s (%s)", since(start), accel)

		// ssh: a login as user with key (none: no key), extra options, command.
		ssh := func(key, user, command string, opts ...string) *exec.Cmd {
			args := append([]string{"-p", port, "-o", "BatchMode=yes", "-o", "ConnectTimeout=10",
				"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"}, opts...)
			if key != "" {
				args = append(args, "-i", key, "-o", "IdentitiesOnly=yes")
			}
			return exec.Command("ssh", append(args, user+"@127.0.0.1", command)...)
		}
		as := func(command string) string {
			t.Helper()
			b, err := exec.Command("ssh", "-p", port, "-i", launchKey, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
				"-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "launch@127.0.0.1", command).CombinedOutput()
			if err != nil {
				t.Errorf("as launch: %s: %v\n%s", command, err, b)
			}
			return strings.TrimSpace(string(b))
		}

		if who := as("id -un"); who != "launch" {
			t.Errorf("logged in with the new key as %q, want launch", who)
		}
		// cloud-init ran as on a new instance.
		for _, c := range []string{"sudo cat /var/lib/cloud/data/instance-id", "sudo cloud-init query instance_id"} {
			if got := as(c); got != newID {
				t.Errorf("%s: %q, want the new instance's %q", c, got, newID)
			}
		}
		// The network came up on the new NIC (the login above came through
		// it) and the instance has its own name, not the build's.
		t.Logf("relaunch: links %q; addresses %q", as("ip -br link"), as("ip -br -4 addr"))
		if mac := as("cat /sys/class/net/*/address | grep -c 52:54:00:a1:b2:c3"); mac != "1" {
			t.Errorf("the relaunched instance does not have the new NIC: %s", mac)
		}
		for _, c := range []string{"hostname", "cat /etc/hostname"} {
			if got := as(c); got != newID {
				t.Errorf("%s: %q, want the new instance's name %q (the build's was i-build-%s)", c, got, newID, id)
			}
		}
		if hosts := as("cat /etc/hosts"); strings.Contains(hosts, "i-build-"+id) {
			t.Errorf("/etc/hosts names the build machine:\n%s", hosts)
		}
		machineID := as("cat /etc/machine-id")
		t.Logf("machine-id: build %s, relaunch %s", build["build-machine-id"], machineID)
		if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(machineID) || machineID == build["build-machine-id"] {
			t.Errorf("the new instance's machine-id is %q, the build's was %s", machineID, build["build-machine-id"])
		}
		// The host key sshd offers, from outside.
		scan, err := exec.Command("ssh-keyscan", "-t", "ed25519", "-p", port, "127.0.0.1").Output()
		if err != nil || len(bytes.TrimSpace(scan)) == 0 {
			t.Errorf("ssh-keyscan: %v", err)
		}
		fp := exec.Command("ssh-keygen", "-lf", "-")
		fp.Stdin = bytes.NewReader(scan)
		fpOut, _ := fp.Output()
		hostKey := ""
		if f := strings.Fields(string(fpOut)); len(f) > 1 {
			hostKey = f[1]
		}
		t.Logf("ed25519 host key: build %s, relaunch %s", build["build-host-key"], hostKey)
		if hostKey == "" || hostKey == build["build-host-key"] {
			t.Errorf("sshd's host key on the new instance is %q, the build's was %s", hostKey, build["build-host-key"])
		}
		// Keys only: the server offers publickey and nothing else.
		pw := ssh("", "launch", "true", "-v", "-o", "PreferredAuthentications=password,keyboard-interactive", "-o", "PubkeyAuthentication=no")
		b, err := pw.CombinedOutput()
		if err == nil {
			t.Errorf("a login without a key succeeded")
		}
		offers := regexp.MustCompile(`Authentications that can continue: (\S+)`).FindAllStringSubmatch(string(b), -1)
		if len(offers) == 0 {
			t.Errorf("ssh -v shows no methods the server offers:\n%s", b)
		}
		for _, o := range offers {
			if o[1] != "publickey" {
				t.Errorf("sshd offers %s, want publickey only", o[1])
			}
		}
		t.Logf("sshd offers: %v; sshd -T: %s", offers, strings.ReplaceAll(as("sudo sshd -T | grep -E '^(passwordauthentication|kbdinteractiveauthentication|permitrootlogin|pubkeyauthentication) '"), "\n", ", "))
		// The build's key gets in nowhere.
		for _, user := range []string{"builder", "launch", "root"} {
			if b, err := ssh(buildKey, user, "true").CombinedOutput(); err == nil {
				t.Errorf("the build's key still logs in as %s", user)
			} else if !strings.Contains(string(b), "Permission denied") {
				t.Errorf("the build's key as %s: want Permission denied, got %v:\n%s", user, err, b)
			}
		}

		// Off, as a cloud stops an instance.
		start = time.Now()
		_ = ssh(launchKey, "launch", "sudo poweroff").Run() // the connection drops
		if b, err := exec.Command(vmsh, "stop", disk, "120").CombinedOutput(); err != nil {
			t.Errorf("vm.sh stop: %v\n%s", err, b)
		}
		t.Logf("relaunch: powered off in %s", since(start))
	})

	// 3. Every block of the image, as a snapshot would copy it.
	start = time.Now()
	raw := filepath.Join(work, "image.raw")
	run(t, "qemu-img", "convert", "-O", "raw", image, raw)
	// ext4's own journal (inode 8) keeps stale copies of the
	// /var/log/journal directory block, which names the build's machine-id:
	// a documented limit, and the one place where it may remain.
	words := []struct {
		name, word string
		inJournal  bool // allowed in ext4's journal
	}{
		{"AMIHARDENSECRET (seed.sh's dirt)", "AMIHARDENSECRET", false},
		{"the build's log marker", marker, false},
		{"a line of the build's private host key", build["build-host-key-part"], false},
		{"the build's public host key", build["build-host-pubkey"], false},
		{"the build's machine-id", build["build-machine-id"], true},
		// Its directory in /var/lib/cloud/instances is metadata too.
		{"the build's name and instance ID", "i-build-" + id, true},
		{"a line of the host key cloud-init deleted at the build's boot", preKey, false},
	}
	needles := make([]string, len(words))
	for i, w := range words {
		needles[i] = w.word
	}
	found := scanFile(t, raw, needles)
	t.Logf("scanned %s in %s", raw, since(start))
	var where *diskIndex
	for _, w := range words {
		n := len(found[w.word])
		t.Logf("scan: %-40s %d", w.name, n)
		if n == 0 {
			continue
		}
		if where == nil {
			where = newDiskIndex(t, raw)
		}
		outside := 0
		for _, p := range where.places(found[w.word]) {
			t.Logf("    %s", p.String())
			if !w.inJournal || p.owner != "8" {
				outside += p.matches
			}
		}
		if outside > 0 {
			t.Errorf("%s: %d occurrence(s) in the image's blocks, want 0", w.name, outside)
		}
	}

	// What the build machine's own shutdown writes: no saved random seed (under
	// QEMU, unlike in a container, systemd-random-seed.service saves one at
	// shutdown), no DHCP lease, no journal, and the login user's sudo grant,
	// which the builder's shutdown_command needed, gone at that shutdown.
	if where == nil {
		where = newDiskIndex(t, raw)
	}
	for _, path := range []string{"/var/lib/systemd/random-seed", "/etc/sudoers.d/90-cloud-init-users"} {
		out := where.debugfs("stat " + path)
		t.Logf("in the image: %s: %s", path, lastLine(out))
		if !strings.Contains(out, "File not found") {
			t.Errorf("%s is in the image after the build's shutdown:\n%s", path, out)
		}
	}
	for _, dir := range []string{"/var/lib/dhcp", "/var/log/journal"} {
		// ls -p: /INODE/MODE/UID/GID/NAME/SIZE/ per entry.
		var names []string
		for _, l := range strings.Split(where.debugfs("ls -p "+dir), "\n") {
			if f := strings.Split(l, "/"); len(f) >= 7 && f[0] == "" && f[5] != "." && f[5] != ".." {
				names = append(names, f[5])
			}
		}
		t.Logf("in the image: %s holds %v", dir, names)
		if len(names) > 0 {
			t.Errorf("%s is not empty after the build's shutdown: %v", dir, names)
		}
	}
	t.Logf("total: %s (accelerator %s)", since(total), accel)
}

// lastLine is the last line debugfs printed.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func since(t time.Time) string { return time.Since(t).Round(100 * time.Millisecond).String() }

// tail returns the last n lines of a file, for a failure message.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// killQemuUsing kills every QEMU whose command line names a path below dir:
// what a failed or timed-out build may leave running.
func killQemuUsing(t *testing.T, dir string) {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil || !bytes.Contains(b, []byte("qemu-system")) || !bytes.Contains(b, []byte(dir+"/")) {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		t.Logf("killing QEMU %d, left running", pid)
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// scanFile returns, for each word, the byte offsets where it occurs in the
// file's data regions (SEEK_DATA/SEEK_HOLE): ScanDisk's reading, for any
// file and several words at once.
func scanFile(t *testing.T, path string, words []string) map[string][]int64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const seekData, seekHole = 3, 4
	longest := 0
	for _, w := range words {
		longest = max(longest, len(w))
	}
	found := map[string][]int64{}
	buf := make([]byte, 4<<20)
	for off := int64(0); ; {
		start, err := f.Seek(off, seekData)
		if err != nil {
			break // ENXIO: no data after off
		}
		end, err := f.Seek(start, seekHole)
		if err != nil {
			t.Fatal(err)
		}
		// Chunks overlap by longest-1 bytes; a match that starts in the
		// overlap is counted in the next chunk.
		for pos := start; pos < end; {
			n, err := f.ReadAt(buf[:min(int64(len(buf)), end-pos)], pos)
			if err != nil && err != io.EOF {
				t.Fatal(err)
			}
			last := pos+int64(n) >= end
			limit := n
			if !last {
				limit = n - (longest - 1)
			}
			for _, w := range words {
				for i := 0; ; {
					j := bytes.Index(buf[i:n], []byte(w))
					if j < 0 || i+j >= limit {
						break
					}
					found[w] = append(found[w], pos+int64(i+j))
					i += j + 1
				}
			}
			if last {
				break
			}
			pos += int64(limit)
		}
		off = end
	}
	return found
}

// diskIndex names the file (or free block) behind a byte offset of a raw
// disk with one ext4 partition, with debugfs on a read-only loop device.
type diskIndex struct {
	t         *testing.T
	raw, dev  string
	partStart int64
	blockSize int64
}

func newDiskIndex(t *testing.T, raw string) *diskIndex {
	t.Helper()
	f, err := os.Open(raw)
	if err != nil {
		t.Fatal(err)
	}
	mbr := make([]byte, 512)
	_, err = f.ReadAt(mbr, 0)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	d := &diskIndex{t: t, raw: raw, partStart: int64(binary.LittleEndian.Uint32(mbr[454:458])) * 512}
	d.dev = strings.TrimSpace(run(t, "losetup", "-r", "-f", "--show", "-o", strconv.FormatInt(d.partStart, 10), raw))
	t.Cleanup(func() { _ = exec.Command("losetup", "-d", d.dev).Run() })
	if m := regexp.MustCompile(`Block size:\s+(\d+)`).FindStringSubmatch(d.debugfs("stats")); m != nil {
		d.blockSize, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if d.blockSize == 0 {
		t.Fatalf("debugfs stats on %s gave no block size", d.dev)
	}
	return d
}

// text returns the raw disk around off: up to 40 bytes before it and 60
// from it, each side cut at a line end or NUL, other bytes below space shown
// as '.'. What comes before a match tells whose data it was.
func (d *diskIndex) text(off int64) string {
	f, err := os.Open(d.raw)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	from := max(off-40, 0)
	b := make([]byte, off-from+60)
	n, _ := f.ReadAt(b, from)
	b = b[:n]
	split := min(int(off-from), len(b))
	before, after := b[:split], b[split:]
	if i := bytes.LastIndexAny(before, "\n\x00"); i >= 0 {
		before = before[i+1:]
	}
	if i := bytes.IndexAny(after, "\n\x00"); i >= 0 {
		after = after[:i]
	}
	return string(bytes.Map(func(r rune) rune {
		if r < ' ' {
			return '.'
		}
		return r
	}, append(append([]byte{}, before...), after...)))
}

// debugfs runs requests, read-only, and returns what it printed.
func (d *diskIndex) debugfs(requests ...string) string {
	cmd := exec.Command("debugfs", "-f", "-", d.dev)
	cmd.Stdin = strings.NewReader(strings.Join(requests, "\n") + "\n")
	b, _ := cmd.CombinedOutput()
	return string(b)
}

// place is a block of the file system that holds matches.
type place struct {
	block   int64
	matches int
	owner   string // inode number, or "" for no file
	path    string // the owner's path, if it has one
	inUse   bool   // the block bitmap says in use
	sample  string // the text at the block's first match
}

func (p place) String() string {
	var where string
	switch {
	case p.block < 0:
		where = "before the partition (partition table, boot loader)"
	case p.owner == "8":
		where = "inode <8>, ext4's journal"
	case p.owner != "":
		where = fmt.Sprintf("inode <%s> %s", p.owner, p.path)
	case p.inUse:
		where = "no file's data: file system metadata (an inode table, a bitmap, a group descriptor)"
	default:
		where = "a free block (data of a deleted or truncated file)"
	}
	return fmt.Sprintf("block %d: %d match(es) in %s: %q", p.block, p.matches, where, p.sample)
}

// places: the blocks holding the offsets, with their owners.
func (d *diskIndex) places(offsets []int64) []place {
	count := map[int64]int{}
	sample := map[int64]string{}
	var blocks []int64
	for _, off := range offsets {
		b := int64(-1)
		if off >= d.partStart {
			b = (off - d.partStart) / d.blockSize
		}
		if count[b] == 0 {
			blocks = append(blocks, b)
			sample[b] = d.text(off)
		}
		count[b]++
	}
	sort.Slice(blocks, func(i, j int) bool { return blocks[i] < blocks[j] })
	var requests []string
	for _, b := range blocks {
		if b >= 0 {
			requests = append(requests, fmt.Sprintf("icheck %d", b), fmt.Sprintf("testb %d", b))
		}
	}
	owner := map[int64]string{}
	inUse := map[int64]bool{}
	icheck := regexp.MustCompile(`(?m)^(\d+)\s+(\d+)\s*$`)
	testb := regexp.MustCompile(`Block (\d+) marked in use`)
	out := d.debugfs(requests...)
	for _, m := range icheck.FindAllStringSubmatch(out, -1) {
		b, _ := strconv.ParseInt(m[1], 10, 64)
		owner[b] = m[2]
	}
	for _, m := range testb.FindAllStringSubmatch(out, -1) {
		b, _ := strconv.ParseInt(m[1], 10, 64)
		inUse[b] = true
	}
	paths := map[string]string{}
	var ncheck []string
	for _, o := range owner {
		if _, seen := paths[o]; !seen && o != "8" {
			paths[o] = "(no path)"
			ncheck = append(ncheck, "ncheck "+o)
		}
	}
	if len(ncheck) > 0 {
		for _, m := range regexp.MustCompile(`(?m)^(\d+)\t(.+)$`).FindAllStringSubmatch(d.debugfs(ncheck...), -1) {
			paths[m[1]] = m[2]
		}
	}
	res := make([]place, 0, len(blocks))
	for _, b := range blocks {
		res = append(res, place{block: b, matches: count[b], owner: owner[b], path: paths[owner[b]], inUse: inUse[b], sample: sample[b]})
	}
	return res
}
