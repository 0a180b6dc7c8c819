import fastifyCookie, { type CookieSerializeOptions } from '@fastify/cookie';
import fastifyFormbody from '@fastify/formbody';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PlinthError } from '../core/errors.js';
import { csrfRefused, insufficientScope } from './auth-errors.js';
import { toApiKeyView, toClientView } from './auth.mapper.js';
import {
  ApiKeyList,
  ClientList,
  CreateApiKeyBody,
  CreateClientBody,
  IdParams,
  introspectRouteSchema,
  IssuedApiKeySchema,
  IssuedClientSchema,
  JwksSchema,
  LoginBody,
  LoginResponse,
  MANAGEMENT_SECURITY,
  revokeRouteSchema,
  tokenRouteSchema,
} from './auth.schema.js';
import type { AuthServices } from './auth-services.js';
import { auditRequest, type AuditRecord } from './audit.service.js';
import { authorize } from './authorization.policy.js';
import { CSRF_HEADER, SESSION_COOKIE } from './authenticator.js';
import { readClientCredentials } from './client-authentication.js';
import { ALLOW_POST, refuseOtherMethods } from './method-not-allowed.routes.js';
import { OAuthError } from './oauth-error.js';
import { assertFormEncoded, assertNoQueryParameters, FORM_REQUIRED, oauthParams } from './oauth-params.js';
import type { Principal } from './principal.js';
import { registerRateLimits, type AttemptLimits, type LimitHooks } from './rate-limit.js';
import { sameOriginOnly } from './same-origin.hook.js';
import { APIKEY_GRANT } from './token-endpoint.service.js';

const tags = ['auth'];

/** A response without a body (the typed reply of a Type.Null schema would want `null`, which serializes to "null"). */
const empty = (reply: FastifyReply, status: 200 | 204) => reply.status(status).send();
const ref = Type.Ref('Error');
const plinthErrors = { 400: ref, 401: ref, 403: ref, 404: ref, 415: ref, 500: ref };

export interface AuthRouteOptions {
  /**
   * POST /login: attempts per address and per user name, failures per user name; POST
   * /oauth/token: attempts per address and per client, failures per client. Unset = unlimited.
   */
  rateLimits?: { login?: AttemptLimits; token?: AttemptLimits };
  /** Origins besides the server's own whose browser requests the session routes take (PLINTH_CORS_ORIGINS). */
  trustedOrigins?: readonly string[];
}

/**
 * The security domain's routes. @fastify/cookie and the form-body parser are registered only
 * inside the scopes that use them (/login and /logout; /oauth/*), so no other route starts
 * accepting form posts and no other response pays the cookie hooks (the authenticator reads the
 * session cookie itself). Expects the shared `Error` schema to be registered (app.ts does).
 */
export async function registerAuthRoutes(app: FastifyInstance, auth: AuthServices, options: AuthRouteOptions = {}): Promise<void> {
  const { login = {}, token = {} } = options.rateLimits ?? {};
  const limited = [login, token].some((limits) => limits.attempts || limits.failures);
  const limiter = limited ? await registerRateLimits(app) : undefined;
  const tokenLimit = limiter?.('token requests', token, clientNamed) ?? {};
  const loginLimit = limiter?.('sign-in attempts', login, userNamed) ?? {};
  await app.register(oauthRoutes, { auth, limit: tokenLimit });
  await app.register(sessionRoutes, { auth, limit: loginLimit, trustedOrigins: options.trustedOrigins });
  await app.register(managementRoutes, { auth });

  app.withTypeProvider<TypeBoxTypeProvider>().get(
    '/.well-known/jwks.json',
    { schema: { tags, summary: 'Public keys that verify access tokens (JWKS)', response: { 200: JwksSchema } } },
    async (_req, reply) => {
      // Short, so a verifier that cached the set soon sees a rotated key (and refetches on an unknown kid anyway).
      reply.header('cache-control', 'public, max-age=60');
      return auth.signingKeys.jwks();
    },
  );
}

interface Deps {
  auth: AuthServices;
  /** The rate-limit hooks of the scope's sign-in or token route (none when unlimited). */
  limit?: LimitHooks;
  /** The session routes: origins besides the server's own that browsers may call them from. */
  trustedOrigins?: readonly string[];
}

const field = (body: unknown, name: string): string | undefined => {
  const value = body && typeof body === 'object' ? (body as Record<string, unknown>)[name] : undefined;
  return typeof value === 'string' && value !== '' ? value : undefined;
};

/** The user a sign-in names, for its rate limit. */
const userNamed = (req: FastifyRequest): string | undefined => {
  const user = field(req.body, 'username');
  return user === undefined ? undefined : `user:${user}`;
};

/**
 * The client a token request names (HTTP Basic or client_id), or the public 12-character prefix
 * of the API key of the API-key grant, for its rate limit. Never throws: a malformed request is
 * counted against its address and refused by the endpoint itself.
 */
function clientNamed(req: FastifyRequest): string | undefined {
  const basic = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(req.headers.authorization ?? '');
  if (basic) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) {
      try {
        return `client:${decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' '))}`;
      } catch {
        return `client:${decoded.slice(0, colon)}`;
      }
    }
  }
  const clientId = field(req.body, 'client_id');
  if (clientId !== undefined) return `client:${clientId}`;
  const key = /^plk_([A-Za-z0-9_-]{12})/.exec(field(req.body, 'apikey') ?? '');
  return key ? `apikey:${key[1]}` : undefined;
}

/** Grant types a refused token request is recorded with by name; anything else is recorded as 'other'. */
const GRANTS = new Set(['client_credentials', APIKEY_GRANT]);

// --- /oauth/*: RFC bodies and headers ----------------------------------------------------------

const noStore = (reply: FastifyReply) => reply.header('cache-control', 'no-store').header('pragma', 'no-cache');

/** error_description allows printable ASCII without '"' and '\' (RFC 6749 §5.2). */
const descriptionOf = (text: string) => text.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, ' ').slice(0, 300);

/** Client errors become invalid_request; anything else (a server fault) goes on to the app's handler. */
function toOAuthError(err: FastifyError): OAuthError | undefined {
  if (err instanceof OAuthError) return err;
  // RFC 6749 has no code for it: Plinth's RATE_LIMITED body with Retry-After, from the app's handler.
  if (err instanceof PlinthError && err.code === 'RATE_LIMITED') return undefined;
  if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new OAuthError('invalid_request', FORM_REQUIRED);
  const status = err instanceof PlinthError ? err.status : err.validation ? 400 : err.statusCode;
  return status !== undefined && status >= 400 && status < 500 ? new OAuthError('invalid_request', err.message) : undefined;
}

const OAUTH_ENDPOINTS = ['/oauth/token', '/oauth/revoke', '/oauth/introspect'];

async function oauthRoutes(scope: FastifyInstance, { auth, limit }: Deps): Promise<void> {
  await scope.register(fastifyFormbody);
  // Token responses must not be cached (RFC 6749 §5.1); nor should introspection answers.
  scope.addHook('onRequest', async (_req, reply) => void noStore(reply));
  scope.addHook('preValidation', async (req) => {
    assertNoQueryParameters(req.query);
    assertFormEncoded(req.headers['content-type']);
  });
  scope.setErrorHandler((err: FastifyError, _req, reply) => {
    const oauth = toOAuthError(err);
    if (!oauth) throw err;
    noStore(reply);
    if (oauth.headers) reply.headers(oauth.headers);
    // 401 always names the scheme to use (RFC 6749 §5.2, RFC 9110 §15.5.2).
    if (oauth.status === 401) reply.header('www-authenticate', 'Basic realm="plinth"');
    return reply.status(oauth.status).send({ error: oauth.error, error_description: descriptionOf(oauth.description) });
  });
  // RFC 6749 §3.2 (token requests are POSTs): the error body of the endpoint, status 405.
  refuseOtherMethods(scope, OAUTH_ENDPOINTS, (url) =>
    new OAuthError('invalid_request', `${url} takes POST only, with a form-encoded body`, { status: 405, headers: ALLOW_POST }));
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();

  /** The calling client of a revocation or introspection request (both require client authentication). */
  const callingClient = async (req: FastifyRequest, params: Map<string, string>) => {
    const credentials = readClientCredentials(req.headers.authorization, params);
    if (!credentials) throw new OAuthError('invalid_client', 'client authentication is required: HTTP Basic or client_id and client_secret');
    return auth.clients.authenticate(credentials);
  };
  const tokenParam = (params: Map<string, string>) => {
    const token = params.get('token');
    if (token === undefined) throw new OAuthError('invalid_request', 'token is required');
    return token;
  };

  app.post('/oauth/token', { schema: tokenRouteSchema, ...limit }, async (req) => {
    const params = oauthParams(req.body);
    try {
      const grant = await auth.tokenEndpoint.issue(params, req.headers.authorization);
      await auditRequest(auth.audit, req, {
        action: 'token.issue',
        actor: grant.subject,
        target: grant.clientId ?? grant.apiKeyId,
        details: { grant_type: grant.grantType, scopes: grant.scopes },
      });
      return grant.response;
    } catch (err) {
      if (err instanceof OAuthError) {
        const grantType = params.get('grant_type');
        await auditRequest(auth.audit, req, {
          action: 'token.issue',
          outcome: 'failure',
          // The client the request claimed to be (unverified), when it named one.
          actor: clientNamed(req)?.replace(/^client:/, '') ?? null,
          details: { grant_type: grantType && GRANTS.has(grantType) ? grantType : grantType === undefined ? null : 'other', error: err.error },
        });
      }
      throw err;
    }
  });

  // token_type_hint is read by the schema and then ignored: there is one token type to search.
  app.post('/oauth/revoke', { schema: revokeRouteSchema }, async (req, reply) => {
    const params = oauthParams(req.body);
    const client = await callingClient(req, params);
    await auth.tokens.revoke(tokenParam(params), client.id);
    return empty(reply, 200);
  });

  app.post('/oauth/introspect', { schema: introspectRouteSchema }, async (req) => {
    const params = oauthParams(req.body);
    const client = await callingClient(req, params);
    return auth.tokens.introspect(tokenParam(params), client.id);
  });
}

// --- Console session ---------------------------------------------------------------------------

/**
 * Secure when the request came over TLS: request.protocol, which reads X-Forwarded-Proto only
 * when PLINTH_TRUST_PROXY trusts the proxy that sent it (a header any client can send is not
 * evidence of TLS). Behind a TLS-terminating proxy, set PLINTH_TRUST_PROXY.
 */
function cookieOptions(req: FastifyRequest, expires?: Date): CookieSerializeOptions {
  return { path: '/', httpOnly: true, sameSite: 'strict', secure: req.protocol === 'https', ...(expires && { expires }) };
}

async function sessionRoutes(scope: FastifyInstance, { auth, limit, trustedOrigins = [] }: Deps): Promise<void> {
  await scope.register(fastifyCookie);
  await scope.register(fastifyFormbody);
  refuseOtherMethods(scope, ['/login', '/logout'], (url) => new PlinthError('METHOD_NOT_ALLOWED', `${url} takes POST only`, ALLOW_POST));
  // Login CSRF: the session cookie is SameSite=Strict, but another site's form can still post to /login.
  const sameOrigin = sameOriginOnly(trustedOrigins);
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();

  app.post(
    '/login',
    {
      schema: {
        tags,
        summary: 'Sign in to the console: sets the session cookie and returns its CSRF token',
        consumes: ['application/json', 'application/x-www-form-urlencoded'],
        body: LoginBody,
        response: { 200: LoginResponse, 429: ref, ...plinthErrors },
      },
      onRequest: sameOrigin,
      ...limit,
    },
    async (req, reply) => {
      const user = await auth.users.verifyCredentials(req.body.username, req.body.password);
      if (!user) {
        await auditRequest(auth.audit, req, { action: 'login', actor: req.body.username, outcome: 'failure' });
        throw new PlinthError('UNAUTHENTICATED', 'wrong username or password');
      }
      await auditRequest(auth.audit, req, { action: 'login', actor: user.name });
      const session = await auth.sessions.open(user.name);
      reply.setCookie(SESSION_COOKIE, session.id, cookieOptions(req, session.expiresAt));
      noStore(reply);
      return { user: user.name, csrf_token: session.csrfToken, expires_at: session.expiresAt.toISOString() };
    },
  );

  app.post(
    '/logout',
    {
      schema: {
        tags,
        summary: 'End the console session (needs X-CSRF-Token when a session is open)',
        security: [{ session: [] }],
        response: { 204: Type.Null({ description: 'Signed out' }), ...plinthErrors },
      },
      onRequest: sameOrigin,
    },
    async (req, reply) => {
      const id = req.cookies[SESSION_COOKIE];
      const live = id ? await auth.sessions.resolve(id) : undefined;
      if (live) {
        const header = req.headers[CSRF_HEADER];
        if (!auth.sessions.csrfMatches(live.session, typeof header === 'string' ? header : undefined)) throw csrfRefused();
        await auth.sessions.close(id!);
      }
      reply.clearCookie(SESSION_COOKIE, cookieOptions(req));
      return empty(reply, 204);
    },
  );
}

// --- /api/v1/clients and /api/v1/api-keys --------------------------------------------------------

async function managementRoutes(scope: FastifyInstance, { auth }: Deps): Promise<void> {
  const principals = new WeakMap<FastifyRequest, Principal>();
  // Before validation, so an unauthenticated caller learns nothing from validation messages.
  scope.addHook('preValidation', async (req) => {
    const principal = await auth.authenticator.authenticate(req);
    // Credentials are minted by a signed-in user, or by a caller holding the admin scope: a
    // predict-only key or token cannot create more credentials.
    if (principal.kind !== 'session' && !authorize(principal, 'admin').allow) throw insufficientScope('admin');
    principals.set(req, principal);
  });
  const principalOf = (req: FastifyRequest) => principals.get(req)!;
  const audit = (req: FastifyRequest, entry: AuditRecord) => auditRequest(auth.audit, req, { actor: principalOf(req).user, ...entry });
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();
  const common = { tags, security: MANAGEMENT_SECURITY };

  app.post(
    '/api/v1/clients',
    { schema: { ...common, summary: 'Create an OAuth2 client (the secret is shown once)', body: CreateClientBody, response: { 201: IssuedClientSchema, ...plinthErrors } } },
    async (req, reply) => {
      const { client, secret } = await auth.clients.create(principalOf(req), { name: req.body.name, scopes: req.body.scopes, expiresAt: req.body.expires_at });
      await audit(req, { action: 'client.create', target: client.id, details: { name: client.name, scopes: client.scopes, expires_at: client.expiresAt } });
      noStore(reply).status(201);
      return { ...toClientView(client), client_secret: secret };
    },
  );

  app.get('/api/v1/clients', { schema: { ...common, summary: 'List your OAuth2 clients', response: { 200: ClientList, ...plinthErrors } } }, async (req) => ({
    clients: (await auth.clients.list(principalOf(req).user)).map(toClientView),
  }));

  app.post(
    '/api/v1/clients/:id/rotate',
    { schema: { ...common, summary: "Replace a client's secret (the old one stops working)", params: IdParams, response: { 200: IssuedClientSchema, ...plinthErrors } } },
    async (req, reply) => {
      const { client, secret } = await auth.clients.rotate(principalOf(req).user, req.params.id);
      await audit(req, { action: 'client.rotate', target: client.id });
      noStore(reply);
      return { ...toClientView(client), client_secret: secret };
    },
  );

  app.delete(
    '/api/v1/clients/:id',
    { schema: { ...common, summary: 'Delete a client; its tokens stop working', params: IdParams, response: { 204: Type.Null({ description: 'Deleted' }), ...plinthErrors } } },
    async (req, reply) => {
      await auth.clients.delete(principalOf(req).user, req.params.id);
      await audit(req, { action: 'client.delete', target: req.params.id });
      return empty(reply, 204);
    },
  );

  app.post(
    '/api/v1/api-keys',
    { schema: { ...common, summary: 'Create an API key for a space (the key is shown once)', body: CreateApiKeyBody, response: { 201: IssuedApiKeySchema, ...plinthErrors } } },
    async (req, reply) => {
      const { key, apiKey } = await auth.apiKeys.create(principalOf(req), { name: req.body.name, space: req.body.space, scopes: req.body.scopes });
      await audit(req, { action: 'api_key.create', target: key.id, details: { name: key.name, space: req.body.space, scopes: key.scopes } });
      noStore(reply).status(201);
      return { ...toApiKeyView(key), api_key: apiKey };
    },
  );

  app.get('/api/v1/api-keys', { schema: { ...common, summary: 'List your API keys', response: { 200: ApiKeyList, ...plinthErrors } } }, async (req) => ({
    api_keys: (await auth.apiKeys.list(principalOf(req).user)).map(toApiKeyView),
  }));

  app.delete(
    '/api/v1/api-keys/:id',
    { schema: { ...common, summary: 'Delete an API key; tokens exchanged for it stop working', params: IdParams, response: { 204: Type.Null({ description: 'Deleted' }), ...plinthErrors } } },
    async (req, reply) => {
      await auth.apiKeys.delete(principalOf(req).user, req.params.id);
      await audit(req, { action: 'api_key.delete', target: req.params.id });
      return empty(reply, 204);
    },
  );
}
