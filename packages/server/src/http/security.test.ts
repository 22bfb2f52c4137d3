import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appFixture } from "../../test/app.fixture.ts";
import { allowedHosts, hostName } from "./security.ts";

let f: Awaited<ReturnType<typeof appFixture>>;
let web: string;
beforeAll(async () => {
  web = await mkdtemp(join(tmpdir(), "caretflow-web-"));
  await mkdir(join(web, "assets"));
  await writeFile(join(web, "index.html"), '<!doctype html><script type="module" src="/assets/app.js"></script>');
  await writeFile(join(web, "assets", "app.js"), "console.log(1)");
  f = await appFixture({ webDist: web, allowedHosts: allowedHosts({ listenHost: "0.0.0.0", extra: ["ml.example.com"] }) });
});
afterAll(async () => {
  await f.close();
  await rm(web, { recursive: true, force: true });
});

function expectSecurityHeaders(res: Response) {
  const csp = res.headers.get("content-security-policy") ?? "";
  const directives = new Map(
    csp
      .split(";")
      .map((d) => d.trim().split(/\s+/) as [string, ...string[]])
      .map(([k, ...v]) => [k, v]),
  );
  expect(directives.get("script-src")).toEqual(["'self'"]);
  expect(directives.get("default-src")).toEqual(["'self'"]);
  expect(directives.get("frame-ancestors")).toEqual(["'none'"]);
  expect(directives.get("object-src")).toEqual(["'none'"]);
  expect(res.headers.get("x-frame-options")).toBe("DENY");
  expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  expect(res.headers.get("referrer-policy")).toBe("no-referrer");
  // Plain http without an https public URL: no HSTS.
  expect(res.headers.get("strict-transport-security")).toBeNull();
}

describe("security headers", () => {
  it("are on API answers, pages, static files, 404s and errors", async () => {
    const health = await f.app.request("/api/health");
    expect(health.status).toBe(200);
    expectSecurityHeaders(health);
    const page = await f.app.request("/runs/abc");
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("/assets/app.js");
    expectSecurityHeaders(page);
    const asset = await f.app.request("/assets/app.js");
    expect(asset.status).toBe(200);
    expectSecurityHeaders(asset);
    const missing = await f.app.request("/api/no-such-route", { headers: { cookie: await f.login() } });
    expect(missing.status).toBe(404);
    expectSecurityHeaders(missing);
    const unauthorized = await f.app.request("/api/datasets");
    expect(unauthorized.status).toBe(401);
    expectSecurityHeaders(unauthorized);
  });

  it("keep a CSP a route set itself (the /mlflow/ proxy, artifact downloads)", async () => {
    const { Hono } = await import("hono");
    const { securityHeaders } = await import("./security.ts");
    const app = new Hono();
    app.use("*", securityHeaders({ https: false }));
    app.get("/own", (c) => c.text("x", 200, { "content-security-policy": "sandbox" }));
    const res = await app.request("/own");
    expect(res.headers.get("content-security-policy")).toBe("sandbox");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  });
});

describe("Host check (DNS rebinding)", () => {
  const withHost = (host: string) => f.app.request("/api/health", { headers: { host } });

  it("serves localhost, IP addresses, the listen address and configured names", async () => {
    for (const host of ["localhost:8420", "127.0.0.1:8420", "[::1]:8420", "192.168.1.20", "ml.example.com", "ML.Example.COM:443"]) {
      expect((await withHost(host)).status, host).toBe(200);
    }
  });

  it("refuses any other name with 421, saying which names are served and how to add one", async () => {
    for (const host of ["evil.example.net", "ml.example.com.evil.net:8420", "attacker.localhost.evil.net"]) {
      const res = await withHost(host);
      expect(res.status, host).toBe(421);
      expectSecurityHeaders(res);
      const { error } = (await res.json()) as { error: { code: string; message: string; hint: string } };
      expect(error.code).toBe("host_not_allowed");
      expect(error.message).toContain("ml.example.com");
      expect(error.message).toContain("localhost");
      expect(error.hint).toContain("--allowed-host");
      expect(error.hint).toContain("CARETFLOW_ALLOWED_HOSTS");
    }
  });

  it("reads the Host header of a real connection", async () => {
    const server = serve({ fetch: f.app.fetch, port: 0, hostname: "127.0.0.1" });
    await new Promise<void>((ok) => (server.listening ? ok() : server.once("listening", () => ok())));
    const port = (server.address() as AddressInfo).port;
    const get = (host: string) =>
      new Promise<number>((ok, fail) => {
        const req = httpRequest({ host: "127.0.0.1", port, path: "/api/health", headers: { host } }, (res) => {
          res.resume();
          ok(res.statusCode ?? 0);
        });
        req.once("error", fail);
        req.end();
      });
    try {
      expect(await get(`127.0.0.1:${port}`)).toBe(200);
      expect(await get(`localhost:${port}`)).toBe(200);
      expect(await get(`rebound.evil.net:${port}`)).toBe(421);
    } finally {
      await new Promise<void>((ok) => server.close(() => ok()));
    }
  });

  it("parses host names from Host headers, URLs and options", () => {
    const table: Array<[string, string | null]> = [
      ["ML.example.com:8420", "ml.example.com"],
      ["https://ml.example.com/caretflow", "ml.example.com"],
      ["[::1]:8420", "::1"],
      ["::1", "::1"],
      ["example.com.", "example.com"],
      ["10.0.0.1:80", "10.0.0.1"],
      ["", null],
    ];
    for (const [raw, name] of table) expect(hostName(raw), raw).toBe(name);
    expect(allowedHosts({ listenHost: "127.0.0.1", publicUrl: "https://ml.example.com", extra: ["a.lan:8420", " "] }).names).toEqual([
      "127.0.0.1",
      "ml.example.com",
      "a.lan",
    ]);
  });
});

describe("behind a TLS-terminating proxy (https public URL)", () => {
  it("marks the session cookie Secure and sends HSTS though caretflow sees plain http", async () => {
    const tls = await appFixture({ publicUrl: "https://ml.example.com" });
    try {
      const res = await tls.app.request("http://localhost/api/auth/login", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username: "admin", password: tls.adminPassword }),
      });
      expect(res.status).toBe(200);
      const cookie = res.headers.get("set-cookie") ?? "";
      expect(cookie).toMatch(/;\s*Secure/i);
      expect(cookie).toMatch(/HttpOnly/i);
      expect(res.headers.get("strict-transport-security")).toContain("max-age=");

      // A change sent with the session from a plain-http page of the same name is not caretflow's own page.
      const session = cookie.split(";")[0] ?? "";
      const logout = (origin: string) =>
        tls.app.request("http://localhost/api/auth/logout", { method: "POST", headers: { cookie: session, origin, host: "localhost" } });
      const plain = await logout("http://localhost");
      expect(plain.status).toBe(403);
      expect(((await plain.json()) as { error: { code: string } }).error.code).toBe("cross_origin");
      expect((await logout("https://localhost")).status).toBe(200);
    } finally {
      await tls.close();
    }
  });

  it("leaves the cookie without Secure on a plain http setup (the browser would drop it)", async () => {
    const res = await f.app.request("/api/auth/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "admin", password: f.adminPassword }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("set-cookie") ?? "").not.toMatch(/Secure/i);
  });
});

describe("startCaretflow's public URL", () => {
  it("is refused before anything starts when it is not an http(s) URL", async () => {
    const { startCaretflow } = await import("../start.ts");
    for (const publicUrl of ["ftp://ml.example.com", "ml.example.com"]) {
      const err = await startCaretflow({ home: join(web, "never-created"), publicUrl }).then(
        () => null,
        (e: unknown) => e as { code?: string; hint?: string },
      );
      expect(err?.code).toBe("invalid_public_url");
      expect(err?.hint).toContain("--public-url https://");
    }
  });
});
