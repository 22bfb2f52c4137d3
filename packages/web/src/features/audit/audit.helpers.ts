import type { AuditEntry } from "@caretflow/contracts";

/** The filters a person sets on the audit page (all optional; empty strings mean "any"). */
export interface AuditFilters {
  q: string;
  action: string;
  actor: string;
  target: string;
  /** yyyy-mm-dd from a date input: entries on or after that day (local time). */
  since: string;
  /** yyyy-mm-dd: entries up to the end of that day (local time). */
  until: string;
}

export const NO_FILTERS: AuditFilters = { q: "", action: "", actor: "", target: "", since: "", until: "" };

/** Actions caretflow records, offered as suggestions in the action filter. */
export const KNOWN_ACTIONS = [
  "auth.login",
  "auth.login_failed",
  "auth.logout",
  "token.create",
  "token.revoke",
  "user.create",
  "user.password.change",
  "dataset.import",
  "job.create",
  "job.cancel",
  "model.register",
  "model.alias.set",
  "model.alias.delete",
  "job.*",
  "model.*",
  "auth.*",
] as const;

/** The filters as query parameters of GET /api/audit (and /export): empty ones left out, the rest trimmed. */
export type AuditFilterParams = Partial<Record<"q" | "action" | "actor" | "target" | "since" | "until", string>>;

/**
 * The query parameters of GET /api/audit (and /export) for these filters; dates become ISO times at the
 * start of `since`'s day and the end of `until`'s day in the viewer's time zone.
 */
export function auditParams(f: AuditFilters): AuditFilterParams {
  const p: AuditFilterParams = {};
  for (const k of ["q", "action", "actor", "target"] as const) if (f[k].trim() !== "") p[k] = f[k].trim();
  if (f.since) p.since = dayStart(f.since).toISOString();
  if (f.until) p.until = new Date(dayStart(f.until).getTime() + 86_400_000).toISOString();
  return p;
}

/**
 * The same filters (and `extra` parameters) as one query string, e.g. for a cache key.
 * @example auditQuery({ ...NO_FILTERS, action: "job.*" }, { limit: 50 }) // "action=job.*&limit=50"
 */
export function auditQuery(f: AuditFilters, extra: Record<string, string | number | undefined> = {}): string {
  const p = new URLSearchParams(auditParams(f));
  for (const [k, v] of Object.entries(extra)) if (v !== undefined && String(v).trim() !== "") p.set(k, String(v).trim());
  return p.toString().replaceAll("%2A", "*");
}

function dayStart(day: string): Date {
  const [y, m, d] = day.split("-").map(Number);
  return new Date(y!, (m ?? 1) - 1, d ?? 1);
}

/** "dataset:juice/1" */
export function targetText(e: Pick<AuditEntry, "target">): string {
  return `${e.target.kind}:${e.target.id}`;
}

/** A snapshot as one short line of JSON (the full one is in the export). */
export function snapshotText(value: unknown, max = 160): string {
  if (value === null || value === undefined) return "";
  const text = JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
