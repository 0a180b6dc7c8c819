import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describeModel } from '../../src/core/model-schema.js';
import { readOnnxGraph } from '../../src/runtime/onnx/onnx-graph.reader.js';
import { parseTreeEnsemble } from '../../src/explain/tree-ensemble.parser.js';
import { predictOutputs, predictRaw } from '../../src/explain/tree-ensemble.evaluator.js';
import type { Matrix, TreeEnsemble } from '../../src/explain/tree-ensemble.types.js';
import { breastCancer, example, fixture, loadFile, loadModel, runOrt } from './helpers/fixtures.js';
import { buildOnnxModel, singleOpModel, treeAttributes, type AttrValue } from './helpers/onnx-model.builder.js';
import { randomEnsemble, randomRows } from './helpers/shapley.js';

function parsed(bytes: Uint8Array, schema = describeModel({ inputs: [], outputs: [] }, undefined, {})) {
  const r = parseTreeEnsemble(readOnnxGraph(bytes), schema.binding ? schema : undefined);
  if (!r.ok) throw new Error(r.reason);
  return r.value;
}

/** Largest |ours - ORT| over every row and output column. */
function maxOutputError(e: TreeEnsemble, m: Matrix, ort: Float32Array): number {
  const C = ort.length / m.rows;
  let worst = 0;
  for (let i = 0; i < m.rows; i++) {
    const ours = predictOutputs(e, m.data.subarray(i * m.cols, (i + 1) * m.cols));
    // A single ORT column (a regressor, or XGBoost's probability) is our last column.
    for (let c = 0; c < C; c++) {
      const o = ours[C === 1 ? ours.length - 1 : c]!;
      const d = Math.abs(o - ort[i * C + c]!);
      worst = Number.isNaN(d) ? Infinity : Math.max(worst, d);
    }
  }
  return worst;
}

test('rf_breast_cancer: 100 trees of depth <= 8 over 30 features, both class scores; ORT probabilities to 1e-5 on every row', async () => {
  const model = await loadFile(fixture('rf_breast_cancer.onnx'));
  const r = parseTreeEnsemble(model.graph, model.schema);
  assert.ok(r.ok, r.ok ? '' : r.reason);
  const e = r.value;
  assert.equal(e.trees.length, 100);
  assert.ok(e.trees.every((t) => t.depth <= 8));
  assert.equal(e.nFeatures, 30);
  assert.equal(e.nScores, 2);
  assert.equal(e.head.describe(), '2 scores, NONE');
  assert.equal(e.hasCover, false, 'sklearn converters write no nodes_hitrates');
  const { matrix } = breastCancer();
  const ort = await runOrt(model.bytes, matrix, ['probabilities']);
  assert.ok(maxOutputError(e, matrix, ort.probabilities!) < 1e-5);
});

test('xgb_breast_cancer.onnx: a regressor margin with a Sigmoid after it becomes a one-score logistic head; margin and probability match ORT', async () => {
  const model = await loadFile(fixture('xgb_breast_cancer.onnx'));
  const r = parseTreeEnsemble(model.graph, model.schema);
  assert.ok(r.ok, r.ok ? '' : r.reason);
  const e = r.value;
  assert.equal(e.kind, 'classifier');
  assert.equal(e.head.describe(), '1 score, logistic link, one-minus');
  const { matrix } = breastCancer();
  const ort = await runOrt(model.bytes, matrix, ['margin', 'probability']);
  let worst = 0;
  for (let i = 0; i < matrix.rows; i++) worst = Math.max(worst, Math.abs(predictRaw(e, matrix.data, undefined, i * 30)[0]! - ort.margin![i]!));
  assert.ok(worst < 1e-5, `margin error ${worst}`);
  assert.ok(maxOutputError(e, matrix, ort.probability!) < 1e-6);
  // Without a schema naming the served output there is no link to find: the raw margin is the output.
  assert.equal(parsed(model.bytes).head.describe(), '1 scores, NONE');
});

test('examples: iris (3 classes, string labels) and diabetes (regressor with a base value) match ORT', async () => {
  for (const [name, width] of [['iris', 4], ['diabetes', 10]] as const) {
    const model = await loadFile(`${example(name)}/model.onnx`, readFileSync(`${example(name)}/model.yaml`, 'utf8'));
    const r = parseTreeEnsemble(model.graph, model.schema);
    assert.ok(r.ok, r.ok ? '' : r.reason);
    const rows = randomRows(3, 200, width);
    // Spread the grid over each example's feature scale.
    for (let i = 0; i < rows.data.length; i++) rows.data[i] = name === 'iris' ? 1 + 6 * rows.data[i]! : -0.1 + 0.2 * rows.data[i]!;
    const out = name === 'iris' ? 'probabilities' : 'variable';
    const ort = await runOrt(model.bytes, rows, [out]);
    assert.ok(maxOutputError(r.value, rows, ort[out]!) < 1e-4, name);
  }
});

test('every branch rule, missing values tracking true or not, NaN inputs, AVERAGE and base values: regressor matches ORT', async () => {
  for (const seed of [1, 2, 3]) {
    const e = randomEnsemble(seed, { trees: 6, depth: 5, features: 6, scores: 2, allModes: true });
    for (const aggregate of ['SUM', 'AVERAGE']) {
      const attrs: Record<string, AttrValue> = { ...treeAttributes(e.trees, 2, 'target'), n_targets: 2, base_values: [0.25, -0.5], aggregate_function: aggregate };
      const bytes = singleOpModel('TreeEnsembleRegressor', attrs, 6, 2);
      const ours = parsed(bytes);
      assert.equal(ours.aggregate, aggregate);
      const rows = randomRows(seed + 100, 300, 6, 0.15);
      const ort = await runOrt(bytes, rows, ['variable']);
      const err = maxOutputError(ours, rows, ort.variable!);
      assert.ok(err < 1e-5, `seed ${seed} ${aggregate}: ${err}`);
    }
  }
});

test('multi-class classifiers under NONE, LOGISTIC, SOFTMAX match ORT, with base values', async () => {
  const e = randomEnsemble(9, { trees: 5, depth: 4, features: 5, scores: 3, allModes: true });
  for (const post of ['NONE', 'LOGISTIC', 'SOFTMAX']) {
    const attrs = { ...treeAttributes(e.trees, 3, 'class'), classlabels_int64s: [0, 1, 2], post_transform: post, base_values: [0.1, -0.2, 0.3] };
    const bytes = singleOpModel('TreeEnsembleClassifier', attrs, 5, 3);
    const rows = randomRows(10, 200, 5, 0.1);
    const ort = await runOrt(bytes, rows, ['probabilities']);
    assert.ok(maxOutputError(parsed(bytes), rows, ort.probabilities!) < 1e-5, post);
  }
});

test("binary classifiers: ONNX Runtime's one-score and two-score layouts are mirrored, the inconsistent ones refused", async () => {
  // One tree: x0 <= 0.5 -> leaf 1, else leaf 2.
  const tree = {
    nodes_treeids: [0, 0, 0], nodes_nodeids: [0, 1, 2], nodes_featureids: [0, 0, 0], nodes_values: [0.5, 0, 0],
    nodes_modes: ['BRANCH_LEQ', 'LEAF', 'LEAF'], nodes_truenodeids: [1, 0, 0], nodes_falsenodeids: [2, 0, 0],
  };
  const weights = (ids: number[], w: number[]) => ({
    class_treeids: ids.map(() => 0), class_nodeids: ids.length === 2 ? [1, 2] : [1, 1, 2, 2], class_ids: ids, class_weights: w, classlabels_int64s: [0, 1],
  });
  const layouts: [string, Record<string, AttrValue>][] = [
    ['class 1 only, positive', weights([1, 1], [0.3, 0.8])],
    ['class 0 only, positive', weights([0, 0], [0.3, 0.8])],
    ['class 0 only, mixed', weights([0, 0], [-1.2, 0.7])],
    ['class 0 only, mixed, one base value', { ...weights([0, 0], [-1.2, 0.7]), base_values: [0.1] }],
    ['class 0 only, mixed, two base values', { ...weights([0, 0], [-1.2, 0.7]), base_values: [0.1, 0.2] }],
    ['class 1 only, mixed, one base value', { ...weights([1, 1], [-1.2, 0.7]), base_values: [0.1] }],
    ['both classes', weights([0, 1, 0, 1], [0.3, 0.7, -0.4, 1.4])],
    ['both classes, one base value', { ...weights([0, 1, 0, 1], [0.3, 0.7, -0.4, 1.4]), base_values: [0.1] }],
  ];
  const rows: Matrix = { data: Float32Array.of(0, 0, 1, 0, NaN, 0), rows: 3, cols: 2 };
  let checked = 0;
  for (const [name, layout] of layouts) {
    for (const post of ['NONE', 'LOGISTIC', 'SOFTMAX', 'SOFTMAX_ZERO']) {
      const bytes = singleOpModel('TreeEnsembleClassifier', { ...tree, ...layout, post_transform: post }, 2, 2);
      const ort = await runOrt(bytes, rows, ['probabilities']);
      const err = maxOutputError(parsed(bytes), rows, ort.probabilities!);
      assert.ok(err < 1e-6, `${name}, ${post}: ${err}`);
      checked++;
    }
  }
  assert.equal(checked, 32);
  const refused: [string, Record<string, AttrValue>][] = [
    ['two base values with class-1 weights', { ...weights([0, 1, 0, 1], [0.3, 0.7, -0.4, 1.4]), base_values: [0.1, 0.2] }],
    ['class 1 only with two base values', { ...weights([1, 1], [-1.2, 0.7]), base_values: [0.1, 0.2] }],
  ];
  for (const [name, layout] of refused) {
    const r = parseTreeEnsemble(readOnnxGraph(singleOpModel('TreeEnsembleClassifier', { ...tree, ...layout }, 2, 2)));
    assert.ok(!r.ok, name);
    assert.match(r.reason, /base_values/);
  }
});

test('a one-target regressor ignores post_transform, as ORT does', async () => {
  const e = randomEnsemble(4, { trees: 3, depth: 3, features: 3 });
  for (const post of ['LOGISTIC', 'SOFTMAX']) {
    const bytes = singleOpModel('TreeEnsembleRegressor', { ...treeAttributes(e.trees, 1, 'target'), n_targets: 1, base_values: [0.5], post_transform: post }, 3, 1);
    const rows = randomRows(5, 50, 3);
    const ort = await runOrt(bytes, rows, ['variable']);
    assert.ok(maxOutputError(parsed(bytes), rows, ort.variable!) < 1e-6, post);
  }
});

test('nodes_hitrates become the cover; the first node listed is the root, as ONNX Runtime takes it', async () => {
  const e = randomEnsemble(6, { trees: 2, depth: 3, features: 3, cover: true });
  const bytes = singleOpModel('TreeEnsembleRegressor', { ...treeAttributes(e.trees, 1, 'target', { hitrates: true, order: 'root-first' }), n_targets: 1 }, 3, 1);
  const ours = parsed(bytes);
  assert.equal(ours.hasCover, true);
  assert.deepEqual(Array.from(ours.trees[0]!.cover!).sort(), Array.from(e.trees[0]!.cover!, Math.fround).sort());
  const rows = randomRows(7, 50, 3);
  const ort = await runOrt(bytes, rows, ['variable']);
  assert.ok(maxOutputError(ours, rows, ort.variable!) < 1e-6);
  const reversed = parseTreeEnsemble(readOnnxGraph(singleOpModel('TreeEnsembleRegressor', { ...treeAttributes(e.trees, 1, 'target', { order: 'reversed' }), n_targets: 1 }, 3, 1)));
  assert.ok(!reversed.ok);
  assert.match(reversed.reason, /tree 0 lists node \d+ first but its root is node 0 \(ONNX Runtime starts from the first node listed\)/);
});

test('refusals name the reason: MIN/MAX aggregation, a Scaler in front, missing thresholds, several ensembles', () => {
  const e = randomEnsemble(8, { trees: 2, depth: 2, features: 3 });
  const attrs: Record<string, AttrValue> = { ...treeAttributes(e.trees, 1, 'target'), n_targets: 1 };
  for (const agg of ['MIN', 'MAX']) {
    const r = parseTreeEnsemble(readOnnxGraph(singleOpModel('TreeEnsembleRegressor', { ...attrs, aggregate_function: agg }, 3, 1)));
    assert.ok(!r.ok);
    assert.match(r.reason, new RegExp(`aggregate_function ${agg}: SHAP needs an additive ensemble \\(SUM or AVERAGE\\)`));
  }
  const scaled = buildOnnxModel({
    nodes: [
      { op: 'Scaler', domain: 'ai.onnx.ml', inputs: ['input'], outputs: ['scaled'], attrs: { offset: [0, 0, 0], scale: [2, 2, 2] } },
      { op: 'TreeEnsembleRegressor', domain: 'ai.onnx.ml', inputs: ['scaled'], outputs: ['variable'], attrs },
    ],
    inputs: [{ name: 'input', shape: ['N', 3] }],
    outputs: [{ name: 'variable', shape: ['N', 1] }],
  });
  const r1 = parseTreeEnsemble(readOnnxGraph(scaled));
  assert.ok(!r1.ok);
  assert.match(r1.reason, /not a tree model over the raw features: the ensemble reads 'scaled', computed by Scaler/);
  const noValues = { ...attrs };
  delete noValues.nodes_values;
  const r2 = parseTreeEnsemble(readOnnxGraph(singleOpModel('TreeEnsembleRegressor', noValues, 3, 1)));
  assert.ok(!r2.ok);
  assert.match(r2.reason, /nodes_values is missing \(a model storing double precision nodes_values_as_tensor/);
  const two = buildOnnxModel({
    nodes: [
      { op: 'TreeEnsembleRegressor', domain: 'ai.onnx.ml', inputs: ['input'], outputs: ['a'], attrs },
      { op: 'TreeEnsembleRegressor', domain: 'ai.onnx.ml', inputs: ['input'], outputs: ['b'], attrs },
    ],
    inputs: [{ name: 'input', shape: ['N', 3] }],
    outputs: [{ name: 'a', shape: ['N', 1] }, { name: 'b', shape: ['N', 1] }],
  });
  const r3 = parseTreeEnsemble(readOnnxGraph(two));
  assert.ok(!r3.ok);
  assert.match(r3.reason, /2 tree ensembles/);
  const r4 = parseTreeEnsemble(readOnnxGraph(readFileSync(fixture('logreg_breast_cancer.onnx'))));
  assert.ok(!r4.ok);
  assert.match(r4.reason, /no TreeEnsembleClassifier or TreeEnsembleRegressor/);
});

test('the schema decides the served output: a manifest naming an output the ensemble does not produce is refused', async () => {
  const model = await loadModel(readFileSync(fixture('xgb_breast_cancer.onnx')), 'outputs:\n  value: margin\n');
  const r = parseTreeEnsemble(model.graph, { ...model.schema, probabilitiesOutput: 'label_not_there' });
  assert.ok(!r.ok);
  assert.match(r.reason, /'label_not_there' is not computed from the model's scores alone/);
});
