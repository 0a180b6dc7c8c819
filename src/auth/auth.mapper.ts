import type { ApiKeyRow, OAuthClientRow } from '../storage/auth-ports.js';

/** Domain rows -> the wire shapes of /api/v1/clients and /api/v1/api-keys (never the hashes). */
export const toClientView = (c: OAuthClientRow) => ({
  client_id: c.id,
  name: c.name,
  scopes: c.scopes,
  created_at: c.createdAt,
  expires_at: c.expiresAt,
  secret_rotated_at: c.secretRotatedAt,
});

export const toApiKeyView = (k: ApiKeyRow) => ({
  id: k.id,
  name: k.name,
  space_id: k.spaceId,
  prefix: `plk_${k.prefix}`,
  scopes: k.scopes,
  created_at: k.createdAt,
  last_used_at: k.lastUsedAt,
});
