import { type CreatedToken, DEFAULT_TOKEN_DAYS } from "@caretflow/contracts";
import { type FormEvent, useState } from "react";
import { useApi, useResource } from "../../api/context.tsx";
import { formatRelative } from "../../lib/format.ts";
import { ErrorBox, Skeleton, Spinner } from "../../ui/feedback.tsx";
import { Badge, Card } from "../../ui/layout.tsx";
import { DataTable } from "../../ui/table.tsx";

/** Your API tokens: a list with scope and dates, a form for a new one (its secret shown once), and revoke buttons. */
export function ApiTokensCard() {
  const api = useApi();
  const tokens = useResource((a) => a.listTokens(), "api-tokens");
  const projects = useResource((a) => a.listProjects(), "projects");
  const [shown, setShown] = useState<CreatedToken | null>(null);
  const [error, setError] = useState<unknown>(null);
  const now = Date.now();

  async function revoke(id: string) {
    setError(null);
    try {
      await api.revokeToken(id);
      if (shown?.id === id) setShown(null);
      tokens.reload();
    } catch (err) {
      setError(err);
    }
  }

  return (
    <Card title="API tokens">
      <p className="muted small">
        For scripts and the CLI: send <code>Authorization: Bearer &lt;token&gt;</code> or set <code>CARETFLOW_TOKEN</code>. A token never
        does more than you may; a read-only one makes GET requests only, a project one touches only that project.
      </p>
      <CreateToken
        projects={projects.data?.map((p) => p.name) ?? []}
        onCreate={async (req) => {
          setError(null);
          setShown(null);
          try {
            setShown(await api.createToken(req));
            tokens.reload();
          } catch (err) {
            setError(err);
          }
        }}
      />
      {shown ? (
        <div className="notice password-once" role="status" data-testid="new-token">
          <p>
            Token <strong>{shown.name}</strong> is shown once: copy it now (select it and press Ctrl+C), it cannot be shown again.
          </p>
          <code data-testid="new-token-value">{shown.token}</code>
        </div>
      ) : null}
      {error ? <ErrorBox error={error} title="Could not change the tokens" /> : null}
      {tokens.error ? <ErrorBox error={tokens.error} onRetry={tokens.reload} /> : null}
      {tokens.data ? (
        tokens.data.length === 0 ? (
          <p className="muted">No API tokens yet.</p>
        ) : (
          <DataTable
            rows={tokens.data}
            rowKey={(t) => t.id}
            caption="API tokens"
            testId="tokens-table"
            columns={[
              { key: "name", header: "Name", sortValue: (t) => t.name, render: (t) => t.name },
              { key: "project", header: "Project", render: (t) => t.project ?? <span className="muted">all yours</span> },
              {
                key: "access",
                header: "Access",
                render: (t) => (t.access === "read" ? <Badge tone="good">read</Badge> : <Badge tone="accent">write</Badge>),
              },
              { key: "created", header: "Created", sortValue: (t) => t.createdAt, render: (t) => formatRelative(t.createdAt, now) },
              {
                key: "used",
                header: "Last used",
                sortValue: (t) => t.lastUsedAt ?? "",
                render: (t) => (t.lastUsedAt ? formatRelative(t.lastUsedAt, now) : <span className="muted">never</span>),
              },
              {
                key: "expires",
                header: "Expires",
                sortValue: (t) => t.expiresAt ?? "9999",
                render: (t) =>
                  t.expiresAt === null ? (
                    "never"
                  ) : Date.parse(t.expiresAt) <= now ? (
                    <Badge tone="bad">expired</Badge>
                  ) : (
                    <span title={t.expiresAt}>{t.expiresAt.slice(0, 10)}</span>
                  ),
              },
              {
                key: "actions",
                header: "",
                render: (t) => (
                  <button type="button" className="btn btn-small" aria-label={`Revoke ${t.name}`} onClick={() => void revoke(t.id)}>
                    Revoke
                  </button>
                ),
              },
            ]}
          />
        )
      ) : (
        <Skeleton lines={2} />
      )}
    </Card>
  );
}

function CreateToken({
  projects,
  onCreate,
}: {
  projects: string[];
  onCreate: (req: { name: string; project?: string; access: "read" | "write"; expiresInDays: number }) => Promise<void>;
}) {
  const [name, setName] = useState("");
  const [project, setProject] = useState("");
  const [readOnly, setReadOnly] = useState(false);
  const [days, setDays] = useState(String(DEFAULT_TOKEN_DAYS));
  const [busy, setBusy] = useState(false);
  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    try {
      await onCreate({
        name: name.trim(),
        ...(project ? { project } : {}),
        access: readOnly ? "read" : "write",
        expiresInDays: Number(days),
      });
      setName("");
    } finally {
      setBusy(false);
    }
  }
  return (
    <form className="inline-form" onSubmit={(e) => void submit(e)} data-testid="create-token">
      <label className="field">
        <span className="field-label">Name</span>
        <input name="token-name" value={name} maxLength={100} onChange={(e) => setName(e.target.value)} required />
      </label>
      <label className="field">
        <span className="field-label">Project</span>
        <select name="token-project" value={project} onChange={(e) => setProject(e.target.value)}>
          <option value="">All my projects</option>
          {projects.map((p) => (
            <option key={p} value={p}>
              {p}
            </option>
          ))}
        </select>
      </label>
      <label className="field field-narrow">
        <span className="field-label">Expires in (days)</span>
        <input name="token-days" type="number" min={1} max={365} value={days} onChange={(e) => setDays(e.target.value)} required />
      </label>
      <label className="field field-narrow checkbox">
        <input type="checkbox" name="token-read-only" checked={readOnly} onChange={(e) => setReadOnly(e.target.checked)} />
        <span>Read-only</span>
      </label>
      <button type="submit" className="btn btn-primary" disabled={busy}>
        {busy ? <Spinner label="Creating" /> : null} Create token
      </button>
    </form>
  );
}
