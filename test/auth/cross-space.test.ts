import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { call, waitForJob } from '../jobs/jobs-http.js';
import { request } from './auth-server.js';
import { assertSameAsMissing, startTwoSpaces, type TwoSpaces } from './two-spaces.js';

/**
 * Batch scoring across spaces: a credential of one space names objects of another (team-b) in
 * every route that takes a reference. Each answer must be the one a reference to nothing gets:
 * the same status and body, the reference aside, and nothing happens in team-b.
 */
describe('batch jobs, schedules and assets stay inside the caller\'s space', () => {
  let s: TwoSpaces;
  const missingId = randomUUID();
  const url = (path: string) => s.url(path);
  /** Calls once with team-b's reference, once with a missing one, and compares. */
  const probe = async (what: string, make: (ref: string) => [string, string, unknown?], foreign: string, missing: string, key: Record<string, string>) => {
    const [m1, p1, b1] = make(foreign);
    const [m2, p2, b2] = make(missing);
    const r1 = await call(m1, url(p1), b1, key);
    const r2 = await call(m2, url(p2), b2, key);
    assertSameAsMissing(r1, r2, [[foreign, missing]], what);
    return r1;
  };
  /** What team-b holds, as bob sees it: nothing of it may change. */
  const bSnapshot = async () => {
    const jobs = await call('GET', url('/api/v1/jobs?space=team-b'), undefined, s.keys.bob);
    const assets = await call('GET', url('/api/v1/assets?space=team-b'), undefined, s.keys.bob);
    const schedule = await call('GET', url(`/api/v1/schedules/${s.b.schedule.id}?space=team-b`), undefined, s.keys.bob);
    assert.equal(schedule.status, 200, schedule.text);
    return {
      jobs: jobs.json.items.map((j: { id: string; status: string }) => `${j.id}:${j.status}`),
      assets: assets.json.items.map((a: { id: string; sha256: string }) => `${a.id}:${a.sha256}`),
      schedule: schedule.json.status,
    };
  };
  let before_: Awaited<ReturnType<typeof bSnapshot>>;

  before(async () => {
    s = await startTwoSpaces();
    before_ = await bSnapshot();
  });
  after(() => s.server.close());

  test("team-b's own job output URL works for team-b's key", async () => {
    const out = await request(url(s.b.job.outputUrl), { headers: s.keys.bob });
    assert.equal(out.status, 200, out.text);
    assert.match(out.text, /^b_secret_id,prediction/);
  });

  test('POST /api/v1/jobs in space team-a: team-b\'s deployment (id or name) and asset (id or name) are 404 as missing ones', async () => {
    const job = (deployment: string, asset = s.a.asset.name, extra: Record<string, unknown> = {}): [string, string, unknown] =>
      ['POST', '/api/v1/jobs', { space: 'team-a', deployment, input: { asset }, ...extra }];
    const { alice } = s.keys;
    await probe('deployment id', (d) => job(d), s.b.batch.id, missingId, alice);
    await probe('online deployment id', (d) => job(d), s.b.online.id, missingId, alice);
    await probe('deployment name', (d) => job(d), s.b.batch.name, 'no-such-deployment', alice);
    await probe("team-b's deployment with team-b's asset and columns", (d) => job(d, s.b.asset.name, { carry: ['b_secret_id'] }), s.b.batch.id, missingId, alice);
    await probe('asset id', (a) => job(s.a.batch.name, a), s.b.asset.id, missingId, alice);
    await probe('asset name', (a) => job(s.a.batch.name, a), s.b.asset.name, 'no-such-asset.csv', alice);
    await probe('output asset id as input', (a) => job(s.a.batch.name, a), s.b.output.id, missingId, alice);
    // Inline rows: the deployment alone is the reference.
    await probe('inline rows', (d) => ['POST', '/api/v1/jobs', { space: 'team-a', deployment: d, input: { inputData: [{ values: [[1]] }] } }], s.b.batch.id, missingId, alice);
  });

  test("POST /api/v1/jobs with a default-space key and no space: team-b's deployment is 404 as a missing one", async () => {
    const job = (deployment: string): [string, string, unknown] => ['POST', '/api/v1/jobs', { deployment, input: { asset: s.b.asset.id } }];
    await probe('deployment id', job, s.b.batch.id, missingId, s.keys.carol);
    await probe('online deployment id', job, s.b.online.id, missingId, s.keys.carol);
  });

  test("an output name or a carry column taken in team-b is no oracle: the job runs in team-a and writes there", async () => {
    const carried = await call('POST', url('/api/v1/jobs'), { space: 'team-a', deployment: 'a-batch', input: { asset: s.a.asset.name }, carry: ['b_secret_id'] }, s.keys.alice);
    const unknown = await call('POST', url('/api/v1/jobs'), { space: 'team-a', deployment: 'a-batch', input: { asset: s.a.asset.name }, carry: ['zz_unknown'] }, s.keys.alice);
    assert.equal(carried.status, 400, carried.text);
    assert.equal(carried.text.replace('b_secret_id', '<c>'), unknown.text.replace('zz_unknown', '<c>'));
    const r = await call('POST', url('/api/v1/jobs'), { space: 'team-a', deployment: 'a-batch', input: { asset: s.a.asset.name }, output: { name: s.b.output.name } }, s.keys.alice);
    assert.equal(r.status, 202, r.text);
    assert.equal(r.json.space, 'team-a');
    const job = await waitForJob(s.server.url, r.json.id, 30_000, s.keys.alice);
    assert.equal(job.status, 'completed', JSON.stringify(job));
    const out = await request(url(job.output.url), { headers: s.keys.alice });
    assert.equal(out.status, 200, out.text);
    assert.match(out.text, /^prediction,/);
  });

  test("POST /api/v1/schedules: team-b's deployment and asset are 404 as missing ones, whatever space the job template names", async () => {
    let n = 0;
    const schedule = (space: string | undefined, job: Record<string, unknown>): [string, string, unknown] =>
      ['POST', '/api/v1/schedules', { ...(space && { space }), name: `probe-${n++}`, cron: '0 3 * * *', paused: true, job }];
    const { alice, carol } = s.keys;
    await probe('deployment id', (d) => schedule('team-a', { deployment: d, input: { asset: s.a.asset.name } }), s.b.batch.id, missingId, alice);
    await probe('deployment name', (d) => schedule('team-a', { deployment: d, input: { asset: s.a.asset.name } }), s.b.batch.name, 'no-such-deployment', alice);
    await probe('asset id', (a) => schedule('team-a', { deployment: 'a-batch', input: { asset: a } }), s.b.asset.id, missingId, alice);
    await probe('asset name', (a) => schedule('team-a', { deployment: 'a-batch', input: { asset: a } }), s.b.asset.name, 'no-such-asset.csv', alice);
    await probe('default-space key, no space', (d) => schedule(undefined, { deployment: d, input: { asset: s.b.asset.id } }), s.b.batch.id, missingId, carol);
    const listed = await call('GET', url('/api/v1/schedules?space=team-a'), undefined, alice);
    assert.deepEqual(listed.json.items, [], 'no schedule was created');
  });

  test("POST /ml/v4/deployment_jobs: team-b's deployment and asset are 404 as missing ones, space_id in the body, the query, or none", async () => {
    const wml = (deployment: string, scoring: Record<string, unknown>, space?: string, where: 'body' | 'query' = 'body'): [string, string, unknown] => [
      'POST',
      `/ml/v4/deployment_jobs${space && where === 'query' ? `?space_id=${space}` : ''}`,
      { ...(space && where === 'body' && { space_id: space }), deployment: { id: deployment }, scoring },
    ];
    const byRef = (asset: string) => ({ input_data_references: [{ type: 'data_asset', location: { id: asset } }] });
    const inline = { input_data: [{ values: [[1]] }] };
    const { alice, carol } = s.keys;
    await probe('deployment id, space_id in the body', (d) => wml(d, inline, 'team-a'), s.b.batch.id, missingId, alice);
    await probe('deployment id, space_id in the query', (d) => wml(d, inline, 'team-a', 'query'), s.b.batch.id, missingId, alice);
    await probe('deployment id, default key, no space', (d) => wml(d, byRef(s.b.asset.id)), s.b.batch.id, missingId, carol);
    await probe('asset location.id', (a) => wml(s.a.batch.id, byRef(a), 'team-a'), s.b.asset.id, missingId, alice);
    await probe('asset location.href', (a) => wml(s.a.batch.id, { input_data_references: [{ type: 'data_asset', location: { href: `/v2/assets/${a}` } }] }, 'team-a'), s.b.asset.id, missingId, alice);
    await probe('asset location.name', (a) => wml(s.a.batch.id, { input_data_references: [{ type: 'data_asset', location: { name: a } }] }, 'team-a'), s.b.asset.name, 'no-such-asset.csv', alice);
  });

  test("team-b's job by id: read, events, errors, cancel, delete (Plinth and Watson ML) are 404 as a missing job", async () => {
    for (const key of [s.keys.alice, s.keys.carol]) {
      for (const [method, path] of [
        ['GET', '/api/v1/jobs/{}'], ['GET', '/api/v1/jobs/{}/events'], ['GET', '/api/v1/jobs/{}/errors'], ['DELETE', '/api/v1/jobs/{}'],
        ['DELETE', '/api/v1/jobs/{}?hardDelete=true'], ['GET', '/ml/v4/deployment_jobs/{}'], ['DELETE', '/ml/v4/deployment_jobs/{}?hard_delete=true'],
      ] as const) {
        await probe(`${method} ${path}`, (id) => [method, path.replace('{}', id)], s.b.job.id, missingId, key);
      }
    }
  });

  test("job list filters: team-b's deployment or schedule lists nothing, as a missing one does; team-b itself is 404 as a missing space", async () => {
    const { alice } = s.keys;
    for (const filter of [`deployment=${s.b.batch.id}`, `deployment=${s.b.batch.name}`, `schedule=${s.b.schedule.id}`]) {
      const r = await call('GET', url(`/api/v1/jobs?space=team-a&${filter}`), undefined, alice);
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json.items, [], filter);
    }
    await probe('list in team-b', (space) => ['GET', `/api/v1/jobs?space=${space}`], 'team-b', 'team-z', alice);
    await probe('Watson ML list in team-b', (space) => ['GET', `/ml/v4/deployment_jobs?space_id=${space}`], 'team-b', 'team-z', alice);
  });

  test("team-b's schedule by id or name: read, pause, resume, delete are 404 as a missing schedule", async () => {
    for (const [key, query] of [[s.keys.alice, '?space=team-a'], [s.keys.carol, '']] as const) {
      for (const [method, path] of [['GET', ''], ['POST', '/pause'], ['POST', '/resume'], ['DELETE', '']] as const) {
        await probe(`${method} schedule${path} by id`, (id) => [method, `/api/v1/schedules/${id}${path}${query}`], s.b.schedule.id, missingId, key);
        await probe(`${method} schedule${path} by name`, (name) => [method, `/api/v1/schedules/${name}${path}${query}`], s.b.schedule.name, 'no-such-schedule', key);
      }
    }
  });

  test("team-b's data assets by id or name: metadata, download, delete are 404 as a missing asset", async () => {
    for (const [key, query] of [[s.keys.alice, '?space=team-a'], [s.keys.carol, '']] as const) {
      for (const [method, path] of [['GET', ''], ['GET', '/content'], ['DELETE', '']] as const) {
        for (const id of [s.b.asset.id, s.b.output.id]) {
          await probe(`${method} asset${path} by id`, (ref) => [method, `/api/v1/assets/${ref}${path}${query}`], id, missingId, key);
        }
        await probe(`${method} asset${path} by name`, (ref) => [method, `/api/v1/assets/${ref}${path}${query}`], s.b.asset.name, 'no-such-asset.csv', key);
      }
    }
  });

  test('nothing in team-b changed', async () => {
    assert.deepEqual(await bSnapshot(), before_);
  });
});
