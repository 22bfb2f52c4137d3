import { AuditExportQuery, AuditQuery, CaretflowError, type User } from "@caretflow/contracts";
import { type Context, Hono } from "hono";
import { type AppEnv, clientAddress } from "../http/app.env.ts";
import { parseQuery } from "../http/validate.ts";
import { auditCsvHeader, auditCsvLine } from "./audit.csv.ts";
import { type AuditLog, type AuditRecord, actorOf } from "./audit.log.ts";

/** Refuses anyone but a site admin (403). */
export function requireSiteAdmin(user: Pick<User, "role">): void {
  if (user.role !== "admin") {
    throw new CaretflowError({
      code: "forbidden",
      kind: "user",
      status: 403,
      message: "Only site admins may read the audit log",
      hint: "Ask a site admin to search or export the audit log for you.",
    });
  }
}

/** Who made the request and from where, for an audit entry. */
export function requester(c: Context<AppEnv>): Pick<AuditRecord, "actor" | "address"> {
  return { actor: actorOf(c.get("user")), address: clientAddress(c.env) };
}

/** GET /api/audit, /api/audit/verify and /api/audit/export. Read-only: no route changes a row. */
export function auditRoutes(deps: { audit: AuditLog }): Hono<AppEnv> {
  const { audit } = deps;
  const app = new Hono<AppEnv>();

  app.get("/", async (c) => {
    requireSiteAdmin(c.get("user"));
    return c.json(await audit.list(parseQuery(c, AuditQuery)));
  });
  app.get("/verify", async (c) => {
    requireSiteAdmin(c.get("user"));
    return c.json(await audit.verify());
  });
  app.get("/export", (c) => {
    requireSiteAdmin(c.get("user"));
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
