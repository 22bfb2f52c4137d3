import { execFileSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";

/** Debian's Chromium; CARETFLOW_CHROMIUM overrides it. */
export const chromiumPath = process.env.CARETFLOW_CHROMIUM ?? "/usr/bin/chromium";

export function launchChromium(): Promise<Browser> {
  if (!existsSync(chromiumPath)) {
    throw new Error(`Chromium is not installed at ${chromiumPath}. Install it (apt-get install -y chromium) or set CARETFLOW_CHROMIUM.`);
  }
  return chromium.launch({
    executablePath: chromiumPath,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
}

/** Newest modification time under a folder, skipping node_modules and build output. */
async function newestMtime(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name === "node_modules" || entry.name === "dist") continue;
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? await newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Builds packages/web into dist when the build is missing or older than its sources, so the test sees the current UI. */
export async function ensureWebBuild(repo: string): Promise<void> {
  const web = join(repo, "packages", "web");
  const index = join(web, "dist", "index.html");
  const built = existsSync(index) ? statSync(index).mtimeMs : 0;
  if (built > (await newestMtime(join(web, "src")))) return;
  execFileSync("npm", ["run", "--silent", "build", "-w", "@caretflow/web"], { cwd: repo, stdio: "inherit" });
}

/** Saves full-page screenshots as NN-name.png, numbered in the order they are taken. */
export async function screenshotter(dir: string): Promise<(page: Page, name: string) => Promise<string>> {
  // a fresh folder, so the numbering never mixes with an earlier run's pictures
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  let n = 0;
  return async (page, name) => {
    n += 1;
    const path = join(dir, `${String(n).padStart(2, "0")}-${name}.png`);
    await page.screenshot({ path, fullPage: true });
    return path;
  };
}
