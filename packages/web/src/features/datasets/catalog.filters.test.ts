import { describe, expect, it } from "vitest";
import { catalogQuery, NO_FILTER } from "./CatalogFilters.tsx";

describe("catalogQuery", () => {
  it.each([
    [NO_FILTER, {}],
    [{ ...NO_FILTER, search: "  sales  " }, { search: "sales" }],
    [{ ...NO_FILTER, search: "   " }, {}],
    [
      { search: "", tag: "pii", owner: "ana", source: "connection" },
      { tag: "pii", owner: "ana", source: "connection" },
    ],
    [{ ...NO_FILTER, source: "ftp" }, {}],
  ])("%o -> %o", (filter, query) => {
    expect(catalogQuery(filter)).toEqual(query);
  });
});
