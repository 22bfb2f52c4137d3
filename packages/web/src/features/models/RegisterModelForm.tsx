import type { ModelVersion } from "@caretflow/contracts";
import { AliasName, RegisteredModelName } from "@caretflow/contracts";
import { type FormEvent, useState } from "react";
import { Link } from "react-router-dom";
import { useApi } from "../../api/context.tsx";
import { ErrorBox, Spinner } from "../../ui/feedback.tsx";

/** Registers a run's model as a new version of a named model, optionally pointing an alias at it. */
export function RegisterModelForm({
  runId,
  defaultName,
  onRegistered,
}: {
  runId: string;
  defaultName: string;
  onRegistered?: (v: ModelVersion) => void;
}) {
  const api = useApi();
  const [name, setName] = useState(defaultName);
  const [alias, setAlias] = useState("champion");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<ModelVersion | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    const n = RegisteredModelName.safeParse(name.trim());
    const a = alias.trim() === "" ? null : AliasName.safeParse(alias.trim());
    if (!n.success) return setError(new Error(`Model name: ${n.error.issues[0]?.message}`));
    if (a && !a.success) return setError(new Error(`Alias: ${a.error.issues[0]?.message}`));
    setBusy(true);
    setError(null);
    try {
      const v = await api.registerModel({ runId, name: n.data, ...(a?.success ? { alias: a.data } : {}) });
      setDone(v);
      onRegistered?.(v);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  if (done) {
    const ref = done.aliases[0] ? `${done.name}@${done.aliases[0]}` : `${done.name}/${done.version}`;
    return (
      <div className="success-box" data-testid="registered">
        <div>
          Registered <strong>{done.name}</strong> version {done.version}
          {done.aliases.length ? (
            <>
              {" "}
              with alias <code>{done.aliases.join(", ")}</code>
            </>
          ) : null}
          .
        </div>
        <div className="button-row">
          <Link className="btn btn-small" to="/models">
            See models
          </Link>
          <Link className="btn btn-small btn-primary" to={`/predict?model=${encodeURIComponent(ref)}`}>
            Predict with {ref}
          </Link>
        </div>
      </div>
    );
  }
  return (
    <form className="inline-form" onSubmit={submit} data-testid="register-form">
      <label className="field">
        <span className="field-label">Model name</span>
        <input name="modelName" value={name} onChange={(e) => setName(e.target.value)} required />
      </label>
      <label className="field field-narrow">
        <span className="field-label">Alias</span>
        <input name="alias" value={alias} onChange={(e) => setAlias(e.target.value)} placeholder="none" />
      </label>
      <button type="submit" className="btn btn-primary" disabled={busy}>
        {busy ? <Spinner label="Registering" /> : null} Register
      </button>
      {error ? <ErrorBox error={error} title="Could not register the model" /> : null}
    </form>
  );
}
