import { datatypeInfo, expectedNumber, numberFits, type Datatype, type TensorData } from './datatypes.js';
import { fromHalfBits, toHalfBits } from './float16.js';
import { describeValue, invalidInput } from './errors.js';

/** A named tensor's declared type; -1 in shape marks a dynamic dimension. */
export interface TensorSpec {
  name: string;
  datatype: Datatype;
  shape: number[];
}

export interface Tensor {
  name: string;
  datatype: Datatype;
  shape: number[];
  data: TensorData;
}

export type JsonElement = number | boolean | string;

export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Builds a tensor from flat JSON elements, checking every element against the datatype (integers
 * in range here; whether floats must be finite depends on the model, so checkFinite does that).
 */
export function tensorFromElements(name: string, datatype: Datatype, shape: number[], values: readonly unknown[]): Tensor {
  const info = datatypeInfo(datatype);
  const data = info.create(values.length);
  const fail = (i: number, expected: string): never => {
    throw invalidInput(`input '${name}' element ${i}: expected ${expected} for ${datatype}, got ${describeValue(values[i])}`);
  };
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    switch (info.kind) {
      case 'float':
        if (typeof v !== 'number') fail(i, 'a number');
        (data as Float32Array)[i] = v as number;
        break;
      case 'half':
        if (typeof v !== 'number') fail(i, 'a number');
        (data as Uint16Array)[i] = toHalfBits(v as number);
        break;
      case 'int':
        if (typeof v !== 'number' || !numberFits(v, datatype)) fail(i, expectedNumber(datatype));
        (data as Int32Array)[i] = v as number;
        break;
      case 'bigint':
        if (typeof v !== 'number' || !numberFits(v, datatype)) fail(i, expectedNumber(datatype));
        (data as BigInt64Array)[i] = BigInt(v as number);
        break;
      case 'bool':
        if (typeof v !== 'boolean') fail(i, 'true or false');
        (data as Uint8Array)[i] = v ? 1 : 0;
        break;
      case 'bytes':
        if (typeof v !== 'string') fail(i, 'a string');
        (data as string[])[i] = v as string;
        break;
    }
  }
  return { name, datatype, shape, data };
}

/**
 * Flat JSON elements of a tensor: int64 as numbers, FP16 decoded, BOOL as booleans. Indexed
 * loops, not Array.from: this runs on every response and Array.from on typed arrays is far slower.
 */
export function tensorToElements(tensor: Tensor): JsonElement[] {
  const kind = datatypeInfo(tensor.datatype).kind;
  const data = tensor.data;
  const n = data.length;
  const out = new Array<JsonElement>(n);
  if (kind === 'bytes') {
    for (let i = 0; i < n; i++) out[i] = (data as string[])[i]!;
  } else if (kind === 'bigint') {
    for (let i = 0; i < n; i++) out[i] = Number((data as BigInt64Array)[i]!);
  } else if (kind === 'half') {
    for (let i = 0; i < n; i++) out[i] = fromHalfBits((data as Uint16Array)[i]!);
  } else if (kind === 'bool') {
    for (let i = 0; i < n; i++) out[i] = (data as Uint8Array)[i] !== 0;
  } else {
    for (let i = 0; i < n; i++) out[i] = (data as Float32Array)[i]!;
  }
  return out;
}

/**
 * Flattens row-major nested JSON data, checking that its nesting matches the shape exactly
 * (so ragged rows are refused rather than silently re-flowed). Flat data is taken as is.
 */
export function flattenData(name: string, data: unknown, shape: readonly number[]): unknown[] {
  if (!Array.isArray(data)) throw invalidInput(`input '${name}': data must be an array`);
  if (!data.some(Array.isArray)) return data;
  const out: unknown[] = [];
  // The index path is kept as numbers and turned into text only for an error message.
  const at: number[] = [];
  const where = () => at.map((i) => `[${i}]`).join('');
  const walk = (node: unknown, dim: number): void => {
    if (dim === shape.length) {
      if (Array.isArray(node)) throw invalidInput(`input '${name}' data${where()}: nested deeper than shape [${shape.join(', ')}]`);
      out.push(node);
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[dim]) {
      throw invalidInput(
        `input '${name}' data${where()}: expected an array of ${shape[dim]} elements for shape [${shape.join(', ')}], ` +
          `got ${Array.isArray(node) ? `${node.length} elements` : describeValue(node)}`,
      );
    }
    for (let i = 0; i < node.length; i++) {
      at.push(i);
      walk(node[i], dim + 1);
      at.pop();
    }
  };
  walk(data, 0);
  return out;
}

/** Row-major nesting of flat elements, as KServe V2 and MLflow clients expect outputs. */
export function nestElements(values: readonly JsonElement[], shape: readonly number[]): unknown {
  if (shape.length <= 1) return values;
  const build = (offset: number, dim: number): unknown => {
    if (dim === shape.length - 1) return values.slice(offset, offset + shape[dim]!);
    const stride = elementCount(shape.slice(dim + 1));
    return Array.from({ length: shape[dim]! }, (_, i) => build(offset + i * stride, dim + 1));
  };
  return build(0, 0);
}

/** A tensor from JSON data, flat or nested by shape, checked element by element against the shape and datatype. */
export function tensorFromJson(name: string, datatype: Datatype, shape: number[], data: unknown): Tensor {
  const flat = flattenData(name, data, shape);
  checkElementCount(name, shape, flat.length);
  return tensorFromElements(name, datatype, shape, flat);
}

/**
 * Refuses NaN and ±Infinity in a float tensor, however they came (binary data, or a JSON number
 * too large for the datatype), unless the model declares it takes them (allow_non_finite).
 */
export function checkFinite(tensor: Tensor, allowNonFinite = false): void {
  const kind = datatypeInfo(tensor.datatype).kind;
  if (allowNonFinite || (kind !== 'float' && kind !== 'half')) return;
  const data = tensor.data as Float32Array | Float64Array | Uint16Array;
  for (let i = 0; i < data.length; i++) {
    // FP16 holds raw half bits: all-ones exponent is ±Infinity or NaN.
    const bad = kind === 'half' ? (data[i]! & 0x7c00) === 0x7c00 : !Number.isFinite(data[i]!);
    if (bad) {
      const value = kind === 'half' ? fromHalfBits(data[i]!) : data[i]!;
      throw invalidInput(
        `input '${tensor.name}' element ${i}: expected ${expectedNumber(tensor.datatype)}, got ${value} as ${tensor.datatype}; ` +
          'a model that takes NaN and ±Infinity sets allow_non_finite: true in its model.yaml',
      );
    }
  }
}

/** Checks a request tensor against the model's declared input; dynamic dims (-1) match any size. */
export function checkShape(tensor: Tensor, spec: TensorSpec): void {
  if (tensor.datatype !== spec.datatype) {
    throw invalidInput(`input '${tensor.name}': expected datatype ${spec.datatype}, got ${tensor.datatype}`);
  }
  let ok = tensor.shape.length === spec.shape.length;
  for (let i = 0; ok && i < spec.shape.length; i++) ok = spec.shape[i]! < 0 || spec.shape[i] === tensor.shape[i];
  if (!ok) {
    throw invalidInput(`input '${tensor.name}': expected shape [${spec.shape.join(', ')}] (-1 = any size), got [${tensor.shape.join(', ')}]`);
  }
}

export function checkElementCount(name: string, shape: readonly number[], count: number): void {
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw invalidInput(`input '${name}': shape must be non-negative integers, got [${shape.join(', ')}]`);
  }
  const expected = elementCount(shape);
  if (expected !== count) {
    throw invalidInput(`input '${name}': shape [${shape.join(', ')}] needs ${expected} elements, got ${count}`);
  }
}
