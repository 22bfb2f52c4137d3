import { AuditExportQuery, AuditQuery } from "@caretflow/contracts";
import { type Context, Hono } from "hono";
import { type AppEnv, clientAddress } from "../http/app.env.ts";
import { parseQuery } from "../http/validate.ts";
import { auditCsvHeader, auditCsvLine } from "./audit.csv.ts";
import { type AuditLog, type AuditRecord, actorOf } from "./audit.log.ts";

/** Who made the request and from where, for an audit entry. */
export function requester(c: Context<AppEnv>): Pick<AuditRecord, "actor" | "address" | "project"> {
  const project = c.get("project");
  return { actor: actorOf(c.get("user")), address: clientAddress(c.env), ...(project ? { project } : {}) };
}

/**
 * GET /api/audit, /api/audit/verify and /api/audit/export (site admins, as the route table declares).
 * Read-only: no route changes a row.
 */
export function auditRoutes(deps: { audit: AuditLog }): Hono<AppEnv> {
  const { audit } = deps;
  const app = new Hono<AppEnv>();

  app.get("/", async (c) => {
    return c.json(await audit.list(parseQuery(c, AuditQuery)));
  });
  app.get("/verify", async (c) => {
    return c.json(await audit.verify());
  });
  app.get("/export", (c) => {
    const { format, ...filter } = parseQuery(c, AuditExportQuery);
    const entries = audit.export(filter);
    const encoder = new TextEncoder();
    let headerSent = false;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (format === "csv" && !headerSent) {
          headerSent = true;
          controller.enqueue(encoder.encode(auditCsvHeader()));
          return;
        }
        const next = await entries.next();
        if (next.done) return controller.close();
        controller.enqueue(encoder.encode(format === "csv" ? auditCsvLine(next.value) : `${JSON.stringify(next.value)}\n`));
      },
      async cancel() {
        await entries.return(undefined);
      },
    });
    const stamp = new Date().toISOString().slice(0, 10);
    return new Response(body, {
      headers: {
        "content-type": format === "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson; charset=utf-8",
        "content-disposition": `attachment; filename="caretflow-audit-${stamp}.${format === "csv" ? "csv" : "ndjson"}"`,
      },
    });
  });
  return app;
}
