import { Catalog, type ColumnSchema, type TaskCatalog } from "@caretflow/contracts";
import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import catalogJson from "../../lib/fixtures/catalog.json" with { type: "json" };
import { FieldControl } from "./FieldControl.tsx";
import { fieldKey, initialValues } from "./train.form.ts";

// Server-side rendering in Node (no DOM): every field of the engine's real catalog becomes a labelled control.
const catalog = Catalog.parse(catalogJson);
const col = (name: string, kind: ColumnSchema["kind"]): ColumnSchema => ({ name, kind, duckdbType: "X", nullable: false });
const columns = [col("Id", "integer"), col("Purchase", "string"), col("PriceCH", "float")];

function render(task: TaskCatalog, name: string, error?: string): string {
  const field = task.fields.find((f) => f.name === name);
  if (!field) throw new Error(`no field ${name}`);
  return renderToStaticMarkup(
    createElement(FieldControl, {
      field,
      task,
      input: initialValues(task)[fieldKey(field)],
      onChange: () => {},
      columns,
      taken: new Set(["Purchase"]),
      error,
    }),
  );
}

describe.each(catalog.tasks.map((t) => [t.task, t] as const))("FieldControl for every %s field", (_, task) => {
  it.each(task.fields.map((f) => [f.scope, f.name, f.type] as const))("%s %s (%s) is labelled and says what it does", (_scope, name) => {
    const html = render(task, name);
    const field = task.fields.find((f) => f.name === name);
    // a control with a name a screen reader reads: <label for=id>, a wrapping <label>, or a <fieldset> with a <legend>
    const labelled =
      /<label[^>]*for="([^"]+)"[\s\S]*id="\1"/.test(html) ||
      /<label class="check"><input/.test(html) ||
      /<fieldset[\s\S]*<legend/.test(html);
    expect(labelled, html).toBe(true);
    expect(html).toContain(field?.label.replace(/&/g, "&amp;"));
    const help = (field?.help ?? "")
      .replace(/&/g, "&amp;")
      .replace(/'/g, "&#x27;")
      .replace(/"/g, "&quot;")
      .replace(/</g, "&lt;")
      .replace(/>/g, "&gt;");
    expect(html).toContain(help);
  });
});

describe("FieldControl", () => {
  const cls = catalog.tasks.find((t) => t.task === "classification") as TaskCatalog;
  it("offers only the columns that fit and are not taken, and shows the error", () => {
    const html = render(cls, "ignore_columns", "Leave at least one feature column.");
    expect(html).toContain('value="Id"');
    expect(html).not.toContain('value="Purchase"');
    expect(html).toContain("Leave at least one feature column.");
    expect(render(cls, "text_columns")).toContain("No column of this version fits.");
  });
  it("marks slow and uninstalled models, and says what an empty pick means", () => {
    const html = render(cls, "include");
    const turbo = cls.models.filter((m) => m.turbo && m.installed).length;
    expect(html).toContain(`the default set (${turbo} fast models)`);
    expect(cls.models.some((m) => !m.installed)).toBe(true);
    for (const m of cls.models.filter((x) => !x.installed)) expect(html).toMatch(new RegExp(`<input [^>]*disabled=""[^>]*value="${m.id}"`));
  });
  it("shows the default next to the help", () => {
    expect(render(cls, "train_size")).toContain("(default 0.7)");
  });
});
