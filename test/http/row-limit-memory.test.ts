import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, mkdtemp, rm, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXAMPLES, readResponse, type Reply } from '../helpers/server.js';
import { startServeProcess, type ServeProcess } from '../helpers/serve-process.js';

/**
 * Issue 12 item 5: 5,000,000 empty records (a 15 MB body) once blocked the event loop for 7.8 s
 * and took 2 GB. With the default PLINTH_MAX_ROWS every protocol refuses such a body with 413
 * while decoding it, liveness answers meanwhile, and the server's peak RSS stays bounded.
 */
const N = 5_000_000;
const empties = (item: string) => `[${`${item},`.repeat(N - 1)}${item}]`;
/** The server starts at ~150 MB; parsing these bodies into objects took 2 GB and more. */
const PEAK_RSS_BOUND_MB = 700;

let server: ServeProcess;
let dir: string;

async function peakRssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)![1]) / 1024;
}

const bodies: Record<string, () => { path: string; body: string | Uint8Array; headers?: Record<string, string> }> = {
  'records list': () => ({ path: '/models/iris/predict', body: empties('{}') }),
  'records _data': () => ({ path: '/models/iris/predict', body: `{"_data":${empties('{}')}}` }),
  'MLflow dataframe_records': () => ({ path: '/models/iris/invocations', body: `{"dataframe_records":${empties('{}')}}` }),
  'MLflow dataframe_split': () => ({ path: '/models/iris/invocations', body: `{"dataframe_split":{"columns":[],"data":${empties('[]')}}}` }),
  'MLflow instances': () => ({ path: '/models/iris/invocations', body: `{"instances":${empties('{}')}}` }),
  'MLflow inputs': () => ({ path: '/models/iris/invocations', body: `{"inputs":${empties('[]')}}` }),
  'MLflow text/csv': () => ({ path: '/models/iris/invocations', body: `sepal_length\n${'1\n'.repeat(N)}`, headers: { 'content-type': 'text/csv' } }),
  'Watson ML': () => ({ path: '/ml/v4/deployments/iris/predictions', body: `{"input_data":[{"fields":[],"values":${empties('[]')}}]}` }),
  'Pega': () => ({ path: '/noauth/predict', body: `{"modelIdentifier":"intents-tfidf","text":"hello","x":${empties('{}')}}` }),
  'V2 nested data': () => ({ path: '/v2/models/iris/infer', body: `{"inputs":[{"name":"input","shape":[${N},0],"datatype":"FP32","data":${empties('[]')}}]}` }),
  'V2 flat data': () => ({ path: '/v2/models/iris/infer', body: `{"inputs":[{"name":"input","shape":[${N},1],"datatype":"FP32","data":${empties('0')}}]}` }),
  'V2 binary': () => {
    const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'input', shape: [N, 1], datatype: 'BOOL', parameters: { binary_data_size: N } }] }));
    return {
      path: '/v2/models/iris/infer',
      body: new Uint8Array(Buffer.concat([header, Buffer.alloc(N)])),
      headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
    };
  },
};

const live = async () => (await fetch(`${server.url}/v2/health/live`)).status;

describe('5,000,000 empty records on every protocol, default limits, server in a child process', () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plinth-rows-rss-'));
    for (const name of ['iris', 'intents-tfidf']) await cp(join(EXAMPLES, name), join(dir, 'models', name), { recursive: true });
    server = await startServeProcess(['--models', join(dir, 'models'), '--public-models', '*'], { PLINTH_DATA_DIR: join(dir, '.data'), PLINTH_LOG_LEVEL: 'warn', PLINTH_AUTH: 'off' });
  });
  after(async () => {
    server.child.kill('SIGTERM');
    await server.exited;
    await rm(dir, { recursive: true, force: true });
  });

  for (const [protocol, make] of Object.entries(bodies)) {
    test(`${protocol}: 413 naming PLINTH_MAX_ROWS; liveness answers meanwhile and after`, async () => {
      const { path, body, headers } = make();
      const answer: Promise<Reply> = fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body }).then(readResponse);
      const during = live();
      const r = await answer;
      assert.equal(r.status, 413, r.text.slice(0, 300));
      assert.equal(r.json.code, 'PAYLOAD_TOO_LARGE');
      assert.match(r.json.error, /at most 100000 per request \(PLINTH_MAX_ROWS/);
      assert.equal(await during, 200);
      assert.equal(await live(), 200);
    });
  }

  test(`peak RSS of the server stayed under ${PEAK_RSS_BOUND_MB} MB through all of them`, async () => {
    const peak = await peakRssMb(server.child.pid!);
    assert.ok(peak < PEAK_RSS_BOUND_MB, `peak RSS ${peak.toFixed(0)} MB`);
  });
});
