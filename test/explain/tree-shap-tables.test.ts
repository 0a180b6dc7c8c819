import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createExplainer } from '../../src/explain/explainer.js';
import { predictRaw, predictRawBatch } from '../../src/explain/tree-ensemble.evaluator.js';
import { parseTreeEnsemble } from '../../src/explain/tree-ensemble.parser.js';
import { NodeMode, type Tree, type TreeEnsemble } from '../../src/explain/tree-ensemble.types.js';
import { TreeShapTables, layTables } from '../../src/explain/tree-shap-tables.js';
import { PathDependentTreeShap, prepareEnsemble } from '../../src/explain/tree-shap.js';
import { OutputHead } from '../../src/explain/output-head.js';
import { breastCancer, loadBreastCancer, slice } from './helpers/fixtures.js';
import { maxAbsDiff, randomEnsemble, randomRows } from './helpers/shapley.js';

/** Split nodes on the path to each leaf, minus the distinct features there: > 0 when a feature repeats. */
function repeatedSplits(tree: Tree): number {
  let repeats = 0;
  const walk = (node: number, path: number[]): void => {
    if (tree.feature[node]! < 0) {
      repeats += path.length - new Set(path).size;
      return;
    }
    walk(tree.yes[node]!, [...path, tree.feature[node]!]);
    walk(tree.no[node]!, [...path, tree.feature[node]!]);
  };
  walk(0, []);
  return repeats;
}

test('tables (shared tables for leaf pairs, repeated features on a path, blocks of rows) equal Algorithm 2 for 1, 2 and 3 scores', () => {
  for (const scores of [1, 2, 3]) {
    // Deep trees over few features: most paths split on some feature twice.
    const M = 5;
    const e = randomEnsemble(40 + scores, { trees: 6, depth: 7, features: M, scores, allModes: scores === 2, cover: true });
    const prepared = prepareEnsemble(e);
    const layout = layTables(prepared)!;
    assert.ok(e.trees.some((t) => repeatedSplits(t) > 0), 'some path repeats a feature');
    const pairs = layout.trees.reduce((s, t) => s + t.pairs, 0);
    if (scores <= 2) assert.ok(pairs > 0, 'leaf pairs share tables');
    else assert.equal(pairs, 0, 'no shared tables beyond two scores');
    const tables = new TreeShapTables(prepared, layout);
    const alg2 = new PathDependentTreeShap(prepared);
    // 150 rows: three blocks, the last one partial.
    const rows = randomRows(90 + scores, 150, M, scores === 2 ? 0.1 : 0);
    const width = M * scores;
    const batch = tables.explainRows(rows, new Float64Array(rows.rows * width));
    for (let i = 0; i < rows.rows; i++) {
      const want = alg2.explain(rows.data, new Float64Array(width), i * M);
      assert.ok(maxAbsDiff(batch.subarray(i * width, (i + 1) * width), want) < 1e-12, `row ${i}`);
      if (i % 50 === 7) assert.ok(maxAbsDiff(tables.explain(rows.data, new Float64Array(width), i * M), want) < 1e-12);
    }
  }
});

test('a path with more than 16 distinct features gets no tables; the explainer then uses Algorithm 2, as it does over maxTableBytes', async () => {
  // A chain: node i splits on feature i, its false child is a leaf; 18 features on the deepest path.
  const F = 18;
  const n = 2 * F + 1;
  const tree: Tree = {
    feature: new Int32Array(n).fill(-1), threshold: new Float64Array(n), mode: new Uint8Array(n), yes: new Int32Array(n).fill(-1),
    no: new Int32Array(n).fill(-1), missingYes: new Uint8Array(n), cover: new Float64Array(n), values: new Float64Array(n), depth: F,
  };
  const cover = (node: number, c: number, depth: number): void => {
    tree.cover![node] = c;
    if (depth === F) return (void (tree.values[node] = depth));
    tree.feature[node] = depth;
    tree.threshold[node] = 0.5;
    tree.mode[node] = NodeMode.BRANCH_LEQ;
    const yes = node + 1;
    const no = node + 2 * (F - depth);
    tree.yes[node] = yes;
    tree.no[node] = no;
    tree.values[no] = -depth;
    tree.cover![no] = c / 3;
    cover(yes, (2 * c) / 3, depth + 1);
  };
  cover(0, 300, 0);
  const e: TreeEnsemble = {
    source: 'test', kind: 'regressor', nFeatures: F, nScores: 1, trees: [tree], base: new Float64Array(1), aggregate: 'SUM',
    head: OutputHead.vector(1, 'NONE'), hasCover: true,
  };
  const prepared = prepareEnsemble(e);
  assert.equal(layTables(prepared), undefined);
  assert.equal(layTables(prepared, 18)!.trees[0]!.leafD.reduce((a, b) => Math.max(a, b), 0), 18);
  assert.throws(() => new TreeShapTables(prepared), /more than 16 distinct features/);

  // Over the memory limit: the same values through Algorithm 2.
  const model = await loadBreastCancer('rf_breast_cancer.onnx');
  const { matrix } = breastCancer();
  const init = { graph: model.graph, schema: model.schema, background: slice(matrix, 0, 100) };
  const rows = slice(matrix, 300, 340);
  const withTables = await createExplainer(init).explainArrays(rows);
  const without = await createExplainer({ ...init, limits: { maxTableBytes: 1 } }).explainArrays(rows);
  const parsed = parseTreeEnsemble(model.graph, model.schema);
  assert.ok(parsed.ok);
  const alg2 = new PathDependentTreeShap(prepareEnsemble(parsed.value, slice(matrix, 0, 100)));
  const one = alg2.explain(rows.data, new Float64Array(60), 5 * 30);
  assert.deepEqual(without.values[5], one, 'the limited explainer ran Algorithm 2');
  assert.notDeepEqual(withTables.values[5], one, 'the other one used the tables');
  for (let i = 0; i < rows.rows; i++) assert.ok(maxAbsDiff(withTables.values[i]!, without.values[i]!) < 1e-12);
  await model.runtime.dispose();
});

test('predictRawBatch gives predictRaw\'s scores exactly, for every split rule and missing values', () => {
  const e = randomEnsemble(7, { trees: 5, depth: 5, features: 6, scores: 3, allModes: true });
  const rows = randomRows(8, 60, 6, 0.2);
  const batch = predictRawBatch(e, rows);
  for (let i = 0; i < rows.rows; i++) assert.deepEqual(batch.subarray(i * 3, i * 3 + 3), predictRaw(e, rows.data, new Float64Array(3), i * 6));
});

test('the tables give predictRawBatch\'s raw scores bit for bit from their own routing (every split rule, missing values, a one-leaf tree, 1 to 3 scores)', () => {
  for (const scores of [1, 2, 3]) {
    const e = randomEnsemble(60 + scores, { trees: 5, depth: 6, features: 6, scores, allModes: scores !== 1, cover: true });
    const leaf: Tree = {
      feature: Int32Array.of(-1), threshold: new Float64Array(1), mode: new Uint8Array(1), yes: Int32Array.of(-1), no: Int32Array.of(-1),
      missingYes: new Uint8Array(1), cover: Float64Array.of(1), values: Float64Array.from({ length: scores }, (_, k) => 0.1 + 0.3 * k), depth: 0,
    };
    e.trees.splice(2, 0, leaf);
    e.base = Float64Array.from({ length: scores }, (_, k) => 0.7 - k);
    const tables = new TreeShapTables(prepareEnsemble(e));
    // 150 rows: three blocks, the last one partial.
    const rows = randomRows(70 + scores, 150, 6, scores === 1 ? 0 : 0.2);
    const width = 6 * scores;
    const raw = new Float64Array(rows.rows * scores);
    const phi = tables.explainRows(rows, new Float64Array(rows.rows * width), raw);
    assert.deepEqual(raw, predictRawBatch(e, rows));
    assert.deepEqual(phi, tables.explainRows(rows, new Float64Array(rows.rows * width)), 'the same values with or without scores');
  }
});
