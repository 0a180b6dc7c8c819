import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fastifyFormbody from '@fastify/formbody';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import Fastify, { type FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { readResponse, send, type Reply } from '../helpers/server.js';
import type { AuthOptions } from '../../src/auth/auth-options.js';
import { assertAllowed } from '../../src/auth/auth-errors.js';
import { registerAuthRoutes } from '../../src/auth/auth.routes.js';
import { createAuthServices, type AuthServices } from '../../src/auth/auth-services.js';
import { authorize, roleIn } from '../../src/auth/authorization.policy.js';
import { isScope } from '../../src/auth/scopes.js';
import { PlinthError } from '../../src/core/errors.js';
import { formatSchemaErrors, frameworkErrors, registerErrorHandler } from '../../src/http/error-handler.js';
import { registerBodyParsers } from '../../src/http/json-body.parser.js';
import { registerOpenApi } from '../../src/http/openapi.plugin.js';
import { ErrorSchema } from '../../src/protocols/shared/common.schema.js';
import type { AuthRepositories } from '../../src/storage/auth-ports.js';
import type { SpaceRole } from '../../src/storage/ports.js';
import { openDatabase } from '../../src/storage/sql/database.js';
import type { Database } from '../../src/storage/sql/schema.js';
import { createSqlAuthRepositories } from '../../src/storage/sql/sql-auth-repositories.js';
import { SqlSpaceRepository } from '../../src/storage/sql/space.repository.js';

const BODY_LIMIT = 1024 * 1024;

export interface AuthTestServer {
  url: string;
  /** The SQLite file, for a second "replica" to open. */
  dbFile: string;
  db: Kysely<Database>;
  repos: AuthRepositories;
  auth: AuthServices;
  /** The one-time password ensureAdmin generated for `admin`. */
  adminPassword: string;
  /** Moves the services' clock forward. */
  advance(seconds: number): void;
  addUser(name: string, password: string, admin?: boolean): Promise<void>;
  /** Creates a space with these members; returns its id. */
  addSpace(name: string, members: Record<string, SpaceRole>): Promise<string>;
  close(): Promise<void>;
}

/**
 * The auth routes as app.ts will mount them: the repo's body parsers, error handler and OpenAPI
 * plugin, a real SQLite file in a temp dir, listening on a loopback port. `/test/protected` is a
 * test-only route guarded with authenticate() and authorize(), as the lead will guard real ones.
 */
export async function startAuthServer(options: Partial<AuthOptions> = {}): Promise<AuthTestServer> {
  const dir = await mkdtemp(join(tmpdir(), 'plinth-auth-'));
  const dbFile = join(dir, 'auth.db');
  const db = await openDatabase(dbFile);
  const repos = createSqlAuthRepositories(db);
  let offsetMs = 0;
  const auth = createAuthServices(repos, { now: () => new Date(Date.now() + offsetMs), ...options });
  const { generatedPassword } = await auth.users.ensureAdmin();

  const app = Fastify({
    logger: false,
    bodyLimit: BODY_LIMIT,
    frameworkErrors,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: true, allErrors: false } },
    schemaErrorFormatter: formatSchemaErrors,
  });
  registerBodyParsers(app, { maxDepth: 64, maxRows: 100_000 });
  registerErrorHandler(app, BODY_LIMIT);
  app.addSchema(ErrorSchema);
  await registerOpenApi(app, 'test');
  await registerAuthRoutes(app, auth);

  const guarded = {
    schema: { querystring: Type.Object({ scope: Type.Optional(Type.String()), space: Type.Optional(Type.String()), access_token: Type.Optional(Type.String()) }) },
  };
  const protectedHandler = async (req: FastifyRequest, { scope, space }: { scope?: string; space?: string }) => {
    const principal = await auth.authenticator.authenticate(req);
    if (scope !== undefined && isScope(scope)) {
      assertAllowed(authorize(principal, scope, space === undefined ? undefined : roleIn(principal, space)), () => new PlinthError('NOT_FOUND', 'no such thing'));
    }
    return principal;
  };
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  typed.get('/test/protected', guarded, async (req) => protectedHandler(req, req.query));
  // In a scope that parses form bodies, so a token sent as a form parameter (RFC 6750 §2.2) reaches authenticate().
  await app.register(async (scope) => {
    await scope.register(fastifyFormbody);
    scope.withTypeProvider<TypeBoxTypeProvider>().post('/test/protected', guarded, async (req) => protectedHandler(req, req.query));
  });

  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const spaces = new SqlSpaceRepository(db);
  return {
    url,
    dbFile,
    db,
    repos,
    auth,
    adminPassword: generatedPassword!,
    advance: (seconds) => {
      offsetMs += seconds * 1000;
    },
    addUser: async (name, password, admin = false) => {
      await auth.users.create(name, password, admin);
    },
    addSpace: async (name, members) => {
      const space = await spaces.create({ name });
      for (const [user, role] of Object.entries(members)) await spaces.setMember(space.id, user, role);
      return space.id;
    },
    async close() {
      await app.close();
      await db.destroy();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export type HttpResult = Reply;

export async function request(url: string, init: RequestInit = {}): Promise<HttpResult> {
  return readResponse(await fetch(url, { redirect: 'manual', ...init }));
}

/** A form-encoded POST (the OAuth endpoints); `body` as pairs so a test can repeat a parameter. */
export function postForm(url: string, body: Record<string, string> | [string, string][] | string, headers: Record<string, string> = {}): Promise<HttpResult> {
  const encoded = typeof body === 'string' ? body : new URLSearchParams(body).toString();
  return request(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: encoded });
}

/** Any method, the body as JSON (shared with the other suites). */
export { send };

/** RFC 6749 §2.3.1: id and secret form-url-encoded, then joined by ':' and base64-encoded. */
export const basic = (id: string, secret: string): Record<string, string> => ({
  authorization: `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`,
});

export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

export interface Session {
  cookie: string;
  csrf: string;
  /** Headers of a state-changing request made with the session. */
  headers: Record<string, string>;
}

export async function login(server: { url: string }, username: string, password: string): Promise<Session> {
  const res = await send('POST', `${server.url}/login`, { username, password });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${res.text}`);
  const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
  return { cookie, csrf: res.json.csrf_token, headers: { cookie, 'x-csrf-token': res.json.csrf_token } };
}

/** Creates an OAuth2 client over HTTP with the session; returns the id and the one-time secret. */
export async function createClient(server: { url: string }, session: Session, scopes: string[], extra: Record<string, unknown> = {}) {
  const res = await send('POST', `${server.url}/api/v1/clients`, { name: 'test-client', scopes, ...extra }, session.headers);
  if (res.status !== 201) throw new Error(`client creation failed: ${res.status} ${res.text}`);
  return { id: res.json.client_id as string, secret: res.json.client_secret as string };
}

export async function clientToken(server: { url: string }, client: { id: string; secret: string }, scope?: string): Promise<string> {
  const res = await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials', ...(scope && { scope }) }, basic(client.id, client.secret));
  if (res.status !== 200) throw new Error(`token request failed: ${res.status} ${res.text}`);
  return res.json.access_token;
}
