import type { RunDetail } from "@caretflow/contracts";
import { describe, expect, it } from "vitest";
import { CATALOG } from "../../orchestrator/test/catalog.fixture.ts";
import { formatComparison, lowerIsBetter } from "./runs.report.command.ts";

const run = (id: string, metrics: Record<string, number>): RunDetail => ({
  runId: id.padEnd(32, "0"),
  experimentId: "1",
  experimentName: "e",
  name: id,
  status: "FINISHED",
  startTime: null,
  endTime: null,
  task: "regression",
  dataset: "insurance@v1",
  target: "charges",
  jobId: null,
  bestModel: null,
  bestRunId: null,
  metrics,
  params: {},
  tags: { "caretflow.model_name": `model ${id}` },
  parentRunId: null,
  children: [],
  artifacts: [],
  datasetInputs: [],
});

describe("runs compare", () => {
  it("takes each metric's direction from the catalog", () => {
    const lower = lowerIsBetter(CATALOG);
    expect(lower.has("RMSE")).toBe(true);
    expect(lower.has("holdout_RMSE")).toBe(true);
    expect(lower.has("R2")).toBe(false);
    expect(lower.has("TT_Sec")).toBe(true);
  });

  it("marks the best value of each metric by its direction", () => {
    const text = formatComparison([run("a", { R2: 0.8, RMSE: 5 }), run("b", { R2: 0.7, RMSE: 4 })], lowerIsBetter(CATALOG));
    const line = (name: string) => text.split("\n").find((l) => l.startsWith(name)) ?? "";
    expect(line("R2")).toMatch(/0\.8000 \*\s+0\.7000$/);
    expect(line("RMSE")).toMatch(/5\s+4 \*$/);
    expect(line("model")).toContain("model a");
  });
});
