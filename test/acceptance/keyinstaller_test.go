package acceptance

import (
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/acctest"
	"github.com/stretchr/testify/assert"
)

// TestNoKeyInstallerFailsTheBuild: a Debian target with nothing that
// installs a key at launch (no cloud-init, no guest agent, no sshd
// AuthorizedKeysCommand) and no keep_users. The default block fails the
// build in the user-keys step, naming what is missing, after removing the
// keys all the same; audit mode finds the same. require_key_installer is
// not written here: this is the default (linuxTemplate would set it false).
// The other side, cloud-init that installs the key, is TestRunningTarget's
// and TestHardenDirtyImage's bookworm-cloud-init.
func TestNoKeyInstallerFailsTheBuild(t *testing.T) {
	tg := newTarget(t)
	missing := "user-keys      failed   no key stays and nothing installs one at launch: nobody could log in to an instance. " +
		"Install cloud-init with a datasource, EC2 Instance Connect or the cloud's guest agent, keep a user's key (keep_users), " +
		"or set require_key_installer = false"
	acctest.TestPlugin(t, &acctest.PluginTestCase{
		Name:           "ami_harden_no_key_installer",
		Type:           "ami-harden",
		Template:       linuxFixture + amiHardenBuild("source.null.target", "    wipe_free_space = false"),
		BuildExtraArgs: tg.vars(),
		Check:          buildCheck(false, []string{missing, "1 failed"}, nil),
	})
	// The keys went all the same: failing must not leave them.
	assert.NoFileExists(t, tg.Path("home/builder/.ssh/authorized_keys"))

	// Audit, as root (the rig's key lives on a tmpfs /run), finds it too.
	tg.Serve()
	acctest.TestPlugin(t, &acctest.PluginTestCase{
		Name:           "ami_harden_no_key_installer_audit",
		Type:           "ami-harden",
		Template:       linuxFixture + amiHardenBuild("source.null.target", "    mode = \"audit\"\n    steps = [\"user-keys\"]"),
		BuildExtraArgs: tg.varsAs("root"),
		Check: buildCheck(false, []string{"user-keys      finding  1 finding(s)",
			"step user-keys found 1 thing(s) to fix: no key stays and nothing installs one at launch"}, nil),
	})
}
