import type { Generated } from "kysely";

/** Kysely table types of the tables the server owns. Times are ISO 8601 strings (portable to PostgreSQL). */
export interface ServerTables {
  users: {
    id: string;
    username: string;
    password_hash: string;
    /** Site role: admin or user. */
    role: string;
    created_at: string;
    /** 1 when an admin disabled the account: its sessions and tokens stop working. */
    disabled: Generated<number>;
  };
  sessions: {
    /** sha256 of the cookie value; the cookie itself is never stored. */
    id_hash: string;
    user_id: string;
    created_at: string;
    expires_at: string;
  };
  api_tokens: {
    id: string;
    user_id: string;
    name: string;
    token_hash: string;
    created_at: string;
    last_used_at: string | null;
    /** The one project the token may touch; null: all of its user's projects. */
    project: string | null;
    access: "read" | "write";
    /** null: never expires (tokens made before scopes existed). */
    expires_at: string | null;
  };
  jobs: {
    id: string;
    kind: string;
    status: string;
    request_json: string;
    stage: string | null;
    progress_json: string | null;
    leaderboard_json: string;
    result_json: string | null;
    error_json: string | null;
    output_dataset_json: string | null;
    /** Every dataset version the job wrote: [{ role, name, version }]. */
    output_datasets_json: string | null;
    log_path: string;
    /** The project of the dataset the job reads. */
    project: string;
    last_seq: number;
    created_at: string;
    started_at: string | null;
    finished_at: string | null;
  };
  job_events: {
    job_id: string;
    seq: number;
    ts: string;
    type: string;
    body_json: string;
  };
  /**
   * Append-only, hash-chained record of every change (audit/audit.log.ts). Rows are never updated or
   * deleted; `hash` is sha256 over the row's other fields and `prev_hash`.
   */
  audit_log: {
    seq: number;
    at: string;
    /** null for the server itself (actor_name "system") and for failed sign-ins. */
    actor_id: string | null;
    actor_name: string;
    action: string;
    target_kind: string;
    target_id: string;
    project: string | null;
    address: string | null;
    before_json: string | null;
    after_json: string | null;
    prev_hash: string;
    hash: string;
  };
  /** The digest of each model folder caretflow made, by MLflow run and artifact path. */
  model_digests: {
    run_id: string;
    artifact_path: string;
    /** sha256 (hex) of the folder's manifest (engine: model_store.folder_digest). */
    digest: string;
    /** "job": reported by the job that logged the model; "first_use": recorded at the upgrade. */
    origin: string;
    job_id: string | null;
    recorded_at: string;
  };
  /** Small key/value facts about this installation. */
  server_meta: {
    key: string;
    value: string;
    updated_at: Generated<string>;
  };
  projects: {
    name: string;
    description: string | null;
    created_at: string;
  };
  project_members: {
    project: string;
    user_id: string;
    role: string;
    added_at: string;
  };
  /** Which project owns a dataset or registered model (objects kept outside these tables). */
  project_objects: {
    kind: string;
    name: string;
    project: string;
    created_at: string;
  };
  /** Single sign-on (OpenID Connect) settings: at most one row, id 1. */
  sso_settings: {
    id: number;
    issuer: string;
    client_id: string;
    /** SecretBox-sealed (AES-256-GCM) client secret; null for a public client. */
    client_secret_sealed: string | null;
    auto_create: number;
    default_project: string | null;
    default_role: string;
    button_label: string;
    updated_at: string;
  };
  /** A caretflow user's identity at a provider: linked by the provider's issuer and subject, never by name. */
  oidc_identities: {
    issuer: string;
    subject: string;
    user_id: string;
    created_at: string;
    last_login_at: string | null;
  };
  /** Sign-in attempts in flight: found by the sha256 of the browser's attempt cookie, used once, short-lived. */
  oidc_attempts: {
    id_hash: string;
    state: string;
    nonce: string;
    code_verifier: string;
    next_path: string | null;
    expires_at: string;
  };
  /** Connections to outside data sources; unique by (project, name). */
  connections: {
    id: string;
    project: string;
    name: string;
    type: string;
    settings_json: string;
    /** field -> SecretBox-sealed value (purpose `connection.<id>.<field>`); never returned by the API. */
    secrets_json: string;
    created_by: string | null;
    created_at: string;
    updated_at: string;
  };
  /** Saved SQL transforms, one per target dataset (dataset names are unique across projects). */
  transforms: {
    name: string;
    project: string;
    sql: string;
    updated_by: string | null;
    created_at: string;
    updated_at: string;
  };
  /** Quality rules of a dataset (check_json: a contracts QualityCheck). */
  quality_rules: {
    id: string;
    dataset: string;
    name: string;
    severity: string;
    check_json: string;
    created_by: string | null;
    created_at: string;
    updated_at: string;
  };
  /** One run of a dataset's rules on one version (report_json: a contracts QualityReport); the newest is shown. */
  quality_reports: {
    id: string;
    dataset: string;
    version: number;
    checked_at: string;
    passed: number;
    blocking_failures: number;
    report_json: string;
  };
  /** A pipeline: its current revision (the YAML is in pipeline_revisions). */
  pipelines: {
    project: string;
    name: string;
    revision: number;
    updated_by: string | null;
    created_at: string;
    updated_at: string;
  };
  /** Every applied revision of a pipeline: the YAML as applied and its custom steps' code files (path -> text). */
  pipeline_revisions: {
    project: string;
    name: string;
    revision: number;
    yaml: string;
    files_json: string;
    created_by: string | null;
    created_at: string;
  };
  /** One run of a pipeline revision (after_json: ids of runs it waits for before it starts). */
  pipeline_runs: {
    id: string;
    project: string;
    pipeline: string;
    revision: number;
    status: string;
    params_json: string;
    trigger_kind: string;
    trigger_json: string;
    force: number;
    resumed_from: string | null;
    after_json: string;
    created_by: string | null;
    created_at: string;
    started_at: string | null;
    finished_at: string | null;
    error_json: string | null;
  };
  /** A step of a run, as the runtime last saved it (state_json: what its handler saved to pick up its work after a restart). */
  pipeline_steps: {
    run_id: string;
    step_id: string;
    position: number;
    type: string;
    status: string;
    inputs_json: string | null;
    outputs_json: string;
    attempts_json: string;
    error_json: string | null;
    cache_key: string | null;
    reused_from: string | null;
    job_id: string | null;
    state_json: string | null;
    started_at: string | null;
    finished_at: string | null;
  };
  /** The last due time each schedule handled (ran, skipped or caught up). */
  pipeline_schedules: {
    project: string;
    pipeline: string;
    last_due: string;
  };
  /** A registered model's lifecycle settings (a model without a row needs no approval). */
  model_settings: {
    model: string;
    production_needs_approval: number;
    updated_by: string;
    updated_at: string;
  };
  /** A request to move a version to a stage; status pending, approved or rejected. */
  model_promotions: {
    id: string;
    model: string;
    version: number;
    stage: string;
    requested_by: string;
    reason: string | null;
    status: string;
    decided_by: string | null;
    decided_at: string | null;
    decision_reason: string | null;
    created_at: string;
  };
  /** One stage move of a model (seq counts per model): `version` took `stage` from `replaced`. */
  model_transitions: {
    model: string;
    seq: number;
    stage: string;
    version: number;
    replaced: number | null;
    /** promotion, rollback, alias (POST /aliases) or pipeline (a set_alias step). */
    kind: string;
    actor: string;
    reason: string | null;
    request_id: string | null;
    at: string;
  };
  /** Alert rules; webhook_sealed is the webhook URL sealed by the SecretBox (purpose `alert.<id>.webhook`). */
  alert_rules: {
    id: string;
    project: string;
    name: string;
    deployment: string;
    metric: string;
    op: string;
    threshold: number;
    window_minutes: number;
    enabled: number;
    webhook_sealed: string | null;
    webhook_origin: string | null;
    pipeline_json: string | null;
    state: string;
    last_value: number | null;
    last_checked_at: string | null;
    last_error: string | null;
    created_by: string | null;
    created_at: string;
    updated_at: string;
  };
  /** Each firing and resolution of a rule, kept after the rule is deleted. */
  alert_events: {
    id: string;
    project: string;
    rule_id: string;
    rule: string;
    deployment: string;
    kind: string;
    at: string;
    metric: string;
    value: number | null;
    threshold: number;
    op: string;
    message: string;
    webhook: string | null;
    pipeline_run: string | null;
    pipeline_error: string | null;
  };
  /** A model alias or version served at /api/deployments/NAME/predict (names are unique across projects). */
  deployments: {
    name: string;
    project: string;
    model: string;
    /** DeploymentTarget: {alias} or {version} */
    target_json: string;
    /** TrafficPolicy */
    policy_json: string;
    /** When the policy was set: a canary's ramp counts from here. */
    policy_since: string;
    status: string;
    created_by: string;
    created_at: string;
    updated_by: string;
    updated_at: string;
    /** DriftSchedule (`1h`...), or null: drift is checked on demand only. */
    drift_every: string | null;
  };
  /** The true label of one logged prediction row (the last one sent). */
  prediction_feedback: {
    deployment: string;
    prediction_id: string;
    row: number;
    /** The label as text (a number's decimal form); label_type says what it was. */
    label: string;
    label_type: "string" | "number" | "boolean";
    received_at: string;
    received_by: string;
  };
  /** One drift check of a deployment's logged inputs; result_json (the DriftResult) once its job succeeded. */
  deployment_drift_runs: {
    id: string;
    project: string;
    deployment: string;
    trigger: string;
    at: string;
    window_from: string;
    window_to: string;
    model: string;
    version: number;
    reference_dataset: string;
    reference_version: number;
    job_id: string;
    status: string;
    error: string | null;
    max_psi: number | null;
    result_json: string | null;
  };
  /** One MLflow training run as the runs list shows it (summary_json: its RunSummary), kept in step with MLflow. */
  runs_index: {
    run_id: string;
    experiment_id: string;
    experiment_name: string;
    name: string;
    status: string;
    start_time: string | null;
    end_time: string | null;
    task: string | null;
    dataset: string | null;
    dataset_name: string | null;
    summary_json: string;
    /** sha256 of what is indexed of the run, to skip rewriting unchanged runs */
    digest: string;
    synced_at: string;
  };
  /** An indexed run's metrics (num), params and tags (text), one row each, to filter and sort on in SQL. */
  runs_index_values: {
    run_id: string;
    kind: "metric" | "param" | "tag";
    key: string;
    num: number | null;
    text: string | null;
  };
}
