import { describeValue, PlinthError, printable } from '../core/errors.js';
import type { Feature } from '../core/manifest.js';
import type { ModelSchema } from '../core/model-schema.js';
import { decodePredictions } from '../core/prediction.decoder.js';
import { recordsToTensors, type DataRecord } from '../core/records.mapper.js';
import type { Tensor, TensorSpec } from '../core/tensor.js';
import type { ModelRuntime } from '../runtime/model-runtime.js';
import type { OutputFormat } from '../storage/job-ports.js';
import { csvCell, csvValue } from './csv-output.js';
import { explanationColumns, type ChunkExplainer, type ChunkExplanation } from './explanation-columns.js';
import { fieldText, type CsvRecord } from './csv-scanner.js';
import { parseNumberAt, POW10 } from './number-parse.js';

/** The columns a job writes after its carried input columns. */
export function predictionColumns(schema: Pick<ModelSchema, 'classes' | 'probabilitiesOutput' | 'features'>, probabilities: boolean, explanations = false): string[] {
  const probs = probabilities && schema.probabilitiesOutput && schema.classes ? schema.classes.map((c) => `probability_${c}`) : [];
  const shap = explanations ? explanationColumns((schema.features ?? []).map((f) => f.name)) : [];
  return ['prediction', ...probs, ...shap];
}

/** Features the input must hold: those without a default in the manifest. */
export function requiredColumns(features: readonly Feature[]): string[] {
  return features.filter((f) => f.default === undefined).map((f) => f.name);
}

export interface ChunkScorerOptions {
  /** The CSV header (trimmed); null for JSON inputs, whose records carry their own keys. */
  columns: string[] | null;
  carry: string[];
  probabilities: boolean;
  format: OutputFormat;
  chunkRows: number;
  /** Adds explanation columns (CSV) or an `explanation` object (NDJSON) to each row. */
  explainer?: ChunkExplainer;
}

export interface SealedChunk {
  /** Input records this chunk consumed (scored and failed). */
  read: number;
  rows: number;
  data?: Float32Array | Float64Array;
  records?: DataRecord[];
  carry: unknown[][];
  lines: number[];
  recordNumbers: number[];
  errors: string[];
}

export interface ScoredChunk {
  read: number;
  scored: number;
  failed: number;
  /** Output lines for the rows scored, newline-terminated, UTF-8, in a buffer of its own (see reuseOutput). */
  output: Buffer;
  /** Error lines (`row,line,reason`), newline-terminated. */
  errors: string;
}

export const ERRORS_HEADER = 'row,line,reason\n';

/** A feature's default as the fast path stores it, or the reason it cannot be one. */
function numericDefault(feature: Feature): number | string | undefined {
  const d = feature.default;
  if (d === undefined) return undefined;
  if (typeof d === 'number') return Number.isFinite(d) ? d : `default of '${feature.name}' is not finite`;
  if (typeof d === 'boolean') return d ? 1 : 0;
  const n = Number(d);
  return d.trim() !== '' && Number.isFinite(n) ? n : `feature '${feature.name}' has a default that is not a number`;
}

/**
 * Turns input records into output lines, a chunk at a time, with the online path's own pieces:
 * records go through core/records.mapper (the same checks and messages, row labels as `line N`)
 * and predictions through core/prediction.decoder. Fast paths exist for the common case (a CSV
 * file into one float matrix input): cells are parsed in place into the tensor, with the mapper's
 * rules for text cells (Number() semantics, empty = missing = the manifest default), from the
 * record's bytes when they are plain decimals (addCsvBytes), else from its text (addCsv). A row
 * that fails validation becomes an error line with its line number; the chunk goes on. Output
 * lines are written as UTF-8 bytes into reused buffers, with the text of repeated cells (labels,
 * a forest's probabilities) formatted once. Feature matrices are reused once a run gives them back.
 */
export class ChunkScorer {
  private readonly features: Feature[];
  private readonly fast: { spec: TensorSpec; width: number; colIndex: Int32Array; defaults: (number | string | undefined)[] } | undefined;
  private readonly featureCols: Int32Array | undefined;
  private readonly carryCols: Int32Array | undefined;
  /**
   * For addCsvBytes, by input column: the feature it holds (-1: none) and the carry slot (-1:
   * none); `absent`: features without a column, with their (numeric) defaults. Undefined when
   * the fast path does not apply (not a numeric matrix input, or a default that is not a number).
   */
  private readonly byColumn: { feature: Int32Array; carry: Int32Array; absent: [number, number][]; ranges: Int32Array } | undefined;
  private readonly outputNames: string[];
  private current!: SealedChunk;
  private records = 0;
  /** Feature matrices back from a run, reused for the next chunks (no new memory per chunk). */
  private readonly spareMatrices: (Float32Array | Float64Array)[] = [];
  /** Output buffers the host is done with, reused for the next chunks' output. */
  private readonly spareOutputs: Buffer[] = [];
  /** Text of cells already formatted once (class names, the few distinct probabilities of a forest). */
  private readonly cells = new CellCache();

  constructor(
    private readonly schema: ModelSchema,
    private readonly runtime: ModelRuntime,
    private readonly options: ChunkScorerOptions,
  ) {
    if (!schema.features || !schema.binding) {
      throw new PlinthError('INVALID_INPUT', "this model has no feature list, so it cannot score records: add features to its model.yaml");
    }
    this.features = schema.features;
    this.outputNames = runtime.signature.outputs.map((o) => o.name);
    const columns = options.columns;
    if (columns) {
      const index = new Map(columns.map((c, i) => [c, i]));
      const missing = this.features.filter((f) => !index.has(f.name) && f.default === undefined).map((f) => f.name);
      if (missing.length) throw missingColumns(missing);
      this.featureCols = Int32Array.from(this.features, (f) => index.get(f.name) ?? -1);
      const absent = options.carry.filter((c) => !index.has(c));
      if (absent.length) throw new PlinthError('INVALID_INPUT', `carry column(s) ${absent.map((c) => `'${printable(c, 60)}'`).join(', ')} are not in the input's header`);
      this.carryCols = Int32Array.from(options.carry, (c) => index.get(c)!);
      const binding = schema.binding;
      if (binding.mode === 'packed' && (binding.input.datatype === 'FP32' || binding.input.datatype === 'FP64')) {
        const width = this.features.length;
        this.fast = { spec: binding.input, width, colIndex: this.featureCols, defaults: this.features.map(numericDefault) };
        const absent: [number, number][] = [];
        this.features.forEach((_, j) => {
          const d = this.fast!.defaults[j];
          if (this.featureCols![j]! < 0) absent.push([j, typeof d === 'number' ? d : NaN]);
        });
        if (absent.every(([, d]) => !Number.isNaN(d))) {
          const feature = new Int32Array(columns.length).fill(-1);
          this.featureCols.forEach((col, j) => col >= 0 && (feature[col] = j));
          const carry = new Int32Array(columns.length).fill(-1);
          this.carryCols.forEach((col, k) => (carry[col] = k));
          this.byColumn = { feature, carry, absent, ranges: new Int32Array(2 * this.carryCols.length) };
        }
      }
    }
    this.reset();
  }

  /** The output file's first line (CSV), or '' (NDJSON). */
  header(): string {
    if (this.options.format !== 'csv') return '';
    return [...this.options.carry, ...predictionColumns(this.schema, this.options.probabilities, this.options.explainer !== undefined)].map(csvCell).join(',') + '\n';
  }

  get read(): number {
    return this.current.read;
  }

  get full(): boolean {
    return this.current.read >= this.options.chunkRows;
  }

  /** A record that could not be read at all (too long, not JSON). */
  addError(line: number, reason: string): void {
    this.fail(line, reason);
  }

  addCsv(r: CsvRecord, expectedCells: number): void {
    const c = this.current;
    const line = r.line;
    if (r.count !== expectedCells) {
      return this.fail(line, `expected ${expectedCells} cells (as many as the header has), got ${r.count}`);
    }
    if (this.fast) {
      const { width, colIndex, defaults } = this.fast;
      if (!c.data) c.data = this.spareMatrices.pop() ?? (this.fast.spec.datatype === 'FP32' ? new Float32Array(this.options.chunkRows * width) : new Float64Array(this.options.chunkRows * width));
      const data = c.data;
      const base = c.rows * width;
      for (let j = 0; j < width; j++) {
        const col = colIndex[j]!;
        let v: number;
        const quoted = col >= 0 && r.quoted ? r.quoted[col] : undefined;
        if (col < 0 || (quoted === undefined && r.starts[col] === r.ends[col]) || (quoted !== undefined && quoted.trim() === '')) {
          const d = defaults[j];
          if (d === undefined) return this.fail(line, `missing feature '${this.features[j]!.name}' (it has no default in the model's manifest)`);
          if (typeof d === 'string') return this.fail(line, d);
          v = d;
        } else {
          v = quoted !== undefined ? Number(quoted) : parseNumberAt(r.text, r.starts[col]!, r.ends[col]!);
          if (!Number.isFinite(v)) {
            return this.fail(line, `feature '${this.features[j]!.name}' expected a finite number, got ${describeValue(quoted ?? r.text.slice(r.starts[col]!, r.ends[col]!))}`);
          }
        }
        data[base + j] = v;
      }
    } else {
      const record: DataRecord = {};
      for (let j = 0; j < this.features.length; j++) {
        const col = this.featureCols![j]!;
        if (col < 0) continue;
        const cell = fieldText(r, col);
        if (cell !== '') record[this.features[j]!.name] = cell;
      }
      (c.records ??= []).push(record);
    }
    const carryCols = this.carryCols!;
    let carry: unknown[] = NO_CARRY;
    if (carryCols.length) {
      carry = [];
      for (let k = 0; k < carryCols.length; k++) carry.push(fieldText(r, carryCols[k]!));
    }
    this.accept(line, carry);
  }

  /**
   * The fast path for a CSV record without quotes, for a model whose input is one numeric
   * matrix: the cells are parsed from the UTF-8 bytes [start, end) of `bytes` straight into the
   * chunk's matrix, no string made (but for carried cells). It takes only plain decimal cells
   * (`[+-]digits[.digits]`, at most 15 significant digits: parsed exactly, as number-parse.ts)
   * and the right cell count; for anything else (an empty cell, an exponent, a wrong cell count)
   * it returns false, having accepted nothing, and the caller hands the record to addCsv, which
   * gives the same values or the exact error the online mapper would.
   */
  addCsvBytes(bytes: Buffer, start: number, end: number, line: number, expectedCells: number, delimiter: number): boolean {
    const fast = this.fast;
    const cols = this.byColumn;
    if (!fast || !cols) return false;
    const c = this.current;
    if (!c.data) c.data = this.spareMatrices.pop() ?? (fast.spec.datatype === 'FP32' ? new Float32Array(this.options.chunkRows * fast.width) : new Float64Array(this.options.chunkRows * fast.width));
    const data = c.data;
    const base = c.rows * fast.width;
    const { feature, carry, ranges } = cols;
    const columns = feature.length;
    let p = start;
    let col = 0;
    for (;;) {
      const s = p;
      const j = col < columns ? feature[col]! : -1;
      if (j >= 0) {
        let negative = false;
        let b = p < end ? bytes[p]! : 0;
        if (b === 45 || b === 43) {
          negative = b === 45;
          p++;
        }
        let mantissa = 0;
        let digits = 0;
        let fraction = 0;
        let dot = false;
        let any = false;
        for (; p < end; p++) {
          b = bytes[p]!;
          if (b >= 48 && b <= 57) {
            any = true;
            if (digits > 0 || b !== 48) digits++;
            mantissa = mantissa * 10 + (b - 48);
            if (dot) fraction++;
          } else if (b === 46 && !dot) dot = true;
          else break;
        }
        if ((p < end && bytes[p] !== delimiter) || !any || digits > 15 || fraction > 22) return false;
        const value = fraction === 0 ? mantissa : mantissa / POW10[fraction]!;
        data[base + j] = negative ? -value : value;
      } else {
        while (p < end && bytes[p] !== delimiter) p++;
      }
      const k = col < columns ? carry[col]! : -1;
      if (k >= 0) {
        ranges[2 * k] = s;
        ranges[2 * k + 1] = p;
      }
      col++;
      if (p >= end) break;
      p++; // past the delimiter (a trailing one makes one more, empty, cell)
    }
    if (col !== expectedCells) return false;
    for (const [j, d] of cols.absent) data[base + j] = d;
    let values: unknown[] = NO_CARRY;
    if (ranges.length) {
      values = [];
      for (let k = 0; k < ranges.length; k += 2) values.push(bytes.toString('utf8', ranges[k], ranges[k + 1]));
    }
    this.accept(line, values);
    return true;
  }

  addJson(value: unknown, line: number): void {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return this.fail(line, 'expected an object keyed by column name');
    const source = value as Record<string, unknown>;
    const record: DataRecord = {};
    for (const f of this.features) if (Object.hasOwn(source, f.name)) record[f.name] = source[f.name];
    (this.current.records ??= []).push(record);
    this.accept(line, this.options.carry.map((k) => (Object.hasOwn(source, k) ? source[k] : null)));
  }

  /** Hands over the current chunk and starts the next. */
  seal(): SealedChunk {
    const sealed = this.current;
    this.reset();
    return sealed;
  }

  /**
   * Scores a sealed chunk: its output lines (after `header`, the output file's first line when
   * this is its first chunk) in a buffer whose memory is its own (it can be transferred).
   */
  async score(chunk: SealedChunk, textual: boolean, header = ''): Promise<ScoredChunk> {
    let rows = chunk.rows;
    let inputs: Tensor[] | undefined;
    if (rows > 0 && chunk.data) {
      const { spec, width } = this.fast!;
      const shape = spec.shape.length === 1 ? [rows] : [rows, width];
      inputs = [{ name: spec.name, datatype: spec.datatype, shape, data: chunk.data.subarray(0, rows * width) }];
    } else if (rows > 0) {
      inputs = this.mapRecords(chunk, textual);
      rows = chunk.rows;
    }
    const out = this.writer(rows);
    out.text(header);
    if (inputs && rows > 0) {
      const explainer = this.options.explainer;
      // The explainer's own copy, as float32: the run moves the matrix to the runtime's thread.
      const explained = explainer && chunk.data ? Float32Array.from(chunk.data.subarray(0, rows * this.fast!.width)) : undefined;
      // The run is posted before the first await: with a runtime in another thread, the caller parses on meanwhile.
      const run = this.runtime.run(inputs, this.outputNames);
      // Explained while the model runs (tree and linear SHAP compute here; kernel SHAP queues its model calls behind this run).
      const explaining = explainer?.explain(explained ? { data: explained, rows, cols: this.fast!.width } : chunk.records!, textual);
      explaining?.catch(() => undefined); // awaited below, once the run is
      const outputs = await run;
      if (chunk.data) this.reuseMatrix(inputs[0]!.data);
      const decoded = decodePredictions(this.schema, outputs, rows, this.options.probabilities);
      const explanation = explaining && explainer!.columns(await explaining, decoded.predictions);
      this.format(out, chunk, decoded.predictions, this.options.probabilities ? decoded.probabilities : undefined, explanation);
    } else if (chunk.data) this.reuseMatrix(chunk.data);
    return { read: chunk.read, scored: rows, failed: chunk.errors.length, output: out.finish(), errors: chunk.errors.join('') };
  }

  /** An output buffer the caller no longer needs (the host has stored it): the next chunks write into it. */
  reuseOutput(buffer: Buffer): void {
    if (this.spareOutputs.length < 4 && buffer.byteLength > 0) this.spareOutputs.push(buffer);
  }

  /** The matrix a run handed back (the whole array, of which the run saw the first rows). */
  private reuseMatrix(data: Tensor['data']): void {
    if (!(data instanceof Float32Array || data instanceof Float64Array) || data.buffer.byteLength === 0) return; // kept by the runtime
    const whole = data instanceof Float32Array ? new Float32Array(data.buffer) : new Float64Array(data.buffer);
    if (whole.length === this.options.chunkRows * this.fast!.width && this.spareMatrices.length < 4) this.spareMatrices.push(whole);
  }

  /** A writer over a spare output buffer (the largest one), or a new one sized for `rows` rows. */
  private writer(rows: number): ByteWriter {
    let buffer: Buffer | undefined;
    for (const spare of this.spareOutputs) if (!buffer || spare.byteLength > buffer.byteLength) buffer = spare;
    if (buffer) this.spareOutputs.splice(this.spareOutputs.indexOf(buffer), 1);
    return new ByteWriter(buffer ?? Buffer.allocUnsafeSlow(Math.max(1024, rows * 64)));
  }

  /** Records through the online mapper; rows it refuses become error lines and the rest are mapped again. */
  private mapRecords(chunk: SealedChunk, textual: boolean): Tensor[] | undefined {
    const label = (lines: number[]) => (i: number) => `line ${lines[i]}`;
    try {
      return recordsToTensors(this.schema, chunk.records!, { textual, rowLabel: label(chunk.lines) });
    } catch (err) {
      if (!(err instanceof PlinthError) || err.code !== 'INVALID_INPUT') throw err;
    }
    const keep: number[] = [];
    chunk.records!.forEach((record, i) => {
      try {
        recordsToTensors(this.schema, [record], { textual, rowLabel: () => `line ${chunk.lines[i]}` });
        keep.push(i);
      } catch (err) {
        if (!(err instanceof PlinthError)) throw err;
        chunk.errors.push(errorLine(chunk.recordNumbers[i]!, chunk.lines[i]!, err.message.replace(/^line \d+: /, '')));
      }
    });
    // Errors go in input order: sort them by row number.
    chunk.errors.sort((a, b) => Number(a.slice(0, a.indexOf(','))) - Number(b.slice(0, b.indexOf(','))));
    chunk.records = keep.map((i) => chunk.records![i]!);
    chunk.carry = keep.map((i) => chunk.carry[i]!);
    chunk.lines = keep.map((i) => chunk.lines[i]!);
    chunk.recordNumbers = keep.map((i) => chunk.recordNumbers[i]!);
    chunk.rows = keep.length;
    return keep.length ? recordsToTensors(this.schema, chunk.records, { textual, rowLabel: label(chunk.lines) }) : undefined;
  }

  /** The output lines of the chunk's scored rows, written as UTF-8 bytes. */
  private format(out: ByteWriter, chunk: SealedChunk, predictions: unknown[], probabilities: number[][] | undefined, explanation: ChunkExplanation | undefined): void {
    const carry = this.options.carry;
    const explainer = this.options.explainer;
    const cell = (text: string) => {
      out.byte(COMMA);
      out.text(text);
    };
    if (this.options.format === 'csv') {
      // Cells as bytes: a label or a probability is formatted and encoded once, then copied.
      const cells = this.cells;
      for (let i = 0; i < predictions.length; i++) {
        if (carry.length) {
          const values = chunk.carry[i]!;
          for (let k = 0; k < values.length; k++) {
            out.text(csvValue(values[k]));
            out.byte(COMMA);
          }
        }
        out.bytes(cells.value(predictions[i]));
        const p = probabilities?.[i];
        if (p) {
          for (let k = 0; k < p.length; k++) {
            out.byte(COMMA);
            out.bytes(cells.number(p[k]!));
          }
        }
        if (explanation) explainer!.csvCells(explanation, i, cell);
        out.byte(NEWLINE);
      }
      return;
    }
    const classes = this.schema.classes;
    for (let i = 0; i < predictions.length; i++) {
      const row: Record<string, unknown> = {};
      const values = chunk.carry[i]!;
      for (let k = 0; k < carry.length; k++) row[carry[k]!] = values[k];
      row.prediction = predictions[i];
      const p = probabilities?.[i];
      if (p && classes) row.probabilities = Object.fromEntries(classes.map((c, k) => [c, p[k]]));
      if (explanation) row.explanation = explainer!.object(explanation, i);
      out.text(JSON.stringify(row) + '\n');
    }
  }

  private accept(line: number, carry: unknown[]): void {
    const c = this.current;
    if (this.options.carry.length) c.carry.push(carry);
    if (this.fast) this.records++; // line and record numbers only serve the mapper's error rows
    else {
      c.lines.push(line);
      c.recordNumbers.push(++this.records);
    }
    c.rows++;
    c.read++;
  }

  private fail(line: number, reason: string): void {
    const c = this.current;
    c.errors.push(errorLine(++this.records, line, reason));
    c.read++;
  }

  /** Counts records a resumed attempt skips, so row numbers stay those of the input. */
  skip(): void {
    this.records++;
  }

  private reset(): void {
    this.current = { read: 0, rows: 0, carry: [], lines: [], recordNumbers: [], errors: [] };
  }
}

const NO_CARRY: unknown[] = [];
const COMMA = 44;
const NEWLINE = 10;
const EMPTY = new Uint8Array(0);

/**
 * Formatted cells by value, as UTF-8: a classifier's labels, and a forest's probabilities (votes
 * over a fixed number of trees take few distinct values), are formatted and encoded once. The
 * text is exactly csvValue's (labels) and String()'s (probabilities). Bounded: past MAX entries
 * new values are formatted each time.
 */
class CellCache {
  private static readonly MAX = 4096;
  private readonly numbers = new Map<number, Uint8Array>();
  private readonly values = new Map<unknown, Uint8Array>();

  number(n: number): Uint8Array {
    let bytes = this.numbers.get(n);
    if (bytes === undefined) {
      bytes = Buffer.from(String(n), 'latin1'); // digits, '.', '-', 'e', '+', 'NaN', 'Infinity': ASCII
      if (this.numbers.size < CellCache.MAX) this.numbers.set(n, bytes);
    }
    return bytes;
  }

  value(v: unknown): Uint8Array {
    if (typeof v === 'number') return Number.isFinite(v) ? this.number(v) : EMPTY;
    if (typeof v !== 'string' && typeof v !== 'boolean') return Buffer.from(csvValue(v), 'utf8');
    let bytes = this.values.get(v);
    if (bytes === undefined) {
      bytes = Buffer.from(csvValue(v), 'utf8');
      if (this.values.size < CellCache.MAX) this.values.set(v, bytes);
    }
    return bytes;
  }
}

/**
 * Appends bytes to a buffer, growing it (doubling) when full; finish() gives the bytes written,
 * a view on a buffer of their own (never one of Node's shared pool slabs: it can be transferred).
 */
class ByteWriter {
  private pos = 0;

  constructor(private buffer: Buffer) {}

  private room(n: number): void {
    if (this.pos + n <= this.buffer.byteLength) return;
    const grown = Buffer.allocUnsafeSlow(Math.max(this.buffer.byteLength * 2, this.pos + n));
    this.buffer.copy(grown, 0, 0, this.pos);
    this.buffer = grown;
  }

  byte(b: number): void {
    if (this.pos >= this.buffer.byteLength) this.room(1);
    this.buffer[this.pos++] = b;
  }

  bytes(b: Uint8Array): void {
    const n = b.length;
    this.room(n);
    const buffer = this.buffer;
    let pos = this.pos;
    // Cells are short: a plain loop beats a native copy call.
    if (n <= 32) for (let i = 0; i < n; i++) buffer[pos++] = b[i]!;
    else {
      buffer.set(b, pos);
      pos += n;
    }
    this.pos = pos;
  }

  text(s: string): void {
    if (s.length === 0) return;
    this.room(s.length * 3); // the most UTF-8 bytes a UTF-16 code unit takes
    this.pos += this.buffer.write(s, this.pos, 'utf8');
  }

  finish(): Buffer {
    return this.buffer.subarray(0, this.pos);
  }
}

function errorLine(row: number, line: number, reason: string): string {
  return `${row},${line},${csvCell(reason)}\n`;
}

export function missingColumns(names: string[]): PlinthError {
  const list = names.slice(0, 10).map((n) => `'${printable(n, 60)}'`).join(', ');
  return new PlinthError('INVALID_INPUT', `the input has no column for feature(s) ${list}${names.length > 10 ? ` and ${names.length - 10} more` : ''}, and the model has no default for them`);
}
