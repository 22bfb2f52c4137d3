import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { serveStatic } from "@hono/node-server/serve-static";
import type { Hono } from "hono";
import type { AppEnv } from "../http/app.env.ts";

const MISSING_BUILD = `<!doctype html><meta charset="utf-8"><title>caretflow</title>
<body style="font-family:system-ui;max-width:40rem;margin:4rem auto">
<h1>caretflow is running, but the web UI is not built</h1>
<p>Build it with <code>npm run build:web</code> (or run <code>npm start</code>, which builds it), then reload this page.</p>
<p>The HTTP API works meanwhile: <a href="/api/health">/api/health</a>, <a href="/api/openapi.json">/api/openapi.json</a>.</p>`;

/**
 * Serves the built web UI (public: it holds no data) with a fallback to
 * index.html for client-side routes. API and MLflow paths never fall back.
 */
export function mountWeb(app: Hono<AppEnv>, webDist: string | null): void {
  const index = webDist ? join(webDist, "index.html") : null;
  if (webDist && index && existsSync(index)) {
    app.use("*", serveStatic({ root: webDist }));
  }
  app.get("*", async (c, next) => {
    if (c.req.path.startsWith("/api/") || c.req.path === "/api" || c.req.path.startsWith("/mlflow")) return next();
    if (index && existsSync(index)) {
      c.header("cache-control", "no-cache");
      return c.html(await readFile(index, "utf8"));
    }
    return c.html(MISSING_BUILD, 200);
  });
}
