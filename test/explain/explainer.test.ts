import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { PlinthError } from '../../src/core/errors.js';
import { ManifestSchema, parseManifest } from '../../src/core/manifest.js';
import { BACKGROUND_PATH, loadManifestBackground } from '../../src/explain/background.loader.js';
import { createExplainer, type Explanation } from '../../src/explain/explainer.js';
import { loadXgboostJson } from '../../src/explain/xgboost-json.loader.js';
import { breastCancer, example, fixture, loadBreastCancer, loadFile, loadModel, runOrt, slice } from './helpers/fixtures.js';
import { buildOnnxModel, treeAttributes } from './helpers/onnx-model.builder.js';
import { randomEnsemble, randomRows } from './helpers/shapley.js';

/** base + sum of values for every record and output equals the reported output, and that output is `expected`. */
function assertLocalAccuracy(e: Explanation, expected: (record: number, output: string) => number, tolerance: number): void {
  e.records.forEach((r, i) => {
    for (const o of e.outputs) {
      const total = e.base[o]! + Object.values(r.values[o]!).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(total - r.output[o]!) < 1e-9, `record ${i} ${o}: base + sum ${total} vs output ${r.output[o]}`);
      const want = expected(i, o);
      assert.ok(Math.abs(r.output[o]! - want) < tolerance, `record ${i} ${o}: ${r.output[o]} vs model ${want}`);
    }
  });
}

const isPlinth = (code: string, pattern: RegExp) => (err: unknown) => err instanceof PlinthError && err.code === code && pattern.test(err.message);

test('random forest: path-dependent tree SHAP needs background for cover, then explains records keyed by feature and class', async () => {
  const model = await loadBreastCancer('rf_breast_cancer.onnx');
  const { names, records, matrix } = breastCancer();
  const bare = createExplainer({ graph: model.graph, schema: model.schema, runtime: model.runtime });
  assert.equal(bare.method, 'tree-shap-path-dependent');
  assert.equal(bare.outputSpace, 'probability', "the forest's scores are its probabilities");
  assert.deepEqual(bare.info(), { explainable: true, family: 'tree', method: 'tree-shap-path-dependent', outputSpace: 'probability', needsBackground: true, hasBackground: false, reason: undefined });
  await assert.rejects(bare.explain([records[0]]), isPlinth('INVALID_INPUT', /stores no cover.*`background`.*`_samples`/));

  const explainer = createExplainer({
    graph: model.graph, schema: model.schema, runtime: model.runtime,
    background: { records: records.slice(0, 200), textual: false, source: 'manifest' },
  });
  const e = await explainer.explain(records.slice(300, 310));
  assert.equal(e.method, 'tree-shap-path-dependent');
  assert.equal(e.outputSpace, 'probability');
  assert.deepEqual(e.outputs, ['0', '1']);
  assert.deepEqual(Object.keys(e.records[0]!.values['1']!), names);
  assert.deepEqual(e.background, { rows: 200, source: 'cover' });
  const ort = (await runOrt(model.bytes, slice(matrix, 300, 310), ['probabilities'])).probabilities!;
  assertLocalAccuracy(e, (i, o) => ort[i * 2 + Number(o)]!, 1e-5);
});

test('random forest with `_samples`: interventional tree SHAP; one-by-one and batch calls agree', async () => {
  const model = await loadBreastCancer('rf_breast_cancer.onnx');
  const { records, matrix } = breastCancer();
  const explainer = createExplainer({ graph: model.graph, schema: model.schema, runtime: model.runtime });
  const e = await explainer.explain(records.slice(0, 5), { background: records.slice(100, 150) });
  assert.equal(e.method, 'tree-shap-interventional');
  assert.equal(e.outputSpace, 'probability');
  assert.deepEqual(e.background, { rows: 50, source: 'request' });
  const ort = (await runOrt(model.bytes, slice(matrix, 0, 5), ['probabilities'])).probabilities!;
  assertLocalAccuracy(e, (i, o) => ort[i * 2 + Number(o)]!, 1e-5);
  // A feature matrix works as well as records; one record at a time gives the same values.
  const single = await explainer.explain(slice(matrix, 3, 4), { background: slice(matrix, 100, 150) });
  assert.deepEqual(single.records[0], e.records[3]);
  // Path-dependent values in a batch (tables) equal those one by one (Algorithm 2).
  const withBg = createExplainer({ graph: model.graph, schema: model.schema, background: slice(matrix, 0, 100), limits: { tableTotalRows: 1e9 } });
  const batch = await withBg.explainArrays(slice(matrix, 200, 240));
  for (const i of [0, 17, 39]) {
    const one = await withBg.explainArrays(slice(matrix, 200 + i, 201 + i));
    for (let k = 0; k < 60; k++) assert.ok(Math.abs(one.values[0]![k]! - batch.values[i]![k]!) < 1e-12);
  }
});

test('XGBoost (ONNX with a Sigmoid, and its own JSON): raw margin without `_samples`, probability with them', async () => {
  const model = await loadBreastCancer('xgb_breast_cancer.onnx');
  const { records, matrix } = breastCancer();
  const ort = await runOrt(model.bytes, slice(matrix, 0, 8), ['margin', 'probability']);
  const explainer = createExplainer({ graph: model.graph, schema: model.schema, runtime: model.runtime, background: slice(matrix, 200, 300) });
  assert.equal(explainer.outputSpace, 'raw');
  const raw = await explainer.explain(records.slice(0, 8));
  assert.equal(raw.outputSpace, 'raw');
  assertLocalAccuracy(raw, (i, o) => (o === '1' ? ort.margin![i]! : -ort.margin![i]!), 1e-5);
  const prob = await explainer.explain(records.slice(0, 8), { background: records.slice(400, 460) });
  assert.equal(prob.method, 'tree-shap-interventional');
  assert.equal(prob.outputSpace, 'probability');
  assertLocalAccuracy(prob, (i, o) => (o === '1' ? ort.probability![i]! : 1 - ort.probability![i]!), 1e-6);
  // The stored background also serves a request asking for probability space.
  const stored = await explainer.explain(records.slice(0, 2), { outputSpace: 'probability' });
  assert.equal(stored.outputSpace, 'probability');
  assert.deepEqual(stored.background, { rows: 100, source: 'manifest' });

  // The JSON booster: cover in the model, so no background is needed.
  const json = loadXgboostJson(readFileSync(fixture('xgb_breast_cancer.json'), 'utf8'));
  const fromJson = createExplainer({ ensemble: json.ensemble, schema: model.schema });
  assert.equal(fromJson.info().needsBackground, false);
  const e = await fromJson.explain(records.slice(0, 8));
  assertLocalAccuracy(e, (i, o) => (o === '1' ? ort.margin![i]! : -ort.margin![i]!), 1e-5);
  assert.equal(e.background, undefined);
});

test('logistic regression: exact linear SHAP (raw scores) and, with `_samples`, probability space', async () => {
  const model = await loadBreastCancer('logreg_breast_cancer.onnx');
  const { records, matrix } = breastCancer();
  const explainer = createExplainer({ graph: model.graph, schema: model.schema, runtime: model.runtime, background: slice(matrix, 0, 100) });
  assert.equal(explainer.method, 'linear-shap');
  const raw = await explainer.explain(records.slice(200, 205));
  assert.equal(raw.outputSpace, 'raw');
  // Raw scores: class 0's are 0 (its coefficients are zero), class 1's is the logit.
  const ort = (await runOrt(model.bytes, slice(matrix, 200, 205), ['probabilities'])).probabilities!;
  assertLocalAccuracy(raw, (i, o) => (o === '0' ? 0 : Math.log(ort[i * 2 + 1]! / ort[i * 2]!)), 1e-3);
  const prob = await explainer.explain(records.slice(200, 205), { background: records.slice(0, 100) });
  assert.equal(prob.outputSpace, 'probability');
  assertLocalAccuracy(prob, (i, o) => ort[i * 2 + Number(o)]!, 1e-6);
  const bare = createExplainer({ graph: model.graph, schema: model.schema });
  await assert.rejects(bare.explain([records[0]]), isPlinth('INVALID_INPUT', /linear SHAP needs the background mean/));
});

test('anything else gets kernel SHAP through the runtime: mixed string and numeric inputs (credit-risk), batched model calls', async () => {
  const dir = example('credit-risk');
  const model = await loadFile(`${dir}/model.onnx`, readFileSync(`${dir}/model.yaml`, 'utf8'));
  const csv = readFileSync(`${ROOT_EXAMPLES}/data/credit-risk.csv`, 'utf8').trim().split('\n');
  const header = csv[0]!.split(',');
  const rows = csv.slice(1).map((l) => Object.fromEntries(l.split(',').map((v, j) => [header[j]!, v])));
  // The runtime as a function, as a LazyModel (whose session may be evicted and reloaded) gives it.
  let acquired = 0;
  const explainer = createExplainer({ graph: model.graph, schema: model.schema, runtime: async () => (acquired++, model.runtime) });
  assert.equal(explainer.method, 'kernel-shap');
  assert.match(explainer.info().reason!, /one input per feature/);
  await assert.rejects(explainer.explain(rows.slice(0, 1), { textual: true }), isPlinth('INVALID_INPUT', /kernel SHAP needs background rows.*`background`.*`_samples`/));
  const e = await explainer.explain(rows.slice(0, 2), { background: rows.slice(2), textual: true, budget: 200, seed: 3 });
  assert.equal(e.method, 'kernel-shap');
  assert.equal(e.outputSpace, 'probability');
  assert.deepEqual(e.outputs, ['No Risk', 'Risk']);
  assert.ok(e.kernel!.modelCalls <= 2, `${e.kernel!.modelCalls} model calls`);
  assert.equal(acquired, e.kernel!.modelCalls);
  const probs = await model.runtime.run(
    (await import('../../src/core/records.mapper.js')).recordsToTensors(model.schema, rows.slice(0, 2), { textual: true }),
    ['probabilities'],
  );
  const p = probs.get('probabilities')!.data as Float32Array;
  assertLocalAccuracy(e, (i, o) => p[i * 2 + (o === 'Risk' ? 1 : 0)]!, 1e-6);
  // Same seed, same values.
  const again = await explainer.explain(rows.slice(0, 2), { background: rows.slice(2), textual: true, budget: 200, seed: 3 });
  assert.deepEqual(again.records, e.records);
});

const ROOT_EXAMPLES = example('x').replace(/\/models\/x\/1$/, '');

test('bad input: budget over the maximum is 400, too much background is 413, the reason a tree model falls back is kept', async () => {
  const e = randomEnsemble(3, { trees: 3, depth: 3, features: 4 });
  const bytes = buildOnnxModel({
    nodes: [{ op: 'TreeEnsembleRegressor', domain: 'ai.onnx.ml', inputs: ['input'], outputs: ['variable'], attrs: { ...treeAttributes(e.trees, 1, 'target'), n_targets: 1, aggregate_function: 'MAX' } }],
    inputs: [{ name: 'input', shape: ['N', 4] }],
    outputs: [{ name: 'variable', shape: ['N', 1] }],
  });
  const model = await loadModel(bytes);
  const explainer = createExplainer({ graph: model.graph, schema: model.schema, runtime: model.runtime, limits: { maxBudget: 500, maxBackgroundRows: 20 } });
  assert.equal(explainer.method, 'kernel-shap');
  assert.match(explainer.info().reason!, /aggregate_function MAX: SHAP needs an additive ensemble/);
  const rows = randomRows(1, 2, 4);
  const bg = randomRows(2, 10, 4);
  await assert.rejects(explainer.explain(rows, { background: bg, budget: 501 }), isPlinth('INVALID_INPUT', /budget 501 is over the maximum of 500/));
  await assert.rejects(explainer.explain(rows, { background: randomRows(3, 21, 4) }), isPlinth('PAYLOAD_TOO_LARGE', /21 background rows; at most 20/));
  await assert.rejects(explainer.explain(rows, { background: [] }), isPlinth('INVALID_INPUT', /`_samples` must be a non-empty array/));
  await assert.rejects(explainer.explain([{ f0: 1 }], { background: bg }), isPlinth('INVALID_INPUT', /record\[0\]: missing feature 'f1'/));
  const ok = await explainer.explain(rows, { background: bg, budget: 14 });
  assert.equal(ok.kernel!.exact, true, '2^4 - 2 = 14 coalitions: exact');
  const ort = (await runOrt(bytes, rows, ['variable'])).variable!;
  assertLocalAccuracy(ok, (i) => ort[i]!, 1e-5);
});

test('global importance: mean |SHAP| per feature over the stored background, cached; without background it says how to add one', async () => {
  const model = await loadBreastCancer('rf_breast_cancer.onnx');
  const { names, matrix } = breastCancer();
  const explainer = createExplainer({ graph: model.graph, schema: model.schema, background: slice(matrix, 0, 300), limits: { importanceRows: 100 } });
  const g = await explainer.globalImportance();
  assert.equal(g.rows, 100);
  assert.deepEqual(Object.keys(g.importance), names);
  assert.ok(Object.values(g.importance).every((v) => v >= 0));
  const top = Object.entries(g.importance).sort((a, b) => b[1] - a[1]);
  assert.ok(top[0]![1] > 0.01 && top[0]![1] > 10 * top.at(-1)![1], `${top[0]} vs ${top.at(-1)}`);
  // Binary forest: |SHAP| is the same for both classes.
  for (const f of names) assert.ok(Math.abs(g.byOutput['0']![f]! - g.byOutput['1']![f]!) < 1e-9, f);
  assert.equal(await explainer.globalImportance(), g);
  const bare = createExplainer({ graph: model.graph, schema: model.schema });
  await assert.rejects(bare.globalImportance(), isPlinth('INVALID_INPUT', /`background`/));
});

test('manifest `background`: inline records or a relative .csv/.json path; the loader enforces the row limit', async () => {
  assert.equal((ManifestSchema.properties.background.anyOf[1] as { pattern: string }).pattern, BACKGROUND_PATH.source);
  const m = parseManifest('background:\n  - {a: 1, b: x}\n  - {a: 2, b: y}\n');
  assert.equal(Array.isArray(m.background) && m.background.length, 2);
  assert.equal(parseManifest('background: data/background.csv\n').background, 'data/background.csv');
  for (const bad of ['../x.csv', '/etc/x.csv', 'a/../../x.json', 'x.txt', 'C:/x.csv']) {
    assert.throws(() => parseManifest(`background: ${JSON.stringify(bad)}\n`), /model.yaml \/background/, bad);
  }
  const files: Record<string, string> = { 'bg.csv': 'a,b\n1,x\n2,\n', 'bg.json': '[{"a": 1, "b": "x"}]' };
  const read = async (p: string) => files[p] ?? Promise.reject(new Error(`no ${p}`));
  const csv = await loadManifestBackground('bg.csv', read, 10);
  assert.deepEqual(csv, { records: [{ a: '1', b: 'x' }, { a: '2', b: null }], textual: true, source: 'manifest' });
  assert.deepEqual((await loadManifestBackground('bg.json', read, 10))!.records, [{ a: 1, b: 'x' }]);
  assert.deepEqual((await loadManifestBackground([{ a: 1 }], read, 10))!.records, [{ a: 1 }]);
  assert.equal(await loadManifestBackground(undefined, read, 10), undefined);
  await assert.rejects(loadManifestBackground('bg.csv', read, 1), /has 2 rows; at most 1/);
  await assert.rejects(loadManifestBackground('../bg.csv', read, 10), /must be the relative path/);
});
