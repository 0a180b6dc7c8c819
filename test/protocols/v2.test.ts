import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exampleModels, FIXTURES, get, post, startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
before(async () => {
  server = await startServer({
    ...exampleModels('iris', 'credit-risk'),
    'add-mul.onnx': join(FIXTURES, 'add-mul.onnx'),
    'all-dtypes.onnx': join(FIXTURES, 'all-dtypes.onnx'),
  });
});
after(() => server.close());

const infer = (model: string, body: unknown, headers?: Record<string, string>) =>
  post(`${server.url}/v2/models/${model}/infer`, body, headers);

const IRIS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]];

describe('health and metadata', () => {
  test('live, ready and server metadata', async () => {
    assert.deepEqual((await get(`${server.url}/v2/health/live`)).json, { live: true });
    const ready = await get(`${server.url}/v2/health/ready`);
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.json, { ready: true });
    const meta = (await get(`${server.url}/v2`)).json;
    assert.equal(meta.name, 'plinth');
    assert.match(meta.version, /^\d+\.\d+\.\d+/);
    assert.deepEqual(meta.extensions, ['binary_tensor_data', 'model_repository']);
  });

  test('model metadata gives dynamic dims as -1', async () => {
    const r = await get(`${server.url}/v2/models/iris`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, {
      name: 'iris',
      versions: ['1'],
      platform: 'onnx',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [{ name: 'label', datatype: 'BYTES', shape: [-1] }, { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] }],
    });
    assert.equal((await get(`${server.url}/v2/models/iris/versions/1`)).json.name, 'iris');
  });

  test('unknown version is 404, model readiness per version', async () => {
    const missing = await get(`${server.url}/v2/models/iris/versions/7`);
    assert.equal(missing.status, 404);
    assert.match(missing.json.error, /iris.*no version '7'/);
    assert.deepEqual((await get(`${server.url}/v2/models/iris/ready`)).json, { name: 'iris', ready: true });
    assert.equal((await get(`${server.url}/v2/models/iris/versions/1/ready`)).status, 200);
  });
});

describe('infer (JSON)', () => {
  test('nested data, id echoed, labels and probabilities', async () => {
    const r = await infer('iris', { id: 'req-1', inputs: [{ name: 'input', shape: [2, 4], datatype: 'FP32', data: IRIS }] });
    assert.equal(r.status, 200);
    assert.equal(r.json.id, 'req-1');
    assert.equal(r.json.model_name, 'iris');
    assert.equal(r.json.model_version, '1');
    const [label, probs] = r.json.outputs;
    assert.deepEqual(label, { name: 'label', shape: [2], datatype: 'BYTES', data: ['setosa', 'virginica'] });
    assert.deepEqual(probs.shape, [2, 3]);
    assert.ok(Math.abs(probs.data.slice(0, 3).reduce((a: number, b: number) => a + b) - 1) < 1e-5);
  });

  test('flat data gives the same answer as nested', async () => {
    const nested = await infer('iris', { inputs: [{ name: 'input', shape: [2, 4], datatype: 'FP32', data: IRIS }] });
    const flat = await infer('iris', { inputs: [{ name: 'input', shape: [2, 4], datatype: 'FP32', data: IRIS.flat() }] });
    assert.deepEqual(flat.json.outputs, nested.json.outputs);
    assert.equal(flat.json.id, undefined);
  });

  test('requested outputs only', async () => {
    const r = await infer('iris', { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: IRIS[0] }], outputs: [{ name: 'probabilities' }] });
    assert.deepEqual(r.json.outputs.map((o: { name: string }) => o.name), ['probabilities']);
  });

  test('several inputs and outputs with a dynamic batch', async () => {
    const r = await infer('add-mul', {
      inputs: [
        { name: 'a', shape: [3, 3], datatype: 'FP32', data: [1, 2, 3, 4, 5, 6, 7, 8, 9] },
        { name: 'b', shape: [3, 3], datatype: 'FP32', data: [[1, 1, 1], [2, 2, 2], [3, 3, 3]] },
      ],
    });
    assert.equal(r.status, 200);
    const out = Object.fromEntries(r.json.outputs.map((o: { name: string; data: number[] }) => [o.name, o.data]));
    assert.deepEqual(out.sum, [2, 3, 4, 6, 7, 8, 10, 11, 12]);
    assert.deepEqual(out.product, [1, 2, 3, 8, 10, 12, 21, 24, 27]);
  });

  test('string (BYTES) inputs: credit-risk with one input per column', async () => {
    const columns: Record<string, string | number> = {
      CheckingStatus: 'no_checking', LoanDuration: 13, CreditHistory: 'credits_paid_to_date', LoanPurpose: 'car_new', LoanAmount: 1343,
      ExistingSavings: '100_to_500', EmploymentDuration: '1_to_4', InstallmentPercent: 2, Sex: 'female', OthersOnLoan: 'none',
      CurrentResidenceDuration: 3, OwnsProperty: 'savings_insurance', Age: 46, InstallmentPlans: 'none', Housing: 'own',
      ExistingCreditsCount: 2, Job: 'skilled', Dependents: 1, Telephone: 'none', ForeignWorker: 'yes',
    };
    const inputs = Object.entries(columns).map(([name, v]) => ({ name, shape: [1, 1], datatype: typeof v === 'string' ? 'BYTES' : 'FP32', data: [v] }));
    const r = await infer('credit-risk', { inputs, outputs: [{ name: 'label' }] });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.outputs[0].data, ['No Risk']);
  });
});

/** Values every dtype must carry through an identity model unchanged. */
const DTYPE_CASES: [string, string, unknown[]][] = [
  ['x_float', 'FP32', [1.5, -2.25, 0, 3.75]],
  ['x_double', 'FP64', [1e-300, -2.5, 0.1, 1e300]],
  ['x_int8', 'INT8', [-128, 127, 0, -1]],
  ['x_int16', 'INT16', [-32768, 32767, 5, -5]],
  ['x_int32', 'INT32', [-2147483648, 2147483647, 7, -7]],
  ['x_int64', 'INT64', [-9007199254740991, 9007199254740991, 42, -42]],
  ['x_uint8', 'UINT8', [0, 255, 1, 128]],
  ['x_uint16', 'UINT16', [0, 65535, 1, 300]],
  ['x_uint32', 'UINT32', [0, 4294967295, 1, 70000]],
  ['x_uint64', 'UINT64', [0, 9007199254740991, 1, 123456789012]],
  ['x_bool', 'BOOL', [true, false, false, true]],
  ['x_string', 'BYTES', ['a', '', 'ünïcödé ✓', 'zz']],
  ['x_float16', 'FP16', [1.5, -2.25, 0.5, 65504]],
];
const dtypeInputs = () => DTYPE_CASES.map(([name, datatype, data]) => ({ name, shape: [2, 2], datatype, data }));

describe('every datatype', () => {
  test('JSON round trip through an identity model', async () => {
    const r = await infer('all-dtypes', { inputs: dtypeInputs() });
    assert.equal(r.status, 200, r.text);
    for (const [name, datatype, data] of DTYPE_CASES) {
      const out = r.json.outputs.find((o: { name: string }) => o.name === name.replace('x_', 'y_'));
      assert.equal(out.datatype, datatype, name);
      assert.deepEqual(out.shape, [2, 2], name);
      assert.deepEqual(out.data, data, name);
    }
  });

  test('binary tensor extension: binary inputs and binary outputs', async () => {
    const json = await infer('all-dtypes', { inputs: dtypeInputs() });
    // Encode every input in binary, ask for every output in binary.
    const chunks: Buffer[] = [];
    const inputs = DTYPE_CASES.map(([name, datatype, data]) => {
      const bytes = encode(datatype, data);
      chunks.push(bytes);
      return { name, shape: [2, 2], datatype, parameters: { binary_data_size: bytes.length } };
    });
    const header = Buffer.from(JSON.stringify({ inputs, parameters: { binary_data_output: true } }));
    const res = await fetch(`${server.url}/v2/models/all-dtypes/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
      body: Buffer.concat([header, ...chunks]),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/octet-stream');
    const body = Buffer.from(await res.arrayBuffer());
    const headerLength = Number(res.headers.get('inference-header-content-length'));
    const meta = JSON.parse(body.subarray(0, headerLength).toString());
    let offset = headerLength;
    for (const out of meta.outputs) {
      const size = out.parameters.binary_data_size;
      assert.equal(out.data, undefined);
      const bytes = body.subarray(offset, offset + size);
      offset += size;
      const expected = json.json.outputs.find((o: { name: string }) => o.name === out.name);
      assert.deepEqual(decode(out.datatype, bytes), expected.data, out.name);
    }
    assert.equal(offset, body.length);
  });

  test('binary input with JSON output, one output requested in binary', async () => {
    const data = new Float32Array(IRIS.flat());
    const header = Buffer.from(JSON.stringify({
      inputs: [{ name: 'input', shape: [2, 4], datatype: 'FP32', parameters: { binary_data_size: data.byteLength } }],
      outputs: [{ name: 'label' }, { name: 'probabilities', parameters: { binary_data: true } }],
    }));
    const res = await fetch(`${server.url}/v2/models/iris/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'inference-header-content-length': String(header.length) },
      body: Buffer.concat([header, Buffer.from(data.buffer)]),
    });
    assert.equal(res.status, 200);
    const body = Buffer.from(await res.arrayBuffer());
    const n = Number(res.headers.get('inference-header-content-length'));
    const meta = JSON.parse(body.subarray(0, n).toString());
    assert.deepEqual(meta.outputs[0].data, ['setosa', 'virginica']);
    assert.equal(meta.outputs[1].parameters.binary_data_size, 2 * 3 * 4);
    const probs = decode('FP32', body.subarray(n)) as number[];
    assert.equal(probs.length, 6);
    assert.ok(probs[5]! > 0.5, 'second flower is virginica');
  });
});

describe('repository extension', () => {
  test('index lists every model with its state', async () => {
    const r = await post(`${server.url}/v2/repository/index`, {});
    assert.equal(r.status, 200);
    const names = r.json.map((m: { name: string }) => m.name);
    assert.deepEqual(names, ['add-mul', 'all-dtypes', 'credit-risk', 'iris']);
    assert.ok(r.json.every((m: { state: string; version: string }) => m.state === 'READY' && m.version === '1'));
  });

  test('unload makes a model unavailable, load brings it back', async () => {
    assert.equal((await post(`${server.url}/v2/repository/models/add-mul/unload`, {})).status, 200);
    assert.equal((await get(`${server.url}/v2/models/add-mul/ready`)).status, 503);
    const during = await infer('add-mul', { inputs: [{ name: 'a', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }, { name: 'b', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] });
    assert.equal(during.status, 503);
    assert.match(during.json.error, /add-mul.*unavailable/);
    const index = await post(`${server.url}/v2/repository/index`, { ready: true });
    assert.ok(!index.json.some((m: { name: string }) => m.name === 'add-mul'));
    assert.equal((await post(`${server.url}/v2/repository/models/add-mul/load`, {})).status, 200);
    assert.equal((await get(`${server.url}/v2/models/add-mul/ready`)).status, 200);
  });

  test('index needs no body', async () => {
    const r = await fetch(`${server.url}/v2/repository/index`, { method: 'POST' });
    assert.equal(r.status, 200);
    assert.equal(((await r.json()) as unknown[]).length, 4);
  });

  test('a reload that fails answers 422 and the loaded version keeps serving', async () => {
    const file = join(server.dir, 'add-mul.onnx');
    await copyFile(join(FIXTURES, 'broken.onnx'), file);
    try {
      const r = await post(`${server.url}/v2/repository/models/add-mul/load`, {});
      assert.equal(r.status, 422);
      assert.equal(r.json.code, 'LOAD_FAILED');
      assert.match(r.json.error, /add-mul' could not be reloaded \(version 1: .*not an ONNX model.*\); the previously loaded model keeps serving/);
      assert.doesNotMatch(r.json.error, /\/tmp|plinth-test/);
      const still = await infer('add-mul', { inputs: [{ name: 'a', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }, { name: 'b', shape: [1, 3], datatype: 'FP32', data: [1, 1, 1] }] });
      assert.equal(still.status, 200);
      assert.deepEqual(still.json.outputs[0].data, [2, 3, 4]);
    } finally {
      await copyFile(join(FIXTURES, 'add-mul.onnx'), file);
    }
    assert.equal((await post(`${server.url}/v2/repository/models/add-mul/load`, {})).status, 200);
  });

  test('load of a model that is not in the repository is 404', async () => {
    const r = await post(`${server.url}/v2/repository/models/nope/load`, {});
    assert.equal(r.status, 404);
    assert.match(r.json.error, /'nope' does not exist/);
  });
});

function encode(datatype: string, data: unknown[]): Buffer {
  switch (datatype) {
    case 'BYTES':
      return Buffer.concat((data as string[]).flatMap((s) => {
        const b = Buffer.from(s);
        const len = Buffer.alloc(4);
        len.writeUInt32LE(b.length);
        return [len, b];
      }));
    case 'BOOL': return Buffer.from((data as boolean[]).map((b) => (b ? 1 : 0)));
    case 'FP16': return Buffer.from(new Uint16Array(data.map((v) => ({ 1.5: 0x3e00, [-2.25]: 0xc080, 0.5: 0x3800, 65504: 0x7bff }[v as number]!))).buffer);
    default: {
      const Typed = ARRAYS[datatype]!;
      const big = datatype.endsWith('64') && datatype.includes('INT');
      return Buffer.from(new Typed(data.map((v) => (big ? BigInt(v as number) : v)) as never).buffer);
    }
  }
}

function decode(datatype: string, bytes: Buffer): unknown[] {
  const copy = new Uint8Array(bytes).buffer;
  switch (datatype) {
    case 'BYTES': {
      const out: string[] = [];
      for (let o = 0; o < bytes.length;) {
        const n = bytes.readUInt32LE(o);
        out.push(bytes.toString('utf8', o + 4, o + 4 + n));
        o += 4 + n;
      }
      return out;
    }
    case 'BOOL': return [...bytes].map((b) => b !== 0);
    case 'FP16': return [...new Uint16Array(copy)].map((h) => ({ 0x3e00: 1.5, 0xc080: -2.25, 0x3800: 0.5, 0x7bff: 65504 }[h]));
    default: return [...new ARRAYS[datatype]!(copy)].map(Number);
  }
}

const ARRAYS: Record<string, any> = {
  FP32: Float32Array, FP64: Float64Array, INT8: Int8Array, INT16: Int16Array, INT32: Int32Array, INT64: BigInt64Array,
  UINT8: Uint8Array, UINT16: Uint16Array, UINT32: Uint32Array, UINT64: BigUint64Array,
};
