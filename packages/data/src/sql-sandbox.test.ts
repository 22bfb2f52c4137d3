import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDuckDb, withConnection } from "./duckdb.js";
import { openSandbox } from "./sql-sandbox.js";

describe("openSandbox", () => {
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "cf-sandbox-"));
    mkdirSync(join(dir, "tmp"));
    mkdirSync(join(dir, "out"));
    const plain = await openDuckDb({ tempDirectory: join(dir, "tmp") });
    await withConnection(plain, async (conn) => {
      await conn.run(`COPY (SELECT 1 AS a, 'x' AS b) TO '${join(dir, "allowed.parquet")}' (FORMAT parquet)`);
      await conn.run(`COPY (SELECT 2 AS a) TO '${join(dir, "other.parquet")}' (FORMAT parquet)`);
    });
    plain.closeSync();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reads the named files, writes only into the writable folder, and refuses everything else", async () => {
    const sandbox = await openSandbox({
      readable: [join(dir, "allowed.parquet")],
      writableDirectory: join(dir, "out"),
      tempDirectory: join(dir, "tmp"),
      memoryLimit: "256MB",
    });
    try {
      await withConnection(sandbox, async (conn) => {
        const rows = (await conn.runAndReadAll(`SELECT a, b FROM read_parquet('${join(dir, "allowed.parquet")}')`)).getRowsJS();
        expect(rows).toEqual([[1, "x"]]);
        await conn.run(`COPY (SELECT 42 AS n) TO '${join(dir, "out", "result.parquet")}' (FORMAT parquet)`);
        const refused = [
          `SELECT * FROM read_parquet('${join(dir, "other.parquet")}')`,
          "SELECT * FROM read_csv('/etc/passwd')",
          "SELECT * FROM glob('/etc/*')",
          `ATTACH '${join(dir, "x.db")}'`,
          `COPY (SELECT 1) TO '${join(dir, "escape.csv")}'`,
          "SET enable_external_access = true",
          "SET allowed_paths = ['/etc/passwd']",
        ];
        for (const sql of refused) await expect(conn.run(sql), sql).rejects.toThrow(/disabled by configuration|locked/);
      });
    } finally {
      sandbox.closeSync();
    }
  });
});
