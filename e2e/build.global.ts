import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureWebBuild } from "./browser.ts";

/** Builds the web bundle once, before the files that run side by side look for it. */
export default async function setup(): Promise<void> {
  await ensureWebBuild(resolve(fileURLToPath(new URL("..", import.meta.url))));
}
