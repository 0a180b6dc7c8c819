/**
 * How a model's raw scores (leaf sums, linear scores) become its output columns, and how
 * attributions of the raw scores become attributions of those columns.
 *
 * Two layouts, as ONNX Runtime writes them (checked against onnxruntime-node in the tests):
 * - `vector`: one raw score per output column, then the post transform (NONE, LOGISTIC element-wise,
 *   SOFTMAX, SOFTMAX_ZERO, PROBIT) over the row.
 * - `single`: a binary model with one raw score s. u = link(s) (identity or logistic) is the
 *   positive column; the negative column is 1 - u (`one-minus`) or -u (`negate`).
 *
 * Attributions in probability space use, per background row b, the secant of the link between
 * the raw scores g(b) and g(x) (see docs/explanations.md): for an element-wise link the rescale
 * (p(x) - p(b)) / (g(x) - g(b)) of DeepLIFT and shap's TreeExplainer; for softmax the Shapley
 * value over classes of moving each raw score from g_c(b) to g_c(x), divided by that move. Either
 * way the column's attributions sum to p(x) - p(b) exactly.
 */
import type { PostTransform } from './tree-ensemble.types.js';

export type SingleLink = 'identity' | 'logistic';
export type Complement = 'one-minus' | 'negate';

/** Largest class count for which softmax attributions are moved to probability space (2^K subsets). */
export const MAX_SOFTMAX_CLASSES = 12;

export const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

function softmaxInto(raw: ArrayLike<number>, out: Float64Array, offset = 0, n = raw.length): void {
  let max = -Infinity;
  for (let k = 0; k < n; k++) if (raw[k]! > max) max = raw[k]!;
  let sum = 0;
  for (let k = 0; k < n; k++) sum += out[offset + k] = Math.exp(raw[k]! - max);
  for (let k = 0; k < n; k++) out[offset + k]! /= sum;
}

/** ONNX Runtime's SOFTMAX_ZERO: scores of exactly zero stay zero. */
function softmaxZeroInto(raw: ArrayLike<number>, out: Float64Array): void {
  let max = -Infinity;
  for (let k = 0; k < raw.length; k++) if (raw[k]! > max) max = raw[k]!;
  let sum = 0;
  for (let k = 0; k < raw.length; k++) {
    const v = raw[k]!;
    out[k] = v > 1e-7 || v < -1e-7 ? Math.exp(v - max) : v * Math.exp(-max);
    if (v > 1e-7 || v < -1e-7) sum += out[k]!;
  }
  for (let k = 0; k < raw.length; k++) out[k]! /= sum;
}

/** ONNX Runtime's PROBIT transform (its erfinv approximation), for output fidelity only. */
function probit(v: number): number {
  let x = 2 * v - 1;
  const sgn = x < 0 ? -1 : 1;
  x = (1 - x) * (1 + x);
  const log = Math.log(x);
  const a = 2 / (Math.PI * 0.147) + 0.5 * log;
  const b = (1 / 0.147) * log;
  return Math.SQRT2 * sgn * Math.sqrt(-a + Math.sqrt(a * a - b));
}

export class OutputHead {
  /** Column c's raw value is columnOffset[c] + columnSign[c] * raw[columnScore[c]]. */
  readonly columnScore: Int32Array;
  readonly columnSign: Float64Array;
  readonly columnRawOffset: Float64Array;

  private constructor(
    readonly layout: 'vector' | 'single',
    readonly nScores: number,
    readonly nColumns: number,
    /** vector layout: the post transform. */
    readonly transform: PostTransform,
    /** single layout: the link and the negative column. */
    readonly link: SingleLink,
    readonly complement: Complement,
  ) {
    this.columnScore = new Int32Array(nColumns);
    this.columnSign = new Float64Array(nColumns).fill(1);
    this.columnRawOffset = new Float64Array(nColumns);
    if (layout === 'vector') {
      for (let c = 0; c < nColumns; c++) this.columnScore[c] = c;
    } else {
      this.columnSign[0] = -1;
      // Identity link with 1 - u: the negative column is 1 - s itself; otherwise its raw value is -s.
      this.columnRawOffset[0] = link === 'identity' && complement === 'one-minus' ? 1 : 0;
    }
  }

  static vector(nScores: number, transform: PostTransform): OutputHead {
    return new OutputHead('vector', nScores, nScores, transform, 'identity', 'one-minus');
  }

  static single(link: SingleLink, complement: Complement): OutputHead {
    return new OutputHead('single', 1, 2, 'NONE', link, complement);
  }

  /** The outputs are an affine map of the raw scores, so raw attributions already explain them. */
  get identity(): boolean {
    return this.layout === 'vector' ? this.transform === 'NONE' : this.link === 'identity';
  }

  /** Whether attributions can be moved to the output (probability) space. */
  get probabilitySupported(): boolean {
    if (this.layout === 'single') return true;
    if (this.transform === 'NONE' || this.transform === 'LOGISTIC') return true;
    return this.transform === 'SOFTMAX' && this.nScores <= MAX_SOFTMAX_CLASSES;
  }

  describe(): string {
    return this.layout === 'vector' ? `${this.nScores} scores, ${this.transform}` : `1 score, ${this.link} link, ${this.complement}`;
  }

  /** The model's output columns for one row of raw scores. */
  outputs(raw: ArrayLike<number>, out: Float64Array): void {
    if (this.layout === 'single') {
      const u = this.link === 'logistic' ? sigmoid(raw[0]!) : raw[0]!;
      out[1] = u;
      out[0] = this.complement === 'one-minus' ? 1 - u : -u;
      return;
    }
    switch (this.transform) {
      case 'LOGISTIC':
        for (let k = 0; k < this.nScores; k++) out[k] = sigmoid(raw[k]!);
        return;
      case 'SOFTMAX':
        softmaxInto(raw, out);
        return;
      case 'SOFTMAX_ZERO':
        softmaxZeroInto(raw, out);
        return;
      case 'PROBIT':
        for (let k = 0; k < this.nScores; k++) out[k] = probit(raw[k]!);
        return;
      default:
        for (let k = 0; k < this.nScores; k++) out[k] = raw[k]!;
    }
  }

  /** The raw-space value of each column. */
  rawColumns(raw: ArrayLike<number>, out: Float64Array): void {
    for (let c = 0; c < this.nColumns; c++) out[c] = this.columnRawOffset[c]! + this.columnSign[c]! * raw[this.columnScore[c]!]!;
  }

  /**
   * Column attributions from raw-score attributions (features x scores, row-major), in raw space:
   * out[j * nColumns + c] += weight * sign_c * phi[j * nScores + score_c].
   */
  addRawAttributions(phi: Float64Array, nFeatures: number, out: Float64Array, weight = 1): void {
    const R = this.nScores;
    const C = this.nColumns;
    for (let j = 0; j < nFeatures; j++) {
      for (let c = 0; c < C; c++) out[j * C + c]! += weight * this.columnSign[c]! * phi[j * R + this.columnScore[c]!]!;
    }
  }

  /**
   * The secant matrix A (columns x scores) between raw scores gb and gx: column c of the output
   * moves by sum_k A[c][k] * (gx[k] - gb[k]), exactly p_c(x) - p_c(b).
   */
  secant(gx: Float64Array, gb: Float64Array, A: Float64Array, scratch: SecantScratch): void {
    const R = this.nScores;
    const C = this.nColumns;
    A.fill(0);
    if (this.layout === 'single') {
      const d = gx[0]! - gb[0]!;
      let s: number;
      if (this.link === 'identity') s = 1;
      else if (Math.abs(d) > 1e-12) s = (sigmoid(gx[0]!) - sigmoid(gb[0]!)) / d;
      else {
        const p = sigmoid(gx[0]!);
        s = p * (1 - p);
      }
      A[1] = s;
      A[0] = -s;
      return;
    }
    if (this.transform === 'NONE') {
      for (let k = 0; k < R; k++) A[k * R + k] = 1;
      return;
    }
    if (this.transform === 'LOGISTIC') {
      for (let k = 0; k < R; k++) {
        const d = gx[k]! - gb[k]!;
        let s: number;
        if (Math.abs(d) > 1e-12) s = (sigmoid(gx[k]!) - sigmoid(gb[k]!)) / d;
        else {
          const p = sigmoid(gx[k]!);
          s = p * (1 - p);
        }
        A[k * R + k] = s;
      }
      return;
    }
    if (this.transform !== 'SOFTMAX' || R > MAX_SOFTMAX_CLASSES) {
      throw new Error(`attributions cannot be moved to probability space through ${this.describe()}`);
    }
    softmaxSecant(gx, gb, A, R, C, scratch);
  }
}

/** Reusable buffers for softmax secants (2^K probability vectors). */
export interface SecantScratch {
  probs?: Float64Array;
  point?: Float64Array;
}

/**
 * Softmax: the scores that move (D = {k : gx_k != gb_k}) are players; w_c(T) = softmax_c(gb with
 * the scores in T moved to gx). A[c][k] = Shapley_k(w_c) / (gx_k - gb_k), so that
 * sum_k A[c][k] (gx_k - gb_k) = w_c(D) - w_c(empty) = p_c(x) - p_c(b) (efficiency). Scores that
 * do not move get the softmax Jacobian at gx (their raw attributions sum to zero anyway).
 */
function softmaxSecant(gx: Float64Array, gb: Float64Array, A: Float64Array, R: number, C: number, scratch: SecantScratch): void {
  const moving: number[] = [];
  for (let k = 0; k < R; k++) if (Math.abs(gx[k]! - gb[k]!) > 1e-12) moving.push(k);
  const d = moving.length;
  const subsets = 1 << d;
  if (!scratch.probs || scratch.probs.length < subsets * R) scratch.probs = new Float64Array(subsets * R);
  if (!scratch.point || scratch.point.length < R) scratch.point = new Float64Array(R);
  const probs = scratch.probs;
  const point = scratch.point;
  for (let mask = 0; mask < subsets; mask++) {
    for (let k = 0; k < R; k++) point[k] = gb[k]!;
    for (let i = 0; i < d; i++) if (mask & (1 << i)) point[moving[i]!] = gx[moving[i]!]!;
    softmaxInto(point, probs, mask * R, R);
  }
  // Shapley weights |T|! (d - |T| - 1)! / d!.
  const fact = [1];
  for (let i = 1; i <= d; i++) fact.push(fact[i - 1]! * i);
  for (let i = 0; i < d; i++) {
    const k = moving[i]!;
    const bit = 1 << i;
    const delta = gx[k]! - gb[k]!;
    for (let mask = 0; mask < subsets; mask++) {
      if (mask & bit) continue;
      let size = 0;
      for (let m = mask; m; m &= m - 1) size++;
      const w = (fact[size]! * fact[d - size - 1]!) / fact[d]!;
      for (let c = 0; c < C; c++) A[c * R + k]! += (w * (probs[(mask | bit) * R + c]! - probs[mask * R + c]!)) / delta;
    }
  }
  if (d < R) {
    softmaxInto(gx, point, 0, R);
    for (let k = 0; k < R; k++) {
      if (moving.includes(k)) continue;
      for (let c = 0; c < C; c++) A[c * R + k] = point[c]! * ((c === k ? 1 : 0) - point[k]!);
    }
  }
}
