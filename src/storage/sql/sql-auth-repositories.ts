import type { Kysely } from 'kysely';
import type { AuthRepositories } from '../auth-ports.js';
import { SqlApiKeyRepository } from './api-key.repository.js';
import { SqlAuditRepository } from './audit.repository.js';
import { SqlSpaceMembershipLookup } from './membership.repository.js';
import { SqlOAuthClientRepository } from './oauth-client.repository.js';
import { SqlRevokedTokenRepository } from './revoked-token.repository.js';
import type { Database } from './schema.js';
import { SqlSessionRepository } from './session.repository.js';
import { SqlSigningKeyRepository } from './signing-key.repository.js';
import { SqlUserRepository } from './user.repository.js';

/** Every auth repository over one database handle (what app.ts hands to createAuthServices). */
export function createSqlAuthRepositories(db: Kysely<Database>): AuthRepositories {
  return {
    users: new SqlUserRepository(db),
    sessions: new SqlSessionRepository(db),
    clients: new SqlOAuthClientRepository(db),
    apiKeys: new SqlApiKeyRepository(db),
    signingKeys: new SqlSigningKeyRepository(db),
    revokedTokens: new SqlRevokedTokenRepository(db),
    memberships: new SqlSpaceMembershipLookup(db),
    audit: new SqlAuditRepository(db),
  };
}
