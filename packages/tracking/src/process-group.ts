import { readdirSync, readFileSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:net";

/** Asks the OS for a free loopback port (there is a small race until the caller binds it). */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port assigned"))));
    });
  });
}

/** Whether `port` on `host` can be listened on now. */
function portFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

/**
 * The port recorded in `file` when it is still free, else a free one, recorded there: a service keeps
 * its address across restarts (processes that outlive one, such as jobs on workers, still reach it).
 */
export async function keptFreePort(file: string, host = "127.0.0.1"): Promise<number> {
  const kept = Number((await readFile(file, "utf8").catch(() => "")).trim());
  if (Number.isInteger(kept) && kept > 0 && kept < 65536 && (await portFree(kept, host))) return kept;
  const port = await freePort(host);
  await writeFile(file, `${port}\n`, { mode: 0o600 });
  return port;
}

/** True while any process of the group exists (zombies included until reaped). */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    // EPERM means it exists but belongs to someone else: still alive.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // Already gone.
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * SIGTERM the whole group, then SIGKILL what is left after `graceMs`.
 * `mlflow server` forks uvicorn (and possibly job runners) into its group; killing
 * only the leader would leave them holding the port.
 */
export async function terminateGroup(pgid: number, graceMs: number): Promise<void> {
  if (!groupAlive(pgid)) return;
  signalGroup(pgid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!groupAlive(pgid)) return;
    await sleep(100);
  }
  signalGroup(pgid, "SIGKILL");
  const hard = Date.now() + 5000;
  while (groupAlive(pgid) && Date.now() < hard) await sleep(50);
}

/** The command line of a live process, or null (Linux /proc; elsewhere null). */
export function processCommandLine(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").trim();
  } catch {
    return null;
  }
}

/** Command lines of the live members of a process group (Linux /proc; elsewhere empty). */
export function groupCommandLines(pgid: number): string[] {
  const out: string[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync("/proc").filter((e) => /^[0-9]+$/.test(e));
  } catch {
    return out;
  }
  for (const e of entries) {
    try {
      const stat = readFileSync(`/proc/${e}/stat`, "utf8");
      // Fields after the parenthesised command: state ppid pgrp ...
      const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(rest[2]) === pgid) out.push(processCommandLine(Number(e)) ?? "");
    } catch {
      // Process vanished while scanning.
    }
  }
  return out;
}
