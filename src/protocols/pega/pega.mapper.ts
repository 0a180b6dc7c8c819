import { invalidInput, printable } from '../../core/errors.js';
import type { ModelSchema } from '../../core/model-schema.js';
import type { Prediction } from '../../inference/inference.types.js';

/** The one record a text model takes: the text under its single text feature. */
export function textRecord(identifier: string, schema: ModelSchema, text: string): Record<string, string> {
  if (text.trim() === '') throw invalidInput('text is empty: send the words to classify');
  const features = schema.features ?? [];
  const textual = features.filter((f) => f.type === 'text');
  if (textual.length !== 1 || features.length !== 1) {
    throw invalidInput(
      `model '${printable(identifier)}' does not take a single text: its features are ${features.map((f) => `'${f.name}' (${f.type})`).join(', ')}; use POST /models/{name}/predict for records`,
    );
  }
  return { [textual[0]!.name]: text };
}

/** Category, its confidence and every category's score, as the Pega containers answer. */
export function toPegaResponse(identifier: string, p: Prediction) {
  const probabilities = p.probabilities?.[0];
  const classes = p.schema.classes ?? p.schema.graphLabels?.map(String);
  const scores: Record<string, number> = {};
  if (probabilities && classes) classes.forEach((c, i) => (scores[c] = probabilities[i]!));
  const category = p.predictions[0] as string | number;
  return {
    modelIdentifier: identifier,
    modelVersion: p.modelVersion,
    category,
    confidence: scores[String(category)] ?? null,
    scores,
  };
}
