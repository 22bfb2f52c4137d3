#!/usr/bin/env bash
# Test tools that come from PyPI (moto's S3 server), in their own virtual environment under .cache/,
# never in the engine's locked engine/.venv. Reused when present with the pinned versions; prints its path.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.cache/tools-venv
PINS="moto[server]==5.2.5"
STAMP="$VENV/.pins"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$PINS" ]; then
  echo "tools-venv: installing $PINS into $VENV" >&2
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check $PINS >&2
  echo "$PINS" > "$STAMP"
fi
echo "$PWD/$VENV"
