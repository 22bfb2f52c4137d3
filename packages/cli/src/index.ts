export { type ApiClient, createClient } from "./client.ts";
export { type Connection, resolveConnection } from "./connection.ts";
export { type CliContext, processContext, resolveHome } from "./context.ts";
export { followJob } from "./job-follow.ts";
export { buildProgram, runCli } from "./program.ts";
export { createSseParser, type SseMessage, type SseParser } from "./sse.ts";
