import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Kysely } from "kysely";
import { AuthService } from "./auth/auth.service.ts";
import { generatePassword } from "./auth/password.ts";
import { openSqlite } from "./db/database.ts";
import type { ServerTables } from "./db/server.tables.ts";

/**
 * Gives `admin` a new generated password and signs out its sessions (API tokens stay valid).
 * For a person who lost the password printed at first start; needs file access to the home folder.
 */
export async function resetAdminPassword(home: string): Promise<string> {
  const path = join(resolve(home), "caretflow.db");
  if (!existsSync(path)) throw new Error(`no caretflow database at ${path}; start caretflow once first`);
  const db: Kysely<ServerTables> = openSqlite<ServerTables>(path);
  try {
    const password = generatePassword();
    await new AuthService({ db }).setPassword("admin", password);
    return password;
  } finally {
    await db.destroy();
  }
}
