import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { predictRaw } from '../../src/explain/tree-ensemble.evaluator.js';
import { loadXgboostJson } from '../../src/explain/xgboost-json.loader.js';
import { breastCancer, runOrt, slice } from '../explain/helpers/fixtures.js';
import { upload } from '../management/registry-http.js';
import { get, post, SHARED, startServer, type TestServer } from '../helpers/server.js';
import { booster, TWO_TREE_ROWS, TWO_TREES } from './xgboost-boosters.js';

const BOOSTER = readFileSync(join(SHARED, 'xgb_breast_cancer.json'));
const sum = (values: Record<string, number>) => Object.values(values).reduce((a, b) => a + b, 0);

describe('an uploaded XGBoost JSON model over HTTP', () => {
  let server: TestServer;
  const url = (path: string) => `${server.url}${path}`;
  const { matrix } = breastCancer();
  const rows = slice(matrix, 0, 12);
  const features = Array.from({ length: 30 }, (_, j) => `f${j}`);
  const records = Array.from({ length: rows.rows }, (_, i) => Object.fromEntries(features.map((f, j) => [f, rows.data[i * 30 + j]!])));
  let reference: Float32Array;

  before(async () => {
    server = await startServer({});
    const created = await upload(server, 'xgb', 'xgb_breast_cancer.json', BOOSTER);
    assert.equal(created.status, 201, created.text);
    assert.deepEqual(created.json.artifacts.map((a: { path: string }) => a.path), ['model.onnx', 'model.yaml', 'xgboost.json']);
    reference = (await runOrt(readFileSync(join(SHARED, 'xgb_breast_cancer.onnx')), rows, ['probability'])).probability!;
  });
  after(() => server.close());

  test('records, V2 and MLflow predict what XGBoost does (xgb_breast_cancer.onnx) to 1e-6', async () => {
    const p = await post(url('/models/xgb/predict?proba=1'), records);
    assert.equal(p.status, 200, p.text);
    p.json.prediction.forEach((row: Record<string, number>, i: number) => {
      assert.deepEqual(Object.keys(row), ['0', '1']);
      assert.ok(Math.abs(row['1']! - reference[i]!) < 1e-6 && Math.abs(row['0']! - (1 - reference[i]!)) < 1e-6, `row ${i}`);
    });
    const labels = await post(url('/models/xgb/predict'), records);
    assert.deepEqual(labels.json.prediction, Array.from(reference, (q) => (q > 0.5 ? '1' : '0')));

    const v2 = await post(url('/v2/models/xgb/infer'), { inputs: [{ name: 'input', shape: [rows.rows, 30], datatype: 'FP32', data: Array.from(rows.data) }] });
    assert.equal(v2.status, 200, v2.text);
    const probabilities = v2.json.outputs.find((o: { name: string }) => o.name === 'probabilities');
    assert.deepEqual(probabilities.shape, [rows.rows, 2]);
    reference.forEach((q, i) => assert.ok(Math.abs(probabilities.data[i * 2 + 1] - q) < 1e-6));

    const mlflow = await post(url('/models/xgb/invocations'), { dataframe_split: { columns: features, data: records.map((r) => features.map((f) => r[f])) } });
    assert.equal(mlflow.status, 200, mlflow.text);
    assert.deepEqual(mlflow.json.predictions, labels.json.prediction);
  });

  test('explain: path-dependent tree SHAP with the booster cover, no background; base + values = the raw margin to 1e-5', async () => {
    const model = loadXgboostJson(BOOSTER.toString());
    const e = await post(url('/models/xgb/explain'), records.slice(0, 5));
    assert.equal(e.status, 200, e.text);
    assert.equal(e.json.method, 'tree-shap-path-dependent');
    assert.equal(e.json.output_space, 'raw');
    assert.deepEqual(e.json.features, features);
    assert.equal(e.json.background, undefined, 'the cover comes from the booster, not from background rows');
    e.json.explanations.forEach((explained: { values: Record<string, Record<string, number>>; output: Record<string, number> }, i: number) => {
      const margin = predictRaw(model.ensemble, rows.data, undefined, i * 30)[0]!;
      assert.ok(Math.abs(e.json.base_value['1'] + sum(explained.values['1']!) - margin) < 1e-5, `row ${i}`);
      assert.ok(Math.abs(explained.output['1']! - margin) < 1e-5);
    });
    const info = (await get(url('/models/xgb/info'))).json.model;
    assert.equal(info.is_explainable, true);
    assert.deepEqual(info.explanation, { method: 'tree-shap-path-dependent', output_space: 'raw', needs_background: false });
  });

  test("a regressor with feature_names: records use the booster's names; value = base_score + leaves", async () => {
    const doc = booster({ objective: 'reg:squarederror', numFeature: 2, trees: TWO_TREES, baseScore: '1E1', featureNames: ['width', 'height'] });
    const created = await upload(server, 'size', 'size.json', Buffer.from(JSON.stringify(doc)));
    assert.equal(created.status, 201, created.text);
    const listed = await get(url('/models/size/features'));
    assert.equal(listed.status, 200, listed.text);
    assert.deepEqual(listed.json.map((f: { name: string }) => f.name), ['width', 'height']);
    const finite = TWO_TREE_ROWS.filter((r) => r.x.every(Number.isFinite));
    const p = await post(url('/models/size/predict'), finite.map((r) => ({ width: r.x[0], height: r.x[1] })));
    assert.equal(p.status, 200, p.text);
    finite.forEach((r, i) => assert.ok(Math.abs(p.json.prediction[i] - (10 + r.sum)) < 1e-6, `row ${i}`));
    const e = await post(url('/models/size/explain'), { width: 1, height: 3 });
    assert.equal(e.json.method, 'tree-shap-path-dependent');
    assert.ok(Math.abs(e.json.base_value.variable + sum(e.json.explanations[0].values.variable) - (10 + 0.25 - 0.5)) < 1e-6);
  });

  test('refusals come back as the error body with their status: 400 not an XGBoost model, 422 unsupported', async () => {
    const notJson = await upload(server, 'bad', 'bad.json', Buffer.from('{"learner": '));
    assert.equal(notJson.status, 400, notJson.text);
    assert.equal(notJson.json.code, 'INVALID_INPUT');
    assert.match(notJson.json.error, /'model.json' refused: it is not JSON/);
    const ranker = await upload(server, 'bad', 'bad.json', Buffer.from(JSON.stringify(booster({ objective: 'rank:pairwise', numFeature: 2, trees: TWO_TREES }))));
    assert.equal(ranker.status, 422, ranker.text);
    assert.equal(ranker.json.code, 'LOAD_FAILED');
    assert.match(ranker.json.error, /objective 'rank:pairwise'/);
    assert.equal((await get(url('/api/v1/models/bad'))).status, 404);
  });
});
