import { chmod, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

export const CLI_FILE = "cli.json";

/** Reads <home>/cli.json; null when absent or unreadable. */
export async function readCliFile(home: string): Promise<{ url?: string; token?: string } | null> {
  try {
    const parsed = JSON.parse(await readFile(join(home, CLI_FILE), "utf8")) as unknown;
    return parsed && typeof parsed === "object" ? (parsed as { url?: string; token?: string }) : null;
  } catch {
    return null;
  }
}

/** Writes the CLI's URL and token, readable by the owner only. */
export async function writeCliFile(home: string, content: { url: string; token: string }): Promise<void> {
  const path = join(home, CLI_FILE);
  await writeFile(path, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600 });
  // writeFile keeps the mode of an existing file: enforce it.
  await chmod(path, 0o600);
}
