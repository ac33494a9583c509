#!/usr/bin/env bash
# Node.js and npm for building the field PWA (pwa/). Installs Debian's packages only when
# node is missing; an existing node (20 or newer) is used as it is.
set -euo pipefail
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "Installing Debian's nodejs and npm ..."
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq nodejs npm >/dev/null
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
  echo "node $(node -v) is too old for the PWA build (Vite 7 needs node 20.19 or newer)" >&2
  exit 1
fi
