//go:generate go tool packer-sdc mapstructure-to-hcl2 -type Config

package provisioner

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/hashicorp/packer-plugin-sdk/common"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/template/config"
	"github.com/hashicorp/packer-plugin-sdk/template/interpolate"

	"github.com/ami-harden/packer-plugin-ami-harden/provisioner/script"
)

// Config is the provisioner block. Every field is optional: an empty
// `provisioner "ami-harden" {}` runs every step with safe defaults.
type Config struct {
	common.PackerConfig `mapstructure:",squash"`

	// The steps to run, by name; the default is every step. Steps always run
	// in their fixed order (sshd, passwords, host-keys, user-keys,
	// credentials, history, cloud-init, machine-id, temp, logs), whatever
	// the order written here. An unknown name is an error that lists the
	// valid ones.
	Steps []string `mapstructure:"steps"`
	// Steps not to run, by name. Applied after `steps`; naming a step in
	// both is an error.
	SkipSteps []string `mapstructure:"skip_steps"`
	// sshd keywords and values that override or add to the defaults
	// (`PasswordAuthentication no`, `PermitRootLogin prohibit-password`,
	// `PubkeyAuthentication yes`, `PermitEmptyPasswords no`,
	// `KbdInteractiveAuthentication no`). Each is written ahead of every
	// Include of sshd_config and verified with `sshd -T`.
	SSHDSettings map[string]string `mapstructure:"sshd_settings"`
	// More absolute paths the credentials step overwrites and deletes: files,
	// or directories with everything in them. Spaces and quotes are fine;
	// the paths reach the script as data only.
	ExtraPaths []string `mapstructure:"extra_paths"`
	// How many passes of random data overwrite a secret file before it is
	// unlinked (GNU shred -n). Defaults to 1: one full overwrite already
	// leaves nothing of the file in the blocks an image snapshot copies;
	// more passes only guard against lab recovery from magnetic media.
	ShredPasses int `mapstructure:"shred_passes"`
	// The command that runs the uploaded script, with `{{.Path}}` for its
	// remote path. Defaults to `sudo -n /bin/sh '{{.Path}}'`, or
	// `/bin/sh '{{.Path}}'` when the communicator logs in as root. `sudo -n`
	// never waits for a password: a login user without passwordless sudo
	// fails at once with sudo's message. Set this to escalate another way,
	// e.g. `echo 'packer' | sudo -S /bin/sh '{{.Path}}'`.
	ExecuteCommand string `mapstructure:"execute_command"`
	// Where the script is uploaded. Defaults to
	// `/tmp/ami-harden-<random>.sh`. The script deletes itself as it starts.
	RemotePath string `mapstructure:"remote_path"`

	ctx interpolate.Context
}

var (
	// sshd keywords are letters and digits; a value is one line.
	sshdKeyword = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*$`)
	// The remote path appears in execute_command, so it stays plain.
	safeRemotePath = regexp.MustCompile(`^[A-Za-z0-9/._-]+$`)
)

// Prepare decodes the block and reports every mistake in it at once.
func (p *Provisioner) Prepare(raws ...interface{}) error {
	err := config.Decode(&p.config, &config.DecodeOpts{
		PluginType:         "ami-harden",
		Interpolate:        true,
		InterpolateContext: &p.config.ctx,
		InterpolateFilter: &interpolate.RenderFilter{
			// Rendered at run time, when {{.Path}} is known.
			Exclude: []string{"execute_command"},
		},
	}, raws...)
	if err != nil {
		return err
	}
	c := &p.config
	var errs *packersdk.MultiError
	add := func(format string, args ...interface{}) {
		errs = packersdk.MultiErrorAppend(errs, fmt.Errorf(format, args...))
	}

	valid := strings.Join(script.LinuxSteps, ", ")
	known := map[string]bool{}
	for _, s := range script.LinuxSteps {
		known[s] = true
	}
	for _, field := range []struct {
		name  string
		steps []string
	}{{"steps", c.Steps}, {"skip_steps", c.SkipSteps}} {
		for _, s := range field.steps {
			if !known[s] {
				add("%s: unknown step %q; valid steps are: %s", field.name, s, valid)
			}
		}
	}
	for _, s := range c.SkipSteps {
		for _, t := range c.Steps {
			if s == t {
				add("step %q is in both steps and skip_steps", s)
			}
		}
	}
	if len(c.selectedSteps()) == 0 {
		add("steps and skip_steps leave no step to run")
	}

	for k, v := range c.SSHDSettings {
		if !sshdKeyword.MatchString(k) {
			add("sshd_settings: %q is not an sshd keyword", k)
		}
		if strings.TrimSpace(v) == "" {
			add("sshd_settings: %s has an empty value", k)
		}
		if strings.ContainsAny(v, "\r\n") {
			add("sshd_settings: the value of %s must be one line", k)
		}
	}
	for _, ep := range c.ExtraPaths {
		if strings.ContainsAny(ep, "\r\n\x00") {
			add("extra_paths: %q contains a line break or NUL", ep)
		} else if !path.IsAbs(ep) {
			add("extra_paths: %q is not an absolute path", ep)
		} else if path.Clean(ep) == "/" {
			add("extra_paths: %q would wipe the whole file system", ep)
		}
	}

	if c.ShredPasses == 0 {
		c.ShredPasses = 1
	}
	if c.ShredPasses < 1 || c.ShredPasses > 35 {
		add("shred_passes must be between 1 and 35, not %d", c.ShredPasses)
	}
	if c.RemotePath == "" {
		c.RemotePath = fmt.Sprintf("/tmp/ami-harden-%s.sh", randomSuffix())
	} else if !path.IsAbs(c.RemotePath) || !safeRemotePath.MatchString(c.RemotePath) {
		add("remote_path: %q must be an absolute path of letters, digits and / . _ -", c.RemotePath)
	}

	if errs != nil && len(errs.Errors) > 0 {
		return errs
	}
	return nil
}

// selectedSteps are the steps to run, in script order.
func (c *Config) selectedSteps() []string {
	want := map[string]bool{}
	for _, s := range c.Steps {
		want[s] = true
	}
	skip := map[string]bool{}
	for _, s := range c.SkipSteps {
		skip[s] = true
	}
	var out []string
	for _, s := range script.LinuxSteps {
		if (len(c.Steps) == 0 || want[s]) && !skip[s] {
			out = append(out, s)
		}
	}
	return out
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
