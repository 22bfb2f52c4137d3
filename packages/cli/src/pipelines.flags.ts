import { isAbsolute, normalize, relative, resolve, sep } from "node:path";
import { type ParamValue, PipelineFilePath, type PipelineParam, type PipelineSpec, userError } from "@caretflow/contracts";
import { InvalidArgumentError } from "commander";

/** Flags and files of `caretflow pipelines apply` and `run`, checked before anything is sent. Pure. */

/**
 * `--param k=v`, repeatable: the pairs in the order given (the value may itself hold '=').
 * @example paramArg("min_auc=0.8", [["dataset", "sales"]]) // [["dataset","sales"],["min_auc","0.8"]]
 */
export function paramArg(value: string, previous: [string, string][] | undefined): [string, string][] {
  const at = value.indexOf("=");
  const key = at < 0 ? "" : value.slice(0, at).trim();
  if (at < 0 || key === "") throw new InvalidArgumentError(`--param takes NAME=VALUE, e.g. --param min_auc=0.8, got '${value}'.`);
  return [...(previous ?? []), [key, value.slice(at + 1)]];
}

/**
 * The `--param` values typed as the pipeline declares its params: numbers and booleans parsed, an
 * unknown name or a value of the wrong type refused with the param it concerns. A param given twice
 * keeps its last value.
 */
export function typedParams(
  pairs: [string, string][],
  declared: Record<string, PipelineParam>,
  pipeline: string,
): Record<string, ParamValue> {
  const out: Record<string, ParamValue> = {};
  const known = Object.keys(declared).sort();
  for (const [name, raw] of pairs) {
    const param = declared[name];
    if (!param) {
      throw userError(
        "unknown_param",
        `pipeline ${pipeline} has no param '${name}'`,
        known.length === 0
          ? "this pipeline declares no params; leave out --param"
          : `its params: ${known.map((k) => `${k} (${declared[k]!.type})`).join(", ")}`,
      );
    }
    out[name] = typedValue(name, raw, param.type);
  }
  return out;
}

function typedValue(name: string, raw: string, type: PipelineParam["type"]): ParamValue {
  switch (type) {
    case "string":
      return raw;
    case "number": {
      const n = Number(raw);
      if (raw.trim() === "" || !Number.isFinite(n)) {
        throw userError("bad_param", `param '${name}' is a number, got '${raw}'`, `give a number, e.g. --param ${name}=0.8`);
      }
      return n;
    }
    case "boolean": {
      const v = raw.trim().toLowerCase();
      if (v === "true") return true;
      if (v === "false") return false;
      throw userError("bad_param", `param '${name}' is a boolean, got '${raw}'`, `give true or false, e.g. --param ${name}=true`);
    }
    default:
      return unknownType(type);
  }
}

function unknownType(type: never): never {
  throw new Error(`unknown param type ${String(type)}`);
}

/** A code file a custom step names: the step, the path as written in `with.file`, and where it is on disk. */
export interface CodeFile {
  step: string;
  path: string;
  absolute: string;
}

/**
 * The files named by the `file` of custom steps, found in `folder` (the pipeline file's folder). A path
 * that is absolute or leads out of that folder is refused: the server keeps only the pipeline's own files.
 */
export function codeFiles(spec: PipelineSpec, folder: string, pipelineFile: string): CodeFile[] {
  const files: CodeFile[] = [];
  for (const step of spec.steps) {
    const file = step.type === "custom" ? (step.with as { file?: unknown }).file : undefined;
    if (typeof file !== "string") continue;
    const path = file;
    const absolute = resolve(folder, path);
    const inside = relative(folder, absolute);
    if (isAbsolute(path) || inside === "" || inside === ".." || inside.startsWith(`..${sep}`) || isAbsolute(inside)) {
      throw userError(
        "file_outside_pipeline",
        `step ${step.id}: file '${path}' is outside the folder of ${pipelineFile}`,
        `move the code next to ${pipelineFile} (or into a folder below it) and name it by a relative path such as scripts/${basename(path)}`,
      );
    }
    const ok = PipelineFilePath.safeParse(path);
    if (!ok.success) {
      throw userError(
        "bad_file_path",
        `step ${step.id}: file '${path}' cannot be sent: ${ok.error.issues[0]?.message ?? "not a valid path"}`,
        "rename the file or its folder",
      );
    }
    if (!files.some((f) => f.path === path)) files.push({ step: step.id, path, absolute: normalize(absolute) });
  }
  return files;
}

function basename(path: string): string {
  return path.split(/[\\/]/).filter(Boolean).pop() ?? "code.py";
}
