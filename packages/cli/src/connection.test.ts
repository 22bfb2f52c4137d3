import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CaretflowError } from "@caretflow/contracts";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { resolveConnection } from "./connection.ts";
import { resolveHome } from "./context.ts";

let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), "caretflow-cli-"));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

async function writeCliFile(content: unknown, mode = 0o600): Promise<string> {
  const file = join(home, "cli.json");
  await writeFile(file, typeof content === "string" ? content : JSON.stringify(content));
  await chmod(file, mode);
  return file;
}

async function failure(p: Promise<unknown>): Promise<CaretflowError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CaretflowError);
  return err as CaretflowError;
}

describe("resolveConnection", () => {
  it("uses CARETFLOW_URL and CARETFLOW_TOKEN without reading any file", async () => {
    const conn = await resolveConnection({ CARETFLOW_URL: "http://127.0.0.1:9000/", CARETFLOW_TOKEN: "t" }, home);
    expect(conn).toEqual({ url: "http://127.0.0.1:9000", token: "t", source: "env" });
  });

  it("reads <home>/cli.json when it is private", async () => {
    const file = await writeCliFile({ url: "http://127.0.0.1:8420", token: "abc" });
    expect(await resolveConnection({}, home)).toEqual({ url: "http://127.0.0.1:8420", token: "abc", source: "file", file });
  });

  it("lets the environment override one piece of the file", async () => {
    await writeCliFile({ url: "http://127.0.0.1:8420", token: "abc" });
    const conn = await resolveConnection({ CARETFLOW_TOKEN: "other" }, home);
    expect(conn).toMatchObject({ url: "http://127.0.0.1:8420", token: "other", source: "env+file" });
  });

  it.each([0o640, 0o604, 0o644])("refuses a cli.json with mode %o and says to chmod 600", async (mode) => {
    const file = await writeCliFile({ url: "http://127.0.0.1:8420", token: "abc" }, mode);
    const err = await failure(resolveConnection({}, home));
    expect(err.code).toBe("cli_file_permissions");
    expect(err.hint).toBe(`run \`chmod 600 ${file}\``);
    expect(err.message).not.toContain("abc");
  });

  it("says to run caretflow up when nothing is configured", async () => {
    const err = await failure(resolveConnection({}, home));
    expect(err.code).toBe("not_connected");
    expect(err.hint).toContain("caretflow up");
  });

  it("says the token is missing when only the URL is set", async () => {
    const err = await failure(resolveConnection({ CARETFLOW_URL: "http://x:1" }, home));
    expect(err.code).toBe("token_missing");
  });

  it.each([
    ["not json", "cli_file_invalid"],
    [JSON.stringify({ url: "http://x:1" }), "cli_file_invalid"],
  ])("rejects a broken cli.json (%s)", async (content, code) => {
    await writeCliFile(content);
    expect((await failure(resolveConnection({}, home))).code).toBe(code);
  });

  it.each(["ftp://host", "not a url"])("rejects CARETFLOW_URL=%s", async (url) => {
    const err = await failure(resolveConnection({ CARETFLOW_URL: url, CARETFLOW_TOKEN: "t" }, home));
    expect(err.code).toBe("bad_url");
  });
});

describe("resolveHome", () => {
  const ctx = { env: {}, cwd: "/work", userHome: "/home/ana" };
  it.each<[Record<string, string>, string | undefined, string]>([
    [{}, undefined, "/home/ana/.caretflow"],
    [{ CARETFLOW_HOME: "/srv/cf" }, undefined, "/srv/cf"],
    [{ CARETFLOW_HOME: "/srv/cf" }, "rel/home", "/work/rel/home"],
    [{}, "~/cf", "/home/ana/cf"],
  ])("env %j, flag %s -> %s", (env, flag, expected) => {
    expect(resolveHome({ ...ctx, env }, flag)).toBe(expected);
  });
});
