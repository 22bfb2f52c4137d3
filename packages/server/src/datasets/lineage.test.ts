import type { DatasetVersion, Job } from "@caretflow/contracts";
import type { LineageVersion } from "@caretflow/data";
import { describe, expect, it } from "vitest";
import { buildLineage } from "./lineage.ts";

const v = (dataset: string, version: number, source: DatasetVersion["source"]): LineageVersion => ({
  dataset,
  version,
  rowCount: 10,
  source,
  createdAt: "2026-12-01T00:00:00.000Z",
});

const trainJob = (id: string, dataset: string, version: number, outputs: Job["outputDatasets"] = []): Job =>
  ({
    id,
    project: "p",
    kind: "train",
    status: "succeeded",
    request: { dataset, version, task: "clustering" },
    stage: null,
    progress: null,
    leaderboard: [],
    result: { kind: "train", parent_run_id: `run-of-${id}` },
    error: null,
    outputDataset: null,
    outputDatasets: outputs,
    createdAt: "",
    startedAt: null,
    finishedAt: null,
  }) as unknown as Job;

/** Edges as "from -type-> to" by label, sorted: the table each case expects. */
function edgesOf(g: ReturnType<typeof buildLineage>): string[] {
  const label = new Map(g.nodes.map((n) => [n.id, n.label]));
  return g.edges.map((e) => `${label.get(e.from)} -${e.type}-> ${label.get(e.to)}`).sort();
}

const versions = [
  v("orders", 1, { kind: "connection", connection: "shop", table: "public.orders", watermark: { column: "id", value: "10" } }),
  v("orders", 2, { kind: "connection", connection: "shop", table: "public.orders", watermark: { column: "id", value: "20" } }),
  v("customers", 1, { kind: "upload", format: "csv", filename: "customers.csv" }),
  v("joined", 1, {
    kind: "transform",
    sql: "select *",
    inputs: [
      { dataset: "orders", version: 2 },
      { dataset: "customers", version: 1 },
    ],
  }),
  v("joined", 2, { kind: "derived", role: "labels", parent: { dataset: "joined", version: 1 }, jobId: "j1", runId: "r1" }),
  v("secret", 1, { kind: "transform", sql: "select *", inputs: [{ dataset: "orders", version: 1 }] }),
];

describe("buildLineage", () => {
  it.each([
    [
      "orders: one source node for both incremental versions, a transform downstream, another project's output hidden",
      "orders",
      [
        "joined v1 -trained-> train clustering j1",
        "orders v1 -transformed-> hidden (another project)",
        "orders v2 -transformed-> joined v1",
        "shop: public.orders -imported-> orders v1",
        "shop: public.orders -imported-> orders v2",
        "train clustering j1 -wrote-> joined v2",
      ],
    ],
    [
      "joined: both transform inputs upstream, the clustering job and the labels it wrote",
      "joined",
      [
        "customers v1 -transformed-> joined v1",
        "customers.csv -imported-> customers v1",
        "joined v1 -trained-> train clustering j1",
        "orders v2 -transformed-> joined v1",
        "shop: public.orders -imported-> orders v2",
        "train clustering j1 -wrote-> joined v2",
      ],
    ],
  ])("%s", (_what, dataset, expected) => {
    const g = buildLineage({
      dataset,
      versions,
      jobs: [trainJob("j1", "joined", 1, [{ role: "labels", name: "joined", version: 2 }])],
      visible: (d) => d !== "secret",
    });
    expect(edgesOf(g)).toEqual(expected);
    expect(JSON.stringify(g)).not.toContain("secret");
    expect(g.nodes.find((n) => n.jobId === "j1")?.runId).toBe("run-of-j1");
  });

  it("answers an empty graph for a dataset the caller cannot see", () => {
    expect(buildLineage({ dataset: "secret", versions, jobs: [], visible: (d) => d !== "secret" })).toEqual({
      dataset: "secret",
      nodes: [],
      edges: [],
    });
  });
});
