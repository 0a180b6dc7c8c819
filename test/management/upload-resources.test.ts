import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { EXAMPLES, startServer, type TestServer } from '../helpers/server.js';
import { startServeProcess, type ServeProcess } from '../helpers/serve-process.js';
import { tarBytes, tarHeader } from '../registry/archive-builders.js';
import { eventually, multipartPieces, rawRequest, send, tmpEntries } from './registry-http.js';

/**
 * Issue 12, item 7: tar/tgz uploads are extracted with bounded memory, refused by their limits
 * while they extract, and an upload whose client is gone registers nothing.
 */

const MiB = 1024 * 1024;

/**
 * A tgz as gzip members, so a huge entry of zeros costs the test one 1 MiB gzip member repeated
 * (gunzip reads concatenated members as one stream, RFC 1952 §2.2): `entries` in order, each
 * either bytes or a count of MiB of zeros.
 */
function tgzMembers(entries: { name: string; data?: Buffer; zerosMiB?: number }[]): Buffer[] {
  const zeros = gzipSync(Buffer.alloc(MiB), { level: 9 });
  const members: Buffer[] = [];
  for (const e of entries) {
    if (e.data) {
      members.push(gzipSync(tarBytes([{ name: e.name, data: e.data }]).subarray(0, -1024), { level: 1 }));
      continue;
    }
    members.push(gzipSync(tarHeader({ name: e.name }, e.zerosMiB! * MiB)));
    for (let i = 0; i < e.zerosMiB!; i++) members.push(zeros);
  }
  members.push(gzipSync(Buffer.alloc(1024)));
  return members;
}

/** The multipart request of one upload, as pieces to stream. */
function uploadRequest(url: string, filename: string, file: Buffer[]) {
  const { head, tail, contentType } = multipartPieces(filename);
  const length = head.length + tail.length + file.reduce((n, b) => n + b.length, 0);
  return rawRequest(url, { headers: { 'content-type': contentType, 'content-length': length }, pieces: [head, ...file, tail], timeoutMs: 300_000 });
}

/** The child's peak resident set (VmHWM), in MiB. */
async function peakRssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

describe('tgz uploads: memory bounded, limits enforced while extracting (child-process server)', () => {
  let server: ServeProcess;
  let dir: string;
  let model: Buffer;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plinth-upload-rss-'));
    await mkdir(join(dir, 'models'));
    model = await readFile(join(EXAMPLES, 'iris/1/model.onnx'));
    // A general request timeout far shorter than the large upload's processing: the upload
    // routes' own deadline (PLINTH_UPLOAD_TIMEOUT_MS, default 15 min) must hold instead.
    server = await startServeProcess(['--models', join(dir, 'models')], {
      PLINTH_AUTH: 'off', PLINTH_DATA_DIR: join(dir, 'data'), PLINTH_LOG_LEVEL: 'warn', PLINTH_REQUEST_TIMEOUT_MS: '4000',
    });
  });
  after(async () => {
    server.child.kill('SIGKILL');
    await server.exited;
    await rm(dir, { recursive: true, force: true });
  });

  test('a gzip bomb (2 MiB of noise, then 1.5 GiB of zeros) is refused with 413 naming the ratio, and the RSS stays bounded (failed before: the tar reader kept every chunk)', async () => {
    const file = tgzMembers([{ name: 'pad.bin', data: randomBytes(2 * MiB) }, { name: 'zeros.bin', zerosMiB: 1536 }]);
    const r = await uploadRequest(`${server.url}/api/v1/models/bomb/versions`, 'bomb.tgz', file);
    assert.equal(r.status, 413, r.text);
    assert.equal(r.json.code, 'PAYLOAD_TOO_LARGE');
    assert.match(r.json.error, /expands more than 200:1/);
    const peak = await peakRssMiB(server.child.pid!);
    assert.ok(peak < 600, `peak RSS ${peak.toFixed(0)} MiB, expected < 600 MiB`);
  });

  test('a tar with more entries than the limit is refused with 413 naming the limit', async () => {
    const entries = Array.from({ length: 1001 }, (_, i) => ({ name: `f${i}.txt`, data: Buffer.from('x') }));
    const r = await uploadRequest(`${server.url}/api/v1/models/many/versions`, 'many.tar.gz', [gzipSync(tarBytes(entries))]);
    assert.equal(r.status, 413, r.text);
    assert.match(r.json.error, /more than 1000 entries/);
  });

  test('a valid 440 MiB tgz (model + 40 MiB of noise + 400 MiB of zeros) is registered with the RSS bounded, past the 4 s request timeout (failed before: the idle socket was cut)', async () => {
    const file = tgzMembers([
      { name: 'model.onnx', data: model },
      { name: 'assets/noise.bin', data: randomBytes(40 * MiB) },
      { name: 'assets/zeros.bin', zerosMiB: 400 },
    ]);
    const r = await uploadRequest(`${server.url}/api/v1/models/large/versions`, 'large.tgz', file);
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(r.json.artifacts.map((a: { path: string }) => a.path).sort(), ['assets/noise.bin', 'assets/zeros.bin', 'model.onnx']);
    const peak = await peakRssMiB(server.child.pid!);
    assert.ok(peak < 600, `peak RSS ${peak.toFixed(0)} MiB, expected < 600 MiB`);
  });
});

describe('an upload whose client is gone registers nothing', () => {
  let server: TestServer;
  let model: Buffer;
  before(async () => {
    server = await startServer({});
    model = await readFile(join(EXAMPLES, 'iris/1/model.onnx'));
  });
  after(() => server.close());

  const versions = async (name: string) => {
    const r = await send('GET', `${server.url}/api/v1/models/${name}/versions`);
    return r.status === 404 ? [] : (r.json.items as unknown[]);
  };
  /** Intake folders whose extraction has started (the whole form has been read by then). */
  const extracting = async () => {
    const found: string[] = [];
    for (const entry of await tmpEntries(server)) {
      const files = await readdir(join(server.dir, '.data', 'tmp', entry, 'model')).catch(() => []);
      if (files.length > 0) found.push(entry);
    }
    return found;
  };

  test('a client that closes the connection after sending the whole body, while the server works, leaves no version (failed before: the version was registered)', async () => {
    const file = tgzMembers([{ name: 'model.onnx', data: model }, { name: 'assets/noise.bin', data: randomBytes(24 * MiB) }]);
    const { head, tail, contentType } = multipartPieces('m.tgz');
    const body = Buffer.concat([head, ...file, tail]);
    const req = httpRequest(`${server.url}/api/v1/models/gone/versions`, { method: 'POST', headers: { 'content-type': contentType, 'content-length': body.length } });
    req.on('error', () => undefined);
    req.end(body);
    // Once the server is extracting, it has read the whole form: the client then goes away.
    await eventually(extracting, (e) => e.length > 0, 30_000);
    req.destroy();
    await eventually(() => tmpEntries(server), (e) => e.length === 0, 30_000);
    await delay(200);
    assert.deepEqual(await versions('gone'), []);
  });

  test('a client that aborts mid-upload leaves no version and no temporary files', async () => {
    const file = tgzMembers([{ name: 'model.onnx', data: model }, { name: 'assets/noise.bin', data: randomBytes(8 * MiB) }]);
    const { head, contentType } = multipartPieces('m.tgz');
    const whole = Buffer.concat(file);
    const req = httpRequest(`${server.url}/api/v1/models/aborted/versions`, { method: 'POST', headers: { 'content-type': contentType, 'content-length': head.length + whole.length + 100 } });
    req.on('error', () => undefined);
    req.write(head);
    req.write(whole.subarray(0, whole.length >> 1));
    await eventually(() => tmpEntries(server), (e) => e.length > 0, 10_000);
    req.destroy();
    await eventually(() => tmpEntries(server), (e) => e.length === 0, 10_000);
    assert.deepEqual(await tmpEntries(server), []);
    assert.deepEqual(await versions('aborted'), []);
  });
});
