import { invalidInput } from '../../core/errors.js';
import type { ExplainerInfo, GlobalImportance } from '../../explain/explainer.js';
import type { ModelDescription, Prediction } from '../../inference/inference.types.js';

/** The records a body carries: a record, a list, or the `_data` / `_samples` wrapper. */
export function recordsOf(body: unknown): unknown[] {
  if (body !== null && typeof body === 'object' && !Array.isArray(body) && Object.hasOwn(body, '_data')) {
    const wrapper = body as { _data: unknown; _samples?: unknown };
    const extra = Object.keys(wrapper).find((k) => k !== '_data' && k !== '_samples');
    if (extra) throw invalidInput(`unknown key '${extra.slice(0, 60)}' beside _data; only _data and _samples are allowed`);
    if (wrapper._samples !== undefined && !Array.isArray(wrapper._samples)) throw invalidInput('_samples must be a list of records');
    return recordsOf(wrapper._data);
  }
  if (Array.isArray(body)) return body;
  if (body !== null && typeof body === 'object') return [body];
  throw invalidInput('expected a record, a list of records, or {"_data": ...}');
}

/** The `_samples` (background records) of a `{"_data": ..., "_samples": [...]}` body, if any. */
export function samplesOf(body: unknown): unknown[] | undefined {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const samples = (body as { _samples?: unknown })._samples;
  return Array.isArray(samples) ? samples : undefined;
}

/** One record sent alone (not in a list): its explanation comes back as one object too. */
export function isSingleRecord(body: unknown): boolean {
  if (Array.isArray(body)) return false;
  if (body !== null && typeof body === 'object' && Object.hasOwn(body, '_data')) return !Array.isArray((body as { _data: unknown })._data);
  return true;
}

/** `{"prediction": [...]}`; with proba, one `{class: probability}` object per record. */
export function toPredictResponse(p: Prediction, proba: boolean) {
  if (!proba) return { prediction: p.predictions, model_version: p.modelVersion };
  if (!p.probabilities || !p.schema.classes) {
    throw invalidInput(`model '${p.modelName}' does not output class probabilities (it is a ${p.schema.task ?? 'tensor'} model); drop proba=1`);
  }
  const classes = p.schema.classes;
  const prediction = p.probabilities.map((row) => Object.fromEntries(classes.map((c, i) => [c, row[i]!])));
  return { prediction, model_version: p.modelVersion };
}

/** The features, each with its global importance (mean |SHAP| over the stored background) when known. */
export function featuresOf(d: ModelDescription, importance?: GlobalImportance) {
  const features = d.schema.features ?? [];
  if (!importance) return features;
  return features.map((f) => (importance.importance[f.name] === undefined ? f : { ...f, importance: importance.importance[f.name] }));
}

export function toInfoResponse(d: ModelDescription, explain: ExplainerInfo) {
  return {
    metadata: { features: featuresOf(d) },
    model: {
      name: d.name,
      version: d.version,
      type: 'onnx',
      predictor_type: 'onnx',
      is_explainable: explain.explainable,
      explanation: {
        method: explain.method,
        output_space: explain.outputSpace,
        needs_background: explain.needsBackground && !explain.hasBackground,
        ...(explain.reason ? { note: explain.reason } : {}),
      },
      task: d.schema.task?.toUpperCase() ?? null,
      class_names: d.schema.classes ?? null,
      ...(d.schema.description ? { description: d.schema.description } : {}),
      metrics: d.schema.metrics,
    },
  };
}
