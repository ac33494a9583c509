#!/usr/bin/env bash
# Create the virtual environment and install Qingling with its test tools.
# Usage: scripts/setup.sh [python] [venv-dir]
set -euo pipefail
python="${1:-python3}"
venv="${2:-.venv}"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
  echo "Qingling needs Python 3.11 or newer as '$python'." >&2
  exit 1
fi
if ! "$python" -m venv --help >/dev/null 2>&1 || ! "$python" -c 'import ensurepip' 2>/dev/null; then
  echo "Installing Debian's python3-venv ..."
  as_root apt-get update -qq
  as_root apt-get install -y -qq python3-venv
fi
[ -x "$venv/bin/pip" ] || "$python" -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check --upgrade pip
"$venv/bin/pip" install -q --disable-pip-version-check -e '.[test]'
echo "Qingling installed in $venv"
