package acceptance

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ami-harden/packer-plugin-ami-harden/provisioner/report"
	"github.com/ami-harden/packer-plugin-ami-harden/provisioner/script"
)

// keepPaths are the keep_paths of TestKeepPaths: a log, a log in a
// directory of builder's, a directory in /tmp, a file with a space, a * and
// brackets in its name, a file deep in a directory of builder's, a path
// through a symbolic link and one that does not exist.
var keepPaths = []string{"/var/log/checker.log", "/var/log/app/kept.log", "/tmp/keepdir", "/var/tmp/odd dir/a*b [x].txt",
	"/tmp/way/inner/kept", "/tmp/link/x", "/var/log/nothing-here.log"}

// keepPathsBody is the block of TestKeepPaths: the temp and logs steps and
// keepPaths.
var keepPathsBody = "    steps = [\"temp\", \"logs\"]\n    keep_paths = [\"" + strings.Join(keepPaths, "\", \"") + "\"]\n"

// keepPathsFiles are what TestKeepPaths seeds, by path in the target.
var keepPathsFiles = map[string]string{
	"var/log/checker.log":          "the image checker reads this line\n",
	"var/log/other.log":            "a line of the build\n",
	"var/log/app/kept.log":         "the app's kept log\n",
	"var/log/app/app.log":          "the app's own log\n",
	"tmp/keepdir/a":                "kept a\n",
	"tmp/keepdir/sub/b":            "kept b\n",
	"var/tmp/odd dir/a*b [x].txt":  "kept odd\n",
	"var/tmp/odd dir/aZb x.txt":    "a glob of the kept name matches this\n",
	"var/tmp/odd dir/a*b [x].txt~": "not the kept name\n",
	"tmp/way/other":                "goes\n",
	"tmp/way/inner/kept":           "kept deep\n",
	"tmp/way/inner/junk":           "goes\n",
	"tmp/real/x":                   "behind a link\n",
	"tmp/plain":                    "goes\n",
}

// keptFiles are the files of keepPathsFiles that stay.
var keptFiles = []string{"var/log/checker.log", "var/log/app/kept.log", "tmp/keepdir/a", "tmp/keepdir/sub/b",
	"var/tmp/odd dir/a*b [x].txt", "tmp/way/inner/kept"}

// The notes the steps give on keepPaths.
var (
	keepPathsTempNotes = []string{
		"not kept (keep_paths): /tmp/link/x: /tmp/link is a symbolic link to real, which the step does not follow; it is cleaned as usual",
		"kept as they are (keep_paths): /tmp/keepdir, /var/tmp/odd dir/a*b [x].txt, /tmp/way/inner/kept",
	}
	keepPathsLogsNotes = []string{
		"not found (keep_paths): /var/log/nothing-here.log",
		"kept as they are (keep_paths): /var/log/checker.log, /var/log/app/kept.log",
	}
)

// TestKeepPaths: what keep_paths names stays as it is, byte for byte, with
// everything below it and the directories on its way; every other entry of
// /tmp and /var/tmp goes and every other log is emptied, decoys that the
// kept names would match as globs included; a path through a symbolic link
// is not kept and goes; the audit that runs first names no kept path and
// changes nothing. One target, bookworm: an audit build, the enforce build,
// then the same run again without GNU rm (busybox's rm first in the PATH,
// run in the target's chroot: the steps' other way of removing).
func TestKeepPaths(t *testing.T) {
	tg := newTargetOf(t, bookworm)
	seedKeepPaths(t, tg)
	var notes []string
	for _, n := range append(append([]string{}, keepPathsTempNotes...), keepPathsLogsNotes...) {
		notes = append(notes, "note: "+n)
	}

	// Audit: the other entries and logs are findings, no kept path, nothing
	// below one and no directory on the way to one is; nothing changes.
	// Debian's sudo marks builder's first sudo in its home (see TestAuditDirtyImage).
	tg.SSH("sudo -n true")
	before := tg.Snapshot()
	tg.harden(t, "ami_harden_keep_paths_audit", "    mode = \"audit\"\n"+keepPathsBody, buildCheck(false, append([]string{
		stepLine("temp", "finding"),
		"- /tmp/way/other exists",
		"- /tmp/way/inner/junk exists",
		"- /var/tmp/odd dir/aZb x.txt exists",
		"- /var/tmp/odd dir/a*b [x].txt~ exists",
		"- /tmp/link exists",
		"- /tmp/plain exists",
		stepLine("logs", "finding"),
		"- /var/log/other.log is not empty",
		"- /var/log/app/app.log is not empty",
	}, notes...), func(log string) error {
		for _, line := range strings.Split(log, "\n") {
			if !strings.Contains(line, "               - ") {
				continue
			}
			for _, k := range []string{"/tmp/keepdir", "a*b [x].txt exists", "/tmp/way exists", "/tmp/way/inner exists",
				"/tmp/way/inner/kept", "/var/tmp/odd dir exists", "checker.log", "kept.log"} {
				if strings.Contains(line, k) {
					return fmt.Errorf("the audit reports a kept path: %s", line)
				}
			}
		}
		return nil
	}))
	assertSameSnapshot(t, before, tg.Snapshot())

	tg.harden(t, "ami_harden_keep_paths", keepPathsBody, buildCheck(true, append([]string{
		stepLine("temp", "changed") + "removed 8 entries from /tmp and /var/tmp; kept 3 path(s) (keep_paths)",
		stepLine("logs", "changed") + "overwrote and deleted ",
		"; kept 2 path(s) (keep_paths)",
		"ami-harden: 2 of 2 steps reported: 2 changed, 0 ok, 0 skipped, 0 failed",
	}, notes...), func(log string) error {
		for _, line := range strings.Split(log, "\n") {
			if i := strings.Index(line, "null.target: "); i >= 0 && (strings.Contains(line, "temp   ") ||
				strings.Contains(line, "logs   ") || strings.Contains(line, "note: ")) {
				t.Log(strings.TrimSuffix(strings.TrimSpace(line[i+len("null.target: "):]), "\x1b[0m"))
			}
		}
		return nil
	}))
	checkKeptPaths(t, tg)

	// Again without GNU rm: the entries go with find, rm -f and rmdir, each
	// owner's, the kept ones left out by name.
	seedKeepPaths(t, tg)
	busybox, err := exec.LookPath("busybox")
	require.NoError(t, err, "busybox-static is missing (make deps)")
	run(t, "cp", busybox, tg.Path("usr/local/bin/busybox"))
	require.NoError(t, os.Symlink("/usr/local/bin/busybox", tg.Path("usr/local/sbin/rm")))
	out, err := tg.Chroot("/usr/local/sbin/rm", "--one-file-system", "-rf", "/nonexistent")
	require.Error(t, err, "busybox's rm must refuse --one-file-system, or the script takes it for GNU rm: %s", out)
	body := script.RenderLinux(script.Params{Steps: []string{"temp", "logs"}, KeepPaths: keepPaths, ShredPasses: 1, Mode: "enforce"})
	require.NoError(t, os.WriteFile(tg.Path("root/keep-paths.sh"), body, 0o700))
	cmd := exec.Command("chroot", tg.Dir, "/bin/sh", "/root/keep-paths.sh")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	require.NoError(t, os.Remove(tg.Path("usr/local/sbin/rm")))
	require.NoError(t, os.Remove(tg.Path("root/keep-paths.sh")))
	r := report.NewRun([]string{"temp", "logs"})
	for _, line := range strings.Split(stdout.String(), "\n") {
		r.Line(line)
	}
	require.NoError(t, r.Err(), stdout.String())
	res := map[string]report.Result{}
	for _, x := range r.Results() {
		res[x.Step] = x
	}
	assert.Equal(t, "removed 8 entries from /tmp and /var/tmp; kept 3 path(s) (keep_paths)", res["temp"].Detail)
	assert.Equal(t, keepPathsTempNotes, res["temp"].Notes)
	assert.Equal(t, keepPathsLogsNotes, res["logs"].Notes)
	assert.NotRegexp(t, shellError, stderr.String())
	checkKeptPaths(t, tg)
}

// seedKeepPaths writes keepPathsFiles into tg (the kept ones again as they
// were), the link /tmp/link -> real, and gives builder /tmp/way and
// /var/log/app: their entries go as builder.
func seedKeepPaths(t *testing.T, tg *target) {
	t.Helper()
	for name, text := range keepPathsFiles {
		require.NoError(t, os.MkdirAll(filepath.Dir(tg.Path(name)), 0o755))
		require.NoError(t, os.WriteFile(tg.Path(name), []byte(text), 0o644))
	}
	require.NoError(t, os.Symlink("real", tg.Path("tmp/link")))
	mustChroot(t, tg, "chown", "-R", "builder:builder", "/tmp/way", "/var/log/app")
}

// checkKeptPaths: the kept files are as seeded, /tmp and /var/tmp hold
// exactly the kept paths and the directories on their ways, and the kept
// logs are the only ones with data.
func checkKeptPaths(t *testing.T, tg *target) {
	t.Helper()
	for _, k := range keptFiles {
		assert.Equal(t, keepPathsFiles[k], readFile(t, tg.Path(k)), "kept %s", k)
	}
	left := strings.Split(strings.TrimSpace(mustChroot(t, tg, "find", "/tmp", "/var/tmp", "-mindepth", "1")), "\n")
	sort.Strings(left)
	assert.Equal(t, []string{
		"/tmp/keepdir", "/tmp/keepdir/a", "/tmp/keepdir/sub", "/tmp/keepdir/sub/b",
		"/tmp/way", "/tmp/way/inner", "/tmp/way/inner/kept",
		"/var/tmp/odd dir", "/var/tmp/odd dir/a*b [x].txt",
	}, left)
	assert.Equal(t, "builder:builder\n", mustChroot(t, tg, "stat", "-c", "%U:%G", "/tmp/way/inner"), "a way stays as it was")
	full := strings.Split(strings.TrimSpace(mustChroot(t, tg, "find", "/var/log", "-type", "f", "!", "-size", "0")), "\n")
	sort.Strings(full)
	assert.Equal(t, []string{"/var/log/app/kept.log", "/var/log/checker.log"}, full)
	for _, f := range []string{"var/log/other.log", "var/log/app/app.log"} {
		assert.Empty(t, readFile(t, tg.Path(f)), "%s is emptied", f)
	}
}

// stepLine is the start of a step's line in Packer's output (output.go:
// showLine), up to its detail.
func stepLine(step, status string) string { return fmt.Sprintf("%-14s %-8s ", step, status) }
