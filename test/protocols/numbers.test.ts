import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXAMPLES, post, readResponse, startServer, type Reply, type TestServer } from '../helpers/server.js';
import { upload } from '../management/registry-http.js';
import { columnsModel, shapeFromInputModel, staticHugeOutputModel } from './number-models.js';

/**
 * Issue 12 item 9: numbers that are not numbers. Non-finite and out-of-range values are refused
 * per datatype on every protocol (400 naming the input or feature, the row or element and what
 * was expected) unless the model's model.yaml sets allow_non_finite; a model whose output would
 * need petabytes answers 422 naming it.
 */
let server: TestServer;
let scratch: string;
const url = (path: string) => `${server.url}${path}`;
const json = { 'content-type': 'application/json' };

function assertRefused(r: Reply, status: number, code: string, ...messages: RegExp[]): void {
  assert.equal(r.status, status, r.text);
  assert.equal(r.json?.code, code, r.text);
  for (const m of messages) assert.match(r.json.error, m);
}

/** A raw JSON text (so 1e999 reaches the server as written). */
const raw = (path: string, text: string, headers: Record<string, string> = json) => post(url(path), text, headers);

/** A V2 binary request of one iris row given as raw FP32 values. */
async function binaryIris(model: string, values: number[]): Promise<Reply> {
  const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: 16 } }] }));
  return readResponse(await fetch(url(`/v2/models/${model}/infer`), {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
    body: new Uint8Array(Buffer.concat([header, Buffer.from(Float32Array.from(values).buffer)])),
  }));
}

/** The columns model's V2 request with one element replaced by raw JSON text. */
function columns(over: Partial<Record<'count' | 'big' | 'x' | 'h', string>>): string {
  const value = { count: '7', big: '9007199254740991', x: '1.5', h: '0.5', ...over };
  const inputs = [['count', 'UINT8'], ['big', 'INT64'], ['x', 'FP32'], ['h', 'FP16']].map(
    ([name, datatype]) => `{"name":"${name}","shape":[1,1],"datatype":"${datatype}","data":[${value[name as keyof typeof value]}]}`,
  );
  return `{"inputs":[${inputs.join(',')}]}`;
}

const IRIS_CSV_HEADER = 'sepal_length,sepal_width,petal_length,petal_width';

describe('numbers that are not numbers', () => {
  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'plinth-numbers-'));
    const model = async (name: string, bytes: Uint8Array) => {
      await mkdir(join(scratch, name, '1'), { recursive: true });
      await writeFile(join(scratch, name, '1', 'model.onnx'), bytes);
      return join(scratch, name);
    };
    await cp(join(EXAMPLES, 'iris'), join(scratch, 'iris-nan'), { recursive: true });
    const yaml = join(scratch, 'iris-nan/1/model.yaml');
    await writeFile(yaml, `${(await readFile(yaml, 'utf8')).replace(/^name: iris$/m, 'name: iris-nan')}allow_non_finite: true\n`);
    server = await startServer({
      iris: join(EXAMPLES, 'iris'),
      'iris-nan': join(scratch, 'iris-nan'),
      columns: await model('columns', columnsModel()),
      grow: await model('grow', shapeFromInputModel()),
      huge: await model('huge', staticHugeOutputModel()),
    });
  });
  after(async () => {
    await server.close();
    await rm(scratch, { recursive: true, force: true });
  });

  describe('V2 JSON tensors', () => {
    for (const [value, shown] of [['1e999', 'Infinity'], ['-1e999', '-Infinity'], ['3.5e38', 'Infinity']]) {
      test(`FP32 ${value} is refused naming the input, the element and FP32's range`, async () => {
        const r = await raw('/v2/models/iris/infer', `{"inputs":[{"name":"input","shape":[1,4],"datatype":"FP32","data":[5.1,${value},1.4,0.2]}]}`);
        assertRefused(r, 400, 'INVALID_INPUT', /input 'input' element 1: expected a finite number within FP32's range ±3\.4028234663852886e\+?38/, new RegExp(`got ${shown} as FP32`), /allow_non_finite/);
      });
    }

    test('3.4e38 (within FP32) is served', async () => {
      const r = await raw('/v2/models/iris/infer', '{"inputs":[{"name":"input","shape":[1,4],"datatype":"FP32","data":[5.1,3.4e38,1.4,0.2]}]}');
      assert.equal(r.status, 200, r.text);
    });

    const integers: [string, string, RegExp][] = [
      ['count', '300', /input 'count' element 0: expected an integer in \[0, 255\] for UINT8, got number 300/],
      ['count', '-1', /input 'count' element 0: expected an integer in \[0, 255\]/],
      ['count', '2.5', /input 'count' element 0: expected an integer in \[0, 255\], got number 2\.5|input 'count' element 0: expected an integer in \[0, 255\] for UINT8, got number 2\.5/],
      ['big', '9223372036854775808', /input 'big' element 0: expected an integer in \[-9007199254740991, 9007199254740991\]/],
      ['h', '70000', /input 'h' element 0: expected a finite number within FP16's range ±65504/],
    ];
    for (const [input, value, message] of integers) {
      test(`${input} = ${value} is refused naming the input, element and range`, async () => {
        assertRefused(await raw('/v2/models/columns/infer', columns({ [input]: value })), 400, 'INVALID_INPUT', message);
      });
    }

    test('values at the edges of each range are served', async () => {
      const r = await raw('/v2/models/columns/infer', columns({ count: '255', big: '0', x: '-3.4e38', h: '65504' }));
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.outputs[0].data[0], Math.fround(-3.4e38));
    });
  });

  describe('V2 binary tensors', () => {
    for (const [value, at] of [[NaN, 2], [Infinity, 0], [-Infinity, 3]] as const) {
      test(`FP32 ${value} in binary data is refused naming element ${at}`, async () => {
        const values = [5.1, 3.5, 1.4, 0.2];
        values[at] = value;
        assertRefused(await binaryIris('iris', values), 400, 'INVALID_INPUT', new RegExp(`input 'input' element ${at}: expected a finite number within FP32's range.*got ${value} as FP32`));
      });
    }

    test('FP16 Infinity bits are refused too', async () => {
      const tensors = [['count', 'UINT8', Buffer.from([1])], ['big', 'INT64', Buffer.from(BigInt64Array.of(1n).buffer)], ['x', 'FP32', Buffer.from(Float32Array.of(1).buffer)], ['h', 'FP16', Buffer.from(Uint16Array.of(0x7c00).buffer)]] as const;
      const header = Buffer.from(JSON.stringify({ inputs: tensors.map(([name, datatype, bytes]) => ({ name, datatype, shape: [1, 1], parameters: { binary_data_size: bytes.length } })) }));
      const r = await readResponse(await fetch(url('/v2/models/columns/infer'), {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
        body: new Uint8Array(Buffer.concat([header, ...tensors.map(([, , bytes]) => bytes)])),
      }));
      assertRefused(r, 400, 'INVALID_INPUT', /input 'h' element 0: expected a finite number within FP16's range ±65504, got Infinity as FP16/);
    });

    test('a model with allow_non_finite: true takes NaN and Infinity in binary data', async () => {
      const r = await binaryIris('iris-nan', [NaN, 3.5, Infinity, 0.2]);
      assert.equal(r.status, 200, r.text);
    });
  });

  describe('records, MLflow, Watson ML', () => {
    test('records: 1e999 and 3.5e38 are refused naming the record, the feature and the range', async () => {
      for (const value of ['1e999', '3.5e38']) {
        const r = await raw('/models/iris/predict', `[{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2},{"sepal_length":5.1,"sepal_width":${value},"petal_length":1.4,"petal_width":0.2}]`);
        assertRefused(r, 400, 'INVALID_INPUT', /record 1: feature 'sepal_width' \(input 'input', FP32\) expected a finite number within FP32's range/);
      }
    });

    test('records: an integer feature out of its datatype range is refused naming the feature and the range', async () => {
      const r = await post(url('/models/columns/predict'), [{ count: 3, big: 1, x: 1, h: 1 }, { count: 300, big: 1, x: 1, h: 1 }]);
      assertRefused(r, 400, 'INVALID_INPUT', /record 1: feature 'count' \(input 'count', UINT8\) expected an integer in \[0, 255\], got number 300/);
      const ok = await post(url('/models/columns/predict'), [{ count: 255, big: -5, x: 1, h: 65504 }]);
      assert.equal(ok.status, 200, ok.text);
    });

    test('MLflow dataframe_split, instances and tensor inputs refuse 3.5e38 and 1e999', async () => {
      const split = await raw('/models/iris/invocations', `{"dataframe_split":{"columns":["sepal_length","sepal_width","petal_length","petal_width"],"data":[[5.1,3.5,1.4,3.5e38]]}}`);
      assertRefused(split, 400, 'INVALID_INPUT', /record 0: feature 'petal_width' .*FP32's range/);
      const instances = await raw('/models/iris/invocations', `{"instances":[{"sepal_length":-1e999,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}]}`);
      assertRefused(instances, 400, 'INVALID_INPUT', /record 0: feature 'sepal_length' .*FP32's range/);
      const tensor = await raw('/models/iris/invocations', `{"inputs":[[5.1,3.5,1.4,0.2],[5.1,3.5,1e999,0.2]]}`);
      assertRefused(tensor, 400, 'INVALID_INPUT', /input 'input' element 6: expected a finite number within FP32's range/);
    });

    test('MLflow text/csv refuses NaN, inf and 1e999 cells naming the row and feature; allow_non_finite takes them', async () => {
      for (const cell of ['NaN', 'inf', '1e999', '-Infinity']) {
        const csv = `${IRIS_CSV_HEADER}\n5.1,3.5,1.4,0.2\n5.1,${cell},1.4,0.2\n`;
        const r = await raw('/models/iris/invocations', csv, { 'content-type': 'text/csv' });
        assertRefused(r, 400, 'INVALID_INPUT', /record 1: feature 'sepal_width'/);
        const taken = await raw('/models/iris-nan/invocations', csv, { 'content-type': 'text/csv' });
        assert.equal(taken.status, 200, `${cell}: ${taken.text}`);
      }
    });

    test('Watson ML refuses 3.5e38 naming input_data[0].values[1]', async () => {
      const r = await raw('/ml/v4/deployments/iris/predictions', `{"input_data":[{"fields":["sepal_length","sepal_width","petal_length","petal_width"],"values":[[5.1,3.5,1.4,0.2],[5.1,3.5,1.4,3.5e38]]}]}`);
      assertRefused(r, 400, 'INVALID_INPUT', /input_data\[0\]\.values\[1\]: feature 'petal_width' .*FP32's range/);
    });

    test('a model with allow_non_finite: true takes 1e999 in records and V2 JSON', async () => {
      const records = await raw('/models/iris-nan/predict', '{"sepal_length":1e999,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}');
      assert.equal(records.status, 200, records.text);
      const v2 = await raw('/v2/models/iris-nan/infer', '{"inputs":[{"name":"input","shape":[1,4],"datatype":"FP32","data":[5.1,-1e999,1.4,0.2]}]}');
      assert.equal(v2.status, 200, v2.text);
    });
  });

  describe('outputs that would need petabytes', () => {
    const grow = (dims: string) => raw('/v2/models/grow/infer', `{"inputs":[{"name":"shape","shape":[3],"datatype":"INT64","data":[${dims}]}]}`);

    test('an output computed from the input as 4 PB answers 422 OUTPUT_TOO_LARGE naming the output, and the server still serves', async () => {
      assertRefused(await grow('1000000,1000000,1000'), 422, 'OUTPUT_TOO_LARGE', /output 'big'/, /4000000000000000 bytes/, /ConstantOfShape node/);
      assert.equal((await grow('2,3,1')).status, 200);
    });

    test('a size that overflows 64 bits answers 422, a negative dimension 400, both naming the output', async () => {
      assertRefused(await grow('4503599627370496,4503599627370496,1'), 422, 'OUTPUT_TOO_LARGE', /output 'big'/, /overflows 64 bits/);
      assertRefused(await grow('-1,2,2'), 400, 'INVALID_INPUT', /output 'big'/, /negative dimension/);
    });

    test('a graph declaring a static 4 PB output does not load from the folder: UNAVAILABLE naming the output', async () => {
      const index = await post(url('/v2/repository/index'), {});
      const huge = index.json.find((m: { name: string }) => m.name === 'huge');
      assert.equal(huge?.state, 'UNAVAILABLE', index.text);
      assert.match(huge.reason, /output 'big' is declared \[1000000, 1000000, 1000\] FP32: 4000000000000000 bytes/);
    });

    test('and an upload of it is refused with 422 naming the output', async () => {
      const r = await upload(server, 'huge-upload', 'model.onnx', Buffer.from(staticHugeOutputModel()));
      assertRefused(r, 422, 'LOAD_FAILED', /output 'big' is declared \[1000000, 1000000, 1000\] FP32/);
    });
  });
});
