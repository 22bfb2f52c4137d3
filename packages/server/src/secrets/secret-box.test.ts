import { chmod, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SecretBox } from "./secret-box.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "caretflow-secretbox-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("SecretBox", () => {
  it("creates its key file with mode 600 and round-trips a secret across openings", async () => {
    const keyFile = join(dir, "a.key");
    const box = await SecretBox.open(keyFile);
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    expect((await readFile(keyFile)).length).toBe(32);
    const sealed = box.seal("s3cret-välue", "sso.client_secret");
    expect(sealed).toMatch(/^v1:[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain("s3cret");
    // A fresh IV each time: the same secret never seals to the same text.
    expect(box.seal("s3cret-välue", "sso.client_secret")).not.toBe(sealed);
    const again = await SecretBox.open(keyFile);
    expect(again.unseal(sealed, "sso.client_secret")).toBe("s3cret-välue");
  });

  it("refuses another key, another purpose and an altered value", async () => {
    const box = await SecretBox.open(join(dir, "b.key"));
    const other = await SecretBox.open(join(dir, "c.key"));
    const sealed = box.seal("hunter2-hunter2", "sso.client_secret");
    expect(() => other.unseal(sealed, "sso.client_secret")).toThrow(/cannot be decrypted/);
    expect(() => box.unseal(sealed, "connection.password")).toThrow(/cannot be decrypted/);
    const raw = Buffer.from(sealed.slice(3), "base64url");
    raw[raw.length - 1]! ^= 1;
    expect(() => box.unseal(`v1:${raw.toString("base64url")}`, "sso.client_secret")).toThrow(/cannot be decrypted/);
    expect(() => box.unseal("garbage", "sso.client_secret")).toThrow(/cannot be decrypted/);
    try {
      other.unseal(sealed, "sso.client_secret");
    } catch (err) {
      expect(String(err)).not.toContain("hunter2");
    }
  });

  it("refuses a key file others may read, or one that is not a key", async () => {
    const open = join(dir, "open.key");
    await SecretBox.open(open);
    await chmod(open, 0o644);
    await expect(SecretBox.open(open)).rejects.toThrow(/may be read by other users.*chmod 600|may be read by other users/);
    const short = join(dir, "short.key");
    await writeFile(short, "too short", { mode: 0o600 });
    await expect(SecretBox.open(short)).rejects.toThrow(/not a caretflow key/);
  });
});
