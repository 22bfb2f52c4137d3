import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

/**
 * A short hash of what decides the engine's behaviour: its locked environment and its own code
 * and schemas. Caches of what the engine publishes (its catalog) are keyed by it, so a changed
 * engine is asked again. Reads a few hundred kilobytes: fine at start-up.
 */
export function engineFingerprint(engineDir: string): string {
  const hash = createHash("sha256");
  const files = [join(engineDir, "requirements.lock"), ...walk(join(engineDir, "caretflow_engine"))].sort();
  for (const file of files) {
    hash.update(relative(engineDir, file));
    hash.update("\0");
    hash.update(readFileSync(file));
    hash.update("\0");
  }
  return hash.digest("hex").slice(0, 16);
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === "__pycache__") continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...walk(path));
    else if (name.endsWith(".py") || name.endsWith(".json")) out.push(path);
  }
  return out;
}
