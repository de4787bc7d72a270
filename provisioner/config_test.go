package provisioner

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ami-harden/packer-plugin-ami-harden/provisioner/script"
	"github.com/ami-harden/packer-plugin-ami-harden/provisioner/steps"
)

func TestPrepareDefaults(t *testing.T) {
	p := &Provisioner{}
	require.NoError(t, p.Prepare(map[string]interface{}{}))
	assert.Equal(t, steps.Names(steps.Linux), p.config.selectedSteps(steps.Linux))
	assert.Equal(t, steps.Names(steps.Windows), p.config.selectedSteps(steps.Windows))
	assert.Equal(t, 1, p.config.ShredPasses)
	assert.Equal(t, script.DefaultSSHDSettings, p.config.sshdSettings())
	disable, kept := p.config.services(steps.Windows)
	assert.Equal(t, []string{"Spooler"}, disable)
	assert.Empty(t, kept)
	disable, _ = p.config.services(steps.Linux)
	assert.Equal(t, script.DefaultServices(steps.Linux), disable)
	assert.Equal(t, 5*time.Minute, p.config.StartRetryTimeout)
	assert.Equal(t, "auto", p.config.Sysprep)
	assert.Regexp(t, `^/tmp/ami-harden-[0-9a-f]{12}\.sh$`, p.config.remotePath(linuxGuest{}))
	assert.Regexp(t, `^C:/Windows/Temp/ami-harden-[0-9a-f]{12}\.ps1$`, p.config.remotePath(&windowsGuest{}))
}

func TestTargetOS(t *testing.T) {
	c := &Config{}
	assert.Equal(t, steps.Linux, c.targetOS(map[string]interface{}{"ConnType": "ssh"}))
	assert.Equal(t, steps.Windows, c.targetOS(map[string]interface{}{"ConnType": "winrm"}))
	assert.Equal(t, steps.Linux, c.targetOS(nil))
	c.GuestOSType = steps.Linux
	assert.Equal(t, steps.Linux, c.targetOS(map[string]interface{}{"ConnType": "winrm"}))
}

func TestPrepareSelectsSteps(t *testing.T) {
	p := &Provisioner{}
	require.NoError(t, p.Prepare(map[string]interface{}{
		"steps": []string{"logs", "sshd"},
	}))
	assert.Equal(t, []string{"sshd", "logs"}, p.config.selectedSteps(steps.Linux))

	p = &Provisioner{}
	require.NoError(t, p.Prepare(map[string]interface{}{"skip_steps": []string{"cloud-init", "logs"}}))
	assert.NotContains(t, p.config.selectedSteps(steps.Linux), "logs")
	assert.Len(t, p.config.selectedSteps(steps.Linux), len(steps.Names(steps.Linux))-2)
}

// wipe_free_space decides the free-space step when set; unset, the step
// is on by default like the others.
func TestWipeFreeSpaceSelectsTheStep(t *testing.T) {
	for _, c := range []struct {
		name string
		raw  map[string]interface{}
		runs bool
	}{
		{"default", map[string]interface{}{}, true},
		{"off", map[string]interface{}{"wipe_free_space": false}, false},
		{"skipped", map[string]interface{}{"skip_steps": []string{"free-space"}}, false},
		{"on, with steps that do not name it", map[string]interface{}{"wipe_free_space": true, "steps": []string{"sshd"}}, true},
		{"steps without it", map[string]interface{}{"steps": []string{"sshd"}}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := &Provisioner{}
			require.NoError(t, p.Prepare(c.raw))
			run := p.config.selectedSteps(steps.Linux)
			assert.Equal(t, c.runs, contains(run, "free-space"), "%v", run)
			if c.runs {
				assert.Equal(t, "free-space", run[len(run)-1], "free-space runs last")
			}
		})
	}
}

// The new Linux options reach the script's parameters.
func TestLinuxOptionsReachTheScript(t *testing.T) {
	p := &Provisioner{}
	require.NoError(t, p.Prepare(map[string]interface{}{}))
	s := string(linuxGuest{&p.config}.render(p.config.selectedSteps(steps.Linux), ""))
	assert.Contains(t, s, "\nAMI_HARDEN_REQUIRE_KEY_INSTALLER='1'\n")
	assert.Contains(t, s, "\nAMI_HARDEN_SSHD_ALGORITHMS=''\n")

	p = &Provisioner{}
	require.NoError(t, p.Prepare(map[string]interface{}{
		"require_key_installer":   false,
		"sshd_algorithms":         "modern",
		"keep_paths":              []string{"/var/log/checker.log", "/tmp/a b"},
		"wipe_free_space_exclude": []string{"/data"},
	}))
	s = string(linuxGuest{&p.config}.render(p.config.selectedSteps(steps.Linux), ""))
	assert.Contains(t, s, "\nAMI_HARDEN_REQUIRE_KEY_INSTALLER='0'\n")
	assert.Contains(t, s, "\nAMI_HARDEN_SSHD_ALGORITHMS='modern'\n")
	assert.Contains(t, s, "\nAMI_HARDEN_KEEP_PATHS='/var/log/checker.log\n/tmp/a b'\n")
	assert.Contains(t, s, "\nAMI_HARDEN_FREE_SPACE_EXCLUDE='/data'\n")
}

// Shared names (temp, history, ...) work on either OS. A block without os
// may serve Linux and Windows sources: another OS's step is skipped on this
// machine, and only nothing left to run is an error. With guest_os_type set, an
// OS-only name of the other OS is an error at validate time.
func TestStepsForOS(t *testing.T) {
	p := &Provisioner{}
	require.NoError(t, p.Prepare(map[string]interface{}{"steps": []string{"temp", "history"}}))
	run, other, err := p.config.stepsFor(steps.Windows)
	require.NoError(t, err)
	assert.Equal(t, []string{"history", "temp"}, run)
	assert.Empty(t, other)

	p = &Provisioner{}
	require.NoError(t, p.Prepare(map[string]interface{}{"skip_steps": []string{"sysprep", "secrets"}}))
	run, other, err = p.config.stepsFor(steps.Linux)
	require.NoError(t, err)
	assert.Equal(t, []string{"sysprep"}, other)
	assert.NotContains(t, run, "secrets")
	assert.Len(t, run, len(steps.Names(steps.Linux))-1)
	run, other, err = p.config.stepsFor(steps.Windows)
	require.NoError(t, err)
	assert.Equal(t, []string{"secrets"}, other)
	assert.NotContains(t, run, "sysprep")

	// Only Windows steps: the Linux machine has nothing to run.
	p = &Provisioner{}
	require.NoError(t, p.Prepare(map[string]interface{}{"steps": []string{"sysprep", "pagefile"}}))
	_, _, err = p.config.stepsFor(steps.Linux)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "steps and skip_steps leave no step to run on this linux machine (sysprep, pagefile: not steps of linux)")
	_, _, err = p.config.stepsFor(steps.Windows)
	require.NoError(t, err)

	p = &Provisioner{}
	err = p.Prepare(map[string]interface{}{"guest_os_type": "linux", "skip_steps": []string{"sysprep"}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `skip_steps: unknown step "sysprep"; valid steps are: sshd, services, passwords`)
}

func TestPrepareSSHDSettingsOverride(t *testing.T) {
	p := &Provisioner{}
	require.NoError(t, p.Prepare(map[string]interface{}{
		"sshd_settings": map[string]string{"permitrootlogin": "no", "UseDNS": "no"},
	}))
	got := p.config.sshdSettings()
	assert.Equal(t, "no", got["permitrootlogin"])
	assert.NotContains(t, got, "PermitRootLogin", "a keyword differing only in case replaces the default")
	assert.Equal(t, "no", got["UseDNS"])
	assert.Equal(t, "no", got["PasswordAuthentication"])
}

// Prepare reports every mistake at once, each naming its field.
func TestPrepareCollectsEveryError(t *testing.T) {
	p := &Provisioner{}
	err := p.Prepare(map[string]interface{}{
		"guest_os_type":     "linux",
		"steps":             []string{"sshd", "firewall"},
		"skip_steps":        []string{"sshd"},
		"sshd_settings":     map[string]string{"Bad Key": "x", "Banner": "", "UseDNS": "no\nPasswordAuthentication yes"},
		"wipe_paths":        []string{"relative/path", "/ok/path", "/bad\npath", "/", `C:\Windows`},
		"shred_passes":      99,
		"remote_path":       "/tmp/it's.sh",
		"sysprep":           "auto",
		"elevated_password": "s3cr3t",
	})
	require.Error(t, err)
	for _, want := range []string{
		`steps: unknown step "firewall"; valid steps are: ` + strings.Join(steps.Names(steps.Linux), ", "),
		`step "sshd" is in both steps and skip_steps`,
		`sshd_settings: "Bad Key" is not an sshd keyword`,
		"sshd_settings: Banner has an empty value",
		"sshd_settings: the value of UseDNS must be one line",
		`wipe_paths: "relative/path" is not an absolute path`,
		"wipe_paths: \"/bad\\npath\" contains a line break",
		`wipe_paths: "/" resolves to /:`,
		`wipe_paths: "C:\\Windows" is not an absolute path`,
		"shred_passes must be between 1 and 35, not 99",
		"remote_path:",
		`sysprep is for guest_os_type = "windows" only`,
		`elevated_password is for guest_os_type = "windows" only`,
		"elevated_password needs elevated_user",
	} {
		assert.Contains(t, err.Error(), want)
	}
}

// A named SQL Server instance's service is MSSQL$NAME: a $ is part of a
// service name.
func TestPrepareWindowsServiceNameWithDollar(t *testing.T) {
	p := &Provisioner{}
	require.NoError(t, p.Prepare(map[string]interface{}{"guest_os_type": "windows", "disable_services": []string{"MSSQL$SQLEXPRESS", "Spooler"}}))
	assert.Equal(t, []string{"MSSQL$SQLEXPRESS", "Spooler"}, p.config.DisableServices)
}

func TestPrepareWindowsErrors(t *testing.T) {
	p := &Provisioner{}
	err := p.Prepare(map[string]interface{}{
		"guest_os_type":    "windows",
		"sshd_settings":    map[string]string{"UseDNS": "no"},
		"shred_passes":     3,
		"sysprep":          "sometimes",
		"disable_services": []string{"Spooler", "Print Spooler"},
		"wipe_paths":       []string{"/home/x", `C:\`},
	})
	require.Error(t, err)
	for _, want := range []string{
		`sshd_settings is for guest_os_type = "linux" only`,
		`shred_passes is for guest_os_type = "linux" only`,
		`sysprep: "sometimes" is not one of auto, ec2launch-v2, ec2launch-v1, ec2config, sysprep, none`,
		`disable_services: "Print Spooler" is not a service name`,
		`wipe_paths: "/home/x" is not an absolute path`,
		`wipe_paths: "C:\\" resolves to C:\: a drive root`,
	} {
		assert.Contains(t, err.Error(), want)
	}

	// sysprep_shutdown is deprecated: true is what always happens now, and
	// false cannot be had (nothing reaches a generalising machine over WinRM).
	p = &Provisioner{}
	err = p.Prepare(map[string]interface{}{"guest_os_type": "windows", "sysprep_shutdown": false})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "sysprep_shutdown = false is no longer possible")
	assert.Contains(t, err.Error(), "the provisioner waits for that power-off")
	p = &Provisioner{}
	require.NoError(t, p.Prepare(map[string]interface{}{"guest_os_type": "windows", "sysprep_shutdown": true}))

	// power_off_timeout follows sysprep_timeout unless set.
	p = &Provisioner{}
	require.NoError(t, p.Prepare(map[string]interface{}{"sysprep_timeout": "1h"}))
	assert.Equal(t, 75*time.Minute, p.config.PowerOffTimeout)
	p = &Provisioner{}
	require.NoError(t, p.Prepare(map[string]interface{}{"power_off_timeout": "2h"}))
	assert.Equal(t, 2*time.Hour, p.config.PowerOffTimeout)

	// elevated_user without a password: a service account (SYSTEM), as
	// Packer's elevated runner allows (its task logs on as one).
	p = &Provisioner{}
	require.NoError(t, p.Prepare(map[string]interface{}{"guest_os_type": "windows", "elevated_user": "SYSTEM"}))

	p = &Provisioner{}
	err = p.Prepare(map[string]interface{}{"guest_os_type": "solaris"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `guest_os_type: "solaris" is neither linux nor windows`)
}

func TestPrepareRejectsBrokenExecuteCommand(t *testing.T) {
	p := &Provisioner{}
	err := p.Prepare(map[string]interface{}{"execute_command": "sudo {{.Path"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "execute_command")
}

func TestPrepareNoStepsLeft(t *testing.T) {
	p := &Provisioner{}
	require.NoError(t, p.Prepare(map[string]interface{}{"steps": []string{"temp"}, "skip_steps": []string{"logs"}, "shred_passes": 2}))
	p = &Provisioner{}
	err := p.Prepare(map[string]interface{}{"guest_os_type": "linux", "skip_steps": steps.Names(steps.Linux)})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "leave no step to run")
	p = &Provisioner{}
	err = p.Prepare(map[string]interface{}{"skip_steps": append(append([]string{}, steps.Names(steps.Linux)...), steps.Names(steps.Windows)[:3]...), "steps": []string{"sshd"}})
	require.Error(t, err)
}

// The same block gives the same errors in the same order, the order of the
// fields: a user fixing them one by one, or a CI log compared with the last
// one, sees no shuffle.
func TestPrepareErrorsInAStableOrder(t *testing.T) {
	raw := map[string]interface{}{
		"guest_os_type":     "linux",
		"mode":              "check",
		"sshd_settings":     map[string]string{"B C": "x", "A B": "y", "Zed": ""},
		"elevated_user":     "a",
		"elevated_password": "b",
		"sysprep":           "none",
		"sysprep_shutdown":  true,
		"sysprep_timeout":   "5m",
	}
	var first string
	for i := 0; i < 20; i++ {
		err := (&Provisioner{}).Prepare(raw)
		require.Error(t, err)
		if i == 0 {
			first = err.Error()
			continue
		}
		require.Equal(t, first, err.Error(), "run %d", i)
	}
	var order []int
	for _, want := range []string{
		`mode: "check"`,
		`sshd_settings: "A B"`,
		`sshd_settings: "B C"`,
		"sshd_settings: Zed has an empty value",
		`elevated_user is for guest_os_type = "windows" only`,
		`elevated_password is for guest_os_type = "windows" only`,
		`sysprep is for guest_os_type = "windows" only`,
		`sysprep_shutdown is for guest_os_type = "windows" only`,
		`sysprep_timeout is for guest_os_type = "windows" only`,
	} {
		i := strings.Index(first, want)
		require.GreaterOrEqual(t, i, 0, "%q missing from %s", want, first)
		order = append(order, i)
	}
	assert.IsIncreasing(t, order, "the errors follow the fields")
}
