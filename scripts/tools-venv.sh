#!/usr/bin/env bash
# Test tools that come from PyPI (moto's S3 server), in their own virtual environment in the user's
# cache folder (shared by every checkout on the machine), never in the engine's locked engine/.venv.
# Reused when present with the pinned versions; prints its path.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="${CARETFLOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/caretflow}"
VENV="$CACHE/tools-venv"
PINS="moto[server]==5.2.5"
STAMP="$VENV/.pins"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$PINS" ]; then
  echo "tools-venv: installing $PINS into $VENV" >&2
  rm -rf "$VENV"
  mkdir -p "$CACHE"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check $PINS >&2
  echo "$PINS" > "$STAMP"
fi
echo "$VENV"
