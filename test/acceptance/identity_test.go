package acceptance

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// identityFile is a file seeded into a target: its path in the image, its
// contents and mode.
type identityFile struct {
	path, text string
	mode       os.FileMode
}

// identityWord is a random word of n bytes, hex, after prefix: each seeded
// value is one of its own, so that a scan of the disk says which survived.
func identityWord(t *testing.T, prefix string, n int) string {
	t.Helper()
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return prefix + hex.EncodeToString(b)
}

// identityMAC is a made-up MAC address of the build (QEMU's prefix).
func identityMAC(t *testing.T) string {
	w := identityWord(t, "", 3)
	return "52:54:00:" + w[0:2] + ":" + w[2:4] + ":" + w[4:6]
}

// identityUUID is a made-up profile UUID.
func identityUUID(t *testing.T) string {
	w := identityWord(t, "", 16)
	return w[0:8] + "-" + w[8:12] + "-" + w[12:16] + "-" + w[16:20] + "-" + w[20:32]
}

// seed writes the files into tg, their directories root's and 0755.
func seed(t *testing.T, tg *target, files []identityFile) {
	t.Helper()
	for _, f := range files {
		require.NoError(t, os.MkdirAll(filepath.Dir(tg.Path(f.path)), 0o755))
		require.NoError(t, os.WriteFile(tg.Path(f.path), []byte(f.text), f.mode))
		require.NoError(t, os.Chmod(tg.Path(f.path), f.mode))
	}
}

// scanWords scans tg's disk once for all words: how often each occurs.
func scanWords(t *testing.T, tg *target, words []string) map[string]int {
	t.Helper()
	syscall.Sync()
	got := map[string]int{}
	for w, offs := range scanFile(t, tg.Dir+".img", words) {
		got[w] = len(offs)
	}
	return got
}

// logSteps logs the network and enrolment steps' lines of a build's log, with
// their findings and notes: what a run printed, in the test's output.
func logSteps(t *testing.T, log string) {
	t.Helper()
	var b strings.Builder
	for _, line := range strings.Split(log, "\n") {
		line = strings.ReplaceAll(line, "\x1b[0m", "")
		for _, mark := range []string{"network        ", "enrolment      ", "               - ", "               note: "} {
			if i := strings.Index(line, mark); i >= 0 {
				b.WriteString("\n" + line[i:])
				break
			}
		}
	}
	t.Logf("the steps' lines:%s", b.String())
}

// TestIdentity: the network and enrolment steps in a default build (without
// the free-space step, so that only the steps' own overwriting can clear the
// disk) on Debian bookworm and trixie. Every seeded file that tied the image
// to the build is gone or generic, with exact contents; what must stay
// stays; the report names each change; no seeded value is left in any block
// of the disk; and the image boots with a host name that is not the build's.
func TestIdentity(t *testing.T) {
	for _, img := range []image{bookworm, trixie} {
		t.Run(img.Name, func(t *testing.T) { hardenIdentity(t, img) })
	}
}

func hardenIdentity(t *testing.T, img image) {
	start := time.Now()
	tg := newTargetOf(t, img)
	host, err := os.Hostname()
	require.NoError(t, err)
	build := identityWord(t, "amihb", 6)
	macUdev, macHW, macSet, macNM, macState := identityMAC(t), identityMAC(t), identityMAC(t), identityMAC(t), identityMAC(t)
	uuidIfcfg, uuidEth0, uuidPort, uuidBond := identityUUID(t), identityUUID(t), identityUUID(t), identityUUID(t)
	m := map[string]string{}
	for _, k := range []string{"udev", "keytab", "ipa", "ipasys", "sssdb", "sssconf", "sssmc", "puppetkey", "puppetcert",
		"puppetvar", "chef", "saltpem", "saltpub", "saltmaster", "saltid", "ssmreg", "ssmkey", "ssmcreds", "protoken",
		"proid", "rhcert", "rhkey", "rhent", "rhentkey", "insid", "insreg", "secretkey", "timestamps", "bssids"} {
		m[k] = identityWord(t, "AMIHID", 8)
	}
	// What a build machine leaves: its cards' names, addresses and UUIDs,
	// its host name, NetworkManager's state, its enrolments.
	network := []identityFile{
		{"etc/udev/rules.d/70-persistent-net.rules", "# " + m["udev"] + "\nSUBSYSTEM==\"net\", ACTION==\"add\", ATTR{address}==\"" + macUdev + "\", NAME=\"eth0\"\n", 0o644},
		{"etc/sysconfig/network-scripts/ifcfg-eth0", "DEVICE=eth0\nHWADDR=" + macHW + "\nMACADDR=" + macSet + "\nUUID=" + uuidIfcfg +
			"\nBOOTPROTO=dhcp\nDHCP_HOSTNAME=" + build + "\nONBOOT=yes\n", 0o644},
		{"etc/NetworkManager/system-connections/eth0.nmconnection", "[connection]\nid=eth0\nuuid=" + uuidEth0 + "\ntype=ethernet\n\n[ethernet]\nmac-address=" +
			macNM + "\n\n[ipv4]\nmethod=auto\ndhcp-hostname=" + build + "\n\n[ipv6]\nmethod=auto\n", 0o600},
		// A bond and its port: the port names the bond by its UUID, which must stay.
		{"etc/NetworkManager/system-connections/bond0.nmconnection", "[connection]\nid=bond0\nuuid=" + uuidBond + "\ntype=bond\ninterface-name=bond0\n\n[ipv4]\nmethod=auto\n", 0o600},
		{"etc/NetworkManager/system-connections/eth1.nmconnection", "[connection]\nid=bond0-port\nuuid=" + uuidPort +
			"\ntype=ethernet\ninterface-name=eth1\nmaster=" + uuidBond + "\nslave-type=bond\n", 0o600},
		{"var/lib/NetworkManager/secret_key", m["secretkey"] + "\n", 0o600},
		{"var/lib/NetworkManager/timestamps", "[timestamps]\n" + uuidEth0 + "=1700000000\n# " + m["timestamps"] + "\n", 0o600},
		{"var/lib/NetworkManager/seen-bssids", "[seen-bssids]\n" + uuidEth0 + "=" + m["bssids"] + ",\n", 0o600},
		{"var/lib/NetworkManager/no-auto-default.state", macState + ",\n", 0o644},
		{"var/lib/NetworkManager/dhclient-eth0.conf", "send host-name \"" + build + "\";\n", 0o644},
		{"etc/hostname", build + "\n", 0o644},
		// The last line is what the rig added for sudo: the name of the
		// machine the chroot runs on, which `hostname` says in the chroot.
		{"etc/hosts", "127.0.0.1\tlocalhost\n127.0.1.1\t" + build + ".example.test " + build + "\n::1\tlocalhost ip6-localhost ip6-loopback\n" +
			"10.1.2.3\tother-host " + build + "\n127.0.1.1\t" + host + "\n", 0o644},
	}
	// What must stay as it is: settings without a pin.
	keep := []identityFile{
		{"var/lib/NetworkManager/NetworkManager.state", "[main]\nNetworkingEnabled=true\n", 0o644},
		{"etc/systemd/network/20-wired.network", "[Match]\nName=en*\n\n[Network]\nDHCP=yes\n", 0o644},
		{"etc/netplan/01-dhcp.yaml", "network:\n  version: 2\n  ethernets:\n    all:\n      match:\n        name: \"en*\"\n      dhcp4: true\n", 0o600},
		{"etc/ipa/ca.crt", "the realm's public CA certificate (test)\n", 0o644},
		{"etc/sssd/sssd.conf", "[sssd]\ndomains = example.test\n\n[domain/example.test]\nid_provider = ipa\n", 0o600},
		{"etc/chef/client.rb", "chef_server_url 'https://chef.example.test/organizations/test'\n", 0o644},
		{"etc/salt/minion", "master: salt.example.test\n", 0o644},
		{"etc/pki/product/69.pem", "a product certificate (test)\n", 0o644},
	}
	enrolment := []identityFile{
		{"etc/krb5.keytab", "\x05\x02host/" + build + ".example.test " + m["keytab"] + "\n", 0o600},
		{"etc/ipa/default.conf", "[global]\nhost = " + build + ".example.test\nrealm = EXAMPLE.TEST\n# " + m["ipa"] + "\n", 0o644},
		{"var/lib/ipa-client/sysrestore/sysrestore.index", "[files]\n" + m["ipasys"] + "\n", 0o600},
		{"var/lib/sss/db/cache_example.test.ldb", m["sssdb"] + "\n", 0o600},
		{"var/lib/sss/db/config.ldb", m["sssconf"] + "\n", 0o600},
		{"var/lib/sss/mc/passwd", m["sssmc"] + "\n", 0o644},
		{"etc/puppetlabs/puppet/ssl/private_keys/node1.pem", m["puppetkey"] + "\n", 0o640},
		{"etc/puppetlabs/puppet/ssl/certs/node1.pem", m["puppetcert"] + "\n", 0o644},
		{"var/lib/puppet/ssl/private_keys/node1.pem", m["puppetvar"] + "\n", 0o600},
		{"etc/chef/client.pem", m["chef"] + "\n", 0o600},
		{"etc/salt/pki/minion/minion.pem", m["saltpem"] + "\n", 0o400},
		{"etc/salt/pki/minion/minion.pub", m["saltpub"] + "\n", 0o644},
		{"etc/salt/pki/minion/minion_master.pub", m["saltmaster"] + "\n", 0o644},
		{"etc/salt/minion_id", m["saltid"] + "\n", 0o644},
		{"var/lib/amazon/ssm/registration", `{"ManagedInstanceID":"mi-` + m["ssmreg"] + `"}` + "\n", 0o600},
		{"var/lib/amazon/ssm/Vault/Store/RegistrationKey", `{"privateKey":"` + m["ssmkey"] + `"}` + "\n", 0o600},
		{"var/lib/amazon/ssm/credentials", "[default]\n" + m["ssmcreds"] + "\n", 0o600},
		{"var/lib/ubuntu-advantage/private/machine-token.json", `{"machineToken":"` + m["protoken"] + `"}` + "\n", 0o600},
		{"var/lib/ubuntu-advantage/private/machine-id", m["proid"] + "\n", 0o600},
		{"etc/pki/consumer/cert.pem", m["rhcert"] + "\n", 0o644},
		{"etc/pki/consumer/key.pem", m["rhkey"] + "\n", 0o600},
		{"etc/pki/entitlement/1234.pem", m["rhent"] + "\n", 0o644},
		{"etc/pki/entitlement/1234-key.pem", m["rhentkey"] + "\n", 0o600},
		{"etc/insights-client/machine-id", m["insid"] + "\n", 0o644},
		{"etc/insights-client/.registered", m["insreg"] + "\n", 0o644},
	}
	seed(t, tg, network)
	seed(t, tg, keep)
	seed(t, tg, enrolment)
	words := []string{build, macUdev, macHW, macSet, macNM, macState, uuidIfcfg, uuidEth0, uuidPort}
	for _, w := range m {
		words = append(words, w)
	}
	// The scan must see every seeded value first, or its zeros prove nothing.
	before := scanWords(t, tg, words)
	for _, w := range words {
		require.NotZero(t, before[w], "the disk scan does not find %s before the build", w)
	}
	t.Logf("%s: target up and seeded in %s", img.Name, time.Since(start).Round(time.Millisecond))

	start = time.Now()
	nm := "/etc/NetworkManager/system-connections/"
	tg.harden(t, "ami_harden_identity_"+img.Name, "    wipe_free_space = false", buildCheck(true, []string{
		"network        changed  removed /etc/udev/rules.d/70-persistent-net.rules; " +
			"/etc/sysconfig/network-scripts/ifcfg-eth0: dropped HWADDR, MACADDR, UUID, DHCP_HOSTNAME; " +
			nm + "eth0.nmconnection: dropped uuid, mac-address, dhcp-hostname; " + nm + "eth1.nmconnection: dropped uuid; " +
			"removed NetworkManager's state of the build (/var/lib/NetworkManager/secret_key, /var/lib/NetworkManager/timestamps, " +
			"/var/lib/NetworkManager/seen-bssids, /var/lib/NetworkManager/no-auto-default.state, /var/lib/NetworkManager/dhclient-eth0.conf); " +
			"set /etc/hostname to localhost; /etc/hosts: the build's host name dropped (",
		"note: kept the UUID of " + nm + "bond0.nmconnection: " + nm + "eth1.nmconnection names it",
		"enrolment      changed  overwrote and removed: the host Kerberos keytab: /etc/krb5.keytab; " +
			"FreeIPA's client enrolment: /etc/ipa/default.conf, /var/lib/ipa-client/sysrestore/sysrestore.index; " +
			"SSSD's caches: /var/lib/sss/db/cache_example.test.ldb, /var/lib/sss/db/config.ldb, /var/lib/sss/mc/passwd; " +
			"Puppet's agent SSL keys: /etc/puppetlabs/puppet/ssl, /var/lib/puppet/ssl; Chef's client key: /etc/chef/client.pem; " +
			"Salt's minion keys and ID: /etc/salt/pki/minion/minion.pem, /etc/salt/pki/minion/minion.pub, /etc/salt/pki/minion/minion_master.pub, /etc/salt/minion_id; " +
			"the SSM Agent's registration: /var/lib/amazon/ssm/registration, /var/lib/amazon/ssm/Vault, /var/lib/amazon/ssm/credentials; " +
			"Ubuntu Pro's machine token: /var/lib/ubuntu-advantage/private/machine-id, /var/lib/ubuntu-advantage/private/machine-token.json; " +
			"Red Hat's subscription certificates: /etc/pki/consumer/cert.pem, /etc/pki/consumer/key.pem, /etc/pki/entitlement/1234-key.pem, /etc/pki/entitlement/1234.pem; " +
			"Insights' machine ID: /etc/insights-client/machine-id, /etc/insights-client/.registered",
		"note: each instance must join its domain again",
	}, func(log string) error {
		logSteps(t, log)
		if strings.Contains(log, build) || strings.Contains(log, "AMIHID") {
			return fmt.Errorf("a seeded value appears in packer's output")
		}
		return nil
	}))
	t.Logf("%s: default build (wipe_free_space = false) in %s", img.Name, time.Since(start).Round(time.Millisecond))

	// Generic now, exactly: the pins, UUIDs and names gone, the rest as it was.
	hosts := "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n10.1.2.3\tother-host\n"
	if strings.HasPrefix(host, "localhost") {
		hosts += "127.0.1.1\t" + host + "\n"
	}
	for path, want := range map[string]string{
		"etc/sysconfig/network-scripts/ifcfg-eth0":                "DEVICE=eth0\nBOOTPROTO=dhcp\nONBOOT=yes\n",
		"etc/NetworkManager/system-connections/eth0.nmconnection": "[connection]\nid=eth0\ntype=ethernet\n\n[ethernet]\n\n[ipv4]\nmethod=auto\n\n[ipv6]\nmethod=auto\n",
		"etc/NetworkManager/system-connections/eth1.nmconnection": "[connection]\nid=bond0-port\ntype=ethernet\ninterface-name=eth1\nmaster=" + uuidBond + "\nslave-type=bond\n",
		"etc/hostname": "localhost\n",
		"etc/hosts":    hosts,
	} {
		assert.Equal(t, want, readFile(t, tg.Path(path)), "%s is not what the step makes of it", path)
	}
	// In place: NetworkManager reads only keyfiles that root alone can read.
	fi, err := os.Stat(tg.Path("etc/NetworkManager/system-connections/eth0.nmconnection"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	for _, f := range append(append([]identityFile{}, keep...), network[3]) {
		assert.Equal(t, f.text, readFile(t, tg.Path(f.path)), "%s must stay as it was", f.path)
	}
	for _, f := range append(append([]identityFile{}, network[0]), network[5:10]...) {
		assert.NoFileExists(t, tg.Path(f.path))
	}
	for _, f := range enrolment {
		assert.NoFileExists(t, tg.Path(f.path))
	}
	for _, d := range []string{"etc/puppetlabs/puppet/ssl", "var/lib/puppet/ssl", "var/lib/amazon/ssm/Vault"} {
		assert.NoDirExists(t, tg.Path(d))
	}

	// Overwritten, not just unlinked or rewritten: no seeded value in any block.
	after := scanWords(t, tg, words)
	counts := make([]string, 0, len(words))
	for _, w := range words {
		counts = append(counts, fmt.Sprintf("%d->%d", before[w], after[w]))
		if after[w] != 0 {
			t.Errorf("%s is still on the disk: %v", w, tg.WhereOnDisk(w))
		}
	}
	t.Logf("%s: %d seeded values on the raw disk, occurrences before->after: %s", img.Name, len(words), strings.Join(counts, " "))

	start = time.Now()
	boot := tg.Boot()
	t.Logf("%s: first boot in %s: hostname=%q ssh=%s", img.Name, time.Since(start).Round(time.Millisecond), boot["hostname"], boot["ssh"])
	require.Contains(t, boot, "hostname", "the boot probe reports no host name")
	assert.NotEmpty(t, boot["hostname"])
	assert.NotEqual(t, build, boot["hostname"], "the image boots with the build's host name")
	assert.NotContains(t, boot["hostname"], build)
	assert.Equal(t, "active", boot["ssh"])
}

// TestIdentityPinned: files pinned to the build's MAC address that the
// network step does not edit (a networkd .network file, a netplan file, an
// ifupdown file, and cloud-init's netplan file on an image where nothing
// writes it again), and a host keytab that a Kerberized NFS mount in fstab
// needs at boot, are findings in audit mode, which changes nothing; in a
// build they fail their steps, named with what to change, and stay as they
// were, while the rest is done.
func TestIdentityPinned(t *testing.T) {
	tg := newTargetOf(t, bookworm)
	build := identityWord(t, "amihb", 6)
	cloudInit := "# This file is generated from information provided by the datasource.  Changes\n" +
		"# to it will not persist across an instance reboot.  To disable cloud-init's\n" +
		"# network configuration capabilities, write a file\n" +
		"# /etc/cloud/cloud.cfg.d/99-disable-network-config.cfg with the following:\n# network: {config: disabled}\n"
	netplan := func(mac string) string {
		return "network:\n  version: 2\n  ethernets:\n    eth0:\n      match:\n        macaddress: \"" + mac + "\"\n      set-name: eth0\n      dhcp4: true\n"
	}
	pinned := []identityFile{
		{"etc/systemd/network/10-eth0.network", "[Match]\nMACAddress=" + identityMAC(t) + "\n\n[Network]\nDHCP=yes\n", 0o644},
		{"etc/netplan/01-build.yaml", netplan(identityMAC(t)), 0o600},
		{"etc/netplan/50-cloud-init.yaml", cloudInit + netplan(identityMAC(t)), 0o600},
		{"etc/network/interfaces.d/eth0", "auto eth0\niface eth0 inet dhcp\n    hwaddress ether " + identityMAC(t) + "\n", 0o644},
	}
	seed(t, tg, pinned)
	seed(t, tg, []identityFile{
		{"etc/hostname", build + "\n", 0o644},
		{"etc/udev/rules.d/70-persistent-net.rules", "SUBSYSTEM==\"net\", ATTR{address}==\"" + identityMAC(t) + "\", NAME=\"eth0\"\n", 0o644},
		{"etc/chef/client.pem", identityWord(t, "AMIHID", 8) + "\n", 0o600},
		// Home directories from a Kerberized NFS server at boot: the host
		// keytab is what mounts them, and it must stay.
		{"etc/krb5.keytab", "host keytab (test)\n", 0o600},
	})
	fstab, err := os.OpenFile(tg.Path("etc/fstab"), os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	require.NoError(t, err)
	_, err = fstab.WriteString("nfs.example.test:/home /home nfs4 sec=krb5p,_netdev 0 0\n")
	require.NoError(t, err)
	require.NoError(t, fstab.Close())
	kept := "the host Kerberos keytab (/etc/krb5.keytab): /etc/fstab mounts NFS with sec=krb5 at boot, which needs it"
	stops := []string{
		"/etc/systemd/network/10-eth0.network: [Match] MACAddress= ties it to the build's card: match on Name=, Type= or Driver= instead (not changed)",
		"/etc/netplan/01-build.yaml: macaddress: ties it to the build's card: match on name: or driver: instead, and set no macaddress: (not changed)",
		"/etc/netplan/50-cloud-init.yaml: macaddress: ties it to the build's card: match on name: or driver: instead, and set no macaddress: " +
			"(not changed: cloud-init is not installed or its network configuration is disabled, so nothing writes it again)",
		"/etc/network/interfaces.d/eth0: hwaddress gives every instance the build's MAC address: remove that line (not changed)",
	}

	// Debian's sudo leaves ~/.sudo_as_admin_successful at the first sudo:
	// the login's trace, not the audit's.
	tg.SSH("sudo -n true")
	snap := tg.Snapshot()
	start := time.Now()
	want := []string{"network        finding  ", "enrolment      finding  2 finding(s)", "- the step would keep " + kept + ", and fail",
		"- /etc/udev/rules.d/70-persistent-net.rules names the cards by the build's MAC addresses",
		"- /etc/hostname names this machine (it would say localhost)",
		"- /etc/chef/client.pem (Chef's client key) exists"}
	for _, s := range stops {
		want = append(want, "- "+s)
	}
	tg.harden(t, "ami_harden_identity_pinned_audit", "    mode = \"audit\"\n    steps = [\"network\", \"enrolment\"]", buildCheck(false, want,
		func(log string) error { logSteps(t, log); return nil }))
	t.Logf("audit: %s", time.Since(start).Round(time.Millisecond))
	assertSameSnapshot(t, snap, tg.Snapshot())

	start = time.Now()
	tg.harden(t, "ami_harden_identity_pinned", "    steps = [\"network\", \"enrolment\"]", buildCheck(false, []string{
		"network        failed   " + strings.Join(stops, "; ") + "; done: removed /etc/udev/rules.d/70-persistent-net.rules; set /etc/hostname to localhost",
		"enrolment      failed   kept " + kept + "; to ship them on purpose: skip_steps = [\"enrolment\"]; overwrote and removed: Chef's client key: /etc/chef/client.pem",
		"step network failed",
	}, func(log string) error { logSteps(t, log); return nil }))
	t.Logf("build: %s", time.Since(start).Round(time.Millisecond))
	for _, f := range pinned {
		assert.Equal(t, f.text, readFile(t, tg.Path(f.path)), "%s was changed", f.path)
	}
	assert.Equal(t, "localhost\n", readFile(t, tg.Path("etc/hostname")))
	assert.NoFileExists(t, tg.Path("etc/udev/rules.d/70-persistent-net.rules"))
	assert.NoFileExists(t, tg.Path("etc/chef/client.pem"))
	assert.Equal(t, "host keytab (test)\n", readFile(t, tg.Path("etc/krb5.keytab")), "the keytab that boot needs was changed")
}
