import type { ReactNode } from "react";
import { describeError } from "../api/errors.ts";

export function Spinner({ label = "Loading" }: { label?: string }) {
  return <span className="spinner" role="status" aria-label={label} />;
}

/** Grey placeholder lines shaped like the content that is loading. */
export function Skeleton({ lines = 3, height = 14 }: { lines?: number; height?: number }) {
  return (
    <div className="skeleton" role="status" aria-busy="true" aria-label="Loading">
      {Array.from({ length: lines }, (_, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: static placeholders
        <div key={i} className="skeleton-line" style={{ height, width: `${90 - ((i * 17) % 35)}%` }} />
      ))}
    </div>
  );
}

/** The API's message and its hint on what to do, with an optional retry. */
export function ErrorBox({ error, title, onRetry }: { error: unknown; title?: string; onRetry?: () => void }) {
  const { message, hint } = describeError(error);
  return (
    <div className="error-box" role="alert">
      <div className="error-box-title">{title ?? "Something went wrong"}</div>
      <div className="error-box-message">{message}</div>
      {hint ? <div className="error-box-hint">{hint}</div> : null}
      {onRetry ? (
        <button type="button" className="btn btn-small" onClick={onRetry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}

/** What to do when there is nothing to show yet. */
export function EmptyState({ title, children, action }: { title: string; children?: ReactNode; action?: ReactNode }) {
  return (
    <div className="empty-state">
      <div className="empty-state-title">{title}</div>
      {children ? <div className="empty-state-body">{children}</div> : null}
      {action ? <div className="empty-state-action">{action}</div> : null}
    </div>
  );
}

export function ProgressBar({ fraction, label }: { fraction: number | null; label?: string }) {
  return (
    <div
      className={`progress ${fraction === null ? "progress-indeterminate" : ""}`}
      role="progressbar"
      aria-label={label ?? "Progress"}
      aria-valuemin={0}
      aria-valuemax={100}
      {...(fraction === null ? {} : { "aria-valuenow": Math.round(fraction * 100) })}
    >
      <div className="progress-fill" style={fraction === null ? undefined : { width: `${Math.round(fraction * 100)}%` }} />
    </div>
  );
}
