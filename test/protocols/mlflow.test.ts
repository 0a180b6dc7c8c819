import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exampleModels, FIXTURES, get, post, ROOT, startServer, type TestServer } from '../helpers/server.js';

const IRIS_COLUMNS = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];
const IRIS_ROWS = [[5.1, 3.5, 1.4, 0.2], [6.3, 3.3, 6.0, 2.5]];
const IRIS_RECORDS = IRIS_ROWS.map((row) => Object.fromEntries(IRIS_COLUMNS.map((c, j) => [c, row[j]])));
const DIABETES_COLUMNS = ['age', 'sex', 'bmi', 'bp', 's1', 's2', 's3', 's4', 's5', 's6'];
const DIABETES_ROW = [0.038076, 0.05068, 0.061696, 0.021872, -0.044223, -0.034821, -0.043401, -0.002592, 0.019907, -0.017646];
const CSV = { 'content-type': 'text/csv' };
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
const csvOf = (columns: string[], rows: unknown[][]) => `${columns.join(',')}\n${rows.map((r) => r.join(',')).join('\n')}\n`;

describe('MLflow scoring protocol', () => {
  let server: TestServer;
  const invoke = (model: string, body: unknown, headers?: Record<string, string>) =>
    post(`${server.url}/models/${model}/invocations`, body, headers);

  before(async () => {
    server = await startServer({ ...exampleModels('iris', 'diabetes'), 'add-mul.onnx': join(FIXTURES, 'add-mul.onnx') });
  });
  after(() => server?.close());

  test('dataframe_split', async () => {
    const r = await invoke('iris', { dataframe_split: { columns: IRIS_COLUMNS, data: IRIS_ROWS } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { predictions: ['setosa', 'virginica'], model_name: 'iris', model_version: '1' });
  });

  test('dataframe_split with index, and columns in another order', async () => {
    const columns = [...IRIS_COLUMNS].reverse();
    const data = IRIS_ROWS.map((row) => [...row].reverse());
    const r = await invoke('iris', { dataframe_split: { index: [10, 11], columns, data } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.predictions, ['setosa', 'virginica']);
  });

  test('dataframe_split with a row of the wrong length is refused, naming the row', async () => {
    const r = await invoke('iris', { dataframe_split: { columns: IRIS_COLUMNS, data: [IRIS_ROWS[0], [6.3, 3.3, 6.0]] } });
    assert.equal(r.status, 400);
    assert.match(r.json.error, /dataframe_split\.data\[1\]/);
  });

  test('dataframe_records', async () => {
    const r = await invoke('iris', { dataframe_records: IRIS_RECORDS });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.predictions, ['setosa', 'virginica']);
  });

  test('instances as records', async () => {
    const r = await invoke('iris', { instances: IRIS_RECORDS });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.predictions, ['setosa', 'virginica']);
  });

  test('records fill manifest defaults and name unknown features', async () => {
    const { petal_length: _, ...missing } = IRIS_RECORDS[1]!;
    const implicit = await invoke('iris', { dataframe_records: [missing] });
    const explicit = await invoke('iris', { dataframe_records: [{ ...missing, petal_length: 4.3 }] });
    assert.equal(implicit.status, 200, implicit.text);
    assert.deepEqual(implicit.json, explicit.json);
    const unknown = await invoke('iris', { dataframe_records: [{ ...IRIS_RECORDS[0], colour: 'blue' }] });
    assert.equal(unknown.status, 400);
    assert.match(unknown.json.error, /'colour'/);
  });

  test('inputs as a named tensor: every output, keyed by name', async () => {
    const r = await invoke('iris', { inputs: { input: IRIS_ROWS } });
    assert.equal(r.status, 200, r.text);
    const { label, probabilities } = r.json.predictions;
    assert.deepEqual(Object.keys(r.json.predictions).sort(), ['label', 'probabilities']);
    assert.deepEqual(label, ['setosa', 'virginica']);
    assert.equal(probabilities.length, 2);
    for (const row of probabilities) {
      assert.equal(row.length, 3);
      assert.ok(Math.abs(sum(row) - 1) < 1e-6, `probabilities sum to ${sum(row)}`);
    }
    assert.equal(r.json.model_name, 'iris');
  });

  test('inputs as a bare nested array for a single-input model', async () => {
    const bare = await invoke('iris', { inputs: IRIS_ROWS });
    const named = await invoke('iris', { inputs: { input: IRIS_ROWS } });
    assert.equal(bare.status, 200, bare.text);
    assert.deepEqual(bare.json, named.json);
    const instances = await invoke('iris', { instances: IRIS_ROWS });
    assert.deepEqual(instances.json, named.json);
  });

  test('add-mul: several inputs in, several outputs out', async () => {
    const r = await invoke('add-mul', { inputs: { a: [[1, 2, 3]], b: [[4, 5, 6]] } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.predictions, { sum: [[5, 7, 9]], product: [[4, 10, 18]] });
    assert.equal(r.json.model_name, 'add-mul');
  });

  test('a bare array for a model of two inputs is refused, naming them', async () => {
    const r = await invoke('add-mul', { inputs: [[1, 2, 3]] });
    assert.equal(r.status, 400);
    assert.match(r.json.error, /'a'/);
    assert.match(r.json.error, /'b'/);
    const missing = await invoke('add-mul', { inputs: { a: [[1, 2, 3]] } });
    assert.equal(missing.status, 400);
    assert.match(missing.json.error, /missing input 'b'/);
    const unknown = await invoke('add-mul', { inputs: { a: [[1, 2, 3]], b: [[4, 5, 6]], c: [[0, 0, 0]] } });
    assert.equal(unknown.status, 400);
    assert.match(unknown.json.error, /'c'/);
  });

  test('ragged tensor inputs are refused', async () => {
    const r = await invoke('iris', { inputs: { input: [[5.1, 3.5, 1.4, 0.2], [6.3, 3.3]] } });
    assert.equal(r.status, 400);
    assert.equal(r.json.code, 'INVALID_INPUT');
    assert.match(r.json.error, /data\[1\]/);
    const deeper = await invoke('add-mul', { inputs: { a: [[1, 2, 3], [4, [5], 6]], b: [[1, 2, 3], [4, 5, 6]] } });
    assert.equal(deeper.status, 400);
    assert.match(deeper.json.error, /'a'/);
  });

  test('a text/csv body with a header row: iris labels', async () => {
    const r = await invoke('iris', csvOf(IRIS_COLUMNS, IRIS_ROWS), CSV);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.predictions, ['setosa', 'virginica']);
    const charset = await invoke('iris', csvOf(IRIS_COLUMNS, IRIS_ROWS), { 'content-type': 'text/csv; charset=utf-8' });
    assert.deepEqual(charset.json.predictions, ['setosa', 'virginica']);
  });

  test('a text/csv body: diabetes values match the JSON records route', async () => {
    const r = await invoke('diabetes', csvOf(DIABETES_COLUMNS, [DIABETES_ROW]), CSV);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.predictions.length, 1);
    assert.equal(typeof r.json.predictions[0], 'number');
    const request = JSON.parse(await readFile(join(ROOT, 'examples/requests/diabetes.records.json'), 'utf8'));
    const records = await post(`${server.url}/models/diabetes/predict`, request);
    assert.deepEqual(r.json.predictions, records.json.prediction);
  });

  test('an empty CSV cell takes the manifest default', async () => {
    const withEmpty = DIABETES_ROW.map((v, j) => (DIABETES_COLUMNS[j] === 'bmi' ? '' : v));
    const withDefault = DIABETES_ROW.map((v, j) => (DIABETES_COLUMNS[j] === 'bmi' ? -0.008362 : v)); // diabetes/1 bmi default
    const empty = await invoke('diabetes', csvOf(DIABETES_COLUMNS, [withEmpty]), CSV);
    const explicit = await invoke('diabetes', csvOf(DIABETES_COLUMNS, [withDefault]), CSV);
    const original = await invoke('diabetes', csvOf(DIABETES_COLUMNS, [DIABETES_ROW]), CSV);
    assert.equal(empty.status, 200, empty.text);
    assert.deepEqual(empty.json.predictions, explicit.json.predictions);
    assert.notDeepEqual(empty.json.predictions, original.json.predictions);
  });

  test('a malformed CSV body is refused', async () => {
    const r = await invoke('iris', `${IRIS_COLUMNS.join(',')}\n5.1,3.5,1.4\n`, CSV);
    assert.equal(r.status, 400);
    assert.match(r.json.error, /CSV/);
    const unknown = await invoke('iris', 'colour\nblue\n', CSV);
    assert.equal(unknown.status, 400);
    assert.match(unknown.json.error, /'colour'/);
  });

  test('non-empty params are refused, naming the param; empty params are fine', async () => {
    const r = await invoke('iris', { dataframe_records: IRIS_RECORDS, params: { temperature: 0.5 } });
    assert.equal(r.status, 400);
    assert.match(r.json.error, /'temperature'/);
    const empty = await invoke('iris', { dataframe_records: IRIS_RECORDS, params: {} });
    assert.equal(empty.status, 200, empty.text);
  });

  test('two formats at once are refused, naming both', async () => {
    const r = await invoke('iris', { dataframe_records: IRIS_RECORDS, inputs: { input: IRIS_ROWS } });
    assert.equal(r.status, 400);
    assert.match(r.json.error, /dataframe_records/);
    assert.match(r.json.error, /inputs/);
  });

  test('a JSON body cannot pose as a parsed CSV body', async () => {
    const r = await invoke('iris', { csv: IRIS_RECORDS });
    assert.equal(r.status, 400);
    assert.match(r.json.error, /additional properties \('csv'\)/);
  });

  test('no format is refused, listing the formats', async () => {
    const r = await invoke('iris', {});
    assert.equal(r.status, 400);
    for (const format of ['dataframe_split', 'dataframe_records', 'instances', 'inputs']) assert.match(r.json.error, new RegExp(format));
    const unknown = await invoke('iris', { dataframe: IRIS_RECORDS });
    assert.equal(unknown.status, 400);
    assert.match(unknown.json.error, /'dataframe'/);
  });

  test('an unknown model is 404, naming it', async () => {
    const r = await invoke('churn', { dataframe_records: IRIS_RECORDS });
    assert.equal(r.status, 404);
    assert.match(r.json.error, /'churn'/);
  });

  test('/invocations needs a single-model server', async () => {
    const r = await post(`${server.url}/invocations`, { dataframe_records: IRIS_RECORDS });
    assert.equal(r.status, 404);
    assert.match(r.json.error, /3 models/);
  });

  test('GET /ping answers 200', async () => {
    const r = await get(`${server.url}/ping`);
    assert.equal(r.status, 200);
  });

  test('GET /version is the package version', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'));
    const r = await get(`${server.url}/version`);
    assert.equal(r.status, 200);
    assert.equal(r.text, pkg.version);
  });
});

describe('MLflow scoring, a single-model server', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer(exampleModels('iris'));
  });
  after(() => server?.close());

  test('/invocations scores with the only model', async () => {
    const r = await post(`${server.url}/invocations`, { dataframe_split: { columns: IRIS_COLUMNS, data: IRIS_ROWS } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { predictions: ['setosa', 'virginica'], model_name: 'iris', model_version: '1' });
    const csv = await post(`${server.url}/invocations`, csvOf(IRIS_COLUMNS, IRIS_ROWS), CSV);
    assert.deepEqual(csv.json.predictions, ['setosa', 'virginica']);
    const tensor = await post(`${server.url}/invocations`, { inputs: IRIS_ROWS });
    assert.deepEqual(tensor.json.predictions.label, ['setosa', 'virginica']);
  });
});
