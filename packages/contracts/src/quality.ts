import { z } from "zod";

/** How much a failing rule matters: `blocking` stops training on the version, `warning` only reports. */
export const QualitySeverity = z.enum(["blocking", "warning"]);
export type QualitySeverity = z.infer<typeof QualitySeverity>;

const Column = z.string().min(1).max(256);

/** Custom SQL of a rule: one SELECT or WITH statement over the view `data` that returns the failing rows. */
export const QualitySql = z
  .string()
  .min(1)
  .max(20_000)
  .refine((s) => /^\s*(--[^\n]*\n\s*|\/\*[\s\S]*?\*\/\s*)*(select|with)\b/i.test(s), {
    message: "a custom rule is one SELECT or WITH statement over the view `data`",
  });

/** What a rule checks; each `type` reads the version with one DuckDB query. */
export const QualityCheck = z.discriminatedUnion("type", [
  z.object({ type: z.literal("not_null"), column: Column }),
  z.object({ type: z.literal("unique"), column: Column }),
  z
    .object({ type: z.literal("range"), column: Column, min: z.number().finite().optional(), max: z.number().finite().optional() })
    .refine((r) => r.min !== undefined || r.max !== undefined, { message: "a range needs min, max or both" })
    .refine((r) => r.min === undefined || r.max === undefined || r.min <= r.max, { message: "min must not be above max" }),
  z.object({ type: z.literal("allowed_values"), column: Column, values: z.array(z.string().max(1000)).min(1).max(1000) }),
  z.object({ type: z.literal("regex"), column: Column, pattern: z.string().min(1).max(1000) }),
  z
    .object({ type: z.literal("row_count"), min: z.number().int().min(0).optional(), max: z.number().int().min(0).optional() })
    .refine((r) => r.min !== undefined || r.max !== undefined, { message: "a row count range needs min, max or both" })
    .refine((r) => r.min === undefined || r.max === undefined || r.min <= r.max, { message: "min must not be above max" }),
  z.object({
    type: z.literal("freshness"),
    /** A date or timestamp column whose newest value is checked; absent: the version's own age. */
    column: Column.optional(),
    /** The most the newest value (or the version) may be behind now, in hours (24 per day). */
    maxAgeHours: z
      .number()
      .positive()
      .max(24 * 365 * 100),
  }),
  z.object({ type: z.literal("sql"), sql: QualitySql }),
]);
export type QualityCheck = z.infer<typeof QualityCheck>;
export type QualityCheckType = QualityCheck["type"];
export const QUALITY_CHECK_TYPES = ["not_null", "unique", "range", "allowed_values", "regex", "row_count", "freshness", "sql"] as const;

/** A rule as a person writes it (create and edit bodies). */
export const QualityRuleInput = z.object({
  check: QualityCheck,
  severity: QualitySeverity.default("warning"),
  /** A short name shown in reports; defaults to a description of the check ("price in range 0..1000"). */
  name: z.string().trim().min(1).max(200).optional(),
});
export type QualityRuleInput = z.input<typeof QualityRuleInput>;

/** A rule a profile suggests, ready to post as a QualityRuleInput. */
export const QualityRuleSuggestion = z.object({ check: QualityCheck, severity: QualitySeverity, name: z.string() });
export type QualityRuleSuggestion = z.infer<typeof QualityRuleSuggestion>;

export const QualityRule = z.object({
  id: z.string(),
  dataset: z.string(),
  name: z.string(),
  check: QualityCheck,
  severity: QualitySeverity,
  createdBy: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type QualityRule = z.infer<typeof QualityRule>;

/** One rule's outcome on one version. */
export const QualityRuleResult = z.object({
  ruleId: z.string(),
  name: z.string(),
  type: z.enum(QUALITY_CHECK_TYPES),
  severity: QualitySeverity,
  passed: z.boolean(),
  /** Rows that fail the rule (for row_count and freshness: 0 when passed, 1 when not). */
  failing: z.number().int(),
  /** A few failing rows or values, JSON-safe. */
  examples: z.array(z.record(z.string(), z.unknown())),
  /** What was found, in words ("12 rows out of range"). */
  message: z.string(),
});
export type QualityRuleResult = z.infer<typeof QualityRuleResult>;

export const QualityReport = z.object({
  dataset: z.string(),
  version: z.number().int(),
  checkedAt: z.string(),
  /** What made the check run: a new version, or someone asking. */
  trigger: z.enum(["new_version", "on_demand", "train"]),
  passed: z.boolean(),
  /** Failing rules marked blocking: training on this version is refused while any is listed. */
  blockingFailures: z.number().int(),
  warnings: z.number().int(),
  results: z.array(QualityRuleResult),
  /** Fingerprint of the rules that were run; a report of other rules is stale. */
  rulesHash: z.string(),
});
export type QualityReport = z.infer<typeof QualityReport>;

/** Short description of a check, used as the default rule name. Pure. */
export function describeCheck(check: QualityCheck): string {
  switch (check.type) {
    case "not_null":
      return `${check.column} not null`;
    case "unique":
      return `${check.column} unique`;
    case "range":
      return check.min !== undefined && check.max !== undefined
        ? `${check.column} in range ${check.min}..${check.max}`
        : check.min !== undefined
          ? `${check.column} at least ${check.min}`
          : `${check.column} at most ${check.max}`;
    case "allowed_values": {
      const shown = check.values.slice(0, 5).join(", ");
      return `${check.column} in {${shown}${check.values.length > 5 ? ", ..." : ""}}`;
    }
    case "regex":
      return `${check.column} matches /${check.pattern}/`;
    case "row_count":
      return check.min !== undefined && check.max !== undefined
        ? `row count ${check.min}..${check.max}`
        : check.min !== undefined
          ? `at least ${check.min} rows`
          : `at most ${check.max} rows`;
    case "freshness":
      return `${check.column ?? "version"} newer than ${formatHours(check.maxAgeHours)}`;
    case "sql":
      return "custom SQL";
    default: {
      const never: never = check;
      return never;
    }
  }
}

function formatHours(hours: number): string {
  return hours % 24 === 0 ? `${hours / 24} day${hours === 24 ? "" : "s"}` : `${hours} hour${hours === 1 ? "" : "s"}`;
}
