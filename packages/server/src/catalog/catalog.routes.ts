import { TaskId } from "@caretflow/contracts";
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../http/app.env.ts";
import { parseQuery } from "../http/validate.ts";
import type { CatalogPort } from "../ports.ts";

const CatalogQuery = z.object({ task: TaskId.optional() });

export function catalogRoutes(deps: { catalog: CatalogPort }): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/", async (c) => {
    const { task } = parseQuery(c, CatalogQuery);
    const catalog = await deps.catalog.get();
    return c.json(task ? { ...catalog, tasks: catalog.tasks.filter((t) => t.task === task) } : catalog);
  });
  return app;
}
