import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXAMPLES, FIXTURES, get, post, startServer, type TestServer } from '../helpers/server.js';

const SETOSA = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 };
const IRIS_BODY = { dataframe_records: [SETOSA] };

/**
 * iris: two versions of one graph, v2 better by accuracy (higher is better).
 * diabetes: two versions, v1 better by rmse (lower is better), so best != latest.
 * add-mul: a single file with no manifest, so no metrics and no best version.
 * flaky: v1 serves, v2 fails to load.
 */
describe('MLflow model-invocation endpoint', () => {
  let server: TestServer;
  let scratch: string;

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'plinth-invocation-'));
    const iris = await readFile(join(EXAMPLES, 'iris/1/model.yaml'), 'utf8');
    assert.match(iris, /accuracy: 0\.9737/);
    await writeFile(join(scratch, 'iris1.yaml'), iris.replace('accuracy: 0.9737', 'accuracy: 0.9'));
    await writeFile(join(scratch, 'iris2.yaml'), iris.replace('accuracy: 0.9737', 'accuracy: 0.95'));
    const diabetes = (await readFile(join(EXAMPLES, 'diabetes/1/model.yaml'), 'utf8')).replace(/^metrics:[\s\S]*$/m, '');
    assert.doesNotMatch(diabetes, /metrics|primary_metric/);
    await writeFile(join(scratch, 'diabetes1.yaml'), `${diabetes}metrics:\n  rmse: 50\nprimary_metric: rmse\n`);
    await writeFile(join(scratch, 'diabetes2.yaml'), `${diabetes}metrics:\n  rmse: 60\nprimary_metric: rmse\n`);
    const irisOnnx = join(EXAMPLES, 'iris/1/model.onnx');
    const diabetesOnnx = join(EXAMPLES, 'diabetes/1/model.onnx');
    server = await startServer({
      'iris/1/model.onnx': irisOnnx,
      'iris/1/model.yaml': join(scratch, 'iris1.yaml'),
      'iris/2/model.onnx': irisOnnx,
      'iris/2/model.yaml': join(scratch, 'iris2.yaml'),
      'diabetes/1/model.onnx': diabetesOnnx,
      'diabetes/1/model.yaml': join(scratch, 'diabetes1.yaml'),
      'diabetes/2/model.onnx': diabetesOnnx,
      'diabetes/2/model.yaml': join(scratch, 'diabetes2.yaml'),
      'add-mul.onnx': join(FIXTURES, 'add-mul.onnx'),
      'flaky/1/model.onnx': irisOnnx,
      'flaky/1/model.yaml': join(scratch, 'iris1.yaml'),
      'flaky/2/model.onnx': join(FIXTURES, 'broken.onnx'),
    });
  });
  after(async () => {
    await server?.close();
    await rm(scratch, { recursive: true, force: true });
  });

  test('GET /model lists models with their versions and metrics', async () => {
    const r = await get(`${server.url}/model`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.map((m: { name: string }) => m.name), ['add-mul', 'diabetes', 'flaky', 'iris']);
    assert.deepEqual(r.json.filter((m: { name: string }) => m.name !== 'flaky'), [
      { name: 'add-mul', latest_version: '1', versions: [{ version: '1', state: 'READY', metrics: {} }] },
      {
        name: 'diabetes',
        latest_version: '2',
        versions: [
          { version: '1', state: 'READY', metrics: { rmse: 50 } },
          { version: '2', state: 'READY', metrics: { rmse: 60 } },
        ],
      },
      {
        name: 'iris',
        latest_version: '2',
        versions: [
          { version: '1', state: 'READY', metrics: { accuracy: 0.9 } },
          { version: '2', state: 'READY', metrics: { accuracy: 0.95 } },
        ],
      },
    ]);
  });

  test('GET /model/{name} gives the best version: higher accuracy wins', async () => {
    const r = await get(`${server.url}/model/iris`);
    assert.equal(r.status, 200);
    assert.equal(r.json.name, 'iris');
    assert.equal(r.json.latest_version, '2');
    assert.equal(r.json.best_version, '2');
    assert.equal(r.json.primary_metric, 'accuracy');
    assert.equal(r.json.versions.length, 2);
  });

  test('GET /model/{name} gives the best version: lower rmse wins', async () => {
    const r = await get(`${server.url}/model/diabetes`);
    assert.equal(r.status, 200);
    assert.equal(r.json.latest_version, '2');
    assert.equal(r.json.best_version, '1');
    assert.equal(r.json.primary_metric, 'rmse');
  });

  test('GET /model/{name}/{version} describes one version', async () => {
    const r = await get(`${server.url}/model/iris/1`);
    assert.equal(r.status, 200);
    assert.equal(r.json.name, 'iris');
    assert.equal(r.json.version, '1');
    assert.equal(r.json.task, 'multiclass_classification');
    assert.deepEqual(r.json.metrics, { accuracy: 0.9 });
    assert.deepEqual(r.json.classes, ['setosa', 'versicolor', 'virginica']);
    assert.deepEqual(r.json.features.map((f: { name: string }) => f.name), ['sepal_length', 'sepal_width', 'petal_length', 'petal_width']);
    assert.deepEqual(r.json.inputs, [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }]);
    assert.deepEqual(r.json.outputs.map((o: { name: string }) => o.name), ['label', 'probabilities']);
  });

  test('GET /model/{name}/best and /latest resolve the selector', async () => {
    const cases = [
      ['iris', 'best', '2', { accuracy: 0.95 }],
      ['iris', 'latest', '2', { accuracy: 0.95 }],
      ['diabetes', 'best', '1', { rmse: 50 }],
      ['diabetes', 'latest', '2', { rmse: 60 }],
    ] as const;
    for (const [model, selector, version, metrics] of cases) {
      const r = await get(`${server.url}/model/${model}/${selector}`);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.version, version, `${model}/${selector}`);
      assert.deepEqual(r.json.metrics, metrics);
    }
  });

  test('POST /model/{name}/{version}/invocation invokes that version', async () => {
    for (const version of ['1', '2']) {
      const r = await post(`${server.url}/model/iris/${version}/invocation`, IRIS_BODY);
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json, { predictions: ['setosa'], model_name: 'iris', model_version: version });
    }
    const tensor = await post(`${server.url}/model/add-mul/1/invocation`, { inputs: { a: [[1, 2, 3]], b: [[4, 5, 6]] } });
    assert.equal(tensor.status, 200, tensor.text);
    assert.deepEqual(tensor.json.predictions, { sum: [[5, 7, 9]], product: [[4, 10, 18]] });
  });

  test('POST /model/{name}/invocation/latest invokes the newest version', async () => {
    const iris = await post(`${server.url}/model/iris/invocation/latest`, IRIS_BODY);
    assert.equal(iris.status, 200, iris.text);
    assert.deepEqual(iris.json, { predictions: ['setosa'], model_name: 'iris', model_version: '2' });
    const diabetes = await post(`${server.url}/model/diabetes/invocation/latest`, { dataframe_records: [{}] });
    assert.equal(diabetes.json.model_version, '2');
  });

  test('POST /model/{name}/invocation/best invokes the best version', async () => {
    const iris = await post(`${server.url}/model/iris/invocation/best`, IRIS_BODY);
    assert.equal(iris.status, 200, iris.text);
    assert.equal(iris.json.model_version, '2');
    const diabetes = await post(`${server.url}/model/diabetes/invocation/best`, { dataframe_records: [{}] });
    assert.equal(diabetes.status, 200, diabetes.text);
    assert.equal(diabetes.json.model_version, '1');
    assert.equal(typeof diabetes.json.predictions[0], 'number');
  });

  test('the invocation body is checked as MLflow scoring checks it', async () => {
    const none = await post(`${server.url}/model/iris/1/invocation`, {});
    assert.equal(none.status, 400);
    assert.match(none.json.error, /dataframe_split/);
    const csv = await post(`${server.url}/model/iris/invocation/latest`, 'sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n', {
      'content-type': 'text/csv',
    });
    assert.equal(csv.status, 200, csv.text);
    assert.deepEqual(csv.json.predictions, ['setosa']);
  });

  test('an unknown version is 404, naming it', async () => {
    const r = await get(`${server.url}/model/iris/9`);
    assert.equal(r.status, 404);
    assert.equal(r.json.code, 'VERSION_NOT_FOUND');
    assert.match(r.json.error, /'9'/);
    const invoke = await post(`${server.url}/model/iris/9/invocation`, IRIS_BODY);
    assert.equal(invoke.status, 404);
    assert.match(invoke.json.error, /'9'/);
  });

  test('an invalid version string is 400', async () => {
    const r = await get(`${server.url}/model/iris/v1`);
    assert.equal(r.status, 400);
    assert.equal(r.json.code, 'INVALID_INPUT');
    assert.match(r.json.error, /'v1'/);
    const invoke = await post(`${server.url}/model/iris/newest/invocation`, IRIS_BODY);
    assert.equal(invoke.status, 400);
    assert.match(invoke.json.error, /'newest'/);
  });

  test('an unknown model is 404, naming it', async () => {
    for (const path of ['/model/churn', '/model/churn/1', '/model/churn/best']) {
      const r = await get(`${server.url}${path}`);
      assert.equal(r.status, 404, path);
      assert.match(r.json.error, /'churn'/);
    }
    const invoke = await post(`${server.url}/model/churn/invocation/latest`, IRIS_BODY);
    assert.equal(invoke.status, 404);
  });

  test('a model with no metrics has no best version: 409 with a message', async () => {
    const detail = await get(`${server.url}/model/add-mul`);
    assert.equal(detail.status, 200);
    assert.equal(detail.json.best_version, null);
    assert.equal(detail.json.primary_metric, null);
    const best = await get(`${server.url}/model/add-mul/best`);
    assert.equal(best.status, 409);
    assert.equal(best.json.code, 'CONFLICT');
    assert.match(best.json.error, /primary metric/);
    const invoke = await post(`${server.url}/model/add-mul/invocation/best`, { inputs: { a: [[1, 2, 3]], b: [[4, 5, 6]] } });
    assert.equal(invoke.status, 409);
    assert.match(invoke.json.error, /'add-mul'/);
    // latest still works
    const latest = await post(`${server.url}/model/add-mul/invocation/latest`, { inputs: { a: [[1, 2, 3]], b: [[4, 5, 6]] } });
    assert.equal(latest.status, 200, latest.text);
  });

  test('latest_version is the newest version that serves, as /latest resolves it', async () => {
    const detail = await get(`${server.url}/model/flaky`);
    assert.equal(detail.status, 200);
    assert.deepEqual(detail.json.versions.map((v: { state: string }) => v.state), ['READY', 'UNAVAILABLE']);
    assert.ok(detail.json.versions[1].reason, 'the failed version says why');
    assert.equal(detail.json.latest_version, '1');
    const latest = await get(`${server.url}/model/flaky/latest`);
    assert.equal(latest.json.version, detail.json.latest_version);
    const invoke = await post(`${server.url}/model/flaky/invocation/latest`, IRIS_BODY);
    assert.equal(invoke.status, 200, invoke.text);
    assert.equal(invoke.json.model_version, '1');
    const broken = await post(`${server.url}/model/flaky/2/invocation`, IRIS_BODY);
    assert.equal(broken.status, 503);
    assert.equal(broken.json.code, 'MODEL_UNAVAILABLE');
  });
});
