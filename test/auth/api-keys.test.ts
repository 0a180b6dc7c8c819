import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeJwt } from 'jose';
import { sha256Hex } from '../../src/auth/secret-hash.js';
import { APIKEY_GRANT } from '../../src/auth/token-endpoint.service.js';
import { bearer, login, postForm, request, send, startAuthServer, type AuthTestServer, type Session } from './auth-server.js';

let server: AuthTestServer;
let carol: Session;
let spaces: { ds: string; other: string; secret: string };

before(async () => {
  server = await startAuthServer();
  await server.addUser('carol', 'carol-password-123');
  spaces = {
    ds: await server.addSpace('ds', { carol: 'editor' }),
    other: await server.addSpace('other', { carol: 'viewer' }),
    secret: await server.addSpace('secret', {}),
  };
  carol = await login(server, 'carol', 'carol-password-123');
});
after(() => server.close());

const createKey = (body: Record<string, unknown>, session = carol) => send('POST', `${server.url}/api/v1/api-keys`, { name: 'notebook', ...body }, session.headers);
const exchange = (params: Record<string, string>) => postForm(`${server.url}/oauth/token`, { grant_type: APIKEY_GRANT, ...params });
const whoami = (token: string, query = '') => request(`${server.url}/test/protected${query}`, { headers: bearer(token) });
const lastUsed = async (id: string) => (await server.db.selectFrom('api_keys').select('last_used_at').where('id', '=', id).executeTakeFirstOrThrow()).last_used_at;

test('an API key is shown once, stored as a SHA-256 digest, and listed without its secret', async () => {
  const res = await createKey({ space: 'ds', scopes: ['predict', 'models:read'] });
  assert.equal(res.status, 201, res.text);
  assert.equal(res.headers.get('cache-control'), 'no-store');
  const { api_key: apiKey, id, prefix } = res.json;
  assert.match(apiKey, /^plk_[A-Za-z0-9_-]{55}$/);
  assert.equal(prefix, apiKey.slice(0, 16));
  assert.equal(res.json.space_id, spaces.ds);
  assert.deepEqual(res.json.scopes, ['predict', 'models:read']);
  assert.equal(res.json.last_used_at, null);

  const row = await server.db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  assert.equal(row.secret_hash, sha256Hex(apiKey));
  assert.ok(!Object.values(row).some((v) => typeof v === 'string' && v.includes(apiKey.slice(16))), 'the secret part is nowhere in the row');

  const list = await send('GET', `${server.url}/api/v1/api-keys`, undefined, { cookie: carol.cookie });
  assert.equal(list.status, 200);
  const listed = list.json.api_keys.find((k: { id: string }) => k.id === id);
  assert.deepEqual(Object.keys(listed).sort(), ['created_at', 'id', 'last_used_at', 'name', 'prefix', 'scopes', 'space_id']);
  assert.ok(!list.text.includes(apiKey));
});

test('used directly as a Bearer credential: the owner, the key scopes, and only the key space', async () => {
  const { api_key: apiKey, id } = (await createKey({ space: 'ds', scopes: ['predict', 'models:read'] })).json;
  const res = await whoami(apiKey);
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json, { subject: 'carol', kind: 'api_key', user: 'carol', scopes: ['predict', 'models:read'], spaceRoles: { [spaces.ds]: 'editor' }, apiKeyId: id });
});

test('the last use is recorded, at most once a minute', async () => {
  const { api_key: apiKey, id } = (await createKey({ space: 'ds', scopes: ['predict'] })).json;
  assert.equal(await lastUsed(id), null);
  const before = Date.now();
  await whoami(apiKey);
  const first = await lastUsed(id);
  assert.ok(first !== null && Date.parse(first) >= before - 5 && Date.parse(first) <= Date.now(), `last_used_at ${first}`);
  await whoami(apiKey);
  assert.equal(await lastUsed(id), first, 'a second use within the minute does not write');
  server.advance(61);
  try {
    await exchange({ apikey: apiKey });
    assert.ok(Date.parse((await lastUsed(id))!) > Date.parse(first!) + 60_000, 'the exchange counts as a use too');
  } finally {
    server.advance(-61);
  }
});

test('exchanged at /oauth/token (the Watson ML flow) for an access token that works like the key', async () => {
  const { api_key: apiKey, id } = (await createKey({ space: 'ds', scopes: ['predict', 'models:read'] })).json;
  const res = await exchange({ apikey: apiKey });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.headers.get('cache-control'), 'no-store');
  assert.equal(res.json.token_type, 'Bearer');
  assert.equal(res.json.scope, 'predict models:read');
  assert.equal(res.json.expires_in, 900);
  const claims = decodeJwt(res.json.access_token);
  assert.equal(res.json.expiration, claims.exp, 'IAM-style expiration, Unix seconds');
  assert.equal(claims.sub, 'carol');
  assert.equal(claims.api_key_id, id);
  const principal = await whoami(res.json.access_token);
  assert.deepEqual(principal.json, { subject: 'carol', kind: 'access_token', user: 'carol', scopes: ['predict', 'models:read'], spaceRoles: { [spaces.ds]: 'editor' }, apiKeyId: id });

  const narrowed = await exchange({ apikey: apiKey, scope: 'predict' });
  assert.equal(narrowed.json.scope, 'predict');
  const wider = await exchange({ apikey: apiKey, scope: 'models:write' });
  assert.equal(wider.status, 400);
  assert.equal(wider.json.error, 'invalid_scope');
});

test('a wrong API key is invalid_grant; a missing one invalid_request', async () => {
  const { api_key: apiKey } = (await createKey({ space: 'ds', scopes: ['predict'] })).json;
  const tampered = `${apiKey.slice(0, -1)}${apiKey.endsWith('A') ? 'B' : 'A'}`;
  for (const bad of [tampered, 'plk_short', 'not-a-key']) {
    const res = await exchange({ apikey: bad });
    assert.equal(res.status, 400);
    assert.deepEqual(Object.keys(res.json).sort(), ['error', 'error_description']);
    assert.equal(res.json.error, 'invalid_grant');
  }
  const missing = await exchange({});
  assert.equal(missing.json.error, 'invalid_request');
  assert.equal((await whoami(tampered)).status, 401);
  assert.match((await whoami(tampered)).headers.get('www-authenticate')!, /error="invalid_token"/);
});

test('deleting a key ends it and the tokens exchanged for it; only the owner can delete it', async () => {
  const { api_key: apiKey, id } = (await createKey({ space: 'ds', scopes: ['predict'] })).json;
  const token = (await exchange({ apikey: apiKey })).json.access_token;
  const admin = await login(server, 'admin', server.adminPassword);
  const foreign = await send('DELETE', `${server.url}/api/v1/api-keys/${id}`, undefined, admin.headers);
  assert.equal(foreign.status, 404, "another user's key answers like a missing one");
  assert.equal((await whoami(apiKey)).status, 200);

  const res = await send('DELETE', `${server.url}/api/v1/api-keys/${id}`, undefined, carol.headers);
  assert.equal(res.status, 204);
  assert.equal((await whoami(apiKey)).status, 401);
  assert.equal((await whoami(token)).status, 401);
  assert.equal((await exchange({ apikey: apiKey })).json.error, 'invalid_grant');
  assert.equal((await send('DELETE', `${server.url}/api/v1/api-keys/${id}`, undefined, carol.headers)).status, 404);
});

test("a key can do no more than its creator's role in its space, and only there", async () => {
  const viewerKey = await createKey({ space: 'other', scopes: ['models:write'] });
  assert.equal(viewerKey.status, 403, 'a viewer cannot mint a models:write key');
  assert.equal(viewerKey.json.code, 'INSUFFICIENT_SCOPE');
  const adminScope = await createKey({ space: 'ds', scopes: ['admin'] });
  assert.equal(adminScope.status, 403, 'a user without admin cannot mint an admin key');

  const notMember = await createKey({ space: 'secret', scopes: ['predict'] });
  const missing = await createKey({ space: 'nope', scopes: ['predict'] });
  assert.equal(notMember.status, 404);
  assert.equal(missing.status, 404);
  assert.deepEqual(notMember.json, { error: "space 'secret' does not exist", code: 'NOT_FOUND' }, 'the same answer as a space that does not exist');

  const { api_key: apiKey } = (await createKey({ space: 'ds', scopes: ['predict', 'models:read'] })).json;
  assert.equal((await whoami(apiKey, `?scope=predict&space=${spaces.ds}`)).status, 200);
  const write = await whoami(apiKey, `?scope=models:write&space=${spaces.ds}`);
  assert.equal(write.status, 403, 'the editor role would allow it, the key scope does not');
  assert.equal(write.headers.get('www-authenticate'), 'Bearer realm="plinth", error="insufficient_scope", scope="models:write"');
  assert.equal((await whoami(apiKey, `?scope=predict&space=${spaces.other}`)).status, 404, "carol's other space is not the key's");
});

test('a predict-only key or token cannot create keys or clients (403 insufficient_scope)', async () => {
  const { api_key: apiKey } = (await createKey({ space: 'ds', scopes: ['predict'] })).json;
  const token = (await exchange({ apikey: apiKey })).json.access_token;
  for (const credential of [apiKey, token]) {
    for (const [path, body] of [['/api/v1/api-keys', { name: 'x', space: 'ds', scopes: ['predict'] }], ['/api/v1/clients', { name: 'x', scopes: ['predict'] }]] as const) {
      const res = await send('POST', `${server.url}${path}`, body, bearer(credential));
      assert.equal(res.status, 403, `${path}: ${res.text}`);
      assert.equal(res.json.code, 'INSUFFICIENT_SCOPE');
      assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="plinth", error="insufficient_scope", scope="admin"');
    }
  }
});
