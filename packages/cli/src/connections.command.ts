import { stat } from "node:fs/promises";
import { basename, resolve } from "node:path";
import { ConnectionName, type ConnectionSummary, CreateConnectionRequest, UpdateConnectionRequest, userError } from "@caretflow/contracts";
import type { Command } from "commander";
import { action, type CommandEnv, type CommonOptions, type ExitState, parseFlags, withCommon } from "./common.ts";
import type { CliContext } from "./context.ts";
import { formatTable, formatTime } from "./table.ts";
import { fileToUpload } from "./upload.ts";

interface PasswordOptions {
  passwordStdin?: boolean;
  passwordEnv?: string;
}

/** The password from standard input (first line) or a named environment variable; never from an argument. */
async function passwordFrom(env: CommandEnv, opts: PasswordOptions): Promise<string | undefined> {
  if (opts.passwordStdin && opts.passwordEnv) {
    throw userError("password_source_twice", "give --password-stdin or --password-env, not both", "pick one source for the password");
  }
  if (opts.passwordEnv) {
    const value = env.ctx.env[opts.passwordEnv];
    if (!value)
      throw userError(
        "secret_missing",
        `the environment variable ${opts.passwordEnv} is not set`,
        `export ${opts.passwordEnv}=... first (or use --password-stdin)`,
      );
    return value;
  }
  if (opts.passwordStdin) {
    const text = env.ctx.readStdin ? await env.ctx.readStdin() : "";
    const line = text.split(/\r?\n/)[0] ?? "";
    if (!line)
      throw userError(
        "secret_missing",
        "no password on standard input",
        "pipe the password on standard input (printf '%s' \"$PW\" | caretflow connections create ...)",
      );
    return line;
  }
  return undefined;
}

interface SecretOptions {
  secretStdin?: boolean;
  secretEnv?: string;
  sas?: boolean;
}

/**
 * An object store's secret from standard input (all of it, trimmed: a GCS key is multi-line JSON) or
 * a named environment variable; never from an argument. Answers the secret field it is for.
 */
async function objectStoreSecret(env: CommandEnv, type: string, opts: SecretOptions): Promise<Record<string, string>> {
  if (opts.secretStdin && opts.secretEnv) {
    throw userError("secret_source_twice", "give --secret-stdin or --secret-env, not both", "pick one source for the secret");
  }
  let value: string | undefined;
  if (opts.secretEnv) {
    value = env.ctx.env[opts.secretEnv];
    if (!value)
      throw userError(
        "secret_missing",
        `the environment variable ${opts.secretEnv} is not set`,
        `export ${opts.secretEnv}=... first (or use --secret-stdin)`,
      );
  } else if (opts.secretStdin) {
    value = (env.ctx.readStdin ? await env.ctx.readStdin() : "").trim();
    if (!value)
      throw userError(
        "secret_missing",
        "no secret on standard input",
        "pipe it on standard input (caretflow connections create ... --secret-stdin < key.json)",
      );
  }
  if (value === undefined) return {};
  const field = type === "s3" ? "secretAccessKey" : type === "azure" ? (opts.sas ? "sasToken" : "accountKey") : "serviceAccountKey";
  return { [field]: value };
}

interface StoreFlags extends SecretOptions {
  region?: string;
  endpoint?: string;
  bucket?: string;
  container?: string;
  accessKeyId?: string;
  pathStyle?: boolean;
  account?: string;
  projectId?: string;
}

/** The settings of an s3, azure or gcs connection from its flags (the server validates them). */
function storeSettings(type: string, o: StoreFlags): Record<string, unknown> {
  const pick = (v: Record<string, unknown>) => Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined));
  if (type === "s3")
    return pick({ region: o.region, endpoint: o.endpoint, bucket: o.bucket, accessKeyId: o.accessKeyId, pathStyle: o.pathStyle === true });
  if (type === "azure") return pick({ account: o.account, endpoint: o.endpoint, container: o.container });
  return pick({ projectId: o.projectId, endpoint: o.endpoint, bucket: o.bucket });
}

const OBJECT_STORES = ["s3", "azure", "gcs"];

interface PostgresFlags extends PasswordOptions {
  type?: string;
  host?: string[];
  port?: string;
  database?: string;
  user?: string;
  ssl?: boolean;
  file?: string;
}

/** Each server type's usual port, when --port is not given. */
const DEFAULT_PORTS: Record<string, number> = { postgres: 5432, mysql: 3306 };

/** `--host h1 --host h2:5433 --port 5432` as the settings' host list (a host may carry its own port). */
function hostsOf(opts: PostgresFlags): { host: string; port: number }[] {
  const port = opts.port === undefined ? (DEFAULT_PORTS[opts.type ?? ""] ?? 5432) : Number(opts.port);
  return (opts.host ?? []).map((h) => {
    const m = /^(.*):(\d+)$/.exec(h);
    return m && !h.includes("]") && h.split(":").length === 2 ? { host: m[1]!, port: Number(m[2]) } : { host: h, port };
  });
}

function describeSettings(c: ConnectionSummary): string {
  const s = c.settings as { hosts?: { host: string; port: number }[]; database?: string; user?: string };
  if (c.type === "postgres" || c.type === "mysql")
    return `${s.user}@${(s.hosts ?? []).map((h) => `${h.host}:${h.port}`).join(",")}/${s.database}`;
  if (c.type === "sqlite") return `file ${(c.settings as { file?: string }).file}`;
  if (OBJECT_STORES.includes(c.type)) {
    const o = c.settings as {
      endpoint?: string;
      bucket?: string;
      container?: string;
      account?: string;
      region?: string;
      projectId?: string;
    };
    const where =
      o.endpoint ?? (c.type === "s3" ? `region ${o.region}` : c.type === "azure" ? `account ${o.account}` : `project ${o.projectId}`);
    const bucket = o.bucket ?? o.container;
    return bucket ? `${where}, ${c.type === "azure" ? "container" : "bucket"} ${bucket}` : where;
  }
  return JSON.stringify(c.settings);
}

/** `caretflow connections create|edit|list|show|test|browse|delete`: the project's connections to outside sources. */
export function registerConnections(program: Command, ctx: CliContext, exit: ExitState): void {
  const connections = program
    .command("connections")
    .description(
      "connections to outside data sources (PostgreSQL, MySQL/MariaDB, SQLite files, S3, Azure Blob, GCS); credentials are stored encrypted and never shown",
    );

  const collect = (value: string, previous: string[] = []) => [...previous, value];

  withCommon(
    connections
      .command("create <name>")
      .description(
        "create a connection (project owners); the password or key from --password-stdin/--password-env (--secret-stdin/--secret-env), never an argument",
      )
      .requiredOption("--type <type>", "the source type: postgres, mysql (also MariaDB), sqlite, s3, azure or gcs")
      .option("--file <path>", "sqlite: the database file to upload (the server keeps its own copy)")
      .option("--host <host>", "a server host (repeat for failover, tried in order; host:port for its own port)", collect)
      .option("--port <port>", "the port (default 5432 for postgres, 3306 for mysql)")
      .option("--database <db>", "the database")
      .option("--user <user>", "the user to connect as")
      .option("--ssl", "connect with TLS (the server's certificate is verified)")
      .option("--password-stdin", "read the password from standard input")
      .option("--password-env <var>", "read the password from this environment variable")
      .option("--region <region>", "s3: the region (default us-east-1)")
      .option("--endpoint <url>", "s3, azure, gcs: the store's URL (S3-compatible stores, Azurite, emulators, sovereign clouds)")
      .option("--bucket <bucket>", "s3, gcs: the one bucket to read (without it, object paths start with the bucket)")
      .option("--container <container>", "azure: the one container to read (without it, object paths start with the container)")
      .option("--access-key-id <id>", "s3: the access key id (the secret access key from --secret-stdin or --secret-env)")
      .option("--path-style", "s3: address buckets in the path (most S3-compatible stores)")
      .option("--account <account>", "azure: the storage account name")
      .option("--project-id <id>", "gcs: the Google Cloud project id")
      .option(
        "--secret-stdin",
        "s3, azure, gcs: read the secret (secret access key, account key or SAS, service-account JSON) from standard input",
      )
      .option("--secret-env <var>", "s3, azure, gcs: read the secret from this environment variable")
      .option("--sas", "azure: the secret is a SAS token, not the account key"),
  ).action(
    action<CommonOptions & PostgresFlags & StoreFlags>(ctx, exit, async (env, opts, [name]) => {
      if (opts.type && OBJECT_STORES.includes(opts.type)) {
        const secrets = await objectStoreSecret(env, opts.type, {
          secretStdin: opts.secretStdin || opts.passwordStdin,
          ...(opts.secretEnv || opts.passwordEnv ? { secretEnv: opts.secretEnv ?? opts.passwordEnv } : {}),
          ...(opts.sas ? { sas: true } : {}),
        });
        const body = parseFlags(
          CreateConnectionRequest,
          { name, type: opts.type, settings: storeSettings(opts.type, opts), secrets },
          { name: "NAME", type: "--type", settings: "--region/--endpoint/--bucket/--container/--access-key-id/--account/--project-id" },
        );
        const created = await (await env.client()).POST("/api/connections", { body });
        env.out.result(
          created,
          () =>
            `created connection ${created.name} (${created.type}, ${describeSettings(created)}); browse it with \`caretflow connections browse ${created.name}\``,
        );
        return undefined;
      }
      if (opts.type === "sqlite") {
        if (!opts.file) throw userError("file_missing", "give the SQLite file with --file PATH", "e.g. --type sqlite --file shop.db");
        const file = resolve(env.ctx.cwd, opts.file);
        const info = await stat(file).catch(() => null);
        if (!info?.isFile())
          throw userError("file_not_found", `'${opts.file}' is not a file`, "check the path (it is relative to the current folder)");
        const name0 = parseFlags(ConnectionName, name, { "": "NAME" });
        env.out.note(`uploading ${basename(file)} (${info.size} bytes)...`);
        const client = await env.client();
        const stored = await client.POST("/api/connections/files", { body: { file: fileToUpload(file, info.size) } });
        const body = parseFlags(CreateConnectionRequest, { name: name0, type: "sqlite", settings: { file: stored.file } }, {});
        const created = await client.POST("/api/connections", { body });
        env.out.result(
          created,
          () =>
            `created connection ${created.name} (sqlite, ${basename(file)}); browse it with \`caretflow connections browse ${created.name} main\``,
        );
        return undefined;
      }
      const password = await passwordFrom(env, opts);
      const body = parseFlags(
        CreateConnectionRequest,
        {
          name,
          type: opts.type,
          settings: { hosts: hostsOf(opts), database: opts.database, user: opts.user, ssl: opts.ssl === true },
          secrets: password === undefined ? {} : { password },
        },
        { name: "NAME", type: "--type", settings: "--host/--port/--database/--user" },
      );
      const created = await (await env.client()).POST("/api/connections", { body });
      env.out.result(
        created,
        () =>
          `created connection ${created.name} (${created.type}, ${describeSettings(created)}); test it with \`caretflow connections test ${created.name}\``,
      );
      return undefined;
    }),
  );

  withCommon(
    connections
      .command("edit <name>")
      .description(
        "change a connection's settings and/or password or key (project owners); settings not given stay, the password from --password-stdin/--password-env, an object store's key from --secret-stdin/--secret-env",
      )
      .option("--host <host>", "replace the hosts (repeat for failover; host:port for its own port)", collect)
      .option("--port <port>", "the port of the hosts given (or of every stored host, without --host)")
      .option("--database <db>", "the database")
      .option("--user <user>", "the user to connect as")
      .option("--ssl", "connect with TLS")
      .option("--no-ssl", "connect without TLS")
      .option("--password-stdin", "read the new password from standard input")
      .option("--password-env <var>", "read the new password from this environment variable")
      .option("--secret-stdin", "s3, azure, gcs: read the new secret from standard input")
      .option("--secret-env <var>", "s3, azure, gcs: read the new secret from this environment variable")
      .option("--sas", "azure: the secret is a SAS token, not the account key"),
  ).action(
    action<CommonOptions & PostgresFlags & SecretOptions>(ctx, exit, async (env, opts, [name]) => {
      if (opts.secretStdin || opts.secretEnv) {
        const client = await env.client();
        const current = await client.GET("/api/connections/{name}", { params: { path: { name: name! } } });
        const secrets = await objectStoreSecret(env, current.type, opts);
        const body = parseFlags(UpdateConnectionRequest, { secrets }, {});
        const updated = await client.PUT("/api/connections/{name}", { params: { path: { name: name! } }, body });
        env.out.result(updated, () => `updated the ${Object.keys(secrets).join(", ")} of connection ${updated.name}`);
        return undefined;
      }
      const password = await passwordFrom(env, opts);
      const changesSettings =
        opts.host !== undefined ||
        opts.port !== undefined ||
        opts.database !== undefined ||
        opts.user !== undefined ||
        opts.ssl !== undefined;
      if (password === undefined && !changesSettings)
        throw userError(
          "nothing_to_change",
          "nothing to change",
          "give --host, --port, --database, --user, --ssl/--no-ssl, --password-stdin or --password-env",
        );
      const client = await env.client();
      const path = { params: { path: { name: name! } } };
      let settings: Record<string, unknown> | undefined;
      if (changesSettings) {
        const current = await client.GET("/api/connections/{name}", path);
        const stored = current.settings as { hosts?: { host: string; port: number }[] };
        const hosts =
          opts.host !== undefined
            ? hostsOf({ ...opts, type: current.type })
            : opts.port !== undefined
              ? (stored.hosts ?? []).map((h) => ({ host: h.host, port: Number(opts.port) }))
              : stored.hosts;
        settings = {
          ...current.settings,
          ...(hosts !== undefined ? { hosts } : {}),
          ...(opts.database !== undefined ? { database: opts.database } : {}),
          ...(opts.user !== undefined ? { user: opts.user } : {}),
          ...(opts.ssl !== undefined ? { ssl: opts.ssl } : {}),
        };
      }
      const body = parseFlags(
        UpdateConnectionRequest,
        { ...(settings ? { settings } : {}), ...(password !== undefined ? { secrets: { password } } : {}) },
        { settings: "--host/--port/--database/--user" },
      );
      const updated = await client.PUT("/api/connections/{name}", { ...path, body });
      const what = [...(settings ? ["settings"] : []), ...(password !== undefined ? ["password"] : [])].join(" and ");
      env.out.result(updated, () => `updated the ${what} of connection ${updated.name} (${describeSettings(updated)})`);
      return undefined;
    }),
  );

  withCommon(connections.command("list").description("the project's connections (never their credentials)")).action(
    action<CommonOptions>(ctx, exit, async (env) => {
      const { connections: list } = await (await env.client()).GET("/api/connections");
      env.out.result({ connections: list }, () =>
        list.length === 0
          ? "this project has no connections; an owner creates one with `caretflow connections create NAME --type postgres ...`"
          : formatTable(
              [{ header: "NAME" }, { header: "TYPE" }, { header: "WHERE" }, { header: "SECRETS SET" }, { header: "UPDATED" }],
              list.map((c) => [c.name, c.type, describeSettings(c), c.secretsSet.join(", ") || "-", formatTime(c.updatedAt)]),
            ),
      );
      return undefined;
    }),
  );

  withCommon(connections.command("test <name>").description("reach the source with the stored settings and credentials")).action(
    action<CommonOptions>(ctx, exit, async (env, _opts, [name]) => {
      const r = await (await env.client()).POST("/api/connections/{name}/test", { params: { path: { name: name! } } });
      env.out.result(r, () => `ok: ${r.host} answered (${r.serverVersion.split(" on ")[0]})`);
      return undefined;
    }),
  );

  withCommon(
    connections
      .command("browse <name> [path]")
      .description(
        "browse the source: no path lists schemas (buckets), a schema lists its tables (row estimates), schema.table lists columns; in a bucket, a prefix lists its objects (size, modified)",
      ),
  ).action(
    action<CommonOptions>(ctx, exit, async (env, _opts, [name, path]) => {
      const { entries } = await (await env.client()).GET("/api/connections/{name}/browse", {
        params: { path: { name: name! }, query: path ? { path } : {} },
      });
      env.out.result({ entries }, () =>
        entries.length === 0
          ? "nothing here"
          : formatTable(
              [{ header: "NAME" }, { header: "KIND" }, { header: "ROWS (EST.)" }, { header: "TYPE" }, { header: "PATH" }],
              entries.map((e) => [e.name, e.kind, e.rowEstimate === undefined ? "" : String(e.rowEstimate), e.type ?? "", e.path]),
            ),
      );
      return undefined;
    }),
  );

  withCommon(
    connections
      .command("rotate-key")
      .description("rotate the server's secret key (site admins): every stored credential is re-encrypted with a new key"),
  ).action(
    action<CommonOptions>(ctx, exit, async (env) => {
      const r = await (await env.client()).POST("/api/settings/secret-key/rotate");
      env.out.result(r, () => {
        const what = [
          `${r.connections} connection${r.connections === 1 ? "" : "s"}`,
          ...(r.ssoClientSecret ? ["the SSO client secret"] : []),
        ];
        const lines = [
          `rotated the secret key: ${r.resealed} stored secret${r.resealed === 1 ? "" : "s"} re-encrypted (${what.join(", ")})`,
        ];
        if (r.unreadable.length > 0)
          lines.push(
            `warning: ${r.unreadable.length} stored secret(s) could not be read with any key and were left as they were: ${r.unreadable.join(", ")}; set them again`,
          );
        return lines.join("\n");
      });
      return undefined;
    }),
  );

  withCommon(connections.command("delete <name>").description("delete a connection and its stored credentials (project owners)")).action(
    action<CommonOptions>(ctx, exit, async (env, _opts, [name]) => {
      await (await env.client()).DELETE("/api/connections/{name}", { params: { path: { name: name! } } });
      env.out.result({ ok: true }, () => `deleted connection ${name}`);
      return undefined;
    }),
  );
}

/** `caretflow datasets import --connection NAME (--table T | --query SQL)`: a source read into a dataset version. */
export async function importFromConnection(
  env: CommandEnv,
  opts: { connection: string; table?: string; query?: string; object?: string; name?: string; incremental?: string },
): Promise<void> {
  const connection = parseFlags(ConnectionName, opts.connection, { "": "--connection" });
  if ([opts.table, opts.query, opts.object].filter((x) => x !== undefined).length !== 1) {
    throw userError(
      "source_missing",
      "give exactly one of --table, --query or --object with --connection",
      "e.g. --table public.orders, --query 'SELECT ...', or --object 'sales/2024-*.csv' for a bucket",
    );
  }
  const body = {
    ...(opts.table !== undefined ? { table: opts.table } : opts.object !== undefined ? { object: opts.object } : { query: opts.query }),
    ...(opts.name ? { name: opts.name } : {}),
    ...(opts.incremental ? { incremental: opts.incremental } : {}),
  };
  env.out.note(`reading ${opts.table ?? opts.object ?? "the query"} from ${connection}...`);
  const result = await (await env.client()).POST("/api/connections/{name}/import", { params: { path: { name: connection } }, body });
  const v = result.version;
  env.out.result(result, () =>
    result.created
      ? `${v.dataset}: created version ${v.version} (${v.rowCount} rows, ${v.columnCount} columns${v.source.objectCount !== undefined ? `, from ${v.source.objectCount} object${v.source.objectCount === 1 ? "" : "s"}` : ""})${v.source.watermark ? `; watermark ${v.source.watermark.column} = ${v.source.watermark.value}` : ""}`
      : `${v.dataset}: unchanged (no new rows; version ${v.version})`,
  );
}
