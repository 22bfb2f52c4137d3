import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { contrastRatio, parseHex, rootVariables } from "./contrast.ts";

describe("contrastRatio", () => {
  it("matches WCAG's reference values", () => {
    expect(contrastRatio("#000000", "#ffffff")).toBeCloseTo(21, 5);
    expect(contrastRatio("#fff", "#fff")).toBe(1);
    // #767676 is the lightest grey with 4.5:1 on white
    expect(contrastRatio("#767676", "#ffffff")).toBeGreaterThanOrEqual(4.5);
    expect(contrastRatio("#777777", "#ffffff")).toBeLessThan(4.5);
  });

  it("is symmetric and reads short hex", () => {
    expect(contrastRatio("#3b5bdb", "#fff")).toBeCloseTo(contrastRatio("#ffffff", "#3b5bdb"), 10);
    expect(parseHex("#abc")).toEqual([0xaa, 0xbb, 0xcc]);
    expect(parseHex("var(--x)")).toBeNull();
    expect(() => contrastRatio("red", "#fff")).toThrow(/not a hex colour: red/);
  });
});

describe("the theme in styles.css", () => {
  const vars = rootVariables(readFileSync(new URL("../styles.css", import.meta.url), "utf8"));
  const color = (name: string) => {
    const v = name.startsWith("#") ? name : vars[name];
    if (!v) throw new Error(`styles.css declares no ${name}`);
    return v;
  };

  // Text colour, and every background the UI puts it on (badges, chips, tabs, stats, highlighted rows, the shell).
  const pairs: [text: string, backgrounds: string[]][] = [
    ["--text", ["--surface", "--surface-2", "--bg", "--accent-soft", "--good-soft", "--warn-soft", "--bad-soft", "--info-soft"]],
    ["--text-2", ["--surface", "--surface-2", "--bg", "--bad-soft"]],
    ["--muted", ["--surface", "--surface-2", "--bg", "--accent-soft", "--good-soft", "--warn-soft", "--bad-soft", "--info-soft"]],
    ["--accent", ["--surface", "--surface-2", "--bg"]],
    ["--accent-strong", ["--accent-soft", "--surface"]],
    ["--good", ["--good-soft", "--surface"]],
    ["--warn", ["--warn-soft", "--surface"]],
    ["--bad", ["--bad-soft", "--surface"]],
    ["--info", ["--info-soft", "--surface"]],
    ["#ffffff", ["--accent", "--accent-strong"]],
  ];

  it.each(pairs)("%s reads at 4.5:1 or more on its backgrounds", (text, backgrounds) => {
    const low = backgrounds
      .map((bg) => ({ bg, ratio: contrastRatio(color(text), color(bg)) }))
      .filter((p) => p.ratio < 4.5)
      .map((p) => `${p.bg} ${p.ratio.toFixed(2)}:1`);
    expect(low).toEqual([]);
  });

  it("reads its variables", () => {
    expect(vars["--muted"]).toMatch(/^#[0-9a-f]{6}$/i);
    expect(Object.keys(vars).length).toBeGreaterThan(15);
  });
});
