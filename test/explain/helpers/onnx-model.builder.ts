/**
 * Writes small ONNX models in the test process, so the explanation tests need neither Python nor
 * checked-in binaries: a ModelProto subset (graph nodes with scalar/list attributes, float tensor
 * inputs and outputs with a symbolic batch dimension) encoded with protobufjs.
 */
import protobuf from 'protobufjs';

const ONNX_WRITE_SUBSET = `
syntax = "proto2";
package onnxw;
message AttributeProto {
  optional string name = 1;
  optional float f = 2;
  optional int64 i = 3;
  optional bytes s = 4;
  repeated float floats = 7;
  repeated int64 ints = 8;
  repeated bytes strings = 9;
  optional int32 type = 20;
}
message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  optional string name = 3;
  optional string op_type = 4;
  repeated AttributeProto attribute = 5;
  optional string domain = 7;
}
message Dimension {
  optional int64 dim_value = 1;
  optional string dim_param = 2;
}
message TensorShapeProto { repeated Dimension dim = 1; }
message TensorTypeProto {
  optional int32 elem_type = 1;
  optional TensorShapeProto shape = 2;
}
message TypeProto { optional TensorTypeProto tensor_type = 1; }
message ValueInfoProto {
  optional string name = 1;
  optional TypeProto type = 2;
}
message GraphProto {
  repeated NodeProto node = 1;
  optional string name = 2;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
}
message OperatorSetIdProto {
  optional string domain = 1;
  optional int64 version = 2;
}
message ModelProto {
  optional int64 ir_version = 1;
  optional string producer_name = 2;
  optional GraphProto graph = 7;
  repeated OperatorSetIdProto opset_import = 8;
}
`;
const ModelProto = protobuf.parse(ONNX_WRITE_SUBSET, { keepCase: true }).root.lookupType('onnxw.ModelProto');

export type AttrValue = number | string | number[] | string[] | { float: number } | { floats: number[] };

export interface NodeSpec {
  op: string;
  domain?: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, AttrValue>;
}

/** elem_type codes of TensorProto.DataType used here. */
export const ELEM = { FLOAT: 1, INT64: 7, STRING: 8, DOUBLE: 11 } as const;

export interface ValueSpec {
  name: string;
  elem?: number;
  /** Dimensions; a string is a symbolic one. */
  shape: (number | string)[];
}

const utf8 = new TextEncoder();
/** Names whose integer values ONNX declares as INTS even when they look like floats. */
const FLOAT_LISTS = /(^|_)(values|weights|hitrates|base_values|coefficients|intercepts|offset|scale)$/;

function attribute(name: string, value: AttrValue) {
  if (typeof value === 'string') return { name, type: 3, s: utf8.encode(value) };
  if (typeof value === 'number') return Number.isInteger(value) && !FLOAT_LISTS.test(name) ? { name, type: 2, i: value } : { name, type: 1, f: value };
  if (!Array.isArray(value)) return 'float' in value ? { name, type: 1, f: value.float } : { name, type: 6, floats: value.floats };
  if (value.length > 0 && typeof value[0] === 'string') return { name, type: 8, strings: (value as string[]).map((s) => utf8.encode(s)) };
  // Lists: floats for the attributes ONNX declares as FLOATS, ints otherwise.
  return FLOAT_LISTS.test(name) ? { name, type: 6, floats: value as number[] } : { name, type: 7, ints: value as number[] };
}

const valueInfo = (v: ValueSpec) => ({
  name: v.name,
  type: {
    tensor_type: {
      elem_type: v.elem ?? ELEM.FLOAT,
      shape: { dim: v.shape.map((d) => (typeof d === 'string' ? { dim_param: d } : { dim_value: d })) },
    },
  },
});

export function buildOnnxModel(spec: { nodes: NodeSpec[]; inputs: ValueSpec[]; outputs: ValueSpec[]; mlOpset?: number }): Uint8Array {
  const message = ModelProto.fromObject({
    ir_version: 8,
    producer_name: 'plinth-explain-tests',
    opset_import: [{ domain: '', version: 15 }, { domain: 'ai.onnx.ml', version: spec.mlOpset ?? 3 }],
    graph: {
      name: 'test',
      node: spec.nodes.map((n, i) => ({
        name: `n${i}`,
        op_type: n.op,
        domain: n.domain ?? '',
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => attribute(k, v)),
      })),
      input: spec.inputs.map(valueInfo),
      output: spec.outputs.map(valueInfo),
    },
  });
  return ModelProto.encode(message).finish();
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
