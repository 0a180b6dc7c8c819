import { Type } from '@sinclair/typebox';
import { MODEL_NAME_MAX } from '../../core/model-name.js';

/** Error body every route may answer with. */
export const ErrorSchema = Type.Object(
  { error: Type.String(), code: Type.Optional(Type.String()) },
  { $id: 'Error', examples: [{ error: "model 'churn' does not exist", code: 'MODEL_NOT_FOUND' }] },
);

/**
 * What any route may answer besides success: 408 (body not received within the request deadline),
 * 422 (a run's outputs too large), 429 (a model's queue full), 503 (unavailable, queue timeout,
 * draining: with Retry-After) and 504 (the request deadline passed) included.
 */
export const errorResponses = {
  400: Type.Ref('Error'),
  404: Type.Ref('Error'),
  408: Type.Ref('Error'),
  413: Type.Ref('Error'),
  415: Type.Ref('Error'),
  422: Type.Ref('Error'),
  429: Type.Ref('Error'),
  500: Type.Ref('Error'),
  503: Type.Ref('Error'),
  504: Type.Ref('Error'),
};

// Checked in full by assertModelName, whose message says what a valid name is.
export const ModelName = Type.String({ minLength: 1, description: `Model name (1-${MODEL_NAME_MAX} letters, digits, '.', '_', '-')`, examples: ['iris'] });
export const VersionParam = Type.String({ description: "Version number, or 'latest' / 'best'", examples: ['1'] });

export const NameParams = Type.Object({ name: ModelName });
export const NameVersionParams = Type.Object({ name: ModelName, version: VersionParam });
