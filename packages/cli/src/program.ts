import { CARETFLOW_VERSION, type Catalog } from "@caretflow/contracts";
import { Command, CommanderError } from "commander";
import { registerAccess } from "./access.command.ts";
import { registerAlerts } from "./alerts.command.ts";
import { registerAudit } from "./audit.command.ts";
import { registerCatalog } from "./catalog.command.ts";
import { createClient } from "./client.ts";
import type { ExitState } from "./common.ts";
import { resolveConnection } from "./connection.ts";
import { registerConnections } from "./connections.command.ts";
import { type CliContext, resolveHome } from "./context.ts";
import { registerDatasets } from "./datasets.command.ts";
import { registerDeploy } from "./deploy.command.ts";
import { registerDrift } from "./drift.command.ts";
import { registerJobs } from "./jobs.command.ts";
import { registerModels } from "./models.command.ts";
import { registerPipelines } from "./pipelines.command.ts";
import { registerPredict } from "./predict.command.ts";
import { registerRuns } from "./runs.command.ts";
import { registerSso } from "./sso.command.ts";
import { registerTokens } from "./tokens.command.ts";
import { registerTrain } from "./train.command.ts";
import { registerUp } from "./up.command.ts";
import { registerWorker } from "./worker.command.ts";

/** The whole `caretflow` command tree, writing through ctx. */
export function buildProgram(ctx: CliContext, exit: ExitState, catalog: Catalog | null = null): Command {
  const program = new Command("caretflow")
    .description("caretflow: low-code machine learning with PyCaret and MLflow")
    .version(CARETFLOW_VERSION, "-V, --version")
    // Program options only before a command: `datasets show NAME --version 2` is the command's --version, not caretflow's.
    .enablePositionalOptions()
    .showHelpAfterError("(add --help for usage)")
    .addHelpText(
      "after",
      "\nConnection: CARETFLOW_URL and CARETFLOW_TOKEN, else <home>/cli.json written by `caretflow up`\n" +
        "(home: --home, $CARETFLOW_HOME or ~/.caretflow).\n\n" +
        "Start here:\n" +
        "  caretflow up\n" +
        "  caretflow datasets import data.csv\n" +
        "  caretflow train --dataset data --task classification --target label",
    );
  // Every command inherits output routing and throws instead of exiting, so runCli decides the exit code.
  const configure = (cmd: Command) => {
    cmd.exitOverride().configureOutput({
      writeOut: (s) => ctx.stdout.write(s),
      writeErr: (s) => ctx.stderr.write(s),
      outputError: (s, write) => write(s.startsWith("error:") ? s : `error: ${s}`),
    });
    for (const sub of cmd.commands) configure(sub);
  };
  registerUp(program, ctx, exit);
  registerWorker(program, ctx, exit);
  registerDatasets(program, ctx, exit);
  registerConnections(program, ctx, exit);
  registerTrain(program, ctx, exit, catalog);
  registerCatalog(program, ctx, exit);
  registerJobs(program, ctx, exit);
  registerRuns(program, ctx, exit);
  registerModels(program, ctx, exit);
  registerPredict(program, ctx, exit);
  registerDrift(program, ctx, exit);
  registerDeploy(program, ctx, exit);
  registerPipelines(program, ctx, exit);
  registerAlerts(program, ctx, exit);
  registerAccess(program, ctx, exit);
  registerAudit(program, ctx, exit);
  registerTokens(program, ctx, exit);
  registerSso(program, ctx, exit);
  configure(program);
  return program;
}

/**
 * Run the CLI with `argv` (without node and script) and return the exit code.
 * @example process.exitCode = await runCli(process.argv.slice(2), processContext());
 */
export async function runCli(argv: string[], ctx: CliContext): Promise<number> {
  const exit: ExitState = { code: 0 };
  // `train` takes its task options from the engine's catalog, so its flags and help need it first.
  const catalog = argv[0] === "train" ? await fetchCatalog(ctx, argv) : null;
  const program = buildProgram(ctx, exit, catalog);
  try {
    await program.parseAsync(argv, { from: "user" });
    return exit.code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with exit code 0; usage errors were already printed by commander on stderr.
      if (err.exitCode !== 0 && argv.includes("--json")) {
        const message = err.message.replace(/^error:\s*/, "");
        ctx.stdout.write(`${JSON.stringify({ error: { code: "usage", kind: "user", message, hint: "see --help" } }, null, 2)}\n`);
      }
      return err.exitCode;
    }
    throw err;
  }
}

/** The server's catalog, or null when no server answers (train then reports why when it runs). */
async function fetchCatalog(ctx: CliContext, argv: string[]): Promise<Catalog | null> {
  const at = argv.indexOf("--home");
  try {
    const home = resolveHome(ctx, at >= 0 ? argv[at + 1] : undefined);
    const client = createClient(await resolveConnection(ctx.env, home), ctx.fetch);
    return await client.GET("/api/catalog", { signal: AbortSignal.timeout(30_000) });
  } catch {
    return null;
  }
}
