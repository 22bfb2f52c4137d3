import { describe, expect, it } from "vitest";
import { describeSource } from "./datasets.ts";

describe("describeSource", () => {
  it("names the file, or the connection and table or query with the watermark", () => {
    expect(describeSource({ kind: "upload", filename: "sales.csv" })).toBe("sales.csv");
    expect(describeSource({ kind: "demo" })).toBe("demo");
    expect(describeSource({ kind: "connection", connection: "shop", table: "public.orders" })).toBe("shop: public.orders");
    expect(describeSource({ kind: "connection", connection: "shop", query: "SELECT 1", watermark: { column: "id", value: "42" } })).toBe(
      "shop: query (id up to 42)",
    );
  });
});
