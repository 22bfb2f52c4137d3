import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { BlobServiceClient, StorageSharedKeyCredential } from "@azure/storage-blob";
import { freePort } from "./postgres.fixture.ts";

const REPO = resolve(import.meta.dirname, "../../..");

/** Azurite's well-known development account (public, documented by Microsoft; not a secret). */
export const AZURITE_ACCOUNT = "devstoreaccount1";
export const AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/** A real Azure Blob endpoint: Azurite (the npm devDependency) on a free port with a temporary folder. */
export interface AzuriteServer {
  /** The service URL, account in the path: http://127.0.0.1:PORT/devstoreaccount1 */
  endpoint: string;
  admin: BlobServiceClient;
  put(container: string, name: string, body: string): Promise<void>;
  close(): Promise<void>;
}

/** Start Azurite's blob service; fails with a clear message (never skips) when it cannot start. */
export async function startAzurite(): Promise<AzuriteServer> {
  const dir = await mkdtemp(join(tmpdir(), "caretflow-azurite-"));
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
  const bin = join(REPO, "node_modules/.bin/azurite-blob");
  const child: ChildProcess = spawn(
    bin,
    [
      "--blobHost",
      "127.0.0.1",
      "--blobPort",
      String(port),
      "--location",
      dir,
      "--silent",
      "--skipApiVersionCheck",
      "--loose",
      "--disableTelemetry",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  const keep = (d: Buffer) => {
    output = (output + d.toString()).slice(-2000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  child.once("error", (e) => keep(Buffer.from(String(e))));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const admin = new BlobServiceClient(endpoint, new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`Azurite (${bin}) exited before answering (code ${child.exitCode}): ${output}`);
    try {
      await admin.getProperties();
      break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`Azurite did not answer on ${endpoint} within 60 s: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    endpoint,
    admin,
    async put(container, name, body) {
      const c = admin.getContainerClient(container);
      await c.createIfNotExists();
      await c.getBlockBlobClient(name).upload(body, Buffer.byteLength(body));
    },
    async close() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (child.exitCode === null) child.kill("SIGKILL");
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
