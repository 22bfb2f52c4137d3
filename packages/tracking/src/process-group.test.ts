import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { keptFreePort } from "./process-group.ts";

const dir = await mkdtemp(join(tmpdir(), "caretflow-port-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("keptFreePort", () => {
  it("records a free port, gives it again while it is free, and another once something listens on it", async () => {
    const file = join(dir, "port");
    const first = await keptFreePort(file);
    expect(Number((await readFile(file, "utf8")).trim())).toBe(first);
    expect(await keptFreePort(file)).toBe(first);

    const taken = createServer();
    await new Promise<void>((r) => taken.listen(first, "127.0.0.1", r));
    try {
      const next = await keptFreePort(file);
      expect(next).not.toBe(first);
      expect(Number((await readFile(file, "utf8")).trim())).toBe(next);
    } finally {
      await new Promise((r) => taken.close(r));
    }
  });

  it("replaces a file that does not hold a port", async () => {
    const file = join(dir, "garbage");
    await writeFile(file, "not a port\n");
    const port = await keptFreePort(file);
    expect(port).toBeGreaterThan(0);
    expect(Number((await readFile(file, "utf8")).trim())).toBe(port);
  });
});
