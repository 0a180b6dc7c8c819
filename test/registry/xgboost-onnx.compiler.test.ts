import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { parseTreeEnsemble } from '../../src/explain/tree-ensemble.parser.js';
import { predictRaw } from '../../src/explain/tree-ensemble.evaluator.js';
import type { Matrix } from '../../src/explain/tree-ensemble.types.js';
import { loadXgboostJson, predictXgboost } from '../../src/explain/xgboost-json.loader.js';
import { compileXgboost } from '../../src/registry/xgboost-onnx.compiler.js';
import { readOnnxGraph } from '../../src/runtime/onnx/onnx-graph.reader.js';
import { breastCancer, fixture, runOrt } from '../explain/helpers/fixtures.js';
import { booster, TWO_TREE_ROWS, TWO_TREES, type BoosterSpec } from './xgboost-boosters.js';

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const compile = (spec: BoosterSpec) => compileXgboost(loadXgboostJson(JSON.stringify(booster(spec))));
const rowsOf = (xs: number[][]): Matrix => ({ data: Float32Array.from(xs.flat()), rows: xs.length, cols: xs[0]!.length });

/** Every output of the compiled model for the rows, as ONNX Runtime gives them. */
async function run(bytes: Uint8Array, m: Matrix): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  try {
    return await session.run({ input: new ort.Tensor('float32', m.data, [m.rows, m.cols]) });
  } finally {
    await session.release();
  }
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
};

test('xgb_breast_cancer.json compiles to a classifier whose probabilities equal xgb_breast_cancer.onnx and the TS evaluator on all 569 rows', async () => {
  const model = loadXgboostJson(readFileSync(fixture('xgb_breast_cancer.json'), 'utf8'));
  const bytes = compileXgboost(model);
  const { matrix } = breastCancer();
  const compiled = await run(bytes, matrix);
  assert.deepEqual(Object.keys(compiled).sort(), ['label', 'probabilities']);
  assert.deepEqual(compiled.probabilities!.dims, [569, 2]);
  const probs = compiled.probabilities!.data as Float32Array;
  const reference = await runOrt(readFileSync(fixture('xgb_breast_cancer.onnx')), matrix, ['probability']);
  const p1 = probs.filter((_, k) => k % 2 === 1);
  const p0 = probs.filter((_, k) => k % 2 === 0);
  assert.ok(maxDiff(p1, reference.probability!) < 1e-6, `vs the reference ONNX: ${maxDiff(p1, reference.probability!)}`);
  assert.ok(maxDiff(p0, Array.from(p1, (p) => 1 - p)) < 1e-6);
  const [ts0, ts1] = predictXgboost(model, matrix);
  assert.ok(maxDiff(p1, ts1!) < 1e-6 && maxDiff(p0, ts0!) < 1e-6, `vs the TS evaluator: ${maxDiff(p1, ts1!)}`);
  // Labels 0/1 by p > 0.5; both classes occur.
  const labels = Array.from(compiled.label!.data as BigInt64Array, Number);
  assert.deepEqual(labels, Array.from(p1, (p) => (p > 0.5 ? 1 : 0)));
  assert.deepEqual(new Set(labels), new Set([0, 1]));

  // Missing values follow default_left in both graphs.
  const holes = { ...matrix, data: matrix.data.slice(0, 40 * 30), rows: 40 };
  for (let i = 0; i < holes.data.length; i += 7) holes.data[i] = NaN;
  const a = (await run(bytes, holes)).probabilities!.data as Float32Array;
  const b = (await runOrt(readFileSync(fixture('xgb_breast_cancer.onnx')), holes, ['probability'])).probability!;
  assert.ok(maxDiff(a.filter((_, k) => k % 2 === 1), b) < 1e-6);

  // The graph reads back as the same ensemble, with the cover (sum_hessian) as nodes_hitrates.
  const parsed = parseTreeEnsemble(readOnnxGraph(bytes));
  assert.ok(parsed.ok);
  assert.equal(parsed.value.hasCover, true);
  assert.equal(parsed.value.trees[0]!.cover![0], model.ensemble.trees[0]!.cover![0]);
  for (const i of [0, 100, 568]) {
    assert.ok(Math.abs(predictRaw(parsed.value, matrix.data, undefined, i * 30)[0]! - predictRaw(model.ensemble, matrix.data, undefined, i * 30)[0]!) < 1e-6);
  }
});

test('binary:logistic with base_score 0.2: the margin starts at logit(0.2), worked out by hand', async () => {
  const out = await run(compile({ objective: 'binary:logistic', numFeature: 2, trees: TWO_TREES, baseScore: '[2E-1]' }), rowsOf(TWO_TREE_ROWS.map((r) => r.x)));
  const probs = out.probabilities!.data as Float32Array;
  TWO_TREE_ROWS.forEach((r, i) => {
    const p = sigmoid(Math.log(0.2 / 0.8) + r.sum);
    assert.ok(Math.abs(probs[i * 2 + 1]! - p) < 1e-6, `row ${i}: ${probs[i * 2 + 1]} vs ${p}`);
    assert.ok(Math.abs(probs[i * 2]! - (1 - p)) < 1e-6);
    assert.equal(Number((out.label!.data as BigInt64Array)[i]), p > 0.5 ? 1 : 0);
  });
});

test('multi:softprob and multi:softmax: three classes, trees by tree_info, softmax of base_score + leaves; labels are the argmax', async () => {
  // Two rounds of one tree per class (tree_info 0, 1, 2, 0, 1, 2), as XGBoost writes them; two are single leaves.
  const trees = [TWO_TREES[0]!, TWO_TREES[1]!, { leaf: 0.35 }, TWO_TREES[1]!, { leaf: -0.2 }, TWO_TREES[0]!];
  const treeInfo = [0, 1, 2, 0, 1, 2];
  const rows = TWO_TREE_ROWS.map((r) => r.x);
  const t0 = (x: number[]) => (Number.isNaN(x[0]!) || x[0]! < 0.5 ? 1 : !Number.isNaN(x[1]!) && x[1]! < 2 ? -1 : 0.25);
  const t1 = (x: number[]) => (!Number.isNaN(x[1]!) && x[1]! < 1 ? 0.5 : -0.5);
  for (const objective of ['multi:softprob', 'multi:softmax']) {
    const out = await run(compile({ objective, numFeature: 2, numClass: 3, trees, treeInfo }), rowsOf(rows));
    assert.deepEqual(out.probabilities!.dims, [rows.length, 3]);
    const probs = out.probabilities!.data as Float32Array;
    rows.forEach((x, i) => {
      const margins = [0.5 + t0(x) + t1(x), 0.5 + t1(x) - 0.2, 0.5 + 0.35 + t0(x)];
      const exp = margins.map(Math.exp);
      const total = exp.reduce((a, b) => a + b);
      exp.forEach((e, k) => assert.ok(Math.abs(probs[i * 3 + k]! - e / total) < 1e-6, `${objective} row ${i} class ${k}`));
      assert.equal(Number((out.label!.data as BigInt64Array)[i]), margins.indexOf(Math.max(...margins)));
    });
  }
});

test('XGBoost 3.1 per-class base_score is added to each class margin as stored', async () => {
  const out = await run(compile({ objective: 'multi:softprob', numFeature: 2, numClass: 2, trees: [{ leaf: 0 }, { leaf: 0 }], treeInfo: [0, 1], baseScore: '[1E0,-1E0]' }), rowsOf([[0, 0]]));
  const p = out.probabilities!.data as Float32Array;
  assert.ok(Math.abs(p[0]! - Math.exp(1) / (Math.exp(1) + Math.exp(-1))) < 1e-6);
});

test('regression objectives: the margin, then the link XGBoost applies (none, sigmoid, exp); dart scales trees by weight_drop', async () => {
  const rows = TWO_TREE_ROWS.map((r) => r.x);
  const cases: [string, string, (sum: number) => number][] = [
    ['reg:squarederror', '1.5E1', (s) => 15 + s],
    ['reg:absoluteerror', '-2E0', (s) => -2 + s],
    ['binary:logitraw', '5E-1', (s) => s],
    ['reg:logistic', '2.5E-1', (s) => sigmoid(Math.log(1 / 3) + s)],
    ['count:poisson', '3E0', (s) => 3 * Math.exp(s)],
    ['reg:gamma', '2E0', (s) => 2 * Math.exp(s)],
    ['reg:tweedie', '1E0', (s) => Math.exp(s)],
  ];
  for (const [objective, baseScore, expected] of cases) {
    const bytes = compile({ objective, numFeature: 2, trees: TWO_TREES, baseScore });
    const graph = readOnnxGraph(bytes);
    assert.equal(graph.nodes[0]!.opType, 'TreeEnsembleRegressor', objective);
    const out = await run(bytes, rowsOf(rows));
    assert.deepEqual(Object.keys(out), ['variable']);
    assert.deepEqual(out.variable!.dims, [rows.length, 1]);
    const values = out.variable!.data as Float32Array;
    TWO_TREE_ROWS.forEach((r, i) => {
      const want = expected(r.sum);
      assert.ok(Math.abs(values[i]! - want) < 1e-5 * Math.max(1, Math.abs(want)), `${objective} row ${i}: ${values[i]} vs ${want}`);
    });
  }
  const dart = await run(compile({ objective: 'reg:squarederror', numFeature: 2, trees: TWO_TREES, baseScore: '0E0', weightDrop: [1, 0.5] }), rowsOf(rows));
  // Row [1, 3]: tree 1 gives 0.25, tree 2 gives -0.5 x 0.5.
  assert.ok(Math.abs((dart.variable!.data as Float32Array)[2]! - (0.25 - 0.25)) < 1e-7);
});
