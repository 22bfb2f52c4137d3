import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, writeSync } from "node:fs";
import type { Readable, Writable } from "node:stream";
import { MAX_LINE_CHARS } from "./engine-line.parse.ts";
import { LineSplitter } from "./line-splitter.ts";
import { groupAlive, killGroup, signalGroup, sleep } from "./process-util.ts";

export interface SpawnSpec {
  python: string;
  engineDir: string;
  /** e.g. ["worker"] or ["serve"]: `python -m caretflow_engine ...` */
  args: string[];
  logPath: string;
  env: NodeJS.ProcessEnv;
}

/**
 * One engine process speaking JSON lines: control in on fd 3, events and
 * messages out on fd 4; its own stdout/stderr go to a log file. It runs in its
 * own process group so a kill reaches the job child it forked.
 */
export class EngineProcess {
  readonly child: ChildProcess;
  readonly pgid: number;
  private readonly control: Writable;
  readonly exited: Promise<void>;

  constructor(spec: SpawnSpec, onLine: (line: string) => void, onOverflow: (chars: number) => void) {
    const logFd = openSync(spec.logPath, "a");
    writeSync(logFd, `\n--- ${new Date().toISOString()} starting ${spec.python} -m caretflow_engine ${spec.args.join(" ")}\n`);
    this.child = spawn(spec.python, ["-m", "caretflow_engine", ...spec.args], {
      cwd: spec.engineDir,
      detached: true,
      stdio: ["ignore", logFd, logFd, "pipe", "pipe"],
      env: spec.env,
    });
    closeSync(logFd);
    this.pgid = this.child.pid ?? -1;
    this.control = this.child.stdio[3] as Writable;
    // The process may die before reading: writes then fail with EPIPE, which the exit handler covers.
    this.control.on("error", () => {});
    const out = this.child.stdio[4] as Readable;
    const splitter = new LineSplitter(onLine, MAX_LINE_CHARS, onOverflow);
    out.on("data", (chunk: Buffer) => splitter.push(chunk));
    out.on("end", () => splitter.end());
    out.on("error", () => {});
    this.exited = new Promise((resolve) => {
      this.child.on("exit", () => resolve());
      this.child.on("error", () => resolve());
    });
  }

  send(message: unknown): boolean {
    if (!this.control.writable) return false;
    this.control.write(`${JSON.stringify(message)}\n`);
    return true;
  }

  endControl(): void {
    this.control.end();
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Waits up to graceMs for the group to end by itself, then SIGKILLs it. */
  async stop(graceMs: number, politely: "sigterm" | "wait"): Promise<void> {
    if (politely === "sigterm") signalGroup(this.pgid, "SIGTERM");
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && (this.alive || groupAlive(this.pgid))) await sleep(50);
    if (this.alive || groupAlive(this.pgid)) await killGroup(this.pgid);
    await Promise.race([this.exited, sleep(2000)]);
  }
}
