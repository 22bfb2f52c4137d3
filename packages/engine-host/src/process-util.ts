import { closeSync, fstatSync, openSync, readSync } from "node:fs";

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** True while any process of the group exists. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
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

export function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

/** SIGKILLs the group and waits (bounded) until it is gone. */
export async function killGroup(pgid: number): Promise<void> {
  signalGroup(pgid, "SIGKILL");
  const deadline = Date.now() + 5000;
  while (groupAlive(pgid) && Date.now() < deadline) await sleep(25);
}

/** The last `bytes` of a file as text (from a line start when possible); "" if unreadable. */
export function fileTail(path: string, bytes = 4000): string {
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    const size = fstatSync(fd).size;
    const start = Math.max(0, size - bytes);
    const buf = Buffer.alloc(size - start);
    readSync(fd, buf, 0, buf.length, start);
    const text = buf.toString("utf8");
    const nl = start > 0 ? text.indexOf("\n") : -1;
    return nl >= 0 && nl < text.length - 1 ? text.slice(nl + 1) : text;
  } catch {
    return "";
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Signal number -> name, for messages a person reads. */
export function signalName(n: number | null): string | null {
  if (n === null) return null;
  const names: Record<number, string> = { 1: "SIGHUP", 2: "SIGINT", 6: "SIGABRT", 9: "SIGKILL", 11: "SIGSEGV", 15: "SIGTERM" };
  return names[n] ?? `signal ${n}`;
}
