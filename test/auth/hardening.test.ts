import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/config.js';
import { exampleModels, startServer, type TestServer } from '../helpers/server.js';
import { bearer, postForm, request, send, type HttpResult } from './auth-server.js';

const ADMIN_PASSWORD = 'correct-horse-battery';
const SETOSA = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 };

function assertSecurityHeaders(r: HttpResult, what: string): void {
  assert.equal(r.headers.get('x-content-type-options'), 'nosniff', what);
  assert.equal(r.headers.get('referrer-policy'), 'no-referrer', what);
  assert.equal(r.headers.get('x-frame-options'), 'DENY', what);
  assert.equal(r.headers.get('cross-origin-opener-policy'), 'same-origin', what);
  assert.equal(r.headers.get('cross-origin-resource-policy'), 'same-origin', what);
  const csp = r.headers.get('content-security-policy') ?? '';
  assert.match(csp, /default-src 'none'/, what);
  assert.match(csp, /frame-ancestors 'none'/, what);
  assert.equal(r.headers.get('x-powered-by'), null, what);
}

const signIn = (server: TestServer, headers: Record<string, string> = {}) =>
  send('POST', `${server.url}/login`, { username: 'admin', password: ADMIN_PASSWORD }, headers);

describe('hardening with the defaults: security headers, no CORS, no HSTS, no trusted proxy', () => {
  let server: TestServer;
  const url = (path: string) => `${server.url}${path}`;

  before(async () => {
    server = await startServer(exampleModels('iris'), { auth: 'on', adminPassword: ADMIN_PASSWORD });
  });
  after(() => server.close());

  test('every kind of answer carries the security headers: 200, 400, 401 (Plinth and RFC 6749), 404, a file download', async () => {
    const login = await signIn(server);
    assert.equal(login.status, 200);
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const answers: [string, HttpResult, number][] = [
      ['health', await request(url('/v2/health/live')), 200],
      ['text health', await request(url('/health')), 200],
      ['sign-in', login, 200],
      ['bad JSON', await request(url('/models/iris/predict'), { method: 'POST', headers: { 'content-type': 'application/json', cookie }, body: '{' }), 400],
      ['no credential', await send('POST', url('/models/iris/predict'), SETOSA), 401],
      ['bad token', await send('POST', url('/models/iris/predict'), SETOSA, bearer('nope')), 401],
      ['OAuth error', await postForm(url('/oauth/token'), { grant_type: 'client_credentials' }), 401],
      ['no route', await request(url('/no/such/route')), 404],
      ['artifact', await request(url('/api/v1/models/iris/versions/1/artifacts/model.onnx'), { headers: { cookie } }), 200],
      ['JWKS', await request(url('/.well-known/jwks.json')), 200],
    ];
    for (const [what, r, status] of answers) {
      assert.equal(r.status, status, `${what}: ${r.text.slice(0, 200)}`);
      assertSecurityHeaders(r, what);
    }
  });

  test('no HSTS on plain HTTP, and X-Forwarded-Proto from an untrusted peer neither adds it nor marks the cookie Secure', async () => {
    const plain = await signIn(server);
    assert.equal(plain.headers.get('strict-transport-security'), null);
    assert.doesNotMatch(plain.headers.get('set-cookie') ?? '', /;\s*Secure/i);
    const spoofed = await signIn(server, { 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.9' });
    assert.equal(spoofed.status, 200);
    assert.equal(spoofed.headers.get('strict-transport-security'), null);
    assert.doesNotMatch(spoofed.headers.get('set-cookie') ?? '', /;\s*Secure/i);
    assert.match(spoofed.headers.get('set-cookie') ?? '', /HttpOnly; SameSite=Strict/);
    // The audit log has the real peer, not the address the header claimed.
    const cookie = spoofed.headers.get('set-cookie')!.split(';')[0]!;
    const audit = await send('GET', url('/api/v1/audit?action=login&limit=1'), undefined, { cookie });
    assert.equal(audit.json.items[0].remote_address, '127.0.0.1');
  });

  test('CORS is off: an Origin gets no Access-Control-* headers and a preflight is not answered', async () => {
    const simple = await request(url('/v2/health/live'), { headers: { origin: 'https://app.example.com' } });
    assert.equal(simple.status, 200);
    assert.equal(simple.headers.get('access-control-allow-origin'), null);
    const preflight = await request(url('/models/iris/predict'), {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' },
    });
    assert.notEqual(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), null);
    assert.equal(preflight.headers.get('access-control-allow-methods'), null);
  });

  test('Swagger UI at /api/docs loads: the page, each script and stylesheet it names and the OpenAPI document answer 200 under its CSP', async () => {
    const page = await request(url('/api/docs/'));
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    const csp = page.headers.get('content-security-policy') ?? '';
    // The docs' own policy: scripts, styles and fetches from this server only; no eval, no inline script.
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /connect-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-eval|upgrade-insecure-requests/);
    assert.doesNotMatch(page.text, /<script>|<script\s+type="[^"]*">|\son[a-z]+=/i, 'no inline script the CSP would block');
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');

    const scripts = [...page.text.matchAll(/<script src="([^"]+)"/g)].map((m) => m[1]!);
    const styles = [...page.text.matchAll(/<link rel="stylesheet" type="text\/css" href="([^"]+)"/g)].map((m) => m[1]!);
    assert.ok(scripts.some((s) => s.endsWith('swagger-ui-bundle.js')), page.text);
    assert.ok(scripts.some((s) => s.endsWith('swagger-initializer.js')));
    assert.ok(styles.length >= 1);
    for (const asset of [...scripts, ...styles]) {
      const target = new URL(asset, url('/api/docs/'));
      assert.equal(target.origin, new URL(server.url).origin, `${asset} is same-origin, as script-src 'self' requires`);
      const r = await request(target.href);
      assert.equal(r.status, 200, asset);
      assert.match(r.headers.get('content-type') ?? '', asset.endsWith('.js') ? /javascript/ : /text\/css/, asset);
      assert.ok(r.text.length > 100, asset);
    }
    // The document Swagger UI fetches (relative to the page, so same-origin: connect-src 'self').
    const spec = await request(url('/api/docs/json'));
    assert.equal(spec.status, 200);
    assert.equal(spec.json.openapi, '3.0.3');
    // Without the trailing slash the page loads too (its asset URLs are absolute paths then).
    const bare = await request(url('/api/docs'));
    assert.equal(bare.status, 200);
    assert.match(bare.text, /src="\/api\/docs\/static\/swagger-ui-bundle\.js"/);
  });

  test('the API answers keep the strict policy: the docs CSP is only on /api/docs', async () => {
    const api = await request(url('/v2/health/live'));
    assert.equal(api.headers.get('content-security-policy'), "default-src 'none';base-uri 'none';form-action 'none';frame-ancestors 'none'");
  });
});

describe('hardening, configured: CORS for listed origins, HSTS on', () => {
  let server: TestServer;
  const url = (path: string) => `${server.url}${path}`;
  const ALLOWED = 'https://console.example.com';

  before(async () => {
    server = await startServer(exampleModels('iris'), { auth: 'on', adminPassword: ADMIN_PASSWORD, corsOrigins: `${ALLOWED}, http://localhost:5173`, hsts: 'on' });
  });
  after(() => server.close());

  test('an allowed origin gets its own origin back (never *), without credentials; others get nothing', async () => {
    for (const origin of [ALLOWED, 'http://localhost:5173']) {
      const r = await request(url('/v2/health/live'), { headers: { origin } });
      assert.equal(r.headers.get('access-control-allow-origin'), origin);
      assert.match(r.headers.get('vary') ?? '', /Origin/i);
      assert.equal(r.headers.get('access-control-allow-credentials'), null);
      assert.match(r.headers.get('access-control-expose-headers') ?? '', /x-request-id/);
    }
    for (const origin of ['https://evil.example.com', 'https://console.example.com.evil.example', 'http://console.example.com', 'null']) {
      const r = await request(url('/v2/health/live'), { headers: { origin } });
      assert.equal(r.headers.get('access-control-allow-origin'), null, origin);
    }
  });

  test('a preflight from an allowed origin is answered 204 before authentication; the actual call still needs a credential', async () => {
    const preflight = await request(url('/models/iris/predict'), {
      method: 'OPTIONS',
      headers: { origin: ALLOWED, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
    assert.equal(preflight.status, 204, preflight.text);
    assert.equal(preflight.headers.get('access-control-allow-origin'), ALLOWED);
    assert.match(preflight.headers.get('access-control-allow-methods') ?? '', /POST/);
    assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /authorization/);
    assert.ok(Number(preflight.headers.get('access-control-max-age')) > 0);
    const call = await send('POST', url('/models/iris/predict'), SETOSA, { origin: ALLOWED });
    assert.equal(call.status, 401);
    assert.equal(call.headers.get('access-control-allow-origin'), ALLOWED, 'the browser may read the 401');
    const stranger = await request(url('/models/iris/predict'), {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'POST' },
    });
    assert.equal(stranger.headers.get('access-control-allow-origin'), null);
  });

  test('PLINTH_HSTS=on sends Strict-Transport-Security on every answer, plain HTTP included', async () => {
    for (const path of ['/v2/health/live', '/no/such/route', '/api/docs/']) {
      const r = await request(url(path));
      assert.equal(r.headers.get('strict-transport-security'), 'max-age=31536000', path);
    }
  });
});

describe('hardening behind a trusted proxy (PLINTH_TRUST_PROXY)', () => {
  let server: TestServer;
  let noHsts: TestServer;

  before(async () => {
    server = await startServer(exampleModels('iris'), { auth: 'on', adminPassword: ADMIN_PASSWORD, trustProxy: '127.0.0.1' });
    noHsts = await startServer(exampleModels('iris'), { auth: 'on', adminPassword: ADMIN_PASSWORD, trustProxy: '127.0.0.1', hsts: 'off' });
  });
  after(async () => {
    await server.close();
    await noHsts.close();
  });

  test('X-Forwarded-Proto: https from the proxy makes the session cookie Secure and adds HSTS; plain HTTP through it does not', async () => {
    const tls = await signIn(server, { 'x-forwarded-proto': 'https' });
    assert.equal(tls.status, 200);
    assert.match(tls.headers.get('set-cookie') ?? '', /;\s*Secure/i);
    assert.equal(tls.headers.get('strict-transport-security'), 'max-age=31536000');
    const plain = await signIn(server, { 'x-forwarded-proto': 'http' });
    assert.doesNotMatch(plain.headers.get('set-cookie') ?? '', /;\s*Secure/i);
    assert.equal(plain.headers.get('strict-transport-security'), null);
    const off = await signIn(noHsts, { 'x-forwarded-proto': 'https' });
    assert.match(off.headers.get('set-cookie') ?? '', /;\s*Secure/i, 'Secure follows the protocol whatever PLINTH_HSTS says');
    assert.equal(off.headers.get('strict-transport-security'), null, 'PLINTH_HSTS=off');
  });

  test("the client address the proxy forwards is request.ip: the audit log records it", async () => {
    const login = await signIn(server, { 'x-forwarded-for': '198.51.100.23' });
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const audit = await send('GET', `${server.url}/api/v1/audit?action=login&limit=1`, undefined, { cookie });
    assert.equal(audit.json.items[0].remote_address, '198.51.100.23');
  });
});

describe('hardening settings are validated at start-up', () => {
  test('a wildcard, a path or a non-HTTP scheme in PLINTH_CORS_ORIGINS is refused, naming the variable', () => {
    for (const value of ['*', 'https://a.example.com/path', 'file:///etc', 'a.example.com', 'https://a.example.com,*']) {
      assert.throws(() => loadConfig({}, { PLINTH_CORS_ORIGINS: value }), /PLINTH_CORS_ORIGINS/, value);
    }
    assert.equal(loadConfig({}, { PLINTH_CORS_ORIGINS: 'https://a.example.com, http://[::1]:8080' }).corsOrigins, 'https://a.example.com, http://[::1]:8080');
  });

  test('PLINTH_HSTS takes auto, on or off; rate limits <max>/<window> or off; PLINTH_TRUST_PROXY refuses a hop count', async () => {
    assert.throws(() => loadConfig({}, { PLINTH_HSTS: 'yes' }), /PLINTH_HSTS/);
    for (const value of ['10', '0/60s', '10/60d', '10 per minute']) assert.throws(() => loadConfig({}, { PLINTH_LOGIN_RATE_LIMIT: value }), /PLINTH_LOGIN_RATE_LIMIT/, value);
    assert.equal(loadConfig({}, { PLINTH_TOKEN_RATE_LIMIT: '100/1m' }).tokenRateLimit, '100/1m');
    for (const name of ['PLINTH_LOGIN_FAILURE_RATE_LIMIT', 'PLINTH_TOKEN_FAILURE_RATE_LIMIT']) {
      assert.throws(() => loadConfig({}, { [name]: '10 failures' }), new RegExp(name), name);
    }
    const defaults = loadConfig({}, {});
    assert.deepEqual([defaults.loginFailureRateLimit, defaults.tokenFailureRateLimit], ['5/60s', '10/60s'], 'failure limits are on by default');
    assert.equal(loadConfig({}, { PLINTH_TOKEN_FAILURE_RATE_LIMIT: 'off' }).tokenFailureRateLimit, 'off');
    // Refused while building the server, before any file is opened.
    await assert.rejects(buildApp(loadConfig({ trustProxy: '2', dataDir: '/nonexistent/plinth', logLevel: 'silent' }, {})), /PLINTH_TRUST_PROXY/);
  });
});
