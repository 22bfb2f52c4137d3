import { JobEvent } from "@caretflow/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appFixture } from "../../test/app.fixture.ts";
import type { JobEventBody } from "./job.repository.ts";
import { resumePoint } from "./job.sse.ts";

let f: Awaited<ReturnType<typeof appFixture>>;
let cookie: string;
beforeAll(async () => {
  f = await appFixture({ sseHeartbeatMs: 30 });
  cookie = await f.login();
});
afterAll(() => f.close());

let n = 0;
async function newJob(): Promise<string> {
  const id = `job_sse_${++n}`;
  await f.repo.insert({
    id,
    project: "default",
    kind: "predict",
    request: { model: "m/1", dataset: "d" },
    logPath: "/dev/null",
    createdAt: new Date().toISOString(),
  });
  return id;
}

/** Stores an event the way JobService does: commit, then publish. */
async function emit(id: string, body: JobEventBody) {
  f.hub.publish(id, await f.repo.append(id, body, new Date().toISOString()));
}
const engineLog = (id: string, i: number): JobEventBody => ({
  type: "engine",
  event: { v: 1, seq: i, ts: new Date().toISOString(), job_id: id, type: "log", level: "info", message: `line ${i}` },
});

interface SseMessage {
  id?: string;
  event?: string;
  data?: string;
}
function parseSse(text: string): { messages: SseMessage[]; comments: number } {
  const messages: SseMessage[] = [];
  let comments = 0;
  for (const block of text.split("\n\n")) {
    if (!block.trim()) continue;
    const m: SseMessage = {};
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) comments++;
      else {
        const [k, ...v] = line.split(":");
        (m as Record<string, string>)[k!] = v.join(":").trimStart();
      }
    }
    if (m.data !== undefined) messages.push(m);
  }
  return { messages, comments };
}

const open = (id: string, headers: Record<string, string> = {}, query = "") =>
  f.app.request(`/api/jobs/${id}/events${query}`, { headers: { cookie, ...headers } });

describe("job events over SSE", () => {
  it("replays the stored events, follows live ones, and closes after the terminal status", async () => {
    const id = await newJob();
    await emit(id, { type: "status", status: "queued" });
    await emit(id, { type: "status", status: "running" });
    await emit(id, engineLog(id, 0));
    const res = await open(id);
    expect(res.headers.get("content-type")).toMatch(/text\/event-stream/);
    const text = res.text();
    for (let i = 1; i <= 5; i++) await emit(id, engineLog(id, i));
    await emit(id, { type: "status", status: "succeeded" });
    const { messages } = parseSse(await text);
    expect(messages.map((m) => Number(m.id))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const m of messages) {
      const e = JobEvent.parse(JSON.parse(m.data!));
      expect(String(e.seq)).toBe(m.id);
      expect(e.type).toBe(m.event);
    }
    expect(JSON.parse(messages.at(-1)!.data!)).toMatchObject({ type: "status", status: "succeeded" });
  });

  it("resumes after Last-Event-ID or ?after= without gaps or duplicates", async () => {
    const id = await newJob();
    await emit(id, { type: "status", status: "queued" });
    for (let i = 0; i < 4; i++) await emit(id, engineLog(id, i));
    await emit(id, { type: "status", status: "failed" });
    const fromHeader = parseSse(await (await open(id, { "last-event-id": "3" })).text()).messages.map((m) => Number(m.id));
    expect(fromHeader).toEqual([4, 5, 6]);
    const fromQuery = parseSse(await (await open(id, {}, "?after=5")).text()).messages.map((m) => Number(m.id));
    expect(fromQuery).toEqual([6]);
    expect(resumePoint("7", 2)).toBe(7);
    expect(resumePoint("junk", 2)).toBe(2);
  });

  it("loses nothing while events arrive during the replay", async () => {
    const id = await newJob();
    await emit(id, { type: "status", status: "queued" });
    for (let i = 0; i < 50; i++) await emit(id, engineLog(id, i));
    // Keep writing while the stream opens and replays.
    const writer = (async () => {
      for (let i = 50; i < 150; i++) await emit(id, engineLog(id, i));
      await emit(id, { type: "status", status: "cancelled" });
    })();
    const res = await open(id, { "last-event-id": "10" });
    const [text] = await Promise.all([res.text(), writer]);
    const ids = parseSse(text).messages.map((m) => Number(m.id));
    expect(ids).toEqual(Array.from({ length: 152 - 10 }, (_, i) => i + 11));
  });

  it("sends heartbeat comments while a job is quiet", async () => {
    const id = await newJob();
    await emit(id, { type: "status", status: "queued" });
    const res = await open(id);
    const reader = res.body!.getReader();
    let text = "";
    const decoder = new TextDecoder();
    while (!text.includes(": heartbeat")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
    await reader.cancel();
    expect(text).toContain(": heartbeat");
    expect(parseSse(text).messages.map((m) => m.id)).toEqual(["1"]);
    // The stream's subscription is released once the client goes away.
    await new Promise((r) => setTimeout(r, 100));
    expect(f.hub.subscriberCount(id)).toBe(0);
  });

  it("answers 404 for an unknown job", async () => {
    expect((await open("job_missing")).status).toBe(404);
  });
});
