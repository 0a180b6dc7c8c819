import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXAMPLES, post, startServer, type TestServer } from '../helpers/server.js';
import { send, upload } from '../management/registry-http.js';
import { zipOf } from './registry-helpers.js';

/**
 * Issue 12, item 8: the artifact cache (<data>/cache) holds only what the registry still has,
 * is swept at start-up, and stays within PLINTH_CACHE_MAX_MB by least recent use.
 */

const SETOSA = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 };
const cacheDirs = (dataDir: string) => readdir(join(dataDir, 'cache')).catch(() => [] as string[]);

/** The iris example folder (model.onnx, model.yaml, background.csv) as a zip, and its unpacked size. */
let iris: Buffer;
let irisBytes = 0;
before(async () => {
  const files: Record<string, Buffer> = {};
  for (const name of ['model.onnx', 'model.yaml', 'background.csv']) files[name] = await readFile(join(EXAMPLES, 'iris/1', name));
  iris = await zipOf(files);
  irisBytes = Object.values(files).reduce((n, b) => n + b.length, 0);
});

describe('the artifact cache follows the registry', () => {
  let dataDir: string;
  let server: TestServer;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'plinth-cache-'));
    server = await startServer({}, { dataDir });
  });
  after(async () => {
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('upload + delete cycles (model and version deletes) leave no cache folders (failed before: one folder per version stayed)', async () => {
    for (let cycle = 0; cycle < 3; cycle++) {
      assert.equal((await upload(server, 'iris', 'iris.zip', iris)).status, 201);
      assert.equal((await upload(server, 'iris', 'iris.zip', iris, { fields: [['tags', `cycle${cycle}`]] })).status, 201);
      assert.ok((await cacheDirs(dataDir)).length >= 1, 'the served versions were copied into the cache');
      const versions = (await send('GET', `${server.url}/api/v1/models/iris/versions`)).json.items as { version: number }[];
      assert.equal((await send('DELETE', `${server.url}/api/v1/models/iris/versions/${versions[0]!.version}`)).status, 204);
      assert.equal((await send('DELETE', `${server.url}/api/v1/models/iris`)).status, 204);
      assert.deepEqual(await cacheDirs(dataDir), [], `cycle ${cycle}`);
    }
  });

  test('a restart sweeps a planted orphan copy and a staging folder, and keeps the copy of a live version (failed before: both stayed)', async () => {
    assert.equal((await upload(server, 'kept', 'iris.zip', iris)).status, 201);
    const live = await cacheDirs(dataDir);
    assert.equal(live.length, 1);
    const orphan = join(dataDir, 'cache', '0123456789abcdef0123456789abcdef');
    await mkdir(orphan, { recursive: true });
    await writeFile(join(orphan, 'model.onnx'), iris);
    await writeFile(join(orphan, '.complete'), '');
    await mkdir(join(dataDir, 'cache', '.tmp-crashed'), { recursive: true });
    await server.app.close();
    server = await startServer({}, { dataDir });
    assert.deepEqual(await cacheDirs(dataDir), live);
    const r = await post(`${server.url}/models/kept/predict`, [SETOSA]);
    assert.equal(r.status, 200, r.text);
  });
});

describe('PLINTH_CACHE_MAX_MB bounds the cache by least recent use', () => {
  let dataDir: string;
  let server: TestServer;
  const url = (path: string) => `${server.url}${path}`;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'plinth-cache-lru-'));
    // Room for two copies of the iris model, not three.
    server = await startServer({}, { dataDir, cacheMaxMb: (2.5 * irisBytes) / (1024 * 1024) });
    assert.equal((await send('POST', url('/api/v1/spaces'), { name: 'lab' })).status, 201);
    for (const name of ['a', 'b', 'c']) assert.equal((await upload(server, name, 'iris.zip', iris, { space: 'lab' })).status, 201);
  });
  after(async () => {
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  const deploy = async (model: string) => {
    const r = await send('POST', url('/api/v1/deployments'), { name: `d-${model}`, space: 'lab', target: { model: `models:/${model}/1` }, authMode: 'public' });
    assert.equal(r.status, 201, r.text);
    return r.json.id as string;
  };
  const predict = (id: string) => post(url(`/ml/v4/deployments/${id}/predictions`), { input_data: [{ fields: Object.keys(SETOSA), values: [Object.values(SETOSA)] }] });

  test('the least recently used copy not in use is evicted, one in use never is, and a later request copies it again (failed before: the cache grew past the bound)', async () => {
    const a = await deploy('a');
    const [copyA] = await cacheDirs(dataDir);
    assert.equal((await send('DELETE', url(`/api/v1/deployments/${a}`))).status, 204);
    const b = await deploy('b');
    assert.equal((await send('DELETE', url(`/api/v1/deployments/${b}`))).status, 204);
    assert.equal((await cacheDirs(dataDir)).length, 2);
    const c = await deploy('c'); // in use from now on
    const afterC = await cacheDirs(dataDir);
    assert.equal(afterC.length, 2, 'three copies do not fit: one went');
    assert.ok(!afterC.includes(copyA!), 'the least recently used copy (a) went');
    const again = await deploy('a');
    assert.ok((await cacheDirs(dataDir)).includes(copyA!), 'a was copied again on demand');
    const r = await predict(again);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.predictions[0].values[0][0], 'setosa');
    assert.equal((await predict(c)).status, 200, 'c, in use, still serves');
  });
});
