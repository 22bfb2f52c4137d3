import { CaretflowError, notFound } from "@caretflow/contracts";
import { MlflowErrorBody } from "./mlflow.types.ts";

/** What a request is about, so a 404 can name the missing thing. */
export interface Subject {
  what: string;
  id: string;
}

export function mlflowUnavailable(baseUrl: string, cause: unknown): CaretflowError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new CaretflowError({
    code: "mlflow_unavailable",
    kind: "operational",
    status: 503,
    message: `The MLflow tracking server at ${baseUrl} cannot be reached (${reason})`,
    hint: "caretflow restarts its own MLflow server automatically: retry in a few seconds. If it keeps failing, check <home>/mlflow/mlflow.log, or MLFLOW_TRACKING_URI when an external server is used.",
    cause,
  });
}

/**
 * Maps a non-2xx MLflow response to the caretflow error vocabulary.
 * 404 names the thing asked for; other 4xx are the caller's mistake; 5xx is MLflow's.
 */
export function mlflowHttpError(status: number, bodyText: string, subject: Subject | undefined): CaretflowError {
  let code = "";
  let message = bodyText.slice(0, 500);
  try {
    const parsed = MlflowErrorBody.safeParse(JSON.parse(bodyText));
    if (parsed.success) {
      code = parsed.data.error_code;
      message = parsed.data.message;
    }
  } catch {
    // Not JSON (an HTML error page from a proxy, say): keep the raw text.
  }
  if (status === 404 || code === "RESOURCE_DOES_NOT_EXIST") {
    if (subject) return notFound(subject.what, subject.id);
    return new CaretflowError({ code: "mlflow_not_found", kind: "user", status: 404, message: message || "not found in MLflow" });
  }
  if (status === 401) {
    // Not the caller's fault: caretflow's own credential did not match its MLflow's.
    return new CaretflowError({
      code: "mlflow_unauthenticated",
      kind: "operational",
      status: 502,
      message: "MLflow refused caretflow's credential",
      hint: "Restart caretflow: MLflow and every client read <home>/mlflow/secret when caretflow starts, so a secret changed while it runs is not seen until then.",
    });
  }
  if (code === "RESOURCE_ALREADY_EXISTS") {
    return new CaretflowError({
      code: "mlflow_already_exists",
      kind: "user",
      status: 409,
      message,
      hint: "choose another name, or use the existing one",
    });
  }
  if (status >= 400 && status < 500) {
    return new CaretflowError({
      code: code ? `mlflow_${code.toLowerCase()}` : "mlflow_bad_request",
      kind: "user",
      status: status === 403 ? 403 : 400,
      message: `MLflow refused the request: ${message}`,
      ...(status === 403
        ? { hint: "MLflow's security middleware checks the Host and Origin headers; reach it through caretflow or on 127.0.0.1" }
        : {}),
    });
  }
  return new CaretflowError({
    code: "mlflow_error",
    kind: "operational",
    status: 502,
    message: `MLflow failed with HTTP ${status}: ${message}`,
    hint: "see <home>/mlflow/mlflow.log; retry, and report the error if it persists",
  });
}
