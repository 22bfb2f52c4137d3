import { createHash } from "node:crypto";
import type { ServerTables } from "../db/server.tables.ts";

export type AuditRow = ServerTables["audit_log"];

/** prev_hash of the first row. */
export const GENESIS_HASH = "0".repeat(64);

/** Snapshots larger than this (bytes of JSON) are replaced by a note saying they were cut. */
export const SNAPSHOT_MAX_BYTES = 4096;

/**
 * The bytes a row's hash covers: every field but `hash`, in a fixed order, as one JSON array
 * (strings, numbers and nulls only, so the text is the same on every platform).
 */
export function canonicalRow(row: Omit<AuditRow, "hash">): string {
  return JSON.stringify([
    "caretflow-audit-v1",
    row.seq,
    row.at,
    row.actor_id,
    row.actor_name,
    row.action,
    row.target_kind,
    row.target_id,
    row.project,
    row.address,
    row.before_json,
    row.after_json,
    row.prev_hash,
  ]);
}

/** sha256 (hex) of the row's canonical text. */
export function rowHash(row: Omit<AuditRow, "hash">): string {
  return createHash("sha256").update(canonicalRow(row), "utf8").digest("hex");
}

// Keys whose values are never logged, wherever they sit in a snapshot.
const SECRET_KEY = /pass(word|wd)?|secret|token|cookie|authorization|api[_-]?key|credential|session/i;

/** A copy of `value` with secret-looking keys' values replaced by "[redacted]". */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 20) return "[too deep]";
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) ? "[redacted]" : redact(v, depth + 1);
    return out;
  }
  return value;
}

/**
 * The stored form of a before/after snapshot: null when absent, the redacted JSON when it is small,
 * else a note that it was cut (with its size), so a large request never bloats the log.
 */
export function snapshotJson(value: unknown, maxBytes = SNAPSHOT_MAX_BYTES): string | null {
  if (value === undefined || value === null) return null;
  const text = JSON.stringify(redact(value));
  if (text === undefined) return null;
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes <= maxBytes) return text;
  return JSON.stringify({ truncated: true, bytes, note: `snapshot of ${bytes} bytes was over ${maxBytes} bytes and was not stored` });
}
