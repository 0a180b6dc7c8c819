import type { ApiKeyService } from './api-key.service.js';
import type { AccessTokenService, IssuedToken } from './access-token.service.js';
import { readClientCredentials } from './client-authentication.js';
import type { OAuthClientService } from './oauth-client.service.js';
import { OAuthError } from './oauth-error.js';
import { isScope, parseScopeParam, type Scope } from './scopes.js';

/** IBM Cloud IAM's grant for exchanging an API key, which Watson ML clients use. */
export const APIKEY_GRANT = 'urn:ibm:params:oauth:grant-type:apikey';

/** RFC 6749 §5.1, plus IAM's `expiration` (Unix seconds) for the API-key grant. */
export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
  expiration?: number;
}

/**
 * The requested scopes (RFC 6749 §3.3) within what the credential allows, in the order asked;
 * all of the allowance when no scope is asked for. An `admin` allowance covers every scope.
 */
function narrowScopes(requested: string | undefined, allowed: readonly Scope[]): Scope[] {
  if (requested === undefined) return [...allowed];
  const asked = parseScopeParam(requested);
  if (!asked) throw new OAuthError('invalid_scope', 'scope must be scope names separated by single spaces');
  const outside = asked.filter((s) => !isScope(s) || !(allowed.includes(s) || allowed.includes('admin')));
  if (outside.length > 0) throw new OAuthError('invalid_scope', `the scope ${outside.map((s) => s.slice(0, 40)).join(', ')} is unknown or not allowed for this credential`);
  return asked as Scope[];
}

const response = (issued: IssuedToken, scopes: readonly Scope[]): TokenResponse => ({
  access_token: issued.accessToken,
  token_type: 'Bearer',
  expires_in: issued.expiresIn,
  scope: scopes.join(' '),
});

/** A token response, and who it went to (for the audit log). */
export interface IssuedGrant {
  response: TokenResponse;
  grantType: 'client_credentials' | typeof APIKEY_GRANT;
  /** The token's subject: the client id, or the API key's owner. */
  subject: string;
  clientId?: string;
  apiKeyId?: string;
  scopes: Scope[];
}

/** POST /oauth/token: the client-credentials grant (RFC 6749 §4.4) and IAM's API-key grant. No refresh tokens. */
export class TokenEndpointService {
  constructor(private readonly clients: OAuthClientService, private readonly apiKeys: ApiKeyService, private readonly tokens: AccessTokenService) {}

  async token(params: Map<string, string>, authorization: string | undefined): Promise<TokenResponse> {
    return (await this.issue(params, authorization)).response;
  }

  /** As token(), also saying whom the token was issued to. */
  async issue(params: Map<string, string>, authorization: string | undefined): Promise<IssuedGrant> {
    const grantType = params.get('grant_type');
    if (grantType === undefined) throw new OAuthError('invalid_request', 'grant_type is required');
    const credentials = readClientCredentials(authorization, params);

    if (grantType === 'client_credentials') {
      if (!credentials) throw new OAuthError('invalid_client', 'client authentication is required: HTTP Basic or client_id and client_secret');
      const client = await this.clients.authenticate(credentials);
      const scopes = narrowScopes(params.get('scope'), client.scopes.filter(isScope));
      const issued = await this.tokens.issue({ subject: client.id, clientId: client.id, scopes, notAfter: client.expiresAt });
      return { response: response(issued, scopes), grantType, subject: client.id, clientId: client.id, scopes };
    }

    if (grantType === APIKEY_GRANT) {
      if (credentials) {
        // A registered client authenticates, then learns it may only use client_credentials.
        await this.clients.authenticate(credentials);
        throw new OAuthError('unauthorized_client', 'OAuth clients use grant_type=client_credentials; the API key grant takes no client authentication');
      }
      const apiKey = params.get('apikey');
      if (apiKey === undefined) throw new OAuthError('invalid_request', 'apikey is required for this grant type');
      const key = await this.apiKeys.verify(apiKey);
      if (!key) throw new OAuthError('invalid_grant', 'the API key is not valid');
      const scopes = narrowScopes(params.get('scope'), key.scopes.filter(isScope));
      const issued = await this.tokens.issue({ subject: key.owner, apiKeyId: key.id, scopes });
      return { response: { ...response(issued, scopes), expiration: issued.exp }, grantType, subject: key.owner, apiKeyId: key.id, scopes };
    }

    throw new OAuthError('unsupported_grant_type', `grant_type must be client_credentials or ${APIKEY_GRANT}`);
  }
}
