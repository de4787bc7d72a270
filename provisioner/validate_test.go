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

// keep_paths: clean absolute paths on one line, strictly below /tmp,
// /var/tmp or /var/log (the directories the temp and logs steps empty), for
// Linux only; they reach the script as they were written.
func TestKeepPathsValidation(t *testing.T) {
	good := []string{"/var/log/checker.log", "/tmp/app data", "/var/tmp/a*b[1]?", "/tmp/x/y/z", "/var/log/it's \"here\""}
	p := prepared(t, map[string]interface{}{"keep_paths": good})
	assert.Equal(t, good, p.config.KeepPaths)
	body := string(p.guestFor(nil).render([]string{"temp"}, "root"))
	assert.Contains(t, body, "AMI_HARDEN_KEEP_PATHS='"+strings.Join(good[:4], "\n")+"\n/var/log/it'\\''s \"here\"'")

	for _, c := range []struct{ path, err string }{
		{"var/log/x", `keep_paths: "var/log/x" is not a clean absolute path on one line`},
		{"/tmp/", `keep_paths: "/tmp/" is not a clean absolute path`},
		{"/tmp//x", `keep_paths: "/tmp//x" is not a clean absolute path`},
		{"/tmp/./x", `keep_paths: "/tmp/./x" is not a clean absolute path`},
		{"/tmp/../etc/shadow", `keep_paths: "/tmp/../etc/shadow" is not a clean absolute path`},
		{"/tmp/a\nb", `keep_paths: "/tmp/a\nb" is not a clean absolute path on one line`},
		{"/tmp/a\x00b", `keep_paths: "/tmp/a\x00b" is not a clean absolute path on one line`},
		{"/tmp", `keep_paths: "/tmp" is not below /tmp, /var/tmp, /var/log`},
		{"/var/log", `keep_paths: "/var/log" is not below`},
		{"/tmpfoo/x", `keep_paths: "/tmpfoo/x" is not below`},
		{"/var/logs/x", `keep_paths: "/var/logs/x" is not below`},
		{"/var/lib/x", `keep_paths: "/var/lib/x" is not below`},
		{"/etc/passwd", `keep_paths: "/etc/passwd" is not below`},
	} {
		err := (&Provisioner{}).Prepare(map[string]interface{}{"keep_paths": []string{c.path}})
		if assert.Error(t, err, "%q", c.path) {
			assert.Contains(t, err.Error(), c.err)
		}
	}
	err := (&Provisioner{}).Prepare(map[string]interface{}{"guest_os_type": "windows", "keep_paths": []string{"/tmp/x"}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `keep_paths is for guest_os_type = "linux" only`)
}

// kept_paths (lib/kept.sh) and the "! -path" tests the temp and logs
// steps build from it: a kept path and everything below it, and the
// directories on its way, are left out by name, a name with * ? [ ] or \
// matching only itself; a path with a link on its way, one that does not
// exist and one that is not clean are noted and not kept. Only find -print
// runs here, on a tree made in a temporary directory.
func TestKeptPathsMatchLiterally(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "tmp")
	for _, d := range []string{"keep dir/sub", "way/deeper", "real", "aXb1Z"} {
		require.NoError(t, os.MkdirAll(filepath.Join(root, d), 0o755))
	}
	// aXb1Z and backslash are what the kept names would match as globs.
	for _, f := range []string{"keep dir/f1", "keep dir/sub/f2", "a*b[1]?", "aXb1Z/f", `back\slash`, "backslash", "way/deeper/kept.log", "way/deeper/other", "way/other", "real/x"} {
		require.NoError(t, os.WriteFile(filepath.Join(root, f), []byte("x\n"), 0o644))
	}
	require.NoError(t, os.Symlink(filepath.Join(root, "real"), filepath.Join(root, "link")))
	keep := []string{root + "/keep dir", root + "/a*b[1]?", root + `/back\slash`, root + "/way/deeper/kept.log", root + "/link/x",
		root + "/missing", root + "/../etc", dir + "/elsewhere", root + "/way/deeper/kept.log"}
	work := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(work, "mounts"), nil, 0o600))
	probe := "work=" + script.Quote(work) + "\nnl='\n'\nAMI_HARDEN_KEEP_PATHS=" + script.Quote(strings.Join(keep, "\n")) + "\n" +
		"kept_paths temp " + script.Quote(root) + "\n" +
		"set --\nwhile IFS= read -r x; do set -- \"$@\" ! -path \"$x\"; done <\"$work/temp.exclude\"\n" +
		"while IFS= read -r x; do set -- \"$@\" ! -path \"$x\"; done <\"$work/temp.ways.exclude\"\n" +
		"echo '-- taken'; find " + script.Quote(root) + " -mindepth 1 \"$@\" -print | sort\n" +
		"echo '-- kept'; cat \"$work/temp.kept\"; echo '-- ways'; cat \"$work/temp.ways\"\n" +
		"if is_kept temp " + script.Quote(root+"/keep dir/sub/f2") + "; then echo below-kept; fi\n" +
		"if is_kept temp " + script.Quote(root+"/keep dirx") + "; then echo prefix-kept; fi\n" +
		"echo \"-- detail$(kept_detail temp)\"\n"
	out := strings.ReplaceAll(shellRule(t, probe, "lib/reporting.sh", "lib/paths.sh", "lib/wiping.sh", "lib/kept.sh"), root, "R")
	assert.Equal(t, `@@ami-harden note temp not kept (keep_paths): R/link/x: R/link is a symbolic link to R/real, which the step does not follow; it is cleaned as usual
@@ami-harden note temp not found (keep_paths): R/missing
@@ami-harden note temp not kept (keep_paths): R/../etc is not a clean path; it is cleaned as usual
@@ami-harden note temp kept as they are (keep_paths): R/keep dir, R/a*b[1]?, R/back\slash, R/way/deeper/kept.log
-- taken
R/aXb1Z
R/aXb1Z/f
R/backslash
R/link
R/real
R/real/x
R/way/deeper/other
R/way/other
-- kept
R/keep dir
R/a*b[1]?
R/back\slash
R/way/deeper/kept.log
-- ways
R/way
R/way/deeper
below-kept
-- detail; kept 4 path(s) (keep_paths)
`, out)
}
