#!/usr/bin/env bash
# Debian's Chromium and a CJK font for the browser tests (never a downloaded browser).
# Without the font every Chinese character renders as a box in the screenshots.
set -euo pipefail
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi wqy; then
  echo "Installing Debian's chromium and fonts-wqy-microhei ..."
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null
fi
