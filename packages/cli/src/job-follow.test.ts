import type { Job, JobEvent } from "@caretflow/contracts";
import { afterEach, describe, expect, it } from "vitest";
import { createClient } from "./client.ts";
import { sendJson, startHttp } from "./http-fixture.test-support.ts";
import { followJob } from "./job-follow.ts";

const ts = "2024-01-01T00:00:00.000Z";
const job = (status: Job["status"]): Job => ({
  id: "j1",
  project: "default",
  kind: "train",
  status,
  request: {
    dataset: "juice",
    task: "classification",
    target: "Purchase",
    ignore_columns: [],
    text_columns: [],
    train_size: 0.7,
    folds: 5,
    seed: 1,
    use_gpu: "off",
    operation: "compare",
    include: [],
    exclude: [],
    custom_metrics: [],
    custom_models: [],
    setup: {},
  },
  stage: null,
  progress: null,
  leaderboard: [],
  result: null,
  error: null,
  outputDataset: null,
  outputDatasets: [],
  createdAt: ts,
  startedAt: ts,
  finishedAt: null,
});
const ev = (seq: number, status: Job["status"] = "running"): JobEvent => ({ seq, ts, type: "status", status });
const frame = (e: JobEvent) => `id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;

let stop: (() => Promise<void>) | undefined;
afterEach(async () => {
  await stop?.();
  stop = undefined;
});

describe("followJob", () => {
  it("resumes with Last-Event-ID after a dropped stream, without gaps or duplicates", async () => {
    const lastIds: (string | undefined)[] = [];
    const s = await startHttp((req, res) => {
      if (req.url === "/api/jobs/j1") return sendJson(res, 200, job(lastIds.length >= 2 ? "succeeded" : "running"));
      lastIds.push(req.headers["last-event-id"] as string | undefined);
      res.writeHead(200, { "content-type": "text/event-stream" });
      if (lastIds.length === 1) {
        // first connection: three events and a comment, then the connection breaks mid-message
        res.write(`: hello\n\n${frame(ev(1))}${frame(ev(2))}${frame(ev(3))}data: {"seq":4`);
        setTimeout(() => res.destroy(), 20);
      } else {
        // the server replays one event the client already has; the client must skip it
        res.write(frame(ev(3)) + frame(ev(4)) + frame(ev(5, "succeeded")));
      }
    });
    stop = s.close;
    const seen: number[] = [];
    const reconnects: number[] = [];
    const final = await followJob(createClient({ url: s.url, token: "t", source: "env" }, fetch), "j1", {
      onEvent: (e) => seen.push(e.seq),
      onReconnect: (n) => reconnects.push(n),
      sleep: async () => {},
    });
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect(lastIds).toEqual([undefined, "3"]);
    expect(reconnects).toEqual([1]);
    expect(final.status).toBe("succeeded");
  });

  it("returns the job when the stream closes after the job ended", async () => {
    const s = await startHttp((req, res) => {
      if (req.url === "/api/jobs/j1") return sendJson(res, 200, job("failed"));
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end(frame(ev(1)));
    });
    stop = s.close;
    const final = await followJob(createClient({ url: s.url, token: "t", source: "env" }, fetch), "j1", {
      onEvent: () => {},
      sleep: async () => {},
    });
    expect(final.status).toBe("failed");
  });

  it("gives up with a clear error when the stream keeps failing", async () => {
    const s = await startHttp((req, res) => {
      if (req.url === "/api/jobs/j1") return sendJson(res, 200, job("running"));
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end();
    });
    stop = s.close;
    const p = followJob(createClient({ url: s.url, token: "t", source: "env" }, fetch), "j1", {
      onEvent: () => {},
      sleep: async () => {},
      maxRetries: 2,
    });
    await expect(p).rejects.toMatchObject({ code: "stream_lost", hint: expect.stringContaining("caretflow jobs show j1") });
  });

  it("stops at once on a server error such as 404", async () => {
    const s = await startHttp((_req, res) =>
      sendJson(res, 404, { error: { code: "job_not_found", kind: "user", message: "job 'j1' does not exist" } }),
    );
    stop = s.close;
    const p = followJob(createClient({ url: s.url, token: "t", source: "env" }, fetch), "j1", { onEvent: () => {}, sleep: async () => {} });
    await expect(p).rejects.toMatchObject({ code: "job_not_found" });
  });
});
