import { invalidInput, PlinthError, printable } from '../core/errors.js';
import type { OAuthClientRepository, OAuthClientRow } from '../storage/auth-ports.js';
import type { ClientCredentials } from './client-authentication.js';
import { OAuthError } from './oauth-error.js';
import type { Principal } from './principal.js';
import { grantableScopes } from './scope-grant.js';
import type { Scope } from './scopes.js';
import { matchesDigest, randomSecret, sha256Hex } from './secret-hash.js';

export interface NewClientInput {
  name: string;
  scopes: Scope[];
  /** ISO-8601; after it the client can no longer get tokens and its tokens stop working. */
  expiresAt?: string;
}

/** A client with its secret, which exists in clear only in this answer. */
export interface IssuedClient {
  client: OAuthClientRow;
  secret: string;
}

const clientNotFound = (id: string) => new PlinthError('NOT_FOUND', `client '${printable(id)}' does not exist`);

/** OAuth2 confidential clients: created, listed, rotated and deleted by their owner. */
export class OAuthClientService {
  constructor(private readonly clients: OAuthClientRepository, private readonly now: () => Date) {}

  async create(owner: Principal, input: NewClientInput): Promise<IssuedClient> {
    const scopes = grantableScopes(owner, input.scopes);
    const now = this.now();
    let expiresAt: string | null = null;
    if (input.expiresAt !== undefined) {
      const at = Date.parse(input.expiresAt);
      if (Number.isNaN(at) || at <= now.getTime()) throw invalidInput('expires_at must be a date-time in the future');
      expiresAt = new Date(at).toISOString();
    }
    const secret = randomSecret();
    const client: OAuthClientRow = {
      id: `plc_${randomSecret(12)}`,
      owner: owner.user,
      name: input.name,
      secretHash: sha256Hex(secret),
      scopes,
      createdAt: now.toISOString(),
      expiresAt,
      secretRotatedAt: null,
    };
    await this.clients.create(client);
    return { client, secret };
  }

  list(owner: string): Promise<OAuthClientRow[]> {
    return this.clients.listByOwner(owner);
  }

  /** A new secret; the old one stops working at once. Tokens already issued stay valid until they expire. */
  async rotate(owner: string, id: string): Promise<IssuedClient> {
    const client = await this.owned(owner, id);
    const secret = randomSecret();
    const rotatedAt = this.now().toISOString();
    if (!(await this.clients.setSecretHash(id, sha256Hex(secret), rotatedAt))) throw clientNotFound(id);
    return { client: { ...client, secretHash: sha256Hex(secret), secretRotatedAt: rotatedAt }, secret };
  }

  /** Also ends every token the client holds: verification checks that the client still exists. */
  async delete(owner: string, id: string): Promise<void> {
    await this.owned(owner, id);
    if (!(await this.clients.delete(id))) throw clientNotFound(id);
  }

  /** The client behind the credentials, or invalid_client (RFC 6749 §5.2). */
  async authenticate(credentials: ClientCredentials): Promise<OAuthClientRow> {
    const client = await this.clients.get(credentials.id);
    if (!client || !matchesDigest(credentials.secret, client.secretHash)) {
      throw new OAuthError('invalid_client', 'client authentication failed: unknown client or wrong secret');
    }
    if (this.isExpired(client)) throw new OAuthError('invalid_client', 'the client has expired');
    return client;
  }

  find(id: string): Promise<OAuthClientRow | undefined> {
    return this.clients.get(id);
  }

  isExpired(client: OAuthClientRow): boolean {
    return client.expiresAt !== null && client.expiresAt <= this.now().toISOString();
  }

  /** Another user's client answers exactly like a missing one. */
  private async owned(owner: string, id: string): Promise<OAuthClientRow> {
    const client = await this.clients.get(id);
    if (!client || client.owner !== owner) throw clientNotFound(id);
    return client;
  }
}
