import { CaretflowError } from "@caretflow/contracts";
import { EngineProcess, type SpawnSpec } from "./engine-process.ts";
import { parseServeLine, type ServeAnswer } from "./serve.protocol.ts";

/** Request ids start at 1; the shutdown request's answer is not waited for. */
const SHUTDOWN_ID = 0;

interface Pending {
  resolve: (a: ServeAnswer) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * One warm `caretflow_engine serve` process: requests carry an id, answers
 * echo it, so several requests may be in flight; the process answers them in order.
 */
export class ServeProcess {
  private readonly proc: EngineProcess;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private exitReason: string | null = null;
  readonly ready: Promise<void>;
  /** Resolves, with how it ended, when the process has exited (asked to or not). */
  readonly exited: Promise<string>;
  lastUsed = Date.now();

  constructor(
    spec: SpawnSpec,
    private readonly log: (msg: string) => void,
    readyTimeoutMs: number,
  ) {
    let markReady: () => void = () => {};
    let failReady: (e: Error) => void = () => {};
    this.ready = new Promise((ok, fail) => {
      markReady = ok;
      failReady = fail;
    });
    // A caller that never awaits ready (closed before use) must not see an unhandled rejection.
    this.ready.catch(() => {});
    const readyTimer = setTimeout(() => {
      failReady(unavailable(`the scoring process did not start within ${Math.round(readyTimeoutMs / 1000)} s`, spec.logPath));
      void this.proc.stop(0, "sigterm");
    }, readyTimeoutMs);
    this.proc = new EngineProcess(
      spec,
      (line) => {
        const parsed = parseServeLine(line);
        if ("ready" in parsed) {
          clearTimeout(readyTimer);
          markReady();
        } else if ("answer" in parsed) {
          const id = parsed.answer.id;
          if (id === SHUTDOWN_ID) return;
          const p = id === null ? undefined : this.pending.get(id);
          if (!p) {
            this.log(`scoring process answered an unknown request ${id}: ${line.slice(0, 200)}`);
            return;
          }
          this.pending.delete(id!);
          clearTimeout(p.timer);
          p.resolve(parsed.answer);
        } else {
          this.log(`scoring process: ${parsed.problem}`);
        }
      },
      (chars) => this.log(`scoring process: a line of ${chars} characters was dropped`),
    );
    let markExited: (reason: string) => void = () => {};
    this.exited = new Promise((ok) => {
      markExited = ok;
    });
    this.proc.child.on("exit", (code, signal) => {
      clearTimeout(readyTimer);
      this.exitReason = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      markExited(this.exitReason);
      const err = unavailable(`the scoring process ${this.exitReason}`, spec.logPath);
      failReady(err);
      for (const [id, p] of this.pending) {
        clearTimeout(p.timer);
        p.reject(err);
        this.pending.delete(id);
      }
    });
  }

  get alive(): boolean {
    return this.exitReason === null && this.proc.alive;
  }

  get pid(): number | null {
    return this.proc.child.pid ?? null;
  }

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.pending.size;
  }

  get busy(): boolean {
    return this.pending.size > 0;
  }

  /** Sends one request and waits for its answer (or the process's death, or the timeout). */
  request(body: Record<string, unknown>, timeoutMs: number): Promise<ServeAnswer> {
    this.lastUsed = Date.now();
    if (!this.alive) return Promise.reject(unavailable(`the scoring process ${this.exitReason ?? "is not running"}`, null));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(
          new CaretflowError({
            code: "scoring_timeout",
            kind: "operational",
            status: 504,
            message: `the scoring process did not answer within ${Math.round(timeoutMs / 1000)} s`,
            hint: "send fewer rows per request, or retry",
          }),
        );
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.proc.send({ ...body, id });
    });
  }

  /** Asks it to exit, then makes sure it did. */
  async close(graceMs = 5000): Promise<void> {
    this.proc.send({ op: "shutdown", id: SHUTDOWN_ID });
    this.proc.endControl();
    await this.proc.stop(graceMs, "wait");
  }
}

function unavailable(message: string, logPath: string | null): CaretflowError {
  return new CaretflowError({
    code: "scoring_unavailable",
    kind: "operational",
    status: 503,
    message,
    hint: logPath ? `retry; if it keeps failing, see ${logPath}` : "retry in a few seconds",
  });
}
