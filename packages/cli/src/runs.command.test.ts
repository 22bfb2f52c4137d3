import { describe, expect, it } from "vitest";
import { paramCell, runsListQuery } from "./runs.command.ts";

describe("caretflow runs list", () => {
  it("asks the server for the dataset, the params and a filter on a key with spaces as given", () => {
    const q = runsListQuery({
      sort: "metrics.`Prec. `",
      order: "asc",
      limit: "10",
      offset: "0",
      dataset: "juice",
      params: "model,n estimators",
      filter: "metrics.`F1 score` > 0.5",
    });
    expect(q).toEqual({
      sort: "metrics.`Prec. `",
      order: "asc",
      limit: 10,
      offset: 0,
      dataset: "juice",
      params: "model,n estimators",
      filter: "metrics.`F1 score` > 0.5",
    });
    expect(runsListQuery({ sort: "start_time", order: "desc", limit: "100", offset: "0" })).not.toHaveProperty("params");
  });

  it("shows the asked params in the order asked, or all of them sorted", () => {
    const params = { model: "lr", "n estimators": "10", fold: "3" };
    expect(paramCell(params, "n estimators,model,absent")).toBe("n estimators=10 model=lr");
    expect(paramCell(params, "*")).toBe("fold=3 model=lr n estimators=10");
    expect(paramCell(undefined, "model")).toBe("-");
  });
});
