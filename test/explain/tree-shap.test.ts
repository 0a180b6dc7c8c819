import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OutputHead } from '../../src/explain/output-head.js';
import { parseTreeEnsemble } from '../../src/explain/tree-ensemble.parser.js';
import { predictRaw } from '../../src/explain/tree-ensemble.evaluator.js';
import { NodeMode, type Matrix, type TreeEnsemble } from '../../src/explain/tree-ensemble.types.js';
import { TreeShapTables } from '../../src/explain/tree-shap-tables.js';
import { InterventionalTreeShap, routeBackground } from '../../src/explain/tree-shap-interventional.js';
import { PathDependentTreeShap, prepareEnsemble } from '../../src/explain/tree-shap.js';
import { breastCancer, fixture, loadFile, runOrt, slice } from './helpers/fixtures.js';
import { exactShapley, interventionalValue, maxAbsDiff, pathDependentValue, randomEnsemble, randomRows, rawOf } from './helpers/shapley.js';

const rowOf = (m: Matrix, i: number) => m.data.subarray(i * m.cols, (i + 1) * m.cols);
const sum = (v: Float64Array, C: number, c: number) => {
  let s = 0;
  for (let j = 0; j < v.length / C; j++) s += v[j * C + c]!;
  return s;
};

test('path-dependent tree SHAP (Algorithm 2 and the tables) equals brute-force Shapley values of the path-dependent game', () => {
  let compared = 0;
  for (const seed of [1, 2, 3, 4]) {
    const M = 6 + (seed % 3);
    const e = randomEnsemble(seed, { trees: 4, depth: 5, features: M, scores: 2, allModes: true, cover: seed % 2 === 0 });
    const prepared = prepareEnsemble(e, randomRows(seed + 50, 40, M, 0.1));
    const alg2 = new PathDependentTreeShap(prepared);
    const tables = new TreeShapTables(prepared);
    const rows = randomRows(seed + 10, 6, M, 0.15);
    for (let i = 0; i < rows.rows; i++) {
      const x = rowOf(rows, i);
      const exact = exactShapley(M, 2, (mask) => pathDependentValue(prepared, x, mask));
      assert.ok(Math.max(...exact.map(Math.abs)) > 0.01, 'the game is not trivial');
      assert.ok(maxAbsDiff(alg2.explain(x, new Float64Array(M * 2)), exact) < 1e-10);
      assert.ok(maxAbsDiff(tables.explain(x, new Float64Array(M * 2)), exact) < 1e-10);
      compared++;
    }
  }
  assert.equal(compared, 24);
});

test('interventional tree SHAP in raw space equals brute-force Shapley values of E_b[f(x_S, b_rest)]', () => {
  for (const seed of [11, 12, 13]) {
    const M = 7;
    const e = randomEnsemble(seed, { trees: 5, depth: 4, features: M, scores: 3, allModes: true });
    const bg = randomRows(seed + 1, 8, M, 0.1);
    const engine = new InterventionalTreeShap(e, routeBackground(e, bg));
    const rows = randomRows(seed + 2, 5, M, 0.1);
    for (let i = 0; i < rows.rows; i++) {
      const x = rowOf(rows, i);
      const exact = exactShapley(M, 3, (mask) => interventionalValue(rawOf(e), 3, x, bg, mask));
      const r = engine.explain(x, 'raw');
      assert.ok(maxAbsDiff(r.values, exact) < 1e-10);
      // base value: the background mean of the raw output.
      const empty = interventionalValue(rawOf(e), 3, x, bg, 0);
      assert.ok(maxAbsDiff(r.base, empty) < 1e-12);
    }
  }
});

test('probability space (sigmoid, softmax): base + sum = model output exactly, base = mean output over the background', () => {
  const heads: [string, OutputHead, number][] = [
    ['one score, logistic', OutputHead.single('logistic', 'one-minus'), 1],
    ['3 scores, softmax', OutputHead.vector(3, 'SOFTMAX'), 3],
    ['2 scores, element-wise logistic', OutputHead.vector(2, 'LOGISTIC'), 2],
  ];
  for (const [name, head, R] of heads) {
    const e = randomEnsemble(21, { trees: 6, depth: 4, features: 6, scores: R, head, allModes: true });
    const bg = randomRows(22, 12, 6, 0.05);
    const engine = new InterventionalTreeShap(e, routeBackground(e, bg));
    const rows = randomRows(23, 10, 6, 0.05);
    const C = head.nColumns;
    const out = new Float64Array(C);
    for (let i = 0; i < rows.rows; i++) {
      const x = rowOf(rows, i);
      const r = engine.explain(x, 'output');
      head.outputs(predictRaw(e, x), out);
      for (let c = 0; c < C; c++) {
        assert.ok(Math.abs(r.base[c]! + sum(r.values, C, c) - out[c]!) < 1e-12, `${name}: local accuracy`);
        assert.ok(out[c]! >= 0 && out[c]! <= 1);
      }
      // Probabilities sum to one, so their attributions per feature sum to zero across classes.
      for (let j = 0; j < 6; j++) {
        let s = 0;
        for (let c = 0; c < C; c++) s += r.values[j * C + c]!;
        assert.ok(C === 1 || Math.abs(s) < 1e-12 || name.includes('element-wise'), `${name}: feature ${j} sums to ${s}`);
      }
    }
    let mean = new Float64Array(C);
    for (let b = 0; b < bg.rows; b++) {
      head.outputs(predictRaw(e, rowOf(bg, b)), out);
      mean = mean.map((m, c) => m + out[c]! / bg.rows);
    }
    assert.ok(maxAbsDiff(engine.explain(rowOf(rows, 0), 'output').base, mean) < 1e-12);
  }
});

test('probability space with one background row differing in one feature: that feature gets p(x) - p(b), the rest 0', () => {
  const head = OutputHead.vector(3, 'SOFTMAX');
  const e = randomEnsemble(31, { trees: 4, depth: 4, features: 5, scores: 3, head });
  const bg: Matrix = { data: Float32Array.of(0.25, 0.5, 0.75, 0, 1), rows: 1, cols: 5 };
  const x = Float32Array.of(0.25, 0.5, 0.75, 1, 1);
  const r = new InterventionalTreeShap(e, routeBackground(e, bg)).explain(x, 'output');
  const px = new Float64Array(3);
  const pb = new Float64Array(3);
  head.outputs(predictRaw(e, x), px);
  head.outputs(predictRaw(e, bg.data), pb);
  for (let c = 0; c < 3; c++) {
    assert.ok(Math.abs(r.values[3 * 3 + c]! - (px[c]! - pb[c]!)) < 1e-12);
    for (const j of [0, 1, 2, 4]) assert.equal(r.values[j * 3 + c], 0);
  }
});

/** Value 1 when x0 > 0.5 and x1 > 0.5 (a tree splitting on x0 first, and one splitting on x1 first), feature 2 unused. */
function symmetricModel(): TreeEnsemble {
  const tree = (first: number, second: number) => ({
    feature: Int32Array.of(first, -1, second, -1, -1),
    threshold: Float64Array.of(0.5, 0, 0.5, 0, 0),
    mode: Uint8Array.of(NodeMode.BRANCH_LEQ, 0, NodeMode.BRANCH_LEQ, 0, 0),
    yes: Int32Array.of(1, -1, 3, -1, -1),
    no: Int32Array.of(2, -1, 4, -1, -1),
    missingYes: new Uint8Array(5),
    cover: Float64Array.of(100, 50, 50, 25, 25),
    values: Float64Array.of(0, 0, 0, 0, 0.5),
    depth: 2,
  });
  return {
    source: 'test', kind: 'regressor', nFeatures: 3, nScores: 1, trees: [tree(0, 1), tree(1, 0)], base: Float64Array.of(0),
    aggregate: 'SUM', head: OutputHead.vector(1, 'NONE'), hasCover: true,
  };
}

test('symmetry and missingness on a constructed model: interchangeable features get equal values, an unused feature 0', () => {
  const e = symmetricModel();
  const prepared = prepareEnsemble(e);
  const x = Float32Array.of(1, 1, 0.3);
  for (const phi of [new PathDependentTreeShap(prepared).explain(x, new Float64Array(3)), new TreeShapTables(prepared).explain(x, new Float64Array(3))]) {
    assert.ok(Math.abs(phi[0]! - phi[1]!) < 1e-12);
    assert.ok(Math.abs(phi[0]! - 0.375) < 1e-12, `${phi[0]}`); // (1 - 0.25) / 2
    assert.equal(phi[2], 0);
  }
  const bg: Matrix = { data: Float32Array.of(0, 0, 0.9, 1, 0, 0.1, 0, 1, 0.5), rows: 3, cols: 3 };
  const r = new InterventionalTreeShap(e, routeBackground(e, bg)).explain(x, 'raw');
  assert.ok(Math.abs(r.values[0]! - r.values[1]!) < 1e-12);
  assert.ok(r.values[0]! > 0);
  assert.equal(r.values[2], 0);
});

test('missing values: NaN follows nodes_missing_value_tracks_true, and local accuracy holds for rows with NaN', () => {
  const e = symmetricModel();
  e.trees[0]!.missingYes[0] = 0; // NaN in x0 goes to the false child (x0 > 0.5 side)
  e.trees[1]!.missingYes[2] = 1; // NaN in x0 takes the true child (x0 <= 0.5 side)
  const x = Float32Array.of(NaN, 1, 0);
  assert.equal(predictRaw(e, x)[0], 0.5);
  const prepared = prepareEnsemble(e);
  const phi = new PathDependentTreeShap(prepared).explain(x, new Float64Array(3));
  assert.ok(Math.abs(prepared.expected[0]! + phi[0]! + phi[1]! + phi[2]! - 0.5) < 1e-12);
  const exact = exactShapley(3, 1, (mask) => pathDependentValue(prepared, x, mask));
  assert.ok(maxAbsDiff(phi, exact) < 1e-12);
});

test('rf_breast_cancer: path-dependent SHAP with background cover: base + sum = ORT probabilities to 1e-5 on every row', async () => {
  const model = await loadFile(fixture('rf_breast_cancer.onnx'));
  const r = parseTreeEnsemble(model.graph, model.schema);
  assert.ok(r.ok);
  const e = r.value;
  const { matrix } = breastCancer();
  const prepared = prepareEnsemble(e, matrix);
  const tables = new TreeShapTables(prepared);
  const phi = tables.explainRows(matrix, new Float64Array(matrix.rows * 60));
  const ort = (await runOrt(model.bytes, matrix, ['probabilities'])).probabilities!;
  let worst = 0;
  for (let i = 0; i < matrix.rows; i++) {
    for (let c = 0; c < 2; c++) worst = Math.max(worst, Math.abs(prepared.expected[c]! + sum(phi.subarray(i * 60, (i + 1) * 60), 2, c) - ort[i * 2 + c]!));
  }
  assert.ok(worst < 1e-5, `${worst}`);
  // Algorithm 2 gives the same values.
  const alg2 = new PathDependentTreeShap(prepared);
  for (const i of [0, 100, 568]) assert.ok(maxAbsDiff(alg2.explain(matrix.data, new Float64Array(60), i * 30), phi.subarray(i * 60, (i + 1) * 60)) < 1e-12);
  // Without cover in the model and without background there is nothing to compute cover from.
  assert.throws(() => prepareEnsemble(e), /supply background rows/);
});

test('rf_breast_cancer and xgb_breast_cancer: interventional SHAP sums to the ORT output (probability space for XGBoost\'s sigmoid)', async () => {
  const { matrix } = breastCancer();
  const bg = slice(matrix, 0, 50);
  const rows = slice(matrix, 300, 340);
  for (const [file, output] of [['rf_breast_cancer.onnx', 'probabilities'], ['xgb_breast_cancer.onnx', 'probability']] as const) {
    const model = await loadFile(fixture(file));
    const r = parseTreeEnsemble(model.graph, model.schema);
    assert.ok(r.ok);
    const engine = new InterventionalTreeShap(r.value, routeBackground(r.value, bg));
    const ort = (await runOrt(model.bytes, rows, [output]))[output]!;
    const width = ort.length / rows.rows;
    let worst = 0;
    for (let i = 0; i < rows.rows; i++) {
      const res = engine.explain(rows.data, 'output', i * 30);
      // XGBoost's ONNX output is P(class 1): our column 1.
      const c = width === 1 ? 1 : 0;
      worst = Math.max(worst, Math.abs(res.base[c]! + sum(res.values, 2, c) - ort[i * width]!));
    }
    assert.ok(worst < 1e-5, `${file}: ${worst}`);
  }
});
