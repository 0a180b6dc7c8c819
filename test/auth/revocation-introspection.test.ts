import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeJwt } from 'jose';
import { createAuthServices } from '../../src/auth/auth-services.js';
import { openDatabase } from '../../src/storage/sql/database.js';
import { createSqlAuthRepositories } from '../../src/storage/sql/sql-auth-repositories.js';
import {
  basic,
  bearer,
  clientToken,
  createClient,
  login,
  postForm,
  request,
  send,
  startAuthServer,
  type AuthTestServer,
  type Session,
} from './auth-server.js';

let server: AuthTestServer;
let session: Session;
let alice: { id: string; secret: string };
let bob: { id: string; secret: string };

before(async () => {
  server = await startAuthServer();
  session = await login(server, 'admin', server.adminPassword);
  alice = await createClient(server, session, ['predict', 'models:read']);
  bob = await createClient(server, session, ['predict']);
});
after(() => server.close());

const introspect = (token: string, as: { id: string; secret: string }) => postForm(`${server.url}/oauth/introspect`, { token }, basic(as.id, as.secret));
const revoke = (body: Record<string, string>, as: { id: string; secret: string }) => postForm(`${server.url}/oauth/revoke`, body, basic(as.id, as.secret));
const use = (token: string) => request(`${server.url}/test/protected`, { headers: bearer(token) });

test('introspection of a live token of the caller: every RFC 7662 field', async () => {
  const token = await clientToken(server, alice, 'predict');
  const res = await introspect(token, alice);
  assert.equal(res.status, 200, res.text);
  const claims = decodeJwt(token);
  assert.deepEqual(res.json, {
    active: true,
    scope: 'predict',
    client_id: alice.id,
    sub: alice.id,
    exp: claims.exp,
    iat: claims.iat,
    iss: 'plinth',
    aud: 'plinth',
    jti: claims.jti,
    token_type: 'Bearer',
  });
  assert.equal(res.headers.get('cache-control'), 'no-store');
});

test("introspection of another client's token, garbage, or an expired token: exactly {active: false}", async () => {
  const token = await clientToken(server, alice);
  assert.deepEqual((await introspect(token, bob)).json, { active: false });
  assert.deepEqual((await introspect('not-a-token', alice)).json, { active: false });
  assert.deepEqual((await introspect(`${token.slice(0, -4)}AAAA`, alice)).json, { active: false }, 'a forged signature');
  assert.deepEqual((await introspect(token, alice)).json.active, true);
  server.advance(901);
  try {
    const expired = await introspect(token, alice);
    assert.equal(expired.status, 200);
    assert.equal(expired.text, '{"active":false}');
  } finally {
    server.advance(-901);
  }
});

test('introspection needs client authentication and a token parameter', async () => {
  const token = await clientToken(server, alice);
  const anonymous = await postForm(`${server.url}/oauth/introspect`, { token });
  assert.equal(anonymous.status, 401);
  assert.equal(anonymous.json.error, 'invalid_client');
  assert.equal(anonymous.headers.get('www-authenticate'), 'Basic realm="plinth"');
  const wrong = await postForm(`${server.url}/oauth/introspect`, { token }, basic(alice.id, 'nope'));
  assert.equal(wrong.json.error, 'invalid_client');
  const noToken = await postForm(`${server.url}/oauth/introspect`, {}, basic(alice.id, alice.secret));
  assert.equal(noToken.status, 400);
  assert.equal(noToken.json.error, 'invalid_request');
  const both = await postForm(`${server.url}/oauth/introspect`, { token, client_id: alice.id, client_secret: alice.secret }, basic(alice.id, alice.secret));
  assert.equal(both.json.error, 'invalid_request');
  const json = await send('POST', `${server.url}/oauth/introspect`, { token }, basic(alice.id, alice.secret));
  assert.equal(json.json.error, 'invalid_request');
});

test('revocation: 200 with no body, then the token is refused everywhere and introspects inactive', async () => {
  const token = await clientToken(server, alice);
  assert.equal((await use(token)).status, 200);
  const res = await revoke({ token }, alice);
  assert.equal(res.status, 200);
  assert.equal(res.text, '');
  const refused = await use(token);
  assert.equal(refused.status, 401);
  assert.match(refused.headers.get('www-authenticate')!, /error="invalid_token"/);
  assert.deepEqual((await introspect(token, alice)).json, { active: false });
});

test('revoking an unknown or already revoked token answers 200', async () => {
  assert.equal((await revoke({ token: 'never-issued' }, alice)).status, 200);
  const token = await clientToken(server, alice);
  assert.equal((await revoke({ token }, alice)).status, 200);
  const again = await revoke({ token }, alice);
  assert.equal(again.status, 200);
  assert.equal(again.text, '');
});

test('token_type_hint is honoured but not trusted: a wrong or unknown hint still revokes', async () => {
  for (const hint of ['access_token', 'refresh_token', 'something_else']) {
    const token = await clientToken(server, alice);
    assert.equal((await revoke({ token, token_type_hint: hint }, alice)).status, 200);
    assert.equal((await use(token)).status, 401, `hint ${hint}`);
  }
});

test("a client cannot revoke another client's token: 200, and the token stays valid", async () => {
  const token = await clientToken(server, alice);
  const res = await revoke({ token }, bob);
  assert.equal(res.status, 200);
  assert.equal(res.text, '');
  assert.equal((await use(token)).status, 200, 'still valid');
  assert.equal((await introspect(token, alice)).json.active, true);
});

test('revocation needs client authentication (one method) and a token parameter', async () => {
  const token = await clientToken(server, alice);
  const anonymous = await postForm(`${server.url}/oauth/revoke`, { token });
  assert.equal(anonymous.status, 401);
  assert.equal(anonymous.json.error, 'invalid_client');
  const noToken = await revoke({}, alice);
  assert.equal(noToken.status, 400);
  assert.equal(noToken.json.error, 'invalid_request');
  const both = await postForm(`${server.url}/oauth/revoke`, { token, client_id: alice.id, client_secret: alice.secret }, basic(alice.id, alice.secret));
  assert.equal(both.json.error, 'invalid_request');
  assert.equal((await use(token)).status, 200, 'none of those revoked it');
  const inBody = await postForm(`${server.url}/oauth/revoke`, { token, client_id: alice.id, client_secret: alice.secret });
  assert.equal(inBody.status, 200);
  assert.equal((await use(token)).status, 401, 'body authentication revokes too');
});

test('a revocation on one replica is seen by another on its next use (the revoked table is in the database)', async () => {
  const replicaDb = await openDatabase(server.dbFile);
  try {
    const replica = createAuthServices(createSqlAuthRepositories(replicaDb));
    const token = await clientToken(server, alice);
    assert.ok(await replica.tokens.verify(token), 'the replica accepts the live token');
    await revoke({ token }, alice);
    assert.equal(await replica.tokens.verify(token), undefined, 'and refuses it once revoked elsewhere');
  } finally {
    await replicaDb.destroy();
  }
});

test("the revoked table keeps each token's expiry and is pruned once it has passed", async () => {
  const token = await clientToken(server, alice);
  const { jti, exp } = decodeJwt(token);
  await revoke({ token }, alice);
  const row = await server.db.selectFrom('revoked_tokens').selectAll().where('jti', '=', jti!).executeTakeFirst();
  assert.equal(row?.expires_at, new Date(exp! * 1000).toISOString());
  server.advance(901);
  try {
    await revoke({ token: await clientToken(server, alice) }, alice);
    const stale = await server.db.selectFrom('revoked_tokens').select('jti').where('jti', '=', jti!).executeTakeFirst();
    assert.equal(stale, undefined, 'the expired entry was pruned');
  } finally {
    server.advance(-901);
  }
});

test("deleting a client ends its tokens", async () => {
  const doomed = await createClient(server, session, ['predict']);
  const token = await clientToken(server, doomed);
  assert.equal((await use(token)).status, 200);
  const res = await send('DELETE', `${server.url}/api/v1/clients/${doomed.id}`, undefined, session.headers);
  assert.equal(res.status, 204);
  assert.equal((await use(token)).status, 401);
});
