import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { readOnnxGraph } from '../../src/runtime/onnx/onnx-graph.reader.js';
import { kernelShap } from '../../src/explain/kernel-shap.js';
import { linearRaw, linearShap, parseLinearModel } from '../../src/explain/linear-shap.js';
import type { Matrix } from '../../src/explain/tree-ensemble.types.js';
import { breastCancer, example, fixture, loadFile, loadModel, runOrt, slice } from './helpers/fixtures.js';
import { buildOnnxModel } from './helpers/onnx-model.builder.js';
import { maxAbsDiff, randomRows } from './helpers/shapley.js';

test('logreg_breast_cancer: the Scaler folds into the coefficients; the head reproduces ORT probabilities to 1e-5', async () => {
  const model = await loadFile(fixture('logreg_breast_cancer.onnx'));
  const r = parseLinearModel(model.graph, model.schema);
  assert.ok(r.ok, r.ok ? '' : r.reason);
  const lin = r.value;
  assert.equal(lin.nFeatures, 30);
  assert.equal(lin.head.describe(), '2 scores, SOFTMAX');
  const { matrix } = breastCancer();
  const ort = (await runOrt(model.bytes, matrix, ['probabilities'])).probabilities!;
  const z = new Float64Array(2);
  const p = new Float64Array(2);
  let worst = 0;
  for (let i = 0; i < matrix.rows; i++) {
    lin.head.outputs(linearRaw(lin, matrix.data, z, i * 30), p);
    worst = Math.max(worst, Math.abs(p[0]! - ort[i * 2]!), Math.abs(p[1]! - ort[i * 2 + 1]!));
  }
  assert.ok(worst < 1e-5, `${worst}`);
});

test('linear SHAP is the closed form coef * scale * (x - mean), computed here straight from the graph attributes', async () => {
  const bytes = readFileSync(fixture('logreg_breast_cancer.onnx'));
  const graph = readOnnxGraph(bytes);
  const r = parseLinearModel(graph);
  assert.ok(r.ok);
  const scaler = graph.nodes.find((n) => n.opType === 'Scaler')!;
  const linear = graph.nodes.find((n) => n.opType === 'LinearClassifier')!;
  const scale = scaler.attributes.get('scale') as number[];
  const coefficients = linear.attributes.get('coefficients') as number[];
  const { matrix } = breastCancer();
  const bg = slice(matrix, 0, 100);
  const mean = new Float64Array(30);
  for (let b = 0; b < 100; b++) for (let j = 0; j < 30; j++) mean[j]! += bg.data[b * 30 + j]! / 100;
  for (const i of [150, 151, 400]) {
    const phi = linearShap(r.value, matrix.data, mean, undefined, i * 30);
    for (let j = 0; j < 30; j++) {
      for (let k = 0; k < 2; k++) {
        const expected = coefficients[k * 30 + j]! * scale[j]! * (matrix.data[i * 30 + j]! - mean[j]!);
        assert.ok(Math.abs(phi[j * 2 + k]! - expected) < 1e-9 * Math.max(1, Math.abs(expected)));
      }
    }
    // Local accuracy in raw (score) space: base = score at the mean.
    const zx = linearRaw(r.value, matrix.data, undefined, i * 30);
    const zm = linearRaw(r.value, mean);
    for (let k = 0; k < 2; k++) {
      let s = zm[k]!;
      for (let j = 0; j < 30; j++) s += phi[j * 2 + k]!;
      assert.ok(Math.abs(s - zx[k]!) < 1e-9);
    }
  }
});

test('linear SHAP equals exact kernel SHAP of the same linear model run through ONNX Runtime (independent features)', async () => {
  const M = 6;
  const coefficients = [0.5, -1.25, 2, 0, 0.75, -0.3];
  const bytes = buildOnnxModel({
    nodes: [
      { op: 'Scaler', domain: 'ai.onnx.ml', inputs: ['input'], outputs: ['scaled'], attrs: { offset: [1, 0, -1, 0, 2, 0], scale: [2, 1, 0.5, 1, 1, 3] } },
      { op: 'LinearRegressor', domain: 'ai.onnx.ml', inputs: ['scaled'], outputs: ['variable'], attrs: { coefficients, intercepts: [0.4], targets: 1 } },
    ],
    inputs: [{ name: 'input', shape: ['N', M] }],
    outputs: [{ name: 'variable', shape: ['N', 1] }],
  });
  const model = await loadModel(bytes);
  const r = parseLinearModel(model.graph, model.schema);
  assert.ok(r.ok, r.ok ? '' : r.reason);
  const xs = randomRows(1, 3, M);
  const bg = randomRows(2, 15, M);
  const predict = async (rows: Float32Array, n: number) => {
    const out = (await runOrt(bytes, { data: rows, rows: n, cols: M }, ['variable'])).variable!;
    return [Float64Array.from(out)];
  };
  const kernel = await kernelShap(xs, bg, predict, { budget: 64, seed: 1, maxRowsPerCall: 1 << 20 });
  const mean = new Float64Array(M);
  for (let b = 0; b < bg.rows; b++) for (let j = 0; j < M; j++) mean[j]! += bg.data[b * M + j]! / bg.rows;
  for (let i = 0; i < xs.rows; i++) {
    assert.equal(kernel.records[i]!.exact, true);
    const phi = linearShap(r.value, xs.data, mean, undefined, i * M);
    assert.ok(maxAbsDiff(phi, kernel.records[i]!.values) < 1e-5, `${maxAbsDiff(phi, kernel.records[i]!.values)}`);
    assert.equal(Math.abs(phi[3]!), 0, 'a zero coefficient gets 0');
  }
});

test('one input per column (credit-risk) and non-linear graphs are not linear over the raw features', async () => {
  const credit = await loadFile(`${example('credit-risk')}/model.onnx`, readFileSync(`${example('credit-risk')}/model.yaml`, 'utf8'));
  const r = parseLinearModel(credit.graph, credit.schema);
  assert.ok(!r.ok);
  assert.match(r.reason, /one input per feature/);
  const viaNormalizer = buildOnnxModel({
    nodes: [
      { op: 'Normalizer', domain: 'ai.onnx.ml', inputs: ['input'], outputs: ['n'], attrs: { norm: 'L2' } },
      { op: 'LinearRegressor', domain: 'ai.onnx.ml', inputs: ['n'], outputs: ['variable'], attrs: { coefficients: [1, 2], intercepts: [0] } },
    ],
    inputs: [{ name: 'input', shape: ['N', 2] }],
    outputs: [{ name: 'variable', shape: ['N', 1] }],
  });
  const r2 = parseLinearModel(readOnnxGraph(viaNormalizer));
  assert.ok(!r2.ok);
  assert.match(r2.reason, /not a linear model over the raw features: its input is computed by Normalizer/);
});

test('binary LinearClassifier with one coefficient row: [1 - u, u] as ONNX Runtime writes it', async () => {
  for (const post of ['NONE', 'LOGISTIC', 'SOFTMAX']) {
    const bytes = buildOnnxModel({
      nodes: [{ op: 'LinearClassifier', domain: 'ai.onnx.ml', inputs: ['input'], outputs: ['label', 'probabilities'], attrs: { coefficients: [2, -1], intercepts: [-0.5], classlabels_ints: [0, 1], post_transform: post } }],
      inputs: [{ name: 'input', shape: ['N', 2] }],
      outputs: [{ name: 'label', elem: 7, shape: ['N'] }, { name: 'probabilities', shape: ['N', 2] }],
    });
    const r = parseLinearModel(readOnnxGraph(bytes));
    assert.ok(r.ok);
    const rows: Matrix = randomRows(3, 20, 2);
    const ort = (await runOrt(bytes, rows, ['probabilities'])).probabilities!;
    const p = new Float64Array(2);
    for (let i = 0; i < rows.rows; i++) {
      r.value.head.outputs(linearRaw(r.value, rows.data, undefined, i * 2), p);
      assert.ok(Math.abs(p[0]! - ort[i * 2]!) < 1e-6 && Math.abs(p[1]! - ort[i * 2 + 1]!) < 1e-6, post);
    }
  }
});
