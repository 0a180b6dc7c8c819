import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { PlinthError } from '../../src/core/errors.js';
import { isValidBlobKey } from '../../src/storage/blob/blob-key.js';
import { LocalFolderBlobStore } from '../../src/storage/blob/local-folder.blob-store.js';

let dir: string;
let root: string;
let store: LocalFolderBlobStore;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plinth-blobs-'));
  root = join(dir, 'blobs');
  store = await LocalFolderBlobStore.open(root);
});
after(() => rm(dir, { recursive: true, force: true }));

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const readAll = async (stream: AsyncIterable<Buffer>) => {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
};
const tempFiles = () => readdir(join(root, '.tmp'));

test('put streams the bytes in, reporting size and SHA-256; get streams them back', async () => {
  // 3 MiB in 64 KiB chunks: several writes, not one buffer.
  const bytes = Buffer.alloc(3 * 1024 * 1024);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + 7) & 0xff;
  const chunks = Array.from({ length: bytes.length / 65536 }, (_, i) => bytes.subarray(i * 65536, (i + 1) * 65536));
  const info = await store.put('models/abc/1/model.onnx', Readable.from(chunks));
  assert.deepEqual(info, { size: bytes.length, sha256: sha256(bytes) });
  assert.equal(await store.exists('models/abc/1/model.onnx'), true);
  assert.deepEqual(await readAll(await store.get('models/abc/1/model.onnx')), bytes);
  assert.deepEqual(await readFile(join(root, 'models', 'abc', '1', 'model.onnx')), bytes, 'the key is the path under the root');
  assert.deepEqual(await tempFiles(), [], 'no temp file left after a successful put');

  const empty = await store.put('empty', Readable.from([]));
  assert.deepEqual(empty, { size: 0, sha256: sha256(new Uint8Array()) });
  const generated = await store.put('generated', (async function* () { yield new TextEncoder().encode('abc'); })());
  assert.equal(generated.sha256, 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});

test('put replaces an existing blob as a whole', async () => {
  await store.put('replace/me', Readable.from([Buffer.from('old contents')]));
  await store.put('replace/me', Readable.from([Buffer.from('new')]));
  assert.equal((await readAll(await store.get('replace/me'))).toString(), 'new');
});

test('a stream that fails half-way leaves no blob, no temp file, and the previous blob intact', async () => {
  const failing = () =>
    (async function* () {
      yield Buffer.alloc(200_000, 1);
      yield Buffer.alloc(200_000, 2);
      throw new Error('client went away');
    })();
  await assert.rejects(store.put('broken/new', failing()), /client went away/);
  assert.equal(await store.exists('broken/new'), false);
  await assert.rejects(stat(join(root, 'broken', 'new')), { code: 'ENOENT' });
  assert.deepEqual(await tempFiles(), []);

  await store.put('broken/kept', Readable.from([Buffer.from('version one')]));
  const stream = new Readable({ read() {} });
  const put = store.put('broken/kept', stream);
  stream.push(Buffer.alloc(100_000, 3));
  setImmediate(() => stream.destroy(new Error('connection reset')));
  await assert.rejects(put, /connection reset/);
  assert.equal((await readAll(await store.get('broken/kept'))).toString(), 'version one');
  assert.deepEqual(await tempFiles(), []);
});

test('invalid keys are refused before anything touches the disk', async () => {
  const bad = ['../x', '/etc/passwd', 'a\0b', 'a/../../b', 'a/..', '..', '.tmp/x', 'a//b', 'a/', '', 'a b', 'a\\b', 'é', 'x'.repeat(1025), 'a/.hidden'];
  for (const key of bad) {
    assert.equal(isValidBlobKey(key), false, `key ${JSON.stringify(key)} must be invalid`);
    await assert.rejects(store.put(key, Readable.from([Buffer.from('x')])), (err: unknown) => err instanceof PlinthError && err.code === 'INVALID_INPUT');
    await assert.rejects(store.get(key), (err: unknown) => err instanceof PlinthError && err.code === 'INVALID_INPUT');
    await assert.rejects(store.exists(key), (err: unknown) => err instanceof PlinthError && err.code === 'INVALID_INPUT');
    await assert.rejects(store.delete(key), (err: unknown) => err instanceof PlinthError && err.code === 'INVALID_INPUT');
  }
  await assert.rejects(stat(join(dir, 'x')), { code: 'ENOENT' });
  for (const good of ['a', 'models/0f/sha256.onnx', 'A-Z_a-z.0-9/x']) assert.equal(isValidBlobKey(good), true, good);
});

test('delete removes the blob and says whether there was one; get of a missing blob is NOT_FOUND', async () => {
  await store.put('to/delete', Readable.from([Buffer.from('bye')]));
  assert.equal(await store.delete('to/delete'), true);
  assert.equal(await store.exists('to/delete'), false);
  assert.equal(await store.delete('to/delete'), false);
  await assert.rejects(store.get('to/delete'), (err: unknown) => err instanceof PlinthError && err.code === 'NOT_FOUND');
  await assert.rejects(store.get('to'), (err: unknown) => err instanceof PlinthError && err.code === 'NOT_FOUND', 'a folder is not a blob');
  assert.equal(await store.exists('to'), false);
});

test('open removes temp files a crashed process left, but not ones that may still be written', async () => {
  const crashRoot = join(dir, 'crashed');
  await mkdir(join(crashRoot, '.tmp'), { recursive: true });
  const stale = join(crashRoot, '.tmp', 'stale.part');
  const fresh = join(crashRoot, '.tmp', 'fresh.part');
  await writeFile(stale, 'half a model');
  await writeFile(fresh, 'being written');
  const old = new Date(Date.now() - 2 * 60 * 60 * 1000);
  await utimes(stale, old, old);
  await LocalFolderBlobStore.open(crashRoot);
  assert.deepEqual(await readdir(join(crashRoot, '.tmp')), ['fresh.part']);
});
