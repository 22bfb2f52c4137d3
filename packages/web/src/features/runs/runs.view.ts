import { type RunSummary, type RunsQuery, runKeyRef, runSortKey } from "@caretflow/contracts";
import { summaryMetrics } from "../../lib/catalog.ts";

/** What the runs list shows: a page, its order and its filters, all kept in the page's address. */
export interface RunsView {
  /** 1-based */
  page: number;
  size: number;
  /** start_time, end_time, name, metrics.KEY or params.KEY (GET /api/runs `sort`) */
  sort: string;
  order: "asc" | "desc";
  /** clauses such as `metrics.AUC > 0.8`, `params.model = lr`, `tags.team = a`; joined by `and` for the server */
  filters: string[];
  status: string;
  task: string;
  /** dataset NAME or NAME@vVERSION */
  dataset: string;
  q: string;
  /** param keys shown as columns, in order */
  cols: string[];
  /** run ids ticked for comparison, in the order ticked (kept across pages, filters and reloads) */
  sel: string[];
}

export const PAGE_SIZES = [10, 25, 50, 100] as const;
export const DEFAULT_VIEW: RunsView = {
  page: 1,
  size: 25,
  sort: "start_time",
  order: "desc",
  filters: [],
  status: "",
  task: "",
  dataset: "",
  q: "",
  cols: [],
  sel: [],
};
export const FILTER_OPS = [">", ">=", "<", "<=", "=", "!="] as const;
export type FilterField = "metrics" | "params" | "tags";

const SORT = /^(start_time|end_time|name|(metrics|params)\.[^`\n]{1,250}|(metrics|params)\.`[^`\n]{1,250}`)$/;
/** An MLflow run id as the address may carry it (anything else is dropped). */
const RUN_ID = /^[A-Za-z0-9_-]{1,64}$/;
const int = (v: string | null, fallback: number) => {
  const n = Number(v);
  return v !== null && Number.isInteger(n) && n > 0 ? n : fallback;
};

/** The view an address asks for; anything unreadable falls back to the default. */
export function readRunsView(search: URLSearchParams): RunsView {
  const size = int(search.get("size"), DEFAULT_VIEW.size);
  const sort = search.get("sort") ?? "";
  return {
    page: int(search.get("page"), 1),
    size: (PAGE_SIZES as readonly number[]).includes(size) ? size : DEFAULT_VIEW.size,
    sort: SORT.test(sort) ? sort : DEFAULT_VIEW.sort,
    order: search.get("order") === "asc" ? "asc" : search.get("order") === "desc" ? "desc" : DEFAULT_VIEW.order,
    filters: search.getAll("f").filter((f) => f.trim() !== ""),
    status: search.get("status") ?? "",
    task: search.get("task") ?? "",
    dataset: search.get("dataset") ?? "",
    q: search.get("q") ?? "",
    cols: [...new Set(search.getAll("cols").filter((c) => c !== ""))],
    sel: [...new Set(search.getAll("sel").filter((id) => RUN_ID.test(id)))],
  };
}

/** The address of a view, defaults left out, so a link reproduces it. */
export function writeRunsView(v: RunsView): URLSearchParams {
  const p = new URLSearchParams();
  if (v.q) p.set("q", v.q);
  if (v.status) p.set("status", v.status);
  if (v.task) p.set("task", v.task);
  if (v.dataset) p.set("dataset", v.dataset);
  for (const c of v.cols) p.append("cols", c);
  for (const f of v.filters) p.append("f", f);
  for (const id of v.sel) p.append("sel", id);
  if (v.sort !== DEFAULT_VIEW.sort || v.order !== DEFAULT_VIEW.order) {
    p.set("sort", v.sort);
    p.set("order", v.order);
  }
  if (v.size !== DEFAULT_VIEW.size) p.set("size", String(v.size));
  if (v.page > 1) p.set("page", String(v.page));
  return p;
}

/**
 * The parameter columns a view shows: those picked, then the parameter it sorts on when not picked
 * (an address or a link may sort on one without picking it).
 * @example paramColumns({ ...view, cols: ["model"], sort: "params.fold" }) // ["model", "fold"]
 */
export function paramColumns(v: RunsView): string[] {
  const sorted = sortedKey(v, "params");
  return sorted !== null && !v.cols.includes(sorted) ? [...v.cols, sorted] : v.cols;
}

/** The query of GET /api/runs for a view. */
export function runsQuery(v: RunsView): Partial<RunsQuery> {
  return {
    limit: v.size,
    offset: (v.page - 1) * v.size,
    sort: v.sort,
    order: v.order,
    ...(v.filters.length > 0 ? { filter: v.filters.join(" and ") } : {}),
    ...(v.status ? { status: v.status as RunsQuery["status"] } : {}),
    ...(v.task ? { task: v.task } : {}),
    ...(v.dataset ? { dataset: v.dataset } : {}),
    ...(paramColumns(v).length > 0 ? { params: paramColumns(v).join(",") } : {}),
    ...(v.q ? { q: v.q } : {}),
  };
}

/** Changes that narrow or reorder the list start again from its first page. */
export function changeView(v: RunsView, change: Partial<Omit<RunsView, "page">>): RunsView {
  return { ...v, ...change, page: 1 };
}

/** Clicking a header: the first click sorts by it (`firstDir`), the next reverses it. */
export function toggleSort(v: RunsView, sort: string, firstDir: "asc" | "desc"): RunsView {
  const order = v.sort === sort ? (v.order === "asc" ? "desc" : "asc") : firstDir;
  return changeView(v, { sort, order });
}

/** Ticks or unticks a run for comparison, keeping the page the person is on. */
export function togglePicked(v: RunsView, runId: string): RunsView {
  return { ...v, sel: v.sel.includes(runId) ? v.sel.filter((x) => x !== runId) : [...v.sel, runId] };
}

export function pageCount(total: number, size: number): number {
  return Math.max(1, Math.ceil(total / size));
}

/** A param or tag value as a clause reads it: between quotes when it holds ` and ` or starts with a quote. */
function quoteValue(val: string): string {
  if (!/\sand\s/i.test(val) && !/^['"`]/.test(val)) return val;
  const q = !val.includes("'") ? "'" : !val.includes('"') ? '"' : "`";
  return `${q}${val}${q}`;
}

/** The sort of a metric or param column (its key between backticks when it needs them). */
export function keySort(field: "metrics" | "params", key: string): string {
  return runKeyRef(field, key);
}

/** The metric a view sorts on, or null. */
export function sortedKey(v: RunsView, field: "metrics" | "params"): string | null {
  const s = runSortKey(v.sort);
  return s && s.field === field ? s.key : null;
}

/**
 * A filter clause from the form's fields, or a message saying what to fix.
 * @example filterClause("metrics", "AUC", ">", "0.8") // { clause: "metrics.AUC > 0.8" }
 */
export function filterClause(
  field: FilterField,
  key: string,
  op: string,
  value: string,
  /** keys taken exactly as given (a logged key may end in a space); any other key is trimmed */
  known: readonly string[] = [],
): { clause: string } | { error: string } {
  const k = known.includes(key) ? key : key.trim();
  const val = value.trim();
  if (!k) return { error: `Name the ${field === "metrics" ? "metric" : field === "params" ? "parameter" : "tag"} to filter on.` };
  if (!(FILTER_OPS as readonly string[]).includes(op)) return { error: `Unknown operator ${op}.` };
  const ordered = op !== "=" && op !== "!=";
  if (field === "tags" && ordered) return { error: "Tags compare with = or != only." };
  if (val === "") return { error: "Give a value to compare with." };
  const numeric = val !== "" && Number.isFinite(Number(val));
  if (field === "metrics" && !numeric) return { error: "A metric is compared with a number, e.g. 0.8." };
  if (field === "params" && ordered && !numeric)
    return { error: `A parameter is compared with ${op} to a number, e.g. 5; = and != take any value.` };
  return { clause: `${runKeyRef(field, k)} ${op} ${field === "metrics" || ordered ? Number(val) : quoteValue(val)}` };
}

/** The metric columns of a page: the summary metrics its runs logged, the tasks' own first (`preferred`), at most `max`. */
export function metricColumns(runs: readonly Pick<RunSummary, "metrics">[], preferred: readonly string[], max = 6): string[] {
  const logged = new Set(runs.flatMap((r) => summaryMetrics(r.metrics).map(([k]) => k)));
  const first = preferred.filter((m, i) => logged.has(m) && preferred.indexOf(m) === i);
  const rest = [...logged].filter((m) => !first.includes(m)).sort();
  return [...first, ...rest].slice(0, max);
}
