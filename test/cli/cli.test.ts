import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertReadableFailure, plinth } from '../helpers/cli.js';
import { freePort } from '../helpers/serve-process.js';
import { EXAMPLES, FIXTURES, ROOT, exampleModels, startServer, type TestServer } from '../helpers/server.js';

const IRIS_ONNX = join(EXAMPLES, 'iris/1/model.onnx');
const IRIS_YAML = join(EXAMPLES, 'iris/1/model.yaml');
const IRIS_RECORDS = join(ROOT, 'examples/requests/iris.records.json');
const IRIS_CSV = join(ROOT, 'examples/data/iris.csv');
const CLASSES = ['setosa', 'versicolor', 'virginica'];

describe('plinth help', { concurrency: true }, () => {
  test('--help lists serve, inspect and predict', async () => {
    const run = await plinth(['--help']);
    assert.equal(run.code, 0, run.stderr);
    for (const command of ['serve', 'inspect', 'predict']) assert.match(run.stdout, new RegExp(`^\\s+${command}\\b`, 'm'), run.stdout);
  });

  for (const [command, option] of [['serve', '--models'], ['inspect', '--manifest'], ['predict', '--data']] as const) {
    test(`${command} --help works and shows ${option}`, async () => {
      const run = await plinth([command, '--help']);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, new RegExp(`Usage: plinth ${command}`));
      assert.ok(run.stdout.includes(option), run.stdout);
    });
  }

  test('--version prints the package version', async () => {
    const { version } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const run = await plinth(['--version']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.trim(), version);
  });

  test('an unknown command fails with a message', async () => {
    const run = await plinth(['frobnicate']);
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /unknown command 'frobnicate'/);
  });
});

describe('plinth inspect', { concurrency: true }, () => {
  test('prints inputs, outputs, task and classes with a manifest', async () => {
    const run = await plinth(['inspect', IRIS_ONNX, '--manifest', IRIS_YAML]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^inputs:\n\s+input\s+FP32\s+\[\?, 4\]$/m);
    assert.match(run.stdout, /^outputs:\n\s+label\s+BYTES\s+\[\?\]\n\s+probabilities\s+FP32\s+\[\?, 3\]$/m);
    assert.match(run.stdout, /^task: multiclass_classification$/m);
    assert.match(run.stdout, /^classes: setosa, versicolor, virginica$/m);
    assert.match(run.stdout, /^features \(4\): sepal_length \(numeric\), sepal_width \(numeric\), petal_length \(numeric\), petal_width \(numeric\)$/m);
  });

  test('--json prints parseable JSON with signature.inputs', async () => {
    const run = await plinth(['inspect', IRIS_ONNX, '--manifest', IRIS_YAML, '--json']);
    assert.equal(run.code, 0, run.stderr);
    const doc = JSON.parse(run.stdout);
    assert.deepEqual(doc.signature.inputs, [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }]);
    assert.deepEqual(doc.signature.outputs.map((o: { name: string }) => o.name), ['label', 'probabilities']);
    assert.deepEqual(doc.schema.classes, CLASSES);
    assert.equal(doc.schema.task, 'multiclass_classification');
  });

  test('a tensor model without a manifest', async () => {
    const run = await plinth(['inspect', join(FIXTURES, 'add-mul.onnx')]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^\s+a\s+FP32\s+\[\?, 3\]$/m);
    assert.match(run.stdout, /^\s+product\s+FP32\s+\[\?, 3\]$/m);
    assert.match(run.stdout, /^task: unknown \(tensor model\)$/m);
    assert.doesNotMatch(run.stdout, /^classes:/m);
  });

  test('broken.onnx exits non-zero with a readable message', async () => {
    const run = await plinth(['inspect', join(FIXTURES, 'broken.onnx')]);
    assertReadableFailure(run, /broken\.onnx/, /ONNX model/);
    assert.equal(run.stdout, '');
  });

  test('a missing file exits non-zero with a readable message', async () => {
    assertReadableFailure(await plinth(['inspect', join(FIXTURES, 'no-such-model.onnx')]), /no-such-model\.onnx/, /no such file/);
  });

  test('an invalid manifest exits non-zero naming the bad key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'plinth-cli-'));
    try {
      await writeFile(join(dir, 'model.yaml'), 'task: clustering\n');
      assertReadableFailure(await plinth(['inspect', IRIS_ONNX, '--manifest', join(dir, 'model.yaml')]), /model\.yaml/, /task/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('plinth predict', { concurrency: true }, () => {
  let server: TestServer;
  let scratch: string;
  before(async () => {
    server = await startServer(exampleModels('iris'));
    scratch = await mkdtemp(join(tmpdir(), 'plinth-cli-'));
  });
  after(async () => {
    await server?.close();
    await rm(scratch, { recursive: true, force: true });
  });

  test('records from a JSON file', async () => {
    const run = await plinth(['predict', 'iris', '--data', IRIS_RECORDS, '--url', server.url]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), { prediction: ['setosa', 'virginica'], model_version: '1' });
  });

  test('records from a CSV file', async () => {
    const rows = (await readFile(IRIS_CSV, 'utf8')).trim().split('\n').length - 1;
    const run = await plinth(['predict', 'iris', '--data', IRIS_CSV, '--url', server.url]);
    assert.equal(run.code, 0, run.stderr);
    const { prediction } = JSON.parse(run.stdout) as { prediction: string[] };
    assert.equal(prediction.length, rows);
    assert.ok(prediction.every((p) => CLASSES.includes(p)), run.stdout);
    assert.equal(prediction[0], 'setosa'); // 5.1, 3.5, 1.4, 0.2
  });

  test('--proba prints class probabilities', async () => {
    const run = await plinth(['predict', 'iris', '--data', IRIS_RECORDS, '--url', server.url, '--proba']);
    assert.equal(run.code, 0, run.stderr);
    const { prediction } = JSON.parse(run.stdout) as { prediction: Record<string, number>[] };
    assert.equal(prediction.length, 2);
    for (const row of prediction) {
      assert.deepEqual(Object.keys(row), CLASSES);
      assert.ok(Math.abs(Object.values(row).reduce((a, b) => a + b, 0) - 1) < 1e-4);
    }
    assert.ok(prediction[0]!.setosa! > 0.5);
  });

  test('the URL can come from PLINTH_URL', async () => {
    const run = await plinth(['predict', 'iris', '--data', IRIS_RECORDS], { PLINTH_URL: server.url });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout).prediction, ['setosa', 'virginica']);
  });

  test('an unknown model exits 1 with the server message', async () => {
    const run = await plinth(['predict', 'no-such-model', '--data', IRIS_RECORDS, '--url', server.url]);
    assert.equal(run.code, 1);
    assertReadableFailure(run, /404/, /model 'no-such-model' does not exist/);
  });

  test('a bad record exits 1 with the server message naming the feature', async () => {
    const file = join(scratch, 'bad-record.json');
    await writeFile(file, JSON.stringify([{ sepal_length: 'long' }]));
    const run = await plinth(['predict', 'iris', '--data', file, '--url', server.url]);
    assert.equal(run.code, 1);
    assertReadableFailure(run, /400/, /feature 'sepal_length'/);
  });

  test('a data file that is not JSON exits 1 naming the file', async () => {
    const file = join(scratch, 'broken.json');
    await writeFile(file, '{"sepal_length": ');
    assertReadableFailure(await plinth(['predict', 'iris', '--data', file, '--url', server.url]), /broken\.json/, /not valid JSON/);
  });

  test('a server that is not running exits 1 saying it cannot be reached', async () => {
    const port = await freePort(); // nothing listens on it
    const run = await plinth(['predict', 'iris', '--data', IRIS_RECORDS, '--url', `http://127.0.0.1:${port}`]);
    assert.equal(run.code, 1);
    assertReadableFailure(run, /cannot reach the server/, /ECONNREFUSED/);
  });

  test('--data is required', async () => {
    const run = await plinth(['predict', 'iris']);
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /required option '-d, --data <file>'/);
  });
});

describe('plinth serve', { concurrency: true }, () => {
  test('an invalid PLINTH_PORT exits 1 naming it', async () => {
    const run = await plinth(['serve', '--models', EXAMPLES], { PLINTH_PORT: 'eighty' });
    assert.equal(run.code, 1);
    assertReadableFailure(run, /PLINTH_PORT/, /eighty/);
  });

  test('a non-integer --port is refused before starting', async () => {
    const run = await plinth(['serve', '--port', 'abc']);
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /expected an integer/);
  });
});
