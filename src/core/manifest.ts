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

/** A JSON artifact in the model's folder: a relative path without `..`, ending in `.json`. */
const JsonArtifactPath = Type.String({
  pattern: '^(?![/\\\\])(?![A-Za-z]:)(?!.*(?:^|[/\\\\])\\.\\.(?:[/\\\\]|$))[^\\u0000-\\u001f]+\\.json$',
});

/**
 * A text preprocessing step run before the session (src/text/text-pipeline.ts checks `type`
 * and the per-type keys when the model loads, so its errors can name the step and artifact):
 * `tfidf` (a scikit-learn TfidfVectorizer export) or `keras_tokenizer` (a Keras Tokenizer
 * export followed by pad_sequences with maxlen, padding, truncating, value).
 */
export const PreprocessingStepSchema = Type.Object(
  {
    type: Type.String({ minLength: 1 }),
    artifact: JsonArtifactPath,
    /** The model input the step's tensor feeds; defaults to the model's only input. */
    input: Type.Optional(Type.String({ minLength: 1 })),
    maxlen: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
    padding: Type.Optional(Type.String()),
    truncating: Type.Optional(Type.String()),
    value: Type.Optional(Type.Integer()),
  },
  { additionalProperties: false },
);
export type PreprocessingStep = Static<typeof PreprocessingStepSchema>;

/** A step run on the session's outputs: `label_decoder` (a LabelEncoder's classes_). */
export const PostprocessingStepSchema = Type.Object(
  {
    type: Type.String({ minLength: 1 }),
    artifact: JsonArtifactPath,
    /** The output holding class probabilities or class indices; guessed when absent. */
    output: Type.Optional(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false },
);
export type PostprocessingStep = Static<typeof PostprocessingStepSchema>;

/** Triton's instance_group, for CPU threads: `auto` measures the model at load and picks inline or threads. */
export const InstanceGroupSchema = Type.Object(
  {
    execution: Type.Optional(Type.Union([Type.Literal('auto'), Type.Literal('inline'), Type.Literal('threads')])),
    /** Sessions, each in its own thread (with execution threads, or auto choosing threads). */
    count: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })),
    /** Requests that may wait for a free instance; one more is refused with 429. */
    max_queue_size: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000 })),
    /** Longest wait for a free instance before 503. */
    queue_timeout_ms: Type.Optional(Type.Integer({ minimum: 1, maximum: 3_600_000 })),
  },
  { additionalProperties: false },
);

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
    /**
     * Background data for explanations (SHAP): records keyed by feature name, or the relative
     * path of a .csv (header row) or .json (array of records) file in the model's folder.
     */
    background: Type.Optional(
      Type.Union([
        Type.Array(Type.Record(Type.String(), Type.Union([Type.Number(), Type.String(), Type.Boolean(), Type.Null()])), { minItems: 1 }),
        Type.String({ pattern: '^(?![/\\\\])(?![A-Za-z]:)(?!.*(?:^|[/\\\\])\\.\\.(?:[/\\\\]|$))[^\\u0000-\\u001f]+\\.(?:csv|json)$' }),
      ]),
    ),
    /**
     * The XGBoost JSON model (Booster.save_model) model.onnx was compiled from, in the model's
     * folder; tree SHAP reads its trees and cover. Plinth sets it when it compiles an uploaded
     * model.json (docs/models.md, "XGBoost JSON models").
     */
    xgboost: Type.Optional(JsonArtifactPath),
    /** Text preprocessing run in TypeScript before the session, in this order (docs/models.md, "Text models"). */
    preprocessing: Type.Optional(Type.Array(PreprocessingStepSchema, { minItems: 1, maxItems: 8 })),
    /** Steps run on the session's outputs, in this order. */
    postprocessing: Type.Optional(Type.Array(PostprocessingStepSchema, { minItems: 1, maxItems: 8 })),
    /** Where the model runs and how much waiting it accepts (docs/operations.md, "Instance groups"); a deployment's runtime settings win. */
    instance_group: Type.Optional(InstanceGroupSchema),
    /** How the model is served. */
    runtime: Type.Optional(
      Type.Object(
        {
          /** Most rows per request (413 past it); lowers PLINTH_MAX_ROWS for this model, never raises it. */
          max_rows: Type.Optional(Type.Integer({ minimum: 1 })),
        },
        { additionalProperties: false },
      ),
    ),
    /**
     * The model takes NaN and ±Infinity in its float inputs (e.g. NaN as "missing" for a tree
     * ensemble): without it such values, and numbers beyond the input datatype's range, are refused.
     */
    allow_non_finite: Type.Optional(Type.Boolean()),
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
