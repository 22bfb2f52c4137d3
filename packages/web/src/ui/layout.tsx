import type { ReactNode } from "react";

export function PageHeader({
  title,
  subtitle,
  actions,
  crumbs,
}: {
  title: ReactNode;
  subtitle?: ReactNode;
  actions?: ReactNode;
  crumbs?: ReactNode;
}) {
  return (
    <header className="page-header">
      {crumbs ? <div className="crumbs">{crumbs}</div> : null}
      <div className="page-header-row">
        <div className="page-header-text">
          <h1>{title}</h1>
          {subtitle ? <p className="page-subtitle">{subtitle}</p> : null}
        </div>
        {actions ? <div className="page-actions">{actions}</div> : null}
      </div>
    </header>
  );
}

export function Card({
  title,
  actions,
  children,
  className,
}: {
  title?: ReactNode;
  actions?: ReactNode;
  children: ReactNode;
  className?: string;
}) {
  return (
    <section className={`card ${className ?? ""}`}>
      {title || actions ? (
        <div className="card-header">
          {title ? <h2 className="card-title">{title}</h2> : <span />}
          {actions ? <div className="card-actions">{actions}</div> : null}
        </div>
      ) : null}
      {children}
    </section>
  );
}

const statusTone: Record<string, string> = {
  succeeded: "good",
  finished: "good",
  ok: "good",
  running: "info",
  queued: "muted",
  scheduled: "muted",
  failed: "bad",
  cancelled: "warn",
  killed: "warn",
  degraded: "warn",
};

/** A small coloured label for a job or run status; MLflow's upper-case statuses read the same. */
export function StatusBadge({ status }: { status: string }) {
  const key = status.toLowerCase();
  return <span className={`badge badge-${statusTone[key] ?? "muted"}`}>{key === "finished" ? "finished" : key}</span>;
}

export function Badge({ children, tone = "muted" }: { children: ReactNode; tone?: "muted" | "info" | "good" | "warn" | "bad" | "accent" }) {
  return <span className={`badge badge-${tone}`}>{children}</span>;
}

/** Label/value pairs in a responsive grid (stats, params). */
export function Stats({ items }: { items: { label: string; value: ReactNode }[] }) {
  return (
    <dl className="stats">
      {items.map((it) => (
        <div key={it.label} className="stat">
          <dt>{it.label}</dt>
          <dd>{it.value}</dd>
        </div>
      ))}
    </dl>
  );
}

export function Tabs<K extends string>({
  tabs,
  active,
  onChange,
}: {
  tabs: { key: K; label: string }[];
  active: K;
  onChange: (key: K) => void;
}) {
  return (
    <div className="tabs" role="tablist">
      {tabs.map((t) => (
        <button
          key={t.key}
          type="button"
          role="tab"
          aria-selected={t.key === active}
          className={`tab ${t.key === active ? "tab-active" : ""}`}
          onClick={() => onChange(t.key)}
        >
          {t.label}
        </button>
      ))}
    </div>
  );
}
