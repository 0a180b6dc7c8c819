import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelFolderSource } from '../../src/storage/model-folder.source.js';
import { FIXTURES } from '../helpers/server.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plinth-folder-'));
  const onnx = join(FIXTURES, 'add-mul.onnx');
  await cp(onnx, join(dir, 'single.onnx'));
  await writeFile(join(dir, 'single.yaml'), 'description: sidecar\n');
  for (const v of ['1', '2', '10']) await cp(onnx, join(dir, 'multi', v, 'model.onnx'), { recursive: true });
  await mkdir(join(dir, 'multi', 'notes'));
  await mkdir(join(dir, 'multi', '3'));
  await cp(onnx, join(dir, 'bad..name.onnx'));
  await mkdir(join(dir, 'empty'));
  await cp(onnx, join(dir, 'multi.onnx'));
  await writeFile(join(dir, 'README.txt'), 'not a model');
});
after(() => rm(dir, { recursive: true, force: true }));

test('scans single files and numbered version folders, skipping what is not a model', async () => {
  const source = new ModelFolderSource(dir);
  const scan = await source.scan();
  assert.deepEqual(scan.models, [
    { name: 'multi', versions: ['1', '2', '10'] },
    { name: 'single', versions: ['1'] },
  ]);
  const skipped = Object.fromEntries(scan.skipped.map((s) => [s.entry, s.reason]));
  assert.match(skipped['bad..name.onnx']!, /not a valid model name/);
  assert.match(skipped['empty']!, /no numbered version folder/);
  assert.match(skipped['multi/3']!, /no model.onnx/);
  assert.match(skipped['multi.onnx']!, /already serves the name 'multi'/);
  assert.equal(await source.readManifest('single', '1'), 'description: sidecar\n');
  assert.equal(await source.readManifest('multi', '2'), undefined);
  assert.ok((await source.modelFile('multi', '10')).endsWith('model.onnx'));
});

test('never reads a name the scan did not find', async () => {
  const source = new ModelFolderSource(dir);
  await source.scan();
  await assert.rejects(source.modelFile('../single', '1'), /not in the repository/);
  await assert.rejects(source.modelFile('single', '2'), /not in the repository/);
});
