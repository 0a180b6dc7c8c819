/**
 * Evaluates a TreeEnsemble the way ONNX Runtime does, on the raw scale (before the post
 * transform): every branch rule, NaN taking the true child only where missing values track
 * true (NEQ holds for NaN, as in C), leaf values summed per score plus the base values.
 */
import { NodeMode, type Matrix, type Tree, type TreeEnsemble } from './tree-ensemble.types.js';

/** Whether `value` takes the true child of `node`. */
export function goesYes(tree: Tree, node: number, value: number): boolean {
  const t = tree.threshold[node]!;
  let ok: boolean;
  switch (tree.mode[node]) {
    case NodeMode.BRANCH_LEQ: ok = value <= t; break;
    case NodeMode.BRANCH_LT: ok = value < t; break;
    case NodeMode.BRANCH_GTE: ok = value >= t; break;
    case NodeMode.BRANCH_GT: ok = value > t; break;
    case NodeMode.BRANCH_EQ: ok = value === t; break;
    case NodeMode.BRANCH_NEQ: ok = value !== t; break;
    default: throw new Error(`node ${node} is a leaf`);
  }
  return ok || (tree.missingYes[node] === 1 && Number.isNaN(value));
}

/** The child of `node` that row `x` (features from `offset`) takes. */
export function childFor(tree: Tree, node: number, x: ArrayLike<number>, offset = 0): number {
  return goesYes(tree, node, x[offset + tree.feature[node]!]!) ? tree.yes[node]! : tree.no[node]!;
}

/** The leaf a row reaches. */
export function leafOf(tree: Tree, x: ArrayLike<number>, offset = 0): number {
  let node = 0;
  while (tree.feature[node]! >= 0) node = childFor(tree, node, x, offset);
  return node;
}

/** Raw scores of one row (before the post transform), in float64. */
export function predictRaw(ensemble: TreeEnsemble, x: ArrayLike<number>, out = new Float64Array(ensemble.nScores), offset = 0): Float64Array {
  const R = ensemble.nScores;
  for (let k = 0; k < R; k++) out[k] = ensemble.base[k]!;
  for (const tree of ensemble.trees) {
    const leaf = leafOf(tree, x, offset);
    for (let k = 0; k < R; k++) out[k]! += tree.values[leaf * R + k]!;
  }
  return out;
}

/**
 * Raw scores of every row: rows x nScores, row-major; the same sums in the same order as
 * predictRaw. Tree by tree over the rows, and `x <= t` splits without missing-value tracking (all
 * of scikit-learn's) decided inline rather than through goesYes's rule switch: a batch explanation
 * reports every row's output, and this takes a third off predictRaw's time there.
 */
export function predictRawBatch(ensemble: TreeEnsemble, m: Matrix): Float64Array {
  const R = ensemble.nScores;
  const out = new Float64Array(m.rows * R);
  for (let i = 0; i < m.rows; i++) out.set(ensemble.base, i * R);
  for (const tree of ensemble.trees) {
    const { feature, threshold, mode, missingYes, yes, no, values } = tree;
    for (let i = 0; i < m.rows; i++) {
      const x0 = i * m.cols;
      let node = 0;
      for (let f = feature[0]!; f >= 0; f = feature[node]!) {
        const v = m.data[x0 + f]!;
        if (mode[node] === NodeMode.BRANCH_LEQ && !missingYes[node]) node = v <= threshold[node]! ? yes[node]! : no[node]!;
        else node = goesYes(tree, node, v) ? yes[node]! : no[node]!;
      }
      for (let k = 0; k < R; k++) out[i * R + k]! += values[node * R + k]!;
    }
  }
  return out;
}

/** The model's output columns (probabilities or values) of one row. */
export function predictOutputs(ensemble: TreeEnsemble, x: ArrayLike<number>): Float64Array {
  const out = new Float64Array(ensemble.head.nColumns);
  ensemble.head.outputs(predictRaw(ensemble, x), out);
  return out;
}

/**
 * Cover from data: how many of the rows reach each node. For ensembles that store no cover
 * (scikit-learn's converters write no nodes_hitrates), path-dependent tree SHAP takes it from a
 * background set instead.
 */
export function coverFromRows(tree: Tree, m: Matrix): Float64Array {
  const cover = new Float64Array(tree.feature.length);
  for (let i = 0; i < m.rows; i++) {
    const offset = i * m.cols;
    let node = 0;
    cover[0]!++;
    while (tree.feature[node]! >= 0) {
      node = childFor(tree, node, m.data, offset);
      cover[node]!++;
    }
  }
  return cover;
}

/**
 * The fraction of the cover going to each child of every internal node: yesFraction[node], with
 * 1 - yesFraction[node] to the other child. Normalised by the children's sum, so cover units do
 * not matter; a node no data reached splits evenly (any split keeps local accuracy, since the base
 * value is computed with the same fractions).
 */
export function yesFractions(tree: Tree, cover: Float64Array): Float64Array {
  const f = new Float64Array(tree.feature.length);
  for (let n = 0; n < f.length; n++) {
    if (tree.feature[n]! < 0) continue;
    const a = cover[tree.yes[n]!]!;
    const b = cover[tree.no[n]!]!;
    f[n] = a + b > 0 ? a / (a + b) : 0.5;
  }
  return f;
}

/** The cover-weighted mean of a tree's leaf values (its expected output under the cover), per score. */
export function treeExpectation(tree: Tree, yesFraction: Float64Array, nScores: number, out: Float64Array): void {
  const walk = (node: number, weight: number): void => {
    if (weight === 0) return;
    if (tree.feature[node]! < 0) {
      for (let k = 0; k < nScores; k++) out[k]! += weight * tree.values[node * nScores + k]!;
      return;
    }
    const f = yesFraction[node]!;
    walk(tree.yes[node]!, weight * f);
    walk(tree.no[node]!, weight * (1 - f));
  };
  walk(0, 1);
}
