import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXAMPLES, exampleModels, get, post, ROOT, SHARED, startServer, type TestServer } from '../helpers/server.js';

const IRIS_FEATURES = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];
const SETOSA = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 };
const readJson = async (path: string) => JSON.parse(await readFile(path, 'utf8'));
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

function assertDistribution(row: Record<string, number>, classes: string[]) {
  assert.deepEqual(Object.keys(row), classes);
  for (const p of Object.values(row)) assert.ok(p >= 0 && p <= 1 + 1e-6, `probability ${p} out of [0, 1]`);
  assert.ok(Math.abs(sum(Object.values(row)) - 1) < 1e-6, `probabilities sum to ${sum(Object.values(row))}`);
}

const argmax = (row: Record<string, number>) => Object.entries(row).reduce((a, b) => (b[1] > a[1] ? b : a))[0];

/** The breast-cancer CSV: header row of 30 feature names, then one row of numbers per sample. */
async function breastCancerCsv() {
  const [header, ...lines] = (await readFile(join(SHARED, 'breast_cancer.csv'), 'utf8')).trim().split(/\r?\n/);
  const columns = header!.split(',');
  const records = lines.map((line) => Object.fromEntries(line.split(',').map((v, j) => [columns[j]!, Number(v)])));
  return { columns, records };
}

describe('records protocol, several models', () => {
  let server: TestServer;
  let scratch: string;
  let irisRequest: Record<string, number>[];
  let csv: Awaited<ReturnType<typeof breastCancerCsv>>;
  const predict = (model: string, body: unknown, query = '') => post(`${server.url}/models/${model}/predict${query}`, body);

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'plinth-records-'));
    // iris without defaults: the same graph, a manifest whose features have none.
    const irisYaml = await readFile(join(EXAMPLES, 'iris/1/model.yaml'), 'utf8');
    const strictYaml = irisYaml.replace(/^\s+default:.*\n/gm, '');
    assert.doesNotMatch(strictYaml, /default:/);
    await writeFile(join(scratch, 'strict.yaml'), strictYaml);
    // The XGBoost export as a single file with a sidecar manifest naming its 30 features.
    csv = await breastCancerCsv();
    await writeFile(join(scratch, 'xgb.yaml'), `features:\n${csv.columns.map((c) => `  - name: ${c}\n`).join('')}`);
    irisRequest = await readJson(join(ROOT, 'examples/requests/iris.records.json'));
    server = await startServer({
      ...exampleModels('iris', 'diabetes', 'breast-cancer'),
      'iris-strict/1/model.onnx': join(EXAMPLES, 'iris/1/model.onnx'),
      'iris-strict/1/model.yaml': join(scratch, 'strict.yaml'),
      'xgb.onnx': join(SHARED, 'xgb_breast_cancer.onnx'),
      'xgb.yaml': join(scratch, 'xgb.yaml'),
    });
  });
  after(async () => {
    await server?.close();
    await rm(scratch, { recursive: true, force: true });
  });

  test('one record gives one label', async () => {
    const r = await predict('iris', SETOSA);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { prediction: ['setosa'], model_version: '1' });
  });

  test('the example request (a list) gives setosa then virginica', async () => {
    const r = await predict('iris', irisRequest);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.prediction, ['setosa', 'virginica']);
  });

  test('proba=1 gives one {class: probability} object per record, summing to 1', async () => {
    for (const flag of ['1', 'true']) {
      const r = await predict('iris', irisRequest, `?proba=${flag}`);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.prediction.length, 2);
      for (const row of r.json.prediction) assertDistribution(row, ['setosa', 'versicolor', 'virginica']);
      assert.deepEqual(r.json.prediction.map(argmax), ['setosa', 'virginica']);
    }
    const off = await predict('iris', irisRequest, '?proba=0');
    assert.deepEqual(off.json.prediction, ['setosa', 'virginica']);
  });

  test('a proba flag other than 0/1/true/false is refused, naming proba', async () => {
    const r = await predict('iris', irisRequest, '?proba=yes');
    assert.equal(r.status, 400);
    assert.match(r.json.error, /proba/);
  });

  test('the _data wrapper takes a list or a single record', async () => {
    const list = await predict('iris', { _data: irisRequest });
    assert.equal(list.status, 200, list.text);
    assert.deepEqual(list.json.prediction, ['setosa', 'virginica']);
    const one = await predict('iris', { _data: irisRequest[1] });
    assert.equal(one.status, 200, one.text);
    assert.deepEqual(one.json.prediction, ['virginica']);
  });

  test('_samples beside _data is accepted and does not change the prediction', async () => {
    const r = await predict('iris', { _data: irisRequest, _samples: [SETOSA, SETOSA] }, '?proba=1');
    assert.equal(r.status, 200, r.text);
    const plain = await predict('iris', irisRequest, '?proba=1');
    assert.deepEqual(r.json.prediction, plain.json.prediction);
  });

  test('a malformed wrapper is refused, naming the key', async () => {
    const samples = await predict('iris', { _data: irisRequest, _samples: 'all of them' });
    assert.equal(samples.status, 400);
    assert.match(samples.json.error, /_samples/);
    const extra = await predict('iris', { _data: irisRequest, _extra: 1 });
    assert.equal(extra.status, 400);
    assert.match(extra.json.error, /'_extra'/);
    const empty = await predict('iris', { _data: [] });
    assert.equal(empty.status, 400);
    assert.match(empty.json.error, /at least one record/);
  });

  test('a missing feature takes the manifest default, as if sent explicitly', async () => {
    const { petal_length: _, ...missing } = irisRequest[1]!;
    const withDefault = { ...irisRequest[1]!, petal_length: 4.3 }; // iris/1/model.yaml: petal_length default 4.3
    const implicit = await predict('iris', missing, '?proba=1');
    const explicit = await predict('iris', withDefault, '?proba=1');
    const asNull = await predict('iris', { ...missing, petal_length: null }, '?proba=1');
    assert.equal(implicit.status, 200, implicit.text);
    assert.deepEqual(implicit.json, explicit.json);
    assert.deepEqual(asNull.json, explicit.json);
    // The default matters: the original petal length gives a different distribution.
    const original = await predict('iris', irisRequest[1], '?proba=1');
    assert.notDeepEqual(original.json.prediction, explicit.json.prediction);
  });

  test('an empty record is all defaults', async () => {
    const defaults = { sepal_length: 5.8, sepal_width: 3.0, petal_length: 4.3, petal_width: 1.3 };
    const empty = await predict('iris', {}, '?proba=1');
    const explicit = await predict('iris', defaults, '?proba=1');
    assert.equal(empty.status, 200, empty.text);
    assert.deepEqual(empty.json, explicit.json);
  });

  test('a missing feature without a default is refused, naming it', async () => {
    const { petal_width: _, ...missing } = SETOSA;
    const r = await predict('iris-strict', [SETOSA, missing]);
    assert.equal(r.status, 400);
    assert.equal(r.json.code, 'INVALID_INPUT');
    assert.match(r.json.error, /record 1/);
    assert.match(r.json.error, /'petal_width'/);
    // The same graph with every feature present predicts as iris does.
    const ok = await predict('iris-strict', irisRequest);
    assert.deepEqual(ok.json.prediction, ['setosa', 'virginica']);
  });

  test('an unknown feature is refused, naming it', async () => {
    const r = await predict('iris', { ...SETOSA, petal_colour: 'blue' });
    assert.equal(r.status, 400);
    assert.equal(r.json.code, 'INVALID_INPUT');
    assert.match(r.json.error, /'petal_colour'/);
    for (const name of IRIS_FEATURES) assert.ok(r.json.error.includes(name), `the message lists ${name}`);
  });

  test('a string where a number is expected is refused, naming the feature', async () => {
    const r = await predict('iris', [SETOSA, { ...SETOSA, sepal_width: 'wide' }]);
    assert.equal(r.status, 400);
    assert.equal(r.json.code, 'INVALID_INPUT');
    assert.match(r.json.error, /record 1/);
    assert.match(r.json.error, /'sepal_width'/);
    assert.match(r.json.error, /number/);
  });

  test('a record that is not an object is refused', async () => {
    const r = await predict('iris', { _data: [SETOSA, 42] });
    assert.equal(r.status, 400);
    assert.match(r.json.error, /record 1/);
  });

  test('GET /models/{name}/info describes the model', async () => {
    const r = await get(`${server.url}/models/iris/info`);
    assert.equal(r.status, 200);
    const { model, metadata } = r.json;
    assert.equal(model.name, 'iris');
    assert.equal(model.version, '1');
    assert.equal(model.task, 'MULTICLASS_CLASSIFICATION');
    assert.deepEqual(model.class_names, ['setosa', 'versicolor', 'virginica']);
    assert.equal(model.is_explainable, true);
    assert.deepEqual(model.explanation, { method: 'tree-shap-path-dependent', output_space: 'probability', needs_background: false });
    assert.deepEqual(model.metrics, { accuracy: 0.9737 });
    assert.deepEqual(metadata.features.map((f: { name: string }) => f.name), IRIS_FEATURES);
  });

  test('GET /models/{name}/features lists features with type and default', async () => {
    const r = await get(`${server.url}/models/iris/features`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.map((f: { name: string }) => f.name), IRIS_FEATURES);
    const { importance, ...first } = r.json[0];
    assert.deepEqual(first, { name: 'sepal_length', type: 'numeric', default: 5.8, description: 'Sepal length in centimetres' });
    assert.equal(typeof importance, 'number', 'global importance over the example background');
    const strict = await get(`${server.url}/models/iris-strict/features`);
    assert.ok(strict.json.every((f: object) => !('default' in f)));
  });

  test('GET /health answers "up" and GET /ready "ready", as text', async () => {
    const health = await get(`${server.url}/health`);
    assert.equal(health.status, 200);
    assert.equal(health.text, 'up');
    assert.match(health.headers.get('content-type') ?? '', /^text\/plain/);
    const ready = await get(`${server.url}/ready`);
    assert.equal(ready.status, 200);
    assert.equal(ready.text, 'ready');
  });

  test('GET /service-info gives version, start time and models', async () => {
    const pkg = await readJson(join(ROOT, 'package.json'));
    const r = await get(`${server.url}/service-info`);
    assert.equal(r.status, 200);
    assert.equal(r.json.name, 'plinth');
    assert.equal(r.json.version, pkg.version);
    const now = Date.now() / 1000;
    const since = r.json['running-since'];
    assert.equal(typeof since, 'number');
    assert.ok(since <= now + 1 && since > now - 300, `running-since ${since} should be close to now (${now})`);
    assert.deepEqual(r.json['serving-models'], ['breast-cancer', 'diabetes', 'iris', 'iris-strict', 'xgb']);
    assert.equal(r.json['serving-model'], null);
  });

  test('a regression model predicts numbers, and refuses proba', async () => {
    const request = await readJson(join(ROOT, 'examples/requests/diabetes.records.json'));
    const r = await predict('diabetes', [...request, {}]);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.prediction.length, 2);
    for (const v of r.json.prediction) assert.ok(typeof v === 'number' && Number.isFinite(v), `${v} is a number`);
    assert.notEqual(r.json.prediction[0], r.json.prediction[1]);
    const proba = await predict('diabetes', request, '?proba=1');
    assert.equal(proba.status, 400);
    assert.match(proba.json.error, /proba/);
    const info = await get(`${server.url}/models/diabetes/info`);
    assert.equal(info.json.model.task, 'REGRESSION');
    assert.equal(info.json.model.class_names, null);
  });

  test('breast-cancer gives malignant / benign probabilities', async () => {
    const record = await readJson(join(SHARED, 'one_record.json'));
    const r = await predict('breast-cancer', record, '?proba=1');
    assert.equal(r.status, 200, r.text);
    assertDistribution(r.json.prediction[0], ['malignant', 'benign']);
    // The first sample of sklearn's breast-cancer data is malignant.
    assert.equal(argmax(r.json.prediction[0]), 'malignant');
    const label = await predict('breast-cancer', record);
    assert.deepEqual(label.json.prediction, ['malignant']);
  });

  test('an XGBoost file with a sidecar manifest: two classes from its single probability column', async () => {
    const features = await get(`${server.url}/models/xgb/features`);
    assert.deepEqual(features.json.map((f: { name: string }) => f.name), csv.columns);
    const rows = csv.records.slice(0, 8);
    const r = await predict('xgb', rows, '?proba=1');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.prediction.length, rows.length);
    for (const row of r.json.prediction) assertDistribution(row, ['0', '1']);
    // sklearn's target: 0 = malignant; the first CSV row (one_record.json) is malignant.
    assert.ok(r.json.prediction[0]['0'] > 0.5);
    // The column is P(class 1), as the raw graph output shows.
    const raw = await post(`${server.url}/v2/models/xgb/infer`, {
      inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 30], data: csv.columns.map((c) => csv.records[0]![c]) }],
      outputs: [{ name: 'probability' }],
    });
    assert.equal(raw.status, 200, raw.text);
    assert.ok(Math.abs(raw.json.outputs[0].data[0] - r.json.prediction[0]['1']) < 1e-6);
    const labels = await predict('xgb', rows);
    assert.deepEqual(labels.json.prediction, r.json.prediction.map(argmax));
    const info = await get(`${server.url}/models/xgb/info`);
    assert.equal(info.json.model.task, 'BINARY_CLASSIFICATION');
    assert.deepEqual(info.json.model.class_names, ['0', '1']);
  });

  test('an unknown model is 404, naming it', async () => {
    const r = await predict('churn', SETOSA);
    assert.equal(r.status, 404);
    assert.equal(r.json.code, 'MODEL_NOT_FOUND');
    assert.match(r.json.error, /'churn'/);
    const info = await get(`${server.url}/models/churn/info`);
    assert.equal(info.status, 404);
    assert.match(info.json.error, /'churn'/);
    const features = await get(`${server.url}/models/churn/features`);
    assert.equal(features.status, 404);
  });

  test('explain=1 adds the SHAP values of the predicted class', async () => {
    const r = await predict('iris', SETOSA, '?explain=1');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(Object.keys(r.json.explanation), IRIS_FEATURES);
    assert.ok(r.json.explanation.petal_length > 0, 'a short petal argues for setosa');
  });

  test('the root routes need a single-model server: 404 with a hint', async () => {
    const r = await post(`${server.url}/predict`, SETOSA);
    assert.equal(r.status, 404);
    assert.match(r.json.error, /5 models/);
    assert.match(r.json.error, /\/models\/\{name\}\/predict/);
    assert.equal((await get(`${server.url}/info`)).status, 404);
    assert.equal((await get(`${server.url}/features`)).status, 404);
  });
});

describe('records protocol, a single-model server', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer(exampleModels('iris'));
  });
  after(() => server?.close());

  test('POST /predict uses the only model', async () => {
    const request = await readJson(join(ROOT, 'examples/requests/iris.records.json'));
    const r = await post(`${server.url}/predict`, request);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { prediction: ['setosa', 'virginica'], model_version: '1' });
    const proba = await post(`${server.url}/predict?proba=1`, { _data: request });
    for (const row of proba.json.prediction) assertDistribution(row, ['setosa', 'versicolor', 'virginica']);
  });

  test('GET /info and GET /features describe the only model', async () => {
    const info = await get(`${server.url}/info`);
    assert.equal(info.status, 200);
    assert.equal(info.json.model.name, 'iris');
    assert.equal(info.json.model.task, 'MULTICLASS_CLASSIFICATION');
    const features = await get(`${server.url}/features`);
    assert.equal(features.status, 200);
    assert.deepEqual(features.json.map((f: { name: string }) => f.name), IRIS_FEATURES);
  });

  test('GET /service-info names the served model', async () => {
    const r = await get(`${server.url}/service-info`);
    assert.equal(r.json['serving-model'], 'iris');
    assert.deepEqual(r.json['serving-models'], ['iris']);
  });
});
