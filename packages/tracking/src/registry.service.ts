import {
  CaretflowError,
  isReservedTag,
  ModelRef,
  type ModelUpdateRequest,
  type ModelVersion,
  type RegisteredModel,
  RegisterModelRequest,
  userError,
} from "@caretflow/contracts";
import { checkAlias, checkModelName, checkVersion } from "./ids.validate.ts";
import { collectPages, filterQuote, type MlflowClient } from "./mlflow.client.ts";
import { type MlflowModelVersion, type MlflowRegisteredModel, type MlflowRun, tagsToRecord } from "./mlflow.types.ts";
import { latestMetrics, msToIso } from "./runs.service.ts";
import { TAG } from "./tags.ts";

const LOGGED_MODEL_SOURCE = /^models:\/(m-[a-f0-9]{32})$/;

/** Where a run's model lives, as MLflow's CreateModelVersion wants it. */
export interface ModelSource {
  source: string;
  /** Required by MLflow 3 when `source` is models:/m-... (a LoggedModel). */
  modelId?: string;
}

/**
 * Picks the registration source for a run's model. The engine records the
 * exact source in a tag; runs logged by other tools fall back to the run's
 * MLflow 3 logged model output, then to the MLflow 2 layout runs:/RUN/model.
 * (In MLflow 3 a runs:/RUN/model source registers but does not load when the
 * model was logged as a LoggedModel, hence the order.)
 */
export function modelSourceOf(run: MlflowRun): ModelSource {
  const tags = tagsToRecord(run.data.tags);
  const tagged = tags[TAG.modelSource];
  const fromTag = tagged ?? (run.outputs.model_outputs.length > 0 ? `models:/${run.outputs.model_outputs.at(-1)!.model_id}` : undefined);
  if (fromTag !== undefined) {
    const m = LOGGED_MODEL_SOURCE.exec(fromTag);
    if (m) return { source: fromTag, modelId: m[1]! };
    if (!/^(runs|mlflow-artifacts):\/[^\s]*$/.test(fromTag) || fromTag.split("/").includes("..")) {
      throw new CaretflowError({
        code: "model_source_invalid",
        kind: "bug",
        message: `run ${run.info.run_id} names an unusable model source '${fromTag.slice(0, 200)}'`,
        hint: "retrain the model with this caretflow version",
      });
    }
    return { source: fromTag };
  }
  return { source: `runs:/${run.info.run_id}/model` };
}

/** The tags users set: caretflow's and MLflow's own are left out. */
function userTags(tags: ReadonlyArray<{ key: string; value: string }>): Record<string, string> {
  return Object.fromEntries(tags.filter((t) => !isReservedTag(t.key)).map((t) => [t.key, t.value]));
}

function toModelVersion(v: MlflowModelVersion, aliases: string[], run?: MlflowRun | null): ModelVersion {
  const vtags = tagsToRecord(v.tags);
  const rtags = run ? tagsToRecord(run.data.tags) : {};
  return {
    name: v.name,
    version: v.version,
    runId: v.run_id || null,
    source: v.source,
    status: v.status,
    aliases: [...aliases].sort(),
    createdAt: msToIso(v.creation_timestamp) ?? new Date(0).toISOString(),
    description: v.description || null,
    ...(run ? { metrics: latestMetrics(run) } : {}),
    modelName: vtags[TAG.modelName] ?? rtags[TAG.modelName] ?? rtags[TAG.bestModel] ?? null,
    tags: userTags(v.tags),
  };
}

function aliasMap(m: MlflowRegisteredModel): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of m.aliases) out[a.alias] = a.version;
  return out;
}

function aliasesOf(aliases: Record<string, number>, version: number): string[] {
  return Object.entries(aliases)
    .filter(([, v]) => v === version)
    .map(([a]) => a);
}

async function versionsOf(c: MlflowClient, name: string): Promise<MlflowModelVersion[]> {
  const all = await collectPages((pageToken) =>
    c.searchModelVersions({ filter: `name = ${filterQuote(name)}`, ...(pageToken ? { pageToken } : {}) }),
  );
  return all.sort((a, b) => b.version - a.version);
}

function toRegisteredModel(m: MlflowRegisteredModel, versions: ModelVersion[]): RegisteredModel {
  return {
    name: m.name,
    description: m.description || null,
    createdAt: msToIso(m.creation_timestamp) ?? new Date(0).toISOString(),
    updatedAt: msToIso(m.last_updated_timestamp ?? m.creation_timestamp) ?? new Date(0).toISOString(),
    aliases: aliasMap(m),
    tags: userTags(m.tags),
    versions,
  };
}

/** Runs are fetched for metrics; a deleted run just leaves the metrics out. */
async function runOrNull(c: MlflowClient, runId: string | undefined): Promise<MlflowRun | null> {
  if (!runId) return null;
  try {
    return await c.getRun(runId);
  } catch (err) {
    if (err instanceof CaretflowError && err.status === 404) return null;
    throw err;
  }
}

/** Every registered model with its versions (newest first), aliases and each version's run metrics. */
export async function getModel(c: MlflowClient, name: string): Promise<RegisteredModel> {
  const m = await c.getRegisteredModel(checkModelName(name));
  const aliases = aliasMap(m);
  const versions = await versionsOf(c, m.name);
  const runs = await Promise.all(versions.map((v) => runOrNull(c, v.run_id)));
  return toRegisteredModel(
    m,
    versions.map((v, i) => toModelVersion(v, aliasesOf(aliases, v.version), runs[i])),
  );
}

/** All registered models, by name; versions without run metrics (one request for all versions). */
export async function listModels(c: MlflowClient): Promise<RegisteredModel[]> {
  const [models, versions] = await Promise.all([
    collectPages((pageToken) => c.searchRegisteredModels({ orderBy: ["name ASC"], ...(pageToken ? { pageToken } : {}) })),
    collectPages((pageToken) => c.searchModelVersions(pageToken ? { pageToken } : {})),
  ]);
  const byName = new Map<string, MlflowModelVersion[]>();
  for (const v of versions) byName.set(v.name, [...(byName.get(v.name) ?? []), v]);
  return models
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((m) => {
      const aliases = aliasMap(m);
      const vs = (byName.get(m.name) ?? []).sort((a, b) => b.version - a.version);
      return toRegisteredModel(
        m,
        vs.map((v) => toModelVersion(v, aliasesOf(aliases, v.version))),
      );
    });
}

/**
 * Registers a run's model as a new version of `name` (created if missing),
 * copies the model's hash and PyCaret name onto the version, and sets the alias.
 */
export async function registerModel(c: MlflowClient, req: RegisterModelRequest): Promise<ModelVersion> {
  const parsed = RegisterModelRequest.safeParse(req);
  if (!parsed.success) {
    throw userError("invalid_register_request", parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
  }
  const { runId, name, alias, description } = parsed.data;
  const run = await c.getRun(runId);
  if (run.info.status !== "FINISHED") {
    throw userError(
      "run_not_finished",
      `run ${runId} is ${run.info.status}, so its model may be incomplete`,
      "register the model of a run that finished successfully",
      409,
    );
  }
  const tags = tagsToRecord(run.data.tags);
  const src = modelSourceOf(run);
  if (!tags[TAG.modelSource] && !src.modelId) {
    // No model recorded anywhere but the MLflow 2 layout: make sure it exists before registering.
    const files = await c.listArtifacts(runId, "model");
    if (!files.some((f) => f.path === "model/MLmodel")) {
      throw userError(
        "run_has_no_model",
        `run ${runId} has no logged model`,
        "pick the run that holds the best model (the parent run's best_run_id)",
        400,
      );
    }
  }
  try {
    await c.getRegisteredModel(name);
  } catch (err) {
    if (!(err instanceof CaretflowError && err.status === 404)) throw err;
    try {
      await c.createRegisteredModel(name, description);
    } catch (e) {
      // Another request created it in between: that is fine.
      if (!(e instanceof CaretflowError && e.code === "mlflow_already_exists")) throw e;
    }
  }
  const versionTags: Record<string, string> = {};
  for (const key of [TAG.modelSha256, TAG.modelName, TAG.modelId, TAG.jobId, TAG.dataset]) {
    const v = tags[key];
    if (v !== undefined) versionTags[key] = v;
  }
  const created = await c.createModelVersion({
    name,
    source: src.source,
    runId,
    ...(src.modelId ? { modelId: src.modelId } : {}),
    ...(description ? { description } : {}),
    tags: versionTags,
  });
  if (alias) await c.setRegisteredModelAlias(name, alias, created.version);
  const fresh = await c.getModelVersion(name, created.version);
  const m = await c.getRegisteredModel(name);
  return toModelVersion(fresh, aliasesOf(aliasMap(m), created.version), run);
}

/** Points `alias` at `version` (moving it if it pointed elsewhere). */
export async function setAlias(c: MlflowClient, name: string, alias: string, version: number): Promise<RegisteredModel> {
  checkModelName(name);
  checkAlias(alias);
  checkVersion(version);
  await c.getModelVersion(name, version); // a clear "model version X/N does not exist" rather than MLflow's wording
  await c.setRegisteredModelAlias(name, alias, version);
  return getModel(c, name);
}

/** Sets one tag of a model version (e.g. caretflow.stage). */
export async function setVersionTag(c: MlflowClient, name: string, version: number, key: string, value: string): Promise<void> {
  checkModelName(name);
  checkVersion(version);
  await c.setModelVersionTag(name, version, key, value);
}

/**
 * Applies a description and tag change (a null tag value deletes the tag) through `client`; reserved
 * caretflow.* and mlflow.* keys are refused before anything changes.
 */
async function applyUpdate(
  patch: ModelUpdateRequest,
  client: {
    describe(text: string): Promise<void>;
    setTag(key: string, value: string): Promise<void>;
    deleteTag(key: string): Promise<void>;
  },
  existing: ReadonlyArray<{ key: string }>,
): Promise<void> {
  const tags = Object.entries(patch.tags ?? {});
  const reserved = tags.map(([k]) => k).filter(isReservedTag);
  if (reserved.length > 0) {
    throw userError(
      "reserved_tag",
      `The tag${reserved.length === 1 ? "" : "s"} ${reserved.map((k) => `'${k}'`).join(", ")} ${reserved.length === 1 ? "is" : "are"} set by caretflow or MLflow and cannot be changed here`,
      "Pick a key that does not start with caretflow. or mlflow.; stages move with promotions (caretflow models promote).",
      400,
    );
  }
  if (patch.description !== undefined) await client.describe(patch.description.trim());
  const present = new Set(existing.map((t) => t.key));
  for (const [key, value] of tags) {
    if (value !== null) await client.setTag(key, value);
    else if (present.has(key)) await client.deleteTag(key);
  }
}

/** Changes a registered model's description and tags. */
export async function updateModel(c: MlflowClient, name: string, patch: ModelUpdateRequest): Promise<RegisteredModel> {
  const m = await c.getRegisteredModel(checkModelName(name));
  await applyUpdate(
    patch,
    {
      describe: (text) => c.updateRegisteredModel(name, text),
      setTag: (key, value) => c.setRegisteredModelTag(name, key, value),
      deleteTag: (key) => c.deleteRegisteredModelTag(name, key),
    },
    m.tags,
  );
  return getModel(c, name);
}

/** Changes a model version's description and tags. */
export async function updateModelVersion(c: MlflowClient, name: string, version: number, patch: ModelUpdateRequest): Promise<ModelVersion> {
  const v = await c.getModelVersion(checkModelName(name), checkVersion(version));
  await applyUpdate(
    patch,
    {
      describe: (text) => c.updateModelVersion(name, version, text),
      setTag: (key, value) => c.setModelVersionTag(name, version, key, value),
      deleteTag: (key) => c.deleteModelVersionTag(name, version, key),
    },
    v.tags,
  );
  const [fresh, m, run] = await Promise.all([c.getModelVersion(name, version), c.getRegisteredModel(name), runOrNull(c, v.run_id)]);
  return toModelVersion(fresh, aliasesOf(aliasMap(m), version), run);
}

export async function deleteAlias(c: MlflowClient, name: string, alias: string): Promise<RegisteredModel> {
  const m = await c.getRegisteredModel(checkModelName(name));
  if (!m.aliases.some((a) => a.alias === checkAlias(alias))) {
    throw new CaretflowError({
      code: "model_alias_not_found",
      kind: "user",
      status: 404,
      message: `model '${name}' has no alias '${alias}'`,
    });
  }
  await c.deleteRegisteredModelAlias(name, alias);
  return getModel(c, name);
}

export interface ResolvedModel {
  name: string;
  version: number;
  /** models:/NAME/VERSION */
  uri: string;
  runId: string | null;
  /**
   * Where the version's files are inside its run's artifacts (e.g. "model"), as the engine resolves
   * it; null when its source lies outside the run. With runId it keys the digest caretflow recorded.
   */
  artifactPath: string | null;
  task: string | null;
}

/**
 * The artifact path of a model version's source inside its run (what the engine downloads), or null
 * when the source is not inside the run's artifacts; pure.
 * @example artifactPathOf("file:///m/1/abc/artifacts/model", "file:///m/1/abc/artifacts", "abc") // "model"
 */
export function artifactPathOf(source: string, runArtifactUri: string, runId: string): string | null {
  const base = runArtifactUri ? `${runArtifactUri.replace(/\/+$/, "")}/` : null;
  const prefix = `runs:/${runId}/`;
  const rest = base && source.startsWith(base) ? source.slice(base.length) : source.startsWith(prefix) ? source.slice(prefix.length) : null;
  if (rest === null) return null;
  const path = rest.replace(/^\/+|\/+$/g, "");
  if (!path || path.split("/").includes("..")) return null;
  return path;
}

/** Parses `NAME@ALIAS` or `NAME/VERSION`; pure. */
export function parseModelRef(ref: string): { name: string; alias: string } | { name: string; version: number } {
  const r = ModelRef.safeParse(ref);
  if (!r.success)
    throw userError(
      "invalid_model_ref",
      `'${ref.slice(0, 120)}' is not a model reference`,
      "use NAME@ALIAS (e.g. churn@champion) or NAME/VERSION (e.g. churn/3)",
    );
  const at = ref.indexOf("@");
  if (at >= 0) return { name: ref.slice(0, at), alias: ref.slice(at + 1) };
  const slash = ref.lastIndexOf("/");
  return { name: ref.slice(0, slash), version: Number(ref.slice(slash + 1)) };
}

/**
 * Resolves a model reference to a concrete version, its models:/ URI and where its files are (run and
 * artifact path). The digest its files must have is caretflow's own record, never an MLflow tag.
 */
export async function resolveModelRef(c: MlflowClient, ref: string): Promise<ResolvedModel> {
  const p = parseModelRef(ref);
  const v = "alias" in p ? await c.getModelVersionByAlias(p.name, p.alias) : await c.getModelVersion(p.name, p.version);
  let task: string | null = null;
  let artifactPath: string | null = null;
  if (v.run_id) {
    const run = await runOrNull(c, v.run_id);
    const runTags = run ? tagsToRecord(run.data.tags) : {};
    task = runTags[TAG.task] ?? null;
    if (run) artifactPath = artifactPathOf(v.source ?? "", run.info.artifact_uri ?? "", v.run_id);
  }
  return { name: v.name, version: v.version, uri: `models:/${v.name}/${v.version}`, runId: v.run_id || null, artifactPath, task };
}
