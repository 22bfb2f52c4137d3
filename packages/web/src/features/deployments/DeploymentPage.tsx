import type { Deployment, RegisteredModel } from "@caretflow/contracts";
import { type FormEvent, useState } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";
import { useApi, useReloadWhile, useResource } from "../../api/context.tsx";
import { formatDateTime } from "../../lib/format.ts";
import { ErrorBox, Skeleton, Spinner } from "../../ui/feedback.tsx";
import { Badge, Card, PageHeader, Stats, Tabs } from "../../ui/layout.tsx";
import { DeploymentMonitoring } from "./DeploymentMonitoring.tsx";
import {
  driftScheduleText,
  type FieldErrors,
  fieldIssues,
  isSettling,
  overallState,
  type PolicyForm,
  parseDriftSchedule,
  parseTargetValue,
  policyFromForm,
  policyText,
  policyToForm,
  targetChoices,
  targetText,
  targetValue,
} from "./deployments.helpers.ts";
import { DriftScheduleSelect, Field, PolicyFields } from "./PolicyFields.tsx";
import { ServingTable } from "./ServingTable.tsx";
import { TryIt } from "./TryIt.tsx";
import "./deployments.css";

type Tab = "traffic" | "try" | "monitoring";

/** One deployment: what it serves now and how healthy, its traffic policy to change, a place to try it, its monitoring. */
export function DeploymentPage() {
  const { name = "" } = useParams();
  const deployment = useResource((a) => a.getDeployment(name), `deployment:${name}`);
  const settling = deployment.data ? isSettling(deployment.data) : false;
  // Health changes on its own (a process restarting): read again often while something starts, now and then otherwise.
  useReloadWhile(deployment.data !== undefined, deployment.reload, settling ? 2000 : 15_000);

  if (deployment.error && !deployment.data)
    return (
      <div className="page">
        <PageHeader crumbs={<Link to="/deployments">Deployments</Link>} title={name} />
        <ErrorBox error={deployment.error} onRetry={deployment.reload} title={`Deployment ${name} could not be loaded`} />
      </div>
    );
  if (!deployment.data)
    return (
      <div className="page">
        <Skeleton lines={8} />
      </div>
    );
  return <DeploymentView deployment={deployment.data} onChanged={deployment.reload} />;
}

function DeploymentView({ deployment: d, onChanged }: { deployment: Deployment; onChanged: () => void }) {
  const api = useApi();
  const navigate = useNavigate();
  const model = useResource((a) => a.getModel(d.model), `model:${d.model}`);
  const [tab, setTab] = useState<Tab>("traffic");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const state = overallState(d);

  const act = async (fn: () => Promise<unknown>, after: () => void = onChanged) => {
    setBusy(true);
    setError(null);
    try {
      await fn();
      after();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const remove = () => {
    if (!window.confirm(`Delete the deployment ${d.name}? Its endpoint stops answering at once; its prediction log is kept.`)) return;
    void act(
      () => api.deleteDeployment(d.name),
      () => navigate("/deployments"),
    );
  };

  return (
    <div className="page">
      <PageHeader
        crumbs={<Link to="/deployments">Deployments</Link>}
        title={
          <>
            {d.name}{" "}
            <span data-testid="deployment-state" data-state={state.label}>
              <Badge tone={state.tone}>{state.label}</Badge>
            </span>
          </>
        }
        subtitle={
          <>
            Endpoint <code>POST /api/deployments/{d.name}/predict</code>
          </>
        }
        actions={
          <>
            <button
              type="button"
              className="btn"
              disabled={busy}
              onClick={() => void act(() => api.updateDeployment(d.name, { status: d.status === "paused" ? "active" : "paused" }))}
            >
              {d.status === "paused" ? "Resume" : "Pause"}
            </button>
            <button type="button" className="btn btn-danger" disabled={busy} onClick={remove}>
              Delete
            </button>
          </>
        }
      />
      {error ? <ErrorBox error={error} /> : null}
      {d.problem && d.problem !== "starting" ? <ErrorBox error={new Error(d.problem)} title="This deployment cannot serve now" /> : null}
      <Card>
        <Stats
          items={[
            {
              label: "Model",
              value: <Link to="/models">{d.model}</Link>,
            },
            { label: "Serves", value: <code>{targetText(d.model, d.target)}</code> },
            { label: "Policy", value: <span data-testid="deployment-policy">{policyText(d.model, d.policy)}</span> },
            { label: "Policy since", value: formatDateTime(d.policySince) },
            { label: "Drift check", value: <span data-testid="deployment-drift-every">{driftScheduleText(d.driftEvery)}</span> },
            { label: "Changed", value: `${formatDateTime(d.updatedAt)} by ${d.updatedBy}` },
          ]}
        />
        <h3 className="subhead">Versions serving now</h3>
        <ServingTable deployment={d} />
        {d.status === "paused" ? (
          <p className="muted small">Paused: the endpoint refuses requests until the deployment is resumed.</p>
        ) : null}
      </Card>

      <Tabs<Tab>
        tabs={[
          { key: "traffic", label: "Traffic" },
          { key: "try", label: "Try it" },
          { key: "monitoring", label: "Monitoring" },
        ]}
        active={tab}
        onChange={setTab}
      />
      <div role="tabpanel" aria-label={tab === "traffic" ? "Traffic" : tab === "try" ? "Try it" : "Monitoring"}>
        {tab === "traffic" ? (
          model.data ? (
            // a new form after every saved change, so it shows what is stored
            <div className="stack">
              <TrafficEditor key={d.updatedAt} deployment={d} model={model.data} onSaved={onChanged} />
              <DriftScheduleEditor key={`drift-${d.updatedAt}`} deployment={d} onSaved={onChanged} />
            </div>
          ) : model.error ? (
            <ErrorBox error={model.error} onRetry={model.reload} title={`Model ${d.model} could not be loaded`} />
          ) : (
            <Skeleton lines={4} />
          )
        ) : null}
        {tab === "try" ? model.data ? <TryIt deployment={d} model={model.data} /> : <Skeleton lines={4} /> : null}
        {tab === "monitoring" ? <DeploymentMonitoring deployment={d} /> : null}
      </div>
    </div>
  );
}

/** Changes the served alias or version and the traffic policy; new versions load before traffic moves to them. */
function TrafficEditor({ deployment: d, model, onSaved }: { deployment: Deployment; model: RegisteredModel; onSaved: () => void }) {
  const api = useApi();
  const [target, setTarget] = useState(targetValue(d.target));
  const [policy, setPolicy] = useState<PolicyForm>(() => policyToForm(d.policy));
  const [errors, setErrors] = useState<FieldErrors>({});
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const choices = targetChoices(model);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    const built = policyFromForm(policy);
    const t = parseTargetValue(target);
    const local: FieldErrors = {
      ...("errors" in built ? built.errors : {}),
      ...(t ? {} : { target: "Choose the alias or version to serve." }),
    };
    setErrors(local);
    if (Object.keys(local).length || !t || "errors" in built) return;
    setBusy(true);
    try {
      await api.updateDeployment(d.name, { target: t, policy: built.policy });
      onSaved();
    } catch (err) {
      setErrors(fieldIssues(err));
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card title="Traffic">
      <form onSubmit={submit} aria-label="Traffic policy" noValidate>
        <div className="form-row">
          <Field label="Serve" error={errors.target}>
            {(control) => (
              <select {...control} name="target" value={target} onChange={(e) => setTarget(e.target.value)}>
                {choices.map((c) => (
                  <option key={c.value} value={c.value}>
                    {c.label}
                  </option>
                ))}
              </select>
            )}
          </Field>
        </div>
        <PolicyFields form={policy} onChange={setPolicy} choices={choices} errors={errors} />
        {error ? <ErrorBox error={error} title="The change was not applied" /> : null}
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? <Spinner label="Loading the new versions" /> : null} Apply
          </button>
          <span className="muted small">The versions it needs load first; traffic moves to them only once they are ready.</span>
        </div>
      </form>
    </Card>
  );
}

/** How often the server checks the deployment's logged inputs for drift; changing it moves no traffic. */
function DriftScheduleEditor({ deployment: d, onSaved }: { deployment: Deployment; onSaved: () => void }) {
  const api = useApi();
  const [value, setValue] = useState(d.driftEvery ?? "");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const changed = parseDriftSchedule(value) !== d.driftEvery;

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.updateDeployment(d.name, { driftEvery: parseDriftSchedule(value) });
      onSaved();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card title="Drift checks">
      <form onSubmit={submit} aria-label="Drift schedule" noValidate>
        <div className="form-row">
          <DriftScheduleSelect label="Check for drift" value={value} onChange={setValue} />
        </div>
        {error ? <ErrorBox error={error} title="The schedule was not changed" /> : null}
        <div className="form-actions">
          <button type="submit" className="btn" disabled={busy || !changed}>
            {busy ? <Spinner label="Saving" /> : null} Save schedule
          </button>
          <span className="muted small">
            Each check compares the inputs logged since the previous one with the training data; the Monitoring tab shows the results.
          </span>
        </div>
      </form>
    </Card>
  );
}
