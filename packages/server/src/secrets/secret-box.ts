import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { open, readFile, stat } from "node:fs/promises";
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
  readonly #key: Buffer;
  readonly #keyFile: string;

  private constructor(key: Buffer, keyFile: string) {
    this.#key = key;
    this.#keyFile = keyFile;
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
    return new SecretBox(key, keyFile);
  }

  /** `plain` encrypted for `context` (e.g. "sso.client_secret"): `v1:<base64url of iv, tag and ciphertext>`. */
  seal(plain: string, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.#key, iv);
    cipher.setAAD(Buffer.from(context, "utf8"));
    const body = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
    return `${VERSION}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64url")}`;
  }

  /** The plain text of a value sealed for `context`; throws when it was sealed with another key or for another purpose, or was altered. */
  unseal(sealed: string, context: string): string {
    const [version, payload] = sealed.split(":", 2);
    const raw = version === VERSION && payload ? Buffer.from(payload, "base64url") : Buffer.alloc(0);
    if (raw.length < IV_BYTES + TAG_BYTES) throw this.#unreadable(context);
    try {
      const decipher = createDecipheriv("aes-256-gcm", this.#key, raw.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(context, "utf8"));
      decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString("utf8");
    } catch (err) {
      throw this.#unreadable(context, err);
    }
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
