import { AliasName, RegisteredModelName, userError } from "@caretflow/contracts";

/**
 * Checks on identifiers before they go into a URL or a request body, so a
 * crafted value cannot reach a different MLflow endpoint or an arbitrary path
 * (MLflow's advisories include traversal through `path` and `source`).
 */

const RUN_ID = /^[a-f0-9]{32}$/;
const EXPERIMENT_ID = /^[0-9]{1,19}$/;
const LOGGED_MODEL_ID = /^m-[a-f0-9]{32}$/;

export function checkRunId(runId: string): string {
  if (!RUN_ID.test(runId)) {
    throw userError("invalid_run_id", `'${runId.slice(0, 80)}' is not an MLflow run id`, "an MLflow run id is 32 lowercase hex characters");
  }
  return runId;
}

export function checkExperimentId(id: string): string {
  if (!EXPERIMENT_ID.test(id)) throw userError("invalid_experiment_id", `'${id.slice(0, 80)}' is not an MLflow experiment id`);
  return id;
}

export function checkLoggedModelId(id: string): string {
  if (!LOGGED_MODEL_ID.test(id)) throw userError("invalid_model_id", `'${id.slice(0, 80)}' is not an MLflow logged model id`);
  return id;
}

export function checkModelName(name: string): string {
  const r = RegisteredModelName.safeParse(name);
  if (!r.success) {
    throw userError("invalid_model_name", `'${name.slice(0, 120)}' is not a valid model name`, r.error.issues[0]?.message);
  }
  return name;
}

export function checkAlias(alias: string): string {
  const r = AliasName.safeParse(alias);
  if (!r.success) throw userError("invalid_alias", `'${alias.slice(0, 80)}' is not a valid alias`, r.error.issues[0]?.message);
  return alias;
}

export function checkVersion(version: number | string): number {
  const n = typeof version === "number" ? version : /^[0-9]+$/.test(version) ? Number(version) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1) {
    throw userError(
      "invalid_model_version",
      `'${String(version).slice(0, 40)}' is not a model version`,
      "a version is a positive whole number",
    );
  }
  return n;
}

/** Artifact paths are relative, '/'-separated and never climb out of the run's artifact root. */
export function checkArtifactPath(path: string): string {
  const bad =
    path.startsWith("/") ||
    path.includes("\\") ||
    path.includes("\0") ||
    /^[A-Za-z][A-Za-z0-9+.-]*:/.test(path) ||
    path.split("/").some((seg) => seg === ".." || seg === ".");
  if (bad || path.length > 1024) {
    throw userError(
      "invalid_artifact_path",
      `'${path.slice(0, 120)}' is not a valid artifact path`,
      "use a relative path inside the run, like plots/confusion_matrix.png",
    );
  }
  return path;
}
