/**
 * Rewrites what caretflow 0.1 stored about jobs into the task-family shapes, so an upgraded home
 * keeps every job readable: train requests had camelCase keys (ignoreColumns, trainSize) and
 * train results had no task, outputs or timings; predict results named an output path. Pure.
 */

type Doc = Record<string, unknown>;

const REQUEST_KEYS: Record<string, string> = { ignoreColumns: "ignore_columns", trainSize: "train_size" };

export function upgradeTrainRequest(request: Doc): Doc {
  if (!("task" in request) || "ignore_columns" in request) return request;
  const out: Doc = {};
  for (const [k, v] of Object.entries(request)) out[REQUEST_KEYS[k] ?? k] = v;
  return { operation: "compare", text_columns: [], custom_metrics: [], custom_models: [], setup: {}, use_gpu: "off", ...out };
}

export function upgradeResult(result: Doc | null, request: Doc): Doc | null {
  if (!result) return result;
  if (result.kind === "train" && !("task" in result)) {
    return { ...result, task: request.task ?? "classification", outputs: [], timings: {} };
  }
  if (result.kind === "predict" && "output_path" in result) {
    const { output_path, ...rest } = result;
    const file = String(output_path).split("/").pop() ?? "predictions.parquet";
    const columns = Array.isArray(result.prediction_columns) ? result.prediction_columns : [];
    return {
      ...rest,
      output: { role: "predictions", file: file.endsWith(".parquet") ? file : "predictions.parquet", rows: result.rows, columns },
    };
  }
  return result;
}

/** A stored job event (`{type: "engine", event}`) whose finished event carries an old result. */
export function upgradeEventBody(body: Doc, request: Doc): Doc {
  const event = body.event as Doc | undefined;
  if (body.type !== "engine" || event?.type !== "finished" || !event.result) return body;
  return { ...body, event: { ...event, result: upgradeResult(event.result as Doc, request) } };
}
