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
import { authorize } from './authorization.policy.js';
import { CSRF_HEADER, SESSION_COOKIE } from './authenticator.js';
import { readClientCredentials } from './client-authentication.js';
import { OAuthError } from './oauth-error.js';
import { assertFormEncoded, FORM_REQUIRED, oauthParams } from './oauth-params.js';
import type { Principal } from './principal.js';

const tags = ['auth'];

/** A response without a body (the typed reply of a Type.Null schema would want `null`, which serializes to "null"). */
const empty = (reply: FastifyReply, status: 200 | 204) => reply.status(status).send();
const ref = Type.Ref('Error');
const plinthErrors = { 400: ref, 401: ref, 403: ref, 404: ref, 415: ref, 500: ref };

/**
 * The security domain's routes. Registers @fastify/cookie on `app` itself, so that
 * `auth.authenticator.authenticate(request)` can read the session cookie on every route; the
 * form-body parser only inside the scopes of /oauth/* and /login, so no other route starts
 * accepting form posts. Expects the shared `Error` schema to be registered (app.ts does).
 */
export async function registerAuthRoutes(app: FastifyInstance, auth: AuthServices): Promise<void> {
  await app.register(fastifyCookie);
  await app.register(oauthRoutes, { auth });
  await app.register(sessionRoutes, { auth });
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
}

// --- /oauth/*: RFC bodies and headers ----------------------------------------------------------

const noStore = (reply: FastifyReply) => reply.header('cache-control', 'no-store').header('pragma', 'no-cache');

/** error_description allows printable ASCII without '"' and '\' (RFC 6749 §5.2). */
const descriptionOf = (text: string) => text.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, ' ').slice(0, 300);

/** Client errors become invalid_request; anything else (a server fault) goes on to the app's handler. */
function toOAuthError(err: FastifyError): OAuthError | undefined {
  if (err instanceof OAuthError) return err;
  if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new OAuthError('invalid_request', FORM_REQUIRED);
  const status = err instanceof PlinthError ? err.status : err.validation ? 400 : err.statusCode;
  return status !== undefined && status >= 400 && status < 500 ? new OAuthError('invalid_request', err.message) : undefined;
}

async function oauthRoutes(scope: FastifyInstance, { auth }: Deps): Promise<void> {
  await scope.register(fastifyFormbody);
  // Token responses must not be cached (RFC 6749 §5.1); nor should introspection answers.
  scope.addHook('onRequest', async (_req, reply) => void noStore(reply));
  scope.addHook('preValidation', async (req) => assertFormEncoded(req.headers['content-type']));
  scope.setErrorHandler((err: FastifyError, _req, reply) => {
    const oauth = toOAuthError(err);
    if (!oauth) throw err;
    noStore(reply);
    // 401 always names the scheme to use (RFC 6749 §5.2, RFC 9110 §15.5.2).
    if (oauth.status === 401) reply.header('www-authenticate', 'Basic realm="plinth"');
    return reply.status(oauth.status).send({ error: oauth.error, error_description: descriptionOf(oauth.description) });
  });
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

  app.post('/oauth/token', { schema: tokenRouteSchema }, async (req) => auth.tokenEndpoint.token(oauthParams(req.body), req.headers.authorization));

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
 * Secure when the request came over TLS, directly or through a proxy saying so. Honouring
 * X-Forwarded-Proto without trustProxy is safe here: it can only add Secure, never remove it.
 */
function cookieOptions(req: FastifyRequest, expires?: Date): CookieSerializeOptions {
  const forwarded = String(req.headers['x-forwarded-proto'] ?? '').split(',')[0]!.trim().toLowerCase();
  const secure = req.protocol === 'https' || forwarded === 'https';
  return { path: '/', httpOnly: true, sameSite: 'strict', secure, ...(expires && { expires }) };
}

async function sessionRoutes(scope: FastifyInstance, { auth }: Deps): Promise<void> {
  await scope.register(fastifyFormbody);
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();

  app.post(
    '/login',
    {
      schema: {
        tags,
        summary: 'Sign in to the console: sets the session cookie and returns its CSRF token',
        consumes: ['application/json', 'application/x-www-form-urlencoded'],
        body: LoginBody,
        response: { 200: LoginResponse, ...plinthErrors },
      },
    },
    async (req, reply) => {
      const user = await auth.users.verifyCredentials(req.body.username, req.body.password);
      if (!user) throw new PlinthError('UNAUTHENTICATED', 'wrong username or password');
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
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();
  const common = { tags, security: MANAGEMENT_SECURITY };

  app.post(
    '/api/v1/clients',
    { schema: { ...common, summary: 'Create an OAuth2 client (the secret is shown once)', body: CreateClientBody, response: { 201: IssuedClientSchema, ...plinthErrors } } },
    async (req, reply) => {
      const { client, secret } = await auth.clients.create(principalOf(req), { name: req.body.name, scopes: req.body.scopes, expiresAt: req.body.expires_at });
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
      noStore(reply);
      return { ...toClientView(client), client_secret: secret };
    },
  );

  app.delete(
    '/api/v1/clients/:id',
    { schema: { ...common, summary: 'Delete a client; its tokens stop working', params: IdParams, response: { 204: Type.Null({ description: 'Deleted' }), ...plinthErrors } } },
    async (req, reply) => {
      await auth.clients.delete(principalOf(req).user, req.params.id);
      return empty(reply, 204);
    },
  );

  app.post(
    '/api/v1/api-keys',
    { schema: { ...common, summary: 'Create an API key for a space (the key is shown once)', body: CreateApiKeyBody, response: { 201: IssuedApiKeySchema, ...plinthErrors } } },
    async (req, reply) => {
      const { key, apiKey } = await auth.apiKeys.create(principalOf(req), { name: req.body.name, space: req.body.space, scopes: req.body.scopes });
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
      return empty(reply, 204);
    },
  );
}
