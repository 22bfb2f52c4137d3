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

  it("generate() makes an in-memory key; reseal() moves a value to another box's key, for the same purpose", async () => {
    const box = await SecretBox.open(join(dir, "d.key"));
    const next = SecretBox.generate();
    const sealed = box.seal("pw-to-move", "connection.x.password");
    const moved = box.reseal(sealed, "connection.x.password", next);
    expect(next.unseal(moved, "connection.x.password")).toBe("pw-to-move");
    expect(box.isCurrent(moved, "connection.x.password")).toBe(false);
    expect(next.isCurrent(moved, "connection.x.password")).toBe(true);
    expect(() => next.unseal(moved, "connection.y.password")).toThrow(/cannot be decrypted/);
    expect(() => box.reseal("garbage", "connection.x.password", next)).toThrow(/cannot be decrypted/);
  });

  it("rotate() replaces the key file (mode 600) after commit, keeping the old key as .previous", async () => {
    const keyFile = join(dir, "rot.key");
    const box = await SecretBox.open(keyFile);
    const before = await readFile(keyFile);
    const stored = box.seal("rotate-me", "sso.client_secret");
    let resealed = "";
    await box.rotate(async (next) => {
      // The new key is on disk before anything is re-sealed.
      expect((await stat(`${keyFile}.next`)).mode & 0o777).toBe(0o600);
      resealed = box.reseal(stored, "sso.client_secret", next);
    });
    const after = await readFile(keyFile);
    expect(after.equals(before)).toBe(false);
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    expect((await readFile(`${keyFile}.previous`)).equals(before)).toBe(true);
    expect((await stat(`${keyFile}.previous`)).mode & 0o777).toBe(0o600);
    await expect(stat(`${keyFile}.next`)).rejects.toThrow(/ENOENT/);
    expect(box.isCurrent(resealed, "sso.client_secret")).toBe(true);
    expect(box.unseal(resealed, "sso.client_secret")).toBe("rotate-me");
    // A value sealed with the old key still opens through the kept previous key, but is not current.
    expect(box.isCurrent(stored, "sso.client_secret")).toBe(false);
    expect(box.unseal(stored, "sso.client_secret")).toBe("rotate-me");
    const reopened = await SecretBox.open(keyFile);
    expect(reopened.unseal(resealed, "sso.client_secret")).toBe("rotate-me");
  });

  it("a failed commit leaves the key file as it was and removes the unused new key", async () => {
    const keyFile = join(dir, "fail.key");
    const box = await SecretBox.open(keyFile);
    const before = await readFile(keyFile);
    const stored = box.seal("keep-me", "sso.client_secret");
    await expect(
      box.rotate(async () => {
        throw new Error("database busy");
      }),
    ).rejects.toThrow(/database busy/);
    expect(await readFile(keyFile)).toEqual(before);
    await expect(stat(`${keyFile}.next`)).rejects.toThrow(/ENOENT/);
    expect(box.isCurrent(stored, "sso.client_secret")).toBe(true);
  });
});
