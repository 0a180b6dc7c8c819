import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { loadConfig } from '../../src/config/config.js';
import { EXAMPLES } from '../helpers/server.js';
import { startServeProcess, type Exit } from '../helpers/serve-process.js';

type Answer = { status: number; body: string } | 'refused';

/** GET on a fresh connection (no pooling), so a closed listener shows as a refused connection. */
function rawGet(port: number, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED' || err.code === 'ECONNRESET') resolve('refused');
      else reject(err);
    });
  });
}

const notReady = (a: Answer) => a === 'refused' || a.status === 503;

/** One breast-cancer row (the manifest's defaults), nudged per row so rows differ. */
const BASE_ROW = [
  13.37, 18.84, 86.24, 551.1, 0.09587, 0.09263, 0.06154, 0.0335, 0.1792, 0.06154, 0.3242, 1.108, 2.287, 24.53, 0.00638, 0.02045,
  0.02589, 0.01093, 0.01873, 0.003187, 14.97, 25.41, 97.66, 686.5, 0.1313, 0.2119, 0.2267, 0.09993, 0.2822, 0.08004,
];

function batch(rows: number): Buffer {
  const data = new Array<number>(rows * 30);
  for (let r = 0; r < rows; r++) for (let j = 0; j < 30; j++) data[r * 30 + j] = BASE_ROW[j]! * (0.5 + ((r * 7 + j) % 100) / 100);
  return Buffer.from(JSON.stringify({ id: `batch-${rows}`, inputs: [{ name: 'input', shape: [rows, 30], datatype: 'FP32', data }] }));
}

/**
 * POSTs a V2 infer request whose body goes out in two parts: the headers and first part now,
 * the rest when `finish()` is called, so the request is certainly in flight in between.
 */
function slowInfer(port: number, body: Buffer) {
  const req = http.request({
    host: '127.0.0.1',
    port,
    path: '/v2/models/breast-cancer/infer',
    method: 'POST',
    agent: false,
    headers: { 'content-type': 'application/json', 'content-length': body.length },
  });
  const response = new Promise<{ status: number; json: any; text: string }>((resolve, reject) => {
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => {
        let json: any;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode!, json, text });
      });
    });
    req.on('error', reject);
  });
  const half = Math.floor(body.length / 2);
  req.write(body.subarray(0, half));
  return { response, finish: () => req.end(body.subarray(half)) };
}

/** Every output row of a breast-cancer answer: label [N] INT64 and probabilities [N, 2]. */
function assertBatchAnswer(answer: { status: number; json: any; text: string }, rows: number): void {
  assert.equal(answer.status, 200, answer.text.slice(0, 300));
  assert.equal(answer.json.model_name, 'breast-cancer');
  assert.equal(answer.json.id, `batch-${rows}`);
  const label = answer.json.outputs.find((o: { name: string }) => o.name === 'label');
  const probabilities = answer.json.outputs.find((o: { name: string }) => o.name === 'probabilities');
  assert.deepEqual(label.shape, [rows]);
  assert.equal(label.data.length, rows);
  assert.ok(label.data.every((v: number) => v === 0 || v === 1));
  assert.deepEqual(probabilities.shape, [rows, 2]);
  assert.equal(probabilities.data.length, rows * 2);
}


/** `plinth serve` as a child process over a temp copy of breast-cancer and iris, once ready. */
async function startServe(env: Record<string, string>) {
  const dir = await mkdtemp(join(tmpdir(), 'plinth-lifecycle-'));
  await cp(join(EXAMPLES, 'breast-cancer'), join(dir, 'breast-cancer'), { recursive: true });
  await cp(join(EXAMPLES, 'iris'), join(dir, 'iris'), { recursive: true });
  const server = await startServeProcess(['--models', dir, '--public-models', '*'], { PLINTH_LOG_LEVEL: 'info', PLINTH_DATA_DIR: join(dir, '.data'), ...env });
  return { dir, ...server };
}

/** Waits for the process to exit, at most `ms`; a timeout shows as code -1. */
const exitWithin = (exited: Promise<Exit>, ms: number) =>
  Promise.race([exited, delay(ms, undefined, { ref: false }).then(() => ({ code: -1, signal: null }) as Exit)]);

describe('graceful shutdown of `plinth serve` on SIGTERM', () => {
  let dir: string;
  let port: number;
  let child: ChildProcess;
  let output: () => string;
  let exited: Promise<Exit>;

  before(async () => {
    ({ dir, port, child, exited, output } = await startServe({ PLINTH_SHUTDOWN_GRACE_MS: '20000' }));
  });

  after(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  });

  test('readiness turns 503 at once, in-flight requests finish with 200, the process exits 0', async () => {
    assert.deepEqual(await rawGet(port, '/ready'), { status: 200, body: 'ready' });

    // Two in-flight requests: one fully sent and computing (a 20,000-row batch), one whose body
    // is only half sent, so it is certainly still in flight when the signal arrives.
    const computing = http.request({
      host: '127.0.0.1', port, path: '/v2/models/breast-cancer/infer', method: 'POST', agent: false,
      headers: { 'content-type': 'application/json' },
    });
    const computingAnswer = new Promise<{ status: number; json: any; text: string }>((resolve, reject) => {
      computing.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(text), text }));
      });
      computing.on('error', reject);
    });
    const bigBody = batch(20_000);
    await new Promise<void>((resolve) => computing.end(bigBody, () => resolve()));

    const slow = slowInfer(port, batch(5_000));
    let slowDone = false;
    void slow.response.then(() => (slowDone = true), () => (slowDone = true));
    await delay(300); // the server has routed the half-sent request by now

    assert.equal(child.kill('SIGTERM'), true);

    // Readiness: 503 (or the listener already closed) within moments of the signal.
    const signalledAt = Date.now();
    let first: Answer | undefined;
    while (Date.now() - signalledAt < 2_000) {
      const a = await rawGet(port, '/v2/health/ready');
      if (notReady(a)) {
        first = a;
        break;
      }
      await delay(10);
    }
    assert.ok(first, `readiness still 200 two seconds after SIGTERM:\n${output()}`);
    if (first !== 'refused') assert.deepEqual(JSON.parse(first.body), { ready: false });
    const records = await rawGet(port, '/ready');
    assert.ok(notReady(records), `GET /ready after SIGTERM: ${JSON.stringify(records)}`);
    const fresh = await rawGet(port, '/v2/health/live');
    assert.ok(fresh === 'refused' || fresh.status === 503, `a new request after SIGTERM was served: ${JSON.stringify(fresh)}`);
    assert.equal(slowDone, false, 'the half-sent request must still be in flight');
    assert.equal(child.exitCode, null, 'the process must wait for in-flight requests');

    slow.finish();
    assertBatchAnswer(await slow.response, 5_000);
    assertBatchAnswer(await computingAnswer, 20_000);

    const exit = await exitWithin(exited, 20_000);
    assert.deepEqual(exit, { code: 0, signal: null }, `exit: ${JSON.stringify(exit)}\n${output().slice(-2000)}`);
    assert.match(output(), /draining/);
  });
});

describe('drain delay and keep-alive clients', () => {
  test('during the drain delay readiness is 503 while requests are still served; keep-alive does not hold up the exit', async () => {
    const { dir, port, child, exited, output } = await startServe({ PLINTH_DRAIN_DELAY_MS: '1500', PLINTH_SHUTDOWN_GRACE_MS: '20000' });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const keptGet = (path: string) =>
      new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
        http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection }));
        }).on('error', reject);
      });
    try {
      assert.deepEqual(await keptGet('/v2/health/live'), { status: 200, connection: 'keep-alive' });
      child.kill('SIGTERM');
      await delay(200);
      const ready = await rawGet(port, '/v2/health/ready');
      assert.ok(ready !== 'refused' && ready.status === 503, `readiness during the drain delay: ${JSON.stringify(ready)}`);
      const live = await rawGet(port, '/v2/health/live');
      assert.ok(live !== 'refused' && live.status === 200, `a request during the drain delay: ${JSON.stringify(live)}`);
      // The idle keep-alive connection gets its answer, then is closed by the server.
      assert.deepEqual(await keptGet('/v2/health/live'), { status: 200, connection: 'close' });
      const exit = await exitWithin(exited, 8_000);
      assert.deepEqual(exit, { code: 0, signal: null }, `exit: ${JSON.stringify(exit)}\n${output().slice(-2000)}`);
    } finally {
      agent.destroy();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('configuration defaults and validation', () => {
  test('request timeout and body limit have positive defaults', () => {
    const config = loadConfig({}, {});
    assert.ok(Number.isInteger(config.requestTimeoutMs) && config.requestTimeoutMs > 0, `requestTimeoutMs ${config.requestTimeoutMs}`);
    assert.ok(Number.isInteger(config.bodyLimit) && config.bodyLimit > 0, `bodyLimit ${config.bodyLimit}`);
    assert.ok(config.shutdownGraceMs > 0);
    assert.ok(config.maxJsonDepth >= 4);
    assert.equal(config.port, 8080);
  });

  test('PLINTH_* variables are read and converted', () => {
    const config = loadConfig({}, { PLINTH_PORT: '9001', PLINTH_BODY_LIMIT: '4096', PLINTH_REQUEST_TIMEOUT_MS: '1500' });
    assert.equal(config.port, 9001);
    assert.equal(config.bodyLimit, 4096);
    assert.equal(config.requestTimeoutMs, 1500);
  });

  test('explicit overrides win over the environment', () => {
    assert.equal(loadConfig({ port: 1234 }, { PLINTH_PORT: '9001' }).port, 1234);
  });

  for (const bad of ['not-a-port', '70000', '-1', '80.5', '1e3']) {
    test(`an invalid PLINTH_PORT (${bad}) throws naming PLINTH_PORT`, () => {
      assert.throws(() => loadConfig({}, { PLINTH_PORT: bad }), (err: Error) => {
        assert.match(err.message, /PLINTH_PORT/);
        assert.ok(err.message.includes(bad), `message lacks the bad value: ${err.message}`);
        return true;
      });
    });
  }

  test('a body limit below the minimum is refused naming PLINTH_BODY_LIMIT', () => {
    assert.throws(() => loadConfig({}, { PLINTH_BODY_LIMIT: '10' }), /PLINTH_BODY_LIMIT/);
  });
});
