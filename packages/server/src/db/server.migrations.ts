import { type Kysely, type Migration, sql } from "kysely";
import { upgradeEventBody, upgradeResult, upgradeTrainRequest } from "./upgrade.task-families.ts";

/**
 * Migrations of the server's tables. Names sort before other packages' ("_00_server_")
 * so the merged list applies in a stable order. Only portable SQL: these run on
 * SQLite now and PostgreSQL later.
 */
export const serverMigrations: Record<string, Migration> = {
  "20261129_00_server_init": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("users")
        .addColumn("id", "varchar(64)", (c) => c.primaryKey())
        .addColumn("username", "varchar(100)", (c) => c.notNull().unique())
        .addColumn("password_hash", "text", (c) => c.notNull())
        .addColumn("role", "varchar(20)", (c) => c.notNull())
        .addColumn("created_at", "varchar(40)", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("sessions")
        .addColumn("id_hash", "varchar(64)", (c) => c.primaryKey())
        .addColumn("user_id", "varchar(64)", (c) => c.notNull().references("users.id").onDelete("cascade"))
        .addColumn("created_at", "varchar(40)", (c) => c.notNull())
        .addColumn("expires_at", "varchar(40)", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("api_tokens")
        .addColumn("id", "varchar(64)", (c) => c.primaryKey())
        .addColumn("user_id", "varchar(64)", (c) => c.notNull().references("users.id").onDelete("cascade"))
        .addColumn("name", "varchar(100)", (c) => c.notNull())
        .addColumn("token_hash", "varchar(64)", (c) => c.notNull().unique())
        .addColumn("created_at", "varchar(40)", (c) => c.notNull())
        .addColumn("last_used_at", "varchar(40)")
        .execute();
      await db.schema
        .createTable("jobs")
        .addColumn("id", "varchar(64)", (c) => c.primaryKey())
        .addColumn("kind", "varchar(20)", (c) => c.notNull())
        .addColumn("status", "varchar(20)", (c) => c.notNull())
        .addColumn("request_json", "text", (c) => c.notNull())
        .addColumn("stage", "varchar(20)")
        .addColumn("progress_json", "text")
        .addColumn("leaderboard_json", "text", (c) => c.notNull())
        .addColumn("result_json", "text")
        .addColumn("error_json", "text")
        .addColumn("output_dataset_json", "text")
        .addColumn("log_path", "text", (c) => c.notNull())
        .addColumn("last_seq", "integer", (c) => c.notNull())
        .addColumn("created_at", "varchar(40)", (c) => c.notNull())
        .addColumn("started_at", "varchar(40)")
        .addColumn("finished_at", "varchar(40)")
        .execute();
      await db.schema.createIndex("jobs_status_idx").on("jobs").column("status").execute();
      await db.schema.createIndex("jobs_created_idx").on("jobs").column("created_at").execute();
      await db.schema
        .createTable("job_events")
        .addColumn("job_id", "varchar(64)", (c) => c.notNull().references("jobs.id").onDelete("cascade"))
        .addColumn("seq", "integer", (c) => c.notNull())
        .addColumn("ts", "varchar(40)", (c) => c.notNull())
        .addColumn("type", "varchar(20)", (c) => c.notNull())
        .addColumn("body_json", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("job_events_pk", ["job_id", "seq"])
        .execute();
      await db.schema
        .createTable("server_meta")
        .addColumn("key", "varchar(100)", (c) => c.primaryKey())
        .addColumn("value", "text", (c) => c.notNull())
        .addColumn("updated_at", "varchar(40)", (c) => c.notNull().defaultTo(sql`CURRENT_TIMESTAMP`))
        .execute();
    },
    async down(db: Kysely<unknown>) {
      for (const t of ["job_events", "jobs", "api_tokens", "sessions", "users", "server_meta"]) await db.schema.dropTable(t).execute();
    },
  },
  "20261201_00_server_task_families": {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable("jobs").addColumn("output_datasets_json", "text").execute();
      // Rewrite 0.1 requests, results and stored finished events into the task-family shapes.
      type Row = { id: string; request_json: string; result_json: string | null };
      const anyDb = db as unknown as Kysely<{ jobs: Row; job_events: { job_id: string; seq: number; body_json: string } }>;
      const rows = await anyDb.selectFrom("jobs").select(["id", "request_json", "result_json"]).execute();
      for (const row of rows) {
        const request = upgradeTrainRequest(JSON.parse(row.request_json));
        const result = row.result_json === null ? null : upgradeResult(JSON.parse(row.result_json), request);
        await anyDb
          .updateTable("jobs")
          .set({ request_json: JSON.stringify(request), result_json: result === null ? null : JSON.stringify(result) })
          .where("id", "=", row.id)
          .execute();
        const events = await anyDb.selectFrom("job_events").select(["seq", "body_json"]).where("job_id", "=", row.id).execute();
        for (const e of events) {
          const before = JSON.parse(e.body_json);
          const after = upgradeEventBody(before, request);
          if (after !== before) {
            await anyDb
              .updateTable("job_events")
              .set({ body_json: JSON.stringify(after) })
              .where("job_id", "=", row.id)
              .where("seq", "=", e.seq)
              .execute();
          }
        }
      }
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable("jobs").dropColumn("output_datasets_json").execute();
    },
  },
  "20261202_00_server_projects": {
    // Projects and roles. Everything stored before this moves into the `default` project; its users
    // (the admin) become its owners, so nothing changes for them.
    async up(db: Kysely<unknown>) {
      const now = new Date().toISOString();
      await db.schema
        .alterTable("users")
        .addColumn("disabled", "integer", (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .createTable("projects")
        .addColumn("name", "varchar(64)", (c) => c.primaryKey())
        .addColumn("description", "text")
        .addColumn("created_at", "varchar(40)", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("project_members")
        .addColumn("project", "varchar(64)", (c) => c.notNull().references("projects.name").onDelete("cascade"))
        .addColumn("user_id", "varchar(64)", (c) => c.notNull().references("users.id").onDelete("cascade"))
        .addColumn("role", "varchar(20)", (c) => c.notNull())
        .addColumn("added_at", "varchar(40)", (c) => c.notNull())
        .addPrimaryKeyConstraint("project_members_pk", ["project", "user_id"])
        .execute();
      await db.schema.createIndex("project_members_user_idx").on("project_members").column("user_id").execute();
      // Which project owns an object kept outside the server's own tables (a dataset, a registered model).
      await db.schema
        .createTable("project_objects")
        .addColumn("kind", "varchar(20)", (c) => c.notNull())
        .addColumn("name", "varchar(200)", (c) => c.notNull())
        .addColumn("project", "varchar(64)", (c) => c.notNull().references("projects.name"))
        .addColumn("created_at", "varchar(40)", (c) => c.notNull())
        .addPrimaryKeyConstraint("project_objects_pk", ["kind", "name"])
        .execute();
      await db.schema.createIndex("project_objects_project_idx").on("project_objects").columns(["project", "kind"]).execute();
      await db.schema
        .alterTable("jobs")
        .addColumn("project", "varchar(64)", (c) => c.notNull().defaultTo("default"))
        .execute();
      await db.schema.createIndex("jobs_project_idx").on("jobs").columns(["project", "created_at"]).execute();

      type Db = {
        projects: { name: string; description: string | null; created_at: string };
        project_members: { project: string; user_id: string; role: string; added_at: string };
        project_objects: { kind: string; name: string; project: string; created_at: string };
        users: { id: string };
        datasets: { name: string };
      };
      const t = db as unknown as Kysely<Db>;
      await t
        .insertInto("projects")
        .values({ name: "default", description: "Everything made before projects existed", created_at: now })
        .execute();
      for (const u of await t.selectFrom("users").select("id").execute())
        await t.insertInto("project_members").values({ project: "default", user_id: u.id, role: "owner", added_at: now }).execute();
      for (const d of await t.selectFrom("datasets").select("name").execute())
        await t.insertInto("project_objects").values({ kind: "dataset", name: d.name, project: "default", created_at: now }).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable("jobs").dropColumn("project").execute();
      for (const t of ["project_objects", "project_members", "projects"]) await db.schema.dropTable(t).execute();
      await db.schema.alterTable("users").dropColumn("disabled").execute();
    },
  },
  "20261202_20_server_audit": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("audit_log")
        .addColumn("seq", "integer", (c) => c.primaryKey())
        .addColumn("at", "varchar(40)", (c) => c.notNull())
        .addColumn("actor_id", "varchar(64)")
        .addColumn("actor_name", "varchar(100)", (c) => c.notNull())
        .addColumn("action", "varchar(60)", (c) => c.notNull())
        .addColumn("target_kind", "varchar(40)", (c) => c.notNull())
        .addColumn("target_id", "text", (c) => c.notNull())
        .addColumn("project", "varchar(100)")
        .addColumn("address", "varchar(64)")
        .addColumn("before_json", "text")
        .addColumn("after_json", "text")
        // Unique: two rows can never follow the same row, so concurrent writers cannot fork the chain.
        .addColumn("prev_hash", "varchar(64)", (c) => c.notNull().unique())
        .addColumn("hash", "varchar(64)", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("audit_log_at_idx").on("audit_log").column("at").execute();
      await db.schema.createIndex("audit_log_action_idx").on("audit_log").column("action").execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable("audit_log").execute();
    },
  },
  "20261202_10_server_model_digests": {
    async up(db: Kysely<unknown>) {
      // The digest of each model folder caretflow made (engine: folder_digest), the only source of
      // the digest a model must have before it is loaded. MLflow tags are never trusted for this.
      await db.schema
        .createTable("model_digests")
        .addColumn("run_id", "varchar(64)", (c) => c.notNull())
        .addColumn("artifact_path", "varchar(300)", (c) => c.notNull())
        .addColumn("digest", "varchar(64)", (c) => c.notNull())
        .addColumn("origin", "varchar(20)", (c) => c.notNull())
        .addColumn("job_id", "varchar(64)")
        .addColumn("recorded_at", "varchar(40)", (c) => c.notNull())
        .addPrimaryKeyConstraint("model_digests_pk", ["run_id", "artifact_path"])
        .execute();
      // An installation with jobs from before this table records its existing models' digests once,
      // at first start after the upgrade (trust on first use: models/model-digest.backfill.ts).
      const anyDb = db as unknown as Kysely<{ jobs: { id: string }; server_meta: { key: string; value: string } }>;
      const hasJobs = await anyDb.selectFrom("jobs").select("id").limit(1).executeTakeFirst();
      if (hasJobs) await anyDb.insertInto("server_meta").values({ key: "model_digests_backfill", value: "pending" }).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable("model_digests").execute();
      const anyDb = db as unknown as Kysely<{ server_meta: { key: string } }>;
      await anyDb.deleteFrom("server_meta").where("key", "=", "model_digests_backfill").execute();
    },
  },
  "20261202_30_server_token_scopes": {
    // Scoped, expiring API tokens. Tokens made before this keep working as before: write access on all
    // of their user's projects (project null) and no expiry (expires_at null).
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable("api_tokens").addColumn("project", "varchar(64)").execute();
      await db.schema
        .alterTable("api_tokens")
        .addColumn("access", "varchar(10)", (c) => c.notNull().defaultTo("write"))
        .execute();
      await db.schema.alterTable("api_tokens").addColumn("expires_at", "varchar(40)").execute();
    },
    async down(db: Kysely<unknown>) {
      for (const c of ["expires_at", "access", "project"]) await db.schema.alterTable("api_tokens").dropColumn(c).execute();
    },
  },
  "20261202_40_oidc": {
    // Single sign-on: the one provider's settings (secret sealed by SecretBox), people linked by the
    // provider's (issuer, sub), and sign-in attempts in flight (single use, short-lived).
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("sso_settings")
        .addColumn("id", "integer", (c) => c.primaryKey())
        .addColumn("issuer", "varchar(500)", (c) => c.notNull())
        .addColumn("client_id", "varchar(500)", (c) => c.notNull())
        .addColumn("client_secret_sealed", "text")
        .addColumn("auto_create", "integer", (c) => c.notNull())
        .addColumn("default_project", "varchar(64)")
        .addColumn("default_role", "varchar(10)", (c) => c.notNull())
        .addColumn("button_label", "varchar(60)", (c) => c.notNull())
        .addColumn("updated_at", "varchar(40)", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("oidc_identities")
        .addColumn("issuer", "varchar(500)", (c) => c.notNull())
        .addColumn("subject", "varchar(255)", (c) => c.notNull())
        .addColumn("user_id", "varchar(64)", (c) => c.notNull())
        .addColumn("created_at", "varchar(40)", (c) => c.notNull())
        .addColumn("last_login_at", "varchar(40)")
        .addPrimaryKeyConstraint("oidc_identities_pk", ["issuer", "subject"])
        .execute();
      await db.schema.createIndex("oidc_identities_user_idx").on("oidc_identities").column("user_id").execute();
      await db.schema
        .createTable("oidc_attempts")
        .addColumn("id_hash", "varchar(64)", (c) => c.primaryKey())
        .addColumn("state", "varchar(100)", (c) => c.notNull())
        .addColumn("nonce", "varchar(100)", (c) => c.notNull())
        .addColumn("code_verifier", "varchar(200)", (c) => c.notNull())
        .addColumn("next_path", "varchar(500)")
        .addColumn("expires_at", "varchar(40)", (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<unknown>) {
      for (const t of ["oidc_attempts", "oidc_identities", "sso_settings"]) await db.schema.dropTable(t).execute();
    },
  },
  "20261202_50_connections": {
    // Connections to outside data sources, owned by a project; secret fields sealed by SecretBox.
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("connections")
        .addColumn("id", "varchar(36)", (c) => c.primaryKey())
        .addColumn("project", "varchar(64)", (c) => c.notNull())
        .addColumn("name", "varchar(64)", (c) => c.notNull())
        .addColumn("type", "varchar(32)", (c) => c.notNull())
        .addColumn("settings_json", "text", (c) => c.notNull())
        .addColumn("secrets_json", "text", (c) => c.notNull())
        .addColumn("created_by", "varchar(64)")
        .addColumn("created_at", "varchar(40)", (c) => c.notNull())
        .addColumn("updated_at", "varchar(40)", (c) => c.notNull())
        .addUniqueConstraint("connections_project_name", ["project", "name"])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable("connections").execute();
    },
  },
  "20261202_60_transforms": {
    // Saved SQL transforms: the query that makes new versions of the dataset `name` (one per dataset).
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("transforms")
        .addColumn("name", "varchar(64)", (c) => c.primaryKey())
        .addColumn("project", "varchar(64)", (c) => c.notNull())
        .addColumn("sql", "text", (c) => c.notNull())
        .addColumn("updated_by", "varchar(64)")
        .addColumn("created_at", "varchar(40)", (c) => c.notNull())
        .addColumn("updated_at", "varchar(40)", (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable("transforms").execute();
    },
  },
  "20261202_83_quality_rules": {
    // Quality rules per dataset, and the reports of running them on each version.
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("quality_rules")
        .addColumn("id", "varchar(36)", (c) => c.primaryKey())
        .addColumn("dataset", "varchar(64)", (c) => c.notNull())
        .addColumn("name", "varchar(200)", (c) => c.notNull())
        .addColumn("severity", "varchar(20)", (c) => c.notNull())
        .addColumn("check_json", "text", (c) => c.notNull())
        .addColumn("created_by", "varchar(100)")
        .addColumn("created_at", "varchar(40)", (c) => c.notNull())
        .addColumn("updated_at", "varchar(40)", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("quality_rules_dataset_idx").on("quality_rules").column("dataset").execute();
      await db.schema
        .createTable("quality_reports")
        .addColumn("id", "varchar(36)", (c) => c.primaryKey())
        .addColumn("dataset", "varchar(64)", (c) => c.notNull())
        .addColumn("version", "integer", (c) => c.notNull())
        .addColumn("checked_at", "varchar(40)", (c) => c.notNull())
        .addColumn("passed", "integer", (c) => c.notNull())
        .addColumn("blocking_failures", "integer", (c) => c.notNull())
        .addColumn("report_json", "text", (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex("quality_reports_version_idx")
        .on("quality_reports")
        .columns(["dataset", "version", "checked_at"])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable("quality_reports").execute();
      await db.schema.dropTable("quality_rules").execute();
    },
  },
  "20261202_95_pipelines": {
    // Pipelines (one row each, the current revision), every applied revision's YAML and code files, runs,
    // their steps, and when each schedule last fired.
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("pipelines")
        .addColumn("project", "varchar(64)", (c) => c.notNull())
        .addColumn("name", "varchar(64)", (c) => c.notNull())
        .addColumn("revision", "integer", (c) => c.notNull())
        .addColumn("updated_by", "varchar(100)")
        .addColumn("created_at", "varchar(40)", (c) => c.notNull())
        .addColumn("updated_at", "varchar(40)", (c) => c.notNull())
        .addPrimaryKeyConstraint("pipelines_pk", ["project", "name"])
        .execute();
      await db.schema
        .createTable("pipeline_revisions")
        .addColumn("project", "varchar(64)", (c) => c.notNull())
        .addColumn("name", "varchar(64)", (c) => c.notNull())
        .addColumn("revision", "integer", (c) => c.notNull())
        .addColumn("yaml", "text", (c) => c.notNull())
        .addColumn("files_json", "text", (c) => c.notNull())
        .addColumn("created_by", "varchar(100)")
        .addColumn("created_at", "varchar(40)", (c) => c.notNull())
        .addPrimaryKeyConstraint("pipeline_revisions_pk", ["project", "name", "revision"])
        .execute();
      await db.schema
        .createTable("pipeline_runs")
        .addColumn("id", "varchar(36)", (c) => c.primaryKey())
        .addColumn("project", "varchar(64)", (c) => c.notNull())
        .addColumn("pipeline", "varchar(64)", (c) => c.notNull())
        .addColumn("revision", "integer", (c) => c.notNull())
        .addColumn("status", "varchar(20)", (c) => c.notNull())
        .addColumn("params_json", "text", (c) => c.notNull())
        .addColumn("trigger_kind", "varchar(30)", (c) => c.notNull())
        .addColumn("trigger_json", "text", (c) => c.notNull())
        .addColumn("force", "integer", (c) => c.notNull())
        .addColumn("resumed_from", "varchar(36)")
        .addColumn("after_json", "text", (c) => c.notNull())
        .addColumn("created_by", "varchar(100)")
        .addColumn("created_at", "varchar(40)", (c) => c.notNull())
        .addColumn("started_at", "varchar(40)")
        .addColumn("finished_at", "varchar(40)")
        .addColumn("error_json", "text")
        .execute();
      await db.schema
        .createIndex("pipeline_runs_pipeline_idx")
        .on("pipeline_runs")
        .columns(["project", "pipeline", "created_at"])
        .execute();
      await db.schema.createIndex("pipeline_runs_status_idx").on("pipeline_runs").column("status").execute();
      await db.schema
        .createTable("pipeline_steps")
        .addColumn("run_id", "varchar(36)", (c) => c.notNull())
        .addColumn("step_id", "varchar(64)", (c) => c.notNull())
        .addColumn("position", "integer", (c) => c.notNull())
        .addColumn("type", "varchar(40)", (c) => c.notNull())
        .addColumn("status", "varchar(20)", (c) => c.notNull())
        .addColumn("inputs_json", "text")
        .addColumn("outputs_json", "text", (c) => c.notNull())
        .addColumn("attempts_json", "text", (c) => c.notNull())
        .addColumn("error_json", "text")
        .addColumn("cache_key", "varchar(64)")
        .addColumn("reused_from", "varchar(36)")
        .addColumn("job_id", "varchar(36)")
        .addColumn("state_json", "text")
        .addColumn("started_at", "varchar(40)")
        .addColumn("finished_at", "varchar(40)")
        .addPrimaryKeyConstraint("pipeline_steps_pk", ["run_id", "step_id"])
        .execute();
      await db.schema.createIndex("pipeline_steps_cache_idx").on("pipeline_steps").columns(["cache_key", "status"]).execute();
      await db.schema
        .createTable("pipeline_schedules")
        .addColumn("project", "varchar(64)", (c) => c.notNull())
        .addColumn("pipeline", "varchar(64)", (c) => c.notNull())
        .addColumn("last_due", "varchar(40)", (c) => c.notNull())
        .addPrimaryKeyConstraint("pipeline_schedules_pk", ["project", "pipeline"])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      for (const t of ["pipeline_schedules", "pipeline_steps", "pipeline_runs", "pipeline_revisions", "pipelines"]) {
        await db.schema.dropTable(t).execute();
      }
    },
  },
  /** A registered model's lifecycle: its settings, promotion requests and every stage move. */
  "20261203_10_model_lifecycle": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("model_settings")
        .addColumn("model", "varchar(200)", (c) => c.primaryKey())
        .addColumn("production_needs_approval", "integer", (c) => c.notNull())
        .addColumn("updated_by", "varchar(100)", (c) => c.notNull())
        .addColumn("updated_at", "varchar(40)", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("model_promotions")
        .addColumn("id", "varchar(36)", (c) => c.primaryKey())
        .addColumn("model", "varchar(200)", (c) => c.notNull())
        .addColumn("version", "integer", (c) => c.notNull())
        .addColumn("stage", "varchar(20)", (c) => c.notNull())
        .addColumn("requested_by", "varchar(100)", (c) => c.notNull())
        .addColumn("reason", "text")
        .addColumn("status", "varchar(20)", (c) => c.notNull())
        .addColumn("decided_by", "varchar(100)")
        .addColumn("decided_at", "varchar(40)")
        .addColumn("decision_reason", "text")
        .addColumn("created_at", "varchar(40)", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("model_promotions_model_idx").on("model_promotions").columns(["model", "created_at"]).execute();
      await db.schema
        .createTable("model_transitions")
        .addColumn("model", "varchar(200)", (c) => c.notNull())
        .addColumn("seq", "integer", (c) => c.notNull())
        .addColumn("stage", "varchar(20)", (c) => c.notNull())
        .addColumn("version", "integer", (c) => c.notNull())
        .addColumn("replaced", "integer")
        .addColumn("kind", "varchar(20)", (c) => c.notNull())
        .addColumn("actor", "varchar(100)", (c) => c.notNull())
        .addColumn("reason", "text")
        .addColumn("request_id", "varchar(36)")
        .addColumn("at", "varchar(40)", (c) => c.notNull())
        .addPrimaryKeyConstraint("model_transitions_pk", ["model", "seq"])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      for (const t of ["model_transitions", "model_promotions", "model_settings"]) await db.schema.dropTable(t).execute();
    },
  },
  "20261203_40_alerts": {
    // Alert rules (a deployment's metric over a window against a threshold) and what each firing did.
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("alert_rules")
        .addColumn("id", "varchar(36)", (c) => c.primaryKey())
        .addColumn("project", "varchar(64)", (c) => c.notNull())
        .addColumn("name", "varchar(64)", (c) => c.notNull())
        .addColumn("deployment", "varchar(64)", (c) => c.notNull())
        .addColumn("metric", "varchar(64)", (c) => c.notNull())
        .addColumn("op", "varchar(2)", (c) => c.notNull())
        .addColumn("threshold", "double precision", (c) => c.notNull())
        .addColumn("window_minutes", "integer", (c) => c.notNull())
        .addColumn("enabled", "integer", (c) => c.notNull())
        .addColumn("webhook_sealed", "text")
        .addColumn("webhook_origin", "varchar(300)")
        .addColumn("pipeline_json", "text")
        .addColumn("state", "varchar(20)", (c) => c.notNull())
        .addColumn("last_value", "double precision")
        .addColumn("last_checked_at", "varchar(40)")
        .addColumn("last_error", "text")
        .addColumn("created_by", "varchar(100)")
        .addColumn("created_at", "varchar(40)", (c) => c.notNull())
        .addColumn("updated_at", "varchar(40)", (c) => c.notNull())
        .addUniqueConstraint("alert_rules_name_uq", ["project", "name"])
        .execute();
      await db.schema
        .createTable("alert_events")
        .addColumn("id", "varchar(36)", (c) => c.primaryKey())
        .addColumn("project", "varchar(64)", (c) => c.notNull())
        .addColumn("rule_id", "varchar(36)", (c) => c.notNull())
        .addColumn("rule", "varchar(64)", (c) => c.notNull())
        .addColumn("deployment", "varchar(64)", (c) => c.notNull())
        .addColumn("kind", "varchar(20)", (c) => c.notNull())
        .addColumn("at", "varchar(40)", (c) => c.notNull())
        .addColumn("metric", "varchar(64)", (c) => c.notNull())
        .addColumn("value", "double precision")
        .addColumn("threshold", "double precision", (c) => c.notNull())
        .addColumn("op", "varchar(2)", (c) => c.notNull())
        .addColumn("message", "text", (c) => c.notNull())
        .addColumn("webhook", "text")
        .addColumn("pipeline_run", "varchar(36)")
        .addColumn("pipeline_error", "text")
        .execute();
      await db.schema.createIndex("alert_events_project_idx").on("alert_events").columns(["project", "at"]).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable("alert_events").execute();
      await db.schema.dropTable("alert_rules").execute();
    },
  },
  "20261203_50_monitoring": {
    // Labels sent back for logged predictions (one per prediction id and row: the last one sent wins), each
    // deployment's drift schedule, and its drift checks (the figures are copied from the job once it ends).
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("prediction_feedback")
        .addColumn("deployment", "varchar(63)", (c) => c.notNull())
        .addColumn("prediction_id", "varchar(36)", (c) => c.notNull())
        .addColumn("row", "integer", (c) => c.notNull())
        .addColumn("label", "text", (c) => c.notNull())
        .addColumn("label_type", "varchar(10)", (c) => c.notNull())
        .addColumn("received_at", "varchar(40)", (c) => c.notNull())
        .addColumn("received_by", "varchar(100)", (c) => c.notNull())
        .addPrimaryKeyConstraint("prediction_feedback_pk", ["deployment", "prediction_id", "row"])
        .execute();
      await db.schema
        .createIndex("prediction_feedback_received_idx")
        .on("prediction_feedback")
        .columns(["deployment", "received_at"])
        .execute();
      await db.schema.alterTable("deployments").addColumn("drift_every", "varchar(10)").execute();
      await db.schema
        .createTable("deployment_drift_runs")
        .addColumn("id", "varchar(36)", (c) => c.primaryKey())
        .addColumn("project", "varchar(64)", (c) => c.notNull())
        .addColumn("deployment", "varchar(63)", (c) => c.notNull())
        .addColumn("trigger", "varchar(20)", (c) => c.notNull())
        .addColumn("at", "varchar(40)", (c) => c.notNull())
        .addColumn("window_from", "varchar(40)", (c) => c.notNull())
        .addColumn("window_to", "varchar(40)", (c) => c.notNull())
        .addColumn("model", "varchar(100)", (c) => c.notNull())
        .addColumn("version", "integer", (c) => c.notNull())
        .addColumn("reference_dataset", "varchar(200)", (c) => c.notNull())
        .addColumn("reference_version", "integer", (c) => c.notNull())
        .addColumn("job_id", "varchar(36)", (c) => c.notNull())
        .addColumn("status", "varchar(20)", (c) => c.notNull())
        .addColumn("error", "text")
        .addColumn("max_psi", "double precision")
        .addColumn("result_json", "text")
        .execute();
      await db.schema.createIndex("deployment_drift_runs_idx").on("deployment_drift_runs").columns(["deployment", "at"]).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable("deployment_drift_runs").execute();
      await db.schema.alterTable("deployments").dropColumn("drift_every").execute();
      await db.schema.dropTable("prediction_feedback").execute();
    },
  },
  "20261203_30_deployments": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("deployments")
        .addColumn("name", "varchar(63)", (c) => c.primaryKey())
        .addColumn("project", "varchar(64)", (c) => c.notNull())
        .addColumn("model", "varchar(100)", (c) => c.notNull())
        .addColumn("target_json", "text", (c) => c.notNull())
        .addColumn("policy_json", "text", (c) => c.notNull())
        .addColumn("policy_since", "varchar(40)", (c) => c.notNull())
        .addColumn("status", "varchar(20)", (c) => c.notNull())
        .addColumn("created_by", "varchar(100)", (c) => c.notNull())
        .addColumn("created_at", "varchar(40)", (c) => c.notNull())
        .addColumn("updated_by", "varchar(100)", (c) => c.notNull())
        .addColumn("updated_at", "varchar(40)", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("deployments_project_idx").on("deployments").columns(["project", "name"]).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable("deployments").execute();
    },
  },
  /** caretflow's index of MLflow training runs, kept in step by RunsIndexSync; the runs list reads only this. */
  "20261203_20_runs_index": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("runs_index")
        .addColumn("run_id", "varchar(32)", (c) => c.primaryKey())
        .addColumn("experiment_id", "varchar(64)", (c) => c.notNull())
        .addColumn("experiment_name", "varchar(500)", (c) => c.notNull())
        .addColumn("name", "varchar(500)", (c) => c.notNull())
        .addColumn("status", "varchar(20)", (c) => c.notNull())
        .addColumn("start_time", "varchar(40)")
        .addColumn("end_time", "varchar(40)")
        .addColumn("task", "varchar(100)")
        .addColumn("dataset", "varchar(200)")
        .addColumn("dataset_name", "varchar(200)")
        .addColumn("summary_json", "text", (c) => c.notNull())
        .addColumn("digest", "varchar(64)", (c) => c.notNull())
        .addColumn("synced_at", "varchar(40)", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("runs_index_start_idx").on("runs_index").column("start_time").execute();
      await db.schema.createIndex("runs_index_dataset_idx").on("runs_index").column("dataset_name").execute();
      await db.schema
        .createTable("runs_index_values")
        .addColumn("run_id", "varchar(32)", (c) => c.notNull())
        .addColumn("kind", "varchar(10)", (c) => c.notNull())
        .addColumn("key", "varchar(250)", (c) => c.notNull())
        .addColumn("num", "double precision")
        .addColumn("text", "text")
        .addPrimaryKeyConstraint("runs_index_values_pk", ["run_id", "kind", "key"])
        .execute();
      await db.schema.createIndex("runs_index_values_key_idx").on("runs_index_values").columns(["kind", "key", "num"]).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable("runs_index_values").execute();
      await db.schema.dropTable("runs_index").execute();
    },
  },
};
