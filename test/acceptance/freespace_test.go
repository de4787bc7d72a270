package acceptance

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ami-harden/packer-plugin-ami-harden/provisioner/script"
)

// TestFreeSpaceInterrupted: the free-space step, hung up on halfway through
// its fill (as a lost SSH session hangs up on the script), removes its
// filler and sets ext4's reserved clusters back: the disk is never left full.
// The script runs in the target's chroot on the target's own 2 GiB disk.
func TestFreeSpaceInterrupted(t *testing.T) {
	tg := newTarget(t)
	require.NotEqual(t, "/", filepath.Clean(tg.Dir), "never the host")
	dev := strings.TrimSpace(run(t, "findmnt", "-n", "-o", "SOURCE", "--target", tg.Dir))
	reserve := filepath.Join("/sys/fs/ext4", filepath.Base(dev), "reserved_clusters")
	reserveBefore := readFile(t, reserve)
	freeBefore := freeMiB(t, tg.Dir)

	require.NoError(t, os.WriteFile(tg.Path("root/fill.sh"), script.RenderLinux(script.Params{
		Steps: []string{"free-space"}, ShredPasses: 1, Mode: "enforce",
	}), 0o700))
	cmd := exec.Command("chroot", tg.Dir, "/bin/sh", "/root/fill.sh")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	// Halfway: the filler holds a quarter of what was free.
	var filler string
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if m, _ := filepath.Glob(tg.Path(".ami-harden-free-space.*/fill")); len(m) == 1 {
			if fi, err := os.Stat(m[0]); err == nil && fi.Size() > int64(freeBefore)<<20/4 {
				filler = m[0]
				break
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	require.NotEmpty(t, filler, "the filler never grew to a quarter of the free space:\n%s", out.String())
	released := readFile(t, reserve)
	require.NoError(t, syscall.Kill(-cmd.Process.Pid, syscall.SIGHUP))
	select {
	case err := <-done:
		t.Logf("the script stopped: %v", err)
	case <-time.After(30 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		t.Fatalf("the script did not stop within 30 s of the hang-up:\n%s", out.String())
	}
	t.Logf("hung up with %s in the filler; the script said:\n%s", filler, out.String())

	left, _ := filepath.Glob(tg.Path(".ami-harden-free-space.*"))
	assert.Empty(t, left, "the filler stayed")
	freeAfter := freeMiB(t, tg.Dir)
	t.Logf("free space: %d MiB before, %d MiB after; reserved clusters %s during the fill, %s before and after",
		freeBefore, freeAfter, strings.TrimSpace(released), strings.TrimSpace(reserveBefore))
	assert.InDelta(t, freeBefore, freeAfter, 64, "the disk's free space came back")
	assert.Equal(t, "0", strings.TrimSpace(released), "the reserve was released for the fill")
	assert.Equal(t, reserveBefore, readFile(t, reserve), "ext4's reserved clusters set back")
	assert.NotContains(t, out.String(), "free-space     changed")
}

// freeMiB is the free space of the file system at dir, in MiB, as df sees
// it from outside.
func freeMiB(t *testing.T, dir string) int {
	t.Helper()
	f := strings.Fields(strings.Split(strings.TrimSpace(run(t, "df", "-Pm", dir)), "\n")[1])
	n, err := strconv.Atoi(f[3])
	require.NoError(t, err)
	return n
}
