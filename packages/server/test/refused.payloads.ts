/**
 * Hostile values for every field that names a file, location or thing, shared by the refused-input
 * suite (the counts are what reports quote). The /mlflow/ proxy has its own traversal list
 * (mlflow.payloads.ts); these are field values as the server receives them, not URLs.
 */

export type PayloadClass = "location" | "oversized" | "lookalike" | "control" | "template";

export interface Payload {
  class: PayloadClass;
  /** What the value tries, for test names. */
  label: string;
  value: string;
}

/** A marker the location payloads aim at: no file with it in its name may ever appear. */
export const PROBE = "refused-probe";

const location: Array<[string, string]> = [
  ["file URI", "file:///etc/passwd"],
  ["file URI, relative", `file:${PROBE}`],
  ["dbfs URI", `dbfs:/mnt/${PROBE}`],
  ["proc root", "//proc/self/root/etc/passwd"],
  ["empty-host URL with fragment", `http:///#/../${PROBE}`],
  ["semicolon then traversal", `a;/../../${PROBE}`],
  ["hash then traversal", `a#/../../${PROBE}`],
  ["dot-dot", ".."],
  ["dot-dot slashes", `../../${PROBE}`],
  ["dot-dot backslashes", `..\\..\\${PROBE}`],
  ["backslash traversal inside", `a\\..\\${PROBE}`],
  ["percent-encoded dot-dot", `%2e%2e/%2e%2e/${PROBE}`],
  ["percent-encoded dot-dot and slash", `%2e%2e%2f%2e%2e%2f${PROBE}`],
  ["double-encoded dot-dot", `%252e%252e%252f${PROBE}`],
  ["NUL byte", `${PROBE}\u0000.csv`],
  ["absolute path", "/etc/passwd"],
  ["absolute temp path", `/tmp/${PROBE}`],
  ["drive path", "C:\\Windows\\win.ini"],
  ["home path", `~/${PROBE}`],
];

const lookalike: Array<[string, string]> = [
  ["Cyrillic je for j", "\u0458uice"],
  ["fullwidth letters", "\uff4auice"],
  ["Cyrillic ie for e", "juic\u0435"],
  ["dotless i", "adm\u0131n"],
];

const control: Array<[string, string]> = [
  ["NUL", "ju\u0000ice"],
  ["line feed", "ju\nice"],
  ["carriage return", "juice\r"],
  ["bell", "ju\u0007ice"],
  ["escape sequence", "ju\u001b[31mice"],
  ["right-to-left override", "juice\u202etxt.exe"],
  ["zero-width space", "ju\u200bice"],
];

const template: Array<[string, string]> = [
  ["Jinja/Mustache expression", "{{7*7}}"],
  ["Jinja statement", "{% debug %}"],
  // biome-ignore lint/suspicious/noTemplateCurlyInString: names template syntax, not a template
  ["JS template literal", "${7*7}"],
];

const build = (cls: PayloadClass, list: Array<[string, string]>): Payload[] => list.map(([label, value]) => ({ class: cls, label, value }));

export const PAYLOADS: readonly Payload[] = [
  ...build("location", location),
  { class: "oversized", label: "a name of 1 MB", value: "a".repeat(1_000_000) },
  ...build("lookalike", lookalike),
  ...build("control", control),
  ...build("template", template),
];

/** The payloads of some classes. */
export const payloadsOf = (...classes: PayloadClass[]): Payload[] => PAYLOADS.filter((p) => classes.includes(p.class));

/** Text that is accepted where free text is (descriptions) and must come back unchanged, never evaluated. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: names template syntax, not a template
export const INERT_TEMPLATES: readonly string[] = ["{{7*7}}", "${7*7}", "{% raw %}x{% endraw %}", "<script>alert(1)</script>"];

/** Origins a browser may send from a foreign page (including a sandboxed frame's "null"). */
export const FOREIGN_ORIGINS: readonly string[] = ["http://evil.example", "null", "http://localhost.evil.example"];
