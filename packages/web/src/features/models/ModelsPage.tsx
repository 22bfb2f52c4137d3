import type { ModelVersion, RegisteredModel } from "@caretflow/contracts";
import { AliasName } from "@caretflow/contracts";
import { type FormEvent, useState } from "react";
import { Link, useNavigate } from "react-router-dom";
import { useApi, useNow, useResource } from "../../api/context.tsx";
import { formatRelative } from "../../lib/format.ts";
import { EmptyState, ErrorBox, Skeleton } from "../../ui/feedback.tsx";
import { Badge, Card, PageHeader } from "../../ui/layout.tsx";
import { DataTable } from "../../ui/table.tsx";
import { ModelLifecycle } from "./ModelLifecycle.tsx";
import { ModelNotes } from "./ModelNotes.tsx";

export function ModelsPage() {
  const models = useResource((api) => api.listModels(), "models");
  return (
    <div className="page">
      <PageHeader
        title="Models"
        subtitle="Registered models, their versions and the aliases that point at them. An alias like champion is what predictions use."
        actions={
          <Link className="btn btn-primary" to="/predict">
            Predict
          </Link>
        }
      />
      {models.error ? <ErrorBox error={models.error} onRetry={models.reload} /> : null}
      {!models.data && !models.error ? <Skeleton lines={6} /> : null}
      {models.data?.length === 0 ? (
        <EmptyState
          title="No registered models yet"
          action={
            <Link className="btn btn-primary" to="/experiments">
              Go to experiments
            </Link>
          }
        >
          Open a finished training run or job and choose “Register best model”.
        </EmptyState>
      ) : null}
      {models.data?.map((m) => (
        <ModelCard key={m.name} model={m} onChange={models.reload} />
      ))}
    </div>
  );
}

function ModelCard({ model, onChange }: { model: RegisteredModel; onChange: () => void }) {
  const api = useApi();
  const now = useNow(false);
  const navigate = useNavigate();
  const [error, setError] = useState<unknown>(null);
  const [picked, setPicked] = useState<number[]>([]);
  const [noting, setNoting] = useState<number | null>(null);
  const aliases = Object.entries(model.aliases).sort(([a], [b]) => a.localeCompare(b));
  const notedVersion = model.versions.find((v) => v.version === noting);
  const pick = (version: number, on: boolean) => setPicked((p) => (on ? [...p, version] : p.filter((x) => x !== version)));

  async function removeAlias(alias: string) {
    setError(null);
    try {
      await api.deleteAlias(model.name, alias);
      onChange();
    } catch (err) {
      setError(err);
    }
  }

  return (
    <Card
      className="model-card"
      title={
        <span data-testid="model-name">
          {model.name}{" "}
          <span className="muted small">
            · {model.versions.length} version{model.versions.length === 1 ? "" : "s"}
          </span>
        </span>
      }
      actions={
        <>
          <button
            type="button"
            className="btn btn-small"
            disabled={picked.length < 2}
            onClick={() =>
              navigate(`/models/${encodeURIComponent(model.name)}/compare?versions=${[...picked].sort((a, b) => a - b).join(",")}`)
            }
          >
            Compare{picked.length > 0 ? ` (${picked.length})` : ""}
          </button>
          <Link
            className="btn btn-small"
            to={`/predict?model=${encodeURIComponent(aliases[0] ? `${model.name}@${aliases[0][0]}` : model.name)}`}
          >
            Predict
          </Link>
        </>
      }
    >
      <ModelNotes model={model.name} version={null} description={model.description} tags={model.tags} onChange={onChange} />
      <div className="alias-row">
        {aliases.length === 0 ? <span className="muted small">No aliases yet.</span> : null}
        {aliases.map(([alias, v]) => (
          <span key={alias} className="alias-pill" data-testid="alias">
            <strong>@{alias}</strong> → v{v}
            <button type="button" className="alias-remove" aria-label={`Remove alias ${alias}`} onClick={() => void removeAlias(alias)}>
              ×
            </button>
          </span>
        ))}
      </div>
      <DataTable<ModelVersion>
        rows={model.versions}
        rowKey={(v) => String(v.version)}
        initialSort={{ key: "v", dir: "desc" }}
        caption={`Versions of ${model.name}`}
        columns={[
          {
            key: "pick",
            header: "",
            render: (v) => (
              <input
                type="checkbox"
                aria-label={`Compare v${v.version}`}
                checked={picked.includes(v.version)}
                onChange={(e) => pick(v.version, e.target.checked)}
              />
            ),
          },
          { key: "v", header: "Version", sortValue: (v) => v.version, render: (v) => <strong>v{v.version}</strong> },
          { key: "model", header: "Model", sortValue: (v) => v.modelName, render: (v) => v.modelName ?? "—" },
          {
            key: "aliases",
            header: "Aliases",
            render: (v) =>
              v.aliases.map((a) => (
                <Badge key={a} tone="accent">
                  @{a}
                </Badge>
              )),
          },
          {
            key: "run",
            header: "Run",
            render: (v) =>
              v.runId ? (
                <Link to={`/experiments/${v.runId}`} className="mono small">
                  {v.runId.slice(0, 8)}
                </Link>
              ) : (
                "—"
              ),
          },
          {
            key: "status",
            header: "Status",
            sortValue: (v) => v.status,
            render: (v) => <span className="small">{v.status.toLowerCase()}</span>,
          },
          { key: "at", header: "Registered", sortValue: (v) => v.createdAt, render: (v) => formatRelative(v.createdAt, now) },
          {
            key: "notes",
            header: "Description and tags",
            render: (v) => (
              <span className="small">
                {v.description ? `${v.description} ` : null}
                {Object.entries(v.tags).map(([k, value]) => (
                  <Badge key={k} tone="info">
                    {k}={value}
                  </Badge>
                ))}{" "}
                <button
                  type="button"
                  className="btn btn-small"
                  aria-label={`Edit description and tags of v${v.version}`}
                  onClick={() => setNoting(noting === v.version ? null : v.version)}
                >
                  Edit
                </button>
              </span>
            ),
          },
        ]}
      />
      {notedVersion ? (
        <ModelNotes
          key={notedVersion.version}
          model={model.name}
          version={notedVersion.version}
          description={notedVersion.description}
          tags={notedVersion.tags}
          onChange={onChange}
        />
      ) : null}
      {model.versions.length > 0 ? <ModelLifecycle model={model} onChange={onChange} /> : null}
      <SetAliasForm model={model} onDone={onChange} />
      {error ? <ErrorBox error={error} /> : null}
    </Card>
  );
}

/** Points an alias (new or existing) at a version: this is how a new model is promoted. */
function SetAliasForm({ model, onDone }: { model: RegisteredModel; onDone: () => void }) {
  const api = useApi();
  const latest = Math.max(...model.versions.map((v) => v.version));
  const [alias, setAlias] = useState("champion");
  const [version, setVersion] = useState(latest);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    const a = AliasName.safeParse(alias.trim());
    if (!a.success) return setError(new Error(a.error.issues[0]?.message ?? "Invalid alias"));
    setBusy(true);
    setError(null);
    try {
      await api.setAlias(model.name, a.data, version);
      onDone();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="inline-form alias-form" onSubmit={submit}>
      <span className="muted small">Set alias</span>
      <input aria-label="Alias" value={alias} onChange={(e) => setAlias(e.target.value)} className="input-small" />
      <span className="muted small">→</span>
      <select aria-label="Version" value={version} onChange={(e) => setVersion(Number(e.target.value))}>
        {[...model.versions]
          .sort((a, b) => b.version - a.version)
          .map((v) => (
            <option key={v.version} value={v.version}>
              v{v.version}
            </option>
          ))}
      </select>
      <button type="submit" className="btn btn-small" disabled={busy}>
        {model.aliases[alias.trim()] !== undefined ? "Move" : "Set"}
      </button>
      {error ? <ErrorBox error={error} title="Could not set the alias" /> : null}
    </form>
  );
}
