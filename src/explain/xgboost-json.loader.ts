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
 * its weight_drop. Categorical splits, gblinear and objectives without a tree-sum output (ranking,
 * survival, binary:hinge's 0/1 labels) are refused with XgboostUnsupportedError.
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
  /** The raw score each tree adds to (its class for multi-class models, else 0), in tree order. */
  treeScores: number[];
  /** feature_names from the model, when it was trained with names. */
  featureNames?: string[];
  /**
   * What the model's outputs are: 'probability' columns (binary: [1 - p, p]; multi-class: one
   * per class), or 'value' (regression; exp of the margin for count:poisson, reg:gamma,
   * reg:tweedie; sigmoid of it for reg:logistic; the margin itself for binary:logitraw).
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
export const LOG_LINK_OBJECTIVES: ReadonlySet<string> = new Set(['count:poisson', 'reg:gamma', 'reg:tweedie']);
const IDENTITY_OBJECTIVES = new Set(['reg:squarederror', 'reg:linear', 'reg:squaredlogerror', 'reg:pseudohubererror', 'reg:absoluteerror', 'reg:quantileerror']);
const SOFTMAX_OBJECTIVES = new Set(['multi:softprob', 'multi:softmax']);

/** The text is not a well-formed XGBoost JSON model (not JSON, no learner, broken trees). */
export class XgboostFormatError extends Error {}
/** A well-formed XGBoost model using what Plinth does not serve (an objective, categorical splits, gblinear). */
export class XgboostUnsupportedError extends XgboostFormatError {}

const fail = (message: string): never => {
  throw new XgboostFormatError(`not a valid XGBoost JSON model: ${message}`);
};
const unsupported = (message: string): never => {
  throw new XgboostUnsupportedError(`unsupported XGBoost model: ${message}`);
};

/** XGBoost writes numbers in its JSON parameters as strings: "5E-1", or "[5E-1]" (a list) since 2.0. */
function numberList(value: unknown, name: string): number[] {
  if (typeof value === 'number') return [value];
  if (typeof value === 'string') {
    const list = value.replace(/^\[|\]$/g, '').split(',').map(Number);
    if (list.every(Number.isFinite)) return list;
  }
  return fail(`${name} is ${JSON.stringify(value)}`);
}

function numberParam(value: unknown, name: string): number {
  const list = numberList(value, name);
  return list.length === 1 ? list[0]! : fail(`${name} is ${JSON.stringify(value)}, expected one number`);
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
  if (t.split_type?.some((s) => s !== 0)) unsupported(`trees[${at}] has categorical splits (retrain with numeric or one-hot encoded features)`);
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
    throw new XgboostFormatError(`it is not JSON (${(err as Error).message})`);
  }
  if (!isObject(doc) || !isObject(doc.learner)) {
    throw new XgboostFormatError("it is JSON but not an XGBoost model: it has no 'learner' object (save the booster with Booster.save_model('model.json'))");
  }
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
  } else if (boosterName === 'gblinear') {
    return unsupported("booster 'gblinear' (only the tree boosters gbtree and dart are served)");
  } else return fail(`booster '${String(boosterName)}' (only gbtree and dart are tree models)`);
  const trees = Array.isArray(model.trees) ? model.trees : fail('no trees');
  const treeInfo = Array.isArray(model.tree_info) ? (model.tree_info as number[]) : [];

  const numFeatures = numberParam(param.num_feature, 'num_feature');
  const numClass = numberParam(param.num_class ?? '0', 'num_class');
  // One base_score, or (XGBoost 3.1) one per class, which it adds to the class margins as stored.
  const baseScores = numberList(param.base_score ?? '0.5', 'base_score');
  const baseScore = baseScores[0]!;
  const numTarget = param.num_target === undefined ? 1 : numberParam(param.num_target, 'num_target');
  if (numTarget > 1) unsupported(`num_target ${numTarget} (multi-output models are not supported)`);

  let nScores = 1;
  let head: OutputHead;
  let baseMargin: number;
  let output: XgboostModel['output'];
  let kind: TreeEnsemble['kind'];
  if (SOFTMAX_OBJECTIVES.has(objective)) {
    if (numClass < 2) fail(`${objective} with num_class ${numClass}`);
    nScores = numClass;
    if (baseScores.length !== 1 && baseScores.length !== numClass) fail(`base_score has ${baseScores.length} values for ${numClass} classes`);
    head = OutputHead.vector(numClass, 'SOFTMAX');
    baseMargin = baseScore;
    output = 'probability';
    kind = 'classifier';
  } else if (LOGISTIC_OBJECTIVES.has(objective)) {
    if (!(baseScore > 0 && baseScore < 1)) fail(`base_score ${baseScore} for ${objective}`);
    baseMargin = Math.log(baseScore / (1 - baseScore));
    // binary:logitraw outputs the margin itself; reg:logistic one value, its sigmoid.
    head = objective === 'binary:logitraw' ? OutputHead.vector(1, 'NONE') : objective === 'reg:logistic' ? OutputHead.vector(1, 'LOGISTIC') : OutputHead.single('logistic', 'one-minus');
    output = objective === 'binary:logistic' ? 'probability' : 'value';
    kind = objective === 'binary:logistic' ? 'classifier' : 'regressor';
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
    return unsupported(`objective '${objective}' (served: binary:logistic, binary:logitraw, multi:softprob, multi:softmax, reg:* and count:poisson)`);
  }
  if (nScores === 1 && baseScores.length !== 1) fail(`base_score has ${baseScores.length} values for one output`);
  if (weightDrop && weightDrop.length !== trees.length) fail(`weight_drop has ${weightDrop.length} entries for ${trees.length} trees`);
  const treeScores = trees.map((_, i) => (nScores > 1 ? (treeInfo[i] ?? fail(`tree_info has no class for tree ${i}`)) : 0));
  const parsed = trees.map((t, i) => {
    const score = treeScores[i]!;
    if (!Number.isInteger(score) || score < 0 || score >= nScores) fail(`tree ${i} is for class ${score}`);
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
      base: nScores > 1 && baseScores.length === nScores ? Float64Array.from(baseScores) : new Float64Array(nScores).fill(baseMargin),
      aggregate: 'SUM',
      head,
      hasCover: parsed.every((t) => t.cover !== undefined),
    },
    objective,
    baseScore,
    baseMargin,
    numFeatures,
    numClasses: nScores > 1 ? nScores : kind === 'classifier' ? 2 : 0,
    treeScores,
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
