import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PlinthError } from '../../src/core/errors.js';
import type { ModelRegistryService } from '../../src/registry/model-registry.service.js';
import { EXAMPLES, FIXTURES } from '../helpers/server.js';
import { onnxModel } from './archive-builders.js';
import { barrierValidator, readAll, registryWorld, streamOf, tarGzOf, zipOf, type RegistryWorld } from './registry-helpers.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const IRIS_DIR = join(EXAMPLES, 'iris/1');
const DIABETES_DIR = join(EXAMPLES, 'diabetes/1');

let w: RegistryWorld;
let registry: ModelRegistryService;
let iris: Buffer;
let irisYaml: string;
let diabetes: Buffer;
let diabetesYaml: string;
beforeEach(async () => {
  w = await registryWorld();
  registry = w.registry;
  iris = await readFile(join(IRIS_DIR, 'model.onnx'));
  irisYaml = await readFile(join(IRIS_DIR, 'model.yaml'), 'utf8');
  diabetes = await readFile(join(DIABETES_DIR, 'model.onnx'));
  diabetesYaml = await readFile(join(DIABETES_DIR, 'model.yaml'), 'utf8');
});
afterEach(() => w.dispose());

const code = (expected: PlinthError['code'], message?: RegExp) => (err: unknown) => {
  assert.ok(err instanceof PlinthError, `expected a PlinthError, got ${String(err)}`);
  assert.equal(err.code, expected, err.message);
  if (message) assert.match(err.message, message);
  return true;
};

const uploadIris = (extra: { tags?: string[]; space?: string; name?: string } = {}) =>
  registry.uploadVersion({ name: extra.name ?? 'iris', filename: 'iris.onnx', stream: streamOf(iris), ...extra });

/** A .tar.gz of iris with model.yaml's accuracy set to the given value. */
const irisWithAccuracy = (accuracy: number) =>
  tarGzOf({ 'model.onnx': iris, 'model.yaml': Buffer.from(irisYaml.replace(/accuracy: [0-9.]+/, `accuracy: ${accuracy}`)) });

async function assertNothingRegistered(name: string) {
  await assert.rejects(registry.getModel('default', name), code('MODEL_NOT_FOUND'));
  assert.deepEqual(await w.blobFiles(), [], 'no blob written');
  assert.deepEqual(await w.tmpEntries(), [], 'the temp folder is empty');
}

test('an .onnx upload becomes version 1, the next version 2, with digest, size, signature and readable bytes', async () => {
  const first = await uploadIris({ tags: ['baseline', 'rf'] });
  assert.equal(first.version.version, 1);
  assert.equal(first.model.name, 'iris');
  assert.equal(first.space.name, 'default');
  assert.equal(first.version.sha256, sha(iris));
  assert.equal(first.version.size, iris.length);
  assert.equal(first.version.status, 'ready');
  assert.deepEqual(first.version.tags, ['baseline', 'rf']);
  assert.equal(first.version.manifest, null);
  assert.deepEqual(first.version.metrics, {});
  const signature = first.version.signature as { inputs: { name: string; shape: number[] }[]; outputs: { name: string }[] };
  assert.deepEqual(signature.inputs.map((i) => [i.name, i.shape]), [['input', [-1, 4]]]);
  assert.deepEqual(signature.outputs.map((o) => o.name).sort(), ['label', 'probabilities']);

  const second = await uploadIris();
  assert.equal(second.version.version, 2);
  assert.equal(second.model.id, first.model.id, 'the model row is created once');
  assert.deepEqual(await readAll(await registry.openArtifact(second.version)), iris);
  assert.deepEqual(await registry.listArtifacts(second.version), [{ path: 'model.onnx', size: iris.length, sha256: sha(iris) }]);
  await assert.rejects(registry.openArtifact(second.version, 'model.yaml'), code('NOT_FOUND', /version 2 has no artifact 'model.yaml'/));
  assert.deepEqual((await registry.listVersions('default', 'iris')).items.map((v) => v.version), [1, 2]);
  assert.deepEqual(await w.tmpEntries(), [], 'intake folders are removed after success');
});

test('a .tar.gz (node-tar) and a .zip (yazl) of a model folder keep model.yaml, metrics and extra artifacts', async () => {
  const vocab = Buffer.from(JSON.stringify({ tokens: ['a', 'b'] }));
  const tgz = await tarGzOf({ 'model.onnx': iris, 'model.yaml': Buffer.from(irisYaml), 'assets/vocab list.json': vocab });
  const v1 = await registry.uploadVersion({ name: 'iris', filename: 'iris.tar.gz', stream: streamOf(tgz) });
  assert.equal(v1.version.version, 1);
  assert.equal(v1.version.sha256, sha(iris), 'the version digest is model.onnx, not the archive');
  assert.deepEqual(v1.version.metrics, { accuracy: 0.9737 });
  assert.equal((v1.version.manifest as { primary_metric: string }).primary_metric, 'accuracy');
  assert.match(v1.model.description ?? '', /species of an iris/, "the model's description comes from model.yaml on creation");
  assert.deepEqual((await registry.listArtifacts(v1.version)).map((f) => f.path), ['assets/vocab list.json', 'model.onnx', 'model.yaml']);
  assert.deepEqual(await readAll(await registry.openArtifact(v1.version, 'assets/vocab list.json')), vocab);
  assert.equal((await readAll(await registry.openArtifact(v1.version, 'model.yaml'))).toString(), irisYaml);

  const zip = await zipOf({ 'iris/model.onnx': iris, 'iris/model.yaml': Buffer.from(irisYaml) });
  const v2 = await registry.uploadVersion({ name: 'iris', filename: 'iris.zip', stream: streamOf(zip), tags: ['zip'] });
  assert.equal(v2.version.version, 2);
  assert.deepEqual((await registry.listArtifacts(v2.version)).map((f) => f.path), ['model.onnx', 'model.yaml']);
  assert.deepEqual(await readAll(await registry.openArtifact(v2.version)), iris);
  assert.deepEqual(await w.tmpEntries(), []);
});

test('bytes that are not ONNX are refused by the intake (400); a model ORT cannot load is 422 LOAD_FAILED with its reason, no path', async () => {
  const broken = await readFile(join(FIXTURES, 'broken.onnx'));
  await assert.rejects(
    registry.uploadVersion({ name: 'broken', filename: 'broken.onnx', stream: streamOf(broken) }),
    code('INVALID_INPUT', /not an ONNX model/),
  );
  await assertNothingRegistered('broken');

  // Valid protobuf, invalid graph: an If node without its condition input.
  let caught: unknown;
  await registry.uploadVersion({ name: 'broken', filename: 'broken.onnx', stream: streamOf(onnxModel({ inSubgraph: true })) }).catch((err: unknown) => (caught = err));
  code('LOAD_FAILED', /model\.onnx was refused by ONNX Runtime: .*invalid model/i)(caught);
  assert.equal((caught as PlinthError).status, 422);
  assert.doesNotMatch((caught as PlinthError).message, new RegExp(w.dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), 'no temp path in the reason');
  assert.doesNotMatch((caught as PlinthError).message, /\/tmp\//);
  await assertNothingRegistered('broken');

  // A refusal on an existing model adds no version.
  await uploadIris();
  await assert.rejects(registry.uploadVersion({ name: 'iris', filename: 'x.onnx', stream: streamOf(onnxModel({ inSubgraph: true })) }), code('LOAD_FAILED'));
  assert.deepEqual((await registry.listVersions('default', 'iris')).items.map((v) => v.version), [1]);
  assert.deepEqual(await w.tmpEntries(), []);
});

test('a model.yaml that disagrees with the graph is 422 and registers nothing', async () => {
  const cases: [string, RegExp][] = [
    [irisYaml.replace('label: label', 'label: predicted'), /names output 'predicted', which the model does not have/],
    [irisYaml.replace(/- name: petal_width[\s\S]*?description: Petal width in centimetres\n/, ''), /lists 3 features but input 'input' has 4 columns/],
  ];
  assert.notEqual(cases[1]![0], irisYaml, 'the feature was removed');
  for (const [yaml, message] of cases) {
    const tgz = await tarGzOf({ 'model.onnx': iris, 'model.yaml': Buffer.from(yaml) });
    await assert.rejects(registry.uploadVersion({ name: 'iris', filename: 'iris.tgz', stream: streamOf(tgz) }), code('LOAD_FAILED', message));
    await assertNothingRegistered('iris');
  }
});

test('20 concurrent uploads of one new name get versions 1..20, each exactly once', async () => {
  // Every upload is held after validation until all 20 are there: they create the model row at once.
  await w.dispose();
  w = await registryWorld({}, barrierValidator(20));
  registry = w.registry;
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => uploadIris({ tags: [`n${i}`] })));
  assert.deepEqual(results.map((r) => r.version.version).sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i + 1));
  assert.equal(new Set(results.map((r) => r.model.id)).size, 1, 'one model row');
  const listed = await registry.listVersions('default', 'iris', { limit: 100 });
  assert.deepEqual(listed.items.map((v) => v.version), Array.from({ length: 20 }, (_, i) => i + 1));
  // Every version kept its own tags: no upload's row was written twice or swapped.
  const tagsByVersion = new Map(results.map((r) => [r.version.version, r.version.tags[0]]));
  for (const v of listed.items) assert.equal(v.tags[0], tagsByVersion.get(v.version));
  assert.deepEqual(await w.tmpEntries(), []);
});

test('importing a models folder is idempotent by model.onnx digest; a flat <name>.onnx takes its sidecar yaml', async () => {
  const first = await registry.importFolderModel('iris', IRIS_DIR);
  assert.equal(first.imported, true);
  assert.equal(first.version.version, 1);
  assert.deepEqual(first.version.metrics, { accuracy: 0.9737 });
  const again = await registry.importFolderModel('iris', IRIS_DIR);
  assert.equal(again.imported, false);
  assert.equal(again.version.id, first.version.id);
  assert.deepEqual((await registry.listVersions('default', 'iris')).items.map((v) => v.version), [1]);

  const flat = await mkdtemp(join(tmpdir(), 'plinth-flat-'));
  try {
    await writeFile(join(flat, 'diabetes.onnx'), diabetes);
    await writeFile(join(flat, 'diabetes.yaml'), diabetesYaml);
    const imported = await registry.importFolderModel('diabetes', join(flat, 'diabetes.onnx'), { manifestFile: join(flat, 'diabetes.yaml') });
    assert.equal(imported.imported, true);
    assert.deepEqual((await registry.listArtifacts(imported.version)).map((f) => f.path), ['model.onnx', 'model.yaml']);
    assert.equal((await registry.importFolderModel('diabetes', join(flat, 'diabetes.onnx'), { manifestFile: join(flat, 'diabetes.yaml') })).imported, false);
    // A symlink inside a version folder is refused by the intake, not followed.
    const linked = join(flat, 'linked');
    await mkdir(linked);
    await writeFile(join(linked, 'model.onnx'), iris);
    await symlink('/etc/hostname', join(linked, 'notes.txt'));
    await assert.rejects(registry.importFolderModel('linked', linked), code('INVALID_INPUT', /symbolic links are not allowed/));
  } finally {
    await rm(flat, { recursive: true, force: true });
  }
  assert.deepEqual(await w.tmpEntries(), [], 'staging and intake folders are removed');
});

test('aliases: set, move, delete; latest and best are reserved; every reference form resolves', async () => {
  await uploadIris();
  await uploadIris();
  await uploadIris();
  await assert.rejects(registry.resolve('default', 'iris@production'), code('VERSION_NOT_FOUND', /model 'iris' has no alias 'production'/));
  const set = await registry.setAlias('default', 'iris', 'production', 1);
  assert.equal(set.version, 1);
  assert.equal((await registry.resolve('default', 'models:/iris@production')).version.version, 1);
  await registry.setAlias('default', 'iris', 'production', 2); // move
  await registry.setAlias('default', 'iris', 'staging', 3);

  const resolved = async (reference: string) => (await registry.resolve('default', reference)).version.version;
  assert.equal(await resolved('iris'), 3);
  assert.equal(await resolved('iris@production'), 2);
  assert.equal(await resolved('models:/iris/2'), 2);
  assert.equal(await resolved('models:/iris/1'), 1);
  assert.equal(await resolved('models:/iris@production'), 2);
  assert.equal(await resolved('models:/iris@staging'), 3);
  assert.equal(await resolved('models:/iris/latest'), 3);
  assert.equal(await resolved('iris@latest'), 3);
  const full = await registry.resolve('default', 'models:/iris/2');
  assert.equal(full.model.name, 'iris');
  assert.deepEqual(full.reference, { name: 'iris', version: 2 });

  assert.deepEqual(
    (await registry.listAliases('default', 'iris')).map(({ name, version, computed }) => ({ name, version, computed })),
    [
      { name: 'production', version: 2, computed: false },
      { name: 'staging', version: 3, computed: false },
      { name: 'latest', version: 3, computed: true },
    ],
    'no best: these versions have no metrics',
  );

  for (const reserved of ['latest', 'best']) {
    await assert.rejects(registry.setAlias('default', 'iris', reserved, 1), code('INVALID_INPUT', /is reserved/));
    await assert.rejects(registry.deleteAlias('default', 'iris', reserved), code('INVALID_INPUT', /is reserved/));
  }
  await assert.rejects(registry.setAlias('default', 'iris', 'Prod', 1), code('INVALID_INPUT', /lower-case/));
  await assert.rejects(registry.setAlias('default', 'iris', 'canary', 9), code('VERSION_NOT_FOUND', /model 'iris' has no version '9'/));
  await assert.rejects(registry.setAlias('default', 'nope', 'canary', 1), code('MODEL_NOT_FOUND', /model 'nope' does not exist/));

  await registry.deleteAlias('default', 'iris', 'production');
  await assert.rejects(registry.resolve('default', 'iris@production'), code('VERSION_NOT_FOUND', /no alias 'production'/));
  await assert.rejects(registry.deleteAlias('default', 'iris', 'production'), code('VERSION_NOT_FOUND', /no alias 'production'/));

  await assert.rejects(registry.resolve('default', 'models:/iris/7'), code('VERSION_NOT_FOUND', /model 'iris' has no version '7'/));
  await assert.rejects(registry.resolve('default', 'models:/ghost/1'), code('MODEL_NOT_FOUND', /model 'ghost' does not exist/));
  await assert.rejects(registry.resolve('default', 'models:/iris/x/1'), code('INVALID_INPUT'));
  await assert.rejects(registry.resolve('nowhere', 'iris'), code('NOT_FOUND', /space 'nowhere' does not exist/));
  await assert.rejects(registry.resolve('default', 'models:/iris/best'), code('CONFLICT', /no primary metric/));
});

test('best: highest accuracy for iris, lowest rmse for a regressor, ties to the newer version', async () => {
  for (const accuracy of [0.9, 0.97, 0.95]) {
    await registry.uploadVersion({ name: 'iris', filename: 'iris.tar.gz', stream: streamOf(await irisWithAccuracy(accuracy)) });
  }
  assert.equal((await registry.resolve('default', 'models:/iris/best')).version.version, 2);
  assert.equal((await registry.resolve('default', 'iris@best')).version.version, 2);
  await registry.uploadVersion({ name: 'iris', filename: 'iris.tar.gz', stream: streamOf(await irisWithAccuracy(0.97)) });
  assert.equal((await registry.resolve('default', 'iris@best')).version.version, 4, 'a tie goes to the newer version');
  const best = (await registry.listAliases('default', 'iris')).find((a) => a.name === 'best');
  assert.deepEqual(best && { version: best.version, metric: best.metric }, { version: 4, metric: 'accuracy' });

  const rmseYaml = (rmse: number) => diabetesYaml.replace(/rmse: [0-9.]+/, `rmse: ${rmse}`).replace('primary_metric: r2', 'primary_metric: rmse');
  for (const rmse of [60.5, 48.25, 55]) {
    const tgz = await tarGzOf({ 'model.onnx': diabetes, 'model.yaml': Buffer.from(rmseYaml(rmse)) });
    await registry.uploadVersion({ name: 'diabetes', filename: 'd.tgz', stream: streamOf(tgz) });
  }
  const lowest = await registry.resolve('default', 'models:/diabetes/best');
  assert.equal(lowest.version.version, 2, 'rmse: lower is better');
  assert.equal(lowest.version.metrics.rmse, 48.25);

  // The newest version decides the metric; without metrics, best is undefined (409).
  await registry.uploadVersion({ name: 'diabetes', filename: 'd.onnx', stream: streamOf(diabetes) });
  await assert.rejects(registry.resolve('default', 'diabetes@best'), code('CONFLICT', /model 'diabetes' has no primary metric/));
});

test('models: list with prefix, tag and pages; update with If-Match; a stale revision is 412', async () => {
  for (const name of ['alpha', 'beta', 'beta-2', 'gamma']) await uploadIris({ name });
  let model = await registry.updateModel('default', 'beta', { tags: ['prod', 'tabular'], description: 'B' });
  assert.equal(model.revision, 2);
  assert.deepEqual(model.tags, ['prod', 'tabular']);
  model = await registry.updateModel('default', 'beta', { description: 'B2' }, 2);
  assert.equal(model.revision, 3);
  assert.equal(model.description, 'B2');
  await assert.rejects(
    registry.updateModel('default', 'beta', { description: 'lost update' }, 2),
    (err: unknown) => code('PRECONDITION_FAILED', /model 'beta' is at revision 3, not 2/)(err) && (err as PlinthError).status === 412,
  );
  assert.equal((await registry.getModel('default', 'beta')).description, 'B2', 'the stale update changed nothing');
  await assert.rejects(registry.updateModel('default', 'beta', { tags: [''] }), code('INVALID_INPUT', /tag '' is invalid/));
  await assert.rejects(registry.updateModel('default', 'beta', {}, 0), code('INVALID_INPUT', /If-Match/));
  await assert.rejects(registry.updateModel('default', 'ghost', {}), code('MODEL_NOT_FOUND'));

  assert.deepEqual((await registry.listModels('default', { namePrefix: 'beta' })).items.map((m) => m.name), ['beta', 'beta-2']);
  assert.deepEqual((await registry.listModels('default', { tag: 'prod' })).items.map((m) => m.name), ['beta']);
  const page1 = await registry.listModels('default', { limit: 3 });
  assert.deepEqual(page1.items.map((m) => m.name), ['alpha', 'beta', 'beta-2']);
  const page2 = await registry.listModels('default', { limit: 3, cursor: page1.nextCursor });
  assert.deepEqual(page2.items.map((m) => m.name), ['gamma']);
  assert.equal(page2.nextCursor, undefined);
});

test('spaces: default exists once, names are validated, models are scoped to their space', async () => {
  const again = await registry.ensureDefaultSpace();
  assert.equal(again.name, 'default');
  assert.deepEqual((await registry.listSpaces()).items.map((s) => s.name), ['default']);
  const lab = await registry.createSpace({ name: 'lab', description: 'experiments' });
  assert.equal((await registry.getSpace('lab')).id, lab.id);
  await assert.rejects(registry.createSpace({ name: 'lab' }), code('CONFLICT', /space 'lab' already exists/));
  await assert.rejects(registry.createSpace({ name: '../x' }), code('INVALID_INPUT', /space name/));
  await assert.rejects(registry.getSpace('missing'), code('NOT_FOUND', /space 'missing' does not exist/));

  await uploadIris({ space: 'lab' });
  assert.deepEqual((await registry.listModels('lab')).items.map((m) => m.name), ['iris']);
  assert.deepEqual((await registry.listModels('default')).items, []);
  await assert.rejects(registry.resolve('default', 'iris'), code('MODEL_NOT_FOUND'));
  await assert.rejects(registry.getModel('lab', 'ghost'), code('MODEL_NOT_FOUND', /does not exist in space 'lab'/));
  assert.equal((await registry.resolve('lab', 'models:/iris/1')).space.id, lab.id);
  await assert.rejects(uploadIris({ space: 'missing' }), code('NOT_FOUND', /space 'missing'/));
  assert.deepEqual(await w.tmpEntries(), [], 'a refused space consumes no upload');
});

test('deleting versions and models: refused while an alias or deployment uses them, then their blobs go too', async () => {
  const v1 = await uploadIris();
  await registry.uploadVersion({ name: 'iris', filename: 'iris.tgz', stream: streamOf(await irisWithAccuracy(0.9)) });
  const v3 = await uploadIris();
  assert.equal(v3.version.blobKey, v1.version.blobKey, 'identical uploads share one content-addressed bundle');
  const model = v1.model;
  const space = v1.space;

  await registry.setAlias('default', 'iris', 'production', 2);
  await assert.rejects(registry.deleteVersion('default', 'iris', 2), code('CONFLICT', /alias\(es\) 'production'/));
  await registry.deleteAlias('default', 'iris', 'production');

  const deployment = await w.repos.deployments.create({ spaceId: space.id, name: 'iris-live', target: { modelId: model.id, primary: { version: 2 } } });
  await assert.rejects(registry.deleteVersion('default', 'iris', 2), code('CONFLICT', /used by deployment\(s\) 'iris-live'/));
  const onLatest = await w.repos.deployments.create({ spaceId: space.id, name: 'iris-latest', target: { modelId: model.id, primary: { alias: 'latest' } } });
  await assert.rejects(registry.deleteVersion('default', 'iris', 3), code('CONFLICT', /'iris-latest'/), 'latest points at 3 now');
  await assert.rejects(registry.deleteModel('default', 'iris'), code('CONFLICT', /deployment/));
  await w.repos.deployments.delete(deployment.id);
  await w.repos.deployments.delete(onLatest.id);

  const before = await w.blobFiles();
  await registry.deleteVersion('default', 'iris', 2);
  const after = await w.blobFiles();
  assert.equal(before.length - after.length, 3, "version 2's bundle (model.onnx, model.yaml, index) is gone");
  await assert.rejects(registry.getVersion('default', 'iris', 2), code('VERSION_NOT_FOUND'));
  await registry.deleteVersion('default', 'iris', 1);
  assert.deepEqual(await w.blobFiles(), after, 'version 3 still uses the bundle version 1 shared');
  assert.deepEqual(await readAll(await registry.openArtifact(v3.version)), iris);
  const v4 = await uploadIris();
  assert.equal(v4.version.version, 4, 'numbers are never reused');

  await registry.deleteModel('default', 'iris');
  await assert.rejects(registry.getModel('default', 'iris'), code('MODEL_NOT_FOUND'));
  await assert.rejects(registry.resolve('default', 'iris'), code('MODEL_NOT_FOUND'));
  assert.deepEqual(await w.blobFiles(), [], "the model's blobs are removed");
  await assert.rejects(registry.deleteModel('default', 'iris'), code('MODEL_NOT_FOUND'));
});

test('a restart loses nothing: models, versions, aliases and artifacts come back from disk', async () => {
  await registry.createSpace({ name: 'lab' });
  const tgz = await irisWithAccuracy(0.96);
  await registry.uploadVersion({ name: 'iris', filename: 'iris.tgz', stream: streamOf(tgz), tags: ['t'] });
  await registry.uploadVersion({ name: 'iris', filename: 'iris.tgz', stream: streamOf(await irisWithAccuracy(0.9)) });
  await registry.setAlias('default', 'iris', 'production', 1);
  await registry.updateModel('default', 'iris', { description: 'kept' });
  await uploadIris({ space: 'lab', name: 'other' });

  await w.restart();
  registry = w.registry;
  assert.deepEqual((await registry.listSpaces()).items.map((s) => s.name), ['default', 'lab']);
  const model = await registry.getModel('default', 'iris');
  assert.equal(model.description, 'kept');
  assert.equal(model.revision, 2);
  const production = await registry.resolve('default', 'iris@production');
  assert.equal(production.version.version, 1);
  assert.deepEqual(production.version.tags, ['t']);
  assert.deepEqual(production.version.metrics, { accuracy: 0.96 });
  assert.equal((await registry.resolve('default', 'models:/iris/best')).version.version, 1);
  assert.equal((await registry.resolve('default', 'models:/iris/latest')).version.version, 2);
  assert.deepEqual(await readAll(await registry.openArtifact(production.version)), iris);
  assert.equal((await registry.resolve('lab', 'other')).version.version, 1);
  assert.equal((await uploadIris()).version.version, 3, 'numbering continues after the restart');
});
