import type { JsonElement, Tensor } from '../core/tensor.js';
import type { ModelSchema, Signature } from '../core/model-schema.js';
import type { RecordOptions } from '../core/records.mapper.js';

import type { Explanation } from '../explain/explainer.js';
import type { LazyModel } from '../runtime/lazy-model.js';

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

/** An explanation and the model version it explains. */
export interface ModelExplanation {
  modelName: string;
  modelVersion: string;
  explanation: Explanation;
}

/** The online deployments being served, found by name or id (the registry's DeploymentPool). */
export interface ServedDeployments {
  find(nameOrId: string): ServedDeployment | undefined;
}

export interface ServedDeployment {
  /**
   * The version for a request: the one `selector` numbers, else the canary split's pick.
   * `count` records the pick in the per-version traffic counts (requests, not metadata reads).
   */
  choose(selector: VersionSelector, count: boolean): LazyModel;
  /** The versions it serves: the primary's, then the canary's. */
  versions(): string[];
}

/** Resolves `name@alias` and `models:/...` references to a model name and version number. */
export type ReferenceResolver = (reference: string) => Promise<{ name: string; version: string }>;
