export * from "./api.ts";
export * from "./catalog.ts";
export * from "./charts.ts";
export * from "./datasets.ts";
export * from "./engine-protocol.ts";
export * from "./errors.ts";
export * from "./routes.ts";
export * from "./tasks.ts";
export const CARETFLOW_VERSION = "0.1.0";
