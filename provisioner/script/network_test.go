package script

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These run the network step's awk programs in a real sh, on files made here
// in a temporary directory: what each makes of a file, and what it says it
// dropped. Nothing of the step itself runs.

// netAwk runs the awk program in the shell variable prog of the network
// step's files on text, with the awk variables vars ("name=value"), and
// returns the new text and what the program wrote to out.
func netAwk(t *testing.T, prog, text string, vars ...string) (got, what string) {
	t.Helper()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in"), filepath.Join(dir, "out")
	require.NoError(t, os.WriteFile(in, []byte(text), 0o644))
	require.NoError(t, os.WriteFile(out, nil, 0o644))
	args := ""
	for _, v := range vars {
		args += " -v " + Quote(v)
	}
	got = runSh(t, "set -u\nwork="+Quote(dir)+"\n"+withoutDirective(file("linux/steps/network.sh"))+
		withoutDirective(file("linux/steps/network.files.sh"))+
		"\nawk -v out="+Quote(out)+args+" \"$"+prog+"\" "+Quote(in)+"\n")
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	return got, string(b)
}

// /etc/hosts loses the build's names and its FQDN, and a line left without
// a name; comments, loopback lines and other names stay as they were.
func TestNetworkHosts(t *testing.T) {
	got, what := netAwk(t, "net_hosts_awk", "127.0.0.1\tlocalhost\n"+
		"127.0.1.1   Build-7.example.test build-7\n"+
		"# build-7 was here\n"+
		"::1     localhost ip6-localhost ip6-loopback\n"+
		"10.0.0.5 db build-70 build-7 # the build\n"+
		"192.168.1.1\n"+
		"10.0.0.6 runner\n", "names=build-7 runner")
	assert.Equal(t, "127.0.0.1\tlocalhost\n"+
		"# build-7 was here\n"+
		"::1     localhost ip6-localhost ip6-loopback\n"+
		"10.0.0.5\tdb build-70 # the build\n"+
		"192.168.1.1\n", got)
	assert.Equal(t, "4 name(s) on 3 line(s)\n", what)

	_, what = netAwk(t, "net_hosts_awk", "127.0.0.1 localhost\n", "names=build-7")
	assert.Empty(t, what, "nothing to drop is no change")
}

// ifcfg: HWADDR, MACADDR, UUID, HOSTNAME and DHCP_HOSTNAME go, with or
// without leading blanks; comments and the rest stay; a kept UUID stays.
func TestNetworkIfcfg(t *testing.T) {
	in := "DEVICE=eth0\nHWADDR=52:54:00:12:34:56\nMACADDR=52:54:00:aa:bb:cc\nUUID=5fb06bd0-0bb0-7ffb-45f1-d6edd65f3e03\n" +
		"  DHCP_HOSTNAME=build-7\nHOSTNAME=build-7\nBOOTPROTO=dhcp\n#HWADDR=old\nMASTER_UUID=1\n"
	got, what := netAwk(t, "net_ifcfg_awk", in, "keepuuid=")
	assert.Equal(t, "DEVICE=eth0\nBOOTPROTO=dhcp\n#HWADDR=old\nMASTER_UUID=1\n", got)
	assert.Equal(t, "HWADDR, MACADDR, UUID, DHCP_HOSTNAME, HOSTNAME\n", what)
	got, what = netAwk(t, "net_ifcfg_awk", in, "keepuuid=1")
	assert.Contains(t, got, "\nUUID=5fb06bd0-0bb0-7ffb-45f1-d6edd65f3e03\n")
	assert.Equal(t, "HWADDR, MACADDR, DHCP_HOSTNAME, HOSTNAME\n", what)
}

// A keyfile: the device sections' mac-address and a fixed cloned address go,
// not the deny list or a cloned-mac-address keyword; uuid only in
// [connection]; dhcp-hostname only when it names the build.
func TestNetworkKeyfile(t *testing.T) {
	in := "[connection]\nid=eth0\nuuid=5fb06bd0-0bb0-7ffb-45f1-d6edd65f3e03\ntype=ethernet\n\n" +
		"[ethernet]\nmac-address=52:54:00:12:34:56\ncloned-mac-address=52:54:00:AA:BB:CC\nmac-address-denylist=52:54:00:00:00:01\n" +
		"[wifi]\ncloned-mac-address=stable\n[vpn]\nmac-address=keep\nuuid=keep\n" +
		"[ipv4]\nmethod=auto\ndhcp-hostname=BUILD-7.example.test\n[ipv6]\ndhcp-hostname=generic\n"
	got, what := netAwk(t, "net_keyfile_awk", in, "keepuuid=", "names=build-7")
	assert.Equal(t, "[connection]\nid=eth0\ntype=ethernet\n\n"+
		"[ethernet]\nmac-address-denylist=52:54:00:00:00:01\n"+
		"[wifi]\ncloned-mac-address=stable\n[vpn]\nmac-address=keep\nuuid=keep\n"+
		"[ipv4]\nmethod=auto\n[ipv6]\ndhcp-hostname=generic\n", got)
	assert.Equal(t, "uuid, mac-address, cloned-mac-address, dhcp-hostname\n", what)
	got, _ = netAwk(t, "net_keyfile_awk", in, "keepuuid=1", "names=")
	assert.Contains(t, got, "uuid=5fb06bd0-0bb0-7ffb-45f1-d6edd65f3e03\n")
	assert.Contains(t, got, "dhcp-hostname=BUILD-7.example.test\n")
}

// networkd: a MAC address in [Match] is found, an address set in [Link] is
// not this check's, an empty MACAddress= resets and pins nothing.
func TestNetworkMatch(t *testing.T) {
	_, what := netAwk(t, "net_match_awk", "[Match]\nMACAddress=52:54:00:12:34:56\nPermanentMACAddress=52:54:00:12:34:57\nName=eth0\n[Link]\nMACAddress=00:11:22:33:44:55\n")
	assert.Equal(t, "MACAddress=, PermanentMACAddress=\n", what)
	_, what = netAwk(t, "net_match_awk", "[Match]\nMACAddress=\nName=eth0\n[Link]\nMACAddress=00:11:22:33:44:55\n")
	assert.Empty(t, what)
}
