package acceptance

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hashMarker is in every password hash the test plants, with the account
// and the file after it, so that the raw disk shows which one survived.
const hashMarker = "AMIHARDENHASH"

// rewriteInPlace gives a file new contents in its own blocks (no rename, no
// freed copy), so that the only copies of a marker on the disk are the ones
// the test means to plant.
func rewriteInPlace(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(t, err)
	defer f.Close()
	_, err = f.WriteAt([]byte(text), 0)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(int64(len(text))))
	require.NoError(t, f.Sync())
}

// plantedHash is the marked hash plantHashes gives user in file.
func plantedHash(user, file string) string {
	return fmt.Sprintf("$6$%s%s%s$x", hashMarker, user, file)
}

// plantHashes gives the accounts users password hashes with markers, and
// the account "locked" (when it exists) a locked field with a hash, in
// /etc/shadow itself; writes backups of the account files holding more;
// and returns how many markers the raw disk then holds.
func plantHashes(t *testing.T, tg *target, users ...string) int {
	t.Helper()
	wanted := map[string]bool{}
	for _, u := range users {
		wanted[u] = true
	}
	var shadow strings.Builder
	for _, line := range strings.Split(strings.TrimSpace(readFile(t, tg.Path("etc/shadow"))), "\n") {
		f := strings.Split(line, ":")
		switch {
		case wanted[f[0]]:
			f[1] = plantedHash(f[0], "shadow")
		case f[0] == "locked":
			f[1] = "!" + plantedHash(f[0], "shadow")
		}
		shadow.WriteString(strings.Join(f, ":") + "\n")
	}
	rewriteInPlace(t, tg.Path("etc/shadow"), shadow.String())
	require.NoError(t, os.WriteFile(tg.Path("etc/shadow-"), []byte("root:"+plantedHash("root", "backup")+":19000:0:99999:7:::\n"), 0o600))
	require.NoError(t, os.WriteFile(tg.Path("etc/gshadow-"), []byte("adm:"+plantedHash("adm", "gbackup")+"::\n"), 0o600))
	require.NoError(t, os.MkdirAll(tg.Path("var/backups"), 0o755))
	for _, b := range []string{"shadow.bak", "gshadow.bak", "passwd.bak", "group.bak"} {
		require.NoError(t, os.WriteFile(tg.Path("var/backups/"+b), []byte("root:"+plantedHash("root", b)+":\n"), 0o600))
	}
	gshadow := strings.Replace(readFile(t, tg.Path("etc/gshadow")), "\nadm:*:", "\nadm:"+plantedHash("adm", "gshadow")+":", 1)
	rewriteInPlace(t, tg.Path("etc/gshadow"), gshadow)
	require.Contains(t, readFile(t, tg.Path("etc/gshadow")), plantedHash("adm", "gshadow"))
	n := tg.ScanDisk(hashMarker)
	require.GreaterOrEqual(t, n, len(users)+7, "the scan must see the planted hashes")
	return n
}

// TestNoHashSurvives: no password hash is left anywhere on the
// disk: not behind the "!" of a locked account, not in /etc/shadow- or
// /etc/gshadow-, not in /var/backups, not in the blocks of the old
// /etc/shadow. keep_users leaves a break-glass account's password and keys
// as they are, and the report says so.
func TestNoHashSurvives(t *testing.T) {
	tg := newTarget(t)
	tg.rig("seed", tg.Dir)
	mustChroot(t, tg, "useradd", "-m", "-s", "/bin/bash", "locked")
	mustChroot(t, tg, "useradd", "-m", "-s", "/bin/bash", "ops")
	keys := tg.Path("home/ops/.ssh")
	require.NoError(t, os.MkdirAll(keys, 0o700))
	require.NoError(t, os.WriteFile(keys+"/authorized_keys", []byte("ssh-ed25519 AAAA ops-break-glass\n"), 0o600))

	before := plantHashes(t, tg, "root", "builder", "alice", "ops")

	tg.harden(t, "ami_harden_no_hash_survives", `    keep_users = ["ops"]`, buildCheck(true, []string{
		"passwords      changed  no password works for root, builder, alice, emptypw (password field *",
		"removed the hashes of locked locked",
		"removed the group password hashes",
		"overwrote and removed /etc/shadow-, /etc/gshadow-, /var/backups/shadow.bak, /var/backups/gshadow.bak, /var/backups/passwd.bak, /var/backups/group.bak",
		"kept the password of ops (keep_users)",
		"note: kept the keys of ops (keep_users)",
	}, nil))
	after := readFile(t, tg.Path("etc/shadow"))
	assert.Contains(t, after, "\nlocked:!:")
	assert.Contains(t, after, "\nops:"+plantedHash("ops", "shadow")+":", "keep_users: the password stays")
	assert.FileExists(t, keys+"/authorized_keys", "keep_users: the keys stay")
	assert.NoFileExists(t, tg.Path("home/alice/.ssh/authorized_keys"))
	// On the raw disk only ops's kept hash is left, once.
	assert.Equal(t, 1, tg.ScanDisk(hashMarker+"ops"))
	assert.Equal(t, 1, tg.ScanDisk(hashMarker), "a password hash other than the kept one is on the disk")
	t.Logf("hash markers on the raw disk: %d before, %d after (ops's kept hash)", before, tg.ScanDisk(hashMarker))

	boot := tg.Boot()
	assert.Equal(t, "ok", boot["keylogin"])
}

// TestRemoveUsers: remove_users removes the accounts the build
// made, the build's own login user among them while its session runs: the
// account, its home (overwritten), mail spool, crontab and the sudoers file
// that grants only it. What could still get in or get root is said: an
// extra UID 0 account, a NOPASSWD grant.
func TestRemoveUsers(t *testing.T) {
	tg := newTarget(t)
	tg.rig("seed", tg.Dir)
	mustChroot(t, tg, "useradd", "-m", "-s", "/bin/bash", "packer")
	mustChroot(t, tg, "useradd", "-o", "-u", "0", "-M", "-s", "/bin/sh", "toor")
	require.NoError(t, os.WriteFile(tg.Path("etc/sudoers.d/packer"), []byte("packer ALL=(ALL) NOPASSWD:ALL\n"), 0o440))
	require.NoError(t, os.WriteFile(tg.Path("etc/sudoers.d/ops"), []byte("alice ALL=(ALL) NOPASSWD: /usr/bin/systemctl\n"), 0o440))
	require.NoError(t, os.WriteFile(tg.Path("home/packer/build.log"), []byte(secretWord+" packer's build output\n"), 0o644))
	require.NoError(t, os.MkdirAll(tg.Path("var/spool/cron/crontabs"), 0o755))
	require.NoError(t, os.WriteFile(tg.Path("var/spool/cron/crontabs/packer"), []byte("* * * * * true\n"), 0o600))
	require.NoError(t, os.WriteFile(tg.Path("var/mail/packer"), []byte(secretWord+" mail for packer\n"), 0o600))

	tg.harden(t, "ami_harden_remove_users", `    remove_users = ["packer", "builder"]`, buildCheck(true, []string{
		"accounts       changed  removed packer, builder",
		"note: account toor has UID 0",
		"note: /etc/sudoers.d/ops:1 grants sudo without a password to alice",
	}, nil))
	passwd := readFile(t, tg.Path("etc/passwd"))
	assert.NotContains(t, passwd, "\npacker:")
	assert.NotContains(t, passwd, "\nbuilder:")
	for _, p := range []string{"home/packer", "home/builder", "etc/sudoers.d/packer", "etc/sudoers.d/builder",
		"var/spool/cron/crontabs/packer", "var/mail/packer"} {
		assert.NoFileExists(t, tg.Path(p))
		assert.NoDirExists(t, tg.Path(p))
	}
	assert.FileExists(t, tg.Path("etc/sudoers.d/ops"), "a grant to another account stays")
	// The removed account's files are gone from the disk's blocks too (the
	// seed's extra-path secret stays: this build names no wipe_paths).
	for _, marker := range []string{"packer's build output", "mail for packer"} {
		assert.Zero(t, tg.ScanDisk(marker), "%q is still in the disk's blocks", marker)
	}
}
