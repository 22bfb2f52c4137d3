#!/usr/bin/env bash
# `npm start`: install what is missing, then start caretflow on its embedded defaults.
# Arguments are passed to `caretflow up` (e.g. npm start -- --port 9000 --home /data/caretflow).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/install.sh"
exec node "$root/packages/cli/bin/caretflow.js" up "$@"
