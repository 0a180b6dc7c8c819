import protobuf from 'protobufjs';

/**
 * Reads the two things the upload intake needs from an ONNX file, without decoding weights:
 * that it is a ModelProto at all (ir_version and a graph), and every tensor stored as external
 * data (TensorProto.data_location = EXTERNAL, external_data key 'location'), wherever ONNX lets a
 * tensor live: graph initializers and sparse initializers, node attributes (Constant values),
 * subgraphs of If/Loop/Scan, model-local functions and training graphs.
 * Only the needed fields are declared, so protobufjs skips raw_data and the typed data arrays.
 */
const ONNX_EXTERNAL_SUBSET = `
syntax = "proto2";
package onnx;
message StringStringEntryProto {
  optional string key = 1;
  optional string value = 2;
}
message TensorProto {
  optional string name = 8;
  repeated StringStringEntryProto external_data = 13;
  optional int32 data_location = 14;
}
message SparseTensorProto {
  optional TensorProto values = 1;
  optional TensorProto indices = 2;
}
message AttributeProto {
  optional string name = 1;
  optional TensorProto t = 5;
  optional GraphProto g = 6;
  repeated TensorProto tensors = 10;
  repeated GraphProto graphs = 11;
  optional SparseTensorProto sparse_tensor = 22;
  repeated SparseTensorProto sparse_tensors = 23;
}
message NodeProto {
  optional string name = 3;
  repeated AttributeProto attribute = 5;
}
message GraphProto {
  repeated NodeProto node = 1;
  repeated TensorProto initializer = 5;
  repeated SparseTensorProto sparse_initializer = 15;
}
message FunctionProto {
  repeated NodeProto node = 7;
}
message TrainingInfoProto {
  optional GraphProto initialization = 1;
  optional GraphProto algorithm = 2;
}
message ModelProto {
  optional int64 ir_version = 1;
  optional GraphProto graph = 7;
  repeated TrainingInfoProto training_info = 20;
  repeated FunctionProto functions = 25;
}
`;
const ModelProto = protobuf.parse(ONNX_EXTERNAL_SUBSET, { keepCase: true }).root.lookupType('onnx.ModelProto');

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
