import type { DatasetRef, JobSpec } from "@caretflow/contracts";

/**
 * Every dataset version a job's engine run reads (its files must be on the machine that runs it), once each.
 * @example specDatasets(predictSpec) // [{ name: "juice", version: 3, ... }]
 */
export function specDatasets(spec: JobSpec): DatasetRef[] {
  const refs: DatasetRef[] = [];
  switch (spec.kind) {
    case "train":
    case "operate":
    case "evaluate":
      refs.push(spec.dataset);
      break;
    case "predict":
      refs.push(spec.input);
      break;
    case "drift":
      refs.push(spec.reference);
      if ("name" in spec.current) refs.push(spec.current);
      break;
    case "catalog":
      break;
    default: {
      const never: never = spec;
      throw new Error(`unknown job kind ${JSON.stringify(never)}`);
    }
  }
  const seen = new Set<string>();
  return refs.filter((r) => {
    const key = `${r.name}@${r.version}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
