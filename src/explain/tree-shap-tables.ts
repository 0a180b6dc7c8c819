/**
 * Path-dependent tree SHAP with precomputed tables, in the manner of Fast TreeSHAP v2 (Yang,
 * "Fast TreeSHAP: Accelerating SHAP Value Computation for Trees", 2021): the same values as
 * Algorithm 2 in O(T L D) per row instead of O(T L D^2), after building, once per ensemble,
 * 2 x 2^d numbers for every leaf (d = distinct features on its path).
 *
 * For a leaf with value v, distinct path features F (d of them) and, per feature j, z_j the
 * product of the cover fractions of its path nodes: a row x follows the path on the features M
 * (those whose every path node x satisfies). With H(A) = sum over S subset of A of
 * |S|! (d - |S| - 1)! / d! * prod_{j in A \ S} z_j and Zc(A) = prod_{j in F \ A} z_j, the leaf adds
 *   v (1 - z_i) Zc(M) H(M \ {i})   to feature i in M,
 *  -v Zc(M) H(M)                   to feature i in F \ M.
 * (Expand the Shapley sum of the leaf's term v prod_{j in S} o_j prod_{j not in S} z_j, where
 * o_j = 1 for j in M and 0 otherwise.) H comes from elementary symmetric polynomials of the z.
 */
import type { PreparedEnsemble } from './tree-shap.js';
import { goesYes } from './tree-ensemble.evaluator.js';
import { NodeMode, type Matrix, type Tree } from './tree-ensemble.types.js';


/**
 * Bytes the tables would take (2 x 2^d doubles per leaf), or undefined when a path has more than
 * `maxPathFeatures` distinct features.
 */
export function tableBytes(prepared: PreparedEnsemble, maxPathFeatures = 16): number | undefined {
  let total = 0;
  for (const tree of prepared.ensemble.trees) {
    let ok = true;
    const walk = (node: number, features: number[]): void => {
      if (!ok) return;
      if (tree.feature[node]! < 0) {
        const d = new Set(features).size;
        if (d > maxPathFeatures) ok = false;
        total += 2 * 8 * 2 ** d;
        return;
      }
      features.push(tree.feature[node]!);
      walk(tree.yes[node]!, features);
      walk(tree.no[node]!, features);
      features.pop();
    };
    walk(0, []);
    if (!ok) return undefined;
  }
  return total;
}

interface TreeTables {
  tree: Tree;
  /** All splits are BRANCH_LEQ without missing-value tracking: `x <= t` decides. */
  simple: boolean;
  /** Per internal node: the bit of its feature's slot (slots are numbered by first appearance from the root, so a node's slot is the same for every leaf below it). */
  nodeBit: Int32Array;
  leaves: number;
  /** Per leaf: node index, distinct feature count d, offset of its slots, offset of its tables. */
  leafNode: Int32Array;
  leafD: Uint8Array;
  slotStart: Int32Array;
  tableStart: Int32Array;
  /** Per feature slot of a leaf: the feature index and 1 - z. */
  slotFeature: Int32Array;
  slotOneMinusZ: Float64Array;
  /** Zc then H, 2^d each, per leaf. */
  tables: Float64Array;
}

function buildTree(tree: Tree, frac: Float64Array): TreeTables {
  const n = tree.feature.length;
  for (let i = 0; i < n; i++) {
    if (tree.feature[i]! >= 0 && (tree.yes[i]! <= i || tree.no[i]! <= i)) throw new Error('tree nodes must come after their parents');
  }
  const nodeBit = new Int32Array(n);
  interface Leaf { node: number; features: number[]; z: number[] }
  const leaves: Leaf[] = [];
  let simple = true;
  const walk = (node: number, features: number[], z: number[]): void => {
    const f = tree.feature[node]!;
    if (f < 0) {
      leaves.push({ node, features: [...features], z: [...z] });
      return;
    }
    if (tree.mode[node] !== NodeMode.BRANCH_LEQ || tree.missingYes[node]) simple = false;
    let slot = features.indexOf(f);
    const added = slot < 0;
    if (added) {
      slot = features.length;
      features.push(f);
      z.push(1);
    }
    nodeBit[node] = 1 << slot;
    const before = z[slot]!;
    z[slot] = before * frac[node]!;
    walk(tree.yes[node]!, features, z);
    z[slot] = before * (1 - frac[node]!);
    walk(tree.no[node]!, features, z);
    z[slot] = before;
    if (added) {
      features.pop();
      z.pop();
    }
  };
  walk(0, [], []);

  const L = leaves.length;
  const slots = leaves.reduce((s, l) => s + l.features.length, 0);
  const tableLen = leaves.reduce((s, l) => s + 2 * 2 ** l.features.length, 0);
  const t: TreeTables = {
    tree, simple, nodeBit, leaves: L,
    leafNode: new Int32Array(L), leafD: new Uint8Array(L), slotStart: new Int32Array(L + 1), tableStart: new Int32Array(L),
    slotFeature: new Int32Array(slots), slotOneMinusZ: new Float64Array(slots),
    tables: new Float64Array(tableLen),
  };
  let s = 0;
  let off = 0;
  leaves.forEach((leaf, i) => {
    const d = leaf.features.length;
    t.leafNode[i] = leaf.node;
    t.leafD[i] = d;
    t.slotStart[i] = s;
    t.tableStart[i] = off;
    leaf.features.forEach((f, j) => {
      t.slotFeature[s + j] = f;
      t.slotOneMinusZ[s + j] = 1 - leaf.z[j]!;
    });
    fillLeafTables(leaf.z, t.tables, off);
    s += d;
    off += 2 * 2 ** d;
  });
  t.slotStart[L] = s;
  return t;
}

/** Zc(A) at off + A and H(A) at off + 2^d + A for every subset A of the leaf's features. */
function fillLeafTables(z: number[], out: Float64Array, off: number): void {
  const d = z.length;
  const n = 2 ** d;
  // Shapley weights w(s) = s! (d - s - 1)! / d! = 1 / (d C(d-1, s)) for s = 0..d-1.
  const w = new Float64Array(Math.max(d, 1));
  for (let size = 0; size < d; size++) {
    let c = 1;
    for (let i = 0; i < size; i++) c = (c * (d - 1 - i)) / (i + 1);
    w[size] = 1 / (d * c);
  }
  // e[A][r]: elementary symmetric polynomial of degree r of the z in A.
  const e = new Float64Array(n * (d + 1));
  e[0] = 1;
  for (let A = 1; A < n; A++) {
    const low = A & -A;
    const j = 31 - Math.clz32(low);
    const prev = A ^ low;
    const zj = z[j]!;
    e[A * (d + 1)] = 1;
    for (let r = 1; r <= d; r++) e[A * (d + 1) + r] = e[prev * (d + 1) + r]! + zj * e[prev * (d + 1) + r - 1]!;
  }
  for (let A = 0; A < n; A++) {
    let zc = 1;
    let m = 0;
    for (let j = 0; j < d; j++) {
      if (A & (1 << j)) m++;
      else zc *= z[j]!;
    }
    out[off + A] = zc;
    if (m >= d) continue; // H of the full set is never used
    let h = 0;
    for (let size = 0; size <= m; size++) h += w[size]! * e[A * (d + 1) + (m - size)]!;
    out[off + n + A] = h;
  }
}

/** Precomputed path-dependent SHAP tables for a whole ensemble. */
export class TreeShapTables {
  private readonly trees: TreeTables[];
  /** Per node of the tree being evaluated: the slots where the row left the path so far. */
  private readonly off: Int32Array;
  /** Per node: the summed `outside` terms of the leaves below it, per score. */
  private readonly sub: Float64Array;
  private readonly dir: Uint8Array;
  readonly bytes: number;

  constructor(private readonly prepared: PreparedEnsemble) {
    this.trees = prepared.ensemble.trees.map((t, i) => buildTree(t, prepared.yesFraction[i]!));
    const maxNodes = Math.max(0, ...prepared.ensemble.trees.map((t) => t.feature.length));
    this.off = new Int32Array(maxNodes);
    this.dir = new Uint8Array(maxNodes);
    this.sub = new Float64Array(maxNodes * prepared.ensemble.nScores);
    this.bytes = this.trees.reduce((s, t) => s + t.tables.byteLength + t.slotOneMinusZ.byteLength + t.slotFeature.byteLength + t.nodeBit.byteLength, 0);
  }

  /** Adds the SHAP values of row x (features from xOffset) to phi (features x scores); returns phi. */
  explain(x: ArrayLike<number>, phi: Float64Array, xOffset = 0): Float64Array {
    for (const t of this.trees) this.explainTree(t, x, xOffset, phi, 0);
    return phi;
  }

  /**
   * SHAP values of every row of m into out (rows x features x scores). Tree by tree over all rows,
   * so each tree's tables stay in cache.
   */
  explainRows(m: Matrix, out: Float64Array): Float64Array {
    const stride = this.prepared.ensemble.nFeatures * this.prepared.ensemble.nScores;
    for (const t of this.trees) {
      for (let i = 0; i < m.rows; i++) this.explainTree(t, m.data, i * m.cols, out, i * stride);
    }
    return out;
  }

  private explainTree(t: TreeTables, x: ArrayLike<number>, xOffset: number, phi: Float64Array, phiOffset: number): void {
    const R = this.prepared.ensemble.nScores;
    const tree = t.tree;
    const off = this.off;
    const sub = this.sub;
    const feature = tree.feature;
    const threshold = tree.threshold;
    const yes = tree.yes;
    const no = tree.no;
    const nodeBit = t.nodeBit;
    const nodes = feature.length;
    const dir = this.dir;
    // off[node]: bits of the path slots whose splits the row did not follow, root to node.
    off[0] = 0;
    const simple = t.simple;
    for (let n = 0; n < nodes; n++) {
      const f = feature[n]!;
      if (f < 0) continue;
      const v = x[xOffset + f]!;
      const y = simple ? v <= threshold[n]! : goesYes(tree, n, v);
      const o = off[n]!;
      if (y) {
        dir[n] = 1;
        off[yes[n]!] = o;
        off[no[n]!] = o | nodeBit[n]!;
      } else {
        dir[n] = 0;
        off[yes[n]!] = o | nodeBit[n]!;
        off[no[n]!] = o;
      }
    }
    const values = tree.values;
    const tables = t.tables;
    // Leaves: the features the row followed (M) get their own coefficient; the others all get
    // `outside`, summed per subtree below and credited once, where the row first left the path on
    // that feature.
    for (let l = 0; l < t.leaves; l++) {
      const leaf = t.leafNode[l]!;
      const d = t.leafD[l]!;
      const sOff = leaf * R;
      if (d === 0) {
        for (let k = 0; k < R; k++) sub[sOff + k] = 0;
        continue;
      }
      const size = 1 << d;
      const full = size - 1;
      const M = full & ~off[leaf]!;
      const to = t.tableStart[l]!;
      const zc = tables[to + M]!;
      const outside = M === full ? 0 : -zc * tables[to + size + M]!;
      const vOff = leaf * R;
      const s0 = t.slotStart[l]!;
      const hOff = to + size;
      if (R <= 2) {
        // One or two scores (regressors, binary classifiers): the leaf's values held in locals.
        const v0 = values[vOff]!;
        const v1 = R === 2 ? values[vOff + 1]! : 0;
        sub[sOff] = outside * v0;
        if (R === 2) sub[sOff + 1] = outside * v1;
        for (let m = M; m !== 0; m &= m - 1) {
          const bit = m & -m;
          const j = 31 - Math.clz32(bit);
          const coef = t.slotOneMinusZ[s0 + j]! * zc * tables[hOff + (M ^ bit)]!;
          const pOff = phiOffset + t.slotFeature[s0 + j]! * R;
          phi[pOff]! += coef * v0;
          if (R === 2) phi[pOff + 1]! += coef * v1;
        }
        continue;
      }
      for (let k = 0; k < R; k++) sub[sOff + k] = outside * values[vOff + k]!;
      for (let m = M; m !== 0; m &= m - 1) {
        const bit = m & -m;
        const j = 31 - Math.clz32(bit);
        const coef = t.slotOneMinusZ[s0 + j]! * zc * tables[hOff + (M ^ bit)]!;
        const pOff = phiOffset + t.slotFeature[s0 + j]! * R;
        for (let k = 0; k < R; k++) phi[pOff + k]! += coef * values[vOff + k]!;
      }
    }
    for (let n = nodes - 1; n >= 0; n--) {
      const f = feature[n]!;
      if (f < 0) continue;
      const a = yes[n]! * R;
      const b = no[n]! * R;
      const o = n * R;
      if (R === 1) sub[o] = sub[a]! + sub[b]!;
      else if (R === 2) {
        sub[o] = sub[a]! + sub[b]!;
        sub[o + 1] = sub[a + 1]! + sub[b + 1]!;
      } else for (let k = 0; k < R; k++) sub[o + k] = sub[a + k]! + sub[b + k]!;
      // The row leaves the path here, on a feature it had not left before: every leaf below the
      // other child counts this feature as not followed.
      if ((off[n]! & nodeBit[n]!) === 0) {
        const cold = dir[n] ? b : a;
        const pOff = phiOffset + f * R;
        if (R === 1) phi[pOff]! += sub[cold]!;
        else if (R === 2) {
          phi[pOff]! += sub[cold]!;
          phi[pOff + 1]! += sub[cold + 1]!;
        } else for (let k = 0; k < R; k++) phi[pOff + k]! += sub[cold + k]!;
      }
    }
  }
}
