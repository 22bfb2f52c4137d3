/** Variables a child process (engine worker, scoring process, MLflow) gets from caretflow's own environment. */
export const CHILD_ENV_NAMES: readonly string[] = [
  "PATH",
  "HOME",
  "USER",
  "LOGNAME",
  "LANG",
  "LANGUAGE",
  "TZ",
  "TMPDIR",
  "TEMP",
  "TMP",
  "LD_LIBRARY_PATH",
  // Operator settings of the engine (docs/operations.md).
  "CARETFLOW_ENGINE_IMPORTS",
];
/** Prefixes of inherited variables: the locale and Python's own settings. */
export const CHILD_ENV_PREFIXES: readonly string[] = ["LC_", "PYTHON"];

/**
 * The environment of a child process: the allow-listed variables of `parent` (never caretflow's secrets,
 * tokens or anything else it was started with) plus what caretflow passes explicitly.
 * Pure, so the parent environment is a parameter.
 * @example spawn(python, args, { env: childEnv(process.env, { CARETFLOW_DATA_ROOT: root }) })
 */
export function childEnv(
  parent: Readonly<Record<string, string | undefined>>,
  explicit: Readonly<Record<string, string>> = {},
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(parent)) {
    if (value === undefined) continue;
    if (CHILD_ENV_NAMES.includes(name) || CHILD_ENV_PREFIXES.some((p) => name.startsWith(p))) env[name] = value;
  }
  return { ...env, ...explicit };
}
