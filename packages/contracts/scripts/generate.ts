// Writes the JSON Schemas the Python engine validates against. CI runs it with --check.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { Chart } from "../src/charts.ts";
import { EngineEvent, JobSpec } from "../src/engine-protocol.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "../../..");
const outDir = join(root, "engine/caretflow_engine/schema");
const files: Record<string, unknown> = {
  "job-spec.schema.json": z.toJSONSchema(JobSpec, { io: "input" }),
  "event.schema.json": z.toJSONSchema(EngineEvent, { io: "output" }),
  "chart.schema.json": z.toJSONSchema(Chart, { io: "input" }),
};
const check = process.argv.includes("--check");
let drift = false;
mkdirSync(outDir, { recursive: true });
for (const [name, schema] of Object.entries(files)) {
  const path = join(outDir, name);
  const text = `${JSON.stringify(schema, null, 2)}\n`;
  let current = "";
  try {
    current = readFileSync(path, "utf8");
  } catch {}
  if (check) {
    if (current !== text) {
      console.error(`${path} is out of date with packages/contracts; run npm run gen`);
      drift = true;
    }
  } else if (current !== text) {
    writeFileSync(path, text);
    console.log(`wrote ${path}`);
  }
}
process.exit(drift ? 1 : 0);
