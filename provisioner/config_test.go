package provisioner

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ami-harden/packer-plugin-ami-harden/provisioner/script"
)

func TestPrepareDefaults(t *testing.T) {
	p := &Provisioner{}
	require.NoError(t, p.Prepare(map[string]interface{}{}))
	assert.Equal(t, script.LinuxSteps, p.config.selectedSteps())
	assert.Equal(t, 1, p.config.ShredPasses)
	assert.Equal(t, script.DefaultSSHDSettings, p.config.sshdSettings())
}

func TestPrepareSelectsSteps(t *testing.T) {
	p := &Provisioner{}
	require.NoError(t, p.Prepare(map[string]interface{}{
		"steps": []string{"logs", "sshd"},
	}))
	assert.Equal(t, []string{"sshd", "logs"}, p.config.selectedSteps())

	p = &Provisioner{}
	require.NoError(t, p.Prepare(map[string]interface{}{"skip_steps": []string{"cloud-init", "logs"}}))
	assert.NotContains(t, p.config.selectedSteps(), "logs")
	assert.Len(t, p.config.selectedSteps(), len(script.LinuxSteps)-2)
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
		"steps":         []string{"sshd", "firewall"},
		"skip_steps":    []string{"sshd"},
		"sshd_settings": map[string]string{"Bad Key": "x", "Banner": "", "UseDNS": "no\nPasswordAuthentication yes"},
		"extra_paths":   []string{"relative/path", "/ok/path", "/bad\npath", "/"},
		"shred_passes":  99,
		"remote_path":   "/tmp/it's.sh",
	})
	require.Error(t, err)
	for _, want := range []string{
		`steps: unknown step "firewall"; valid steps are: sshd, passwords, host-keys, user-keys, credentials, history, cloud-init, machine-id, temp, logs`,
		`step "sshd" is in both steps and skip_steps`,
		`sshd_settings: "Bad Key" is not an sshd keyword`,
		"sshd_settings: Banner has an empty value",
		"sshd_settings: the value of UseDNS must be one line",
		`extra_paths: "relative/path" is not an absolute path`,
		"extra_paths: \"/bad\\npath\" contains a line break",
		`extra_paths: "/" would wipe the whole file system`,
		"shred_passes must be between 1 and 35, not 99",
		"remote_path:",
	} {
		assert.Contains(t, err.Error(), want)
	}
}

func TestPrepareNoStepsLeft(t *testing.T) {
	p := &Provisioner{}
	err := p.Prepare(map[string]interface{}{"steps": []string{"temp"}, "skip_steps": []string{"logs"}, "shred_passes": 2})
	require.NoError(t, err)
	p = &Provisioner{}
	err = p.Prepare(map[string]interface{}{"skip_steps": script.LinuxSteps})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "leave no step to run")
}

func TestPrepareRejectsBrokenExecuteCommand(t *testing.T) {
	p := &Provisioner{}
	err := p.Prepare(map[string]interface{}{"execute_command": "sudo {{.Path"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "execute_command")
}
