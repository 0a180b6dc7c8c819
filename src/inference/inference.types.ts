import type { JsonElement, Tensor } from '../core/tensor.js';
import type { ModelSchema, Signature } from '../core/model-schema.js';
import type { RecordOptions } from '../core/records.mapper.js';

export type { ModelStatus, VersionStatus } from '../runtime/model-manager.js';

/** A tensor-level request, as the Open Inference Protocol and MLflow `inputs` carry it. */
export interface InferenceRequest {
  id?: string;
  inputs: Tensor[];
  /** Outputs to return; all of them when absent. */
  outputs?: string[];
}

export interface InferenceResponse {
  modelName: string;
  modelVersion: string;
  id?: string;
  outputs: Tensor[];
}

export interface PredictOptions extends RecordOptions {
  /** Decode class probabilities too (default true); callers that only show labels skip the work. */
  probabilities?: boolean;
}

/** A record-level result: what records, MLflow dataframe and Watson ML callers get. */
export interface Prediction {
  modelName: string;
  modelVersion: string;
  schema: ModelSchema;
  predictions: JsonElement[];
  probabilities?: number[][];
}

export interface ModelDescription {
  name: string;
  version: string;
  versions: string[];
  platform: 'onnx';
  signature: Signature;
  schema: ModelSchema;
}

/** Which version to use: a number, the newest (`latest`), or the best by primary metric. */
export type VersionSelector = string | undefined;
