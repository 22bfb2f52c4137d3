import { describe, expect, it } from "vitest";
import { auditQuery, NO_FILTERS, snapshotText } from "./audit.helpers.ts";

describe("auditQuery", () => {
  it("leaves out empty filters and keeps a * prefix readable", () => {
    expect(auditQuery(NO_FILTERS)).toBe("");
    expect(auditQuery({ ...NO_FILTERS, action: "job.*", actor: " admin " }, { limit: 50, before: undefined })).toBe(
      "action=job.*&actor=admin&limit=50",
    );
  });

  it("turns days into the start of since's day and the end of until's day, local time", () => {
    const q = new URLSearchParams(auditQuery({ ...NO_FILTERS, since: "2026-12-01", until: "2026-12-01" }));
    expect(new Date(q.get("since")!).getTime()).toBe(new Date(2026, 11, 1).getTime());
    expect(new Date(q.get("until")!).getTime()).toBe(new Date(2026, 11, 2).getTime());
  });

  it("encodes search text", () => {
    expect(auditQuery({ ...NO_FILTERS, q: "a&b=c" })).toBe("q=a%26b%3Dc");
  });
});

describe("snapshotText", () => {
  it("shows small snapshots whole and cuts long ones", () => {
    expect(snapshotText(null)).toBe("");
    expect(snapshotText({ version: 2 })).toBe('{"version":2}');
    expect(snapshotText({ s: "x".repeat(500) }, 20)).toHaveLength(20);
  });
});
