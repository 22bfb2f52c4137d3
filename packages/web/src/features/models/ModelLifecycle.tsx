import { type ModelStage, type RegisteredModel, STAGE_ALIASES } from "@caretflow/contracts";
import { type FormEvent, useState } from "react";
import { useApi, useNow, useResource } from "../../api/context.tsx";
import { formatRelative } from "../../lib/format.ts";
import { ErrorBox } from "../../ui/feedback.tsx";
import { Badge } from "../../ui/layout.tsx";

/**
 * A model's stages (staging, production), its pending promotion requests with Approve/Reject, a
 * Promote form, Rollback of production, and the history of stage moves. The server decides who may
 * do what (editors request, owners approve); a refusal shows its message.
 */
export function ModelLifecycle({ model, onChange }: { model: RegisteredModel; onChange: () => void }) {
  const api = useApi();
  const now = useNow(false);
  const promotions = useResource((a) => a.listPromotions(model.name), `promotions:${model.name}`);
  // Read again whenever the aliases change, also when they change outside this panel (the × on an alias).
  const history = useResource((a) => a.modelHistory(model.name), `history:${model.name}:${JSON.stringify(model.aliases)}`);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [version, setVersion] = useState(Math.max(...model.versions.map((v) => v.version)));
  const [stage, setStage] = useState<ModelStage>("staging");
  const [reason, setReason] = useState("");
  const [rollbackReason, setRollbackReason] = useState("");
  const pending = (promotions.data ?? []).filter((p) => p.status === "pending");
  const decide = (p: { id: string; version: number; to: string }, decision: "approve" | "reject") =>
    act(async () => {
      await api.decidePromotion(model.name, p.id, decision);
      return decision === "approve" ? `Approved: v${p.version} is now in ${p.to}` : `Rejected the request for v${p.version}`;
    });

  async function act(fn: () => Promise<string>) {
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      setNotice(await fn());
      promotions.reload();
      history.reload();
      onChange();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  const promote = (e: FormEvent) => {
    e.preventDefault();
    void act(async () => {
      const r = await api.promoteModel(model.name, { version, to: stage, ...(reason.trim() ? { reason: reason.trim() } : {}) });
      setReason("");
      return r.transition ? `v${version} is now in ${stage}` : `Requested v${version} → ${stage}; an owner approves it`;
    });
  };
  const rollback = (e: FormEvent) => {
    e.preventDefault();
    void act(async () => {
      const t = await api.rollbackModel(model.name, rollbackReason.trim());
      setRollbackReason("");
      return `Production rolled back to v${t.version}`;
    });
  };

  return (
    <section className="model-lifecycle" data-testid="model-lifecycle" aria-label={`Stages of ${model.name}`}>
      <div className="alias-row" data-testid="stages">
        {STAGE_ALIASES.map((s) => (
          <Badge key={s} tone={s === "production" ? "good" : "info"}>
            {s}: {model.aliases[s] !== undefined ? `v${model.aliases[s]}` : "—"}
          </Badge>
        ))}
      </div>

      {pending.length > 0 ? (
        <ul className="promotion-requests" aria-label="Pending promotion requests">
          {pending.map((p) => (
            <li key={p.id} data-testid="promotion-request">
              <span>
                v{p.version} → {p.to} requested by <strong>{p.requestedBy}</strong>
                {p.reason ? `: ${p.reason}` : ""}
              </span>{" "}
              <button type="button" className="btn btn-small btn-primary" disabled={busy} onClick={() => void decide(p, "approve")}>
                Approve
              </button>{" "}
              <button type="button" className="btn btn-small" disabled={busy} onClick={() => void decide(p, "reject")}>
                Reject
              </button>
            </li>
          ))}
        </ul>
      ) : null}

      <form className="inline-form" onSubmit={promote} aria-label="Promote a version">
        <span className="muted small">Promote</span>
        <select aria-label="Version to promote" value={version} onChange={(e) => setVersion(Number(e.target.value))}>
          {[...model.versions]
            .sort((a, b) => b.version - a.version)
            .map((v) => (
              <option key={v.version} value={v.version}>
                v{v.version}
              </option>
            ))}
        </select>
        <select aria-label="Stage" value={stage} onChange={(e) => setStage(e.target.value as ModelStage)}>
          <option value="staging">staging</option>
          <option value="production">production</option>
          <option value="archived">archived</option>
        </select>
        <input aria-label="Reason for the promotion" placeholder="why" value={reason} onChange={(e) => setReason(e.target.value)} />
        <button type="submit" className="btn btn-small" disabled={busy}>
          Promote
        </button>
      </form>

      {model.aliases.production !== undefined ? (
        <form className="inline-form" onSubmit={rollback} aria-label="Roll back production">
          <span className="muted small">Roll back production</span>
          <input
            aria-label="Reason for the rollback"
            placeholder="why"
            required
            value={rollbackReason}
            onChange={(e) => setRollbackReason(e.target.value)}
          />
          <button type="submit" className="btn btn-small" disabled={busy || !rollbackReason.trim()}>
            Rollback
          </button>
        </form>
      ) : null}

      {notice ? (
        <p className="small" role="status">
          {notice}
        </p>
      ) : null}
      {error ? <ErrorBox error={error} title="Could not change the stage" /> : null}

      {history.data && history.data.length > 0 ? (
        <details className="model-history">
          <summary>History ({history.data.length})</summary>
          <ol data-testid="model-history">
            {history.data.map((t) => (
              <li key={t.id} className="small">
                {t.kind === "alias_removed" ? (
                  `${t.stage}: v${t.version} removed by ${t.actor}`
                ) : (
                  <>
                    {t.stage}: v{t.version}
                    {t.replaced !== null ? ` (replaced v${t.replaced})` : ""} by {t.actor}, {t.kind}
                  </>
                )}
                {t.reason ? ` — ${t.reason}` : ""} <span className="muted">{formatRelative(t.at, now)}</span>
              </li>
            ))}
          </ol>
        </details>
      ) : null}
    </section>
  );
}
