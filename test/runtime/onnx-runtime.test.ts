import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tensorFromElements, tensorToElements } from '../../src/core/tensor.js';
import { OnnxRuntime } from '../../src/runtime/onnx/onnx.runtime.js';
import { EXAMPLES, FIXTURES, SHARED } from '../helpers/server.js';

test('signature and class labels come from the graph', async () => {
  const rt = await OnnxRuntime.load(await readFile(join(SHARED, 'rf_breast_cancer.onnx')), { intraOpThreads: 1 });
  try {
    assert.deepEqual(rt.signature.inputs, [{ name: 'input', datatype: 'FP32', shape: [-1, 30] }]);
    assert.deepEqual(rt.signature.outputs.map((o) => [o.name, o.datatype]), [['label', 'INT64'], ['probabilities', 'FP32']]);
    assert.deepEqual(rt.graphLabels, [0, 1]);
  } finally {
    await rt.dispose();
  }
});

test('dispose waits for a run in progress instead of freeing its session', async () => {
  const rt = await OnnxRuntime.load(await readFile(join(EXAMPLES, 'breast-cancer/1/model.onnx')), { intraOpThreads: 1 });
  const rows = 20_000;
  const input = tensorFromElements('input', 'FP32', [rows, 30], Array.from({ length: rows * 30 }, (_, i) => (i % 97) / 10));
  const running = rt.run([input], ['label']);
  const disposed = rt.dispose(); // called while the run is in flight
  const out = await running;
  await disposed;
  assert.equal(tensorToElements(out.get('label')!).length, rows);
});

test('a file that is not ONNX is refused with ORT\'s reason', async () => {
  await assert.rejects(OnnxRuntime.load(await readFile(join(FIXTURES, 'broken.onnx')), { intraOpThreads: 1 }), /protobuf parsing failed/i);
});
