package provisioner

import (
	"fmt"
	"sort"
	"strings"

	"github.com/ami-harden/packer-plugin-ami-harden/provisioner/script"
	"github.com/ami-harden/packer-plugin-ami-harden/provisioner/steps"
)

// What a build runs, chosen from the block at run time: the system, its
// steps, the services, sshd's settings and the environment.

// mayRunOn are the systems the block may run on: guest_os_type, both while
// it is left to the communicator, none for a value that is no system
// (validate says so).
func (c *Config) mayRunOn() []string {
	var out []string
	for _, os := range steps.OSes {
		if c.GuestOSType == "" || c.GuestOSType == os {
			out = append(out, os)
		}
	}
	return out
}

// targetOS is guest_os_type, or what the communicator says: WinRM means
// Windows.
func (c *Config) targetOS(generatedData map[string]interface{}) string {
	if c.GuestOSType != "" {
		return c.GuestOSType
	}
	if conn, _ := generatedData["ConnType"].(string); conn == "winrm" {
		return steps.Windows
	}
	return steps.Linux
}

// stepsFor are the steps to run on os, and the steps asked for by name
// that os does not have (another system's, from a block shared by Linux and
// Windows sources), or an error when nothing is left to run on os. With
// guest_os_type set, validate has refused the other system's names already.
func (c *Config) stepsFor(os string) (run, otherOS []string, err error) {
	for _, s := range append(append([]string{}, c.Steps...), c.SkipSteps...) {
		if !steps.Has(os, s) && !contains(otherOS, s) {
			otherOS = append(otherOS, s)
		}
	}
	run = c.selectedSteps(os)
	if len(run) == 0 {
		why := ""
		if len(otherOS) > 0 {
			why = fmt.Sprintf(" (%s: not steps of %s)", strings.Join(otherOS, ", "), os)
		}
		return nil, otherOS, fmt.Errorf("steps and skip_steps leave no step to run on this %s machine%s; its steps are: %s",
			os, why, strings.Join(steps.Names(os), ", "))
	}
	return run, otherOS, nil
}

// freeSpaceStep is the step that wipe_free_space turns on or off.
const freeSpaceStep = "free-space"

// selectedSteps are the steps to run on os, in the order they run: those
// that `steps` names, or without it those on by default; less skip_steps.
// wipe_free_space, when set, decides the free-space step.
func (c *Config) selectedSteps(os string) []string {
	var out []string
	for _, s := range steps.Of(os) {
		wanted := s.Default
		if len(c.Steps) > 0 {
			wanted = contains(c.Steps, s.Name)
		}
		if s.Name == freeSpaceStep && os == steps.Linux && c.WipeFreeSpace != nil {
			wanted = *c.WipeFreeSpace
		}
		if wanted && !contains(c.SkipSteps, s.Name) {
			out = append(out, s.Name)
		}
	}
	return out
}

// services are the services the services step disables on os (the
// default list without keep_services, then disable_services), and the
// defaults kept.
func (c *Config) services(os string) (disable, kept []string) {
	for _, s := range script.DefaultServices(os) {
		if containsFold(c.KeepServices, s) {
			kept = append(kept, s)
		} else {
			disable = append(disable, s)
		}
	}
	for _, s := range c.DisableServices {
		if !containsFold(disable, s) {
			disable = append(disable, s)
		}
	}
	return disable, kept
}

// requireKeyInstaller is require_key_installer, true unless set false.
func (c *Config) requireKeyInstaller() bool {
	return c.RequireKeyInstaller == nil || *c.RequireKeyInstaller
}

// remotePath is where the script goes: remote_path, or the guest's default
// with this build's suffix.
func (c *Config) remotePath(g guest) string {
	if c.RemotePath != "" {
		return c.RemotePath
	}
	return g.defaultRemotePath(c.suffix)
}

// sshdSettings are the defaults with the user's settings on top.
func (c *Config) sshdSettings() map[string]string {
	out := map[string]string{}
	for k, v := range script.DefaultSSHDSettings {
		out[k] = v
	}
	for k, v := range c.SSHDSettings {
		// sshd keywords are case-insensitive: a user's value replaces ours.
		for d := range out {
			if strings.EqualFold(d, k) {
				delete(out, d)
			}
		}
		out[k] = strings.TrimSpace(v)
	}
	return out
}

// envVars are the script's environment: Packer's own variables, as the
// shell provisioner sets them, then environment_vars, sorted by name (a
// later value of a name wins).
func (c *Config) envVars() []string {
	vars := map[string]string{
		"PACKER_BUILD_NAME":   c.PackerBuildName,
		"PACKER_BUILDER_TYPE": c.PackerBuilderType,
	}
	for _, kv := range c.EnvironmentVars {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k + "=" + vars[k]
	}
	return out
}
