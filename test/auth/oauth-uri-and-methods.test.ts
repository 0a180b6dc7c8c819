import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { exampleModels, startServer, type TestServer } from '../helpers/server.js';
import { basic, bearer, createClient, login, postForm, request, type HttpResult } from './auth-server.js';

const ADMIN_PASSWORD = 'correct-horse-battery';
const OAUTH_ENDPOINTS = ['/oauth/token', '/oauth/revoke', '/oauth/introspect'];

function assertOAuthError(res: HttpResult, status: number, error: string, what: string) {
  assert.equal(res.status, status, `${what}: ${res.text}`);
  assert.equal(res.json?.error, error, `${what}: ${res.text}`);
  assert.deepEqual(Object.keys(res.json).sort(), ['error', 'error_description'], `${what}: the RFC 6749 §5.2 error body`);
  assert.equal(res.headers.get('cache-control'), 'no-store', what);
}

/** The whole server with authentication on, so the route policy is in place as in production. */
describe('the OAuth endpoints refuse parameters in the URI and methods other than POST', () => {
  let server: TestServer;
  let client: { id: string; secret: string };
  let token: string;
  const url = (path: string) => `${server.url}${path}`;

  before(async () => {
    server = await startServer(exampleModels('iris'), { auth: 'on', adminPassword: ADMIN_PASSWORD, tokenRateLimit: 'off', tokenFailureRateLimit: 'off' });
    const admin = await login(server, 'admin', ADMIN_PASSWORD);
    client = await createClient(server, admin, ['predict']);
    const issued = await postForm(url('/oauth/token'), { grant_type: 'client_credentials' }, basic(client.id, client.secret));
    assert.equal(issued.status, 200, issued.text);
    token = issued.json.access_token;
  });
  after(() => server.close());

  // RFC 6749 §2.3.1: client credentials "MUST NOT be included in the request URI"; §3.2 and §4.4.2:
  // the token request's parameters go in the form-encoded entity-body.
  test('HTTP Basic plus a client_secret in the query gets no token: 400 invalid_request', async () => {
    const res = await postForm(url(`/oauth/token?client_secret=${encodeURIComponent(client.secret)}`), { grant_type: 'client_credentials' }, basic(client.id, client.secret));
    assertOAuthError(res, 400, 'invalid_request', 'Basic + query secret');
    assert.match(res.json.error_description, /client_secret/, 'names the parameter');
    assert.match(res.json.error_description, /URI|query/i, 'says where it must not be');
    assert.ok(!res.text.includes(client.secret), 'never echoes the secret');
  });

  test('client_id and client_secret only in the query: invalid_request, not an authentication attempt', async () => {
    const query = new URLSearchParams({ client_id: client.id, client_secret: client.secret }).toString();
    assertOAuthError(await postForm(url(`/oauth/token?${query}`), { grant_type: 'client_credentials' }), 400, 'invalid_request', 'query credentials');
  });

  test('every credential-bearing parameter and the grant parameters are refused in the query, on each endpoint', async () => {
    const names = ['client_secret', 'client_id', 'password', 'api_key', 'apikey', 'assertion', 'client_assertion', 'grant_type', 'scope', 'token'];
    for (const path of OAUTH_ENDPOINTS) {
      for (const name of names) {
        const res = await postForm(url(`${path}?${name}=x`), { grant_type: 'client_credentials', token }, basic(client.id, client.secret));
        assertOAuthError(res, 400, 'invalid_request', `${path}?${name}`);
        assert.match(res.json.error_description, new RegExp(name), `${path}?${name}: names the parameter`);
      }
    }
  });

  test('any query parameter at all is refused (Plinth publishes its endpoints without a query component, RFC 6749 §3.2)', async () => {
    for (const path of OAUTH_ENDPOINTS) {
      for (const query of ['foo=bar', 'empty=', 'bare']) {
        assertOAuthError(await postForm(url(`${path}?${query}`), { grant_type: 'client_credentials', token }, basic(client.id, client.secret)), 400, 'invalid_request', `${path}?${query}`);
      }
    }
    // An empty query component is no parameter: the request is answered as usual.
    const ok = await postForm(url('/oauth/token?'), { grant_type: 'client_credentials' }, basic(client.id, client.secret));
    assert.equal(ok.status, 200, ok.text);
  });

  test('RFC 7009 §2.1: a revocation with a secret in the query does not revoke; the token stays valid', async () => {
    const res = await postForm(url(`/oauth/revoke?client_secret=${encodeURIComponent(client.secret)}`), { token }, basic(client.id, client.secret));
    assertOAuthError(res, 400, 'invalid_request', 'revoke with query secret');
    const use = await request(url('/v2/models/iris'), { headers: bearer(token) });
    assert.equal(use.status, 200, use.text);
  });

  // RFC 9110 §15.5.6: "The origin server MUST generate an Allow header field in a 405 response
  // containing a list of the target resource's currently supported methods."
  test('GET, PUT, DELETE and PATCH on each OAuth endpoint: 405 with Allow: POST and the RFC 6749 error body, not 404', async () => {
    for (const path of OAUTH_ENDPOINTS) {
      for (const method of ['GET', 'PUT', 'DELETE', 'PATCH']) {
        const res = await request(url(path), { method, headers: basic(client.id, client.secret) });
        assertOAuthError(res, 405, 'invalid_request', `${method} ${path}`);
        assert.equal(res.headers.get('allow'), 'POST', `${method} ${path}`);
        assert.match(res.json.error_description, /POST/, `${method} ${path}`);
        assert.equal(res.headers.get('x-content-type-options'), 'nosniff', 'the security headers too');
      }
    }
  });

  test('405 comes first: whatever the body, content type or query, and without a credential', async () => {
    const put = await request(url('/oauth/token?client_secret=x'), { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: 'grant_type=client_credentials' });
    assertOAuthError(put, 405, 'invalid_request', 'PUT text/plain');
    assert.equal(put.headers.get('allow'), 'POST');
    const head = await request(url('/oauth/introspect'), { method: 'HEAD' });
    assert.equal(head.status, 405);
    assert.equal(head.headers.get('allow'), 'POST');
  });

  test('the session routes answer 405 with Allow: POST too, in Plinth\'s error shape; other paths stay 404', async () => {
    for (const path of ['/login', '/logout']) {
      for (const method of ['GET', 'PUT', 'DELETE', 'PATCH']) {
        const res = await request(url(path), { method });
        assert.equal(res.status, 405, `${method} ${path}: ${res.text}`);
        assert.equal(res.headers.get('allow'), 'POST', `${method} ${path}`);
        assert.deepEqual(res.json, { error: `${path} takes POST only`, code: 'METHOD_NOT_ALLOWED' });
      }
    }
    for (const path of ['/oauth/authorize', '/oauth', '/oauth/token/extra']) {
      const res = await request(url(path));
      assert.equal(res.status, 404, `${path}: ${res.text}`);
      assert.equal(res.json.code, 'NOT_FOUND');
    }
  });

  test('POST still works once the other methods are routed', async () => {
    const issued = await postForm(url('/oauth/token'), { grant_type: 'client_credentials' }, basic(client.id, client.secret));
    assert.equal(issued.status, 200, issued.text);
    const res = await postForm(url('/oauth/introspect'), { token: issued.json.access_token }, basic(client.id, client.secret));
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.active, true);
  });
});
