import { Type } from '@sinclair/typebox';

const VersionSummary = Type.Object({
  version: Type.String(),
  state: Type.String(),
  reason: Type.Optional(Type.String()),
  metrics: Type.Optional(Type.Record(Type.String(), Type.Number())),
});

export const ModelSummary = Type.Object({
  name: Type.String(),
  latest_version: Type.Union([Type.String(), Type.Null()]),
  versions: Type.Array(VersionSummary),
});

export const ModelList = Type.Array(ModelSummary, {
  examples: [[{ name: 'iris', latest_version: '2', versions: [{ version: '1', state: 'READY', metrics: { accuracy: 0.95 } }, { version: '2', state: 'READY', metrics: { accuracy: 0.97 } }] }]],
});

export const ModelDetail = Type.Intersect([
  ModelSummary,
  Type.Object({
    best_version: Type.Union([Type.String(), Type.Null()]),
    primary_metric: Type.Union([Type.String(), Type.Null()]),
  }),
]);

export const VersionDetail = Type.Object(
  {
    name: Type.String(),
    version: Type.String(),
    task: Type.Union([Type.String(), Type.Null()]),
    description: Type.Optional(Type.String()),
    metrics: Type.Record(Type.String(), Type.Number()),
    classes: Type.Union([Type.Array(Type.String()), Type.Null()]),
    features: Type.Array(Type.Object({ name: Type.String(), type: Type.String() }, { additionalProperties: true })),
    inputs: Type.Array(Type.Object({ name: Type.String(), datatype: Type.String(), shape: Type.Array(Type.Integer()) })),
    outputs: Type.Array(Type.Object({ name: Type.String(), datatype: Type.String(), shape: Type.Array(Type.Integer()) })),
  },
  { examples: [{ name: 'iris', version: '1', task: 'multiclass_classification', metrics: { accuracy: 0.97 }, classes: ['setosa', 'versicolor', 'virginica'], features: [{ name: 'sepal_length', type: 'numeric' }], inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }], outputs: [{ name: 'label', datatype: 'BYTES', shape: [-1] }] }] },
);
