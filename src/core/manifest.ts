import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { parse as parseYaml } from 'yaml';

/** model.yaml: what the ONNX graph cannot say about a model. Every key is optional. */
export const FeatureSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    type: Type.Optional(Type.Union([Type.Literal('numeric'), Type.Literal('categorical'), Type.Literal('text')])),
    default: Type.Optional(Type.Union([Type.Number(), Type.String(), Type.Boolean()])),
    description: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export type Feature = Static<typeof FeatureSchema> & { type: 'numeric' | 'categorical' | 'text' };

export const TASKS = ['binary_classification', 'multiclass_classification', 'regression'] as const;
export type Task = (typeof TASKS)[number];

export const ManifestSchema = Type.Object(
  {
    name: Type.Optional(Type.String()),
    description: Type.Optional(Type.String()),
    task: Type.Optional(Type.Union(TASKS.map((t) => Type.Literal(t)))),
    features: Type.Optional(Type.Array(FeatureSchema)),
    classes: Type.Optional(Type.Array(Type.Union([Type.String(), Type.Number()]))),
    outputs: Type.Optional(
      Type.Object(
        {
          label: Type.Optional(Type.String()),
          probabilities: Type.Optional(Type.String()),
          /** A regressor's value output. */
          value: Type.Optional(Type.String()),
        },
        { additionalProperties: false },
      ),
    ),
    metrics: Type.Optional(Type.Record(Type.String(), Type.Number())),
    primary_metric: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export type Manifest = Static<typeof ManifestSchema>;

/** Parses and validates a manifest; throws an Error whose message names the bad key. */
export function parseManifest(text: string): Manifest {
  let doc: unknown;
  try {
    doc = parseYaml(text) ?? {};
  } catch (err) {
    throw new Error(`model.yaml is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const first = Value.Errors(ManifestSchema, doc).First();
  if (first) {
    const at = first.path || '/';
    throw new Error(`model.yaml ${at}: ${first.message}`);
  }
  const manifest = doc as Manifest;
  if (manifest.primary_metric && !(manifest.metrics && manifest.primary_metric in manifest.metrics)) {
    throw new Error(`model.yaml /primary_metric: '${manifest.primary_metric}' is not one of the listed metrics`);
  }
  return manifest;
}

/** Metrics where a smaller value is better, so "best" picks the minimum. */
const LOWER_IS_BETTER = new Set(['rmse', 'mse', 'mae', 'loss', 'log_loss', 'logloss', 'error', 'mape']);
export const lowerIsBetter = (metric: string) => LOWER_IS_BETTER.has(metric.toLowerCase());
