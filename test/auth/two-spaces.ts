import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { create as createTar } from 'tar';
import type { Config } from '../../src/config/config.js';
import { EXAMPLES, exampleModels, startServer, type TestServer } from '../helpers/server.js';
import { breastCancer, call, uploadAsset, waitForJob } from '../jobs/jobs-http.js';
import { bearer, createClient, login, send, type Session } from './auth-server.js';

export const ADMIN_PASSWORD = 'correct-horse-battery';
/** Every scope but `admin`: what a space editor's key can hold. */
export const EDITOR_SCOPES = ['predict', 'models:read', 'models:write', 'deployments:write', 'jobs:write'];

/** The objects of space `team-b` an outsider tries to reach. */
export interface SpaceB {
  model: string;
  batch: { id: string; name: string };
  online: { id: string; name: string };
  /** Its private input: a column `b_secret_id` besides the model's features. */
  asset: { id: string; name: string; sha256: string };
  /** The completed job's output asset. */
  output: { id: string; name: string };
  job: { id: string; outputUrl: string };
  schedule: { id: string; name: string };
  clientId: string;
  apiKeyId: string;
}

export interface TwoSpaces {
  server: TestServer;
  url(path: string): string;
  /** Keys with every editor scope: alice's of team-a, bob's of team-b, carol's of the default space. */
  keys: { alice: Record<string, string>; bob: Record<string, string>; carol: Record<string, string> };
  a: { batch: { id: string; name: string }; asset: { id: string; name: string } };
  b: SpaceB;
}

async function uploadModel(server: TestServer, space: string, name: string): Promise<void> {
  const stream = createTar({ cwd: join(EXAMPLES, 'breast-cancer/1'), portable: true }, ['model.onnx', 'model.yaml', 'background.csv']) as unknown as Readable;
  await server.registry.uploadVersion({ space, name, filename: `${name}.tar`, stream });
}

async function member(server: TestServer, user: string, space: string): Promise<{ session: Session; key: Record<string, string>; keyId: string }> {
  await server.auth.users.create(user, `${user}-password-1234`);
  await server.registry.setMember(space, user, 'editor');
  const session = await login(server, user, `${user}-password-1234`);
  const r = await send('POST', `${server.url}/api/v1/api-keys`, { name: `${user}-key`, space, scopes: EDITOR_SCOPES }, session.headers);
  assert.equal(r.status, 201, r.text);
  return { session, key: bearer(r.json.api_key), keyId: r.json.id };
}

/**
 * The whole server with authentication on and three spaces: `team-a` (alice), `team-b` (bob) and
 * `default` (carol), each user an editor of their own only. team-b holds one of everything batch
 * scoring has: a model, a batch and an online deployment, a private data asset, a completed job and
 * its output, a schedule, an OAuth client and an API key.
 */
export async function startTwoSpaces(overrides: Partial<Config> = {}): Promise<TwoSpaces> {
  const server = await startServer(exampleModels('breast-cancer'), { auth: 'on', adminPassword: ADMIN_PASSWORD, jobChunkRows: 50, ...overrides });
  const url = (path: string) => `${server.url}${path}`;
  const admin = await login(server, 'admin', ADMIN_PASSWORD);
  for (const name of ['team-a', 'team-b']) assert.equal((await send('POST', url('/api/v1/spaces'), { name }, admin.headers)).status, 201);
  await uploadModel(server, 'team-a', 'a-cancer');
  await uploadModel(server, 'team-b', 'b-cancer');
  const alice = await member(server, 'alice', 'team-a');
  const bob = await member(server, 'bob', 'team-b');
  const carol = await member(server, 'carol', 'default');
  const bc = breastCancer();

  const deploy = async (key: Record<string, string>, body: Record<string, unknown>) => {
    const r = await call('POST', url('/api/v1/deployments'), body, key);
    assert.equal(r.status, 201, r.text);
    return { id: r.json.id as string, name: r.json.name as string };
  };
  const upload = async (key: Record<string, string>, space: string, name: string, idColumn: string) => {
    const csv = [`${idColumn},${bc.header}`, ...bc.lines.slice(0, 5).map((l, i) => `${idColumn}-${i},${l}`)].join('\n') + '\n';
    const r = await uploadAsset(server.url, name, csv, `?space=${space}`, key);
    assert.equal(r.status, 201, r.text);
    return { id: r.json.id as string, name: r.json.name as string, sha256: r.json.sha256 as string };
  };

  const aBatch = await deploy(alice.key, { space: 'team-a', name: 'a-batch', kind: 'batch', target: { model: 'a-cancer' } });
  const aAsset = await upload(alice.key, 'team-a', 'a-input.csv', 'id');
  const batch = await deploy(bob.key, { space: 'team-b', name: 'b-batch', kind: 'batch', target: { model: 'b-cancer' } });
  const online = await deploy(bob.key, { space: 'team-b', name: 'b-online', target: { model: 'b-cancer' } });
  const asset = await upload(bob.key, 'team-b', 'b-private.csv', 'b_secret_id');
  const submitted = await call('POST', url('/api/v1/jobs'), { space: 'team-b', deployment: 'b-batch', input: { asset: 'b-private.csv' }, output: { name: 'b-scored.csv' }, carry: ['b_secret_id'] }, bob.key);
  assert.equal(submitted.status, 202, submitted.text);
  const job = await waitForJob(server.url, submitted.json.id, 30_000, bob.key);
  assert.equal(job.status, 'completed', JSON.stringify(job));
  const schedule = await call('POST', url('/api/v1/schedules'), { space: 'team-b', name: 'b-nightly', cron: '0 2 * * *', paused: true, job: { deployment: 'b-batch', input: { asset: 'b-private.csv' } } }, bob.key);
  assert.equal(schedule.status, 201, schedule.text);
  const client = await createClient(server, bob.session, ['predict']);

  return {
    server,
    url,
    keys: { alice: alice.key, bob: bob.key, carol: carol.key },
    a: { batch: aBatch, asset: { id: aAsset.id, name: aAsset.name } },
    b: {
      model: 'b-cancer',
      batch,
      online,
      asset,
      output: { id: job.output.assetId, name: 'b-scored.csv' },
      job: { id: job.id, outputUrl: job.output.url },
      schedule: { id: schedule.json.id, name: 'b-nightly' },
      clientId: client.id,
      apiKeyId: bob.keyId,
    },
  };
}

/** What a 404 says once the reference in it is replaced: equal for a foreign object and a missing one. */
export function assertSameAsMissing(foreign: { status: number; text: string }, missing: { status: number; text: string }, refs: [string, string][], what: string): void {
  const strip = (text: string, pick: 0 | 1) => refs.reduce((t, pair) => t.replaceAll(pair[pick], '<ref>'), text);
  assert.ok(foreign.status === 404 || foreign.status === 403, `${what}: expected 404 or 403, got ${foreign.status} ${foreign.text}`);
  assert.equal(foreign.status, missing.status, `${what}: ${foreign.text} vs ${missing.text}`);
  assert.equal(strip(foreign.text, 0), strip(missing.text, 1), what);
}
