import type { Page, SpaceRole } from './ports.js';

/**
 * Ports for the security domain (src/auth/): users, sessions, OAuth2 clients, API keys, signing
 * keys, revoked tokens and space roles. Secrets never cross these interfaces in clear: the
 * services hash them first. Timestamps are ISO-8601 UTC strings (they sort as text).
 */

export interface UserRow {
  /** Unique; space_members refers to users by this name. */
  name: string;
  /** argon2id, PHC string format. */
  passwordHash: string;
  isAdmin: boolean;
  createdAt: string;
}

export interface UserRepository {
  /** Inserts the user unless one of that name exists; false (and nothing changed) when it does. */
  createIfAbsent(user: UserRow): Promise<boolean>;
  get(name: string): Promise<UserRow | undefined>;
}

export interface SessionRow {
  idHash: string;
  user: string;
  csrfHash: string;
  createdAt: string;
  expiresAt: string;
}

export interface SessionRepository {
  create(session: SessionRow): Promise<void>;
  get(idHash: string): Promise<SessionRow | undefined>;
  delete(idHash: string): Promise<boolean>;
  /** Removes the sessions that expired before `now`. */
  deleteExpired(now: string): Promise<void>;
}

export interface OAuthClientRow {
  id: string;
  owner: string;
  name: string;
  secretHash: string;
  scopes: string[];
  createdAt: string;
  expiresAt: string | null;
  secretRotatedAt: string | null;
}

export interface OAuthClientRepository {
  create(client: OAuthClientRow): Promise<void>;
  get(id: string): Promise<OAuthClientRow | undefined>;
  /** Ordered by creation time. */
  listByOwner(owner: string): Promise<OAuthClientRow[]>;
  /** False when there is no such client. */
  setSecretHash(id: string, secretHash: string, rotatedAt: string): Promise<boolean>;
  delete(id: string): Promise<boolean>;
}

export interface ApiKeyRow {
  id: string;
  prefix: string;
  owner: string;
  spaceId: string;
  name: string;
  secretHash: string;
  scopes: string[];
  createdAt: string;
  lastUsedAt: string | null;
}

export interface ApiKeyRepository {
  create(key: ApiKeyRow): Promise<void>;
  get(id: string): Promise<ApiKeyRow | undefined>;
  getByPrefix(prefix: string): Promise<ApiKeyRow | undefined>;
  /** Ordered by creation time. */
  listByOwner(owner: string): Promise<ApiKeyRow[]>;
  delete(id: string): Promise<boolean>;
  /** Sets last_used_at to `at` unless it is already later than `unlessAfter` (spares a write per request). */
  touch(id: string, at: string, unlessAfter: string): Promise<void>;
}

export interface SigningKeyRow {
  kid: string;
  alg: string;
  /** JSON Web Keys as JSON text. */
  privateJwk: string;
  publicJwk: string;
  createdAt: string;
  retiredAt: string | null;
  expiresAt: string | null;
}

export interface SigningKeyRepository {
  create(key: SigningKeyRow): Promise<void>;
  get(kid: string): Promise<SigningKeyRow | undefined>;
  /** The newest key not retired: the one that signs. */
  current(): Promise<SigningKeyRow | undefined>;
  /** Keys whose tokens may still be alive at `now` (not retired, or expiring after it), newest first. */
  listLive(now: string): Promise<SigningKeyRow[]>;
  /**
   * Retires the keys created before `createdAt` that are not retired yet. Keyed on time rather
   * than on the new key's id so that two replicas rotating at once leave the newer key signing.
   */
  retireCreatedBefore(createdAt: string, retiredAt: string, expiresAt: string): Promise<void>;
  /** Deletes keys that expired before `now`. */
  deleteExpired(now: string): Promise<void>;
}

export interface RevokedTokenRepository {
  /** Idempotent: revoking a revoked jti again changes nothing. */
  add(jti: string, expiresAt: string, revokedAt: string): Promise<void>;
  isRevoked(jti: string): Promise<boolean>;
  /** Removes rows of tokens that expired before `now` (they fail on exp anyway). */
  deleteExpired(now: string): Promise<void>;
}

/** What the auth domain reads of the registry's spaces. */
export interface SpaceMembershipLookup {
  /** Space id -> the user's role there. */
  rolesOf(user: string): Promise<Record<string, SpaceRole>>;
  spaceIdByName(name: string): Promise<string | undefined>;
}

export type AuditOutcome = 'success' | 'failure';

/** One audit event. `details` never holds a secret (AuditService drops such keys before writing). */
export interface AuditEventRow {
  id: string;
  at: string;
  /** e.g. `login`, `token.issue`, `client.create`, `deployment.update`, `version.upload`. */
  action: string;
  actor: string | null;
  target: string | null;
  outcome: AuditOutcome;
  remoteAddress: string | null;
  details: Record<string, unknown> | null;
}

export interface AuditQuery {
  limit: number;
  cursor?: string;
  action?: string;
  actor?: string;
  /** ISO-8601: events at or after it. */
  since?: string;
}

export interface AuditRepository {
  append(event: AuditEventRow): Promise<void>;
  /** Newest first, keyset-paged by (at, id). */
  list(query: AuditQuery): Promise<Page<AuditEventRow>>;
}

/** The auth repositories together, as app.ts hands them to createAuthServices. */
export interface AuthRepositories {
  users: UserRepository;
  sessions: SessionRepository;
  clients: OAuthClientRepository;
  apiKeys: ApiKeyRepository;
  signingKeys: SigningKeyRepository;
  revokedTokens: RevokedTokenRepository;
  memberships: SpaceMembershipLookup;
  audit: AuditRepository;
}
