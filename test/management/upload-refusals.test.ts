import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EXAMPLES, FIXTURES, startServer, type TestServer } from '../helpers/server.js';
import { PICKLE, onnxModel, tgzBytes, torchZip, zipBytes, type TarSpec, type ZipSpec } from '../registry/archive-builders.js';
import { blobFiles, eventually, multipartPieces, rawRequest, send, tmpEntries, upload, type Reply } from './registry-http.js';

const MiB = 1024 * 1024;
const EVIL = Buffer.from('evil');

/**
 * Issue 3, item 8 over HTTP: every bad upload gets a clear 4xx naming the problem, registers
 * nothing, writes no blob and leaves no temp file. The server runs with a 1 MiB upload limit and
 * a 1 KiB body limit (which uploads are not subject to: they stream).
 */
describe('bad uploads over HTTP', () => {
  let server: TestServer;
  let iris: Buffer;
  const url = (path: string) => `${server.url}${path}`;
  const zipWith = (...extra: ZipSpec[]) => zipBytes([{ name: 'model.onnx', data: iris }, ...extra]);
  const tgzWith = (...extra: TarSpec[]) => tgzBytes([{ name: 'model.onnx', data: iris }, ...extra]);

  before(async () => {
    iris = await readFile(join(EXAMPLES, 'iris/1/model.onnx'));
    server = await startServer({}, { maxUploadMb: 1, bodyLimit: 1024 });
  });
  after(() => server.close());

  /** Blobs of the uploads these tests expect to succeed. */
  let keptBlobs: string[] = [];
  async function accepted(r: Reply) {
    assert.equal(r.status, 201, r.text);
    keptBlobs = await blobFiles(server);
  }

  /** Nothing registered under `name`, no new blob, no temp file (cleanup may finish just after the response). */
  async function assertNothingLeft(name: string) {
    const model = await send('GET', url(`/api/v1/models/${name}`));
    assert.equal(model.status, 404, `model '${name}' must not exist: ${model.text}`);
    assert.deepEqual(await eventually(() => tmpEntries(server), (e) => e.length === 0), [], 'temp folder empty');
    assert.deepEqual(await blobFiles(server), keptBlobs, 'no blob written');
  }

  function assertRefused(r: Pick<Reply, 'status' | 'json' | 'text'>, status: number, code: string, message: RegExp) {
    assert.equal(r.status, status, r.text);
    assert.equal(r.json?.code, code, r.text);
    assert.match(r.json.error, message);
  }

  async function refused(filename: string, bytes: Buffer, status: number, code: string, message: RegExp) {
    const r = await upload(server, 'evil', filename, bytes);
    assertRefused(r, status, code, message);
    await assertNothingLeft('evil');
  }

  test('refused before its body is read, a small upload is still read to the end, so the client gets the 400 (not a broken pipe) on a connection that stays open', async () => {
    const { head, tail, contentType } = multipartPieces('model.pkl');
    const filler = Buffer.alloc(64 * 1024, 0x61);
    const pieces = [Buffer.concat([head, PICKLE]), filler, filler, tail];
    const total = pieces.reduce((n, p) => n + p.length, 0);
    const r = await rawRequest(url('/api/v1/models/evil/versions'), { headers: { 'content-type': contentType, 'content-length': total }, pieces, pauseMs: 100 });
    assertRefused(r, 400, 'INVALID_INPUT', /Plinth accepts ONNX models only/);
    assert.equal(r.written, total, 'the answer came after the whole body was sent');
    assert.notEqual(r.headers.connection, 'close');
    await assertNothingLeft('evil');
  });

  test("archive entries with '../' or absolute paths are 400 naming the entry", async () => {
    await refused('m.zip', zipWith({ name: '../evil', data: EVIL }), 400, 'INVALID_INPUT', /upload entry '\.\.\/evil' refused: the path has a '\.\.' segment/);
    await refused('m.zip', zipWith({ name: 'assets/../../../evil', data: EVIL }), 400, 'INVALID_INPUT', /'\.\.' segment/);
    await refused('m.tgz', tgzWith({ name: '../../evil', data: EVIL }), 400, 'INVALID_INPUT', /'\.\.\/\.\.\/evil' refused: the path has a '\.\.' segment/);
    await refused('m.zip', zipWith({ name: '/tmp/evil', data: EVIL }), 400, 'INVALID_INPUT', /'\/tmp\/evil' refused: the path is absolute/);
    await refused('m.tar.gz', tgzWith({ name: '/etc/cron.d/evil', data: EVIL }), 400, 'INVALID_INPUT', /the path is absolute/);
    await refused('m.zip', zipWith({ name: 'C:/evil', data: EVIL }), 400, 'INVALID_INPUT', /drive letter/);
  });

  test('symlinks and hard links are 400', async () => {
    await refused('m.zip', zipWith({ name: 'passwd', data: Buffer.from('/etc/passwd'), mode: 0o120777, method: 0 }), 400, 'INVALID_INPUT', /'passwd' refused: symbolic links are not allowed/);
    await refused('m.tgz', tgzWith({ name: 'passwd', type: '2', linkname: '/etc/passwd' }), 400, 'INVALID_INPUT', /'passwd' refused: symbolic links are not allowed/);
    await refused('m.tgz', tgzWith({ name: 'shadow', type: '1', linkname: '../../../../etc/shadow' }), 400, 'INVALID_INPUT', /'shadow' refused: hard links are not allowed/);
  });

  test('a zip bomb and a tar.gz bomb are 413 by compression ratio', async () => {
    const zeros = Buffer.alloc(50 * MiB);
    const bomb = zipWith({ name: 'zeros.bin', data: zeros });
    assert.ok(bomb.length < 200 * 1024, `the bomb is small (${bomb.length} bytes) and under the upload limit`);
    await refused('bomb.zip', bomb, 413, 'PAYLOAD_TOO_LARGE', /'zeros.bin'.*expands more than 200:1/);
    await refused('bomb.tgz', tgzWith({ name: 'zeros.bin', data: zeros }), 413, 'PAYLOAD_TOO_LARGE', /expands more than 200:1/);
  });

  test('random bytes named .onnx are 400 (not an ONNX model); a graph ONNX Runtime refuses is 422 with its reason', async () => {
    await refused('model.onnx', randomBytes(4096), 400, 'INVALID_INPUT', /'model.onnx' refused: it is not an ONNX model/);
    await refused('broken.onnx', await readFile(join(FIXTURES, 'broken.onnx')), 400, 'INVALID_INPUT', /not an ONNX model/);
    const r = await upload(server, 'evil', 'bad-graph.onnx', onnxModel({ inSubgraph: true }));
    assertRefused(r, 422, 'LOAD_FAILED', /model\.onnx was refused by ONNX Runtime: .*invalid model/i);
    assert.doesNotMatch(r.json.error, new RegExp(server.dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), 'no server path in the reason');
    await assertNothingLeft('evil');
  });

  test('pickle, joblib and PyTorch files are 400, by name and by content', async () => {
    for (const name of ['model.pkl', 'clf.joblib', 'net.pt', 'net.pth']) {
      await refused(name, PICKLE, 400, 'INVALID_INPUT', /Plinth accepts ONNX models only/);
    }
    await refused('model.onnx', PICKLE, 400, 'INVALID_INPUT', /'model.onnx' refused: it is a Python pickle \(found by its content\)/);
    await refused('model.onnx', torchZip(), 400, 'INVALID_INPUT', /it is a zip archive holding 'archive\/data.pkl'/);
    await refused('m.tgz', tgzWith({ name: 'weights.pt', data: EVIL }), 400, 'INVALID_INPUT', /'weights.pt' refused: it is a PyTorch \(pickle\) file/);
    await refused('model.bin', iris, 400, 'INVALID_INPUT', /expected a \.onnx file, an XGBoost \.json model, or a \.zip, \.tar\.gz or \.tgz archive/);
  });

  test('ONNX external data pointing outside the model folder is 400', async () => {
    const weights = Buffer.from(new Float32Array([1, 2]).buffer);
    const folder = tgzBytes([{ name: 'm/model.onnx', data: onnxModel({ location: '../../etc/passwd' }) }, { name: 'm/weights.bin', data: weights }]);
    await refused('m.tgz', folder, 400, 'INVALID_INPUT', /tensor 'W' keeps its data in '\.\.\/\.\.\/etc\/passwd': the external data location has a '\.\.' segment/);
  });

  test('an upload declaring a Content-Length over the limit is 413 before its body is read, and the connection closes', async () => {
    const { head, contentType } = multipartPieces('big.onnx');
    // Only the form's head is sent: an answer proves the server did not wait for the 100 MiB.
    const r = await rawRequest(url('/api/v1/models/evil/versions'), {
      headers: { 'content-type': contentType, 'content-length': 100 * MiB },
      pieces: [head],
      endBody: false,
    });
    assertRefused(r, 413, 'PAYLOAD_TOO_LARGE', /upload refused: the upload is larger than the 1 MiB upload limit \(Content-Length is 100 MiB\)/);
    assert.equal(r.headers.connection, 'close');
    await assertNothingLeft('evil');
  });

  test('an upload over the limit without a usable Content-Length is cut off at the limit: 413, nothing kept', async () => {
    const chunk = randomBytes(64 * 1024);
    const pieces = (total: number) => {
      const { head, tail } = multipartPieces('big.onnx', [['tags', 'big']]);
      return [head, ...Array.from({ length: Math.ceil(total / chunk.length) }, () => chunk), tail];
    };
    // chunked: no Content-Length at all
    const chunked = await rawRequest(url('/api/v1/models/evil/versions'), {
      headers: { 'content-type': multipartPieces('big.onnx').contentType, 'transfer-encoding': 'chunked' },
      pieces: pieces(64 * MiB),
    });
    assertRefused(chunked, 413, 'PAYLOAD_TOO_LARGE', /upload refused: the upload is larger than the 1 MiB upload limit/);
    assert.ok(chunked.written < 32 * MiB, `the server answered before the whole body was sent (${chunked.written} bytes written)`);
    await assertNothingLeft('evil');

    // a Content-Length within the form's slack (limit + 1 MiB), but a file past the limit
    const body = pieces(1.5 * MiB);
    const length = body.reduce((n, b) => n + b.length, 0);
    const declared = await rawRequest(url('/api/v1/models/evil/versions'), {
      headers: { 'content-type': multipartPieces('big.onnx').contentType, 'content-length': length },
      pieces: body,
    });
    assertRefused(declared, 413, 'PAYLOAD_TOO_LARGE', /larger than the 1 MiB upload limit/);
    await assertNothingLeft('evil');
  });

  test('a client that aborts mid-upload leaves no version and no temp files', async () => {
    const { head, contentType } = multipartPieces('iris.onnx');
    const client = new AbortController();
    const request = rawRequest(url('/api/v1/models/evil/versions'), {
      signal: client.signal,
      headers: { 'content-type': contentType, 'content-length': head.length + iris.length + 100 },
      pieces: (function* () {
        yield head;
        yield iris.subarray(0, 2000);
      })(),
      endBody: false,
    });
    // the upload has reached the intake's temp folder: now the client goes away
    const started = await eventually(() => tmpEntries(server), (e) => e.length > 0);
    assert.equal(started.length, 1, 'the upload was being spooled');
    const settled = request.then(() => 'answered', (err: Error) => err.name);
    client.abort();
    assert.equal(await Promise.race([settled, new Promise((r) => setTimeout(() => r('timeout'), 5000))]), 'AbortError');
    await assertNothingLeft('evil');
    // and the server goes on taking uploads
    await accepted(await upload(server, 'after-abort', 'iris.onnx', iris));
  });

  test('a non-multipart body is 415 naming multipart/form-data', async () => {
    const cases: [string | undefined, string | Buffer][] = [
      ['application/json', '{"file": "model.onnx"}'],
      ['text/plain', 'hello'],
      ['application/octet-stream', iris],
      ['application/zip', EVIL],
      [undefined, iris],
    ];
    for (const [type, body] of cases) {
      const r = await fetch(url('/api/v1/models/evil/versions'), { method: 'POST', headers: type ? { 'content-type': type } : {}, body });
      const json: any = await r.json();
      assert.equal(r.status, 415, `${type}: ${JSON.stringify(json)}`);
      assert.equal(json.code, 'UNSUPPORTED_MEDIA_TYPE');
      assert.match(json.error, /multipart\/form-data/, String(type));
    }
    await assertNothingLeft('evil');
  });

  test("a form without the 'file' part, or with it misnamed, is 400 naming 'file'", async () => {
    assertRefused(await upload(server, 'evil', 'x', null, { fields: [['description', 'no file']] }), 400, 'INVALID_INPUT', /the form has no part named 'file'/);
    assertRefused(await upload(server, 'evil', 'm.onnx', iris, { fileField: 'model' }), 400, 'INVALID_INPUT', /unexpected file part 'model': send the model in a part named 'file'/);
    assertRefused(await upload(server, 'evil', 'x', null, { fields: [['file', 'model.onnx']] }), 400, 'INVALID_INPUT', /'file' must be a file part/);
    assertRefused(await upload(server, 'evil', 'm.onnx', iris, { fields: [['colour', 'red']] }), 400, 'INVALID_INPUT', /unknown form field 'colour': expected description, tags and file/);
    await assertNothingLeft('evil');
  });

  test('a field or a second file after the file part is 400 and registers nothing', async () => {
    assertRefused(
      await upload(server, 'evil', 'm.onnx', iris, { after: [['tags', 'late']] }),
      400, 'INVALID_INPUT', /form field 'tags' came after the file part: send description and tags before 'file'/,
    );
    const form = new FormData();
    form.append('file', new Blob([iris]), 'a.onnx');
    form.append('file', new Blob([iris]), 'b.onnx');
    const two = await fetch(url('/api/v1/models/evil/versions'), { method: 'POST', body: form });
    const json: any = await two.json();
    assertRefused({ status: two.status, json, text: JSON.stringify(json) }, 400, 'INVALID_INPUT', /more than one file/);
    await assertNothingLeft('evil');
  });

  test('a malformed multipart body is 400', async () => {
    const noBoundary = await fetch(url('/api/v1/models/evil/versions'), { method: 'POST', headers: { 'content-type': 'multipart/form-data' }, body: 'x' });
    const json: any = await noBoundary.json();
    assert.equal(noBoundary.status, 400, JSON.stringify(json));
    assert.match(json.error, /multipart\/form-data body is malformed: .*boundary/i);
    const { head, tail, contentType } = multipartPieces('iris.onnx');
    const cut = await rawRequest(url('/api/v1/models/evil/versions'), {
      headers: { 'content-type': contentType },
      pieces: [head, iris.subarray(0, 100), tail.subarray(0, 5)],
    });
    assert.equal(cut.status, 400, cut.text);
    assert.match(cut.json.error, /malformed|unexpected end/i);
    await assertNothingLeft('evil');
  });

  test('an invalid model name is 400 and consumes nothing', async () => {
    assertRefused(await upload(server, 'bad..name', 'iris.onnx', iris), 400, 'INVALID_INPUT', /model name 'bad\.\.name' is invalid/);
    assert.deepEqual(await eventually(() => tmpEntries(server), (e) => e.length === 0), []);
  });

  test('uploads are not held to the JSON body limit (1 KiB here): a 50 KiB archive streams through', async () => {
    const zip = zipWith({ name: 'assets/padding.bin', data: randomBytes(45 * 1024) });
    assert.ok(zip.length > 40 * 1024);
    const r = await upload(server, 'large-ok', 'large.zip', zip);
    await accepted(r);
    assert.equal(r.json.version, 1);
    assert.deepEqual(await tmpEntries(server), []);
  });
});
