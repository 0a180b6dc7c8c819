/**
 * A tree ensemble as the explainers see it, whatever it was read from (an ai.onnx.ml
 * TreeEnsembleClassifier/Regressor node, or XGBoost's JSON model): flat node arrays per tree,
 * leaf values per raw score, the base values and how raw scores become the model's outputs.
 */
import type { OutputHead } from './output-head.js';

/** Branch rules, numbered for the evaluator's switch. LEAF is 0. */
export const NodeMode = {
  LEAF: 0,
  BRANCH_LEQ: 1,
  BRANCH_LT: 2,
  BRANCH_GTE: 3,
  BRANCH_GT: 4,
  BRANCH_EQ: 5,
  BRANCH_NEQ: 6,
} as const;
export type NodeModeName = keyof typeof NodeMode;

export interface Tree {
  /** Feature index per node; -1 for leaves. Node 0 is the root. */
  feature: Int32Array;
  /** Split threshold per node (a float32 value held as a double). */
  threshold: Float64Array;
  /** NodeMode code per node. */
  mode: Uint8Array;
  /** Child taken when the rule holds (the "true" child); -1 for leaves. */
  yes: Int32Array;
  /** Child taken otherwise; -1 for leaves. */
  no: Int32Array;
  /** 1 where a missing value (NaN) takes the true child; otherwise NaN compares false. */
  missingYes: Uint8Array;
  /**
   * Training cover per node (samples or hessian sum reaching it): ONNX nodes_hitrates, XGBoost
   * sum_hessian. Undefined when the model does not store it.
   */
  cover?: Float64Array;
  /** Leaf values, node-major: values[node * nScores + k]; zero for internal nodes. */
  values: Float64Array;
  /** Longest root-to-leaf path, in splits. */
  depth: number;
}

export type PostTransform = 'NONE' | 'LOGISTIC' | 'SOFTMAX' | 'SOFTMAX_ZERO' | 'PROBIT';

export interface TreeEnsemble {
  /** Where it came from, for messages: 'TreeEnsembleClassifier', 'xgboost:binary:logistic', ... */
  source: string;
  kind: 'classifier' | 'regressor';
  /** Width of the rows it reads: 1 + the largest feature index (at least the model input's width). */
  nFeatures: number;
  /** Raw scores per row (classes, targets, or 1 for a binary model emitting one score). */
  nScores: number;
  trees: Tree[];
  /**
   * Added to the summed leaf values, per raw score. AVERAGE ensembles are stored as SUM with
   * leaf values divided by the tree count, so one evaluator serves both.
   */
  base: Float64Array;
  aggregate: 'SUM' | 'AVERAGE';
  /** How the raw scores become the model's output columns (probabilities or values). */
  head: OutputHead;
  /** Whether every tree carries its cover. */
  hasCover: boolean;
}

export interface Matrix {
  /** Row-major values, rows x cols. */
  data: Float32Array;
  rows: number;
  cols: number;
}
