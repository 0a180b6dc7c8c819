import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { create as createTar } from 'tar';
import { buildApp, type Plinth } from '../../src/app.js';
import { loadConfig } from '../../src/config/config.js';
import { EXAMPLES, exampleModels, get, post, send, SHARED, startServer, type TestServer } from '../helpers/server.js';

const SETOSA = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 };

/** Registers the iris folder (graph and model.yaml) again as the next version. */
async function uploadIris(server: TestServer): Promise<number> {
  const stream = createTar({ cwd: join(EXAMPLES, 'iris/1'), portable: true }, ['model.onnx', 'model.yaml']) as unknown as Readable;
  const { version } = await server.registry.uploadVersion({ name: 'iris', filename: 'iris.tar', stream });
  return version.version;
}

describe('online deployments over HTTP', () => {
  let server: TestServer;
  const url = (path: string) => `${server.url}${path}`;

  before(async () => {
    server = await startServer(exampleModels('iris', 'diabetes'));
    assert.equal(await uploadIris(server), 2);
  });
  after(() => server.close());

  test('create answers 201 ready with an id, ETag, Location and every endpoint; each endpoint predicts', async () => {
    const r = await send('POST', url('/api/v1/deployments'), { name: 'iris-live', target: { model: 'models:/iris/1' }, authMode: 'public', description: 'first' });
    assert.equal(r.status, 201, r.text);
    const d = r.json;
    assert.equal(d.status, 'ready');
    assert.equal(d.reason, null);
    assert.equal(d.space, 'default');
    assert.equal(d.model, 'iris');
    assert.deepEqual(d.target, { model: 'models:/iris/1' });
    assert.equal(r.headers.get('etag'), `"${d.revision}"`);
    assert.equal(r.headers.get('location'), `/api/v1/deployments/${d.id}`);
    assert.deepEqual(d.endpoints.map((e: { protocol: string }) => e.protocol), ['watson-ml', 'open-inference-v2', 'records', 'mlflow']);

    const wml = await post(url(`/ml/v4/deployments/${d.id}/predictions`), { input_data: [{ fields: Object.keys(SETOSA), values: [Object.values(SETOSA)] }] });
    assert.equal(wml.status, 200, wml.text);
    assert.equal(wml.json.predictions[0].values[0][0], 'setosa');
    const records = await post(url('/models/iris-live/predict'), SETOSA);
    assert.equal(records.status, 200, records.text);
    assert.deepEqual(records.json, { prediction: ['setosa'], model_version: '1' });
    const mlflow = await post(url('/models/iris-live/invocations'), { dataframe_records: [SETOSA] });
    assert.equal(mlflow.status, 200, mlflow.text);
    assert.deepEqual(mlflow.json.predictions, ['setosa']);
    const meta = await get(url('/v2/models/iris-live'));
    assert.equal(meta.status, 200, meta.text);
    assert.equal(meta.json.name, 'iris-live');
    assert.deepEqual(meta.json.versions, ['1']);
    const input = meta.json.inputs[0];
    const v2 = await post(url('/v2/models/iris-live/infer'), { inputs: [{ name: input.name, shape: [1, 4], datatype: input.datatype, data: Object.values(SETOSA) }] });
    assert.equal(v2.status, 200, v2.text);
    assert.equal(v2.json.model_name, 'iris-live');
    assert.equal(v2.json.model_version, '1');
  });

  test('get by id or name, list with filters and pagination', async () => {
    const created = await send('POST', url('/api/v1/deployments'), { name: 'diabetes-live', target: { model: 'diabetes' } });
    assert.equal(created.status, 201, created.text);
    const byId = await get(url(`/api/v1/deployments/${created.json.id}`));
    assert.equal(byId.status, 200);
    assert.equal(byId.json.name, 'diabetes-live');
    assert.equal(byId.json.authMode, 'token', 'token is the default auth mode');
    const byName = await get(url('/api/v1/deployments/diabetes-live'));
    assert.equal(byName.json.id, created.json.id);

    const first = await get(url('/api/v1/deployments?limit=1'));
    assert.equal(first.status, 200, first.text);
    assert.equal(first.json.items.length, 1);
    assert.equal(typeof first.json.nextCursor, 'string');
    const second = await get(url(`/api/v1/deployments?limit=1&cursor=${encodeURIComponent(first.json.nextCursor)}`));
    assert.equal(second.json.items.length, 1);
    assert.notEqual(second.json.items[0].id, first.json.items[0].id);
    const filtered = await get(url('/api/v1/deployments?model=diabetes'));
    assert.deepEqual(filtered.json.items.map((d: { name: string }) => d.name), ['diabetes-live']);
    const prefixed = await get(url('/api/v1/deployments?name=iris-'));
    assert.ok(prefixed.json.items.every((d: { name: string }) => d.name.startsWith('iris-')));
    assert.ok(prefixed.json.items.length >= 1);
    const ready = await get(url('/api/v1/deployments?status=failed'));
    assert.deepEqual(ready.json.items, []);
  });

  test('a canary split sends its exact share and reports counts per version', async () => {
    const r = await send('POST', url('/api/v1/deployments'), { name: 'iris-canary', target: { model: 'models:/iris/1', canary: { reference: 'models:/iris/2', percent: 25 } } });
    assert.equal(r.status, 201, r.text);
    const versions: string[] = [];
    for (let i = 0; i < 20; i++) versions.push((await post(url('/models/iris-canary/predict'), SETOSA)).json.model_version);
    assert.equal(versions.filter((v) => v === '2').length, 5);
    assert.equal(versions.filter((v) => v === '1').length, 15);
    const d = (await get(url('/api/v1/deployments/iris-canary'))).json;
    assert.deepEqual(d.traffic, { total: 20, primary: { version: 1, count: 15 }, canary: { version: 2, percent: 25, count: 5 }, byVersion: { '1': 15, '2': 5 } });
    assert.deepEqual(d.target.canary, { reference: 'models:/iris/2', percent: 25 });
    // A version in the path picks that version, and is not counted as split traffic.
    const pinned = await post(url('/v2/models/iris-canary/versions/2/infer'), { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: Object.values(SETOSA) }] });
    assert.equal(pinned.json.model_version ?? pinned.status, '2', pinned.text);
    const gone = await send('PATCH', url('/api/v1/deployments/iris-canary'), { canary: null });
    assert.equal(gone.status, 200, gone.text);
    assert.equal(gone.json.target.canary, undefined);
    assert.equal((await post(url('/models/iris-canary/predict'), SETOSA)).json.model_version, '1');
  });

  test('If-Match: a stale ETag is 412 and changes nothing; a fresh one applies and moves the ETag', async () => {
    const d = (await get(url('/api/v1/deployments/iris-live'))).json;
    const fresh = await send('PATCH', url(`/api/v1/deployments/${d.id}`), { description: 'second' }, { 'if-match': `"${d.revision}"` });
    assert.equal(fresh.status, 200, fresh.text);
    assert.equal(fresh.json.description, 'second');
    assert.equal(fresh.headers.get('etag'), `"${d.revision + 1}"`);
    const stale = await send('PATCH', url(`/api/v1/deployments/${d.id}`), { description: 'third' }, { 'if-match': `"${d.revision}"` });
    assert.equal(stale.status, 412, stale.text);
    assert.equal(stale.json.code, 'PRECONDITION_FAILED');
    assert.equal((await get(url(`/api/v1/deployments/${d.id}`))).json.description, 'second');
  });

  test('runtime.maxBatchSize refuses larger requests with 413 naming the limit', async () => {
    const r = await send('POST', url('/api/v1/deployments'), { name: 'iris-small', target: { model: 'iris' }, runtime: { maxBatchSize: 2 } });
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(r.json.runtime, { maxBatchSize: 2 });
    assert.equal((await post(url('/models/iris-small/predict'), [SETOSA, SETOSA])).status, 200);
    const big = await post(url('/models/iris-small/predict'), [SETOSA, SETOSA, SETOSA]);
    assert.equal(big.status, 413, big.text);
    assert.match(big.json.error, /3 rows.*at most 2.*maxBatchSize/);
  });

  test('moving an alias moves the deployments that follow it', async () => {
    await server.registry.setAlias('default', 'iris', 'production', 1);
    const r = await send('POST', url('/api/v1/deployments'), { name: 'iris-prod', target: { model: 'iris@production' } });
    assert.equal(r.status, 201, r.text);
    assert.equal((await post(url('/models/iris-prod/predict'), SETOSA)).json.model_version, '1');
    await server.registry.setAlias('default', 'iris', 'production', 2);
    assert.equal((await post(url('/models/iris-prod/predict'), SETOSA)).json.model_version, '2');
    assert.equal((await get(url('/api/v1/deployments/iris-prod'))).json.status, 'ready');
  });

  test('bad input: each answer names the field', async () => {
    const cases: [unknown, number, RegExp][] = [
      [{ name: 'x', target: { model: 'nope' } }, 404, /model 'nope'/],
      [{ name: 'x', target: { model: 'models:/iris/9' } }, 404, /version 9|9/],
      [{ name: 'bad/name', target: { model: 'iris' } }, 400, /name/],
      [{ name: 'x', target: { model: 'iris', canary: { reference: 'iris/2', percent: 0 } } }, 400, /percent/],
      [{ name: 'x', target: { model: 'iris', canary: { reference: 'models:/diabetes/1', percent: 10 } } }, 400, /canary.*diabetes/],
      [{ name: 'x', target: { model: 'iris' }, runtime: { threads: 2 } }, 400, /threads|runtime/],
      [{ name: 'x', target: { model: 'iris' }, authMode: 'open' }, 400, /authMode/],
      [{ name: 'x' }, 400, /target/],
      [{ name: 'iris-live', target: { model: 'iris' } }, 409, /iris-live/],
    ];
    for (const [body, status, message] of cases) {
      const r = await send('POST', url('/api/v1/deployments'), body);
      assert.equal(r.status, status, `${JSON.stringify(body)} -> ${r.text}`);
      assert.match(r.json.error, message, JSON.stringify(body));
    }
    const unknown = await get(url('/api/v1/deployments/does-not-exist'));
    assert.equal(unknown.status, 404);
    const badIfMatch = await send('PATCH', url('/api/v1/deployments/iris-live'), { description: 'x' }, { 'if-match': 'W/"abc"' });
    assert.equal(badIfMatch.status, 400, badIfMatch.text);
    assert.match(badIfMatch.json.error, /If-Match/i);
  });

  test('a deployment in use keeps its model from being deleted; deleting the deployment frees its name', async () => {
    await assert.rejects(server.registry.deleteModel('default', 'diabetes'), /diabetes-live/);
    const del = await send('DELETE', url('/api/v1/deployments/diabetes-live'));
    assert.equal(del.status, 204, del.text);
    assert.equal((await post(url('/models/diabetes-live/predict'), { age: 0 })).status, 404);
    assert.equal((await get(url('/api/v1/deployments/diabetes-live'))).status, 404);
  });

  test('a model from the --models folder deleted through the API stays deleted (until the folder is rescanned)', async () => {
    const del = await send('DELETE', url('/api/v1/models/diabetes'));
    assert.equal(del.status, 204, del.text);
    assert.equal((await get(url('/api/v1/models/diabetes'))).status, 404);
    assert.equal((await get(url('/models/diabetes/info'))).status, 404);
    assert.equal((await get(url('/v2/models/diabetes'))).status, 404);
  });
});

describe('zero-downtime switches under steady load', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer(exampleModels('iris'));
    await uploadIris(server);
  });
  after(() => server.close());

  test('target changes and alias moves while 4 clients keep predicting: no request fails', async () => {
    const url = (path: string) => `${server.url}${path}`;
    await server.registry.setAlias('default', 'iris', 'production', 1);
    const created = await send('POST', url('/api/v1/deployments'), { name: 'steady', target: { model: 'models:/iris/1' } });
    assert.equal(created.status, 201, created.text);
    let running = true;
    const outcomes: { status: number; version?: string }[] = [];
    const client = async () => {
      while (running) {
        const r = await post(url('/models/steady/predict'), SETOSA);
        outcomes.push({ status: r.status, version: r.json?.model_version });
      }
    };
    const clients = [client(), client(), client(), client()];
    const patch = async (body: unknown) => {
      const r = await send('PATCH', url('/api/v1/deployments/steady'), body);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.status, 'ready');
    };
    for (let i = 0; i < 3; i++) {
      await patch({ target: { model: 'models:/iris/2' } });
      await patch({ target: { model: 'models:/iris/1' } });
    }
    await patch({ target: { model: 'iris@production' } });
    await server.registry.setAlias('default', 'iris', 'production', 2);
    await patch({ target: { model: 'iris@production', canary: { reference: 'models:/iris/1', percent: 50 } } });
    await patch({ canary: null });
    running = false;
    await Promise.all(clients);
    const failed = outcomes.filter((o) => o.status !== 200);
    assert.ok(outcomes.length >= 40, `only ${outcomes.length} requests ran`);
    assert.deepEqual(failed, [], `${failed.length} of ${outcomes.length} requests failed`);
    assert.deepEqual(new Set(outcomes.map((o) => o.version)), new Set(['1', '2']));
    assert.equal(outcomes.at(-1)!.version, '2', 'the last switch (production -> 2) holds');
  });
});

describe('persistence and the session memory budget', () => {
  let server: TestServer;
  let second: Plinth | undefined;

  before(async () => {
    server = await startServer({ ...exampleModels('breast-cancer'), 'rf.onnx': join(SHARED, 'rf_breast_cancer.onnx') }, { sessionBudgetMb: 0.2 });
  });
  after(async () => {
    await second?.app.close();
    await server.close();
  });

  test('past the budget the least recently used session is evicted and reloads on its next request', async () => {
    const url = (path: string) => `${server.url}${path}`;
    const record = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`f${i}`, 1]));
    const bc = (await get(url('/models/breast-cancer/features'))).json;
    const bcRecord = Object.fromEntries(bc.map((f: { name: string }) => [f.name, 1]));
    for (let i = 0; i < 3; i++) {
      const a = await post(url('/models/breast-cancer/predict'), bcRecord);
      assert.equal(a.status, 200, a.text);
      const b = await post(url('/models/rf/predict'), record);
      assert.equal(b.status, 200, b.text);
    }
    const stats = (await get(url('/api/v1/runtime/sessions'))).json;
    assert.equal(stats.budgetBytes, Math.round(0.2 * 1024 * 1024));
    assert.ok(stats.usedBytes <= stats.budgetBytes, JSON.stringify(stats));
    assert.equal(stats.loadedSessions, 1, 'two 148 KB models do not both fit in 200 KB');
    assert.ok(stats.evictions >= 5, JSON.stringify(stats));
    assert.ok(stats.reloads >= 5, JSON.stringify(stats));
    const index = await post(url('/v2/repository/index'), {});
    const states = index.json.map((m: { name: string; state: string }) => m.state);
    assert.deepEqual(states, ['READY', 'READY'], 'an evicted model still counts as ready: it reloads on use');
  });

  test('a restart over the same data directory brings back models, deployments and their state', async () => {
    const created = await send('POST', `${server.url}/api/v1/deployments`, { name: 'kept', target: { model: 'rf' }, description: 'survives' });
    assert.equal(created.status, 201, created.text);
    const versionsBefore = (await server.registry.listVersions('default', 'rf')).items.map((v) => v.version);
    await server.app.close();
    second = await buildApp(loadConfig({ modelsDir: server.dir, dataDir: join(server.dir, '.data'), logLevel: 'silent', auth: 'off' }, {}));
    const base = await second.app.listen({ host: '127.0.0.1', port: 0 });
    const d = await get(`${base}/api/v1/deployments/kept`);
    assert.equal(d.status, 200, d.text);
    assert.equal(d.json.id, created.json.id);
    assert.equal(d.json.status, 'ready');
    assert.equal(d.json.description, 'survives');
    const record = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`f${i}`, 1]));
    assert.equal((await post(`${base}/models/kept/predict`, record)).status, 200);
    assert.deepEqual((await second.registry.listVersions('default', 'rf')).items.map((v) => v.version), versionsBefore, 'the re-import added no version');
  });
});
