/**
 * Exact SHAP for linear models with independent features (Lundberg & Lee 2017, "Linear SHAP"):
 * for a raw score z = w.x + b the interventional SHAP values are w_j (x_j - E[x_j]), with base
 * value w.E[x] + b, the background mean giving E[x].
 *
 * Reads an ai.onnx.ml LinearClassifier / LinearRegressor whose input is the model input, possibly
 * through Identity, Cast and Scaler nodes (scikit-learn's StandardScaler): a Scaler computes
 * (x - offset) * scale, which folds into the coefficients, so the model stays linear in the raw
 * features. A plain MatMul + Add graph is not recognised: its weights are initializers, which the
 * graph reader does not decode.
 */
import type { ModelSchema } from '../core/model-schema.js';
import type { OnnxGraph, OnnxNode } from '../runtime/onnx/onnx-graph.reader.js';
import { attrNumbers, attrString, attrStrings, indexGraph, packedInput, servedHead } from './graph-trace.js';
import { OutputHead } from './output-head.js';
import type { ParseResult } from './tree-ensemble.parser.js';
import type { PostTransform } from './tree-ensemble.types.js';

export interface LinearModel {
  source: 'LinearClassifier' | 'LinearRegressor';
  kind: 'classifier' | 'regressor';
  nFeatures: number;
  nScores: number;
  /** Coefficients on the raw features, scores x features, row-major. */
  coef: Float64Array;
  intercept: Float64Array;
  head: OutputHead;
}

const LINEAR_OPS = new Set(['LinearClassifier', 'LinearRegressor']);
const POST = new Set(['NONE', 'LOGISTIC', 'SOFTMAX', 'SOFTMAX_ZERO', 'PROBIT']);

/** An affine map per feature, x -> (x - offset) * scale, composed along the input chain. */
interface Affine {
  offset: Float64Array;
  scale: Float64Array;
}

/** Walks from the linear node's input back to the model input through Identity, Cast and Scaler. */
function inputChain(graph: OnnxGraph, tensor: string, modelInput: string | undefined, width: number): Affine | string {
  const index = indexGraph(graph);
  const scalers: OnnxNode[] = [];
  let name = tensor;
  for (let guard = 0; guard < 32; guard++) {
    const p = index.producer.get(name);
    if (!p) break;
    if (p.domain === '' && (p.opType === 'Identity' || p.opType === 'Cast')) {
      name = p.inputs[0]!;
      continue;
    }
    if (p.domain === 'ai.onnx.ml' && p.opType === 'Scaler') {
      scalers.push(p);
      name = p.inputs[0]!;
      continue;
    }
    return `not a linear model over the raw features: its input is computed by ${p.opType}`;
  }
  if (modelInput !== undefined && name !== modelInput) return `not a linear model over the raw features: it reads '${name}'`;
  // Compose innermost (closest to the input) first.
  const offset = new Float64Array(width);
  const scale = new Float64Array(width).fill(1);
  for (const s of scalers.reverse()) {
    const o = attrNumbers(s, 'offset') ?? [0];
    const k = attrNumbers(s, 'scale') ?? [1];
    if ((o.length !== 1 && o.length !== width) || (k.length !== 1 && k.length !== width)) return `a Scaler has ${o.length} offsets and ${k.length} scales for ${width} features`;
    // ((x - a) * s - o) * k = (x - (a + o / s)) * (s * k)
    for (let j = 0; j < width; j++) {
      const oj = o.length === 1 ? o[0]! : o[j]!;
      const kj = k.length === 1 ? k[0]! : k[j]!;
      if (scale[j] === 0) return 'a Scaler scales a feature by zero';
      offset[j] = offset[j]! + oj / scale[j]!;
      scale[j] = scale[j]! * kj;
    }
  }
  return { offset, scale };
}

export function parseLinearModel(graph: OnnxGraph, schema?: ModelSchema): ParseResult<LinearModel> {
  const refuse = (reason: string) => ({ ok: false as const, reason });
  const nodes = graph.nodes.filter((n) => n.domain === 'ai.onnx.ml' && LINEAR_OPS.has(n.opType));
  if (nodes.length !== 1) return refuse(nodes.length ? `the graph has ${nodes.length} linear models` : 'the graph has no LinearClassifier or LinearRegressor');
  const node = nodes[0]!;
  const input = packedInput(schema);
  if (schema?.binding && !input) return refuse('not a linear model over the raw features: the model takes one input per feature');
  const coefficients = attrNumbers(node, 'coefficients');
  const intercepts = attrNumbers(node, 'intercepts') ?? [];
  if (!coefficients || coefficients.length === 0) return refuse('the linear model has no coefficients');
  const post = attrString(node, 'post_transform') ?? 'NONE';
  if (!POST.has(post)) return refuse(`unknown post_transform '${post}'`);
  const isClassifier = node.opType === 'LinearClassifier';
  let nScores: number;
  let head: OutputHead;
  if (isClassifier) {
    const labels = attrStrings(node, 'classlabels_strings') ?? attrNumbers(node, 'classlabels_ints') ?? [];
    nScores = intercepts.length;
    if (nScores === 0) return refuse('the classifier has no intercepts');
    if (nScores === 1 && labels.length === 2) {
      // ONNX Runtime writes [1 - u, u], u = sigmoid(z) under LOGISTIC and z otherwise.
      if (post === 'PROBIT') return refuse('post_transform PROBIT is not supported');
      head = OutputHead.single(post === 'LOGISTIC' ? 'logistic' : 'identity', 'one-minus');
    } else {
      head = OutputHead.vector(nScores, post as PostTransform);
    }
  } else {
    const targets = node.attributes.get('targets');
    nScores = typeof targets === 'number' ? targets : 1;
    if (nScores === 1) {
      if (post === 'PROBIT') return refuse('post_transform PROBIT is not supported');
      head = OutputHead.vector(1, 'NONE');
    } else {
      head = OutputHead.vector(nScores, post as PostTransform);
    }
  }
  if (coefficients.length % nScores !== 0) return refuse(`${coefficients.length} coefficients for ${nScores} scores`);
  const width = coefficients.length / nScores;
  if (input && input.width > 0 && input.width !== width) return refuse(`the model has ${width} coefficients per score but the input has ${input.width} columns`);
  const chain = inputChain(graph, node.inputs[0]!, input?.name, width);
  if (typeof chain === 'string') return refuse(chain);
  const served = servedHead(indexGraph(graph), isClassifier ? node.outputs[1] : node.outputs[0], schema, head);
  if (typeof served === 'string') return refuse(served);
  // z_k = sum_j W_kj (x_j - o_j) s_j + b_k  =  sum_j (W_kj s_j) x_j + (b_k - sum_j W_kj s_j o_j)
  const coef = new Float64Array(nScores * width);
  const intercept = new Float64Array(nScores);
  for (let k = 0; k < nScores; k++) {
    let b = intercepts[k] ?? 0;
    for (let j = 0; j < width; j++) {
      const w = coefficients[k * width + j]! * chain.scale[j]!;
      coef[k * width + j] = w;
      b -= w * chain.offset[j]!;
    }
    intercept[k] = b;
  }
  return {
    ok: true,
    value: {
      source: node.opType as LinearModel['source'],
      kind: isClassifier || served.linked ? 'classifier' : 'regressor',
      nFeatures: width,
      nScores,
      coef,
      intercept,
      head: served.head,
    },
  };
}

/** Raw scores z = W x + b of one row. */
export function linearRaw(model: LinearModel, x: ArrayLike<number>, out = new Float64Array(model.nScores), offset = 0): Float64Array {
  const F = model.nFeatures;
  for (let k = 0; k < model.nScores; k++) {
    let z = model.intercept[k]!;
    for (let j = 0; j < F; j++) z += model.coef[k * F + j]! * x[offset + j]!;
    out[k] = z;
  }
  return out;
}

/** Raw-space SHAP values (features x scores) of row x against the feature means. */
export function linearShap(model: LinearModel, x: ArrayLike<number>, mean: Float64Array, out = new Float64Array(model.nFeatures * model.nScores), offset = 0): Float64Array {
  const F = model.nFeatures;
  const R = model.nScores;
  for (let j = 0; j < F; j++) {
    const d = x[offset + j]! - mean[j]!;
    for (let k = 0; k < R; k++) out[j * R + k] = model.coef[k * F + j]! * d;
  }
  return out;
}
