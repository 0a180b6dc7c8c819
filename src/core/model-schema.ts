import type { Feature, Manifest, Task } from './manifest.js';
import type { TensorSpec } from './tensor.js';

export interface Signature {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

/**
 * How record features become input tensors: `packed` columns of one [N, F] input (a scikit-learn
 * style matrix), or `per-input` one [N, 1] / [N] input per feature (mixed string and numeric
 * columns, as ai.onnx.ml pipelines with one input per column take them).
 */
export type FeatureBinding =
  | { mode: 'packed'; input: TensorSpec }
  | { mode: 'per-input'; inputs: TensorSpec[] };

/** What the inference service knows about a model beyond its raw tensors. */
export interface ModelSchema {
  task?: Task;
  description?: string;
  features?: Feature[];
  binding?: FeatureBinding;
  /** Class names in probability-column order. */
  classes?: string[];
  /** The class labels the graph itself emits (ai.onnx.ml classlabels_*), same order as classes. */
  graphLabels?: (string | number)[];
  labelOutput?: string;
  probabilitiesOutput?: string;
  /** Regression value output. */
  valueOutput?: string;
  metrics: Record<string, number>;
  primaryMetric?: string;
  /** Float inputs may hold NaN and ±Infinity (model.yaml allow_non_finite); refused otherwise. */
  allowNonFinite?: boolean;
}

const isColumn = (t: TensorSpec) => t.shape.length === 1 || (t.shape.length === 2 && t.shape[1] === 1);

function deriveFeatures(inputs: TensorSpec[]): Feature[] | undefined {
  if (inputs.length > 1 && inputs.every(isColumn)) {
    return inputs.map((i) => ({ name: i.name, type: i.datatype === 'BYTES' ? 'categorical' : 'numeric' }));
  }
  const only = inputs[0];
  if (inputs.length === 1 && only && only.shape.length === 2 && only.shape[1]! > 0) {
    const type = only.datatype === 'BYTES' ? 'text' : 'numeric';
    return Array.from({ length: only.shape[1]! }, (_, i) => ({ name: `f${i}`, type }));
  }
  if (inputs.length === 1 && only && isColumn(only)) {
    return [{ name: only.name, type: only.datatype === 'BYTES' ? 'text' : 'numeric' }];
  }
  return undefined;
}

function bindFeatures(features: Feature[], inputs: TensorSpec[]): FeatureBinding {
  const byName = new Map(inputs.map((i) => [i.name, i]));
  if (features.length === inputs.length && features.every((f) => byName.has(f.name))) {
    const bad = features.find((f) => !isColumn(byName.get(f.name)!));
    if (bad) throw new Error(`feature '${bad.name}' maps to input '${bad.name}', which is not a [N] or [N, 1] column`);
    return { mode: 'per-input', inputs: features.map((f) => byName.get(f.name)!) };
  }
  const only = inputs[0];
  if (inputs.length === 1 && only && only.shape.length <= 2) {
    const width = only.shape.length === 2 ? only.shape[1]! : 1;
    if (width >= 0 && width !== features.length) {
      throw new Error(`the manifest lists ${features.length} features but input '${only.name}' has ${width} columns`);
    }
    return { mode: 'packed', input: only };
  }
  throw new Error(
    `the manifest's features do not match the model's inputs (${inputs.map((i) => i.name).join(', ')}): ` +
      'name one feature per input, or use a model with a single [N, F] input',
  );
}

const findOutput = (outputs: TensorSpec[], wanted: string | undefined, guesses: string[]) => {
  if (wanted !== undefined) {
    if (!outputs.some((o) => o.name === wanted)) throw new Error(`the manifest names output '${wanted}', which the model does not have`);
    return wanted;
  }
  return outputs.find((o) => guesses.includes(o.name.toLowerCase()))?.name;
};

/** Combines the graph's signature, its classifier labels and the manifest into one schema. */
export function describeModel(signature: Signature, graphLabels: (string | number)[] | undefined, manifest: Manifest): ModelSchema {
  const features = manifest.features?.map((f) => ({ ...f, type: f.type ?? 'numeric' })) ?? deriveFeatures(signature.inputs);
  const labelOutput = findOutput(signature.outputs, manifest.outputs?.label, ['label', 'labels', 'output_label']);
  const probabilitiesOutput = findOutput(signature.outputs, manifest.outputs?.probabilities, [
    'probabilities', 'probability', 'output_probability', 'probs',
  ]);
  const probSpec = signature.outputs.find((o) => o.name === probabilitiesOutput);
  const probWidth = probSpec?.shape.length === 2 ? probSpec.shape[1]! : -1;
  const classes =
    manifest.classes?.map(String) ??
    graphLabels?.map(String) ??
    (probWidth === 1 ? ['0', '1'] : probWidth > 1 ? Array.from({ length: probWidth }, (_, i) => String(i)) : undefined);
  if (manifest.classes && graphLabels && manifest.classes.length !== graphLabels.length) {
    throw new Error(`the manifest lists ${manifest.classes.length} classes but the graph's classifier has ${graphLabels.length}`);
  }
  const classifier = labelOutput !== undefined || probabilitiesOutput !== undefined;
  const task: Task | undefined =
    manifest.task ??
    (classifier && classes ? (classes.length > 2 ? 'multiclass_classification' : 'binary_classification') : undefined) ??
    (signature.outputs.length === 1 && signature.outputs[0]!.datatype.startsWith('FP') ? 'regression' : undefined);
  const schema: ModelSchema = {
    task,
    description: manifest.description,
    features,
    binding: features ? bindFeatures(features, signature.inputs) : undefined,
    classes: task === 'regression' ? undefined : classes,
    graphLabels,
    labelOutput,
    probabilitiesOutput,
    valueOutput: task === 'regression' ? (findOutput(signature.outputs, manifest.outputs?.value, []) ?? signature.outputs[0]?.name) : undefined,
    metrics: manifest.metrics ?? {},
    primaryMetric: manifest.primary_metric ?? Object.keys(manifest.metrics ?? {})[0],
    ...(manifest.allow_non_finite && { allowNonFinite: true }),
  };
  return schema;
}
