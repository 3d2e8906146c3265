#!/usr/bin/env bash
# Prepares what a GPU machine (no network) needs to run scripts/gpu_check.sh: a compressed Deno
# binary, this project's npm packages, and the Vulkan/EGL loader packages. Everything goes to .gpu/
# (ignored by git), to be named in the device tool's `carry` (keep the whole carry under 64 MiB).
# Run here, from the repository root: bash scripts/gpu_prepare.sh
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .gpu
deno_bin=$(find .tools -path '*linux-x64-glibc/deno' -type f | head -1)
[ -n "$deno_bin" ] || { echo "run .ci/run once first (it installs Deno into .tools)"; exit 1; }
xz -T2 -9 -c "$deno_bin" > .gpu/deno.xz
# The npm packages from Deno's cache (DENO_DIR/npm), as resolved by deno.lock.
export PATH="$PWD/.tools/node_modules/.bin:$PATH"
deno install --frozen >/dev/null
npm_dir=$(deno info --json 2>/dev/null | sed -n 's/.*"npmCache": *"\([^"]*\)".*/\1/p')
npm_dir=${npm_dir:-$HOME/.cache/deno/npm}
tar -C "$(dirname "$npm_dir")" -cJf .gpu/npm.tar.xz "$(basename "$npm_dir")"
# Vulkan loader (the device guide's recipe), unpacked there with dpkg -x.
if command -v apt-get >/dev/null; then
  mkdir -p /tmp/amd64/partial .gpu/debs
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  # shellcheck disable=SC2086
  apt-get $o update -qq >/dev/null
  # shellcheck disable=SC2086
  (cd .gpu/debs && apt-get $o download libvulkan1 libegl1 libglvnd0 >/dev/null)
fi
du -sh .gpu/*
