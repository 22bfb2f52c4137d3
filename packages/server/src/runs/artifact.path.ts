import { locationTrick, userError } from "@caretflow/contracts";

/**
 * An artifact path as MLflow stores it: relative, '/'-separated, without the tricks contracts'
 * `locationTrick` refuses (URIs, '..', backslashes, NUL, encoded traversal). MLflow's own
 * path-traversal advisories are why this runs before any request reaches it.
 */
export function safeArtifactPath(raw: string): string {
  let path: string;
  try {
    path = decodeURIComponent(raw);
  } catch {
    throw badPath(raw, "it is not valid percent-encoding");
  }
  if (path.length === 0) throw badPath(path, "it is empty");
  if (path.length > 1000) throw badPath(path, "it is longer than 1000 characters");
  const why = locationTrick(path, { nested: true });
  if (why) throw badPath(path, why);
  return path;
}

function badPath(path: string, why: string) {
  return userError(
    "invalid_artifact_path",
    `'${path.slice(0, 200)}' is not a valid artifact path: ${why}`,
    "Use a relative path as listed in the run's artifacts, e.g. plots/confusion_matrix.png.",
  );
}

const TYPES: Record<string, string> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  svg: "image/svg+xml",
  html: "text/html; charset=utf-8",
  json: "application/json",
  txt: "text/plain; charset=utf-8",
  csv: "text/csv; charset=utf-8",
  yaml: "text/yaml; charset=utf-8",
  yml: "text/yaml; charset=utf-8",
};

export function contentTypeFor(path: string): string {
  const ext = /\.([A-Za-z0-9]+)$/.exec(path)?.[1]?.toLowerCase() ?? "";
  return TYPES[ext] ?? "application/octet-stream";
}
