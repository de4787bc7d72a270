package acceptance

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// fakeEC2Variables declares the variables of the settings TestAuditExample
// adds to the example's source to point it at the fake EC2.
//
//go:embed testdata/fixtures/audit-example-fake-ec2.pkr.hcl
var fakeEC2Variables string

// TestAuditExample runs example/audit/audit.pkr.hcl as written, with the real
// amazon-chroot builder of packer-plugin-amazon, against a fake EC2: the
// builder's own steps make a volume from the AMI's snapshot, attach it, run
// the example's pre_mount_commands on its device, mount it with the
// example's mount_options and chroot_mounts, run ami-harden in audit mode
// through Packer's chroot communicator, unmount, snapshot and register. The
// fake (below) answers the EC2 and instance metadata calls; an EBS volume is
// a file copied from the snapshot's file, attached as loop devices (the disk,
// and its partition 1 at 1 MiB) behind the device path the builder asked
// for. The template gets only what points it at the fake: the EC2 endpoint,
// the device path and a mount path below the test's directory.
//
// The AMI is a partitioned disk made from a rig target. The checks:
//   - an audit that passes registers one AMI whose snapshot is byte for byte
//     the audited AMI's (sha256 of the whole disk), and the volume was not
//     changed either;
//   - an audit with findings fails the build, registers nothing, and leaves
//     the volume byte for byte as it was;
//   - the example as it was before (amazon-chroot's defaults: copy_files,
//     a writable mount, no tmpfs on /run, the upload in /tmp) changes the
//     volume, and the files that differ are named: the check bites.
func TestAuditExample(t *testing.T) {
	// With cloud-init, as a real AMI has: the audit finds the launch key
	// installer (user-keys) and nothing else.
	tg := newTargetOf(t, bookwormCloudInit) // checks, skips without PACKER_ACC, needs root
	repo := filepath.Join(rig, "..", "..")
	example, err := os.ReadFile(filepath.Join(repo, "example", "audit", "audit.pkr.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	pluginPath := os.Getenv("PACKER_PLUGIN_PATH")
	if pluginPath == "" {
		pluginPath = filepath.Join(repo, "bin", "plugins")
	}
	for plugin, how := range map[string]string{"hashicorp/amazon/packer-plugin-amazon_*": "make amazon-plugin", "ami-harden/ami-harden/packer-plugin-ami-harden_*": "make dev"} {
		if m, _ := filepath.Glob(filepath.Join(pluginPath, "github.com", plugin)); len(m) == 0 {
			t.Fatalf("no %s in PACKER_PLUGIN_PATH=%s: run %s", plugin, pluginPath, how)
		}
	}
	for _, c := range []string{"packer", "losetup", "blockdev", "sfdisk", "mkfs.ext4", "mount", "umount", "chroot"} {
		if _, err := exec.LookPath(c); err != nil {
			t.Fatalf("%s is not on PATH", c)
		}
	}

	// The AMIs: a rig target hardened by ami-harden (an audit finds nothing),
	// and one with the seeded dirt (an audit finds plenty).
	tg.rig("seed", tg.Dir)
	dirtyTarget := newTarget(t)
	dirtyTarget.rig("seed", dirtyTarget.Dir)
	tg.SSH("sudo -n true")
	// remove_users: the rig's login user and its sudo grant go too, as the
	// build's own login user would on a real image.
	buildLog, err := packerBuild(t, tg.tmpDir, linuxTemplate(`    remove_users = ["builder"]`), tg.vars())
	if err != nil {
		t.Fatalf("hardening the clean AMI's target: %v\n%s", err, buildLog)
	}
	work := filepath.Join(tg.tmpDir, "ec2")
	if err := os.MkdirAll(filepath.Join(work, "dev"), 0o755); err != nil {
		t.Fatal(err)
	}
	clean := amiDisk(t, tg, filepath.Join(work, "clean.raw"))
	dirty := amiDisk(t, dirtyTarget, filepath.Join(work, "dirty.raw"))

	ec2 := newFakeEC2(t, work)
	ec2.addImage("ami-0c1ea40000000000a", "snap-0c1ea40000000000a", clean)
	ec2.addImage("ami-0d1e740000000000b", "snap-0d1e740000000000b", dirty)
	cleanSum, dirtySum := fileSum(t, clean), fileSum(t, dirty)

	// The example, pointed at the fake and nothing else changed.
	const open = `source "amazon-chroot" "audit" {` + "\n"
	if !strings.Contains(string(example), open) {
		t.Fatalf("example/audit/audit.pkr.hcl has no line %q", strings.TrimSpace(open))
	}
	aimed := func(tmpl string) string {
		return strings.Replace(tmpl, open, open+`  # The test's fake EC2 (audit_example_test.go):
  custom_endpoint_ec2 = var.fake_ec2_endpoint
  device_path         = var.fake_device_path
  mount_path          = var.fake_mount_path
`, 1) + fakeEC2Variables
	}
	env := []string{
		"AWS_ACCESS_KEY_ID=AKIDFAKEFORTHETEST00", "AWS_SECRET_ACCESS_KEY=fake", "AWS_REGION=eu-west-1",
		"AWS_EC2_METADATA_SERVICE_ENDPOINT=" + ec2.URL() + "/", "AWS_POLL_DELAY_SECONDS=1",
		"-var", "fake_ec2_endpoint=" + ec2.URL(), "-var", "fake_device_path=" + filepath.Join(work, "dev", "sdf"),
		"-var", "fake_mount_path=" + filepath.Join(work, "mnt", "{{.Device}}"),
	}

	t.Run("passing audit registers an identical copy", func(t *testing.T) {
		ec2.reset()
		out, err := packerBuild(t, filepath.Join(work, "pass"), aimed(string(example)), append(env, "-var", "ami_id=ami-0c1ea40000000000a"))
		t.Logf("fake EC2 calls: %s", ec2.takeCalls())
		if err != nil {
			t.Fatalf("packer build: %v\n%s", err, out)
		}
		t.Logf("packer build:\n%s", out)
		for _, want := range []string{"Auditing (changing nothing) the image", "blockdev --setro", "Mounting: /run"} {
			if !strings.Contains(out, want) {
				t.Errorf("packer output lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, " finding ") {
			t.Errorf("the audit of a hardened image has findings:\n%s", out)
		}
		vols := ec2.volumeSums()
		if len(vols) != 1 || vols[0] != cleanSum {
			t.Errorf("volume sha256 at detach %v, the AMI's snapshot %s", vols, cleanSum)
		}
		images := ec2.registered()
		if len(images) != 1 {
			t.Fatalf("registered %d AMIs, want 1", len(images))
		}
		got := fileSum(t, images[0].file)
		t.Logf("AMI ami-0c1ea40000000000a: snapshot sha256 %s; registered %s %q: snapshot sha256 %s", cleanSum, images[0].id, images[0].name, got)
		if got != cleanSum {
			t.Errorf("the registered copy differs from the audited AMI:\n%s", treeDiff(t, clean, images[0].file))
		}
	})

	t.Run("failing audit registers nothing", func(t *testing.T) {
		ec2.reset()
		out, err := packerBuild(t, filepath.Join(work, "fail"), aimed(string(example)), append(env, "-var", "ami_id=ami-0d1e740000000000b"))
		t.Logf("fake EC2 calls: %s", ec2.takeCalls())
		if err == nil {
			t.Fatalf("packer build of a dirty AMI's audit succeeded:\n%s", out)
		}
		if !strings.Contains(out, " finding ") {
			t.Errorf("the audit of a dirty image found nothing:\n%s", out)
		}
		if n := len(ec2.registered()); n != 0 {
			t.Errorf("registered %d AMIs after a failed audit", n)
		}
		vols := ec2.volumeSums()
		t.Logf("AMI ami-0d1e740000000000b: snapshot sha256 %s; volume at detach %v", dirtySum, vols)
		if len(vols) != 1 || vols[0] != dirtySum {
			t.Errorf("the audited volume changed: %v, want %s:\n%s", vols, dirtySum, treeDiff(t, dirty, ec2.lastVolume()))
		}
	})

	t.Run("the old example changes the image", func(t *testing.T) {
		ec2.reset()
		out, err := packerBuild(t, filepath.Join(work, "old"), aimed(oldAuditExample), append(env, "-var", "ami_id=ami-0c1ea40000000000a"))
		t.Logf("fake EC2 calls: %s", ec2.takeCalls())
		t.Logf("packer build: %v", err)
		vols := ec2.volumeSums()
		if len(vols) != 1 {
			t.Fatalf("volumes %v:\n%s", vols, out)
		}
		if vols[0] == cleanSum {
			t.Fatalf("amazon-chroot's defaults left the volume as it was: this test cannot tell a change\n%s", out)
		}
		diff := treeDiff(t, clean, ec2.lastVolume())
		t.Logf("volume sha256 %s, the AMI's %s; what changed:\n%s", vols[0], cleanSum, diff)
		if !strings.Contains(diff, "/etc/resolv.conf") {
			t.Errorf("the default copy_files did not change /etc/resolv.conf")
		}
	})
}

// oldAuditExample is example/audit.pkr.hcl as it was before it set anything
// on the builder: amazon-chroot's defaults.
const oldAuditExample = `
variable "ami_id" {
  type    = string
  default = "ami-0123456789abcdef0"
}

source "amazon-chroot" "audit" {
  source_ami = var.ami_id
  ami_name   = "audited-${var.ami_id}-{{timestamp}}"
}

build {
  sources = ["source.amazon-chroot.audit"]

  provisioner "ami-harden" {
    mode = "audit"
    execute_command = "/bin/sh '{{.Path}}'"
    report_file     = "reports/audit.json"
    junit_file      = "reports/audit.xml"
  }
}
`

// packerBuild writes tmpl to dir/build.pkr.hcl and runs packer build there;
// extra holds environment variables, then "-var", "k=v" pairs. It returns
// packer's output.
func packerBuild(t *testing.T, dir, tmpl string, extra []string) (string, error) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "build.pkr.hcl"), []byte(tmpl), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"build", "-color=false", "-timestamp-ui"}
	env := append(os.Environ(), "CHECKPOINT_DISABLE=1")
	for i := 0; i < len(extra); i++ {
		if extra[i] == "-var" {
			args = append(args, "-var", extra[i+1])
			i++
			continue
		}
		env = append(env, extra[i])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "packer", append(args, ".")...)
	cmd.Dir = dir
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// amiDisk makes an AMI's root disk from a target, as EC2 images are laid
// out: an MBR with one partition at 1 MiB, ext4 in it, the target's files.
func amiDisk(t *testing.T, tg *target, disk string) string {
	t.Helper()
	tg.rig("down", tg.Dir)
	run(t, "truncate", "-s", "1537M", disk)
	sfdisk := exec.Command("sfdisk", "-q", disk)
	sfdisk.Stdin = strings.NewReader("label: dos\nstart=2048, type=83\n")
	if out, err := sfdisk.CombinedOutput(); err != nil {
		t.Fatalf("sfdisk: %v\n%s", err, out)
	}
	run(t, "mkfs.ext4", "-q", "-F", "-d", tg.Dir, "-E", "offset=1048576", disk, "1536M")
	return disk
}

func fileSum(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// treeDiff mounts both disks' partition 1 read-only and names every path
// whose type, mode, owner, size, modification time, link or content differs.
func treeDiff(t *testing.T, a, b string) string {
	t.Helper()
	listA, listB := treeOf(t, a), treeOf(t, b)
	var out []string
	for p, x := range listA {
		if y, ok := listB[p]; !ok {
			out = append(out, "removed  "+p+"  "+x)
		} else if x != y {
			out = append(out, "changed  "+p+"  "+x+"  ->  "+y)
		}
	}
	for p, y := range listB {
		if _, ok := listA[p]; !ok {
			out = append(out, "added    "+p+"  "+y)
		}
	}
	sort.Strings(out)
	if len(out) == 0 {
		return "(no file differs: the change is in file system metadata only)"
	}
	return strings.Join(out, "\n")
}

func treeOf(t *testing.T, disk string) map[string]string {
	t.Helper()
	dir, err := os.MkdirTemp(filepath.Dir(disk), "tree-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(dir)
	// noload: this copy's journal is not replayed (nothing is written).
	run(t, "mount", "-o", "ro,noload,offset=1048576", disk, dir)
	defer run(t, "umount", dir)
	list := map[string]string{}
	err = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(path)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		entry := fmt.Sprintf("%s %d:%d mtime %s", fi.Mode(), st.Uid, st.Gid, fi.ModTime().UTC().Format(time.RFC3339Nano))
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			l, _ := os.Readlink(path)
			entry += " -> " + l
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			entry += fmt.Sprintf(" %d bytes sha256 %x", len(b), sha256.Sum256(b))
		}
		list["/"+strings.TrimPrefix(strings.TrimPrefix(path, dir), "/")] = entry
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// fakeEC2 answers the EC2 Query API calls and the instance metadata that
// amazon-chroot makes. Snapshots and volumes are files in dir; an attached
// volume is two loop devices (the disk, and partition 1 at 1 MiB) behind
// symbolic links at the device path the builder chose and that path + "1".
type fakeEC2 struct {
	t   *testing.T
	dir string
	srv *httptest.Server

	mu        sync.Mutex
	n         int
	calls     []string
	images    map[string]*fakeImage
	snapshots map[string]string // id: file
	volumes   map[string]*fakeVolume
	sums      []string // sha256 of each volume at its detach, since takeCalls
	last      string   // the file of the last volume detached
}

type fakeImage struct {
	id, name, snapshot, file string
	registered               bool
}

type fakeVolume struct {
	id, file, device string
	loops            []string
}

func newFakeEC2(t *testing.T, dir string) *fakeEC2 {
	f := &fakeEC2{t: t, dir: dir, images: map[string]*fakeImage{}, snapshots: map[string]string{}, volumes: map[string]*fakeVolume{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() {
		f.srv.Close()
		f.mu.Lock()
		defer f.mu.Unlock()
		// What a failed build left: mounts below dir, then loop devices.
		for _, m := range mountsUnder(dir) {
			_ = exec.Command("umount", "-l", m).Run()
		}
		for _, v := range f.volumes {
			f.detach(v)
		}
	})
	return f
}

func (f *fakeEC2) URL() string { return f.srv.URL }

func (f *fakeEC2) addImage(id, snapshot, file string) {
	f.images[id] = &fakeImage{id: id, name: "source " + id, snapshot: snapshot, file: file}
	f.snapshots[snapshot] = file
}

// reset forgets the calls, volume sums and registered AMIs of an earlier
// build.
func (f *fakeEC2) reset() {
	f.takeCalls()
	f.volumeSums()
	f.registered()
}

// takeCalls returns the calls since the last time, and starts a new list
// (volume sums included).
func (f *fakeEC2) takeCalls() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := strings.Join(f.calls, " ")
	f.calls = nil
	return s
}

// volumeSums returns the sha256 of each volume detached since the last call.
func (f *fakeEC2) volumeSums() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.sums
	f.sums = nil
	return s
}

func (f *fakeEC2) lastVolume() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

// registered returns the AMIs registered since the last call.
func (f *fakeEC2) registered() []*fakeImage {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*fakeImage
	for id, im := range f.images {
		if im.registered {
			out = append(out, im)
			delete(f.images, id)
		}
	}
	return out
}

func (f *fakeEC2) serve(w http.ResponseWriter, r *http.Request) {
	// Instance metadata (IMDSv2 token, then the identity document).
	if strings.HasPrefix(r.URL.Path, "/latest/") {
		switch r.URL.Path {
		case "/latest/api/token":
			// Without its TTL the SDK retries, with the builder's back-off.
			w.Header().Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", "21600")
			fmt.Fprint(w, "fake-token")
		case "/latest/dynamic/instance-identity/document":
			fmt.Fprint(w, `{"instanceId":"i-0fa4e00000000000c","region":"eu-west-1","availabilityZone":"eu-west-1a","accountId":"123456789012","architecture":"x86_64"}`)
		case "/latest/meta-data/placement/availability-zone":
			fmt.Fprint(w, "eu-west-1a")
		default:
			http.NotFound(w, r)
		}
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	action := r.Form.Get("Action")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, action)
	body, err := f.act(action, r.Form.Get)
	if err != nil {
		f.t.Errorf("fake EC2: %s: %v", action, err)
		w.WriteHeader(400)
		fmt.Fprintf(w, `<Response><Errors><Error><Code>FakeError</Code><Message>%s</Message></Error></Errors><RequestID>r</RequestID></Response>`, xmlText(err.Error()))
		return
	}
	fmt.Fprintf(w, `<%sResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId>%s</%sResponse>`, action, body, action)
}

func (f *fakeEC2) act(action string, get func(string) string) (string, error) {
	switch action {
	case "DescribeRegions":
		return `<regionInfo><item><regionName>eu-west-1</regionName><regionEndpoint>ec2.eu-west-1.fake</regionEndpoint></item></regionInfo>`, nil
	case "DescribeInstances":
		return fmt.Sprintf(`<reservationSet><item><reservationId>r-1</reservationId><instancesSet><item><instanceId>%s</instanceId><placement><availabilityZone>eu-west-1a</availabilityZone></placement></item></instancesSet></item></reservationSet>`, xmlText(get("InstanceId.1"))), nil
	case "DescribeImages":
		var items []string
		for _, im := range f.images {
			if id := get("ImageId.1"); id != "" && id != im.id {
				continue
			}
			if get("Filter.1.Name") == "name" && get("Filter.1.Value.1") != im.name {
				continue
			}
			items = append(items, fmt.Sprintf(`<item><imageId>%s</imageId><name>%s</name><imageState>available</imageState><architecture>x86_64</architecture>`+
				`<rootDeviceType>ebs</rootDeviceType><rootDeviceName>/dev/xvda</rootDeviceName><virtualizationType>hvm</virtualizationType><enaSupport>true</enaSupport>`+
				`<blockDeviceMapping><item><deviceName>/dev/xvda</deviceName><ebs><snapshotId>%s</snapshotId><volumeSize>2</volumeSize><volumeType>gp3</volumeType><deleteOnTermination>true</deleteOnTermination></ebs></item></blockDeviceMapping></item>`,
				im.id, xmlText(im.name), im.snapshot))
		}
		return "<imagesSet>" + strings.Join(items, "") + "</imagesSet>", nil
	case "CreateVolume":
		src, ok := f.snapshots[get("SnapshotId")]
		if !ok {
			return "", fmt.Errorf("no snapshot %q", get("SnapshotId"))
		}
		f.n++
		v := &fakeVolume{id: fmt.Sprintf("vol-%017d", f.n), file: filepath.Join(f.dir, fmt.Sprintf("vol-%d.raw", f.n))}
		if out, err := exec.Command("cp", "--sparse=always", src, v.file).CombinedOutput(); err != nil {
			return "", fmt.Errorf("cp: %v: %s", err, out)
		}
		f.volumes[v.id] = v
		return fmt.Sprintf(`<volumeId>%s</volumeId><size>2</size><snapshotId>%s</snapshotId><availabilityZone>eu-west-1a</availabilityZone><status>creating</status><volumeType>gp3</volumeType>`, v.id, get("SnapshotId")), nil
	case "DescribeVolumes":
		v, ok := f.volumes[get("VolumeId.1")]
		if !ok {
			return "", fmt.Errorf("no volume %q", get("VolumeId.1"))
		}
		status, att := "available", ""
		if v.device != "" {
			status = "in-use"
			att = fmt.Sprintf(`<item><volumeId>%s</volumeId><instanceId>i-0fa4e00000000000c</instanceId><device>%s</device><status>attached</status></item>`, v.id, xmlText(v.device))
		}
		return fmt.Sprintf(`<volumeSet><item><volumeId>%s</volumeId><status>%s</status><attachmentSet>%s</attachmentSet></item></volumeSet>`, v.id, status, att), nil
	case "AttachVolume":
		v, ok := f.volumes[get("VolumeId")]
		if !ok {
			return "", fmt.Errorf("no volume %q", get("VolumeId"))
		}
		device := get("Device")
		if !strings.HasPrefix(device, f.dir+"/") {
			return "", fmt.Errorf("device %q is not below %s", device, f.dir)
		}
		for _, args := range [][]string{{"-f", "--show", v.file}, {"-f", "--show", "-o", "1048576", v.file}} {
			out, err := exec.Command("losetup", args...).CombinedOutput()
			if err != nil {
				f.detach(v)
				return "", fmt.Errorf("losetup: %v: %s", err, out)
			}
			v.loops = append(v.loops, strings.TrimSpace(string(out)))
		}
		if err := os.Symlink(v.loops[0], device); err != nil {
			return "", err
		}
		if err := os.Symlink(v.loops[1], device+"1"); err != nil {
			return "", err
		}
		v.device = device
		return fmt.Sprintf(`<volumeId>%s</volumeId><instanceId>%s</instanceId><device>%s</device><status>attaching</status>`, v.id, xmlText(get("InstanceId")), xmlText(device)), nil
	case "DetachVolume":
		v, ok := f.volumes[get("VolumeId")]
		if !ok {
			return "", fmt.Errorf("no volume %q", get("VolumeId"))
		}
		device := v.device
		f.detach(v)
		return fmt.Sprintf(`<volumeId>%s</volumeId><device>%s</device><status>detaching</status>`, v.id, xmlText(device)), nil
	case "DeleteVolume":
		// The file stays, for the test to read; the volume is gone.
		delete(f.volumes, get("VolumeId"))
		return `<return>true</return>`, nil
	case "CreateSnapshot":
		v, ok := f.volumes[get("VolumeId")]
		if !ok {
			return "", fmt.Errorf("no volume %q", get("VolumeId"))
		}
		f.n++
		id := fmt.Sprintf("snap-%017d", f.n)
		file := filepath.Join(f.dir, id+".raw")
		if out, err := exec.Command("cp", "--sparse=always", v.file, file).CombinedOutput(); err != nil {
			return "", fmt.Errorf("cp: %v: %s", err, out)
		}
		f.snapshots[id] = file
		return fmt.Sprintf(`<snapshotId>%s</snapshotId><volumeId>%s</volumeId><status>pending</status>`, id, v.id), nil
	case "DescribeSnapshots":
		id := get("SnapshotId.1")
		if _, ok := f.snapshots[id]; !ok {
			return "", fmt.Errorf("no snapshot %q", id)
		}
		return fmt.Sprintf(`<snapshotSet><item><snapshotId>%s</snapshotId><status>completed</status><progress>100%%</progress></item></snapshotSet>`, id), nil
	case "RegisterImage":
		var snap string
		for i := 1; i < 10; i++ {
			if get(fmt.Sprintf("BlockDeviceMapping.%d.DeviceName", i)) == get("RootDeviceName") {
				snap = get(fmt.Sprintf("BlockDeviceMapping.%d.Ebs.SnapshotId", i))
			}
		}
		file, ok := f.snapshots[snap]
		if !ok {
			return "", fmt.Errorf("root device %q: no snapshot %q", get("RootDeviceName"), snap)
		}
		f.n++
		im := &fakeImage{id: fmt.Sprintf("ami-%017d", f.n), name: get("Name"), snapshot: snap, file: file, registered: true}
		f.images[im.id] = im
		return fmt.Sprintf(`<imageId>%s</imageId>`, im.id), nil
	case "CreateTags", "ModifyImageAttribute", "ModifySnapshotAttribute":
		return `<return>true</return>`, nil
	}
	return "", fmt.Errorf("the fake does not know this call")
}

// detach removes the device links and loop devices of v, and records the
// sha256 of its file.
func (f *fakeEC2) detach(v *fakeVolume) {
	if v.device != "" {
		os.Remove(v.device)
		os.Remove(v.device + "1")
	}
	for _, l := range v.loops {
		// The example's blockdev --setro outlives the loop device's use: a
		// later losetup of the same device would be read-only. (An EBS
		// device goes away at its detach.)
		if out, err := exec.Command("blockdev", "--setrw", l).CombinedOutput(); err != nil {
			f.t.Errorf("blockdev --setrw %s: %v: %s", l, err, out)
		}
		if out, err := exec.Command("losetup", "-d", l).CombinedOutput(); err != nil {
			f.t.Errorf("losetup -d %s: %v: %s", l, err, out)
		}
	}
	if v.device != "" {
		f.sums = append(f.sums, fileSum(f.t, v.file))
		f.last = v.file
	}
	v.device, v.loops = "", nil
}

func mountsUnder(dir string) []string {
	b, _ := os.ReadFile("/proc/self/mounts")
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if fs := strings.Fields(l); len(fs) > 1 && strings.HasPrefix(fs[1], dir+"/") {
			out = append(out, fs[1])
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(out)))
	return out
}

func xmlText(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")
	return r.Replace(s)
}
