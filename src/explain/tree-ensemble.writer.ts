import type { OnnxAttribute } from '../runtime/onnx/onnx-model.writer.js';
import { NodeMode, type NodeModeName } from './tree-ensemble.types.js';

/** The node arrays of one tree (tree-ensemble.types.ts `Tree`, or any array-like equivalent). */
export interface TreeNodes {
  feature: ArrayLike<number>;
  threshold: ArrayLike<number>;
  mode: ArrayLike<number>;
  yes: ArrayLike<number>;
  no: ArrayLike<number>;
  missingYes: ArrayLike<number>;
  cover?: ArrayLike<number>;
}

export interface TreeAttributeOptions {
  /** The [score id, weight] pairs written for a leaf (class_* / target_* entries). */
  leafWeights: (tree: number, node: number) => Iterable<readonly [number, number]>;
  /** Write nodes_hitrates from each tree's cover (1 where a tree has none). */
  hitrates: boolean;
  /** The order a tree's node ids are listed in; ONNX Runtime takes the first as the root. Default: as stored. */
  order?: (ids: number[]) => number[];
}

const MODE_NAMES = Object.fromEntries(Object.entries(NodeMode).map(([name, code]) => [code, name])) as Record<number, NodeModeName>;

/**
 * The nodes_* and class_* / target_* attributes of an ai.onnx.ml TreeEnsemble operator for
 * these trees, node ids local to each tree: the inverse of tree-ensemble.parser.ts.
 */
export function treeEnsembleAttributes(trees: readonly TreeNodes[], prefix: 'class' | 'target', options: TreeAttributeOptions): Record<string, OnnxAttribute> {
  const nodes = {
    treeids: [] as number[], nodeids: [] as number[], featureids: [] as number[], values: [] as number[], modes: [] as string[],
    truenodeids: [] as number[], falsenodeids: [] as number[], missing: [] as number[], hitrates: [] as number[],
  };
  const leaves = { treeids: [] as number[], nodeids: [] as number[], ids: [] as number[], weights: [] as number[] };
  trees.forEach((tree, t) => {
    const ids = Array.from({ length: tree.feature.length }, (_, n) => n);
    for (const n of options.order ? options.order(ids) : ids) {
      const leaf = tree.feature[n]! < 0;
      nodes.treeids.push(t);
      nodes.nodeids.push(n);
      nodes.featureids.push(leaf ? 0 : tree.feature[n]!);
      nodes.values.push(leaf ? 0 : tree.threshold[n]!);
      nodes.modes.push(MODE_NAMES[tree.mode[n]!]!);
      nodes.truenodeids.push(leaf ? 0 : tree.yes[n]!);
      nodes.falsenodeids.push(leaf ? 0 : tree.no[n]!);
      nodes.missing.push(tree.missingYes[n]!);
      nodes.hitrates.push(tree.cover ? tree.cover[n]! : 1);
      if (!leaf) continue;
      for (const [id, weight] of options.leafWeights(t, n)) {
        leaves.treeids.push(t);
        leaves.nodeids.push(n);
        leaves.ids.push(id);
        leaves.weights.push(weight);
      }
    }
  });
  return {
    nodes_treeids: { ints: nodes.treeids }, nodes_nodeids: { ints: nodes.nodeids }, nodes_featureids: { ints: nodes.featureids },
    nodes_values: { floats: nodes.values }, nodes_modes: { strings: nodes.modes }, nodes_truenodeids: { ints: nodes.truenodeids },
    nodes_falsenodeids: { ints: nodes.falsenodeids }, nodes_missing_value_tracks_true: { ints: nodes.missing },
    ...(options.hitrates ? { nodes_hitrates: { floats: nodes.hitrates } } : {}),
    [`${prefix}_treeids`]: { ints: leaves.treeids }, [`${prefix}_nodeids`]: { ints: leaves.nodeids },
    [`${prefix}_ids`]: { ints: leaves.ids }, [`${prefix}_weights`]: { floats: leaves.weights },
  };
}
