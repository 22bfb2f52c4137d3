import type { CreatedUser } from "@caretflow/contracts";
import { type FormEvent, useState } from "react";
import { useApi, useResource } from "../../api/context.tsx";
import { formatRelative } from "../../lib/format.ts";
import { EmptyState, ErrorBox, Skeleton, Spinner } from "../../ui/feedback.tsx";
import { Badge, Card, PageHeader } from "../../ui/layout.tsx";
import { DataTable } from "../../ui/table.tsx";
import { useAuth } from "../auth/auth.context.tsx";
import { SsoCard } from "./SsoCard.tsx";

/** Site admins: local accounts, new ones with a generated password shown once, disable and reset. */
export function UsersPage() {
  const api = useApi();
  const { user } = useAuth();
  const users = useResource((a) => a.listUsers(), "users");
  const [shown, setShown] = useState<CreatedUser | null>(null);
  const [error, setError] = useState<unknown>(null);

  if (user?.role !== "admin") {
    return (
      <div className="page">
        <EmptyState title="Site admins only">Users are managed by a site admin.</EmptyState>
      </div>
    );
  }

  async function act(fn: () => Promise<CreatedUser | unknown>) {
    setError(null);
    setShown(null);
    try {
      const r = await fn();
      if (r && typeof r === "object" && "password" in r && (r as CreatedUser).password) setShown(r as CreatedUser);
      users.reload();
    } catch (err) {
      setError(err);
    }
  }

  return (
    <div className="page">
      <PageHeader title="Users" subtitle="Local accounts. Add people to projects from the Projects page." />
      <CreateUser onCreate={(name, admin) => act(() => api.createUser(name, admin))} />
      {shown ? (
        <Card title={`Password of ${shown.username}`} className="password-once">
          <p>
            Shown once: pass it on safely. <code data-testid="new-password">{shown.password}</code>
          </p>
        </Card>
      ) : null}
      {error ? <ErrorBox error={error} title="Could not change the user" /> : null}
      {users.error ? <ErrorBox error={users.error} onRetry={users.reload} /> : null}
      {users.data ? (
        <Card title="Users">
          <DataTable
            rows={users.data}
            rowKey={(u) => u.username}
            caption="Users"
            testId="users-table"
            columns={[
              { key: "name", header: "Username", sortValue: (u) => u.username, render: (u) => u.username },
              { key: "role", header: "Site role", render: (u) => (u.role === "admin" ? <Badge tone="accent">admin</Badge> : "user") },
              {
                key: "status",
                header: "Status",
                render: (u) => (
                  <span className="row-actions">
                    {u.disabled ? <Badge tone="bad">disabled</Badge> : <Badge tone="good">active</Badge>}
                    {u.sso ? <Badge tone="info">SSO</Badge> : null}
                  </span>
                ),
              },
              { key: "created", header: "Created", sortValue: (u) => u.createdAt, render: (u) => formatRelative(u.createdAt, Date.now()) },
              {
                key: "actions",
                header: "",
                render: (u) =>
                  u.id === user.id ? (
                    <span className="muted small">you</span>
                  ) : (
                    <span className="row-actions">
                      <button
                        type="button"
                        className="btn btn-small"
                        onClick={() => void act(() => api.setUserDisabled(u.username, !u.disabled))}
                      >
                        {u.disabled ? "Enable" : "Disable"}
                      </button>
                      <button type="button" className="btn btn-small" onClick={() => void act(() => api.resetPassword(u.username))}>
                        Reset password
                      </button>
                    </span>
                  ),
              },
            ]}
          />
        </Card>
      ) : (
        <Skeleton lines={4} />
      )}
      <SsoCard />
    </div>
  );
}

function CreateUser({ onCreate }: { onCreate: (username: string, admin: boolean) => Promise<void> }) {
  const [name, setName] = useState("");
  const [admin, setAdmin] = useState(false);
  const [busy, setBusy] = useState(false);
  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    try {
      await onCreate(name.trim(), admin);
      setName("");
      setAdmin(false);
    } finally {
      setBusy(false);
    }
  }
  return (
    <Card title="New user">
      <form className="inline-form" onSubmit={(e) => void submit(e)} data-testid="create-user">
        <label className="field">
          <span className="field-label">Username</span>
          <input name="username" value={name} onChange={(e) => setName(e.target.value)} required />
        </label>
        <label className="field field-narrow checkbox">
          <input type="checkbox" name="admin" checked={admin} onChange={(e) => setAdmin(e.target.checked)} />
          <span>Site admin</span>
        </label>
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? <Spinner label="Creating" /> : null} Create
        </button>
      </form>
    </Card>
  );
}
