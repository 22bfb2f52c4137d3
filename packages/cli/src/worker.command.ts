import type { Command } from "commander";
import {
  action,
  type CommonOptions,
  checkedDatabase,
  checkedStorage,
  EXIT,
  type ExitState,
  intArg,
  redisUrlArg,
  withCommon,
} from "./common.ts";
import type { CliContext } from "./context.ts";
import { STORAGE_HELP } from "./up.command.ts";

interface WorkerCommandOptions extends CommonOptions {
  redis: string;
  workers?: number;
  jobMemory?: number;
  database?: string;
  storage?: string;
}

export function registerWorker(program: Command, ctx: CliContext, exit: ExitState): void {
  withCommon(
    program
      .command("worker")
      .description(
        "run the jobs a caretflow server started with --redis queues, with its metadata database and either the server's home (on this machine or a shared folder) " +
          "or, with --storage, the server's shared storage and a home of its own (a cache); Ctrl-C stops it. " +
          "With a server started with --mlflow-url, give the worker the same CARETFLOW_MLFLOW_URL and credential variables",
      )
      .requiredOption(
        "--redis <url>",
        "the Redis server the caretflow server queues jobs on (redis://[user:password@]host:port)",
        redisUrlArg,
      )
      .option(
        "--database <url>",
        "the server's metadata database: its PostgreSQL URL (as given to `caretflow up --database`) or SQLite file (default <home>/caretflow.db; or CARETFLOW_DATABASE_URL)",
      )
      .option("--storage <url>", `${STORAGE_HELP}; the server's, as given to \`caretflow up --storage\``)
      .option("--workers <n>", "jobs at once (default 1; at most the machine's cores)", intArg("--workers", 1, 256))
      .option("--job-memory <MB>", "memory one job may use before it is stopped as out of memory", intArg("--job-memory", 64)),
  ).action(
    action<WorkerCommandOptions>(ctx, exit, async (env, opts) => {
      let stop: (signal: string) => void = () => {};
      const stopped = new Promise<string>((resolve) => {
        stop = resolve;
      });
      const dispose = env.ctx.onInterrupt((signal) => stop(signal));
      try {
        const database = checkedDatabase(opts.database);
        const storage = checkedStorage(opts.storage);
        if (!env.ctx.loadWorker) throw new Error("this caretflow CLI cannot start a worker");
        const start = await env.ctx.loadWorker();
        const worker = await start({
          home: env.home,
          redisUrl: opts.redis,
          ...(database ? { database } : {}),
          ...(storage ? { storage } : {}),
          ...(opts.workers ? { engineWorkers: opts.workers } : {}),
          ...(opts.jobMemory ? { jobMemoryMb: opts.jobMemory } : {}),
          log: (line) => env.out.note(line),
        });
        env.out.result({ home: env.home, ready: true }, () => "worker running; press Ctrl-C to stop");
        const signal = await stopped;
        env.out.note(`${signal}: stopping the worker (running jobs are cancelled)...`);
        await worker.close();
        env.out.note("stopped");
        return EXIT.ok;
      } finally {
        dispose();
      }
    }),
  );
}
