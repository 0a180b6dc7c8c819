/**
 * Reads an ai.onnx.ml TreeEnsembleClassifier / TreeEnsembleRegressor node (opset 1-3 attribute
 * layout: nodes_*, class_* / target_*) into a TreeEnsemble, with the output head ONNX Runtime
 * applies. Layouts whose outputs ORT computes in ways tree SHAP cannot mirror are refused with
 * the reason, so the explainer falls back to kernel SHAP.
 *
 * ONNX Runtime's binary classifier (checked against onnxruntime-node 1.30 in the tests):
 * - weights on both classes: two scores, the post transform over both (scikit-learn forests);
 * - weights on class 1 only: scores [0, s] (class 0 scores nothing; its base value is dropped);
 * - weights on class 0 only (skl2onnx / onnxmltools boosters): ONE score s = sum + base_values[0];
 *   with every weight >= 0 the output is [1 - u, u] where u = sigmoid(s) under LOGISTIC and s
 *   otherwise; with mixed signs [sigmoid(-s), sigmoid(s)] under LOGISTIC and [-s, s] otherwise.
 * A regressor with one target ignores post_transform (only PROBIT would apply), as ORT does.
 */
import type { ModelSchema } from '../core/model-schema.js';
import type { OnnxGraph, OnnxNode } from '../runtime/onnx/onnx-graph.reader.js';
import {
  attrInt, attrNumbers, attrString, attrStrings, indexGraph, packedInput, servedHead, traceBack,
} from './graph-trace.js';
import { OutputHead } from './output-head.js';
import { NodeMode, type NodeModeName, type PostTransform, type Tree, type TreeEnsemble } from './tree-ensemble.types.js';

export type ParseResult<T> = { ok: true; value: T } | { ok: false; reason: string };

const TREE_OPS = new Set(['TreeEnsembleClassifier', 'TreeEnsembleRegressor']);
const POST_TRANSFORMS = new Set<PostTransform>(['NONE', 'LOGISTIC', 'SOFTMAX', 'SOFTMAX_ZERO', 'PROBIT']);

const refuse = (reason: string): { ok: false; reason: string } => ({ ok: false, reason });

class ParseRefusal extends Error {}

interface RawNode {
  tree: number;
  id: number;
  feature: number;
  value: number;
  mode: number;
  yes: number;
  no: number;
  missingYes: number;
  hitrate?: number;
}

function modeCode(name: string): number {
  const code = NodeMode[name as NodeModeName];
  if (code === undefined) throw new ParseRefusal(`unknown nodes_modes value '${name}'`);
  return code;
}

function need<T>(value: T | undefined, name: string): T {
  if (value === undefined) {
    const hint = name.endsWith('values') || name.endsWith('weights') || name.endsWith('hitrates')
      ? ` (a model storing double precision ${name}_as_tensor is not read by tree SHAP)`
      : '';
    throw new ParseRefusal(`attribute ${name} is missing${hint}`);
  }
  return value;
}

/** Builds the trees from the nodes_* attributes; leaf values filled later. */
function buildTrees(node: OnnxNode, nScores: number): { trees: Tree[]; index: Map<number, Map<number, number>>; hasCover: boolean } {
  const treeIds = need(attrNumbers(node, 'nodes_treeids'), 'nodes_treeids');
  const nodeIds = need(attrNumbers(node, 'nodes_nodeids'), 'nodes_nodeids');
  const features = need(attrNumbers(node, 'nodes_featureids'), 'nodes_featureids');
  const values = need(attrNumbers(node, 'nodes_values'), 'nodes_values');
  const modes = need(attrStrings(node, 'nodes_modes'), 'nodes_modes');
  const yes = need(attrNumbers(node, 'nodes_truenodeids'), 'nodes_truenodeids');
  const no = need(attrNumbers(node, 'nodes_falsenodeids'), 'nodes_falsenodeids');
  const missing = attrNumbers(node, 'nodes_missing_value_tracks_true') ?? [];
  const hitrates = attrNumbers(node, 'nodes_hitrates') ?? [];
  const n = treeIds.length;
  for (const [name, list] of [['nodes_nodeids', nodeIds], ['nodes_featureids', features], ['nodes_values', values], ['nodes_modes', modes],
    ['nodes_truenodeids', yes], ['nodes_falsenodeids', no]] as const) {
    if (list.length !== n) throw new ParseRefusal(`attribute ${name} has ${list.length} entries, nodes_treeids ${n}`);
  }
  if (missing.length !== 0 && missing.length !== n) throw new ParseRefusal(`nodes_missing_value_tracks_true has ${missing.length} entries, expected ${n}`);
  const hasCover = hitrates.length === n && hitrates.every((h) => Number.isFinite(h) && h >= 0);

  const byTree = new Map<number, RawNode[]>();
  for (let i = 0; i < n; i++) {
    const raw: RawNode = {
      tree: treeIds[i]!, id: nodeIds[i]!, feature: features[i]!, value: values[i]!, mode: modeCode(modes[i]!),
      yes: yes[i]!, no: no[i]!, missingYes: missing[i] ?? 0, hitrate: hasCover ? hitrates[i] : undefined,
    };
    const list = byTree.get(raw.tree) ?? [];
    list.push(raw);
    byTree.set(raw.tree, list);
  }

  const trees: Tree[] = [];
  const index = new Map<number, Map<number, number>>();
  for (const [treeId, nodes] of [...byTree].sort((a, b) => a[0] - b[0])) {
    const byId = new Map<number, RawNode>();
    for (const r of nodes) {
      if (byId.has(r.id)) throw new ParseRefusal(`tree ${treeId} has node id ${r.id} twice`);
      byId.set(r.id, r);
    }
    const children = new Set<number>();
    for (const r of nodes) {
      if (r.mode === NodeMode.LEAF) continue;
      for (const c of [r.yes, r.no]) {
        if (!byId.has(c)) throw new ParseRefusal(`tree ${treeId} node ${r.id} points to node ${c}, which does not exist`);
        children.add(c);
      }
    }
    const roots = nodes.filter((r) => !children.has(r.id));
    if (roots.length !== 1) throw new ParseRefusal(`tree ${treeId} has ${roots.length} root nodes`);
    // ONNX Runtime starts each tree at the node listed first for it.
    if (roots[0] !== nodes[0]) {
      throw new ParseRefusal(`tree ${treeId} lists node ${nodes[0]!.id} first but its root is node ${roots[0]!.id} (ONNX Runtime starts from the first node listed)`);
    }
    // Breadth-first order: root at 0, a node's children after it.
    const order: RawNode[] = [];
    const local = new Map<number, number>();
    const queue = [roots[0]!];
    while (queue.length) {
      const r = queue.shift()!;
      if (local.has(r.id)) throw new ParseRefusal(`tree ${treeId} is not a tree (node ${r.id} is reached twice)`);
      local.set(r.id, order.length);
      order.push(r);
      if (r.mode !== NodeMode.LEAF) queue.push(byId.get(r.yes)!, byId.get(r.no)!);
    }
    const size = order.length;
    const tree: Tree = {
      feature: new Int32Array(size),
      threshold: new Float64Array(size),
      mode: new Uint8Array(size),
      yes: new Int32Array(size),
      no: new Int32Array(size),
      missingYes: new Uint8Array(size),
      cover: hasCover ? new Float64Array(size) : undefined,
      values: new Float64Array(size * nScores),
      depth: 0,
    };
    const depth = new Int32Array(size);
    order.forEach((r, i) => {
      const leaf = r.mode === NodeMode.LEAF;
      if (!leaf && (!Number.isInteger(r.feature) || r.feature < 0)) throw new ParseRefusal(`tree ${treeId} node ${r.id} splits on feature ${r.feature}`);
      tree.feature[i] = leaf ? -1 : r.feature;
      tree.threshold[i] = r.value;
      tree.mode[i] = r.mode;
      tree.yes[i] = leaf ? -1 : local.get(r.yes)!;
      tree.no[i] = leaf ? -1 : local.get(r.no)!;
      tree.missingYes[i] = r.missingYes ? 1 : 0;
      if (tree.cover) tree.cover[i] = r.hitrate!;
      if (!leaf) {
        depth[tree.yes[i]!] = depth[i]! + 1;
        depth[tree.no[i]!] = depth[i]! + 1;
      } else if (depth[i]! > tree.depth) tree.depth = depth[i]!;
    });
    trees.push(tree);
    index.set(treeId, local);
  }
  if (trees.length === 0) throw new ParseRefusal('the ensemble has no trees');
  return { trees, index, hasCover };
}

interface Weights {
  treeIds: number[];
  nodeIds: number[];
  ids: number[];
  weights: number[];
}

function readWeights(node: OnnxNode, prefix: 'class' | 'target'): Weights {
  const w: Weights = {
    treeIds: need(attrNumbers(node, `${prefix}_treeids`), `${prefix}_treeids`),
    nodeIds: need(attrNumbers(node, `${prefix}_nodeids`), `${prefix}_nodeids`),
    ids: need(attrNumbers(node, `${prefix}_ids`), `${prefix}_ids`),
    weights: need(attrNumbers(node, `${prefix}_weights`), `${prefix}_weights`),
  };
  const n = w.treeIds.length;
  if (w.nodeIds.length !== n || w.ids.length !== n || w.weights.length !== n) throw new ParseRefusal(`the ${prefix}_* attributes differ in length`);
  return w;
}

/**
 * Adds each weight to its leaf's value for score `scoreOf(id)`. Returns, per leaf, which score ids
 * it carries (to check ORT's per-row "has a score" rules).
 */
function fillLeaves(trees: Tree[], index: Map<number, Map<number, number>>, w: Weights, nScores: number, scoreOf: (id: number) => number): Map<Tree, Set<number>[]> {
  const carried = new Map<Tree, Set<number>[]>();
  const treeOf = new Map<number, Tree>();
  [...index.keys()].forEach((id, i) => treeOf.set(id, trees[i]!));
  for (let i = 0; i < w.treeIds.length; i++) {
    const tree = treeOf.get(w.treeIds[i]!);
    const local = index.get(w.treeIds[i]!)?.get(w.nodeIds[i]!);
    if (!tree || local === undefined) throw new ParseRefusal(`a weight points to tree ${w.treeIds[i]} node ${w.nodeIds[i]}, which does not exist`);
    if (tree.feature[local]! >= 0) throw new ParseRefusal(`a weight points to tree ${w.treeIds[i]} node ${w.nodeIds[i]}, which is not a leaf`);
    const id = w.ids[i]!;
    const score = scoreOf(id);
    if (!Number.isInteger(score) || score < 0 || score >= nScores) throw new ParseRefusal(`a weight is for output ${id}, outside 0..${nScores - 1}`);
    tree.values[local * nScores + score]! += w.weights[i]!;
    let sets = carried.get(tree);
    if (!sets) carried.set(tree, (sets = []));
    (sets[local] ??= new Set()).add(id);
  }
  return carried;
}

function everyLeafCarries(trees: Tree[], carried: Map<Tree, Set<number>[]>, id: number): boolean {
  return trees.every((t) => {
    const sets = carried.get(t) ?? [];
    for (let n = 0; n < t.feature.length; n++) if (t.feature[n]! < 0 && !sets[n]?.has(id)) return false;
    return true;
  });
}

function postTransformOf(node: OnnxNode): PostTransform {
  const pt = attrString(node, 'post_transform') ?? 'NONE';
  if (!POST_TRANSFORMS.has(pt as PostTransform)) throw new ParseRefusal(`unknown post_transform '${pt}'`);
  return pt as PostTransform;
}

function classifierHead(node: OnnxNode, trees: Tree[], index: Map<number, Map<number, number>>): { nScores: number; base: Float64Array; head: OutputHead } {
  const labels = attrStrings(node, 'classlabels_strings') ?? attrNumbers(node, 'classlabels_int64s') ?? [];
  const K = labels.length;
  if (K < 2) throw new ParseRefusal(`the classifier declares ${K} class labels`);
  const w = readWeights(node, 'class');
  const post = postTransformOf(node);
  const baseValues = attrNumbers(node, 'base_values') ?? [];
  const classes = new Set(w.ids);
  if (K > 2) {
    for (const t of trees) t.values = new Float64Array(t.feature.length * K);
    fillLeaves(trees, index, w, K, (id) => id);
    if (baseValues.length > K) throw new ParseRefusal(`base_values has ${baseValues.length} entries for ${K} classes`);
    const base = new Float64Array(K);
    baseValues.forEach((b, k) => (base[k] = b));
    return { nScores: K, base, head: OutputHead.vector(K, post) };
  }
  if (classes.size === 0) throw new ParseRefusal('the classifier has no class weights');
  if (classes.size === 2 || classes.has(1)) {
    // Two scores. Class 1 must score on every row, or ORT switches to its one-score layout for that row.
    for (const t of trees) t.values = new Float64Array(t.feature.length * 2);
    const carried = fillLeaves(trees, index, w, 2, (id) => id);
    if (!everyLeafCarries(trees, carried, 1)) throw new ParseRefusal('some leaves carry no class-1 weight, which ONNX Runtime scores differently row by row');
    if (baseValues.length === 2) throw new ParseRefusal('a binary classifier with two base_values and class-1 weights: ONNX Runtime adds base_values[1] to the class-0 score');
    if (classes.size === 2 && !everyLeafCarries(trees, carried, 0) && baseValues.length === 1) {
      throw new ParseRefusal('some leaves carry no class-0 weight, so ONNX Runtime drops base_values[0] on some rows');
    }
    const base = new Float64Array(2);
    // Class 0 with no weights scores 0 and ORT drops its base value.
    if (classes.size === 2 && baseValues.length === 1) base[0] = baseValues[0]!;
    if (post === 'PROBIT') throw new ParseRefusal('post_transform PROBIT is not supported');
    return { nScores: 2, base, head: OutputHead.vector(2, post) };
  }
  // Weights on class 0 only.
  if (baseValues.length === 2) {
    // ORT's "binary as multiclass" path: scores [sum + b0, 0].
    for (const t of trees) t.values = new Float64Array(t.feature.length * 2);
    fillLeaves(trees, index, w, 2, () => 0);
    return { nScores: 2, base: Float64Array.of(baseValues[0]!, 0), head: OutputHead.vector(2, post) };
  }
  if (post === 'PROBIT') throw new ParseRefusal('post_transform PROBIT is not supported for a one-score binary classifier');
  for (const t of trees) t.values = new Float64Array(t.feature.length);
  fillLeaves(trees, index, w, 1, () => 0);
  const allPositive = w.weights.every((x) => x >= 0);
  const base = Float64Array.of(baseValues[0] ?? 0);
  const head = allPositive
    ? OutputHead.single(post === 'LOGISTIC' ? 'logistic' : 'identity', 'one-minus')
    : post === 'LOGISTIC'
      ? OutputHead.single('logistic', 'one-minus')
      : OutputHead.single('identity', 'negate');
  return { nScores: 1, base, head };
}

function regressorHead(node: OnnxNode, trees: Tree[], index: Map<number, Map<number, number>>): { nScores: number; base: Float64Array; head: OutputHead } {
  const w = readWeights(node, 'target');
  const T = attrInt(node, 'n_targets') ?? Math.max(0, ...w.ids) + 1;
  if (!Number.isInteger(T) || T < 1) throw new ParseRefusal(`n_targets is ${T}`);
  const aggregate = attrString(node, 'aggregate_function') ?? 'SUM';
  if (aggregate === 'MIN' || aggregate === 'MAX') {
    throw new ParseRefusal(`aggregate_function ${aggregate}: SHAP needs an additive ensemble (SUM or AVERAGE); explain this model with kernel SHAP`);
  }
  if (aggregate !== 'SUM' && aggregate !== 'AVERAGE') throw new ParseRefusal(`unknown aggregate_function '${aggregate}'`);
  for (const t of trees) t.values = new Float64Array(t.feature.length * T);
  fillLeaves(trees, index, w, T, (id) => id);
  if (aggregate === 'AVERAGE') for (const t of trees) for (let i = 0; i < t.values.length; i++) t.values[i]! /= trees.length;
  const baseValues = attrNumbers(node, 'base_values') ?? [];
  const post = postTransformOf(node);
  if (T === 1) {
    if (post === 'PROBIT') throw new ParseRefusal('post_transform PROBIT is not supported');
    return { nScores: 1, base: Float64Array.of(baseValues.length === 1 ? baseValues[0]! : 0), head: OutputHead.vector(1, 'NONE') };
  }
  const base = new Float64Array(T);
  if (baseValues.length === T) baseValues.forEach((b, k) => (base[k] = b));
  return { nScores: T, base, head: OutputHead.vector(T, post) };
}

/**
 * Finds the graph's tree ensemble and reads it. Refuses (with the reason) graphs tree SHAP cannot
 * explain exactly: no ensemble or several, an ensemble whose input is not the raw feature matrix
 * (a Scaler or imputer in front), MIN/MAX aggregation, attribute layouts ORT scores oddly.
 */
export function parseTreeEnsemble(graph: OnnxGraph, schema?: ModelSchema): ParseResult<TreeEnsemble> {
  const nodes = graph.nodes.filter((n) => n.domain === 'ai.onnx.ml' && TREE_OPS.has(n.opType));
  if (nodes.length === 0) {
    const unified = graph.nodes.some((n) => n.domain === 'ai.onnx.ml' && n.opType === 'TreeEnsemble');
    return refuse(unified ? 'the ai.onnx.ml TreeEnsemble operator (opset 5) is not read by tree SHAP yet' : 'the graph has no TreeEnsembleClassifier or TreeEnsembleRegressor');
  }
  if (nodes.length > 1) return refuse(`the graph has ${nodes.length} tree ensembles; tree SHAP reads one`);
  const node = nodes[0]!;
  const index = indexGraph(graph);
  const input = packedInput(schema);
  if (schema?.binding && !input) return refuse('not a tree model over the raw features: the model takes one input per feature');
  const trace = traceBack(index, node.inputs[0]!);
  if (trace.producer || (input && trace.origin !== input.name)) {
    return refuse(`not a tree model over the raw features: the ensemble reads '${trace.origin}'${trace.producer ? `, computed by ${trace.producer.opType}` : ''}`);
  }
  try {
    const { trees, index: nodeIndex, hasCover } = buildTrees(node, 1);
    const isClassifier = node.opType === 'TreeEnsembleClassifier';
    const { nScores, base, head: own } = isClassifier ? classifierHead(node, trees, nodeIndex) : regressorHead(node, trees, nodeIndex);
    let head = own;
    let kind: TreeEnsemble['kind'] = isClassifier ? 'classifier' : 'regressor';
    // The output the model serves: the ensemble's scores, or a Sigmoid / Softmax of them.
    const served = servedHead(index, isClassifier ? node.outputs[1] : node.outputs[0], schema, head);
    if (typeof served === 'string') return refuse(served);
    if (served.linked) {
      head = served.head;
      kind = 'classifier';
    }
    let maxFeature = 0;
    for (const t of trees) for (const f of t.feature) if (f > maxFeature) maxFeature = f;
    if (input && input.width > 0 && maxFeature >= input.width) return refuse(`the ensemble splits on feature ${maxFeature} but the input has ${input.width} columns`);
    const aggregate = !isClassifier && attrString(node, 'aggregate_function') === 'AVERAGE' ? 'AVERAGE' : 'SUM';
    return {
      ok: true,
      value: {
        source: node.opType,
        kind,
        nFeatures: Math.max(maxFeature + 1, input?.width ?? 0),
        nScores,
        trees,
        base,
        aggregate,
        head,
        hasCover,
      },
    };
  } catch (err) {
    if (err instanceof ParseRefusal) return refuse(err.message);
    throw err;
  }
}
