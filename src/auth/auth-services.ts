import type { AuthRepositories } from '../storage/auth-ports.js';
import { AccessTokenService } from './access-token.service.js';
import { ApiKeyService } from './api-key.service.js';
import { AuditService } from './audit.service.js';
import { resolveAuthOptions, type AuthOptions } from './auth-options.js';
import { Authenticator } from './authenticator.js';
import { OAuthClientService } from './oauth-client.service.js';
import { SessionService } from './session.service.js';
import { SigningKeyService } from './signing-key.service.js';
import { TokenEndpointService } from './token-endpoint.service.js';
import { UserService } from './user.service.js';

/** The security domain, ready for registerAuthRoutes and for guarding other routes. */
export interface AuthServices {
  users: UserService;
  sessions: SessionService;
  clients: OAuthClientService;
  apiKeys: ApiKeyService;
  signingKeys: SigningKeyService;
  tokens: AccessTokenService;
  tokenEndpoint: TokenEndpointService;
  authenticator: Authenticator;
  audit: AuditService;
}

/** Builds the services over the repositories (ports only; app.ts picks the adapters). */
export function createAuthServices(repos: AuthRepositories, overrides: Partial<AuthOptions> = {}): AuthServices {
  const options = resolveAuthOptions(overrides);
  const { now } = options;
  const users = new UserService(repos.users, now);
  const sessions = new SessionService(repos.sessions, users, options.sessionTtlSeconds, now);
  const clients = new OAuthClientService(repos.clients, now);
  const apiKeys = new ApiKeyService(repos.apiKeys, repos.memberships, now);
  const signingKeys = new SigningKeyService(repos.signingKeys, { tokenTtlSeconds: options.accessTokenTtlSeconds, maxAgeSeconds: options.signingKeyMaxAgeSeconds }, now);
  const tokens = new AccessTokenService(
    signingKeys,
    repos.revokedTokens,
    clients,
    repos.apiKeys,
    { issuer: options.issuer, audience: options.audience, ttlSeconds: options.accessTokenTtlSeconds },
    now,
  );
  const tokenEndpoint = new TokenEndpointService(clients, apiKeys, tokens);
  const authenticator = new Authenticator(tokens, apiKeys, sessions, repos.memberships);
  const audit = new AuditService(repos.audit, now);
  return { users, sessions, clients, apiKeys, signingKeys, tokens, tokenEndpoint, authenticator, audit };
}
