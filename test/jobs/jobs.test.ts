import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { exampleModels, SHARED, startServer, type TestServer } from '../helpers/server.js';
import { breastCancer, call, createBatchDeployment, onlinePredictions, parseCsv, uploadAsset, waitForJob } from './jobs-http.js';

describe('batch jobs over HTTP', () => {
  let server: TestServer;
  const url = (path: string) => `${server.url}${path}`;
  const bc = breastCancer();

  before(async () => {
    server = await startServer({ ...exampleModels('breast-cancer'), 'rf/1/model.onnx': join(SHARED, 'rf_breast_cancer.onnx') }, { jobChunkRows: 50 });
    await createBatchDeployment(server.url, 'bc-batch', 'breast-cancer');
  });
  after(() => server.close());

  test('a CSV asset scored with carried ids: one output row per input row, in order, equal to the online predictions', async () => {
    const ids = bc.lines.map((_, i) => (i === 3 ? '=HYPERLINK("http://x")' : i === 4 ? '-17' : `p${i}`));
    const csv = ['id,' + bc.header, ...bc.lines.map((l, i) => `${ids[i]!.includes('"') ? `"${ids[i]!.replace(/"/g, '""')}"` : ids[i]},${l}`)].join('\n') + '\n';
    const up = await uploadAsset(server.url, 'patients.csv', csv);
    assert.equal(up.status, 201, up.text);
    assert.equal(up.json.rowCount, bc.lines.length);

    const submitted = await call('POST', url('/api/v1/jobs'), { deployment: 'bc-batch', input: { asset: 'patients.csv' }, output: { name: 'patients-scored.csv' }, carry: ['id'] });
    assert.equal(submitted.status, 202, submitted.text);
    assert.equal(submitted.json.status, 'queued');
    assert.equal(submitted.headers.get('location'), `/api/v1/jobs/${submitted.json.id}`);
    const job = await waitForJob(server.url, submitted.json.id);
    assert.equal(job.status, 'completed', JSON.stringify(job));
    assert.deepEqual(job.rows, { total: bc.lines.length, done: bc.lines.length, scored: bc.lines.length, failed: 0 });
    assert.equal(job.model, 'models:/breast-cancer/1');
    assert.ok(job.rowsPerSecond > 0);
    assert.ok(job.startedAt && job.finishedAt && job.finishedAt >= job.startedAt);

    const out = await fetch(url(job.output.url));
    assert.equal(out.status, 200);
    assert.match(out.headers.get('content-type') ?? '', /text\/csv/);
    const rows = parseCsv(await out.text());
    assert.deepEqual(rows[0], ['id', 'prediction', 'probability_malignant', 'probability_benign']);
    assert.equal(rows.length - 1, bc.lines.length);
    const online = await onlinePredictions(server.url, 'breast-cancer', bc.features, bc.lines.map((l) => l.split(',').map(Number)));
    rows.slice(1).forEach((row, i) => {
      const expectedId = i === 3 ? `'${ids[i]}` : ids[i];
      assert.equal(row[0], expectedId, `row ${i} id`);
      assert.equal(row[1], online[i]![0], `row ${i} label`);
      assert.equal(Number(row[2]), online[i]![1][0], `row ${i} p(malignant)`);
      assert.equal(Number(row[3]), online[i]![1][1], `row ${i} p(benign)`);
    });

    const asset = await call('GET', url(`/api/v1/assets/${job.output.assetId}`));
    assert.equal(asset.json.status, 'ready');
    assert.equal(asset.json.rowCount, bc.lines.length);
    assert.equal(asset.json.jobId, job.id);
    // The chunk parts are gone once the output is assembled.
    const jobDir = join(server.dir, '.data/blobs/jobs', job.id);
    assert.deepEqual(await readdir(join(jobDir, 'parts')).catch(() => []), []);
  });

  test('invalid rows go to the errors file with line and reason; the job completes with their count', async () => {
    const good = bc.lines.slice(0, 40);
    const lines = [bc.header, ...good.slice(0, 10), good[10]!.split(',').slice(0, 29).join(','), ...good.slice(11, 20), good[20]!.replace(/^[^,]*/, 'abc'), ...good.slice(21, 30), `"${'x'.repeat(10 * 1024 * 1024)}",` + good[30]!.split(',').slice(1).join(','), ...good.slice(31)];
    const up = await uploadAsset(server.url, 'dirty.csv', lines.join('\n') + '\n');
    assert.equal(up.status, 201, up.text);
    assert.equal(up.json.rowCount, 40);
    const submitted = await call('POST', url('/api/v1/jobs'), { deployment: 'bc-batch', input: { asset: 'dirty.csv' }, maxErrorRate: 0.5, probabilities: false });
    assert.equal(submitted.status, 202, submitted.text);
    const job = await waitForJob(server.url, submitted.json.id);
    assert.equal(job.status, 'completed', JSON.stringify(job));
    assert.deepEqual(job.rows, { total: 40, done: 40, scored: 37, failed: 3 });
    const errors = await fetch(url(job.errorsUrl));
    assert.equal(errors.status, 200);
    const rows = parseCsv(await errors.text());
    assert.deepEqual(rows[0], ['row', 'line', 'reason']);
    assert.deepEqual(rows.slice(1).map((r) => [r[0], r[1]]), [['11', '12'], ['21', '22'], ['31', '32']]);
    assert.match(rows[1]![2]!, /expected 30 cells .* got 29/);
    assert.match(rows[2]![2]!, /feature 'mean_radius' expected a finite number, got string "abc"/);
    assert.match(rows[3]![2]!, /longer than the limit/);
    const output = parseCsv(await (await fetch(url(job.output.url))).text());
    assert.deepEqual(output[0], ['prediction']);
    assert.equal(output.length - 1, 37);
  });

  test('more invalid rows than maxErrorRate allows fail the job; its partial output is removed', async () => {
    const lines = [bc.header, ...bc.lines.slice(0, 100).map((l, i) => (i % 2 ? l : l.replace(/^[^,]*/, 'bad')))];
    assert.equal((await uploadAsset(server.url, 'half-bad.csv', lines.join('\n'))).status, 201);
    const submitted = await call('POST', url('/api/v1/jobs'), { deployment: 'bc-batch', input: { asset: 'half-bad.csv' }, output: { name: 'half-bad-out.csv' }, maxErrorRate: 0.1 });
    const job = await waitForJob(server.url, submitted.json.id);
    assert.equal(job.status, 'failed');
    assert.match(job.error, /failed validation, more than the 10 this job allows/);
    assert.equal(job.attempt, 1, 'a permanent failure is not retried');
    assert.equal((await call('GET', url('/api/v1/assets/half-bad-out.csv'))).status, 404);
    const errors = await fetch(url(job.errorsUrl));
    assert.equal(errors.status, 200, 'the errors file stays');
  });

  test('refused at submission: unknown deployment, missing feature column, unknown carry column, header-only asset, taken output name', async () => {
    const unknown = await call('POST', url('/api/v1/jobs'), { deployment: 'nope', input: { asset: 'patients.csv' } });
    assert.equal(unknown.status, 404, unknown.text);
    assert.match(unknown.json.error, /deployment 'nope' does not exist/);

    // rf has no model.yaml: its 30 features f0..f29 have no defaults.
    await createBatchDeployment(server.url, 'rf-batch', 'rf');
    const partial = Array.from({ length: 29 }, (_, i) => `f${i}`).join(',') + '\n' + bc.lines[0]!.split(',').slice(0, 29).join(',') + '\n';
    assert.equal((await uploadAsset(server.url, 'rf-partial.csv', partial)).status, 201);
    const missing = await call('POST', url('/api/v1/jobs'), { deployment: 'rf-batch', input: { asset: 'rf-partial.csv' } });
    assert.equal(missing.status, 400, missing.text);
    assert.match(missing.json.error, /no column for feature\(s\) 'f29'/);

    const carry = await call('POST', url('/api/v1/jobs'), { deployment: 'bc-batch', input: { asset: 'patients.csv' }, carry: ['customer'] });
    assert.equal(carry.status, 400);
    assert.match(carry.json.error, /carry column\(s\) 'customer' are not in the input's columns/);

    assert.equal((await uploadAsset(server.url, 'header-only.csv', bc.header + '\n')).json.rowCount, 0);
    const empty = await call('POST', url('/api/v1/jobs'), { deployment: 'bc-batch', input: { asset: 'header-only.csv' } });
    assert.equal(empty.status, 400);
    assert.match(empty.json.error, /has no data rows \(only a header\)/);

    const taken = await call('POST', url('/api/v1/jobs'), { deployment: 'bc-batch', input: { asset: 'patients.csv' }, output: { name: 'patients.csv' } });
    assert.equal(taken.status, 409);
  });

  test('inline input_data with NDJSON output; list filters; events; hard delete', async () => {
    const values = bc.lines.slice(0, 7).map((l) => l.split(',').map(Number));
    const submitted = await call('POST', url('/api/v1/jobs'), { deployment: 'bc-batch', input: { inputData: [{ fields: bc.features, values }] }, output: { format: 'ndjson', name: 'inline-{jobId}.ndjson' } });
    assert.equal(submitted.status, 202, submitted.text);
    const job = await waitForJob(server.url, submitted.json.id);
    assert.equal(job.status, 'completed');
    assert.equal(job.output.name, `inline-${job.id}.ndjson`);
    const lines = (await (await fetch(url(job.output.url))).text()).trim().split('\n').map((l) => JSON.parse(l));
    const online = await onlinePredictions(server.url, 'breast-cancer', bc.features, values);
    assert.deepEqual(lines.map((l) => [l.prediction, [l.probabilities.malignant, l.probabilities.benign]]), online);

    const listed = await call('GET', url(`/api/v1/jobs?deployment=bc-batch&status=completed&limit=1`));
    assert.equal(listed.status, 200);
    assert.equal(listed.json.items.length, 1);
    assert.equal(listed.json.items[0].id, job.id, 'newest first');
    assert.ok(listed.json.nextCursor);
    const next = await call('GET', url(`/api/v1/jobs?deployment=bc-batch&status=completed&limit=1&cursor=${listed.json.nextCursor}`));
    assert.notEqual(next.json.items[0].id, job.id);
    const failed = await call('GET', url('/api/v1/jobs?status=failed'));
    assert.ok(failed.json.items.every((j: { status: string }) => j.status === 'failed'));
    assert.ok(failed.json.items.length >= 1);

    const events = await call('GET', url(`/api/v1/jobs/${job.id}/events`));
    assert.deepEqual(events.json.items.map((e: { message: string }) => e.message.split(':')[0]!.split(' ')[0]), ['queued', 'attempt', 'scoring', 'completed']);

    assert.equal((await call('DELETE', url(`/api/v1/jobs/${job.id}`))).status, 409, 'a finished job cannot be canceled');
    assert.equal((await call('DELETE', url(`/api/v1/jobs/${job.id}?hardDelete=true`))).status, 204);
    assert.equal((await call('GET', url(`/api/v1/jobs/${job.id}`))).status, 404);
    assert.equal((await call('GET', url(job.output.url))).status, 200, 'the output asset stays');
  });

  test('DELETE cancels a running job within a second and removes its partial output', async () => {
    const big = [bc.header, ...Array.from({ length: 40 }, () => bc.lines).flat()].join('\n');
    assert.equal((await uploadAsset(server.url, 'big.csv', big)).status, 201);
    const submitted = await call('POST', url('/api/v1/jobs'), { deployment: 'bc-batch', input: { asset: 'big.csv' }, output: { name: 'big-out.csv' }, chunkRows: 20 });
    const id = submitted.json.id;
    for (;;) {
      const r = await call('GET', url(`/api/v1/jobs/${id}`));
      if (r.json.rows.done > 0) break;
      assert.notEqual(r.json.status, 'completed', 'the job finished before it could be canceled');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const started = Date.now();
    const canceled = await call('DELETE', url(`/api/v1/jobs/${id}`));
    assert.equal(canceled.status, 200, canceled.text);
    assert.equal(canceled.json.status, 'canceled');
    assert.ok(Date.now() - started < 1000, `cancel took ${Date.now() - started} ms`);
    const after = await call('GET', url(`/api/v1/jobs/${id}`));
    const done = after.json.rows.done;
    assert.ok(done < 40 * bc.lines.length);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal((await call('GET', url(`/api/v1/jobs/${id}`))).json.rows.done, done, 'no progress after the cancel');
    assert.equal((await call('GET', url('/api/v1/assets/big-out.csv'))).status, 404);
    assert.deepEqual(await readdir(join(server.dir, '.data/blobs/jobs', id, 'parts')).catch(() => []), []);
  });

  test('Watson ML deployment_jobs: inline results in GET, data asset references, cancel and hard delete', async () => {
    const values = bc.lines.slice(0, 3).map((l) => l.split(',').map(Number));
    const created = await call('POST', url('/ml/v4/deployment_jobs?version=2020-09-01'), { name: 'wml-inline', deployment: { id: 'bc-batch' }, scoring: { input_data: [{ fields: bc.features, values }] } });
    assert.equal(created.status, 202, created.text);
    assert.equal(created.json.entity.scoring.status.state, 'queued');
    await waitForJob(server.url, created.json.metadata.id);
    const got = await call('GET', url(`/ml/v4/deployment_jobs/${created.json.metadata.id}`));
    assert.equal(got.json.metadata.name, 'wml-inline');
    assert.equal(got.json.entity.scoring.status.state, 'completed');
    const online = await onlinePredictions(server.url, 'breast-cancer', bc.features, values);
    assert.deepEqual(got.json.entity.scoring.predictions, [{ fields: ['prediction', 'probability'], values: online }]);

    const byRef = await call('POST', url('/ml/v4/deployment_jobs'), {
      deployment: { id: 'bc-batch' },
      scoring: { input_data_references: [{ type: 'data_asset', location: { href: '/v2/assets/patients.csv?space_id=default' } }], output_data_reference: { type: 'data_asset', location: { name: 'wml-out.csv' } } },
    });
    assert.equal(byRef.status, 202, byRef.text);
    await waitForJob(server.url, byRef.json.metadata.id);
    const done = await call('GET', url(`/ml/v4/deployment_jobs/${byRef.json.metadata.id}`));
    assert.equal(done.json.entity.scoring.status.state, 'completed');
    assert.match(done.json.entity.scoring.output_data_reference.location.href, /^\/v2\/assets\//);
    const list = await call('GET', url('/ml/v4/deployment_jobs'));
    assert.ok(list.json.resources.some((r: { metadata: { id: string } }) => r.metadata.id === byRef.json.metadata.id));
    assert.equal((await call('DELETE', url(`/ml/v4/deployment_jobs/${byRef.json.metadata.id}?hard_delete=true`))).status, 204);
    assert.equal((await call('GET', url(`/ml/v4/deployment_jobs/${byRef.json.metadata.id}`))).status, 404);
  });

  test('a batch deployment loads no session and lists job endpoints; a batch canary is refused', async () => {
    const d = await call('GET', url('/api/v1/deployments/bc-batch'));
    assert.equal(d.json.kind, 'batch');
    assert.deepEqual(d.json.endpoints.map((e: { url: string }) => e.url), ['/api/v1/jobs', '/ml/v4/deployment_jobs']);
    assert.equal(d.json.traffic, undefined);
    const online = await call('POST', url('/models/bc-batch/predict'), { mean_radius: 1 });
    assert.equal(online.status, 404, 'a batch deployment serves no online requests');
    const canary = await call('POST', url('/api/v1/deployments'), { name: 'x-batch', kind: 'batch', target: { model: 'breast-cancer', canary: { reference: 'breast-cancer', percent: 10 } } });
    assert.equal(canary.status, 400);
  });
});
