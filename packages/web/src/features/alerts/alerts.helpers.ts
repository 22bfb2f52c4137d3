import type { AlertRule } from "@caretflow/contracts";

/** "reason=drift, min_auc=0.8, force=true" -> {reason: "drift", min_auc: 0.8, force: true}; an entry without '=' is an error naming it. */
export function parseParams(text: string): { params: Record<string, string | number | boolean> } | { error: string } {
  const params: Record<string, string | number | boolean> = {};
  for (const part of text
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean)) {
    const at = part.indexOf("=");
    const key = at < 0 ? "" : part.slice(0, at).trim();
    if (!key) return { error: `'${part}' is not NAME=VALUE` };
    const raw = part.slice(at + 1).trim();
    params[key] = raw === "true" || raw === "false" ? raw === "true" : raw !== "" && Number.isFinite(Number(raw)) ? Number(raw) : raw;
  }
  return { params };
}

/** "latency_p95_ms > 250 over 15 min" */
export function conditionText(rule: Pick<AlertRule, "metric" | "op" | "threshold" | "window_minutes">): string {
  const w = rule.window_minutes;
  const window = w % 1440 === 0 ? `${w / 1440} d` : w % 60 === 0 ? `${w / 60} h` : `${w} min`;
  return `${rule.metric} ${rule.op} ${rule.threshold} over ${window}`;
}

/** The badge tone of a rule's state. */
export function stateTone(rule: Pick<AlertRule, "state" | "enabled">): "good" | "bad" | "warn" | "muted" {
  if (!rule.enabled) return "muted";
  switch (rule.state) {
    case "ok":
      return "good";
    case "firing":
      return "bad";
    case "error":
      return "warn";
    default:
      return "muted";
  }
}
