import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { EXAMPLES, exampleModels, startServer, type TestServer } from '../helpers/server.js';
import { bearer, clientToken, createClient, login, postForm, request, send, type Session } from './auth-server.js';

const ADMIN_PASSWORD = 'correct-horse-battery';
const SETOSA = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 };
const CHALLENGE = /^Bearer realm="plinth"/;

/** The whole server with authentication on: the route policy over every protocol and the registry. */
describe('authentication on: the route policy', () => {
  let server: TestServer;
  let admin: Session;
  let adminKey: string;
  const url = (path: string) => `${server.url}${path}`;

  const createKey = async (session: Session, space: string, scopes: string[]) => {
    const r = await send('POST', url('/api/v1/api-keys'), { name: `key-${scopes.join('-')}`, space, scopes }, session.headers);
    assert.equal(r.status, 201, r.text);
    return r.json.api_key as string;
  };

  before(async () => {
    server = await startServer(exampleModels('iris', 'diabetes'), { auth: 'on', adminPassword: ADMIN_PASSWORD, publicModels: 'diabetes' });
    admin = await login(server, 'admin', ADMIN_PASSWORD);
    adminKey = await createKey(admin, 'default', ['predict', 'models:read', 'models:write', 'deployments:write']);
  });
  after(() => server.close());

  test('health, docs, JWKS and the token endpoint need no credential', async () => {
    for (const path of ['/v2/health/ready', '/v2/health/live', '/health', '/ready', '/ping', '/api/docs/json', '/.well-known/jwks.json']) {
      assert.equal((await request(url(path))).status, 200, path);
    }
    // The token endpoint is reachable and answers in RFC 6749 terms (no client authentication: invalid_client).
    const token = await postForm(url('/oauth/token'), { grant_type: 'client_credentials' });
    assert.equal(token.status, 401, token.text);
    assert.equal(token.json.error, 'invalid_client');
  });

  test('the OpenAPI document declares the security schemes and what each route needs', async () => {
    const doc = (await request(url('/api/docs/json'))).json;
    assert.deepEqual(Object.keys(doc.components.securitySchemes).sort(), ['apiKey', 'clientBasic', 'oauth2', 'session']);
    assert.equal(doc.components.securitySchemes.oauth2.flows.clientCredentials.tokenUrl, '/oauth/token');
    assert.deepEqual(doc.paths['/v2/health/ready'].get.security, []);
    assert.deepEqual(doc.paths['/noauth/predict'].post.security, []);
    assert.deepEqual(doc.paths['/api/v1/deployments'].post.security, [{ oauth2: ['deployments:write'] }, { apiKey: [] }, { session: [] }]);
    // Serving: a credential with `predict`, or none for public deployments and models ({}).
    assert.deepEqual(doc.paths['/models/{name}/predict'].post.security, [{ oauth2: ['predict'] }, { apiKey: [] }, { session: [] }, {}]);
  });

  test('a model not marked public needs a credential: 401 with the RFC 6750 challenge on every protocol', async () => {
    const calls: [string, string, unknown?][] = [
      ['POST', '/models/iris/predict', SETOSA],
      ['GET', '/models/iris/info'],
      ['POST', '/models/iris/invocations', { dataframe_records: [SETOSA] }],
      ['GET', '/v2/models/iris'],
      ['POST', '/v2/models/iris/infer', { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }] }],
      ['POST', '/ml/v4/deployments/iris/predictions', { input_data: [{ values: [[5.1, 3.5, 1.4, 0.2]] }] }],
      ['GET', '/model/iris'],
      ['GET', '/api/v1/models'],
      ['GET', '/api/v1/deployments?space=default'],
      ['POST', '/v2/repository/index', {}],
    ];
    for (const [method, path, body] of calls) {
      const r = await send(method, url(path), body);
      assert.equal(r.status, 401, `${method} ${path}: ${r.text}`);
      assert.equal(r.json.code, 'UNAUTHENTICATED');
      assert.match(r.headers.get('www-authenticate') ?? '', CHALLENGE, path);
    }
    const wrong = await send('POST', url('/models/iris/predict'), SETOSA, bearer('not-a-real-token'));
    assert.equal(wrong.status, 401);
    assert.match(wrong.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
  });

  test('a model the operator marked public serves without a credential', async () => {
    const r = await send('POST', url('/models/diabetes/predict'), { age: 0.03 });
    assert.equal(r.status, 200, r.text);
  });

  test('an API key and a client-credentials token both predict', async () => {
    const byKey = await send('POST', url('/models/iris/predict'), SETOSA, bearer(adminKey));
    assert.equal(byKey.status, 200, byKey.text);
    assert.deepEqual(byKey.json.prediction, ['setosa']);
    const client = await createClient(server, admin, ['predict']);
    const token = await clientToken(server, client);
    const byToken = await send('POST', url('/v2/models/iris/infer'), { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }] }, bearer(token));
    assert.equal(byToken.status, 200, byToken.text);
    // Revoked: refused on its next use.
    const revoke = await postForm(url('/oauth/revoke'), { token, client_id: client.id, client_secret: client.secret });
    assert.equal(revoke.status, 200, revoke.text);
    assert.equal((await send('POST', url('/models/iris/predict'), SETOSA, bearer(token))).status, 401);
  });

  test('a predict-only credential cannot upload, deploy, delete, read the registry or create keys: 403 insufficient_scope', async () => {
    const key = await createKey(admin, 'default', ['predict']);
    assert.equal((await send('POST', url('/models/iris/predict'), SETOSA, bearer(key))).status, 200);
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array([1, 2, 3])]), 'model.onnx');
    const upload = await request(url('/api/v1/models/iris/versions'), { method: 'POST', body: form, headers: bearer(key) });
    const refusals = [
      upload,
      await send('POST', url('/api/v1/deployments'), { name: 'x', target: { model: 'iris' } }, bearer(key)),
      await send('DELETE', url('/api/v1/models/iris'), undefined, bearer(key)),
      await send('PUT', url('/api/v1/models/iris/aliases/production'), { version: 1 }, bearer(key)),
      await send('GET', url('/api/v1/models'), undefined, bearer(key)),
      await send('POST', url('/v2/repository/models/iris/unload'), {}, bearer(key)),
      await send('GET', url('/api/v1/runtime/sessions'), undefined, bearer(key)),
      await send('POST', url('/api/v1/api-keys'), { name: 'more', space: 'default', scopes: ['predict'] }, bearer(key)),
    ];
    for (const r of refusals) {
      assert.equal(r.status, 403, r.text);
      assert.equal(r.json.code, 'INSUFFICIENT_SCOPE', r.text);
    }
    assert.match(refusals[0]!.headers.get('www-authenticate') ?? '', /error="insufficient_scope", scope="models:write"/);
    const job = await send('POST', url('/api/v1/jobs'), { deployment: 'x', input: { inline: { input_data: [] } } }, bearer(key));
    assert.equal(job.status, 403, job.text);
    assert.match(job.headers.get('www-authenticate') ?? '', /scope="jobs:write"/);
    const unauthenticated = await send('POST', url('/api/v1/jobs'), { nonsense: true });
    assert.equal(unauthenticated.status, 401, 'no validation error before authentication');
    const allSpaces = await send('GET', url('/api/v1/jobs'), undefined, bearer(key));
    assert.equal(allSpaces.status, 403, 'listing every space is for administrators');
    assert.equal((await send('GET', url('/api/v1/models/iris'), undefined, bearer(adminKey))).status, 200, 'nothing was deleted');
  });

  test("another space's deployment and models answer 404, exactly as ones that do not exist", async () => {
    const created = await send('POST', url('/api/v1/spaces'), { name: 'team-b' }, admin.headers);
    assert.equal(created.status, 201, created.text);
    await server.registry.uploadVersion({ space: 'team-b', name: 'iris-b', filename: 'model.onnx', stream: createReadStream(join(EXAMPLES, 'iris/1/model.onnx')) });
    const deployed = await send('POST', url('/api/v1/deployments'), { space: 'team-b', name: 'b-live', target: { model: 'iris-b' } }, admin.headers);
    assert.equal(deployed.status, 201, deployed.text);

    await server.auth.users.create('bob', 'bob-password-1234');
    await server.registry.setMember('team-b', 'bob', 'editor');
    const bob = await login(server, 'bob', 'bob-password-1234');
    const bobKey = await createKey(bob, 'team-b', ['predict', 'models:read']);
    const v2 = { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }] };
    assert.equal((await send('POST', url('/v2/models/b-live/infer'), v2, bearer(bobKey))).status, 200, "bob's key serves in his space");
    const outsider = await createKey(admin, 'default', ['predict', 'models:read']);
    const foreign = await send('POST', url('/v2/models/b-live/infer'), v2, bearer(outsider));
    const missing = await send('POST', url('/v2/models/no-such-thing/infer'), v2, bearer(outsider));
    assert.equal(foreign.status, 404, foreign.text);
    assert.equal(missing.status, 404);
    assert.equal(foreign.json.code, missing.json.code);
    assert.equal(foreign.json.error.replace('b-live', 'X'), missing.json.error.replace('no-such-thing', 'X'));
    const foreignSpace = await send('GET', url('/api/v1/models?space=team-b'), undefined, bearer(outsider));
    const noSpace = await send('GET', url('/api/v1/models?space=team-z'), undefined, bearer(outsider));
    assert.equal(foreignSpace.status, 404);
    assert.equal(foreignSpace.json.error.replace('team-b', 'X'), noSpace.json.error.replace('team-z', 'X'));
    const foreignDeployment = await send('GET', url(`/api/v1/deployments/${deployed.json.id}`), undefined, bearer(bobKey));
    assert.equal(foreignDeployment.status, 200, 'bob reads deployments in his space');
    const hidden = await send('GET', url(`/api/v1/deployments/${deployed.json.id}`), undefined, bearer(outsider));
    assert.equal(hidden.status, 404, hidden.text);
    // Bob's own listing of spaces shows only his.
    const spaces = await send('GET', url('/api/v1/spaces'), undefined, { cookie: bob.cookie });
    assert.deepEqual(spaces.json.items.map((s: { name: string }) => s.name), ['team-b']);
  });

  test('a public deployment serves without a credential; switching it back to token closes it', async () => {
    const created = await send('POST', url('/api/v1/deployments'), { name: 'iris-open', target: { model: 'iris' }, authMode: 'public' }, admin.headers);
    assert.equal(created.status, 201, created.text);
    assert.equal((await send('POST', url('/models/iris-open/predict'), SETOSA)).status, 200);
    assert.equal((await send('POST', url(`/ml/v4/deployments/${created.json.id}/predictions`), { input_data: [{ values: [[5.1, 3.5, 1.4, 0.2]] }] })).status, 200);
    const closed = await send('PATCH', url('/api/v1/deployments/iris-open'), { authMode: 'token' }, admin.headers);
    assert.equal(closed.status, 200, closed.text);
    assert.equal((await send('POST', url('/models/iris-open/predict'), SETOSA)).status, 401);
  });

  test('Pega routes: /auth/predict always needs a token, /noauth/predict only serves what is public; JSON or form fields', async () => {
    const closed = await send('POST', url('/noauth/predict'), { modelIdentifier: 'iris', text: 'hello' });
    assert.equal(closed.status, 401, closed.text);
    assert.match(closed.json.error, /'iris' is not public: call \/auth\/predict with a token/);
    // diabetes is public: /noauth/predict reaches the model, which takes numbers, not a text.
    const open = await send('POST', url('/noauth/predict'), { modelIdentifier: 'diabetes', text: 'hello' });
    assert.equal(open.status, 400, open.text);
    assert.match(open.json.error, /model 'diabetes' does not take a single text/);
    const tokenNeeded = await send('POST', url('/auth/predict'), { modelIdentifier: 'diabetes', text: 'hello' });
    assert.equal(tokenNeeded.status, 401, 'a public model still needs a token on /auth/predict');
    const form = await postForm(url('/auth/predict'), { modelIdentifier: 'iris', text: 'hello' }, bearer(adminKey));
    assert.equal(form.status, 400, form.text);
    assert.match(form.json.error, /model 'iris' does not take a single text: its features are 'sepal_length' \(numeric\)/);
    const missing = await postForm(url('/auth/predict'), { modelIdentifier: 'iris' }, bearer(adminKey));
    assert.equal(missing.status, 400);
    assert.match(missing.json.error, /text/);
  });

  test('a browser session must send its CSRF token on state-changing requests', async () => {
    const r = await send('POST', url('/api/v1/deployments'), { name: 'no-csrf', target: { model: 'iris' } }, { cookie: admin.cookie });
    assert.equal(r.status, 403, r.text);
    assert.equal(r.json.code, 'FORBIDDEN');
    assert.equal((await send('GET', url('/api/v1/deployments/iris-open'), undefined, { cookie: admin.cookie })).status, 200, 'reads need no CSRF token');
  });
});
