import { invalidInput } from '../../core/errors.js';
import type { Feature } from '../../core/manifest.js';
import { rowsToRecords } from '../../core/records.mapper.js';
import type { Prediction } from '../../inference/inference.types.js';

/** One input_data entry as records: values keyed by `fields`, or by the model's feature order. */
export function wmlRecords(entry: { fields?: string[]; values: unknown[][] }, index: number, features: Feature[] | undefined): unknown[] {
  const fields = entry.fields ?? features?.map((f) => f.name);
  if (!fields) throw invalidInput(`input_data[${index}].fields is required: this model has no feature list to order the values by`);
  return rowsToRecords(fields, entry.values, (r) => `input_data[${index}].values[${r}]`, 'field');
}

/** Watson ML's answer: `prediction` and, for classifiers, `probability` columns. */
export function toWmlPrediction(p: Prediction) {
  if (p.probabilities) {
    const probs = p.probabilities;
    return { fields: ['prediction', 'probability'], values: p.predictions.map((label, i) => [label, probs[i]]) };
  }
  return { fields: ['prediction'], values: p.predictions.map((v) => [v]) };
}
