import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { userError } from "@caretflow/contracts";
import { z } from "zod";

/** Where the server is and the API token to use. */
export interface Connection {
  url: string;
  token: string;
  /** Where it came from, for error messages. */
  source: "env" | "file" | "env+file";
  file?: string;
}

/** The file `caretflow up` writes into the home folder (mode 600). */
export const CliFile = z.object({ url: z.string().url(), token: z.string().min(1) });

export const CLI_FILE_NAME = "cli.json";

/**
 * CARETFLOW_URL and CARETFLOW_TOKEN win; whatever is missing comes from <home>/cli.json,
 * which is refused when group or world can read it (it holds a bearer token).
 */
export async function resolveConnection(env: Record<string, string | undefined>, home: string): Promise<Connection> {
  const envUrl = nonEmpty(env.CARETFLOW_URL);
  const envToken = nonEmpty(env.CARETFLOW_TOKEN);
  if (envUrl && envToken) return { url: normalizeUrl(envUrl, "CARETFLOW_URL"), token: envToken, source: "env" };

  const file = join(home, CLI_FILE_NAME);
  const fromFile = await readCliFile(file, envUrl !== undefined || envToken !== undefined);
  if (!fromFile) {
    if (envUrl) {
      throw userError("token_missing", `CARETFLOW_URL is set but CARETFLOW_TOKEN is not, and ${file} does not exist`, tokenHint(), 401);
    }
    throw userError(
      "not_connected",
      `no caretflow server is known: ${file} does not exist`,
      "start one with `caretflow up` (or pass --home DIR / set CARETFLOW_HOME to its home), or set CARETFLOW_URL and CARETFLOW_TOKEN",
    );
  }
  return {
    url: normalizeUrl(envUrl ?? fromFile.url, envUrl ? "CARETFLOW_URL" : file),
    token: envToken ?? fromFile.token,
    source: envUrl || envToken ? "env+file" : "file",
    file,
  };
}

/** How to get a working token, said the same way wherever one is missing or rejected. */
export function tokenHint(): string {
  return "restart `caretflow up` (it writes a valid token to <home>/cli.json; use the same --home here), or create an API token in the web UI and set CARETFLOW_TOKEN";
}

async function readCliFile(file: string, optional: boolean): Promise<z.infer<typeof CliFile> | null> {
  let mode: number;
  try {
    mode = (await stat(file)).mode;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw userError("cli_file_unreadable", `cannot read ${file}: ${(err as Error).message}`, "check the file's permissions");
  }
  // Windows has no POSIX modes to check.
  if (process.platform !== "win32" && (mode & 0o077) !== 0) {
    throw userError(
      "cli_file_permissions",
      `${file} can be read by other users (mode ${(mode & 0o777).toString(8)}); it holds an API token, so caretflow will not use it`,
      `run \`chmod 600 ${file}\``,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, "utf8"));
  } catch (err) {
    throw userError("cli_file_invalid", `${file} is not valid JSON: ${(err as Error).message}`, "run `caretflow up` to rewrite it");
  }
  const result = CliFile.safeParse(parsed);
  if (!result.success) {
    if (optional) return null;
    throw userError("cli_file_invalid", `${file} does not hold a url and a token`, "run `caretflow up` to rewrite it");
  }
  return result.data;
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === "" ? undefined : v.trim();
}

function normalizeUrl(raw: string, from: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw userError("bad_url", `${from} holds '${raw}', which is not a URL`, "use a URL such as http://127.0.0.1:8420");
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw userError("bad_url", `${from} holds '${raw}', which is not an http(s) URL`, "use a URL such as http://127.0.0.1:8420");
  }
  return u.toString().replace(/\/+$/, "");
}
