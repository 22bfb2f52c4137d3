import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { Kysely } from "kysely";
import { AuditLog, SYSTEM_ACTOR } from "./audit/audit.log.ts";
import { AuthService } from "./auth/auth.service.ts";
import { generatePassword } from "./auth/password.ts";
import { metadataDatabase, openDatabase } from "./db/database.ts";
import type { ServerTables } from "./db/server.tables.ts";

/**
 * Gives `admin` a new generated password and signs out its sessions (API tokens stay valid).
 * For a person who lost the password printed at first start; needs file access to the home folder.
 */
export async function resetAdminPassword(home: string, database = process.env.CARETFLOW_DATABASE_URL): Promise<string> {
  const target = metadataDatabase(resolve(home), database);
  if (target.kind === "sqlite" && !existsSync(target.path))
    throw new Error(`no caretflow database at ${target.path}; start caretflow once first`);
  const db: Kysely<ServerTables> = await openDatabase<ServerTables>(target);
  try {
    const password = generatePassword();
    await new AuthService({ db }).setPassword("admin", password);
    // Written beside a running server's appends: the log's unique seq and prev_hash keep one chain.
    await new AuditLog({ db })
      .record({
        actor: SYSTEM_ACTOR,
        action: "user.password.change",
        target: { kind: "user", id: "admin" },
        after: { reason: "reset from the command line; sessions signed out" },
      })
      .catch((err: Error) => {
        // A home last opened by a version without the audit log: the password is changed all the same.
        if (!/no such table|does not exist/.test(err.message)) throw err;
      });
    return password;
  } finally {
    await db.destroy();
  }
}
