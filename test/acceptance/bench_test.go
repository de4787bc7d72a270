//go:build bench

package acceptance

// The benchmark (make bench, not part of make test): real packer builds on
// throwaway local Debian targets, measured against Packer's shell
// provisioner running the hand-written cleanup, and against the floor of the
// I/O a large image needs, with each home's files overwritten by a process of
// its owner, as "touch only what you own" requires (test/bench/floor.sh). It
// prints a table and fails when ami-harden is slower than the hand-written
// script or more than 1.3 times that floor (both with a plain grep of the
// secrets step's patterns). The floor that overwrites every home as root in
// one process is measured too, once per size, and shown beside it.

import (
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var benchDir = filepath.Join(rig, "..", "bench")

// build runs one packer build with the given provisioner block against tg
// and returns its wall time and log.
func build(t *testing.T, tg *target, provisioner string) (time.Duration, string) {
	t.Helper()
	dir := t.TempDir()
	tmpl := filepath.Join(dir, "bench.pkr.hcl")
	body := linuxFixture + `
variable "handwritten_cleanup" {
  type = string
}

build {
  sources = ["source.null.target"]
  ` + provisioner + `
}
`
	require.NoError(t, os.WriteFile(tmpl, []byte(body), 0o644))
	logPath := filepath.Join(dir, "packer.log")
	args := append([]string{"build", "-color=false"},
		tg.vars("handwritten_cleanup="+filepath.Join(benchDir, "handwritten-cleanup.sh"))...)
	cmd := exec.Command("packer", append(args, tmpl)...)
	cmd.Env = append(os.Environ(), "PACKER_LOG=1", "PACKER_LOG_PATH="+logPath)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	elapsed := time.Since(start)
	require.NoError(t, err, "%s", out)
	log, err := os.ReadFile(logPath)
	require.NoError(t, err)
	return elapsed, string(log)
}

// The rig's targets get their launch key from the rig, not from a key
// installer in the image. The free-space step is measured on its own
// (freeSpaceBlock): the hand-written cleanup and the floor do nothing like
// it, and its time is the disk's write speed times the free space.
const amiHardenBlock = `provisioner "ami-harden" {
    require_key_installer = false
    wipe_free_space       = false
  }`

// freeSpaceBlock runs the free-space step alone.
const freeSpaceBlock = `provisioner "ami-harden" {
    steps = ["free-space"]
  }`

// freeSpaceDetail is the free-space step's line: MiB and seconds.
var freeSpaceDetail = regexp.MustCompile(`free-space +changed +wrote ([0-9]+) MiB of zeros over the free space in ([0-9]+) s`)

// freeSpace runs the free-space step alone on tg, hardened just before, and
// returns the MiB it wrote and the provisioning's wall time. The hardening
// removed builder's key: the rig serves it again (on a tmpfs /run).
func freeSpace(t *testing.T, tg *target) (int, time.Duration) {
	t.Helper()
	tg.Serve()
	_, log := build(t, tg, freeSpaceBlock)
	m := freeSpaceDetail.FindStringSubmatch(log)
	require.NotNil(t, m, "no free-space line in the log")
	mib, _ := strconv.Atoi(m[1])
	return mib, provisionTime(t, log)
}

// benchPattern is where the hand-written cleanup, the floor and the
// application image's plain grep find the secrets step's own pattern
// (secret_any in provisioner/script/linux/steps/secrets.kinds.sh) for their
// grep -rIlE: the same patterns over the same trees. In /run, which that grep
// does not scan.
const benchPattern = "run/ami-harden-bench-pattern"

// writePattern puts the secrets step's pattern into tg for the shell
// cleanup or the floor.
func writePattern(t *testing.T, tg *target) {
	t.Helper()
	b := mustRead(t, filepath.Join(benchDir, "..", "..", "provisioner", "script", "linux", "steps", "secrets.kinds.sh"))
	m := regexp.MustCompile(`(?m)^secret_any='((?:[^']|'"'"')*)'$`).FindSubmatch(b)
	require.NotNil(t, m, "secret_any not found in secrets.kinds.sh")
	pattern := strings.ReplaceAll(string(m[1]), `'"'"'`, `'`)
	require.NoError(t, os.WriteFile(tg.Path(benchPattern), []byte(pattern+"\n"), 0o644))
}

// scanRate is the secrets step's throughput, from its detail line.
var scanDetail = regexp.MustCompile(`scanned ([0-9]+) files, ([0-9.]+) MiB, in ([0-9]+) ms`)

// appDetail is the secrets step's detail on the application image.
var appDetail = regexp.MustCompile(`scanned ([0-9]+) files, ([0-9.]+) MiB, in ([0-9]+) ms; skipped ([0-9]+) files in ([0-9]+) dependency trees`)

// shellBlock runs the hand-written cleanup (build passes its path).
const shellBlock = `provisioner "shell" {
    script          = var.handwritten_cleanup
    execute_command = "sudo -n sh -c '{{ .Vars }} {{ .Path }}'"
  }`

func sessions(log string) int { return strings.Count(log, "Opening new ssh session") }
func uploads(log string) int  { return strings.Count(log, "scp: Uploading") }

var summaryTime = regexp.MustCompile(`ami-harden: .* in ([0-9.]+[µm]?s)`)

// provisionTime is the duration ami-harden's summary line gives.
func provisionTime(t *testing.T, log string) time.Duration {
	m := summaryTime.FindStringSubmatch(log)
	require.NotNil(t, m, "no summary line")
	d, err := time.ParseDuration(m[1])
	require.NoError(t, err)
	return d
}

// seedLarge puts a fraction of the large image into tg: 100,000 files in
// /tmp, 500 accounts with passwords, keys and histories, 1 GiB of logs.
func seedLarge(t *testing.T, tg *target, fraction float64) {
	t.Helper()
	accounts, files, logBytes := int(500*fraction), int(100000*fraction), int64(float64(1<<30)*fraction)
	appendTo := func(path, text string) {
		f, err := os.OpenFile(tg.Path(path), os.O_APPEND|os.O_WRONLY, 0)
		require.NoError(t, err)
		_, err = f.WriteString(text)
		require.NoError(t, err)
		require.NoError(t, f.Close())
	}
	var passwd, shadow, group strings.Builder
	blob := make([]byte, 4096)
	_, _ = rand.Read(blob)
	for i := 0; i < accounts; i++ {
		name, id := fmt.Sprintf("bench%03d", i), 3000+i
		home := "home/" + name
		fmt.Fprintf(&passwd, "%s:x:%d:%d::/%s:/bin/bash\n", name, id, id, home)
		fmt.Fprintf(&shadow, "%s:$6$bench$%040d:19000:0:99999:7:::\n", name, i)
		fmt.Fprintf(&group, "%s:x:%d:\n", name, id)
		require.NoError(t, os.MkdirAll(tg.Path(home+"/.ssh"), 0o700))
		for f, size := range map[string]int{".ssh/authorized_keys": 400, ".ssh/id_rsa": 2600, ".bash_history": 4096, ".python_history": 1024} {
			require.NoError(t, os.WriteFile(tg.Path(home+"/"+f), blob[:size], 0o600))
			require.NoError(t, os.Lchown(tg.Path(home+"/"+f), id, id))
		}
		require.NoError(t, os.Lchown(tg.Path(home+"/.ssh"), id, id))
		require.NoError(t, os.Lchown(tg.Path(home), id, id))
	}
	appendTo("etc/passwd", passwd.String())
	appendTo("etc/shadow", shadow.String())
	appendTo("etc/group", group.String())

	for i := 0; i < files; i++ {
		dir := tg.Path(fmt.Sprintf("tmp/bench/d%03d", i/1000))
		if i%1000 == 0 {
			require.NoError(t, os.MkdirAll(dir, 0o755))
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%04d", i%1000)), blob[:64], 0o644))
	}

	require.NoError(t, os.MkdirAll(tg.Path("var/log/bench"), 0o755))
	chunk := make([]byte, 1<<20)
	_, _ = rand.Read(chunk)
	const logFiles = 64
	for i := 0; i < logFiles; i++ {
		f, err := os.Create(tg.Path(fmt.Sprintf("var/log/bench/app-%02d.log", i)))
		require.NoError(t, err)
		for left := logBytes / logFiles; left > 0; left -= int64(len(chunk)) {
			n := min(left, int64(len(chunk)))
			_, err := f.Write(chunk[:n])
			require.NoError(t, err)
		}
		require.NoError(t, f.Close())
	}
	require.NoError(t, exec.Command("sync").Run())
}

// floorRun runs test/bench/floor.sh on a fresh target with the given
// fraction of the large image and returns its wall time; asRoot runs it with
// FLOOR_AS_ROOT=1 (every home's files in one shred, as root). It runs the
// way ami-harden's script runs, over SSH as the login user with sudo: run in
// the target's chroot directly it took about a tenth less on this machine.
func floorRun(t *testing.T, fraction float64, asRoot bool) time.Duration {
	t.Helper()
	b := newTarget(t)
	defer b.rig("destroy", b.Dir)
	seedLarge(t, b, fraction)
	require.NoError(t, os.WriteFile(b.Path("root/floor.sh"), mustRead(t, filepath.Join(benchDir, "floor.sh")), 0o700))
	writePattern(t, b)
	command := "sudo -n sh /root/floor.sh"
	if asRoot {
		command = "sudo -n env FLOOR_AS_ROOT=1 sh /root/floor.sh"
	}
	start := time.Now()
	b.SSH(command)
	return time.Since(start)
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration{}, ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func medianFloat(fs []float64) float64 {
	s := append([]float64{}, fs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func TestBench(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("the benchmark needs root (make bench)")
	}
	os.Setenv("PACKER_ACC", "1") // newTarget builds targets only for acceptance runs
	var table strings.Builder
	row := func(format string, args ...interface{}) { fmt.Fprintf(&table, format+"\n", args...) }

	// 1. Standard image: ami-harden against the shell provisioner, pairwise.
	const pairs = 5
	var ours, theirs []time.Duration
	var ratios []float64
	var oursLog, theirsLog string
	var standardFree struct {
		mib int
		d   time.Duration
	}
	for i := 0; i < pairs; i++ {
		a, b := newTarget(t), newTarget(t)
		a.rig("seed", a.Dir)
		b.rig("seed", b.Dir)
		writePattern(t, b)
		// Alternate which goes first, so that neither always meets a warm cache.
		var da, db time.Duration
		if i%2 == 0 {
			da, oursLog = build(t, a, amiHardenBlock)
			db, theirsLog = build(t, b, shellBlock)
		} else {
			db, theirsLog = build(t, b, shellBlock)
			da, oursLog = build(t, a, amiHardenBlock)
		}
		ours, theirs = append(ours, da), append(theirs, db)
		ratios = append(ratios, float64(da)/float64(db))
		if i == pairs-1 {
			// The free-space step's cost on the standard image (a 2 GiB
			// disk), after the run: after the last pair, so that the
			// gigabytes it writes slow none of the timed runs.
			standardFree.mib, standardFree.d = freeSpace(t, a)
		}
		a.rig("destroy", a.Dir)
		b.rig("destroy", b.Dir)
	}
	ratio := medianFloat(ratios)

	// 2. Large image: ami-harden and the floor, from 10% to 100% of it.
	os.Setenv("AMI_HARDEN_DISK", "6G")
	defer os.Unsetenv("AMI_HARDEN_DISK")
	type scaled struct {
		fraction                 float64
		harden, floor, rootFloor time.Duration
		ratio                    float64 // median of the pairs' ratios
	}
	var scaling []scaled
	var scan []string // the secrets step's detail numbers, at the last size
	var largeFree struct {
		mib int
		d   time.Duration
	}
	// One pair per size; at full size, the one the bound is on, the median
	// of largePairs pairs: on this machine's disk one pair alone varied
	// between 1.26 and 1.75 times the floor from run to run.
	const largePairs = 5
	var lastLarge *target // kept for the free-space step, measured at the end
	for _, f := range []float64{0.1, 0.25, 0.5, 1.0} {
		n := 1
		if f == 1.0 {
			n = largePairs
		}
		var hardens, floors []time.Duration
		var ratios []float64
		for i := 0; i < n; i++ {
			a := newTarget(t)
			seedLarge(t, a, f)
			_, log := build(t, a, amiHardenBlock)
			if m := scanDetail.FindStringSubmatch(log); m != nil {
				scan = m
			}
			d := provisionTime(t, log)
			if f == 1.0 && i == n-1 {
				lastLarge = a
			} else {
				a.rig("destroy", a.Dir)
			}

			floor := floorRun(t, f, false)
			hardens, floors, ratios = append(hardens, d), append(floors, floor), append(ratios, float64(d)/float64(floor))
			t.Logf("%3.0f%% pair %d: ami-harden %s, floor %s, ratio %.2f", f*100, i+1, d.Round(time.Millisecond), floor.Round(time.Millisecond), float64(d)/float64(floor))
		}
		rootFloor := floorRun(t, f, true)
		t.Logf("%3.0f%%: floor as root %s", f*100, rootFloor.Round(time.Millisecond))
		scaling = append(scaling, scaled{f, median(hardens), median(floors), rootFloor, medianFloat(ratios)})
	}
	// The free-space step's cost on the large image, after the rest of the
	// run (its files are gone, as they would be), once nothing else is timed.
	largeFree.mib, largeFree.d = freeSpace(t, lastLarge)
	lastLarge.rig("destroy", lastLarge.Dir)

	// 3. Application image (test/rig/app.sh: node_modules, a Python venv, a
	// Go module cache): the secrets step alone against a plain grep -rIlE of
	// its own pattern over the same trees, on the same image, in turn.
	const appRuns = 3
	var appScans, appGreps []time.Duration
	var appScan []string
	for i := 0; i < appRuns; i++ {
		a := appTarget(t, false)
		writePattern(t, a)
		scanOnce := func() {
			_, log := build(t, a, `provisioner "ami-harden" {
    steps         = ["secrets"]
    secrets_allow = ["/etc/ssh/ssh_host_*", "/etc/ssl/private/*"]
  }`)
			m := appDetail.FindStringSubmatch(log)
			require.NotNil(t, m, "no scan detail in the secrets step's line")
			ms, _ := strconv.Atoi(m[3])
			appScans, appScan = append(appScans, time.Duration(ms)*time.Millisecond), m
		}
		grepOnce := func() {
			start := time.Now()
			out, err := exec.Command("chroot", a.Dir, "/bin/sh", "-c", "grep -rIlE -f /"+benchPattern+
				" /etc /root /opt /srv /usr/local /var /home >/dev/null; [ $? -le 1 ]").CombinedOutput()
			require.NoError(t, err, "%s", out)
			appGreps = append(appGreps, time.Since(start))
		}
		if i%2 == 0 {
			scanOnce()
			grepOnce()
		} else {
			grepOnce()
			scanOnce()
		}
		a.rig("destroy", a.Dir)
		t.Logf("application image run %d: secrets step %s, grep -rIlE %s", i+1, appScans[i], appGreps[i].Round(time.Millisecond))
	}

	winBytes, err := os.Stat(filepath.Join(rig, "..", "..", "provisioner", "testdata", "default-windows.ps1"))
	require.NoError(t, err)

	cpu, _ := exec.Command("sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").Output()
	row("Machine: %s, %d cores, %s", strings.TrimSpace(string(cpu)), runtime.NumCPU(), time.Now().UTC().Format("2006-01-02"))
	row("")
	row("| measure | ami-harden | shell provisioner + hand-written cleanup |")
	row("|---|---|---|")
	row("| SSH sessions per provisioning | %d | %d |", sessions(oursLog), sessions(theirsLog))
	row("| uploads per provisioning | %d | %d |", uploads(oursLog), uploads(theirsLog))
	row("| packer build wall time, standard image (median of %d pairs) | %s | %s |", pairs,
		median(ours).Round(time.Millisecond), median(theirs).Round(time.Millisecond))
	row("| ratio ami-harden / shell (median of the pairs' ratios) | %.2f | 1.00 |", ratio)
	row("")
	row("| large image (100%%: median of %d pairs) | accounts | files in /tmp | logs | ami-harden (provisioning) | floor (overwrite + delete only, homes by their owners) | ami-harden / floor | floor as root (one shred for all homes) | ami-harden / floor as root | ami-harden per 10%% |", largePairs)
	row("|---|---|---|---|---|---|---|---|---|---|")
	for _, s := range scaling {
		row("| %3.0f%% | %d | %d | %d MiB | %s | %s | %.2f | %s | %.2f | %s |", s.fraction*100, int(500*s.fraction), int(100000*s.fraction),
			int(1024*s.fraction), s.harden.Round(time.Millisecond), s.floor.Round(time.Millisecond),
			s.ratio, s.rootFloor.Round(time.Millisecond), float64(s.harden)/float64(s.rootFloor),
			(time.Duration(float64(s.harden) / (s.fraction * 10))).Round(time.Millisecond))
	}
	row("")
	if scan != nil {
		mib, _ := strconv.ParseFloat(scan[2], 64)
		ms, _ := strconv.ParseFloat(scan[3], 64)
		row("Secrets scan, large image at 100%%: %s files, %s MiB in %s ms: %.0f MB/s.", scan[1], scan[2], scan[3],
			mib*1.048576/max(ms/1000, 0.001))
		row("")
	}
	if appScan != nil {
		scanned, _ := strconv.Atoi(appScan[1])
		skipped, _ := strconv.Atoi(appScan[4])
		mib, _ := strconv.ParseFloat(appScan[2], 64)
		row("| application image (median of %d runs, in turn) | files scanned | MiB scanned | files skipped (dependency trees) | time |", appRuns)
		row("|---|---|---|---|---|")
		row("| secrets step | %d | %.1f | %d of %d (%.0f%%) in %s trees | %s |", scanned, mib, skipped, scanned+skipped,
			100*float64(skipped)/float64(scanned+skipped), appScan[5], median(appScans))
		row("| grep -rIlE of its pattern, same trees | every file | | none | %s |", median(appGreps).Round(time.Millisecond))
		row("")
	}
	row("| free-space step (wipe_free_space), after the rest of the run | MiB of zeros written | provisioning time | MiB/s |")
	row("|---|---|---|---|")
	for _, f := range []struct {
		name string
		mib  int
		d    time.Duration
	}{{"standard image (2 GiB disk)", standardFree.mib, standardFree.d}, {"large image at 100% (6 GiB disk)", largeFree.mib, largeFree.d}} {
		row("| %s | %d | %s | %.0f |", f.name, f.mib, f.d.Round(time.Millisecond), float64(f.mib)/max(f.d.Seconds(), 0.001))
	}
	row("")
	row("Windows: the default script uploads %d bytes (provisioner/testdata/default-windows.ps1).", winBytes.Size())
	fmt.Println()
	fmt.Print(table.String())
	require.NoError(t, os.WriteFile(filepath.Join(os.TempDir(), "ami-harden-bench.md"), []byte(table.String()), 0o644))

	require.LessOrEqual(t, ratio, 1.0, "ami-harden is slower than the hand-written cleanup")
	require.LessOrEqual(t, sessions(oursLog), 2)
	require.Equal(t, 1, uploads(oursLog))
	require.LessOrEqual(t, median(appScans), median(appGreps), "on the application image the secrets step takes longer than a plain grep")
	last := scaling[len(scaling)-1]
	require.LessOrEqual(t, last.ratio, 1.3, "the large image takes more than 1.3 times the floor")
}

func mustRead(t *testing.T, path string) []byte {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}
