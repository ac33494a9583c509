#!/usr/bin/env bash
# Build Qingling's wheel with the front ends inside it, so `pip install qingling-*.whl &&
# qingling serve` serves the field app, the command view and the rating page on a machine
# without Node or a checkout. Needs the field app built first (`make pwa`).
# Usage: scripts/build-dist.sh [python] [out-dir]        (make dist)
#
# The tree is copied to a staging folder, pwa/dist, pwa/command, pwa/core and pwa/rate go
# into its server/web/ (where server/core/config.py's web_folder looks first), and the wheel
# is built from there: the checkout is never written to, and a checkout never has a
# server/web/ that could shadow pwa/.
set -euo pipefail
python="${1:-.venv/bin/python}"
out="${2:-dist}"
# Paths as given, then work from the checkout's root (the script may be run from anywhere).
case "$python" in */*) python="$(cd "$(dirname "$python")" && pwd)/$(basename "$python")" ;; esac
mkdir -p "$out"
out="$(cd "$out" && pwd)"
cd "$(dirname "$0")/.."

if [ ! -f pwa/dist/index.html ]; then
  echo "pwa/dist is not built: run 'make pwa' first (it needs Node.js 20+ with npm)." >&2
  exit 1
fi

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
cp pyproject.toml README.md piccolo_conf.py "$stage/"
tar -c --exclude=__pycache__ --exclude='*.pyc' server sync migrations | tar -x -C "$stage"
rm -rf "$stage/server/web"
mkdir -p "$stage/server/web"
for app in dist command core rate; do
  cp -R "pwa/$app" "$stage/server/web/$app"
done

rm -f "$out"/qingling-*.whl
# setuptools (with bdist_wheel) from this Python when it has it, without a download; otherwise
# pip fetches the build requirement into an isolated build environment (Python 3.11 venvs have
# an old setuptools without bdist_wheel, 3.12+ venvs none).
if "$python" -c 'import setuptools, wheel' 2>/dev/null \
  || "$python" -c 'import setuptools.command.bdist_wheel' 2>/dev/null; then
  isolation=--no-build-isolation
else
  isolation=
fi
# Built from a copy, so setuptools' build/ and egg-info stay in the staging folder.
"$python" -m pip wheel -q --no-deps $isolation --wheel-dir "$out" "$stage"

wheel="$(ls "$out"/qingling-*.whl)"
size="$(du -h "$wheel" | cut -f1)"
files="$("$python" -c 'import sys, zipfile; print(len(zipfile.ZipFile(sys.argv[1]).namelist()))' "$wheel")"
echo "$wheel  $size  ($files files)"
