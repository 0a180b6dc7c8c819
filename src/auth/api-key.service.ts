import { PlinthError, printable } from '../core/errors.js';
import { assertName } from '../core/model-name.js';
import type { ApiKeyRepository, ApiKeyRow, SpaceMembershipLookup } from '../storage/auth-ports.js';
import { assertAllowed } from './auth-errors.js';
import { authorize, roleIn } from './authorization.policy.js';
import type { Principal } from './principal.js';
import { grantableScopes } from './scope-grant.js';
import type { Scope } from './scopes.js';
import { matchesDigest, randomSecret, sha256Hex } from './secret-hash.js';

export interface NewApiKeyInput {
  name: string;
  /** Space name. */
  space: string;
  scopes: Scope[];
}

export interface IssuedApiKey {
  key: ApiKeyRow;
  /** The key itself, in clear only in this answer. */
  apiKey: string;
}

/**
 * `plk_` + a 12-character lookup prefix + a 43-character secret (32 random bytes), base64url.
 * The prefix finds the row by index; the whole key's SHA-256 is what is compared.
 */
const KEY_FORMAT = /^plk_([A-Za-z0-9_-]{12})([A-Za-z0-9_-]{43})$/;

export const looksLikeApiKey = (value: string): boolean => value.startsWith('plk_');

/** last_used_at is written at most once a minute per key, not on every request. */
const TOUCH_INTERVAL_MS = 60_000;

const keyNotFound = (id: string) => new PlinthError('NOT_FOUND', `API key '${printable(id)}' does not exist`);

/** Long-lived API keys a user creates per space; usable directly as a Bearer credential. */
export class ApiKeyService {
  constructor(
    private readonly keys: ApiKeyRepository,
    private readonly memberships: SpaceMembershipLookup,
    private readonly now: () => Date,
  ) {}

  async create(owner: Principal, input: NewApiKeyInput): Promise<IssuedApiKey> {
    // A space is named, never a path or URL: refused as the registry refuses it (400), before any lookup.
    assertName('space', input.space);
    const scopes = grantableScopes(owner, input.scopes);
    const spaceNotFound = () => new PlinthError('NOT_FOUND', `space '${printable(input.space)}' does not exist`);
    const spaceId = await this.memberships.spaceIdByName(input.space);
    if (spaceId === undefined) throw spaceNotFound();
    // The key may only do in the space what its creator's role there allows.
    for (const scope of scopes) assertAllowed(authorize(owner, scope, roleIn(owner, spaceId)), spaceNotFound);
    const prefix = randomSecret(9);
    const apiKey = `plk_${prefix}${randomSecret(32)}`;
    const key: ApiKeyRow = {
      id: `key_${randomSecret(12)}`,
      prefix,
      owner: owner.user,
      spaceId,
      name: input.name,
      secretHash: sha256Hex(apiKey),
      scopes,
      createdAt: this.now().toISOString(),
      lastUsedAt: null,
    };
    await this.keys.create(key);
    return { key, apiKey };
  }

  list(owner: string): Promise<ApiKeyRow[]> {
    return this.keys.listByOwner(owner);
  }

  /** Also ends the access tokens exchanged for it: verification checks that the key still exists. */
  async delete(owner: string, id: string): Promise<void> {
    const key = await this.keys.get(id);
    if (!key || key.owner !== owner) throw keyNotFound(id);
    if (!(await this.keys.delete(id))) throw keyNotFound(id);
  }

  /** The key's row when the value is a valid key, recording the use; undefined otherwise. */
  async verify(apiKey: string): Promise<ApiKeyRow | undefined> {
    const match = KEY_FORMAT.exec(apiKey);
    if (!match) return undefined;
    const key = await this.keys.getByPrefix(match[1]!);
    if (!key || !matchesDigest(apiKey, key.secretHash)) return undefined;
    const now = this.now();
    await this.keys.touch(key.id, now.toISOString(), new Date(now.getTime() - TOUCH_INTERVAL_MS).toISOString());
    return key;
  }
}
