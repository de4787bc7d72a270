#!/usr/bin/env bash
# The release, run (make release-check): goreleaser builds .goreleaser.yml's
# release as a snapshot into dist/, with the plugin's version from
# version/version.go, and signs its checksums with a throwaway GPG key. Then
# the checks:
#   - the signature, and sha256sum -c;
#   - checkdist: every os/arch the config names has its zip and nothing
#     else, each binary built for it with the version and no prerelease,
#     SHA256SUMS complete;
#   - this machine's binary describes itself with that version and API and
#     passes plugin-check;
#   - installed with `packer plugins install --path` into a plugin directory
#     of its own, it is what `packer init` and `packer build` of a template
#     that requires exactly this version use against a rig target
#     (TestReleasedPlugin).
# --skip=before: the tag release's hooks (make unit, make plugin-check) are
# what make test has already run, or what this does to the release's own
# binary.
#
# Needs what the Makefile's release-check target builds first: bin/packer,
# bin/goreleaser, bin/checkdist, the rig's root file systems.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
bin=$root/bin

name=ami-harden
binary=packer-plugin-$name
fqn=github.com/ami-harden/$name
module=$(sed -n 's/^module //p' go.mod)
version=$(sed -n 's/^\tVersion = "\(.*\)"/\1/p' version/version.go)
api=$(sed -n 's/^  - API_VERSION=//p' .goreleaser.yml)
sums=dist/${binary}_v${version}_SHA256SUMS
released=$bin/release/${binary}_v${version}_${api}_$(go env GOOS)_$(go env GOARCH)
plugins=$bin/release-plugins

if ! command -v gpg >/dev/null || ! command -v gpg-agent >/dev/null; then
	echo "installing: gpg gpg-agent"
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gpg gpg-agent >/dev/null
fi

(cd tools/goreleaser && go test -count=1 ./checkdist)
"$bin/goreleaser" check

gnupg=$(mktemp -d /tmp/ami-harden-gpg.XXXXXX)
export GNUPGHOME=$gnupg
trap 'gpgconf --kill gpg-agent; rm -rf "$gnupg"' EXIT
gpg --batch --quiet --passphrase '' --quick-gen-key 'ami-harden release-check <release-check@example.invalid>' ed25519 sign 1d 2>/dev/null
GPG_FINGERPRINT=$(gpg --batch --with-colons --list-secret-keys | awk -F: '$1 == "fpr" { print $10; exit }')
export GPG_FINGERPRINT
# goreleaser reads the repository's address from git: a checkout without a
# remote gets this one, in the environment only.
if ! git remote | grep -q .; then
	export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=remote.origin.url \
		GIT_CONFIG_VALUE_0=https://github.com/ami-harden/packer-plugin-ami-harden.git
fi
echo "GORELEASER_CURRENT_TAG=v$version goreleaser release --snapshot --clean --skip=before"
GORELEASER_CURRENT_TAG=v$version "$bin/goreleaser" release --snapshot --clean --skip=before
echo "gpg --verify $sums.sig"
gpg --batch --verify "$sums.sig" "$sums"
(cd dist && sha256sum --strict -c "$(basename "$sums")")

rm -rf "$bin/release"
"$bin/checkdist" -config .goreleaser.yml -dist dist -version "$version" -module "$module" -extract "$bin/release"
described=$("$released" describe)
echo "describe: $described"
if ! grep -q "\"version\":\"$version\"" <<<"$described" || ! grep -q "\"api_version\":\"$api\"" <<<"$described"; then
	echo "describe says $described, the release is $version with API $api"
	exit 1
fi
(cd "$(dirname "$released")" && go tool packer-sdc plugin-check "$(basename "$released")")

rm -rf "$plugins"
PACKER_PLUGIN_PATH=$plugins "$bin/packer" plugins install --path "$released" "$fqn"
PACKER_ACC=1 AMI_HARDEN_RELEASE_PLUGINS=$plugins AMI_HARDEN_RELEASE_VERSION=$version \
	go test -count=1 -v -timeout 10m -run '^TestReleasedPlugin$' ./test/acceptance/
