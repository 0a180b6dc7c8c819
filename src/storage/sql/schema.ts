/**
 * The tables as Kysely sees them: column types as stored. JSON columns are TEXT holding
 * JSON.stringify output (TEXT, not jsonb, so SQLite and PostgreSQL share one migration and one
 * mapping); timestamps are ISO-8601 UTC strings, which sort correctly as text.
 */
export interface Database {
  spaces: SpacesTable;
  space_members: SpaceMembersTable;
  models: ModelsTable;
  model_tags: ModelTagsTable;
  model_versions: ModelVersionsTable;
  aliases: AliasesTable;
  deployments: DeploymentsTable;
  users: UsersTable;
  sessions: SessionsTable;
  oauth_clients: OAuthClientsTable;
  api_keys: ApiKeysTable;
  signing_keys: SigningKeysTable;
  revoked_tokens: RevokedTokensTable;
  data_assets: DataAssetsTable;
  jobs: JobsTable;
  job_events: JobEventsTable;
  job_queue: JobQueueTable;
  job_schedules: JobSchedulesTable;
  audit_events: AuditEventsTable;
}

export interface SpacesTable {
  id: string;
  name: string;
  description: string | null;
  created_at: string;
}

export interface SpaceMembersTable {
  space_id: string;
  user_name: string;
  role: string;
}

export interface ModelsTable {
  id: string;
  space_id: string;
  name: string;
  description: string | null;
  tags: string;
  created_at: string;
  updated_at: string;
  revision: number;
  /** The last version number handed out (never reused after a delete). */
  version_seq: number;
}

/** One row per (model, tag): the tag filter is an indexed EXISTS, the same in SQLite and PostgreSQL. */
export interface ModelTagsTable {
  model_id: string;
  tag: string;
}

export interface ModelVersionsTable {
  id: string;
  model_id: string;
  version: number;
  sha256: string;
  size: number;
  blob_key: string;
  signature: string | null;
  manifest: string | null;
  metrics: string;
  tags: string;
  status: string;
  created_at: string;
}

export interface AliasesTable {
  model_id: string;
  name: string;
  version: number;
  updated_at: string;
}

export interface DeploymentsTable {
  id: string;
  space_id: string;
  name: string;
  description: string | null;
  kind: string;
  model_id: string;
  target: string;
  auth_mode: string;
  runtime: string;
  status: string;
  reason: string | null;
  revision: number;
  created_at: string;
  updated_at: string;
}

export interface UsersTable {
  name: string;
  /** argon2id, PHC string format. */
  password_hash: string;
  /** 0 or 1 (SQLite has no boolean). */
  is_admin: number;
  created_at: string;
}

export interface SessionsTable {
  /** SHA-256 hex of the cookie's session id. */
  id_hash: string;
  user_name: string;
  /** SHA-256 hex of the session's CSRF token. */
  csrf_hash: string;
  created_at: string;
  expires_at: string;
}

export interface OAuthClientsTable {
  id: string;
  owner: string;
  name: string;
  secret_hash: string;
  /** JSON array of scope names. */
  scopes: string;
  created_at: string;
  expires_at: string | null;
  secret_rotated_at: string | null;
}

export interface ApiKeysTable {
  id: string;
  /** The key's public lookup part, unique. */
  prefix: string;
  owner: string;
  space_id: string;
  name: string;
  secret_hash: string;
  /** JSON array of scope names. */
  scopes: string;
  created_at: string;
  last_used_at: string | null;
}

export interface SigningKeysTable {
  kid: string;
  alg: string;
  /** JSON Web Key, private part included. */
  private_jwk: string;
  public_jwk: string;
  created_at: string;
  retired_at: string | null;
  expires_at: string | null;
}

export interface RevokedTokensTable {
  jti: string;
  expires_at: string;
  revoked_at: string;
}

export interface DataAssetsTable {
  id: string;
  space_id: string;
  name: string;
  description: string | null;
  format: string;
  status: string;
  size: number;
  sha256: string | null;
  row_count: number | null;
  /** JSON array of column names. */
  columns: string | null;
  /** JSON: delimiter, quote, bom. */
  dialect: string | null;
  blob_key: string;
  job_id: string | null;
  created_at: string;
  updated_at: string;
}

export interface JobsTable {
  id: string;
  space_id: string;
  deployment_id: string;
  deployment_name: string;
  schedule_id: string | null;
  status: string;
  /** JSON: the JobSpec. */
  spec: string;
  input_asset_id: string | null;
  output_asset_id: string | null;
  model_version_id: string | null;
  rows_total: number;
  rows_read: number;
  rows_scored: number;
  rows_failed: number;
  chunks_committed: number;
  /** 0 or 1. */
  input_done: number;
  rows_per_second: number | null;
  attempt: number;
  max_attempts: number;
  error: string | null;
  /** 0 or 1. */
  cancel_requested: number;
  retry_at: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  updated_at: string;
}

export interface JobEventsTable {
  job_id: string;
  seq: number;
  at: string;
  level: string;
  message: string;
}

export interface JobQueueTable {
  job_id: string;
  run_after: string;
  enqueued_at: string;
  locked_by: string | null;
  locked_until: string | null;
}

export interface JobSchedulesTable {
  id: string;
  space_id: string;
  name: string;
  cron: string;
  timezone: string;
  /** JSON: the job template. */
  template: string;
  status: string;
  last_job_id: string | null;
  last_run_at: string | null;
  runs: number;
  skipped: number;
  created_at: string;
  updated_at: string;
}

export interface AuditEventsTable {
  id: string;
  at: string;
  action: string;
  actor: string | null;
  target: string | null;
  /** 'success' or 'failure'. */
  outcome: string;
  remote_address: string | null;
  /** JSON object, or null. */
  details: string | null;
}
