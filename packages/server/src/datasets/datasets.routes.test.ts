import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import ExcelJS from "exceljs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appFixture } from "../../test/app.fixture.ts";
import { forEachDatabase } from "../../test/databases.ts";
import type { ServerTables } from "../db/server.tables.ts";

const demo = (file: string) => join(import.meta.dirname, "..", "..", "..", "..", "demo-data", file);

let f: Awaited<ReturnType<typeof appFixture>>;
let cookie: string;

async function upload(content: string | Uint8Array, filename: string, name?: string, encoding?: string, sheet?: string) {
  const form = new FormData();
  form.append("file", new Blob([content]), filename);
  if (name) form.append("name", name);
  if (encoding) form.append("encoding", encoding);
  if (sheet !== undefined) form.append("sheet", sheet);
  return await f.app.request("/api/datasets", { method: "POST", headers: { cookie }, body: form });
}
const leftovers = async () => (await readdir(f.dir)).filter((n) => n.startsWith("upload-"));

forEachDatabase("dataset routes", (dbs) => {
  beforeAll(async () => {
    const { db } = await dbs.fresh<ServerTables>();
    f = await appFixture({ maxUploadBytes: 512 * 1024 }, { datasets: true, db });
    cookie = await f.login();
  });
  afterAll(() => f.close());

  describe("dataset routes", () => {
    it("imports an upload, names it from the file, and makes no new version for identical content", async () => {
      const csv = await readFile(demo("juice.csv"));
      const first = await upload(csv, "Juice Sales.csv");
      expect(first.status).toBe(201);
      const r1 = (await first.json()) as { created: boolean; version: { dataset: string; version: number; rowCount: number } };
      expect(r1).toMatchObject({ created: true, version: { dataset: "juice-sales", version: 1, rowCount: 1070 } });
      const again = await upload(csv, "Juice Sales.csv");
      expect(again.status).toBe(200);
      expect(((await again.json()) as { created: boolean }).created).toBe(false);
      expect(await leftovers()).toEqual([]);
    });

    it("takes the name field, lists, previews, profiles and downloads", async () => {
      const csv = "a,b\n1,x\n2,y\n3,x\n";
      expect((await upload(csv, "whatever.csv", "tiny")).status).toBe(201);
      const list = (await (await f.app.request("/api/datasets", { headers: { cookie } })).json()) as { datasets: Array<{ name: string }> };
      expect(list.datasets.map((d) => d.name)).toContain("tiny");
      const detail = (await (await f.app.request("/api/datasets/tiny", { headers: { cookie } })).json()) as { versions: unknown[] };
      expect(detail.versions).toHaveLength(1);
      const page = (await (
        await f.app.request("/api/datasets/tiny/versions/1/preview?offset=1&limit=1", { headers: { cookie } })
      ).json()) as {
        rows: unknown[][];
        total: number;
      };
      expect(page.total).toBe(3);
      expect(page.rows).toEqual([[2, "y"]]);
      const profile = (await (await f.app.request("/api/datasets/tiny/versions/1/profile", { headers: { cookie } })).json()) as {
        columns: Array<{ name: string; mean: number | null }>;
      };
      expect(profile.columns.find((c) => c.name === "a")?.mean).toBe(2);
      const dl = await f.app.request("/api/datasets/tiny/versions/1/download", { headers: { cookie } });
      expect(dl.headers.get("content-disposition")).toBe('attachment; filename="tiny-v1.csv"');
      expect((await dl.text()).split("\n")[0]).toBe("a,b");
    });

    it("imports the workbook sheet the sheet field names; a missing one is a 422 listing the sheets, with nothing stored", async () => {
      const wb = new ExcelJS.Workbook();
      wb.addWorksheet("first").addRows([["a"], [1]]);
      wb.addWorksheet("Second one").addRows([
        ["b", "c"],
        [2, "x"],
        [3, "y"],
      ]);
      const xlsx = new Uint8Array(await wb.xlsx.writeBuffer());
      const missing = await upload(xlsx, "book.xlsx", undefined, undefined, "third");
      expect(missing.status).toBe(422);
      expect(((await missing.json()) as { error: { code: string; message: string } }).error).toMatchObject({
        code: "sheet_not_found",
        message: "The workbook has no sheet named 'third'; its sheets are 'first', 'Second one'",
      });
      expect(await (await f.app.request("/api/datasets/book", { headers: { cookie } })).status).toBe(404);
      const chosen = await upload(xlsx, "book.xlsx", undefined, undefined, "Second one");
      expect(chosen.status).toBe(201);
      const body = (await chosen.json()) as { version: { rowCount: number; source: { sheet?: string } }; phases: { phase: string }[] };
      expect(body.version).toMatchObject({ rowCount: 2, source: { sheet: "Second one" } });
      expect(body.phases.map((p) => p.phase)).toEqual(["upload", "check", "schema", "copy", "count", "hash", "place"]);
      expect(await leftovers()).toEqual([]);
    });

    it("reads a text file in the encoding the encoding field names", async () => {
      const latin1 = Buffer.from("name,city\nJosé,Málaga\n", "latin1");
      const plain = await upload(latin1, "cities.csv");
      expect(plain.status).toBe(422);
      expect(((await plain.json()) as { error: { code: string } }).error.code).toBe("not_utf8");
      const told = await upload(latin1, "cities.csv", undefined, "latin1");
      expect(told.status).toBe(201);
      const body = (await told.json()) as { version: { source: { encoding?: string } } };
      expect(body.version.source.encoding).toBe("windows-1252");
      const page = await f.app.request("/api/datasets/cities/versions/1/preview", { headers: { cookie } });
      expect(((await page.json()) as { rows: unknown[][] }).rows).toEqual([["José", "Málaga"]]);
      expect(await leftovers()).toEqual([]);
    });

    it("leaves a name free for any project when its first import fails", async () => {
      await f.projects.create((await f.auth.userByName("admin"))!, "other", null);
      const latin1 = Buffer.from("name,city\nJosé,Málaga\n", "latin1");
      const failed = await upload(latin1, "places.csv", "places", "no-such-encoding");
      expect(failed.status).toBeGreaterThanOrEqual(400);
      expect(failed.status).toBeLessThan(500);
      const form = new FormData();
      form.append("file", new Blob([latin1]), "places.csv");
      form.append("name", "places");
      form.append("encoding", "latin1");
      const elsewhere = await f.app.request("/api/datasets?project=other", { method: "POST", headers: { cookie }, body: form });
      expect(elsewhere.status, await elsewhere.clone().text()).toBe(201);
      expect(await f.projects.projectOf("dataset", "places")).toBe("other");
    });

    it("refuses bad requests with clear errors and leaves no temporary file", async () => {
      const big = `x\n${"1234567\n".repeat(80_000)}`;
      const tooBig = await upload(big, "big.csv");
      expect(tooBig.status).toBe(413);
      expect(((await tooBig.json()) as { error: { hint: string } }).error.hint).toBeTruthy();

      const ragged = await upload("a,b\n1,2\n3,4,5\n", "ragged.csv");
      expect(ragged.status).toBeGreaterThanOrEqual(400);
      expect(ragged.status).toBeLessThan(500);

      const notMultipart = await f.app.request("/api/datasets", {
        method: "POST",
        headers: { cookie, "content-type": "text/csv" },
        body: "a\n1\n",
      });
      expect(notMultipart.status).toBe(415);

      const form = new FormData();
      form.append("name", "nofile");
      const noFile = await f.app.request("/api/datasets", { method: "POST", headers: { cookie }, body: form });
      expect(((await noFile.json()) as { error: { code: string } }).error.code).toBe("upload_no_file");

      const badName = await upload("a\n1\n", "x.csv", "../etc");
      expect(badName.status).toBe(400);
      expect(await leftovers()).toEqual([]);
      expect((await f.app.request("/api/datasets/nope", { headers: { cookie } })).status).toBe(404);
    });

    it("imports a file sent as the body of PUT /api/datasets/{name}/file, as the form does, and refuses bad requests", async () => {
      const put = (name: string, query: string, body: string | Uint8Array, type = "application/octet-stream") =>
        f.app.request(`/api/datasets/${name}/file?${query}`, { method: "PUT", headers: { cookie, "content-type": type }, body });
      const csv = await readFile(demo("juice.csv"));
      const first = await put("raw-juice", "filename=juice.csv", csv);
      expect(first.status).toBe(201);
      const r1 = (await first.json()) as { created: boolean; version: { dataset: string; rowCount: number }; phases: { phase: string }[] };
      expect(r1).toMatchObject({ created: true, version: { dataset: "raw-juice", rowCount: 1070 } });
      expect(r1.phases[0]?.phase).toBe("upload");
      // The same bytes through the multipart form: the same content, so no new version.
      const viaForm = await upload(csv, "juice.csv", "raw-juice");
      expect(viaForm.status).toBe(200);
      const latin1 = new Uint8Array([...Buffer.from("name\n"), 0x43, 0x72, 0xe8, 0x6d, 0x65, 0x0a]);
      const encoded = await put("raw-latin1", "filename=l.csv&encoding=windows-1252", latin1);
      expect(encoded.status).toBe(201);
      const page = (await (await f.app.request("/api/datasets/raw-latin1/versions/1/preview", { headers: { cookie } })).json()) as {
        rows: unknown[][];
      };
      expect(page.rows).toEqual([["Crème"]]);

      const wrongType = await put("raw-x", "filename=x.csv", "a\n1\n", "text/plain");
      expect(wrongType.status).toBe(415);
      expect(((await wrongType.json()) as { error: { code: string } }).error.code).toBe("upload_not_octet_stream");
      const noFilename = await put("raw-x", "", "a\n1\n");
      expect(noFilename.status).toBe(400);
      const folderName = await put("raw-x", `filename=${encodeURIComponent("../x.csv")}`, "a\n1\n");
      expect(folderName.status).toBe(400);
      const badName = await put("..%2Fetc", "filename=x.csv", "a\n1\n");
      expect(badName.status).toBe(400);
      const tooBig = await put("raw-big", "filename=big.csv", `x\n${"1234567\n".repeat(80_000)}`);
      expect(tooBig.status).toBe(413);
      const ragged = await put("raw-ragged", "filename=r.csv", "a,b\n1,2\n3,4,5\n");
      expect(((await ragged.json()) as { error: { code: string } }).error.code).toBe("ragged_rows");
      expect(await leftovers()).toEqual([]);
      for (const name of ["raw-x", "raw-big", "raw-ragged"]) {
        expect((await f.app.request(`/api/datasets/${name}`, { headers: { cookie } })).status).toBe(404);
      }
    });
  });

  describe("training requests are checked before anything is queued", () => {
    const train = (body: Record<string, unknown>) =>
      f.app.request("/api/jobs/train", {
        method: "POST",
        headers: { cookie, "content-type": "application/json" },
        body: JSON.stringify({ dataset: "juice-sales", task: "classification", target: "Purchase", ...body }),
      });
    const code = async (res: Response) => ((await res.json()) as { error: { code: string; hint?: string } }).error;

    it.each([
      [{ target: "Nope" }, 422, "column_not_found"],
      [{ target: "Store7", task: "classification" }, 422, null],
      [{ include: ["lr", "gbr"] }, 422, "unknown_model"],
      [{ sort: "R2" }, 422, "unknown_metric"],
      [{ ignore_columns: ["Missing"] }, 422, "column_not_found"],
      [{ setup: { normalise: true } }, 422, "unknown_setup_option"],
      [{ use_gpu: "on" }, 422, "gpu_unavailable"],
      [{ dataset: "ghost" }, 404, null],
      [{ version: 9 }, 404, null],
    ] as const)("%o -> %i %s", async (body, status, expected) => {
      const res = await train(body);
      if (status === 422 && expected === null) {
        // Store7 (Yes/No) is a valid target: validation passes, and only the missing engine stops it here.
        expect(res.status).not.toBe(422);
        return;
      }
      expect(res.status).toBe(status);
      const err = await code(res);
      if (expected) expect(err.code).toBe(expected);
      expect(err.hint).toBeTruthy();
    });

    it("a single-class target is refused for classification", async () => {
      expect((await upload("y,x\nA,1\nA,2\nA,3\n", "one.csv", "oneclass")).status).toBe(201);
      const res = await train({ dataset: "oneclass", target: "y" });
      expect(res.status).toBe(422);
      expect((await code(res)).code).toBe("target_single_class");
      const allNull = await upload("y,x\n,1\n,2\n", "nulls.csv", "nulltarget");
      expect(allNull.status).toBe(201);
      expect((await code(await train({ dataset: "nulltarget", target: "y" }))).code).toBe("target_all_null");
    });
  });
});
