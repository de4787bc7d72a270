package acceptance

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/acctest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bookwormCleartext carries Debian's cleartext servers: telnet from inetd
// (inetutils-telnetd under openbsd-inetd) and tftpd-hpa (an init script
// that systemd runs through its sysv generator).
var bookwormCleartext = image{Name: "bookworm-cleartext", Suite: "bookworm", Extra: "inetutils-telnetd,tftpd-hpa,openbsd-inetd"}

// newCleartextTarget is a target of bookwormCleartext with telnet turned on:
// Debian's inetutils-telnetd adds its inetd entry turned off, and an admin
// turns it on with update-inetd, as done here (in the chroot: it reloads no
// inetd there).
func newCleartextTarget(t *testing.T) *target {
	t.Helper()
	tg := newTargetOf(t, bookwormCleartext)
	if out, err := tg.Chroot("update-inetd", "--enable", "telnet"); err != nil {
		t.Fatalf("update-inetd --enable telnet: %v\n%s", err, out)
	}
	require.Contains(t, readFile(t, tg.Path("etc/inetd.conf")), "\ntelnet\t", "telnet is not on in inetd.conf")
	return tg
}

// servicesStep is the services step of a report_file, with what the tests
// read (audit_test.go's reportDoc has no detail and notes).
func servicesStep(t *testing.T, path string) (status, detail string, notes []string) {
	t.Helper()
	var doc struct {
		Steps []struct {
			Name, Status, Detail string
			Notes                []string
		}
	}
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &doc))
	for _, s := range doc.Steps {
		if s.Name == "services" {
			return s.Status, s.Detail, s.Notes
		}
	}
	t.Fatalf("%s has no services step", path)
	return
}

// TestServicesCleartext: an image with telnet (inetd) and
// tftpd-hpa. Unhardened, its first boot listens on 22/tcp, 23/tcp and
// 69/udp (which also proves the probe sees them). Audit finds each cleartext
// service and changes nothing; a default build turns off the telnet entry,
// masks tftpd-hpa and then inetd, which has no entry left, and names each in
// the report; audit of the result finds nothing, and its first boot listens
// on sshd's port alone.
func TestServicesCleartext(t *testing.T) {
	start := time.Now()
	plain := newCleartextTarget(t)
	unhardened := plain.Boot()
	t.Logf("unhardened image: up and first boot in %s: %v", time.Since(start).Round(time.Millisecond), unhardened)
	require.Equal(t, "22/tcp 23/tcp 69/udp", unhardened["listen"], "the unhardened image must listen on telnet and tftp, or the check below proves nothing")

	tg := newCleartextTarget(t)
	// Debian's sudo leaves ~/.sudo_as_admin_successful at the first sudo:
	// the login's trace, not the audit's.
	tg.SSH("sudo -n true")
	before := tg.Snapshot()
	start = time.Now()
	tg.harden(t, "ami_harden_services_audit_cleartext", `    mode = "audit"`+"\n"+`    steps = ["services"]`, buildCheck(false, []string{
		"services       finding  3 finding(s)",
		"- tftpd-hpa.service starts at boot (enabled, not masked)",
		"- tftpd-hpa starts at boot (/etc/rc2.d/S01tftpd-hpa /etc/rc3.d/S01tftpd-hpa /etc/rc4.d/S01tftpd-hpa /etc/rc5.d/S01tftpd-hpa)",
		"- /etc/inetd.conf: telnet is on (/usr/sbin/telnetd)",
		"note: listens at boot: inetd.service: telnet (23/tcp), ssh.service (22/tcp), tftpd-hpa.service (usually 69/udp)",
	}, nil))
	t.Logf("audit of the unhardened image: %s", time.Since(start).Round(time.Millisecond))
	assertSameSnapshot(t, before, tg.Snapshot())

	files, read := reportFiles(t)
	start = time.Now()
	acctest.TestPlugin(t, &acctest.PluginTestCase{
		Name:           "ami_harden_services_cleartext",
		Type:           "ami-harden",
		Template:       linuxTemplate(files.String()),
		BuildExtraArgs: tg.vars(files.vars...),
		Check: buildCheck(true, []string{
			"services       changed  turned off: tftpd-hpa.service (masked), tftpd-hpa (start links in /etc/rc?.d made stop links), " +
				"/etc/inetd.conf: telnet turned off (/usr/sbin/telnetd), inetd.service (masked, inetd has no entry left), " +
				"openbsd-inetd.service (masked, inetd has no entry left), openbsd-inetd (start links in /etc/rc?.d made stop links, inetd has no entry left)",
			"note: listens at boot: ssh.service (22/tcp)",
			"ami-harden: 16 of 16 steps reported: 9 changed, 6 ok, 1 skipped, 0 failed",
		}, nil),
	})
	t.Logf("default build: %s", time.Since(start).Round(time.Millisecond))
	r, _ := read()
	assert.Equal(t, "passed", r.Result)
	status, detail, notes := servicesStep(t, files.paths[0])
	assert.Equal(t, "changed", status)
	for _, name := range []string{"tftpd-hpa.service", "tftpd-hpa (start links", "telnet turned off", "inetd.service (masked", "openbsd-inetd.service (masked"} {
		assert.Contains(t, detail, name, "the report does not name it")
	}
	assert.Equal(t, []string{"listens at boot: ssh.service (22/tcp)"}, notes)
	// On disk: masks, stop links, the entry commented out as update-inetd does.
	for _, unit := range []string{"tftpd-hpa.service", "inetd.service", "openbsd-inetd.service"} {
		link, err := os.Readlink(tg.Path("etc/systemd/system/" + unit))
		require.NoError(t, err, "%s is not masked", unit)
		assert.Equal(t, "/dev/null", link, "%s is not masked", unit)
	}
	assert.NoFileExists(t, tg.Path("etc/systemd/system/multi-user.target.wants/inetd.service"))
	assert.FileExists(t, tg.Path("etc/rc2.d/K01tftpd-hpa"))
	assert.NoFileExists(t, tg.Path("etc/rc2.d/S01tftpd-hpa"))
	assert.Contains(t, readFile(t, tg.Path("etc/inetd.conf")), "\n#<off># telnet\t")
	assert.FileExists(t, tg.Path("etc/systemd/system/multi-user.target.wants/ssh.service"), "sshd must stay enabled")

	// Audit of the hardened image: nothing to find, in any step.
	tg.Serve()
	start = time.Now()
	tg.harden(t, "ami_harden_services_audit_hardened", `    mode = "audit"`, buildCheck(true, []string{
		"services       ok       none of the 18 service name(s) is installed or on",
		"note: listens at boot: ssh.service (22/tcp)",
		"0 changed, 15 ok, 1 skipped, 0 failed",
	}, func(log string) error {
		if strings.Contains(log, " finding ") {
			t.Errorf("the audit of the hardened image has findings")
		}
		return nil
	}))
	t.Logf("audit of the hardened image: %s", time.Since(start).Round(time.Millisecond))

	start = time.Now()
	boot := tg.Boot()
	t.Logf("hardened image: first boot in %s: %v", time.Since(start).Round(time.Millisecond), boot)
	assert.Equal(t, "22/tcp", boot["listen"], "the hardened image listens on more than sshd's port")
	assert.Equal(t, "active", boot["ssh"])
	assert.Equal(t, "ok", boot["keylogin"])
}

// TestServicesStockImage: on Debian's stock image (none of the default
// services installed) the step says what listens and changes no file; an
// audit with keep_services and disable_services says what was kept.
func TestServicesStockImage(t *testing.T) {
	tg := newTarget(t)
	tg.SSH("sudo -n true")
	before := tg.Snapshot()
	files, _ := reportFiles(t)
	acctest.TestPlugin(t, &acctest.PluginTestCase{
		Name:           "ami_harden_services_stock",
		Type:           "ami-harden",
		Template:       linuxTemplate(`    steps = ["services"]` + "\n" + files.String()),
		BuildExtraArgs: tg.vars(files.vars...),
		Check: buildCheck(true, []string{
			"services       ok       none of the 18 service name(s) is installed or on",
			"note: listens at boot: ssh.service (22/tcp)",
			"1 of 1 steps reported: 0 changed, 1 ok",
		}, nil),
	})
	status, _, notes := servicesStep(t, files.paths[0])
	assert.Equal(t, "ok", status)
	assert.Equal(t, []string{"listens at boot: ssh.service (22/tcp)"}, notes)

	// keep_services and disable_services reach the script: one default
	// fewer, one name more, and the kept one said.
	tg.harden(t, "ami_harden_services_stock_lists", `    mode = "audit"`+"\n"+`    steps = ["services"]`+"\n"+`    keep_services = ["tftpd-hpa"]`+"\n"+`    disable_services = ["cron"]`, buildCheck(true, []string{
		"services       ok       none of the 18 service name(s) is installed or on; kept (keep_services): tftpd-hpa",
	}, nil))
	assertSameSnapshot(t, before, tg.Snapshot())
}

// TestServicesRefusesHardLinkedInetdConf: inetd.conf with a second hard
// link is not rewritten (that would change the other name's file too): the
// step fails naming it, and both names keep telnet on.
func TestServicesRefusesHardLinkedInetdConf(t *testing.T) {
	tg := newCleartextTarget(t)
	require.NoError(t, os.Link(tg.Path("etc/inetd.conf"), tg.Path("root/inetd.conf.hardlink")))
	tg.harden(t, "ami_harden_services_hard_link", `    steps = ["services"]`, buildCheck(false, []string{
		"services       failed   still on: not written: /etc/inetd.conf has more than one hard link",
		"/etc/inetd.conf: telnet is on (/usr/sbin/telnetd)",
	}, nil))
	for _, name := range []string{"etc/inetd.conf", "root/inetd.conf.hardlink"} {
		assert.Contains(t, readFile(t, tg.Path(name)), "\ntelnet\t", "%s was changed", name)
	}
}
