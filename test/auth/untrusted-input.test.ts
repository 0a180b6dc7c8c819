import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXAMPLES, exampleModels, startServer, type TestServer } from '../helpers/server.js';
import { bearer, login, request, send, type Session } from './auth-server.js';

const ADMIN_PASSWORD = 'correct-horse-battery';

/** Where a name is expected, each of these must be refused, never opened, joined to a path or fetched. */
const HOSTILE = [
  '../../etc/passwd',
  '/etc/passwd',
  '..\\..\\windows\\win.ini',
  'file:///etc/passwd',
  'http://169.254.169.254/latest/meta-data/',
  'https://evil.example/model.onnx',
  's3://bucket/model.onnx',
  'models:/http://evil.example/x',
  '%2e%2e%2fetc%2fpasswd',
];

const V2 = { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }] };
const SETOSA = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 };

/** A request whose path goes out exactly as written (fetch would resolve '..' segments itself). */
function rawPost(url: string, path: string, headers: Record<string, string>, body: unknown): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port, path, method: 'POST', headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, text }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/**
 * Issue 4, point 9: no API lets a caller name a file path, or a URL the server would fetch. Names
 * (models, spaces, deployments, aliases) and model references are checked against the naming rule
 * before anything is looked up; there is no operator allow-list because no route takes a path or URL.
 */
describe('path-like and URL inputs where a name is expected are refused with 400', () => {
  let server: TestServer;
  let admin: Session;
  let ops: Record<string, string>;
  const url = (path: string) => `${server.url}${path}`;

  before(async () => {
    server = await startServer(exampleModels('iris'), { auth: 'on', adminPassword: ADMIN_PASSWORD });
    admin = await login(server, 'admin', ADMIN_PASSWORD);
    const key = await send('POST', url('/api/v1/api-keys'), { name: 'ops', space: 'default', scopes: ['predict', 'models:read', 'models:write', 'deployments:write'] }, admin.headers);
    assert.equal(key.status, 201, key.text);
    ops = bearer(key.json.api_key);
    assert.equal((await send('POST', url('/api/v1/deployments'), { name: 'iris-live', target: { model: 'iris' } }, ops)).status, 201);
  });
  after(() => server.close());

  const refused = async (method: string, path: string, body: unknown, headers: Record<string, string>, what: string) => {
    const r = await send(method, url(path), body, headers);
    assert.equal(r.status, 400, `${what}: ${method} ${path} ${JSON.stringify(body)} -> ${r.status} ${r.text.slice(0, 200)}`);
    assert.equal(r.json.code, 'INVALID_INPUT', what);
    assert.match(r.json.error, /invalid/, what);
  };

  test('management API: model, space, deployment and alias names, model references and canary references', async () => {
    for (const bad of HOSTILE) {
      const e = encodeURIComponent(bad);
      await refused('GET', `/api/v1/models/${e}`, undefined, ops, bad);
      await refused('PATCH', `/api/v1/models/${e}`, { description: 'x' }, ops, bad);
      await refused('DELETE', `/api/v1/models/${e}`, undefined, ops, bad);
      await refused('GET', `/api/v1/models?space=${e}`, undefined, ops, bad);
      await refused('GET', `/api/v1/resolve?reference=${e}`, undefined, ops, bad);
      await refused('PUT', `/api/v1/models/iris/aliases/${e}`, { version: 1 }, ops, bad);
      await refused('POST', '/api/v1/deployments', { name: 'd1', target: { model: bad } }, ops, bad);
      await refused('POST', '/api/v1/deployments', { name: bad, target: { model: 'iris' } }, ops, bad);
      await refused('POST', '/api/v1/deployments', { name: 'd2', space: bad, target: { model: 'iris' } }, ops, bad);
      await refused('POST', '/api/v1/deployments', { name: 'd3', target: { model: 'iris', canary: { reference: bad, percent: 10 } } }, ops, bad);
      await refused('PATCH', '/api/v1/deployments/iris-live', { target: { model: bad } }, ops, bad);
      await refused('POST', '/api/v1/spaces', { name: bad }, admin.headers, bad);
      await refused('GET', `/api/v1/spaces/${e}`, undefined, admin.headers, bad);
      await refused('POST', '/api/v1/api-keys', { name: 'k', space: bad, scopes: ['predict'] }, admin.headers, bad);
      await refused('POST', `/v2/repository/models/${e}/load`, {}, ops, bad);
    }
    // Nothing was created on the way.
    const deployments = await send('GET', url('/api/v1/deployments?space=default'), undefined, ops);
    assert.deepEqual(deployments.json.items.map((d: { name: string }) => d.name), ['iris-live']);
  });

  test('an upload to a path-like model name is refused before its body is stored', async () => {
    const model = await readFile(join(EXAMPLES, 'iris/1/model.onnx'));
    for (const bad of HOSTILE) {
      const form = new FormData();
      form.append('file', new Blob([model]), 'model.onnx');
      const r = await request(url(`/api/v1/models/${encodeURIComponent(bad)}/versions`), { method: 'POST', body: form, headers: ops });
      assert.equal(r.status, 400, `${bad}: ${r.text}`);
      assert.equal(r.json.code, 'INVALID_INPUT');
    }
  });

  test("an upload's file name is never a path: the version stores model.onnx, nothing is written where the name points", async () => {
    const escape = join(tmpdir(), `plinth-escape-${process.pid}-${Date.now()}.onnx`);
    const form = new FormData();
    form.append('file', new Blob([await readFile(join(EXAMPLES, 'iris/1/model.onnx'))]), `../../../../../../..${escape}`);
    const r = await request(url('/api/v1/models/iris-upload/versions'), { method: 'POST', body: form, headers: ops });
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(r.json.artifacts.map((a: { path: string }) => a.path), ['model.onnx']);
    assert.equal(existsSync(escape), false, `${escape} was written`);
  });

  test('serving APIs: every protocol refuses a path or URL as the model or deployment name', async () => {
    for (const bad of HOSTILE) {
      const e = encodeURIComponent(bad);
      await refused('POST', `/models/${e}/predict`, SETOSA, ops, bad);
      await refused('POST', `/models/${e}/invocations`, { dataframe_records: [SETOSA] }, ops, bad);
      await refused('GET', `/models/${e}/info`, undefined, ops, bad);
      await refused('POST', `/v2/models/${e}/infer`, V2, ops, bad);
      await refused('GET', `/v2/models/${e}`, undefined, ops, bad);
      await refused('GET', `/model/${e}`, undefined, ops, bad);
      await refused('POST', `/ml/v4/deployments/${e}/predictions`, { input_data: [{ fields: Object.keys(SETOSA), values: [Object.values(SETOSA)] }] }, ops, bad);
      await refused('POST', '/auth/predict', { modelIdentifier: bad, text: 'hello' }, ops, bad);
    }
  });

  test("a literal '..' path segment reaches the router as a name and is refused too", async () => {
    for (const path of ['/models/../predict', '/models/..%2F..%2Fetc%2Fpasswd/predict', '/v2/models/%2E%2E/infer']) {
      const r = await rawPost(server.url, path, ops, path.includes('/v2/') ? V2 : SETOSA);
      assert.equal(r.status, 400, `${path}: ${r.text}`);
      assert.match(r.text, /INVALID_INPUT/);
    }
  });

  test('lookups by id answer 404 and read nothing: a deployment id, an artifact path outside the version', async () => {
    for (const bad of HOSTILE) {
      const r = await send('GET', url(`/api/v1/deployments/${encodeURIComponent(bad)}`), undefined, ops);
      assert.equal(r.status, 404, r.text);
      assert.equal(r.json.code, 'NOT_FOUND');
    }
    for (const path of ['..%2F..%2F..%2F..%2Fetc%2Fpasswd', '%2Fetc%2Fpasswd', 'file:%2F%2F%2Fetc%2Fpasswd']) {
      const r = await request(url(`/api/v1/models/iris/versions/1/artifacts/${path}`), { headers: ops });
      assert.equal(r.status, 404, r.text);
      assert.doesNotMatch(r.text, /root:/);
    }
  });
});
