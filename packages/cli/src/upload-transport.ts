import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as NodeWebReadableStream } from "node:stream/web";

/**
 * Whether a request is a streamed file upload (a multipart or raw body of known length, as the typed client
 * sends a streamedFile); those go through sendUpload instead of fetch.
 */
export function isStreamedUpload(request: Request): boolean {
  const type = request.headers.get("content-type") ?? "";
  return (
    request.body !== null &&
    (type.startsWith("multipart/form-data") || type === "application/octet-stream") &&
    request.headers.has("content-length")
  );
}

/**
 * Sends a streamed upload with node:http(s), piping its body into the socket. fetch moves a body through
 * web streams and undici's writer: about three times the CPU per gigabyte, which on a small machine
 * competes with the server receiving it (bench/README.md, import-speed). Same answer as fetch: a Response.
 */
export function sendUpload(request: Request): Promise<Response> {
  const url = new URL(request.url);
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  const headers: Record<string, string> = {};
  request.headers.forEach((value, key) => {
    headers[key] = value;
  });
  return new Promise<Response>((resolve, reject) => {
    const req = send(url, { method: request.method, headers, signal: request.signal }, (res: IncomingMessage) => {
      const answer = new Headers();
      for (const [key, value] of Object.entries(res.headers)) {
        if (value === undefined) continue;
        for (const v of Array.isArray(value) ? value : [value]) answer.append(key, v);
      }
      const status = res.statusCode ?? 502;
      const body = status === 204 || status === 304 ? null : (Readable.toWeb(res) as unknown as ReadableStream<Uint8Array>);
      resolve(new Response(body, { status, statusText: res.statusMessage ?? "", headers: answer }));
    });
    req.on("error", (err) => reject(new TypeError("fetch failed", { cause: err })));
    // A server that answers early (a refusal) may close the connection before the whole body is sent:
    // the answer above counts, not the broken pipe.
    pipeline(Readable.fromWeb(request.body as unknown as NodeWebReadableStream<Uint8Array>), req).catch(() => undefined);
  });
}
