/**
 * Where the path-dependent SHAP tables of each tree go (tree-shap-tables.ts): one walk per tree
 * numbers the distinct features of every root-to-leaf path (its slots), renumbers the nodes for the
 * kernels and sizes the tables, so their memory is known before any is built.
 */
import type { PreparedEnsemble } from './tree-shap.js';
import type { Tree } from './tree-ensemble.types.js';

/**
 * One tree: splits renumbered 0..S-1 (parents first), leaves S..S+L-1. The first 2P leaves are
 * P pairs (true leaf, false leaf) of splits whose children are both leaves; with at most two
 * scores each pair shares one table (see tree-shap-tables.builder.ts), the other leaves have one
 * table each.
 */
export interface TreeLayout {
  tree: Tree;
  /** Per split: the original node id, and the renumbered ids of its true and false children. */
  splitNode: Int32Array;
  splitYes: Int32Array;
  splitNo: Int32Array;
  /** Per original node: the bit of its feature's slot (slots are numbered by first appearance from the root, so a split's slot is the same for every leaf below it). */
  nodeBit: Int32Array;
  pairs: number;
  /** Per leaf: original node id, distinct path features d, first slot (slots of leaf l: slotStart[l] .. slotStart[l] + d). */
  leafNode: Int32Array;
  leafD: Uint8Array;
  slotStart: Int32Array;
  /** Per slot: the feature index. */
  slotFeature: Int32Array;
  /** Per table (the pairs', then the other leaves'): where it starts in the tree's coefficients. */
  tableStart: Int32Array;
  /** Doubles of this tree's coefficients. */
  coefLength: number;
}

export interface TablesLayout {
  trees: TreeLayout[];
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
  for (const tree of prepared.ensemble.trees) {
    const layout = layTree(tree, R, Math.min(maxPathFeatures, 24));
    if (!layout) return undefined;
    trees.push(layout);
    const L = layout.leafNode.length;
    bytes += 8 * (layout.coefLength + L * R) + 4 * (2 * layout.slotFeature.length + 6 * layout.splitNode.length + 4 * L);
  }
  return { trees, bytes };
}

function layTree(tree: Tree, R: number, maxPathFeatures: number): TreeLayout | undefined {
  const n = tree.feature.length;
  const newId = new Int32Array(n);
  let splits = 0;
  for (let i = 0; i < n; i++) {
    if (tree.feature[i]! < 0) continue;
    if (tree.yes[i]! <= i || tree.no[i]! <= i) throw new Error('tree nodes must come after their parents');
    newId[i] = splits++;
  }
  const isLeaf = (node: number) => tree.feature[node]! < 0;
  const nodeBit = new Int32Array(n);
  const pairs: { node: number; features: number[] }[] = [];
  const single: { node: number; features: number[] }[] = [];
  const path: number[] = [];
  let ok = true;
  const walk = (node: number): void => {
    if (isLeaf(node)) {
      // A leaf without splits above it (a one-leaf tree) adds nothing to any feature.
      if (path.length === 0) return;
      if (path.length > maxPathFeatures) ok = false;
      single.push({ node, features: [...path] });
      return;
    }
    const f = tree.feature[node]!;
    let slot = path.indexOf(f);
    const added = slot < 0;
    if (added) slot = path.push(f) - 1;
    nodeBit[node] = 1 << slot;
    if (R <= 2 && isLeaf(tree.yes[node]!) && isLeaf(tree.no[node]!)) {
      if (path.length > maxPathFeatures) ok = false;
      pairs.push({ node: tree.yes[node]!, features: [...path] }, { node: tree.no[node]!, features: [...path] });
    } else {
      walk(tree.yes[node]!);
      walk(tree.no[node]!);
    }
    if (added) path.pop();
  };
  walk(0);
  if (!ok) return undefined;
  const leaves = [...pairs, ...single];
  const P = pairs.length / 2;
  const splitNode = new Int32Array(splits);
  for (let i = 0; i < n; i++) if (!isLeaf(i)) splitNode[newId[i]!] = i;
  const slotStart = new Int32Array(leaves.length + 1);
  leaves.forEach((leaf, l) => {
    newId[leaf.node] = splits + l;
    slotStart[l + 1] = slotStart[l]! + leaf.features.length;
  });
  // Table sizes: a pair's has 2^(d+1) lines of d x R numbers, a single leaf's 2^d lines of d.
  const tableStart = new Int32Array(P + single.length + 1);
  for (let t = 0; t < P + single.length; t++) {
    const d = leaves[t < P ? 2 * t : t + P]!.features.length;
    tableStart[t + 1] = tableStart[t]! + (t < P ? 2 * R : 1) * d * 2 ** d;
  }
  return {
    tree,
    splitNode,
    splitYes: splitNode.map((i) => newId[tree.yes[i]!]!),
    splitNo: splitNode.map((i) => newId[tree.no[i]!]!),
    nodeBit,
    pairs: P,
    leafNode: Int32Array.from(leaves, (l) => l.node),
    leafD: Uint8Array.from(leaves, (l) => l.features.length),
    slotStart,
    slotFeature: Int32Array.from(leaves.flatMap((l) => l.features)),
    tableStart,
    coefLength: tableStart[P + single.length]!,
  };
}
