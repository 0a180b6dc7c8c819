/**
 * Where the path-dependent SHAP tables of each tree go (tree-shap-tables.ts): one walk per tree
 * numbers the distinct features of every root-to-leaf path (its slots), records each slot's cover
 * product z (all the builder needs, so it does not walk the tree again), renumbers the nodes for
 * the kernels and places every table in one ensemble-wide array, so its memory is known before any
 * table is built.
 */
import type { PreparedEnsemble } from './tree-shap.js';
import { NodeMode, type Tree } from './tree-ensemble.types.js';

/**
 * One tree: splits renumbered 0..S-1 (parents first), leaves S..S+L-1. The first 2P leaves are
 * P pairs (true leaf, false leaf) of splits whose children are both leaves; with at most two
 * scores each pair shares one table (see tree-shap-tables.builder.ts), the other leaves have one
 * table each.
 */
export interface TreeLayout {
  tree: Tree;
  /** All splits are BRANCH_LEQ without missing-value tracking: `x <= t` decides. */
  simple: boolean;
  /** Per split (read sequentially by the kernels): original node id, feature, threshold, slot bit, renumbered true and false children. */
  splitNode: Int32Array;
  splitFeature: Int32Array;
  splitThreshold: Float64Array;
  splitBit: Int32Array;
  splitYes: Int32Array;
  splitNo: Int32Array;
  pairs: number;
  /** Per pair: the slot bit of the split above its two leaves. */
  pairBit: Int32Array;
  /** Per leaf: distinct path features d, first slot (slots of leaf l: slotStart[l] .. slotStart[l] + d), values (scores). */
  leafD: Uint8Array;
  slotStart: Int32Array;
  leafValues: Float64Array;
  /** Per slot: feature index x scores (the offset in a row of phi), and z, the product of the cover fractions of that feature's splits on the leaf's path. */
  slotPhi: Int32Array;
  slotZ: Float64Array;
  /** Per table (the pairs', then the other leaves'): where it starts in the ensemble's coefficients. */
  tableStart: Int32Array;
}

export interface TablesLayout {
  trees: TreeLayout[];
  /** Doubles of the ensemble's coefficients (every tree's tables, one after another). */
  coefLength: number;
  /** Bytes the tables and the kernels' arrays take. */
  bytes: number;
}

/**
 * Lays out the tables of every tree, or undefined when a path has more than `maxPathFeatures`
 * (at most 24) distinct features.
 */
export function layTables(prepared: PreparedEnsemble, maxPathFeatures = 16): TablesLayout | undefined {
  const R = prepared.ensemble.nScores;
  const trees: TreeLayout[] = [];
  let bytes = 0;
  let coefLength = 0;
  const walker = new PathWalker(R, Math.min(maxPathFeatures, 24));
  for (const [t, tree] of prepared.ensemble.trees.entries()) {
    const layout = walker.lay(tree, prepared.yesFraction[t]!, coefLength);
    if (!layout) return undefined;
    trees.push(layout);
    coefLength = layout.tableStart[layout.tableStart.length - 1]!;
    const [S, L, slots] = [layout.splitNode.length, layout.leafD.length, layout.slotPhi.length];
    // Doubles: thresholds, leaf values, slot z; 32-bit: the other split, slot and leaf arrays.
    bytes += 8 * (S + L * R + slots) + 4 * (5 * S + slots + 3 * L) + L;
  }
  return { trees, coefLength, bytes: bytes + 8 * coefLength };
}

/** One tree's walk; its path stacks are reused from tree to tree. */
class PathWalker {
  /** Per slot on the current path: its feature and the product of its splits' fractions. */
  private readonly pathFeature = new Int32Array(25);
  private readonly pathZ = new Float64Array(25);

  constructor(
    private readonly R: number,
    private readonly maxPathFeatures: number,
  ) {}

  lay(tree: Tree, frac: Float64Array, coefStart: number): TreeLayout | undefined {
    const { R, maxPathFeatures, pathFeature, pathZ } = this;
    const n = tree.feature.length;
    const isLeaf = (node: number) => tree.feature[node]! < 0;
    const newId = new Int32Array(n);
    const splitBitOf = new Int32Array(n);
    let splits = 0;
    for (let i = 0; i < n; i++) {
      if (isLeaf(i)) continue;
      if (tree.yes[i]! <= i || tree.no[i]! <= i) throw new Error('tree nodes must come after their parents');
      newId[i] = splits++;
    }
    // Pairs and single leaves are gathered apart (pairs come first in the layout): node, d, and per slot feature and z.
    const pair: Gathered = { node: [], d: [], feature: [], z: [] };
    const single: Gathered = { node: [], d: [], feature: [], z: [] };
    const pairBit: number[] = [];
    let d = 0;
    let ok = true;
    const walk = (node: number): void => {
      if (!ok) return;
      if (isLeaf(node)) {
        // A leaf without splits above it (a one-leaf tree) adds nothing to any feature.
        if (d > 0) gather(single, node, d, pathFeature, pathZ);
        return;
      }
      const f = tree.feature[node]!;
      let slot = 0;
      while (slot < d && pathFeature[slot] !== f) slot++;
      const added = slot === d;
      if (added) {
        if (d === maxPathFeatures) {
          ok = false;
          return;
        }
        slot = d++;
        pathFeature[slot] = f;
        pathZ[slot] = 1;
      }
      splitBitOf[node] = 1 << slot;
      const before = pathZ[slot]!;
      const yes = tree.yes[node]!;
      const no = tree.no[node]!;
      pathZ[slot] = before * frac[node]!;
      if (R <= 2 && isLeaf(yes) && isLeaf(no)) {
        gather(pair, yes, d, pathFeature, pathZ);
        pathZ[slot] = before * (1 - frac[node]!);
        gather(pair, no, d, pathFeature, pathZ);
        pairBit.push(1 << slot);
      } else {
        walk(yes);
        pathZ[slot] = before * (1 - frac[node]!);
        walk(no);
      }
      pathZ[slot] = before;
      if (added) d--;
    };
    walk(0);
    if (!ok) return undefined;
    const P = pairBit.length;
    const leafNode = [...pair.node, ...single.node];
    const leafD = Uint8Array.from([...pair.d, ...single.d]);
    const L = leafNode.length;
    const splitNode = new Int32Array(splits);
    for (let i = 0; i < n; i++) if (!isLeaf(i)) splitNode[newId[i]!] = i;
    const slotStart = new Int32Array(L + 1);
    const leafValues = new Float64Array(L * R);
    for (let l = 0; l < L; l++) {
      newId[leafNode[l]!] = splits + l;
      slotStart[l + 1] = slotStart[l]! + leafD[l]!;
      for (let k = 0; k < R; k++) leafValues[l * R + k] = tree.values[leafNode[l]! * R + k]!;
    }
    // Table sizes: a pair's has 2^(d+1) lines of d x R numbers, a single leaf's 2^d lines of d.
    const tables = P + single.node.length;
    const tableStart = new Int32Array(tables + 1);
    tableStart[0] = coefStart;
    for (let t = 0; t < tables; t++) {
      const d = leafD[t < P ? 2 * t : t + P]!;
      tableStart[t + 1] = tableStart[t]! + (t < P ? 2 * R : 1) * d * 2 ** d;
    }
    let simple = true;
    for (const i of splitNode) if (tree.mode[i] !== NodeMode.BRANCH_LEQ || tree.missingYes[i]) simple = false;
    return {
      tree,
      simple,
      splitNode,
      splitFeature: splitNode.map((i) => tree.feature[i]!),
      splitThreshold: Float64Array.from(splitNode, (i) => tree.threshold[i]!),
      splitBit: splitNode.map((i) => splitBitOf[i]!),
      splitYes: splitNode.map((i) => newId[tree.yes[i]!]!),
      splitNo: splitNode.map((i) => newId[tree.no[i]!]!),
      pairs: P,
      pairBit: Int32Array.from(pairBit),
      leafD,
      slotStart,
      leafValues,
      slotPhi: Int32Array.from([...pair.feature, ...single.feature], (f) => f * R),
      slotZ: Float64Array.from([...pair.z, ...single.z]),
      tableStart,
    };
  }
}

interface Gathered {
  node: number[];
  d: number[];
  feature: number[];
  z: number[];
}

function gather(g: Gathered, node: number, d: number, feature: Int32Array, z: Float64Array): void {
  g.node.push(node);
  g.d.push(d);
  for (let j = 0; j < d; j++) {
    g.feature.push(feature[j]!);
    g.z.push(z[j]!);
  }
}
