import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromHalfBits, toHalfBits } from '../../src/core/float16.js';
import { PlinthError } from '../../src/core/errors.js';
import { flattenData, nestElements, tensorFromElements, tensorToElements } from '../../src/core/tensor.js';
import { decodeBinaryTensor, encodeBinaryTensor } from '../../src/core/tensor-binary.codec.js';

test('float16: exact values, rounding to nearest even, overflow, subnormals, NaN', () => {
  for (const v of [0, 1, -1, 0.5, 1.5, -2.25, 65504, 2 ** -14, 2 ** -24]) assert.equal(fromHalfBits(toHalfBits(v)), v, String(v));
  assert.equal(toHalfBits(1 + 2 ** -11), 0x3c00); // halfway: rounds to even (1.0)
  assert.equal(toHalfBits(1 + 3 * 2 ** -11), 0x3c02); // halfway: rounds up to even
  assert.equal(fromHalfBits(toHalfBits(1e6)), Infinity);
  assert.equal(fromHalfBits(toHalfBits(-1e6)), -Infinity);
  assert.ok(Number.isNaN(fromHalfBits(toHalfBits(NaN))));
  assert.equal(toHalfBits(2 ** -30), 0); // underflow to zero
});

test('flattenData accepts flat or exactly nested data and refuses ragged rows', () => {
  assert.deepEqual(flattenData('x', [1, 2, 3, 4], [2, 2]), [1, 2, 3, 4]);
  assert.deepEqual(flattenData('x', [[1, 2], [3, 4]], [2, 2]), [1, 2, 3, 4]);
  assert.throws(() => flattenData('x', [[1, 2, 3], [4]], [2, 2]), (e: PlinthError) => e.code === 'INVALID_INPUT' && /data\[0\]: expected an array of 2/.test(e.message));
  assert.throws(() => flattenData('x', [[1, [2]], [3, 4]], [2, 2]), /nested deeper than shape/);
  assert.throws(() => flattenData('x', 5, [1]), /data must be an array/);
});

test('nestElements inverts flattening for any rank', () => {
  assert.deepEqual(nestElements([1, 2, 3, 4, 5, 6], [2, 3]), [[1, 2, 3], [4, 5, 6]]);
  assert.deepEqual(nestElements([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2]), [[[1, 2], [3, 4]], [[5, 6], [7, 8]]]);
  assert.deepEqual(nestElements([1, 2], [2]), [1, 2]);
});

test('tensorFromElements names the element and the expectation', () => {
  assert.throws(() => tensorFromElements('x', 'INT8', [2], [1, 300]), /input 'x' element 1: expected an integer in \[-128, 127\] for INT8, got number 300/);
  assert.throws(() => tensorFromElements('x', 'FP32', [1], ['NaN']), /expected a number for FP32, got string "NaN"/);
  assert.throws(() => tensorFromElements('x', 'INT64', [1], [2 ** 60]), /expected an integer in \[-9007199254740991, 9007199254740991\]/);
  assert.throws(() => tensorFromElements('x', 'UINT64', [1], [-1]), /expected an integer in \[0, 9007199254740991\]/);
  assert.throws(() => tensorFromElements('x', 'BOOL', [1], [1]), /true or false/);
  assert.throws(() => tensorFromElements('x', 'BYTES', [1], [1]), /a string/);
  const t = tensorFromElements('x', 'INT64', [2], [5, -5]);
  assert.deepEqual(tensorToElements(t), [5, -5]);
});

test('binary codec round-trips fixed-size and BYTES tensors, and checks sizes', () => {
  const f = tensorFromElements('f', 'FP64', [3], [1.25, -2, 1e-300]);
  assert.deepEqual(tensorToElements(decodeBinaryTensor('f', 'FP64', [3], encodeBinaryTensor(f))), [1.25, -2, 1e-300]);
  const s = tensorFromElements('s', 'BYTES', [2], ['héllo', '']);
  assert.deepEqual(tensorToElements(decodeBinaryTensor('s', 'BYTES', [2], encodeBinaryTensor(s))), ['héllo', '']);
  // An unaligned slice of a larger buffer still decodes.
  const padded = Buffer.concat([Buffer.from([9]), encodeBinaryTensor(f)]).subarray(1);
  assert.deepEqual(tensorToElements(decodeBinaryTensor('f', 'FP64', [3], padded)), [1.25, -2, 1e-300]);
  assert.throws(() => decodeBinaryTensor('f', 'FP32', [3], Buffer.alloc(8)), /needs 12 bytes, binary_data_size gives 8/);
  assert.throws(() => decodeBinaryTensor('s', 'BYTES', [1], Buffer.from([5, 0, 0, 0, 65])), /runs past/);
});
