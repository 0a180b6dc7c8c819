import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadXgboostJson, predictXgboost, XgboostFormatError } from '../../src/explain/xgboost-json.loader.js';
import { predictRaw } from '../../src/explain/tree-ensemble.evaluator.js';
import { TreeShapTables } from '../../src/explain/tree-shap-tables.js';
import { InterventionalTreeShap, routeBackground } from '../../src/explain/tree-shap-interventional.js';
import { PathDependentTreeShap, prepareEnsemble } from '../../src/explain/tree-shap.js';
import { breastCancer, fixture, runOrt, slice } from './helpers/fixtures.js';
import { exactShapley, maxAbsDiff, pathDependentValue } from './helpers/shapley.js';

const text = () => readFileSync(fixture('xgb_breast_cancer.json'), 'utf8');

test('xgb_breast_cancer.json loads as 50 trees with their cover; margins and probabilities equal xgb_breast_cancer.onnx in ORT on every row', async () => {
  const model = loadXgboostJson(text());
  assert.equal(model.objective, 'binary:logistic');
  assert.equal(model.ensemble.trees.length, 50);
  assert.equal(model.ensemble.hasCover, true);
  assert.equal(model.baseScore, 0.5);
  assert.equal(model.baseMargin, 0);
  assert.equal(model.numFeatures, 30);
  assert.equal(model.output, 'probability');
  const { matrix } = breastCancer();
  const ort = await runOrt(readFileSync(fixture('xgb_breast_cancer.onnx')), matrix, ['margin', 'probability']);
  const [p0, p1] = predictXgboost(model, matrix);
  let margin = 0;
  let prob = 0;
  for (let i = 0; i < matrix.rows; i++) {
    margin = Math.max(margin, Math.abs(predictRaw(model.ensemble, matrix.data, undefined, i * 30)[0]! - ort.margin![i]!));
    prob = Math.max(prob, Math.abs(p1![i]! - ort.probability![i]!), Math.abs(p0![i]! + p1![i]! - 1));
  }
  assert.ok(margin < 1e-5, `margin ${margin}`);
  assert.ok(prob < 1e-6, `probability ${prob}`);
  // Missing values go where default_left says: the model still predicts, and matches ORT's missing tracking.
  const withNaN = slice(matrix, 0, 20);
  for (let i = 0; i < withNaN.data.length; i += 7) withNaN.data[i] = NaN;
  const ortNaN = await runOrt(readFileSync(fixture('xgb_breast_cancer.onnx')), withNaN, ['margin']);
  for (let i = 0; i < withNaN.rows; i++) {
    assert.ok(Math.abs(predictRaw(model.ensemble, withNaN.data, undefined, i * 30)[0]! - ortNaN.margin![i]!) < 1e-5);
  }
});

test('tree SHAP with the JSON cover (sum_hessian): local accuracy to 1e-5 against the ORT margin; Algorithm 2 = tables', async () => {
  const model = loadXgboostJson(text());
  const prepared = prepareEnsemble(model.ensemble);
  assert.equal(prepared.coverSource, 'model');
  const { matrix } = breastCancer();
  const ort = await runOrt(readFileSync(fixture('xgb_breast_cancer.onnx')), matrix, ['margin']);
  const phi = new TreeShapTables(prepared).explainRows(matrix, new Float64Array(matrix.rows * 30));
  const alg2 = new PathDependentTreeShap(prepared);
  let worst = 0;
  for (let i = 0; i < matrix.rows; i++) {
    let s = prepared.expected[0]!;
    for (let j = 0; j < 30; j++) s += phi[i * 30 + j]!;
    worst = Math.max(worst, Math.abs(s - ort.margin![i]!));
  }
  assert.ok(worst < 1e-5, `${worst}`);
  for (const i of [3, 200]) assert.ok(maxAbsDiff(alg2.explain(matrix.data, new Float64Array(30), i * 30), phi.subarray(i * 30, i * 30 + 30)) < 1e-12);
  // The base value is the cover-weighted mean margin, not the data mean: it differs from 0 (the base margin).
  assert.ok(Math.abs(prepared.expected[0]!) > 0.01);
});

test('brute force on real trees: the booster trees that together use at most 10 features, remapped; values = exact Shapley values', () => {
  const model = loadXgboostJson(text());
  const used: number[] = [];
  const trees = model.ensemble.trees.filter((t) => {
    const features = new Set([...t.feature].filter((f) => f >= 0));
    const union = new Set([...used, ...features]);
    if (union.size > 10) return false;
    used.splice(0, used.length, ...union);
    return true;
  });
  assert.ok(trees.length >= 5, `${trees.length} trees`);
  const remap = new Map(used.map((f, k) => [f, k]));
  const sub = {
    ...model.ensemble,
    nFeatures: used.length,
    trees: trees.map((t) => ({ ...t, feature: Int32Array.from(t.feature, (f) => (f < 0 ? f : remap.get(f)!)) })),
  };
  const prepared = prepareEnsemble(sub);
  const alg2 = new PathDependentTreeShap(prepared);
  const tables = new TreeShapTables(prepared);
  const { matrix } = breastCancer();
  for (const i of [0, 42, 300]) {
    const x = Float32Array.from(used, (f) => matrix.data[i * 30 + f]!);
    const exact = exactShapley(used.length, 1, (mask) => pathDependentValue(prepared, x, mask));
    assert.ok(maxAbsDiff(alg2.explain(x, new Float64Array(used.length)), exact) < 1e-10);
    assert.ok(maxAbsDiff(tables.explain(x, new Float64Array(used.length)), exact) < 1e-10);
  }
});

test('interventional SHAP in probability space sums to the probability', () => {
  const model = loadXgboostJson(text());
  const { matrix } = breastCancer();
  const engine = new InterventionalTreeShap(model.ensemble, routeBackground(model.ensemble, slice(matrix, 100, 160)));
  const probs = predictXgboost(model, slice(matrix, 0, 10))[1]!;
  for (let i = 0; i < 10; i++) {
    const r = engine.explain(matrix.data, 'output', i * 30);
    let s = r.base[1]!;
    for (let j = 0; j < 30; j++) s += r.values[j * 2 + 1]!;
    assert.ok(Math.abs(s - probs[i]!) < 1e-12);
    assert.ok(Math.abs(r.values.reduce((a, b, k) => a + (k % 2 === 0 ? b : 0), r.base[0]!) - (1 - probs[i]!)) < 1e-12);
  }
});

test('unsupported models are refused with the reason', () => {
  const doc = JSON.parse(text());
  const variants: [string, (d: any) => void, RegExp][] = [
    ['gblinear', (d) => (d.learner.gradient_booster.name = 'gblinear'), /booster 'gblinear'/],
    ['categorical split', (d) => (d.learner.gradient_booster.model.trees[3].split_type[0] = 1), /trees\[3\] has categorical splits/],
    ['unknown objective', (d) => (d.learner.objective.name = 'rank:pairwise'), /objective 'rank:pairwise'/],
    ['a split past num_feature', (d) => (d.learner.learner_model_param.num_feature = '5'), /num_feature is 5/],
    ['a broken child', (d) => (d.learner.gradient_booster.model.trees[0].left_children[0] = 0), /trees\[0\] is not a tree/],
  ];
  for (const [name, mutate, reason] of variants) {
    const d = structuredClone(doc);
    mutate(d);
    assert.throws(() => loadXgboostJson(JSON.stringify(d)), (err: Error) => err instanceof XgboostFormatError && reason.test(err.message), name);
  }
  assert.throws(() => loadXgboostJson('{'), /it is not JSON/);
  assert.throws(() => loadXgboostJson('{"features": []}'), /not an XGBoost model: it has no 'learner' object/);
  // XGBoost 2 writes base_score as "[5E-1]".
  const v2 = structuredClone(doc);
  v2.learner.learner_model_param.base_score = '[2.5E-1]';
  assert.ok(Math.abs(loadXgboostJson(JSON.stringify(v2)).baseMargin - Math.log(0.25 / 0.75)) < 1e-12);
});
