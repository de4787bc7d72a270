package provisioner

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ami-harden/packer-plugin-ami-harden/provisioner/script"
	"github.com/ami-harden/packer-plugin-ami-harden/provisioner/steps"
)

// shellRule defines the functions of the Linux script's files (paths below
// script/linux) in a real sh, then runs probe, and returns what it printed.
// The files only define functions and constants: nothing of the hardening
// runs here.
func shellRule(t *testing.T, probe string, files ...string) string {
	t.Helper()
	var src strings.Builder
	src.WriteString("set -u\ntab=$(printf '\\t')\n")
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join("script", "linux", f))
		require.NoError(t, err)
		src.Write(b)
		src.WriteString("\n")
	}
	src.WriteString(probe)
	out, err := exec.Command("sh", "-c", src.String()).CombinedOutput()
	require.NoError(t, err, string(out))
	return string(out)
}

// The provisioner refuses in disable_services what the script would refuse
// itself: the same names, for the same reason. The script checks names in
// lowercase (svc_names lowers them), so it is given them so.
func TestProtectedServicesAreTheScripts(t *testing.T) {
	names := []string{
		"ssh", "sshd", "ssh.service", "ssh.socket", "sshd.service", "ssh@.service", "sshd@x.service",
		"sshd-keygen@.service", "sshd-session", "openssh-server", "openssh", "ssh-agent", "sshguard", "sshguard.target",
		"systemd", "systemd-journald", "systemd-logind.service", "systemd.x", "dbus", "dbus.socket", "dbus-broker",
		"init", "init.d", "initrd", "multi-user.target", "user.slice", "init.scope", "home.mount", "systemd-x.mount",
		"telnet", "vsftpd", "tftpd-hpa", "in.tftpd", "nis", "Spooler", "SSH", "Sshd.Service", "DBUS", "MSSQL$SQLEXPRESS",
	}
	var probe strings.Builder
	for _, n := range names {
		l := strings.ToLower(n)
		probe.WriteString("if svc_protected " + script.Quote(l) + "; then printf '%s\\t%s\\n' " + script.Quote(n) +
			" \"$(svc_protected_why " + script.Quote(l) + ")\"; else printf '%s\\t\\n' " + script.Quote(n) + "; fi\n")
	}
	got := strings.Split(strings.TrimSuffix(shellRule(t, probe.String(), "steps/services.sh"), "\n"), "\n")
	require.Len(t, got, len(names))
	protected := 0
	for i, n := range names {
		want := protectedService(n)
		if want != "" {
			protected++
		}
		assert.Equal(t, n+"\t"+want, got[i], "the script and the provisioner disagree on %q", n)
	}
	assert.Greater(t, protected, 20)
	assert.Less(t, protected, len(names)-8)
	// WinRM is Windows': the Linux script never meets it.
	assert.NotEmpty(t, protectedService("WinRM"))
}

// A wipe path the provisioner lets through is one the script takes, and
// the other way round: the same system directories.
func TestSystemDirsAreTheScripts(t *testing.T) {
	paths := append(append([]string{}, linuxSystemDirs...),
		"/opt", "/srv", "/tmp", "/var/log", "/etc/myapp", "/home/alice", "/root/.aws", "/usr/local", "/mnt", "/lib/x", "/media")
	var probe strings.Builder
	for _, p := range paths {
		probe.WriteString("if system_dir " + script.Quote(p) + "; then echo yes; else echo no; fi\n")
	}
	got := strings.Fields(shellRule(t, probe.String(), "lib/paths.sh"))
	require.Len(t, got, len(paths))
	for i, p := range paths {
		_, why := cleanWipePath(p)
		assert.Equal(t, why != "", got[i] == "yes", "the script and the provisioner disagree on %s", p)
	}
}

// keep_services naming every default leaves nothing for the services step
// to turn off: the script takes the empty list it is given as empty (its
// own default list once replaced an empty one).
func TestKeepingEveryDefaultServiceTurnsNothingOff(t *testing.T) {
	p := prepared(t, map[string]interface{}{"guest_os_type": "linux", "keep_services": script.DefaultServices(steps.Linux)})
	disable, kept := p.config.services(steps.Linux)
	require.Empty(t, disable)
	require.Len(t, kept, len(script.DefaultServices(steps.Linux)))
	body := string(p.guestFor(nil).render([]string{"services"}, "root"))
	// Everything but the run: the definitions, then svc_names alone, which
	// writes only below $work.
	tail := "\n[ \"$AMI_HARDEN_REMOVE_SELF\" = 1 ] && rm -f -- \"$0\"\n\nmain\n"
	require.True(t, strings.HasSuffix(body, tail))
	work := t.TempDir()
	probe := strings.TrimSuffix(body, tail) + "\nwork=" + script.Quote(work) + "\ntab=$(printf '\\t')\nsvc_names\n"
	out, err := exec.Command("sh", "-c", probe).CombinedOutput()
	require.NoError(t, err, string(out))
	names, err := os.ReadFile(filepath.Join(work, "svc_names"))
	require.NoError(t, err)
	assert.Empty(t, string(names), "no service to turn off")
}
