import type { OperateResult } from "@caretflow/contracts";
import { formatFields } from "./table.ts";

const show = (v: unknown) => (typeof v === "number" ? Number(v.toFixed(4)).toString() : v === null ? "-" : String(v));

/** What an operation did, for a terminal: its source, what it chose, the facts and notes. */
export function formatOperation(o: { op: OperateResult["op"]; sourceRunId: string; summary: OperateResult["summary"] | null }): string {
  const lines = [formatFields([["operation", `${o.op} of run ${o.sourceRunId}`]])];
  const params = Object.entries(o.summary?.params ?? {});
  if (params.length > 0) lines.push(`chosen: ${params.map(([k, v]) => `${k}=${show(v)}`).join(", ")}`);
  const facts = Object.entries(o.summary?.facts ?? {});
  if (facts.length > 0) lines.push(formatFields(facts.map(([k, v]) => [k.replaceAll("_", " "), show(v)])));
  for (const note of o.summary?.notes ?? []) lines.push(`note: ${note}`);
  return lines.join("\n");
}
