import { defineConfig } from "vitest/config";

// Unit tests of the UI's pure helpers (formatting, sorting, job event reduction); they run in Node, no DOM.
export default defineConfig({
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
