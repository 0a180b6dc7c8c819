/**
 * Instance groups (issue 12, items 3 and 6): a slow model computes in ONNX Runtime threads so the
 * event loop keeps answering; its bounded queue sheds load with 429 / 503 and Retry-After;
 * deadlines answer 504; a caller who disconnects while queued never runs. Triton's scheduler is
 * the model (docs/user_guide/model_configuration.md, "Instance Groups" and "max_queue_size":
 * "If the queue is full, the new request will be rejected"); the status codes are RFC 9110's
 * (429 from RFC 6585 §4, 503 §15.6.4 and 504 §15.6.5, Retry-After §10.2.3). Nothing here times
 * anything: every check is an order of events or a count.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { buildSlowModel, SLOW_INPUT_WIDTH } from '../fixtures/slow-model.builder.js';
import { writeOnnxModel } from '../../src/runtime/onnx/onnx-model.writer.js';
import type { SessionInfo } from '../../src/runtime/session-budget.js';
import { exampleModels, get, post, SHARED, startServer, type TestServer } from '../helpers/server.js';

/** A V2 request for the slow model: `rows` rows of ones (about a millisecond each on one core). */
const slowBody = (rows: number) => ({ inputs: [{ name: 'x', shape: [rows, SLOW_INPUT_WIDTH], datatype: 'FP32', data: new Array(rows * SLOW_INPUT_WIDTH).fill(1) }] });

async function slowModelDir(manifest: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'plinth-slow-'));
  await mkdir(join(dir, '1'));
  await writeFile(join(dir, '1', 'model.onnx'), buildSlowModel());
  if (manifest) await writeFile(join(dir, '1', 'model.yaml'), manifest);
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

async function session(server: TestServer, label: string): Promise<SessionInfo> {
  const stats = (await get(`${server.url}/api/v1/runtime/sessions`)).json as { sessions: SessionInfo[] };
  const found = stats.sessions.find((s) => s.session === label);
  assert.ok(found, `no session '${label}' in ${JSON.stringify(stats.sessions.map((s) => s.session))}`);
  return found;
}

/** Polls the sessions endpoint until `ready` holds: answering at all proves the event loop is free. */
async function until(server: TestServer, label: string, ready: (s: SessionInfo) => boolean): Promise<SessionInfo> {
  for (let i = 0; i < 2000; i++) {
    const s = await session(server, label);
    if (ready(s)) return s;
    await delay(5);
  }
  throw new Error(`session '${label}' never reached the expected state`);
}

describe('the auto rule and a slow model in a thread', () => {
  let server: TestServer;
  let slow: Awaited<ReturnType<typeof slowModelDir>>;
  before(async () => {
    slow = await slowModelDir('');
    server = await startServer({ slow: slow.dir, 'breast-cancer.onnx': join(SHARED, 'rf_breast_cancer.onnx') });
  });
  after(async () => {
    await server.close();
    await slow.cleanup();
  });

  it('keeps a small fast model on the main thread and puts the slow one in threads, saying what it measured', async () => {
    const fast = await session(server, 'model breast-cancer 1');
    assert.equal(fast.execution, 'inline');
    assert.match(fast.reason ?? '', /^auto: load \d+ ms, one-row run \d+ us(, first session loaded by upload validation)?$/);
    const threaded = await session(server, 'model slow 1');
    assert.equal(threaded.execution, 'threads');
    assert.equal(threaded.instances, 1);
    assert.match(threaded.reason ?? '', /^auto: load \d+ ms, one-row run \d+ us(, first session loaded by upload validation)?$/);
  });

  it('answers liveness, other models and management while the slow model computes', async () => {
    let slowDone = false;
    const running = post(`${server.url}/v2/models/slow/infer`, slowBody(1500)).then((r) => {
      slowDone = true;
      return r;
    });
    await until(server, 'model slow 1', (s) => s.busy === 1);
    const live = await get(`${server.url}/v2/health/live`);
    assert.equal(live.status, 200);
    const other = await post(`${server.url}/v2/models/breast-cancer/infer`, {
      inputs: [{ name: 'input', shape: [1, 30], datatype: 'FP32', data: new Array(30).fill(1) }],
    });
    assert.equal(other.status, 200, other.text);
    assert.equal(slowDone, false, 'the slow run finished before the other requests were answered: they waited for it');
    const result = await running;
    assert.equal(result.status, 200, result.text);
    assert.equal(result.json.outputs[0].shape.join(','), '1500,1');
    // Every layer averages: each row sums to width x 1.
    assert.equal(result.json.outputs[0].data[0], 512);
  });
});

describe('a bounded queue', () => {
  let server: TestServer;
  let slow: Awaited<ReturnType<typeof slowModelDir>>;
  before(async () => {
    slow = await slowModelDir('instance_group:\n  execution: threads\n  count: 1\n  max_queue_size: 1\n  queue_timeout_ms: 100000\n');
    server = await startServer({ slow: slow.dir });
  });
  after(async () => {
    await server.close();
    await slow.cleanup();
  });

  it('refuses a request past max_queue_size at once with 429, Retry-After and the error body, on every protocol', async () => {
    const first = post(`${server.url}/v2/models/slow/infer`, slowBody(1200));
    await until(server, 'model slow 1', (s) => s.busy === 1);
    const second = post(`${server.url}/v2/models/slow/infer`, slowBody(10));
    await until(server, 'model slow 1', (s) => s.queued === 1);
    const third = await post(`${server.url}/v2/models/slow/infer`, slowBody(10));
    assert.equal(third.status, 429);
    assert.equal(third.json.code, 'OVERLOADED');
    assert.match(third.json.error, /max_queue_size 1/);
    assert.match(third.headers.get('retry-after') ?? '', /^[1-9][0-9]*$/);
    // The records route (and MLflow, Watson ML, Pega) go through the same queue.
    const records = await post(`${server.url}/models/slow/invocations`, { inputs: new Array(2).fill(new Array(SLOW_INPUT_WIDTH).fill(1)) });
    assert.equal(records.status, 429, records.text);
    assert.equal(records.json.code, 'OVERLOADED');
    assert.equal((await first).status, 200);
    assert.equal((await second).status, 200);
    const stats = await session(server, 'model slow 1');
    assert.equal(stats.rejectedFull, 2);
    assert.equal(stats.runs, 2);
  });

  it('drops a queued request whose caller disconnects, without running it', async () => {
    const before = await session(server, 'model slow 1');
    const first = post(`${server.url}/v2/models/slow/infer`, slowBody(1200));
    await until(server, 'model slow 1', (s) => s.busy === 1);
    const abort = new AbortController();
    const queued = fetch(`${server.url}/v2/models/slow/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(slowBody(10)),
      signal: abort.signal,
    }).catch((err: Error) => err);
    await until(server, 'model slow 1', (s) => s.queued === 1);
    abort.abort();
    assert.ok((await queued) instanceof Error);
    const dropped = await until(server, 'model slow 1', (s) => s.queued === 0);
    assert.equal(dropped.abandoned, (before.abandoned ?? 0) + 1);
    assert.equal((await first).status, 200);
    const done = await until(server, 'model slow 1', (s) => s.busy === 0);
    assert.equal(done.runs, (before.runs ?? 0) + 1, 'the dropped request ran');
  });
});

describe('queue timeout and request deadline', () => {
  let server: TestServer;
  let slow: Awaited<ReturnType<typeof slowModelDir>>;
  before(async () => {
    slow = await slowModelDir('instance_group:\n  execution: threads\n  queue_timeout_ms: 50\n');
    server = await startServer({ slow: slow.dir }, { requestTimeoutMs: 1500 });
  });
  after(async () => {
    await server.close();
    await slow.cleanup();
  });

  it('answers 503 QUEUE_TIMEOUT with Retry-After to a request that waited past queue_timeout_ms', async () => {
    const first = post(`${server.url}/v2/models/slow/infer`, slowBody(600));
    await until(server, 'model slow 1', (s) => s.busy === 1);
    const waited = await post(`${server.url}/v2/models/slow/infer`, slowBody(1));
    assert.equal(waited.status, 503);
    assert.equal(waited.json.code, 'QUEUE_TIMEOUT');
    assert.match(waited.headers.get('retry-after') ?? '', /^[1-9][0-9]*$/);
    assert.equal((await first).status, 200);
  });

  it('answers 504 DEADLINE_EXCEEDED when the run outlasts PLINTH_REQUEST_TIMEOUT_MS, and serves again once ORT returns', async () => {
    const late = await post(`${server.url}/v2/models/slow/infer`, slowBody(6000));
    assert.equal(late.status, 504, late.text);
    assert.equal(late.json.code, 'DEADLINE_EXCEEDED');
    assert.match(late.json.error, /PLINTH_REQUEST_TIMEOUT_MS/);
    // The abandoned run still holds the instance until ONNX Runtime returns; then it serves again.
    await until(server, 'model slow 1', (s) => s.busy === 0);
    const next = await post(`${server.url}/v2/models/slow/infer`, slowBody(2));
    assert.equal(next.status, 200, next.text);
    assert.ok(((await session(server, 'model slow 1')).deadlineExceeded ?? 0) >= 1);
  });
});

describe('explicit execution settings', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ 'breast-cancer.onnx': join(SHARED, 'rf_breast_cancer.onnx'), ...exampleModels('credit-risk') });
  });
  after(() => server.close());

  it('serves a deployment in an instance group of two threads with answers identical to the inline model', async () => {
    const created = await post(`${server.url}/api/v1/deployments`, {
      name: 'bc-threads',
      target: { model: 'breast-cancer' },
      runtime: { execution: 'threads', instances: 2, maxQueueSize: 8, queueTimeoutMs: 5000 },
    });
    assert.equal(created.status, 201, created.text);
    const threaded = await session(server, 'deployment bc-threads (breast-cancer 1)');
    assert.equal(threaded.execution, 'threads');
    assert.equal(threaded.instances, 2);
    assert.equal(threaded.reason, 'explicit');
    const body = { inputs: [{ name: 'input', shape: [3, 30], datatype: 'FP32', data: Array.from({ length: 90 }, (_, i) => (i % 7) * 3.5) }] };
    const inline = await post(`${server.url}/v2/models/breast-cancer/infer`, body);
    const viaThreads = await post(`${server.url}/v2/models/bc-threads/infer`, body);
    assert.equal(viaThreads.status, 200, viaThreads.text);
    assert.deepEqual(viaThreads.json.outputs, inline.json.outputs);
  });

  it('explains through an instance group exactly as inline (kernel SHAP keeps its own buffers: the group gets copies)', async () => {
    const created = await post(`${server.url}/api/v1/deployments`, { name: 'cr-threads', target: { model: 'credit-risk' }, runtime: { execution: 'threads', instances: 2 } });
    assert.equal(created.status, 201, created.text);
    assert.equal((await session(server, 'deployment cr-threads (credit-risk 1)')).execution, 'threads');
    const record = { LoanDuration: 31, LoanAmount: 4500, Age: 41 };
    const inline = await post(`${server.url}/models/credit-risk/explain`, record);
    const threaded = await post(`${server.url}/models/cr-threads/explain`, record);
    assert.equal(inline.status, 200, inline.text);
    assert.equal(threaded.status, 200, threaded.text);
    assert.match(JSON.stringify(inline.json), /kernel/);
    assert.equal(threaded.json.model_name, 'cr-threads');
    assert.deepEqual({ ...threaded.json, model_name: 'credit-risk' }, inline.json);
  });

  it('keeps the auto rule\'s verdict for a model file: another deployment of the same version is not measured again', async () => {
    const model = await session(server, 'model breast-cancer 1');
    assert.match(model.reason ?? '', /^auto: load \d+ ms, one-row run \d+ us/);
    const created = await post(`${server.url}/api/v1/deployments`, { name: 'bc-auto', target: { model: 'breast-cancer' } });
    assert.equal(created.status, 201, created.text);
    const deployed = await session(server, 'deployment bc-auto (breast-cancer 1)');
    assert.equal(deployed.execution, model.execution);
    assert.equal(deployed.reason, `${model.reason!.replace(', first session loaded by upload validation', '')} (measured at an earlier load)`);
  });

  it('refuses unknown execution settings naming the field', async () => {
    const bad = await post(`${server.url}/api/v1/deployments`, { name: 'bad', target: { model: 'breast-cancer' }, runtime: { execution: 'gpu' } });
    assert.equal(bad.status, 400);
    assert.match(bad.json.error, /runtime\/execution|runtime\.execution/);
    const zero = await post(`${server.url}/api/v1/deployments`, { name: 'bad', target: { model: 'breast-cancer' }, runtime: { instances: 0 } });
    assert.equal(zero.status, 400);
    assert.match(zero.json.error, /instances/);
  });
});

/** A chain of `nodes` Relus: ONNX Runtime takes about 1.7 s to load 10,000 of them, and runs them in tens of ms. */
function longGraph(nodes: number): Uint8Array {
  const chain = Array.from({ length: nodes }, (_, i) => ({ op: 'Relu', inputs: [i === 0 ? 'x' : `h${i - 1}`], outputs: [i === nodes - 1 ? 'y' : `h${i}`] }));
  return writeOnnxModel({ nodes: chain, inputs: [{ name: 'x', shape: ['batch', 4] }], outputs: [{ name: 'y', shape: ['batch', 4] }], opsets: { '': 13 }, irVersion: 8, producer: 'plinth-test' });
}

describe('loading off the main thread, once per upload', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({});
  });
  after(() => server.close());

  it('answers liveness while an upload of a slow-to-load graph is validated, and serves it with the session validation loaded', async () => {
    const form = new FormData();
    form.append('file', new Blob([longGraph(10_000)]), 'long.onnx');
    let uploaded = false;
    const upload = fetch(`${server.url}/api/v1/models/long/versions`, { method: 'POST', body: form }).then(async (r) => {
      uploaded = true;
      return { status: r.status, text: await r.text() };
    });
    // Liveness answers many times while ONNX Runtime loads the graph in a thread.
    let answered = 0;
    while (!uploaded) {
      assert.equal((await get(`${server.url}/v2/health/live`)).status, 200);
      answered++;
      await delay(20);
    }
    const result = await upload;
    assert.equal(result.status, 201, result.text);
    assert.ok(answered >= 5, `liveness answered only ${answered} times during the upload: the event loop was blocked`);
    const served = await session(server, 'model long 1');
    assert.equal(served.execution, 'threads');
    assert.match(served.reason ?? '', /first session loaded by upload validation/);
    const out = await post(`${server.url}/v2/models/long/infer`, { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [-1, 2, -3, 4] }] });
    assert.equal(out.status, 200, out.text);
    assert.deepEqual(out.json.outputs[0].data, [0, 2, 0, 4]);
  });
});
