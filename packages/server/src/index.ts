export { AuthService, SESSION_COOKIE, TOKEN_PREFIX } from "./auth/auth.service.ts";
export { LoginBackoff } from "./auth/login.backoff.ts";
export { CLI_FILE, readCliFile } from "./cli.file.ts";
export { migrateToLatest, openSqlite } from "./db/database.ts";
export { serverMigrations } from "./db/server.migrations.ts";
export type { ServerTables } from "./db/server.tables.ts";
export { type AppContext, createApp } from "./http/app.ts";
export type { DatasetsPort, HealthPort, Logger, ScoringPort, TrackingPort } from "./ports.ts";
export { defaultRepoRoot, type StartedCaretflow, type StartOptions, startCaretflow } from "./start.ts";
