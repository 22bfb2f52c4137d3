/**
 * Attack payloads for the /mlflow/ proxy, shared by the pure policy test and the integration test
 * against a real MLflow (the count is what reports quote).
 */

/** Paths that must never reach MLflow, as they arrive on the wire: each is answered 400. */
export const TRAVERSAL_PATHS: readonly string[] = [
  "/mlflow/a/%2e%2e/%2e%2e/x",
  "/mlflow/a/%2E%2E/x",
  "/mlflow/a/%252e%252e/%252e%252e/x",
  "/mlflow/a/%25252e%25252e/x",
  "/mlflow/..%5c..%5cetc/passwd",
  "/mlflow/a%5c..%5cb",
  "/mlflow/a/../../x",
  "/mlflow/./x",
  "/mlflow/a%00b",
  "/mlflow/static-files/x%00.js",
  "/mlflow//proc/self/root",
  "/mlflow/a%2f..%2f..%2fx",
  "/mlflow/%",
];
