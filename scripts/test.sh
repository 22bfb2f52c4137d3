#!/usr/bin/env bash
# `npm test`: install what is missing, then run every check and test:
# lint, typecheck, generated-schema drift, TypeScript unit + integration tests (vitest, real MLflow/engine/DuckDB),
# engine tests (pytest, real PyCaret + MLflow), browser tests (real Chromium).
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/install.sh || exit 1

out="test-artifacts"
mkdir -p "$out"
failed=()
step() {
  local name="$1"; shift
  printf '\n\033[1m== %s\033[0m\n' "$name"
  local t0=$SECONDS
  if "$@"; then printf '== %s: ok (%ss)\n' "$name" $((SECONDS - t0)); else printf '== %s: FAILED (%ss)\n' "$name" $((SECONDS - t0)); failed+=("$name"); fi
}

step "lint (biome)" npx biome check .
step "typecheck (tsc)" npm run --silent typecheck
step "generated schemas are current" npx tsx packages/contracts/scripts/generate.ts --check
step "TypeScript tests (vitest)" npx vitest run --reporter=default --reporter=json --outputFile="$out/vitest.json"
step "web unit tests (vitest)" npx vitest run --root packages/web --reporter=default --reporter=json --outputFile="$root/$out/vitest-web.json"
# Two pytest workers (pytest-xdist), each test module kept on one worker so its fixtures start once.
step "engine tests (pytest)" bash -c "cd engine && .venv/bin/python -m pytest -q -n 2 --dist loadfile --junitxml=../$out/pytest.xml"
step "browser tests (Chromium)" npx vitest run --config e2e/vitest.config.ts --reporter=default --reporter=json --outputFile="$out/vitest-e2e.json"

node scripts/test-summary.mjs "$out" "${#failed[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
  printf 'failed steps: %s\n' "${failed[*]}"
  exit 1
fi
