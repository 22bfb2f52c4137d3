import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { open, readFile, rename, stat, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import { CaretflowError } from "@caretflow/contracts";

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Prefix of every sealed value: the format version, so a later format can be told apart. */
const VERSION = "v1";

/**
 * Secrets encrypted at rest (AES-256-GCM) with one key kept in a file of its own (mode 600) under
 * caretflow's home, so a copy of the database alone does not reveal them. Each value is sealed for a
 * purpose (`context`, authenticated but not stored): a value sealed for one field cannot be moved to another.
 * @example const box = await SecretBox.open(join(home, "secret.key")); const s = box.seal("pw", "sso.client_secret");
 */
export class SecretBox {
  #key: Buffer;
  /** Keys that may still open older values: `<keyFile>.previous` and an unfinished rotation's `<keyFile>.next`. */
  #fallbacks: Buffer[];
  readonly #keyFile: string;

  private constructor(key: Buffer, keyFile: string, fallbacks: Buffer[] = []) {
    this.#key = key;
    this.#keyFile = keyFile;
    this.#fallbacks = fallbacks;
  }

  /** A box with a new random key, kept in memory only (rotate() is what writes a key file). */
  static generate(keyFile = "(new key)"): SecretBox {
    return new SecretBox(randomBytes(KEY_BYTES), keyFile);
  }

  /**
   * The box whose key is in `keyFile`; the file is created (32 random bytes, mode 600) when it does not
   * exist. A key file that others may read, or that is not a key, is refused.
   */
  static async open(keyFile: string): Promise<SecretBox> {
    try {
      const handle = await open(keyFile, "wx", 0o600);
      try {
        await handle.writeFile(randomBytes(KEY_BYTES));
      } finally {
        await handle.close();
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const key = await readKey(keyFile);
    const fallbacks: Buffer[] = [];
    for (const extra of [`${keyFile}.next`, `${keyFile}.previous`]) {
      const k = await readKey(extra).catch((err: NodeJS.ErrnoException) => {
        if (err.code === "ENOENT") return null;
        throw err;
      });
      if (k) fallbacks.push(k);
    }
    return new SecretBox(key, keyFile, fallbacks);
  }

  /** `plain` encrypted for `context` (e.g. "sso.client_secret"): `v1:<base64url of iv, tag and ciphertext>`. */
  seal(plain: string, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.#key, iv);
    cipher.setAAD(Buffer.from(context, "utf8"));
    const body = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
    return `${VERSION}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64url")}`;
  }

  /**
   * The plain text of a value sealed for `context`, with the current key or, failing that, a key kept
   * from an earlier or unfinished rotation; throws when no key opens it, it was sealed for another
   * purpose, or it was altered.
   */
  unseal(sealed: string, context: string): string {
    for (const key of [this.#key, ...this.#fallbacks]) {
      const plain = openWith(key, sealed, context);
      if (plain !== null) return plain;
    }
    throw this.#unreadable(context);
  }

  /** Whether `sealed` opens with the current key (false: it needs re-sealing, or no key opens it). */
  isCurrent(sealed: string, context: string): boolean {
    return openWith(this.#key, sealed, context) !== null;
  }

  /** The value sealed for `context` again with `next`'s key (opened with any key this box knows). */
  reseal(sealed: string, context: string, next: SecretBox): string {
    return next.seal(this.unseal(sealed, context), context);
  }

  /**
   * Replaces the key. `commit(next)` must re-seal every stored value with `next` (reseal()) in one
   * database transaction. The order never leaves a value that no key file opens:
   * 1. the new key is written to `<keyFile>.next` (mode 600, fsynced) before the database changes;
   * 2. commit(next) re-seals in one transaction (a failure leaves everything under the current key);
   * 3. the current key is kept as `<keyFile>.previous` (written beside it, fsynced, renamed over);
   * 4. `<keyFile>.next` is renamed over the key file (atomic), and the folder fsynced.
   * A crash after 2 and before 4 leaves values sealed with `.next`: open() reads it as a fallback
   * and the server's start re-seals such values with the key file's key (the rotation is undone).
   */
  async rotate(commit: (next: SecretBox) => Promise<void>): Promise<void> {
    const nextFile = `${this.#keyFile}.next`;
    const next = SecretBox.generate(this.#keyFile);
    await writeKeyFile(nextFile, next.#key);
    try {
      await commit(next);
    } catch (err) {
      await unlink(nextFile).catch(() => {});
      throw err;
    }
    const previousFile = `${this.#keyFile}.previous`;
    try {
      await writeKeyFile(`${previousFile}.tmp`, this.#key);
      await rename(`${previousFile}.tmp`, previousFile);
      await rename(nextFile, this.#keyFile);
      await syncFolder(this.#keyFile);
    } catch (err) {
      // The database is sealed with the new key, still in `.next`: keep reading with it; the next start re-seals.
      this.#fallbacks = [next.#key, ...this.#fallbacks];
      throw err;
    }
    this.#fallbacks = [this.#key];
    this.#key = next.#key;
  }

  /** Forgets `<keyFile>.next` once every value opens with the current key (the start's recovery is done). */
  async dropUnfinished(): Promise<void> {
    await unlink(`${this.#keyFile}.next`).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "ENOENT") throw err;
    });
  }

  #unreadable(context: string, cause?: unknown): CaretflowError {
    return new CaretflowError({
      code: "secret_unreadable",
      kind: "operational",
      message: `the stored secret '${context}' cannot be decrypted with the key in ${this.#keyFile}`,
      hint: "The key file was replaced or the database comes from another installation: restore the matching key file, or set the secret again.",
      cause,
    });
  }
}

/** The plain text, or null when `key` does not open the value (or it is not a sealed value). */
function openWith(key: Buffer, sealed: string, context: string): string | null {
  const [version, payload] = sealed.split(":", 2);
  const raw = version === VERSION && payload ? Buffer.from(payload, "base64url") : Buffer.alloc(0);
  if (raw.length < IV_BYTES + TAG_BYTES) return null;
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(context, "utf8"));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString("utf8");
  } catch {
    return null;
  }
}

/** A new file (replacing any) holding `key`, mode 600, fsynced. */
async function writeKeyFile(file: string, key: Buffer): Promise<void> {
  await unlink(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== "ENOENT") throw err;
  });
  const handle = await open(file, "wx", 0o600);
  try {
    await handle.writeFile(key);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await syncFolder(file);
}

/** fsync of the folder holding `file`, so a create or rename in it survives a crash. */
async function syncFolder(file: string): Promise<void> {
  const handle = await open(dirname(file), "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The key in `keyFile`; refused when others may read the file or it is not a key. */
async function readKey(keyFile: string): Promise<Buffer> {
  const info = await stat(keyFile);
  if ((info.mode & 0o077) !== 0) {
    throw new CaretflowError({
      code: "secret_key_exposed",
      kind: "operational",
      message: `the secret key file ${keyFile} may be read by other users (mode ${(info.mode & 0o777).toString(8)})`,
      hint: `Run: chmod 600 ${keyFile}`,
    });
  }
  const key = await readFile(keyFile);
  if (key.length !== KEY_BYTES) {
    throw new CaretflowError({
      code: "secret_key_invalid",
      kind: "operational",
      message: `the secret key file ${keyFile} is not a caretflow key (${key.length} bytes, expected ${KEY_BYTES})`,
      hint: "Restore it from your backup of caretflow's home; secrets sealed with it cannot be read without it.",
    });
  }
  return key;
}
