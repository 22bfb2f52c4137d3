import { PROJECT_ROLES, type ProjectInfo, type ProjectMember, type ProjectRole } from "@caretflow/contracts";
import { type FormEvent, useState } from "react";
import { Link, useParams } from "react-router-dom";
import { useApi, useResource } from "../../api/context.tsx";
import { formatRelative } from "../../lib/format.ts";
import { ErrorBox, Skeleton, Spinner } from "../../ui/feedback.tsx";
import { Card, PageHeader } from "../../ui/layout.tsx";
import { DataTable } from "../../ui/table.tsx";
import { useAuth } from "../auth/auth.context.tsx";
import { useProject } from "./project.context.tsx";
import { canManageMembers, ROLE_HELP } from "./projects.helpers.ts";

/** Projects: the ones you belong to, a new one, and the members of the one opened. */
export function ProjectsPage() {
  const { name } = useParams();
  const { project: current, setProject } = useProject();
  const { user } = useAuth();
  const projects = useResource((api) => api.listProjects(), "projects");
  const opened = name ?? current;
  const info = projects.data?.find((p) => p.name === opened);

  return (
    <div className="page">
      <PageHeader
        title="Projects"
        subtitle="A project groups datasets, experiments, jobs and models. Viewers read, editors import and train, owners also manage members and promote models."
      />
      {projects.error ? <ErrorBox error={projects.error} onRetry={projects.reload} /> : null}
      <CreateProject
        onCreated={(p) => {
          projects.reload();
          setProject(p.name);
        }}
      />
      {projects.data ? (
        <Card title="Your projects">
          <DataTable
            rows={projects.data}
            rowKey={(p) => p.name}
            caption="Projects"
            testId="projects-table"
            columns={[
              {
                key: "name",
                header: "Project",
                sortValue: (p) => p.name,
                render: (p) => <Link to={`/projects/${encodeURIComponent(p.name)}`}>{p.name}</Link>,
              },
              { key: "role", header: "Your role", render: (p) => p.role ?? "site admin" },
              { key: "description", header: "Description", render: (p) => p.description ?? "" },
              { key: "created", header: "Created", sortValue: (p) => p.createdAt, render: (p) => formatRelative(p.createdAt, Date.now()) },
              {
                key: "use",
                header: "",
                render: (p) =>
                  p.name === current ? (
                    <span className="muted small">working in it</span>
                  ) : (
                    <button type="button" className="btn btn-small" onClick={() => setProject(p.name)}>
                      Work in it
                    </button>
                  ),
              },
            ]}
          />
        </Card>
      ) : (
        <Skeleton lines={4} />
      )}
      {opened && (info || user?.role === "admin") ? (
        <Members project={opened} info={info} canManage={canManageMembers(info, user?.role === "admin")} />
      ) : null}
      {opened && canManageMembers(info, user?.role === "admin") ? <RecentChanges project={opened} /> : null}
    </div>
  );
}

function CreateProject({ onCreated }: { onCreated: (p: ProjectInfo) => void }) {
  const api = useApi();
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const p = await api.createProject(name.trim(), description.trim() || undefined);
      setName("");
      setDescription("");
      onCreated(p);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card title="New project">
      <form className="inline-form" onSubmit={(e) => void submit(e)} data-testid="create-project">
        <label className="field">
          <span className="field-label">Name</span>
          <input name="projectName" value={name} onChange={(e) => setName(e.target.value)} required placeholder="churn" />
        </label>
        <label className="field field-wide">
          <span className="field-label">Description</span>
          <input name="projectDescription" value={description} onChange={(e) => setDescription(e.target.value)} placeholder="optional" />
        </label>
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? <Spinner label="Creating" /> : null} Create
        </button>
        {error ? <ErrorBox error={error} title="Could not create the project" /> : null}
      </form>
    </Card>
  );
}

function Members({ project, info, canManage }: { project: string; info: ProjectInfo | undefined; canManage: boolean }) {
  const api = useApi();
  const members = useResource((a) => a.listMembers(project), `members:${project}`);
  const [error, setError] = useState<unknown>(null);
  const [username, setUsername] = useState("");
  const [role, setRole] = useState<ProjectRole>("viewer");

  async function act(fn: () => Promise<unknown>) {
    setError(null);
    try {
      await fn();
      members.reload();
    } catch (err) {
      setError(err);
    }
  }

  const roleSelect = (m: ProjectMember) =>
    canManage ? (
      <select
        aria-label={`Role of ${m.username}`}
        value={m.role}
        onChange={(e) => void act(() => api.setMember(project, m.username, e.target.value as ProjectRole))}
      >
        {PROJECT_ROLES.map((r) => (
          <option key={r} value={r}>
            {r}
          </option>
        ))}
      </select>
    ) : (
      m.role
    );

  return (
    <Card title={`Members of ${project}`} className="members-card">
      {info?.description ? <p className="muted">{info.description}</p> : null}
      {members.error ? <ErrorBox error={members.error} onRetry={members.reload} /> : null}
      {members.data ? (
        <DataTable
          rows={members.data}
          rowKey={(m) => m.username}
          caption={`Members of ${project}`}
          testId="members-table"
          columns={[
            { key: "user", header: "User", sortValue: (m) => m.username, render: (m) => m.username },
            { key: "role", header: "Role", render: roleSelect },
            { key: "what", header: "May", render: (m) => <span className="muted small">{ROLE_HELP[m.role]}</span> },
            {
              key: "remove",
              header: "",
              render: (m) =>
                canManage ? (
                  <button type="button" className="btn btn-small" onClick={() => void act(() => api.removeMember(project, m.username))}>
                    Remove
                  </button>
                ) : null,
            },
          ]}
        />
      ) : (
        <Skeleton lines={3} />
      )}
      {canManage ? (
        <form
          className="inline-form"
          data-testid="add-member"
          onSubmit={(e) => {
            e.preventDefault();
            void act(async () => {
              await api.setMember(project, username.trim(), role);
              setUsername("");
            });
          }}
        >
          <label className="field">
            <span className="field-label">Username</span>
            <input name="memberName" value={username} onChange={(e) => setUsername(e.target.value)} required />
          </label>
          <label className="field field-narrow">
            <span className="field-label">Role</span>
            <select name="memberRole" value={role} onChange={(e) => setRole(e.target.value as ProjectRole)}>
              {PROJECT_ROLES.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" className="btn btn-primary">
            Add member
          </button>
        </form>
      ) : null}
      {error ? <ErrorBox error={error} title="Could not change the members" /> : null}
    </Card>
  );
}

/** The project's latest audit entries, for its owners. */
function RecentChanges({ project }: { project: string }) {
  const changes = useResource((a) => a.listProjectAudit(project), `project-audit:${project}`);
  return (
    <Card
      title={`Recent changes in ${project}`}
      actions={
        <button type="button" className="btn btn-small" onClick={changes.reload}>
          Refresh
        </button>
      }
    >
      {changes.error ? <ErrorBox error={changes.error} onRetry={changes.reload} /> : null}
      {changes.data ? (
        <DataTable
          rows={changes.data.entries}
          rowKey={(e) => String(e.seq)}
          caption={`Recent changes in ${project}`}
          testId="project-audit"
          empty={<p className="muted">No changes recorded yet.</p>}
          columns={[
            { key: "at", header: "When", render: (e) => formatRelative(e.at, Date.now()) },
            { key: "actor", header: "Who", render: (e) => e.actor.name },
            { key: "action", header: "What", render: (e) => <code>{e.action}</code> },
            { key: "target", header: "On", render: (e) => `${e.target.kind} ${e.target.id}` },
          ]}
        />
      ) : (
        <Skeleton lines={3} />
      )}
    </Card>
  );
}
