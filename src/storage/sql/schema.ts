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
