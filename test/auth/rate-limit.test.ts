import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { exampleModels, startServer, type TestServer } from '../helpers/server.js';
import { basic, createClient, login, postForm, send, type HttpResult } from './auth-server.js';

const ADMIN_PASSWORD = 'correct-horse-battery';
const CAROL_PASSWORD = 'carol-password-1234';

/** A request that came through the (trusted, loopback) proxy from `address`. */
const from = (address: string) => ({ 'x-forwarded-for': address });

function assertLimited(r: HttpResult, windowSeconds: number): number {
  assert.equal(r.status, 429, r.text);
  assert.deepEqual(Object.keys(r.json).sort(), ['code', 'error']);
  assert.equal(r.json.code, 'RATE_LIMITED');
  assert.equal(r.headers.get('x-content-type-options'), 'nosniff', 'a 429 carries the security headers too');
  const retryAfter = Number(r.headers.get('retry-after'));
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= windowSeconds, `Retry-After ${r.headers.get('retry-after')}`);
  return retryAfter;
}

/** Waits out a 429's Retry-After (plus a margin: the window is measured from its first request). */
const waitOut = (retryAfterSeconds: number) => delay(retryAfterSeconds * 1000 + 150);

/**
 * PLINTH_LOGIN_RATE_LIMIT / PLINTH_TOKEN_RATE_LIMIT at 3 per 2 s, behind a trusted loopback proxy
 * so a test can speak from several addresses (X-Forwarded-For).
 */
describe('rate limits on POST /login and POST /oauth/token', () => {
  let server: TestServer;
  let clientA: { id: string; secret: string };
  let clientB: { id: string; secret: string };
  const url = (path: string) => `${server.url}${path}`;
  const token = (client: { id: string; secret: string }, address: string) =>
    postForm(url('/oauth/token'), { grant_type: 'client_credentials' }, { ...basic(client.id, client.secret), ...from(address) });
  const signIn = (username: string, password: string, address: string) => send('POST', url('/login'), { username, password }, from(address));

  before(async () => {
    server = await startServer(exampleModels('iris'), {
      auth: 'on',
      adminPassword: ADMIN_PASSWORD,
      loginRateLimit: '3/2s',
      tokenRateLimit: '3/2s',
      trustProxy: 'loopback',
    });
    // From the loopback address itself (no X-Forwarded-For): its own buckets, unused below.
    const admin = await login(server, 'admin', ADMIN_PASSWORD);
    clientA = await createClient(server, admin, ['predict']);
    clientB = await createClient(server, admin, ['predict']);
    await server.auth.users.create('carol', CAROL_PASSWORD);
  });
  after(() => server.close());

  test('per client: the fourth token request in the window is refused from any address, 429 with Retry-After; other clients are unaffected', async () => {
    for (let i = 1; i <= 3; i++) assert.equal((await token(clientA, `10.1.0.${i}`)).status, 200, `request ${i}`);
    const refused = await token(clientA, '10.1.0.4');
    assertLimited(refused, 2);
    // Still no-store, like every answer of the token endpoint.
    assert.equal(refused.headers.get('cache-control'), 'no-store');
    // Another client, from a fresh address, is not limited by client A's count.
    const other = await token(clientB, '10.1.0.5');
    assert.equal(other.status, 200, other.text);
  });

  test('per address: one address naming a new client each time is refused on the fourth; until then the RFC errors are unchanged', async () => {
    for (let i = 1; i <= 3; i++) {
      const r = await postForm(url('/oauth/token'), { grant_type: 'client_credentials', client_id: `plc_unknown${i}`, client_secret: 'wrong' }, from('10.2.0.1'));
      assert.equal(r.status, 401, r.text);
      assert.equal(r.json.error, 'invalid_client');
      assert.match(r.headers.get('www-authenticate') ?? '', /^Basic realm="plinth"/);
    }
    const refused = await postForm(url('/oauth/token'), { grant_type: 'client_credentials', client_id: clientB.id, client_secret: clientB.secret }, from('10.2.0.1'));
    assertLimited(refused, 2);
    // Only that address: client B's correct credentials work from another one.
    assert.equal((await token(clientB, '10.2.0.2')).status, 200);
  });

  test('the API-key grant is limited per key (its public prefix) as well', async () => {
    const admin = await login(server, 'admin', ADMIN_PASSWORD);
    const created = await send('POST', url('/api/v1/api-keys'), { name: 'limited', space: 'default', scopes: ['predict'] }, admin.headers);
    assert.equal(created.status, 201, created.text);
    const exchange = (address: string) => postForm(url('/oauth/token'), { grant_type: 'urn:ibm:params:oauth:grant-type:apikey', apikey: created.json.api_key }, from(address));
    for (let i = 1; i <= 3; i++) assert.equal((await exchange(`10.3.0.${i}`)).status, 200);
    assertLimited(await exchange('10.3.0.4'), 2);
  });

  test('a correct client secret works again once the window has passed', async () => {
    for (let i = 1; i <= 3; i++) await token(clientA, `10.4.0.${i}`);
    const retryAfter = assertLimited(await token(clientA, '10.4.0.4'), 2);
    await waitOut(retryAfter);
    const again = await token(clientA, '10.4.0.5');
    assert.equal(again.status, 200, again.text);
    assert.equal(again.json.token_type, 'Bearer');
  });

  test('sign-in, per user: after three wrong passwords the right one is refused until the window passes, then accepted', async () => {
    for (let i = 1; i <= 3; i++) {
      const wrong = await signIn('carol', `wrong-password-${i}`, `10.5.0.${i}`);
      assert.equal(wrong.status, 401, wrong.text);
      assert.equal(wrong.json.code, 'UNAUTHENTICATED');
    }
    const retryAfter = assertLimited(await signIn('carol', CAROL_PASSWORD, '10.5.0.4'), 2);
    await waitOut(retryAfter);
    const ok = await signIn('carol', CAROL_PASSWORD, '10.5.0.5');
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.user, 'carol');
  });

  test('sign-in, per address: one address trying a different user each time is refused on the fourth', async () => {
    for (const user of ['dave', 'erin', 'frank']) assert.equal((await signIn(user, 'some-password-123', '10.6.0.1')).status, 401);
    assertLimited(await signIn('carol', CAROL_PASSWORD, '10.6.0.1'), 2);
    // Carol herself, from elsewhere, is not limited by that address.
    assert.equal((await signIn('carol', CAROL_PASSWORD, '10.6.0.2')).status, 200);
  });
});

describe('rate limits without a trusted proxy', () => {
  let server: TestServer;
  const url = (path: string) => `${server.url}${path}`;

  before(async () => {
    server = await startServer(exampleModels('iris'), { auth: 'on', adminPassword: ADMIN_PASSWORD, loginRateLimit: '2/60s', tokenRateLimit: 'off' });
  });
  after(() => server.close());

  test('X-Forwarded-For is ignored: a client cannot escape the per-address limit by inventing addresses', async () => {
    for (let i = 1; i <= 2; i++) {
      const r = await send('POST', url('/login'), { username: `user${i}`, password: 'wrong-password-1' }, from(`10.9.0.${i}`));
      assert.equal(r.status, 401, r.text);
    }
    const refused = await send('POST', url('/login'), { username: 'admin', password: ADMIN_PASSWORD }, from('10.9.0.3'));
    assertLimited(refused, 60);
  });

  test("'off' disables a limit: twenty token requests in a row are all answered by the endpoint", async () => {
    for (let i = 0; i < 20; i++) {
      const r = await postForm(url('/oauth/token'), { grant_type: 'client_credentials', client_id: 'plc_nobody', client_secret: 'x' });
      assert.equal(r.status, 401, `request ${i}: ${r.text}`);
      assert.equal(r.json.error, 'invalid_client');
    }
  });
});
