import type { QualityCheck } from "@caretflow/contracts";
import { describe, expect, it } from "vitest";
import { emptyRuleForm, formFromRule, ruleFromForm } from "./quality.helpers.ts";

describe("ruleFromForm", () => {
  const base = emptyRuleForm("price");

  it("builds each rule type from the form's text", () => {
    expect(ruleFromForm({ ...base, type: "range", min: "0", max: "1000", blocking: true })).toEqual({
      check: { type: "range", column: "price", min: 0, max: 1000 },
      severity: "blocking",
    });
    expect(ruleFromForm({ ...base, type: "allowed_values", values: " a, b ,," })).toMatchObject({
      check: { type: "allowed_values", values: ["a", "b"] },
      severity: "warning",
    });
    expect(ruleFromForm({ ...base, type: "row_count", min: "10" })).toMatchObject({ check: { type: "row_count", min: 10 } });
    expect(ruleFromForm({ ...base, type: "freshness", column: "", maxAgeHours: "48" })).toMatchObject({
      check: { type: "freshness", maxAgeHours: 48 },
    });
    expect(ruleFromForm({ ...base, type: "sql", sql: "SELECT * FROM data WHERE price < 0", name: " no negatives " })).toMatchObject({
      name: "no negatives",
    });
  });

  it("says what to fix instead of sending a rule the server would refuse", () => {
    expect(ruleFromForm({ ...base, type: "range" })).toMatch(/a range needs min, max or both/);
    expect(ruleFromForm({ ...base, type: "sql", sql: "DELETE FROM data" })).toMatch(/one SELECT or WITH statement/);
    expect(ruleFromForm({ ...base, type: "allowed_values" })).toMatch(/values/);
  });
});

describe("formFromRule", () => {
  it("shows a rule in the form so that saving it unchanged gives the same rule", () => {
    const rules: Array<{ check: QualityCheck; severity: "blocking" | "warning"; name: string }> = [
      { check: { type: "range", column: "price", min: 0, max: 1000 }, severity: "blocking", name: "price in range 0..1000" },
      { check: { type: "allowed_values", column: "region", values: ["north", "south"] }, severity: "warning", name: "regions" },
      { check: { type: "freshness", maxAgeHours: 48 }, severity: "warning", name: "fresh" },
      { check: { type: "sql", sql: "SELECT * FROM data WHERE qty < 0" }, severity: "blocking", name: "custom" },
    ];
    for (const rule of rules) expect(ruleFromForm(formFromRule(rule, "price"))).toEqual(rule);
  });
});
