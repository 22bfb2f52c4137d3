import { describe, expect, it } from "vitest";
import { Description, ExperimentName, Label, locationTrick, neutralizeFormula, UploadFilename } from "./refused.ts";

describe("locationTrick", () => {
  it.each([
    ["file:///etc/passwd", /URI/],
    ["dbfs:/mnt/x", /URI/],
    ["C:\\Windows", /URI or drive/],
    ["//proc/self/root", /absolute/],
    ["~/x", /home/],
    ["..", /'\.\.'/],
    ["a/../b", /'\.\.'/],
    ["..\\x", /backslash/],
    ["%2e%2e%2fx", /'\.\.'/],
    ["%252e%252e%252fx", /'\.\.'/],
    ["%25252e%25252e%25252fx", /'\.\.'/],
    ["a\u0000b", /control/],
    ["a\u202eb", /invisible/],
    ["a/b", /'\/'/],
  ])("refuses %j", (value, why) => {
    expect(locationTrick(value)).toMatch(why);
  });

  it.each(["data.csv", "Crème brûlée (2024).xlsx", "100%.csv", "a..b.csv", "#1;x.csv"])("takes the plain name %j", (value) => {
    expect(locationTrick(value)).toBeNull();
  });

  it("takes nested relative paths only when asked", () => {
    expect(locationTrick("plots/roc.png", { nested: true })).toBeNull();
    expect(locationTrick("plots//roc.png", { nested: true })).toMatch(/empty/);
    expect(locationTrick("plots/../../x", { nested: true })).toMatch(/'\.\.'/);
  });
});

describe("neutralizeFormula", () => {
  it.each([
    ["=1+1", "'=1+1"],
    ["+1", "'+1"],
    ["-1", "'-1"],
    ["@x", "'@x"],
    ["\tx", "'\tx"],
    ["\rx", "'\rx"],
    ["x=1", "x=1"],
    ["", ""],
  ])("%j becomes %j", (input, output) => {
    expect(neutralizeFormula(input)).toBe(output);
  });
});

describe("name schemas", () => {
  it("refuses look-alikes, control characters, paths and templates, and takes ordinary names", () => {
    for (const bad of ["\u0458uice", "a\nb", "a/b", "../x", "{{7*7}}", "a..b", "x".repeat(201)])
      expect(ExperimentName.safeParse(bad).success, bad).toBe(false);
    for (const good of ["caretflow-juice", "Churn model (v2)", "sales 2024"])
      expect(ExperimentName.safeParse(good).success, good).toBe(true);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: names template syntax, not a template
    for (const bad of ["{{7*7}}", "${x}", "l\u0430ptop", "a\tb"]) expect(Label.safeParse(bad).success, bad).toBe(false);
    expect(Label.safeParse("laptop (work)").success).toBe(true);
    expect(UploadFilename.safeParse("../x.csv").success).toBe(false);
    expect(UploadFilename.safeParse("Crème.csv").success).toBe(true);
    expect(Description.safeParse("two lines\nand {{ braces }}").success).toBe(true);
    expect(Description.safeParse("hidden\u202etext").success).toBe(false);
  });
});
