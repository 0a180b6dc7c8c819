import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { PlinthError } from '../../src/core/errors.js';
import { parseManifest } from '../../src/core/manifest.js';
import { SHARED } from '../helpers/server.js';
import { booster, TWO_TREES } from './xgboost-boosters.js';
import { readAll, registryWorld, streamOf, tarGzOf, zipOf, type RegistryWorld } from './registry-helpers.js';

const breastCancer = readFileSync(`${SHARED}/xgb_breast_cancer.json`);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const json = (doc: unknown) => Buffer.from(JSON.stringify(doc));
const small = (extra: Partial<Parameters<typeof booster>[0]> = {}) => booster({ objective: 'binary:logistic', numFeature: 2, trees: TWO_TREES, ...extra });

const refusal = (code: PlinthError['code'], message: RegExp) => (err: unknown) => {
  assert.ok(err instanceof PlinthError, String(err));
  assert.equal(err.code, code, err.message);
  assert.match(err.message, message);
  return true;
};

let world: RegistryWorld;
before(async () => {
  world = await registryWorld({ limits: { maxUploadBytes: 200_000 } });
});
after(() => world.dispose());

const upload = (name: string, filename: string, bytes: Buffer) => world.registry.uploadVersion({ name, filename, stream: streamOf(bytes) });

test('a .json XGBoost model is compiled at upload: model.onnx serves it, the booster is kept as xgboost.json and named by the manifest', async () => {
  const { version } = await upload('xgb', 'xgb_breast_cancer.json', breastCancer);
  // The version is known by the booster as uploaded, so importing the same file again adds nothing.
  assert.equal(version.sha256, sha(breastCancer));
  assert.equal(version.size, breastCancer.length);
  assert.deepEqual(version.manifest, { xgboost: 'xgboost.json' });
  const signature = version.signature as { inputs: { name: string; shape: number[] }[]; outputs: { name: string; datatype: string; shape: number[] }[] };
  assert.deepEqual(signature.inputs.map((i) => [i.name, i.shape]), [['input', [-1, 30]]]);
  assert.deepEqual(signature.outputs.map((o) => [o.name, o.datatype]), [['label', 'INT64'], ['probabilities', 'FP32']]);
  const artifacts = await world.registry.listArtifacts(version);
  assert.deepEqual(artifacts.map((a) => a.path), ['model.onnx', 'model.yaml', 'xgboost.json']);
  assert.deepEqual(await readAll(await world.registry.openArtifact(version, 'xgboost.json')), breastCancer);
  // model.yaml in the bundle is the manifest, so a downloaded bundle uploads again as an ONNX folder.
  const yaml = (await readAll(await world.registry.openArtifact(version, 'model.yaml'))).toString();
  assert.deepEqual(parseManifest(yaml), version.manifest);
  const onnx = await readAll(await world.registry.openArtifact(version, 'model.onnx'));
  const again = await upload('xgb', 'bundle.tar.gz', await tarGzOf({ 'model.onnx': onnx, 'model.yaml': Buffer.from(yaml), 'xgboost.json': breastCancer }));
  assert.deepEqual(again.version.manifest, { xgboost: 'xgboost.json' });
  assert.equal(again.version.sha256, sha(onnx));
  assert.deepEqual(await world.tmpEntries(), []);
});

test('an archive whose folder holds model.json: model.yaml keys are kept, feature_names become the features, other files stay artifacts', async () => {
  const doc = small({ featureNames: ['radius', 'texture'] });
  const zip = await zipOf({ 'boost/model.json': json(doc), 'boost/notes.txt': Buffer.from('trained on 2 features'), 'boost/model.yaml': Buffer.from('description: two trees\nmetrics: {auc: 0.9}\n') });
  const { version, model } = await upload('named', 'boost.zip', zip);
  assert.equal(model.description, 'two trees');
  assert.deepEqual(version.manifest, {
    description: 'two trees', metrics: { auc: 0.9 }, features: [{ name: 'radius' }, { name: 'texture' }], xgboost: 'xgboost.json',
  });
  assert.deepEqual((await world.registry.listArtifacts(version)).map((a) => a.path), ['model.onnx', 'model.yaml', 'notes.txt', 'xgboost.json']);
  // Features listed in model.yaml win over feature_names.
  const tgz = await tarGzOf({ 'model.json': json(doc), 'model.yaml': Buffer.from('features: [{name: r}, {name: t}]\n') });
  assert.deepEqual((await upload('named', 'b.tgz', tgz)).version.manifest, { features: [{ name: 'r' }, { name: 't' }], xgboost: 'xgboost.json' });
});

test('what is not an XGBoost model is 400, an XGBoost model Plinth does not serve is 422, each naming the problem; nothing is registered', async () => {
  const unsupported = (mutate: (d: any) => void) => {
    const d = small();
    mutate(d);
    return json(d);
  };
  const cases: [string, Buffer, PlinthError['code'], RegExp][] = [
    ['m.json', Buffer.from('hello, not json'), 'INVALID_INPUT', /upload entry 'model.json' refused: it is not JSON/],
    ['m.json', json({ features: ['a'], rows: [[1]] }), 'INVALID_INPUT', /'model.json' refused: it is JSON but not an XGBoost model: it has no 'learner' object/],
    ['m.json', unsupported((d) => (d.learner.gradient_booster.model.trees[0]!.left_children[0] = 0)), 'INVALID_INPUT', /not a valid XGBoost JSON model: trees\[0\] is not a tree/],
    ['m.json', unsupported((d) => (d.learner.objective.name = 'rank:pairwise')), 'LOAD_FAILED', /'model.json' cannot be served: unsupported XGBoost model: objective 'rank:pairwise'/],
    ['m.json', unsupported((d) => (d.learner.objective.name = 'binary:hinge')), 'LOAD_FAILED', /objective 'binary:hinge'/],
    ['m.json', unsupported((d) => (d.learner.gradient_booster.model.trees[1]!.split_type[0] = 1)), 'LOAD_FAILED', /trees\[1\] has categorical splits/],
    ['m.json', unsupported((d) => (d.learner.gradient_booster = { name: 'gblinear', model: { weights: [0, 0, 0] } })), 'LOAD_FAILED', /booster 'gblinear'/],
    ['m.json', Buffer.alloc(200_001, 0x20), 'PAYLOAD_TOO_LARGE', /larger than the 195.3 KiB upload limit/],
    ['m.zip', await zipOf({ 'model.json': json(small()), 'model.yaml': Buffer.from('xgboost: mine.json\n') }), 'INVALID_INPUT', /'model.yaml' refused: \/xgboost is set by Plinth when it compiles model.json/],
    ['m.zip', await zipOf({ 'model.json': json(small()), 'xgboost.json': Buffer.from('{}') }), 'INVALID_INPUT', /'xgboost.json' refused: Plinth keeps the uploaded model.json under this name/],
    ['m.zip', await zipOf({ 'data.json': json(small()) }), 'INVALID_INPUT', /must hold model.onnx \(or an XGBoost model.json\)/],
  ];
  for (const [filename, bytes, code, message] of cases) {
    await assert.rejects(upload('refused', filename, bytes), refusal(code, message), `${message}`);
  }
  await assert.rejects(world.registry.getModel('default', 'refused'), refusal('MODEL_NOT_FOUND', /refused/));
  assert.deepEqual(await world.tmpEntries(), []);
});

test('an XGBoost JSON model past its own size limit is 413 naming that limit', async () => {
  const tight = await registryWorld({ limits: { maxXgboostJsonBytes: 1000 } });
  try {
    const bytes = json(small());
    assert.ok(bytes.length > 1000);
    await assert.rejects(tight.registry.uploadVersion({ name: 'm', filename: 'm.json', stream: streamOf(bytes) }), refusal('PAYLOAD_TOO_LARGE', /1000 bytes limit for XGBoost JSON models/));
    const zip = await zipOf({ 'model.json': bytes });
    await assert.rejects(tight.registry.uploadVersion({ name: 'm', filename: 'm.zip', stream: streamOf(zip) }), refusal('PAYLOAD_TOO_LARGE', /'model.json' is larger than the 1000 bytes limit for XGBoost JSON models/));
  } finally {
    await tight.dispose();
  }
});

test("a model.yaml naming an xgboost file must name one in the upload that reads the model's features", async () => {
  const { version } = await upload('pair', 'm.json', json(small()));
  const onnx = await readAll(await world.registry.openArtifact(version, 'model.onnx'));
  const missing = await tarGzOf({ 'model.onnx': onnx, 'model.yaml': Buffer.from('xgboost: booster.json\n') });
  await assert.rejects(upload('pair', 'm.tgz', missing), refusal('LOAD_FAILED', /model.yaml \/xgboost: 'booster.json' is not in the upload/));
  const wider = await tarGzOf({ 'model.onnx': onnx, 'model.yaml': Buffer.from('xgboost: b.json\n'), 'b.json': json(small({ numFeature: 3 })) });
  await assert.rejects(upload('pair', 'm.tgz', wider), refusal('LOAD_FAILED', /'b.json' reads 3 features but the model 2/));
});

test('a compiled booster whose model.yaml lists another number of features is refused by the check against its graph', async () => {
  const zip = await zipOf({ 'model.json': json(small()), 'model.yaml': Buffer.from('features:\n  - name: a\n  - name: b\n  - name: c\n') });
  await assert.rejects(upload('three', 'm.zip', zip), refusal('LOAD_FAILED', /model.yaml does not match the model/));
});
