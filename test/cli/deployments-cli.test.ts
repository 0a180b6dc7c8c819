import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertReadableFailure, plinth } from '../helpers/cli.js';
import { exampleModels, post, startServer, type TestServer } from '../helpers/server.js';

const SETOSA = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 };

describe('plinth deployments', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer(exampleModels('iris'));
  });
  after(() => server.close());

  test('create waits for ready and prints the endpoints; the deployment serves', async () => {
    const run = await plinth(['deployments', 'create', 'iris-cli', '--model', 'models:/iris/1', '--public', '--max-batch', '10', '--url', server.url]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^iris-cli {2}ready {2}models:\/iris\/1 {2}space default {2}id [0-9a-f-]{36}$/m);
    assert.match(run.stdout, /watson-ml +POST http:\/\/127\.0\.0\.1:\d+\/ml\/v4\/deployments\/[0-9a-f-]{36}\/predictions/);
    assert.match(run.stdout, /open-inference-v2 +POST .*\/v2\/models\/iris-cli\/infer/);
    const r = await post(`${server.url}/models/iris-cli/predict`, SETOSA);
    assert.deepEqual(r.json, { prediction: ['setosa'], model_version: '1' });
  });

  test('list, show, update and delete', async () => {
    const list = await plinth(['deployments', 'list', '--url', server.url]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^iris-cli {2}ready/m);
    const show = await plinth(['deployments', 'show', 'iris-cli', '--url', server.url]);
    assert.equal(show.code, 0, show.stderr);
    assert.deepEqual(JSON.parse(show.stdout).runtime, { maxBatchSize: 10 });
    const update = await plinth(['deployments', 'update', 'iris-cli', '--description', 'from the CLI', '--url', server.url]);
    assert.equal(update.code, 0, update.stderr);
    assert.equal((await server.deployments.getByName('default', 'iris-cli')).description, 'from the CLI');
    const del = await plinth(['deployments', 'delete', 'iris-cli', '--url', server.url]);
    assert.equal(del.code, 0, del.stderr);
    assert.match(del.stdout, /deleted iris-cli/);
    const empty = await plinth(['deployments', 'list', '--url', server.url]);
    assert.match(empty.stdout, /no deployments/);
  });

  test('failures are one readable line and a non-zero exit', async () => {
    assertReadableFailure(await plinth(['deployments', 'create', 'x', '--model', 'nope', '--url', server.url]), /404/, /model 'nope'/);
    // Commander refuses bad flag values itself, with its own one-line message.
    const percent = await plinth(['deployments', 'create', 'x', '--model', 'iris', '--percent', '120', '--url', server.url]);
    assert.notEqual(percent.code, 0);
    assert.match(percent.stderr, /--percent <n>' argument '120' is invalid\. expected a whole number from 1 to 99/);
    assertReadableFailure(await plinth(['deployments', 'create', 'x', '--model', 'iris', '--canary', 'iris/1', '--url', server.url]), /--canary and --percent go together/);
    assertReadableFailure(await plinth(['deployments', 'update', 'x', '--url', server.url]), /nothing to update/);
    assertReadableFailure(await plinth(['deployments', 'show', 'missing', '--url', server.url]), /404/, /missing/);
    assertReadableFailure(await plinth(['deployments', 'list', '--url', 'http://127.0.0.1:9']), /cannot reach the server/);
  });
});
