import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer as streamToBuffer } from 'node:stream/consumers';
import { create as createTar } from 'tar';
import yazl from 'yazl';
import { DEFAULT_INTAKE_LIMITS, resolveLimits } from '../../src/registry/model-intake.service.js';
import { EXAMPLES } from '../helpers/server.js';
import { onnxModel, tgzBytes, zipBytes } from './archive-builders.js';
import { chunked, sandbox, type Sandbox } from './intake-helpers.js';

const IRIS = join(EXAMPLES, 'iris/1/model.onnx');
const IRIS_YAML = join(EXAMPLES, 'iris/1/model.yaml');
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const VOCAB = Buffer.from(JSON.stringify({ tokens: ['a', 'b', 'c'] }));

let box: Sandbox;
let iris: Buffer;
let irisYaml: Buffer;
beforeEach(async () => {
  box = await sandbox();
  iris = await readFile(IRIS);
  irisYaml = await readFile(IRIS_YAML);
});
afterEach(() => box.dispose());

async function yazlZip(files: Record<string, Buffer>, dirs: string[] = []): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const d of dirs) zip.addEmptyDirectory(d);
  for (const [name, data] of Object.entries(files)) zip.addBuffer(data, name);
  zip.end();
  return streamToBuffer(zip.outputStream);
}

/** A .tar.gz made by node-tar from a real folder, as `tar -czf x.tgz -C dir <entries>` would. */
async function nodeTarGz(files: Record<string, Buffer>, entries: string[]): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'plinth-tarsrc-'));
  try {
    for (const [name, data] of Object.entries(files)) {
      await mkdir(join(dir, name, '..'), { recursive: true });
      await writeFile(join(dir, name), data);
    }
    return await streamToBuffer(createTar({ gzip: true, cwd: dir, portable: true }, entries) as unknown as Readable);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function assertModelFolder(result: Awaited<ReturnType<Sandbox['intake']>>, expected: Record<string, Buffer>) {
  assert.deepEqual(result.files.map((f) => f.path), Object.keys(expected).sort());
  for (const f of result.files) {
    const bytes = await readFile(join(result.dir, f.path));
    assert.deepEqual(bytes, expected[f.path], f.path);
    assert.equal(f.size, bytes.length);
    assert.equal(f.sha256, sha(bytes));
  }
  assert.equal(result.model.path, 'model.onnx');
  assert.equal(result.model.sha256, sha(iris));
  assert.ok(result.dir.startsWith(box.tmpRoot));
}

test('a single .onnx file becomes dir/model.onnx, streamed in chunks, with its digest', async () => {
  const result = await box.intake('Iris Classifier.ONNX', chunked(iris, 777));
  await assertModelFolder(result, { 'model.onnx': iris });
  assert.equal(result.format, 'onnx');
  assert.deepEqual(result.upload, { bytes: iris.length, sha256: sha(iris) });
  assert.equal(result.manifest, undefined);
  assert.deepEqual(result.externalData, []);
  await result.cleanup();
  await result.cleanup(); // twice is fine
  assert.deepEqual(await box.listing(), ['deep', 'deep/er', 'deep/er/tmp']);
});

test('a zip (made by yazl) of one top folder with model.onnx, model.yaml and a vocabulary', async () => {
  const bytes = await yazlZip(
    { 'iris/model.onnx': iris, 'iris/model.yaml': irisYaml, 'iris/assets/vocab.json': VOCAB, '__MACOSX/iris/._model.onnx': Buffer.from('junk') },
    ['iris/', 'iris/assets/'],
  );
  const result = await box.intake('iris.zip', chunked(bytes));
  await assertModelFolder(result, { 'assets/vocab.json': VOCAB, 'model.onnx': iris, 'model.yaml': irisYaml });
  assert.equal(result.format, 'zip');
  assert.equal(result.manifest?.name, 'iris');
  assert.deepEqual(result.upload, { bytes: bytes.length, sha256: sha(bytes) });
  // the uploaded archive itself is not kept beside the model folder
  assert.deepEqual((await box.listing()).filter((p) => p.endsWith('/upload')), []);
  await result.cleanup();
  assert.deepEqual(await box.listing(), ['deep', 'deep/er', 'deep/er/tmp']);
});

test('a .tar.gz (made by node-tar) with model.onnx at the root, written as ./model.onnx', async () => {
  const bytes = await nodeTarGz({ 'model.onnx': iris, 'model.yaml': irisYaml, 'vocab.json': VOCAB }, ['.']);
  const result = await box.intake('model.tar.gz', bytes);
  await assertModelFolder(result, { 'model.onnx': iris, 'model.yaml': irisYaml, 'vocab.json': VOCAB });
  assert.equal(result.format, 'tar.gz');
  await result.cleanup();
  assert.deepEqual(await box.listing(), ['deep', 'deep/er', 'deep/er/tmp']);
});

test('a .tgz with one top folder, and a zip with model.onnx at its root', async () => {
  const tgz = await box.intake('m.tgz', await nodeTarGz({ 'credit/model.onnx': iris, 'credit/vocab.json': VOCAB }, ['credit']));
  await assertModelFolder(tgz, { 'model.onnx': iris, 'vocab.json': VOCAB });
  assert.ok(tgz.dir.endsWith('credit'));
  const zip = await box.intake('m.zip', zipBytes([{ name: 'model.onnx', data: iris }, { name: 'notes/readme.txt', data: Buffer.from('hi') }]));
  await assertModelFolder(zip, { 'model.onnx': iris, 'notes/readme.txt': Buffer.from('hi') });
  await tgz.cleanup();
  await zip.cleanup();
});

test('ONNX external data inside the model folder is accepted and listed', async () => {
  const weights = Buffer.from(new Float32Array([1, 2]).buffer);
  const model = onnxModel({ location: 'data/weights.bin' });
  const result = await box.intake('m.tgz', tgzBytes([{ name: 'm/model.onnx', data: model }, { name: 'm/data/weights.bin', data: weights }]));
  assert.deepEqual(result.externalData, ['data/weights.bin']);
  assert.deepEqual(result.files.map((f) => f.path), ['data/weights.bin', 'model.onnx']);
  await result.cleanup();
});

test('archives without model.onnx where expected are refused, naming what was found', async () => {
  await box.refused('m.zip', zipBytes([{ name: 'a/b/model.onnx', data: iris }]), 'INVALID_INPUT', /at its root or inside exactly one top folder \(found 'a\/b\/model.onnx'\)/);
  await box.refused('m.zip', zipBytes([{ name: 'a/model.onnx', data: iris }, { name: 'b/model.onnx', data: iris }]), 'INVALID_INPUT', /exactly one top folder/);
  await box.refused('m.zip', zipBytes([{ name: 'vocab.json', data: VOCAB }]), 'INVALID_INPUT', /it has no model.onnx/);
  await box.refused('m.zip', zipBytes([]), 'INVALID_INPUT', /it has no model.onnx/);
});

test('an upload over the byte limit is refused with 413 while streaming, without reading it all', async () => {
  await box.refused('m.onnx', iris, 'PAYLOAD_TOO_LARGE', /upload is larger than the 1000 bytes upload limit/, { maxUploadBytes: 1000 });
  await box.refused('m.onnx', iris, 'PAYLOAD_TOO_LARGE', /larger than the 2 KiB limit per file/, { maxFileBytes: 2048 });
  const zip = zipBytes([{ name: 'model.onnx', data: iris }]);
  await box.refused('m.zip', zip, 'PAYLOAD_TOO_LARGE', /upload is larger than/, { maxUploadBytes: zip.length - 1 });

  // an endless body: refused after the limit, and the source stops being read
  let produced = 0;
  const endless = Readable.from(
    (function* () {
      for (;;) {
        produced++;
        yield Buffer.alloc(64 * 1024, 1);
      }
    })(),
  );
  await box.refused('huge.tar.gz', endless, 'PAYLOAD_TOO_LARGE', /upload is larger than the 1 MiB upload limit/, { maxUploadBytes: 1024 * 1024 });
  assert.ok(produced < 40, `read ${produced} chunks of an endless stream`);
  assert.ok(endless.destroyed);
});

test('random bytes or text named .onnx are refused as not an ONNX model', async () => {
  await box.refused('x.onnx', Buffer.from('c0ffee'.repeat(1000), 'hex'), 'INVALID_INPUT', /'model.onnx' refused: it is not an ONNX model/);
  await box.refused('x.onnx', Buffer.from('hello, this is not a model\n'), 'INVALID_INPUT', /not an ONNX model/);
  await box.refused('x.onnx', Buffer.alloc(0), 'INVALID_INPUT', /the file is empty/);
  await box.refused('m.zip', zipBytes([{ name: 'model.onnx', data: Buffer.from('{"not": "onnx"}') }]), 'INVALID_INPUT', /not an ONNX model/);
});

test('files that are not the format their name says are refused', async () => {
  await box.refused('m.zip', iris, 'INVALID_INPUT', /named .zip but is not a zip archive/);
  await box.refused('m.tar.gz', iris, 'INVALID_INPUT', /not gzip-compressed/);
  await box.refused('m.tgz', Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]), 'INVALID_INPUT', /tar.gz archive is malformed/);
  await box.refused('m.zip', Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(100)]), 'INVALID_INPUT', /zip archive is malformed/);
  await box.refused('model.bin', iris, 'INVALID_INPUT', /expected a .onnx file, an XGBoost .json model, or a .zip, .tar.gz or .tgz archive/);
});

test('a malformed model.yaml is refused with the manifest error', async () => {
  const zip = zipBytes([{ name: 'model.onnx', data: iris }, { name: 'model.yaml', data: Buffer.from('task: clustering\n') }]);
  await box.refused('m.zip', zip, 'INVALID_INPUT', /'model.yaml' refused: model.yaml \/task/);
});

test('limits: overrides apply, undefined keeps the default, nonsense is refused', async () => {
  assert.deepEqual(resolveLimits({ maxEntries: 3, maxPathLength: undefined }), { ...DEFAULT_INTAKE_LIMITS, maxEntries: 3 });
  assert.throws(() => resolveLimits({ maxUploadBytes: Number.NaN }), /maxUploadBytes must be a number/);
  const zip = zipBytes([{ name: 'model.onnx', data: iris }, { name: 'a.txt', data: VOCAB }, { name: 'b.txt', data: VOCAB }]);
  await box.refused('m.zip', zip, 'PAYLOAD_TOO_LARGE', /more than 2/, { maxEntries: 2, maxUploadBytes: undefined });
});
