import { randomUUID } from "node:crypto";
import { createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as NodeWebReadableStream } from "node:stream/web";
import { CaretflowError, userError } from "@caretflow/contracts";
import busboy from "busboy";

export interface ReceivedUpload {
  /** Temporary file in tmpDir; the caller removes it. */
  path: string;
  filename: string;
  bytes: number;
  fields: Record<string, string>;
}

/**
 * Buffer size of the multipart parser and the file writer: with 1 MiB instead of the 64 KiB / 16 KiB
 * defaults, a gigabyte arrives in about 1.5 s on loopback instead of 2.2-2.7 s (bench/README.md).
 */
const UPLOAD_BUFFER_BYTES = 1024 * 1024;

/** Keeps a file name's extension (the store infers the format from it) and nothing else from the client. */
export function safeExtension(filename: string): string {
  const m = /\.([A-Za-z0-9]{1,10})$/.exec(filename);
  return m ? `.${m[1]!.toLowerCase()}` : "";
}

/**
 * Streams the `file` part of a multipart/form-data request to a temporary file
 * (never holding the whole file in memory) and collects the other fields.
 */
export async function receiveUpload(
  req: Request,
  opts: { tmpDir: string; maxBytes: number },
  /** The same body as a Node.js stream (nodeRequestBody), read instead of req.body when given. */
  nodeBody?: Readable | null,
): Promise<ReceivedUpload> {
  const contentType = req.headers.get("content-type") ?? "";
  if (!contentType.toLowerCase().startsWith("multipart/form-data")) {
    throw userError(
      "upload_not_multipart",
      "Upload a file as multipart/form-data",
      "Send a form with a 'file' field (curl -F file=@data.csv) and optionally 'name'.",
      415,
    );
  }
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > opts.maxBytes + 64 * 1024) throw tooLarge(opts.maxBytes);
  if (!nodeBody && !req.body) throw userError("upload_empty", "The request has no body", "Attach a file in the 'file' field.");

  const fields: Record<string, string> = {};
  let file: { path: string; filename: string; done: Promise<number> } | null = null;
  let truncated = false;

  // preservePath: the file name arrives as sent, so a name with folders is refused rather than silently cut.
  const parser = busboy({
    headers: { "content-type": contentType },
    preservePath: true,
    limits: { fileSize: opts.maxBytes, files: 1, fields: 20 },
    highWaterMark: UPLOAD_BUFFER_BYTES,
    fileHwm: UPLOAD_BUFFER_BYTES,
  });
  parser.on("field", (name, value) => {
    fields[name] = value;
  });
  parser.on("file", (name, stream, info) => {
    if (name !== "file" || file) {
      stream.resume();
      return;
    }
    const path = join(opts.tmpDir, `upload-${randomUUID()}${safeExtension(info.filename ?? "")}`);
    let bytes = 0;
    stream.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
    });
    stream.on("limit", () => {
      truncated = true;
    });
    file = {
      path,
      filename: info.filename ?? "upload",
      done: pipeline(stream, createWriteStream(path, { mode: 0o600, highWaterMark: UPLOAD_BUFFER_BYTES })).then(() => bytes),
    };
  });

  try {
    await pipeline(nodeBody ?? Readable.fromWeb(req.body as unknown as NodeWebReadableStream<Uint8Array>), parser);
  } catch (err) {
    await cleanup(file);
    throw userError(
      "upload_malformed",
      `The upload could not be read: ${(err as Error).message}`,
      "Send a well-formed multipart/form-data request.",
    );
  }
  const got = file as { path: string; filename: string; done: Promise<number> } | null;
  if (!got) {
    throw userError("upload_no_file", "The upload has no 'file' field", "Attach the data file in a form field named 'file'.");
  }
  let bytes: number;
  try {
    bytes = await got.done;
  } catch (err) {
    await cleanup(got);
    throw new CaretflowError({
      code: "upload_write_failed",
      kind: "operational",
      message: `Could not store the upload: ${(err as Error).message}`,
      cause: err,
    });
  }
  if (truncated) {
    await cleanup(got);
    throw tooLarge(opts.maxBytes);
  }
  return { path: got.path, filename: got.filename, bytes, fields };
}

async function cleanup(file: { path: string } | null): Promise<void> {
  if (file) await rm(file.path, { force: true });
}

function tooLarge(max: number): CaretflowError {
  return userError(
    "upload_too_large",
    `The file is larger than the upload limit of ${Math.round(max / 1024 / 1024)} MiB`,
    "Import it with `caretflow datasets import` on the server machine, or raise maxUploadBytes in the server options.",
    413,
  );
}

/**
 * Streams a request body that is the file itself (application/octet-stream) to a temporary file named with
 * `filename`'s extension: no multipart parsing, for large files. The caller removes the file.
 */
export async function receiveRawUpload(
  req: Request,
  opts: { tmpDir: string; maxBytes: number },
  filename: string,
  nodeBody?: Readable | null,
): Promise<{ path: string; bytes: number }> {
  const type = (req.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== "application/octet-stream") {
    throw userError(
      "upload_not_octet_stream",
      `Send the file itself as the request body with Content-Type: application/octet-stream (got '${type.slice(0, 60) || "none"}')`,
      "e.g. curl -T sales.csv -H 'content-type: application/octet-stream' 'URL/api/datasets/sales/file?filename=sales.csv'; or POST a multipart form to /api/datasets.",
      415,
    );
  }
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > opts.maxBytes) throw tooLarge(opts.maxBytes);
  const source = nodeBody ?? (req.body ? Readable.fromWeb(req.body as unknown as NodeWebReadableStream<Uint8Array>) : null);
  if (!source) throw userError("upload_empty", "The request has no body", "Send the file's bytes as the request body.");
  const path = join(opts.tmpDir, `upload-${randomUUID()}${safeExtension(filename)}`);
  let bytes = 0;
  const counted = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      if (bytes > opts.maxBytes) done(tooLarge(opts.maxBytes));
      else done(null, chunk);
    },
  });
  try {
    await pipeline(source, counted, createWriteStream(path, { mode: 0o600, highWaterMark: UPLOAD_BUFFER_BYTES }));
  } catch (err) {
    await rm(path, { force: true });
    if (err instanceof CaretflowError) throw err;
    throw userError(
      "upload_interrupted",
      `The upload stopped before its end: ${(err as Error).message}`,
      "Send the file again; nothing was stored.",
    );
  }
  return { path, bytes };
}
