import {
  CaretflowError,
  type Deployment,
  type DeploymentTarget,
  type DriftSchedule,
  type ProcessHealth,
  type RegisteredModel,
  type TrafficPolicy,
} from "@caretflow/contracts";
import type { z } from "zod";

/** A policy as a request may send it (the canary's ramp fields may be left to their defaults). */
export type TrafficPolicyInput = z.input<typeof TrafficPolicy>;
export type PolicyKind = TrafficPolicy["kind"];

/** "churn@production" (followed as the alias moves) or "churn/2" (a fixed version). */
export function targetText(model: string, target: DeploymentTarget): string {
  return "alias" in target ? `${model}@${target.alias}` : `${model}/${target.version}`;
}

/** A target as a select's value: "@production" or "/2" (the model is the deployment's own). */
export function targetValue(target: DeploymentTarget): string {
  return "alias" in target ? `@${target.alias}` : `/${target.version}`;
}

/** The inverse of targetValue; null for anything else (an empty select). */
export function parseTargetValue(value: string): DeploymentTarget | null {
  if (/^@[A-Za-z][A-Za-z0-9_-]*$/.test(value)) return { alias: value.slice(1) };
  if (/^\/[1-9][0-9]*$/.test(value)) return { version: Number(value.slice(1)) };
  return null;
}

/** What a person can serve of a model: its aliases first (they move), then fixed versions, newest first. */
export function targetChoices(model: RegisteredModel | undefined): { value: string; label: string }[] {
  if (!model) return [];
  const aliases = Object.entries(model.aliases)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([alias, v]) => ({ value: `@${alias}`, label: `@${alias} (now version ${v})` }));
  const versions = [...model.versions]
    .sort((a, b) => b.version - a.version)
    .map((v) => ({ value: `/${v.version}`, label: `version ${v.version}${v.modelName ? ` · ${v.modelName}` : ""}` }));
  return [...aliases, ...versions];
}

/** "A/B: churn/2 10%", "shadow: churn/3", "canary: churn/3 from 5% +10% every 600 s up to 50%", "single". */
export function policyText(model: string, p: TrafficPolicy): string {
  switch (p.kind) {
    case "single":
      return "single version";
    case "ab":
      return `A/B: ${p.splits.map((s) => `${targetText(model, s.target)} ${s.weight}%`).join(", ")}`;
    case "shadow":
      return `shadow: ${targetText(model, p.shadow)}`;
    case "canary":
      return `canary: ${targetText(model, p.canary)} from ${p.startPercent}% +${p.stepPercent}% every ${p.intervalSeconds} s up to ${p.maxPercent}%`;
    default: {
      const never: never = p;
      return String(never);
    }
  }
}

/** The policy editor's fields, as typed (text, so a half-typed number stays on screen). */
export interface PolicyForm {
  kind: PolicyKind;
  splits: { target: string; weight: string }[];
  shadow: string;
  canary: string;
  startPercent: string;
  stepPercent: string;
  intervalSeconds: string;
  maxPercent: string;
}

export const EMPTY_POLICY: PolicyForm = {
  kind: "single",
  splits: [{ target: "", weight: "10" }],
  shadow: "",
  canary: "",
  startPercent: "5",
  stepPercent: "10",
  intervalSeconds: "600",
  maxPercent: "50",
};

/** The editor's fields for a deployment's current policy (the fields of other kinds keep their defaults). */
export function policyToForm(p: TrafficPolicy): PolicyForm {
  switch (p.kind) {
    case "single":
      return EMPTY_POLICY;
    case "ab":
      return { ...EMPTY_POLICY, kind: "ab", splits: p.splits.map((s) => ({ target: targetValue(s.target), weight: String(s.weight) })) };
    case "shadow":
      return { ...EMPTY_POLICY, kind: "shadow", shadow: targetValue(p.shadow) };
    case "canary":
      return {
        ...EMPTY_POLICY,
        kind: "canary",
        canary: targetValue(p.canary),
        startPercent: String(p.startPercent),
        stepPercent: String(p.stepPercent),
        intervalSeconds: String(p.intervalSeconds),
        maxPercent: String(p.maxPercent),
      };
    default: {
      const never: never = p;
      return never;
    }
  }
}

/** Field keys of the editor, as fieldIssues names them. */
export type FieldErrors = Record<string, string>;

/**
 * The policy the editor describes, or the fields a person still has to fill (versions chosen, numbers typed).
 * Ranges and sums are the API's to check: its messages come back through fieldIssues.
 */
export function policyFromForm(f: PolicyForm): { policy: TrafficPolicyInput } | { errors: FieldErrors } {
  const errors: FieldErrors = {};
  const target = (value: string, key: string) => {
    const t = parseTargetValue(value);
    if (!t) errors[key] = "Choose a version or alias.";
    return t as DeploymentTarget;
  };
  const number = (value: string, key: string) => {
    const n = value.trim() === "" ? Number.NaN : Number(value);
    if (!Number.isFinite(n)) errors[key] = "Give a number.";
    return n;
  };
  let policy: TrafficPolicyInput;
  switch (f.kind) {
    case "single":
      policy = { kind: "single" };
      break;
    case "ab":
      policy = {
        kind: "ab",
        splits: f.splits.map((s, i) => ({
          target: target(s.target, `splits.${i}.target`),
          weight: number(s.weight, `splits.${i}.weight`),
        })),
      };
      break;
    case "shadow":
      policy = { kind: "shadow", shadow: target(f.shadow, "shadow") };
      break;
    case "canary":
      policy = {
        kind: "canary",
        canary: target(f.canary, "canary"),
        startPercent: number(f.startPercent, "startPercent"),
        stepPercent: number(f.stepPercent, "stepPercent"),
        intervalSeconds: number(f.intervalSeconds, "intervalSeconds"),
        maxPercent: number(f.maxPercent, "maxPercent"),
      };
      break;
    default: {
      const never: never = f.kind;
      throw new Error(`unknown policy ${String(never)}`);
    }
  }
  return Object.keys(errors).length ? { errors } : { policy };
}

/**
 * The API's validation issues of a request body, keyed by the form field they concern:
 * "policy.splits.0.weight" -> "splits.0.weight", "name" -> "name"; a message on the whole splits list
 * (their sum) goes to "splits". Anything else is left to the error box.
 */
export function fieldIssues(err: unknown): FieldErrors {
  if (!(err instanceof CaretflowError) || err.code !== "invalid_request") return {};
  const issues = (err.details as { issues?: { path?: unknown; message?: unknown }[] } | undefined)?.issues ?? [];
  const out: FieldErrors = {};
  for (const i of issues) {
    if (typeof i.path !== "string" || typeof i.message !== "string") continue;
    const key = i.path.replace(/^policy\./, "").replace(/\.(alias|version)$/, "");
    if (!(key in out)) out[key] = i.message;
  }
  return out;
}

/** The badge tone of a scoring process's health. */
export function healthTone(h: ProcessHealth): "good" | "warn" | "bad" | "muted" | "info" {
  switch (h) {
    case "ready":
      return "good";
    case "starting":
      return "info";
    case "restarting":
      return "warn";
    case "failed":
      return "bad";
    case "stopped":
      return "muted";
    default: {
      const never: never = h;
      return never;
    }
  }
}

/** One word for a deployment's state: paused, or how well its versions serve now. */
export function overallState(d: Pick<Deployment, "status" | "serving" | "problem">): {
  label: "paused" | "healthy" | "starting" | "degraded" | "down";
  tone: "good" | "warn" | "bad" | "muted" | "info";
} {
  if (d.status === "paused") return { label: "paused", tone: "muted" };
  const answering = d.serving.filter((s) => s.role !== "shadow");
  if (answering.length === 0) return d.problem === "starting" ? { label: "starting", tone: "info" } : { label: "down", tone: "bad" };
  if (d.serving.every((s) => s.health === "ready") && !d.problem) return { label: "healthy", tone: "good" };
  if (answering.some((s) => s.health === "ready")) return { label: "degraded", tone: "warn" };
  return answering.some((s) => s.health === "starting" || s.health === "restarting")
    ? { label: "starting", tone: "info" }
    : { label: "down", tone: "bad" };
}

/** True while something is on its way (a process starting or restarting): the page reads the deployment again. */
export function isSettling(d: Pick<Deployment, "serving" | "problem" | "status">): boolean {
  if (d.status === "paused") return false;
  return d.problem === "starting" || d.serving.some((s) => s.health === "starting" || s.health === "restarting");
}

/** The model reference the deployment's example rows come from: the version serving as target, else the target itself. */
export function exampleRef(d: Pick<Deployment, "model" | "target" | "serving">): string {
  const target = d.serving.find((s) => s.role === "target");
  return target ? `${d.model}/${target.version}` : targetText(d.model, d.target);
}

/** The drift schedules a person can pick, as a select's values ("" for none: only on demand). */
export const DRIFT_SCHEDULES: { value: "" | NonNullable<DriftSchedule>; label: string }[] = [
  { value: "", label: "only on demand" },
  { value: "1h", label: "every hour" },
  { value: "6h", label: "every 6 hours" },
  { value: "1d", label: "every day" },
  { value: "7d", label: "every week" },
];

/** A select's value as the API's driftEvery (null: only on demand); anything unknown is null too. */
export function parseDriftSchedule(value: string): DriftSchedule {
  const found = DRIFT_SCHEDULES.find((s) => s.value === value && s.value !== "");
  return found ? (found.value as NonNullable<DriftSchedule>) : null;
}

/** "every day", or "only on demand". */
export function driftScheduleText(every: DriftSchedule): string {
  return DRIFT_SCHEDULES.find((s) => s.value === (every ?? ""))?.label ?? String(every);
}
