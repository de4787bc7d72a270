#!/bin/bash
# Builds (once) a tarball of an application as users ship it in an image:
# their own few files on top of dependency trees that package managers wrote,
# laid out relative to a root file system. The secrets step's acceptance tests
# unpack it into a throwaway Debian target, so that the scan meets what real
# images carry (tens of thousands of third-party files: documentation,
# tests and fixtures of other projects), not only the files a test plants.
#
#   test/rig/app.sh   prints the path of the cached tarball
#
# What is in it (member names relative to the target's root; the parent
# directories /opt, /home and /home/builder are not members, so unpacking
# changes none that exist; owners are root, stored as numbers):
#   opt/app/                 a Node.js backend: package.json (name "app",
#                            private), package-lock.json, server.js,
#                            config/config.json and README.md (none holds a
#                            secret), and node_modules from
#                            npm install --ignore-scripts of $npm_packages
#   opt/app/venv/            a Python virtual environment made by Debian's own
#                            python (python3 -m venv in a chroot of
#                            rootfs.sh bookworm python3-venv): pip and what
#                            ensurepip installs, with their dist-info RECORDs
#   home/builder/go/pkg/mod/ a Go module cache: the modules this repository's
#                            go.mod requires, in Go's layout (read-only
#                            <module>@<version>/ trees and cache/download)
# Modification times are kept to the nanosecond (a POSIX tar) as npm, Python
# and Go left them.
#
# npm and Go use this machine's own registry settings (npm's configuration,
# go env GOPROXY; modules already in go env GOMODCACHE are copied from there).
# No package is fetched from PyPI. The cache is $AMI_HARDEN_CACHE (default
# /var/cache/ami-harden), keyed by the npm packages, go.sum, the rootfs
# tarball and this script's version.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${AMI_HARDEN_CACHE:-/var/cache/ami-harden}
# Raise it when a change here changes the tarball.
version=1
npm_packages=(express aws-sdk jsonwebtoken node-forge ssh2 pg mongodb mysql2 redis axios dotenv passport bcrypt url)

die() { echo "app.sh: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (chroot, mount)"
for tool in npm go sha256sum; do
	command -v "$tool" >/dev/null || die "$tool is missing (make deps)"
done
rootfs=$("$here/rootfs.sh" bookworm python3-venv)
key=$(printf '%s\n' "$version" "${npm_packages[*]}" "$(sha256sum <"$repo/go.sum" | cut -d' ' -f1)" "$(basename "$rootfs")" |
	sha256sum | cut -c1-12)
tarball=$cache/app-overlay-$key.tar

if [ -s "$tarball" ]; then
	echo "$tarball"
	exit 0
fi

mkdir -p "$cache"
work=$(mktemp -d "$cache/build.XXXXXX")
chmod 0755 "$work"
# Go makes its module trees read-only: give the directories of this copy
# write permission back so that it can be deleted. Nothing is deleted while
# /proc is still mounted in the chroot.
cleanup() {
	if mountpoint -q "$work/root/proc" 2>/dev/null; then
		umount "$work/root/proc" || { echo "app.sh: $work/root/proc is still mounted; $work is left" >&2; return; }
	fi
	find "$work" -xdev -type d ! -perm -u+w -exec chmod u+w {} + 2>/dev/null || true
	rm -rf --one-file-system "$work"
}
trap cleanup EXIT
stage=$work/stage
app=$stage/opt/app
mkdir -p "$app/config" "$stage/home/builder/go/pkg"

# The application's own files: configuration without credentials (they come
# from the environment at run time, as the README says).
cat >"$app/package.json" <<'EOF'
{
  "name": "app",
  "version": "1.4.2",
  "private": true,
  "description": "Orders API",
  "main": "server.js",
  "scripts": {
    "start": "node server.js"
  },
  "license": "UNLICENSED"
}
EOF
cat >"$app/config/config.json" <<'EOF'
{
  "port": 3000,
  "logLevel": "info",
  "database": {
    "host": "localhost",
    "port": 5432,
    "name": "orders"
  },
  "redis": {
    "host": "localhost",
    "port": 6379
  },
  "session": {
    "ttlSeconds": 3600
  }
}
EOF
cat >"$app/server.js" <<'EOF'
'use strict';

require('dotenv').config();
const express = require('express');
const { Pool } = require('pg');
const config = require('./config/config.json');

// Credentials come from the environment (PGUSER, PGPASSWORD), never from a file.
const pool = new Pool({
  host: config.database.host,
  port: config.database.port,
  database: config.database.name,
});

const app = express();
app.use(express.json());

app.get('/health', (req, res) => {
  res.json({ status: 'ok' });
});

app.get('/orders/:id', async (req, res, next) => {
  try {
    const { rows } = await pool.query('SELECT id, status, total FROM orders WHERE id = $1', [req.params.id]);
    if (rows.length === 0) {
      res.status(404).json({ error: 'not found' });
      return;
    }
    res.json(rows[0]);
  } catch (err) {
    next(err);
  }
});

const port = Number(process.env.PORT) || config.port;
app.listen(port, () => {
  console.log(`orders API listening on port ${port}`);
});
EOF
cat >"$app/README.md" <<'EOF'
# Orders API

A small Express service in front of PostgreSQL.

    npm ci --omit=dev
    npm start

Settings are in `config/config.json`. The database user and password are
read from the environment (`PGUSER`, `PGPASSWORD`), which the service
manager provides; do not put them in a file here.

`venv/` holds the Python tools for the nightly reports.
EOF

# 1. node_modules, package-lock.json and the dependencies in package.json.
if ! (cd "$app" && npm install --ignore-scripts --no-audit --no-fund "${npm_packages[@]}") >"$work/npm.log" 2>&1; then
	tail -n 30 "$work/npm.log" >&2
	exit 1
fi

# 2. The virtual environment, made by Debian's python in a chroot of a
# bookworm rootfs (ensurepip installs Debian's bundled wheels: no network).
mkdir -m 0755 "$work/root"
tar -C "$work/root" --numeric-owner -xf "$rootfs"
mount -t proc proc "$work/root/proc"
if ! chroot "$work/root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
	python3 -m venv /opt/app/venv >"$work/venv.log" 2>&1; then
	tail -n 30 "$work/venv.log" >&2
	exit 1
fi
umount "$work/root/proc"
tar -C "$work/root" --numeric-owner -cf - opt/app/venv | tar -C "$stage" --numeric-owner -xf -
rm -rf --one-file-system "$work/root"

# 3. The Go module cache of this repository's go.mod: go mod download (the
# modules go.mod requires, and the go.mod files of the module graph), about
# what a go build leaves. What this machine's module cache has is copied
# from it, the rest comes from its proxy.
mkdir "$work/go"
cp "$repo/go.mod" "$repo/go.sum" "$work/go/"
proxy="file://$(go env GOMODCACHE)/cache/download,$(go env GOPROXY)"
if ! (cd "$work/go" && GOFLAGS=-mod=mod GOWORK=off GOTOOLCHAIN=local GONOSUMDB='*' \
	GOMODCACHE="$stage/home/builder/go/pkg/mod" GOPROXY="$proxy" go mod download) >"$work/go.log" 2>&1; then
	tail -n 30 "$work/go.log" >&2
	exit 1
fi

tar -C "$stage" --numeric-owner --format=posix --pax-option=delete=atime,delete=ctime \
	-cf "$work/app.tar" opt/app home/builder/go
mv "$work/app.tar" "$tarball"
echo "$tarball"
