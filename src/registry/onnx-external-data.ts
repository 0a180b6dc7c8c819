import { ModelProto } from '../runtime/onnx/onnx-proto.schema.js';

/**
 * Reads the two things the upload intake needs from an ONNX file, without decoding weights:
 * that it is a ModelProto at all (ir_version and a graph), and every tensor stored as external
 * data (TensorProto.data_location = EXTERNAL, external_data key 'location'), wherever ONNX lets a
 * tensor live: graph initializers and sparse initializers, node attributes (Constant values),
 * subgraphs of If/Loop/Scan, model-local functions and training graphs.
 * The shared ONNX subset declares no tensor data, so protobufjs skips raw_data and the typed arrays.
 */

/** TensorProto.DataLocation.EXTERNAL */
const EXTERNAL = 1;

export interface ExternalDataRef {
  /** The tensor's name ('' when unnamed, e.g. a Constant's value). */
  tensor: string;
  /** The raw 'location' value, unvalidated; undefined when the tensor declares none. */
  location: string | undefined;
}

export interface OnnxInspection {
  irVersion: number;
  externalData: ExternalDataRef[];
}

interface RawTensor { name?: string; external_data?: { key?: string; value?: string }[]; data_location?: number }
interface RawSparse { values?: RawTensor; indices?: RawTensor }
interface RawAttribute {
  t?: RawTensor; g?: RawGraph; tensors?: RawTensor[]; graphs?: RawGraph[]; sparse_tensor?: RawSparse; sparse_tensors?: RawSparse[];
}
interface RawNode { attribute?: RawAttribute[] }
interface RawGraph { node?: RawNode[]; initializer?: RawTensor[]; sparse_initializer?: RawSparse[] }
interface RawModel {
  ir_version?: number; graph?: RawGraph; training_info?: { initialization?: RawGraph; algorithm?: RawGraph }[]; functions?: { node?: RawNode[] }[];
}

/**
 * Throws (protobufjs' error, or a plain Error) for bytes that are not an ONNX ModelProto.
 * Locations are returned as written; the caller validates them against its path policy.
 */
export function inspectOnnx(bytes: Uint8Array): OnnxInspection {
  const model = ModelProto.toObject(ModelProto.decode(bytes), { longs: Number, arrays: true, defaults: false }) as RawModel;
  if (!model.ir_version || model.ir_version < 1) throw new Error('no ir_version');
  if (!model.graph) throw new Error('no graph');

  const refs: ExternalDataRef[] = [];
  const tensor = (t: RawTensor | undefined) => {
    if (!t) return;
    const entries = t.external_data ?? [];
    if (t.data_location !== EXTERNAL && entries.length === 0) return;
    refs.push({ tensor: t.name ?? '', location: entries.find((e) => e.key === 'location')?.value });
  };
  const sparse = (s: RawSparse | undefined) => {
    tensor(s?.values);
    tensor(s?.indices);
  };
  const nodes = (list: RawNode[] | undefined) => {
    for (const node of list ?? []) {
      for (const a of node.attribute ?? []) {
        tensor(a.t);
        a.tensors?.forEach(tensor);
        sparse(a.sparse_tensor);
        a.sparse_tensors?.forEach(sparse);
        graph(a.g);
        a.graphs?.forEach(graph);
      }
    }
  };
  const graph = (g: RawGraph | undefined) => {
    if (!g) return;
    g.initializer?.forEach(tensor);
    g.sparse_initializer?.forEach(sparse);
    nodes(g.node);
  };

  graph(model.graph);
  for (const info of model.training_info ?? []) {
    graph(info.initialization);
    graph(info.algorithm);
  }
  for (const fn of model.functions ?? []) nodes(fn.node);
  return { irVersion: model.ir_version, externalData: refs };
}
