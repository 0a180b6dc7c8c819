/**
 * One entry point for explaining a served model: picks exact tree SHAP for tree ensembles
 * (ONNX TreeEnsemble* nodes over the raw features, XGBoost JSON), exact linear SHAP for linear
 * models over the raw features, and kernel SHAP for everything else, then answers per record and
 * per output column (class or value), keyed by feature name, with the base value, the output
 * space and the method.
 *
 * Which computation a request gets:
 * - tree model, no `_samples`: path-dependent tree SHAP with the model's cover (or cover from
 *   the manifest's background), in raw space. For a forest whose scores are its probabilities
 *   (post_transform NONE) raw space is probability space and is reported as such.
 * - tree model with `_samples` (or `method: 'interventional'`): interventional tree SHAP over
 *   that background, moved to probability space when the model applies a sigmoid or softmax.
 * - linear model: linear SHAP against the background mean (raw space); with `_samples`, in
 *   probability space through the same per-background-row secant as trees.
 * - anything else: kernel SHAP on the model's outputs (probabilities or value), background from
 *   `_samples` or the manifest.
 */
import { PlinthError, invalidInput } from '../core/errors.js';
import type { ModelSchema } from '../core/model-schema.js';
import type { OnnxGraph } from '../runtime/onnx/onnx-graph.reader.js';
import { checkRecordList, tooMuchBackground, type BackgroundRecords } from './background.loader.js';
import { FeatureCodec, explainedColumns, runtimePredictor, type RuntimeSource } from './feature-matrix.js';
import { kernelShap, type BatchPredict } from './kernel-shap.js';
import { linearRaw, linearShap, parseLinearModel, type LinearModel } from './linear-shap.js';
import type { OutputHead, SecantScratch } from './output-head.js';
import { Prng } from './prng.js';
import { parseTreeEnsemble } from './tree-ensemble.parser.js';
import { predictRawBatch } from './tree-ensemble.evaluator.js';
import type { Matrix, TreeEnsemble } from './tree-ensemble.types.js';
import { InterventionalTreeShap, routeBackground, type InterventionalBackground } from './tree-shap-interventional.js';
import { TreeShapTables, layTables } from './tree-shap-tables.js';
import { PathDependentTreeShap, prepareEnsemble, type PreparedEnsemble } from './tree-shap.js';

export type ExplanationMethod = 'tree-shap-path-dependent' | 'tree-shap-interventional' | 'linear-shap' | 'kernel-shap';
export type OutputSpace = 'raw' | 'probability';
export type ModelFamily = 'tree' | 'linear' | 'other';

export interface ExplainerLimits {
  /** Background rows accepted from a request (`_samples`); more is 413. */
  maxBackgroundRows: number;
  /** Largest kernel SHAP budget (coalitions per record) a request may ask for; more is 400. */
  maxBudget: number;
  /** Kernel SHAP budget when the request names none: 2M + 2048 like shap's 'auto', capped here. */
  defaultBudget: number;
  /** Background rows kernel SHAP uses (a seeded sample of a larger background). */
  kernelBackgroundRows: number;
  /** Background rows interventional tree / probability-space linear SHAP use (seeded sample beyond). */
  interventionalBackgroundRows: number;
  /** Rows per model call for kernel SHAP. */
  maxRowsPerCall: number;
  /** Memory for path-dependent SHAP tables; beyond it Algorithm 2 is used. */
  maxTableBytes: number;
  /** Build the tables when one call has this many rows, or once this many rows were explained in all. */
  tableBatchRows: number;
  tableTotalRows: number;
  /** Background rows global importance averages over. */
  importanceRows: number;
  /** Kernel SHAP rows for global importance (each costs a full explanation). */
  importanceKernelRows: number;
}

export const DEFAULT_EXPLAINER_LIMITS: ExplainerLimits = Object.freeze({
  maxBackgroundRows: 1000,
  maxBudget: 20000,
  defaultBudget: 2048,
  kernelBackgroundRows: 100,
  interventionalBackgroundRows: 200,
  maxRowsPerCall: 65536,
  maxTableBytes: 64 * 1024 * 1024,
  tableBatchRows: 16,
  tableTotalRows: 64,
  importanceRows: 200,
  importanceKernelRows: 20,
});

export interface ExplainerInit {
  schema: ModelSchema;
  /** The ONNX graph (readOnnxGraph); omit for models that are not ONNX. */
  graph?: OnnxGraph;
  /** A tree ensemble loaded some other way (XGBoost JSON). */
  ensemble?: TreeEnsemble;
  /** Scores rows for kernel SHAP: one array per output column. Built from `runtime` when omitted. */
  predict?: BatchPredict;
  /** The model's runtime, or a function returning the current one (see RuntimeSource). */
  runtime?: RuntimeSource;
  /** The stored background (the manifest's, see loadManifestBackground), records or a feature matrix. */
  background?: BackgroundRecords | Matrix;
  limits?: Partial<ExplainerLimits>;
  /** Seed for kernel SHAP sampling and background sampling (default 0). */
  seed?: number;
}

export interface ExplainOptions {
  /** Background rows for this request (`_samples`): records, or a feature matrix. */
  background?: unknown[] | Matrix;
  /** Kernel SHAP coalitions per record. */
  budget?: number;
  seed?: number;
  /** Force a tree computation: 'path-dependent' or 'interventional'. */
  perturbation?: 'path-dependent' | 'interventional';
  /** 'kernel' runs kernel SHAP even where an exact method exists (to compare, or to explain the outputs of a linear model). */
  method?: 'auto' | 'kernel';
  /** Ask for raw or probability space (trees and linear models; kernel SHAP explains the outputs). */
  outputSpace?: OutputSpace;
  /** CSV records: numeric cells arrive as text. */
  textual?: boolean;
}

export interface RecordExplanation {
  /** Per output column (class name, or the value output): SHAP value per feature. */
  values: Record<string, Record<string, number>>;
  /** Per output column: base + sum of values, the explained model output for this record. */
  output: Record<string, number>;
}

export interface Explanation {
  method: ExplanationMethod;
  outputSpace: OutputSpace;
  /** Output column names: the classes, or the value output. */
  outputs: string[];
  features: string[];
  /** Per output column: the base value (expected output over the background / cover). */
  base: Record<string, number>;
  records: RecordExplanation[];
  background?: { rows: number; source: 'manifest' | 'request' | 'cover' };
  /** Kernel SHAP: coalitions per record (max over records), whether exact, model calls made. */
  kernel?: { coalitions: number; exact: boolean; modelCalls: number; modelRows: number; seed: number };
}

/** The same, as typed arrays: values[r][j * outputs + c]. */
export interface ExplanationArrays {
  method: ExplanationMethod;
  outputSpace: OutputSpace;
  outputs: string[];
  features: string[];
  base: Float64Array;
  values: Float64Array[];
  output: Float64Array[];
  background?: Explanation['background'];
  kernel?: Explanation['kernel'];
}

export interface GlobalImportance {
  method: ExplanationMethod;
  outputSpace: OutputSpace;
  /** Rows of the stored background averaged over. */
  rows: number;
  /** Mean |SHAP| per feature, averaged over output columns. */
  importance: Record<string, number>;
  /** Mean |SHAP| per output column and feature. */
  byOutput: Record<string, Record<string, number>>;
}

export interface ExplainerInfo {
  explainable: boolean;
  family: ModelFamily;
  /** The method a request without `_samples` gets. */
  method: ExplanationMethod;
  outputSpace: OutputSpace;
  /** Whether a request must bring `_samples` (no stored background and the method needs one). */
  needsBackground: boolean;
  hasBackground: boolean;
  /** Why the model is not explained exactly (kernel SHAP), or not at all. */
  reason?: string;
}

interface Background {
  matrix: Matrix;
  source: 'manifest' | 'request';
}

const backgroundHint =
  "supply background rows: add `background` to the model's model.yaml (records, or a .csv/.json file in the model folder), " +
  'or send `_samples` (a list of records keyed by feature name) with the request';

/** A seeded sample of at most n rows (all rows, in order, when there are fewer). */
function sampleRows(m: Matrix, n: number, seed: number): Matrix {
  if (m.rows <= n) return m;
  const rng = new Prng(seed ^ 0x5bd1e995);
  const idx = Array.from({ length: m.rows }, (_, i) => i);
  for (let i = 0; i < n; i++) {
    const j = i + rng.int(m.rows - i);
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  const chosen = idx.slice(0, n).sort((a, b) => a - b);
  const data = new Float32Array(n * m.cols);
  chosen.forEach((r, i) => data.set(m.data.subarray(r * m.cols, (r + 1) * m.cols), i * m.cols));
  return { data, rows: n, cols: m.cols };
}

const isMatrix = (v: unknown): v is Matrix => v !== null && typeof v === 'object' && (v as Matrix).data instanceof Float32Array;

export class Explainer {
  readonly family: ModelFamily;
  readonly reason?: string;
  readonly features: string[];
  /** Output column names; for kernel SHAP fixed by the first model run when the schema cannot tell the width. */
  outputs: string[];
  private readonly schema: ModelSchema;
  private readonly limits: ExplainerLimits;
  private readonly codec?: FeatureCodec;
  private readonly ensemble?: TreeEnsemble;
  private readonly linear?: LinearModel;
  private readonly predict?: BatchPredict;
  private readonly stored?: Background;
  private readonly seed: number;
  private readonly kind: 'classifier' | 'regressor';
  private readonly head?: OutputHead;
  // Caches for the stored background.
  private prepared?: PreparedEnsemble;
  private pathShap?: PathDependentTreeShap;
  private tables?: TreeShapTables | null;
  private explainedRows = 0;
  private storedRouted?: InterventionalBackground;
  private storedKernelMean?: Float64Array;
  private importance?: GlobalImportance;

  constructor(init: ExplainerInit) {
    this.limits = { ...DEFAULT_EXPLAINER_LIMITS, ...init.limits };
    this.seed = init.seed ?? 0;
    const schema = init.schema;
    this.schema = schema;
    const reasons: string[] = [];
    let ensemble = init.ensemble;
    let linear: LinearModel | undefined;
    if (!ensemble && init.graph) {
      const tree = parseTreeEnsemble(init.graph, schema);
      if (tree.ok) ensemble = tree.value;
      else {
        reasons.push(tree.reason);
        const lin = parseLinearModel(init.graph, schema);
        if (lin.ok) linear = lin.value;
        else reasons.push(lin.reason);
      }
    }
    this.ensemble = ensemble;
    this.linear = linear;
    this.family = ensemble ? 'tree' : linear ? 'linear' : 'other';
    this.head = ensemble?.head ?? linear?.head;
    try {
      this.codec = new FeatureCodec(schema);
    } catch (err) {
      if (this.family === 'other') reasons.push((err as Error).message);
    }
    const width = ensemble?.nFeatures ?? linear?.nFeatures ?? this.codec?.width ?? 0;
    this.features = this.codec?.names ?? Array.from({ length: width }, (_, j) => `f${j}`);
    if (this.family !== 'other' && this.features.length !== width) {
      throw new Error(`the model reads ${width} features but its schema lists ${this.features.length}`);
    }
    this.predict = init.predict ?? (init.runtime && this.codec ? runtimePredictor(init.runtime, schema, this.codec) : undefined);
    if (this.family === 'other' && !this.predict) reasons.push('no way to run the model was given');
    // Why there is no exact method (the most specific refusal), when there is none.
    this.reason = this.family === 'other' ? (reasons.find((r) => !r.startsWith('the graph has no ')) ?? reasons[0]) : undefined;
    const columns = this.head?.nColumns ?? (schema.probabilitiesOutput ? Math.max(2, schema.classes?.length ?? 2) : 1);
    this.outputs = this.outputNames(schema, columns);
    this.kind = ensemble?.kind ?? linear?.kind ?? (schema.probabilitiesOutput ? 'classifier' : 'regressor');
    if (init.background) {
      const matrix = isMatrix(init.background)
        ? init.background
        : this.toMatrix(init.background.records, init.background.textual, 'the stored background');
      if (matrix.cols !== this.features.length) throw new Error(`the background has ${matrix.cols} features, the model ${this.features.length}`);
      this.stored = { matrix, source: 'manifest' };
    }
  }

  private outputNames(schema: ModelSchema, columns: number): string[] {
    try {
      return explainedColumns(schema, columns).names;
    } catch {
      return columns === 1 ? ['value'] : Array.from({ length: columns }, (_, c) => String(c));
    }
  }

  get explainable(): boolean {
    return this.family !== 'other' || (this.predict !== undefined && this.codec !== undefined);
  }

  /** The method and output space of a request without `_samples`. */
  get method(): ExplanationMethod {
    return this.family === 'tree' ? 'tree-shap-path-dependent' : this.family === 'linear' ? 'linear-shap' : 'kernel-shap';
  }

  get outputSpace(): OutputSpace {
    if (this.family === 'other') return this.kind === 'classifier' ? 'probability' : 'raw';
    return this.kind === 'classifier' && this.head!.identity ? 'probability' : 'raw';
  }

  info(): ExplainerInfo {
    const needs = this.family === 'tree' ? !this.ensemble!.hasCover : true;
    return {
      explainable: this.explainable,
      family: this.family,
      method: this.method,
      outputSpace: this.outputSpace,
      needsBackground: needs && !this.stored,
      hasBackground: this.stored !== undefined,
      reason: this.reason,
    };
  }

  private toMatrix(rows: unknown[] | Matrix, textual: boolean, where: string): Matrix {
    if (isMatrix(rows)) {
      if (rows.cols !== this.features.length) throw invalidInput(`${where}: expected ${this.features.length} features per row, got ${rows.cols}`);
      return rows;
    }
    if (!this.codec) throw invalidInput('this model has no feature list, so records cannot be explained');
    return this.codec.encode(rows, { textual, rowLabel: (i) => `${where}[${i}]` });
  }

  private requestBackground(options: ExplainOptions): Background | undefined {
    if (options.background === undefined) return undefined;
    const bg = options.background;
    const rows = isMatrix(bg) ? bg.rows : Array.isArray(bg) ? bg.length : 0;
    if (rows > this.limits.maxBackgroundRows) throw tooMuchBackground(rows, this.limits.maxBackgroundRows, '`_samples`');
    const records = isMatrix(bg) ? bg : checkRecordList(bg, '`_samples`');
    return { matrix: this.toMatrix(records, options.textual ?? false, '_samples'), source: 'request' };
  }

  /** Explains rows (records keyed by feature name, or a feature matrix). */
  async explain(rows: unknown[] | Matrix, options: ExplainOptions = {}): Promise<Explanation> {
    return toKeyed(await this.explainArrays(rows, options));
  }

  /** The same computation, as typed arrays (no per-feature objects). */
  async explainArrays(rows: unknown[] | Matrix, options: ExplainOptions = {}): Promise<ExplanationArrays> {
    if (!this.explainable) throw invalidInput(`this model cannot be explained: ${this.reason ?? 'unknown reason'}`);
    if (options.budget !== undefined) {
      if (!Number.isInteger(options.budget) || options.budget < 1) throw invalidInput(`budget must be a positive integer, got ${options.budget}`);
      if (options.budget > this.limits.maxBudget) throw invalidInput(`budget ${options.budget} is over the maximum of ${this.limits.maxBudget} coalitions per record`);
    }
    const x = this.toMatrix(isMatrix(rows) ? rows : Array.isArray(rows) && rows.length ? rows : ([] as unknown[]), options.textual ?? false, 'record');
    if (x.rows === 0) throw invalidInput('expected at least one record to explain');
    const requested = this.requestBackground(options);
    if (options.method === 'kernel') {
      if (!this.predict || !this.codec) throw invalidInput('kernel SHAP needs the model to be runnable here');
      return this.explainKernel(x, requested, options);
    }
    if (this.family === 'tree') return this.explainTree(x, requested, options);
    if (this.family === 'linear') return this.explainLinear(x, requested, options);
    return this.explainKernel(x, requested, options);
  }

  private result(method: ExplanationMethod, space: OutputSpace, base: Float64Array, values: Float64Array[], output: Float64Array[], background?: Explanation['background']): ExplanationArrays {
    return { method, outputSpace: space, outputs: this.outputs, features: this.features, base, values, output, background };
  }

  // --- trees ---------------------------------------------------------------------------------

  private explainTree(x: Matrix, requested: Background | undefined, options: ExplainOptions): ExplanationArrays {
    const e = this.ensemble!;
    const head = e.head;
    const wantsProbability = options.outputSpace === 'probability' && !head.identity;
    const interventional = options.perturbation === 'interventional' || (options.perturbation !== 'path-dependent' && (requested !== undefined || wantsProbability));
    if (!interventional) return this.treePathDependent(x);
    const bg = requested ?? this.stored;
    if (!bg) throw invalidInput(`interventional tree SHAP needs background rows: ${backgroundHint}`);
    let space: OutputSpace = options.outputSpace ?? (head.probabilitySupported && this.kind === 'classifier' ? 'probability' : 'raw');
    if (space === 'probability' && !head.probabilitySupported) {
      throw invalidInput(`this model's outputs (${head.describe()}) cannot be explained in probability space; ask for outputSpace 'raw'`);
    }
    if (this.kind !== 'classifier' && space === 'probability') space = 'raw';
    let routed: InterventionalBackground;

    if (bg === this.stored) {
      this.storedRouted ??= routeBackground(e, sampleRows(bg.matrix, this.limits.interventionalBackgroundRows, this.seed));
      routed = this.storedRouted;
    } else {
      routed = routeBackground(e, sampleRows(bg.matrix, this.limits.interventionalBackgroundRows, options.seed ?? this.seed));
    }
    const rows = routed.rows;
    const engine = new InterventionalTreeShap(e, routed);
    const values: Float64Array[] = [];
    const output: Float64Array[] = [];
    let base: Float64Array = new Float64Array(0);
    const mode = space === 'raw' && !head.identity ? 'raw' : 'output';
    for (let i = 0; i < x.rows; i++) {
      const r = engine.explain(x.data, mode, i * x.cols);
      values.push(r.values);
      output.push(r.output);
      base = r.base;
    }
    const reported: OutputSpace = mode === 'raw' ? 'raw' : this.kind === 'classifier' ? 'probability' : 'raw';
    return this.result('tree-shap-interventional', reported, base, values, output, { rows, source: bg.source });
  }

  private treePathDependent(x: Matrix): ExplanationArrays {
    const e = this.ensemble!;
    if (!this.prepared) {
      if (!e.hasCover && !this.stored) {
        throw invalidInput(`this tree model stores no cover, so path-dependent tree SHAP needs background rows to compute it: ${backgroundHint}`);
      }
      this.prepared = prepareEnsemble(e, this.stored?.matrix);
      this.pathShap = new PathDependentTreeShap(this.prepared);
    }
    const prepared = this.prepared;
    const R = e.nScores;
    const M = e.nFeatures;
    const head = e.head;
    const C = head.nColumns;
    this.explainedRows += x.rows;
    const useTables = this.tablesFor(x.rows);
    const raw = new Float64Array(x.rows * M * R);
    let scores: Float64Array;
    if (useTables) useTables.explainRows(x, raw, (scores = new Float64Array(x.rows * R)));
    else {
      for (let i = 0; i < x.rows; i++) this.pathShap!.explain(x.data, raw.subarray(i * M * R, (i + 1) * M * R), i * x.cols);
      scores = predictRawBatch(e, x);
    }
    // Every row's values and outputs are views of two arrays: one allocation each, not one per row.
    const valuesAll = new Float64Array(x.rows * M * C);
    const outputAll = new Float64Array(x.rows * C);
    const values: Float64Array[] = new Array(x.rows);
    const output: Float64Array[] = new Array(x.rows);
    for (let i = 0; i < x.rows; i++) {
      const v = valuesAll.subarray(i * M * C, (i + 1) * M * C);
      head.addRawAttributions(raw.subarray(i * M * R, (i + 1) * M * R), M, v);
      values[i] = v;
      const o = outputAll.subarray(i * C, (i + 1) * C);
      head.rawColumns(scores.subarray(i * R, (i + 1) * R), o);
      output[i] = o;
    }
    const base = new Float64Array(C);
    head.rawColumns(prepared.expected, base);
    const space: OutputSpace = this.kind === 'classifier' && head.identity ? 'probability' : 'raw';
    const background = prepared.coverSource === 'background' ? { rows: this.stored!.matrix.rows, source: 'cover' as const } : undefined;
    return this.result('tree-shap-path-dependent', space, base, values, output, background);
  }

  /** The precomputed tables, once a call or the running total makes them worth building. */
  private tablesFor(rows: number): TreeShapTables | undefined {
    if (this.tables === null) return undefined;
    if (this.tables) return this.tables;
    if (rows < this.limits.tableBatchRows && this.explainedRows < this.limits.tableTotalRows) return undefined;
    const layout = layTables(this.prepared!);
    if (layout === undefined || layout.bytes > this.limits.maxTableBytes) {
      this.tables = null;
      return undefined;
    }
    this.tables = new TreeShapTables(this.prepared!, layout);
    return this.tables;
  }

  // --- linear models -------------------------------------------------------------------------

  private explainLinear(x: Matrix, requested: Background | undefined, options: ExplainOptions): ExplanationArrays {
    const model = this.linear!;
    const head = model.head;
    const bg = requested ?? this.stored;
    if (!bg) throw invalidInput(`linear SHAP needs the background mean: ${backgroundHint}`);
    const M = model.nFeatures;
    const R = model.nScores;
    const C = head.nColumns;
    let space: OutputSpace = options.outputSpace ?? (requested && this.kind === 'classifier' && head.probabilitySupported ? 'probability' : 'raw');
    if (space === 'probability' && !head.probabilitySupported) {
      throw invalidInput(`this model's outputs (${head.describe()}) cannot be explained in probability space; ask for outputSpace 'raw'`);
    }
    if (this.kind !== 'classifier') space = 'raw';
    const values: Float64Array[] = [];
    const output: Float64Array[] = [];
    const base = new Float64Array(C);
    if (space === 'raw' || head.identity) {
      const mean = new Float64Array(M);
      for (let b = 0; b < bg.matrix.rows; b++) for (let j = 0; j < M; j++) mean[j]! += bg.matrix.data[b * M + j]! / bg.matrix.rows;
      const phi = new Float64Array(M * R);
      const z = new Float64Array(R);
      for (let i = 0; i < x.rows; i++) {
        linearShap(model, x.data, mean, phi, i * x.cols);
        const v = new Float64Array(M * C);
        head.addRawAttributions(phi, M, v);
        values.push(v);
        const o = new Float64Array(C);
        linearRaw(model, x.data, z, i * x.cols);
        if (space === 'raw') head.rawColumns(z, o);
        else head.outputs(z, o);
        output.push(o);
      }
      const zm = linearRaw(model, mean);
      if (space === 'raw') head.rawColumns(zm, base);
      else {
        // Identity head: the outputs are affine in z, so their mean is the outputs at the mean.
        head.outputs(zm, base);
      }
      return this.result('linear-shap', space === 'raw' && !(this.kind === 'classifier' && head.identity) ? 'raw' : 'probability', base, values, output, { rows: bg.matrix.rows, source: bg.source });
    }
    // Probability space: per background row, w (x - b) moved through the head's secant.
    const sample = sampleRows(bg.matrix, this.limits.interventionalBackgroundRows, options.seed ?? this.seed);
    const B = sample.rows;
    const gb = new Float64Array(B * R);
    const cols = new Float64Array(C);
    for (let b = 0; b < B; b++) {
      linearRaw(model, sample.data, gb.subarray(b * R, (b + 1) * R), b * M);
      head.outputs(gb.subarray(b * R, (b + 1) * R), cols);
      for (let c = 0; c < C; c++) base[c]! += cols[c]! / B;
    }
    const A = new Float64Array(C * R);
    const scratch: SecantScratch = {};
    const gx = new Float64Array(R);
    for (let i = 0; i < x.rows; i++) {
      linearRaw(model, x.data, gx, i * x.cols);
      const v = new Float64Array(M * C);
      for (let b = 0; b < B; b++) {
        head.secant(gx, gb.subarray(b * R, (b + 1) * R), A, scratch);
        for (let j = 0; j < M; j++) {
          const d = x.data[i * x.cols + j]! - sample.data[b * M + j]!;
          for (let c = 0; c < C; c++) {
            let s = 0;
            for (let k = 0; k < R; k++) s += A[c * R + k]! * model.coef[k * M + j]!;
            v[j * C + c]! += (s * d) / B;
          }
        }
      }
      values.push(v);
      const o = new Float64Array(C);
      head.outputs(gx, o);
      output.push(o);
    }
    return this.result('linear-shap', 'probability', base, values, output, { rows: B, source: bg.source });
  }

  // --- kernel SHAP ---------------------------------------------------------------------------

  private async explainKernel(x: Matrix, requested: Background | undefined, options: ExplainOptions): Promise<ExplanationArrays> {
    const bg = requested ?? this.stored;
    if (!bg) throw invalidInput(`kernel SHAP needs background rows: ${backgroundHint}`);
    const seed = options.seed ?? this.seed;
    const M = this.features.length;
    const budget = options.budget ?? Math.min(this.limits.defaultBudget, 2 * M + 2048, this.limits.maxBudget);
    const sample = sampleRows(bg.matrix, this.limits.kernelBackgroundRows, bg === this.stored ? this.seed : seed);
    const cachedMean = bg === this.stored ? this.storedKernelMean : undefined;
    const r = await kernelShap(x, sample, this.predict!, { budget, seed, maxRowsPerCall: this.limits.maxRowsPerCall }, cachedMean);
    if (bg === this.stored) this.storedKernelMean = r.base;
    if (r.columns !== this.outputs.length) {
      if (this.family !== 'other') throw new PlinthError('INTERNAL', `the model returned ${r.columns} output columns, expected ${this.outputs.length}`);
      this.outputs = this.outputNames(this.schema, r.columns);
    }
    const space: OutputSpace = this.kind === 'classifier' ? 'probability' : 'raw';
    const result = this.result('kernel-shap', space, r.base, r.records.map((k) => k.values), r.records.map((k) => k.output), { rows: sample.rows, source: bg.source });
    result.kernel = {
      coalitions: Math.max(0, ...r.records.map((k) => k.coalitions)),
      exact: r.records.every((k) => k.exact),
      modelCalls: r.modelCalls,
      modelRows: r.modelRows,
      seed,
    };
    return result;
  }

  // --- global importance ---------------------------------------------------------------------

  /**
   * Mean |SHAP| per feature over the stored background (the request's rows when given), with the
   * method a request without `_samples` gets. Cached for the stored background.
   */
  async globalImportance(rows?: unknown[] | Matrix): Promise<GlobalImportance> {
    if (!rows && this.importance) return this.importance;
    const source = rows ? this.toMatrix(rows, false, 'record') : this.stored?.matrix;
    if (!source) throw invalidInput(`global importance averages SHAP values over background rows: ${backgroundHint}`);
    const limit = this.family === 'other' ? this.limits.importanceKernelRows : this.limits.importanceRows;
    const m = sampleRows(source, limit, this.seed);
    const e = await this.explainArrays(m, this.family === 'tree' ? { perturbation: 'path-dependent' } : {});
    const M = this.features.length;
    const C = this.outputs.length;
    const byOutput: Record<string, Record<string, number>> = {};
    const importance: Record<string, number> = {};
    for (let c = 0; c < C; c++) byOutput[this.outputs[c]!] = {};
    for (let j = 0; j < M; j++) {
      let all = 0;
      for (let c = 0; c < C; c++) {
        let s = 0;
        for (const v of e.values) s += Math.abs(v[j * C + c]!);
        byOutput[this.outputs[c]!]![this.features[j]!] = s / e.values.length;
        all += s / e.values.length;
      }
      importance[this.features[j]!] = all / C;
    }
    const result: GlobalImportance = { method: e.method, outputSpace: e.outputSpace, rows: m.rows, importance, byOutput };
    if (!rows) this.importance = result;
    return result;
  }
}

/** Keyed form of explanation arrays. */
export function toKeyed(a: ExplanationArrays): Explanation {
  const C = a.outputs.length;
  const base: Record<string, number> = {};
  a.outputs.forEach((o, c) => (base[o] = a.base[c]!));
  const records = a.values.map((v, r) => {
    const values: Record<string, Record<string, number>> = {};
    const output: Record<string, number> = {};
    a.outputs.forEach((o, c) => {
      const perFeature: Record<string, number> = {};
      a.features.forEach((f, j) => (perFeature[f] = v[j * C + c]!));
      values[o] = perFeature;
      output[o] = a.output[r]![c]!;
    });
    return { values, output };
  });
  return { method: a.method, outputSpace: a.outputSpace, outputs: a.outputs, features: a.features, base, records, background: a.background, kernel: a.kernel };
}

/**
 * The output column a single-column explanation reports (`?explain=1`, batch jobs' explanation
 * columns), as the Flask template chose it: the value of a regressor, the positive (second)
 * class of a binary classifier, the predicted class otherwise.
 */
export function explainedColumn(outputs: readonly string[], predicted: unknown): number {
  if (outputs.length === 2) return 1;
  if (outputs.length > 2) return Math.max(0, outputs.indexOf(String(predicted)));
  return 0;
}

export function createExplainer(init: ExplainerInit): Explainer {
  return new Explainer(init);
}
