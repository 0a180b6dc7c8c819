import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXAMPLES } from '../helpers/server.js';
import { freePort, startServeProcess } from '../helpers/serve-process.js';
import { breastCancer, call, createBatchDeployment, onlinePredictions, parseCsv, uploadAsset, waitForJob } from './jobs-http.js';

const children = new Set<ChildProcess>();
after(() => {
  for (const c of children) c.kill('SIGKILL');
});

/** `plinth serve` as a child process over a data directory, ready when /v2/health/ready answers. */
async function serve(dataDir: string, modelsDir: string, port: number): Promise<ChildProcess> {
  const { child } = await startServeProcess(['--models', modelsDir], { PLINTH_AUTH: 'off', PLINTH_DATA_DIR: dataDir, PLINTH_LOG_LEVEL: 'warn', PLINTH_JOB_CHUNK_ROWS: '100' }, port);
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

test('SIGKILL mid-job with explanations: after a restart the job resumes from its last committed chunk; every valid row is in the output once, in order, with its explanation', { timeout: 120_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'plinth-resume-'));
  try {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const bc = breastCancer();
    const copies = 40;
    const rows = Array.from({ length: copies }, () => bc.lines).flat();
    // Every 997th row is invalid: the errors must survive the restart too, once each.
    const csv = ['id,' + bc.header, ...rows.map((l, i) => `r${i},${i % 997 === 500 ? l.replace(/^[^,]*/, 'oops') : l}`)].join('\n') + '\n';
    await mkdir(join(dir, 'models'));
    let server = await serve(join(dir, 'data'), join(dir, 'models'), port);
    const cancer = join(EXAMPLES, 'breast-cancer/1');
    // The example model, registered over HTTP (the folder import is not used here).
    const form = new FormData();
    const { create } = await import('tar');
    const chunks: Buffer[] = [];
    for await (const c of create({ cwd: cancer, gzip: true, portable: true }, ['model.onnx', 'model.yaml', 'background.csv'])) chunks.push(c as Buffer);
    form.append('file', new Blob([Buffer.concat(chunks)]), 'breast-cancer.tar.gz');
    const uploaded = await fetch(`${base}/api/v1/models/breast-cancer/versions`, { method: 'POST', body: form });
    assert.equal(uploaded.status, 201, await uploaded.text());
    await createBatchDeployment(base, 'bc-batch', 'breast-cancer');
    assert.equal((await uploadAsset(base, 'many.csv', csv)).status, 201);
    const submitted = await call('POST', `${base}/api/v1/jobs`, { deployment: 'bc-batch', input: { asset: 'many.csv' }, carry: ['id'], output: { name: 'many-scored.csv' }, explanations: true });
    assert.equal(submitted.status, 202, submitted.text);
    const id = submitted.json.id;

    let before: any;
    for (;;) {
      before = (await call('GET', `${base}/api/v1/jobs/${id}`)).json;
      if (before.rows.done >= 2000) break;
      assert.notEqual(before.status, 'completed', 'the job finished before the kill: make it longer');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    server.kill('SIGKILL');
    await new Promise((resolve) => server.once('exit', resolve));
    assert.ok(before.rows.done < rows.length, `killed at ${before.rows.done} of ${rows.length} rows`);

    server = await serve(join(dir, 'data'), join(dir, 'models'), port);
    const job = await waitForJob(base, id, 60_000);
    assert.equal(job.status, 'completed', JSON.stringify(job));
    assert.equal(job.attempt, 2, 'the restart resumed the job in a second attempt');
    const invalid = rows.filter((_, i) => i % 997 === 500).length;
    assert.deepEqual(job.rows, { total: rows.length, done: rows.length, scored: rows.length - invalid, failed: invalid });
    const events = (await call('GET', `${base}/api/v1/jobs/${id}/events`)).json.items.map((e: { message: string }) => e.message);
    const resumed = events.find((m: string) => /attempt 2 of 3 started, resuming after input row (\d+)/.test(m));
    assert.ok(resumed, events.join('\n'));
    assert.ok(Number(/after input row (\d+)/.exec(resumed)![1]) >= 2000 - 2 * 100, 'resumed from a committed chunk, not from the start');

    const out = parseCsv(await (await fetch(`${base}${job.output.url}`)).text());
    assert.deepEqual(out[0], ['id', 'prediction', 'probability_malignant', 'probability_benign', 'shap_base', ...bc.features.map((f) => `shap_${f}`)]);
    const expectedIds = rows.map((_, i) => `r${i}`).filter((_, i) => i % 997 !== 500);
    assert.deepEqual(out.slice(1).map((r) => r[0]), expectedIds, 'exactly one output row per valid input row, in input order');
    const reference = await call('POST', `${base}/api/v1/deployments`, { name: 'bc-online', target: { model: 'breast-cancer' }, authMode: 'public' });
    assert.equal(reference.status, 201, reference.text);
    const expected = await onlinePredictions(base, 'bc-online', bc.features, bc.lines.map((l) => l.split(',').map(Number)));
    const explained = await call('POST', `${base}/models/bc-online/explain`, bc.lines.map((l) => Object.fromEntries(l.split(',').map((v, j) => [bc.features[j]!, Number(v)]))));
    assert.equal(explained.status, 200, explained.text);
    out.slice(1).forEach((row, k) => {
      const i = Number(row[0]!.slice(1));
      const e = expected[i % bc.lines.length]!;
      assert.deepEqual([row[1], Number(row[2]), Number(row[3])], [e[0], e[1][0], e[1][1]], `row ${k} (${row[0]})`);
      const x = explained.json.explanations[i % bc.lines.length].values.benign;
      const shap = [explained.json.base_value.benign, ...bc.features.map((f) => x[f])];
      shap.forEach((v: number, j: number) => assert.ok(Math.abs(Number(row[4 + j]) - v) <= 1e-9, `row ${k} (${row[0]}) ${out[0]![4 + j]}: ${row[4 + j]} vs ${v}`));
    });
    const errors = parseCsv(await (await fetch(`${base}${job.errorsUrl}`)).text());
    assert.deepEqual(errors.slice(1).map((r) => Number(r[0])), rows.map((_, i) => i).filter((i) => i % 997 === 500).map((i) => i + 1));
    server.kill('SIGTERM');
    await new Promise((resolve) => server.once('exit', resolve));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
