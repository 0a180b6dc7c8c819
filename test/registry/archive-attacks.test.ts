import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { EXAMPLES } from '../helpers/server.js';
import { PICKLE, onnxModel, tarBytes, tgzBytes, torchZip, zipBytes, type TarSpec, type ZipSpec } from './archive-builders.js';
import { sandbox, type Sandbox } from './intake-helpers.js';

let box: Sandbox;
let iris: Buffer;
beforeEach(async () => {
  box = await sandbox();
  iris = await readFile(join(EXAMPLES, 'iris/1/model.onnx'));
});
afterEach(() => box.dispose());

const MiB = 1024 * 1024;
const zipWith = (...extra: ZipSpec[]) => zipBytes([{ name: 'model.onnx', data: iris }, ...extra]);
const tgzWith = (...extra: TarSpec[]) => tgzBytes([{ name: 'model.onnx', data: iris }, ...extra]);
const EVIL = Buffer.from('evil');

const PATH_ATTACKS: [string, RegExp][] = [
  ['../evil', /'\.\.\/evil' refused: the path has a '\.\.' segment/],
  ['../../../../evil', /'\.\.' segment/],
  ['assets/../../evil', /'\.\.' segment/],
  ['/tmp/evil', /'\/tmp\/evil' refused: the path is absolute/],
  ['C:/evil', /starts with a drive letter/],
  ['c:evil', /starts with a drive letter/],
  ['..\\evil', /contains a backslash/],
  ['assets\\vocab.json', /contains a backslash/],
  ['evil\u0001.json', /NUL or control character/],
];

test('zip entries with .., absolute paths, drive letters, backslashes or NUL are refused', async () => {
  for (const [name, message] of PATH_ATTACKS) {
    await box.refused('m.zip', zipWith({ name, data: EVIL }), 'INVALID_INPUT', message);
  }
  // also as folder entries, and before model.onnx
  await box.refused('m.zip', zipBytes([{ name: '../', mode: 0o040755 }, { name: 'model.onnx', data: iris }]), 'INVALID_INPUT', /'\.\.' segment/);
});

test('tar entries with .., absolute paths, drive letters, backslashes or NUL are refused', async () => {
  for (const [name, message] of PATH_ATTACKS) {
    await box.refused('m.tgz', tgzWith({ name, data: EVIL }), 'INVALID_INPUT', message);
  }
  // a ustar name ends at its first NUL (node-tar also cuts PAX paths there); PAX carries other control characters
  const paxRecord = (path: string) => {
    const body = ` path=${path}\n`;
    let length = Buffer.byteLength(body);
    while (String(length).length + Buffer.byteLength(body) !== length) length++;
    return Buffer.from(`${length}${body}`);
  };
  await box.refused('m.tgz', tgzWith({ name: 'PaxHeader', type: 'x', data: paxRecord('evil\u001b[2J.json') }, { name: 'innocent', data: EVIL }), 'INVALID_INPUT', /NUL or control character/);
  await box.refused('m.tgz', tgzWith({ name: 'PaxHeader', type: 'x', data: paxRecord('../../../../evil') }, { name: 'innocent', data: EVIL }), 'INVALID_INPUT', /'\.\.\/\.\.\/\.\.\/\.\.\/evil' refused: the path has a '\.\.' segment/);
  await box.refused('m.tar', tarBytes([{ name: '../../d/', type: '5' }, { name: 'model.onnx', data: iris }]), 'INVALID_INPUT', /'\.\.' segment/);
});

test('paths longer than the limit are refused', async () => {
  const long = `${'a'.repeat(90)}/${'b'.repeat(90)}/vocab.json`;
  await box.refused('m.zip', zipWith({ name: long, data: EVIL }), 'INVALID_INPUT', /longer than 150 bytes/, { maxPathLength: 150 });
  await box.refused('m.tgz', tgzWith({ name: 'x'.repeat(99), data: EVIL }), 'INVALID_INPUT', /longer than 64 bytes/, { maxPathLength: 64 });
});

test('zip symlinks and special files are refused by their Unix mode', async () => {
  await box.refused('m.zip', zipWith({ name: 'passwd', data: Buffer.from('/etc/passwd'), mode: 0o120777, method: 0 }), 'INVALID_INPUT', /'passwd' refused: symbolic links are not allowed/);
  // a link placed first, then a file "through" it: refused at the link already
  await box.refused('m.zip', zipBytes([{ name: 'up', data: Buffer.from('..'), mode: 0o120777 }, { name: 'up/evil', data: EVIL }, { name: 'model.onnx', data: iris }]), 'INVALID_INPUT', /'up' refused: symbolic links/);
  await box.refused('m.zip', zipWith({ name: 'fifo', mode: 0o010644 }), 'INVALID_INPUT', /'fifo' refused: device files, FIFOs/);
  await box.refused('m.zip', zipWith({ name: 'tty', mode: 0o020644 }), 'INVALID_INPUT', /'tty' refused: device files/);
});

test('tar symlinks, hard links, devices and FIFOs are refused', async () => {
  await box.refused('m.tgz', tgzWith({ name: 'passwd', type: '2', linkname: '/etc/passwd' }), 'INVALID_INPUT', /'passwd' refused: symbolic links are not allowed in uploads \(it points to '\/etc\/passwd'\)/);
  await box.refused('m.tgz', tgzWith({ name: 'shadow', type: '1', linkname: '../../../../etc/shadow' }), 'INVALID_INPUT', /'shadow' refused: hard links are not allowed/);
  await box.refused('m.tgz', tgzWith({ name: 'copy.onnx', type: '1', linkname: 'model.onnx' }), 'INVALID_INPUT', /hard links are not allowed/);
  await box.refused('m.tgz', tgzWith({ name: 'tty', type: '3' }), 'INVALID_INPUT', /'tty' refused: device files/);
  await box.refused('m.tgz', tgzWith({ name: 'fifo', type: '6' }), 'INVALID_INPUT', /'fifo' refused: device files, FIFOs/);
});

test('duplicate paths and file/folder clashes are refused, case-insensitively', async () => {
  await box.refused('m.zip', zipWith({ name: 'model.onnx', data: EVIL }), 'INVALID_INPUT', /duplicate path 'model.onnx'/);
  await box.refused('m.zip', zipWith({ name: 'Model.ONNX', data: EVIL }), 'INVALID_INPUT', /duplicate path/);
  await box.refused('m.zip', zipWith({ name: './model.onnx', data: EVIL }), 'INVALID_INPUT', /duplicate path/);
  await box.refused('m.tgz', tgzWith({ name: 'model.onnx', data: EVIL }), 'INVALID_INPUT', /duplicate path 'model.onnx'/);
  await box.refused('m.tgz', tgzWith({ name: 'model.onnx/x', data: EVIL }), 'INVALID_INPUT', /'model.onnx' is a file in this archive and cannot also be a folder/);
});

test('a zip bomb is refused: 50 MiB of zeros past a 10 MiB extracted limit, and by ratio', async () => {
  const zeros = Buffer.alloc(50 * MiB);
  const bomb = zipWith({ name: 'zeros.bin', data: zeros });
  assert.ok(bomb.length < 200 * 1024, `the bomb is ${bomb.length} bytes`);
  await box.refused('bomb.zip', bomb, 'PAYLOAD_TOO_LARGE', /entry 'zeros.bin' takes the archive past the 10 MiB limit on extracted bytes/, { maxExtractedBytes: 10 * MiB });
  await box.refused('bomb.zip', bomb, 'PAYLOAD_TOO_LARGE', /'zeros.bin'.*expands more than 100:1.*zip bomb/, { maxCompressionRatio: 100 });
  await box.refused('bomb.zip', bomb, 'PAYLOAD_TOO_LARGE', /'zeros.bin' is larger than the 1 MiB limit per file/, { maxFileBytes: MiB });
  // an entry that declares 1 KiB but inflates to 50 MiB: stopped by yauzl's size validation
  await box.refused('liar.zip', zipWith({ name: 'zeros.bin', data: zeros, declaredSize: 1024 }), 'INVALID_INPUT', /zip archive is malformed: too many bytes in the stream/);
  // the same data behind 20 overlapping central-directory records (the "better zip bomb" shape)
  const overlap = zipBytes([{ name: 'model.onnx', data: iris }, { name: 'z0', data: Buffer.alloc(MiB) }, ...Array.from({ length: 3 }, (_, i) => ({ name: `z${i + 1}`, data: Buffer.alloc(MiB), reuseLocalOf: 1 }))]);
  await box.refused('overlap.zip', overlap, 'INVALID_INPUT', /'z1' refused: the entry shares its data with another entry/);
});

test('a tar.gz bomb is refused by extracted bytes and by ratio, padding included', async () => {
  const bomb = tgzWith({ name: 'zeros.bin', data: Buffer.alloc(50 * MiB) });
  await box.refused('bomb.tgz', bomb, 'PAYLOAD_TOO_LARGE', /'zeros.bin' takes the archive past the 10 MiB limit on extracted bytes/, { maxExtractedBytes: 10 * MiB, maxCompressionRatio: 1e9 });
  await box.refused('bomb.tgz', bomb, 'PAYLOAD_TOO_LARGE', /expands more than 100:1/, { maxCompressionRatio: 100 });
  // a valid small tar followed by 50 MiB of zero blocks: no entry is big, the stream is
  const padded = gzipSync(Buffer.concat([tarBytes([{ name: 'model.onnx', data: iris }]), Buffer.alloc(50 * MiB)]));
  await box.refused('padded.tgz', padded, 'PAYLOAD_TOO_LARGE', /decompressed archive is larger than the 10 MiB limit|expands more than/, { maxExtractedBytes: 10 * MiB, maxCompressionRatio: 1e9 });
  // gzip inside gzip
  await box.refused('double.tgz', gzipSync(tgzWith()), 'INVALID_INPUT', /itself gzip-compressed/);
});

test('too many entries are refused', async () => {
  const many = Array.from({ length: 10 }, (_, i) => ({ name: `f${i}.txt`, data: Buffer.from(String(i)) }));
  await box.refused('m.zip', zipWith(...many), 'PAYLOAD_TOO_LARGE', /has 11 entries, more than 5/, { maxEntries: 5 });
  await box.refused('m.tgz', tgzWith(...many), 'PAYLOAD_TOO_LARGE', /more than 5 entries/, { maxEntries: 5 });
  // folders and skipped clutter count too
  await box.refused('m.tgz', tgzBytes([{ name: 'model.onnx', data: iris }, ...Array.from({ length: 5 }, (_, i) => ({ name: `d${i}/`, type: '5' }))]), 'PAYLOAD_TOO_LARGE', /more than 5 entries/, { maxEntries: 5 });
});

const ONNX_ONLY = /Plinth accepts ONNX models only.*torch\.onnx\.export.*skl2onnx.*tf2onnx/;

test('pickle, joblib, PyTorch and Keras files are refused by name, never opened', async () => {
  for (const name of ['model.pkl', 'model.pickle', 'clf.joblib', 'net.pt', 'net.pth', 'last.ckpt', 'model.h5', 'model.hdf5', 'finalized_model.sav', 'model.keras']) {
    await box.refused(name, PICKLE, 'INVALID_INPUT', ONNX_ONLY);
  }
  await box.refused('m.zip', zipWith({ name: 'extra/scaler.joblib', data: PICKLE }), 'INVALID_INPUT', /'extra\/scaler.joblib' refused: it is a joblib \(pickle\) file\. Plinth accepts ONNX/);
  await box.refused('m.tgz', tgzWith({ name: 'weights.pt', data: EVIL }), 'INVALID_INPUT', /'weights.pt' refused: it is a PyTorch \(pickle\) file/);
});

test('pickles, PyTorch zips and HDF5 files are refused by content, whatever their name', async () => {
  await box.refused('model.onnx', PICKLE, 'INVALID_INPUT', /'model.onnx' refused: it is a Python pickle \(found by its content\)/);
  await box.refused('model.onnx', Buffer.concat([Buffer.from([0x80, 0x02]), Buffer.alloc(64, 7)]), 'INVALID_INPUT', /Python pickle/);
  await box.refused('m.zip', zipBytes([{ name: 'model.onnx', data: PICKLE }]), 'INVALID_INPUT', ONNX_ONLY);
  await box.refused('m.zip', zipWith({ name: 'state.bin', data: PICKLE }), 'INVALID_INPUT', /'state.bin' refused: it is a Python pickle/);
  await box.refused('m.tgz', tgzWith({ name: 'model.onnx.data', data: torchZip() }), 'INVALID_INPUT', /'model.onnx.data' refused: it is a zip archive holding 'archive\/data.pkl'/);
  await box.refused('model.onnx', torchZip(), 'INVALID_INPUT', /'model.onnx' refused: it is a zip archive holding 'archive\/data.pkl'/);
  await box.refused('model.onnx', zipBytes([{ name: 'config.json', data: EVIL }]), 'INVALID_INPUT', /it is a zip archive, not an ONNX model/);
  const hdf5 = Buffer.concat([Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(100)]);
  await box.refused('m.zip', zipWith({ name: 'weights.bin', data: hdf5 }), 'INVALID_INPUT', /'weights.bin' refused: it is an HDF5 file/);
});

test('artifacts that merely start like a pickle header are kept (raw tensor bytes)', async () => {
  const tensorBytes = Buffer.concat([Buffer.from([0x80, 0x03, 0x10]), Buffer.alloc(61, 1)]);
  const result = await box.intake('m.zip', zipWith({ name: 'tensor.bin', data: tensorBytes }));
  assert.deepEqual(result.files.map((f) => f.path), ['model.onnx', 'tensor.bin']);
  await result.cleanup();
});

test('ONNX external data pointing outside the model folder is refused', async () => {
  const weights = Buffer.from(new Float32Array([1, 2]).buffer);
  const folder = (model: Buffer) => tgzBytes([{ name: 'm/model.onnx', data: model }, { name: 'm/weights.bin', data: weights }]);
  await box.refused('m.tgz', folder(onnxModel({ location: '../../etc/passwd' })), 'INVALID_INPUT', /'model.onnx' refused: tensor 'W' keeps its data in '\.\.\/\.\.\/etc\/passwd': the external data location has a '\.\.' segment/);
  await box.refused('m.tgz', folder(onnxModel({ location: '/etc/passwd' })), 'INVALID_INPUT', /keeps its data in '\/etc\/passwd': the external data location is absolute/);
  await box.refused('m.tgz', folder(onnxModel({ location: 'C:/Windows/win.ini' })), 'INVALID_INPUT', /drive letter/);
  await box.refused('m.tgz', folder(onnxModel({ location: '..\\..\\win.ini' })), 'INVALID_INPUT', /backslash/);
  await box.refused('m.tgz', folder(onnxModel({ location: 'missing.bin' })), 'INVALID_INPUT', /keeps its data in 'missing.bin', which is not in the upload/);
  // a Constant inside an If branch, not an initializer
  await box.refused('m.tgz', folder(onnxModel({ location: '../../etc/passwd', inSubgraph: true })), 'INVALID_INPUT', /tensor 'W' keeps its data in '\.\.\/\.\.\/etc\/passwd'/);
  // a single .onnx cannot bring its data files
  await box.refused('model.onnx', onnxModel({ location: 'weights.bin' }), 'INVALID_INPUT', /external file 'weights.bin'; upload a .zip or .tar.gz/);
  // the same models with the data inline are fine
  const inline = await box.intake('model.onnx', onnxModel({ inSubgraph: true }));
  assert.deepEqual(inline.externalData, []);
  await inline.cleanup();
});

test('encrypted zip entries and unknown compression methods are refused', async () => {
  const bytes = zipWith({ name: 'vocab.json', data: Buffer.from('{}') });
  const cd = bytes.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]), 0);
  const second = bytes.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]), cd + 4);
  const encrypted = Buffer.from(bytes);
  encrypted.writeUInt16LE(encrypted.readUInt16LE(second + 8) | 1, second + 8);
  await box.refused('m.zip', encrypted, 'INVALID_INPUT', /'vocab.json' refused: encrypted entries are not supported/);
  const bzip = Buffer.from(bytes);
  bzip.writeUInt16LE(12, second + 10);
  await box.refused('m.zip', bzip, 'INVALID_INPUT', /'vocab.json' refused: compression method 12 is not supported/);
});
