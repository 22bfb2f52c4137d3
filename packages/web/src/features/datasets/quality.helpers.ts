import { type QualityCheck, type QualityCheckType, QualityRuleInput } from "@caretflow/contracts";

export const RULE_TYPES: { type: QualityCheckType; label: string }[] = [
  { type: "not_null", label: "Not null" },
  { type: "unique", label: "Unique" },
  { type: "range", label: "Range (min/max)" },
  { type: "allowed_values", label: "Allowed values" },
  { type: "regex", label: "Matches a pattern" },
  { type: "row_count", label: "Row count" },
  { type: "freshness", label: "Freshness" },
  { type: "sql", label: "Custom SQL" },
];

/** The add-rule form's fields, all as typed text. */
export interface RuleForm {
  type: QualityCheckType;
  column: string;
  min: string;
  max: string;
  values: string;
  pattern: string;
  maxAgeHours: string;
  sql: string;
  name: string;
  blocking: boolean;
}

export function emptyRuleForm(column: string): RuleForm {
  return { type: "not_null", column, min: "", max: "", values: "", pattern: "", maxAgeHours: "24", sql: "", name: "", blocking: false };
}

export function ruleNeedsColumn(type: QualityCheckType): boolean {
  return type !== "row_count" && type !== "sql";
}

/** The rule the form describes, checked by the contract's schema; a string says what to fix. Pure. */
export function ruleFromForm(f: RuleForm): QualityRuleInput | string {
  const num = (s: string) => (s.trim() === "" ? undefined : Number(s));
  const column = f.column;
  const check = (() => {
    switch (f.type) {
      case "not_null":
      case "unique":
        return { type: f.type, column };
      case "range":
        return { type: f.type, column, min: num(f.min), max: num(f.max) };
      case "row_count":
        return { type: f.type, min: num(f.min), max: num(f.max) };
      case "allowed_values":
        return {
          type: f.type,
          column,
          values: f.values
            .split(",")
            .map((v) => v.trim())
            .filter((v) => v !== ""),
        };
      case "regex":
        return { type: f.type, column, pattern: f.pattern };
      case "freshness":
        return { type: f.type, ...(column ? { column } : {}), maxAgeHours: num(f.maxAgeHours) };
      case "sql":
        return { type: f.type, sql: f.sql };
      default: {
        const never: never = f.type;
        return never;
      }
    }
  })();
  const parsed = QualityRuleInput.safeParse({
    check,
    severity: f.blocking ? "blocking" : "warning",
    ...(f.name.trim() ? { name: f.name.trim() } : {}),
  });
  if (parsed.success) return parsed.data;
  return parsed.error.issues.map((i) => `${i.path.slice(1).join(".") || i.path.join(".") || "rule"}: ${i.message}`).join("; ");
}

/** The form showing an existing rule, for editing it. Pure. */
export function formFromRule(rule: { check: QualityCheck; severity: string; name: string }, fallbackColumn: string): RuleForm {
  const c = rule.check;
  const text = (n: number | undefined) => (n === undefined ? "" : String(n));
  return {
    ...emptyRuleForm(fallbackColumn),
    type: c.type,
    column: "column" in c ? (c.column ?? "") : c.type === "freshness" ? "" : fallbackColumn,
    min: "min" in c ? text(c.min) : "",
    max: "max" in c ? text(c.max) : "",
    values: c.type === "allowed_values" ? c.values.join(", ") : "",
    pattern: c.type === "regex" ? c.pattern : "",
    maxAgeHours: c.type === "freshness" ? String(c.maxAgeHours) : "24",
    sql: c.type === "sql" ? c.sql : "",
    name: rule.name,
    blocking: rule.severity === "blocking",
  };
}
