/**
 * Brute-force references for the explanation tests: exact Shapley values by enumerating all 2^M
 * coalitions, the two tree games (path-dependent expectation, interventional average), and
 * random tree ensembles to run them on.
 */
import { OutputHead } from '../../../src/explain/output-head.js';
import { Prng } from '../../../src/explain/prng.js';
import { childFor, predictRaw } from '../../../src/explain/tree-ensemble.evaluator.js';
import { NodeMode, type Matrix, type Tree, type TreeEnsemble } from '../../../src/explain/tree-ensemble.types.js';
import type { PreparedEnsemble } from '../../../src/explain/tree-shap.js';

/** phi[j * R + k] for the game v (mask -> R values) over M players. */
export function exactShapley(M: number, R: number, v: (mask: number) => ArrayLike<number>): Float64Array {
  const values: ArrayLike<number>[] = [];
  for (let mask = 0; mask < 1 << M; mask++) values.push(Float64Array.from(v(mask)));
  const fact = [1];
  for (let i = 1; i <= M; i++) fact.push(fact[i - 1]! * i);
  const phi = new Float64Array(M * R);
  for (let j = 0; j < M; j++) {
    const bit = 1 << j;
    for (let mask = 0; mask < 1 << M; mask++) {
      if (mask & bit) continue;
      let s = 0;
      for (let m = mask; m; m &= m - 1) s++;
      const w = (fact[s]! * fact[M - s - 1]!) / fact[M]!;
      for (let k = 0; k < R; k++) phi[j * R + k]! += w * (values[mask | bit]![k]! - values[mask]![k]!);
    }
  }
  return phi;
}

/** Algorithm 1 of Lundberg et al. 2018: E[f(x) | x_S] following the cover where a feature is not in S. */
export function pathDependentValue(prepared: PreparedEnsemble, x: ArrayLike<number>, mask: number): Float64Array {
  const e = prepared.ensemble;
  const R = e.nScores;
  const out = Float64Array.from(e.base);
  e.trees.forEach((tree, t) => {
    const frac = prepared.yesFraction[t]!;
    const g = (node: number, w: number): void => {
      if (tree.feature[node]! < 0) {
        for (let k = 0; k < R; k++) out[k]! += w * tree.values[node * R + k]!;
        return;
      }
      if (mask & (1 << tree.feature[node]!)) g(childFor(tree, node, x), w);
      else {
        g(tree.yes[node]!, w * frac[node]!);
        g(tree.no[node]!, w * (1 - frac[node]!));
      }
    };
    g(0, 1);
  });
  return out;
}

/** mean over background rows of f(x where mask, b elsewhere). */
export function interventionalValue(f: (row: Float32Array) => ArrayLike<number>, R: number, x: ArrayLike<number>, background: Matrix, mask: number): Float64Array {
  const out = new Float64Array(R);
  const row = new Float32Array(background.cols);
  for (let b = 0; b < background.rows; b++) {
    for (let j = 0; j < background.cols; j++) row[j] = mask & (1 << j) ? x[j]! : background.data[b * background.cols + j]!;
    const y = f(row);
    for (let k = 0; k < R; k++) out[k]! += y[k]! / background.rows;
  }
  return out;
}

export interface RandomEnsembleOptions {
  trees: number;
  depth: number;
  features: number;
  scores?: number;
  /** Use every branch rule and NaN tracking; otherwise BRANCH_LEQ only. */
  allModes?: boolean;
  cover?: boolean;
  head?: OutputHead;
  /** Features the trees may split on (default all). */
  use?: number[];
}

const MODES = [NodeMode.BRANCH_LEQ, NodeMode.BRANCH_LT, NodeMode.BRANCH_GTE, NodeMode.BRANCH_GT, NodeMode.BRANCH_EQ, NodeMode.BRANCH_NEQ];

/** A random ensemble over features with values on the grid {0, 0.25, ..., 1}. */
export function randomEnsemble(seed: number, o: RandomEnsembleOptions): TreeEnsemble {
  const rng = new Prng(seed);
  const R = o.scores ?? 1;
  const use = o.use ?? Array.from({ length: o.features }, (_, i) => i);
  const trees: Tree[] = [];
  for (let t = 0; t < o.trees; t++) {
    const feature: number[] = [];
    const threshold: number[] = [];
    const mode: number[] = [];
    const yes: number[] = [];
    const no: number[] = [];
    const missing: number[] = [];
    const cover: number[] = [];
    const values: number[] = [];
    let depth = 0;
    const make = (d: number, c: number): number => {
      const id = feature.length;
      feature.push(-1); threshold.push(0); mode.push(0); yes.push(-1); no.push(-1); missing.push(0); cover.push(c);
      for (let k = 0; k < R; k++) values.push(0);
      if (d === o.depth || (d > 0 && rng.next() < 0.2)) {
        for (let k = 0; k < R; k++) values[id * R + k] = Math.round((rng.next() * 4 - 2) * 1000) / 1000;
        depth = Math.max(depth, d);
        return id;
      }
      feature[id] = use[rng.int(use.length)]!;
      threshold[id] = [0.25, 0.5, 0.75][rng.int(3)]!;
      mode[id] = o.allModes ? MODES[rng.int(MODES.length)]! : NodeMode.BRANCH_LEQ;
      missing[id] = o.allModes && rng.next() < 0.5 ? 1 : 0;
      const share = 0.2 + 0.6 * rng.next();
      const a = make(d + 1, c * share);
      const b = make(d + 1, c * (1 - share));
      yes[id] = a;
      no[id] = b;
      return id;
    };
    make(0, 100);
    trees.push({
      feature: Int32Array.from(feature), threshold: Float64Array.from(threshold), mode: Uint8Array.from(mode),
      yes: Int32Array.from(yes), no: Int32Array.from(no), missingYes: Uint8Array.from(missing),
      cover: o.cover ? Float64Array.from(cover) : undefined, values: Float64Array.from(values), depth,
    });
  }
  return {
    source: 'test', kind: R > 1 ? 'classifier' : 'regressor', nFeatures: o.features, nScores: R, trees,
    base: Float64Array.from({ length: R }, (_, k) => 0.1 * (k + 1)), aggregate: 'SUM',
    head: o.head ?? OutputHead.vector(R, 'NONE'), hasCover: o.cover ?? false,
  };
}

/** Random rows on the grid {0, 0.25, ..., 1} (thresholds sit on it too, so EQ/NEQ and ties matter), NaN at rate `nan`. */
export function randomRows(seed: number, rows: number, cols: number, nan = 0): Matrix {
  const rng = new Prng(seed);
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = rng.next() < nan ? NaN : rng.int(5) / 4;
  return { data, rows, cols };
}

export const rawOf = (e: TreeEnsemble) => (row: ArrayLike<number>) => predictRaw(e, row);

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
