/** Display formatting shared by every page; pure so the tables and charts agree on what a number looks like. */

const dash = "—";

/** A number for a table cell: integers with thousands separators, fractions with up to `digits` significant decimals. */
export function formatNumber(value: number | null | undefined, digits = 4): string {
  if (value === null || value === undefined || Number.isNaN(value)) return dash;
  if (!Number.isFinite(value)) return value > 0 ? "∞" : "-∞";
  if (Number.isInteger(value)) return value.toLocaleString("en-US");
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e9)) return value.toExponential(2);
  return value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

/** A metric as PyCaret prints it: four decimals, fixed, so a column of scores lines up; counts as integers. */
export function formatMetric(value: number | null | undefined): string {
  if (value === null || value === undefined || Number.isNaN(value)) return dash;
  // Counts (clusters, anomalies, rules, iterations) are whole numbers: no decimals. A score of
  // exactly 0 or 1 keeps them, so a column of scores still lines up.
  if (Math.abs(value) >= 1e6 || (Number.isInteger(value) && Math.abs(value) >= 2)) return formatNumber(value, 0);
  return value.toFixed(4);
}

export function formatPercent(fraction: number | null | undefined, digits = 1): string {
  if (fraction === null || fraction === undefined || Number.isNaN(fraction)) return dash;
  return `${(fraction * 100).toFixed(digits)}%`;
}

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return dash;
  const units = ["B", "KB", "MB", "GB", "TB"];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v >= 10 ? 0 : 1)} ${units[i]}`;
}

/** Elapsed time as a person reads it on a progress line: 8s, 1m 05s, 2h 03m. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || Number.isNaN(ms) || ms < 0) return dash;
  const total = Math.floor(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, "0")}m`;
  if (m > 0) return `${m}m ${String(s).padStart(2, "0")}s`;
  return `${s}s`;
}

/** Milliseconds between two ISO timestamps; `end` defaults to `now`. */
export function elapsedMs(startIso: string | null | undefined, endIso: string | null | undefined, now: number): number | null {
  if (!startIso) return null;
  const start = Date.parse(startIso);
  if (Number.isNaN(start)) return null;
  const end = endIso ? Date.parse(endIso) : now;
  return Math.max(0, (Number.isNaN(end) ? now : end) - start);
}

/** A timestamp in the viewer's locale, short: "12 Mar 2025, 14:03". */
export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return dash;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return dash;
  return d.toLocaleString(undefined, { day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit" });
}

/** "3 minutes ago"; falls back to the date for anything older than a week. */
export function formatRelative(iso: string | null | undefined, now: number): string {
  if (!iso) return dash;
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return dash;
  const s = Math.round((now - t) / 1000);
  if (s < 0) return formatDateTime(iso);
  if (s < 45) return "just now";
  const m = Math.round(s / 60);
  if (m < 60) return `${m} minute${m === 1 ? "" : "s"} ago`;
  const h = Math.round(m / 60);
  if (h < 24) return `${h} hour${h === 1 ? "" : "s"} ago`;
  const d = Math.round(h / 24);
  if (d < 7) return `${d} day${d === 1 ? "" : "s"} ago`;
  return formatDateTime(iso);
}

/** Any cell value from a preview page (numbers, strings, booleans, nulls, nested JSON) as text. */
export function formatCell(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") return formatNumber(value, 6);
  if (typeof value === "string") return value;
  if (typeof value === "boolean" || typeof value === "bigint") return String(value);
  return JSON.stringify(value);
}
