import { ModelProto } from './onnx-proto.schema.js';

/**
 * Writes small ONNX models: graph nodes with scalar and list attributes between tensor inputs and
 * outputs (what Plinth compiles, such as an XGBoost booster into an ai.onnx.ml tree ensemble).
 */

/** An attribute value, typed as ONNX declares it (AttributeProto.AttributeType). */
export type OnnxAttribute =
  | { float: number }
  | { int: number }
  | { string: string }
  | { floats: number[] }
  | { ints: number[] }
  | { strings: string[] };

export interface OnnxNodeSpec {
  op: string;
  domain?: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, OnnxAttribute>;
}

/** elem_type codes of TensorProto.DataType. */
export const ELEM = { FLOAT: 1, INT64: 7, STRING: 8, DOUBLE: 11 } as const;

export interface OnnxValueSpec {
  name: string;
  /** TensorProto.DataType; FLOAT when omitted. */
  elem?: number;
  /** Dimensions; a string is a symbolic one (the batch). */
  shape: (number | string)[];
}

export interface OnnxModelSpec {
  nodes: OnnxNodeSpec[];
  inputs: OnnxValueSpec[];
  outputs: OnnxValueSpec[];
  /** Opset per domain ('' is the default domain). */
  opsets: Record<string, number>;
  irVersion: number;
  producer: string;
  docString?: string;
}

const utf8 = new TextEncoder();

function attribute(name: string, value: OnnxAttribute) {
  if ('float' in value) return { name, type: 1, f: value.float };
  if ('int' in value) return { name, type: 2, i: value.int };
  if ('string' in value) return { name, type: 3, s: utf8.encode(value.string) };
  if ('floats' in value) return { name, type: 6, floats: value.floats };
  if ('ints' in value) return { name, type: 7, ints: value.ints };
  return { name, type: 8, strings: value.strings.map((s) => utf8.encode(s)) };
}

const valueInfo = (v: OnnxValueSpec) => ({
  name: v.name,
  type: {
    tensor_type: {
      elem_type: v.elem ?? ELEM.FLOAT,
      shape: { dim: v.shape.map((d) => (typeof d === 'string' ? { dim_param: d } : { dim_value: d })) },
    },
  },
});

/** The serialized ModelProto. */
export function writeOnnxModel(spec: OnnxModelSpec): Uint8Array {
  const message = ModelProto.fromObject({
    ir_version: spec.irVersion,
    producer_name: spec.producer,
    doc_string: spec.docString,
    opset_import: Object.entries(spec.opsets).map(([domain, version]) => ({ domain, version })),
    graph: {
      name: spec.producer,
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
