import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { exampleModels, startServer, type TestServer } from '../helpers/server.js';
import { login, postForm, request, type HttpResult } from './auth-server.js';

/**
 * Login CSRF: a page on another site posts a form to /login with the attacker's credentials, and
 * the victim's browser is signed in as the attacker (OWASP CSRF Prevention Cheat Sheet, "Login
 * CSRF"). The session routes check the browser's own signals: `Sec-Fetch-Site` (W3C Fetch
 * Metadata Request Headers; a forbidden header name, so page script cannot set it) and `Origin`
 * (the cheat sheet's "Verifying Origin With Standard Headers"). A request with neither is not
 * from a browser (curl, scripts) and passes: the attack needs a victim's browser.
 */
const ADMIN_PASSWORD = 'correct-horse-battery';
const CAROL_PASSWORD = 'carol-password-1234';
const CONSOLE = 'https://console.example.com';

const signIn = (server: TestServer, headers: Record<string, string>, username = 'carol', password = CAROL_PASSWORD) =>
  postForm(`${server.url}/login`, { username, password }, headers);

function assertRefused(res: HttpResult, what: string) {
  assert.equal(res.status, 403, `${what}: ${res.text}`);
  assert.equal(res.json.code, 'FORBIDDEN', what);
  assert.match(res.json.error, /cross-site/, what);
  assert.equal(res.headers.get('set-cookie'), null, `${what}: no session cookie`);
}

function assertSignedIn(res: HttpResult, what: string) {
  assert.equal(res.status, 200, `${what}: ${res.text}`);
  assert.match(res.headers.get('set-cookie') ?? '', /^plinth_session=/, what);
}

describe('login CSRF: the session routes refuse cross-site browser requests', () => {
  let server: TestServer;
  let own: string;

  before(async () => {
    server = await startServer(exampleModels('iris'), {
      auth: 'on',
      adminPassword: ADMIN_PASSWORD,
      corsOrigins: CONSOLE,
      loginRateLimit: 'off',
      loginFailureRateLimit: 'off',
    });
    own = new URL(server.url).origin;
    await server.auth.users.create('carol', CAROL_PASSWORD);
  });
  after(() => server.close());

  test('a cross-site form post to /login is refused with 403 FORBIDDEN, and no session is opened', async () => {
    assertRefused(await signIn(server, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate' }), 'cross-site form');
    // A browser without Fetch Metadata still sends Origin on a POST.
    assertRefused(await signIn(server, { origin: 'https://evil.example' }), 'Origin only');
    // Fetch Metadata without Origin (a browser that omits it): the browser's verdict stands.
    assertRefused(await signIn(server, { 'sec-fetch-site': 'cross-site' }), 'Sec-Fetch-Site: cross-site only');
    assertRefused(await signIn(server, { 'sec-fetch-site': 'same-site' }), 'same-site is another origin: a sibling subdomain may be hostile');
    // Sandboxed frames, data: URLs and cross-site redirects send the opaque origin "null".
    assertRefused(await signIn(server, { origin: 'null' }), 'Origin: null');
  });

  test('look-alike origins are not this one: another scheme, a suffix, a userinfo trick', async () => {
    const { host } = new URL(own);
    for (const origin of [`https://${host}`, `${own}.evil.example`, `http://${host}@evil.example`, 'http://127.0.0.2:1', 'not a url']) {
      assertRefused(await signIn(server, { origin }), origin);
    }
  });

  test('same-origin requests pass: the server\'s own Origin, Sec-Fetch-Site same-origin or none (typed into the address bar)', async () => {
    assertSignedIn(await signIn(server, { origin: own, 'sec-fetch-site': 'same-origin' }), 'same-origin');
    assertSignedIn(await signIn(server, { origin: own }), 'own Origin, no Fetch Metadata');
    assertSignedIn(await signIn(server, { 'sec-fetch-site': 'same-origin' }), 'Sec-Fetch-Site only');
    assertSignedIn(await signIn(server, { 'sec-fetch-site': 'none' }), 'user-initiated');
  });

  test('no Origin and no Sec-Fetch-Site (curl, scripts, the CLI) passes', async () => {
    assertSignedIn(await signIn(server, {}), 'no browser headers');
  });

  test('an origin listed in PLINTH_CORS_ORIGINS passes, even though the browser calls it cross-site', async () => {
    assertSignedIn(await signIn(server, { origin: CONSOLE, 'sec-fetch-site': 'cross-site' }), 'the configured console');
    assertRefused(await signIn(server, { origin: 'https://console.example.com.evil.example', 'sec-fetch-site': 'cross-site' }), 'a suffix of it');
  });

  test('/logout refuses a cross-site request too, even one carrying the session and its CSRF token', async () => {
    const carol = await login(server, 'carol', CAROL_PASSWORD);
    const forged = await request(`${server.url}/logout`, { method: 'POST', headers: { ...carol.headers, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' } });
    assertRefused(forged, 'cross-site logout');
    const anonymous = await request(`${server.url}/logout`, { method: 'POST', headers: { 'sec-fetch-site': 'cross-site' } });
    assertRefused(anonymous, 'cross-site logout without a session');
    const mine = await request(`${server.url}/logout`, { method: 'POST', headers: { ...carol.headers, origin: own, 'sec-fetch-site': 'same-origin' } });
    assert.equal(mine.status, 204, mine.text);
  });

  test('X-Forwarded-Host from a peer that is not a trusted proxy is ignored: it cannot make an attacker\'s origin "own"', async () => {
    assertRefused(await signIn(server, { origin: 'https://evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' }), 'forged forwarding headers');
  });
});

describe('login CSRF behind a trusted proxy (PLINTH_TRUST_PROXY)', () => {
  let server: TestServer;

  before(async () => {
    server = await startServer(exampleModels('iris'), {
      auth: 'on',
      adminPassword: ADMIN_PASSWORD,
      trustProxy: 'loopback',
      loginRateLimit: '3/60s',
      loginFailureRateLimit: 'off',
    });
    await server.auth.users.create('carol', CAROL_PASSWORD);
    await server.auth.users.create('erin', CAROL_PASSWORD);
  });
  after(() => server.close());

  const viaProxy = (address: string, proto = 'https') => ({ 'x-forwarded-for': address, 'x-forwarded-host': 'plinth.example.com', 'x-forwarded-proto': proto });

  test('the public origin is the one the proxy forwards (X-Forwarded-Proto and -Host)', async () => {
    assertSignedIn(await signIn(server, { ...viaProxy('10.8.0.1'), origin: 'https://plinth.example.com' }), 'the public origin');
    // Origins are compared as origins: the default port and the host's case do not matter.
    const explicitPort = { ...viaProxy('10.8.0.4'), 'x-forwarded-host': 'Plinth.Example.com:443' };
    assertSignedIn(await signIn(server, { ...explicitPort, origin: 'https://plinth.example.com' }), 'default port, capitals');
    assertRefused(await signIn(server, { ...viaProxy('10.8.0.2', 'http'), origin: 'https://plinth.example.com' }), 'plain HTTP through the proxy is another origin');
    assertRefused(await signIn(server, { ...viaProxy('10.8.0.3'), origin: new URL(server.url).origin }), 'the internal address is not the public origin');
  });

  test('refused cross-site attempts do not count against the account: a forged page cannot lock a user out', async () => {
    for (let i = 1; i <= 5; i++) {
      assertRefused(await signIn(server, { ...viaProxy(`10.8.1.${i}`), origin: 'https://evil.example' }, 'erin', 'attacker-password-1'), `forged attempt ${i}`);
    }
    assertSignedIn(await signIn(server, { ...viaProxy('10.8.1.9'), origin: 'https://plinth.example.com' }, 'erin'), 'erin herself, afterwards');
  });
});
