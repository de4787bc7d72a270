package provisioner

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Malformed configurations: each fails Prepare (what `packer validate`
// runs) with an error naming the field, and none panics.
func TestPrepareBadConfigTable(t *testing.T) {
	cases := []struct {
		name  string
		raw   map[string]interface{}
		field string
	}{
		{"unknown step", map[string]interface{}{"steps": []string{"sshd", "fierwall"}}, `steps: unknown step "fierwall"`},
		{"unknown skip step", map[string]interface{}{"skip_steps": []string{"log"}}, `skip_steps: unknown step "log"`},
		{"step in both lists", map[string]interface{}{"steps": []string{"temp"}, "skip_steps": []string{"temp"}}, `step "temp" is in both steps and skip_steps`},
		{"steps not a list", map[string]interface{}{"steps": map[string]string{"a": "b"}}, "steps"},
		{"shred_passes not a number", map[string]interface{}{"shred_passes": "many"}, "shred_passes"},
		{"sshd_settings not a map", map[string]interface{}{"sshd_settings": []string{"UseDNS no"}}, "sshd_settings"},
		{"sysprep_shutdown not a bool", map[string]interface{}{"sysprep_shutdown": "perhaps"}, "sysprep_shutdown"},
		{"relative wipe path", map[string]interface{}{"wipe_paths": []string{"home/x/.env"}}, `wipe_paths: "home/x/.env" is not an absolute path`},
		{"wipe path with a newline", map[string]interface{}{"wipe_paths": []string{"/a\n/b"}}, `wipe_paths: "/a\n/b" contains a line break or NUL`},
		{"wipe path with NUL", map[string]interface{}{"wipe_paths": []string{"/a\x00b"}}, "wipe_paths:"},
		{"wipe path is the root", map[string]interface{}{"wipe_paths": []string{"//"}}, `wipe_paths: "//" resolves to /`},
		{"wipe path /. is the root", map[string]interface{}{"wipe_paths": []string{"/."}}, `wipe_paths: "/." resolves to /:`},
		{"wipe path /usr/.. is the root", map[string]interface{}{"wipe_paths": []string{"/usr/.."}}, `wipe_paths: "/usr/.." resolves to /:`},
		{"wipe path /etc", map[string]interface{}{"wipe_paths": []string{"/etc/"}}, `wipe_paths: "/etc/" resolves to /etc:`},
		{"wipe path into /var", map[string]interface{}{"wipe_paths": []string{"/var/log/../."}}, `wipe_paths: "/var/log/../." resolves to /var:`},
		{"wipe path /lib64", map[string]interface{}{"wipe_paths": []string{"/opt/../lib64"}}, `resolves to /lib64:`},
		{"wipe path /proc", map[string]interface{}{"wipe_paths": []string{"/proc"}}, `resolves to /proc:`},
		{"wipe path a drive root", map[string]interface{}{"wipe_paths": []string{`C:\`}}, `resolves to C:\: a drive root`},
		{"wipe path a drive root, dotted", map[string]interface{}{"wipe_paths": []string{`D:\Temp\..`}}, `resolves to D:\: a drive root`},
		{"wipe path C:/Windows", map[string]interface{}{"guest_os_type": "windows", "wipe_paths": []string{`c:/windows/`}}, `a drive root or a system folder`},
		{"empty sshd value", map[string]interface{}{"sshd_settings": map[string]string{"UseDNS": "  "}}, "sshd_settings: UseDNS has an empty value"},
		{"sshd keyword that cannot be one", map[string]interface{}{"sshd_settings": map[string]string{"Password-Authentication": "no"}}, `sshd_settings: "Password-Authentication" is not an sshd keyword: letters and digits only`},
		{"Match in sshd_settings", map[string]interface{}{"sshd_settings": map[string]string{"Match": "User x"}}, `sshd_settings: Match is not supported here`},
		{"Include in sshd_settings", map[string]interface{}{"sshd_settings": map[string]string{"include": "/etc/x"}}, `sshd_settings: include is not supported here`},
		{"multi-line sshd value", map[string]interface{}{"sshd_settings": map[string]string{"Banner": "/etc/issue\nPasswordAuthentication yes"}}, "sshd_settings: the value of Banner must be one line"},
		{"windows option on linux", map[string]interface{}{"guest_os_type": "linux", "sysprep": "none"}, `sysprep is for guest_os_type = "windows" only`},
		{"keep a service that is no default", map[string]interface{}{"keep_services": []string{"sshd"}}, `keep_services: "sshd" is not on the services step's default list`},
		{"keep a windows default on linux", map[string]interface{}{"guest_os_type": "linux", "keep_services": []string{"Spooler"}}, `keep_services: "Spooler" is not on the services step's default list`},
		{"service kept and disabled", map[string]interface{}{"keep_services": []string{"vsftpd"}, "disable_services": []string{"vsftpd"}}, `service "vsftpd" is in both disable_services and keep_services`},
		{"disable sshd", map[string]interface{}{"disable_services": []string{"ssh.socket"}}, `disable_services: "ssh.socket" is sshd, which the build runs over and the image is reached through: never disabled`},
		{"disable WinRM", map[string]interface{}{"disable_services": []string{"WinRM"}}, `disable_services: "WinRM" is WinRM, which the build runs over: never disabled`},
		{"disable a target", map[string]interface{}{"disable_services": []string{"multi-user.target"}}, `disable_services: "multi-user.target" is a systemd target, not a service: never disabled`},
		{"disable systemd's own", map[string]interface{}{"disable_services": []string{"systemd-journald"}}, `is the service manager's own: never disabled`},
		{"unknown guest_os_type says unix is not one", map[string]interface{}{"guest_os_type": "unix"}, `guest_os_type: "unix" is neither linux nor windows`},
		{"service name with a space", map[string]interface{}{"disable_services": []string{"Print Spooler"}}, `disable_services: "Print Spooler" is not a service name`},
		{"environment variable without =", map[string]interface{}{"environment_vars": []string{"FOO"}}, `environment_vars: "FOO" is not KEY=value`},
		{"environment variable with a bad name", map[string]interface{}{"environment_vars": []string{"FOO-BAR=1"}}, `environment_vars: "FOO-BAR=1" is not KEY=value`},
		{"environment variable of the script", map[string]interface{}{"environment_vars": []string{"AMI_HARDEN_MODE=audit"}}, `environment_vars: AMI_HARDEN_MODE: names starting with AMI_HARDEN_ are the script's own`},
		{"negative start_retry_timeout", map[string]interface{}{"start_retry_timeout": "-1m"}, "start_retry_timeout must be positive"},
		{"sysprep on linux", map[string]interface{}{"guest_os_type": "linux", "sysprep_shutdown": true}, `sysprep_shutdown is for guest_os_type = "windows" only`},
		{"power_off_timeout on linux", map[string]interface{}{"guest_os_type": "linux", "power_off_timeout": "1h"}, `power_off_timeout is for guest_os_type = "windows" only`},
		{"negative power_off_timeout", map[string]interface{}{"power_off_timeout": "-1m"}, "power_off_timeout must be positive"},
		{"elevated_user on linux", map[string]interface{}{"guest_os_type": "linux", "elevated_user": "a", "elevated_password": "b"}, `elevated_user is for guest_os_type = "windows" only`},
		{"linux option on windows", map[string]interface{}{"guest_os_type": "windows", "sshd_settings": map[string]string{"UseDNS": "no"}}, `sshd_settings is for guest_os_type = "linux" only`},
		{"keep_users with a bad name", map[string]interface{}{"keep_users": []string{"ops; rm"}}, `keep_users: "ops; rm" is not an account name`},
		{"a windows account name with a slash", map[string]interface{}{"guest_os_type": "windows", "keep_users": []string{`DOM/ops`}}, `keep_users: "DOM/ops" is not an account name`},
		{"a windows account name over 20 characters", map[string]interface{}{"guest_os_type": "windows", "remove_users": []string{"abcdefghijklmnopqrstu"}}, `remove_users: "abcdefghijklmnopqrstu" is not an account name that can be removed`},
		{"sysprep_timeout on linux", map[string]interface{}{"guest_os_type": "linux", "sysprep_timeout": "5m"}, `sysprep_timeout is for guest_os_type = "windows" only`},
		{"unknown os", map[string]interface{}{"guest_os_type": "macos"}, `guest_os_type: "macos" is neither linux nor windows`},
		{"unknown mode", map[string]interface{}{"mode": "check"}, `mode: "check" is neither enforce nor audit`},
		{"unknown on_failure", map[string]interface{}{"on_failure": "ignore"}, `on_failure: "ignore" is neither abort nor continue`},
		{"same report files", map[string]interface{}{"report_file": "r", "junit_file": "r"}, "report_file and junit_file must be different files"},
		{"remote path with a quote", map[string]interface{}{"remote_path": "/tmp/a'b.sh"}, "remote_path:"},
		{"unknown sshd_algorithms", map[string]interface{}{"sshd_algorithms": "fips"}, `sshd_algorithms: "fips" is not modern`},
		{"sshd_algorithms on windows", map[string]interface{}{"guest_os_type": "windows", "sshd_algorithms": "modern"}, `sshd_algorithms is for guest_os_type = "linux" only`},
		{"keep path outside the cleaned directories", map[string]interface{}{"keep_paths": []string{"/etc/shadow"}}, `keep_paths: "/etc/shadow" is not below /tmp, /var/tmp, /var/log`},
		{"keep path that is a cleaned directory itself", map[string]interface{}{"keep_paths": []string{"/var/log"}}, `keep_paths: "/var/log" is not below`},
		{"keep path not clean", map[string]interface{}{"keep_paths": []string{"/var/log/../../etc"}}, `keep_paths: "/var/log/../../etc" is not a clean absolute path`},
		{"keep path relative", map[string]interface{}{"keep_paths": []string{"tmp/x"}}, `keep_paths: "tmp/x" is not a clean absolute path`},
		{"require_key_installer on windows", map[string]interface{}{"guest_os_type": "windows", "require_key_installer": false}, `require_key_installer is for guest_os_type = "linux" only`},
		{"wipe_free_space off but named in steps", map[string]interface{}{"wipe_free_space": false, "steps": []string{"logs", "free-space"}}, `wipe_free_space = false, but steps names free-space`},
		{"wipe_free_space on but skipped", map[string]interface{}{"wipe_free_space": true, "skip_steps": []string{"free-space"}}, `wipe_free_space = true, but skip_steps names free-space`},
		{"wipe_free_space_exclude relative", map[string]interface{}{"wipe_free_space_exclude": []string{"data"}}, `wipe_free_space_exclude: "data" is not a clean absolute path`},
		{"unknown option", map[string]interface{}{"stepz": []string{"sshd"}}, "stepz"},
		{"broken execute_command", map[string]interface{}{"execute_command": "{{.Path"}, "execute_command"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := &Provisioner{}
			var err error
			require.NotPanics(t, func() { err = p.Prepare(c.raw) })
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.field)
		})
	}
}

// Extra paths reach the script cleaned: "." and ".." parts are gone, so the
// script sees the path the user meant and no check can be walked around.
func TestPrepareCleansWipePaths(t *testing.T) {
	p := &Provisioner{}
	require.NoError(t, p.Prepare(map[string]interface{}{
		"wipe_paths": []string{"/srv/extra/./secret-dir/", "/srv/extra/../extra/file.txt", "/etc/myapp/token", `C:\Users\me\.aws`},
	}))
	assert.Equal(t, []string{"/srv/extra/secret-dir", "/srv/extra/file.txt", "/etc/myapp/token", `C:\Users\me\.aws`}, p.config.WipePaths)
}

// Paths with spaces, quotes and shell syntax are legal: they are data.
func TestPrepareAcceptsOddPaths(t *testing.T) {
	p := &Provisioner{}
	require.NoError(t, p.Prepare(map[string]interface{}{
		"wipe_paths": []string{"/opt/my app/it's \"here\"", "/opt/$(reboot)", "/opt/`id`;rm -rf /", `C:\Users\me\it's.txt`},
	}))
}
