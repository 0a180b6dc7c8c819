/**
 * The per-row loops of tree-shap-tables.ts, over a block of rows and one tree. Hand-written over
 * typed arrays passed as arguments because this is where a batch spends its time: small functions
 * keep V8's register allocation simple (in one big function every array was spilled and re-checked
 * on each access); a row's direction at a split is applied with bit masks rather than a branch that
 * would be mispredicted half the time; splits and leaves are the outer loops and rows the inner
 * ones, so a split's or leaf's arrays are read once per block and a leaf's loop over its d slots
 * runs d times for every row, which the branch predictor follows.
 */
import type { TreeLayout } from './tree-shap-tables.layout.js';
import { goesYes } from './tree-ensemble.evaluator.js';

/** Rows evaluated together, tree by tree: their `off` and phi stay in the first-level cache. */
export const BLOCK = 64;

/**
 * A block of at most BLOCK rows: x from xOffset (xStride apart); their SHAP values are added to
 * phi, phiStride apart. phi is a plain array of doubles: V8 checks a typed array's buffer on every
 * store, and these loops are mostly stores (a plain array measured 15% faster here).
 */
export interface RowBlock {
  rows: number;
  x: ArrayLike<number>;
  xOffset: number;
  xStride: number;
  phi: number[];
  phiStride: number;
}

/**
 * off[node * BLOCK + r], for every child node: the bits of the path slots whose splits row r did
 * not follow, root to node. Splits outside, rows inside: a split's feature, threshold and children
 * are read once per block.
 */
export function routeRows(t: TreeLayout, b: RowBlock, off: Int32Array): void {
  const { splitFeature: feature, splitThreshold: threshold, splitBit: bits, splitYes: yes, splitNo: no, splitNode, tree } = t;
  const S = feature.length;
  const { rows, x, xOffset, xStride } = b;
  for (let r = 0; r < rows; r++) off[r] = 0;
  for (let s = 0; s < S; s++) {
    const f = xOffset + feature[s]!;
    const bit = bits[s]!;
    const from = s * BLOCK;
    const toYes = yes[s]! * BLOCK;
    const toNo = no[s]! * BLOCK;
    if (t.simple) {
      const thr = threshold[s]!;
      for (let r = 0; r < rows; r++) {
        const go = +(x[f + r * xStride]! <= thr);
        const o = off[from + r]!;
        off[toYes + r] = o | (bit & (go - 1));
        off[toNo + r] = o | (bit & -go);
      }
    } else {
      for (let r = 0; r < rows; r++) {
        const go = +goesYes(tree, splitNode[s]!, x[f + r * xStride]!);
        const o = off[from + r]!;
        off[toYes + r] = o | (bit & (go - 1));
        off[toNo + r] = o | (bit & -go);
      }
    }
  }
}

/**
 * Pairs of leaves under one split (at most two scores): the row's M at both picks one line of the
 * pair's table, the summed contribution per slot and score.
 */
export function addPairs(t: TreeLayout, coef: Float64Array, b: RowBlock, off: Int32Array, R: number): void {
  const { leafD, slotStart, tableStart, pairs, slotPhi } = t;
  const { rows, phi } = b;
  const first = t.splitFeature.length;
  for (let i = 0; i < pairs; i++) {
    const d = leafD[2 * i]!;
    const mask = (1 << d) - 1;
    const line = d * R;
    const start = tableStart[i]!;
    const s0 = slotStart[2 * i]!;
    const offTrue = (first + 2 * i) * BLOCK;
    const offFalse = offTrue + BLOCK;
    for (let r = 0; r < rows; r++) {
      const mTrue = ~off[offTrue + r]! & mask;
      const mFalse = ~off[offFalse + r]! & mask;
      const c0 = start + ((mTrue << 1) | +(mTrue !== mFalse)) * line;
      const p0 = r * b.phiStride;
      if (R === 2) {
        for (let j = 0; j < d; j++) {
          const p = p0 + slotPhi[s0 + j]!;
          phi[p]! += coef[c0 + 2 * j]!;
          phi[p + 1]! += coef[c0 + 2 * j + 1]!;
        }
      } else {
        for (let j = 0; j < d; j++) phi[p0 + slotPhi[s0 + j]!]! += coef[c0 + j]!;
      }
    }
  }
}

/** The other leaves: the row's M picks one line of the leaf's table, a coefficient per slot, times the leaf's values. */
export function addLeaves(t: TreeLayout, coef: Float64Array, b: RowBlock, off: Int32Array, R: number): void {
  const { leafD, slotStart, tableStart, pairs, slotPhi, leafValues: values } = t;
  const { rows, phi } = b;
  const first = t.splitFeature.length;
  const L = leafD.length;
  for (let l = 2 * pairs; l < L; l++) {
    const d = leafD[l]!;
    const mask = (1 << d) - 1;
    const start = tableStart[l - pairs]!;
    const s0 = slotStart[l]!;
    const v0 = values[l * R]!;
    const v1 = R > 1 ? values[l * R + 1]! : 0;
    const offLeaf = (first + l) * BLOCK;
    for (let r = 0; r < rows; r++) {
      const c0 = start + (~off[offLeaf + r]! & mask) * d;
      const p0 = r * b.phiStride;
      for (let j = 0; j < d; j++) {
        const c = coef[c0 + j]!;
        const p = p0 + slotPhi[s0 + j]!;
        if (R > 2) {
          for (let k = 0; k < R; k++) phi[p + k]! += c * values[l * R + k]!;
          continue;
        }
        phi[p]! += c * v0;
        if (R === 2) phi[p + 1]! += c * v1;
      }
    }
  }
}

/**
 * Raw scores: the leaf a row reaches is the one whose path it followed at every split (off 0),
 * so its values are added here instead of walking the tree again. One leaf per tree and trees in
 * order: the sums are predictRawBatch's, bit for bit. A one-leaf tree adds its root's values.
 */
export function addReached(t: TreeLayout, b: RowBlock, off: Int32Array, R: number, scores: Float64Array, scoresOffset: number): void {
  const { leafValues: values, leafD } = t;
  const first = t.splitFeature.length;
  if (first === 0) {
    for (let r = 0; r < b.rows; r++) for (let k = 0; k < R; k++) scores[scoresOffset + r * R + k]! += t.tree.values[k]!;
    return;
  }
  for (let l = 0; l < leafD.length; l++) {
    const offLeaf = (first + l) * BLOCK;
    for (let r = 0; r < b.rows; r++) {
      if (off[offLeaf + r] !== 0) continue;
      for (let k = 0; k < R; k++) scores[scoresOffset + r * R + k]! += values[l * R + k]!;
    }
  }
}
