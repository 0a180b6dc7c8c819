/**
 * Loads XGBoost's own JSON model format (Booster.save_model("model.json"), XGBoost 1.0 and later)
 * into a TreeEnsemble, so the booster can be evaluated and explained exactly, cover included
 * (sum_hessian is what XGBoost and shap use as cover).
 *
 * Per tree: split_indices, split_conditions (the threshold; the leaf value at leaves),
 * left_children / right_children (-1 at leaves), default_left (where a missing value goes).
 * XGBoost sends x < threshold left, in float32. The margin is base_margin + sum of leaves, where
 * base_margin is base_score through the objective's inverse link (logit for binary:logistic).
 * Trees of a multi-class model go to the class tree_info names; dart boosters scale each tree by
 * its weight_drop. Categorical splits and gblinear are refused.
 */
import { OutputHead } from './output-head.js';
import { predictRaw } from './tree-ensemble.evaluator.js';
import { NodeMode, type Matrix, type Tree, type TreeEnsemble } from './tree-ensemble.types.js';

export interface XgboostModel {
  ensemble: TreeEnsemble;
  objective: string;
  /** base_score as stored (probability scale for logistic objectives). */
  baseScore: number;
  /** The margin every row starts from (base_score through the inverse link). */
  baseMargin: number;
  numFeatures: number;
  numClasses: number;
  /** feature_names from the model, when it was trained with names. */
  featureNames?: string[];
  /**
   * What the model's outputs are: 'probability' columns (binary: [1 - p, p]; multi-class: one
   * per class), or 'value' (regression; exp of the margin for count:poisson, reg:gamma,
   * reg:tweedie).
   */
  output: 'probability' | 'value';
}

interface JsonTree {
  split_indices: number[];
  split_conditions: number[];
  left_children: number[];
  right_children: number[];
  default_left: (number | boolean)[];
  sum_hessian?: number[];
  split_type?: number[];
  tree_param?: { num_nodes?: string };
}

const LOGISTIC_OBJECTIVES = new Set(['binary:logistic', 'reg:logistic', 'binary:logitraw']);
const LOG_LINK_OBJECTIVES = new Set(['count:poisson', 'reg:gamma', 'reg:tweedie']);
const IDENTITY_OBJECTIVES = new Set(['reg:squarederror', 'reg:linear', 'reg:squaredlogerror', 'reg:pseudohubererror', 'reg:absoluteerror', 'reg:quantileerror', 'binary:hinge']);
const SOFTMAX_OBJECTIVES = new Set(['multi:softprob', 'multi:softmax']);

export class XgboostFormatError extends Error {}

const fail = (message: string): never => {
  throw new XgboostFormatError(`not a supported XGBoost JSON model: ${message}`);
};

/** XGBoost writes numbers in its JSON parameters as strings ("5E-1", or "[5E-1]" since 2.0). */
function numberParam(value: unknown, name: string): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    const n = Number(value.replace(/^\[|\]$/g, ''));
    if (Number.isFinite(n)) return n;
  }
  return fail(`${name} is ${JSON.stringify(value)}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function treeFrom(raw: unknown, at: number, scale: number, nScores: number, score: number): Tree {
  if (!isObject(raw)) return fail(`trees[${at}] is not an object`);
  const t = raw as unknown as JsonTree;
  const lists = ['split_indices', 'split_conditions', 'left_children', 'right_children', 'default_left'] as const;
  for (const name of lists) if (!Array.isArray(t[name])) fail(`trees[${at}].${name} is missing`);
  const n = t.left_children.length;
  for (const name of lists) if (t[name].length !== n) fail(`trees[${at}].${name} has ${t[name].length} entries, left_children ${n}`);
  if (t.split_type?.some((s) => s !== 0)) fail(`trees[${at}] has categorical splits`);
  const hasCover = Array.isArray(t.sum_hessian) && t.sum_hessian.length === n;
  // Breadth-first from node 0 so children come after parents.
  const order: number[] = [];
  const local = new Int32Array(n).fill(-1);
  const queue = [0];
  while (queue.length) {
    const i = queue.shift()!;
    if (i < 0 || i >= n || local[i] !== -1) fail(`trees[${at}] is not a tree at node ${i}`);
    local[i] = order.length;
    order.push(i);
    if (t.left_children[i] !== -1) queue.push(t.left_children[i]!, t.right_children[i]!);
  }
  const size = order.length;
  const tree: Tree = {
    feature: new Int32Array(size), threshold: new Float64Array(size), mode: new Uint8Array(size),
    yes: new Int32Array(size), no: new Int32Array(size), missingYes: new Uint8Array(size),
    cover: hasCover ? new Float64Array(size) : undefined, values: new Float64Array(size * nScores), depth: 0,
  };
  const depth = new Int32Array(size);
  order.forEach((i, k) => {
    const leaf = t.left_children[i] === -1;
    if (tree.cover) tree.cover[k] = t.sum_hessian![i]!;
    if (leaf) {
      tree.feature[k] = -1;
      tree.mode[k] = NodeMode.LEAF;
      tree.yes[k] = -1;
      tree.no[k] = -1;
      tree.values[k * nScores + score] = Math.fround(t.split_conditions[i]!) * scale;
      if (depth[k]! > tree.depth) tree.depth = depth[k]!;
      return;
    }
    const f = t.split_indices[i]!;
    if (!Number.isInteger(f) || f < 0) fail(`trees[${at}] node ${i} splits on feature ${f}`);
    tree.feature[k] = f;
    tree.threshold[k] = Math.fround(t.split_conditions[i]!);
    tree.mode[k] = NodeMode.BRANCH_LT;
    tree.yes[k] = local[t.left_children[i]!]!;
    tree.no[k] = local[t.right_children[i]!]!;
    tree.missingYes[k] = t.default_left[i] ? 1 : 0;
    depth[tree.yes[k]!] = depth[k]! + 1;
    depth[tree.no[k]!] = depth[k]! + 1;
  });
  return tree;
}

/** Parses the text of an XGBoost JSON model; throws XgboostFormatError naming what is wrong. */
export function loadXgboostJson(text: string): XgboostModel {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return fail(`invalid JSON (${(err as Error).message})`);
  }
  if (!isObject(doc) || !isObject(doc.learner)) return fail('no learner object');
  const learner = doc.learner;
  const param = isObject(learner.learner_model_param) ? learner.learner_model_param : fail('no learner_model_param');
  const objective = isObject(learner.objective) && typeof learner.objective.name === 'string' ? learner.objective.name : fail('no objective name');
  const booster = isObject(learner.gradient_booster) ? learner.gradient_booster : fail('no gradient_booster');
  const boosterName = booster.name;
  let model: Record<string, unknown>;
  let weightDrop: number[] | undefined;
  if (boosterName === 'gbtree' && isObject(booster.model)) model = booster.model;
  else if (boosterName === 'dart' && isObject(booster.gbtree) && isObject(booster.gbtree.model)) {
    model = booster.gbtree.model;
    weightDrop = Array.isArray(booster.weight_drop) ? (booster.weight_drop as number[]) : undefined;
  } else return fail(`booster '${String(boosterName)}' (only gbtree and dart are tree models)`);
  const trees = Array.isArray(model.trees) ? model.trees : fail('no trees');
  const treeInfo = Array.isArray(model.tree_info) ? (model.tree_info as number[]) : [];

  const numFeatures = numberParam(param.num_feature, 'num_feature');
  const numClass = numberParam(param.num_class ?? '0', 'num_class');
  const baseScore = numberParam(param.base_score ?? '0.5', 'base_score');
  const numTarget = param.num_target === undefined ? 1 : numberParam(param.num_target, 'num_target');
  if (numTarget > 1) fail(`num_target ${numTarget} (multi-output models are not supported)`);

  let nScores = 1;
  let head: OutputHead;
  let baseMargin: number;
  let output: XgboostModel['output'];
  let kind: TreeEnsemble['kind'];
  if (SOFTMAX_OBJECTIVES.has(objective)) {
    if (numClass < 2) fail(`${objective} with num_class ${numClass}`);
    nScores = numClass;
    head = OutputHead.vector(numClass, 'SOFTMAX');
    baseMargin = baseScore;
    output = 'probability';
    kind = 'classifier';
  } else if (LOGISTIC_OBJECTIVES.has(objective)) {
    if (!(baseScore > 0 && baseScore < 1)) fail(`base_score ${baseScore} for ${objective}`);
    baseMargin = Math.log(baseScore / (1 - baseScore));
    // binary:logitraw outputs the margin itself.
    head = objective === 'binary:logitraw' ? OutputHead.vector(1, 'NONE') : OutputHead.single('logistic', 'one-minus');
    output = objective === 'binary:logitraw' ? 'value' : 'probability';
    kind = objective === 'reg:logistic' || objective === 'binary:logitraw' ? 'regressor' : 'classifier';
  } else if (LOG_LINK_OBJECTIVES.has(objective)) {
    if (!(baseScore > 0)) fail(`base_score ${baseScore} for ${objective}`);
    baseMargin = Math.log(baseScore);
    head = OutputHead.vector(1, 'NONE');
    output = 'value';
    kind = 'regressor';
  } else if (IDENTITY_OBJECTIVES.has(objective)) {
    baseMargin = baseScore;
    head = OutputHead.vector(1, 'NONE');
    output = 'value';
    kind = 'regressor';
  } else {
    return fail(`objective '${objective}'`);
  }
  if (weightDrop && weightDrop.length !== trees.length) fail(`weight_drop has ${weightDrop.length} entries for ${trees.length} trees`);
  const parsed = trees.map((t, i) => {
    const score = nScores > 1 ? (treeInfo[i] ?? fail(`tree_info has no class for tree ${i}`)) : 0;
    if (score < 0 || score >= nScores) fail(`tree ${i} is for class ${score}`);
    return treeFrom(t, i, weightDrop ? weightDrop[i]! : 1, nScores, score);
  });
  if (parsed.length === 0) fail('no trees');
  let maxFeature = -1;
  for (const t of parsed) for (const f of t.feature) if (f > maxFeature) maxFeature = f;
  if (maxFeature >= numFeatures) fail(`a split uses feature ${maxFeature} but num_feature is ${numFeatures}`);
  const names = Array.isArray(learner.feature_names) && learner.feature_names.length === numFeatures ? (learner.feature_names as string[]) : undefined;
  return {
    ensemble: {
      source: `xgboost:${objective}`,
      kind,
      nFeatures: numFeatures,
      nScores,
      trees: parsed,
      base: new Float64Array(nScores).fill(baseMargin),
      aggregate: 'SUM',
      head,
      hasCover: parsed.every((t) => t.cover !== undefined),
    },
    objective,
    baseScore,
    baseMargin,
    numFeatures,
    numClasses: nScores > 1 ? nScores : kind === 'classifier' ? 2 : 0,
    featureNames: names,
    output,
  };
}

/**
 * The model's outputs for every row, per column (each of length rows), as XGBoost predicts them:
 * binary probabilities as [1 - p, p], class probabilities, or the regression value.
 */
export function predictXgboost(model: XgboostModel, m: Matrix): Float64Array[] {
  const e = model.ensemble;
  const log = LOG_LINK_OBJECTIVES.has(model.objective);
  const C = e.head.nColumns;
  const out = Array.from({ length: C }, () => new Float64Array(m.rows));
  const raw = new Float64Array(e.nScores);
  const cols = new Float64Array(C);
  for (let i = 0; i < m.rows; i++) {
    predictRaw(e, m.data, raw, i * m.cols);
    e.head.outputs(raw, cols);
    for (let c = 0; c < C; c++) out[c]![i] = log ? Math.exp(cols[c]!) : cols[c]!;
  }
  return out;
}
