import { invalidInput } from './errors.js';
import type { ModelSchema } from './model-schema.js';
import { tensorToElements, type JsonElement, type Tensor } from './tensor.js';

export interface DecodedPredictions {
  /** One per row: the class name for classifiers, the value for regressors. */
  predictions: JsonElement[];
  /** One row of class probabilities per input row, in schema.classes order. */
  probabilities?: number[][];
}

function probabilityRows(tensor: Tensor, rows: number): number[][] {
  const flat = tensorToElements(tensor) as number[];
  const width = flat.length / rows;
  const out: number[][] = [];
  for (let r = 0; r < rows; r++) {
    const row = flat.slice(r * width, (r + 1) * width);
    // A single column is P(positive class), as XGBoost's binary:logistic exports it.
    out.push(width === 1 ? [1 - row[0]!, row[0]!] : row);
  }
  return out;
}

function className(schema: ModelSchema, label: JsonElement): JsonElement {
  const { classes, graphLabels } = schema;
  if (!classes) return label;
  const index = graphLabels ? graphLabels.findIndex((g) => g === label) : typeof label === 'number' ? label : -1;
  return classes[index] ?? label;
}

/**
 * Turns raw output tensors into per-row predictions and, when asked for (or needed to pick the
 * label), probabilities, using the schema.
 */
export function decodePredictions(schema: ModelSchema, outputs: Map<string, Tensor>, rows: number, withProbabilities = true): DecodedPredictions {
  const labels = schema.labelOutput ? outputs.get(schema.labelOutput) : undefined;
  const probs = schema.probabilitiesOutput && (withProbabilities || !labels) ? outputs.get(schema.probabilitiesOutput) : undefined;
  const probabilities = probs ? probabilityRows(probs, rows) : undefined;
  if (labels) {
    return { predictions: tensorToElements(labels).map((l) => className(schema, l)), probabilities };
  }
  if (probabilities && schema.classes) {
    const classes = schema.classes;
    const predictions = probabilities.map((p) => classes[p.indexOf(Math.max(...p))]!);
    return { predictions, probabilities };
  }
  const value = outputs.get(schema.valueOutput ?? '') ?? outputs.values().next().value;
  if (!value) throw invalidInput('the model produced no outputs');
  const flat = tensorToElements(value);
  if (flat.length !== rows) {
    throw invalidInput(`the model's output '${value.name}' has ${flat.length / rows} values per row; request it as a tensor instead (POST /v2/models/{name}/infer)`);
  }
  return { predictions: flat };
}
