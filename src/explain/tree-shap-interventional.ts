/**
 * Interventional tree SHAP (Lundberg et al., "From local explanations to global understanding
 * with explainable AI for trees", Nature Machine Intelligence 2020, "Independent Tree SHAP"):
 * for one background row b the game is v_b(S) = f(x_S, b_not S); its Shapley values are exact and
 * computed per tree by walking the paths x and b can take together. Averaging over the background
 * rows gives the interventional SHAP values, with base value E_b[f(b)].
 *
 * Per tree and background row, a leaf reached when the features in A follow x (where x and b
 * split differently) and those in B follow b contributes v (|A|-1)! |B|! / (|A|+|B|)! to each
 * feature of A and -v |A|! (|B|-1)! / (|A|+|B|)! to each feature of B: the Shapley values of
 * the game "v when A is in the coalition and B is not".
 *
 * Attributions are computed per background row in raw space, then moved to the output space
 * through the head's secant for that row (output-head.ts), so that in probability space too the
 * values sum exactly to p(x) - E_b[p(b)].
 */
import type { OutputHead, SecantScratch } from './output-head.js';
import { goesYes, predictRaw } from './tree-ensemble.evaluator.js';
import type { Matrix, Tree, TreeEnsemble } from './tree-ensemble.types.js';

/** The background, routed once through every tree. */
export interface InterventionalBackground {
  rows: number;
  /** Per tree: directions[b * nodes + node] = 1 when background row b takes the true child. */
  directions: Uint8Array[];
  /** Raw scores per background row, rows x nScores. */
  raw: Float64Array;
  /** The model's output columns per background row, rows x nColumns. */
  outputs: Float64Array;
}

export function routeBackground(ensemble: TreeEnsemble, background: Matrix): InterventionalBackground {
  const B = background.rows;
  const directions = ensemble.trees.map((tree) => {
    const n = tree.feature.length;
    const d = new Uint8Array(B * n);
    for (let b = 0; b < B; b++) {
      const off = b * background.cols;
      for (let node = 0; node < n; node++) {
        const f = tree.feature[node]!;
        if (f >= 0) d[b * n + node] = goesYes(tree, node, background.data[off + f]!) ? 1 : 0;
      }
    }
    return d;
  });
  const R = ensemble.nScores;
  const C = ensemble.head.nColumns;
  const raw = new Float64Array(B * R);
  const outputs = new Float64Array(B * C);
  const r = new Float64Array(R);
  const o = new Float64Array(C);
  for (let b = 0; b < B; b++) {
    predictRaw(ensemble, background.data, r, b * background.cols);
    raw.set(r, b * R);
    ensemble.head.outputs(r, o);
    outputs.set(o, b * C);
  }
  return { rows: B, directions, raw, outputs };
}

export interface InterventionalResult {
  /** features x columns, row-major. */
  values: Float64Array;
  /** Per column: the mean over the background of the explained quantity. */
  base: Float64Array;
  /** Per column: the explained quantity at x (base + sum of values). */
  output: Float64Array;
}

export class InterventionalTreeShap {
  private readonly status: Uint8Array;
  private readonly inA: Int32Array;
  private readonly inB: Int32Array;
  private nA = 0;
  private nB = 0;
  private readonly wA: Float64Array[];
  private readonly wB: Float64Array[];
  private tree!: Tree;
  private xDir!: Uint8Array;
  private bDir!: Uint8Array;
  private bOff = 0;
  private phi!: Float64Array;
  private readonly R: number;
  private readonly xDirs: Uint8Array[];

  constructor(private readonly ensemble: TreeEnsemble, private readonly background: InterventionalBackground) {
    const M = ensemble.nFeatures;
    this.status = new Uint8Array(M);
    const D = Math.max(1, ...ensemble.trees.map((t) => t.depth)) + 1;
    this.inA = new Int32Array(D);
    this.inB = new Int32Array(D);
    this.R = ensemble.nScores;
    // wA[a][b] = (a-1)! b! / (a+b)!, wB[a][b] = a! (b-1)! / (a+b)!
    const fact = [1];
    for (let i = 1; i <= 2 * D; i++) fact.push(fact[i - 1]! * i);
    this.wA = [];
    this.wB = [];
    for (let a = 0; a <= D; a++) {
      const rowA = new Float64Array(D + 1);
      const rowB = new Float64Array(D + 1);
      for (let b = 0; b <= D; b++) {
        if (a > 0) rowA[b] = (fact[a - 1]! * fact[b]!) / fact[a + b]!;
        if (b > 0) rowB[b] = (fact[a]! * fact[b - 1]!) / fact[a + b]!;
      }
      this.wA.push(rowA);
      this.wB.push(rowB);
    }
    this.xDirs = ensemble.trees.map((t) => new Uint8Array(t.feature.length));
  }

  /**
   * SHAP values of row x (features from xOffset) against the background, in raw space
   * (`space: 'raw'`, the head's raw columns) or in the model's output space.
   */
  explain(x: ArrayLike<number>, space: 'raw' | 'output', xOffset = 0): InterventionalResult {
    const e = this.ensemble;
    const head: OutputHead = e.head;
    const M = e.nFeatures;
    const R = this.R;
    const C = head.nColumns;
    const B = this.background.rows;
    e.trees.forEach((tree, t) => {
      const dir = this.xDirs[t]!;
      for (let node = 0; node < tree.feature.length; node++) {
        const f = tree.feature[node]!;
        if (f >= 0) dir[node] = goesYes(tree, node, x[xOffset + f]!) ? 1 : 0;
      }
    });
    const gx = predictRaw(e, x, new Float64Array(R), xOffset);
    const values = new Float64Array(M * C);
    const base = new Float64Array(C);
    const output = new Float64Array(C);
    const phiB = new Float64Array(M * R);
    const linear = space === 'raw' || head.identity;
    const A = new Float64Array(C * R);
    const scratch: SecantScratch = {};
    const gb = new Float64Array(R);
    // With an affine head, per-row attributions are summed in raw space and mapped once.
    const rawSum = linear ? new Float64Array(M * R) : undefined;
    for (let b = 0; b < B; b++) {
      phiB.fill(0);
      this.phi = phiB;
      e.trees.forEach((tree, t) => {
        this.tree = tree;
        this.xDir = this.xDirs[t]!;
        this.bDir = this.background.directions[t]!;
        this.bOff = b * tree.feature.length;
        this.nA = 0;
        this.nB = 0;
        this.walk(0);
      });
      if (rawSum) {
        for (let i = 0; i < phiB.length; i++) rawSum[i]! += phiB[i]!;
        continue;
      }
      for (let k = 0; k < R; k++) gb[k] = this.background.raw[b * R + k]!;
      head.secant(gx, gb, A, scratch);
      for (let j = 0; j < M; j++) {
        for (let c = 0; c < C; c++) {
          let s = 0;
          for (let k = 0; k < R; k++) s += A[c * R + k]! * phiB[j * R + k]!;
          values[j * C + c]! += s;
        }
      }
    }
    const cols = new Float64Array(C);
    if (rawSum) {
      head.addRawAttributions(rawSum, M, values, 1 / B);
      for (let b = 0; b < B; b++) {
        if (space === 'raw') head.rawColumns(this.background.raw.subarray(b * R, (b + 1) * R), cols);
        else head.outputs(this.background.raw.subarray(b * R, (b + 1) * R), cols);
        for (let c = 0; c < C; c++) base[c]! += cols[c]! / B;
      }
    } else {
      for (let i = 0; i < values.length; i++) values[i]! /= B;
      for (let b = 0; b < B; b++) for (let c = 0; c < C; c++) base[c]! += this.background.outputs[b * C + c]! / B;
    }
    if (space === 'raw') head.rawColumns(gx, output);
    else head.outputs(gx, output);
    return { values, base, output };
  }

  private walk(node: number): void {
    const tree = this.tree;
    for (;;) {
      const f = tree.feature[node]!;
      if (f < 0) break;
      const xy = this.xDir[node]!;
      const by = this.bDir[this.bOff + node]!;
      if (xy === by) {
        node = xy ? tree.yes[node]! : tree.no[node]!;
        continue;
      }
      const st = this.status[f]!;
      if (st === 1) {
        node = xy ? tree.yes[node]! : tree.no[node]!;
        continue;
      }
      if (st === 2) {
        node = by ? tree.yes[node]! : tree.no[node]!;
        continue;
      }
      // First split where x and b part on feature f: follow x with f in A, then b with f in B.
      this.status[f] = 1;
      this.inA[this.nA++] = f;
      this.walk(xy ? tree.yes[node]! : tree.no[node]!);
      this.nA--;
      this.status[f] = 2;
      this.inB[this.nB++] = f;
      this.walk(by ? tree.yes[node]! : tree.no[node]!);
      this.nB--;
      this.status[f] = 0;
      return;
    }
    const a = this.nA;
    const b = this.nB;
    if (a + b === 0) return;
    const R = this.R;
    const vOff = node * R;
    const values = tree.values;
    const phi = this.phi;
    if (a > 0) {
      const w = this.wA[a]![b]!;
      for (let i = 0; i < a; i++) {
        const pOff = this.inA[i]! * R;
        for (let k = 0; k < R; k++) phi[pOff + k]! += w * values[vOff + k]!;
      }
    }
    if (b > 0) {
      const w = this.wB[a]![b]!;
      for (let i = 0; i < b; i++) {
        const pOff = this.inB[i]! * R;
        for (let k = 0; k < R; k++) phi[pOff + k]! -= w * values[vOff + k]!;
      }
    }
  }
}
