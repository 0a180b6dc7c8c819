import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseManifest } from '../../src/core/manifest.js';
import { partKey } from '../../src/jobs/job-parts.js';
import { ScoringHost } from '../../src/jobs/scoring-host.js';
import type { ChunkMessage, ScoringTask } from '../../src/jobs/worker/protocol.js';
import { LocalFolderBlobStore } from '../../src/storage/blob/local-folder.blob-store.js';
import { EXAMPLES } from '../helpers/server.js';
import { breastCancer } from './jobs-http.js';

const text = async (blobs: LocalFolderBlobStore, key: string) => {
  const chunks: Buffer[] = [];
  for await (const c of await blobs.get(key)) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};

describe('ScoringHost: the worker doing the blob I/O itself, or the host doing it, write the same bytes', () => {
  let dir: string;
  let blobs: LocalFolderBlobStore;
  const model = join(EXAMPLES, 'breast-cancer/1');
  const chunkRows = 7;
  let rows = 0;
  const task = (extra: Partial<ScoringTask>): ScoringTask => ({
    modelFile: join(model, 'model.onnx'),
    manifest: parseManifest(readFileSync(join(model, 'model.yaml'), 'utf8')),
    intraOpThreads: 1,
    niceness: 10,
    input: { format: 'csv', dialect: { delimiter: ',', quote: '"', bom: false } },
    skipRecords: 0,
    startChunk: 0,
    chunkRows,
    carry: ['id'],
    probabilities: true,
    explanations: false,
    outputFormat: 'csv',
    maxRecordChars: 1 << 20,
    ...extra,
  });
  const counts = (c: ChunkMessage) => [c.index, c.read, c.scored, c.failed, c.last];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plinth-host-'));
    blobs = await LocalFolderBlobStore.open(dir);
    const bc = breastCancer();
    const lines = bc.lines.slice(0, 50).map((l, i) => `"r ${i}",${i % 9 === 4 ? l.replace(/^[^,]*/, 'oops') : l}`);
    rows = lines.length;
    await blobs.put('in.csv', (async function* () {
      yield Buffer.from(['id,' + bc.header, ...lines].join('\r\n') + '\r\n');
    })());
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('parts, output blob (size and SHA-256), counts and error lines; a resumed attempt completes the same output', async () => {
    const viaWorker: unknown[][] = [];
    const storage = { blobRoot: blobs.location, jobId: 'job-a', inputKey: 'in.csv', staleErrorParts: false, output: { key: 'out-a', committed: 0 } };
    const written = await new ScoringHost(task({ storage }), undefined, async (c) => {
      assert.equal(c.output, undefined, 'the worker stored the part itself');
      viaWorker.push(counts(c));
    }).run();
    const out = await text(blobs, 'out-a');
    assert.deepEqual(written, { size: Buffer.byteLength(out), sha256: createHash('sha256').update(out).digest('hex') });
    assert.equal(out.split('\n')[0], 'id,prediction,probability_malignant,probability_benign');
    assert.equal(out.trim().split('\n').length - 1, rows - 6, 'one line per valid row');

    const viaHost: unknown[][] = [];
    let hostOut = '';
    let hostErrors = '';
    const none = await new ScoringHost(task({}), (await blobs.get('in.csv'))[Symbol.asyncIterator](), async (c) => {
      viaHost.push(counts(c));
      hostOut += Buffer.from(c.output!).toString('utf8');
      hostErrors += c.errors;
    }).run();
    assert.equal(none, undefined);
    assert.deepEqual(viaHost, viaWorker);
    assert.equal(hostOut, out);
    let workerErrors = '';
    for (let i = 0; i < viaWorker.length; i++) if (await blobs.exists(partKey('job-a', i, 'err'))) workerErrors += await text(blobs, partKey('job-a', i, 'err'));
    assert.equal(workerErrors, hostErrors);
    assert.match(hostErrors, /^5,6,.*expected a finite number/m);

    // Resumed after 3 committed chunks: their parts are copied, the rest scored again.
    const resumed: unknown[][] = [];
    const committed = 3;
    const skip = committed * chunkRows;
    const again = await new ScoringHost(
      task({ startChunk: committed, skipRecords: skip, storage: { ...storage, staleErrorParts: true, output: { key: 'out-c', committed } } }),
      undefined,
      async (c) => void resumed.push(counts(c)),
    ).run();
    assert.deepEqual(resumed, viaWorker.slice(committed));
    assert.equal(await text(blobs, 'out-c'), out);
    assert.equal(again?.sha256, written?.sha256);
  });
});
