import type { Generated } from "kysely";

/** Kysely table types of the tables the server owns. Times are ISO 8601 strings (portable to PostgreSQL). */
export interface ServerTables {
  users: {
    id: string;
    username: string;
    password_hash: string;
    role: string;
    created_at: string;
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
}
