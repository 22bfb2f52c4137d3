import type { LineageGraph } from "@caretflow/contracts";
import { describe, expect, it } from "vitest";
import { layoutLineage, lineageHref, NODE_HEIGHT, NODE_WIDTH } from "./lineage.layout.ts";

const node = (id: string, type: LineageGraph["nodes"][number]["type"] = "version") => ({ id, type, label: id });

describe("layoutLineage", () => {
  it.each([
    [
      "a chain",
      ["s", "v1", "j", "out"],
      [
        ["s", "v1"],
        ["v1", "j"],
        ["j", "out"],
      ],
    ],
    [
      "a fan-out",
      ["s", "v1", "v2", "t", "h"],
      [
        ["s", "v1"],
        ["s", "v2"],
        ["v1", "t"],
        ["v2", "t"],
        ["v1", "h"],
      ],
    ],
    ["two islands", ["a", "b", "c"], [["a", "b"]]],
  ] as const)("%s: every edge points right and no two nodes overlap", (_name, ids, links) => {
    const graph = {
      nodes: ids.map((id) => node(id)),
      edges: links.map(([from, to]) => ({ from, to, type: "derived" as const })),
    };
    const pos = layoutLineage(graph);
    expect([...pos.keys()].sort()).toEqual([...ids].sort());
    for (const e of graph.edges) expect(pos.get(e.from)!.x).toBeLessThan(pos.get(e.to)!.x);
    const boxes = [...pos.values()];
    for (let i = 0; i < boxes.length; i++)
      for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i]!;
        const b = boxes[j]!;
        const apart = Math.abs(a.x - b.x) >= NODE_WIDTH || Math.abs(a.y - b.y) >= NODE_HEIGHT;
        expect(apart).toBe(true);
      }
    expect(layoutLineage(graph)).toEqual(pos);
  });

  it("links versions and jobs to their pages, sources and hidden nodes nowhere", () => {
    expect(lineageHref({ id: "v", type: "version", label: "", dataset: "a b", version: 2 })).toBe("/data/a%20b?v=2");
    expect(lineageHref({ id: "j", type: "job", label: "", jobId: "j-1" })).toBe("/jobs/j-1");
    expect(lineageHref({ id: "s", type: "source", label: "x.csv" })).toBeNull();
    expect(lineageHref({ id: "h", type: "hidden", label: "hidden" })).toBeNull();
  });
});
