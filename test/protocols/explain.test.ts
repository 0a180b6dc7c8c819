import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { exampleModels, get, post, startServer, type TestServer } from '../helpers/server.js';

const CREDIT = {
  CheckingStatus: 'less_0', LoanDuration: 21, CreditHistory: 'credits_paid_to_date', LoanPurpose: 'business', LoanAmount: 9679,
  ExistingSavings: 'less_100', EmploymentDuration: '4_to_7', InstallmentPercent: 4, Sex: 'male', OthersOnLoan: 'none',
  CurrentResidenceDuration: 4, OwnsProperty: 'real_estate', Age: 32, InstallmentPlans: 'none', Housing: 'own',
  ExistingCreditsCount: 1, Job: 'skilled', Dependents: 1, Telephone: 'none', ForeignWorker: 'yes',
};

const sum = (values: Record<string, number>) => Object.values(values).reduce((a, b) => a + b, 0);

describe('explanations over HTTP', () => {
  let server: TestServer;
  let record: Record<string, number>;
  let features: string[];
  const url = (path: string) => `${server.url}${path}`;

  before(async () => {
    server = await startServer(exampleModels('breast-cancer', 'credit-risk', 'diabetes'));
    const list = (await get(url('/models/breast-cancer/features'))).json as { name: string; default: number }[];
    features = list.map((f) => f.name);
    record = Object.fromEntries(list.map((f, i) => [f.name, f.default * (1 + (i % 3) * 0.1)]));
  });
  after(() => server.close());

  test('tree SHAP: base value + sum of values is the predicted probability, for every class', async () => {
    const e = await post(url('/models/breast-cancer/explain'), record);
    assert.equal(e.status, 200, e.text);
    assert.equal(e.json.method, 'tree-shap-path-dependent');
    assert.equal(e.json.output_space, 'probability');
    assert.deepEqual(e.json.outputs, ['malignant', 'benign']);
    assert.deepEqual(e.json.features, features);
    const p = await post(url('/models/breast-cancer/predict?proba=1'), record);
    const [explained] = e.json.explanations;
    for (const cls of ['malignant', 'benign']) {
      assert.ok(Math.abs(e.json.base_value[cls] + sum(explained.values[cls]) - p.json.prediction[0][cls]) < 1e-5, cls);
      assert.ok(Math.abs(explained.output[cls] - p.json.prediction[0][cls]) < 1e-5, cls);
    }
  });

  test('?explain=1 adds {feature: value} next to the prediction: one object for a record, a list for a list', async () => {
    const one = await post(url('/models/breast-cancer/predict?explain=1'), record);
    assert.equal(one.status, 200, one.text);
    assert.deepEqual(Object.keys(one.json.explanation), features);
    const many = await post(url('/models/breast-cancer/predict?explain=1'), [record, record]);
    assert.equal(many.json.explanation.length, 2);
    assert.deepEqual(many.json.explanation[0], one.json.explanation);
    const full = await post(url('/models/breast-cancer/explain'), record);
    assert.deepEqual(one.json.explanation, full.json.explanations[0].values.benign, 'binary: the positive class');
  });

  test('with _samples: interventional tree SHAP over that background', async () => {
    const background = [record, { ...record, mean_radius: 20 }, { ...record, worst_area: 2000 }];
    const e = await post(url('/models/breast-cancer/explain'), { _data: record, _samples: background });
    assert.equal(e.status, 200, e.text);
    assert.equal(e.json.method, 'tree-shap-interventional');
    assert.deepEqual(e.json.background, { rows: 3, source: 'request' });
  });

  test('the V2 explain route gives the same values from the packed tensor', async () => {
    const v2 = await post(url('/v2/models/breast-cancer/explain'), { id: 'x1', inputs: [{ name: 'input', shape: [1, 30], datatype: 'FP32', data: features.map((f) => record[f]) }] });
    assert.equal(v2.status, 200, v2.text);
    assert.equal(v2.json.id, 'x1');
    const records = await post(url('/models/breast-cancer/explain'), record);
    for (const f of features) assert.ok(Math.abs(v2.json.explanations[0].values.benign[f] - records.json.explanations[0].values.benign[f]) < 1e-6, f);
  });

  test('info says how a model is explained; features carry global importance', async () => {
    const info = (await get(url('/models/breast-cancer/info'))).json.model;
    assert.equal(info.is_explainable, true);
    assert.deepEqual(info.explanation, { method: 'tree-shap-path-dependent', output_space: 'probability', needs_background: false });
    const list = (await get(url('/models/breast-cancer/features'))).json as { name: string; importance?: number }[];
    assert.ok(list.every((f) => typeof f.importance === 'number' && f.importance >= 0));
    assert.ok(list.some((f) => f.importance! > 0.01));
    const credit = (await get(url('/models/credit-risk/info'))).json.model.explanation;
    assert.equal(credit.method, 'kernel-shap');
    assert.match(credit.note, /one input per feature/);
  });

  test('kernel SHAP on a mixed string/numeric pipeline: local accuracy and the same answer every time', async () => {
    const a = await post(url('/models/credit-risk/explain'), CREDIT);
    assert.equal(a.status, 200, a.text);
    assert.equal(a.json.method, 'kernel-shap');
    const p = await post(url('/models/credit-risk/predict?proba=1'), CREDIT);
    for (const cls of a.json.outputs) {
      assert.ok(Math.abs(a.json.base_value[cls] + sum(a.json.explanations[0].values[cls]) - p.json.prediction[0][cls]) < 1e-4, cls);
    }
    const b = await post(url('/models/credit-risk/explain'), CREDIT);
    assert.deepEqual(b.json.explanations, a.json.explanations);
    assert.ok(a.json.kernel.modelCalls <= 8, `one explanation is a handful of ONNX runs, not ${a.json.kernel.modelCalls}`);
  });

  test('bad input: no background, a budget past the maximum, too much background', async () => {
    const none = await post(url('/models/diabetes/explain'), { age: 0.03 });
    assert.equal(none.status, 400, none.text);
    assert.match(none.json.error, /background/);
    assert.match(none.json.error, /_samples/);
    const budget = await post(url('/models/credit-risk/explain?budget=999999'), CREDIT);
    assert.equal(budget.status, 400, budget.text);
    assert.match(budget.json.error, /budget/);
    const big = await post(url('/models/breast-cancer/explain'), { _data: record, _samples: Array.from({ length: 1001 }, () => record) });
    assert.equal(big.status, 413, big.text);
  });
});
