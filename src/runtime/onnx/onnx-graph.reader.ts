import { ModelProto } from './onnx-proto.schema.js';

/**
 * Reads what ONNX Runtime's session API does not expose: node attributes (ai.onnx.ml class
 * labels, tree ensembles), metadata properties and the producer.
 */

export type AttributeValue = number | string | number[] | string[];

export interface OnnxNode {
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: Map<string, AttributeValue>;
}

export interface OnnxGraph {
  producer: string;
  docString: string;
  opsets: Record<string, number>;
  metadata: Record<string, string>;
  nodes: OnnxNode[];
}

interface RawAttribute {
  name?: string; f?: number; i?: number; s?: Uint8Array; floats?: number[]; ints?: number[]; strings?: Uint8Array[]; type?: number;
}

const utf8 = new TextDecoder();

// AttributeProto.AttributeType: FLOAT=1, INT=2, STRING=3, FLOATS=6, INTS=7, STRINGS=8
function attributeValue(a: RawAttribute): AttributeValue | undefined {
  switch (a.type) {
    case 1: return a.f ?? 0;
    case 2: return a.i ?? 0;
    case 3: return utf8.decode(a.s ?? new Uint8Array());
    case 6: return a.floats ?? [];
    case 7: return a.ints ?? [];
    case 8: return (a.strings ?? []).map((s) => utf8.decode(s));
    default: return undefined; // tensors and graphs: not needed
  }
}

/** Throws protobufjs' error for bytes that are not a ModelProto. */
export function readOnnxGraph(bytes: Uint8Array): OnnxGraph {
  const raw = ModelProto.toObject(ModelProto.decode(bytes), { longs: Number, arrays: true, defaults: false }) as {
    producer_name?: string; doc_string?: string;
    graph?: { node?: { input: string[]; output: string[]; op_type?: string; domain?: string; attribute: RawAttribute[] }[] };
    opset_import: { domain?: string; version?: number }[];
    metadata_props: { key?: string; value?: string }[];
  };
  return {
    producer: raw.producer_name ?? '',
    docString: raw.doc_string ?? '',
    opsets: Object.fromEntries(raw.opset_import.map((o) => [o.domain || 'ai.onnx', o.version ?? 0])),
    metadata: Object.fromEntries(raw.metadata_props.map((p) => [p.key ?? '', p.value ?? ''])),
    nodes: (raw.graph?.node ?? []).map((n) => ({
      opType: n.op_type ?? '',
      domain: n.domain ?? '',
      inputs: n.input,
      outputs: n.output,
      attributes: new Map(
        n.attribute.flatMap((a) => {
          const v = attributeValue(a);
          return v === undefined ? [] : [[a.name ?? '', v] as const];
        }),
      ),
    })),
  };
}

const CLASSIFIERS = new Set(['TreeEnsembleClassifier', 'LinearClassifier', 'SVMClassifier']);

/** Class labels declared by an ai.onnx.ml classifier in the graph, in probability-column order. */
export function classLabelsOf(graph: OnnxGraph): (string | number)[] | undefined {
  for (const node of graph.nodes) {
    if (node.domain !== 'ai.onnx.ml' || !CLASSIFIERS.has(node.opType)) continue;
    const strings = node.attributes.get('classlabels_strings');
    if (Array.isArray(strings) && strings.length) return strings;
    const ints = node.attributes.get('classlabels_int64s') ?? node.attributes.get('classlabels_ints');
    if (Array.isArray(ints) && ints.length) return ints;
  }
  return undefined;
}
