import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importModelFolder } from '../../src/registry/startup-import.js';
import { ModelFolderSource } from '../../src/storage/model-folder.source.js';
import { FIXTURES, SHARED } from '../helpers/server.js';
import { booster, TWO_TREES } from './xgboost-boosters.js';
import { registryWorld, type RegistryWorld } from './registry-helpers.js';

const log = { info: () => undefined, warn: () => undefined };
const small = (featureNames?: string[]) => JSON.stringify(booster({ objective: 'reg:squarederror', numFeature: 2, trees: TWO_TREES, featureNames }));

let dir: string;
let world: RegistryWorld;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plinth-xgb-folder-'));
  await copyFile(join(SHARED, 'xgb_breast_cancer.json'), join(dir, 'cancer.json'));
  await writeFile(join(dir, 'small.json'), small(['x', 'y']));
  await writeFile(join(dir, 'small.yaml'), 'description: sidecar\n');
  // JSON that is not an XGBoost model, and a JSON beside an ONNX model of the same name.
  await writeFile(join(dir, 'settings.json'), JSON.stringify({ learner: 'not an object', rows: [1, 2] }));
  await writeFile(join(dir, 'vocabulary.json'), JSON.stringify(['a', 'b']));
  await copyFile(join(FIXTURES, 'add-mul.onnx'), join(dir, 'twin.onnx'));
  await writeFile(join(dir, 'twin.json'), small());
  await mkdir(join(dir, 'boosted', '1'), { recursive: true });
  await mkdir(join(dir, 'boosted', '2'), { recursive: true });
  await writeFile(join(dir, 'boosted', '1', 'model.json'), small());
  await writeFile(join(dir, 'boosted', '2', 'model.json'), small(['p', 'q']));
  await writeFile(join(dir, 'boosted', '2', 'model.yaml'), 'metrics: {rmse: 0.5}\n');
  world = await registryWorld();
});
after(async () => {
  await world.dispose();
  await rm(dir, { recursive: true, force: true });
});

test('the models folder takes <name>.json and <name>/<version>/model.json only when they are XGBoost models', async () => {
  const source = new ModelFolderSource(dir);
  const scan = await source.scan();
  assert.deepEqual(scan.models, [
    { name: 'boosted', versions: ['1', '2'] },
    { name: 'cancer', versions: ['1'] },
    { name: 'small', versions: ['1'] },
    { name: 'twin', versions: ['1'] },
  ]);
  assert.ok(source.find('twin', '1').model.endsWith('twin.onnx'), 'the ONNX file wins over a JSON of the same name');
  assert.deepEqual(scan.skipped, [{ entry: 'twin.json', reason: "another entry already serves the name 'twin'" }]);
  assert.equal(await source.readManifest('small', '1'), 'description: sidecar\n');
  assert.ok(source.find('boosted', '2').model.endsWith('model.json'));
});

test('importing compiles each booster once: a second import (a restart) adds nothing', async () => {
  const first = await importModelFolder(world.registry, new ModelFolderSource(dir), log);
  assert.deepEqual(first.refused, []);
  const manifests = Object.fromEntries(first.imported.map((r) => [`${r.model.name}/${r.version.version}`, r.version.manifest]));
  assert.deepEqual(manifests, {
    'boosted/1': { xgboost: 'xgboost.json' },
    'boosted/2': { metrics: { rmse: 0.5 }, features: [{ name: 'p' }, { name: 'q' }], xgboost: 'xgboost.json' },
    'cancer/1': { xgboost: 'xgboost.json' },
    'small/1': { description: 'sidecar', features: [{ name: 'x' }, { name: 'y' }], xgboost: 'xgboost.json' },
    'twin/1': null,
  });
  const again = await importModelFolder(world.registry, new ModelFolderSource(dir), log);
  assert.deepEqual(again, { imported: [], refused: [] });
  // A changed sidecar is a new version of the same booster.
  await writeFile(join(dir, 'small.yaml'), 'description: retrained sidecar\n');
  const changed = await importModelFolder(world.registry, new ModelFolderSource(dir), log);
  assert.deepEqual(changed.imported.map((r) => [r.model.name, r.version.version]), [['small', 2]]);
});

test('a version folder whose model.json is not a servable booster is refused with the reason', async () => {
  const bad = await mkdtemp(join(tmpdir(), 'plinth-xgb-bad-'));
  try {
    await mkdir(join(bad, 'ranker', '1'), { recursive: true });
    await writeFile(join(bad, 'ranker', '1', 'model.json'), JSON.stringify(booster({ objective: 'rank:ndcg', numFeature: 2, trees: TWO_TREES })));
    await mkdir(join(bad, 'data', '1'), { recursive: true });
    await writeFile(join(bad, 'data', '1', 'model.json'), '[1, 2, 3]');
    const result = await importModelFolder(world.registry, new ModelFolderSource(bad), log);
    assert.deepEqual(result.imported, []);
    const reasons = Object.fromEntries(result.refused.map((r) => [r.name, r.reason]));
    assert.match(reasons.ranker!, /cannot be served: unsupported XGBoost model: objective 'rank:ndcg'/);
    assert.match(reasons.data!, /it is JSON but not an XGBoost model/);
  } finally {
    await rm(bad, { recursive: true, force: true });
  }
});
