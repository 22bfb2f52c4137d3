import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, writeSync } from "node:fs";
import type { Readable, Writable } from "node:stream";
import type { EngineEvent } from "@caretflow/contracts";
import { isWorkerMessage, MAX_LINE_CHARS, parseEngineLine, type WorkerMessage } from "./engine-line.parse.ts";
import { LineSplitter } from "./line-splitter.ts";
import { groupAlive, killGroup, signalGroup, sleep } from "./process-util.ts";

export type WorkerState = "starting" | "ready" | "busy" | "stopping" | "dead";

export interface EngineWorkerHooks {
  onEvent: (w: EngineWorker, e: EngineEvent) => void;
  onMessage: (w: EngineWorker, m: WorkerMessage) => void;
  onBadLine: (w: EngineWorker, problem: string) => void;
  onExit: (w: EngineWorker, code: number | null, signal: NodeJS.Signals | null) => void;
}

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

/** A warm `caretflow_engine worker` process in the pool. */
export class EngineWorker {
  state: WorkerState = "starting";
  proc: EngineProcess | null = null;
  versions: Record<string, string> | undefined;
  pid: number | null = null;
  /** Job currently assigned (its id), if any. */
  jobId: string | null = null;

  constructor(
    readonly index: number,
    private readonly spec: SpawnSpec,
    private readonly hooks: EngineWorkerHooks,
  ) {}

  start(): void {
    this.state = "starting";
    this.versions = undefined;
    const proc = new EngineProcess(
      this.spec,
      (line) => this.onLine(line),
      (chars) => this.hooks.onBadLine(this, `an engine line of more than ${chars} characters was dropped`),
    );
    this.proc = proc;
    this.pid = proc.child.pid ?? null;
    proc.child.on("exit", (code, signal) => {
      if (this.proc !== proc) return;
      // A worker killed hard leaves its job child behind: clear the group.
      if (groupAlive(proc.pgid)) signalGroup(proc.pgid, "SIGKILL");
      this.state = "dead";
      this.hooks.onExit(this, code, signal);
    });
    proc.child.on("error", (err) => {
      if (this.proc !== proc) return;
      this.hooks.onBadLine(this, `cannot start the engine worker: ${err.message}`);
    });
  }

  send(message: unknown): boolean {
    return this.proc?.send(message) ?? false;
  }

  private onLine(line: string): void {
    let parsed: ReturnType<typeof parseEngineLine>;
    try {
      parsed = parseEngineLine(line);
    } catch (err) {
      this.hooks.onBadLine(this, err instanceof Error ? err.message : String(err));
      return;
    }
    if (isWorkerMessage(parsed)) this.hooks.onMessage(this, parsed);
    else this.hooks.onEvent(this, parsed);
  }

  /** Asks the worker to shut down (it ends a running job first), then makes sure the group is gone. */
  async shutdown(graceMs: number): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    this.state = "stopping";
    proc.send({ op: "shutdown" });
    proc.endControl();
    await proc.stop(graceMs, "wait");
    this.state = "dead";
  }
}
