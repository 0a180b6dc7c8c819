/**
 * Explanation columns of a batch job: per output row, the SHAP value of each model feature and
 * the base value, for the one output column `?explain=1` explains for that record (the value of
 * a regressor, the positive class of a binary classifier, the predicted class otherwise), with
 * the method and output space online explanations use without `_samples`.
 */
import { invalidInput } from '../core/errors.js';
import { explainedColumn, type Explainer, type ExplanationArrays } from '../explain/explainer.js';
import type { Matrix } from '../explain/tree-ensemble.types.js';

const PREFIX = 'shap_';

/** CSV column names: the base value first (`shap_base`, or `shap_base_` beside a feature named `base`), then `shap_<feature>` in feature order. */
export function explanationColumns(features: readonly string[]): string[] {
  const values = features.map((f) => PREFIX + f);
  let base = `${PREFIX}base`;
  while (values.includes(base)) base += '_';
  return [base, ...values];
}

/** Whether a carried input column could clash with an explanation column (CSV) or key (NDJSON). */
export const clashesWithExplanations = (column: string): boolean => column === 'explanation' || column.startsWith(PREFIX);

const backgroundFix =
  "add `background:` to the model's model.yaml (records, or the relative path of a .csv or .json file in the model folder, " +
  'up to 1,000 rows of typical inputs) and upload that as a new version';

/**
 * Why a job cannot explain this model, or undefined when it can. A job has no `_samples`, so a
 * method that needs background rows needs the manifest's. Checked at submission (a 400) and
 * again by the worker before it scores anything.
 */
export function batchExplanationProblem(explainer: Explainer): string | undefined {
  const info = explainer.info();
  if (!info.explainable) return `the model cannot be explained: ${info.reason ?? 'unknown reason'}`;
  if (!info.needsBackground || info.hasBackground) return undefined;
  const need = {
    'tree-shap-path-dependent': 'path-dependent tree SHAP needs background rows to compute the cover of the trees (this model stores none)',
    'tree-shap-interventional': 'interventional tree SHAP needs background rows',
    'linear-shap': 'linear SHAP needs the mean of background rows',
    'kernel-shap': 'kernel SHAP needs background rows',
  }[info.method];
  return `${need}, and the model's manifest has no background: ${backgroundFix}`;
}

/** Throws INVALID_INPUT naming the problem (batchExplanationProblem) and the model, if there is one. */
export function assertExplainable(problem: string | undefined, model: string): void {
  if (problem) throw invalidInput(`explanations: true cannot be served for ${model}: ${problem}`);
}

/** A chunk's explanations and, per scored row, the output column explained. */
export interface ChunkExplanation {
  arrays: ExplanationArrays;
  columns: Int32Array;
}

/** Rows per explainer call: tree SHAP's tables are built once and kept, so slices cost nothing, and a stop waits for one slice at most. */
const SLICE_ROWS = 1024;

/**
 * Explains a chunk's rows with the explainer's batch API and writes the columns or the NDJSON
 * `explanation` object of each row. Exact methods take slices of SLICE_ROWS rows; kernel SHAP
 * takes one record per call, as a single-record `?explain=1` does: its coalition sampling then
 * starts from the seed for every record, so a value depends neither on the chunk size nor on
 * the record's place in it (a record needs several model calls of its own anyway).
 */
export class ChunkExplainer {
  private stopped = false;

  constructor(private readonly explainer: Explainer) {}

  /** A feature matrix (float32, as the explainers read it) or records keyed by feature name. */
  async explain(rows: Matrix | unknown[], textual: boolean): Promise<ExplanationArrays> {
    const n = Array.isArray(rows) ? rows.length : rows.rows;
    const step = this.explainer.method === 'kernel-shap' ? 1 : SLICE_ROWS;
    let all: ExplanationArrays | undefined;
    for (let start = 0; start < n; start += step) {
      // Between slices: a stop (cancel, shutdown) that arrived meanwhile ends the chunk here.
      if (start > 0) await new Promise((resolve) => setImmediate(resolve));
      if (this.stopped) throw new Error('the explanation was stopped');
      const end = Math.min(n, start + step);
      const slice = Array.isArray(rows) ? rows.slice(start, end) : { data: rows.data.subarray(start * rows.cols, end * rows.cols), rows: end - start, cols: rows.cols };
      const part = await this.explainer.explainArrays(slice, { textual });
      if (!all) all = part;
      else for (let i = 0; i < part.values.length; i++) all.values.push(part.values[i]!), all.output.push(part.output[i]!);
    }
    return all!;
  }

  /** Ends the explanation in progress after its current slice (a stopping job does not wait for a whole chunk). */
  stop(): void {
    this.stopped = true;
  }

  /** Picks, per row, the column its prediction says to explain. */
  columns(arrays: ExplanationArrays, predictions: readonly unknown[]): ChunkExplanation {
    const columns = new Int32Array(predictions.length);
    for (let i = 0; i < predictions.length; i++) columns[i] = explainedColumn(arrays.outputs, predictions[i]);
    return { arrays, columns };
  }

  /** Row i's cells after a comma each: base value, then one SHAP value per feature (numbers, so never formula-escaped). */
  csvCells(e: ChunkExplanation, i: number, write: (cell: string) => void): void {
    const { arrays, columns } = e;
    const c = columns[i]!;
    const C = arrays.outputs.length;
    const values = arrays.values[i]!;
    write(numberCell(arrays.base[c]!));
    for (let j = 0; j < arrays.features.length; j++) write(numberCell(values[j * C + c]!));
  }

  /** Row i's NDJSON `explanation`: the output explained, its base value and the SHAP value per feature. */
  object(e: ChunkExplanation, i: number): { output: string; base: number; values: Record<string, number> } {
    const { arrays, columns } = e;
    const c = columns[i]!;
    const C = arrays.outputs.length;
    const row = arrays.values[i]!;
    const values: Record<string, number> = {};
    arrays.features.forEach((f, j) => (values[f] = row[j * C + c]!));
    return { output: arrays.outputs[c]!, base: arrays.base[c]!, values };
  }
}

const numberCell = (n: number): string => (Number.isFinite(n) ? String(n) : '');
