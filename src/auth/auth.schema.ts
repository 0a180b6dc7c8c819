import { Type } from '@sinclair/typebox';
import { SCOPES } from './scopes.js';
import { APIKEY_GRANT } from './token-endpoint.service.js';

const EXAMPLE_JWT = 'eyJhbGciOiJFUzI1NiIsImtpZCI6Im1zX1E2Ii...';
const EXAMPLE_CLIENT_ID = 'plc_0Jq3m5d2XkPz8a1B';
const EXAMPLE_SECRET = 'q3Jx9mXb4S1d7FkL0vQeWc2TtYhZ5NrA8pUoGiKjE6s';
const EXAMPLE_API_KEY = 'plk_R2d9Xk3mQp7Lv8HcT1sWb5YzN0aJfE4gKuD6rPiO2eMxA7qZ';

/** Security schemes for the OpenAPI document's components (Swagger UI's Authorize button). */
export const SECURITY_SCHEMES = {
  oauth2: {
    type: 'oauth2',
    description: 'OAuth2 client credentials: an access token from POST /oauth/token',
    flows: {
      clientCredentials: {
        tokenUrl: '/oauth/token',
        scopes: {
          predict: 'call deployed models',
          'models:read': 'read models and versions',
          'models:write': 'upload and change models',
          'deployments:write': 'create and change deployments',
          'jobs:write': 'run batch jobs',
          admin: 'everything, in every space',
        },
      },
    },
  },
  apiKey: { type: 'http', scheme: 'bearer', description: 'An API key (plk_...) sent as a Bearer token' },
  session: { type: 'apiKey', in: 'cookie', name: 'plinth_session', description: 'The console session from POST /login, with X-CSRF-Token on changes' },
  clientBasic: { type: 'http', scheme: 'basic', description: 'client_id:client_secret, each form-url-encoded (RFC 6749 §2.3.1)' },
} as const;

/** Who may call the credential-management routes: the console session, or an admin-scoped bearer. */
export const MANAGEMENT_SECURITY: Record<string, string[]>[] = [{ session: [] }, { oauth2: ['admin'] }, { apiKey: [] }];
/** OAuth endpoints authenticate the client, by Basic or by body parameters. */
export const CLIENT_SECURITY: Record<string, string[]>[] = [{ clientBasic: [] }, {}];

export const ScopeName = Type.Union(SCOPES.map((s) => Type.Literal(s)), { description: 'A scope name' });

// --- OAuth endpoints (form-encoded bodies, RFC error bodies) ---------------------------------

export const OAuthErrorBody = Type.Object(
  {
    error: Type.String({ description: 'RFC 6749 §5.2 error code' }),
    error_description: Type.Optional(Type.String()),
  },
  { examples: [{ error: 'invalid_scope', error_description: 'the scope models:write is unknown or not allowed for this credential' }] },
);

const oauthErrors = { 400: OAuthErrorBody, 401: OAuthErrorBody };

const clientAuthFields = {
  client_id: Type.Optional(Type.String({ description: 'With client_secret: client authentication in the body instead of HTTP Basic (never both)' })),
  client_secret: Type.Optional(Type.String()),
};

// additionalProperties: RFC 6749 §3.2 says unknown parameters are ignored. Known ones are
// typed as strings, so a repeated one (parsed as a list) is refused as invalid_request.
export const TokenRequest = Type.Object(
  {
    grant_type: Type.Optional(Type.String({ description: `client_credentials, or ${APIKEY_GRANT} (with apikey)`, examples: ['client_credentials'] })),
    scope: Type.Optional(Type.String({ description: "Space-separated scopes within the client's allowance; all of it when omitted", examples: ['predict'] })),
    apikey: Type.Optional(Type.String({ description: 'The API key, for the API-key grant' })),
    ...clientAuthFields,
  },
  {
    additionalProperties: true,
    examples: [{ grant_type: 'client_credentials', scope: 'predict' }, { grant_type: APIKEY_GRANT, apikey: EXAMPLE_API_KEY }],
  },
);

export const TokenResponseSchema = Type.Object(
  {
    access_token: Type.String(),
    token_type: Type.Literal('Bearer'),
    expires_in: Type.Integer({ description: 'Seconds until the token expires' }),
    scope: Type.String({ description: 'The scopes granted, space-separated' }),
    expiration: Type.Optional(Type.Integer({ description: 'API-key grant only (IBM IAM): expiry, Unix seconds' })),
  },
  { examples: [{ access_token: EXAMPLE_JWT, token_type: 'Bearer', expires_in: 900, scope: 'predict' }] },
);

export const tokenRouteSchema = {
  tags: ['auth'],
  summary: 'Get an access token (client credentials, or an API key)',
  description:
    'RFC 6749 §4.4. Authenticate the client with HTTP Basic (form-url-encoded id and secret) or with client_id and client_secret in the body, never both. ' +
    `Watson ML clients exchange an API key with grant_type=${APIKEY_GRANT}&apikey=... and no client authentication. No refresh tokens.`,
  consumes: ['application/x-www-form-urlencoded'],
  security: CLIENT_SECURITY,
  body: TokenRequest,
  response: { 200: TokenResponseSchema, ...oauthErrors, 429: Type.Ref('Error', { description: 'Too many token requests from this address or for this client: RATE_LIMITED, retry after Retry-After seconds' }) },
};

const TokenParam = Type.Object(
  {
    token: Type.Optional(Type.String({ description: 'The access token' })),
    token_type_hint: Type.Optional(Type.String({ description: 'access_token (a hint only: every token type is searched)' })),
    ...clientAuthFields,
  },
  { additionalProperties: true, examples: [{ token: EXAMPLE_JWT, token_type_hint: 'access_token' }] },
);

export const revokeRouteSchema = {
  tags: ['auth'],
  summary: 'Revoke an access token (RFC 7009)',
  description: "Answers 200 whether or not the token was known, live or the caller's: a client can revoke only its own tokens.",
  consumes: ['application/x-www-form-urlencoded'],
  security: CLIENT_SECURITY,
  body: TokenParam,
  response: { 200: Type.Null({ description: 'Done (or nothing to do)' }), ...oauthErrors },
};

export const IntrospectionSchema = Type.Object(
  {
    active: Type.Boolean(),
    scope: Type.Optional(Type.String()),
    client_id: Type.Optional(Type.String()),
    sub: Type.Optional(Type.String()),
    exp: Type.Optional(Type.Integer()),
    iat: Type.Optional(Type.Integer()),
    iss: Type.Optional(Type.String()),
    aud: Type.Optional(Type.String()),
    jti: Type.Optional(Type.String()),
    token_type: Type.Optional(Type.Literal('Bearer')),
  },
  {
    examples: [
      {
        active: true, scope: 'predict', client_id: EXAMPLE_CLIENT_ID, sub: EXAMPLE_CLIENT_ID, exp: 1763800900, iat: 1763800000,
        iss: 'plinth', aud: 'plinth', jti: '5f0c3f0e-8d52-4a55-9d2c-7b0e0b7f4a11', token_type: 'Bearer',
      },
      { active: false },
    ],
  },
);

export const introspectRouteSchema = {
  tags: ['auth'],
  summary: 'Introspect an access token (RFC 7662)',
  description: 'Answers {"active": false} alone for any token that is not live or not issued to the calling client.',
  consumes: ['application/x-www-form-urlencoded'],
  security: CLIENT_SECURITY,
  body: TokenParam,
  response: { 200: IntrospectionSchema, ...oauthErrors },
};

export const JwksSchema = Type.Object(
  {
    keys: Type.Array(
      Type.Object({ kty: Type.String(), crv: Type.String(), x: Type.String(), y: Type.String(), kid: Type.String(), alg: Type.String(), use: Type.Literal('sig') }),
    ),
  },
  { examples: [{ keys: [{ kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0', kid: 'ms_Q6vY1', alg: 'ES256', use: 'sig' }] }] },
);

// --- Console session ---------------------------------------------------------------------------

export const LoginBody = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 200 }),
    // Bounded: argon2 hashes whatever it is given.
    password: Type.String({ minLength: 1, maxLength: 1024 }),
  },
  // Other fields (an HTML form's submit button) are ignored.
  { examples: [{ username: 'admin', password: 'correct horse battery staple' }] },
);

export const LoginResponse = Type.Object(
  {
    user: Type.String(),
    csrf_token: Type.String({ description: 'Send it back in X-CSRF-Token on every POST, PUT, PATCH and DELETE made with the session cookie' }),
    expires_at: Type.String({ format: 'date-time' }),
  },
  { examples: [{ user: 'admin', csrf_token: 'r8Zt2mQ4yB7cN1vX5kL9pD3hF6jW0sG2aE8uT4iO1nM', expires_at: '2025-11-22T18:00:00.000Z' }] },
);

// --- Clients and API keys --------------------------------------------------------------------

export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) });

const Scopes = Type.Array(ScopeName, { minItems: 1, maxItems: SCOPES.length * 2, description: 'Scopes, each one the creator holds' });
const Timestamp = Type.String({ format: 'date-time' });
const Name = Type.String({ minLength: 1, maxLength: 200 });

export const CreateClientBody = Type.Object(
  {
    name: Name,
    scopes: Scopes,
    expires_at: Type.Optional(Type.String({ format: 'date-time', description: 'After it the client gets no tokens and its tokens stop working' })),
  },
  { additionalProperties: false, examples: [{ name: 'pega-decisioning', scopes: ['predict'], expires_at: '2026-12-31T00:00:00Z' }] },
);

const clientExample = {
  client_id: EXAMPLE_CLIENT_ID, name: 'pega-decisioning', scopes: ['predict'],
  created_at: '2025-11-22T10:00:00.000Z', expires_at: null, secret_rotated_at: null,
};

export const ClientSchema = Type.Object(
  {
    client_id: Type.String(),
    name: Type.String(),
    scopes: Type.Array(Type.String()),
    created_at: Timestamp,
    expires_at: Type.Union([Timestamp, Type.Null()]),
    secret_rotated_at: Type.Union([Timestamp, Type.Null()]),
  },
  { examples: [clientExample] },
);

export const IssuedClientSchema = Type.Object(
  { ...ClientSchema.properties, client_secret: Type.String({ description: 'Shown this once; only its hash is kept' }) },
  { examples: [{ ...clientExample, client_secret: EXAMPLE_SECRET }] },
);

export const ClientList = Type.Object({ clients: Type.Array(ClientSchema) }, { examples: [{ clients: [clientExample] }] });

export const CreateApiKeyBody = Type.Object(
  {
    name: Name,
    space: Type.String({ minLength: 1, maxLength: 200, default: 'default', description: 'The space the key works in (name)' }),
    scopes: Scopes,
  },
  { additionalProperties: false, examples: [{ name: 'notebook', space: 'default', scopes: ['predict', 'models:read'] }] },
);

const apiKeyExample = {
  id: 'key_Vb7Qm2Xc9LpZ', name: 'notebook', space_id: '0b8f3c2e-6c1d-4a8e-9f6a-2d4b7e1c9a30', prefix: 'plk_R2d9Xk3mQp7L',
  scopes: ['predict', 'models:read'], created_at: '2025-11-22T10:00:00.000Z', last_used_at: null,
};

export const ApiKeySchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    space_id: Type.String(),
    prefix: Type.String({ description: 'The first characters of the key, to recognise it' }),
    scopes: Type.Array(Type.String()),
    created_at: Timestamp,
    last_used_at: Type.Union([Timestamp, Type.Null()]),
  },
  { examples: [apiKeyExample] },
);

export const IssuedApiKeySchema = Type.Object(
  { ...ApiKeySchema.properties, api_key: Type.String({ description: 'Shown this once; only its hash is kept' }) },
  { examples: [{ ...apiKeyExample, api_key: EXAMPLE_API_KEY }] },
);

export const ApiKeyList = Type.Object({ api_keys: Type.Array(ApiKeySchema) }, { examples: [{ api_keys: [apiKeyExample] }] });
