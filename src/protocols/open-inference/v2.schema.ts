import { Type, type Static } from '@sinclair/typebox';
import { DATATYPES, type Datatype as Datatype_ } from '../../core/datatypes.js';

// A plain enum, not a union of literals: fast-json-stringify checks a union branch by branch on every output.
export const Datatype = Type.Unsafe<Datatype_>({ type: 'string', enum: [...DATATYPES] });
const Parameters = Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()]), {
  description: 'binary_data_size (inputs), binary_data (outputs), binary_data_output (request)',
});
const Shape = Type.Array(Type.Integer({ minimum: 0 }), { maxItems: 16 });

export const RequestInput = Type.Object({
  name: Type.String({ minLength: 1 }),
  shape: Shape,
  datatype: Datatype,
  parameters: Type.Optional(Parameters),
  data: Type.Optional(Type.Array(Type.Unknown(), { description: 'Row-major elements, flat or nested by shape' })),
});

export const RequestOutput = Type.Object({ name: Type.String({ minLength: 1 }), parameters: Type.Optional(Parameters) });

const irisExample = {
  id: 'req-42',
  inputs: [{ name: 'input', shape: [2, 4], datatype: 'FP32', data: [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]] }],
  outputs: [{ name: 'label' }, { name: 'probabilities' }],
};

export const InferRequest = Type.Object(
  {
    id: Type.Optional(Type.String()),
    parameters: Type.Optional(Parameters),
    inputs: Type.Array(RequestInput, { minItems: 1 }),
    outputs: Type.Optional(Type.Array(RequestOutput)),
  },
  { examples: [irisExample] },
);
export type InferRequestBody = Static<typeof InferRequest>;

export const ResponseOutput = Type.Object({
  name: Type.String(),
  shape: Type.Array(Type.Integer()),
  datatype: Datatype,
  parameters: Type.Optional(Parameters),
  data: Type.Optional(Type.Array(Type.Unknown())),
});

export const InferResponse = Type.Object(
  {
    model_name: Type.String(),
    model_version: Type.Optional(Type.String()),
    id: Type.Optional(Type.String()),
    parameters: Type.Optional(Parameters),
    outputs: Type.Array(ResponseOutput),
  },
  {
    examples: [{
      model_name: 'iris', model_version: '1', id: 'req-42',
      outputs: [
        { name: 'label', shape: [2], datatype: 'BYTES', data: ['setosa', 'virginica'] },
        { name: 'probabilities', shape: [2, 3], datatype: 'FP32', data: [1, 0, 0, 0, 0.1, 0.9] },
      ],
    }],
  },
);
export type InferResponseBody = Static<typeof InferResponse>;

const TensorMetadata = Type.Object({ name: Type.String(), datatype: Datatype, shape: Type.Array(Type.Integer()) });

export const ModelMetadata = Type.Object(
  {
    name: Type.String(),
    versions: Type.Array(Type.String()),
    platform: Type.String(),
    inputs: Type.Array(TensorMetadata),
    outputs: Type.Array(TensorMetadata),
  },
  {
    examples: [{
      name: 'iris', versions: ['1'], platform: 'onnx',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [{ name: 'label', datatype: 'BYTES', shape: [-1] }, { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] }],
    }],
  },
);

export const ServerMetadata = Type.Object(
  { name: Type.String(), version: Type.String(), extensions: Type.Array(Type.String()) },
  { examples: [{ name: 'plinth', version: '0.1.0', extensions: ['binary_tensor_data', 'model_repository'] }] },
);

export const Live = Type.Object({ live: Type.Boolean() });
export const Ready = Type.Object({ ready: Type.Boolean() });
export const ModelReady = Type.Object({ name: Type.String(), ready: Type.Boolean() });

export const RepositoryIndexRequest = Type.Object({ ready: Type.Optional(Type.Boolean()) });
export const RepositoryIndexResponse = Type.Array(
  Type.Object({ name: Type.String(), version: Type.String(), state: Type.String(), reason: Type.Optional(Type.String()) }),
  { examples: [[{ name: 'iris', version: '1', state: 'READY' }, { name: 'broken', version: '1', state: 'UNAVAILABLE', reason: 'Protobuf parsing failed.' }]] },
);
