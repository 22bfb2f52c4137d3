import { DatasetTag } from "@caretflow/contracts";
import { useState } from "react";
import { useApi, useResource } from "../../api/context.tsx";
import { Badge } from "../../ui/layout.tsx";
import { useAuth } from "../auth/auth.context.tsx";
import { useProject } from "../projects/project.context.tsx";
import "./catalog.css";

/** A dataset's tags and description; project editors add tags (Enter), remove them (×) and edit the description. */
export function TagEditor({
  dataset,
  tags,
  description,
  onChanged,
}: {
  dataset: string;
  tags: string[];
  description?: string | undefined;
  onChanged: () => void;
}) {
  const api = useApi();
  const { user } = useAuth();
  const { project } = useProject();
  const projects = useResource((a) => a.listProjects(), "projects");
  const role = projects.data?.find((p) => p.name === project)?.role;
  const canEdit = user?.role === "admin" || role === "editor" || role === "owner";
  const [draft, setDraft] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [editing, setEditing] = useState<string | null>(null);

  async function change(patch: { add?: string[]; remove?: string[]; description?: string }) {
    setBusy(true);
    setError(null);
    try {
      if (patch.description !== undefined) {
        await api.setDatasetDescription(dataset, patch.description);
        setEditing(null);
      } else await api.setDatasetTags(dataset, patch);
      onChanged();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  }
  function add() {
    const parsed = DatasetTag.safeParse(draft);
    if (!parsed.success) {
      setError(`'${draft}': ${parsed.error.issues[0]?.message ?? "not a tag"}`);
      return;
    }
    setDraft("");
    void change({ add: [parsed.data] });
  }

  return (
    <div className="tag-editor" data-testid="dataset-tags">
      <span className="muted">Tags</span>
      {tags.length === 0 ? <span className="muted">none</span> : null}
      {tags.map((t) => (
        <Badge key={t} tone="info">
          {t}
          {canEdit ? (
            <button
              type="button"
              className="tag-remove"
              aria-label={`Remove tag ${t}`}
              disabled={busy}
              onClick={() => void change({ remove: [t] })}
            >
              ×
            </button>
          ) : null}
        </Badge>
      ))}
      {canEdit ? (
        <input
          className="filter-input"
          aria-label="Add a tag"
          placeholder="add a tag, Enter"
          value={draft}
          disabled={busy}
          onChange={(e) => setDraft(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter" && draft.trim()) add();
          }}
        />
      ) : null}
      {canEdit && editing === null ? (
        <button type="button" className="btn btn-small" onClick={() => setEditing(description ?? "")}>
          {description ? "Edit description" : "Add a description"}
        </button>
      ) : null}
      {editing !== null ? (
        <form
          className="tag-editor"
          onSubmit={(e) => {
            e.preventDefault();
            void change({ description: editing });
          }}
        >
          <input
            className="filter-input"
            aria-label="Description"
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
      ) : null}
      {error ? (
        <span className="field-error" role="alert">
          {error}
        </span>
      ) : null}
    </div>
  );
}
