package script

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The free-space step's choice of file systems, from a mountinfo written
// here: free_space_mounts only reads the file it is given; nothing is
// filled.
func TestFreeSpaceMounts(t *testing.T) {
	mountinfo := "" +
		// The root, ext4, whole; then a bind mount of a directory of it.
		"22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n" +
		"23 22 254:1 /srv/shared /mnt/shared rw,relatime shared:1 - ext4 /dev/vda1 rw\n" +
		// A directory of another disk, bound in (a chroot's or container's
		// bind mount): never filled.
		"24 22 254:17 /var/tmp/outside /home/dave/mnt rw - ext4 /dev/vdb1 rw\n" +
		// /boot/efi: vfat, whole.
		"25 22 254:2 / /boot/efi rw - vfat /dev/vda2 rw,fmask=0077\n" +
		// A Btrfs subvolume: its root is the subvolume.
		"26 22 0:40 /@home /home rw - btrfs /dev/vdc rw,subvol=/@home\n" +
		// Read-only, excluded, and kinds that hold no image blocks.
		"27 22 254:3 / /mnt/ro ro,relatime - xfs /dev/vdd ro\n" +
		"28 22 254:4 / /data rw - xfs /dev/vde rw\n" +
		"29 22 0:5 / /dev rw - devtmpfs udev rw\n" +
		"30 22 0:25 / /run rw - tmpfs tmpfs rw\n" +
		"31 22 0:41 / /mnt/nfs rw - nfs4 server:/export rw\n" +
		"32 22 0:42 / /var/lib/docker/overlay2/x/merged rw - overlay overlay rw\n" +
		// A name with a space.
		"33 22 254:5 / /mnt/my\\040disk rw - ext4 /dev/vdf rw\n"
	dir := t.TempDir()
	mi := filepath.Join(dir, "mountinfo")
	require.NoError(t, os.WriteFile(mi, []byte(mountinfo), 0o644))
	got := runSh(t, "set -u\ntab=$(printf '\\t')\nAMI_HARDEN_FREE_SPACE_EXCLUDE='/data'\n"+
		withoutDirective(file("linux/steps/free-space.sh"))+"\nfree_space_mounts "+Quote(mi)+"\n")
	assert.Equal(t, ""+
		"ext4\t254:1\t/\n"+
		"vfat\t254:2\t/boot/efi\n"+
		"btrfs\t0:40\t/home\n"+
		"-\tmounted read-only\t/mnt/ro\n"+
		"-\tleft alone (wipe_free_space_exclude)\t/data\n"+
		"ext4\t254:5\t/mnt/my disk\n"+
		"-\tmounts only the directory /var/tmp/outside of its file system (a bind mount: its free space is not this machine's alone)\t/home/dave/mnt\n",
		got)
}
