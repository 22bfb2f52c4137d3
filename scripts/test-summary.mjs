// Adds up the test counts of every runner into one closing line: "tests: N passed, N failed, N skipped",
// after a list of the failed tests with the first lines of their messages (the end of a long log is
// often all a reader of a CI run gets).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { stripVTControlCharacters } from "node:util";

const [dir, failedSteps] = process.argv.slice(2);
let passed = 0;
let failed = 0;
let skipped = 0;
const failures = [];
const firstLines = (text) =>
  stripVTControlCharacters(String(text ?? ""))
    .split("\n")
    .filter((l) => l.trim())
    .slice(0, 3)
    .map((l) => `    ${l.trim().slice(0, 300)}`)
    .join("\n");
for (const f of ["vitest.json", "vitest-web.json", "vitest-e2e.json"]) {
  const p = join(dir, f);
  if (!existsSync(p)) continue;
  const r = JSON.parse(readFileSync(p, "utf8"));
  passed += r.numPassedTests ?? 0;
  failed += r.numFailedTests ?? 0;
  skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  for (const file of r.testResults ?? []) {
    const name = String(file.name ?? "").replace(`${process.cwd()}/`, "");
    const bad = (file.assertionResults ?? []).filter((t) => t.status === "failed");
    for (const t of bad) failures.push(`${name} > ${t.fullName}\n${firstLines(t.failureMessages?.[0])}`);
    // A file that failed before its tests ran (an import error, a hook that threw) has no failed test of its own.
    if (bad.length === 0 && file.status === "failed") failures.push(`${name}\n${firstLines(file.message)}`);
  }
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
  const xml = readFileSync(junit, "utf8");
  for (const m of xml.matchAll(/<testcase [^>]*classname="([^"]*)" name="([^"]*)"[^>]*>\s*<(failure|error) message="([^"]*)"/g)) {
    failures.push(`engine ${m[1]}::${m[2]}\n    ${m[4].slice(0, 300)}`);
  }
}
// A step that failed before reporting (lint, typecheck, a crashed runner) still counts as a failure.
if (failed === 0 && Number(failedSteps) > 0) failed = Number(failedSteps);
if (failures.length > 0) console.log(`\nfailed tests:\n${failures.map((f) => `  ${f}`).join("\n")}`);
console.log(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
