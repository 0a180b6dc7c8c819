import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuthServices } from '../../src/auth/auth-services.js';
import { sha256Hex } from '../../src/auth/secret-hash.js';
import { openDatabase } from '../../src/storage/sql/database.js';
import { createSqlAuthRepositories } from '../../src/storage/sql/sql-auth-repositories.js';
import { login, postForm, request, send, startAuthServer, type AuthTestServer } from './auth-server.js';

let server: AuthTestServer;
let spaceId: string;

before(async () => {
  server = await startAuthServer();
  await server.addUser('dave', 'dave-password-1234');
  spaceId = await server.addSpace('team', { dave: 'viewer' });
});
after(() => server.close());

const protectedUrl = () => `${server.url}/test/protected`;

/** A fresh database with the auth services over it, for the first-start cases. */
async function freshServices() {
  const dir = await mkdtemp(join(tmpdir(), 'plinth-users-'));
  const db = await openDatabase(join(dir, 'users.db'));
  return {
    auth: createAuthServices(createSqlAuthRepositories(db)),
    db,
    dispose: async () => {
      await db.destroy();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

test('the first start creates admin with a one-time password, hashed with argon2id; later starts do nothing', async () => {
  assert.ok(server.adminPassword.length >= 24, 'a long random password');
  const row = await server.db.selectFrom('users').selectAll().where('name', '=', 'admin').executeTakeFirstOrThrow();
  assert.match(row.password_hash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  assert.ok(!row.password_hash.includes(server.adminPassword));
  assert.equal(row.is_admin, 1);
  assert.deepEqual(await server.auth.users.ensureAdmin(), { created: false }, 'no second password is generated');
  assert.deepEqual(await server.auth.users.ensureAdmin('another-password-123'), { created: false });
  assert.ok(await server.auth.users.verifyCredentials('admin', server.adminPassword), 'the password was not reset');
});

test('argon2 verification: the right password passes; a wrong one or an unknown user does not', async () => {
  assert.equal((await server.auth.users.verifyCredentials('dave', 'dave-password-1234'))?.name, 'dave');
  assert.equal(await server.auth.users.verifyCredentials('dave', 'dave-password-1235'), undefined);
  assert.equal(await server.auth.users.verifyCredentials('nobody', 'dave-password-1234'), undefined);
});

test('the admin password can come from the environment (PLINTH_ADMIN_PASSWORD); a short one is refused', async () => {
  const fresh = await freshServices();
  try {
    await assert.rejects(fresh.auth.users.ensureAdmin('short'), { code: 'INVALID_INPUT' });
    assert.deepEqual(await fresh.auth.users.ensureAdmin('from-the-environment-1'), { created: true });
    assert.ok(await fresh.auth.users.verifyCredentials('admin', 'from-the-environment-1'));
  } finally {
    await fresh.dispose();
  }
});

test('login sets an HttpOnly, SameSite=Strict session cookie (stored hashed) and returns the CSRF token', async () => {
  const res = await send('POST', `${server.url}/login`, { username: 'dave', password: 'dave-password-1234' });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(Object.keys(res.json).sort(), ['csrf_token', 'expires_at', 'user']);
  assert.equal(res.json.user, 'dave');
  assert.equal(res.headers.get('cache-control'), 'no-store');
  const cookie = res.headers.get('set-cookie')!;
  const attributes = cookie.split(';').map((a) => a.trim());
  assert.match(attributes[0]!, /^plinth_session=[A-Za-z0-9_-]{43}$/);
  assert.ok(attributes.includes('HttpOnly'), cookie);
  assert.ok(attributes.includes('SameSite=Strict'), cookie);
  assert.ok(attributes.includes('Path=/'), cookie);
  assert.ok(!attributes.includes('Secure'), 'plain HTTP: no Secure flag, or the browser would drop the cookie');
  assert.equal(Date.parse(attributes.find((a) => a.startsWith('Expires='))!.slice(8)), Math.floor(Date.parse(res.json.expires_at) / 1000) * 1000);

  const id = attributes[0]!.split('=')[1]!;
  const stored = await server.db.selectFrom('sessions').selectAll().where('id_hash', '=', sha256Hex(id)).executeTakeFirst();
  assert.equal(stored?.user_name, 'dave', 'the session is stored under the SHA-256 of its id');
  assert.equal(stored?.csrf_hash, sha256Hex(res.json.csrf_token));
});

test('X-Forwarded-Proto alone does not make the cookie Secure: only a trusted proxy says the request came over TLS', async () => {
  // This server trusts no proxy, so the header is any client's word. The trusted-proxy case
  // (PLINTH_TRUST_PROXY, Secure set) is in hardening.test.ts.
  const res = await send('POST', `${server.url}/login`, { username: 'dave', password: 'dave-password-1234' }, { 'x-forwarded-proto': 'https' });
  assert.equal(res.status, 200);
  assert.ok(!res.headers.get('set-cookie')!.split(';').map((a) => a.trim()).includes('Secure'));
});

test('login takes a form body too (extra fields ignored); wrong credentials are 401 with no cookie', async () => {
  const form = await postForm(`${server.url}/login`, { username: 'dave', password: 'dave-password-1234', submit: 'Sign in' });
  assert.equal(form.status, 200, form.text);
  const wrong = await send('POST', `${server.url}/login`, { username: 'dave', password: 'nope-nope-nope' });
  const unknown = await send('POST', `${server.url}/login`, { username: 'ghost', password: 'nope-nope-nope' });
  for (const res of [wrong, unknown]) {
    assert.equal(res.status, 401);
    assert.deepEqual(res.json, { error: 'wrong username or password', code: 'UNAUTHENTICATED' }, 'the same answer whether or not the user exists');
    assert.equal(res.headers.get('set-cookie'), null);
  }
});

test("the session principal: the user's scopes and space roles", async () => {
  const dave = await login(server, 'dave', 'dave-password-1234');
  const res = await request(protectedUrl(), { headers: { cookie: dave.cookie } });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json, {
    subject: 'dave',
    kind: 'session',
    user: 'dave',
    scopes: ['predict', 'models:read', 'models:write', 'deployments:write', 'jobs:write'],
    spaceRoles: { [spaceId]: 'viewer' },
  });
  const admin = await login(server, 'admin', server.adminPassword);
  assert.ok((await request(protectedUrl(), { headers: { cookie: admin.cookie } })).json.scopes.includes('admin'));
  assert.equal((await request(`${protectedUrl()}?scope=models:write&space=${spaceId}`, { headers: { cookie: dave.cookie } })).status, 403, 'a viewer cannot write');
});

test('state-changing requests with the session cookie need its CSRF token', async () => {
  const dave = await login(server, 'dave', 'dave-password-1234');
  const other = await login(server, 'dave', 'dave-password-1234');
  const post = (headers: Record<string, string>) => request(protectedUrl(), { method: 'POST', headers });
  const missing = await post({ cookie: dave.cookie });
  assert.equal(missing.status, 403);
  assert.equal(missing.json.code, 'FORBIDDEN');
  assert.equal((await post({ cookie: dave.cookie, 'x-csrf-token': 'guess' })).status, 403);
  assert.equal((await post({ cookie: dave.cookie, 'x-csrf-token': other.csrf })).status, 403, "another session's token does not do");
  assert.equal((await post(dave.headers)).status, 200);
  assert.equal((await request(protectedUrl(), { headers: { cookie: dave.cookie } })).status, 200, 'GET needs no CSRF token');

  const before = (await send('GET', `${server.url}/api/v1/clients`, undefined, { cookie: dave.cookie })).json.clients.length;
  const forged = await send('POST', `${server.url}/api/v1/clients`, { name: 'csrf', scopes: ['predict'] }, { cookie: dave.cookie });
  assert.equal(forged.status, 403);
  assert.equal((await send('GET', `${server.url}/api/v1/clients`, undefined, { cookie: dave.cookie })).json.clients.length, before, 'nothing was created');
});

test('logout needs the CSRF token, ends the session and clears the cookie', async () => {
  const dave = await login(server, 'dave', 'dave-password-1234');
  const refused = await request(`${server.url}/logout`, { method: 'POST', headers: { cookie: dave.cookie } });
  assert.equal(refused.status, 403);
  assert.equal((await request(protectedUrl(), { headers: { cookie: dave.cookie } })).status, 200, 'still signed in');
  const res = await request(`${server.url}/logout`, { method: 'POST', headers: dave.headers });
  assert.equal(res.status, 204);
  const cleared = res.headers.get('set-cookie')!;
  assert.match(cleared, /^plinth_session=;/);
  assert.match(cleared, /Expires=Thu, 01 Jan 1970/);
  const after = await request(protectedUrl(), { headers: { cookie: dave.cookie } });
  assert.equal(after.status, 401);
  assert.equal(after.headers.get('www-authenticate'), 'Bearer realm="plinth"');
});

test('a session expires after its lifetime', async () => {
  const dave = await login(server, 'dave', 'dave-password-1234');
  server.advance(8 * 3600 + 1);
  try {
    assert.equal((await request(protectedUrl(), { headers: { cookie: dave.cookie } })).status, 401);
  } finally {
    server.advance(-(8 * 3600 + 1));
  }
  assert.equal((await request(protectedUrl(), { headers: { cookie: dave.cookie } })).status, 200, 'the control: before expiry it works');
});
