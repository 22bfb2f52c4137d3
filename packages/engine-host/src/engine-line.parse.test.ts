import type { EngineEvent } from "@caretflow/contracts";
import { describe, expect, it } from "vitest";
import { parseEngineLine } from "./engine-line.parse.ts";
import { JobGate } from "./job-gate.ts";
import { LineSplitter } from "./line-splitter.ts";

const base = { v: 1, ts: "2026-01-01T00:00:00Z", job_id: "j1" } as const;

describe("parseEngineLine", () => {
  it.each([
    ['{"worker":"ready","pid":12,"versions":{"python":"3.11"}}', { worker: "ready", pid: 12, versions: { python: "3.11" } }],
    ['{"worker":"exit","job_id":"j1","pid":13,"code":null,"signal":9}', { worker: "exit", job_id: "j1", pid: 13, code: null, signal: 9 }],
    ['{"worker":"rejected","job_id":"j1","reason":"busy"}', { worker: "rejected", job_id: "j1", reason: "busy" }],
    [
      JSON.stringify({ ...base, seq: 0, type: "stage", stage: "setup", message: "m" }),
      { ...base, seq: 0, type: "stage", stage: "setup", message: "m" },
    ],
    [
      JSON.stringify({ ...base, seq: 3, type: "finished", status: "cancelled" }),
      { ...base, seq: 3, type: "finished", status: "cancelled" },
    ],
  ])("parses %s", (line, want) => expect(parseEngineLine(line)).toEqual(want));

  it.each([
    ["not JSON", "Traceback (most recent call last):", /not JSON/],
    ["an array", "[1,2]", /not a JSON object/],
    ["an unknown event type", JSON.stringify({ ...base, seq: 0, type: "nonsense" }), /does not match the protocol/],
    ["a wrong protocol version", JSON.stringify({ ...base, v: 2, seq: 0, type: "log", level: "info", message: "x" }), /does not match/],
    ["an unknown worker message", '{"worker":"dance"}', /does not match/],
    ["a negative seq", JSON.stringify({ ...base, seq: -1, type: "warning", message: "x" }), /seq/],
  ])("refuses %s with a readable message", (_n, line, msg) => {
    expect(() => parseEngineLine(line)).toThrow(msg);
  });
});

describe("LineSplitter", () => {
  it("joins partial chunks, splits many lines per chunk, keeps split UTF-8 characters, flushes the last line", () => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l), 100);
    const bytes = Buffer.from('{"a":"é"}\n{"b":2}\r\n\n{"c"', "utf8");
    const cut = bytes.indexOf(0xc3) + 1; // inside the two-byte é
    s.push(bytes.subarray(0, cut));
    s.push(bytes.subarray(cut));
    s.push(":3}");
    s.end();
    expect(lines).toEqual(['{"a":"é"}', '{"b":2}', '{"c":3}']);
  });

  it("drops an over-long line and recovers at the next newline", () => {
    const lines: string[] = [];
    const overflows: number[] = [];
    const s = new LineSplitter(
      (l) => lines.push(l),
      10,
      (n) => overflows.push(n),
    );
    s.push("x".repeat(8));
    s.push("y".repeat(8));
    s.push("zzz\nok\n");
    expect(lines).toEqual(["ok"]);
    expect(overflows).toHaveLength(1);
  });
});

describe("JobGate", () => {
  const ev = (seq: number, rest: Record<string, unknown>) => ({ ...base, seq, ...rest }) as EngineEvent;
  const gate = () => {
    const out: EngineEvent[] = [];
    return {
      out,
      g: new JobGate(
        "j1",
        (e) => out.push(e),
        () => "T",
      ),
    };
  };

  it("forwards events, records the pid, and ends with the engine's finished", () => {
    const { out, g } = gate();
    expect(g.accept(ev(0, { type: "started", pid: 42, versions: {} }))).toBeNull();
    expect(g.accept(ev(1, { type: "finished", status: "succeeded" }))).toBeNull();
    expect(g.pid).toBe(42);
    expect(g.finished).toEqual({ status: "succeeded" });
    expect(g.accept(ev(2, { type: "log", level: "info", message: "late" }))).toMatch(/after finished/);
    expect(g.fail({ name: "X", message: "y", transient: false })).toEqual({ status: "succeeded" });
    expect(out.map((e) => e.type)).toEqual(["started", "finished"]);
  });

  it("drops another job's events", () => {
    const { out, g } = gate();
    expect(g.accept({ ...ev(0, { type: "warning", message: "x" }), job_id: "j2" } as EngineEvent)).toMatch(/job j2/);
    expect(out).toEqual([]);
  });

  it("synthesizes error + finished with gapless seq after the engine's last event", () => {
    const { out, g } = gate();
    g.accept(ev(0, { type: "stage", stage: "setup", message: "s" }));
    const o = g.fail({ name: "EngineCrashed", message: "boom", transient: false });
    expect(o).toEqual({ status: "failed", error: { name: "EngineCrashed", message: "boom", transient: false } });
    expect(out.map((e) => [e.seq, e.type])).toEqual([
      [0, "stage"],
      [1, "error"],
      [2, "finished"],
    ]);
    expect(g.cancel()).toBe(o);
    expect(out).toHaveLength(3);
  });

  it("renumbers an engine that skipped a seq, so the stream stays gapless", () => {
    const { out, g } = gate();
    g.accept(ev(0, { type: "warning", message: "a" }));
    g.accept(ev(5, { type: "warning", message: "b" }));
    g.cancel();
    expect(out.map((e) => e.seq)).toEqual([0, 1, 2]);
  });

  it("carries the engine's error into a failed outcome", () => {
    const { g } = gate();
    const error = { name: "TargetMissing", message: "no column x", hint: "pick one", transient: false };
    g.accept(ev(0, { type: "error", error }));
    g.accept(ev(1, { type: "finished", status: "failed" }));
    expect(g.finished).toEqual({ status: "failed", error });
  });
});
