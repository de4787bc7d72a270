package acceptance

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/acctest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The hostile layout: a user of the image can lay traps for a cleanup
// that runs as root. One target seeded by seed.sh and
// test/rig/hostile.sh with every trick (newline names, links at every depth,
// hard links, mounts inside a home and below /tmp and /var/log, a symlinked
// home, odd wipe_paths) and real secrets inside and outside the places the
// steps clean. Run it with
//
//	PACKER_ACC=1 go test -tags hostile -run TestHostileLayout -count=1 -v ./test/acceptance/

// hostileWipePaths are the build's wipe_paths: odd spellings of two plain
// paths, and a file reached through the symbolic link /srv/linked.
var hostileWipePaths = []string{"/srv/extra/./secret-dir/", "/srv/extra/../extra/file.txt", "/srv/linked/secret.txt"}

// hostileReports: what packer's output must say about what the steps refuse
// and leave behind. Each path must appear on an output line that also holds
// the words. THE NEW SCRIPT'S WORDING IS NOT FINAL: adjust this table, and
// only this table, when it is.
var hostileReports = []struct{ path, words string }{
	{"/home/alice/.kube", "symbolic link"},    // .kube/config is behind a link to /etc/selinux
	{"/home/alice/.aws", "symbolic link"},     // .aws/credentials is behind a link to /srv/awsdata
	{"/home/carol/.aws/sso", "symbolic link"}, // .aws/sso/cache is behind a link to /etc
	{"/home/mallory", "symbolic link"},        // a home that is a link to /etc, not mallory's
	{"/srv/linked", "symbolic link"},          // wipe_paths: /srv/linked/secret.txt
	{"/home/dave/.aws/sso/cache/mnt", "mount point"},
	{"/tmp/mounted", "mount point"},
	{"/var/log/mounted", "mount point"},
	{"/home/dave/.bash_history", "hard link"}, // the same file as /srv/hl-victim
	{"/var/log/hl.log", "hard link"},          // the same file as /srv/hl-log-victim
}

// hostileGone: owned things the steps can clean, so they must be gone.
var hostileGone = []string{
	"/srv/bobhome/.ssh/authorized_keys", // bob's home is /home/bob -> /srv/bobhome, his own
	"/srv/bobhome/.bash_history",
	"/home/dave/.aws/sso/cache/0123abcd.json", // beside a mount point
	"/home/dave/.ssh/authorized_keys",
	"/home/alice/.ssh/id_rsa",
	"/home/alice/.ssh/id_x\n",   // a directory named id_x<newline>, holding etc/victim3
	"/home/alice/.bash_history", // a link to /etc/passwd: the link goes, not passwd
	"/home/carol/.aws/credentials",
	"/srv/extra/secret-dir",
	"/srv/extra/file.txt",
	"/tmp/x\n", "/var/tmp/x\n", "/tmp/lnk", "/var/tmp/d", // below /tmp and /var/tmp: all but the mount point
}

// hostileMounts are the mount points hostile.sh makes, below the target's root.
var hostileMounts = []string{"home/dave/.aws/sso/cache/mnt", "tmp/mounted", "var/log/mounted"}

// outsideKey prefixes the fingerprint keys of the OUTSIDE tree.
const outsideKey = "OUTSIDE:"

// homeFilePatterns are the names in a home that the home steps clean, read
// from the script itself (home_files_STEP in the step files of
// provisioner/script/linux/steps): one list, so the owned set cannot drift
// from what the steps do. A * only in the last part.
var homeFilePatterns = func() []string {
	files, err := filepath.Glob(filepath.Join(rig, "..", "..", "provisioner", "script", "linux", "steps", "*.sh"))
	if err != nil {
		panic(err)
	}
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			panic(err)
		}
		for _, m := range regexp.MustCompile(`(?s)\nhome_files_[a-z_]+='([^']*)'`).FindAllStringSubmatch(string(b), -1) {
			out = append(out, strings.Fields(m[1])...)
		}
	}
	if len(out) < 20 {
		panic("the home_files_* lists were not found in the step files")
	}
	return out
}()

// hostileKeyFiles are the files in a real home's .ssh that hold a private
// key (user-keys takes those whatever their names), found before the build.
var hostileKeyFiles = map[string]bool{}

// ownedByTheSteps reports whether the steps may change or delete the entry
// at p, an absolute path inside the target as the fingerprint walk finds it.
// homes are the real home directories (realHomes).
//
// The walk never follows a symbolic link, so p never goes through one: a
// file reached only through a link (/srv/awsdata/credentials behind
// ~alice/.aws, /srv/real-linked/secret.txt behind /srv/linked) has its own
// link-free path, which nothing below owns. Nor does the walk cross into
// another mount: the OUTSIDE trees mounted in the target are fingerprinted
// on their own (keys starting with OUTSIDE:) and are never owned; the mount
// point entry itself is owned where its path is.
//
// Owned are:
//   - sshd: /etc/ssh/sshd_config;
//   - passwords: /etc/shadow, /etc/gshadow, their backups shadow- and
//     gshadow-, and the lock file /etc/.pwd.lock (chpasswd, passwd -l);
//   - host-keys: /etc/ssh/ssh_host_*, /etc/systemd/system/ami-harden-host-keys.service,
//     and the *.wants directories of /etc/systemd/system with that unit's link in them;
//   - machine-id: /etc/machine-id, /var/lib/dbus/machine-id, /var/lib/systemd/random-seed;
//   - network: /etc/hostname and /etc/hosts (edited in place), udev's
//     70-persistent-net.rules, NetworkManager's profiles and state;
//   - enrolment: the files and trees of its table (docs/steps.md);
//   - free-space: nothing that stays (its filler is removed);
//   - temp and logs: everything below /tmp, /var/tmp and /var/log (not
//     the directories themselves);
//   - cloud-init: /var/lib/cloud with everything below, /etc/sudoers.d/90-cloud-init-users;
//   - user-keys, credentials, history: in every real home, .ssh/authorized_keys,
//     the names of homeFilePatterns (read from the step files) and the files of .ssh
//     holding a private key, a directory among them with everything below;
//   - credentials: the wipe_paths after path.Clean, with everything below.
func ownedByTheSteps(p string, homes ...string) bool {
	switch p {
	case "/etc/ssh/sshd_config",
		"/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-", "/etc/.pwd.lock",
		"/var/backups/shadow.bak", "/var/backups/gshadow.bak", "/var/backups/passwd.bak", "/var/backups/group.bak",
		"/etc/systemd/system/ami-harden-host-keys.service", "/etc/systemd/system/ami-harden-snakeoil.service",
		"/etc/machine-id", "/var/lib/dbus/machine-id", "/var/lib/systemd/random-seed",
		"/etc/ssl/private/ssl-cert-snakeoil.key", "/etc/ssl/certs/ssl-cert-snakeoil.pem",
		"/etc/apt/auth.conf", "/etc/sudoers.d/90-cloud-init-users",
		"/etc/hostname", "/etc/hosts", "/etc/udev/rules.d/70-persistent-net.rules",
		"/etc/krb5.keytab", "/etc/chef/client.pem", "/etc/salt/minion_id", "/etc/ipa/default.conf":
		return true
	}
	if hostileKeyFiles[p] {
		return true
	}
	for _, pattern := range []string{"/etc/ssh/ssh_host_*", "/etc/systemd/system/*.wants",
		"/etc/systemd/system/*.wants/ami-harden-host-keys.service", "/etc/systemd/system/*.wants/ami-harden-snakeoil.service",
		"/etc/apt/auth.conf.d/*", "/var/lib/dhcp/*.lease*", "/var/lib/NetworkManager/*.lease*"} {
		if ok, _ := path.Match(pattern, p); ok {
			return true
		}
	}
	for _, dir := range []string{"/tmp", "/var/tmp", "/var/log", "/var/crash", "/var/lib/systemd/coredump", "/var/mail", "/var/spool/mail"} {
		if strings.HasPrefix(p, dir+"/") {
			return true
		}
	}
	if atOrBelow(p, "/var/lib/cloud") {
		return true
	}
	for _, ep := range hostileWipePaths {
		if atOrBelow(p, path.Clean(ep)) {
			return true
		}
	}
	for _, h := range homes {
		rel, ok := strings.CutPrefix(p, strings.TrimSuffix(h, "/")+"/")
		if !ok {
			continue
		}
		for _, pattern := range homeFilePatterns {
			// The pattern names a file or a directory: the entry itself, or one below it.
			for r := rel; r != "." && r != "/"; r = path.Dir(r) {
				if ok, _ := path.Match(pattern, r); ok {
					return true
				}
			}
		}
	}
	return false
}

// atOrBelow: p is dir or inside it.
func atOrBelow(p, dir string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }

// realHomes are the home directories of the target's accounts that the
// steps clean in: a home with no link on its path, or the resolved
// directory of a home that is (or goes through) a symbolic link, when the
// user owns that directory; on the target's own file system. /home/bob ->
// /srv/bobhome counts, as /srv/bobhome; /home/mallory -> /etc does not.
func realHomes(t *testing.T, tg *target) []string {
	t.Helper()
	var homes []string
	seen := map[string]bool{}
	root, err := os.Lstat(tg.Dir)
	if err != nil {
		t.Fatal(err)
	}
	rootDev := root.Sys().(*syscall.Stat_t).Dev
	for _, line := range strings.Split(readFile(t, tg.Path("etc/passwd")), "\n") {
		f := strings.Split(line, ":")
		if len(f) < 7 || f[5] == "" || path.Clean(f[5]) == "/" {
			continue
		}
		out, err := tg.Chroot("realpath", "-e", "--", f[5])
		if err != nil {
			continue // no such directory
		}
		resolved := strings.TrimSuffix(out, "\n")
		fi, err := os.Lstat(tg.Path(resolved))
		if err != nil || !fi.IsDir() || fi.Sys().(*syscall.Stat_t).Dev != rootDev {
			continue // not a directory of the target's own file system (/dev, say)
		}
		uid, _ := strconv.Atoi(f[2])
		if resolved != path.Clean(f[5]) && int(fi.Sys().(*syscall.Stat_t).Uid) != uid {
			continue // a link to a directory that is not the user's
		}
		if !seen[resolved] {
			seen[resolved] = true
			homes = append(homes, resolved)
		}
	}
	sort.Strings(homes)
	return homes
}

// hostileFingerprint records every entry of the target's file system (not
// /proc, /dev, /sys, /run; no link followed; no other mount entered: a
// mount point is recorded as such) and of the OUTSIDE tree: type, mode,
// owner, size and SHA-256 of the contents (links: their target).
func hostileFingerprint(t *testing.T, tg *target, outside string) map[string]string {
	t.Helper()
	fp := map[string]string{}
	walk := func(root, prefix string, skip map[string]bool) {
		var rootDev uint64
		if fi, err := os.Lstat(root); err == nil {
			rootDev = fi.Sys().(*syscall.Stat_t).Dev
		} else {
			t.Fatal(err)
		}
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel := "/" + strings.TrimPrefix(strings.TrimPrefix(p, root), "/")
			if skip[rel] {
				return filepath.SkipDir
			}
			fi, err := os.Lstat(p)
			if err != nil {
				return err
			}
			st := fi.Sys().(*syscall.Stat_t)
			owner := fmt.Sprintf("%04o %d:%d", st.Mode&0o7777, st.Uid, st.Gid)
			switch {
			case fi.IsDir() && st.Dev != rootDev:
				fp[prefix+rel] = "mount point " + owner
				return filepath.SkipDir
			case fi.IsDir():
				fp[prefix+rel] = "dir " + owner
			case fi.Mode()&fs.ModeSymlink != 0:
				target, err := os.Readlink(p)
				if err != nil {
					return err
				}
				fp[prefix+rel] = "link " + owner + " -> " + target
			case fi.Mode().IsRegular():
				f, err := os.Open(p)
				if err != nil {
					return err
				}
				h := sha256.New()
				_, err = io.Copy(h, f)
				f.Close()
				if err != nil {
					return err
				}
				fp[prefix+rel] = fmt.Sprintf("file %s %d %x", owner, fi.Size(), h.Sum(nil))
			default:
				fp[prefix+rel] = fmt.Sprintf("%s %s", fi.Mode().Type(), owner)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	walk(tg.Dir, "", map[string]bool{"/proc": true, "/dev": true, "/sys": true, "/run": true})
	walk(outside, outsideKey, nil)
	return fp
}

// counts are a fingerprint's entries: all, owned by the steps, the rest.
func counts(fp map[string]string, homes []string) (total, owned, rest int) {
	for p := range fp {
		total++
		if !strings.HasPrefix(p, outsideKey) && ownedByTheSteps(p, homes...) {
			owned++
		} else {
			rest++
		}
	}
	return
}

// mountedAt reports whether something is mounted exactly at p (a host path).
func mountedAt(t *testing.T, p string) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[1] == p {
			return true
		}
	}
	return false
}

// mountsBelow lists what is mounted at or below dir (a host path).
func mountsBelow(t *testing.T, dir string) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 1 && atOrBelow(f[1], dir) {
			out = append(out, f[1])
		}
	}
	return out
}

// ansi matches the colour codes in packer's log.
var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

// namedIn reports whether the output names p, a newline in p shown raw, as
// "\n", "?" or a space.
func namedIn(log, p string) bool {
	for _, nl := range []string{"\n", `\n`, "?", " "} {
		if strings.Contains(log, strings.ReplaceAll(p, "\n", nl)) {
			return true
		}
	}
	return false
}

func TestHostileLayout(t *testing.T) {
	// Registered first, so it runs last: after target.sh destroy and the
	// removal of the target's directory, nothing may stay mounted, and
	// OUTSIDE must be gone.
	var base, outside string
	t.Cleanup(func() {
		if base == "" {
			return
		}
		if m := mountsBelow(t, base); len(m) > 0 {
			t.Errorf("still mounted after the cleanup: %q", m)
		}
		if _, err := os.Lstat(outside); err == nil {
			t.Errorf("OUTSIDE %s is still there after the cleanup", outside)
		}
	})

	tg := newTargetOf(t, bookworm)
	base, outside = tg.tmpDir, filepath.Join(tg.tmpDir, "outside") // a sibling of the rootfs
	tg.rig("seed", tg.Dir)
	run(t, filepath.Join(rig, "hostile.sh"), tg.Dir, outside)
	// The login's own traces (sudo's ~/.sudo_as_admin_successful, its
	// timestamp) are made before the fingerprint: a real build has logged in
	// and used sudo before this provisioner runs.
	tg.SSH("sudo -n true")

	homes := realHomes(t, tg)
	t.Logf("real homes: %q", homes)
	for _, h := range homes {
		keys, _ := filepath.Glob(tg.Path(filepath.Join(h, ".ssh", "*")))
		for _, k := range keys {
			if fi, err := os.Lstat(k); err != nil || !fi.Mode().IsRegular() {
				continue
			}
			if b, err := os.ReadFile(k); err == nil && regexp.MustCompile(`PRIVATE KEY-----|PuTTY-User-Key-File-`).Match(b) {
				hostileKeyFiles[strings.TrimPrefix(k, tg.Dir)] = true
			}
		}
	}
	before := hostileFingerprint(t, tg, outside)

	files, read := reportFiles(t)
	// wipe_paths as a -var value: an HCL list, which JSON's syntax is for
	// these plain paths (no "${").
	wipe, err := json.Marshal(hostileWipePaths)
	require.NoError(t, err)
	var log string
	code := -1
	acctest.TestPlugin(t, &acctest.PluginTestCase{
		Name:           "ami_harden_hostile_layout",
		Type:           "ami-harden",
		Template:       linuxTemplate("    wipe_paths = var.wipe_paths\n" + files.String()),
		BuildExtraArgs: tg.vars(append([]string{"wipe_paths=" + string(wipe)}, files.vars...)...),
		// Everything is asserted below, so that one run shows every failure.
		Check: func(cmd *exec.Cmd, logfile string) error {
			b, err := os.ReadFile(logfile)
			if err != nil {
				return err
			}
			log = string(b)
			if cmd.ProcessState != nil {
				code = cmd.ProcessState.ExitCode()
			}
			return nil
		},
	})
	after := hostileFingerprint(t, tg, outside)

	// The counts, for the record.
	bt, bo, br := counts(before, homes)
	at, ao, ar := counts(after, homes)
	t.Logf("fingerprint before the build: %d entries, %d owned by the steps, %d outside them", bt, bo, br)
	t.Logf("fingerprint after the build:  %d entries, %d owned by the steps, %d outside them", at, ao, ar)

	// 1. Nothing outside the owned set changed, OUTSIDE included.
	var diffs []string
	var ownedDiffs [3]int // removed, created, changed
	seen := map[string]bool{}
	for _, fp := range []map[string]string{before, after} {
		for p := range fp {
			if seen[p] {
				continue
			}
			seen[p] = true
			owned := !strings.HasPrefix(p, outsideKey) && ownedByTheSteps(p, homes...)
			was, inBefore := before[p]
			now, inAfter := after[p]
			kind := -1
			switch {
			case !inAfter:
				kind = 0
				diffs = append(diffs, fmt.Sprintf("removed %q (was %s)", p, was))
			case !inBefore:
				kind = 1
				diffs = append(diffs, fmt.Sprintf("created %q (%s)", p, now))
			case was != now:
				kind = 2
				diffs = append(diffs, fmt.Sprintf("changed %q:\n        before %s\n        after  %s", p, was, now))
			}
			if owned && kind >= 0 {
				ownedDiffs[kind]++
				diffs = diffs[:len(diffs)-1]
			}
		}
	}
	t.Logf("owned entries the build removed: %d, created: %d, changed: %d", ownedDiffs[0], ownedDiffs[1], ownedDiffs[2])
	sort.Slice(diffs, func(i, j int) bool { return strings.SplitN(diffs[i], " ", 2)[1] < strings.SplitN(diffs[j], " ", 2)[1] })
	if len(diffs) > 0 {
		shown := diffs[:min(30, len(diffs))]
		t.Errorf("%d entries outside what the steps own differ after the build (first %d):\n    %s",
			len(diffs), len(shown), strings.Join(shown, "\n    "))
	}

	// 2. What the steps own and can clean is gone.
	for _, p := range hostileGone {
		if _, err := os.Lstat(tg.Path(p)); err == nil {
			t.Errorf("owned and cleanable, but still there: %q", p)
		}
	}
	// What they own and still holds a secret (behind a hard link, say) is
	// named in the output.
	var afterPaths []string
	for p := range after {
		afterPaths = append(afterPaths, p)
	}
	sort.Strings(afterPaths)
	for _, p := range afterPaths {
		if strings.HasPrefix(p, outsideKey) || !strings.HasPrefix(after[p], "file ") || !ownedByTheSteps(p, homes...) {
			continue
		}
		if b, err := os.ReadFile(tg.Path(p)); err == nil && strings.Contains(string(b), secretWord) && !namedIn(log, p) {
			t.Errorf("owned, still holding a secret, and not reported: %q", p)
		}
	}

	// 3. The build fails, and says what it refused and left behind.
	if code == 0 {
		t.Errorf("packer build succeeded, but secrets were left behind refused links, mounts and hard links")
	} else {
		t.Logf("packer build exited %d", code)
	}
	lines := strings.Split(log, "\n")
	for _, want := range hostileReports {
		found := false
		for _, l := range lines {
			if strings.Contains(l, want.path) && strings.Contains(l, want.words) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("packer's output has no line naming %s with the words %q", want.path, want.words)
		}
	}

	// 4. No secret in packer's output or the report files.
	if strings.Contains(log, secretWord) {
		t.Errorf("a secret from the target appears in packer's output")
	}
	for _, f := range files.paths {
		if b, err := os.ReadFile(f); err == nil && strings.Contains(string(b), secretWord) {
			t.Errorf("a secret from the target appears in %s", f)
		}
	}

	// 5. The mounts are still in place.
	for _, m := range hostileMounts {
		assert.True(t, mountedAt(t, tg.Path(m)), "/%s is no longer a mount point", m)
	}

	// What packer said, for whoever reads a failure.
	if t.Failed() {
		var said []string
		for _, l := range lines {
			for _, mark := range []string{" ui: ", " ui error: "} {
				if _, msg, ok := strings.Cut(l, mark); ok && strings.TrimSpace(msg) != "" {
					said = append(said, ansi.ReplaceAllString(msg, ""))
				}
			}
		}
		t.Logf("packer's output:\n    %s", strings.Join(said, "\n    "))
	}

	r, _ := read()
	assert.Equal(t, "failed", r.Result, "report_file")
}
