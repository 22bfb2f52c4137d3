import { z } from "zod";

/** Who made a change: a user (id and username), or the server itself (`id` null, `name` "system"). */
export const AuditActor = z.object({ id: z.string().nullable(), name: z.string() });
export type AuditActor = z.infer<typeof AuditActor>;

/** One row of the append-only, hash-chained audit log. */
export const AuditEntry = z.object({
  seq: z.number().int().positive(),
  at: z.string(),
  actor: AuditActor,
  /** e.g. dataset.import, job.create, job.cancel, model.register, token.revoke, auth.login_failed */
  action: z.string(),
  target: z.object({ kind: z.string(), id: z.string() }),
  project: z.string().nullable(),
  /** The client's address as the socket saw it; null for the server's own changes. */
  address: z.string().nullable(),
  /** Small JSON snapshots (secrets removed; over 4 KB replaced by a note that they were cut). */
  before: z.unknown().nullable(),
  after: z.unknown().nullable(),
  prevHash: z.string(),
  hash: z.string(),
});
export type AuditEntry = z.infer<typeof AuditEntry>;

/** Filters of GET /api/audit and /api/audit/export. */
export const AuditQuery = z.object({
  /** An action, or a prefix ending in `*` (e.g. `job.*`). */
  action: z.string().max(100).optional(),
  /** A username or user id ("system" for the server). */
  actor: z.string().max(100).optional(),
  project: z.string().max(100).optional(),
  /** A target id, or KIND:ID. */
  target: z.string().max(300).optional(),
  /** ISO 8601 time; entries at or after it. */
  since: z.iso.datetime({ offset: true }).optional(),
  /** ISO 8601 time; entries before it. */
  until: z.iso.datetime({ offset: true }).optional(),
  /** Text searched in the action, actor, target and snapshots. */
  q: z.string().max(200).optional(),
  /** Paging: only entries with a smaller seq (newest first). */
  before: z.coerce.number().int().positive().optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
export type AuditQuery = z.infer<typeof AuditQuery>;

export const AuditExportQuery = AuditQuery.omit({ before: true, limit: true }).extend({
  format: z.enum(["ndjson", "csv"]).default("ndjson"),
});
export type AuditExportQuery = z.infer<typeof AuditExportQuery>;

export const AuditPage = z.object({
  entries: z.array(AuditEntry),
  /** Pass as `before` for the next (older) page; null on the last page. */
  nextBefore: z.number().int().nullable(),
});
export type AuditPage = z.infer<typeof AuditPage>;

/** Why a row breaks the chain. */
export const AuditBreak = z.enum(["edited", "missing", "broken_link", "truncated"]);
export type AuditBreak = z.infer<typeof AuditBreak>;

export const AuditVerifyResult = z.discriminatedUnion("ok", [
  z.object({ ok: z.literal(true), rows: z.number().int(), head: z.object({ seq: z.number().int(), hash: z.string() }).nullable() }),
  z.object({
    ok: z.literal(false),
    rows: z.number().int(),
    /** The first row that breaks the chain. */
    seq: z.number().int(),
    reason: AuditBreak,
    message: z.string(),
  }),
]);
export type AuditVerifyResult = z.infer<typeof AuditVerifyResult>;
