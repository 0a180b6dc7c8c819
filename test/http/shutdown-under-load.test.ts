/**
 * SIGTERM under load (issue 12, item 10): 32 keep-alive clients send predictions back to back;
 * on SIGTERM the server stops accepting, answers each connection's request in flight or next
 * request with `Connection: close` (RFC 9112 §9.6: the server closes after that response) and
 * exits 0. No client may see a reset or a refused request on its kept connection, nor a 503.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { cp } from 'node:fs/promises';
import { startServeProcess, type Exit } from '../helpers/serve-process.js';
import { EXAMPLES } from '../helpers/server.js';

const CONNECTIONS = 32;
const body = JSON.stringify({ sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 });

interface Outcome {
  answered: number;
  statuses: Map<number, number>;
  errors: string[];
  /** Loops that ended on a `Connection: close` answer. */
  closedCleanly: number;
}

/** One client: requests on its own kept-alive connection until the server says it closes it. */
async function client(port: number, outcome: Outcome, started: () => void): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (;;) {
      const answer = await new Promise<{ status: number; connection: string | undefined } | Error>((resolve) => {
        const req = http.request({ host: '127.0.0.1', port, path: '/models/iris/predict', method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection }));
          res.on('error', resolve);
        });
        req.on('error', resolve);
        req.end(body);
      });
      if (answer instanceof Error) {
        outcome.errors.push((answer as NodeJS.ErrnoException).code ?? answer.message);
        return;
      }
      outcome.answered++;
      outcome.statuses.set(answer.status, (outcome.statuses.get(answer.status) ?? 0) + 1);
      started();
      if (answer.connection === 'close') {
        outcome.closedCleanly++;
        return;
      }
    }
  } finally {
    agent.destroy();
  }
}

test('SIGTERM with 32 busy keep-alive connections: every request answered 200, no reset, each connection closed after its answer, exit 0', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'plinth-shutdown-'));
  await cp(join(EXAMPLES, 'iris'), join(dir, 'iris'), { recursive: true });
  const server = await startServeProcess(['--models', dir, '--public-models', '*'], { PLINTH_DATA_DIR: join(dir, '.data'), PLINTH_SHUTDOWN_GRACE_MS: '20000' });
  try {
    const outcome: Outcome = { answered: 0, statuses: new Map(), errors: [], closedCleanly: 0 };
    let signalled = false;
    const exited = new Promise<Exit>((resolve) => server.child.once('exit', (code, signal) => resolve({ code, signal })));
    const clients = Array.from({ length: CONNECTIONS }, () =>
      client(server.port, outcome, () => {
        // Signal once the load is running on every connection.
        if (!signalled && outcome.answered >= CONNECTIONS * 20) {
          signalled = true;
          server.child.kill('SIGTERM');
        }
      }),
    );
    await Promise.all(clients);
    const exit = await exited;
    assert.ok(signalled, 'the load never reached the signal');
    assert.deepEqual(outcome.errors, [], `clients saw errors: ${outcome.errors.join(', ')}\n${server.output().slice(-2000)}`);
    assert.deepEqual([...outcome.statuses.keys()], [200], `statuses: ${JSON.stringify([...outcome.statuses])}`);
    assert.equal(outcome.closedCleanly, CONNECTIONS);
    assert.deepEqual(exit, { code: 0, signal: null }, server.output().slice(-2000));
  } finally {
    if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});
