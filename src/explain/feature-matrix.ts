/**
 * Rows as the explainers work on them: one Float32Array, row-major, one column per feature of
 * the model's schema. Records keyed by feature name go through the records mapper (so manifest
 * defaults and type checks are the prediction path's own); string (categorical or text) features
 * become codes into a dictionary kept per model, which `toTensors` turns back into strings, so
 * kernel SHAP can mix background and record values of any feature type.
 */
import { invalidInput } from '../core/errors.js';
import type { ModelSchema } from '../core/model-schema.js';
import { recordsToTensors, type RecordOptions } from '../core/records.mapper.js';
import type { Tensor, TensorSpec } from '../core/tensor.js';
import type { ModelRuntime } from '../runtime/model-runtime.js';
import type { BatchPredict } from './kernel-shap.js';
import type { Matrix } from './tree-ensemble.types.js';

/** The feature columns and how each maps to a model input. */
export class FeatureCodec {
  readonly names: string[];
  /** Per feature: the input tensor it feeds (per-input binding) or the packed input. */
  private readonly specs: TensorSpec[];
  private readonly packed: boolean;
  /** Per string feature: value -> code and code -> value. */
  private readonly codes = new Map<number, Map<string, number>>();
  private readonly values = new Map<number, string[]>();

  constructor(private readonly schema: ModelSchema) {
    if (!schema.features || !schema.binding) {
      throw invalidInput('this model has no feature list, so it cannot be explained: add features to its model.yaml');
    }
    this.names = schema.features.map((f) => f.name);
    this.packed = schema.binding.mode === 'packed';
    this.specs = schema.binding.mode === 'packed' ? this.names.map(() => (schema.binding as { input: TensorSpec }).input) : schema.binding.inputs;
    this.specs.forEach((s, j) => {
      if (s.datatype === 'BYTES') {
        this.codes.set(j, new Map());
        this.values.set(j, []);
      } else if (s.datatype === 'FP16' || s.datatype === 'UINT64') {
        throw invalidInput(`feature '${this.names[j]}' is ${s.datatype}, which the explainers do not support`);
      }
    });
  }

  /** Every feature is a number (no codes). */
  get numeric(): boolean {
    return this.codes.size === 0;
  }

  get width(): number {
    return this.names.length;
  }

  /** Records keyed by feature name -> matrix; throws INVALID_INPUT naming the bad record. */
  encode(records: unknown[], options: RecordOptions = {}): Matrix {
    const tensors = recordsToTensors(this.schema, records, options);
    const n = records.length;
    const M = this.width;
    const data = new Float32Array(n * M);
    if (this.packed) {
      const t = tensors[0]!;
      if (this.codes.size) {
        const cells = t.data as string[];
        for (let i = 0; i < n * M; i++) data[i] = this.code(i % M, cells[i]!);
      } else {
        for (let i = 0; i < n * M; i++) data[i] = Number((t.data as ArrayLike<number | bigint>)[i]!);
      }
      return { data, rows: n, cols: M };
    }
    tensors.forEach((t, j) => {
      for (let i = 0; i < n; i++) {
        const v = (t.data as ArrayLike<unknown>)[i];
        data[i * M + j] = this.codes.has(j) ? this.code(j, v as string) : Number(v as number | bigint);
      }
    });
    return { data, rows: n, cols: M };
  }

  private code(j: number, value: string): number {
    const dict = this.codes.get(j)!;
    let c = dict.get(value);
    if (c === undefined) {
      c = dict.size;
      dict.set(value, c);
      this.values.get(j)!.push(value);
    }
    return c;
  }

  /** The feature value a matrix cell stands for (the string for a coded feature). */
  decode(j: number, cell: number): number | string {
    const values = this.values.get(j);
    return values ? values[cell]! : cell;
  }

  /** Model input tensors for n rows of the matrix. */
  toTensors(rows: Float32Array, n: number): Tensor[] {
    const M = this.width;
    if (this.packed) {
      const spec = this.specs[0]!;
      const shape = spec.shape.length === 1 ? [n] : [n, M];
      if (spec.datatype === 'FP32') return [{ name: spec.name, datatype: 'FP32', shape, data: rows.subarray(0, n * M) }];
      return [{ name: spec.name, datatype: spec.datatype, shape, data: this.column(spec, rows, n, M, -1) }];
    }
    return this.specs.map((spec, j) => ({
      name: spec.name,
      datatype: spec.datatype,
      shape: spec.shape.length === 1 ? [n] : [n, 1],
      data: this.column(spec, rows, n, M, j),
    }));
  }

  /** Column j (or, with j = -1, the whole matrix) in the spec's datatype. */
  private column(spec: TensorSpec, rows: Float32Array, n: number, M: number, j: number): Tensor['data'] {
    const count = j < 0 ? n * M : n;
    const at = (i: number) => (j < 0 ? i : i * M + j);
    const feature = (i: number) => (j < 0 ? i % M : j);
    switch (spec.datatype) {
      case 'BYTES': return Array.from({ length: count }, (_, i) => this.values.get(feature(i))![rows[at(i)]!]!);
      case 'FP64': return Float64Array.from({ length: count }, (_, i) => rows[at(i)]!);
      case 'FP32': return Float32Array.from({ length: count }, (_, i) => rows[at(i)]!);
      case 'INT64': return BigInt64Array.from({ length: count }, (_, i) => BigInt(Math.round(rows[at(i)]!)));
      case 'INT32': return Int32Array.from({ length: count }, (_, i) => rows[at(i)]!);
      case 'INT16': return Int16Array.from({ length: count }, (_, i) => rows[at(i)]!);
      case 'INT8': return Int8Array.from({ length: count }, (_, i) => rows[at(i)]!);
      case 'UINT32': return Uint32Array.from({ length: count }, (_, i) => rows[at(i)]!);
      case 'UINT16': return Uint16Array.from({ length: count }, (_, i) => rows[at(i)]!);
      case 'UINT8': case 'BOOL': return Uint8Array.from({ length: count }, (_, i) => rows[at(i)]!);
      default: throw invalidInput(`input '${spec.name}' is ${spec.datatype}, which the explainers do not support`);
    }
  }
}

/** Which output the explainers explain, and its column names. */
export function explainedColumns(schema: ModelSchema, width: number): { output: string; names: string[] } {
  const output = schema.probabilitiesOutput ?? schema.valueOutput;
  if (!output) throw invalidInput('this model has no probabilities or value output to explain');
  if (schema.probabilitiesOutput && schema.classes && schema.classes.length === width) return { output, names: schema.classes };
  if (width === 1) return { output, names: [output] };
  return { output, names: Array.from({ length: width }, (_, c) => `${output}[${c}]`) };
}

/**
 * A loaded runtime, or a function returning the current one (a LazyModel's session can be evicted
 * and reloaded between calls: pass `async () => (await lazy.acquire()).runtime`).
 */
export type RuntimeSource = ModelRuntime | (() => ModelRuntime | Promise<ModelRuntime>);

/**
 * A BatchPredict over a loaded model: the rows become its input tensors, and the probabilities
 * (one array per class; a single probability column p becomes [1 - p, p], as the prediction
 * decoder reads it) or the value output (one array per target) come back.
 */
export function runtimePredictor(runtime: RuntimeSource, schema: ModelSchema, codec: FeatureCodec): BatchPredict {
  const output = schema.probabilitiesOutput ?? schema.valueOutput;
  if (!output) throw invalidInput('this model has no probabilities or value output to explain');
  return async (rows, n) => {
    const session = typeof runtime === 'function' ? await runtime() : runtime;
    const result = await session.run(codec.toTensors(rows, n), [output]);
    const data = result.get(output)!.data;
    if (!(data instanceof Float32Array || data instanceof Float64Array)) throw invalidInput(`output '${output}' is not a float tensor, so it cannot be explained`);
    const columns = n === 0 ? 0 : data.length / n;
    return { rowMajor: data, columns, complement: schema.probabilitiesOutput !== undefined && columns === 1 };
  };
}
