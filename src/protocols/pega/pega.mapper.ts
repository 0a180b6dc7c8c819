import { invalidInput, PlinthError, printable } from '../../core/errors.js';
import type { ModelSchema } from '../../core/model-schema.js';
import type { Prediction } from '../../inference/inference.types.js';

/** Longest text one request may classify: intent and topic models read a message, not a book. */
export const TEXT_MAX_BYTES = 100_000;

/** The one record a text model takes: the text under its single text feature. */
export function textRecord(identifier: string, schema: ModelSchema, text: string): Record<string, string> {
  if (text.trim() === '') throw invalidInput('text is empty (or only whitespace): send the words to classify');
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > TEXT_MAX_BYTES) throw new PlinthError('PAYLOAD_TOO_LARGE', `text is ${bytes} bytes; the limit is ${TEXT_MAX_BYTES} bytes of UTF-8`);
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
