#!/usr/bin/env bash
# Builds dist/agent-linux-arm64 and dist/controller-linux-arm64; installs sharp's arm64 packages first when missing.
# Usage: scripts/build-arm64.sh [agent] [controller] [--outdir DIR]   (arguments go to scripts/build.ts)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"

# The versions sharp itself asks for, so the arm64 addon matches the x64 one it is built with.
read -r addon libvips < <(node -p 'const d = require("./node_modules/sharp/package.json").optionalDependencies;
  d["@img/sharp-linux-arm64"] + " " + d["@img/sharp-libvips-linux-arm64"]')

installed() { # name version: true when node_modules holds that version
  [ -f "node_modules/$1/package.json" ] && [ "$(node -p "require('./node_modules/$1/package.json').version")" = "$2" ]
}

if ! installed @img/sharp-linux-arm64 "$addon" || ! installed @img/sharp-libvips-linux-arm64 "$libvips"; then
  echo "installing @img/sharp-linux-arm64@$addon and @img/sharp-libvips-linux-arm64@$libvips (not saved)"
  # --force: npm refuses packages for another CPU otherwise; --cpu=arm64 is not used because
  # npm then removes the x64 packages of sharp from node_modules.
  npm install --no-save --force --no-audit --no-fund \
    "@img/sharp-linux-arm64@$addon" "@img/sharp-libvips-linux-arm64@$libvips"
fi

exec bun scripts/build.ts arm64 "$@"
