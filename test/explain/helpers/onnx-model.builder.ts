/**
 * Writes small ONNX models in the test process, so the explanation tests need neither Python nor
 * checked-in binaries: graph nodes with scalar/list attributes between float tensor inputs and
 * outputs with a symbolic batch dimension, written by src/runtime/onnx/onnx-model.writer.ts.
 */
import { treeEnsembleAttributes, type TreeNodes } from '../../../src/explain/tree-ensemble.writer.js';
import { ELEM, writeOnnxModel, type OnnxAttribute, type OnnxValueSpec } from '../../../src/runtime/onnx/onnx-model.writer.js';

export type AttrValue = number | string | number[] | string[] | OnnxAttribute;

export interface NodeSpec {
  op: string;
  domain?: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, AttrValue>;
}

export { ELEM };
export type ValueSpec = OnnxValueSpec;
/** Names whose integer values ONNX declares as INTS even when they look like floats. */
const FLOAT_LISTS = /(^|_)(values|weights|hitrates|base_values|coefficients|intercepts|offset|scale)$/;

/** The ONNX attribute type of a test value: lists and numbers are floats for the attributes ONNX declares as FLOATS. */
function attribute(name: string, value: AttrValue): OnnxAttribute {
  if (typeof value === 'string') return { string: value };
  if (typeof value === 'number') return Number.isInteger(value) && !FLOAT_LISTS.test(name) ? { int: value } : { float: value };
  if (!Array.isArray(value)) return value;
  if (value.length > 0 && typeof value[0] === 'string') return { strings: value as string[] };
  return FLOAT_LISTS.test(name) ? { floats: value as number[] } : { ints: value as number[] };
}

export function buildOnnxModel(spec: { nodes: NodeSpec[]; inputs: ValueSpec[]; outputs: ValueSpec[]; mlOpset?: number }): Uint8Array {
  return writeOnnxModel({
    irVersion: 8,
    producer: 'plinth-explain-tests',
    opsets: { '': 15, 'ai.onnx.ml': spec.mlOpset ?? 3 },
    nodes: spec.nodes.map((n) => ({ ...n, attrs: Object.fromEntries(Object.entries(n.attrs ?? {}).map(([k, v]) => [k, attribute(k, v)])) })),
    inputs: spec.inputs,
    outputs: spec.outputs,
  });
}

/**
 * nodes_* and class_* / target_* attributes for trees in the TreeEnsemble layout, through the
 * writer the XGBoost compiler uses; `scoreIds(k)` maps a score to the class / target id written,
 * `order` lists nodes in another order (ONNX Runtime takes the first listed as the root).
 */
export function treeAttributes(trees: (TreeNodes & { values: ArrayLike<number> })[], nScores: number, prefix: 'class' | 'target', options: { hitrates?: boolean; scoreIds?: (k: number) => number; order?: 'forward' | 'root-first' | 'reversed' } = {}): Record<string, AttrValue> {
  const order = options.order === 'reversed' ? (ids: number[]) => ids.reverse() : options.order === 'root-first' ? (ids: number[]) => [0, ...ids.slice(1).reverse()] : undefined;
  return treeEnsembleAttributes(trees, prefix, {
    hitrates: options.hitrates ?? false,
    ...(order && { order }),
    leafWeights: (t, n) => Array.from({ length: nScores }, (_, k) => [options.scoreIds ? options.scoreIds(k) : k, trees[t]!.values[n * nScores + k]!] as const),
  });
}

/** A one-node model: input [N, width] -> op -> outputs (classifiers: label + probabilities). */
export function singleOpModel(op: string, attrs: Record<string, AttrValue>, width: number, columns: number): Uint8Array {
  const classifier = op.endsWith('Classifier');
  const outputs: ValueSpec[] = classifier
    ? [{ name: 'label', elem: ELEM.INT64, shape: ['N'] }, { name: 'probabilities', shape: ['N', columns] }]
    : [{ name: 'variable', shape: ['N', columns] }];
  if (classifier && Array.isArray(attrs.classlabels_strings)) outputs[0]!.elem = ELEM.STRING;
  return buildOnnxModel({
    nodes: [{ op, domain: 'ai.onnx.ml', inputs: ['input'], outputs: outputs.map((o) => o.name), attrs }],
    inputs: [{ name: 'input', shape: ['N', width] }],
    outputs,
  });
}
