import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { bearer, clientToken, createClient, login, postForm, request, startAuthServer, type AuthTestServer } from './auth-server.js';

let server: AuthTestServer;
let client: { id: string; secret: string };
let spaceId: string;
let strangerSpace: string;

before(async () => {
  server = await startAuthServer();
  await server.addUser('erin', 'erin-password-1234');
  spaceId = await server.addSpace('erins', { erin: 'editor' });
  strangerSpace = await server.addSpace('strangers', {});
  client = await createClient(server, await login(server, 'erin', 'erin-password-1234'), ['predict', 'models:read', 'models:write']);
});
after(() => server.close());

const url = (query = '') => `${server.url}/test/protected${query}`;

test('no credentials: 401 with a Bearer challenge and no error code (RFC 6750 §3.1)', async () => {
  const res = await request(url());
  assert.equal(res.status, 401);
  assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="plinth"');
  assert.equal(res.json.code, 'UNAUTHENTICATED');
  const basicScheme = await request(url(), { headers: { authorization: 'Basic YTpi' } });
  assert.equal(basicScheme.status, 401, 'another scheme counts as no bearer credentials');
  assert.equal(basicScheme.headers.get('www-authenticate'), 'Bearer realm="plinth"');
});

test('an unknown, tampered or expired token: 401 error="invalid_token"', async () => {
  const token = await clientToken(server, client);
  assert.equal((await request(url(), { headers: bearer(token) })).status, 200, 'the control');
  const tampered = `${token.split('.')[0]}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()), scope: 'admin' })).toString('base64url')}.${token.split('.')[2]}`;
  for (const bad of ['abc.def.ghi', tampered, 'x'.repeat(5000)]) {
    const res = await request(url(), { headers: bearer(bad) });
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate')!, /^Bearer realm="plinth", error="invalid_token"/);
  }
  server.advance(901);
  try {
    const expired = await request(url(), { headers: bearer(token) });
    assert.equal(expired.status, 401);
    assert.match(expired.headers.get('www-authenticate')!, /error="invalid_token"/);
  } finally {
    server.advance(-901);
  }
});

test('a malformed Authorization header: 400 error="invalid_request"', async () => {
  for (const header of ['Bearer', 'Bearer a b', 'Bearer tok"en']) {
    const res = await request(url(), { headers: { authorization: header } });
    assert.equal(res.status, 400, header);
    assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="plinth", error="invalid_request"');
  }
});

test('a token sent two ways (header and query, or header and form body), or outside the header: 400', async () => {
  const token = await clientToken(server, client);
  const twoWays = [
    await request(url(`?access_token=${token}`), { headers: bearer(token) }),
    await postForm(url(), { access_token: token }, bearer(token)),
    await request(url(`?access_token=${token}`)),
  ];
  for (const res of twoWays) {
    assert.equal(res.status, 400, res.text);
    assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="plinth", error="invalid_request"');
  }
  assert.equal((await postForm(url(), { other: 'x' }, bearer(token))).status, 200, 'the control: a form body without the parameter');
});

test('a missing scope: 403 error="insufficient_scope" naming it', async () => {
  const predictOnly = await clientToken(server, client, 'predict');
  assert.equal((await request(url('?scope=predict'), { headers: bearer(predictOnly) })).status, 200);
  const res = await request(url('?scope=models:write'), { headers: bearer(predictOnly) });
  assert.equal(res.status, 403);
  assert.equal(res.json.code, 'INSUFFICIENT_SCOPE');
  assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="plinth", error="insufficient_scope", scope="models:write"');
});

test("a client token acts with its owner's space roles: allowed in the owner's space, 404 in others", async () => {
  const token = await clientToken(server, client);
  const principal = await request(url(), { headers: bearer(token) });
  assert.deepEqual(principal.json, { subject: client.id, kind: 'access_token', user: 'erin', scopes: ['predict', 'models:read', 'models:write'], spaceRoles: { [spaceId]: 'editor' }, clientId: client.id });
  assert.equal((await request(url(`?scope=models:write&space=${spaceId}`), { headers: bearer(token) })).status, 200);
  const elsewhere = await request(url(`?scope=predict&space=${strangerSpace}`), { headers: bearer(token) });
  assert.equal(elsewhere.status, 404, 'not a member: answered like a missing resource');
});

test('an admin-scoped token is not limited by space membership', async () => {
  const adminClient = await createClient(server, await login(server, 'admin', server.adminPassword), ['admin']);
  const token = await clientToken(server, adminClient);
  assert.equal((await request(url(`?scope=models:write&space=${strangerSpace}`), { headers: bearer(token) })).status, 200);
  const narrowed = await clientToken(server, adminClient, 'predict');
  assert.equal((await request(url(`?scope=models:write&space=${strangerSpace}`), { headers: bearer(narrowed) })).status, 403, 'narrowed to predict, it is no longer admin');
});
