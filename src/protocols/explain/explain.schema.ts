import { Type } from '@sinclair/typebox';
import { RequestInput } from '../open-inference/v2.schema.js';

const PerFeature = Type.Record(Type.String(), Type.Number());

export const ExplainQuery = Type.Object(
  {
    budget: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,6}$', description: 'Kernel SHAP coalitions per record' })),
    output_space: Type.Optional(Type.Union([Type.Literal('raw'), Type.Literal('probability')], { description: 'Raw model output or probabilities (trees and linear models)' })),
    method: Type.Optional(Type.Union([Type.Literal('auto'), Type.Literal('kernel')], { description: "'kernel' forces kernel SHAP where an exact method exists" })),
    seed: Type.Optional(Type.String({ pattern: '^[0-9]{1,9}$', description: 'Kernel SHAP sampling seed (default 0: the same answer every time)' })),
  },
  { additionalProperties: false },
);

const explanationFields = {
  model_name: Type.String(),
  model_version: Type.String(),
  method: Type.String({ description: 'tree-shap-path-dependent, tree-shap-interventional, linear-shap or kernel-shap' }),
  output_space: Type.String({ description: 'raw or probability' }),
  outputs: Type.Array(Type.String(), { description: 'Output columns: the classes, or the value output' }),
  features: Type.Array(Type.String()),
  base_value: Type.Record(Type.String(), Type.Number(), { description: 'Per output: the expected output over the background (or the training cover)' }),
  explanations: Type.Array(
    Type.Object({
      values: Type.Record(Type.String(), PerFeature, { description: 'Per output, the SHAP value of each feature' }),
      output: Type.Record(Type.String(), Type.Number(), { description: 'Per output: base value + the sum of the values (the explained model output)' }),
    }),
  ),
  background: Type.Optional(Type.Object({ rows: Type.Integer(), source: Type.String() })),
  kernel: Type.Optional(
    Type.Object({ coalitions: Type.Integer(), exact: Type.Boolean(), modelCalls: Type.Integer(), modelRows: Type.Integer(), seed: Type.Integer() }),
  ),
};

export const ExplainResponse = Type.Object(explanationFields, {
  examples: [
    {
      model_name: 'breast-cancer',
      model_version: '1',
      method: 'tree-shap-path-dependent',
      output_space: 'probability',
      outputs: ['malignant', 'benign'],
      features: ['mean radius', 'mean texture'],
      base_value: { malignant: 0.37, benign: 0.63 },
      explanations: [{ values: { malignant: { 'mean radius': -0.08, 'mean texture': -0.02 }, benign: { 'mean radius': 0.08, 'mean texture': 0.02 } }, output: { malignant: 0.27, benign: 0.73 } }],
    },
  ],
});

export const V2ExplainResponse = Type.Object({ id: Type.Optional(Type.String()), ...explanationFields });

const ExplainParameters = Type.Object(
  {
    budget: Type.Optional(Type.Integer({ minimum: 1 })),
    output_space: Type.Optional(Type.Union([Type.Literal('raw'), Type.Literal('probability')])),
    method: Type.Optional(Type.Union([Type.Literal('auto'), Type.Literal('kernel')])),
    seed: Type.Optional(Type.Integer({ minimum: 0 })),
    samples: Type.Optional(Type.Array(Type.Record(Type.String(), Type.Unknown()), { description: 'Background records (as `_samples` in the records protocol)' })),
  },
  { additionalProperties: false },
);

export const V2ExplainRequest = Type.Object(
  {
    id: Type.Optional(Type.String()),
    inputs: Type.Array(RequestInput, { minItems: 1 }),
    parameters: Type.Optional(ExplainParameters),
  },
  {
    additionalProperties: false,
    examples: [{ id: 'e1', inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }], parameters: { output_space: 'probability' } }],
  },
);
