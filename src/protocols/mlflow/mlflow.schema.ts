import { Type } from '@sinclair/typebox';

const records = [{ sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 }];

export const InvocationsBody = Type.Object(
  {
    dataframe_split: Type.Optional(Type.Object({
      columns: Type.Array(Type.String()),
      data: Type.Array(Type.Array(Type.Unknown())),
      index: Type.Optional(Type.Array(Type.Unknown())),
    })),
    dataframe_records: Type.Optional(Type.Array(Type.Record(Type.String(), Type.Unknown()))),
    instances: Type.Optional(Type.Union([Type.Array(Type.Unknown()), Type.Record(Type.String(), Type.Unknown())])),
    inputs: Type.Optional(Type.Union([Type.Array(Type.Unknown()), Type.Record(Type.String(), Type.Unknown())])),
    params: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  {
    additionalProperties: false,
    description:
      'Exactly one of dataframe_split, dataframe_records, instances or inputs (or a text/csv body with a header row). ' +
      'Records and dataframes go through the model\'s features; `inputs` / `instances` holding arrays are raw tensors.',
    examples: [
      { dataframe_split: { columns: Object.keys(records[0]!), data: [Object.values(records[0]!)] } },
      { dataframe_records: records },
      { inputs: { input: [[5.1, 3.5, 1.4, 0.2]] } },
    ],
  },
);

export const InvocationsResponse = Type.Object(
  {
    predictions: Type.Unknown(),
    model_name: Type.Optional(Type.String()),
    model_version: Type.Optional(Type.String()),
  },
  { examples: [{ predictions: ['setosa'] }, { predictions: { label: ['setosa'], probabilities: [[0.98, 0.02, 0]] } }] },
);
