import { processContext } from "./context.ts";
import { runCli } from "./program.ts";

const code = await runCli(process.argv.slice(2), processContext());
// Open keep-alive sockets must not hold the process; wait for stdout to drain, then leave.
process.stdout.write("", () => process.exit(code));
