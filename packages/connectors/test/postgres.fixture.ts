import { execFile } from "node:child_process";
import { readdirSync } from "node:fs";
import { access, chmod, chown, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";

const run = promisify(execFile);
/** The newest Debian PostgreSQL's binaries (/usr/lib/postgresql/<major>/bin), or CARETFLOW_PG_BIN. */
export const PG_BIN = process.env.CARETFLOW_PG_BIN ?? join("/usr/lib/postgresql", newestMajor(), "bin");

function newestMajor(): string {
  try {
    const majors = readdirSync("/usr/lib/postgresql").filter((d) => /^\d+$/.test(d));
    return majors.sort((a, b) => Number(b) - Number(a))[0] ?? "15";
  } catch {
    return "15";
  }
}

export interface PostgresServer {
  host: string;
  port: number;
  dir: string;
  /** The superuser's password (user "postgres"). */
  superPassword: string;
  /** A SQL session as the superuser, for fixtures: in the `postgres` database, or in `database`. */
  sql(text: string, params?: unknown[], database?: string): Promise<pg.QueryResult>;
  start(): Promise<void>;
  /** pg_ctl stop (-m fast or immediate). */
  stop(mode?: "fast" | "immediate"): Promise<void>;
  /** Stop the server and remove its folder. */
  close(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      const port = typeof address === "object" && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A real PostgreSQL server in a temporary folder: initdb, then pg_ctl start on a free port (TCP on
 * 127.0.0.1 with SCRAM passwords, the socket in the folder). Under root the server runs as the
 * "postgres" system user, as PostgreSQL refuses to run as root.
 */
export async function startPostgres(): Promise<PostgresServer> {
  try {
    await access(join(PG_BIN, "initdb"));
  } catch {
    throw new Error(`PostgreSQL binaries not found in ${PG_BIN}: install PostgreSQL (apt-get install postgresql) or set CARETFLOW_PG_BIN`);
  }
  const dir = await mkdtemp(join(tmpdir(), "caretflow-pg-"));
  const data = join(dir, "data");
  const asRoot = process.getuid?.() === 0;
  const as = async (cmd: string, args: string[]) => {
    if (asRoot) return run("runuser", ["-u", "postgres", "--", join(PG_BIN, cmd), ...args], { cwd: dir });
    return run(join(PG_BIN, cmd), args, { cwd: dir });
  };
  const superPassword = `pw-${Math.random().toString(36).slice(2)}`;
  await writeFile(join(dir, "pwfile"), `${superPassword}\n`);
  if (asRoot) {
    const { stdout } = await run("id", ["-u", "postgres"]);
    const { stdout: gid } = await run("id", ["-g", "postgres"]);
    await chown(dir, Number(stdout), Number(gid));
    await chown(join(dir, "pwfile"), Number(stdout), Number(gid));
  }
  await chmod(dir, 0o700);
  await as("initdb", [
    "-D",
    data,
    "-U",
    "postgres",
    "--auth-local=trust",
    "--auth-host=scram-sha-256",
    `--pwfile=${join(dir, "pwfile")}`,
    "-E",
    "UTF8",
    "--no-sync",
  ]);
  const port = await freePort();
  const host = "127.0.0.1";
  const log = join(dir, "server.log");
  const start = async () => {
    await as("pg_ctl", [
      "-D",
      data,
      "-l",
      log,
      "-w",
      "-t",
      "60",
      "-o",
      `-p ${port} -k ${dir} -c listen_addresses=${host} -c fsync=off`,
      "start",
    ]);
  };
  const stop = async (mode: "fast" | "immediate" = "fast") => {
    await as("pg_ctl", ["-D", data, "-m", mode, "-w", "stop"]).catch(() => undefined);
  };
  await start();
  const sql = async (text: string, params: unknown[] = [], database = "postgres") => {
    const client = new pg.Client({ host, port, user: "postgres", password: superPassword, database });
    await client.connect();
    try {
      return await client.query(text, params);
    } finally {
      await client.end();
    }
  };
  return {
    host,
    port,
    dir,
    superPassword,
    sql,
    start,
    stop,
    async close() {
      await stop("fast");
      await rm(dir, { recursive: true, force: true });
    },
  };
}
