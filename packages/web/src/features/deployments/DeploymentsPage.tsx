import type { Deployment, RegisteredModel } from "@caretflow/contracts";
import { type FormEvent, useState } from "react";
import { Link, useNavigate } from "react-router-dom";
import { useApi, useReloadWhile, useResource } from "../../api/context.tsx";
import { EmptyState, ErrorBox, Skeleton, Spinner } from "../../ui/feedback.tsx";
import { Badge, Card, PageHeader } from "../../ui/layout.tsx";
import { DataTable } from "../../ui/table.tsx";
import {
  driftScheduleText,
  EMPTY_POLICY,
  type FieldErrors,
  fieldIssues,
  isSettling,
  overallState,
  type PolicyForm,
  parseDriftSchedule,
  parseTargetValue,
  policyFromForm,
  policyText,
  targetChoices,
  targetText,
} from "./deployments.helpers.ts";
import { DriftScheduleSelect, Field, PolicyFields } from "./PolicyFields.tsx";
import { ServingList } from "./ServingTable.tsx";
import "./deployments.css";

/** The project's deployments with the versions they serve now, and a form for a new one. */
export function DeploymentsPage() {
  const deployments = useResource((a) => a.listDeployments(), "deployments");
  const models = useResource((a) => a.listModels(), "models");
  useReloadWhile(deployments.data?.some(isSettling) ?? false, deployments.reload, 2000);

  return (
    <div className="page">
      <PageHeader
        title="Deployments"
        subtitle="Models served at a stable endpoint, POST /api/deployments/NAME/predict, by scoring processes of their own: one version, an A/B split, a shadow or a canary."
      />
      {deployments.error ? <ErrorBox error={deployments.error} onRetry={deployments.reload} /> : null}
      <Card title="Deployments">
        {!deployments.data ? (
          deployments.error ? null : (
            <Skeleton lines={3} />
          )
        ) : deployments.data.length === 0 ? (
          <EmptyState title="No deployments yet">
            Create one below: a registered model, the alias or version to serve, and how traffic is split.
          </EmptyState>
        ) : (
          <DataTable<Deployment>
            rows={deployments.data}
            rowKey={(d) => d.name}
            initialSort={{ key: "name", dir: "asc" }}
            caption="Deployments"
            testId="deployments-table"
            columns={[
              {
                key: "name",
                header: "Name",
                sortValue: (d) => d.name,
                render: (d) => (
                  <Link to={`/deployments/${encodeURIComponent(d.name)}`}>
                    <strong>{d.name}</strong>
                  </Link>
                ),
              },
              { key: "target", header: "Serves", sortValue: (d) => d.model, render: (d) => <code>{targetText(d.model, d.target)}</code> },
              { key: "policy", header: "Policy", sortValue: (d) => d.policy.kind, render: (d) => policyText(d.model, d.policy) },
              { key: "serving", header: "Versions now", render: (d) => <ServingList deployment={d} /> },
              { key: "drift", header: "Drift check", sortValue: (d) => d.driftEvery ?? "", render: (d) => driftScheduleText(d.driftEvery) },
              {
                key: "status",
                header: "Status",
                sortValue: (d) => overallState(d).label,
                render: (d) => {
                  const s = overallState(d);
                  return (
                    <>
                      <Badge tone={s.tone}>{s.label}</Badge>
                      {d.problem && d.problem !== "starting" ? <div className="muted small">{d.problem}</div> : null}
                    </>
                  );
                },
              },
            ]}
          />
        )}
      </Card>
      {models.error ? <ErrorBox error={models.error} onRetry={models.reload} title="The registered models could not be loaded" /> : null}
      {models.data ? <CreateDeploymentForm models={models.data} /> : models.error ? null : <Skeleton lines={4} />}
    </div>
  );
}

/** Name, model, the alias or version it serves, and the traffic policy; opens the new deployment once it serves. */
function CreateDeploymentForm({ models }: { models: RegisteredModel[] }) {
  const api = useApi();
  const navigate = useNavigate();
  const [name, setName] = useState("");
  const [model, setModel] = useState("");
  const [target, setTarget] = useState("");
  const [policy, setPolicy] = useState<PolicyForm>(EMPTY_POLICY);
  const [driftEvery, setDriftEvery] = useState("");
  const [errors, setErrors] = useState<FieldErrors>({});
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const chosen = models.find((m) => m.name === model);
  const choices = targetChoices(chosen);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    const built = policyFromForm(policy);
    const t = parseTargetValue(target);
    const local: FieldErrors = {
      ...("errors" in built ? built.errors : {}),
      ...(model ? {} : { model: "Choose a registered model." }),
      ...(t ? {} : { target: "Choose the alias or version to serve." }),
    };
    setErrors(local);
    if (Object.keys(local).length || !t || "errors" in built) return;
    setBusy(true);
    try {
      const created = await api.createDeployment({
        name: name.trim(),
        model,
        target: t,
        policy: built.policy,
        driftEvery: parseDriftSchedule(driftEvery),
      });
      navigate(`/deployments/${encodeURIComponent(created.name)}`);
    } catch (err) {
      setErrors(fieldIssues(err));
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  if (models.length === 0)
    return (
      <Card title="New deployment">
        <EmptyState
          title="No registered models yet"
          action={
            <Link className="btn btn-primary" to="/models">
              Go to models
            </Link>
          }
        >
          A deployment serves a registered model: register one from a finished training run first.
        </EmptyState>
      </Card>
    );

  return (
    <Card title="New deployment">
      <form onSubmit={submit} aria-label="New deployment" noValidate>
        <div className="form-row">
          <Field label="Name" error={errors.name}>
            {(control) => (
              <input
                {...control}
                name="name"
                value={name}
                onChange={(e) => setName(e.target.value)}
                placeholder="churn"
                autoComplete="off"
              />
            )}
          </Field>
          <Field label="Model" error={errors.model}>
            {(control) => (
              <select
                {...control}
                name="model"
                value={model}
                onChange={(e) => {
                  setModel(e.target.value);
                  setTarget("");
                  setPolicy(EMPTY_POLICY);
                }}
              >
                <option value="">choose…</option>
                {models.map((m) => (
                  <option key={m.name} value={m.name}>
                    {m.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="Serve" error={errors.target}>
            {(control) => (
              <select {...control} name="target" value={target} onChange={(e) => setTarget(e.target.value)}>
                <option value="">{model ? "choose…" : "choose a model first"}</option>
                {choices.map((c) => (
                  <option key={c.value} value={c.value}>
                    {c.label}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <DriftScheduleSelect label="Drift check" value={driftEvery} error={errors.driftEvery} onChange={setDriftEvery} />
        </div>
        <p className="muted small">
          An alias is followed: when it moves to another version, the deployment serves that version at once. A scheduled drift check
          compares the inputs logged since the last one with the training data.
        </p>
        {model ? <PolicyFields form={policy} onChange={setPolicy} choices={choices} errors={errors} /> : null}
        {error ? <ErrorBox error={error} title="The deployment was not created" /> : null}
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? <Spinner label="Starting its scoring processes" /> : null} Create deployment
          </button>
          {busy ? <span className="muted small">Loading the model into its scoring processes…</span> : null}
        </div>
      </form>
    </Card>
  );
}
