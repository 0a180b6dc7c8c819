import type { FastifyRequest } from 'fastify';
import { fastifyCookie } from '@fastify/cookie';
import type { SpaceMembershipLookup } from '../storage/auth-ports.js';
import type { SpaceRole } from '../storage/ports.js';
import type { AccessTokenService } from './access-token.service.js';
import { looksLikeApiKey, type ApiKeyService } from './api-key.service.js';
import { bearerInvalidRequest, csrfRefused, invalidToken, missingCredentials } from './auth-errors.js';
import type { Principal } from './principal.js';
import { isScope, SCOPES, USER_SCOPES } from './scopes.js';
import type { SessionService } from './session.service.js';

export const SESSION_COOKIE = 'plinth_session';
export const CSRF_HEADER = 'x-csrf-token';

/** RFC 6750 §2.1: `Bearer` and a b64token. */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

const hasParam = (source: unknown, name: string): boolean =>
  source !== null && typeof source === 'object' && Object.prototype.hasOwnProperty.call(source, name);

const only = (roles: Record<string, SpaceRole>, spaceId: string): Record<string, SpaceRole> =>
  roles[spaceId] ? { [spaceId]: roles[spaceId] } : {};

/**
 * Turns a request's credentials into a Principal, or throws the RFC 6750 answer. Call it from a
 * preValidation hook or the handler (the body must be parsed: a token in it is refused).
 *
 * - `Authorization: Bearer <access token>` or `Bearer <API key>` (plk_...);
 * - otherwise the console's session cookie, with the session's CSRF token in X-CSRF-Token on
 *   every method but GET, HEAD and OPTIONS.
 */
export class Authenticator {
  constructor(
    private readonly tokens: AccessTokenService,
    private readonly apiKeys: ApiKeyService,
    private readonly sessions: SessionService,
    private readonly memberships: SpaceMembershipLookup,
  ) {}

  async authenticate(request: FastifyRequest): Promise<Principal> {
    // RFC 6750 §2.2-2.3 also allow the token as a form-body or query parameter; Plinth takes the
    // header only (URLs end up in logs), and answers 400 to either rather than ignore a credential.
    const formBody = /^application\/x-www-form-urlencoded/i.test(request.headers['content-type'] ?? '');
    if (hasParam(request.query, 'access_token') || (formBody && hasParam(request.body, 'access_token'))) {
      throw bearerInvalidRequest('send the access token in the Authorization header only, not in the query or body');
    }
    const authorization = request.headers.authorization;
    if (authorization !== undefined) {
      if (!/^Bearer(\s|$)/i.test(authorization)) throw missingCredentials();
      const match = BEARER.exec(authorization);
      if (!match) throw bearerInvalidRequest('the Authorization header must be "Bearer <token>"');
      return this.fromBearer(match[1]!);
    }
    // Parsed here, only when a request brings cookies: @fastify/cookie's hooks stay on the session routes.
    const cookies = request.headers.cookie;
    const sessionId = cookies === undefined ? undefined : fastifyCookie.parse(cookies)[SESSION_COOKIE];
    if (sessionId) return this.fromSession(request, sessionId);
    throw missingCredentials();
  }

  private async fromBearer(token: string): Promise<Principal> {
    if (looksLikeApiKey(token)) {
      const key = await this.apiKeys.verify(token);
      if (!key) throw invalidToken();
      return {
        subject: key.owner,
        kind: 'api_key',
        user: key.owner,
        scopes: key.scopes.filter(isScope),
        spaceRoles: only(await this.memberships.rolesOf(key.owner), key.spaceId),
        apiKeyId: key.id,
      };
    }
    const verified = await this.tokens.verify(token);
    if (!verified) throw invalidToken();
    const { claims, scopes, client, apiKey } = verified;
    const user = client?.owner ?? apiKey!.owner;
    const roles = await this.memberships.rolesOf(user);
    return {
      subject: claims.sub,
      kind: 'access_token',
      user,
      scopes,
      spaceRoles: apiKey ? only(roles, apiKey.spaceId) : roles,
      ...(client && { clientId: client.id }),
      ...(apiKey && { apiKeyId: apiKey.id }),
    };
  }

  private async fromSession(request: FastifyRequest, sessionId: string): Promise<Principal> {
    const live = await this.sessions.resolve(sessionId);
    if (!live) throw missingCredentials();
    if (!SAFE_METHODS.has(request.method)) {
      const header = request.headers[CSRF_HEADER];
      if (!this.sessions.csrfMatches(live.session, typeof header === 'string' ? header : undefined)) throw csrfRefused();
    }
    return {
      subject: live.user.name,
      kind: 'session',
      user: live.user.name,
      scopes: live.user.isAdmin ? [...SCOPES] : [...USER_SCOPES],
      spaceRoles: await this.memberships.rolesOf(live.user.name),
    };
  }
}
