import {
  type DatasetVersion,
  type DatasetVersionRef,
  describeSource,
  type Job,
  type LineageEdge,
  type LineageGraph,
  type LineageNode,
  sourceParents,
} from "@caretflow/contracts";
import type { LineageVersion } from "@caretflow/data";

export interface LineageInput {
  /** The dataset the graph is for. */
  dataset: string;
  /** Every version of every dataset (only visible ones are named in the answer). */
  versions: LineageVersion[];
  /** The jobs of the caller's project (train and predict jobs link versions to runs and outputs). */
  jobs: Job[];
  /** Whether the caller may see a dataset: false for another project's, which become `hidden` nodes. */
  visible: (dataset: string) => boolean;
}

/**
 * The lineage graph of one dataset: its versions, everything upstream (sources, parent versions, the
 * jobs that wrote them) and everything downstream (versions made from them, training and prediction
 * jobs that read them, what those jobs wrote). Parents come from `sourceParents` only. A version of a
 * dataset the caller cannot see is a `hidden` node with no name, and the walk stops there.
 */
export function buildLineage(input: LineageInput): LineageGraph {
  const key = (r: DatasetVersionRef) => `${r.dataset}@${r.version}`;
  const byKey = new Map(input.versions.map((v) => [key(v), v]));
  const children = new Map<string, LineageVersion[]>();
  for (const v of input.versions) {
    for (const p of sourceParents(v.source)) children.set(key(p), [...(children.get(key(p)) ?? []), v]);
  }
  const jobById = new Map(input.jobs.map((j) => [j.id, j]));
  const readers = new Map<string, Job[]>();
  for (const j of input.jobs) {
    const read = jobInput(j);
    if (read) readers.set(key(read), [...(readers.get(key(read)) ?? []), j]);
  }

  const nodes = new Map<string, LineageNode>();
  const edges = new Map<string, LineageEdge>();
  const sourceIds = new Map<string, string>();
  let hiddenCount = 0;
  const edge = (from: string, to: string, type: LineageEdge["type"]) => edges.set(`${from}>${to}>${type}`, { from, to, type });
  const hidden = () => {
    const id = `h:${++hiddenCount}`;
    nodes.set(id, { id, type: "hidden", label: "hidden (another project)" });
    return id;
  };
  /** The node of a version, or a new hidden node for one the caller cannot see (or that no longer exists). */
  const versionNode = (ref: DatasetVersionRef): string | null => {
    if (!input.visible(ref.dataset)) return null;
    const id = `v:${key(ref)}`;
    if (!nodes.has(id)) {
      const v = byKey.get(key(ref));
      nodes.set(id, {
        id,
        type: "version",
        label: `${ref.dataset} v${ref.version}`,
        dataset: ref.dataset,
        version: ref.version,
        ...(v ? { kind: v.source.kind } : {}),
        ...(ref.dataset === input.dataset ? { current: true } : {}),
      });
    }
    return id;
  };
  const jobNode = (j: Job): string => {
    const id = `j:${j.id}`;
    if (!nodes.has(id)) {
      const runId = j.result && (j.result.kind === "train" || j.result.kind === "operate") ? j.result.parent_run_id : undefined;
      const task = "task" in j.request ? ` ${String(j.request.task)}` : "";
      nodes.set(id, {
        id,
        type: "job",
        label: `${j.kind}${task} ${j.id.slice(0, 8)}`,
        kind: j.kind,
        jobId: j.id,
        status: j.status,
        ...(runId ? { runId } : {}),
      });
    }
    return id;
  };
  const sourceNode = (source: DatasetVersion["source"]): string => {
    const what = source.table ?? source.object ?? source.query ?? source.filename ?? "";
    const k = `${source.kind}|${source.connection ?? ""}|${what}`;
    let id = sourceIds.get(k);
    if (!id) {
      id = `s:${sourceIds.size + 1}`;
      sourceIds.set(k, id);
      nodes.set(id, {
        id,
        type: "source",
        label: source.kind === "connection" ? describeSource({ ...source, watermark: undefined }) : (source.filename ?? source.kind),
        kind: source.kind,
        ...(source.connection ? { connection: source.connection } : {}),
      });
    }
    return id;
  };
  const madeBy = (v: LineageVersion): LineageEdge["type"] =>
    v.source.kind === "prediction" ? "predicted" : v.source.kind === "transform" ? "transformed" : "derived";

  const up = new Set<string>();
  const walkUp = (v: LineageVersion) => {
    if (up.has(key(v))) return;
    up.add(key(v));
    const id = versionNode(v);
    if (!id) return;
    const parents = sourceParents(v.source);
    if (parents.length === 0) edge(sourceNode(v.source), id, "imported");
    const job = v.source.jobId ? jobById.get(v.source.jobId) : undefined;
    if (job) edge(jobNode(job), id, "wrote");
    for (const p of parents) {
      const pid = versionNode(p) ?? hidden();
      if (job) edge(pid, jobNode(job), job.kind === "predict" ? "read" : "trained");
      else edge(pid, id, madeBy(v));
      const parent = byKey.get(key(p));
      if (parent && input.visible(p.dataset)) walkUp(parent);
    }
  };

  const down = new Set<string>();
  const walkDown = (v: LineageVersion) => {
    if (down.has(key(v))) return;
    down.add(key(v));
    const id = versionNode(v);
    if (!id) return;
    for (const j of readers.get(key(v)) ?? []) {
      const jid = jobNode(j);
      edge(id, jid, j.kind === "predict" ? "read" : "trained");
      for (const out of j.outputDatasets) {
        const o = byKey.get(key({ dataset: out.name, version: out.version }));
        const oid = versionNode({ dataset: out.name, version: out.version }) ?? hidden();
        edge(jid, oid, "wrote");
        if (o && input.visible(o.dataset)) walkDown(o);
      }
    }
    for (const c of children.get(key(v)) ?? []) {
      const cid = versionNode(c);
      if (!cid) {
        edge(id, hidden(), madeBy(c));
        continue;
      }
      const job = c.source.jobId ? jobById.get(c.source.jobId) : undefined;
      if (job) {
        edge(id, jobNode(job), job.kind === "predict" ? "read" : "trained");
        edge(jobNode(job), cid, "wrote");
      } else edge(id, cid, madeBy(c));
      walkDown(c);
    }
  };

  const own = input.versions.filter((v) => v.dataset === input.dataset);
  if (input.visible(input.dataset)) {
    for (const v of own) walkUp(v);
    for (const v of own) walkDown(v);
  }
  return { dataset: input.dataset, nodes: [...nodes.values()], edges: [...edges.values()] };
}

/** The dataset version a training or prediction job read; null for other jobs. */
function jobInput(j: Job): DatasetVersionRef | null {
  if (j.kind !== "train" && j.kind !== "predict") return null;
  const r = j.request as { dataset?: unknown; version?: unknown };
  return typeof r.dataset === "string" && typeof r.version === "number" ? { dataset: r.dataset, version: r.version } : null;
}
