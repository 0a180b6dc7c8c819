import protobuf from 'protobufjs';

/**
 * The part of onnx.proto Plinth reads (node attributes such as ai.onnx.ml class labels and tree
 * ensembles, metadata, the producer, and where every tensor keeps external data, for the upload
 * intake) and writes (graphs it compiles), with onnx.proto's field numbers. A tensor's data
 * fields (raw_data, the typed arrays) are not declared, so protobufjs skips the weights.
 * One subset for reading and writing, encoded by protobufjs, which Plinth already uses; the
 * onnx-proto package would bring a second, older protobufjs major for the same few messages.
 */
const ONNX_SUBSET = `
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
  optional float f = 2;
  optional int64 i = 3;
  optional bytes s = 4;
  optional TensorProto t = 5;
  optional GraphProto g = 6;
  repeated float floats = 7;
  repeated int64 ints = 8;
  repeated bytes strings = 9;
  repeated TensorProto tensors = 10;
  repeated GraphProto graphs = 11;
  optional int32 type = 20;
  optional SparseTensorProto sparse_tensor = 22;
  repeated SparseTensorProto sparse_tensors = 23;
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
  repeated TensorProto initializer = 5;
  optional string doc_string = 10;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
  repeated SparseTensorProto sparse_initializer = 15;
}
message FunctionProto {
  repeated NodeProto node = 7;
}
message TrainingInfoProto {
  optional GraphProto initialization = 1;
  optional GraphProto algorithm = 2;
}
message OperatorSetIdProto {
  optional string domain = 1;
  optional int64 version = 2;
}
message ModelProto {
  optional int64 ir_version = 1;
  optional string producer_name = 2;
  optional string producer_version = 3;
  optional string doc_string = 6;
  optional GraphProto graph = 7;
  repeated OperatorSetIdProto opset_import = 8;
  repeated StringStringEntryProto metadata_props = 14;
  repeated TrainingInfoProto training_info = 20;
  repeated FunctionProto functions = 25;
}
`;

export const ModelProto = protobuf.parse(ONNX_SUBSET, { keepCase: true }).root.lookupType('onnx.ModelProto');
