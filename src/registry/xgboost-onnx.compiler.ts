import { LOG_LINK_OBJECTIVES, type XgboostModel } from '../explain/xgboost-json.loader.js';
import { ELEM, writeOnnxModel, type OnnxAttribute, type OnnxNodeSpec, type OnnxValueSpec } from '../runtime/onnx/onnx-model.writer.js';

/**
 * Compiles an XGBoost booster (as xgboost-json.loader.ts reads it) into the ai.onnx.ml graph
 * onnxmltools writes for it, so ONNX Runtime serves it like any other upload:
 *
 * - binary:logistic: TreeEnsembleClassifier with every weight on class 0, base_values
 *   [logit(base_score)], post_transform LOGISTIC and labels 0/1; ONNX Runtime outputs `label` and
 *   `probabilities` [1 - p, p];
 * - multi:softprob, multi:softmax: TreeEnsembleClassifier, each tree's weights on the class its
 *   tree_info names, base_values per class, SOFTMAX; `label` and `probabilities` per class (both
 *   objectives give probabilities here; the label is multi:softmax's prediction);
 * - regression objectives and binary:logitraw: TreeEnsembleRegressor giving the margin, then the
 *   link XGBoost applies to it: Sigmoid for reg:logistic, Exp for count:poisson, reg:gamma and
 *   reg:tweedie; the output is `variable` [N, 1].
 *
 * Splits are BRANCH_LT on float32 thresholds with missing values following default_left, as
 * XGBoost predicts. Leaf values carry dart's weight_drop. nodes_hitrates hold sum_hessian, so the
 * graph alone also carries the cover tree SHAP needs (ONNX Runtime ignores it).
 */
const ML_OPSET = 3;
const ONNX_OPSET = 15;
const IR_VERSION = 8;

const MODE_NAMES = ['LEAF', 'BRANCH_LEQ', 'BRANCH_LT', 'BRANCH_GTE', 'BRANCH_GT', 'BRANCH_EQ', 'BRANCH_NEQ'];

/** nodes_* attributes and one weight per leaf (for the tree's raw score), with local node ids. */
function ensembleAttributes(model: XgboostModel, prefix: 'class' | 'target'): Record<string, OnnxAttribute> {
  const { trees, nScores } = model.ensemble;
  const nodes = { treeids: [] as number[], nodeids: [] as number[], featureids: [] as number[], values: [] as number[], modes: [] as string[],
    truenodeids: [] as number[], falsenodeids: [] as number[], missing: [] as number[], hitrates: [] as number[] };
  const weights = { treeids: [] as number[], nodeids: [] as number[], ids: [] as number[], weights: [] as number[] };
  trees.forEach((tree, t) => {
    const score = model.treeScores[t]!;
    // The loader numbers nodes breadth-first from the root, which ONNX Runtime needs listed first.
    for (let n = 0; n < tree.feature.length; n++) {
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
      if (leaf) {
        weights.treeids.push(t);
        weights.nodeids.push(n);
        weights.ids.push(score);
        weights.weights.push(tree.values[n * nScores + score]!);
      }
    }
  });
  return {
    nodes_treeids: { ints: nodes.treeids }, nodes_nodeids: { ints: nodes.nodeids }, nodes_featureids: { ints: nodes.featureids },
    nodes_values: { floats: nodes.values }, nodes_modes: { strings: nodes.modes }, nodes_truenodeids: { ints: nodes.truenodeids },
    nodes_falsenodeids: { ints: nodes.falsenodeids }, nodes_missing_value_tracks_true: { ints: nodes.missing },
    ...(model.ensemble.hasCover ? { nodes_hitrates: { floats: nodes.hitrates } } : {}),
    [`${prefix}_treeids`]: { ints: weights.treeids }, [`${prefix}_nodeids`]: { ints: weights.nodeids },
    [`${prefix}_ids`]: { ints: weights.ids }, [`${prefix}_weights`]: { floats: weights.weights },
  };
}

/** The link XGBoost applies to a regressor's margin, as an ONNX operator. */
function regressionLink(objective: string): string | undefined {
  if (objective === 'reg:logistic') return 'Sigmoid';
  if (LOG_LINK_OBJECTIVES.has(objective)) return 'Exp';
  return undefined;
}

/** The ONNX model (ModelProto bytes) that predicts what the booster predicts; input `input` [N, num_feature]. */
export function compileXgboost(model: XgboostModel): Uint8Array {
  const e = model.ensemble;
  const base = { floats: Array.from(e.base) };
  const nodes: OnnxNodeSpec[] = [];
  let outputs: OnnxValueSpec[];
  if (e.kind === 'classifier') {
    const classes = Math.max(2, e.nScores);
    outputs = [{ name: 'label', elem: ELEM.INT64, shape: ['N'] }, { name: 'probabilities', shape: ['N', classes] }];
    nodes.push({
      op: 'TreeEnsembleClassifier', domain: 'ai.onnx.ml', inputs: ['input'], outputs: ['label', 'probabilities'],
      attrs: {
        ...ensembleAttributes(model, 'class'),
        base_values: base,
        classlabels_int64s: { ints: Array.from({ length: classes }, (_, k) => k) },
        post_transform: { string: e.nScores > 1 ? 'SOFTMAX' : 'LOGISTIC' },
      },
    });
  } else {
    const link = regressionLink(model.objective);
    outputs = [{ name: 'variable', shape: ['N', 1] }];
    nodes.push({
      op: 'TreeEnsembleRegressor', domain: 'ai.onnx.ml', inputs: ['input'], outputs: [link ? 'margin' : 'variable'],
      attrs: { ...ensembleAttributes(model, 'target'), base_values: base, n_targets: { int: 1 }, aggregate_function: { string: 'SUM' }, post_transform: { string: 'NONE' } },
    });
    if (link) nodes.push({ op: link, inputs: ['margin'], outputs: ['variable'] });
  }
  return writeOnnxModel({
    irVersion: IR_VERSION,
    producer: 'plinth',
    docString: `compiled by Plinth from an XGBoost JSON model (objective ${model.objective}, ${e.trees.length} trees)`,
    opsets: { '': ONNX_OPSET, 'ai.onnx.ml': ML_OPSET },
    nodes,
    inputs: [{ name: 'input', shape: ['N', model.numFeatures] }],
    outputs,
  });
}
