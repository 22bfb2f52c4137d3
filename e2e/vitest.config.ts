import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// Browser tests: real caretflow (MLflow, engine, DuckDB) driven through real Chromium. One file at a time,
// long timeouts because a training job runs inside.
export default defineConfig({
  test: {
    root: fileURLToPath(new URL("..", import.meta.url)),
    include: ["e2e/**/*.e2e.test.ts"],
    testTimeout: 600_000,
    hookTimeout: 600_000,
    pool: "forks",
    fileParallelism: false,
  },
});
