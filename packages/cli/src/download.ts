import { createWriteStream } from "node:fs";
import { rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { userError } from "@caretflow/contracts";
import type { ApiClient } from "./client.ts";

/** Resolve --out and fail early (before any job runs) when the file could not be written anyway. */
export async function checkOutFile(cwd: string, out: string): Promise<string> {
  const file = resolve(cwd, out);
  const dir = await stat(dirname(file)).catch(() => null);
  if (!dir?.isDirectory())
    throw userError("out_dir_missing", `the folder of --out '${out}' does not exist`, `create ${dirname(file)} first`);
  const existing = await stat(file).catch(() => null);
  if (existing?.isDirectory()) throw userError("out_is_dir", `--out '${out}' is a folder`, "give a file name, e.g. predictions.csv");
  return file;
}

/** Download a dataset version as CSV to `file`; returns the bytes written. */
export async function downloadCsv(client: ApiClient, name: string, version: number, file: string): Promise<number> {
  const res = await client.raw("get", "/api/datasets/{name}/versions/{version}/download", {
    params: { path: { name, version: String(version) } },
    headers: { accept: "text/csv" },
  });
  return await writeBody(res, file);
}

/** Download one artifact of a run to `file`; returns the bytes written. */
export async function downloadArtifact(client: ApiClient, runId: string, path: string, file: string): Promise<number> {
  const res = await client.raw("get", "/api/runs/{runId}/artifacts/{path}", { params: { path: { runId, path } } });
  return await writeBody(res, file);
}

/** Write a response body to `file` through a temporary file beside it; returns the bytes written. */
export async function writeBody(res: Response, file: string): Promise<number> {
  if (!res.body) throw userError("empty_download", "the server sent no body", "try again; see the log of `caretflow up`");
  // Write beside the target, then rename, so a failed download never leaves a half file under the real name.
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.part`);
  try {
    await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), createWriteStream(tmp));
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return (await stat(file)).size;
}
