import { type AuditEntry, neutralizeFormula } from "@caretflow/contracts";

export const AUDIT_CSV_COLUMNS = [
  "seq",
  "at",
  "actor_id",
  "actor",
  "action",
  "target_kind",
  "target_id",
  "project",
  "address",
  "before",
  "after",
  "prev_hash",
  "hash",
] as const;

/**
 * One CSV cell. Text a spreadsheet would run as a formula (starting with =, +, -, @, tab or
 * carriage return) is neutralised with contracts' `neutralizeFormula`; numbers stay numbers;
 * quotes, commas and line breaks are quoted.
 * @example csvCell("=HYPERLINK(...)") // "'=HYPERLINK(...)"
 */
export function csvCell(value: string | number | null): string {
  if (value === null) return "";
  const s = typeof value === "number" ? String(value) : neutralizeFormula(value);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function auditCsvHeader(): string {
  return `${AUDIT_CSV_COLUMNS.join(",")}\r\n`;
}

/** One entry as a CSV line (CRLF-terminated, RFC 4180). */
export function auditCsvLine(e: AuditEntry): string {
  const json = (v: unknown) => (v === null || v === undefined ? null : JSON.stringify(v));
  return `${[
    e.seq,
    e.at,
    e.actor.id,
    e.actor.name,
    e.action,
    e.target.kind,
    e.target.id,
    e.project,
    e.address,
    json(e.before),
    json(e.after),
    e.prevHash,
    e.hash,
  ]
    .map(csvCell)
    .join(",")}\r\n`;
}
