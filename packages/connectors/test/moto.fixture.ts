import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { join, resolve } from "node:path";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { freePort } from "./postgres.fixture.ts";

const REPO = resolve(import.meta.dirname, "../../..");

/** A real S3 endpoint: moto's server (from the tools venv, scripts/tools-venv.sh) on a free port. */
export interface MotoServer {
  endpoint: string;
  /** Put objects as the server's administrator (before authentication is switched on). */
  put(bucket: string, key: string, body: string | Uint8Array): Promise<void>;
  createBucket(bucket: string): Promise<void>;
  /** An IAM user with an access key; with `allowS3` it may read every bucket. */
  createUser(name: string, allowS3: boolean): Promise<{ accessKeyId: string; secretAccessKey: string }>;
  /** From now on every request must be signed by a known key (moto's IAM checks). */
  enforceAuth(): Promise<void>;
  close(): Promise<void>;
}

/** Start moto's server; fails with a clear message (never skips) when it cannot be installed or started. */
export async function startMoto(): Promise<MotoServer> {
  let venv: string;
  try {
    venv = execFileSync("bash", [join(REPO, "scripts/tools-venv.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
  } catch (error) {
    throw new Error(
      `moto's S3 server could not be installed (bash scripts/tools-venv.sh failed: ${(error as { stderr?: string }).stderr?.slice(-500)}); the S3 connector tests need it`,
    );
  }
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(join(venv, "bin/moto_server"), ["-H", "127.0.0.1", "-p", String(port)], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, MOTO_ALLOW_NONEXISTENT_REGION: "true" },
  });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-2000);
  });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto's server exited before answering (code ${child.exitCode}): ${stderr}`);
    try {
      if ((await fetch(`${endpoint}/moto-api/`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`moto's server did not answer on ${endpoint} within 60 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const admin = new S3Client({
    region: "us-east-1",
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: "admin", secretAccessKey: "admin" },
  });
  const iam = async (params: Record<string, string>): Promise<string> => {
    const res = await fetch(endpoint, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        // moto routes by the credential scope; before enforceAuth() it does not check the signature.
        authorization: "AWS4-HMAC-SHA256 Credential=admin/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0",
      },
      body: new URLSearchParams({ ...params, Version: "2010-05-08" }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`moto IAM ${params.Action} failed: ${text}`);
    return text;
  };
  return {
    endpoint,
    async createBucket(bucket) {
      await admin.send(new CreateBucketCommand({ Bucket: bucket }));
    },
    async put(bucket, key, body) {
      await admin.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    },
    async createUser(name, allowS3) {
      await iam({ Action: "CreateUser", UserName: name });
      if (allowS3) {
        const policy = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:*", Resource: "*" }] });
        await iam({ Action: "PutUserPolicy", UserName: name, PolicyName: "read", PolicyDocument: policy });
      }
      const xml = await iam({ Action: "CreateAccessKey", UserName: name });
      const id = /<AccessKeyId>([^<]+)</.exec(xml)?.[1];
      const secret = /<SecretAccessKey>([^<]+)</.exec(xml)?.[1];
      if (!id || !secret) throw new Error(`moto IAM CreateAccessKey answered no key: ${xml}`);
      return { accessKeyId: id, secretAccessKey: secret };
    },
    async enforceAuth() {
      const res = await fetch(`${endpoint}/moto-api/reset-auth`, { method: "POST", body: "0" });
      if (!res.ok) throw new Error(`moto reset-auth failed: ${await res.text()}`);
    },
    async close() {
      admin.destroy();
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (child.exitCode === null) child.kill("SIGKILL");
      }
    },
  };
}
