/**
 * Path-dependent tree SHAP with precomputed tables, in the manner of Fast TreeSHAP v2 (Yang,
 * "Fast TreeSHAP: Accelerating SHAP Value Computation for Trees", 2021): the same values as
 * Algorithm 2 in O(T L D) per row instead of O(T L D^2), after building, once per ensemble, d x 2^d
 * numbers for every leaf (d = distinct features on its path; the formula is in
 * tree-shap-tables.builder.ts).
 *
 * A table holds, per leaf and per set M of path features the row follows, the coefficient of every
 * path feature, so a row costs one pass over the splits (which sets M for every leaf at once) and
 * then d multiply-adds per leaf, with no branch that depends on the row. Two leaves under one split
 * share a table of their summed, value-weighted contributions (for one or two scores), which halves
 * the work on them.
 */
import type { PreparedEnsemble } from './tree-shap.js';
import type { Matrix } from './tree-ensemble.types.js';
import { buildTables } from './tree-shap-tables.builder.js';
import { BLOCK, addLeaves, addPairs, addReached, routeRows, type RowBlock } from './tree-shap-tables.kernels.js';
import { layTables, type TablesLayout, type TreeLayout } from './tree-shap-tables.layout.js';

export { layTables, type TablesLayout } from './tree-shap-tables.layout.js';

/** Precomputed path-dependent SHAP tables for a whole ensemble. */
export class TreeShapTables {
  private readonly trees: TreeLayout[];
  /** Every tree's tables, one after another (each tree's tableStart points into it). */
  private readonly coef: Float64Array;
  /** Per renumbered node of the tree being evaluated and row of a block: the slots where the row left the path so far. */
  private readonly off: Int32Array;
  private readonly R: number;
  /** A block's SHAP values (see RowBlock). */
  private readonly phi: number[];
  private readonly stride: number;
  private readonly base: Float64Array;
  readonly bytes: number;

  /** Builds the tables; pass the layout when `layTables` already made one (it throws here for paths over 16 features). */
  constructor(prepared: PreparedEnsemble, layout: TablesLayout | undefined = layTables(prepared)) {
    if (!layout) throw new Error('a tree path has more than 16 distinct features; use Algorithm 2');
    this.R = prepared.ensemble.nScores;
    this.trees = layout.trees;
    this.coef = buildTables(layout, this.R);
    this.off = new Int32Array(BLOCK * Math.max(0, ...layout.trees.map((t) => t.splitNode.length + t.leafD.length)));
    this.bytes = layout.bytes;
    this.stride = prepared.ensemble.nFeatures * this.R;
    this.base = prepared.ensemble.base;
    // Filled with a fraction so V8 holds it as an array of doubles from the start.
    this.phi = Array.from({ length: BLOCK * this.stride }, () => 0.5);
  }

  /** Adds the SHAP values of row x (features from xOffset) to phi (features x scores); returns phi. */
  explain(x: ArrayLike<number>, phi: Float64Array, xOffset = 0): Float64Array {
    this.explainBlock({ rows: 1, x, xOffset, xStride: 0, phi: this.phi, phiStride: this.stride }, phi, 0);
    return phi;
  }

  /**
   * SHAP values of every row of m into out (rows x features x scores); with `scores` (rows x
   * scores), the raw scores too, as predictRawBatch gives them, from the same routing.
   */
  explainRows(m: Matrix, out: Float64Array, scores?: Float64Array): Float64Array {
    if (scores) for (let i = 0; i < m.rows; i++) scores.set(this.base, i * this.R);
    for (let first = 0; first < m.rows; first += BLOCK) {
      const rows = Math.min(BLOCK, m.rows - first);
      this.explainBlock({ rows, x: m.data, xOffset: first * m.cols, xStride: m.cols, phi: this.phi, phiStride: this.stride }, out, first * this.stride, scores, first * this.R);
    }
    return out;
  }

  /** Tree by tree over the block, so each tree's tables stay in cache; then adds the block's values to out from outOffset. */
  private explainBlock(b: RowBlock, out: Float64Array, outOffset: number, scores?: Float64Array, scoresOffset = 0): void {
    b.phi.fill(0, 0, b.rows * this.stride);
    for (const t of this.trees) {
      routeRows(t, b, this.off);
      addPairs(t, this.coef, b, this.off, this.R);
      addLeaves(t, this.coef, b, this.off, this.R);
      if (scores) addReached(t, b, this.off, this.R, scores, scoresOffset);
    }
    for (let i = 0; i < b.rows * this.stride; i++) out[outOffset + i]! += b.phi[i]!;
  }
}
