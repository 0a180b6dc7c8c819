/**
 * Request deadlines (issue 12, item 4): a body trickled a byte at a time is cut at
 * PLINTH_REQUEST_TIMEOUT_MS with 408 (RFC 9110 §15.5.9: the server "would like to shut down
 * this unused connection"), in Plinth's error body, and the connection closes; an idle
 * keep-alive connection closes after PLINTH_KEEP_ALIVE_TIMEOUT_MS, whatever the request timeout.
 * (504 for a run past the deadline: test/runtime/instance-groups.test.ts.)
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { exampleModels, startServer, type TestServer } from '../helpers/server.js';

/** Sends `head`, then one byte of `rest` every `everyMs`; resolves with what the server sent and how many body bytes went out. */
function trickle(port: number, head: string, rest: string, everyMs: number): Promise<{ answer: string; sent: number }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let answer = '';
    let sent = 0;
    socket.write(head);
    const timer = setInterval(() => {
      if (sent < rest.length && !socket.destroyed) socket.write(rest[sent++]!);
    }, everyMs);
    socket.on('data', (d) => (answer += d.toString()));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ answer, sent });
    });
  });
}

describe('deadlines on the wire', () => {
  let server: TestServer;
  let port: number;
  before(async () => {
    server = await startServer(exampleModels('iris'), { requestTimeoutMs: 800, keepAliveTimeoutMs: 300 });
    port = Number(new URL(server.url).port);
  });
  after(() => server.close());

  it('cuts a body still arriving at the request timeout with 408 REQUEST_TIMEOUT and closes the connection', async () => {
    const body = JSON.stringify({ sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 });
    // One byte every 100 ms: the whole body would take about 9 s, far past the 800 ms deadline.
    const head = `POST /models/iris/predict HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`;
    const { answer, sent } = await trickle(port, head, body, 100);
    assert.match(answer, /^HTTP\/1\.1 408 /);
    assert.match(answer, /connection: close/i);
    const json = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));
    assert.equal(json.code, 'REQUEST_TIMEOUT');
    assert.match(json.error, /PLINTH_REQUEST_TIMEOUT_MS/);
    assert.ok(sent < body.length, `the whole body (${sent} bytes) was read before the cut`);
  });

});

describe('keep-alive timeout', () => {
  let server: TestServer;
  let port: number;
  before(async () => {
    // A request timeout of a minute: the idle connection must close on its own timeout (well within the test's 15 s), not on that one.
    server = await startServer(exampleModels('iris'), { requestTimeoutMs: 60_000, keepAliveTimeoutMs: 300 });
    port = Number(new URL(server.url).port);
  });
  after(() => server.close());

  it('serves a request, then closes its idle keep-alive connection after the keep-alive timeout', { timeout: 15_000 }, async () => {
    const body = JSON.stringify({ sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 });
    const socket = net.connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (d) => (answer += d.toString()));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write(`POST /models/iris/predict HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
    await closed;
    assert.match(answer, /^HTTP\/1\.1 200 /);
    assert.match(answer, /keep-alive/i);
    assert.match(answer, /"setosa"/);
  });
});
