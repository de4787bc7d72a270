// Package version is the plugin's version, as `packer plugins installed` and
// the release archives show it.
package version

import "github.com/hashicorp/packer-plugin-sdk/version"

var (
	// Version is the release number; goreleaser sets it with -ldflags.
	Version = "0.1.0"
	// VersionPrerelease is "dev" for local builds and "" for releases.
	VersionPrerelease = "dev"
	// VersionMetadata is build metadata, such as a commit.
	VersionMetadata = ""
	// PluginVersion is what the plugin reports to Packer.
	PluginVersion = version.NewPluginVersion(Version, VersionPrerelease, VersionMetadata)
)
