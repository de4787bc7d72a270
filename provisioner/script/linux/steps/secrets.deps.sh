# shellcheck shell=sh
# secrets, dependency trees: what a package manager installed from its
# registry is published software, like the files dpkg owns, and its test
# keys and example URLs are not the image's secrets. A file in such a tree
# is passed over only where the manager's own record vouches for it:
#   - npm (node_modules): a file of a package folder that npm's record of
#     the install (node_modules/.package-lock.json) lists, not changed
#     since npm wrote that record;
#   - Go's module cache (GOPATH/pkg/mod): a module whose files hash to what
#     Go recorded when it downloaded the module (cache/download/.../@v/
#     VERSION.ziphash, the h1: hash of go.sum), and Go's records themselves;
#   - Python (site-packages, dist-packages): a file whose SHA-256 is the one
#     its distribution's RECORD lists;
#   - Maven (.m2/repository): a file whose SHA-1 is the one its .sha1 beside
#     it holds;
#   - Cargo (.cargo/registry, .cargo/git): a crate's unpacked files not
#     changed since Cargo marked the crate unpacked (.cargo-ok), its index
#     and its downloaded archives;
#   - RubyGems (a gems directory beside specifications): a gem's files not
#     changed since its specification was written, which RubyGems does last;
#   - Composer (vendor with composer/installed.json): a listed package's
#     files not changed since Composer wrote installed.json.
# Everything else in these trees is scanned like any file: a file a build
# wrote there (an .npmrc or .env in node_modules, a file no RECORD lists, a
# module changed after Go downloaded it) is found.

# dep_tree DIR: DIR, a directory that may be a dependency tree: the files
# its package manager vouches for go to $work/dep.vouched (one a line, a
# newline in a name written as \001), and true; false when DIR is no tree of
# a package manager known here (its files are then walked like any).
dep_tree() {
	case $1 in
	*/node_modules) dep_npm "$1" ;;
	*/pkg/mod) [ -d "$1/cache/download" ] && [ ! -L "$1/cache" ] && dep_go "$1" ;;
	*/site-packages | */dist-packages) dep_pip "$1" ;;
	*/.m2/repository) dep_maven "$1" ;;
	*/.cargo/registry | */.cargo/git) dep_cargo "$1" ;;
	*/vendor) [ -f "$1/composer/installed.json" ] && dep_composer "$1" ;;
	*/gems) [ -d "${1%/gems}/specifications" ] && dep_gems "$1" ;;
	*) false ;;
	esac
}

# nul2lines, lines2nul: a NUL-separated list as lines and back, a newline
# inside a name carried as \001 (the step checks first that no name holds
# one).
nul2lines() { tr '\n\0' '\001\n'; }
lines2nul() { tr '\n\001' '\0\n'; }

# dep_unchanged DIR RECORD: the files below DIR not changed after RECORD
# was written, as lines.
dep_unchanged() {
	find -P "$1" -xdev -type f ! -newer "$2" -print0 2>/dev/null | nul2lines
}

dep_npm() {
	_dl=$1/.package-lock.json
	[ -f "$_dl" ] && [ ! -L "$_dl" ] || return 0
	# The package folders npm installed: the keys "node_modules/..." of the
	# record's "packages", relative to the project (DIR's parent).
	sed -n 's/^[[:space:]]*"\(node_modules\/[^"]*\)":[[:space:]]*{.*$/\1/p' "$_dl" >"$work/dep.npm"
	dep_unchanged "$1" "$_dl" | dep_npm_packaged "$1" >>"$work/dep.vouched"
	# Files of those packages changed since: scanned, and said (a
	# node_modules copied without its times has all of them).
	_dn=$(find -P "$1" -xdev -type f -newer "$_dl" -print0 2>/dev/null | nul2lines | dep_npm_packaged "$1" | grep -c .)
	[ "$_dn" -gt 0 ] && echo "$(show "$1"): $_dn file(s) of npm's packages changed after npm recorded the install (.package-lock.json), so they were scanned; copy node_modules with its times (tar, cp -a) or install in the image" >>"$work/dep.notes"
	return 0
}

# dep_npm_packaged DIR: the lines on stdin that lie in a package folder
# that npm's record ($work/dep.npm) lists.
dep_npm_packaged() {
	awk -v root="${1%/node_modules}/" -v pkgs="$work/dep.npm" '
		BEGIN { while ((getline l < pkgs) > 0) pkg[l] = 1 }
		{ p = substr($0, length(root) + 1); while (sub(/\/[^\/]*$/, "", p)) if (p in pkg) { print; next } }'
}

dep_go() {
	# Go's records of what it downloaded: per version the archive, its hash,
	# go.mod, the origin and the lock; the version list; the checksum
	# database's tiles.
	find -P "$1/cache/download" -xdev -type f \( -path '*/@v/*' \( -name '*.zip' -o -name '*.ziphash' -o \
		-name '*.mod' -o -name '*.info' -o -name '*.lock' -o -name list \) -o -path "$1/cache/download/sumdb/*" \) \
		-print0 2>/dev/null | nul2lines >>"$work/dep.vouched"
	# The modules: MODULE@VERSION directories outside cache/, every file
	# hashed (two processes: two cores), then Go's dirhash per module.
	find -P "$1" -xdev -path "$1/cache" -prune -o -type d -name '*@*' -prune -print0 2>/dev/null >"$work/dep.gomods"
	[ -s "$work/dep.gomods" ] || return 0
	xargs -0 sh -c 'find -P "$@" -xdev ! -type d -print0' sh <"$work/dep.gomods" 2>/dev/null >"$work/dep.gofiles"
	dep_hash sha256sum "$work/dep.gofiles" >"$work/dep.gohash"
	nul2lines <"$work/dep.gomods" >"$work/dep.gomods.lines"
	awk -v mod="$1/" -v mods="$work/dep.gomods.lines" '
		# The module of a path: its first component with an @, below mod.
		function module(p,   rest, m, c) {
			rest = substr(p, length(mod) + 1); m = ""
			while ((c = index(rest, "/")) > 0) {
				m = m substr(rest, 1, c); rest = substr(rest, c + 1)
				if (m ~ /@[^\/]*\/$/) return substr(m, 1, length(m) - 1)
			}
			return (rest ~ /@/) ? m rest : ""
		}
		# Go escapes capitals in module paths and versions as !x.
		function unescape(s) { while (match(s, /![a-z]/)) s = substr(s, 1, RSTART - 1) toupper(substr(s, RSTART + 1, 1)) substr(s, RSTART + 2); return s }
		BEGIN { while ((getline l < mods) > 0) { m = substr(l, length(mod) + 1); if (m !~ /\001/) id[m] = ++n } }
		{
			# sha256sum starts a line with \ when it escaped the name: such a
			# name is none Go allows in a module.
			if (substr($0, 1, 1) == "\\" || length($0) < 67) next
			p = substr($0, 67); m = module(p)
			if (!(m in id)) next
			print id[m] "\t" unescape(m) substr(p, length(mod) + length(m) + 1) "\t" substr($0, 1, 64)
		}' "$work/dep.gohash" | LC_ALL=C sort -t "$tab" -k1,1n -k2,2 >"$work/dep.golines"
	# A module with anything but regular files is not as Go unpacked it.
	xargs -0 sh -c 'find -P "$@" -xdev ! -type d ! -type f -print' sh <"$work/dep.gomods" 2>/dev/null >"$work/dep.goodd"
	rm -f "$work"/dep.gosum.*
	# One file per module (closed as the next begins: hundreds of modules).
	awk -F '\t' -v out="$work/dep.gosum." '
		$1 != last { if (last != "") close(out last); last = $1 }
		{ print $3 "  " $2 > (out $1) }' "$work/dep.golines"
	# The summary files' hashes, in one run.
	find "$work" -maxdepth 1 -name 'dep.gosum.*' -print0 | xargs -0 -r sha256sum >"$work/dep.gosums"
	awk -v mod="$1/" -v sums="$work/dep.gosums" -v odd="$work/dep.goodd" -v pfx="$work/dep.gosum." "$dep_b64"'
		{ m = substr($0, length(mod) + 1); if (m ~ /\001/) next; id[m] = ++n; dir[n] = $0; name[n] = m }
		END {
			while ((getline l < odd) > 0) for (i = 1; i <= n; i++) if (index(l, dir[i] "/") == 1) bad[i] = 1
			while ((getline l < sums) > 0) { f = substr(l, 67); i = substr(f, length(pfx) + 1); got[i] = "h1:" b64(substr(l, 1, 64), 0) }
			for (i = 1; i <= n; i++) {
				if (bad[i] || !(i in got)) continue
				# cache/download/MODULE/@v/VERSION.ziphash, both escaped.
				at = index(name[i], "@"); while ((j = index(substr(name[i], at + 1), "@")) > 0) at += j
				zh = mod "cache/download/" substr(name[i], 1, at - 1) "/@v/" substr(name[i], at + 1) ".ziphash"
				want = ""; if ((getline want < zh) > 0) close(zh)
				if (want == got[i]) print dir[i]
			}
		}' "$work/dep.gomods.lines" >"$work/dep.goverified"
	awk 'FILENAME == ARGV[1] { ok[$0] = 1; next } !($0 in ok)' "$work/dep.goverified" "$work/dep.gomods.lines" | tr '\001' '?' >"$work/dep.gobad"
	[ -s "$work/dep.gobad" ] && echo "$(show "$1"): $(grep -c . "$work/dep.gobad") module(s) do not hash to what Go recorded when it downloaded them (cache/download), so they were scanned: $(awk -v p="$1/" '{ print substr($0, length(p) + 1) }' "$work/dep.gobad" | join)" >>"$work/dep.notes"
	# Every file of a verified module is vouched for.
	[ -s "$work/dep.goverified" ] || return 0
	lines2nul <"$work/dep.goverified" | xargs -0 sh -c 'find -P "$@" -xdev -type f -print0' sh 2>/dev/null |
		nul2lines >>"$work/dep.vouched"
}

# dep_hash PROGRAM LIST: PROGRAM (sha256sum, sha1sum) over the files of the
# NUL-separated LIST, two processes side by side (two cores), each writing
# its own file: "HEX  NAME" lines. A name PROGRAM had to escape starts its
# line with \.
dep_hash() {
	rm -f "$work"/dep.h.*
	# shellcheck disable=SC2016 # expanded by the shell xargs runs
	xargs -0 -r -P 2 -n 256 sh -c 'p=$1 o=$2; shift 2; exec "$p" -- "$@" >"$o.$$"' sh "$1" "$work/dep.h" <"$2" 2>/dev/null
	cat "$work"/dep.h.* 2>/dev/null
	return 0
}

# dep_b64: an awk function, b64(HEX, URL): HEX as base64, or with URL set as
# the URL-safe base64 without padding that pip's RECORD uses.
# shellcheck disable=SC2016 # an awk program
dep_b64='
function b64(hex, url,   a, i, j, c, v, nb, s) {
	a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	if (url) a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	s = ""
	for (i = 1; i <= length(hex); i += 6) {
		c = substr(hex, i, 6); nb = length(c) / 2; v = 0
		for (j = 1; j <= length(c); j++) v = v * 16 + index("0123456789abcdef", substr(c, j, 1)) - 1
		for (j = nb; j < 3; j++) v = v * 256
		s = s substr(a, int(v / 262144) % 64 + 1, 1) substr(a, int(v / 4096) % 64 + 1, 1)
		s = s (nb > 1 ? substr(a, int(v / 64) % 64 + 1, 1) : (url ? "" : "=")) (nb > 2 ? substr(a, v % 64 + 1, 1) : (url ? "" : "="))
	}
	return s
}
'

dep_pip() {
	# RECORD: PATH,sha256=HASH,SIZE per file, PATH relative to DIR and
	# quoted when it holds a comma; the RECORD itself has no hash.
	: >"$work/dep.pip"
	for _dr in "$1"/*.dist-info/RECORD; do
		if [ ! -f "$_dr" ] || [ -L "$_dr" ]; then continue; fi
		case $_dr in *"$nl"*) continue ;; esac
		printf '%s\n' "$_dr" >>"$work/dep.vouched"
		awk -v dir="$1/" '
			{ line = $0; sub(/\r$/, "", line) }
			line ~ /^"/ { p = line; sub(/^"/, "", p); sub(/",.*$/, "", p); gsub(/""/, "\"", p); h = line; sub(/^".*",/, "", h) }
			line !~ /^"/ { p = line; sub(/,.*$/, "", p); h = substr(line, length(p) + 2) }
			{ sub(/,.*$/, "", h) }
			h ~ /^sha256=/ && p !~ /^\// && p !~ /(^|\/)[.][.](\/|$)/ { print dir p "\t" substr(h, 8) }
		' "$_dr" >>"$work/dep.pip"
	done
	[ -s "$work/dep.pip" ] || return 0
	cut -f 1 "$work/dep.pip" | lines2nul >"$work/dep.pipfiles"
	dep_hash sha256sum "$work/dep.pipfiles" |
		awk -v rec="$work/dep.pip" "$dep_b64"'
			FILENAME == rec { t = index($0, "\t"); want[substr($0, 1, t - 1)] = substr($0, t + 1); next }
			substr($0, 1, 1) != "\\" { f = substr($0, 67); if ((f in want) && b64(substr($0, 1, 64), 1) == want[f]) print f }
		' "$work/dep.pip" - >>"$work/dep.vouched"
}

dep_maven() {
	# FILE.sha1 beside FILE: its first word is FILE's SHA-1.
	find -P "$1" -xdev -type f -name '*?.sha1' -print0 2>/dev/null | nul2lines | sed 's/[.]sha1$//' >"$work/dep.mvn"
	lines2nul <"$work/dep.mvn" >"$work/dep.mvnfiles"
	dep_hash sha1sum "$work/dep.mvnfiles" | awk '
		substr($0, 1, 1) == "\\" { next }
		{ f = substr($0, 43); want = ""; if ((getline want < (f ".sha1")) > 0) close(f ".sha1"); split(want, w, /[ \t\r]/)
		  if (tolower(w[1]) == substr($0, 1, 40)) { print f; print f ".sha1" } }
	' >>"$work/dep.vouched"
}

dep_cargo() {
	# The index and the downloaded archives (registry), the clones (git).
	find -P "$1" -xdev -type f \( -path "$1/index/*" -o -path "$1/cache/*" -o -path "$1/db/*" \) -print0 2>/dev/null |
		nul2lines >>"$work/dep.vouched"
	# Unpacked crates and checkouts: Cargo writes .cargo-ok when done.
	find -P "$1" -xdev -type f -name .cargo-ok -print0 2>/dev/null | nul2lines | while IFS= read -r _dc; do
		case $_dc in *"$soh"*) continue ;; esac
		dep_unchanged "${_dc%/.cargo-ok}" "$_dc"
	done >>"$work/dep.vouched"
}

dep_gems() {
	for _dg in "${1%/gems}"/specifications/*.gemspec; do
		if [ ! -f "$_dg" ] || [ -L "$_dg" ]; then continue; fi
		_dn=${_dg##*/}
		_dd=$1/${_dn%.gemspec}
		[ -d "$_dd" ] && [ ! -L "$_dd" ] && dep_unchanged "$_dd" "$_dg"
	done >>"$work/dep.vouched"
}

dep_composer() {
	_dj=$1/composer/installed.json
	# The packages' names, "vendor/name" (an author's name has no /).
	sed -n 's/^[[:space:]]*"name":[[:space:]]*"\([A-Za-z0-9_.-]*\/[A-Za-z0-9_.-]*\)".*/\1/p' "$_dj" | while IFS= read -r _dp; do
		[ -d "$1/$_dp" ] && [ ! -L "$1/$_dp" ] && dep_unchanged "$1/$_dp" "$_dj"
	done >>"$work/dep.vouched"
}
