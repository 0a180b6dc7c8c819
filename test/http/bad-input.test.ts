import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXAMPLES, FIXTURES, ROOT, exampleModels, get, post, startServer, type TestServer } from '../helpers/server.js';

type Answer = Awaited<ReturnType<typeof post>>;

const IRIS_ROW = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 };
const IRIS_TENSOR = { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }] };

/** Iris with a manifest whose features have no defaults, so a missing feature is an error. */
const STRICT_MANIFEST = `task: multiclass_classification
features:
- {name: sepal_length, type: numeric}
- {name: sepal_width, type: numeric}
- {name: petal_length, type: numeric}
- {name: petal_width, type: numeric}
classes: [setosa, versicolor, virginica]
outputs: {label: label, probabilities: probabilities}
`;

let server: TestServer;
let scratch: string;
const url = (path: string) => `${server.url}${path}`;

/** No stack trace, no server file path, no internals in a response body. */
function assertNoLeak(text: string): void {
  for (const bad of ['/tmp/', '/work', 'node_modules', '.ts:', '.js:', ROOT, server.dir, tmpdir() + '/', 'ENOENT', 'EACCES', 'no such file']) {
    assert.ok(!text.includes(bad), `body leaks '${bad}': ${text.slice(0, 300)}`);
  }
  assert.doesNotMatch(text, /^\s*at /m, 'body holds a stack line');
  assert.doesNotMatch(text, /\bat \S+ \(.*:\d+:\d+\)/, 'body holds a stack frame');
  assert.doesNotMatch(text, /\bat .*:\d+:\d+/, 'body holds a stack location');
}

/** The error shape every failure answers: exactly {"error": "...", "code": "..."}, with a readable message. */
function assertError(r: Answer, status: number, code: string, ...message: RegExp[]): string {
  assert.equal(r.status, status, `expected ${status}, got ${r.status}: ${r.text.slice(0, 300)}`);
  assert.ok(r.json && typeof r.json === 'object' && !Array.isArray(r.json), `body is not a JSON object: ${r.text.slice(0, 300)}`);
  assert.deepEqual(Object.keys(r.json).sort(), ['code', 'error'], `body keys: ${r.text.slice(0, 300)}`);
  assert.equal(typeof r.json.error, 'string');
  assert.equal(r.json.code, code, r.text);
  for (const m of message) assert.match(r.json.error, m);
  assertNoLeak(r.text);
  return r.json.error as string;
}

const v2 = (model: string, body: unknown, headers?: Record<string, string>) => post(url(`/v2/models/${model}/infer`), body, headers);

/** An Open Inference binary request: JSON header, then raw bytes. */
function binaryBody(header: unknown, tail: Buffer): { body: Uint8Array; headerLength: number } {
  const json = Buffer.from(JSON.stringify(header));
  return { body: new Uint8Array(Buffer.concat([json, tail])), headerLength: json.length };
}

describe('bad input: every failure is a clean 4xx/5xx error body', () => {
  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'plinth-bad-input-'));
    await writeFile(join(scratch, 'model.yaml'), STRICT_MANIFEST);
    server = await startServer({
      ...exampleModels('iris', 'credit-risk'),
      'iris-strict/1/model.onnx': join(EXAMPLES, 'iris/1/model.onnx'),
      'iris-strict/1/model.yaml': join(scratch, 'model.yaml'),
      'add-mul.onnx': join(FIXTURES, 'add-mul.onnx'),
      'fixed-shape.onnx': join(FIXTURES, 'fixed-shape.onnx'),
      'all-dtypes.onnx': join(FIXTURES, 'all-dtypes.onnx'),
      'broken.onnx': join(FIXTURES, 'broken.onnx'),
    });
  });
  after(async () => {
    await server?.close();
    await rm(scratch, { recursive: true, force: true });
  });

  describe('unknown model → 404 naming it', () => {
    test('V2 infer', async () => {
      assertError(await v2('no-such-model', IRIS_TENSOR), 404, 'MODEL_NOT_FOUND', /'no-such-model'/, /does not exist/);
    });
    test('records predict', async () => {
      assertError(await post(url('/models/no-such-model/predict'), IRIS_ROW), 404, 'MODEL_NOT_FOUND', /'no-such-model'/, /does not exist/);
    });
    test('MLflow invocations', async () => {
      const r = await post(url('/models/no-such-model/invocations'), { dataframe_records: [IRIS_ROW] });
      assertError(r, 404, 'MODEL_NOT_FOUND', /'no-such-model'/, /does not exist/);
    });
    test('Watson ML predictions', async () => {
      const r = await post(url('/ml/v4/deployments/no-such-model/predictions'), { input_data: [{ fields: ['sepal_length'], values: [[5.1]] }] });
      assertError(r, 404, 'MODEL_NOT_FOUND', /'no-such-model'/, /does not exist/);
    });
  });

  describe('tensor checks (V2)', () => {
    test('wrong shape: [1, 3] for iris [N, 4]', async () => {
      const r = await v2('iris', { inputs: [{ name: 'input', shape: [1, 3], datatype: 'FP32', data: [5.1, 3.5, 1.4] }] });
      assertError(r, 400, 'INVALID_INPUT', /input 'input'/, /expected shape \[-1, 4\]/, /got \[1, 3\]/);
    });
    test('wrong shape: [3, 2] for a fixed [2, 2] input', async () => {
      const r = await v2('fixed-shape', { inputs: [{ name: 'x', shape: [3, 2], datatype: 'FP32', data: [1, 2, 3, 4, 5, 6] }] });
      assertError(r, 400, 'INVALID_INPUT', /input 'x'/, /expected shape \[2, 2\]/, /got \[3, 2\]/);
    });
    test('element count does not match the shape', async () => {
      const r = await v2('iris', { inputs: [{ name: 'input', shape: [2, 4], datatype: 'FP32', data: [1, 2, 3, 4, 5] }] });
      assertError(r, 400, 'INVALID_INPUT', /input 'input'/, /\[2, 4\] needs 8 elements/, /got 5/);
    });
    test('wrong datatype: INT64 where FP32 is expected', async () => {
      const r = await v2('iris', { inputs: [{ name: 'input', shape: [1, 4], datatype: 'INT64', data: [5, 3, 1, 0] }] });
      assertError(r, 400, 'INVALID_INPUT', /input 'input'/, /expected datatype FP32/, /got INT64/);
    });
    test('a datatype that does not exist is refused by the schema', async () => {
      const r = await v2('iris', { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FLOAT99', data: [5, 3, 1, 0] }] });
      assertError(r, 400, 'INVALID_INPUT', /datatype/, /FP32/);
    });
    test('a string element in an FP32 tensor', async () => {
      const r = await v2('iris', { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [5.1, 'abc', 1.4, 0.2] }] });
      assertError(r, 400, 'INVALID_INPUT', /input 'input' element 1/, /expected a number for FP32/, /"abc"/);
    });
    test('the string "NaN" in an FP32 tensor', async () => {
      const r = await v2('iris', { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: ['NaN', 3.5, 1.4, 0.2] }] });
      assertError(r, 400, 'INVALID_INPUT', /input 'input' element 0/, /expected a number/);
    });
    test('missing input: add-mul without b', async () => {
      const r = await v2('add-mul', { inputs: [{ name: 'a', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] });
      assertError(r, 400, 'INVALID_INPUT', /missing input 'b'/, /FP32/);
    });
    test('unknown input', async () => {
      const r = await v2('add-mul', {
        inputs: [
          { name: 'a', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] },
          { name: 'b', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] },
          { name: 'c', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] },
        ],
      });
      assertError(r, 400, 'INVALID_INPUT', /unknown input 'c'/, /takes 'a', 'b'/);
    });
    test('unknown requested output', async () => {
      const r = await v2('add-mul', {
        inputs: [
          { name: 'a', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] },
          { name: 'b', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] },
        ],
        outputs: [{ name: 'quotient' }],
      });
      assertError(r, 400, 'INVALID_INPUT', /unknown output 'quotient'/, /'sum', 'product'/);
    });
    test('ragged nested data: [[1,2,3,4],[1,2]] with shape [2, 4]', async () => {
      const r = await v2('iris', { inputs: [{ name: 'input', shape: [2, 4], datatype: 'FP32', data: [[1, 2, 3, 4], [1, 2]] }] });
      assertError(r, 400, 'INVALID_INPUT', /input 'input' data\[1\]/, /expected an array of 4 elements/, /got 2 elements/);
    });
    test('integer out of range for INT8: 300 in x_int8', async () => {
      const r = await v2('all-dtypes', { inputs: [{ name: 'x_int8', shape: [1, 1], datatype: 'INT8', data: [300] }] });
      assertError(r, 400, 'INVALID_INPUT', /input 'x_int8' element 0/, /integer in \[-128, 127\]/, /300/);
    });
  });

  describe('records', () => {
    test('NaN literal in the body is invalid JSON', async () => {
      const r = await post(url('/models/iris/predict'), '{"sepal_length": NaN, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}');
      assertError(r, 400, 'MALFORMED_BODY', /not valid JSON/);
    });
    test('"NaN" string as a numeric feature names the feature', async () => {
      const r = await post(url('/models/iris/predict'), { ...IRIS_ROW, sepal_length: 'NaN' });
      assertError(r, 400, 'INVALID_INPUT', /feature 'sepal_length'/, /expected a (finite )?number/, /"NaN"/);
    });
    test('missing feature without a default', async () => {
      const { sepal_width: _, ...row } = IRIS_ROW;
      const r = await post(url('/models/iris-strict/predict'), row);
      assertError(r, 400, 'INVALID_INPUT', /record 0/, /missing feature 'sepal_width'/);
    });
    test('unknown feature', async () => {
      const r = await post(url('/models/iris/predict'), { ...IRIS_ROW, colour: 'blue' });
      assertError(r, 400, 'INVALID_INPUT', /unknown feature 'colour'/, /sepal_length, sepal_width, petal_length, petal_width/);
    });
  });

  describe('body', () => {
    test('malformed JSON → 400', async () => {
      assertError(await post(url('/models/iris/predict'), '{"sepal_length": 5.1,'), 400, 'MALFORMED_BODY', /not valid JSON/);
    });
    test('empty JSON body → 400', async () => {
      assertError(await post(url('/models/iris/predict'), ''), 400, 'MALFORMED_BODY', /empty|JSON/);
    });
    test('deeply nested JSON (10,000 "[") → 400 saying nesting', async () => {
      assertError(await post(url('/models/iris/predict'), '['.repeat(10_000)), 400, 'MALFORMED_BODY', /nested deeper than \d+ levels/);
      assertError(await v2('iris', `{"inputs": ${'['.repeat(10_000)}`), 400, 'MALFORMED_BODY', /nested/);
    });
    test('{"__proto__": {...}} → 400', async () => {
      const r = await post(url('/models/iris/predict'), '{"__proto__": {"polluted": true}, "sepal_length": 5.1}');
      assertError(r, 400, 'MALFORMED_BODY', /__proto__/);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    });
    test('{"constructor": {"prototype": {...}}} → 400', async () => {
      const r = await post(url('/models/iris/predict'), '{"constructor": {"prototype": {"polluted": true}}}');
      assertError(r, 400, 'MALFORMED_BODY', /constructor\.prototype/);
    });
    test('wrong content-type (text/plain) → 415', async () => {
      const r = await post(url('/models/iris/predict'), JSON.stringify(IRIS_ROW), { 'content-type': 'text/plain' });
      assertError(r, 415, 'UNSUPPORTED_MEDIA_TYPE', /text\/plain/, /application\/json/);
      const r2 = await v2('iris', JSON.stringify(IRIS_TENSOR), { 'content-type': 'text/plain' });
      assertError(r2, 415, 'UNSUPPORTED_MEDIA_TYPE', /application\/json/);
    });
    test('application/octet-stream without Inference-Header-Content-Length → 400', async () => {
      const r = await v2('iris', JSON.stringify(IRIS_TENSOR), { 'content-type': 'application/octet-stream' });
      assertError(r, 400, 'MALFORMED_BODY', /Inference-Header-Content-Length/);
    });
    test('binary_data_size running past the body → 400', async () => {
      const { body, headerLength } = binaryBody(
        { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: 16 } }] },
        Buffer.alloc(8),
      );
      const r = await v2('iris', body, { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(headerLength) });
      assertError(r, 400, 'INVALID_INPUT', /input 'input'/, /binary_data_size 16 runs past/, /8 bytes/);
    });
    test('Inference-Header-Content-Length larger than the body → 400', async () => {
      const { body, headerLength } = binaryBody(
        { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: 16 } }] },
        Buffer.alloc(16),
      );
      const r = await v2('iris', body, {
        'content-type': 'application/octet-stream',
        'inference-header-content-length': String(headerLength + 1000),
      });
      assertError(r, 400, 'MALFORMED_BODY', /Inference-Header-Content-Length/, new RegExp(`body size \\(${body.length}\\)`));
    });
    test('a well-formed binary request still works (control)', async () => {
      const { body, headerLength } = binaryBody(
        { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: 16 } }], outputs: [{ name: 'label' }] },
        Buffer.from(new Float32Array([5.1, 3.5, 1.4, 0.2]).buffer),
      );
      const r = await v2('iris', body, { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(headerLength) });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json.outputs[0].data, ['setosa']);
    });
  });

  describe('model names that could reach the file system', () => {
    const badNames: [string, string][] = [
      ['.. and / (URL-encoded) in V2 infer', '/v2/models/..%2F..%2Fetc/infer'],
      ['../../etc/passwd in V2 infer', '/v2/models/..%2F..%2Fetc%2Fpasswd/infer'],
      ['.. inside a name in records predict', '/models/a..b/predict'],
      ['encoded / in a name', '/v2/models/iris%2F1/infer'],
      ['NUL in a name', '/v2/models/iris%00/infer'],
      ['NUL in a records name', '/models/a%00b/predict'],
    ];
    for (const [label, path] of badNames) {
      test(`${label} → 400, no file read`, async () => {
        const body = path.startsWith('/v2/') ? IRIS_TENSOR : IRIS_ROW;
        const message = assertError(await post(url(path), body), 400, 'INVALID_INPUT', /model name '.*' is invalid/, /letters, digits/);
        assert.doesNotMatch(message, /root:|\/etc\/passwd:|<path>/);
        assert.doesNotMatch(message, /[\u0000-\u001f]/, 'control characters are escaped');
      });
    }
    test('a name of 201 characters → 400 (or 404) in the error shape', async () => {
      const r = await v2('a'.repeat(201), IRIS_TENSOR);
      assert.ok(r.status === 400 || r.status === 404, `expected 400 or 404, got ${r.status}: ${r.text.slice(0, 200)}`);
      assertError(r, r.status, r.status === 400 ? 'INVALID_INPUT' : 'MODEL_NOT_FOUND', /model name|does not exist/);
    });
    test('malformed percent-encoding in a name → 400 in the error shape', async () => {
      assertError(await v2('%ZZ', IRIS_TENSOR), 400, 'INVALID_INPUT', /URL/);
      assertError(await post(url('/models/%E0%A4%A/predict'), IRIS_ROW), 400, 'INVALID_INPUT', /URL/);
    });
    test('a valid 150-character name that is not served → 404 naming it', async () => {
      // Names may be up to 200 characters (MODEL_NAME_MAX), so the router must pass them through.
      const r = await post(url(`/models/${'m'.repeat(150)}/predict`), IRIS_ROW);
      assertError(r, 404, 'MODEL_NOT_FOUND', /does not exist/);
    });
  });

  describe('a broken model beside iris', () => {
    test('the repository index lists it UNAVAILABLE with a reason', async () => {
      const r = await post(url('/v2/repository/index'), {});
      assert.equal(r.status, 200, r.text);
      const broken = r.json.find((m: { name: string }) => m.name === 'broken');
      assert.ok(broken, r.text);
      assert.equal(broken.state, 'UNAVAILABLE');
      assert.equal(typeof broken.reason, 'string');
      assert.ok(broken.reason.length > 0);
      assert.equal(r.json.find((m: { name: string }) => m.name === 'iris')?.state, 'READY');
      assertNoLeak(r.text);
    });
    test('GET /v2/models/broken/ready → 503', async () => {
      const r = await get(url('/v2/models/broken/ready'));
      assert.equal(r.status, 503, r.text);
      assert.deepEqual(r.json, { name: 'broken', ready: false });
    });
    test('infer on it → 503 with the reason and no file path', async () => {
      const index = await post(url('/v2/repository/index'), {});
      const reason = index.json.find((m: { name: string }) => m.name === 'broken').reason as string;
      const r = await v2('broken', { inputs: [{ name: 'x', shape: [1], datatype: 'FP32', data: [1] }] });
      const message = assertError(r, 503, 'MODEL_UNAVAILABLE', /model 'broken'/, /unavailable/);
      assert.ok(message.includes(reason), `message '${message}' lacks the reason '${reason}'`);
      const records = await post(url('/models/broken/predict'), { x: 1 });
      assertError(records, 503, 'MODEL_UNAVAILABLE', /model 'broken'/);
    });
    test('iris keeps serving', async () => {
      const r = await v2('iris', IRIS_TENSOR);
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json.outputs.find((o: { name: string }) => o.name === 'label').data, ['setosa']);
      const p = await post(url('/models/iris/predict'), IRIS_ROW);
      assert.deepEqual(p.json, { prediction: ['setosa'], model_version: '1' });
    });
  });

  test('after all of that the server is still alive and ready', async () => {
    const live = await get(url('/v2/health/live'));
    assert.equal(live.status, 200);
    assert.deepEqual(live.json, { live: true });
    assert.equal((await get(url('/v2/health/ready'))).status, 200);
  });
});

describe('body over the limit', () => {
  let small: TestServer;
  before(async () => {
    small = await startServer(exampleModels('iris'), { bodyLimit: 2048 });
  });
  after(async () => small?.close());

  test('10 kB against a 2048-byte limit → 413 naming the limit', async () => {
    const body = JSON.stringify([...Array(120)].map(() => IRIS_ROW));
    assert.ok(body.length > 8_000);
    const r = await post(`${small.url}/models/iris/predict`, body);
    assert.equal(r.status, 413, r.text);
    assert.deepEqual(Object.keys(r.json).sort(), ['code', 'error']);
    assert.equal(r.json.code, 'PAYLOAD_TOO_LARGE');
    assert.match(r.json.error, /larger than the limit of 2048 bytes/);
    // A body under the limit is still served.
    const ok = await post(`${small.url}/models/iris/predict`, IRIS_ROW);
    assert.equal(ok.status, 200, ok.text);
    assert.equal((await get(`${small.url}/v2/health/live`)).status, 200);
  });
});
