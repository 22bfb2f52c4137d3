import type { EngineEvent } from "@caretflow/contracts";
import { isWorkerMessage, parseEngineLine, type WorkerMessage } from "./engine-line.parse.ts";
import { EngineProcess, type SpawnSpec } from "./engine-process.ts";
import { groupAlive, signalGroup } from "./process-util.ts";

export type WorkerState = "starting" | "ready" | "busy" | "stopping" | "dead";

export interface EngineWorkerHooks {
  onEvent: (w: EngineWorker, e: EngineEvent) => void;
  onMessage: (w: EngineWorker, m: WorkerMessage) => void;
  onBadLine: (w: EngineWorker, problem: string) => void;
  onExit: (w: EngineWorker, code: number | null, signal: NodeJS.Signals | null) => void;
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

  get logPath(): string {
    return this.spec.logPath;
  }

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
