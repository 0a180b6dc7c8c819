import { randomUUID } from 'node:crypto';
import { decodeProtectedHeader, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { LRUCache } from 'lru-cache';
import type { ApiKeyRepository, ApiKeyRow, OAuthClientRow, RevokedTokenRepository } from '../storage/auth-ports.js';
import type { OAuthClientService } from './oauth-client.service.js';
import { isScope, parseScopeParam, type Scope } from './scopes.js';
import { SIGNING_ALG, type SigningKeyService } from './signing-key.service.js';

/** RFC 9068's media type for JWT access tokens: a token of another kind is never taken for one. */
const TOKEN_TYPE = 'at+jwt';

/** Larger inputs are refused before any parsing: Plinth's tokens are well under 1 KiB. */
const MAX_TOKEN_LENGTH = 4096;

export interface AccessTokenClaims extends JWTPayload {
  iss: string;
  aud: string;
  sub: string;
  scope: string;
  exp: number;
  iat: number;
  jti: string;
  /** The OAuth2 client, for a client-credentials token. */
  client_id?: string;
  /** The API key exchanged for the token (the Watson ML flow). */
  api_key_id?: string;
}

/** A token that passed every check, with what it was issued through. */
export interface VerifiedToken {
  claims: AccessTokenClaims;
  scopes: Scope[];
  client?: OAuthClientRow;
  apiKey?: ApiKeyRow;
}

export interface TokenGrant {
  subject: string;
  scopes: readonly Scope[];
  clientId?: string;
  apiKeyId?: string;
  /** The token expires no later than this (the client's own expiry). */
  notAfter?: string | null;
}

export interface IssuedToken {
  accessToken: string;
  expiresIn: number;
  exp: number;
}

/** RFC 7662 §2.2. Inactive tokens answer `{active: false}` and nothing else. */
export type Introspection =
  | { active: false }
  | {
      active: true;
      scope: string;
      client_id?: string;
      sub: string;
      exp: number;
      iat: number;
      iss: string;
      aud: string;
      jti: string;
      token_type: 'Bearer';
    };

export interface AccessTokenOptions {
  issuer: string;
  audience: string;
  ttlSeconds: number;
}

/**
 * Access tokens: ES256-signed JWTs. Verification checks signature, issuer, audience, expiry and
 * type, then the database on every use: the revoked-token table, and that the client or API key
 * the token came from still exists, so a revocation or deletion on one replica holds on all.
 */
export class AccessTokenService {
  /**
   * Tokens whose signature and claims verified, for a minute at most and never past their
   * expiry: an ES256 check costs more than the prediction it guards. The revocation and
   * client checks above still run on every use.
   */
  private readonly verified = new LRUCache<string, AccessTokenClaims>({ max: 10_000, ttl: 60_000 });

  constructor(
    private readonly keys: SigningKeyService,
    private readonly revoked: RevokedTokenRepository,
    private readonly clients: OAuthClientService,
    private readonly apiKeys: ApiKeyRepository,
    private readonly options: AccessTokenOptions,
    private readonly now: () => Date,
  ) {}

  async issue(grant: TokenGrant): Promise<IssuedToken> {
    const iat = Math.floor(this.now().getTime() / 1000);
    let exp = iat + this.options.ttlSeconds;
    if (grant.notAfter) exp = Math.min(exp, Math.floor(Date.parse(grant.notAfter) / 1000));
    const { kid, key } = await this.keys.current();
    const claims: Record<string, string> = { scope: grant.scopes.join(' ') };
    if (grant.clientId) claims.client_id = grant.clientId;
    if (grant.apiKeyId) claims.api_key_id = grant.apiKeyId;
    const accessToken = await new SignJWT(claims)
      .setProtectedHeader({ alg: SIGNING_ALG, kid, typ: TOKEN_TYPE })
      .setIssuer(this.options.issuer)
      .setAudience(this.options.audience)
      .setSubject(grant.subject)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .setJti(randomUUID())
      .sign(key);
    return { accessToken, expiresIn: exp - iat, exp };
  }

  /** The token's claims when it is valid now; undefined for anything else (never a throw). */
  async verify(token: string): Promise<VerifiedToken | undefined> {
    const claims = await this.verifySignedClaims(token);
    if (!claims || (await this.revoked.isRevoked(claims.jti))) return undefined;
    const scopes = parseScopeParam(claims.scope)?.filter(isScope) ?? [];
    if (claims.client_id !== undefined) {
      const client = await this.clients.find(claims.client_id);
      return client && !this.clients.isExpired(client) ? { claims, scopes, client } : undefined;
    }
    if (claims.api_key_id !== undefined) {
      const apiKey = await this.apiKeys.get(claims.api_key_id);
      return apiKey && { claims, scopes, apiKey };
    }
    return undefined;
  }

  /**
   * RFC 7009: revokes the token if it is a live token of this client. Anything else (unknown,
   * expired, already revoked, another client's) is silently left as it is; the caller answers 200
   * either way so that no one learns about tokens that are not theirs.
   */
  async revoke(token: string, clientId: string): Promise<void> {
    const verified = await this.verify(token);
    if (!verified || verified.claims.client_id !== clientId) return;
    const now = this.now().toISOString();
    // Pruning on each revocation keeps the table at about the number of live revoked tokens.
    await this.revoked.deleteExpired(now);
    await this.revoked.add(verified.claims.jti, new Date(verified.claims.exp * 1000).toISOString(), now);
  }

  /** RFC 7662, answering only about the calling client's own tokens. */
  async introspect(token: string, clientId: string): Promise<Introspection> {
    const verified = await this.verify(token);
    if (!verified || verified.claims.client_id !== clientId) return { active: false };
    const c = verified.claims;
    return { active: true, scope: c.scope, client_id: c.client_id, sub: c.sub, exp: c.exp, iat: c.iat, iss: c.iss, aud: c.aud, jti: c.jti, token_type: 'Bearer' };
  }

  private async verifySignedClaims(token: string): Promise<AccessTokenClaims | undefined> {
    if (token.length > MAX_TOKEN_LENGTH) return undefined;
    const known = this.verified.get(token);
    if (known) return known.exp * 1000 > this.now().getTime() ? known : undefined;
    try {
      // Header checked first so that a token without a kid never reaches the database.
      const { kid } = decodeProtectedHeader(token);
      if (typeof kid !== 'string') return undefined;
      const key = await this.keys.verificationKey(kid);
      if (!key) return undefined;
      const { payload } = await jwtVerify<AccessTokenClaims>(token, key, {
        algorithms: [SIGNING_ALG],
        issuer: this.options.issuer,
        audience: this.options.audience,
        typ: TOKEN_TYPE,
        currentDate: this.now(),
        requiredClaims: ['sub', 'scope', 'exp', 'iat', 'jti'],
      });
      if (typeof payload.scope !== 'string' || typeof payload.jti !== 'string' || typeof payload.aud !== 'string') return undefined;
      this.verified.set(token, payload);
      return payload;
    } catch {
      return undefined;
    }
  }
}
