import { describe, expect, it } from "vitest";
import { ReadCache } from "./read.cache.ts";

function counter() {
  let n = 0;
  return {
    read:
      (value = "v") =>
      () => {
        n += 1;
        return Promise.resolve(`${value}${n}`);
      },
    get reads() {
      return n;
    },
  };
}

describe("ReadCache", () => {
  it("serves an answer until its time is up, then reads again", async () => {
    let now = 1000;
    const cache = new ReadCache<string>({ ttlMs: 100, now: () => now });
    const c = counter();
    expect(await cache.get("a", c.read())).toBe("v1");
    now = 1099;
    expect(await cache.get("a", c.read())).toBe("v1");
    now = 1100;
    expect(await cache.get("a", c.read())).toBe("v2");
    expect(c.reads).toBe(2);
  });

  it("keeps keys apart and reads again after invalidate", async () => {
    const cache = new ReadCache<string>({ ttlMs: 60_000 });
    const c = counter();
    expect(await cache.get("a", c.read("a"))).toBe("a1");
    expect(await cache.get("b", c.read("b"))).toBe("b2");
    expect(await cache.get("a", c.read("a"))).toBe("a1");
    cache.invalidate();
    expect(cache.size).toBe(0);
    expect(await cache.get("a", c.read("a"))).toBe("a3");
  });

  it("lets concurrent readers of one key share one read", async () => {
    const cache = new ReadCache<string>({ ttlMs: 60_000 });
    let release: (v: string) => void = () => {};
    let reads = 0;
    const slow = () => {
      reads += 1;
      return new Promise<string>((r) => {
        release = r;
      });
    };
    const all = Promise.all(Array.from({ length: 50 }, () => cache.get("k", slow)));
    release("page");
    expect(await all).toEqual(Array(50).fill("page"));
    expect(reads).toBe(1);
  });

  it("does not keep a read that was under way when invalidated for later readers", async () => {
    const cache = new ReadCache<string>({ ttlMs: 60_000 });
    let release: (v: string) => void = () => {};
    const first = cache.get("k", () => new Promise<string>((r) => (release = r)));
    cache.invalidate();
    const second = cache.get("k", () => Promise.resolve("fresh"));
    release("stale");
    expect(await first).toBe("stale");
    expect(await second).toBe("fresh");
    expect(await cache.get("k", () => Promise.resolve("again"))).toBe("fresh");
  });

  it("does not keep a failed read", async () => {
    const cache = new ReadCache<string>({ ttlMs: 60_000 });
    await expect(cache.get("k", () => Promise.reject(new Error("down")))).rejects.toThrow("down");
    expect(await cache.get("k", () => Promise.resolve("up"))).toBe("up");
  });

  it("drops the least recently used answer past maxEntries", async () => {
    const cache = new ReadCache<string>({ ttlMs: 60_000, maxEntries: 2 });
    const c = counter();
    await cache.get("a", c.read("a"));
    await cache.get("b", c.read("b"));
    await cache.get("a", c.read("a")); // a is now the most recent
    await cache.get("c", c.read("c")); // b goes
    expect(cache.size).toBe(2);
    expect(await cache.get("a", c.read("a"))).toBe("a1");
    expect(await cache.get("b", c.read("b"))).toBe("b4");
  });

  it("with ttlMs 0 reads every time", async () => {
    const cache = new ReadCache<string>({ ttlMs: 0 });
    const c = counter();
    await cache.get("a", c.read());
    await cache.get("a", c.read());
    expect(c.reads).toBe(2);
  });
});
