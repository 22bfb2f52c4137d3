// Adds up the test counts of every runner into one closing line: "tests: N passed, N failed, N skipped".
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

const [dir, failedSteps] = process.argv.slice(2);
let passed = 0;
let failed = 0;
let skipped = 0;
for (const f of ["vitest.json", "vitest-web.json", "vitest-e2e.json"]) {
  const p = join(dir, f);
  if (!existsSync(p)) continue;
  const r = JSON.parse(readFileSync(p, "utf8"));
  passed += r.numPassedTests ?? 0;
  failed += r.numFailedTests ?? 0;
  skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
}
const junit = join(dir, "pytest.xml");
if (existsSync(junit)) {
  const head = readFileSync(junit, "utf8").match(/<testsuite [^>]*>/)?.[0] ?? "";
  const n = (k) => Number(head.match(new RegExp(`${k}="(\\d+)"`))?.[1] ?? 0);
  const total = n("tests");
  const bad = n("failures") + n("errors");
  skipped += n("skipped");
  failed += bad;
  passed += total - bad - n("skipped");
}
// A step that failed before reporting (lint, typecheck, a crashed runner) still counts as a failure.
if (failed === 0 && Number(failedSteps) > 0) failed = Number(failedSteps);
console.log(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
