import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Page } from "playwright-core";

/**
 * Accessibility checks with axe-core inside the page under test. Only violations of impact
 * serious or critical fail a check; moderate and minor ones are reported by axe too but are
 * not part of the bar the UI is held to.
 */

const require = createRequire(import.meta.url);
/** axe-core's browser bundle, injected as a script into each page that is checked. */
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

export const failingImpacts = ["serious", "critical"] as const;

/** The part of axe's result this helper reads (its own typings need the DOM library, which e2e is compiled without). */
export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  helpUrl: string;
  nodes: { target: unknown[]; html: string; failureSummary?: string }[];
}

export interface A11yOptions {
  /** CSS selectors axe leaves out, e.g. a third-party frame. Every use must say why next to the call. */
  exclude?: string[];
}

/** Runs axe on the page as it is now and returns its serious and critical violations. */
export async function axeViolations(page: Page, options: A11yOptions = {}): Promise<AxeViolation[]> {
  // A string, not a function: this file is type-checked without the DOM library.
  // Evaluated, not added as a <script>: caretflow's CSP refuses inline scripts (as it should).
  if (!(await page.evaluate("typeof window.axe !== 'undefined'"))) await page.evaluate(`${axeSource}\n;void 0`);
  const context = options.exclude?.length ? { include: [["html"]], exclude: options.exclude.map((s) => [s]) } : "document";
  const run = `axe.run(${typeof context === "string" ? context : JSON.stringify(context)}, ${JSON.stringify({ resultTypes: ["violations"] })})
    .then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
      nodes: v.nodes.map((n) => ({ target: n.target, html: n.html, failureSummary: n.failureSummary })) })))`;
  const violations = (await page.evaluate(run)) as AxeViolation[];
  return violations.filter((v) => (failingImpacts as readonly (string | null)[]).includes(v.impact));
}

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** A readable list: one block per rule (id, impact, help text, link), one line per element (selector, HTML, why). */
export function formatViolations(name: string, url: string, violations: readonly AxeViolation[]): string {
  const lines = [`${name} (${url}): ${violations.length} serious/critical accessibility violation${violations.length === 1 ? "" : "s"}`];
  for (const v of violations) {
    lines.push("", `[${v.impact}] ${v.id}: ${v.help}`, `  ${v.helpUrl}`);
    for (const n of v.nodes) {
      lines.push(`  - ${n.target.map((t) => (Array.isArray(t) ? t.join(" >>> ") : String(t))).join(", ")}`);
      lines.push(`    ${clip(n.html.replace(/\s+/g, " "), 200)}`);
      const why = n.failureSummary?.split("\n").slice(1).join(" ").trim();
      if (why) lines.push(`    ${clip(why, 300)}`);
    }
  }
  return lines.join("\n");
}

/** Waits for loading placeholders to go, so the check sees the page with its data. */
export async function waitForSettled(page: Page, timeout = 30_000): Promise<void> {
  await page.locator('.skeleton, [aria-busy="true"]').first().waitFor({ state: "detached", timeout });
  // one frame for late layout (charts measure their box before drawing)
  await page.evaluate("new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))");
}

/** Fails with the list of serious and critical violations on the page, named `name` in the message. */
export async function expectAccessible(page: Page, name: string, options: A11yOptions = {}): Promise<void> {
  await waitForSettled(page);
  const violations = await axeViolations(page, options);
  if (violations.length > 0) throw new Error(formatViolations(name, page.url(), violations));
}
