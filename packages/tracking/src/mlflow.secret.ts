import { randomBytes } from "node:crypto";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CaretflowError } from "@caretflow/contracts";

/** The user name every caretflow client sends to its MLflow server. */
export const MLFLOW_USERNAME = "caretflow";

/** File under MLflow's home (<caretflow home>/mlflow) holding the generated password, mode 600. */
export const MLFLOW_SECRET_FILE = "secret";

export interface MlflowCredentials {
  username: string;
  password: string;
}

/**
 * Reads MLflow's credential from <mlflowHome>/secret, creating it (32 random bytes, base64url,
 * mode 600) on first use. Deleting the file and restarting caretflow rotates it.
 */
export function mlflowCredentials(mlflowHome: string): MlflowCredentials {
  const path = join(mlflowHome, MLFLOW_SECRET_FILE);
  let password: string;
  try {
    password = readFileSync(path, "utf8").trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    password = randomBytes(32).toString("base64url");
    try {
      // "wx": two starts racing keep the first secret rather than overwriting it.
      writeFileSync(path, `${password}\n`, { mode: 0o600, flag: "wx" });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      password = readFileSync(path, "utf8").trim();
    }
  }
  if (!/^[A-Za-z0-9_-]{32,}$/.test(password)) {
    throw new CaretflowError({
      code: "mlflow_secret_invalid",
      kind: "operational",
      message: `${path} does not hold a usable MLflow secret (32 or more characters of A-Z, a-z, 0-9, _ and -)`,
      hint: "Stop caretflow, delete that file and start caretflow again: a new secret is generated.",
    });
  }
  // A copy restored from a backup may have lost its mode.
  chmodSync(path, 0o600);
  return { username: MLFLOW_USERNAME, password };
}

/** The Authorization header value for these credentials. */
export function basicAuthorization(c: MlflowCredentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString("base64")}`;
}
