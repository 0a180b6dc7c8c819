import { fromHalfBits, toHalfBits } from './float16.js';

/**
 * Tensor datatypes: the Open Inference Protocol names (FP32, BYTES, ...) are Plinth's
 * canonical names; ONNX Runtime's names are mapped here and nowhere else.
 */
export const DATATYPES = [
  'BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64',
  'FP16', 'FP32', 'FP64', 'BYTES',
] as const;
export type Datatype = (typeof DATATYPES)[number];

export type OrtTensorType =
  | 'bool' | 'uint8' | 'uint16' | 'uint32' | 'uint64' | 'int8' | 'int16' | 'int32' | 'int64'
  | 'float16' | 'float32' | 'float64' | 'string';

/** Element storage. BOOL is one byte per element and FP16 raw IEEE half bits, as ORT stores them. */
export type TensorData =
  | Uint8Array | Uint16Array | Uint32Array | BigUint64Array
  | Int8Array | Int16Array | Int32Array | BigInt64Array
  | Float32Array | Float64Array | string[];

interface DatatypeInfo {
  ort: OrtTensorType;
  /** bytes per element in the binary wire format; 0 for BYTES (length-prefixed) */
  size: number;
  kind: 'bool' | 'int' | 'bigint' | 'float' | 'half' | 'bytes';
  min?: number;
  max?: number;
  create: (length: number) => TensorData;
}

const INFO: Record<Datatype, DatatypeInfo> = {
  BOOL: { ort: 'bool', size: 1, kind: 'bool', create: (n) => new Uint8Array(n) },
  UINT8: { ort: 'uint8', size: 1, kind: 'int', min: 0, max: 0xff, create: (n) => new Uint8Array(n) },
  UINT16: { ort: 'uint16', size: 2, kind: 'int', min: 0, max: 0xffff, create: (n) => new Uint16Array(n) },
  UINT32: { ort: 'uint32', size: 4, kind: 'int', min: 0, max: 0xffffffff, create: (n) => new Uint32Array(n) },
  UINT64: { ort: 'uint64', size: 8, kind: 'bigint', min: 0, max: Number.MAX_SAFE_INTEGER, create: (n) => new BigUint64Array(n) },
  INT8: { ort: 'int8', size: 1, kind: 'int', min: -0x80, max: 0x7f, create: (n) => new Int8Array(n) },
  INT16: { ort: 'int16', size: 2, kind: 'int', min: -0x8000, max: 0x7fff, create: (n) => new Int16Array(n) },
  INT32: { ort: 'int32', size: 4, kind: 'int', min: -0x80000000, max: 0x7fffffff, create: (n) => new Int32Array(n) },
  INT64: { ort: 'int64', size: 8, kind: 'bigint', min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER, create: (n) => new BigInt64Array(n) },
  FP16: { ort: 'float16', size: 2, kind: 'half', create: (n) => new Uint16Array(n) },
  FP32: { ort: 'float32', size: 4, kind: 'float', create: (n) => new Float32Array(n) },
  FP64: { ort: 'float64', size: 8, kind: 'float', create: (n) => new Float64Array(n) },
  BYTES: { ort: 'string', size: 0, kind: 'bytes', create: (n) => new Array<string>(n).fill('') },
};

const FROM_ORT = new Map<string, Datatype>(
  (Object.entries(INFO) as [Datatype, DatatypeInfo][]).map(([dt, info]) => [info.ort, dt]),
);

export function datatypeInfo(datatype: Datatype): DatatypeInfo {
  return INFO[datatype];
}

export function isDatatype(value: unknown): value is Datatype {
  return typeof value === 'string' && value in INFO;
}

/** The Plinth datatype for an ORT type name, or undefined for types Plinth cannot carry. */
export function fromOrtType(type: string): Datatype | undefined {
  return FROM_ORT.get(type);
}

export function toOrtType(datatype: Datatype): OrtTensorType {
  return INFO[datatype].ort;
}

/** Largest finite FP32 and FP16 values: numbers beyond them become ±Infinity in the tensor. */
const FLOAT_MAX: Partial<Record<Datatype, number>> = { FP32: 3.4028234663852886e38, FP16: 65504 };

/** A number as the datatype stores it (FP32 and FP16 rounded). */
function asStored(value: number, datatype: Datatype): number {
  if (datatype === 'FP32') return Math.fround(value);
  if (datatype === 'FP16') return fromHalfBits(toHalfBits(value));
  return value;
}

/** What a number for this datatype must be, as error messages say it. */
export function expectedNumber(datatype: Datatype): string {
  const { kind, min, max } = INFO[datatype];
  if (kind === 'int') return `an integer in [${min}, ${max}]`;
  if (kind === 'bigint') return `an integer in [${min}, ${max}] (JSON numbers are exact only within ±(2^53 - 1); send larger ones as binary tensor data)`;
  const limit = FLOAT_MAX[datatype];
  return limit === undefined ? 'a finite number' : `a finite number within ${datatype}'s range ±${limit}`;
}

/**
 * Whether a number fits the datatype: integers in range for integer types; for float types a value
 * that is finite once stored (so 1e999 and, for FP32, 3.5e38 do not fit), unless the model takes
 * non-finite values (its model.yaml's allow_non_finite). BOOL and BYTES take no numbers here.
 */
export function numberFits(value: number, datatype: Datatype, allowNonFinite = false): boolean {
  const { kind, min, max } = INFO[datatype];
  if (kind === 'int') return Number.isInteger(value) && value >= min! && value <= max!;
  if (kind === 'bigint') return Number.isSafeInteger(value) && value >= min!;
  if (kind === 'float' || kind === 'half') return allowNonFinite || Number.isFinite(asStored(value, datatype));
  return false;
}
