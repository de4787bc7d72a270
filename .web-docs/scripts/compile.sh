#!/usr/bin/env bash
# Turns the rendered docs (packer-sdc renderdocs output) into the layout the
# Packer integration registry reads from .web-docs:
#   README.md                                   the plugin's page (docs/README.md)
#   components/provisioner/NAME/README.md       each component's page, without
#                                               its front matter
#
#   compile.sh RENDERED_DOCS WEB_DOCS
set -euo pipefail
src=$1
dst=$2

cp "$src/README.md" "$dst/README.md"
for page in "$src"/provisioners/*.mdx; do
	name=$(basename "$page" .mdx)
	mkdir -p "$dst/components/provisioner/$name"
	# Drop the front matter: the registry takes the title from metadata.hcl.
	awk 'NR == 1 && /^---$/ { fm = 1; next } fm && /^---$/ { fm = 0; next } !fm' "$page" \
		>"$dst/components/provisioner/$name/README.md"
done
