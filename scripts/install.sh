#!/usr/bin/env bash
# Installs what caretflow needs from this checkout, skipping each step whose inputs did not change:
#   1. npm packages (from package-lock.json)
#   2. the engine's Python virtual environment (from engine/requirements.lock)
#   3. the web build (packages/web/dist)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

say() { printf '\033[1mcaretflow:\033[0m %s\n' "$*" >&2; }
die() { printf 'caretflow: error: %s\n' "$*" >&2; exit 1; }
hash_of() { cat "$@" 2>/dev/null | sha256sum | cut -c1-16; }

command -v node >/dev/null || die "Node.js 20 or newer is required (node not found). Install it, then run this again."
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] || die "Node.js 20 or newer is required (found $(node --version))."
PYTHON="${CARETFLOW_PYTHON:-}"
if [ -z "$PYTHON" ]; then
  for p in python3.11 python3.10 python3; do
    if command -v "$p" >/dev/null && "$p" -c 'import sys; sys.exit(0 if sys.version_info[:2] in ((3,10),(3,11)) else 1)' 2>/dev/null; then PYTHON="$p"; break; fi
  done
fi
[ -n "$PYTHON" ] || die "Python 3.10 or 3.11 is required for the engine (PyCaret 3.3 supports no newer). Install python3.11 or set CARETFLOW_PYTHON."

# 1. npm packages
npm_stamp="node_modules/.caretflow-install"
npm_hash="$(hash_of package.json package-lock.json packages/*/package.json)"
if [ "$(cat "$npm_stamp" 2>/dev/null)" != "$npm_hash" ]; then
  # `npm install` rather than `npm ci`: vite declares a Windows-only optional package that the
  # registry does not serve, which `npm ci` reports as a lock mismatch; the lock is still honoured.
  say "installing npm packages (npm install from package-lock.json)..."
  npm install --no-audit --no-fund --loglevel=warn
  echo "$npm_hash" > "$npm_stamp"
else
  say "npm packages are up to date"
fi

# 2. engine virtual environment
venv="engine/.venv"
py_stamp="$venv/.caretflow-install"
py_hash="$(hash_of engine/requirements.lock)"
if [ "$(cat "$py_stamp" 2>/dev/null)" != "$py_hash" ]; then
  say "creating the engine's Python environment in $venv (PyCaret, MLflow; a few minutes the first time)..."
  [ -x "$venv/bin/python" ] || "$PYTHON" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check uv==0.13.9
  "$venv/bin/uv" pip sync --python "$venv/bin/python" engine/requirements.lock
  echo "$py_hash" > "$py_stamp"
else
  say "engine environment is up to date"
fi

# 3. web build
web_stamp="packages/web/dist/.caretflow-build"
web_hash="$(find packages/web packages/contracts/src -type f -not -path '*/node_modules/*' -not -path '*/dist/*' -print0 | sort -z | xargs -0 cat | sha256sum | cut -c1-16)"
if [ "$(cat "$web_stamp" 2>/dev/null)" != "$web_hash" ]; then
  say "building the web UI..."
  npm run --silent build -w @caretflow/web
  echo "$web_hash" > "$web_stamp"
else
  say "web build is up to date"
fi
