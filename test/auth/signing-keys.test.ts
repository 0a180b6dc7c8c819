import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { calculateJwkThumbprint, createLocalJWKSet, decodeProtectedHeader, importJWK, jwtVerify, SignJWT, type JWK } from 'jose';
import { bearer, clientToken, createClient, login, request, startAuthServer, type AuthTestServer } from './auth-server.js';

let server: AuthTestServer;
let client: { id: string; secret: string };

before(async () => {
  server = await startAuthServer();
  client = await createClient(server, await login(server, 'admin', server.adminPassword), ['predict']);
});
after(() => server.close());

const jwks = async (s = server) => (await request(`${s.url}/.well-known/jwks.json`)).json as { keys: (JWK & { kid: string })[] };
const use = (token: string, s = server) => request(`${s.url}/test/protected`, { headers: bearer(token) });

test('the JWKS publishes public EC keys only, and any JWT library can verify a token with it', async () => {
  const token = await clientToken(server, client);
  const res = await request(`${server.url}/.well-known/jwks.json`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('cache-control'), 'public, max-age=60');
  const { keys } = res.json;
  assert.equal(keys.length, 1);
  const [key] = keys;
  assert.deepEqual(Object.keys(key).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y'], 'no private member (d)');
  assert.equal(key.kty, 'EC');
  assert.equal(key.crv, 'P-256');
  assert.equal(key.alg, 'ES256');
  assert.equal(key.use, 'sig');
  assert.equal(key.kid, await calculateJwkThumbprint({ kty: key.kty, crv: key.crv, x: key.x, y: key.y }), 'kid is the RFC 7638 thumbprint');

  const header = decodeProtectedHeader(token);
  assert.deepEqual(header, { alg: 'ES256', kid: key.kid, typ: 'at+jwt' });
  const { payload } = await jwtVerify(token, createLocalJWKSet(res.json), { issuer: 'plinth', audience: 'plinth', typ: 'at+jwt' });
  assert.deepEqual(Object.keys(payload).sort(), ['aud', 'client_id', 'exp', 'iat', 'iss', 'jti', 'scope', 'sub']);
  assert.match(payload.jti!, /^[0-9a-f-]{36}$/);
});

test('signing keys live in the database: the private JWK there, only the public one published', async () => {
  const rows = await server.db.selectFrom('signing_keys').selectAll().execute();
  assert.equal(rows.length, 1);
  assert.ok(typeof JSON.parse(rows[0]!.private_jwk).d === 'string', 'the private key is kept as a JWK');
  assert.equal(JSON.parse(rows[0]!.public_jwk).d, undefined);
  assert.equal(rows[0]!.retired_at, null);
});

test('rotation: new tokens use the new key, old tokens stay valid, the old key stays published until they expire', async () => {
  const before = await clientToken(server, client);
  const oldKid = decodeProtectedHeader(before).kid!;
  await server.auth.signingKeys.rotate();
  const afterRotation = await clientToken(server, client);
  const newKid = decodeProtectedHeader(afterRotation).kid!;
  assert.notEqual(newKid, oldKid);
  assert.equal((await use(before)).status, 200, 'the token signed by the retired key still works');
  assert.equal((await use(afterRotation)).status, 200);
  assert.deepEqual((await jwks()).keys.map((k) => k.kid), [newKid, oldKid], 'both keys published, newest first');

  // The retired key stays for the token lifetime (900 s) plus a 60 s grace, then leaves the set.
  server.advance(959);
  try {
    assert.deepEqual((await jwks()).keys.map((k) => k.kid), [newKid, oldKid]);
    server.advance(2);
    assert.deepEqual((await jwks()).keys.map((k) => k.kid), [newKid]);
    await server.auth.signingKeys.rotate();
    const remaining = await server.db.selectFrom('signing_keys').select('kid').execute();
    assert.ok(!remaining.some((r) => r.kid === oldKid), 'the expired key is deleted at the next rotation');
  } finally {
    server.advance(-961);
  }
});

test('a token is refused when its audience, issuer, type or algorithm is not Plinth\'s, even signed with Plinth\'s key', async () => {
  const row = await server.auth.signingKeys.current();
  const privateJwk = JSON.parse((await server.db.selectFrom('signing_keys').select('private_jwk').where('kid', '=', row.kid).executeTakeFirstOrThrow()).private_jwk);
  const key = await importJWK(privateJwk, 'ES256');
  const now = Math.floor(Date.now() / 1000);
  const forge = (claims: { aud?: string; iss?: string; typ?: string }) =>
    new SignJWT({ scope: 'predict', client_id: client.id })
      .setProtectedHeader({ alg: 'ES256', kid: row.kid, typ: claims.typ ?? 'at+jwt' })
      .setIssuer(claims.iss ?? 'plinth')
      .setAudience(claims.aud ?? 'plinth')
      .setSubject(client.id)
      .setIssuedAt(now)
      .setExpirationTime(now + 300)
      .setJti(crypto.randomUUID())
      .sign(key);
  assert.equal((await use(await forge({}))).status, 200, 'the control: a well-formed token passes');
  assert.equal((await use(await forge({ aud: 'someone-else' }))).status, 401);
  assert.equal((await use(await forge({ iss: 'https://evil.example' }))).status, 401);
  assert.equal((await use(await forge({ typ: 'JWT' }))).status, 401, 'an ID token or other JWT is not an access token');
  const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', kid: row.kid, typ: 'at+jwt' })).toString('base64url')}.${Buffer.from(
    JSON.stringify({ iss: 'plinth', aud: 'plinth', sub: client.id, client_id: client.id, scope: 'predict', iat: now, exp: now + 300, jti: 'x' }),
  ).toString('base64url')}.`;
  assert.equal((await use(unsigned)).status, 401, 'alg none');
});

test('lifetime, issuer, audience and key age are configurable; an old key is replaced at the next issue', async () => {
  const custom = await startAuthServer({ accessTokenTtlSeconds: 7200, signingKeyMaxAgeSeconds: 3600, issuer: 'https://plinth.example', audience: 'models' });
  try {
    const c = await createClient(custom, await login(custom, 'admin', custom.adminPassword), ['predict']);
    const published = (await jwks(custom)).keys;
    assert.equal(published.length, 1, 'the set is not empty before the first token');
    const first = await clientToken(custom, c);
    assert.equal(decodeProtectedHeader(first).kid, published[0]!.kid, 'the first token carries the key already published');
    const { payload } = await jwtVerify(first, createLocalJWKSet(await jwks(custom)), { issuer: 'https://plinth.example', audience: 'models' });
    assert.equal(payload.exp! - payload.iat!, 7200);
    custom.advance(3601);
    const second = await clientToken(custom, c);
    assert.notEqual(decodeProtectedHeader(second).kid, decodeProtectedHeader(first).kid, 'the key older than its maximum age was rotated');
    assert.equal((await use(first, custom)).status, 200, 'the earlier token is still valid');
    assert.equal((await use(second, custom)).status, 200);
    assert.equal((await use(first)).status, 401, 'another server (other keys, issuer, audience) refuses it');
  } finally {
    await custom.close();
  }
});
