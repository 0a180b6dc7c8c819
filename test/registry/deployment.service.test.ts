import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PlinthError } from '../../src/core/errors.js';
import { CanaryRouter } from '../../src/registry/canary-router.js';
import { DeploymentService, type DeploymentLoader, type ResolvedDeploymentVersions } from '../../src/registry/deployment.service.js';
import type { ModelRegistryService } from '../../src/registry/model-registry.service.js';
import { OnnxRuntime } from '../../src/runtime/onnx/onnx.runtime.js';
import type { DeploymentRow } from '../../src/storage/ports.js';
import { EXAMPLES } from '../helpers/server.js';
import { readAll, registryWorld, streamOf, type RegistryWorld } from './registry-helpers.js';

let w: RegistryWorld;
let registry: ModelRegistryService;
let iris: Buffer;
let diabetes: Buffer;
/** Sessions the real loader opened, by deployment id, released after each test. */
let sessions: Map<string, OnnxRuntime[]>;
let loaded: { deployment: DeploymentRow; versions: number[] }[];

/** What the app will do: load every resolved version's model.onnx with ONNX Runtime. */
const ortLoader: DeploymentLoader = async (deployment, resolved) => {
  const rows = [resolved.primary.version, ...(resolved.canary ? [resolved.canary.version.version] : [])];
  const opened: OnnxRuntime[] = [];
  for (const row of rows) {
    const bytes = await readAll(await registry.openArtifact(row));
    opened.push(await OnnxRuntime.load(bytes, { intraOpThreads: deployment.runtime.intraOpThreads ?? 1 }));
  }
  for (const old of sessions.get(deployment.id) ?? []) await old.dispose();
  sessions.set(deployment.id, opened);
  loaded.push({ deployment, versions: rows.map((r) => r.version) });
};

const service = (loader: DeploymentLoader = ortLoader, options: ConstructorParameters<typeof DeploymentService>[3] = {}) =>
  new DeploymentService(w.repos, registry, loader, options);

beforeEach(async () => {
  w = await registryWorld();
  registry = w.registry;
  sessions = new Map();
  loaded = [];
  iris = await readFile(join(EXAMPLES, 'iris/1/model.onnx'));
  diabetes = await readFile(join(EXAMPLES, 'diabetes/1/model.onnx'));
});
afterEach(async () => {
  for (const list of sessions.values()) for (const s of list) await s.dispose();
  await w.dispose();
});

const code = (expected: PlinthError['code'], message?: RegExp) => (err: unknown) => {
  assert.ok(err instanceof PlinthError, `expected a PlinthError, got ${String(err)}`);
  assert.equal(err.code, expected, err.message);
  if (message) assert.match(err.message, message);
  return true;
};

const uploadIris = (space?: string) => registry.uploadVersion({ name: 'iris', filename: 'iris.onnx', stream: streamOf(iris), space });

test('a deployment of models:/iris/1 is stored initializing, loaded with ORT, and returned ready with its endpoints', async () => {
  await uploadIris();
  await uploadIris();
  const deployments = service();
  const row = await deployments.create({ name: 'iris-prod', target: { model: 'models:/iris/1' }, runtime: { intraOpThreads: 1, maxBatchSize: 64 }, description: 'first' });
  assert.equal(row.status, 'ready');
  assert.equal(row.reason, null);
  assert.equal(row.authMode, 'token', 'token auth by default');
  assert.equal(row.kind, 'online');
  assert.deepEqual(row.runtime, { intraOpThreads: 1, maxBatchSize: 64 });
  assert.deepEqual(row.target.primary, { version: 1 });
  assert.equal(row.target.canary, undefined);
  assert.equal(loaded.length, 1);
  assert.equal(loaded[0]!.deployment.status, 'initializing', 'the loader sees the stored, initializing row');
  assert.deepEqual(loaded[0]!.versions, [1]);
  assert.deepEqual(sessions.get(row.id)![0]!.signature.inputs.map((i) => i.name), ['input'], 'a real ORT session was opened');

  // Persisted: a fresh read (and a restart) gives the same state.
  assert.deepEqual(await deployments.get(row.id), row);
  assert.deepEqual(await deployments.whenSettled(row.id), row);
  await w.restart();
  const reopened = new DeploymentService(w.repos, w.registry, ortLoader);
  assert.deepEqual(await reopened.getByName('default', 'iris-prod'), row);
  assert.deepEqual((await reopened.list({ model: 'iris' })).items.map((d) => d.name), ['iris-prod']);
  assert.deepEqual((await reopened.list({ status: 'failed' })).items, []);

  assert.deepEqual(deployments.endpoints(row), [
    { protocol: 'watson-ml', method: 'POST', url: `/ml/v4/deployments/${row.id}/predictions` },
    { protocol: 'open-inference-v2', method: 'POST', url: '/v2/models/iris-prod/infer' },
    { protocol: 'records', method: 'POST', url: '/models/iris-prod/predict' },
    { protocol: 'mlflow', method: 'POST', url: '/models/iris-prod/invocations' },
  ]);
  assert.deepEqual(deployments.pick(row.id), { side: 'primary', version: 1 });
});

test('a deployment of iris@production resolves the alias when it loads; a plain name means latest', async () => {
  await uploadIris();
  await uploadIris();
  await uploadIris();
  await registry.setAlias('default', 'iris', 'production', 2);
  const deployments = service();
  const viaAlias = await deployments.create({ name: 'by-alias', target: { model: 'iris@production' }, authMode: 'public' });
  assert.equal(viaAlias.status, 'ready');
  assert.equal(viaAlias.authMode, 'public');
  assert.deepEqual(viaAlias.target.primary, { alias: 'production' }, 'the alias is stored, not the version it points at');
  assert.deepEqual(loaded.at(-1)!.versions, [2]);
  assert.deepEqual(deployments.stats(viaAlias.id).primary, { version: 2, count: 0 });

  const latest = await deployments.create({ name: 'by-name', target: { model: 'iris' } });
  assert.equal(latest.status, 'ready');
  assert.deepEqual(latest.target.primary, { alias: 'latest' });
  assert.deepEqual(loaded.at(-1)!.versions, [3]);

  await assert.rejects(deployments.create({ name: 'nope', target: { model: 'iris@staging' } }), code('VERSION_NOT_FOUND', /no alias 'staging'/));
  await assert.rejects(deployments.create({ name: 'nope', target: { model: 'models:/iris/9' } }), code('VERSION_NOT_FOUND'));
  await assert.rejects(deployments.create({ name: 'nope', target: { model: 'iris//' } }), code('INVALID_INPUT', /^target\.model: /));
  assert.deepEqual((await deployments.list()).items.map((d) => d.name), ['by-alias', 'by-name'], 'refused creations store nothing');
});

test('a loader failure leaves the deployment failed with the reason, without file paths; a hung load times out', async () => {
  await uploadIris();
  const failing: DeploymentLoader = async () => {
    throw new Error(`could not create a session from ${w.dir}/blobs/x/model.onnx: out of memory`);
  };
  const deployments = service(failing);
  const row = await deployments.create({ name: 'broken', target: { model: 'iris' } });
  assert.equal(row.status, 'failed');
  assert.match(row.reason ?? '', /could not create a session from <path>: out of memory/);
  assert.ok(!row.reason!.includes(w.dir), 'no path in the reason');
  assert.deepEqual(await deployments.get(row.id), row, 'the failure is stored');
  assert.deepEqual((await deployments.list({ status: 'failed' })).items.map((d) => d.name), ['broken']);
  assert.throws(() => deployments.pick(row.id), code('MODEL_UNAVAILABLE'));

  const hung = service(() => new Promise<void>(() => undefined), { loadTimeoutMs: 50 });
  const slow = await hung.create({ name: 'slow', target: { model: 'iris' } });
  assert.equal(slow.status, 'failed');
  assert.match(slow.reason ?? '', /did not finish within 50 ms/);
});

test('a 20% canary sends exactly 20 of 100 picks to the canary version, evenly, and stats count per version', async () => {
  await uploadIris();
  await uploadIris();
  const deployments = service();
  const row = await deployments.create({ name: 'split', target: { model: 'models:/iris/1', canary: { reference: 'models:/iris/2', percent: 20 } } });
  assert.equal(row.status, 'ready');
  assert.deepEqual(row.target.canary, { selector: { version: 2 }, percent: 20 });
  assert.deepEqual(loaded[0]!.versions, [1, 2], 'both versions are loaded');

  const picks = Array.from({ length: 100 }, () => deployments.pick(row.id));
  assert.equal(picks.filter((p) => p.side === 'canary').length, 20);
  assert.ok(picks.every((p) => p.version === (p.side === 'canary' ? 2 : 1)));
  for (let i = 0; i < 100; i += 10) {
    assert.equal(picks.slice(i, i + 10).filter((p) => p.side === 'canary').length, 2, 'spread evenly, not in a burst');
  }
  assert.deepEqual(deployments.stats(row.id), {
    total: 100,
    primary: { version: 1, count: 80 },
    canary: { version: 2, percent: 20, count: 20 },
    byVersion: { '1': 80, '2': 20 },
  });

  // Any seed: still exactly `percent` in every 100 consecutive picks.
  const router = new CanaryRouter({ seed: () => 37 });
  router.configure('d', { primary: { version: 1 }, canary: { version: 2, percent: 33 } });
  for (let round = 0; round < 3; round++) {
    const sides = Array.from({ length: 100 }, () => router.pick('d').side);
    assert.equal(sides.filter((s) => s === 'canary').length, 33);
  }
  assert.deepEqual(router.stats('d').byVersion, { '1': 201, '2': 99 });
});

test('bad input is 400 naming the field: canary.percent 0, 100, 1.5; canary of another model; bad names and settings', async () => {
  await uploadIris();
  await uploadIris();
  await registry.uploadVersion({ name: 'diabetes', filename: 'd.onnx', stream: streamOf(diabetes) });
  const deployments = service();
  for (const percent of [0, 100, 1.5, Number.NaN]) {
    await assert.rejects(
      deployments.create({ name: 'c', target: { model: 'models:/iris/1', canary: { reference: 'models:/iris/2', percent } } }),
      code('INVALID_INPUT', /target\.canary\.percent must be a whole number from 1 to 99/),
      `percent ${percent}`,
    );
  }
  await assert.rejects(
    deployments.create({ name: 'c', target: { model: 'iris', canary: { reference: 'diabetes', percent: 10 } } }),
    code('INVALID_INPUT', /target\.canary\.reference names model 'diabetes'/),
  );
  await assert.rejects(deployments.create({ name: '../x', target: { model: 'iris' } }), code('INVALID_INPUT', /^name: deployment name/));
  await assert.rejects(deployments.create({ name: 'c', target: { model: 'iris' }, authMode: 'open' as never }), code('INVALID_INPUT', /authMode/));
  await assert.rejects(deployments.create({ name: 'c', target: { model: 'iris' }, runtime: { maxBatchSize: 0 } }), code('INVALID_INPUT', /runtime\.maxBatchSize/));
  await assert.rejects(deployments.create({ name: 'c', target: { model: 'iris' }, runtime: { intraOpThreads: 1.5 } }), code('INVALID_INPUT', /runtime\.intraOpThreads/));
  assert.deepEqual((await deployments.list()).items, [], 'nothing stored');
  assert.equal(loaded.length, 0, 'nothing loaded');
});

test('the target model must be in the deployment space: a model of another space is 404', async () => {
  await registry.createSpace({ name: 'team' });
  await uploadIris(); // in `default`
  const deployments = service();
  await assert.rejects(deployments.create({ space: 'team', name: 'x', target: { model: 'iris' } }), (err: unknown) => {
    code('MODEL_NOT_FOUND', /model 'iris' does not exist in space 'team'/)(err);
    assert.equal((err as PlinthError).status, 404);
    return true;
  });
  await assert.rejects(deployments.create({ space: 'nowhere', name: 'x', target: { model: 'iris' } }), code('NOT_FOUND', /space 'nowhere'/));
  assert.deepEqual((await deployments.list()).items, []);
  await uploadIris('team');
  const ok = await deployments.create({ space: 'team', name: 'x', target: { model: 'iris' } });
  assert.equal(ok.status, 'ready');
  assert.equal(ok.spaceId, (await registry.getSpace('team')).id);
});

test('update: If-Match with a stale revision is 412 and changes nothing; a new target or split is loaded again', async () => {
  await uploadIris();
  await uploadIris();
  const deployments = service();
  const row = await deployments.create({ name: 'u', target: { model: 'models:/iris/1' } });
  assert.equal(row.revision, 1);
  const described = await deployments.update(row.id, { description: 'now described' }, 1);
  assert.equal(described.revision, 2);
  assert.equal(described.description, 'now described');
  assert.equal(loaded.length, 1, 'a description change loads nothing');

  await assert.rejects(deployments.update(row.id, { target: { model: 'models:/iris/2' } }, 1), (err: unknown) => {
    code('PRECONDITION_FAILED', /revision 2, not 1/)(err);
    assert.equal((err as PlinthError).status, 412);
    return true;
  });
  assert.deepEqual((await deployments.get(row.id)).target.primary, { version: 1 }, 'unchanged');

  const moved = await deployments.update(row.id, { target: { model: 'models:/iris/2' } }, 2);
  assert.equal(moved.status, 'ready');
  assert.equal(moved.revision, 3);
  assert.deepEqual(loaded.at(-1)!.versions, [2]);
  assert.deepEqual(deployments.pick(row.id), { side: 'primary', version: 2 });

  const split = await deployments.update(row.id, { canary: { reference: 'models:/iris/1', percent: 50 } });
  assert.deepEqual(split.target, { modelId: row.modelId, primary: { version: 2 }, canary: { selector: { version: 1 }, percent: 50 } });
  assert.deepEqual(loaded.at(-1)!.versions, [2, 1]);
  assert.deepEqual([deployments.pick(row.id).side, deployments.pick(row.id).side], ['primary', 'canary']);
  await assert.rejects(deployments.update(row.id, { canary: { reference: 'models:/iris/1', percent: 100 } }), code('INVALID_INPUT', /canary\.percent/));
  const unsplit = await deployments.update(row.id, { canary: null });
  assert.equal(unsplit.target.canary, undefined);
  assert.equal(deployments.stats(row.id).canary, undefined);

  // A reload that fails leaves the deployment failed with the reason.
  let fail = false;
  const flaky = service(async (d, v: ResolvedDeploymentVersions) => {
    if (fail) throw new Error('no memory left');
    await ortLoader(d, v);
  });
  const other = await flaky.create({ name: 'f', target: { model: 'models:/iris/1' } });
  fail = true;
  const failed = await flaky.update(other.id, { target: { model: 'models:/iris/2' } });
  assert.equal(failed.status, 'failed');
  assert.equal(failed.reason, 'no memory left');
});

test('a duplicate name in the same space is 409; the same name in another space is fine', async () => {
  await registry.createSpace({ name: 'team' });
  await uploadIris();
  await uploadIris('team');
  const deployments = service();
  await deployments.create({ name: 'dup', target: { model: 'iris' } });
  await assert.rejects(deployments.create({ name: 'dup', target: { model: 'iris' } }), (err: unknown) => {
    code('CONFLICT', /deployment 'dup' already exists/)(err);
    assert.equal((err as PlinthError).status, 409);
    return true;
  });
  const elsewhere = await deployments.create({ space: 'team', name: 'dup', target: { model: 'iris' } });
  assert.equal(elsewhere.status, 'ready');
  assert.equal((await deployments.list()).items.length, 2);
  assert.equal((await deployments.list({ space: 'team' })).items.length, 1);
});

test('delete removes the deployment and its counters; a second delete is 404; the model can then be deleted', async () => {
  await uploadIris();
  const deployments = service();
  const row = await deployments.create({ name: 'gone', target: { model: 'iris' } });
  deployments.pick(row.id);
  await assert.rejects(registry.deleteModel('default', 'iris'), code('CONFLICT'), 'in use while deployed');
  await deployments.delete(row.id);
  await assert.rejects(deployments.get(row.id), code('NOT_FOUND', /deployment '.*' does not exist/));
  await assert.rejects(deployments.getByName('default', 'gone'), code('NOT_FOUND'));
  assert.throws(() => deployments.stats(row.id), code('MODEL_UNAVAILABLE'));
  await assert.rejects(deployments.delete(row.id), code('NOT_FOUND'));
  await registry.deleteModel('default', 'iris');
});
