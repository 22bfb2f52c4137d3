import type { DatasetVersion, QualityReport, QualityRule, QualityRuleInput, QualityRuleResult } from "@caretflow/contracts";
import { cloneElement, type FormEvent, type ReactElement, useId, useState } from "react";
import { useApi, useResource } from "../../api/context.tsx";
import { formatDateTime, formatNumber } from "../../lib/format.ts";
import { EmptyState, ErrorBox, Skeleton } from "../../ui/feedback.tsx";
import { Badge, Card } from "../../ui/layout.tsx";
import { emptyRuleForm, formFromRule, RULE_TYPES, type RuleForm, ruleFromForm, ruleNeedsColumn } from "./quality.helpers.ts";
import "./quality.css";

/**
 * The Quality tab: the version's latest report (pass/fail per rule, failing examples), the dataset's
 * rules with add, edit (severity) and remove, and the rules the profile suggests, accepted in one click.
 */
export function QualityView({ dataset, version }: { dataset: string; version: DatasetVersion }) {
  const api = useApi();
  const rules = useResource((a) => a.listQualityRules(dataset), `${dataset}/quality/rules`);
  const report = useResource((a) => a.qualityReport(dataset, version.version), `${dataset}/${version.version}/quality`);
  const suggestions = useResource((a) => a.qualitySuggestions(dataset, version.version), `${dataset}/${version.version}/quality/suggest`);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [editing, setEditing] = useState<QualityRule | null>(null);

  const reloadAll = () => {
    rules.reload();
    report.reload();
    suggestions.reload();
  };
  const act = async (what: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await what();
      reloadAll();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const runCheck = () => act(() => api.runQualityCheck(dataset, version.version));

  return (
    <div className="quality-grid" data-testid="quality">
      {error ? <ErrorBox error={error} title="The change was not made" /> : null}
      <Card
        title={`Report for v${version.version}`}
        actions={
          <button type="button" className="btn btn-primary" onClick={() => void runCheck()} disabled={busy}>
            Run checks now
          </button>
        }
      >
        {report.error ? <ErrorBox error={report.error} onRetry={report.reload} /> : null}
        {report.data === undefined ? (
          <Skeleton lines={3} />
        ) : report.data.report ? (
          <ReportView report={report.data.report} current={report.data.current} />
        ) : (
          <p className="muted" data-testid="quality-no-report">
            No checks have run on this version yet. Rules run on every new version; run them now for this one.
          </p>
        )}
      </Card>

      <Card title="Rules">
        {rules.error ? <ErrorBox error={rules.error} onRetry={rules.reload} /> : null}
        {rules.data === undefined ? (
          <Skeleton lines={3} />
        ) : rules.data.length === 0 ? (
          <EmptyState title="No quality rules yet">Add one below, or accept the rules the profile suggests.</EmptyState>
        ) : (
          <RulesTable
            rules={rules.data}
            busy={busy}
            onSeverity={(r) =>
              act(() =>
                api.updateQualityRule(dataset, r.id, {
                  check: r.check,
                  name: r.name,
                  severity: r.severity === "blocking" ? "warning" : "blocking",
                }),
              )
            }
            onEdit={setEditing}
            onRemove={(r) => act(() => api.deleteQualityRule(dataset, r.id))}
          />
        )}
        <RuleFormView
          // A new key per rule edited, so the form starts from that rule's values.
          key={editing?.id ?? "new"}
          version={version}
          busy={busy}
          editing={editing}
          onCancel={() => setEditing(null)}
          onSave={(rule) =>
            act(async () => {
              if (editing) await api.updateQualityRule(dataset, editing.id, rule);
              else await api.createQualityRule(dataset, rule);
              setEditing(null);
            })
          }
        />
      </Card>

      <Card title="Suggested rules">
        {suggestions.error ? <ErrorBox error={suggestions.error} onRetry={suggestions.reload} /> : null}
        {suggestions.data === undefined ? (
          <Skeleton lines={2} />
        ) : suggestions.data.suggestions.length === 0 ? (
          <p className="muted">Nothing to suggest: the profile's rules are all there.</p>
        ) : (
          <>
            <p className="muted small">
              From the profile of v{suggestions.data.version}; accepted rules are warnings until you make them blocking.
            </p>
            <ul className="quality-suggestions" data-testid="quality-suggestions">
              {suggestions.data.suggestions.map((s) => (
                <li key={s.name}>
                  <button
                    type="button"
                    className="btn btn-small"
                    disabled={busy}
                    aria-label={`Accept rule ${s.name}`}
                    onClick={() => void act(() => api.createQualityRule(dataset, s))}
                  >
                    Accept
                  </button>
                  <span>{s.name}</span>
                </li>
              ))}
            </ul>
            <button
              type="button"
              className="btn"
              disabled={busy}
              onClick={() =>
                void act(async () => {
                  for (const s of suggestions.data?.suggestions ?? []) await api.createQualityRule(dataset, s);
                })
              }
            >
              Accept all
            </button>
          </>
        )}
      </Card>
    </div>
  );
}

function ReportView({ report, current }: { report: QualityReport; current: boolean }) {
  return (
    <div data-testid="quality-report">
      <p>
        {report.blockingFailures > 0 ? (
          <Badge tone="bad">blocked</Badge>
        ) : report.warnings > 0 ? (
          <Badge tone="warn">warnings</Badge>
        ) : (
          <Badge tone="good">passed</Badge>
        )}{" "}
        <span className="muted">
          checked {formatDateTime(report.checkedAt)} ({triggerText(report.trigger)})
          {report.blockingFailures > 0 ? " · training on this version is refused until the blocking rules pass" : ""}
        </span>
      </p>
      {current ? null : <p className="muted small">The rules changed since this report; run the checks again to see today's answer.</p>}
      {report.results.length === 0 ? <p className="muted">The dataset had no rules when this ran.</p> : null}
      <ul className="quality-results">
        {report.results.map((r) => (
          <ResultItem key={r.ruleId} r={r} />
        ))}
      </ul>
    </div>
  );
}

function ResultItem({ r }: { r: QualityRuleResult }) {
  return (
    <li data-testid="quality-result" data-passed={r.passed}>
      <Badge tone={r.passed ? "good" : r.severity === "blocking" ? "bad" : "warn"}>{r.passed ? "pass" : "fail"}</Badge>{" "}
      <strong>{r.name}</strong> <Badge tone="muted">{r.severity}</Badge> <span className="muted">{r.message}</span>
      {!r.passed && r.failing > 0 ? <span className="muted"> · {formatNumber(r.failing)} failing</span> : null}
      {!r.passed && r.examples.length > 0 ? (
        <ul className="quality-examples" aria-label={`Examples failing ${r.name}`}>
          {r.examples.map((e, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: examples are positional
            <li key={i}>{JSON.stringify(e)}</li>
          ))}
        </ul>
      ) : null}
    </li>
  );
}

function triggerText(t: QualityReport["trigger"]): string {
  return t === "new_version" ? "when the version was stored" : t === "train" ? "before a training request" : "on request";
}

function RulesTable({
  rules,
  busy,
  onSeverity,
  onEdit,
  onRemove,
}: {
  rules: QualityRule[];
  busy: boolean;
  onSeverity: (r: QualityRule) => void;
  onEdit: (r: QualityRule) => void;
  onRemove: (r: QualityRule) => void;
}) {
  return (
    <table className="table" data-testid="quality-rules">
      <caption className="sr-only">Quality rules</caption>
      <thead>
        <tr>
          <th scope="col">Rule</th>
          <th scope="col">Type</th>
          <th scope="col">Severity</th>
          <th scope="col">
            <span className="sr-only">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {rules.map((r) => (
          <tr key={r.id}>
            <td>{r.name}</td>
            <td>
              <code>{r.check.type}</code>
            </td>
            <td>
              <Badge tone={r.severity === "blocking" ? "bad" : "warn"}>{r.severity}</Badge>
            </td>
            <td>
              <button type="button" className="btn btn-small" disabled={busy} onClick={() => onSeverity(r)}>
                Make {r.severity === "blocking" ? "warning" : "blocking"}
              </button>{" "}
              <button type="button" className="btn btn-small" disabled={busy} aria-label={`Edit rule ${r.name}`} onClick={() => onEdit(r)}>
                Edit
              </button>{" "}
              <button
                type="button"
                className="btn btn-small btn-danger"
                disabled={busy}
                aria-label={`Remove rule ${r.name}`}
                onClick={() => onRemove(r)}
              >
                Remove
              </button>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function RuleFormView({
  version,
  busy,
  editing,
  onSave,
  onCancel,
}: {
  version: DatasetVersion;
  busy: boolean;
  editing: QualityRule | null;
  onSave: (rule: QualityRuleInput) => void;
  onCancel: () => void;
}) {
  const first = version.columns[0]?.name ?? "";
  const [form, setForm] = useState<RuleForm>(editing ? formFromRule(editing, first) : emptyRuleForm(first));
  const [problem, setProblem] = useState<string | null>(null);
  const set = (patch: Partial<RuleForm>) => setForm((f) => ({ ...f, ...patch }));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const built = ruleFromForm(form);
    if (typeof built === "string") {
      setProblem(built);
      return;
    }
    setProblem(null);
    onSave(built);
  };
  const t = form.type;
  return (
    <form className="quality-form" onSubmit={submit} aria-label={editing ? `Edit rule ${editing.name}` : "Add a quality rule"}>
      <Field label="Rule type">
        <select value={t} onChange={(e) => set({ type: e.target.value as RuleForm["type"] })}>
          {RULE_TYPES.map((r) => (
            <option key={r.type} value={r.type}>
              {r.label}
            </option>
          ))}
        </select>
      </Field>
      {ruleNeedsColumn(t) ? (
        <Field label="Column">
          <select value={form.column} onChange={(e) => set({ column: e.target.value })}>
            {t === "freshness" ? <option value="">(the version's age)</option> : null}
            {version.columns.map((c) => (
              <option key={c.name} value={c.name}>
                {c.name}
              </option>
            ))}
          </select>
        </Field>
      ) : null}
      {t === "range" || t === "row_count" ? (
        <>
          <Field label="Min">
            <input type="number" step="any" value={form.min} onChange={(e) => set({ min: e.target.value })} />
          </Field>
          <Field label="Max">
            <input type="number" step="any" value={form.max} onChange={(e) => set({ max: e.target.value })} />
          </Field>
        </>
      ) : null}
      {t === "allowed_values" ? (
        <Field label="Allowed values (comma-separated)">
          <input value={form.values} onChange={(e) => set({ values: e.target.value })} />
        </Field>
      ) : null}
      {t === "regex" ? (
        <Field label="Pattern (whole value)">
          <input value={form.pattern} onChange={(e) => set({ pattern: e.target.value })} />
        </Field>
      ) : null}
      {t === "freshness" ? (
        <Field label="At most (hours old)">
          <input type="number" step="any" min="0" value={form.maxAgeHours} onChange={(e) => set({ maxAgeHours: e.target.value })} />
        </Field>
      ) : null}
      {t === "sql" ? (
        <Field label="SQL returning the failing rows of the view data">
          <textarea value={form.sql} onChange={(e) => set({ sql: e.target.value })} placeholder="SELECT * FROM data WHERE price < 0" />
        </Field>
      ) : null}
      <Field label="Name (optional)">
        <input value={form.name} onChange={(e) => set({ name: e.target.value })} />
      </Field>
      <label className="checkbox-label">
        <span>
          <input type="checkbox" checked={form.blocking} onChange={(e) => set({ blocking: e.target.checked })} /> Blocking (stops training)
        </span>
      </label>
      <button type="submit" className="btn btn-primary" disabled={busy}>
        {editing ? "Save rule" : "Add rule"}
      </button>
      {editing ? (
        <button type="button" className="btn" onClick={onCancel}>
          Cancel
        </button>
      ) : null}
      {problem ? (
        <p className="quality-problem" role="alert">
          {problem}
        </p>
      ) : null}
    </form>
  );
}

/** A form field: the label names the control (by id), so a select's options never join its name. */
function Field({ label, children }: { label: string; children: ReactElement<{ id?: string }> }) {
  const id = useId();
  return (
    <div className="quality-field">
      <label htmlFor={id}>{label}</label>
      {cloneElement(children, { id })}
    </div>
  );
}
