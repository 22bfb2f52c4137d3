import type { ConnectionPreview, ConnectionSummary, ConnectionTestResult, DiscoverNode, ImportResult } from "@caretflow/contracts";
import { type FormEvent, useState } from "react";
import { Link } from "react-router-dom";
import { useApi, useNow, useResource } from "../../api/context.tsx";
import { formatCell, formatNumber, formatRelative } from "../../lib/format.ts";
import { EmptyState, ErrorBox, Skeleton, Spinner } from "../../ui/feedback.tsx";
import { Card, PageHeader, Tabs } from "../../ui/layout.tsx";
import { ScrollRegion } from "../../ui/scroll.tsx";
import { type Column, DataTable } from "../../ui/table.tsx";
import { useAuth } from "../auth/auth.context.tsx";
import { useProject } from "../projects/project.context.tsx";
import {
  browseLevel,
  type ConnectionAbilities,
  connectionAbilities,
  datasetNameForObject,
  datasetNameForTable,
  describeStore,
  describeWhere,
  editForm,
  isObjectStoreType,
  isServerType,
  type ObjectStoreType,
  type PostgresForm,
  postgresRequest,
  SERVER_TYPES,
  type ServerType,
  type StoreForm,
  storeRequest,
  storeSecretField,
  updateRequest,
} from "./connections.helpers.ts";
import "./connections.css";

/** Connections: the project's outside data sources; editors browse, preview and import, owners manage them. */
export function ConnectionsPage() {
  const { user } = useAuth();
  const { project } = useProject();
  const projects = useResource((api) => api.listProjects(), "projects");
  const connections = useResource((api) => api.listConnections(), "connections");
  const [opened, setOpened] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const api = useApi();
  const now = useNow(false);
  const can = connectionAbilities(projects.data?.find((p) => p.name === project)?.role, user?.role === "admin");
  const current = connections.data?.find((c) => c.name === opened);
  const edited = connections.data?.find((c) => c.name === editing);

  async function remove(name: string) {
    if (!window.confirm(`Delete the connection ${name} and its stored credentials? Datasets imported from it stay.`)) return;
    setError(null);
    try {
      await api.deleteConnection(name);
      if (opened === name) setOpened(null);
      if (editing === name) setEditing(null);
      connections.reload();
    } catch (err) {
      setError(err);
    }
  }

  const columns: Column<ConnectionSummary>[] = [
    {
      key: "name",
      header: "Name",
      sortValue: (c) => c.name,
      render: (c) =>
        can.use ? (
          <button type="button" className="link-button strong-link" onClick={() => setOpened(c.name)}>
            {c.name}
          </button>
        ) : (
          <strong>{c.name}</strong>
        ),
    },
    { key: "type", header: "Type", sortValue: (c) => c.type, render: (c) => c.type },
    {
      key: "where",
      header: "Where",
      render: (c) => <code>{isObjectStoreType(c.type) ? describeStore(c.type, c.settings) : describeWhere(c.settings)}</code>,
    },
    { key: "secrets", header: "Secrets set", render: (c) => (c.secretsSet.length ? c.secretsSet.join(", ") : "none") },
    { key: "updated", header: "Updated", firstDir: "desc", sortValue: (c) => c.updatedAt, render: (c) => formatRelative(c.updatedAt, now) },
    {
      key: "actions",
      header: <span className="sr-only">Actions</span>,
      render: (c) => (
        <span className="row-actions">
          {can.use ? (
            <button type="button" className="btn btn-small" onClick={() => setOpened(c.name)}>
              Open
            </button>
          ) : null}
          {can.own && isServerType(c.type) ? (
            <button
              type="button"
              className="btn btn-small"
              onClick={() => {
                setCreating(false);
                setEditing(c.name);
              }}
            >
              Edit
            </button>
          ) : null}
          {can.own ? (
            <button type="button" className="btn btn-small btn-danger" onClick={() => void remove(c.name)}>
              Delete
            </button>
          ) : null}
        </span>
      ),
    },
  ];

  return (
    <div className="page">
      <PageHeader
        title="Connections"
        subtitle="Outside databases and object stores this project imports from. Credentials are stored sealed and never shown again."
        actions={
          can.own && !creating ? (
            <button
              type="button"
              className="btn btn-primary"
              onClick={() => {
                setEditing(null);
                setCreating(true);
              }}
            >
              New connection
            </button>
          ) : null
        }
      />
      {creating ? (
        <NewConnection
          onCancel={() => setCreating(false)}
          onCreated={(c) => {
            setCreating(false);
            connections.reload();
            setOpened(c.name);
          }}
        />
      ) : null}
      {edited && can.own ? (
        <EditConnection
          key={edited.name}
          connection={edited}
          onCancel={() => setEditing(null)}
          onSaved={(c) => {
            setEditing(null);
            connections.reload();
            setOpened(c.name);
          }}
        />
      ) : null}
      <Card title="Connections">
        {connections.error ? <ErrorBox error={connections.error} onRetry={connections.reload} /> : null}
        {error ? <ErrorBox error={error} title="Could not delete the connection" /> : null}
        {connections.loading && !connections.data ? (
          <Skeleton lines={3} />
        ) : connections.data?.length === 0 ? (
          <EmptyState title="No connections yet">
            {can.own ? "Add one with New connection: caretflow then imports its tables as datasets." : "A project owner adds them."}
          </EmptyState>
        ) : (
          <DataTable
            rows={connections.data ?? []}
            columns={columns}
            rowKey={(c) => c.name}
            initialSort={{ key: "name", dir: "asc" }}
            caption="Connections"
            testId="connections-table"
          />
        )}
      </Card>
      {current && can.use ? <ConnectionPanel key={current.name} connection={current} can={can} onChanged={connections.reload} /> : null}
    </div>
  );
}

const emptyForm: PostgresForm = { name: "", hosts: "", database: "", user: "", password: "", ssl: false };
const emptyStore: StoreForm = {
  name: "",
  type: "s3",
  endpoint: "",
  bucket: "",
  region: "",
  accessKeyId: "",
  pathStyle: false,
  account: "",
  projectId: "",
  secret: "",
  sas: false,
};

/** The settings and secret of an S3, Azure Blob or GCS connection. */
function StoreFields({ type, form, set }: { type: ObjectStoreType; form: StoreForm; set: (patch: Partial<StoreForm>) => void }) {
  const bucketWord = type === "azure" ? "Container" : "Bucket";
  return (
    <>
      <div className="form-row">
        {type === "s3" ? (
          <>
            <label className="field">
              <span className="field-label">Region</span>
              <input name="region" value={form.region} onChange={(e) => set({ region: e.target.value })} placeholder="us-east-1" />
            </label>
            <label className="field">
              <span className="field-label">Access key id</span>
              <input
                name="accessKeyId"
                value={form.accessKeyId}
                onChange={(e) => set({ accessKeyId: e.target.value })}
                required
                autoComplete="off"
              />
            </label>
          </>
        ) : type === "azure" ? (
          <label className="field">
            <span className="field-label">Storage account</span>
            <input name="account" value={form.account} onChange={(e) => set({ account: e.target.value })} required autoComplete="off" />
          </label>
        ) : (
          <label className="field">
            <span className="field-label">Project id</span>
            <input name="projectId" value={form.projectId} onChange={(e) => set({ projectId: e.target.value })} required />
          </label>
        )}
        <label className="field">
          <span className="field-label">{bucketWord} (optional)</span>
          <input name="bucket" value={form.bucket} onChange={(e) => set({ bucket: e.target.value })} />
        </label>
      </div>
      <label className="field">
        <span className="field-label">Endpoint (optional)</span>
        <input
          name="endpoint"
          value={form.endpoint}
          onChange={(e) => set({ endpoint: e.target.value })}
          placeholder={
            type === "s3"
              ? "https://s3.example.com"
              : type === "azure"
                ? "https://account.blob.core.windows.net"
                : "https://storage.googleapis.com"
          }
        />
        <span className="field-help">
          For S3-compatible stores, emulators or sovereign clouds. Without a {bucketWord.toLowerCase()}, object paths start with it.
        </span>
      </label>
      {type === "s3" ? (
        <label className="field checkbox">
          <input type="checkbox" name="pathStyle" checked={form.pathStyle} onChange={(e) => set({ pathStyle: e.target.checked })} />
          <span>Path-style addressing (most S3-compatible stores)</span>
        </label>
      ) : null}
      {type === "gcs" ? (
        <label className="field">
          <span className="field-label">Service-account JSON key</span>
          <textarea name="secret" rows={3} value={form.secret} onChange={(e) => set({ secret: e.target.value })} autoComplete="off" />
        </label>
      ) : (
        <label className="field">
          <span className="field-label">{type === "s3" ? "Secret access key" : form.sas ? "SAS token" : "Account key"}</span>
          <input
            name="secret"
            type="password"
            autoComplete="new-password"
            value={form.secret}
            onChange={(e) => set({ secret: e.target.value })}
          />
        </label>
      )}
      {type === "azure" ? (
        <label className="field checkbox">
          <input type="checkbox" name="sas" checked={form.sas} onChange={(e) => set({ sas: e.target.checked })} />
          <span>The secret is a SAS token</span>
        </label>
      ) : null}
    </>
  );
}

function NewConnection({ onCreated, onCancel }: { onCreated: (c: ConnectionSummary) => void; onCancel: () => void }) {
  const api = useApi();
  const [form, setForm] = useState(emptyForm);
  const [type, setType] = useState<ServerType | ObjectStoreType>("postgres");
  const [store, setStore] = useState<StoreForm>(emptyStore);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const set = (patch: Partial<PostgresForm>) => setForm((f) => ({ ...f, ...patch }));
  const setS = (patch: Partial<StoreForm>) => setStore((f) => ({ ...f, ...patch }));

  async function submit(e: FormEvent) {
    e.preventDefault();
    const made = isServerType(type) ? postgresRequest({ ...form, type }) : storeRequest({ ...store, name: form.name, type });
    if ("error" in made) return setError(new Error(made.error));
    setBusy(true);
    setError(null);
    try {
      const created = await api.createConnection(made.request);
      setForm(emptyForm); // the password leaves the page's state once saved
      setStore(emptyStore);
      onCreated(created);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card title="New connection">
      <form className="stack-form connection-form" onSubmit={(e) => void submit(e)} data-testid="new-connection">
        <div className="form-row">
          <label className="field">
            <span className="field-label">Name</span>
            <input name="connectionName" value={form.name} onChange={(e) => set({ name: e.target.value })} required placeholder="crm" />
          </label>
          <label className="field field-narrow">
            <span className="field-label">Type</span>
            <select
              name="connectionType"
              value={type}
              onChange={(e) => {
                setType(e.target.value as typeof type);
                setError(null);
              }}
            >
              {Object.entries(SERVER_TYPES).map(([key, t]) => (
                <option key={key} value={key}>
                  {t.label}
                </option>
              ))}
              <option value="s3">Amazon S3 / S3-compatible</option>
              <option value="azure">Azure Blob Storage</option>
              <option value="gcs">Google Cloud Storage</option>
            </select>
          </label>
        </div>
        {isServerType(type) ? (
          <ServerFields form={{ ...form, type }} set={set} passwordStored={false} />
        ) : (
          <StoreFields type={type} form={store} set={setS} />
        )}
        {error ? <ErrorBox error={error} title="Could not create the connection" /> : null}
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? <Spinner label="Saving" /> : null} Save connection
          </button>
          <button type="button" className="btn" onClick={onCancel}>
            Cancel
          </button>
        </div>
      </form>
    </Card>
  );
}

/** Hosts, database, user, password and SSL of a database server connection (new or edited). */
function ServerFields({
  form,
  set,
  passwordStored,
}: {
  form: PostgresForm;
  set: (patch: Partial<PostgresForm>) => void;
  passwordStored: boolean;
}) {
  const port = SERVER_TYPES[form.type ?? "postgres"].port;
  return (
    <>
      <label className="field">
        <span className="field-label">Hosts</span>
        <textarea
          name="hosts"
          rows={2}
          value={form.hosts}
          onChange={(e) => set({ hosts: e.target.value })}
          required
          placeholder={`db.example.com:${port}`}
        />
        <span className="field-help">One host or host:port a line, tried in order (the port defaults to {port}).</span>
      </label>
      <div className="form-row">
        <label className="field">
          <span className="field-label">Database</span>
          <input name="database" value={form.database} onChange={(e) => set({ database: e.target.value })} required />
        </label>
        <label className="field">
          <span className="field-label">User</span>
          <input name="user" value={form.user} onChange={(e) => set({ user: e.target.value })} required autoComplete="off" />
        </label>
        <label className="field">
          <span className="field-label">Password</span>
          <input
            name="password"
            type="password"
            autoComplete="new-password"
            value={form.password}
            onChange={(e) => set({ password: e.target.value })}
            placeholder={passwordStored ? "a password is stored (not shown)" : ""}
          />
          {passwordStored ? <span className="field-help">Leave empty to keep the stored password.</span> : null}
        </label>
      </div>
      <label className="field checkbox">
        <input type="checkbox" name="ssl" checked={form.ssl} onChange={(e) => set({ ssl: e.target.checked })} />
        <span>Use SSL</span>
      </label>
    </>
  );
}

/** An owner edits a server connection's settings and may replace its password (write-only: never shown). */
function EditConnection({
  connection,
  onSaved,
  onCancel,
}: {
  connection: ConnectionSummary;
  onSaved: (c: ConnectionSummary) => void;
  onCancel: () => void;
}) {
  const api = useApi();
  const [form, setForm] = useState(() => editForm(connection));
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const set = (patch: Partial<PostgresForm>) => setForm((f) => ({ ...f, ...patch }));
  const stored = connection.secretsSet.includes("password");

  async function submit(e: FormEvent) {
    e.preventDefault();
    const made = updateRequest(form);
    if ("error" in made) return setError(new Error(made.error));
    setBusy(true);
    setError(null);
    try {
      const saved = await api.updateConnection(connection.name, made.request);
      setForm((f) => ({ ...f, password: "" })); // the password leaves the page's state once saved
      onSaved(saved);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card title={`Edit connection ${connection.name}`}>
      <form className="stack-form connection-form" onSubmit={(e) => void submit(e)} data-testid="edit-connection">
        <p className="muted">
          {SERVER_TYPES[form.type ?? "postgres"].label} · {stored ? "a password is stored" : "no password stored"}
        </p>
        <ServerFields form={form} set={set} passwordStored={stored} />
        {error ? <ErrorBox error={error} title="Could not save the connection" /> : null}
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? <Spinner label="Saving" /> : null} Save changes
          </button>
          <button type="button" className="btn" onClick={onCancel}>
            Cancel
          </button>
        </div>
      </form>
    </Card>
  );
}

type PanelTab = "browse" | "query";

/** One connection opened: test it, replace its password (owners), browse or query it, preview and import. */
function ConnectionPanel({
  connection,
  can,
  onChanged,
}: {
  connection: ConnectionSummary;
  can: ConnectionAbilities;
  onChanged: () => void;
}) {
  const [tab, setTab] = useState<PanelTab>("browse");
  const objects = isObjectStoreType(connection.type);
  return (
    <>
      <Card title={`Connection ${connection.name}`}>
        <TestConnection name={connection.name} />
        {can.own && !objects ? <ReplacePassword connection={connection} onChanged={onChanged} /> : null}
        {can.own && isObjectStoreType(connection.type) ? (
          <ReplaceStoreSecret connection={connection} type={connection.type} onChanged={onChanged} />
        ) : null}
      </Card>
      <Card>
        <Tabs
          tabs={[
            { key: "browse", label: "Browse" },
            { key: "query", label: objects ? "Key or glob" : "Query" },
          ]}
          active={tab}
          onChange={setTab}
        />
        {/* A saved change (another database, new credentials) starts browsing afresh. */}
        {tab === "browse" ? (
          <Browse key={connection.updatedAt} name={connection.name} objects={objects} />
        ) : objects ? (
          <ObjectSource key={connection.updatedAt} name={connection.name} />
        ) : (
          <QuerySource key={connection.updatedAt} name={connection.name} />
        )}
      </Card>
    </>
  );
}

function TestConnection({ name }: { name: string }) {
  const api = useApi();
  const [result, setResult] = useState<ConnectionTestResult | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  async function test() {
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      setResult(await api.testConnection(name));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  return (
    <div className="connection-section">
      <div className="connection-actions">
        <button type="button" className="btn" onClick={() => void test()} disabled={busy}>
          {busy ? <Spinner label="Testing" /> : null} Test connection
        </button>
        {result ? (
          <span className="notice" data-testid="connection-test-ok">
            Reached {result.host} — {result.serverVersion}
          </span>
        ) : null}
      </div>
      {error ? <ErrorBox error={error} title="The connection failed" /> : null}
    </div>
  );
}

function ReplacePassword({ connection, onChanged }: { connection: ConnectionSummary; onChanged: () => void }) {
  const api = useApi();
  const [password, setPassword] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  const stored = connection.secretsSet.includes("password");
  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    setSaved(false);
    try {
      await api.updateConnection(connection.name, { secrets: { password } });
      setPassword("");
      setSaved(true);
      onChanged();
    } catch (err) {
      setError(err);
    }
  }
  return (
    <form className="inline-form" onSubmit={(e) => void submit(e)} data-testid="replace-password">
      <label className="field">
        <span className="field-label">{stored ? "Replace the password" : "Set a password"}</span>
        <input
          name="newPassword"
          type="password"
          autoComplete="new-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          placeholder={stored ? "a password is stored (not shown)" : "no password stored"}
          required
        />
      </label>
      <button type="submit" className="btn">
        Save password
      </button>
      {saved ? <span className="notice">Password saved.</span> : null}
      {error ? <ErrorBox error={error} title="Could not change the password" /> : null}
    </form>
  );
}

/** Schemas, then a schema's tables, then a table's columns; a table opens its preview and import. */
function Browse({ name, objects = false }: { name: string; objects?: boolean }) {
  const [trail, setTrail] = useState<DiscoverNode[]>([]);
  const path = trail.at(-1)?.path;
  const entries = useResource((api) => api.browseConnection(name, path), `browse:${name}:${path ?? ""}`);
  const level = browseLevel(trail);
  const table = level === "columns" ? trail.at(-1) : undefined;
  const [object, setObject] = useState<string | null>(null);
  const go = (next: DiscoverNode[]) => {
    setTrail(next);
    setObject(null);
  };

  return (
    <div className="connection-section" data-testid="browse">
      <nav className="browse-crumbs" aria-label="Browse path">
        <button type="button" className="link-button" onClick={() => go([])}>
          {objects ? "Buckets" : "Schemas"}
        </button>
        {trail.map((n, i) => (
          <button key={n.path} type="button" className="link-button" onClick={() => go(trail.slice(0, i + 1))}>
            {n.name}
          </button>
        ))}
      </nav>
      {entries.error ? <ErrorBox error={entries.error} onRetry={entries.reload} /> : null}
      {!entries.data ? (
        entries.error ? null : (
          <Skeleton lines={3} />
        )
      ) : entries.data.length === 0 ? (
        <p className="muted">Nothing here.</p>
      ) : (
        <ul className="browse-list" data-testid="browse-list">
          {entries.data.map((n) => (
            <li key={n.path}>
              {n.kind === "column" ? (
                <span>
                  {n.name} <span className="muted small">{n.type}</span>
                </span>
              ) : n.kind === "object" ? (
                <button type="button" className="link-button" onClick={() => setObject(n.path)}>
                  {n.name}
                </button>
              ) : (
                <button type="button" className="link-button" onClick={() => go([...trail, n])}>
                  {n.name}
                </button>
              )}
              {n.kind === "table" || n.kind === "view" ? (
                <span className="muted small">
                  {" "}
                  {n.kind}
                  {n.rowEstimate !== undefined ? `, about ${formatNumber(n.rowEstimate)} rows` : ""}
                </span>
              ) : null}
              {n.kind === "object" ? <span className="muted small"> {n.type}</span> : null}
            </li>
          ))}
        </ul>
      )}
      {table && entries.data ? (
        <SourceActions
          key={table.path}
          connection={name}
          source={{ table: table.path }}
          defaultName={datasetNameForTable(table.path)}
          columns={entries.data.filter((n) => n.kind === "column").map((n) => n.name)}
        />
      ) : null}
      {object && level === "objects" ? (
        <SourceActions key={object} connection={name} source={{ object }} defaultName={datasetNameForObject(object)} />
      ) : null}
    </div>
  );
}

/** An object key or a glob typed in (`sales/2024-*.csv`, `**` across folders), previewed and imported as one version. */
function ObjectSource({ name }: { name: string }) {
  const [text, setText] = useState("");
  const [object, setObject] = useState<string | null>(null);
  return (
    <div className="connection-section" data-testid="object-source">
      <label className="field">
        <span className="field-label">Object key or glob</span>
        <input
          name="object"
          value={text}
          onChange={(e) => {
            setText(e.target.value);
            setObject(null);
          }}
          placeholder="sales/2024-*.csv"
        />
        <span className="field-help">
          * and ? match within a folder, ** across folders. Every match must be CSV, TSV, Parquet, JSON or NDJSON, all of one format; they
          become one dataset version, columns matched by name.
        </span>
      </label>
      {object === null ? (
        <div className="connection-actions">
          <button type="button" className="btn" disabled={!text.trim()} onClick={() => setObject(text.trim())}>
            Use this key
          </button>
        </div>
      ) : (
        <SourceActions key={object} connection={name} source={{ object }} defaultName={datasetNameForObject(object)} />
      )}
    </div>
  );
}

/** Replace an object store's secret (owners): the secret access key, account key or SAS token, or service-account key. */
function ReplaceStoreSecret({
  connection,
  type,
  onChanged,
}: {
  connection: ConnectionSummary;
  type: ObjectStoreType;
  onChanged: () => void;
}) {
  const api = useApi();
  const [secret, setSecret] = useState("");
  const [sas, setSas] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  const field = storeSecretField(type, sas);
  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    setSaved(false);
    try {
      // An Azure connection holds one of its two secrets: setting one clears the other.
      const other = type === "azure" ? { [storeSecretField(type, !sas)]: "" } : {};
      await api.updateConnection(connection.name, { secrets: { ...other, [field]: type === "gcs" ? secret.trim() : secret } });
      setSecret("");
      setSaved(true);
      onChanged();
    } catch (err) {
      setError(err);
    }
  }
  return (
    <form className="inline-form" onSubmit={(e) => void submit(e)} data-testid="replace-secret">
      <label className="field">
        <span className="field-label">Replace the {field}</span>
        <input
          name="newSecret"
          type="password"
          autoComplete="new-password"
          value={secret}
          onChange={(e) => setSecret(e.target.value)}
          placeholder={connection.secretsSet.length ? `stored: ${connection.secretsSet.join(", ")} (not shown)` : "no secret stored"}
          required
        />
      </label>
      {type === "azure" ? (
        <label className="field checkbox">
          <input type="checkbox" checked={sas} onChange={(e) => setSas(e.target.checked)} />
          <span>SAS token</span>
        </label>
      ) : null}
      <button type="submit" className="btn">
        Save secret
      </button>
      {saved ? <span className="notice">Secret saved.</span> : null}
      {error ? <ErrorBox error={error} title="Could not change the secret" /> : null}
    </form>
  );
}

function QuerySource({ name }: { name: string }) {
  const [text, setText] = useState("");
  const [query, setQuery] = useState<string | null>(null);
  return (
    <div className="connection-section" data-testid="query-source">
      <label className="field">
        <span className="field-label">Query</span>
        <textarea
          name="query"
          className="connection-query"
          rows={5}
          value={text}
          onChange={(e) => {
            setText(e.target.value);
            setQuery(null);
          }}
          placeholder="SELECT * FROM public.customers WHERE joined > '2026-01-01'"
        />
        <span className="field-help">One read-only statement (SELECT or WITH … SELECT).</span>
      </label>
      {query === null ? (
        <div className="connection-actions">
          <button type="button" className="btn" disabled={!text.trim()} onClick={() => setQuery(text.trim())}>
            Use this query
          </button>
        </div>
      ) : (
        <SourceActions key={query} connection={name} source={{ query }} defaultName="" />
      )}
    </div>
  );
}

/** Preview and import of one table or query. */
function SourceActions({
  connection,
  source,
  defaultName,
  columns,
}: {
  connection: string;
  source: { table: string } | { query: string } | { object: string };
  defaultName: string;
  columns?: string[];
}) {
  const api = useApi();
  const [preview, setPreview] = useState<ConnectionPreview | null>(null);
  const [previewError, setPreviewError] = useState<unknown>(null);
  const [busy, setBusy] = useState<"preview" | "import" | null>(null);
  const [dataset, setDataset] = useState(defaultName);
  const [incremental, setIncremental] = useState("");
  const [imported, setImported] = useState<ImportResult | null>(null);
  const [importError, setImportError] = useState<unknown>(null);
  const choices = columns ?? preview?.columns.map((c) => c.name) ?? [];

  async function loadPreview() {
    setBusy("preview");
    setPreviewError(null);
    try {
      setPreview(await api.previewConnection(connection, { ...source, limit: 20 }));
    } catch (err) {
      setPreviewError(err);
    } finally {
      setBusy(null);
    }
  }
  async function runImport(e: FormEvent) {
    e.preventDefault();
    setBusy("import");
    setImportError(null);
    setImported(null);
    try {
      setImported(
        await api.importConnection(connection, {
          ...source,
          ...(dataset.trim() ? { name: dataset.trim() } : {}),
          ...(incremental ? { incremental } : {}),
        }),
      );
    } catch (err) {
      setImportError(err);
    } finally {
      setBusy(null);
    }
  }

  return (
    <div className="connection-section" data-testid="source-actions">
      <div className="connection-actions">
        <button type="button" className="btn" onClick={() => void loadPreview()} disabled={busy !== null}>
          {busy === "preview" ? <Spinner label="Previewing" /> : null} Preview
        </button>
      </div>
      {previewError ? <ErrorBox error={previewError} title="Could not preview" /> : null}
      {preview ? <PreviewRows preview={preview} /> : null}
      <form className="inline-form" onSubmit={(e) => void runImport(e)} data-testid="import-form">
        <label className="field">
          <span className="field-label">Dataset name</span>
          <input name="datasetName" value={dataset} onChange={(e) => setDataset(e.target.value)} required={!("table" in source)} />
        </label>
        {"object" in source ? null : (
          <label className="field">
            <span className="field-label">Incremental column</span>
            <select name="incremental" value={incremental} onChange={(e) => setIncremental(e.target.value)}>
              <option value="">none (import every row)</option>
              {choices.map((c) => (
                <option key={c} value={c}>
                  {c}
                </option>
              ))}
            </select>
          </label>
        )}
        <button type="submit" className="btn btn-primary" disabled={busy !== null}>
          {busy === "import" ? <Spinner label="Importing" /> : null} Import
        </button>
      </form>
      {importError ? <ErrorBox error={importError} title="Could not import" /> : null}
      {imported ? (
        <p className="notice" data-testid="import-done">
          {imported.created ? "Imported" : "Already imported, same content:"}{" "}
          <Link to={`/data/${encodeURIComponent(imported.version.dataset)}?v=${imported.version.version}`} className="strong-link">
            {imported.version.dataset} v{imported.version.version}
          </Link>{" "}
          ({formatNumber(imported.version.rowCount)} rows
          {imported.version.source.objectCount !== undefined
            ? `, from ${formatNumber(imported.version.source.objectCount)} object${imported.version.source.objectCount === 1 ? "" : "s"}`
            : ""}
          )
        </p>
      ) : null}
    </div>
  );
}

function PreviewRows({ preview }: { preview: ConnectionPreview }) {
  return (
    <ScrollRegion className="table-wrap" label="Preview rows">
      <table className="table table-compact" data-testid="connection-preview">
        <caption className="sr-only">Preview rows</caption>
        <thead>
          <tr>
            {preview.columns.map((c) => (
              <th key={c.name} title={c.duckdbType}>
                {c.name}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {preview.rows.map((r, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: preview rows have no identity but their place
            <tr key={i}>
              {r.map((cell, j) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: cells follow the columns
                <td key={j}>{formatCell(cell)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </ScrollRegion>
  );
}
