import type { RunSummary } from "@caretflow/contracts";
import { Fragment, type ReactNode, useEffect, useMemo, useState } from "react";
import { Link, useNavigate, useSearchParams } from "react-router-dom";
import { useNow, useResource } from "../../api/context.tsx";
import { lowerIsBetter, modelName, taskLabel } from "../../lib/catalog.ts";
import { formatMetric, formatNumber, formatRelative } from "../../lib/format.ts";
import { EmptyState, ErrorBox, Skeleton } from "../../ui/feedback.tsx";
import { Card, PageHeader, StatusBadge } from "../../ui/layout.tsx";
import { ScrollRegion } from "../../ui/scroll.tsx";
import { RunsFilters } from "./RunsFilters.tsx";
import {
  changeView,
  keySort,
  metricColumns,
  PAGE_SIZES,
  pageCount,
  paramColumns,
  type RunsView,
  readRunsView,
  runsQuery,
  sortedKey,
  togglePicked,
  toggleSort,
  writeRunsView,
} from "./runs.view.ts";
import "./runs.css";

/** Every training run, paged, sorted and filtered by the server; the view lives in the address. */
export function RunsPage() {
  const [search, setSearch] = useSearchParams();
  const view = readRunsView(search);
  const query = runsQuery(view);
  const runs = useResource((api) => api.listRunsPage(query), `runs?${new URLSearchParams(query as Record<string, string>)}`, {
    keepPrevious: true,
  });
  const catalog = useResource((api) => api.catalog(), "catalog").data;
  const datasets = useResource((api) => api.listDatasets(), "datasets").data;
  const taskOf = (r: RunSummary) => catalog?.tasks.find((t) => t.task === r.task);
  const navigate = useNavigate();
  const now = useNow(false);
  const go = (next: RunsView) => setSearch(writeRunsView(next));
  // Ticked runs live in the address too, so a reload or a shared link keeps the selection. The boxes
  // follow local state at once; the address follows it, and back/forward bring its ticks back.
  const [picked, setPicked] = useState<string[]>(view.sel);
  const selKey = view.sel.join(",");
  // biome-ignore lint/correctness/useExhaustiveDependencies: the address's ticks, compared by value
  useEffect(() => setPicked(view.sel), [selKey]);
  const pick = (sel: string[]) => {
    setPicked(sel);
    go({ ...view, sel });
  };
  const toggle = (id: string) => pick(togglePicked({ ...view, sel: picked }, id).sel);
  const change = (c: Partial<Omit<RunsView, "page">>) => go(changeView(view, c));

  const rows = runs.data?.runs ?? [];
  const total = runs.data?.total ?? 0;
  const pages = pageCount(total, view.size);
  const tasksShown = useMemo(
    () => (catalog?.tasks ?? []).filter((t) => (view.task ? t.task === view.task : rows.some((r) => r.task === t.task))),
    [catalog, rows, view.task],
  );
  const paramCols = paramColumns(view);
  const metrics = metricColumns(
    rows,
    tasksShown.flatMap((t) => t.metrics.map((m) => m.name)),
  );
  // The sorted metric stays a column even when this page's runs lack it.
  const sortedMetric = sortedKey(view, "metrics");
  if (sortedMetric && !metrics.includes(sortedMetric)) metrics.unshift(sortedMetric);
  const filtered = view.filters.length > 0 || view.q !== "" || view.status !== "" || view.task !== "" || view.dataset !== "";

  const header = (label: ReactNode, sort: string | null, firstDir: "asc" | "desc", align?: "right") => {
    const active = sort !== null && view.sort === sort;
    return (
      <th
        scope="col"
        className={align === "right" ? "num" : ""}
        aria-sort={active ? (view.order === "asc" ? "ascending" : "descending") : undefined}
      >
        {sort ? (
          <button type="button" className="th-sort" onClick={() => go(toggleSort(view, sort, firstDir))} data-sort={sort}>
            {label}
            <span className={`sort-arrow ${active ? "sort-arrow-active" : ""}`} aria-hidden="true">
              {active ? (view.order === "asc" ? "▲" : "▼") : "↕"}
            </span>
          </button>
        ) : (
          label
        )}
      </th>
    );
  };

  return (
    <div className="page">
      <PageHeader
        title="Experiments"
        subtitle="Every training run, of any task, tracked in MLflow with its parameters, metrics, charts and model."
        actions={
          <Link className="btn btn-primary" to="/train">
            New training
          </Link>
        }
      />
      {runs.error ? <ErrorBox error={runs.error} onRetry={runs.reload} /> : null}
      {!runs.data && !runs.error ? (
        <Skeleton lines={5} />
      ) : runs.data && total === 0 && !filtered ? (
        <EmptyState
          title="No runs yet"
          action={
            <Link className="btn btn-primary" to="/train">
              Train a model
            </Link>
          }
        >
          Train a model on one of your datasets; each training becomes a run here.
        </EmptyState>
      ) : (
        <Card
          actions={
            <>
              {picked.length > 0 ? (
                <button type="button" className="btn btn-small" onClick={() => pick([])}>
                  Clear selection
                </button>
              ) : null}
              <button
                type="button"
                className="btn btn-small btn-primary"
                disabled={picked.length < 2}
                data-testid="compare-runs"
                onClick={() => navigate(`/experiments/compare?runs=${picked.join(",")}`)}
              >
                Compare{picked.length > 0 ? ` (${picked.length})` : ""}
              </button>
            </>
          }
        >
          <RunsFilters
            view={view}
            catalog={catalog}
            metricNames={metrics}
            paramKeys={runs.data?.paramKeys ?? []}
            datasets={[
              ...(datasets ?? []).map((d) => d.name),
              ...rows.flatMap((r) => (r.dataset ? [r.dataset.replace(/@v\d+$/, "")] : [])),
            ]}
            onChange={change}
          />
          <p className="muted small">
            Tick two or more runs, of any task and on any page, to compare their parameters, metrics and charts side by side.
          </p>
          <ScrollRegion className="table-wrap" label="Training runs">
            <table className="table" data-testid="runs-table" aria-busy={runs.loading}>
              <caption className="sr-only">Training runs</caption>
              <thead>
                <tr>
                  <th scope="col">
                    <span className="sr-only">Compare</span>
                  </th>
                  {header("Run", "name", "asc")}
                  {header("Dataset", null, "asc")}
                  {header("Task", null, "asc")}
                  {header("Best model", null, "asc")}
                  {metrics.map((m) => (
                    <Fragment key={m}>
                      {header(m, keySort("metrics", m), tasksShown.some((t) => lowerIsBetter(t, m)) ? "asc" : "desc", "right")}
                    </Fragment>
                  ))}
                  {paramCols.map((p) => (
                    <Fragment key={`param:${p}`}>{header(p, keySort("params", p), "asc")}</Fragment>
                  ))}
                  {header("Status", null, "asc")}
                  {header("Started", "start_time", "desc")}
                </tr>
              </thead>
              <tbody>
                {rows.length === 0 ? (
                  <tr>
                    <td colSpan={7 + metrics.length + paramCols.length} className="table-empty">
                      {view.page > 1 ? (
                        <>
                          No runs on page {view.page}.{" "}
                          <button type="button" className="btn btn-small" onClick={() => go({ ...view, page: 1 })}>
                            First page
                          </button>
                        </>
                      ) : (
                        "No run matches these filters."
                      )}
                    </td>
                  </tr>
                ) : (
                  rows.map((r) => (
                    <tr key={r.runId} data-run-id={r.runId}>
                      <td>
                        <input
                          type="checkbox"
                          checked={picked.includes(r.runId)}
                          onChange={() => toggle(r.runId)}
                          aria-label={`Compare ${r.name}`}
                          data-testid="pick-run"
                        />
                      </td>
                      <td>
                        <Link to={`/experiments/${r.runId}`} className="strong-link">
                          {r.name}
                        </Link>
                      </td>
                      <td>{r.dataset ?? "—"}</td>
                      <td>{taskLabel(catalog, r.task)}</td>
                      <td>{modelName(taskOf(r), r.bestModel) ?? "—"}</td>
                      {metrics.map((m) => (
                        <td key={m} className="num" data-metric={m}>
                          {typeof r.metrics[m] === "number" ? formatMetric(r.metrics[m]) : "—"}
                        </td>
                      ))}
                      {paramCols.map((p) => (
                        <td key={`param:${p}`} data-param={p}>
                          {r.params?.[p] ?? "—"}
                        </td>
                      ))}
                      <td>
                        <StatusBadge status={r.status} />
                      </td>
                      <td>{formatRelative(r.startTime, now)}</td>
                    </tr>
                  ))
                )}
              </tbody>
            </table>
          </ScrollRegion>
          <nav className="pager runs-pager" aria-label="Pages of runs">
            <button type="button" className="btn btn-small" disabled={view.page <= 1} onClick={() => go({ ...view, page: view.page - 1 })}>
              Previous
            </button>
            <span className="muted small" data-testid="runs-range">
              Page {view.page} of {pages} · {formatNumber(total, 0)} run{total === 1 ? "" : "s"}
            </span>
            <button
              type="button"
              className="btn btn-small"
              disabled={view.page >= pages}
              onClick={() => go({ ...view, page: view.page + 1 })}
            >
              Next
            </button>
            <select aria-label="Runs per page" value={view.size} onChange={(e) => change({ size: Number(e.target.value) })}>
              {PAGE_SIZES.map((n) => (
                <option key={n} value={n}>
                  {n} / page
                </option>
              ))}
            </select>
          </nav>
        </Card>
      )}
    </div>
  );
}
