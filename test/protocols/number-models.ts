/**
 * Small ONNX graphs for the number-range tests, written with the project's own ONNX writer
 * (no Python): a model with one column input per numeric datatype, and ConstantOfShape models
 * whose output is as large as their input, or a constant, asks.
 */
import { ELEM, writeOnnxModel, type OnnxModelSpec } from '../../src/runtime/onnx/onnx-model.writer.js';

/** TensorProto.DataType codes the writer does not name. */
const UINT8 = 2;
const FLOAT16 = 10;

const base: Pick<OnnxModelSpec, 'irVersion' | 'producer' | 'opsets'> = { irVersion: 8, producer: 'plinth-number-tests', opsets: { '': 15 } };

/** Inputs `count` UINT8, `big` INT64, `x` FP32 and `h` FP16, each [N, 1]; output `y` FP32 [N, 1], their sum as floats. */
export function columnsModel(): Uint8Array {
  const columns = [['count', UINT8], ['big', ELEM.INT64], ['x', ELEM.FLOAT], ['h', FLOAT16]] as const;
  return writeOnnxModel({
    ...base,
    nodes: [
      ...columns.map(([name]) => ({ op: 'Cast', inputs: [name], outputs: [`${name}_f`], attrs: { to: { int: ELEM.FLOAT } } })),
      { op: 'Concat', inputs: columns.map(([name]) => `${name}_f`), outputs: ['all'], attrs: { axis: { int: 1 } } },
      { op: 'Constant', inputs: [], outputs: ['axes'], attrs: { value_ints: { ints: [1] } } },
      { op: 'ReduceSum', inputs: ['all', 'axes'], outputs: ['y'], attrs: { keepdims: { int: 1 } } },
    ],
    inputs: columns.map(([name, elem]) => ({ name, elem, shape: ['N', 1] })),
    outputs: [{ name: 'y', shape: ['N', 1] }],
  });
}

/** ConstantOfShape of its INT64 [3] input `shape`: output `big` FP32 of that shape (zeros). */
export function shapeFromInputModel(): Uint8Array {
  return writeOnnxModel({
    ...base,
    nodes: [{ op: 'ConstantOfShape', inputs: ['shape'], outputs: ['big'] }],
    inputs: [{ name: 'shape', elem: ELEM.INT64, shape: [3] }],
    outputs: [{ name: 'big', shape: ['a', 'b', 'c'] }],
  });
}

/** An output declared [1000000, 1000000, 1000] FP32 (4 PB): a constant shape, plus the input `x`. */
export function staticHugeOutputModel(): Uint8Array {
  return writeOnnxModel({
    ...base,
    nodes: [
      { op: 'Constant', inputs: [], outputs: ['dims'], attrs: { value_ints: { ints: [1_000_000, 1_000_000, 1000] } } },
      { op: 'ConstantOfShape', inputs: ['dims'], outputs: ['zeros'] },
      { op: 'Add', inputs: ['zeros', 'x'], outputs: ['big'] },
    ],
    inputs: [{ name: 'x', shape: [1] }],
    outputs: [{ name: 'big', shape: [1_000_000, 1_000_000, 1000] }],
  });
}
