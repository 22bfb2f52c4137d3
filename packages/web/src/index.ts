// The web package is an application, built by vite into dist/ and served by @caretflow/server;
// this entry exposes only the pure helpers, for reuse and tests.
export * from "./features/jobs/job.state.ts";
export * from "./lib/catalog.ts";
export * from "./lib/format.ts";
export * from "./lib/sort.ts";
