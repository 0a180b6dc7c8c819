import { expectedNumber, numberFits } from './datatypes.js';
import { describeValue, invalidInput, printable } from './errors.js';
import type { Feature } from './manifest.js';
import type { FeatureBinding, ModelSchema } from './model-schema.js';
import { tensorFromElements, type Tensor, type TensorSpec } from './tensor.js';

export type DataRecord = Record<string, unknown>;

export interface RecordOptions {
  /** Cells are text (CSV): numeric features parse their strings, categorical ones keep them verbatim. */
  textual?: boolean;
  /** How errors name a row, e.g. `input_data[0].values[3]`; `record N` by default. */
  rowLabel?: (row: number) => string;
}

const defaultLabel = (row: number) => `record ${row}`;

interface Ctx {
  textual: boolean;
  label: (row: number) => string;
  allowNonFinite: boolean;
}

function featureValue(record: DataRecord, feature: Feature, row: number, ctx: Ctx): unknown {
  const v = Object.hasOwn(record, feature.name) ? record[feature.name] : undefined;
  if (v !== undefined && v !== null) return v;
  if (feature.default !== undefined) return feature.default;
  throw invalidInput(`${ctx.label(row)}: missing feature '${feature.name}' (it has no default in the model's manifest)`);
}

/** CSV cells spelling NaN or ±Infinity (as Python and pandas write them), for models that take them. */
const NON_FINITE_CELLS = new Map([['nan', NaN], ['inf', Infinity], ['+inf', Infinity], ['-inf', -Infinity], ['infinity', Infinity], ['+infinity', Infinity], ['-infinity', -Infinity]]);

function parseCell(text: string, allowNonFinite: boolean): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  const n = Number(trimmed);
  if (!Number.isNaN(n)) return n;
  return allowNonFinite ? NON_FINITE_CELLS.get(trimmed.toLowerCase()) : undefined;
}

function coerce(value: unknown, feature: Feature, spec: TensorSpec, row: number, ctx: Ctx): unknown {
  if (spec.datatype === 'BYTES') {
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  } else if (spec.datatype === 'BOOL') {
    if (typeof value === 'boolean') return value;
  } else {
    const n = typeof value === 'number' ? value : typeof value === 'boolean' ? +value : ctx.textual && typeof value === 'string' ? parseCell(value, ctx.allowNonFinite) : undefined;
    // JSON cannot carry NaN, but 1e400 parses to Infinity and 3.5e38 is Infinity in FP32: refused, as 300 for UINT8 is.
    if (n !== undefined && numberFits(n, spec.datatype, ctx.allowNonFinite)) return n;
    if (n !== undefined) {
      throw invalidInput(`${ctx.label(row)}: feature '${feature.name}' (input '${spec.name}', ${spec.datatype}) expected ${expectedNumber(spec.datatype)}, got ${describeValue(value)}`);
    }
  }
  const expected = spec.datatype === 'BYTES' ? 'a string' : spec.datatype === 'BOOL' ? 'true or false' : 'a finite number';
  throw invalidInput(`${ctx.label(row)}: feature '${feature.name}' expected ${expected}, got ${describeValue(value)}`);
}

/** Feature-name lookups, built once per model's feature list rather than once per request. */
const featureNames = new WeakMap<Feature[], Set<string>>();
function namesOf(features: Feature[]): Set<string> {
  let names = featureNames.get(features);
  if (!names) featureNames.set(features, (names = new Set(features.map((f) => f.name))));
  return names;
}

function checkRecords(records: unknown[], features: Feature[], ctx: Ctx): DataRecord[] {
  const known = namesOf(features);
  return records.map((record, row) => {
    if (record === null || typeof record !== 'object' || Array.isArray(record)) {
      throw invalidInput(`${ctx.label(row)}: expected an object keyed by feature name`);
    }
    // for-in rather than Object.keys: no array per record (JSON bodies have no inherited keys).
    for (const key in record) {
      if (!known.has(key)) {
        const list = features.length <= 12 ? `: ${features.map((f) => f.name).join(', ')}` : '';
        throw invalidInput(`${ctx.label(row)}: unknown feature '${printable(key, 60)}'; the model expects ${features.length} features${list}`);
      }
    }
    return record as DataRecord;
  });
}

/**
 * Rows of values in column order (MLflow dataframe_split, Watson ML values) as records, one
 * object per row built in place (no per-row array of entries). `where(row)` names a row in errors.
 */
export function rowsToRecords(columns: readonly string[], rows: readonly unknown[][], where: (row: number) => string, unit: string): DataRecord[] {
  // Plain assignment would set a record's prototype for a '__proto__' column; no feature has that name.
  if (columns.includes('__proto__')) throw invalidInput(`${where(0)}: ${unit} '__proto__' is not a feature name`);
  const records = new Array<DataRecord>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    if (row.length !== columns.length) throw invalidInput(`${where(i)}: expected ${columns.length} values (one per ${unit}), got ${row.length}`);
    const record: DataRecord = {};
    for (let j = 0; j < columns.length; j++) record[columns[j]!] = row[j];
    records[i] = record;
  }
  return records;
}

function columnShape(spec: TensorSpec, rows: number, width: number): number[] {
  return spec.shape.length === 1 ? [rows] : [rows, width];
}

/** Maps records keyed by feature name onto the model's input tensors, filling manifest defaults. */
export function recordsToTensors(schema: ModelSchema, records: unknown[], options: RecordOptions = {}): Tensor[] {
  const { features, binding } = schema;
  if (!features || !binding) {
    throw invalidInput('this model has no feature list, so it cannot take records: add features to its model.yaml or send tensors (POST /v2/models/{name}/infer)');
  }
  if (records.length === 0) throw invalidInput('expected at least one record');
  const ctx: Ctx = { textual: options.textual ?? false, label: options.rowLabel ?? defaultLabel, allowNonFinite: schema.allowNonFinite ?? false };
  return encode(binding, features, checkRecords(records, features, ctx), ctx);
}

function encode(binding: FeatureBinding, features: Feature[], rows: DataRecord[], ctx: Ctx): Tensor[] {
  const cell = (r: DataRecord, i: number, feature: Feature, spec: TensorSpec) => coerce(featureValue(r, feature, i, ctx), feature, spec, i, ctx);
  if (binding.mode === 'per-input') {
    return binding.inputs.map((spec, j) => {
      const values = rows.map((r, i) => cell(r, i, features[j]!, spec));
      return tensorFromElements(spec.name, spec.datatype, columnShape(spec, rows.length, 1), values);
    });
  }
  const spec = binding.input;
  const width = features.length;
  const shape = columnShape(spec, rows.length, width);
  if (spec.datatype === 'FP32' || spec.datatype === 'FP64') {
    // The common case (a float matrix): coerce() has checked every cell, so write straight into the tensor.
    const data = spec.datatype === 'FP32' ? new Float32Array(rows.length * width) : new Float64Array(rows.length * width);
    for (let i = 0; i < rows.length; i++) {
      for (let j = 0; j < width; j++) data[i * width + j] = cell(rows[i]!, i, features[j]!, spec) as number;
    }
    return [{ name: spec.name, datatype: spec.datatype, shape, data }];
  }
  const values = new Array<unknown>(rows.length * width);
  rows.forEach((r, i) => {
    features.forEach((feature, j) => {
      values[i * width + j] = cell(r, i, feature, spec);
    });
  });
  return [tensorFromElements(spec.name, spec.datatype, shape, values)];
}
