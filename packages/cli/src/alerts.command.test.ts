import { describe, expect, it } from "vitest";
import { paramValue, whenArg, windowArg } from "./alerts.command.ts";

describe("alerts flags", () => {
  it("reads --when as an operator and a number", () => {
    expect(whenArg(">250")).toEqual({ op: ">", threshold: 250 });
    expect(whenArg(" <= 0.8 ")).toEqual({ op: "<=", threshold: 0.8 });
    expect(whenArg(">=-1.5e-3")).toEqual({ op: ">=", threshold: -0.0015 });
    for (const bad of ["250", "=> 3", "> x", ""]) expect(() => whenArg(bad)).toThrow(/--when takes/);
  });
  it("reads --window in minutes, hours or days", () => {
    expect(windowArg("15")).toBe(15);
    expect(windowArg("15m")).toBe(15);
    expect(windowArg("2h")).toBe(120);
    expect(windowArg("1d")).toBe(1440);
    expect(() => windowArg("1w")).toThrow(/--window takes/);
  });
  it("types --param values as JSON would", () => {
    expect(paramValue("true")).toBe(true);
    expect(paramValue("0.8")).toBe(0.8);
    expect(paramValue("sales")).toBe("sales");
    expect(paramValue("")).toBe("");
  });
});
