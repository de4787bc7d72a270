#!/usr/bin/env bash
# Turns the rendered docs (packer-sdc renderdocs output, partials included)
# into the layout the Packer integration registry reads from .web-docs, the way
# HashiCorp's packer-plugin-scaffolding does it
# (.web-docs/scripts/compile-to-webdocs.sh there):
#
#   README.md                                 the plugin's page (docs/README.md)
#   components/TYPE/NAME/README.md            each component's page (docs/TYPEs/NAME.mdx),
#                                             without its front matter and its H1
#                                             (the registry adds the title itself)
#
# Links are rewritten as the registry needs them:
#   - /packer/plugins/TYPEs/PLUGIN[/COMPONENT] links become the registry's
#     /packer/integrations/ORG/... addresses, as the scaffolding does;
#   - relative links (../steps.md#sshd, ../../example/audit/) become addresses
#     of the file (blob/main/...) or folder (tree/main/..., written with a
#     trailing slash) in the repository on GitHub, because only README.md and the
#     component pages are published on the registry. Links to an anchor of
#     the same page (#audit-mode), absolute URLs and links inside code (fenced
#     blocks, `code spans`) stay as they are.
#
#   compile.sh RENDERED_DOCS WEB_DOCS
set -euo pipefail
src=$1
dst=$2

org=ami-harden
repo=https://github.com/ami-harden/packer-plugin-ami-harden

# The folder name of a component type in docs/, as the registry names it.
component_type() {
	case $1 in
	builders) echo builder ;;
	provisioners) echo provisioner ;;
	post-processors) echo post-processor ;;
	datasources) echo data-source ;;
	*) echo "" ;;
	esac
}

# rewrite DIR: rewrites the links of standard input for a page that lives in
# DIR of the repository (docs, docs/provisioners, ...).
rewrite() {
	awk -v dir="$1" -v repo="$repo" -v org="$org" '
	# The repository path of target t seen from dir, "" when it leaves the
	# repository.
	function resolve(t,    n, parts, out, m, i, p) {
		n = split(dir "/" t, parts, "/")
		m = 0
		for (i = 1; i <= n; i++) {
			p = parts[i]
			if (p == "" || p == ".") continue
			if (p == "..") { if (m == 0) return ""; m--; continue }
			out[++m] = p
		}
		p = ""
		for (i = 1; i <= m; i++) p = p (i > 1 ? "/" : "") out[i]
		return p
	}
	function target(t,    anchor, k, r, n, seg) {
		if (t ~ /^#/ || t ~ /^[A-Za-z][A-Za-z0-9+.-]*:/) return t
		if (t ~ /^\/packer\/plugins\//) {
			# /packer/plugins/TYPEs/PLUGIN[/COMPONENT][#anchor]
			anchor = ""
			k = index(t, "#")
			if (k) { anchor = substr(t, k); t = substr(t, 1, k - 1) }
			n = split(t, seg, "/")
			if (n == 5) return "/packer/integrations/" org "/" seg[5] anchor
			if (n == 6) {
				sub(/s$/, "", seg[4]); if (seg[4] == "datasource") seg[4] = "data-source"
				return "/packer/integrations/" org "/" seg[5] "/latest/components/" seg[4] "/" seg[6] anchor
			}
			return t anchor
		}
		if (t ~ /^\//) return t
		anchor = ""
		k = index(t, "#")
		if (k) { anchor = substr(t, k); t = substr(t, 1, k - 1) }
		r = resolve(t)
		if (r == "") return t anchor
		# A folder (written with a trailing slash) is a tree on GitHub.
		return repo (t ~ /\/$/ ? "/tree/main/" : "/blob/main/") r anchor
	}
	# Rewrites the link targets in s, which holds no code span.
	function links(s,    out, k, rest, e) {
		out = ""
		while ((k = index(s, "](")) > 0) {
			out = out substr(s, 1, k + 1)
			rest = substr(s, k + 2)
			e = index(rest, ")")
			if (e == 0) { s = rest; break }
			out = out target(substr(rest, 1, e - 1)) ")"
			s = substr(rest, e + 1)
		}
		return out s
	}
	# Rewrites a line outside fenced code, leaving code spans as they are: a
	# run of N backticks opens a span that the next run of exactly N closes.
	function line(s,    out, k, n, rest, j, m, found) {
		out = ""
		while ((k = index(s, "`")) > 0) {
			out = out links(substr(s, 1, k - 1))
			s = substr(s, k)
			match(s, /^`+/); n = RLENGTH
			rest = substr(s, n + 1)
			found = 0; j = 0
			while (match(substr(rest, j + 1), /`+/)) {
				m = RSTART + j
				if (RLENGTH == n) { found = m; break }
				j = m + RLENGTH - 1
			}
			if (found) {
				out = out substr(s, 1, n + found + n - 1)
				s = substr(rest, found + n)
			} else {
				out = out substr(s, 1, n)
				s = rest
			}
		}
		return out links(s)
	}
	{
		if (fence == "") {
			if (match($0, /^[ \t]*(```+|~~~+)/)) {
				fence = substr($0, RSTART, RLENGTH); sub(/^[ \t]*/, "", fence)
				print; next
			}
			print line($0)
		} else {
			# A closing fence: a run of the opening character, at least as
			# long as the opening run, and nothing else.
			s = $0; sub(/^[ \t]*/, "", s)
			if (substr(s, 1, 1) == substr(fence, 1, 1) && match(s, /^(`+|~+)/) && RLENGTH >= length(fence) && substr(s, RLENGTH + 1) ~ /^[ \t]*$/) fence = ""
			print
		}
	}'
}

# strip: drops the front matter (the registry takes the title and description
# from metadata.hcl) and the first H1 with the blank lines after it.
strip() {
	awk '
	NR == 1 && /^---$/ { fm = 1; next }
	fm { if (/^---$/) fm = 0; next }
	!body && /^[ \t]*$/ { next }
	!body && !h1done && /^# / { h1done = 1; skipblank = 1; next }
	skipblank && /^[ \t]*$/ { next }
	{ body = 1; skipblank = 0; print }'
}

mkdir -p "$dst"
rewrite docs <"$src/README.md" >"$dst/README.md"
found=0
for folder in builders provisioners post-processors datasources; do
	[ -d "$src/$folder" ] || continue
	type=$(component_type "$folder")
	for page in "$src/$folder"/*.mdx; do
		[ -e "$page" ] || continue
		name=$(basename "$page" .mdx)
		[ "$name" != index ] || continue
		mkdir -p "$dst/components/$type/$name"
		strip <"$page" | rewrite "docs/$folder" >"$dst/components/$type/$name/README.md"
		found=$((found + 1))
	done
done
if [ "$found" -eq 0 ]; then
	echo "compile.sh: no component page in $src (builders, provisioners, post-processors, datasources)" >&2
	exit 1
fi
