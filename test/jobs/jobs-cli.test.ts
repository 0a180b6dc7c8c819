import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertReadableFailure, plinth } from '../helpers/cli.js';
import { exampleModels, startServer, type TestServer } from '../helpers/server.js';
import { breastCancer, createBatchDeployment, parseCsv } from './jobs-http.js';

describe('plinth jobs and plinth assets against a running server', () => {
  let server: TestServer;
  let dir: string;
  const bc = breastCancer();

  before(async () => {
    server = await startServer(exampleModels('breast-cancer'), { jobChunkRows: 100 });
    await createBatchDeployment(server.url, 'bc-batch', 'breast-cancer');
    dir = await mkdtemp(join(tmpdir(), 'plinth-jobs-cli-'));
    await writeFile(join(dir, 'data.csv'), ['id,' + bc.header, ...bc.lines.map((l, i) => `${i},${l}`)].join('\n') + '\n');
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('jobs submit --wait uploads, shows progress with rows/s, downloads the result; list, status, logs', async () => {
    const out = join(dir, 'out.csv');
    const run = await plinth(['jobs', 'submit', '--deployment', 'bc-batch', '--input', join(dir, 'data.csv'), '--output', out, '--carry', 'id', '--wait', '-u', server.url]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /uploaded .*data\.csv as data asset 'data\.csv' \(569 rows\)/);
    assert.match(run.stderr, /\[#+\] 100%  569\/569 rows .*rows\/s.*completed/);
    const id = /job (\S+) completed: 569 rows scored/.exec(run.stdout)?.[1];
    assert.ok(id, run.stdout);
    const rows = parseCsv(await readFile(out, 'utf8'));
    assert.deepEqual(rows[0], ['id', 'prediction', 'probability_malignant', 'probability_benign']);
    assert.deepEqual(rows.slice(1).map((r) => r[0]), bc.lines.map((_, i) => String(i)));

    const list = await plinth(['jobs', 'list', '--status', 'completed', '-u', server.url]);
    assert.match(list.stdout, new RegExp(`${id}  completed  bc-batch  569/569 rows`));
    const status = await plinth(['jobs', 'status', id!, '-u', server.url]);
    assert.match(status.stdout, /rows 569\/569: 569 scored, 0 invalid/);
    const logs = await plinth(['jobs', 'logs', id!, '-u', server.url]);
    assert.match(logs.stdout, /info   queued: 569 row\(s\)[\s\S]*info   completed: 569 row\(s\) scored/);
    const cancel = await plinth(['jobs', 'cancel', id!, '-u', server.url]);
    assertReadableFailure(cancel, /409: job .* is already completed/);
  });

  test('jobs submit --explain adds the explanation columns (CSV) or object (NDJSON)', async () => {
    const csv = join(dir, 'explained.csv');
    const run = await plinth(['jobs', 'submit', '-d', 'bc-batch', '-i', join(dir, 'data.csv'), '-o', csv, '--carry', 'id', '--no-probabilities', '--explain', '--wait', '-u', server.url]);
    assert.equal(run.code, 0, run.stderr);
    const rows = parseCsv(await readFile(csv, 'utf8'));
    assert.deepEqual(rows[0], ['id', 'prediction', 'shap_base', ...bc.features.map((f) => `shap_${f}`)]);
    assert.equal(rows.length - 1, 569);
    const ndjson = join(dir, 'explained.ndjson');
    const again = await plinth(['jobs', 'submit', '-d', 'bc-batch', '-a', 'data.csv', '-o', ndjson, '--format', 'ndjson', '--explain', '--wait', '-u', server.url]);
    assert.equal(again.code, 0, again.stderr);
    const first = JSON.parse((await readFile(ndjson, 'utf8')).split('\n')[0]!);
    assert.equal(first.explanation.output, 'benign');
    assert.deepEqual(Object.keys(first.explanation.values), bc.features);
    assert.equal(Number(rows[1]![2]), first.explanation.base);
    assert.equal(Number(rows[1]![3]), first.explanation.values[bc.features[0]!]);
  });

  test('assets upload, list, download, delete; readable failures', async () => {
    const up = await plinth(['assets', 'upload', join(dir, 'data.csv'), '--name', 'cli-data.csv', '-u', server.url]);
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stdout, /cli-data\.csv  csv  569 rows/);
    const target = join(dir, 'copy.csv');
    assert.equal((await plinth(['assets', 'download', 'cli-data.csv', target, '-u', server.url])).code, 0);
    assert.equal(await readFile(target, 'utf8'), await readFile(join(dir, 'data.csv'), 'utf8'));
    assert.equal((await plinth(['assets', 'delete', 'cli-data.csv', '-u', server.url])).code, 0);
    assertReadableFailure(await plinth(['assets', 'download', 'cli-data.csv', target, '-u', server.url]), /404: data asset 'cli-data\.csv' does not exist/);
    assertReadableFailure(await plinth(['jobs', 'submit', '-d', 'nope', '-i', join(dir, 'data.csv'), '-u', server.url]), /^plinth: 404: deployment 'nope' does not exist$/);
  });
});
