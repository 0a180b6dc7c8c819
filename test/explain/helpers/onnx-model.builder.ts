/**
 * Writes small ONNX models in the test process, so the explanation tests need neither Python nor
 * checked-in binaries: graph nodes with scalar/list attributes between float tensor inputs and
 * outputs with a symbolic batch dimension, written by src/runtime/onnx/onnx-model.writer.ts.
 */
import { ELEM, writeOnnxModel, type OnnxAttribute, type OnnxValueSpec } from '../../../src/runtime/onnx/onnx-model.writer.js';

export type AttrValue = number | string | number[] | string[] | { float: number } | { floats: number[] };

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
  if (!Array.isArray(value)) return 'float' in value ? value : { floats: value.floats };
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

const MODE_NAMES = ['LEAF', 'BRANCH_LEQ', 'BRANCH_LT', 'BRANCH_GTE', 'BRANCH_GT', 'BRANCH_EQ', 'BRANCH_NEQ'];

interface TreeLike {
  feature: ArrayLike<number>;
  threshold: ArrayLike<number>;
  mode: ArrayLike<number>;
  yes: ArrayLike<number>;
  no: ArrayLike<number>;
  missingYes: ArrayLike<number>;
  cover?: ArrayLike<number>;
  values: ArrayLike<number>;
}

/**
 * nodes_* and class_* / target_* attributes for trees in the TreeEnsemble layout (node ids are
 * local indices). `scoreIds(k)` maps a score to the class / target id written.
 */
export function treeAttributes(trees: TreeLike[], nScores: number, prefix: 'class' | 'target', options: { hitrates?: boolean; scoreIds?: (k: number) => number; order?: 'forward' | 'root-first' | 'reversed' } = {}): Record<string, AttrValue> {
  const a = {
    nodes_treeids: [] as number[], nodes_nodeids: [] as number[], nodes_featureids: [] as number[], nodes_values: [] as number[],
    nodes_modes: [] as string[], nodes_truenodeids: [] as number[], nodes_falsenodeids: [] as number[],
    nodes_missing_value_tracks_true: [] as number[], nodes_hitrates: [] as number[],
    w_treeids: [] as number[], w_nodeids: [] as number[], w_ids: [] as number[], w_weights: [] as number[],
  };
  trees.forEach((t, ti) => {
    const ids = Array.from({ length: t.feature.length }, (_, n) => n);
    // ONNX Runtime takes the first node listed as the root; the others may come in any order.
    const order = options.order === 'reversed' ? ids.reverse() : options.order === 'root-first' ? [0, ...ids.slice(1).reverse()] : ids;
    for (const n of order) {
      const leaf = t.feature[n]! < 0;
      a.nodes_treeids.push(ti);
      a.nodes_nodeids.push(n);
      a.nodes_featureids.push(leaf ? 0 : t.feature[n]!);
      a.nodes_values.push(leaf ? 0 : t.threshold[n]!);
      a.nodes_modes.push(MODE_NAMES[t.mode[n]!]!);
      a.nodes_truenodeids.push(leaf ? 0 : t.yes[n]!);
      a.nodes_falsenodeids.push(leaf ? 0 : t.no[n]!);
      a.nodes_missing_value_tracks_true.push(t.missingYes[n]!);
      a.nodes_hitrates.push(t.cover ? t.cover[n]! : 1);
      if (leaf) {
        for (let k = 0; k < nScores; k++) {
          a.w_treeids.push(ti);
          a.w_nodeids.push(n);
          a.w_ids.push(options.scoreIds ? options.scoreIds(k) : k);
          a.w_weights.push(t.values[n * nScores + k]!);
        }
      }
    }
  });
  const out: Record<string, AttrValue> = {
    nodes_treeids: a.nodes_treeids, nodes_nodeids: a.nodes_nodeids, nodes_featureids: a.nodes_featureids, nodes_values: a.nodes_values,
    nodes_modes: a.nodes_modes, nodes_truenodeids: a.nodes_truenodeids, nodes_falsenodeids: a.nodes_falsenodeids,
    nodes_missing_value_tracks_true: a.nodes_missing_value_tracks_true,
    [`${prefix}_treeids`]: a.w_treeids, [`${prefix}_nodeids`]: a.w_nodeids, [`${prefix}_ids`]: a.w_ids, [`${prefix}_weights`]: a.w_weights,
  };
  if (options.hitrates) out.nodes_hitrates = a.nodes_hitrates;
  return out;
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
