import { createHash, randomUUID } from "node:crypto";
import { join } from "node:path";
import {
  CaretflowError,
  type DatasetVersion,
  describeCheck,
  notFound,
  QualityCheck,
  type QualityReport,
  type QualityRule,
  QualityRuleInput,
  type QualityRuleResult,
  type QualityRuleSuggestion,
  userError,
} from "@caretflow/contracts";
import { runQualityRules, suggestRules } from "@caretflow/data";
import type { Kysely, Selectable } from "kysely";
import type { ServerTables } from "../db/server.tables.ts";
import type { DatasetsPort, Logger } from "../ports.ts";

type Row = Selectable<ServerTables["quality_rules"]>;
type Trigger = QualityReport["trigger"];

export interface QualityServiceOptions {
  db: Kysely<ServerTables>;
  datasets: Pick<DatasetsPort, "getVersion" | "profile" | "get">;
  /** A scratch folder; each run gets its own subfolder, removed afterwards. */
  workDir: string;
  log: Logger;
  now?: () => Date;
  /** Time limit of one custom SQL rule. */
  sqlTimeoutMs?: number;
}

/**
 * Quality rules per dataset, their runs and reports. Rules run on every new version (the dataset
 * store's version event calls `onNewVersion`), on request, and before training, where a failing
 * blocking rule refuses the job (`requireTrainable`).
 */
export class QualityService {
  readonly #o: QualityServiceOptions;
  /** Checks started for new versions, by "dataset@version", so a reader can wait for them. */
  readonly #running = new Map<string, Promise<QualityReport | null>>();

  constructor(opts: QualityServiceOptions) {
    this.#o = opts;
  }

  /** The dataset's rules, oldest first. */
  async list(dataset: string): Promise<QualityRule[]> {
    const rows = await this.#o.db
      .selectFrom("quality_rules")
      .selectAll()
      .where("dataset", "=", dataset)
      .orderBy("created_at")
      .orderBy("id")
      .execute();
    return rows.map(ruleFromRow);
  }

  async create(dataset: string, input: QualityRuleInput, createdBy: string | null): Promise<QualityRule> {
    const parsed = QualityRuleInput.parse(input);
    await this.#o.datasets.get(dataset);
    const now = this.#iso();
    const row: Row = {
      id: randomUUID(),
      dataset,
      name: parsed.name ?? describeCheck(parsed.check),
      severity: parsed.severity,
      check_json: JSON.stringify(parsed.check),
      created_by: createdBy,
      created_at: now,
      updated_at: now,
    };
    await this.#o.db.insertInto("quality_rules").values(row).execute();
    return ruleFromRow(row);
  }

  /** Replace a rule's check, severity and name; answers the rule before and after. */
  async update(dataset: string, id: string, input: QualityRuleInput): Promise<{ before: QualityRule; after: QualityRule }> {
    const before = await this.get(dataset, id);
    const parsed = QualityRuleInput.parse(input);
    const set = {
      name: parsed.name ?? describeCheck(parsed.check),
      severity: parsed.severity,
      check_json: JSON.stringify(parsed.check),
      updated_at: this.#iso(),
    };
    await this.#o.db.updateTable("quality_rules").set(set).where("id", "=", id).execute();
    return { before, after: { ...before, name: set.name, severity: set.severity, check: parsed.check, updatedAt: set.updated_at } };
  }

  async remove(dataset: string, id: string): Promise<QualityRule> {
    const rule = await this.get(dataset, id);
    await this.#o.db.deleteFrom("quality_rules").where("id", "=", id).execute();
    return rule;
  }

  async get(dataset: string, id: string): Promise<QualityRule> {
    const row = await this.#o.db
      .selectFrom("quality_rules")
      .selectAll()
      .where("id", "=", id)
      .where("dataset", "=", dataset)
      .executeTakeFirst();
    if (!row) throw notFound("quality rule", id, `List the rules of '${dataset}' (caretflow datasets rules ${dataset}).`);
    return ruleFromRow(row);
  }

  /** Rules the latest version's profile suggests that the dataset does not have yet. */
  async suggestions(dataset: string, version?: number): Promise<{ version: number; suggestions: QualityRuleSuggestion[] }> {
    const v = await this.#o.datasets.getVersion(dataset, version);
    const profile = await this.#o.datasets.profile(dataset, v.version);
    const existing = (await this.list(dataset)).map((r) => r.check);
    return {
      version: v.version,
      suggestions: suggestRules(profile, existing).map((check) => ({ check, severity: "warning", name: describeCheck(check) })),
    };
  }

  /** Run the dataset's rules on one version now, store the report and answer it. */
  async check(dataset: string, version: number, trigger: Trigger): Promise<QualityReport> {
    const v = await this.#o.datasets.getVersion(dataset, version);
    const rules = await this.list(dataset);
    const results = await runQualityRules(
      rules.map((r) => ({ id: r.id, name: r.name, check: r.check, severity: r.severity })),
      {
        parquetPath: v.path,
        columns: v.columns,
        rowCount: v.rowCount,
        versionCreatedAt: v.createdAt,
        workDir: join(this.#o.workDir, `quality-${randomUUID()}`),
        now: this.#now(),
        ...(this.#o.sqlTimeoutMs ? { sqlTimeoutMs: this.#o.sqlTimeoutMs } : {}),
      },
    );
    const report = reportOf(dataset, v.version, this.#iso(), trigger, results, rulesHash(rules));
    await this.#o.db
      .insertInto("quality_reports")
      .values({
        id: randomUUID(),
        dataset,
        version: v.version,
        checked_at: report.checkedAt,
        passed: report.passed ? 1 : 0,
        blocking_failures: report.blockingFailures,
        report_json: JSON.stringify(report),
      })
      .execute();
    return report;
  }

  /** The newest stored report of a version (waiting for a check of a new version still running), or null. */
  async latestReport(dataset: string, version: number): Promise<QualityReport | null> {
    await this.#running.get(`${dataset}@${version}`);
    const row = await this.#o.db
      .selectFrom("quality_reports")
      .select("report_json")
      .where("dataset", "=", dataset)
      .where("version", "=", version)
      .orderBy("checked_at", "desc")
      .limit(1)
      .executeTakeFirst();
    return row ? (JSON.parse(row.report_json) as QualityReport) : null;
  }

  /** Whether the report was made with the dataset's current rules. */
  async isCurrent(report: QualityReport): Promise<boolean> {
    return report.rulesHash === rulesHash(await this.list(report.dataset));
  }

  /**
   * Start checking a new version in the background (the store's version event). Versions of datasets
   * without rules are not checked. Failures are logged, never thrown.
   */
  onNewVersion(version: Pick<DatasetVersion, "dataset" | "version">): void {
    const key = `${version.dataset}@${version.version}`;
    const job = (async () => {
      if ((await this.list(version.dataset)).length === 0) return null;
      return await this.check(version.dataset, version.version, "new_version");
    })().catch((err: unknown) => {
      this.#o.log("warn", `quality check of ${key} failed: ${err instanceof Error ? err.message : String(err)}`);
      return null;
    });
    this.#running.set(key, job);
    void job.finally(() => {
      if (this.#running.get(key) === job) this.#running.delete(key);
    });
  }

  /**
   * Refuse training on a version where a blocking rule fails (422, naming the rule and the version).
   * The rules run again now, so the answer matches the current rules and data age.
   */
  async requireTrainable(dataset: string, version: number): Promise<void> {
    const rules = await this.list(dataset);
    if (!rules.some((r) => r.severity === "blocking")) return;
    await this.#running.get(`${dataset}@${version}`);
    const report = await this.check(dataset, version, "train");
    const failed = report.results.filter((r) => r.severity === "blocking" && !r.passed);
    const first = failed[0];
    if (!first) return;
    const more = failed.length > 1 ? ` (and ${failed.length - 1} more blocking ${failed.length === 2 ? "rule" : "rules"})` : "";
    throw userError(
      "quality_rule_failed",
      `quality rule '${first.name}' failed on ${dataset} v${version}: ${first.message}${more}; fix the data or make the rule a warning`,
      `See the report: caretflow datasets check ${dataset} --version ${version}; change a rule with caretflow datasets rules ${dataset}.`,
      422,
      { dataset, version, failed: failed.map((r) => ({ ruleId: r.ruleId, name: r.name, message: r.message })) },
    );
  }

  /** Wait for checks of new versions still running (server shutdown, tests). */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.#running.values()]);
  }

  #now(): Date {
    return this.#o.now?.() ?? new Date();
  }

  #iso(): string {
    return this.#now().toISOString();
  }
}

function ruleFromRow(row: Row): QualityRule {
  const check = QualityCheck.safeParse(JSON.parse(row.check_json));
  if (!check.success) {
    throw new CaretflowError({
      code: "quality_rule_corrupt",
      kind: "bug",
      message: `Quality rule ${row.id} holds a check this version cannot read`,
    });
  }
  return {
    id: row.id,
    dataset: row.dataset,
    name: row.name,
    check: check.data,
    severity: row.severity === "blocking" ? "blocking" : "warning",
    createdBy: row.created_by,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function reportOf(
  dataset: string,
  version: number,
  checkedAt: string,
  trigger: Trigger,
  results: QualityRuleResult[],
  hash: string,
): QualityReport {
  const blockingFailures = results.filter((r) => !r.passed && r.severity === "blocking").length;
  const warnings = results.filter((r) => !r.passed && r.severity === "warning").length;
  return {
    dataset,
    version,
    checkedAt,
    trigger,
    passed: blockingFailures + warnings === 0,
    blockingFailures,
    warnings,
    results,
    rulesHash: hash,
  };
}

/** Fingerprint of a rule set: ids, checks and severities. */
function rulesHash(rules: readonly QualityRule[]): string {
  const h = createHash("sha256");
  for (const r of rules) h.update(JSON.stringify([r.id, r.severity, r.check])).update("\n");
  return h.digest("hex").slice(0, 16);
}
