import type { AuditEntry, AuditVerifyResult } from "@caretflow/contracts";
import { type FormEvent, useState } from "react";
import { useApi, useResource } from "../../api/context.tsx";
import { formatDateTime } from "../../lib/format.ts";
import { EmptyState, ErrorBox, Skeleton } from "../../ui/feedback.tsx";
import { Badge, Card, PageHeader } from "../../ui/layout.tsx";
import { DataTable } from "../../ui/table.tsx";
import { useAuth } from "../auth/auth.context.tsx";
import { type AuditFilters, auditParams, auditQuery, KNOWN_ACTIONS, NO_FILTERS, snapshotText, targetText } from "./audit.helpers.ts";
import "./audit.css";

const PAGE_SIZE = 50;

/** The audit log: every change, who made it, when and from where; searchable, paged, and its hash chain checked on demand. */
export function AuditPage() {
  const { user } = useAuth();
  if (user?.role !== "admin") {
    return (
      <div className="page">
        <PageHeader title="Audit log" />
        <EmptyState title="Only site admins may read the audit log">Ask a site admin to search or export it for you.</EmptyState>
      </div>
    );
  }
  return <AuditLogView />;
}

function AuditLogView() {
  const api = useApi();
  const [draft, setDraft] = useState<AuditFilters>(NO_FILTERS);
  const [filters, setFilters] = useState<AuditFilters>(NO_FILTERS);
  // Cursors of the pages before this one, newest first; the last is the current page's `before`.
  const [cursors, setCursors] = useState<number[]>([]);
  const before = cursors.at(-1);
  const params = auditParams(filters);
  const query = auditQuery(filters, { limit: PAGE_SIZE, before });
  const page = useResource((a) => a.listAudit({ ...params, limit: PAGE_SIZE, ...(before === undefined ? {} : { before }) }), query);
  const [verify, setVerify] = useState<{ result?: AuditVerifyResult; error?: unknown; busy: boolean }>({ busy: false });

  const apply = (e: FormEvent) => {
    e.preventDefault();
    setFilters(draft);
    setCursors([]);
  };
  const clear = () => {
    setDraft(NO_FILTERS);
    setFilters(NO_FILTERS);
    setCursors([]);
  };
  const runVerify = async () => {
    setVerify({ busy: true });
    try {
      setVerify({ result: await api.verifyAudit(), busy: false });
    } catch (error) {
      setVerify({ error, busy: false });
    }
  };
  const field = (key: keyof AuditFilters) => ({
    value: draft[key],
    onChange: (e: { target: { value: string } }) => setDraft((d) => ({ ...d, [key]: e.target.value })),
  });

  return (
    <div className="page">
      <PageHeader
        title="Audit log"
        subtitle="Every change, who made it, when and from where. Rows are hash-chained: an edited or deleted row is detected."
        actions={
          <>
            <a className="btn" href={api.auditExportUrl({ ...params, format: "csv" })} download>
              Export CSV
            </a>
            <a className="btn" href={api.auditExportUrl({ ...params, format: "ndjson" })} download>
              Export NDJSON
            </a>
            <button type="button" className="btn btn-primary" onClick={() => void runVerify()} disabled={verify.busy}>
              {verify.busy ? "Verifying…" : "Verify chain"}
            </button>
          </>
        }
      />
      {verify.result || verify.error ? (
        <div className="audit-verify" data-testid="audit-verify-result" role="status">
          {verify.error ? (
            <ErrorBox error={verify.error} title="Could not verify the chain" />
          ) : verify.result?.ok ? (
            <>
              <Badge tone="good">Chain intact</Badge> {verify.result.rows} entries check out
              {verify.result.head ? <span className="muted small"> · head {verify.result.head.hash.slice(0, 12)}</span> : null}
            </>
          ) : verify.result ? (
            <>
              <Badge tone="bad">Chain broken at row {verify.result.seq}</Badge> {verify.result.message}
            </>
          ) : null}
        </div>
      ) : null}

      <Card>
        <form className="audit-filters" onSubmit={apply} aria-label="Filter the audit log">
          <label className="field audit-search">
            <span className="field-label">Search</span>
            <input type="search" placeholder="text in the action, actor, target or details" {...field("q")} />
          </label>
          <label className="field">
            <span className="field-label">Action</span>
            <input list="audit-actions" placeholder="e.g. job.create or job.*" {...field("action")} />
            <datalist id="audit-actions">
              {KNOWN_ACTIONS.map((a) => (
                <option key={a} value={a} />
              ))}
            </datalist>
          </label>
          <label className="field">
            <span className="field-label">Actor</span>
            <input placeholder="username, or system" {...field("actor")} />
          </label>
          <label className="field">
            <span className="field-label">Target</span>
            <input placeholder="id, or kind:id" {...field("target")} />
          </label>
          <label className="field">
            <span className="field-label">From</span>
            <input type="date" {...field("since")} />
          </label>
          <label className="field">
            <span className="field-label">To</span>
            <input type="date" {...field("until")} />
          </label>
          <div className="audit-filter-actions">
            <button type="submit" className="btn btn-primary">
              Apply
            </button>
            <button type="button" className="btn" onClick={clear}>
              Clear
            </button>
          </div>
        </form>
      </Card>

      <Card>
        {page.error ? <ErrorBox error={page.error} onRetry={page.reload} /> : null}
        {!page.data ? (
          page.error ? null : (
            <Skeleton lines={6} />
          )
        ) : page.data.entries.length === 0 ? (
          <EmptyState title="No entries">No audit entries match these filters.</EmptyState>
        ) : (
          <>
            <DataTable<AuditEntry>
              rows={page.data.entries}
              rowKey={(e) => String(e.seq)}
              testId="audit-table"
              caption="Audit entries"
              columns={[
                { key: "seq", header: "#", align: "right", render: (e) => e.seq },
                { key: "at", header: "Time", render: (e) => <time dateTime={e.at}>{formatDateTime(e.at)}</time> },
                {
                  key: "actor",
                  header: "Actor",
                  render: (e) => (e.actor.id === null ? <span className="muted">{e.actor.name}</span> : e.actor.name),
                },
                { key: "action", header: "Action", render: (e) => <code className="audit-action">{e.action}</code> },
                { key: "target", header: "Target", render: (e) => <span className="audit-target">{targetText(e)}</span> },
                { key: "project", header: "Project", render: (e) => e.project ?? "—" },
                { key: "address", header: "Address", render: (e) => e.address ?? "—" },
                { key: "details", header: "Details", render: (e) => <Details entry={e} /> },
              ]}
            />
            <div className="audit-pager">
              <button type="button" className="btn btn-small" disabled={cursors.length === 0} onClick={() => setCursors([])}>
                Newest
              </button>
              <button
                type="button"
                className="btn btn-small"
                disabled={cursors.length === 0}
                onClick={() => setCursors((c) => c.slice(0, -1))}
              >
                Newer
              </button>
              <button
                type="button"
                className="btn btn-small"
                disabled={page.data.nextBefore === null}
                onClick={() => {
                  const next = page.data?.nextBefore;
                  if (next != null) setCursors((c) => [...c, next]);
                }}
              >
                Older
              </button>
            </div>
          </>
        )}
      </Card>
    </div>
  );
}

function Details({ entry }: { entry: AuditEntry }) {
  const before = snapshotText(entry.before);
  const after = snapshotText(entry.after);
  if (!before && !after) return <span className="muted">—</span>;
  return (
    <div className="audit-details">
      {before ? (
        <div>
          <span className="muted small">before </span>
          <code>{before}</code>
        </div>
      ) : null}
      {after ? (
        <div>
          <span className="muted small">after </span>
          <code>{after}</code>
        </div>
      ) : null}
    </div>
  );
}
