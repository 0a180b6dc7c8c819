/**
 * Path-dependent tree SHAP: Lundberg, Erion & Lee, "Consistent Individualized Feature Attribution
 * for Tree Ensembles" (2018), Algorithm 2, polynomial time O(T L D^2). Each tree's value for a
 * coalition S is its expected output when the features in S follow x and the others split by the
 * training cover; the SHAP values are the exact Shapley values of that game, in the raw (margin)
 * output space: base value + sum of values = raw model output.
 *
 * Cover comes from the model (ONNX nodes_hitrates, XGBoost sum_hessian) or from routing a
 * background set through the trees (tree-ensemble.evaluator coverFromRows).
 */
import { PlinthError } from '../core/errors.js';
import { childFor, coverFromRows, treeExpectation, yesFractions } from './tree-ensemble.evaluator.js';
import type { Matrix, Tree, TreeEnsemble } from './tree-ensemble.types.js';

/** An ensemble with the split fractions and expected values path-dependent SHAP needs. */
export interface PreparedEnsemble {
  ensemble: TreeEnsemble;
  /** Per tree: fraction of the cover taking each internal node's true child. */
  yesFraction: Float64Array[];
  /** Base values (raw space), per score: the ensemble's base plus each tree's expectation. */
  expected: Float64Array;
  coverSource: 'model' | 'background';
}

/**
 * Prepares an ensemble for path-dependent SHAP, with the model's cover or, when it has none,
 * cover from `background` (refused without one).
 */
export function prepareEnsemble(ensemble: TreeEnsemble, background?: Matrix): PreparedEnsemble {
  let coverSource: PreparedEnsemble['coverSource'];
  let covers: Float64Array[];
  if (ensemble.hasCover) {
    coverSource = 'model';
    covers = ensemble.trees.map((t) => t.cover!);
  } else {
    if (!background || background.rows === 0) {
      throw new PlinthError(
        'INVALID_INPUT',
        'path-dependent tree SHAP needs the training cover of every tree node; this model does not store it, so supply background rows ' +
          "(the manifest's `background`, or `_samples` in the request) to compute it",
      );
    }
    coverSource = 'background';
    covers = ensemble.trees.map((t) => coverFromRows(t, background));
  }
  const yesFraction = ensemble.trees.map((t, i) => yesFractions(t, covers[i]!));
  const expected = Float64Array.from(ensemble.base);
  ensemble.trees.forEach((t, i) => treeExpectation(t, yesFraction[i]!, ensemble.nScores, expected));
  return { ensemble, yesFraction, expected, coverSource };
}

/**
 * Algorithm 2 for one row, every tree: adds the raw-space SHAP values to phi (features x scores,
 * row-major). One instance holds the path buffers, sized for the deepest tree.
 */
export class PathDependentTreeShap {
  private readonly feat: Int32Array;
  private readonly zero: Float64Array;
  private readonly one: Float64Array;
  private readonly pw: Float64Array;
  private tree!: Tree;
  private frac!: Float64Array;
  private x!: ArrayLike<number>;
  private xOffset = 0;
  private phi!: Float64Array;
  private readonly R: number;

  constructor(private readonly prepared: PreparedEnsemble) {
    const D = Math.max(0, ...prepared.ensemble.trees.map((t) => t.depth));
    const size = ((D + 2) * (D + 3)) / 2 + 2 * D + 8;
    this.feat = new Int32Array(size);
    this.zero = new Float64Array(size);
    this.one = new Float64Array(size);
    this.pw = new Float64Array(size);
    this.R = prepared.ensemble.nScores;
  }

  /** Adds the SHAP values of row x (features from xOffset) to phi; returns phi. */
  explain(x: ArrayLike<number>, phi: Float64Array, xOffset = 0): Float64Array {
    this.x = x;
    this.xOffset = xOffset;
    this.phi = phi;
    const trees = this.prepared.ensemble.trees;
    for (let t = 0; t < trees.length; t++) {
      this.tree = trees[t]!;
      this.frac = this.prepared.yesFraction[t]!;
      this.recurse(0, 0, 0, 1, 1, -1);
    }
    return phi;
  }

  private extend(start: number, d: number, zf: number, of: number, fi: number): void {
    const { feat, zero, one, pw } = this;
    feat[start + d] = fi;
    zero[start + d] = zf;
    one[start + d] = of;
    pw[start + d] = d === 0 ? 1 : 0;
    for (let i = d - 1; i >= 0; i--) {
      pw[start + i + 1]! += (of * pw[start + i]! * (i + 1)) / (d + 1);
      pw[start + i] = (zf * pw[start + i]! * (d - i)) / (d + 1);
    }
  }

  private unwind(start: number, d: number, pathIndex: number): void {
    const { feat, zero, one, pw } = this;
    const of = one[start + pathIndex]!;
    const zf = zero[start + pathIndex]!;
    let next = pw[start + d]!;
    for (let i = d - 1; i >= 0; i--) {
      if (of !== 0) {
        const tmp = pw[start + i]!;
        pw[start + i] = (next * (d + 1)) / ((i + 1) * of);
        next = tmp - (pw[start + i]! * zf * (d - i)) / (d + 1);
      } else {
        pw[start + i] = (pw[start + i]! * (d + 1)) / (zf * (d - i));
      }
    }
    for (let i = pathIndex; i < d; i++) {
      feat[start + i] = feat[start + i + 1]!;
      zero[start + i] = zero[start + i + 1]!;
      one[start + i] = one[start + i + 1]!;
    }
  }

  private unwoundSum(start: number, d: number, pathIndex: number): number {
    const { zero, one, pw } = this;
    const of = one[start + pathIndex]!;
    const zf = zero[start + pathIndex]!;
    let next = pw[start + d]!;
    let total = 0;
    for (let i = d - 1; i >= 0; i--) {
      if (of !== 0) {
        const tmp = (next * (d + 1)) / ((i + 1) * of);
        total += tmp;
        next = pw[start + i]! - (tmp * zf * (d - i)) / (d + 1);
      } else if (zf !== 0) {
        total += pw[start + i]! / zf / ((d - i) / (d + 1));
      }
    }
    return total;
  }

  /**
   * `parentStart`: where the parent's path begins; this node's path is copied after it. `d`: the
   * unique depth (path length - 1) once this node's incoming split is added.
   */
  private recurse(node: number, parentStart: number, d: number, zf: number, of: number, fi: number): void {
    const { feat, zero, one, pw, tree } = this;
    const start = parentStart + d + 1;
    feat.copyWithin(start, parentStart, parentStart + d + 1);
    zero.copyWithin(start, parentStart, parentStart + d + 1);
    one.copyWithin(start, parentStart, parentStart + d + 1);
    pw.copyWithin(start, parentStart, parentStart + d + 1);
    this.extend(start, d, zf, of, fi);
    const split = tree.feature[node]!;
    const R = this.R;
    if (split < 0) {
      const values = tree.values;
      const vOff = node * R;
      for (let i = 1; i <= d; i++) {
        const w = this.unwoundSum(start, d, i);
        const scale = w * (one[start + i]! - zero[start + i]!);
        const pOff = feat[start + i]! * R;
        for (let k = 0; k < R; k++) this.phi[pOff + k]! += scale * values[vOff + k]!;
      }
      return;
    }
    const hot = childFor(tree, node, this.x, this.xOffset);
    const cold = hot === tree.yes[node] ? tree.no[node]! : tree.yes[node]!;
    const yesF = this.frac[node]!;
    const hotZero = hot === tree.yes[node] ? yesF : 1 - yesF;
    const coldZero = 1 - hotZero;
    let incomingZero = 1;
    let incomingOne = 1;
    let depth = d;
    let k = 0;
    for (; k <= depth; k++) if (feat[start + k] === split) break;
    if (k !== depth + 1) {
      incomingZero = zero[start + k]!;
      incomingOne = one[start + k]!;
      this.unwind(start, depth, k);
      depth -= 1;
    }
    if (hotZero * incomingZero !== 0 || incomingOne !== 0) this.recurse(hot, start, depth + 1, hotZero * incomingZero, incomingOne, split);
    if (coldZero * incomingZero !== 0) this.recurse(cold, start, depth + 1, coldZero * incomingZero, 0, split);
  }
}
