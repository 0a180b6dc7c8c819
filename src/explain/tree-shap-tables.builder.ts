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
 *
 * The layout already holds every slot's z, so the tables are filled in order, straight into the
 * ensemble's one coefficient array, from scratch buffers sized for the longest path.
 */
import type { TablesLayout, TreeLayout } from './tree-shap-tables.layout.js';

/** Every tree's tables, in one array of layout.coefLength doubles. */
export function buildTables(layout: TablesLayout, R: number): Float64Array {
  const coef = new Float64Array(layout.coefLength);
  const builder = new TableBuilder();
  for (const t of layout.trees) builder.fill(t, R, coef);
  return coef;
}

/** Scratch for the tables of one tree after another, sized for the longest path seen. */
class TableBuilder {
  private readonly weights: Float64Array[] = [];
  private e = new Float64Array(0);
  private zc = new Float64Array(0);
  private h = new Float64Array(0);
  /** |A| for every subset A. */
  private size = new Uint8Array(0);
  private pairTrue = new Float64Array(0);
  private pairFalse = new Float64Array(0);

  fill(t: TreeLayout, R: number, coef: Float64Array): void {
    const { pairs, leafD, slotStart, slotZ, tableStart, pairBit, leafValues } = t;
    for (let i = 0; i < pairs; i++) {
      this.pairTable(slotZ, slotStart[2 * i]!, slotStart[2 * i + 1]!, pairBit[i]!, leafD[2 * i]!, leafValues, 2 * i, R, coef, tableStart[i]!);
    }
    for (let l = 2 * pairs; l < leafD.length; l++) this.leafTable(slotZ, slotStart[l]!, leafD[l]!, coef, tableStart[l - pairs]!);
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
   * The pair l, l + 1 (z from zTrue and zFalse; they differ in the split's slot, `bit`): line
   * key = 2 M_true + (M_false !== M_true), M_false = M_true ^ bit when they differ.
   */
  private pairTable(z: Float64Array, zTrue: number, zFalse: number, bit: number, d: number, values: Float64Array, l: number, R: number, out: Float64Array, off: number): void {
    const size = d << d;
    if (this.pairTrue.length < size) {
      this.pairTrue = new Float64Array(size);
      this.pairFalse = new Float64Array(size);
    }
    const { pairTrue, pairFalse } = this;
    this.leafTable(z, zTrue, d, pairTrue, 0);
    this.leafTable(z, zFalse, d, pairFalse, 0);
    // Pairs have one or two scores (the layout makes none beyond); the second is written only when there is one.
    const [true0, true1, false0, false1] = [values[l * R]!, values[l * R + R - 1]!, values[(l + 1) * R]!, values[(l + 1) * R + R - 1]!];
    for (let key = 0; key < 2 << d; key++) {
      const mTrue = key >> 1;
      // A row following the split's feature to the true leaf cannot follow it to the false one too.
      if (mTrue & bit && !(key & 1)) continue;
      const mFalse = key & 1 ? mTrue ^ bit : mTrue;
      let o = off + key * d * R;
      for (let j = 0; j < d; j++, o += R) {
        const cTrue = pairTrue[mTrue * d + j]!;
        const cFalse = pairFalse[mFalse * d + j]!;
        out[o] = true0 * cTrue + false0 * cFalse;
        if (R === 2) out[o + 1] = true1 * cTrue + false1 * cFalse;
      }
    }
  }

  /** Writes out[off + M * d + j] for every subset M of the leaf's d slots (z[z0 + j] each) and every slot j. */
  private leafTable(z: Float64Array, z0: number, d: number, out: Float64Array, off: number): void {
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
      const zj = z[z0 + 31 - Math.clz32(low)]!;
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
      zc[A] = zc[A | (1 << j)]! * z[z0 + j]!;
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
        out[base + j] = M & bit ? (1 - z[z0 + j]!) * zc[M]! * h[M ^ bit]! : outside;
      }
    }
  }
}
