#!/usr/bin/env bash
# Makes a sysroot of Debian's arm64 C/C++ runtime for running arm64 binaries here: qemu-aarch64-static -L SYSROOT ...
# Usage: scripts/arm64-sysroot.sh [DIR]   (default .cache/arm64-sysroot in the repository; prints DIR)
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-.cache/arm64-sysroot}"
packages=(libc6:arm64 libstdc++6:arm64 libgcc-s1:arm64)

if [ -e "$dir/lib/ld-linux-aarch64.so.1" ]; then
  echo "$dir"
  exit 0
fi

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  $sudo dpkg --add-architecture arm64
  $sudo apt-get update -qq >&2
elif ! apt-cache show libc6:arm64 >/dev/null 2>&1; then
  $sudo apt-get update -qq >&2
fi

# Unpacked into a temporary folder and renamed, so an interrupted run leaves no half sysroot.
work="$(mktemp -d)"
chmod 755 "$work" # apt-get download runs as _apt where it can
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download "${packages[@]}" >&2)
mkdir -p "$work/root"
for deb in "$work"/*.deb; do dpkg -x "$deb" "$work/root"; done
mkdir -p "$(dirname "$dir")"
rm -rf "$dir"
mv "$work/root" "$dir"
echo "$dir"
