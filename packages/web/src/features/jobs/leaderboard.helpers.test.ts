import type { LeaderboardRow } from "@caretflow/contracts";
import { describe, expect, it } from "vitest";
import { metricBars } from "./leaderboard.helpers.ts";

const row = (id: string, metrics: Record<string, number | null>): LeaderboardRow => ({
  model_id: id,
  model_name: `${id} model`,
  metrics,
  fit_seconds: 1,
});

describe("metricBars", () => {
  it("sorts bars best first by the metric's direction and skips missing values", () => {
    const rows = [row("a", { R2: 0.5 }), row("b", { R2: 0.8 }), row("c", { R2: null })];
    expect(metricBars(rows, "R2", false).map((b) => b.id)).toEqual(["b", "a"]);
    expect(metricBars([row("a", { MAE: 3 }), row("b", { MAE: 2 })], "MAE", true).map((b) => b.id)).toEqual(["b", "a"]);
  });
});
