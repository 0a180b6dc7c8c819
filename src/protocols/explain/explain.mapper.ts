import { explainedColumn, type Explanation, type ExplainOptions } from '../../explain/explainer.js';
import type { ModelExplanation, Prediction } from '../../inference/inference.types.js';

/** The wire shape shared by POST /models/{name}/explain and /v2/models/{name}/explain. */
export function toExplainResponse({ modelName, modelVersion, explanation: e }: ModelExplanation) {
  return {
    model_name: modelName,
    model_version: modelVersion,
    method: e.method,
    output_space: e.outputSpace,
    outputs: e.outputs,
    features: e.features,
    base_value: e.base,
    explanations: e.records,
    ...(e.background && { background: e.background }),
    ...(e.kernel && { kernel: e.kernel }),
  };
}

/** Query-string options (strings) as the explainer takes them. */
export function explainOptions(query: { budget?: string; output_space?: 'raw' | 'probability'; method?: 'auto' | 'kernel'; seed?: string }): ExplainOptions {
  return {
    ...(query.budget !== undefined && { budget: Number(query.budget) }),
    ...(query.output_space !== undefined && { outputSpace: query.output_space }),
    ...(query.method !== undefined && { method: query.method }),
    ...(query.seed !== undefined && { seed: Number(query.seed) }),
  };
}

/** `{feature: value}` per record for `?explain=1`, as the Flask template returns it (see explainedColumn). */
export function explanationPerRecord(e: Explanation, p: Prediction): Record<string, number>[] {
  return e.records.map((record, r) => record.values[e.outputs[explainedColumn(e.outputs, p.predictions[r])]!]!);
}
