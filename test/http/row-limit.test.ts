import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXAMPLES, post, readResponse, startServer, type TestServer } from '../helpers/server.js';

/** Issue 12 item 5: a server-wide row ceiling (PLINTH_MAX_ROWS) checked while decoding, lowered per model by runtime.max_rows. */
const MAX = 5;
const ROW = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 };
const VALUES = [5.1, 3.5, 1.4, 0.2];
const COLUMNS = Object.keys(ROW);

let server: TestServer;
let scratch: string;
const url = (path: string) => `${server.url}${path}`;
const rows = <T>(n: number, row: T): T[] => Array.from({ length: n }, () => row);

/** Every protocol's body of n iris rows, and where it goes. */
const bodies: Record<string, (n: number) => { path: string; body: unknown; type?: string }> = {
  'records list': (n) => ({ path: '/models/iris/predict', body: rows(n, ROW) }),
  'records _data': (n) => ({ path: '/models/iris/predict', body: { _data: rows(n, ROW) } }),
  'MLflow dataframe_records': (n) => ({ path: '/models/iris/invocations', body: { dataframe_records: rows(n, ROW) } }),
  'MLflow dataframe_split': (n) => ({ path: '/models/iris/invocations', body: { dataframe_split: { columns: COLUMNS, data: rows(n, VALUES) } } }),
  'MLflow instances': (n) => ({ path: '/models/iris/invocations', body: { instances: rows(n, ROW) } }),
  'MLflow inputs (tensor)': (n) => ({ path: '/models/iris/invocations', body: { inputs: rows(n, VALUES) } }),
  'MLflow text/csv': (n) => ({ path: '/models/iris/invocations', type: 'text/csv', body: `${COLUMNS.join(',')}\n${rows(n, VALUES.join(',')).join('\n')}\n` }),
  'Watson ML': (n) => ({ path: '/ml/v4/deployments/iris/predictions', body: { input_data: [{ fields: COLUMNS, values: rows(n, VALUES) }] } }),
  'V2 nested data': (n) => ({ path: '/v2/models/iris/infer', body: { inputs: [{ name: 'input', shape: [n, 4], datatype: 'FP32', data: rows(n, VALUES) }] } }),
  'V2 flat data': (n) => ({ path: '/v2/models/iris/infer', body: { inputs: [{ name: 'input', shape: [n, 4], datatype: 'FP32', data: rows(n, VALUES).flat() }] } }),
};

const send = ({ path, body, type }: { path: string; body: unknown; type?: string }) =>
  type ? post(url(path), body as string, { 'content-type': type }) : post(url(path), body);

/** A V2 binary-extension request of n iris rows. */
async function binaryV2(n: number) {
  const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'input', shape: [n, 4], datatype: 'FP32', parameters: { binary_data_size: n * 16 } }] }));
  const tail = Buffer.from(Float32Array.from(rows(n, VALUES).flat()).buffer);
  return readResponse(await fetch(url('/v2/models/iris/infer'), {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
    body: new Uint8Array(Buffer.concat([header, tail])),
  }));
}

/** Iris under another name with `runtime.max_rows` in its model.yaml. */
async function irisWithMaxRows(name: string, maxRows: number): Promise<string> {
  const dir = join(scratch, name, '1');
  await cp(join(EXAMPLES, 'iris/1'), dir, { recursive: true });
  const yaml = (await readFile(join(dir, 'model.yaml'), 'utf8')).replace(/^name: iris$/m, `name: ${name}`);
  await writeFile(join(dir, 'model.yaml'), `${yaml}runtime:\n  max_rows: ${maxRows}\n`);
  return join(scratch, name);
}

describe(`row limit: PLINTH_MAX_ROWS=${MAX}`, () => {
  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'plinth-rows-'));
    server = await startServer(
      {
        iris: join(EXAMPLES, 'iris'),
        'iris-two': await irisWithMaxRows('iris-two', 2),
        'iris-many': await irisWithMaxRows('iris-many', 1000),
        'iris-bad': await irisWithMaxRows('iris-bad', 0),
      },
      { maxRows: MAX },
    );
  });
  after(async () => {
    await server.close();
    await rm(scratch, { recursive: true, force: true });
  });

  for (const [protocol, body] of Object.entries(bodies)) {
    test(`${protocol}: ${MAX} rows are served, ${MAX + 1} answer 413 naming the limit and PLINTH_MAX_ROWS`, async () => {
      const ok = await send(body(MAX));
      assert.equal(ok.status, 200, ok.text);
      const refused = await send(body(MAX + 1));
      assert.equal(refused.status, 413, refused.text);
      assert.equal(refused.json.code, 'PAYLOAD_TOO_LARGE');
      assert.match(refused.json.error, new RegExp(`at most ${MAX} per request \\(PLINTH_MAX_ROWS`));
    });
  }

  test(`V2 binary tensor: shape [${MAX}, 4] is served, [${MAX + 1}, 4] answers 413 before its bytes are decoded`, async () => {
    assert.equal((await binaryV2(MAX)).status, 200);
    const refused = await binaryV2(MAX + 1);
    assert.equal(refused.status, 413, refused.text);
    assert.match(refused.json.error, /6 rows, but this server takes at most 5 per request \(PLINTH_MAX_ROWS/);
  });

  test("a model's runtime.max_rows lowers the limit for that model, and the 413 names it", async () => {
    assert.equal((await post(url('/models/iris-two/predict'), rows(2, ROW))).status, 200);
    const refused = await post(url('/models/iris-two/predict'), rows(3, ROW));
    assert.equal(refused.status, 413, refused.text);
    assert.match(refused.json.error, /3 rows, but 'iris-two' takes at most 2 per request \(runtime\.max_rows in its model\.yaml\)/);
    const v2 = await post(url('/v2/models/iris-two/infer'), bodies['V2 flat data']!(3).body);
    assert.equal(v2.status, 413, v2.text);
    assert.match(v2.json.error, /runtime\.max_rows/);
  });

  test("a model's runtime.max_rows above the server's ceiling does not raise it", async () => {
    const refused = await post(url('/models/iris-many/predict'), rows(MAX + 1, ROW));
    assert.equal(refused.status, 413, refused.text);
    assert.match(refused.json.error, /PLINTH_MAX_ROWS/);
  });

  test('a model.yaml with a runtime.max_rows below 1 does not load, and says what was expected', async () => {
    const listed = await post(url('/v2/repository/index'), {});
    const bad = listed.json.find((m: { name: string }) => m.name === 'iris-bad');
    assert.equal(bad?.state, 'UNAVAILABLE', listed.text);
    assert.match(bad.reason, /model\.yaml .*greater or equal to 1/);
  });
});
