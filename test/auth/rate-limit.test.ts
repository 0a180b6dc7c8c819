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
    server = await startServer(exampleModels('iris'), { auth: 'on', adminPassword: ADMIN_PASSWORD, loginRateLimit: '2/60s', tokenRateLimit: 'off', tokenFailureRateLimit: 'off' });
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

  test("'off' disables the limits: twenty failing token requests in a row are all answered by the endpoint", async () => {
    for (let i = 0; i < 20; i++) {
      const r = await postForm(url('/oauth/token'), { grant_type: 'client_credentials', client_id: 'plc_nobody', client_secret: 'x' });
      assert.equal(r.status, 401, `request ${i}: ${r.text}`);
      assert.equal(r.json.error, 'invalid_client');
    }
  });
});

/**
 * Failures are counted per account on their own, tighter limit, with the defaults: 10 failed
 * token requests per client and 5 failed sign-ins per user name in 60 s, while every attempt still
 * counts against PLINTH_TOKEN_RATE_LIMIT (60/60s) and PLINTH_LOGIN_RATE_LIMIT (10/60s). Each
 * request comes from its own address (a trusted loopback proxy), as a distributed guesser's would.
 */
describe('failed attempts per account: PLINTH_TOKEN_FAILURE_RATE_LIMIT and PLINTH_LOGIN_FAILURE_RATE_LIMIT', () => {
  let server: TestServer;
  let admin: Awaited<ReturnType<typeof login>>;
  let address = 0;
  /** A fresh address for each request, so only the per-account counters can refuse. */
  const next = () => from(`10.20.${Math.floor(++address / 250)}.${address % 250}`);
  const url = (path: string) => `${server.url}${path}`;
  const token = (id: string, secret: string) => postForm(url('/oauth/token'), { grant_type: 'client_credentials' }, { ...basic(id, secret), ...next() });
  const signIn = (username: string, password: string) => send('POST', url('/login'), { username, password }, next());

  before(async () => {
    server = await startServer(exampleModels('iris'), { auth: 'on', adminPassword: ADMIN_PASSWORD, trustProxy: 'loopback' });
    admin = await login(server, 'admin', ADMIN_PASSWORD);
    for (const user of ['dave', 'erin']) await server.auth.users.create(user, CAROL_PASSWORD);
  });
  after(() => server.close());

  test('twenty bad secrets for one client: the first ten are invalid_client, the rest 429 with Retry-After, the right secret included', async () => {
    const client = await createClient(server, admin, ['predict']);
    for (let i = 1; i <= 10; i++) {
      const r = await token(client.id, `wrong-secret-${i}`);
      assert.equal(r.status, 401, `failure ${i}: ${r.text}`);
      assert.equal(r.json.error, 'invalid_client');
    }
    for (let i = 11; i <= 20; i++) assertLimited(await token(client.id, `wrong-secret-${i}`), 60);
    // Refused before the secret is checked: a 429 tells a guesser nothing, right or wrong.
    const right = await token(client.id, client.secret);
    assertLimited(right, 60);
    assert.match(right.json.error, /failed/);
  });

  test('successes do not use up the failure allowance: thirty tokens, then still ten failures before 429', async () => {
    const client = await createClient(server, admin, ['predict']);
    for (let i = 1; i <= 30; i++) assert.equal((await token(client.id, client.secret)).status, 200, `success ${i}`);
    for (let i = 1; i <= 10; i++) assert.equal((await token(client.id, 'wrong')).status, 401, `failure ${i}`);
    assertLimited(await token(client.id, 'wrong'), 60);
  });

  test('a success does not reset the failure count: nine failures, a success, one failure, then 429', async () => {
    const client = await createClient(server, admin, ['predict']);
    for (let i = 1; i <= 9; i++) assert.equal((await token(client.id, 'wrong')).status, 401, `failure ${i}`);
    assert.equal((await token(client.id, client.secret)).status, 200, 'the owner gets a token in between');
    assert.equal((await token(client.id, 'wrong')).status, 401, 'the tenth failure is still answered');
    assertLimited(await token(client.id, 'wrong'), 60);
    // Another client is not affected.
    const other = await createClient(server, admin, ['predict']);
    assert.equal((await token(other.id, other.secret)).status, 200);
  });

  test('sign-in: five wrong passwords for a user, then even the right one is 429; a success in between does not reset the count', async () => {
    for (let i = 1; i <= 5; i++) assert.equal((await signIn('dave', `wrong-password-${i}`)).status, 401, `failure ${i}`);
    const refused = await signIn('dave', CAROL_PASSWORD);
    assertLimited(refused, 60);
    assert.match(refused.json.error, /failed sign-in/);

    for (let i = 1; i <= 4; i++) assert.equal((await signIn('erin', `wrong-password-${i}`)).status, 401, `failure ${i}`);
    assert.equal((await signIn('erin', CAROL_PASSWORD)).status, 200, 'erin signs in in between');
    assert.equal((await signIn('erin', 'wrong-password-5')).status, 401, 'the fifth failure is still answered');
    assertLimited(await signIn('erin', CAROL_PASSWORD), 60);
  });
});
