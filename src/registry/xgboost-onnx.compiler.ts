import { LOG_LINK_OBJECTIVES, type XgboostModel } from '../explain/xgboost-json.loader.js';
import { treeEnsembleAttributes } from '../explain/tree-ensemble.writer.js';
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

/**
 * Each tree's leaves weigh on the one score (class or target) the booster grew the tree for. The
 * loader numbers nodes breadth-first from the root, which ONNX Runtime needs listed first.
 */
function ensembleAttributes(model: XgboostModel, prefix: 'class' | 'target'): Record<string, OnnxAttribute> {
  const { trees, nScores } = model.ensemble;
  return treeEnsembleAttributes(trees, prefix, {
    hitrates: model.ensemble.hasCover,
    leafWeights: (t, n) => [[model.treeScores[t]!, trees[t]!.values[n * nScores + model.treeScores[t]!]!]],
  });
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
