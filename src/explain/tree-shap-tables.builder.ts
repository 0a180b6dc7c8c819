/**
 * Builds the coefficient tables of tree-shap-tables.ts. For a leaf with distinct path features F
 * (d of them, its slots) and z_j the product of the cover fractions of feature j's path nodes, a
 * row that follows the path on the features M adds, times the leaf's value,
 *   (1 - z_i) Zc(M) H(M \ {i})   to feature i in M,
 *  -Zc(M) H(M)                   to feature i in F \ M,
 * with Zc(A) = prod_{j in F \ A} z_j and H(A) = sum over S subset of A of
 * |S|! (d - |S| - 1)! / d! prod_{j in A \ S} z_j (from elementary symmetric polynomials of the z).
 *
 * A single leaf's table: line M (2^d lines) holds those d coefficients. A pair of leaves under one
 * split: line (M_true, whether M_false differs) holds, per slot and score, v_true C_true + v_false
 * C_false, so the kernel reads the pair's summed contribution in one pass.
 */
import type { TreeLayout } from './tree-shap-tables.layout.js';
import { NodeMode } from './tree-ensemble.types.js';

/** One tree's tables and the arrays the kernels read, in the layout's order. */
export interface TreeTables {
  layout: TreeLayout;
  /** All splits are BRANCH_LEQ without missing-value tracking: `x <= t` decides. */
  simple: boolean;
  /** Per split: feature index, threshold and slot bit (in split order, read sequentially). */
  splitFeature: Int32Array;
  splitThreshold: Float64Array;
  splitBit: Int32Array;
  /** Per slot: feature index x scores, the offset in a row of phi. */
  slotPhi: Int32Array;
  /** Per leaf: its values (scores). */
  leafValues: Float64Array;
  coef: Float64Array;
}

/** Scratch for the tables of one tree after another, sized for the longest path seen. */
export class TableBuilder {
  private readonly weights: Float64Array[] = [];
  private e = new Float64Array(0);
  private zc = new Float64Array(0);
  private h = new Float64Array(0);
  /** |A| for every subset A. */
  private size = new Uint8Array(0);
  private pairTrue = new Float64Array(0);
  private pairFalse = new Float64Array(0);
  private readonly z = new Float64Array(32);
  private readonly zFalse = new Float64Array(32);

  build(layout: TreeLayout, frac: Float64Array, R: number): TreeTables {
    const { tree, splitNode, leafNode, tableStart, pairs } = layout;
    let simple = true;
    for (const i of splitNode) if (tree.mode[i] !== NodeMode.BRANCH_LEQ || tree.missingYes[i]) simple = false;
    const leafValues = new Float64Array(leafNode.length * R);
    leafNode.forEach((node, l) => leafValues.set(tree.values.subarray(node * R, (node + 1) * R), l * R));
    const coef = new Float64Array(layout.coefLength);
    // Leaf index in the layout (the pair's first leaf for a pair's split), by original node.
    const leafIndex = new Int32Array(tree.feature.length).fill(-1);
    leafNode.forEach((node, l) => (leafIndex[node] = l));
    const z = this.z;
    let d = 0;
    const walk = (node: number): void => {
      const l = leafIndex[node]!;
      if (l >= 0) {
        this.leafTable(z, d, coef, tableStart[l - pairs]!);
        return;
      }
      if (tree.feature[node]! < 0) return; // a one-leaf tree
      const slot = 31 - Math.clz32(layout.nodeBit[node]!);
      const added = slot === d;
      if (added) z[d++] = 1;
      const before = z[slot]!;
      const pair = leafIndex[tree.yes[node]!]!;
      if (pair >= 0 && pair < 2 * pairs) {
        this.pairTable(before, slot, frac[node]!, d, leafValues, pair, R, coef, tableStart[pair / 2]!);
      } else {
        z[slot] = before * frac[node]!;
        walk(tree.yes[node]!);
        z[slot] = before * (1 - frac[node]!);
        walk(tree.no[node]!);
        z[slot] = before;
      }
      if (added) d--;
    };
    walk(0);
    return {
      layout,
      simple,
      splitFeature: splitNode.map((i) => tree.feature[i]!),
      splitThreshold: Float64Array.from(splitNode, (i) => tree.threshold[i]!),
      splitBit: splitNode.map((i) => layout.nodeBit[i]!),
      slotPhi: layout.slotFeature.map((f) => f * R),
      leafValues,
      coef,
    };
  }

  /** Shapley weights w(s) = s! (d - s - 1)! / d! = 1 / (d C(d-1, s)) for s = 0..d-1. */
  private weightsFor(d: number): Float64Array {
    let w = this.weights[d];
    if (w) return w;
    w = new Float64Array(d);
    for (let size = 0; size < d; size++) {
      let c = 1;
      for (let i = 0; i < size; i++) c = (c * (d - 1 - i)) / (i + 1);
      w[size] = 1 / (d * c);
    }
    this.weights[d] = w;
    return w;
  }

  /**
   * The pair under a split on `slot` (z of that slot before the split: zBefore, true fraction
   * frac): line key = 2 M_true + (M_false !== M_true), M_false = M_true ^ bit when they differ.
   */
  private pairTable(zBefore: number, slot: number, frac: number, d: number, values: Float64Array, l: number, R: number, out: Float64Array, off: number): void {
    const size = d << d;
    if (this.pairTrue.length < size) {
      this.pairTrue = new Float64Array(size);
      this.pairFalse = new Float64Array(size);
    }
    const { z, zFalse, pairTrue, pairFalse } = this;
    zFalse.set(z.subarray(0, d));
    z[slot] = zBefore * frac;
    zFalse[slot] = zBefore * (1 - frac);
    this.leafTable(z, d, pairTrue, 0);
    this.leafTable(zFalse, d, pairFalse, 0);
    z[slot] = zBefore;
    const bit = 1 << slot;
    const line = d * R;
    for (let key = 0; key < 2 << d; key++) {
      const mTrue = key >> 1;
      // A row following the split's feature to the true leaf cannot follow it to the false one too.
      if (mTrue & bit && !(key & 1)) continue;
      const mFalse = key & 1 ? mTrue ^ bit : mTrue;
      for (let j = 0; j < d; j++) {
        const cTrue = pairTrue[mTrue * d + j]!;
        const cFalse = pairFalse[mFalse * d + j]!;
        for (let k = 0; k < R; k++) out[off + key * line + j * R + k] = values[l * R + k]! * cTrue + values[(l + 1) * R + k]! * cFalse;
      }
    }
  }

  /** Writes out[off + M * d + j] for every subset M of the leaf's d slots and every slot j. */
  private leafTable(z: Float64Array, d: number, out: Float64Array, off: number): void {
    const n = 1 << d;
    const full = n - 1;
    const w = this.weightsFor(d);
    if (this.zc.length < n) {
      this.zc = new Float64Array(n);
      this.h = new Float64Array(n);
    }
    if (this.e.length < n * (d + 1)) this.e = new Float64Array(n * (d + 1));
    if (this.size.length < n) {
      this.size = new Uint8Array(n);
      for (let A = 1; A < n; A++) this.size[A] = this.size[A & (A - 1)]! + 1;
    }
    const { e, zc, h } = this;
    const stride = d + 1;
    // e[A][r] for r <= |A| (it is 0 beyond): elementary symmetric polynomial of degree r of the z
    // in A, adding A's lowest slot last.
    const count = this.size;
    e[0] = 1;
    for (let A = 1; A < n; A++) {
      const low = A & -A;
      const zj = z[31 - Math.clz32(low)]!;
      const a = A * stride;
      const p = (A ^ low) * stride;
      const m = count[A]!;
      e[a] = 1;
      for (let r = 1; r < m; r++) e[a + r] = e[p + r]! + zj * e[p + r - 1]!;
      e[a + m] = zj * e[p + m - 1]!;
    }
    // Zc(A) = Zc(A + j) z_j for j the lowest slot missing from A.
    zc[full] = 1;
    for (let A = full - 1; A >= 0; A--) {
      const j = 31 - Math.clz32(~A & (A + 1));
      zc[A] = zc[A | (1 << j)]! * z[j]!;
    }
    // H of the full set is never used.
    for (let A = 0; A < full; A++) {
      const m = count[A]!;
      let s = 0;
      for (let size = 0; size <= m; size++) s += w[size]! * e[A * stride + (m - size)]!;
      h[A] = s;
    }
    for (let M = 0; M < n; M++) {
      const base = off + M * d;
      const outside = M === full ? 0 : -zc[M]! * h[M]!;
      for (let j = 0; j < d; j++) {
        const bit = 1 << j;
        out[base + j] = M & bit ? (1 - z[j]!) * zc[M]! * h[M ^ bit]! : outside;
      }
    }
  }
}
