import { userError } from "@caretflow/contracts";

/**
 * An artifact path as MLflow stores it: relative, '/'-separated, no '..' or '.'
 * segments, no backslashes or NUL. MLflow's own path-traversal advisories are
 * why this runs before any request reaches it.
 */
export function safeArtifactPath(raw: string): string {
  let path: string;
  try {
    path = decodeURIComponent(raw);
  } catch {
    throw badPath(raw);
  }
  if (
    path.length === 0 ||
    path.length > 1000 ||
    path.startsWith("/") ||
    /[\\\0]/.test(path) ||
    /^[A-Za-z]:/.test(path) ||
    path.includes("://")
  ) {
    throw badPath(path);
  }
  const parts = path.split("/");
  if (parts.some((p) => p === "" || p === "." || p === "..")) throw badPath(path);
  return path;
}

function badPath(path: string) {
  return userError(
    "invalid_artifact_path",
    `'${path.slice(0, 200)}' is not a valid artifact path`,
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
