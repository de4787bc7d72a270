// Command packer-plugin-ami-harden is the Packer plugin binary: it serves the
// ami-harden provisioner, used in templates as `provisioner "ami-harden" {}`.
package main

import (
	"fmt"
	"os"

	"github.com/hashicorp/packer-plugin-sdk/plugin"

	"github.com/ami-harden/packer-plugin-ami-harden/provisioner"
	"github.com/ami-harden/packer-plugin-ami-harden/version"
)

func main() {
	pps := plugin.NewSet()
	// DEFAULT_NAME: the provisioner takes the plugin's own name, ami-harden.
	pps.RegisterProvisioner(plugin.DEFAULT_NAME, new(provisioner.Provisioner))
	pps.SetVersion(version.PluginVersion)
	if err := pps.Run(); err != nil {
		fmt.Fprintln(os.Stderr, err.Error())
		os.Exit(1)
	}
}
