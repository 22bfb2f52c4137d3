import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// Browser tests: real caretflow (MLflow, engine, DuckDB) driven through real Chromium. Two files at a time
// (each starts its own caretflow on a free port in a temporary home); long timeouts because training jobs
// run inside. The web bundle is built once before them.
export default defineConfig({
  test: {
    root: fileURLToPath(new URL("..", import.meta.url)),
    include: ["e2e/**/*.e2e.test.ts"],
    testTimeout: 600_000,
    hookTimeout: 600_000,
    pool: "forks",
    maxWorkers: 2,
    globalSetup: ["e2e/build.global.ts"],
  },
});
