import { createHash } from "node:crypto";
import { DEFAULT_PROJECT, type RunSummary, type RunsListRun, type RunsQuery, runSortKey, userError } from "@caretflow/contracts";
import { type Kysely, sql } from "kysely";
import type { ServerTables } from "../db/server.tables.ts";
import { runDatasetName } from "../projects/project.service.ts";
import { ReadCache } from "../read.cache.ts";

/** A training run as the index stores it: the summary the list shows, and the params and tags to filter on. */
export interface IndexedRun {
  summary: RunSummary;
  params: Record<string, string>;
  tags: Record<string, string>;
}

/** How the index stores a run: bump it when the stored form changes, so a full sync writes every run again. */
const INDEX_FORM = 2;

export function runDigest(run: IndexedRun): string {
  return createHash("sha256")
    .update(JSON.stringify([INDEX_FORM, run.summary, run.params, run.tags]))
    .digest("hex");
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
/**
 * The number a param's text stands for (`"10"`, `"0.5"`, `"1e-3"`), or null (`"lr"`, `"True"`, `"None"`):
 * numeric params sort and compare as numbers.
 * @example paramNumber(" 10 ") // 10
 */
export function paramNumber(text: string): number | null {
  const t = text.trim();
  if (!NUMBER.test(t)) return null;
  const n = Number(t);
  return Number.isFinite(n) ? n : null;
}

type Op = ">" | ">=" | "<" | "<=" | "=" | "!=";
export type RunFilter =
  | { kind: "metric"; key: string; op: Op; value: number }
  /** A param compared with > >= < <= holds only where its value is a number. */
  | { kind: "param-number"; key: string; op: Op; value: number }
  | { kind: "param" | "tag"; key: string; op: "=" | "!="; value: string }
  | { kind: "status"; op: "=" | "!="; value: string };

const OPERATOR = /^\s*(>=|<=|!=|=|>|<)\s*/;
const QUOTES = new Set(["`", '"', "'"]);
const unquote = (v: string) => v.trim().replace(/^(['"`])(.*)\1$/s, "$2");

function badFilter(clause: string, why: string): Error {
  return userError(
    "invalid_filter",
    `Cannot read the filter clause '${clause}': ${why}`,
    "Write clauses such as metrics.AUC > 0.8, params.model = lr, params.max_depth <= 5, tags.caretflow.task = classification or status = FINISHED, joined by 'and'; put a key with spaces between backticks (metrics.`F1 score` > 0.5) and a value with ' and ' between quotes.",
  );
}

/** Splits on `and` outside quotes and backticks; a quote opens only where a token starts (after a space, a dot or an operator). */
function splitClauses(text: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (quote) {
      cur += ch;
      if (ch === quote) quote = null;
      continue;
    }
    if (QUOTES.has(ch) && (cur === "" || /[\s.=<>!]$/.test(cur))) {
      quote = ch;
      cur += ch;
      continue;
    }
    const and = /^\s+and\s+/i.exec(text.slice(i));
    if (and && cur.trim() !== "") {
      out.push(cur.trim());
      cur = "";
      i += and[0].length - 1;
      continue;
    }
    cur += ch;
  }
  if (quote) throw badFilter(text.trim(), `the ${quote} opened is never closed`);
  out.push(cur.trim());
  return out;
}

function parseClause(clause: string): RunFilter {
  const head = /^(metrics|params|tags|status)/.exec(clause);
  if (!head) throw badFilter(clause, "expected metrics.KEY, params.KEY, tags.KEY or status, an operator and a value");
  const field = head[1] as "metrics" | "params" | "tags" | "status";
  let rest = clause.slice(field.length);
  let key: string | undefined;
  if (rest.startsWith(".")) {
    rest = rest.slice(1);
    const q = rest[0] ?? "";
    if (q === "`" || q === '"') {
      const end = rest.indexOf(q, 1);
      if (end < 0) throw badFilter(clause, `the ${q} opened before the key is never closed`);
      key = rest.slice(1, end);
      rest = rest.slice(end + 1);
    } else {
      const bare = /^(.+?)\s*(?=>=|<=|!=|=|>|<)/s.exec(rest);
      if (!bare) throw badFilter(clause, "expected an operator (> >= < <= = !=) after the key");
      key = bare[1];
      rest = rest.slice(bare[0].length);
    }
  }
  const opm = OPERATOR.exec(rest);
  if (!opm) throw badFilter(clause, "expected an operator (> >= < <= = !=)");
  const op = opm[1] as Op;
  const value = unquote(rest.slice(opm[0].length));
  if (field === "status") {
    if (key !== undefined || (op !== "=" && op !== "!=")) throw badFilter(clause, "status takes = or !=");
    return { kind: "status", op, value: value.toUpperCase() };
  }
  if (!key) throw badFilter(clause, `${field} needs a key, e.g. ${field}.NAME`);
  if (field === "metrics") {
    const n = Number(value);
    if (value === "" || !Number.isFinite(n)) throw badFilter(clause, "a metric is compared with a number");
    return { kind: "metric", key, op, value: n };
  }
  if (op !== "=" && op !== "!=") {
    if (field === "tags") throw badFilter(clause, "tags take = or !=");
    const n = paramNumber(value);
    if (n === null) throw badFilter(clause, `a param is compared with ${op} to a number (= and != take any value)`);
    return { kind: "param-number", key, op, value: n };
  }
  return { kind: field === "params" ? "param" : "tag", key, op, value };
}

/**
 * Parses `metrics.AUC > 0.8 and params.model = lr` into clauses; throws a 400 naming the clause it cannot
 * read. A key in backticks (or double quotes) is taken as written, spaces and dots included.
 */
export function parseRunFilter(text: string | undefined): RunFilter[] {
  if (!text?.trim()) return [];
  return splitClauses(text.trim()).map(parseClause);
}

/** The param keys a query asks each run to carry: null for none, "*" for all. */
function askedParams(text: string | undefined): string[] | "*" | null {
  if (!text?.trim()) return null;
  if (text.trim() === "*") return "*";
  const keys = [...new Set(text.split(",").filter((k) => k.trim() !== ""))];
  if (keys.length > 100)
    throw userError("invalid_params", `Asked for ${keys.length} params`, "Ask for at most 100 param keys, or * for all of them.");
  return keys;
}

/** A page of the runs list (GET /api/runs). */
export interface RunsPage {
  runs: RunsListRun[];
  total: number;
  paramKeys: string[];
}

/**
 * caretflow's index of MLflow training runs in its own database, so that listing, paging, sorting and
 * filtering them never waits on MLflow. RunsIndexSync keeps it in step.
 */
export class RunsIndexRepository {
  readonly #db: Kysely<ServerTables>;
  readonly #pages: ReadCache<RunsPage>;
  /** The param keys of the runs a filter matches: the same for every page, sort and column choice of that filter. */
  readonly #paramKeys: ReadCache<string[]>;

  /**
   * `pageCacheMs`: how long a page read is served again to the same query (0, the default: never). The
   * writes below and `invalidate()` drop every page at once, so the bound only matters for changes made
   * by another process on the same database (a worker claiming an output dataset).
   */
  constructor(db: Kysely<ServerTables>, opts: { pageCacheMs?: number } = {}) {
    this.#db = db;
    this.#pages = new ReadCache({ ttlMs: opts.pageCacheMs ?? 0, maxEntries: 500 });
    this.#paramKeys = new ReadCache({ ttlMs: opts.pageCacheMs ?? 0, maxEntries: 100 });
  }

  /** Drops the cached pages: something a page depends on changed (the index, or which project owns a dataset). */
  invalidate(): void {
    this.#pages.invalidate();
    this.#paramKeys.invalidate();
  }

  /** Digest of each indexed run, by run id. */
  async digests(): Promise<Map<string, string>> {
    const rows = await this.#db.selectFrom("runs_index").select(["run_id", "digest"]).execute();
    return new Map(rows.map((r) => [r.run_id, r.digest]));
  }

  /** Stores the runs, replacing what was indexed of each; unchanged runs (same digest) are skipped. The number written. */
  async upsert(given: IndexedRun[], now: string, known?: ReadonlyMap<string, string>): Promise<number> {
    const all = [...new Map(given.map((r) => [r.summary.runId, r])).values()]; // a run given twice: the last wins
    const stored = known ?? (await this.digestsOf(all.map((r) => r.summary.runId)));
    const runs = all.filter((r) => stored.get(r.summary.runId) !== runDigest(r));
    if (runs.length === 0) return 0;
    this.invalidate();
    await this.#db.transaction().execute(async (tx) => {
      const ids = runs.map((r) => r.summary.runId);
      for (let i = 0; i < ids.length; i += 500) {
        const part = ids.slice(i, i + 500);
        await tx.deleteFrom("runs_index_values").where("run_id", "in", part).execute();
        await tx.deleteFrom("runs_index").where("run_id", "in", part).execute();
      }
      const rows = runs.map((run) => ({
        run_id: run.summary.runId,
        experiment_id: run.summary.experimentId,
        experiment_name: run.summary.experimentName,
        name: run.summary.name,
        status: run.summary.status,
        start_time: run.summary.startTime,
        end_time: run.summary.endTime,
        task: run.summary.task,
        dataset: run.summary.dataset,
        dataset_name: runDatasetName(run.summary),
        summary_json: JSON.stringify(run.summary),
        digest: runDigest(run),
        synced_at: now,
      }));
      for (let i = 0; i < rows.length; i += 200)
        await tx
          .insertInto("runs_index")
          .values(rows.slice(i, i + 200))
          .execute();
      const values = runs.flatMap(({ summary, params, tags }) => [
        ...Object.entries(summary.metrics).map(([key, num]) => ({ run_id: summary.runId, kind: "metric" as const, key, num, text: null })),
        ...Object.entries(params).map(([key, text]) => ({
          run_id: summary.runId,
          kind: "param" as const,
          key,
          num: paramNumber(text),
          text,
        })),
        ...Object.entries(tags).map(([key, text]) => ({ run_id: summary.runId, kind: "tag" as const, key, num: null, text })),
      ]);
      for (let i = 0; i < values.length; i += 200)
        await tx
          .insertInto("runs_index_values")
          .values(values.slice(i, i + 200))
          .execute();
    });
    // Again once committed: a page read while the transaction ran may have seen the old rows.
    this.invalidate();
    return runs.length;
  }

  async digestsOf(ids: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (let i = 0; i < ids.length; i += 500) {
      const rows = await this.#db
        .selectFrom("runs_index")
        .select(["run_id", "digest"])
        .where("run_id", "in", ids.slice(i, i + 500))
        .execute();
      for (const r of rows) out.set(r.run_id, r.digest);
    }
    return out;
  }

  /** Forgets every indexed run not in `keep` (runs deleted in MLflow); the number forgotten. */
  async retainOnly(keep: ReadonlySet<string>): Promise<number> {
    const stored = await this.#db.selectFrom("runs_index").select("run_id").execute();
    const gone = stored.map((r) => r.run_id).filter((id) => !keep.has(id));
    if (gone.length > 0) this.invalidate();
    for (let i = 0; i < gone.length; i += 500) {
      const part = gone.slice(i, i + 500);
      await this.#db.deleteFrom("runs_index_values").where("run_id", "in", part).execute();
      await this.#db.deleteFrom("runs_index").where("run_id", "in", part).execute();
    }
    if (gone.length > 0) this.invalidate();
    return gone.length;
  }

  /** Ids of indexed runs still RUNNING or SCHEDULED (the sync asks MLflow about them again). */
  async openRunIds(): Promise<string[]> {
    const rows = await this.#db.selectFrom("runs_index").select("run_id").where("status", "in", ["RUNNING", "SCHEDULED"]).execute();
    return rows.map((r) => r.run_id);
  }

  /** The latest start time indexed, or null when the index is empty. */
  async latestStart(): Promise<string | null> {
    const row = await this.#db
      .selectFrom("runs_index")
      .select((eb) => eb.fn.max("start_time").as("latest"))
      .executeTakeFirst();
    return (row?.latest as string | null | undefined) ?? null;
  }

  /** A page of the project's runs: those whose dataset the project owns, and those of no owned dataset in the default project. */
  page(project: string, q: RunsQuery): Promise<RunsPage> {
    return this.#pages.get(JSON.stringify([project, q]), () => this.#readPage(project, q));
  }

  async #readPage(project: string, q: RunsQuery): Promise<RunsPage> {
    const asked = askedParams(q.params);
    let base = this.#db
      .selectFrom("runs_index as r")
      .leftJoin("project_objects as po", (j) => j.onRef("po.name", "=", "r.dataset_name").on("po.kind", "=", "dataset"))
      .where((eb) => eb.fn.coalesce("po.project", sql.lit(DEFAULT_PROJECT)), "=", project);
    if (q.status) base = base.where("r.status", "=", q.status);
    if (q.task) base = base.where("r.task", "=", q.task);
    if (q.dataset) base = base.where(q.dataset.includes("@") ? "r.dataset" : "r.dataset_name", "=", q.dataset);
    if (q.q) {
      const like = `%${q.q.toLowerCase().replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
      base = base.where((eb) =>
        eb.or(
          ["r.name", "r.run_id", "r.dataset", "r.experiment_name"].map((col) =>
            eb(sql`lower(${sql.ref(col)})`, "like", sql`${like} escape '\\'`),
          ),
        ),
      );
    }
    for (const f of parseRunFilter(q.filter)) {
      if (f.kind === "status") {
        base = base.where("r.status", f.op === "=" ? "=" : "<>", f.value);
        continue;
      }
      base = base.where((eb) =>
        eb.exists(
          eb
            .selectFrom("runs_index_values as v")
            .select("v.run_id")
            .whereRef("v.run_id", "=", "r.run_id")
            .where("v.kind", "=", f.kind === "param-number" ? "param" : f.kind)
            .where("v.key", "=", f.key)
            .where(f.kind === "metric" || f.kind === "param-number" ? "v.num" : "v.text", f.op === "!=" ? "<>" : f.op, f.value),
        ),
      );
    }
    const counted = await base.select((eb) => eb.fn.countAll<string | number>().as("n")).executeTakeFirst();
    const total = Number(counted?.n ?? 0);

    const direction = q.order;
    let rows = base.select(["r.run_id", "r.summary_json"]);
    const sorted = runSortKey(q.sort);
    if (sorted) {
      const kind = sorted.field === "metrics" ? "metric" : "param";
      rows = rows
        .leftJoin("runs_index_values as s", (j) =>
          j.onRef("s.run_id", "=", "r.run_id").on("s.kind", "=", kind).on("s.key", "=", sorted.key),
        )
        // Runs without the key last whichever the order, on both databases. Params: numbers as
        // numbers (9 before 10), then the values that are not numbers, as text.
        .orderBy(sql`s.num ${sql.raw(direction)} nulls last`);
      if (kind === "param") rows = rows.orderBy(sql`s.text ${sql.raw(direction)} nulls last`);
    } else {
      const col = q.sort === "end_time" ? "r.end_time" : q.sort === "name" ? "r.name" : "r.start_time";
      rows = rows.orderBy(sql`${sql.ref(col)} ${sql.raw(direction)} nulls last`);
    }
    const page = await rows.orderBy("r.run_id", direction).limit(q.limit).offset(q.offset).execute();
    // The param keys of every run matching (to pick columns from), in one query shared by every page of the filter.
    const { status, task, dataset, q: text, filter } = q;
    const paramKeys = await this.#paramKeys.get(JSON.stringify([project, status, task, dataset, text, filter]), async () =>
      (
        await this.#db
          .selectFrom("runs_index_values as k")
          .select("k.key")
          .distinct()
          .where("k.kind", "=", "param")
          .where("k.run_id", "in", base.select("r.run_id"))
          .orderBy("k.key")
          .execute()
      ).map((k) => k.key),
    );
    // The asked params of the page's runs, in one query.
    const params = new Map<string, Record<string, string>>();
    const ids = page.map((r) => r.run_id);
    if (asked && ids.length > 0 && (asked === "*" || asked.length > 0)) {
      let values = this.#db
        .selectFrom("runs_index_values")
        .select(["run_id", "key", "text"])
        .where("kind", "=", "param")
        .where("run_id", "in", ids);
      if (asked !== "*") values = values.where("key", "in", asked);
      for (const v of await values.execute()) {
        const of = params.get(v.run_id) ?? {};
        of[v.key] = v.text ?? "";
        params.set(v.run_id, of);
      }
    }
    return {
      runs: page.map((r) => {
        const summary = JSON.parse(r.summary_json) as RunSummary;
        return asked ? { ...summary, params: params.get(r.run_id) ?? {} } : summary;
      }),
      total,
      paramKeys,
    };
  }
}
