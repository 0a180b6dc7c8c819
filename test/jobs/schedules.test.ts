import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { exampleModels, startServer, type TestServer } from '../helpers/server.js';
import { breastCancer, call, createBatchDeployment, uploadAsset } from './jobs-http.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('job schedules over HTTP', () => {
  let server: TestServer;
  const url = (path: string) => `${server.url}${path}`;
  const bc = breastCancer();

  before(async () => {
    server = await startServer(exampleModels('breast-cancer'), { jobChunkRows: 10 });
    await createBatchDeployment(server.url, 'bc-batch', 'breast-cancer');
    assert.equal((await uploadAsset(server.url, 'small.csv', [bc.header, ...bc.lines.slice(0, 20)].join('\n'))).status, 201);
    // Slow enough to still run when the next second ticks: 100 x 569 rows in chunks of 10.
    assert.equal((await uploadAsset(server.url, 'slow.csv', [bc.header, ...Array.from({ length: 100 }, () => bc.lines).flat()].join('\n'))).status, 201);
  });
  after(() => server.close());

  test('every second: each run is a job with history; pause stops the runs, resume restarts them; delete', async () => {
    const created = await call('POST', url('/api/v1/schedules'), { name: 'each-second', cron: '* * * * * *', timezone: 'Europe/Paris', job: { deployment: 'bc-batch', input: { asset: 'small.csv' }, output: { name: 'tick.csv' } } });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.json.status, 'active');
    assert.equal(created.json.job.output.name, 'tick-{timestamp}.csv');
    assert.ok(Date.parse(created.json.nextRunAt) - Date.now() <= 1000);
    await sleep(2600);
    const paused = await call('POST', url(`/api/v1/schedules/${created.json.id}/pause`));
    assert.equal(paused.json.status, 'paused');
    assert.equal(paused.json.nextRunAt, null);
    const runs = await call('GET', url(`/api/v1/jobs?schedule=${created.json.id}`));
    assert.ok(runs.json.items.length >= 2, `${runs.json.items.length} runs`);
    assert.ok(runs.json.items.every((j: { scheduleId: string }) => j.scheduleId === created.json.id));
    const names = new Set(runs.json.items.map((j: { output: { name: string } }) => j.output.name));
    assert.equal(names.size, runs.json.items.length, 'each run writes its own output');
    const count = (await call('GET', url(`/api/v1/schedules/${created.json.id}`))).json.runs;
    assert.equal(count, runs.json.items.length);
    await sleep(1500);
    assert.equal((await call('GET', url(`/api/v1/schedules/each-second`))).json.runs, count, 'no run while paused');
    await call('POST', url(`/api/v1/schedules/${created.json.id}/resume`));
    await sleep(1500);
    assert.ok((await call('GET', url(`/api/v1/schedules/${created.json.id}`))).json.runs > count, 'runs again once resumed');
    assert.equal((await call('DELETE', url(`/api/v1/schedules/${created.json.id}`))).status, 204);
    assert.equal((await call('GET', url(`/api/v1/schedules/${created.json.id}`))).status, 404);
    assert.ok((await call('GET', url(`/api/v1/jobs?schedule=${created.json.id}`))).json.items.length > count, 'the history stays');
  });

  test('a run still going is never overlapped: the tick is skipped and counted', async () => {
    const created = await call('POST', url('/api/v1/schedules'), { name: 'slow', cron: '* * * * * *', job: { deployment: 'bc-batch', input: { asset: 'slow.csv' } } });
    assert.equal(created.status, 201, created.text);
    await sleep(3200);
    await call('POST', url(`/api/v1/schedules/${created.json.id}/pause`));
    const view = (await call('GET', url(`/api/v1/schedules/${created.json.id}`))).json;
    const jobs = (await call('GET', url(`/api/v1/jobs?schedule=${created.json.id}`))).json.items;
    assert.ok(view.skipped >= 1, `skipped ${view.skipped}`);
    // Runs never overlap: each started after the previous finished.
    const sorted = [...jobs].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    for (let i = 1; i < sorted.length; i++) assert.ok(sorted[i - 1].finishedAt && sorted[i - 1].finishedAt <= sorted[i].createdAt, 'overlapping runs');
    assert.ok(jobs.filter((j: { status: string }) => j.status === 'running' || j.status === 'queued').length <= 1);
    for (const j of jobs) if (j.status === 'running' || j.status === 'queued') await call('DELETE', url(`/api/v1/jobs/${j.id}`));
  });

  test('refused: a bad cron expression, an unknown time zone, a template naming an unknown asset', async () => {
    const cron = await call('POST', url('/api/v1/schedules'), { name: 'bad', cron: '61 * * * *', job: { deployment: 'bc-batch', input: { asset: 'small.csv' } } });
    assert.equal(cron.status, 400);
    assert.match(cron.json.error, /cron '61 \* \* \* \*' is not valid/);
    const tz = await call('POST', url('/api/v1/schedules'), { name: 'bad', cron: '0 2 * * *', timezone: 'Mars/Olympus', job: { deployment: 'bc-batch', input: { asset: 'small.csv' } } });
    assert.equal(tz.status, 400);
    assert.match(tz.json.error, /not an IANA time zone/);
    const asset = await call('POST', url('/api/v1/schedules'), { name: 'bad', cron: '0 2 * * *', job: { deployment: 'bc-batch', input: { asset: 'nope.csv' } } });
    assert.equal(asset.status, 404);
  });
});
