import { type ChildProcess, execFile, spawn } from "node:child_process";
import { access, chmod, chown, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import mysql from "mysql2/promise";
import { freePort } from "./postgres.fixture.ts";

const run = promisify(execFile);
/** The folder of Debian's MariaDB server binaries (mariadbd, mariadb-install-db), or CARETFLOW_MARIADB_BIN. */
const SERVER_BIN = process.env.CARETFLOW_MARIADB_BIN ?? "/usr/sbin";
const INSTALL_DB = process.env.CARETFLOW_MARIADB_BIN
  ? join(process.env.CARETFLOW_MARIADB_BIN, "mariadb-install-db")
  : "/usr/bin/mariadb-install-db";

export interface MariadbServer {
  host: string;
  port: number;
  dir: string;
  /** The password of the fixture's administrator ("admin", every privilege, from any host). */
  adminPassword: string;
  /** A SQL session as the administrator, for fixtures (several statements allowed); rows of the last one. */
  sql(text: string, params?: unknown[]): Promise<unknown>;
  start(): Promise<void>;
  /** Stop the server: SIGTERM and a clean shutdown ("fast") or SIGKILL ("immediate"). */
  stop(mode?: "fast" | "immediate"): Promise<void>;
  /** Stop the server and remove its folder. */
  close(): Promise<void>;
}

/**
 * A real MariaDB server in a temporary folder: mariadb-install-db, then mariadbd on a free port (TCP
 * on 127.0.0.1, the socket in the folder) with real users and passwords (grant tables on). Under
 * root the server runs as the "mysql" system user. Missing binaries fail with a clear message.
 */
export async function startMariadb(): Promise<MariadbServer> {
  for (const bin of [join(SERVER_BIN, "mariadbd"), INSTALL_DB]) {
    try {
      await access(bin);
    } catch {
      throw new Error(`MariaDB binary ${bin} not found: install MariaDB (apt-get install mariadb-server) or set CARETFLOW_MARIADB_BIN`);
    }
  }
  const dir = await mkdtemp(join(tmpdir(), "caretflow-mariadb-"));
  const stopOnFailure: { stop?: () => Promise<void> } = {};
  try {
    return await boot(dir, stopOnFailure);
  } catch (error) {
    // A server that did not come up is stopped and its folder removed.
    await stopOnFailure.stop?.().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

async function boot(dir: string, stopOnFailure: { stop?: () => Promise<void> }): Promise<MariadbServer> {
  const data = join(dir, "data");
  const socket = join(dir, "mariadb.sock");
  const asRoot = process.getuid?.() === 0;
  const userArgs = asRoot ? ["--user=mysql"] : [];
  if (asRoot) {
    const { stdout: uid } = await run("id", ["-u", "mysql"]);
    const { stdout: gid } = await run("id", ["-g", "mysql"]);
    await chown(dir, Number(uid), Number(gid));
  }
  await chmod(dir, 0o700);
  await run(
    INSTALL_DB,
    [
      "--no-defaults",
      `--datadir=${data}`,
      ...userArgs,
      "--auth-root-authentication-method=normal",
      "--skip-test-db",
      "--skip-name-resolve",
      "--innodb-buffer-pool-size=16M",
    ],
    { cwd: dir, timeout: 120_000 },
  );
  const port = await freePort();
  const host = "127.0.0.1";
  const log = join(dir, "server.log");
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();

  const start = async () => {
    const proc = spawn(
      join(SERVER_BIN, "mariadbd"),
      [
        "--no-defaults",
        `--datadir=${data}`,
        `--socket=${socket}`,
        `--port=${port}`,
        `--bind-address=${host}`,
        `--pid-file=${join(dir, "mariadb.pid")}`,
        `--log-error=${log}`,
        "--skip-name-resolve",
        "--skip-log-bin",
        "--innodb-buffer-pool-size=16M",
        "--innodb-flush-log-at-trx-commit=0",
        "--performance-schema=off",
        ...userArgs,
      ],
      { cwd: dir, stdio: "ignore" },
    );
    child = proc;
    exited = new Promise((resolve) => proc.once("exit", () => resolve()));
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        const text = await readFile(log, "utf8").catch(() => "");
        throw new Error(`mariadbd stopped while starting:\n${text.slice(-2000)}`);
      }
      try {
        const c = await mysql.createConnection({ socketPath: socket, user: "root" });
        await c.end();
        return;
      } catch {
        if (Date.now() > deadline) throw new Error(`mariadbd did not accept connections within 60 s (log: ${log})`);
        await new Promise((r) => setTimeout(r, 150));
      }
    }
  };
  const stop = async (mode: "fast" | "immediate" = "fast") => {
    const proc = child;
    child = null;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill(mode === "fast" ? "SIGTERM" : "SIGKILL");
    await exited;
  };

  stopOnFailure.stop = () => stop("immediate");
  await start();
  const adminPassword = `pw-${Math.random().toString(36).slice(2)}`;
  const root = await mysql.createConnection({ socketPath: socket, user: "root", multipleStatements: true });
  try {
    await root.query(
      `CREATE USER 'admin'@'%' IDENTIFIED BY '${adminPassword}'; GRANT ALL PRIVILEGES ON *.* TO 'admin'@'%' WITH GRANT OPTION;`,
    );
  } finally {
    await root.end();
  }
  const sql = async (text: string, params: unknown[] = []) => {
    const c = await mysql.createConnection({ host, port, user: "admin", password: adminPassword, multipleStatements: true });
    try {
      const [rows] = await c.query(text, params);
      return rows;
    } finally {
      await c.end();
    }
  };
  return {
    host,
    port,
    dir,
    adminPassword,
    sql,
    start,
    stop,
    async close() {
      await stop("fast");
      await rm(dir, { recursive: true, force: true });
    },
  };
}
