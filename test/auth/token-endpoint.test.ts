import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeJwt } from 'jose';
import { sha256Hex } from '../../src/auth/secret-hash.js';
import { APIKEY_GRANT } from '../../src/auth/token-endpoint.service.js';
import { basic, createClient, login, postForm, request, send, startAuthServer, type AuthTestServer, type HttpResult, type Session } from './auth-server.js';

let server: AuthTestServer;
let session: Session;
let client: { id: string; secret: string };
let tokenUrl: string;

before(async () => {
  server = await startAuthServer();
  tokenUrl = `${server.url}/oauth/token`;
  session = await login(server, 'admin', server.adminPassword);
  client = await createClient(server, session, ['predict', 'models:read']);
});
after(() => server.close());

/** A client stored with a chosen id and secret, to exercise the Basic encoding rules. */
async function storedClient(id: string, secret: string) {
  const now = new Date().toISOString();
  await server.repos.clients.create({ id, owner: 'admin', name: id, secretHash: sha256Hex(secret), scopes: ['predict'], createdAt: now, expiresAt: null, secretRotatedAt: null });
}

const rawBasic = (credentials: string) => ({ authorization: `Basic ${Buffer.from(credentials).toString('base64')}` });

function assertOAuthError(res: HttpResult, status: number, error: string) {
  assert.equal(res.status, status, res.text);
  assert.equal(res.json?.error, error, res.text);
  assert.deepEqual(Object.keys(res.json).sort(), ['error', 'error_description'], 'the RFC 6749 error body, not Plinth\'s');
  assert.equal(res.headers.get('cache-control'), 'no-store');
  assert.equal(res.headers.get('pragma'), 'no-cache');
}

test('client_credentials with HTTP Basic: the RFC 6749 §5.1 response, not cached, no refresh token', async () => {
  const res = await postForm(tokenUrl, { grant_type: 'client_credentials' }, basic(client.id, client.secret));
  assert.equal(res.status, 200, res.text);
  assert.equal(res.headers.get('cache-control'), 'no-store');
  assert.equal(res.headers.get('pragma'), 'no-cache');
  assert.deepEqual(Object.keys(res.json).sort(), ['access_token', 'expires_in', 'scope', 'token_type']);
  assert.equal(res.json.token_type, 'Bearer');
  assert.equal(res.json.expires_in, 900, 'the default lifetime is 15 minutes');
  assert.equal(res.json.scope, 'predict models:read', 'no scope asked: the whole allowance');
  const claims = decodeJwt(res.json.access_token);
  assert.equal(claims.sub, client.id);
  assert.equal(claims.client_id, client.id);
  assert.equal(claims.scope, 'predict models:read');
  assert.equal(claims.exp! - claims.iat!, 900);
});

test('client_credentials with client_id and client_secret in the body', async () => {
  const res = await postForm(tokenUrl, { grant_type: 'client_credentials', client_id: client.id, client_secret: client.secret });
  assert.equal(res.status, 200, res.text);
  assert.equal(decodeJwt(res.json.access_token).client_id, client.id);
});

test('Basic credentials are form-url-decoded: %20 and + are spaces, : and % travel encoded', async () => {
  await storedClient('tenant a:b', 'a b:c%d+e');
  const encoded = await postForm(tokenUrl, { grant_type: 'client_credentials' }, rawBasic('tenant%20a%3Ab:a%20b%3Ac%25d%2Be'));
  assert.equal(encoded.status, 200, encoded.text);
  assert.equal(decodeJwt(encoded.json.access_token).client_id, 'tenant a:b');
  const plus = await postForm(tokenUrl, { grant_type: 'client_credentials' }, rawBasic('tenant+a%3Ab:a+b:c%25d%2Be'));
  assert.equal(plus.status, 200, plus.text);
  // Not decoded, "a%20b" would be compared as it is and fail; decoded it is "a b".
  const undecoded = await postForm(tokenUrl, { grant_type: 'client_credentials' }, rawBasic('tenant%20a%3Ab:a b:c%d+e'));
  assertOAuthError(undecoded, 401, 'invalid_client');
});

test('the secret is split from the id at the first colon: a raw colon in the secret still works', async () => {
  await storedClient('colon-client', 'pa:ss:word');
  const res = await postForm(tokenUrl, { grant_type: 'client_credentials' }, rawBasic('colon-client:pa:ss:word'));
  assert.equal(res.status, 200, res.text);
  const lowerScheme = await postForm(tokenUrl, { grant_type: 'client_credentials' }, { authorization: `basic ${Buffer.from('colon-client:pa%3Ass%3Aword').toString('base64')}` });
  assert.equal(lowerScheme.status, 200, 'the scheme name is case-insensitive');
});

test('both client authentication methods at once: invalid_request', async () => {
  const both = await postForm(tokenUrl, { grant_type: 'client_credentials', client_id: client.id, client_secret: client.secret }, basic(client.id, client.secret));
  assertOAuthError(both, 400, 'invalid_request');
  const idOnly = await postForm(tokenUrl, { grant_type: 'client_credentials', client_id: client.id }, basic(client.id, client.secret));
  assertOAuthError(idOnly, 400, 'invalid_request');
});

test('grant_type missing: invalid_request', async () => {
  assertOAuthError(await postForm(tokenUrl, { scope: 'predict' }, basic(client.id, client.secret)), 400, 'invalid_request');
  assertOAuthError(await postForm(tokenUrl, { grant_type: '' }, basic(client.id, client.secret)), 400, 'invalid_request');
});

test('password, authorization_code, refresh_token and made-up grants: unsupported_grant_type', async () => {
  for (const grant of ['password', 'authorization_code', 'refresh_token', 'urn:example:nothing']) {
    const res = await postForm(tokenUrl, { grant_type: grant, username: 'admin', password: server.adminPassword }, basic(client.id, client.secret));
    assertOAuthError(res, 400, 'unsupported_grant_type');
  }
});

test('invalid_client is 401 with a Basic challenge: no credentials, wrong secret (Basic or body), unknown client', async () => {
  const cases = [
    await postForm(tokenUrl, { grant_type: 'client_credentials' }),
    await postForm(tokenUrl, { grant_type: 'client_credentials' }, basic(client.id, `${client.secret}x`)),
    await postForm(tokenUrl, { grant_type: 'client_credentials', client_id: client.id, client_secret: 'wrong' }),
    await postForm(tokenUrl, { grant_type: 'client_credentials', client_id: client.id }),
    await postForm(tokenUrl, { grant_type: 'client_credentials' }, basic('plc_nobody', client.secret)),
    await postForm(tokenUrl, { grant_type: 'client_credentials' }, rawBasic('no-colon-here')),
    await postForm(tokenUrl, { grant_type: 'client_credentials' }, { authorization: 'Bearer abc' }),
  ];
  for (const res of cases) {
    assertOAuthError(res, 401, 'invalid_client');
    assert.equal(res.headers.get('www-authenticate'), 'Basic realm="plinth"');
  }
});

test('scope narrowing is granted and echoed, and the token carries only it', async () => {
  const res = await postForm(tokenUrl, { grant_type: 'client_credentials', scope: 'predict' }, basic(client.id, client.secret));
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.scope, 'predict');
  assert.equal(decodeJwt(res.json.access_token).scope, 'predict');
  const reordered = await postForm(tokenUrl, { grant_type: 'client_credentials', scope: 'models:read predict models:read' }, basic(client.id, client.secret));
  assert.equal(reordered.json.scope, 'models:read predict', 'in the order asked, without repeats');
  const empty = await postForm(tokenUrl, { grant_type: 'client_credentials', scope: '' }, basic(client.id, client.secret));
  assert.equal(empty.json.scope, 'predict models:read', 'an empty parameter counts as omitted (RFC 6749 §3.1)');
});

test('scope beyond the allowance, unknown or malformed: invalid_scope', async () => {
  for (const scope of ['models:write', 'predict admin', 'telepathy', 'predict  models:read', 'predict\tmodels:read']) {
    assertOAuthError(await postForm(tokenUrl, { grant_type: 'client_credentials', scope }, basic(client.id, client.secret)), 400, 'invalid_scope');
  }
});

test('only form-encoded bodies: JSON, text and no body are invalid_request', async () => {
  assertOAuthError(await send('POST', tokenUrl, { grant_type: 'client_credentials' }, basic(client.id, client.secret)), 400, 'invalid_request');
  assertOAuthError(await request(tokenUrl, { method: 'POST', headers: { 'content-type': 'text/plain', ...basic(client.id, client.secret) }, body: 'grant_type=client_credentials' }), 400, 'invalid_request');
  assertOAuthError(await request(tokenUrl, { method: 'POST', headers: basic(client.id, client.secret) }), 400, 'invalid_request');
});

test('a repeated parameter is invalid_request; unknown parameters are ignored', async () => {
  const repeated = await postForm(tokenUrl, [['grant_type', 'client_credentials'], ['scope', 'predict'], ['scope', 'models:read']], basic(client.id, client.secret));
  assertOAuthError(repeated, 400, 'invalid_request');
  const extra = await postForm(tokenUrl, { grant_type: 'client_credentials', audience: 'whatever', resource: 'x' }, basic(client.id, client.secret));
  assert.equal(extra.status, 200, extra.text);
});

test('a client using the API-key grant: unauthorized_client', async () => {
  const res = await postForm(tokenUrl, { grant_type: APIKEY_GRANT, apikey: 'plk_x' }, basic(client.id, client.secret));
  assertOAuthError(res, 400, 'unauthorized_client');
});

test('an expired client gets no token; a client expiring soon gets a token that ends with it', async () => {
  const soon = new Date(Date.now() + 300_000).toISOString();
  const shortLived = await createClient(server, session, ['predict'], { expires_at: soon });
  const res = await postForm(tokenUrl, { grant_type: 'client_credentials' }, basic(shortLived.id, shortLived.secret));
  assert.equal(res.status, 200, res.text);
  assert.ok(res.json.expires_in <= 300 && res.json.expires_in > 290, `expires_in ${res.json.expires_in} is capped by the client's expiry`);
  assert.equal(decodeJwt(res.json.access_token).exp, Math.floor(Date.parse(soon) / 1000));
  server.advance(301);
  try {
    assertOAuthError(await postForm(tokenUrl, { grant_type: 'client_credentials' }, basic(shortLived.id, shortLived.secret)), 401, 'invalid_client');
  } finally {
    server.advance(-301);
  }
});
