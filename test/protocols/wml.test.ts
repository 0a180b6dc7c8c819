import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exampleModels, get, post, ROOT, startServer, type TestServer } from '../helpers/server.js';

interface WmlEntry {
  fields: string[];
  values: unknown[][];
}

const DIABETES_ROW = [0.038076, 0.05068, 0.061696, 0.021872, -0.044223, -0.034821, -0.043401, -0.002592, 0.019907, -0.017646];

describe('Watson ML v4 online scoring', () => {
  let server: TestServer;
  let payload: { input_data: WmlEntry[] };
  let fields: string[];
  let row: unknown[];
  const score = (deployment: string, body: unknown, query = '') => post(`${server.url}/ml/v4/deployments/${deployment}/predictions${query}`, body);
  /** The seed row with one field changed. */
  const withField = (name: string, value: unknown) => row.map((v, j) => (fields[j] === name ? value : v));

  function assertClassification(prediction: { fields: string[]; values: unknown[][] }, rows: number) {
    assert.deepEqual(prediction.fields, ['prediction', 'probability']);
    assert.equal(prediction.values.length, rows);
    for (const [label, probs] of prediction.values as [string, number[]][]) {
      assert.ok(label === 'No Risk' || label === 'Risk', `label ${label}`);
      assert.equal(probs.length, 2);
      assert.ok(Math.abs(probs[0]! + probs[1]! - 1) < 1e-6, `probabilities sum to ${probs[0]! + probs[1]!}`);
      assert.equal(label, probs[0]! >= probs[1]! ? 'No Risk' : 'Risk');
    }
  }

  before(async () => {
    payload = JSON.parse(await readFile(join(ROOT, 'examples/requests/credit-risk.wml.json'), 'utf8'));
    fields = payload.input_data[0]!.fields;
    row = payload.input_data[0]!.values[0]!;
    server = await startServer(exampleModels('credit-risk', 'diabetes'));
  });
  after(() => server?.close());

  test("the seed's payload gives the label and both class probabilities", async () => {
    const r = await score('credit-risk', payload);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(Object.keys(r.json), ['predictions']);
    assert.equal(r.json.predictions.length, 1);
    const [prediction] = r.json.predictions;
    assertClassification(prediction, 1);
    assert.equal(prediction.values[0][0], 'No Risk');
    const [p0, p1] = prediction.values[0][1];
    assert.ok(p0 > 0.9, `P(No Risk) = ${p0}`);
    assert.deepEqual(r.json, { predictions: [{ fields: ['prediction', 'probability'], values: [['No Risk', [p0, p1]]] }] });
  });

  test('the version query parameter is accepted', async () => {
    const plain = await score('credit-risk', payload);
    const versioned = await score('credit-risk', payload, '?version=2020-09-01');
    assert.equal(versioned.status, 200, versioned.text);
    assert.deepEqual(versioned.json, plain.json);
  });

  test('without fields, values are read in the feature order', async () => {
    const plain = await score('credit-risk', payload);
    const r = await score('credit-risk', { input_data: [{ values: [row] }] });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, plain.json);
  });

  test('fields may come in any order', async () => {
    const plain = await score('credit-risk', payload);
    const order = fields.map((_, j) => j).reverse();
    const r = await score('credit-risk', { input_data: [{ fields: order.map((j) => fields[j]), values: [order.map((j) => row[j])] }] });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, plain.json);
  });

  test('several rows in one entry give one value each', async () => {
    const older = withField('Age', 70);
    const r = await score('credit-risk', { input_data: [{ fields, values: [row, older, row] }] });
    assert.equal(r.status, 200, r.text);
    assertClassification(r.json.predictions[0], 3);
    assert.deepEqual(r.json.predictions[0].values[0], r.json.predictions[0].values[2]);
    assert.notDeepEqual(r.json.predictions[0].values[0], r.json.predictions[0].values[1]);
  });

  test('two input_data entries give two predictions', async () => {
    const single = await score('credit-risk', payload);
    const second = { fields, values: [withField('LoanAmount', 15000), withField('LoanDuration', 60)] };
    const r = await score('credit-risk', { input_data: [payload.input_data[0], second] });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.predictions.length, 2);
    assertClassification(r.json.predictions[0], 1);
    assertClassification(r.json.predictions[1], 2);
    assert.deepEqual(r.json.predictions[0], single.json.predictions[0]);
  });

  test('a row with the wrong number of values is refused, naming it', async () => {
    const r = await score('credit-risk', { input_data: [{ fields, values: [row.slice(1)] }] });
    assert.equal(r.status, 400);
    assert.equal(r.json.code, 'INVALID_INPUT');
    assert.match(r.json.error, /input_data\[0\]\.values\[0\]/);
    assert.match(r.json.error, /20/);
    const later = await score('credit-risk', { input_data: [payload.input_data[0], { fields, values: [row, [...row, 'extra']] }] });
    assert.equal(later.status, 400);
    assert.match(later.json.error, /input_data\[1\]\.values\[1\]/);
  });

  test('a numeric field given as a non-numeric string is refused, naming the field', async () => {
    const r = await score('credit-risk', { input_data: [{ fields, values: [withField('LoanDuration', 'thirteen')] }] });
    assert.equal(r.status, 400);
    assert.equal(r.json.code, 'INVALID_INPUT');
    assert.match(r.json.error, /'LoanDuration'/);
    assert.match(r.json.error, /number/);
  });

  test('an unknown field is refused, naming it', async () => {
    const r = await score('credit-risk', { input_data: [{ fields: [...fields.slice(0, -1), 'Nationality'], values: [row] }] });
    assert.equal(r.status, 400);
    assert.match(r.json.error, /'Nationality'/);
  });

  test('an unseen category still predicts, as an all-zero one-hot', async () => {
    const martian = await score('credit-risk', { input_data: [{ fields, values: [withField('CheckingStatus', 'martian_bank')] }] });
    assert.equal(martian.status, 200, martian.text);
    assertClassification(martian.json.predictions[0], 1);
    // Two different unseen categories encode the same (all zeros), so they score the same...
    const venusian = await score('credit-risk', { input_data: [{ fields, values: [withField('CheckingStatus', 'venusian_bank')] }] });
    assert.deepEqual(venusian.json, martian.json);
    // ...and differently from the known category.
    const known = await score('credit-risk', payload);
    assert.notDeepEqual(known.json.predictions[0].values[0][1], martian.json.predictions[0].values[0][1]);
  });

  test('a missing (null) value takes the manifest default', async () => {
    const asNull = await score('credit-risk', { input_data: [{ fields, values: [withField('Housing', null)] }] });
    const asDefault = await score('credit-risk', { input_data: [{ fields, values: [withField('Housing', 'own')] }] }); // credit-risk default
    assert.equal(asNull.status, 200, asNull.text);
    assert.deepEqual(asNull.json, asDefault.json);
  });

  test('a regression model answers a prediction field only', async () => {
    const r = await score('diabetes', { input_data: [{ values: [DIABETES_ROW] }] });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.predictions[0].fields, ['prediction']);
    assert.equal(r.json.predictions[0].values.length, 1);
    const [value] = r.json.predictions[0].values[0];
    assert.equal(typeof value, 'number');
    const request = JSON.parse(await readFile(join(ROOT, 'examples/requests/diabetes.records.json'), 'utf8'));
    const records = await post(`${server.url}/models/diabetes/predict`, request);
    assert.equal(value, records.json.prediction[0]);
  });

  test('an unknown deployment is 404, naming it', async () => {
    const r = await score('churn-model', payload);
    assert.equal(r.status, 404);
    assert.match(r.json.error, /'churn-model'/);
  });

  test('a body without input_data, or with none in it, is refused', async () => {
    const missing = await score('credit-risk', { fields, values: [row] });
    assert.equal(missing.status, 400);
    assert.match(missing.json.error, /input_data/);
    const empty = await score('credit-risk', { input_data: [] });
    assert.equal(empty.status, 400);
    assert.match(empty.json.error, /input_data/);
    const noRows = await score('credit-risk', { input_data: [{ fields, values: [] }] });
    assert.equal(noRows.status, 400);
    assert.match(noRows.json.error, /values/);
  });

  test('the route is only POST', async () => {
    const r = await get(`${server.url}/ml/v4/deployments/credit-risk/predictions`);
    assert.equal(r.status, 404);
  });
});
