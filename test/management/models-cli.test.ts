import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, symlink, writeFile, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertReadableFailure, plinth } from '../helpers/cli.js';
import { EXAMPLES, exampleModels, post, SHARED, startServer, type TestServer } from '../helpers/server.js';
import { PICKLE } from '../registry/archive-builders.js';
import { freePort } from '../helpers/serve-process.js';
import { send } from './registry-http.js';

const SETOSA = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 };

describe('plinth models push / list', () => {
  let server: TestServer;
  let work: string;
  before(async () => {
    server = await startServer(exampleModels('iris'));
    work = await mkdtemp(join(tmpdir(), 'plinth-cli-push-'));
  });
  after(async () => {
    await server.close();
    await rm(work, { recursive: true, force: true });
  });

  test('push of examples/models/iris/1 (a folder) registers version 2 with model.yaml, and it is served', async () => {
    const run = await plinth(['models', 'push', join(EXAMPLES, 'iris/1'), '--name', 'iris', '--tags', 'cli,folder', '--url', server.url]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^registered iris version 2 in space default \(models:\/iris\/2\): model\.onnx \d+ bytes, sha256 [0-9a-f]{64}, 3 artifacts, tags cli, folder\n$/);
    const version = await send('GET', `${server.url}/api/v1/models/iris/versions/2`);
    assert.equal(version.status, 200, version.text);
    assert.deepEqual(version.json.artifacts.map((a: { path: string }) => a.path), ['background.csv', 'model.onnx', 'model.yaml']);
    assert.deepEqual(version.json.metrics, { accuracy: 0.9737 });
    assert.deepEqual([...version.json.tags].sort(), ['cli', 'folder']);
    const served = await post(`${server.url}/models/iris/predict`, SETOSA);
    assert.equal(served.status, 200, served.text);
    assert.deepEqual(served.json, { prediction: ['setosa'], model_version: '2' });
    assert.deepEqual((await readdir(tmpdir())).filter((e) => e.startsWith('plinth-push-')), [], 'the packed archive is removed');
  });

  test('push of a single .onnx into another space, with a description, as JSON', async () => {
    assert.equal((await send('POST', `${server.url}/api/v1/spaces`, { name: 'lab' })).status, 201);
    const run = await plinth(['models', 'push', join(EXAMPLES, 'iris/1/model.onnx'), '-n', 'flowers', '--space', 'lab', '--description', 'From the CLI', '--json'], { PLINTH_URL: server.url });
    assert.equal(run.code, 0, run.stderr);
    const body = JSON.parse(run.stdout);
    assert.equal(body.model, 'flowers');
    assert.equal(body.space, 'lab');
    assert.equal(body.version, 1);
    assert.equal((await send('GET', `${server.url}/api/v1/models/flowers?space=lab`)).json.description, 'From the CLI');
  });

  test('push of an XGBoost JSON booster reports the booster (its size and digest), not the compiled model.onnx', async () => {
    const file = join(SHARED, 'xgb_breast_cancer.json');
    const bytes = await readFile(file);
    assert.equal((await send('POST', `${server.url}/api/v1/spaces`, { name: 'boosters' })).status, 201);
    const run = await plinth(['models', 'push', file, '--name', 'xgb', '--space', 'boosters', '--url', server.url]);
    assert.equal(run.code, 0, run.stderr);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    assert.match(run.stdout, new RegExp(`^registered xgb version 1 in space boosters \\(models:/xgb/1\\): XGBoost model ${bytes.length} bytes, sha256 ${sha256}, `));
  });

  test('list prints every model of a space', async () => {
    const run = await plinth(['models', 'list', '--url', server.url]);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.trim().split('\n');
    assert.match(lines[0]!, /^NAME\s+UPDATED\s+TAGS \/ DESCRIPTION$/);
    assert.deepEqual(lines.slice(1).map((l) => l.split(/\s+/)[0]), ['iris']);
    const lab = await plinth(['models', 'list', '--space', 'lab', '--json', '--url', server.url]);
    assert.equal(lab.code, 0, lab.stderr);
    assert.deepEqual(JSON.parse(lab.stdout).map((m: { name: string }) => m.name), ['flowers']);
    const empty = await plinth(['models', 'list', '--name', 'zzz', '--url', server.url]);
    assert.equal(empty.stdout.trim(), 'no models in space default');
  });

  test("failures are one readable line with a non-zero exit: the server's refusal, a missing path, no server", async () => {
    const pickle = join(work, 'model.pkl');
    await writeFile(pickle, PICKLE);
    assertReadableFailure(await plinth(['models', 'push', pickle, '--name', 'evil', '--url', server.url]), /^plinth: 400: .*Plinth accepts ONNX models only/);

    const folder = join(work, 'linked');
    await cp(join(EXAMPLES, 'iris/1'), folder, { recursive: true });
    await symlink('/etc/passwd', join(folder, 'passwd'));
    assertReadableFailure(await plinth(['models', 'push', folder, '--name', 'evil', '--url', server.url]), /^plinth: 400: .*'passwd' refused: symbolic links are not allowed/);
    assert.equal((await send('GET', `${server.url}/api/v1/models/evil`)).status, 404);

    assertReadableFailure(await plinth(['models', 'push', join(work, 'nope'), '--name', 'x', '--url', server.url]), /cannot read .*nope: no such file or folder/);
    const port = await freePort(); // nothing listens on it
    assertReadableFailure(await plinth(['models', 'push', join(EXAMPLES, 'iris/1'), '--name', 'x', '--url', `http://127.0.0.1:${port}`]), new RegExp(`cannot reach the server at http://127\\.0\\.0\\.1:${port}: ECONNREFUSED`));
    assertReadableFailure(await plinth(['models', 'list', '--url', 'not a url']), /--url 'not a url' is not a valid URL/);
    const noName = await plinth(['models', 'push', join(EXAMPLES, 'iris/1')]);
    assert.notEqual(noName.code, 0);
    assert.match(noName.stderr, /^error: required option '-n, --name <name>' not specified/, 'commander names the missing option');
    assertReadableFailure(await plinth(['models', 'list', '--space', 'nowhere', '--url', server.url]), /^plinth: 404: space 'nowhere' does not exist/);
  });
});
