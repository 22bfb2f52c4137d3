import { rm } from "node:fs/promises";
import {
  ConnectionImportRequest,
  ConnectionName,
  ConnectionPreviewRequest,
  type ConnectionSummary,
  CreateConnectionRequest,
  sourceOf,
  UpdateConnectionRequest,
} from "@caretflow/contracts";
import { type Context, Hono } from "hono";
import { z } from "zod";
import type { AuditLog } from "../audit/audit.log.ts";
import { requester } from "../audit/audit.routes.ts";
import { receiveUpload } from "../datasets/upload.ts";
import { type AppEnv, nodeRequestBody } from "../http/app.env.ts";
import { parseJson, parsePath, parseQuery } from "../http/validate.ts";
import type { ProjectService } from "../projects/project.service.ts";
import { type ConnectionDatasets, type ConnectionService, defaultDatasetName } from "./connection.service.ts";

const BrowseQuery = z.object({ path: z.string().max(1024).optional() });

/**
 * /api/connections: viewers list and see a project's connections, editors test, browse, preview and
 * import (they read the source), owners create, change credentials and delete. Answers name the
 * secret fields that are set, never their values; every change is audited (without secrets).
 */
export function connectionsRoutes(deps: {
  connections: ConnectionService;
  datasets: ConnectionDatasets;
  projects: ProjectService;
  audit: AuditLog;
  /** Uploads land here first; the largest accepted. */
  upload?: { tmpDir: string; maxBytes: number };
}): Hono<AppEnv> {
  const { connections, audit } = deps;
  const app = new Hono<AppEnv>();
  const named = (c: Context<AppEnv>) => parsePath(c.req.param("name"), ConnectionName, "connection name");
  const target = (name: string) => ({ kind: "connection", id: name });
  // The audit log redacts secret-looking keys; the names of the sealed fields (never values) are kept under a plain key.
  const facts = ({ secretsSet, ...rest }: ConnectionSummary) => ({ ...rest, sealedFields: secretsSet });

  app.get("/", async (c) => c.json({ connections: await connections.list(c.get("project")) }));

  app.post("/files", async (c) => {
    const upload = await receiveUpload(c.req.raw, deps.upload ?? { tmpDir: "", maxBytes: 0 }, nodeRequestBody(c.env));
    try {
      const stored = await connections.storeFile(c.get("project"), upload.path);
      await audit.record({
        ...requester(c),
        action: "connection.file.store",
        target: { kind: "connection-file", id: stored.file },
        after: stored,
      });
      return c.json(stored, 201);
    } finally {
      await rm(upload.path, { force: true }); // gone already when stored
    }
  });

  app.post("/", async (c) => {
    const req = await parseJson(c, CreateConnectionRequest);
    const created = await connections.create(c.get("project"), req, c.get("user").id);
    await audit.record({ ...requester(c), action: "connection.create", target: target(created.name), after: facts(created) });
    return c.json(created, 201);
  });

  app.get("/:name", async (c) => c.json(await connections.get(c.get("project"), named(c))));

  app.put("/:name", async (c) => {
    const name = named(c);
    const req = await parseJson(c, UpdateConnectionRequest);
    const { before, after } = await connections.update(c.get("project"), name, req);
    const changedSecrets = Object.keys(req.secrets ?? {}).sort();
    await audit.record({
      ...requester(c),
      action: changedSecrets.length > 0 ? "connection.credentials.update" : "connection.update",
      target: target(name),
      before: facts(before),
      after: { ...facts(after), ...(changedSecrets.length > 0 ? { sealedFieldsChanged: changedSecrets } : {}) },
    });
    return c.json(after);
  });

  app.delete("/:name", async (c) => {
    const name = named(c);
    const before = await connections.remove(c.get("project"), name);
    await audit.record({ ...requester(c), action: "connection.delete", target: target(name), before: facts(before) });
    return c.json({ ok: true as const });
  });

  app.post("/:name/test", async (c) => c.json(await connections.test(c.get("project"), named(c))));

  app.get("/:name/browse", async (c) => {
    const name = named(c);
    const { path } = parseQuery(c, BrowseQuery);
    return c.json({ entries: await connections.discover(c.get("project"), name, path || undefined) });
  });

  app.post("/:name/preview", async (c) => {
    const name = named(c);
    const req = await parseJson(c, ConnectionPreviewRequest);
    return c.json(await connections.preview(c.get("project"), name, sourceOf(req), req.limit, deps.datasets));
  });

  app.post("/:name/import", async (c) => {
    const name = named(c);
    const project = c.get("project");
    const req = await parseJson(c, ConnectionImportRequest);
    await connections.get(project, name);
    const dataset = defaultDatasetName(req);
    const claimed = await deps.projects.claim("dataset", dataset, project);
    // A client that goes away cancels the read; nothing is stored then.
    const signal = c.req.raw.signal;
    const into = { dataset, signal, owner: c.get("user").username };
    const result = await connections.importInto(project, name, req, deps.datasets, into).catch(async (err: unknown) => {
      if (claimed && !(await deps.datasets.list()).some((d) => d.name === dataset))
        await deps.projects.release("dataset", dataset, project);
      throw err;
    });
    const { rowsRead, ...answer } = result;
    if (answer.created) {
      await audit.record({
        ...requester(c),
        action: "dataset.import",
        target: { kind: "dataset", id: `${answer.version.dataset}/${answer.version.version}` },
        after: {
          connection: name,
          ...(req.table
            ? { table: req.table }
            : req.object
              ? { object: req.object, objectCount: answer.version.source.objectCount }
              : { query: req.query }),
          rowsRead,
          rowCount: answer.version.rowCount,
          ...(answer.version.source.watermark ? { watermark: answer.version.source.watermark } : {}),
        },
      });
    }
    return c.json(answer, answer.created ? 201 : 200);
  });

  return app;
}
