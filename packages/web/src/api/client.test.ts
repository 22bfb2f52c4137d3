import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { CaretflowError } from "@caretflow/contracts";
import { afterEach, describe, expect, it } from "vitest";
import { createApiClient } from "./client.ts";
import { describeError } from "./errors.ts";

let stop: (() => Promise<void>) | undefined;
afterEach(async () => {
  await stop?.();
  stop = undefined;
});

/** A real HTTP server on a free loopback port; `answer` gets the request's URL and project header. */
async function serve(answer: (url: string, project: string | undefined, res: ServerResponse) => void): Promise<string> {
  const server = createServer((req, res) => answer(req.url ?? "", req.headers["x-caretflow-project"] as string | undefined, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  stop = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

const unauthorized = { error: { code: "unauthorized", kind: "user", message: "Sign in first." } };

describe("createApiClient", () => {
  it("names the project in the header, and in the query of the addresses the browser opens", async () => {
    const seen: (string | undefined)[] = [];
    const baseUrl = await serve((_, project, res) => {
      seen.push(project);
      send(res, 200, { datasets: [] });
    });
    const api = createApiClient({ baseUrl, project: "alpha" });
    expect(await api.listDatasets()).toEqual([]);
    expect(seen).toEqual(["alpha"]);
    expect(api.downloadUrl("a b", 2)).toBe(`${baseUrl}/api/datasets/a%20b/versions/2/download?project=alpha`);
    expect(api.artifactUrl("r1", "plots/auc.png")).toBe(`${baseUrl}/api/runs/r1/artifacts/plots/auc.png?project=alpha`);
    // The default project is the server's own default: nothing names it.
    expect(createApiClient({ baseUrl, project: "default" }).jobEventsUrl("j1")).toBe(`${baseUrl}/api/jobs/j1/events`);
  });

  it("refuses an answer that does not match the contract with a clear error", async () => {
    const baseUrl = await serve((_, __, res) => send(res, 200, { user: { username: "ann" } }));
    const err = await createApiClient({ baseUrl })
      .me()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CaretflowError);
    expect(err).toMatchObject({ code: "unexpected_response" });
    expect(describeError(err).message).toContain("GET /api/auth/me is not what the web UI expects: user.");
  });

  it("sends the person to sign in on a 401, but not for a failed sign-in", async () => {
    const baseUrl = await serve((_, __, res) => send(res, 401, unauthorized));
    let sentAway = 0;
    const api = createApiClient({ baseUrl, onUnauthorized: () => sentAway++ });
    await expect(api.login("ann", "wrong")).rejects.toMatchObject({ message: "Sign in first.", status: 401 });
    expect(sentAway).toBe(0);
    await expect(api.listJobs()).rejects.toBeInstanceOf(CaretflowError);
    expect(sentAway).toBe(1);
  });

  it("says the server could not be reached, and what to do", async () => {
    const baseUrl = await serve(() => {});
    await stop?.();
    stop = undefined;
    const err = await createApiClient({ baseUrl })
      .health()
      .catch((e: unknown) => e);
    expect(describeError(err)).toEqual({
      message: "The caretflow server could not be reached.",
      hint: "Check that caretflow is running (caretflow up) and try again.",
    });
  });
});
