/** WCAG 2 contrast of two colours, for checking the theme's text/background pairs. */

/** #rgb or #rrggbb to 0–255 channels; null for anything else. */
export function parseHex(color: string): [number, number, number] | null {
  const m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(color.trim());
  if (!m?.[1]) return null;
  const hex = m[1].length === 3 ? [...m[1]].map((c) => c + c).join("") : m[1];
  const n = Number.parseInt(hex, 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** Relative luminance, WCAG 2's definition (sRGB, linearised). */
export function relativeLuminance([r, g, b]: [number, number, number]): number {
  const lin = (v: number) => {
    const c = v / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/** Contrast ratio from 1 (same colour) to 21 (black on white); AA asks 4.5 for body text, 3 for large text. */
export function contrastRatio(a: string, b: string): number {
  const pa = parseHex(a);
  const pb = parseHex(b);
  if (!pa || !pb) throw new Error(`not a hex colour: ${pa ? b : a}`);
  const [hi, lo] = [relativeLuminance(pa), relativeLuminance(pb)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

/** The custom properties declared in a stylesheet's :root block, e.g. { "--muted": "#626a7b" }. */
export function rootVariables(css: string): Record<string, string> {
  const root = /:root\s*\{([^}]*)\}/.exec(css)?.[1] ?? "";
  const vars: Record<string, string> = {};
  for (const m of root.matchAll(/(--[\w-]+)\s*:\s*([^;]+);/g)) if (m[1] && m[2]) vars[m[1]] = m[2].trim();
  return vars;
}
