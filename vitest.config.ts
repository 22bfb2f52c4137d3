import { defineConfig } from "vitest/config";

// Two groups, one after the other. The fast files (units, route tests, CLI tests) run on every core; the
// integration files, each starting a real caretflow stack with MLflow and PyCaret, run after them. One
// PostgreSQL server serves the whole run (packages/server/test/postgres.global.ts).
const shared = {
  exclude: ["**/node_modules/**", "packages/web/**"],
  testTimeout: 60_000,
  hookTimeout: 180_000,
  pool: "forks" as const,
};
const files = ["packages/*/src/**/*.test.ts", "packages/*/test/**/*.test.ts"];
const integration = ["packages/*/test/**/*.integration.test.ts"];

export default defineConfig({
  test: {
    globalSetup: ["packages/server/test/postgres.global.ts"],
    projects: [
      {
        test: {
          ...shared,
          name: "fast",
          include: files,
          exclude: [...shared.exclude, ...integration],
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          ...shared,
          name: "integration",
          include: integration,
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
