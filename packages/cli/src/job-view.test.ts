import type { JobEvent } from "@caretflow/contracts";
import { describe, expect, it } from "vitest";
import { createJobView } from "./job-view.ts";

const ts = "2024-01-01T00:00:00Z";
let seq = 0;
const engine = (event: Record<string, unknown>): JobEvent =>
  ({ seq: ++seq, ts, type: "engine", event: { v: 1, seq, ts, job_id: "j", ...event } }) as JobEvent;

const events: JobEvent[] = [
  { seq: ++seq, ts, type: "status", status: "running" },
  engine({ type: "stage", stage: "compare", message: "comparing" }),
  engine({ type: "progress", done: 0, total: 2 }),
  engine({ type: "log", level: "info", message: "noise" }),
  engine({
    type: "leaderboard_row",
    row: { model_id: "lr", model_name: "Logistic Regression", metrics: { Accuracy: 0.8, "TT (Sec)": 0.1 }, fit_seconds: 1.2 },
  }),
  engine({ type: "progress", done: 1, total: 2 }),
  engine({ type: "warning", message: "dt overfits" }),
];

function run(isTTY: boolean, rows: boolean): string {
  let text = "";
  let t = 0;
  const view = createJobView({ stderr: { write: (s: string) => (text += s), isTTY }, now: () => (t += 1000) }, { rows });
  for (const e of events) view.onEvent(e);
  view.stop();
  return text;
}

describe("createJobView", () => {
  it("without a terminal prints a line per change, the streamed rows and warnings, and no escape codes", () => {
    const lines = run(false, true).trimEnd().split("\n");
    expect(lines).toEqual([
      "running  00:01",
      "comparing models  00:02",
      "comparing models [------------------------] model 1 of 2  00:03",
      "  Logistic Regression (lr)  Accuracy 0.8000  [1.2 s]",
      "comparing models [############------------] model 2 of 2  00:04",
      "warning: dt overfits",
    ]);
  });

  it("on a terminal redraws one status line in place and clears it at the end", () => {
    const text = run(true, false);
    expect(text).toContain("\r\x1b[K");
    expect(text).not.toContain("Logistic Regression");
    expect(text.endsWith("\r\x1b[K")).toBe(true);
  });
});
