import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { sha256Hex } from '../../src/auth/secret-hash.js';
import { basic, bearer, clientToken, createClient, login, postForm, request, send, startAuthServer, type AuthTestServer, type Session } from './auth-server.js';

let server: AuthTestServer;
let admin: Session;
let frank: Session;

before(async () => {
  server = await startAuthServer();
  await server.addUser('frank', 'frank-password-123');
  admin = await login(server, 'admin', server.adminPassword);
  frank = await login(server, 'frank', 'frank-password-123');
});
after(() => server.close());

const clientsUrl = () => `${server.url}/api/v1/clients`;
const tokenFor = (c: { id: string; secret: string }) => postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials' }, basic(c.id, c.secret));

test('a client is created with its secret shown once and stored as a SHA-256 digest', async () => {
  const res = await send('POST', clientsUrl(), { name: 'pega', scopes: ['predict'] }, admin.headers);
  assert.equal(res.status, 201, res.text);
  assert.equal(res.headers.get('cache-control'), 'no-store');
  assert.deepEqual(Object.keys(res.json).sort(), ['client_id', 'client_secret', 'created_at', 'expires_at', 'name', 'scopes', 'secret_rotated_at']);
  assert.match(res.json.client_id, /^plc_[A-Za-z0-9_-]{16}$/);
  assert.match(res.json.client_secret, /^[A-Za-z0-9_-]{43}$/, '32 random bytes');
  assert.deepEqual(res.json.scopes, ['predict']);
  assert.equal(res.json.expires_at, null);

  const row = await server.db.selectFrom('oauth_clients').selectAll().where('id', '=', res.json.client_id).executeTakeFirstOrThrow();
  assert.equal(row.secret_hash, sha256Hex(res.json.client_secret));
  assert.equal(row.owner, 'admin');

  const list = await send('GET', clientsUrl(), undefined, { cookie: admin.cookie });
  const listed = list.json.clients.find((c: { client_id: string }) => c.client_id === res.json.client_id);
  assert.deepEqual(Object.keys(listed).sort(), ['client_id', 'created_at', 'expires_at', 'name', 'scopes', 'secret_rotated_at']);
  assert.ok(!list.text.includes(res.json.client_secret));
});

test("each user sees and manages only their own clients; another's answers 404 like a missing one", async () => {
  const mine = await createClient(server, admin, ['predict']);
  const franks = await send('GET', clientsUrl(), undefined, { cookie: frank.cookie });
  assert.ok(!franks.json.clients.some((c: { client_id: string }) => c.client_id === mine.id));
  const rotate = await send('POST', `${clientsUrl()}/${mine.id}/rotate`, undefined, frank.headers);
  const remove = await send('DELETE', `${clientsUrl()}/${mine.id}`, undefined, frank.headers);
  const missing = await send('DELETE', `${clientsUrl()}/plc_missing`, undefined, frank.headers);
  assert.equal(rotate.status, 404);
  assert.equal(remove.status, 404);
  assert.deepEqual(remove.json, { error: `client '${mine.id}' does not exist`, code: 'NOT_FOUND' });
  assert.deepEqual(missing.json, { error: "client 'plc_missing' does not exist", code: 'NOT_FOUND' });
  assert.equal((await tokenFor(mine)).status, 200, 'untouched');
});

test('rotation: a new secret works, the old one stops, tokens already issued stay valid', async () => {
  const c = await createClient(server, admin, ['predict']);
  const token = await clientToken(server, c);
  const res = await send('POST', `${clientsUrl()}/${c.id}/rotate`, undefined, admin.headers);
  assert.equal(res.status, 200, res.text);
  assert.equal(res.headers.get('cache-control'), 'no-store');
  assert.notEqual(res.json.client_secret, c.secret);
  assert.ok(res.json.secret_rotated_at);
  const old = await tokenFor(c);
  assert.equal(old.status, 401);
  assert.equal(old.json.error, 'invalid_client');
  assert.equal((await tokenFor({ id: c.id, secret: res.json.client_secret })).status, 200);
  assert.equal((await request(`${server.url}/test/protected`, { headers: bearer(token) })).status, 200);
});

test('delete: 204, gone from the list, no more tokens; a second delete is 404', async () => {
  const c = await createClient(server, admin, ['predict']);
  assert.equal((await send('DELETE', `${clientsUrl()}/${c.id}`, undefined, admin.headers)).status, 204);
  const list = await send('GET', clientsUrl(), undefined, { cookie: admin.cookie });
  assert.ok(!list.json.clients.some((x: { client_id: string }) => x.client_id === c.id));
  assert.equal((await tokenFor(c)).json.error, 'invalid_client');
  assert.equal((await send('DELETE', `${clientsUrl()}/${c.id}`, undefined, admin.headers)).status, 404);
});

test('creation input is checked: known scopes, at least one, a future expiry', async () => {
  const unknown = await send('POST', clientsUrl(), { name: 'x', scopes: ['root'] }, admin.headers);
  assert.equal(unknown.status, 400);
  assert.match(unknown.json.error, /must be one of: predict, models:read, models:write, deployments:write, jobs:write, admin/);
  assert.equal((await send('POST', clientsUrl(), { name: 'x', scopes: [] }, admin.headers)).status, 400);
  const past = await send('POST', clientsUrl(), { name: 'x', scopes: ['predict'], expires_at: '2001-01-01T00:00:00Z' }, admin.headers);
  assert.equal(past.status, 400);
  assert.equal(past.json.error, 'expires_at must be a date-time in the future');
  assert.equal((await send('POST', clientsUrl(), { name: 'x', scopes: ['predict'], expires_at: 'tomorrow' }, admin.headers)).status, 400);
});

test('a user cannot give a client a scope they do not hold', async () => {
  const res = await send('POST', clientsUrl(), { name: 'x', scopes: ['predict', 'admin'] }, frank.headers);
  assert.equal(res.status, 403);
  assert.equal(res.json.code, 'INSUFFICIENT_SCOPE');
  assert.equal((await send('POST', clientsUrl(), { name: 'x', scopes: ['predict', 'models:write'] }, frank.headers)).status, 201);
});

test('management needs credentials; an admin-scoped token may manage in place of a session', async () => {
  const anonymous = await send('POST', clientsUrl(), { name: 'x', scopes: ['predict'] });
  assert.equal(anonymous.status, 401);
  assert.equal(anonymous.headers.get('www-authenticate'), 'Bearer realm="plinth"');
  assert.equal((await send('GET', `${server.url}/api/v1/api-keys`, undefined)).status, 401);

  const automation = await createClient(server, admin, ['admin']);
  const token = await clientToken(server, automation);
  const res = await send('POST', clientsUrl(), { name: 'made-by-automation', scopes: ['predict'] }, bearer(token));
  assert.equal(res.status, 201, res.text);
  const row = await server.db.selectFrom('oauth_clients').select('owner').where('id', '=', res.json.client_id).executeTakeFirstOrThrow();
  assert.equal(row.owner, 'admin', "owned by the token's owner");
});

test('the OpenAPI document declares the auth routes, their examples and security schemes', async () => {
  const doc = (await request(`${server.url}/api/docs/json`)).json;
  const token = doc.paths['/oauth/token'].post;
  assert.ok(token.requestBody.content['application/x-www-form-urlencoded'], 'the token endpoint takes a form body');
  assert.deepEqual(token.security, [{ clientBasic: [] }, {}]);
  assert.equal(token.requestBody.content['application/x-www-form-urlencoded'].examples.example1.value.grant_type, 'client_credentials');
  assert.equal(token.responses['200'].content['application/json'].example.token_type, 'Bearer');
  assert.equal(doc.paths['/api/v1/clients'].post.responses['201'].content['application/json'].example.client_id.slice(0, 4), 'plc_');
  assert.deepEqual(doc.paths['/api/v1/api-keys'].get.security, [{ session: [] }, { oauth2: ['admin'] }, { apiKey: [] }]);
  for (const path of ['/oauth/revoke', '/oauth/introspect', '/.well-known/jwks.json', '/login', '/logout', '/api/v1/clients/{id}/rotate', '/api/v1/api-keys/{id}']) {
    assert.ok(doc.paths[path], `${path} documented`);
  }
  assert.equal(doc.components.securitySchemes.oauth2.flows.clientCredentials.tokenUrl, '/oauth/token');
  assert.equal(doc.components.securitySchemes.session.in, 'cookie');
});
