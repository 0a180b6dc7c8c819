/**
 * Small XGBoost JSON models written by hand (Python's xgboost is not installable here), in the
 * layout Booster.save_model writes: per tree the node arrays, with node ids numbered as XGBoost
 * does (children after their parent), default_left for missing values and sum_hessian as cover.
 * The trees are tiny so every expected prediction can be worked out by hand in the tests.
 */

/** A node: a split `x[f] < t` (left when true; `missingLeft` where a NaN goes) or a leaf. */
export type Spec = { leaf: number; cover?: number } | { f: number; t: number; left: Spec; right: Spec; missingLeft?: boolean };

function coverOf(s: Spec): number {
  return 'leaf' in s ? (s.cover ?? 1) : coverOf(s.left) + coverOf(s.right);
}

/** XGBoost's arrays for one tree: breadth-first ids, -1 children at leaves, the leaf value in split_conditions. */
export function treeJson(root: Spec, numFeature: number) {
  const order: Spec[] = [root];
  const left: number[] = [];
  const right: number[] = [];
  for (let i = 0; i < order.length; i++) {
    const s = order[i]!;
    if ('leaf' in s) {
      left.push(-1);
      right.push(-1);
    } else {
      left.push(order.push(s.left) - 1);
      right.push(order.push(s.right) - 1);
    }
  }
  const n = order.length;
  return {
    base_weights: order.map(() => 0),
    categories: [], categories_nodes: [], categories_segments: [], categories_sizes: [],
    default_left: order.map((s) => ('leaf' in s ? 0 : s.missingLeft ? 1 : 0)),
    id: 0,
    left_children: left,
    right_children: right,
    loss_changes: order.map(() => 0),
    parents: order.map((_, i) => (i === 0 ? 2147483647 : Math.max(left.indexOf(i), right.indexOf(i)))),
    split_conditions: order.map((s) => ('leaf' in s ? s.leaf : s.t)),
    split_indices: order.map((s) => ('leaf' in s ? 0 : s.f)),
    split_type: order.map(() => 0),
    sum_hessian: order.map(coverOf),
    tree_param: { num_deleted: '0', num_feature: String(numFeature), num_nodes: String(n), size_leaf_vector: '0' },
  };
}

export interface BoosterSpec {
  objective: string;
  numFeature: number;
  trees: Spec[];
  /** As XGBoost writes it: '5E-1', or '[5E-1]' (2.0 and later). */
  baseScore?: string;
  numClass?: number;
  treeInfo?: number[];
  featureNames?: string[];
  /** dart: one weight per tree. */
  weightDrop?: number[];
}

/** The JSON document of a booster (a plain object; JSON.stringify it to get the file). */
export function booster(spec: BoosterSpec) {
  const model = {
    gbtree_model_param: { num_parallel_tree: '1', num_trees: String(spec.trees.length), size_leaf_vector: '0' },
    tree_info: spec.treeInfo ?? spec.trees.map(() => 0),
    trees: spec.trees.map((t, i) => ({ ...treeJson(t, spec.numFeature), id: i })),
  };
  const gradientBooster = spec.weightDrop
    ? { name: 'dart', gbtree: { name: 'gbtree', model }, weight_drop: spec.weightDrop }
    : { name: 'gbtree', model };
  return {
    learner: {
      attributes: {},
      feature_names: spec.featureNames ?? [],
      feature_types: spec.featureNames ? spec.featureNames.map(() => 'float') : [],
      gradient_booster: gradientBooster,
      learner_model_param: {
        base_score: spec.baseScore ?? '5E-1',
        boost_from_average: '1',
        num_class: String(spec.numClass ?? 0),
        num_feature: String(spec.numFeature),
        num_target: '1',
      },
      objective: { name: spec.objective },
    },
    version: [2, 0, 3],
  };
}

/** Two features a, b. Tree 1: a < 0.5 ? 1 : (b < 2 ? -1 : 0.25); NaN in a goes left. Tree 2: b < 1 ? 0.5 : -0.5; NaN in b goes right. */
export const TWO_TREES: Spec[] = [
  { f: 0, t: 0.5, missingLeft: true, left: { leaf: 1, cover: 3 }, right: { f: 1, t: 2, left: { leaf: -1, cover: 2 }, right: { leaf: 0.25, cover: 5 } } },
  { f: 1, t: 1, left: { leaf: 0.5, cover: 4 }, right: { leaf: -0.5, cover: 6 } },
];

/** Rows of (a, b) and the leaf sums of TWO_TREES for them, worked out by hand. */
export const TWO_TREE_ROWS: { x: [number, number]; sum: number }[] = [
  { x: [0, 0], sum: 1 + 0.5 },
  { x: [1, 0], sum: -1 + 0.5 },
  { x: [1, 3], sum: 0.25 - 0.5 },
  { x: [0.5, 1], sum: -1 - 0.5 }, // thresholds are strict: 0.5 < 0.5 is false, so right
  { x: [NaN, 3], sum: 1 - 0.5 }, // a missing: left
  { x: [1, NaN], sum: 0.25 - 0.5 }, // b missing: right in both trees
];
