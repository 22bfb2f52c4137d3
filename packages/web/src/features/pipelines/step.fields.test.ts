// biome-ignore-all lint/suspicious/noTemplateCurlyInString: pipeline references are written ${{ ... }}
import { STEP_TYPES, type StepType } from "@caretflow/contracts";
import { describe, expect, it } from "vitest";
import { type FieldKind, formatValue, parseNumber, parseValue, stepFields } from "./step.fields.ts";

const field = (type: StepType, name: string) => stepFields(type).find((f) => f.name === name)!;

describe("the step form comes from the step type's schema", () => {
  it("has one field per input, in the schema's order, for every step type", () => {
    for (const type of Object.keys(STEP_TYPES) as StepType[]) {
      expect(stepFields(type).map((f) => f.name)).toEqual(Object.keys(STEP_TYPES[type].with.shape));
    }
  });

  it.each([
    ["train", "dataset", "text", true, "dataset"],
    ["train", "version", "number", false, null],
    ["train", "task", "enum", true, null],
    ["train", "target", "text", false, "column"],
    ["train", "include", "list", false, null],
    ["train", "options", "json", false, null],
    ["transform", "sql", "multiline", true, null],
    ["transform", "output", "text", true, "dataset"],
    ["import", "connection", "text", false, "connection"],
    ["tune", "n_iter", "number", false, null],
    ["notify", "url", "text", true, null],
    ["custom", "language", "enum", true, null],
    ["custom", "args", "list", false, null],
    ["register", "model", "text", true, "model"],
  ] as const)("%s.%s is a %s input (required: %s, suggestions: %s)", (type, name, kind, required, source) => {
    expect(field(type, name)).toMatchObject({ kind, required, source });
  });

  it("describes each input and shows its default", () => {
    expect(field("train", "task").options).toEqual([
      "classification",
      "regression",
      "clustering",
      "anomaly",
      "time_series",
      "topics",
      "association_rules",
    ]);
    expect(field("train", "dataset").description).toBe("the dataset to train on");
    expect(field("evaluate_champion", "alias")).toMatchObject({ required: false, defaultText: "champion" });
    expect(field("custom", "language").options).toEqual(["python", "typescript"]);
  });
});

describe("an input's text and the value in the file", () => {
  it.each<[FieldKind, string, unknown]>([
    ["number", "3", 3],
    ["number", "0.5", 0.5],
    ["number", "three", "three"],
    ["number", "${{ steps.import.outputs.version }}", "${{ steps.import.outputs.version }}"],
    ["number", "  ", undefined],
    ["text", " sales ", "sales"],
    ["text", "", undefined],
    ["enum", "regression", "regression"],
    ["list", "lr\n rf \n\n", ["lr", "rf"]],
    ["list", "${{ params.models }}", "${{ params.models }}"],
    ["json", '{"fold": 3}', { fold: 3 }],
    ["json", "{fold: 3", "{fold: 3"],
    ["multiline", "SELECT 1\n\n", "SELECT 1"],
    ["boolean", "true", true],
  ])("%s %j gives %j", (kind, text, value) => {
    expect(parseValue(kind, text)).toEqual(value);
  });

  it.each<[FieldKind, unknown]>([
    ["number", 3],
    ["list", ["lr", "rf"]],
    ["json", { fold: 3, sort: "AUC" }],
    ["text", "${{ params.dataset }}"],
    ["multiline", "SELECT *\nFROM iris"],
  ])("%s %j survives being shown and read back", (kind, value) => {
    expect(parseValue(kind, formatValue(kind, value))).toEqual(value);
  });

  it.each([
    ["3", 3],
    ["2.5", 2.5],
    ["", undefined],
    ["ten", "ten"],
  ])("a number field's %j is %j", (text, value) => {
    expect(parseNumber(text)).toEqual(value);
  });
});
