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
