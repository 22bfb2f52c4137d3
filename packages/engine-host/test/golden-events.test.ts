import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { EngineEvent } from "@caretflow/contracts";
import { describe, expect, it } from "vitest";
import { parseEngineLine } from "../src/index.ts";

/**
 * The engine's golden event streams (engine/tests/golden/*.ndjson) must parse
 * with the TypeScript schemas too, so both sides agree on the protocol.
 */
const here = dirname(fileURLToPath(import.meta.url));
const goldenDir = resolve(here, "../../../engine/tests/golden");
const files = readdirSync(goldenDir).filter((f) => f.endsWith(".ndjson"));

describe("engine golden event files", () => {
  it("exist", () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it.each(files)("%s: every line is an EngineEvent, seq is gapless from 0, exactly one finished, last", (file) => {
    const lines = readFileSync(join(goldenDir, file), "utf8")
      .split("\n")
      .filter((l) => l.trim().length > 0);
    const events = lines.map((line, i) => {
      const parsed = EngineEvent.safeParse(JSON.parse(line));
      if (!parsed.success) throw new Error(`${file}:${i + 1}: ${parsed.error.message}`);
      // The host's own parser takes the same lines.
      expect(parseEngineLine(line)).toEqual(parsed.data);
      return parsed.data;
    });
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));
    expect(new Set(events.map((e) => e.job_id)).size).toBe(1);
    expect(events.filter((e) => e.type === "finished")).toHaveLength(1);
    expect(events.at(-1)?.type).toBe("finished");
  });
});
