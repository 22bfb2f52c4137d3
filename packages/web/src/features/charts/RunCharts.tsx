import type { Chart, RunDetail, TaskCatalog } from "@caretflow/contracts";
import type { ApiClient } from "../../api/client.ts";
import { useApi, useResource } from "../../api/context.tsx";
import { describeError } from "../../api/errors.ts";
import { EmptyState, Skeleton } from "../../ui/feedback.tsx";
import { artifactTitle, isImagePath } from "../runs/runs.helpers.ts";
import { ChartView } from "./ChartView.tsx";
import { chartIdOfPath } from "./chart.data.ts";

export interface ArtifactSource {
  runId: string;
  artifacts: RunDetail["artifacts"];
}

export interface LoadedChart {
  runId: string;
  path: string;
  id: string;
  chart: Chart | null;
  error: string | null;
}

/** Chart artifacts (charts/<id>.json) of the given runs, in the task's plot order (the catalog's), others after. */
export function chartPaths(
  sources: readonly ArtifactSource[],
  task: TaskCatalog | undefined,
): { runId: string; path: string; id: string }[] {
  const order = (id: string) => {
    const i = task?.plots.findIndex((p) => p.id === id) ?? -1;
    return i === -1 ? Number.MAX_SAFE_INTEGER : i;
  };
  const out: { runId: string; path: string; id: string }[] = [];
  for (const s of sources) {
    for (const a of s.artifacts) {
      const id = a.isDir ? null : chartIdOfPath(a.path);
      if (id && !out.some((o) => o.id === id && o.runId === s.runId)) out.push({ runId: s.runId, path: a.path, id });
    }
  }
  return out.sort((a, b) => order(a.id) - order(b.id) || a.id.localeCompare(b.id));
}

/** Loads each chart on its own: one that fails to load or parse says so in its place, the others still draw. */
export async function loadCharts(api: ApiClient, paths: readonly { runId: string; path: string; id: string }[]): Promise<LoadedChart[]> {
  return Promise.all(
    paths.map(async (p) => {
      try {
        return { ...p, chart: await api.chart(p.runId, p.path), error: null };
      } catch (err) {
        return { ...p, chart: null, error: describeError(err).message };
      }
    }),
  );
}

/** The interactive charts of a run's model, and the PNGs PyCaret drew beside them. */
export function RunCharts({ sources, task }: { sources: readonly ArtifactSource[]; task: TaskCatalog | undefined }) {
  const paths = chartPaths(sources, task);
  const key = `charts:${paths.map((p) => `${p.runId}/${p.path}`).join(",")}`;
  const charts = useResource((api) => loadCharts(api, paths), key);
  if (paths.length === 0) return null;
  if (!charts.data) return <Skeleton lines={6} />;
  return (
    <div className="chart-grid" data-testid="charts">
      {charts.data.map((c) => (
        <ChartSlot key={`${c.runId}/${c.path}`} loaded={c} />
      ))}
    </div>
  );
}

export function ChartSlot({ loaded }: { loaded: LoadedChart | undefined }) {
  if (!loaded) return <div className="chart chart-missing muted small">Not logged for this run.</div>;
  if (loaded.chart) return <ChartView chart={loaded.chart} />;
  return (
    <div className="chart chart-missing">
      <p className="small">
        Chart <code>{loaded.id}</code> could not be drawn: {loaded.error}
      </p>
    </div>
  );
}

/** PNG plots of the runs, each opening full size; they stay in MLflow beside the chart data. */
export function PngGallery({ sources }: { sources: readonly ArtifactSource[] }) {
  const api = useApi();
  const images = sources.flatMap((s) =>
    s.artifacts.filter((a) => !a.isDir && isImagePath(a.path)).map((a) => ({ runId: s.runId, path: a.path })),
  );
  if (images.length === 0) return <EmptyState title="No plot images logged for this run" />;
  return (
    <div className="plots" data-testid="plots">
      {images.map((p) => {
        const url = api.artifactUrl(p.runId, p.path);
        return (
          <figure key={`${p.runId}/${p.path}`} className="plot">
            <a href={url} target="_blank" rel="noreferrer">
              <img src={url} alt={artifactTitle(p.path)} loading="lazy" />
            </a>
            <figcaption>{artifactTitle(p.path)}</figcaption>
          </figure>
        );
      })}
    </div>
  );
}
