import { Type } from '@sinclair/typebox';

const Record_ = Type.Record(Type.String(), Type.Unknown(), { description: 'One value per feature, keyed by feature name' });

export const PredictBody = Type.Union(
  [
    Record_,
    Type.Array(Record_, { minItems: 1 }),
  ],
  {
    description:
      'A record, a list of records, or `{"_data": record | [records], "_samples": [records]}` (`_samples`: background data for explanations).',
    examples: [
      { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 },
      [{ sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 }, { sepal_length: 6.7, sepal_width: 3.0, petal_length: 5.2, petal_width: 2.3 }],
      { _data: [{ sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 }] },
    ],
  },
);

const Flag = Type.Union([Type.Literal('0'), Type.Literal('1'), Type.Literal('true'), Type.Literal('false')]);
export const PredictQuery = Type.Object({
  proba: Type.Optional(Flag),
  explain: Type.Optional(Flag),
});
export const isOn = (flag: string | undefined) => flag === '1' || flag === 'true';

export const PredictResponse = Type.Object(
  {
    prediction: Type.Array(Type.Unknown()),
    explanation: Type.Optional(Type.Unknown({ description: 'With explain=1: {feature: SHAP value} per record (one object for a single record)' })),
    model_version: Type.Optional(Type.String()),
  },
  { examples: [{ prediction: ['setosa', 'virginica'] }, { prediction: [{ setosa: 0.98, versicolor: 0.02, virginica: 0 }] }] },
);

export const FeatureInfo = Type.Object({
  name: Type.String(),
  type: Type.String(),
  default: Type.Optional(Type.Union([Type.Number(), Type.String(), Type.Boolean()])),
  description: Type.Optional(Type.String()),
  importance: Type.Optional(Type.Number()),
});
export const FeaturesResponse = Type.Array(FeatureInfo, {
  examples: [[{ name: 'sepal_length', type: 'numeric', default: 5.8, description: 'Sepal length in cm' }]],
});

export const InfoResponse = Type.Object(
  {
    metadata: Type.Object({ features: Type.Array(FeatureInfo) }),
    model: Type.Object({
      name: Type.String(),
      version: Type.String(),
      type: Type.String(),
      predictor_type: Type.String(),
      is_explainable: Type.Boolean(),
      explanation: Type.Object({
        method: Type.String({ description: 'What POST /models/{name}/explain and ?explain=1 use without _samples' }),
        output_space: Type.String(),
        needs_background: Type.Boolean({ description: 'true: send _samples (no background is stored with the model)' }),
        note: Type.Optional(Type.String({ description: 'Why the model is not explained exactly' })),
      }),
      task: Type.Union([Type.String(), Type.Null()]),
      class_names: Type.Union([Type.Array(Type.String()), Type.Null()]),
      description: Type.Optional(Type.String()),
      metrics: Type.Record(Type.String(), Type.Number()),
    }),
  },
  {
    examples: [{
      metadata: { features: [{ name: 'sepal_length', type: 'numeric', default: 5.8 }] },
      model: {
        name: 'iris', version: '1', type: 'onnx', predictor_type: 'onnx', is_explainable: true,
        explanation: { method: 'tree-shap-path-dependent', output_space: 'probability', needs_background: false },
        task: 'MULTICLASS_CLASSIFICATION', class_names: ['setosa', 'versicolor', 'virginica'], metrics: { accuracy: 0.97 },
      },
    }],
  },
);

export const ServiceInfo = Type.Object(
  {
    name: Type.String(),
    version: Type.String(),
    'running-since': Type.Number({ description: 'Start time, Unix seconds' }),
    'serving-model': Type.Union([Type.String(), Type.Null()], { description: 'The model, when exactly one is served' }),
    'serving-models': Type.Array(Type.String()),
    debug: Type.Boolean(),
  },
  { examples: [{ name: 'plinth', version: '0.1.0', 'running-since': 1763800000.5, 'serving-model': null, 'serving-models': ['credit-risk', 'iris'], debug: false }] },
);
