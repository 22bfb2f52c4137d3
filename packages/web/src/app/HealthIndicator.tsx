import type { Health } from "@caretflow/contracts";
import { useEffect, useState } from "react";
import { useApi } from "../api/context.tsx";

type Level = "ok" | "degraded" | "down" | "unknown";

/** One word and a colour for the footer: ready, degraded (which part and why), or unreachable. */
export function healthSummary(h: Health | null, reachable: boolean): { level: Level; label: string; detail: string } {
  if (!reachable) return { level: "down", label: "Server unreachable", detail: "The caretflow server does not answer." };
  if (!h) return { level: "unknown", label: "Checking…", detail: "" };
  const parts = [
    `MLflow: ${h.mlflow.ready ? "ready" : (h.mlflow.message ?? "not ready")}${h.mlflow.restarts > 0 ? ` (restarted ${h.mlflow.restarts}×)` : ""}`,
    `Engine: ${h.engine.ready ? "ready" : (h.engine.message ?? "not ready")}`,
  ];
  if (h.status === "ok") return { level: "ok", label: "All systems ready", detail: parts.join("\n") };
  const which = [!h.mlflow.ready ? "MLflow" : null, !h.engine.ready ? "engine" : null].filter(Boolean).join(" and ");
  return { level: "degraded", label: which ? `${which} not ready` : "Degraded", detail: parts.join("\n") };
}

export function HealthIndicator({ everyMs = 15_000 }: { everyMs?: number }) {
  const api = useApi();
  const [health, setHealth] = useState<Health | null>(null);
  const [reachable, setReachable] = useState(true);

  useEffect(() => {
    let live = true;
    const check = () =>
      api.health().then(
        (h) => {
          if (!live) return;
          setHealth(h);
          setReachable(true);
        },
        () => live && setReachable(false),
      );
    void check();
    const t = setInterval(check, everyMs);
    return () => {
      live = false;
      clearInterval(t);
    };
  }, [api, everyMs]);

  const s = healthSummary(health, reachable);
  return (
    <div className={`health health-${s.level}`} title={s.detail} data-testid="health">
      <span className="health-dot" aria-hidden="true" />
      <span>{s.label}</span>
    </div>
  );
}
