import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { explanationColumns } from '../../src/jobs/explanation-columns.js';
import { buildOnnxModel, treeAttributes } from '../explain/helpers/onnx-model.builder.js';
import { randomEnsemble, randomRows } from '../explain/helpers/shapley.js';
import { EXAMPLES, exampleModels, SHARED, startServer, type TestServer } from '../helpers/server.js';
import { breastCancer, call, createBatchDeployment, parseCsv, uploadAsset, waitForJob } from './jobs-http.js';

/** Equal to 1e-9 relative (tree SHAP's tables and Algorithm 2 agree to rounding, not to the bit). */
const close = (actual: number, expected: number, what: string, tolerance = 1e-9) =>
  assert.ok(Math.abs(actual - expected) <= tolerance * Math.max(1, Math.abs(expected)), `${what}: ${actual} vs ${expected}`);

describe('batch jobs with explanation columns', () => {
  let server: TestServer;
  let scratch: string;
  const url = (path: string) => `${server.url}${path}`;
  const bc = breastCancer();
  /** Features of the packed kernel SHAP model: 2^12 - 2 coalitions are more than the budget, so they are sampled. */
  const W = 12;
  const records = bc.lines.map((l) => Object.fromEntries(l.split(',').map((v, j) => [bc.features[j]!, Number(v)])));

  /** Submits a job, waits for it, returns the job and its output text. */
  const run = async (body: Record<string, unknown>) => {
    const submitted = await call('POST', url('/api/v1/jobs'), body);
    assert.equal(submitted.status, 202, submitted.text);
    const job = await waitForJob(server.url, submitted.json.id, 120_000);
    assert.equal(job.status, 'completed', JSON.stringify(job));
    return { job, text: await (await fetch(url(job.output.url))).text() };
  };

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'plinth-explain-jobs-'));
    // A linear model (no manifest of its own: features f0..f29) with a background of 60 rows.
    await mkdir(join(scratch, 'logreg/1'), { recursive: true });
    await cp(join(SHARED, 'logreg_breast_cancer.onnx'), join(scratch, 'logreg/1/model.onnx'));
    const fNames = bc.features.map((_, j) => `f${j}`);
    await writeFile(join(scratch, 'logreg/1/background.csv'), [fNames.join(','), ...bc.lines.slice(100, 160)].join('\n') + '\n');
    await writeFile(join(scratch, 'logreg/1/model.yaml'), 'background: background.csv\n');
    // credit-risk (kernel SHAP: one input per column, string features) without its background.
    await cp(join(EXAMPLES, 'credit-risk'), join(scratch, 'credit-nobg'), { recursive: true });
    const manifest = await readFile(join(scratch, 'credit-nobg/1/model.yaml'), 'utf8');
    await writeFile(join(scratch, 'credit-nobg/1/model.yaml'), manifest.replace(/^background: .*$/m, '').replace(/^name: .*$/m, 'name: credit-nobg'));
    // breast-cancer whose manifest names a background file the version does not hold.
    await mkdir(join(scratch, 'bc-nofile/1'), { recursive: true });
    await cp(join(EXAMPLES, 'breast-cancer/1/model.onnx'), join(scratch, 'bc-nofile/1/model.onnx'));
    await writeFile(join(scratch, 'bc-nofile/1/model.yaml'), (await readFile(join(EXAMPLES, 'breast-cancer/1/model.yaml'), 'utf8')).replace(/^name: .*$/m, 'name: bc-nofile'));
    // A packed float input the exact methods refuse (MAX is not additive): kernel SHAP over a 4-feature matrix.
    const maxTrees = randomEnsemble(5, { trees: 6, depth: 4, features: W });
    await mkdir(join(scratch, 'maxtree/1'), { recursive: true });
    await writeFile(
      join(scratch, 'maxtree/1/model.onnx'),
      buildOnnxModel({
        nodes: [{ op: 'TreeEnsembleRegressor', domain: 'ai.onnx.ml', inputs: ['input'], outputs: ['variable'], attrs: { ...treeAttributes(maxTrees.trees, 1, 'target'), n_targets: 1, aggregate_function: 'MAX' } }],
        inputs: [{ name: 'input', shape: ['N', W] }],
        outputs: [{ name: 'variable', shape: ['N', 1] }],
      }),
    );
    const bg = randomRows(6, 40, W);
    await writeFile(join(scratch, 'maxtree/1/model.yaml'), `background:\n${Array.from({ length: bg.rows }, (_, i) => `  - {${Array.from({ length: W }, (_, j) => `f${j}: ${bg.data[i * W + j]}`).join(', ')}}`).join('\n')}\n`);
    server = await startServer(
      {
        ...exampleModels('breast-cancer', 'iris', 'credit-risk'),
        'rf/1/model.onnx': join(SHARED, 'rf_breast_cancer.onnx'),
        logreg: join(scratch, 'logreg'),
        'credit-nobg': join(scratch, 'credit-nobg'),
        maxtree: join(scratch, 'maxtree'),
        'bc-nofile': join(scratch, 'bc-nofile'),
      },
      { jobChunkRows: 50 },
    );
    for (const [name, model] of [['bc-batch', 'breast-cancer'], ['iris-batch', 'iris'], ['logreg-batch', 'logreg'], ['credit-batch', 'credit-risk'], ['nobg-batch', 'credit-nobg'], ['rf-batch', 'rf'], ['maxtree-batch', 'maxtree'], ['nofile-batch', 'bc-nofile']]) {
      await createBatchDeployment(server.url, name!, model!);
    }
  });
  after(async () => {
    await server.close();
    await rm(scratch, { recursive: true, force: true });
  });

  test('tree ensemble, CSV: shap_base and shap_<feature> per row equal /explain and ?explain=1 online, base + sum = the probability, numbers never formula-escaped', async () => {
    const ids = bc.lines.map((_, i) => (i === 7 ? '=HYPERLINK("http://x")' : `p${i}`));
    const csv = ['id,' + bc.header, ...bc.lines.map((l, i) => `${i === 7 ? '"=HYPERLINK(""http://x"")"' : ids[i]},${l}`)].join('\n') + '\n';
    assert.equal((await uploadAsset(server.url, 'explain-me.csv', csv)).status, 201);
    const { job, text } = await run({ deployment: 'bc-batch', input: { asset: 'explain-me.csv' }, carry: ['id'], explanations: true });
    assert.equal(job.explanations, true);
    const rows = parseCsv(text);
    const shapColumns = ['shap_base', ...bc.features.map((f) => `shap_${f}`)];
    assert.deepEqual(rows[0], ['id', 'prediction', 'probability_malignant', 'probability_benign', ...shapColumns]);
    assert.equal(rows.length - 1, bc.lines.length);

    const online = await call('POST', url('/models/breast-cancer/explain'), records);
    assert.equal(online.status, 200, online.text);
    assert.equal(online.json.method, 'tree-shap-path-dependent');
    assert.equal(online.json.output_space, 'probability');
    const flask = await call('POST', url('/models/breast-cancer/predict?explain=1'), records);
    assert.equal(flask.status, 200, flask.text);
    let negatives = 0;
    rows.slice(1).forEach((row, i) => {
      assert.equal(row[0], i === 7 ? `'${ids[i]}` : ids[i], `row ${i} id (formula escaping still applies to text cells)`);
      // A binary classifier's explanation is the positive class's, as ?explain=1 gives it.
      close(Number(row[4]), online.json.base_value.benign, `row ${i} base`);
      let sum = Number(row[4]);
      bc.features.forEach((f, j) => {
        const cell = row[5 + j]!;
        assert.ok(!cell.startsWith("'"), `row ${i} ${f}: a number is not escaped (${cell})`);
        if (cell.startsWith('-')) negatives++;
        close(Number(cell), online.json.explanations[i].values.benign[f], `row ${i} ${f} vs /explain`);
        close(Number(cell), flask.json.explanation[i][f], `row ${i} ${f} vs ?explain=1`);
        sum += Number(cell);
      });
      close(sum, Number(row[3]), `row ${i}: base + sum = p(benign)`, 1e-5);
    });
    assert.ok(negatives > 1000, `negative SHAP values are written as plain numbers (${negatives})`);
  });

  test('multiclass tree, NDJSON from inline rows: an explanation object for the predicted class', async () => {
    const iris = JSON.parse(await readFile(join(EXAMPLES, '../requests/iris.records.json'), 'utf8')) as Record<string, number>[];
    const fields = Object.keys(iris[0]!);
    const values = [...iris, { sepal_length: 6.0, sepal_width: 2.7, petal_length: 4.5, petal_width: 1.4 }].map((r) => fields.map((f) => r[f]));
    const { text } = await run({ deployment: 'iris-batch', input: { inputData: [{ fields, values }] }, output: { format: 'ndjson' }, explanations: true, probabilities: false });
    const lines = text.trim().split('\n').map((l) => JSON.parse(l));
    const online = await call('POST', url('/models/iris/explain'), values.map((v) => Object.fromEntries(fields.map((f, j) => [f, v[j]]))));
    assert.equal(online.status, 200, online.text);
    assert.deepEqual(lines.map((l) => l.prediction), ['setosa', 'virginica', 'versicolor'], 'three rows, three classes');
    lines.forEach((line, i) => {
      assert.deepEqual(Object.keys(line), ['prediction', 'explanation']);
      assert.equal(line.explanation.output, line.prediction, 'the predicted class is explained');
      assert.deepEqual(Object.keys(line.explanation.values), fields);
      close(line.explanation.base, online.json.base_value[line.prediction], `row ${i} base`);
      for (const f of fields) close(line.explanation.values[f], online.json.explanations[i].values[line.prediction][f], `row ${i} ${f}`);
    });
  });

  test('linear model: linear SHAP columns equal the online values; base + sum = the raw score', async () => {
    const header = bc.features.map((_, j) => `f${j}`).join(',');
    assert.equal((await uploadAsset(server.url, 'logreg-in.csv', [header, ...bc.lines.slice(0, 120)].join('\n'))).status, 201);
    const { text } = await run({ deployment: 'logreg-batch', input: { asset: 'logreg-in.csv' }, explanations: true });
    const rows = parseCsv(text);
    const features = bc.features.map((_, j) => `f${j}`);
    assert.deepEqual(rows[0], ['prediction', 'probability_0', 'probability_1', ...explanationColumns(features)]);
    const online = await call('POST', url('/models/logreg/explain'), bc.lines.slice(0, 120).map((l) => Object.fromEntries(l.split(',').map((v, j) => [`f${j}`, Number(v)]))));
    assert.equal(online.status, 200, online.text);
    assert.equal(online.json.method, 'linear-shap');
    assert.equal(online.json.output_space, 'raw');
    rows.slice(1).forEach((row, i) => {
      const expected = online.json.explanations[i];
      close(Number(row[3]), online.json.base_value['1'], `row ${i} base`);
      let sum = Number(row[3]);
      features.forEach((f, j) => {
        close(Number(row[4 + j]), expected.values['1'][f], `row ${i} ${f}`);
        sum += Number(row[4 + j]);
      });
      close(sum, expected.output['1'], `row ${i}: base + sum = the raw score of class 1`);
    });
  });

  test("kernel SHAP: one record per call, as a single-record ?explain=1; model calls in the job's own ONNX Runtime thread; the manifest's background", async () => {
    const background = (await readFile(join(EXAMPLES, 'credit-risk/1/background.csv'), 'utf8')).trim().split('\n');
    const header = background[0]!.split(',');
    const lines = background.slice(1, 4);
    assert.equal((await uploadAsset(server.url, 'credit-in.csv', [background[0], ...lines].join('\n'))).status, 201);
    const { text } = await run({ deployment: 'credit-batch', input: { asset: 'credit-in.csv' }, explanations: true });
    const rows = parseCsv(text);
    assert.deepEqual(rows[0]!.slice(3), explanationColumns(header));
    const asRecord = (line: string) => Object.fromEntries(line.split(',').map((v, j) => [header[j]!, v !== '' && Number.isFinite(Number(v)) ? Number(v) : v]));
    for (const [i, row] of rows.slice(1).entries()) {
      // Coalitions are sampled (20 features): equal values say each record was explained on its own, from the seed.
      const online = await call('POST', url('/models/credit-risk/explain'), asRecord(lines[i]!));
      assert.equal(online.status, 200, online.text);
      assert.equal(online.json.method, 'kernel-shap');
      assert.equal(online.json.kernel.exact, false);
      close(Number(row[3]), online.json.base_value.Risk, `row ${i} base`, 1e-6);
      let sum = Number(row[3]);
      header.forEach((f, j) => {
        close(Number(row[4 + j]), online.json.explanations[0].values.Risk[f], `row ${i} ${f}`, 1e-6);
        sum += Number(row[4 + j]);
      });
      close(sum, Number(row[2]), `row ${i}: base + sum = p(Risk)`, 1e-5);
    }

    // A packed matrix input: kernel SHAP refills one buffer for a record's model calls (2,048 coalitions x 40 background
    // rows: two calls of at most 65,536 rows), which must not move to the ONNX Runtime thread.
    const x = randomRows(7, 12, W);
    const names = Array.from({ length: W }, (_, j) => `f${j}`);
    const xLines = Array.from({ length: x.rows }, (_, i) => Array.from(x.data.subarray(i * W, (i + 1) * W)).join(','));
    assert.equal((await uploadAsset(server.url, 'maxtree-in.csv', [names.join(','), ...xLines].join('\n'))).status, 201);
    const packed = parseCsv((await run({ deployment: 'maxtree-batch', input: { asset: 'maxtree-in.csv' }, explanations: true })).text);
    assert.equal(packed.length - 1, x.rows);
    for (const [i, row] of packed.slice(1).entries()) {
      const expected = await call('POST', url('/models/maxtree/explain'), Object.fromEntries(xLines[i]!.split(',').map((v, j) => [names[j]!, Number(v)])));
      assert.equal(expected.status, 200, expected.text);
      assert.equal(expected.json.method, 'kernel-shap');
      assert.ok(expected.json.kernel.modelRows > 65_536, `${expected.json.kernel.modelRows} model rows`);
      close(Number(row[1]), expected.json.base_value.variable, `row ${i} base`, 1e-6);
      let sum = Number(row[1]);
      names.forEach((f, j) => {
        close(Number(row[2 + j]), expected.json.explanations[0].values.variable[f], `row ${i} ${f}`, 1e-6);
        sum += Number(row[2 + j]);
      });
      close(sum, Number(row[0]), `row ${i}: base + sum = the prediction`, 1e-5);
    }
  });

  test('DELETE stops a job within a second even in the middle of explaining a large chunk', async () => {
    const big = [bc.header, ...Array.from({ length: 40 }, () => bc.lines).flat()].join('\n');
    assert.equal((await uploadAsset(server.url, 'explain-big.csv', big)).status, 201);
    // One chunk of 22,760 rows: seconds of tree SHAP, explained in slices a stop can end.
    const submitted = await call('POST', url('/api/v1/jobs'), { deployment: 'bc-batch', input: { asset: 'explain-big.csv' }, output: { name: 'explain-big-out.csv' }, explanations: true, chunkRows: 40 * bc.lines.length });
    assert.equal(submitted.status, 202, submitted.text);
    const id = submitted.json.id;
    while ((await call('GET', url(`/api/v1/jobs/${id}`))).json.status !== 'running') await new Promise((resolve) => setTimeout(resolve, 10));
    await new Promise((resolve) => setTimeout(resolve, 700)); // the worker has started and is explaining
    const started = Date.now();
    const canceled = await call('DELETE', url(`/api/v1/jobs/${id}`));
    assert.equal(canceled.status, 200, canceled.text);
    assert.equal(canceled.json.status, 'canceled');
    assert.equal(canceled.json.rows.done, 0, 'canceled inside the first chunk');
    assert.ok(Date.now() - started < 1000, `cancel took ${Date.now() - started} ms`);
    assert.equal((await call('GET', url('/api/v1/assets/explain-big-out.csv'))).status, 404);
  });

  test('refused at submission: a model that needs a background its manifest lacks, column clashes', async () => {
    const credit = (await readFile(join(EXAMPLES, 'credit-risk/1/background.csv'), 'utf8')).trim().split('\n').slice(0, 3).join('\n');
    assert.equal((await uploadAsset(server.url, 'credit-nobg-in.csv', credit)).status, 201);
    const kernel = await call('POST', url('/api/v1/jobs'), { deployment: 'nobg-batch', input: { asset: 'credit-nobg-in.csv' }, explanations: true });
    assert.equal(kernel.status, 400, kernel.text);
    assert.match(kernel.json.error, /models:\/credit-nobg\/1: kernel SHAP needs background rows, and the model's manifest has no background: add `background:` to the model's model\.yaml/);
    const withoutExplanations = await call('POST', url('/api/v1/jobs'), { deployment: 'nobg-batch', input: { asset: 'credit-nobg-in.csv' } });
    assert.equal(withoutExplanations.status, 202, 'the same job without explanations is accepted');

    const rfInput = Array.from({ length: 30 }, (_, i) => `f${i}`).join(',') + '\n' + bc.lines[0] + '\n';
    assert.equal((await uploadAsset(server.url, 'rf-in.csv', rfInput)).status, 201);
    const tree = await call('POST', url('/api/v1/jobs'), { deployment: 'rf-batch', input: { asset: 'rf-in.csv' }, explanations: true });
    assert.equal(tree.status, 400, tree.text);
    assert.match(tree.json.error, /path-dependent tree SHAP needs background rows to compute the cover of the trees/);

    assert.equal((await uploadAsset(server.url, 'bc-in.csv', [bc.header, bc.lines[0]].join('\n'))).status, 201);
    const missing = await call('POST', url('/api/v1/jobs'), { deployment: 'nofile-batch', input: { asset: 'bc-in.csv' }, explanations: true });
    assert.equal(missing.status, 400, missing.text);
    assert.match(missing.json.error, /models:\/bc-nofile\/1: its explainer could not be built: model\.yaml \/background names 'background\.csv', which the model folder does not hold$/);

    assert.equal((await uploadAsset(server.url, 'clash.csv', ['shap_note,explanation,' + bc.header, `a,b,${bc.lines[0]}`].join('\n'))).status, 201);
    for (const column of ['shap_note', 'explanation']) {
      const clash = await call('POST', url('/api/v1/jobs'), { deployment: 'bc-batch', input: { asset: 'clash.csv' }, carry: [column], explanations: true });
      assert.equal(clash.status, 400, clash.text);
      assert.match(clash.json.error, new RegExp(`carry column '${column}' would clash with an output column`));
      const plain = await call('POST', url('/api/v1/jobs'), { deployment: 'bc-batch', input: { asset: 'clash.csv' }, carry: [column] });
      assert.equal(plain.status, 202, `${column} is only reserved when the job explains`);
    }
  });

  test('column names: shap_<feature> after shap_base, which steps aside for a feature named base', () => {
    assert.deepEqual(explanationColumns(['a', 'b']), ['shap_base', 'shap_a', 'shap_b']);
    assert.deepEqual(explanationColumns(['base', 'base_']), ['shap_base__', 'shap_base', 'shap_base_']);
  });
});
