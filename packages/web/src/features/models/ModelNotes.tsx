import { ModelTagKey, type ModelUpdateRequest } from "@caretflow/contracts";
import { useState } from "react";
import { useApi } from "../../api/context.tsx";
import { ErrorBox } from "../../ui/feedback.tsx";
import { Badge } from "../../ui/layout.tsx";
import "./registry.css";

/**
 * The description and tags of a registered model (`version` null) or of one version: the description
 * edited in place, tags as chips removed with × and added as key=value (Enter). The server refuses
 * caretflow's own tags and users without the editor role; a refusal shows its message.
 */
export function ModelNotes({
  model,
  version,
  description,
  tags,
  onChange,
}: {
  model: string;
  version: number | null;
  description: string | null;
  tags: Record<string, string>;
  onChange: () => void;
}) {
  const api = useApi();
  const [draft, setDraft] = useState("");
  const [editing, setEditing] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const what = version === null ? model : `${model} v${version}`;

  async function save(body: ModelUpdateRequest): Promise<boolean> {
    setBusy(true);
    setError(null);
    try {
      await api.updateModel(model, version, body);
      onChange();
      return true;
    } catch (err) {
      setError(err);
      return false;
    } finally {
      setBusy(false);
    }
  }
  function addTag() {
    const eq = draft.indexOf("=");
    const key = ModelTagKey.safeParse(eq > 0 ? draft.slice(0, eq).trim() : "");
    if (!key.success) return setError(new Error(`'${draft}': write key=value, e.g. team=risk (${key.error.issues[0]?.message})`));
    void save({ tags: { [key.data]: draft.slice(eq + 1).trim() } }).then((ok) => ok && setDraft(""));
  }

  return (
    <section
      className="model-notes"
      data-testid={version === null ? "model-notes" : "version-notes"}
      aria-label={`Description and tags of ${what}`}
    >
      {version !== null ? <strong>v{version}</strong> : null}
      {editing === null ? (
        <>
          <span className={description ? "" : "muted"} data-testid="description">
            {description || "No description."}
          </span>
          <button type="button" className="btn btn-small" onClick={() => setEditing(description ?? "")}>
            {description ? "Edit description" : "Add a description"}
          </button>
        </>
      ) : (
        <form
          className="model-notes"
          onSubmit={(e) => {
            e.preventDefault();
            void save({ description: editing }).then((ok) => ok && setEditing(null));
          }}
        >
          <input
            aria-label={`Description of ${what}`}
            maxLength={2000}
            value={editing}
            disabled={busy}
            onChange={(e) => setEditing(e.target.value)}
          />
          <button type="submit" className="btn btn-small btn-primary" disabled={busy}>
            Save
          </button>
          <button type="button" className="btn btn-small" onClick={() => setEditing(null)}>
            Cancel
          </button>
        </form>
      )}
      <span className="muted small">Tags</span>
      {Object.entries(tags).map(([k, v]) => (
        <Badge key={k} tone="info">
          <span data-testid="tag">
            {k}={v}
          </span>
          <button
            type="button"
            className="tag-remove"
            aria-label={`Remove tag ${k}`}
            disabled={busy}
            onClick={() => void save({ tags: { [k]: null } })}
          >
            ×
          </button>
        </Badge>
      ))}
      <input
        aria-label={`Add a tag to ${what}`}
        placeholder="key=value, Enter"
        value={draft}
        disabled={busy}
        onChange={(e) => setDraft(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === "Enter" && draft.trim()) {
            e.preventDefault();
            addTag();
          }
        }}
      />
      {error ? <ErrorBox error={error} title="Could not save" /> : null}
    </section>
  );
}
