import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Manifest } from '../core/manifest.js';
import type { ModelSchema } from '../core/model-schema.js';
import { loadManifestBackground } from '../explain/background.loader.js';
import { createExplainer, DEFAULT_EXPLAINER_LIMITS, type Explainer } from '../explain/explainer.js';
import type { RuntimeSource } from '../explain/feature-matrix.js';
import { loadXgboostJson } from '../explain/xgboost-json.loader.js';
import type { LazyModel } from '../runtime/lazy-model.js';
import { copyingRuntime } from '../runtime/model-runtime.js';
import { readOnnxGraph } from '../runtime/onnx/onnx-graph.reader.js';

export interface ExplainerSource {
  /** The local model file: its graph (tree and linear models) and, beside it, a background file. Absent: kernel SHAP only. */
  file?: string;
  manifest?: Manifest;
  schema: ModelSchema;
  /** Runs the model for kernel SHAP (the server's session, or a batch job's own ONNX Runtime thread). */
  runtime?: RuntimeSource;
}

/**
 * The one place an explainer is built, for online serving (buildExplainer) and for batch jobs
 * (the scoring worker): the graph of the model file (or the XGBoost JSON the manifest names
 * beside it), the manifest's background (a file is read beside the model file), and the runtime
 * kernel SHAP calls.
 */
export async function explainerFor({ file, manifest, schema, runtime }: ExplainerSource): Promise<Explainer> {
  const graph = file ? readOnnxGraph(await readFile(file)) : undefined;
  const readArtifact = (path: string) =>
    readFile(join(dirname(file!), path), 'utf8').catch(() => {
      throw new Error(`model.yaml /background names '${path}', which the model folder does not hold`);
    });
  const background = file ? await loadManifestBackground(manifest?.background, readArtifact, DEFAULT_EXPLAINER_LIMITS.maxBackgroundRows) : undefined;
  // Compiled from XGBoost JSON: tree SHAP reads the booster kept beside it, with XGBoost's cover (sum_hessian).
  const ensemble = file && manifest?.xgboost ? loadXgboostJson(await readFile(join(dirname(file), manifest.xgboost), 'utf8')).ensemble : undefined;
  return createExplainer({ schema, graph, ensemble, background, runtime });
}

/**
 * The explainer of one loaded version, with the current session for kernel SHAP taken through
 * the LazyModel so an evicted session is reloaded rather than used after release.
 */
export function buildExplainer(model: LazyModel): Promise<Explainer> {
  return explainerFor({
    file: model.source?.file,
    manifest: model.source?.manifest,
    schema: model.schema,
    runtime: async () => copyingRuntime((await model.acquire()).runtime),
  });
}
