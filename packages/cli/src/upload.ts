import { createReadStream } from "node:fs";
import { basename } from "node:path";
import { streamedFile } from "@caretflow/contracts/client";

/** Chunks read from disk while uploading: large chunks keep a gigabyte upload on loopback near the disk's speed. */
const UPLOAD_CHUNK_BYTES = 1024 * 1024;

/** A file on disk as a multipart file part that the client streams with its length (any size, 4 GiB and more too). */
export function fileToUpload(path: string, size: number): File {
  return streamedFile({
    name: basename(path),
    size,
    chunks: () => createReadStream(path, { highWaterMark: UPLOAD_CHUNK_BYTES }),
  });
}
